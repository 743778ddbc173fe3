//! The P2PT overlay (docs/network.md, "Hubs"): per region, the healthiest validators of the
//! epoch are its **hubs**; every relay keeps connections to its region's hubs, and hubs keep
//! connections to every other hub, so traffic between regions crosses hub links. Hubs relay
//! (gossip forwards through them) and get no extra vote: the overlay is computed from the
//! validator set and never feeds back into it.
//!
//! The election is deterministic from the chain: candidates are the epoch's validators of the
//! region, ranked by PoSR weight ([`trustchain_core::chain::placement::hubs`]), ties broken by the
//! latest beacon value, [`hub_count`] of them per region. Every relay computes the same overlay.

use std::collections::BTreeMap;

use trustchain_core::chain::placement::{hub_count, hubs};
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;

use trustchain_core::chain::placement::Places;

/// One region of the overlay.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    /// Its validators this epoch, keys ascending.
    pub members: Vec<PublicKey>,
    /// Its hubs, best first.
    pub hubs: Vec<PublicKey>,
}

/// The overlay of one epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Overlay {
    /// The epoch.
    pub epoch: u64,
    /// The beacon value that broke ties.
    pub seed: Hash,
    /// The regions by name.
    pub regions: BTreeMap<String, Region>,
}

impl Overlay {
    /// The overlay of `set`'s epoch.
    pub fn of(places: &Places, set: &ValidatorSet, seed: Hash) -> Overlay {
        let mut candidates: BTreeMap<String, Vec<(PublicKey, u64)>> = BTreeMap::new();
        for v in &set.validators {
            if let Some(region) = places.region(&v.key) {
                candidates
                    .entry(region.to_string())
                    .or_default()
                    .push((v.key, v.weight));
            }
        }
        let regions = candidates
            .into_iter()
            .map(|(name, c)| {
                let region = Region {
                    members: c.iter().map(|(k, _)| *k).collect(),
                    hubs: hubs(&c, hub_count(c.len()), &seed),
                };
                (name, region)
            })
            .collect();
        Overlay {
            epoch: set.epoch,
            seed,
            regions,
        }
    }

    /// Whether `key` is a hub of its region.
    pub fn is_hub(&self, key: &PublicKey) -> bool {
        self.regions.values().any(|r| r.hubs.contains(key))
    }

    /// The relays `me` keeps connected: its region's hubs, and, for a hub, every other hub.
    pub fn links(&self, me: &PublicKey) -> Vec<PublicKey> {
        let hub = self.is_hub(me);
        let mut out: Vec<PublicKey> = self
            .regions
            .values()
            .filter(|r| hub || r.members.contains(me))
            .flat_map(|r| r.hubs.iter().copied())
            .filter(|k| k != me)
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use trustchain_core::chain::validators::Validator;

    fn key(i: u8) -> PublicKey {
        PublicKey::of(&SigningKey::from_bytes(&[i; 32]))
    }

    /// Nine validators: six in `eu` (weights 10..60), three in `us` (weights 5, 5, 5).
    fn network() -> (Places, ValidatorSet) {
        let mut regions = Vec::new();
        let mut validators = Vec::new();
        for i in 1..=9u8 {
            let (region, weight) = if i <= 6 {
                ("eu", u64::from(i) * 10)
            } else {
                ("us", 5)
            };
            regions.push((key(i), region.to_string(), 1));
            validators.push(Validator {
                key: key(i),
                weight,
            });
        }
        validators.sort_by_key(|v| v.key);
        (
            Places::from_list(regions),
            ValidatorSet::new(3, validators).unwrap(),
        )
    }

    #[test]
    fn the_healthiest_of_each_region_are_its_hubs() {
        let (places, set) = network();
        let o = Overlay::of(&places, &set, Hash([1; 32]));
        assert_eq!(o.epoch, 3);
        // ceil(sqrt(6)) = 3 hubs in eu: the three heaviest; ceil(sqrt(3)) = 2 in us.
        assert_eq!(o.regions["eu"].hubs, vec![key(6), key(5), key(4)]);
        assert_eq!(o.regions["us"].hubs.len(), 2);
        assert_eq!(o.regions["eu"].members.len(), 6);
        // Same chain, same overlay.
        assert_eq!(o, Overlay::of(&places, &set, Hash([1; 32])));
    }

    #[test]
    fn equal_weights_are_ordered_by_the_beacon() {
        let (places, set) = network();
        let orders: std::collections::BTreeSet<Vec<PublicKey>> = (0..16u8)
            .map(|s| {
                Overlay::of(&places, &set, Hash([s; 32])).regions["us"]
                    .hubs
                    .clone()
            })
            .collect();
        assert!(orders.len() > 1, "the seed never changed the us hubs");
    }

    #[test]
    fn members_link_to_their_hubs_and_hubs_to_all_hubs() {
        let (places, set) = network();
        let o = Overlay::of(&places, &set, Hash([1; 32]));
        let us_hubs = o.regions["us"].hubs.clone();
        // An ordinary eu member: the three eu hubs only.
        assert_eq!(o.links(&key(1)), {
            let mut v = vec![key(4), key(5), key(6)];
            v.sort();
            v
        });
        // An eu hub: the other eu hubs and the us hubs.
        let links = o.links(&key(6));
        assert!(!links.contains(&key(6)));
        assert!(links.contains(&key(5)) && links.contains(&key(4)));
        assert!(us_hubs.iter().all(|h| links.contains(h)));
        assert!(!links.contains(&key(1)));
        // A stranger keeps no links.
        assert!(o.links(&key(42)).is_empty());
        assert!(!o.is_hub(&key(1)) && o.is_hub(&key(6)));
    }
}
