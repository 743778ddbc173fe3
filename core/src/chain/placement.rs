//! P2PT overlay placement: which relays hold a scenario, which relays are a region's hubs, and how
//! fast a project may write.
//!
//! - **Replica sets.** A scenario lives on its *home* relay (the one that took its charter) and on
//!   `size - 1` more relays of the home's region, chosen by weighted rendezvous hashing
//!   ([`score`], [`replicas`]). Every relay computes the same set from the same membership list,
//!   with no coordination, and a membership change moves only the scenarios whose set held the
//!   member that left (or that the newcomer outscores).
//! - **Checkpoint signers.** A checkpoint is vouched for by a majority of its replica set
//!   ([`quorum`]) — the set of the home the chain recorded when the scenario was founded
//!   ([`crate::chain::validity::signed_by_replica_set`]).
//! - **Hubs.** Each region elects `hub_count(n)` hubs per epoch, the healthiest members by PoSR
//!   weight, ties broken by the epoch's beacon seed ([`hubs`], [`hub_count`]).
//! - **Write quota.** A region's capacity ratio ([`region_ratio_milli`]) scales what a project's
//!   pledged capacity buys ([`write_quota`]); [`crate::chain::quota`] applies it to a project.
//! - **Registered nodes.** [`Places`] holds every registered node's region and capacity; a
//!   scenario's replicas are [`replicas_of`] its recorded home among the current validators, and a
//!   checkpoint needs [`needed`] signatures.
//!
//! Everything is integer arithmetic over [`Domain::Placement`] hashes, so every relay on every
//! platform (native or wasm) computes identical sets. Sans-IO: membership, weights and seeds come
//! in as arguments.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::chain::validators::ValidatorSet;
use crate::crypto::PublicKey;
use crate::crypto::hash::{Domain, Hash};
use crate::encoding::Writer;
use crate::encoding::value::ScenarioId;

/// Replica-set size by default (the home relay counts as one).
pub const DEFAULT_REPLICAS: usize = 3;
/// Most placement tickets a member gets (its capacity units are clamped to `1..=MAX_TICKETS`).
pub const MAX_TICKETS: u32 = 16;

/// A relay of the overlay, as the membership list (the node registry) knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The relay's node key.
    pub key: PublicKey,
    /// The region it declared; replica sets and hubs never cross regions.
    pub region: String,
    /// Its capacity in units; its placement weight is this clamped to `1..=MAX_TICKETS`.
    pub capacity: u32,
}

/// A member's placement tickets: its capacity clamped to `1..=MAX_TICKETS`.
fn tickets(capacity: u32) -> u32 {
    capacity.clamp(1, MAX_TICKETS)
}

/// A member's rendezvous score for a scenario: the maximum, over its tickets `t` in
/// `0..clamp(capacity, 1, MAX_TICKETS)`, of the first 8 bytes (a little-endian `u64`) of the
/// [`Domain::Placement`] hash of `scenario id (u32 length prefix, canonical encoding) ‖ key (32
/// bytes) ‖ t (u32, little endian)`.
///
/// Weighted rendezvous by integer tickets: the maximum of `k` uniform draws is distributed like
/// `u^(1/k)`, so a member with `k` tickets wins `k` times as often as a member with 1 — with no
/// floating point (no logarithms), so every relay computes identical sets on every platform.
pub fn score(scenario: &ScenarioId, key: &PublicKey, capacity: u32) -> u64 {
    let mut w = Writer::new();
    w.str(scenario.as_str());
    w.raw(key.as_bytes());
    let mut input = w.into_bytes();
    let t_at = input.len();
    input.extend_from_slice(&[0; 4]);
    let mut best = 0;
    for t in 0..tickets(capacity) {
        input[t_at..].copy_from_slice(&t.to_le_bytes());
        let h = Domain::Placement.hash(&input);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h.0[..8]);
        best = best.max(u64::from_le_bytes(first));
    }
    best
}

/// The members, each key once: a key listed more than once counts by its first entry.
fn distinct(members: &[Member]) -> impl Iterator<Item = &Member> {
    let mut seen = BTreeSet::new();
    members.iter().filter(move |m| seen.insert(m.key))
}

