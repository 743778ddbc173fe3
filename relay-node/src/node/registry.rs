//! The node registry as this relay's genesis file starts it. The registry itself — PoSR reports,
//! beacon rounds, the epoch changes they decide — is core's
//! ([`trustchain_core::chain::registry`]), and so is replica placement
//! ([`trustchain_core::chain::placement::Places`]); here the genesis facts become their values.

use trustchain_core::chain::placement::Places;
use trustchain_core::chain::registry::{Registry, RegistryGenesis};

use crate::node::genesis::Genesis;

/// The registry at `genesis`: every genesis node registered and confirmed; collection starts with
/// the PoSR epoch of block 0's time; the genesis hash seeds the first beacon rounds.
pub fn of_genesis(genesis: &Genesis) -> Registry {
    Registry::genesis(RegistryGenesis {
        chain_id: genesis.chain_id.clone(),
        params: genesis.posr,
        window_ms: genesis.window_ms,
        time_ms: genesis.block.header.time_ms,
        nodes: genesis.nodes.iter().map(|n| (n.key, n.operator)).collect(),
        validators: genesis.validators.clone(),
        seed: genesis.hash(),
        places: places_of(genesis),
    })
}

/// The placement facts of `genesis`'s nodes: their regions and capacities (registrations after
/// genesis do not exist yet).
pub fn places_of(genesis: &Genesis) -> Places {
    Places::from_list(
        genesis
            .nodes
            .iter()
            .map(|n| (n.key, n.region.clone(), n.capacity))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use trustchain_core::crypto::PublicKey;

    use super::*;

    /// The genesis facts reach the registry: its seed, window, nodes and places.
    #[test]
    fn the_registry_starts_from_the_genesis_file() {
        let members: Vec<_> = (1..=3u8)
            .map(|i| {
                let k = SigningKey::from_bytes(&[i; 32]);
                let op = PublicKey::of(&k);
                (k, op, format!("region-{}", i % 2))
            })
            .collect();
        let g = Genesis::create("trustchain-registry-test", 1_000_000, &members)
            .unwrap()
            .with_posr(1_000, trustchain_core::chain::posr::PosrParams::devnet())
            .unwrap();
        let r = of_genesis(&g);
        assert_eq!(r.seed(), g.hash());
        assert_eq!(r.window_ms(), 1_000);
        assert_eq!(r.window_of(1_000_500), 1_000);
        let mut keys: Vec<_> = members.iter().map(|(k, _, _)| PublicKey::of(k)).collect();
        keys.sort();
        assert_eq!(r.nodes(), keys);
        for (k, _, region) in &members {
            assert_eq!(r.places().region(&PublicKey::of(k)), Some(region.as_str()));
        }
        assert_eq!(r.beacon_epoch(), g.validators.epoch);
    }
}
