//! Write quotas (docs/network.md, "Capacity pledges"): how many contracts per second a project
//! may write at its home relay, as a function of the chain.
//!
//! A project writes at most `(BASE_UNITS + pledged units) × writes_per_unit × region ratio`
//! contracts per second ([`write_quota`]):
//!
//! - **Project**: the owners of a scenario's charter; its key is the smallest owner key, so all
//!   scenarios of one owner share one quota at a relay.
//! - **Pledged units**: the capacity of the registered nodes whose operator is one of the
//!   charter's owners ([`pledges`]) — a project that runs relays for the network writes more.
//! - **Region ratio** ([`ratio_milli`]): the home's region's capacity (the capacity units of its
//!   members among the current validators) over its load (the scenarios homed in the region that
//!   the chain has anchored, one load unit per [`SCENARIOS_PER_UNIT`]), clamped to 0.5–2.0 —
//!   from the chain only, so every relay of a region computes the same ratio.
//! - **Genesis** fixes `writes_per_unit`.
//!
//! The relay enforces the quota with a token bucket per project (the counters stay there).

use alloc::collections::BTreeMap;

use serde::Serialize;

use crate::chain::placement::{Places, region_ratio_milli, write_quota};
use crate::chain::state::ChainSnapshot;
use crate::crypto::PublicKey;
use crate::scenario::charter::Charter;

/// Anchored scenarios one unit of a region's load stands for.
pub const SCENARIOS_PER_UNIT: u64 = 100;

/// A project's quota at a relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quota {
    /// The project (its charter's smallest owner key).
    pub project: PublicKey,
    /// Capacity units pledged by the project's nodes.
    pub pledged_units: u64,
    /// The region's capacity ratio, in thousandths.
    pub ratio_milli: u32,
    /// Contracts per second.
    pub per_second: u64,
}

/// Capacity units pledged per operator key, from the registered nodes' `(operator, capacity)`.
pub fn pledges(nodes: impl IntoIterator<Item = (PublicKey, u32)>) -> BTreeMap<PublicKey, u64> {
    let mut pledges = BTreeMap::new();
    for (operator, capacity) in nodes {
        *pledges.entry(operator).or_insert(0) += u64::from(capacity);
    }
    pledges
}

/// The capacity ratio of `region` as of `snap` (thousandths): the capacity of its members among
/// the validators of the next block over the load of the anchored scenarios homed in it.
pub fn ratio_milli(places: &Places, region: &str, snap: &ChainSnapshot) -> u32 {
    let members = places.members(&snap.next_validators);
    let capacity: u64 = members
        .iter()
        .filter(|m| m.region == region)
        .map(|m| u64::from(m.capacity))
        .sum();
    let homed = snap
        .homes
        .values()
        .filter(|home| places.region(home) == Some(region))
        .count() as u64;
    region_ratio_milli(capacity, homed.div_ceil(SCENARIOS_PER_UNIT))
}

/// The quota of the project owning `charter`, with `pledges` per operator, the network's
/// `writes_per_unit` and the home region's `ratio_milli` (`None` for a charter without owners,
/// which no relay stores: `UnsignedCharter::validate` refuses it).
pub fn quota(
    charter: &Charter,
    pledges: &BTreeMap<PublicKey, u64>,
    writes_per_unit: u64,
    ratio_milli: u32,
) -> Option<Quota> {
    let owners = &charter.content.owners;
    let project = owners.iter().min().copied()?;
    let pledged_units = owners
        .iter()
        .map(|o| pledges.get(o).copied().unwrap_or(0))
        .sum();
    Some(Quota {
        project,
        pledged_units,
        ratio_milli,
        per_second: write_quota(pledged_units, writes_per_unit, ratio_milli),
    })
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::chain::state::test_snapshot;
    use crate::crypto::hash::Hash;
    use crate::encoding::value::ScenarioId;
    use crate::scenario::charter::UnsignedCharter;
    use crate::scenario::checkpoint::Checkpoint;

    fn charter(owners: Vec<PublicKey>) -> Charter {
        Charter {
            content: UnsignedCharter {
                scenario: ScenarioId::new("acme/ledger").unwrap(),
                title: String::from("t"),
                white_paper: String::new(),
                owners,
                writers: Vec::new(),
                kinds: Vec::new(),
                time_ms: 1,
            },
            signatures: Vec::new(),
        }
    }

    /// Pledges add up per operator; the region ratio is its validators' capacity over the load of
    /// the scenarios homed in it, clamped; a project's quota is its owners' pledges at that ratio.
    #[test]
    fn the_quota_formula() {
        let keys: Vec<SigningKey> = (1..=3u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect();
        let pks: Vec<PublicKey> = keys.iter().map(PublicKey::of).collect();
        let (a, b, c) = (pks[0], pks[1], pks[2]);
        assert_eq!(
            pledges([(a, 2), (b, 1), (a, 3)]),
            BTreeMap::from([(a, 5), (b, 1)])
        );
        // a and b in "eu" (capacity 1 each), c in "us"; one scenario homed at a.
        let places = Places::from_list(vec![
            (a, String::from("eu"), 1),
            (b, String::from("eu"), 1),
            (c, String::from("us"), 4),
        ]);
        let cp = Checkpoint {
            scenario: ScenarioId::new("acme/ledger").unwrap(),
            size: 1,
            root: Hash([1; 32]),
            main_ref: Hash([2; 32]),
            time_ms: 1,
        }
        .sign(&[&keys[0]]);
        let snap = test_snapshot(&keys, &[(cp, a)], &[]);
        // eu: 2 units over 1 load unit = 2.0 (the cap); us: 4 units, no load = 4.0 -> 2.0.
        assert_eq!(ratio_milli(&places, "eu", &snap), 2_000);
        assert_eq!(ratio_milli(&places, "us", &snap), 2_000);
        // A region with no member among the validators: 0 -> the floor, 0.5.
        assert_eq!(ratio_milli(&places, "asia", &snap), 500);
        let p = pledges([(a, 3)]);
        let q = quota(&charter(vec![b, a]), &p, 200, 2_000).unwrap();
        assert_eq!(
            q,
            Quota {
                project: a.min(b),
                pledged_units: 3,
                ratio_milli: 2_000,
                per_second: (1 + 3) * 200 * 2,
            }
        );
        assert_eq!(quota(&charter(Vec::new()), &p, 200, 2_000), None);
    }
}