/// The replicas of `scenario` homed at `home`: the members of home's region other than home,
/// ordered by [`score`] descending (ties: key ascending), the first `size - 1`.
///
/// Fewer when the region has fewer other members; empty if `home` is not in `members` (home's
/// region is read from its own entry). A key listed twice counts by its first entry.
pub fn replicas(
    scenario: &ScenarioId,
    home: &PublicKey,
    members: &[Member],
    size: usize,
) -> Vec<PublicKey> {
    let Some(region) = members.iter().find(|m| m.key == *home).map(|m| &m.region) else {
        return Vec::new();
    };
    let mut ranked: Vec<(u64, PublicKey)> = distinct(members)
        .filter(|m| m.key != *home && m.region == *region)
        .map(|m| (score(scenario, &m.key, m.capacity), m.key))
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .take(size.saturating_sub(1))
        .map(|(_, k)| k)
        .collect()
}

/// Signatures a checkpoint needs: a majority of the replica set, `size / 2 + 1`.
pub fn quorum(size: usize) -> usize {
    size / 2 + 1
}

/// A region's hubs for an epoch: the `count` healthiest of `candidates` (key, health weight — the
/// PoSR weight), weight descending, ties broken by the [`Domain::Placement`] hash of
/// `seed (32 bytes) ‖ key (32 bytes)` ascending (then by key, should two hashes ever collide).
/// Candidates with weight 0 are never hubs; a key listed twice counts by its highest weight.
/// Returned ordered as ranked.
///
/// The seed is the epoch's beacon value, so which of several equally healthy relays become hubs
/// changes from epoch to epoch and cannot be ground by choosing keys.
pub fn hubs(candidates: &[(PublicKey, u64)], count: usize, seed: &Hash) -> Vec<PublicKey> {
    let mut ranked: Vec<(u64, Hash, PublicKey)> = candidates
        .iter()
        .filter(|(_, w)| *w > 0)
        .map(|(k, w)| {
            (
                *w,
                Domain::Placement.hash_pair(seed, &Hash(*k.as_bytes())),
                *k,
            )
        })
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut seen = BTreeSet::new();
    ranked
        .into_iter()
        .filter(|(_, _, k)| seen.insert(*k))
        .take(count)
        .map(|(_, _, k)| k)
        .collect()
}

/// Most hubs one region elects.
const MAX_HUBS: usize = 8;

/// How many hubs a region of `n` members elects: 0 for `n = 0`, else `ceil(sqrt(n))` clamped to
/// `1..=8`.
///
/// Star sizes: every member attaches to a hub and the hubs mesh with each other, so with `h` hubs
/// a hub carries about `n / h` members plus `h - 1` hub links. `h = ceil(sqrt(n))` balances the
/// two (both about `sqrt(n)`), which minimises the busiest relay's degree. The cap of 8 keeps the
/// hub mesh at most 28 links and cross-region fan-out small; past 64 members the stars grow
/// instead (a hub is a relay chosen for its capacity).
pub fn hub_count(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (1..=MAX_HUBS).find(|h| h * h >= n).unwrap_or(MAX_HUBS)
}

/// Lowest region capacity ratio, in thousandths.
pub const MIN_RATIO_MILLI: u32 = 500;
/// Highest region capacity ratio, in thousandths.
pub const MAX_RATIO_MILLI: u32 = 2_000;

/// A region's capacity ratio in thousandths: `capacity_units * 1000 / max(load_units, 1)`, clamped
/// to `MIN_RATIO_MILLI..=MAX_RATIO_MILLI` (a lightly loaded region gives more per pledged unit, a
/// loaded one less).
pub fn region_ratio_milli(capacity_units: u64, load_units: u64) -> u32 {
    let ratio = capacity_units.saturating_mul(1000) / load_units.max(1);
    ratio.clamp(MIN_RATIO_MILLI as u64, MAX_RATIO_MILLI as u64) as u32
}

/// Writes per second one pledged capacity unit buys at ratio 1.0.
pub const WRITES_PER_UNIT: u64 = 200;
/// Every project's quota without a pledge, in pledged units (so a new project can write).
pub const BASE_UNITS: u64 = 1;

/// A project's write quota in contracts per second:
/// `(BASE_UNITS + pledged_units) * writes_per_unit * ratio_milli / 1000`, saturating at
/// `u64::MAX` (computed exactly in 128 bits, then capped). `writes_per_unit` is the network's
/// (genesis; [`WRITES_PER_UNIT`] by default); `ratio_milli` is taken as given: pass
/// [`region_ratio_milli`]'s result.
pub fn write_quota(pledged_units: u64, writes_per_unit: u64, ratio_milli: u32) -> u64 {
    let units = BASE_UNITS as u128 + pledged_units as u128;
    let q = units * writes_per_unit as u128 * ratio_milli as u128 / 1000;
    u64::try_from(q).unwrap_or(u64::MAX)
}

// --- the registered nodes as placement members ---

/// Where every relay finds the placement facts of the registered nodes: region and capacity
/// (the relay fills it from its genesis; registrations after genesis do not exist yet).
#[derive(Clone, Debug, Default)]
pub struct Places(Arc<BTreeMap<PublicKey, (String, u32)>>);

impl Places {
    /// Places from `(key, region, capacity)` triples.
    pub fn from_list(list: Vec<(PublicKey, String, u32)>) -> Self {
        Places(Arc::new(
            list.into_iter().map(|(k, r, c)| (k, (r, c))).collect(),
        ))
    }

    /// The placement member `key` is, if registered.
    fn member(&self, key: &PublicKey) -> Option<Member> {
        self.0.get(key).map(|(region, capacity)| Member {
            key: *key,
            region: region.clone(),
            capacity: *capacity,
        })
    }

    /// The placement members among `set`: its validators whose region is known.
    pub fn members(&self, set: &ValidatorSet) -> Vec<Member> {
        set.validators
            .iter()
            .filter_map(|v| self.member(&v.key))
            .collect()
    }

    /// [`Places::members`] and, if registered but not among them, `home`: a scenario's home
    /// need not be a validator (a follower, or a relay PoSR dropped for a while) to keep
    /// writing it; its replicas must be.
    pub fn members_with(&self, set: &ValidatorSet, home: &PublicKey) -> Vec<Member> {
        with_home(self.members(set), self.member(home))
    }

    /// The region of a node.
    pub fn region(&self, key: &PublicKey) -> Option<&str> {
        self.0.get(key).map(|(r, _)| r.as_str())
    }
}

/// `members` and `home` if it is registered (`Some`) and not among them.
fn with_home(mut members: Vec<Member>, home: Option<Member>) -> Vec<Member> {
    if let Some(h) = home
        && !members.iter().any(|m| m.key == h.key)
    {
        members.push(h);
    }
    members
}

/// The replicas (home excluded) of `scenario` homed at `home`, among `set`'s members.
pub fn replicas_of(
    places: &Places,
    set: &ValidatorSet,
    scenario: &ScenarioId,
    home: &PublicKey,
) -> Vec<PublicKey> {
    replicas(
        scenario,
        home,
        &places.members_with(set, home),
        DEFAULT_REPLICAS,
    )
}

/// Signatures a checkpoint of a scenario homed at `home` needs (the home's own included).
pub fn needed(replicas: usize) -> usize {
    quorum(DEFAULT_REPLICAS).min(1 + replicas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    fn key(i: u32) -> PublicKey {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_le_bytes());
        b[31] = 0x5a;
        PublicKey::of(&SigningKey::from_bytes(&b))
    }

    fn sid(i: u32) -> ScenarioId {
        ScenarioId::new(&format!("acme/s-{i}")).unwrap()
    }

    fn member(i: u32, region: &str, capacity: u32) -> Member {
        Member {
            key: key(i),
            region: region.to_string(),
            capacity,
        }
    }

    fn region(n: u32, region: &str) -> Vec<Member> {
        (0..n).map(|i| member(i, region, 1)).collect()
    }

    #[test]
    fn score_is_deterministic_and_clamps_tickets() {
        let s = sid(1);
        let k = key(1);
        assert_eq!(score(&s, &k, 3), score(&s, &k, 3));
        // Capacity 0 still has one ticket; more than MAX_TICKETS buys nothing more.
        assert_eq!(score(&s, &k, 0), score(&s, &k, 1));
        assert_eq!(score(&s, &k, MAX_TICKETS), score(&s, &k, u32::MAX));
        // More tickets never lower a score (the max over a superset).
        for c in 1..MAX_TICKETS {
            assert!(score(&s, &k, c + 1) >= score(&s, &k, c));
        }
        assert_ne!(score(&s, &k, 1), score(&sid(2), &k, 1));
        assert_ne!(score(&s, &k, 1), score(&s, &key(2), 1));
    }

    #[test]
    fn replicas_basic_properties() {
        let mut members = region(6, "eu");
        members.extend((100..104).map(|i| member(i, "us", 5)));
        for i in 0..200 {
            let s = sid(i);
            let home = key(i % 6);
            let set = replicas(&s, &home, &members, DEFAULT_REPLICAS);
            assert_eq!(set, replicas(&s, &home, &members, DEFAULT_REPLICAS));
            assert_eq!(set.len(), DEFAULT_REPLICAS - 1);
            assert!(!set.contains(&home));
            let unique: BTreeSet<_> = set.iter().collect();
            assert_eq!(unique.len(), set.len());
            for k in &set {
                let m = members.iter().find(|m| m.key == *k).unwrap();
                assert_eq!(m.region, "eu");
            }
            // Order of the member list does not matter.
            let mut reversed = members.clone();
            reversed.reverse();
            assert_eq!(set, replicas(&s, &home, &reversed, DEFAULT_REPLICAS));
        }
    }

    #[test]
    fn replicas_edge_cases() {
        let members = region(3, "eu");
        let s = sid(7);
        // Not a member: nothing.
        assert!(replicas(&s, &key(99), &members, 3).is_empty());
        // Size 0 or 1: the home alone.
        assert!(replicas(&s, &key(0), &members, 1).is_empty());
        assert!(replicas(&s, &key(0), &members, 0).is_empty());
        // A region smaller than the set: every other member of it.
        let all = replicas(&s, &key(0), &members, 10);
        assert_eq!(all.len(), 2);
        // Ordered by score descending.
        let scores: Vec<u64> = all.iter().map(|k| score(&s, k, 1)).collect();
        assert!(scores[0] >= scores[1]);
        // A home alone in its region.
        let mut m = members.clone();
        m.push(member(50, "ap", 1));
        assert!(replicas(&s, &key(50), &m, 3).is_empty());
        // Duplicate entries count once.
        let mut dup = members.clone();
        dup.push(member(1, "eu", 16));
        let set = replicas(&s, &key(0), &dup, 10);
        assert_eq!(set.len(), 2);
        assert_eq!(set, all);
    }

    proptest! {
        #[test]
        fn rendezvous_is_stable(
            caps in proptest::collection::vec(1u32..24, 3..12),
            scenario in 0u32..10_000,
            home_pick in any::<prop::sample::Index>(),
            gone_pick in any::<prop::sample::Index>(),
            size in 2usize..6,
        ) {
            let members: Vec<Member> = caps
                .iter()
                .enumerate()
                .map(|(i, c)| member(i as u32, "eu", *c))
                .collect();
            let home = members[home_pick.index(members.len())].key;
            let others: Vec<&Member> = members.iter().filter(|m| m.key != home).collect();
            let gone = others[gone_pick.index(others.len())].key;
            let s = sid(scenario);
            let before = replicas(&s, &home, &members, size);
            let after_members: Vec<Member> =
                members.iter().filter(|m| m.key != gone).cloned().collect();
            let after = replicas(&s, &home, &after_members, size);
            if !before.contains(&gone) {
                prop_assert_eq!(after, before);
            } else {
                let kept: Vec<PublicKey> =
                    before.iter().copied().filter(|k| *k != gone).collect();
                prop_assert_eq!(&after[..kept.len()], &kept[..]);
                let remaining = after_members.len() - 1;
                prop_assert_eq!(after.len(), (size - 1).min(remaining));
                if after.len() > kept.len() {
                    prop_assert_eq!(after.len(), kept.len() + 1);
                    prop_assert!(!before.contains(after.last().unwrap()));
                }
            }
        }
    }

    #[test]
    fn weighting_follows_tickets() {
        // A home and four others with capacities 1, 1, 1, 4: the single replica (size 2) is the
        // top scorer of the four, which should be the 4-ticket member 4/7 of the time.
        let mut members = vec![member(0, "eu", 9)];
        members.extend([(1, 1), (2, 1), (3, 1), (4, 4)].map(|(i, c)| member(i, "eu", c)));
        let n = 4000;
        let wins = (0..n)
            .filter(|i| replicas(&sid(*i), &key(0), &members, 2) == [key(4)])
            .count();
        let share = wins as f64 / n as f64;
        assert!((0.50..0.64).contains(&share), "share {share}");
    }

    #[test]
    fn load_spreads_over_members() {
        let members = region(8, "eu");
        let n = 1000u32;
        // Fixed home: each of the 7 others holds 2/7 of the replica slots.
        let mut counts = [0u32; 8];
        for i in 0..n {
            for k in replicas(&sid(i), &key(0), &members, 3) {
                counts[members.iter().position(|m| m.key == k).unwrap()] += 1;
            }
        }
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            let share = *c as f64 / n as f64;
            assert!(*c < n && (0.22..0.35).contains(&share), "share {share}");
        }
        // Homes spread too: each member is in 3/8 of the sets (home or replica).
        let mut counts = [0u32; 8];
        for i in 0..n {
            let home = key(i % 8);
            counts[(i % 8) as usize] += 1;
            for k in replicas(&sid(i), &home, &members, 3) {
                counts[members.iter().position(|m| m.key == k).unwrap()] += 1;
            }
        }
        for c in counts {
            let share = c as f64 / n as f64;
            assert!(c < n && (0.31..0.44).contains(&share), "share {share}");
        }
    }

    #[test]
    fn quorum_is_a_majority() {
        assert_eq!([0, 1, 2, 3, 4, 5, 7].map(quorum), [1, 1, 2, 2, 3, 3, 4]);
    }

    #[test]
    fn hubs_rank_by_weight_then_seed() {
        let seed = Hash([7; 32]);
        let c = vec![
            (key(0), 5),
            (key(1), 0),
            (key(2), 9),
            (key(3), 5),
            (key(4), 1),
        ];
        let h = hubs(&c, 3, &seed);
        assert_eq!(h.len(), 3);
        assert_eq!(h[0], key(2));
        let mid: BTreeSet<_> = h[1..].iter().copied().collect();
        assert_eq!(mid, [key(0), key(3)].into_iter().collect());
        // Zero weight is never a hub, however many are asked for.
        let all = hubs(&c, 10, &seed);
        assert_eq!(all.len(), 4);
        assert!(!all.contains(&key(1)));
        assert_eq!(all[3], key(4));
        assert!(hubs(&c, 0, &seed).is_empty());
        assert!(hubs(&[(key(1), 0)], 3, &seed).is_empty());
        // Ranked order is a prefix: asking for fewer gives the head.
        assert_eq!(hubs(&c, 2, &seed), all[..2]);
        // Input order does not matter.
        let mut rev = c.clone();
        rev.reverse();
        assert_eq!(hubs(&rev, 10, &seed), all);
        // A duplicate key counts once, at its highest weight.
        let mut dup = c.clone();
        dup.push((key(4), 100));
        let d = hubs(&dup, 10, &seed);
        assert_eq!(d.len(), 4);
        assert_eq!(d[0], key(4));
    }

    #[test]
    fn hub_ties_follow_the_seed() {
        let c: Vec<(PublicKey, u64)> = (0..6).map(|i| (key(i), 3)).collect();
        let orders: BTreeSet<Vec<PublicKey>> =
            (0u8..20).map(|b| hubs(&c, 6, &Hash([b; 32]))).collect();
        assert!(orders.len() > 1, "different seeds give different orders");
        for o in &orders {
            assert_eq!(o.len(), 6);
        }
        // Same seed, same order.
        assert_eq!(hubs(&c, 6, &Hash([1; 32])), hubs(&c, 6, &Hash([1; 32])));
        // Different seeds, different first hub for some seed pair.
        let firsts: BTreeSet<PublicKey> = orders.iter().map(|o| o[0]).collect();
        assert!(firsts.len() > 1);
    }

    #[test]
    fn hub_count_table() {
        let table = [
            (0, 0),
            (1, 1),
            (2, 2),
            (4, 2),
            (5, 3),
            (9, 3),
            (10, 4),
            (16, 4),
            (17, 5),
            (49, 7),
            (50, 8),
            (64, 8),
            (65, 8),
            (10_000, 8),
            (usize::MAX, 8),
        ];
        for (n, h) in table {
            assert_eq!(hub_count(n), h, "hub_count({n})");
        }
    }

    #[test]
    fn region_ratio_clamps() {
        assert_eq!(region_ratio_milli(100, 100), 1000);
        assert_eq!(region_ratio_milli(3, 2), 1500);
        assert_eq!(region_ratio_milli(2, 3), 666);
        assert_eq!(region_ratio_milli(1, 10), MIN_RATIO_MILLI);
        assert_eq!(region_ratio_milli(0, 0), MIN_RATIO_MILLI);
        assert_eq!(region_ratio_milli(5, 0), MAX_RATIO_MILLI);
        assert_eq!(region_ratio_milli(1000, 1), MAX_RATIO_MILLI);
        assert_eq!(region_ratio_milli(u64::MAX, 1), MAX_RATIO_MILLI);
        assert_eq!(region_ratio_milli(u64::MAX, u64::MAX), MIN_RATIO_MILLI);
    }

    #[test]
    fn write_quota_arithmetic() {
        assert_eq!(write_quota(0, WRITES_PER_UNIT, 1000), 200);
        assert_eq!(write_quota(1, WRITES_PER_UNIT, 1000), 400);
        assert_eq!(write_quota(4, WRITES_PER_UNIT, 500), 500);
        assert_eq!(write_quota(0, WRITES_PER_UNIT, MAX_RATIO_MILLI), 400);
        assert_eq!(write_quota(9, WRITES_PER_UNIT, 666), 1332);
        assert_eq!(write_quota(0, WRITES_PER_UNIT, 0), 0);
        assert_eq!(write_quota(u64::MAX, WRITES_PER_UNIT, 2000), u64::MAX);
        assert_eq!(write_quota(u64::MAX, WRITES_PER_UNIT, u32::MAX), u64::MAX);
        // Exact below saturation: no early truncation.
        assert_eq!(
            write_quota(u64::MAX / 400 - 1, WRITES_PER_UNIT, 1000),
            (u64::MAX / 400) * 200
        );
    }

    /// A home PoSR dropped from the validators keeps anchoring with its replicas (validators);
    /// a stranger cannot be a home, and a lone home is too few.
    #[test]
    fn a_registered_home_need_not_be_a_validator() {
        use crate::chain::validators::Validator;
        use crate::scenario::checkpoint::{Checkpoint, SignedCheckpoint};
        let keys: Vec<SigningKey> = (1..=4u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect();
        let pks: Vec<PublicKey> = keys.iter().map(PublicKey::of).collect();
        let places = Places::from_list(pks.iter().map(|k| (*k, String::from("eu"), 1)).collect());
        // The validators: all but node 0.
        let set = ValidatorSet::new(
            5,
            pks[1..]
                .iter()
                .map(|k| Validator {
                    key: *k,
                    weight: 10,
                })
                .collect(),
        )
        .unwrap();
        let cp = Checkpoint {
            scenario: ScenarioId::new("demo/budget").unwrap(),
            size: 9,
            root: Hash([7; 32]),
            main_ref: Hash([9; 32]),
            time_ms: 1_700_000_000_000,
        };
        let reps = replicas_of(&places, &set, &cp.scenario, &pks[0]);
        assert_eq!(reps.len(), 2, "two replicas among the three validators");
        assert!(!reps.contains(&pks[0]));
        let signer = |k: &PublicKey| keys.iter().find(|s| PublicKey::of(s) == *k).unwrap();
        let check = |cp: &SignedCheckpoint| {
            crate::chain::validity::signed_by_replica_set(
                &pks[0],
                cp,
                &places.members_with(&set, &pks[0]),
                DEFAULT_REPLICAS,
            )
        };
        let ok = cp.clone().sign(&[&keys[0], signer(&reps[0])]);
        assert_eq!(check(&ok), Ok(()));
        let alone = cp.clone().sign(&[&keys[0]]);
        assert!(check(&alone).is_err());
        let stranger = SigningKey::from_bytes(&[77; 32]);
        let bad = cp.clone().sign(&[&stranger, signer(&reps[0])]);
        assert!(check(&bad).is_err());
    }
}
