//! The network's genesis: its name, the first validator set and block 0 with a commit
//! certificate, kept in a JSON file every relay of the network loads (`genesis.json`).
//!
//! # Who signs genesis
//!
//! [`Genesis::create`] signs block 0 with *every* genesis node's key, so it runs where all those
//! keys are: `trustchain-relay devnet` makes all keys of a local network in one directory. A
//! real network's founders make genesis together instead — each generates a node key, they agree
//! on the node list, chain id and time, and each signs the same block 0 (the certificate is the
//! union of their [`CertSignature`](trustchain_core::chain::block::CertSignature)s); the file is then
//! distributed to every relay. [`Genesis::load`] accepts any certificate that verifies — more
//! than two thirds of the genesis weight — exactly as for every later block.
//!
//! # Weights
//!
//! Validator weights come from PoSR ([`trustchain_core::chain::posr`]). Genesis nodes are confirmed by
//! the genesis block itself ([`PosrState::genesis`]), but no runtime has been observed yet, so
//! their PoSR weight ([`NodeStatus::weight`](trustchain_core::chain::posr::NodeStatus::weight)) is 0:
//! PoSR has nothing to weigh. Epoch 0 therefore gives every genesis node the same
//! [`GENESIS_WEIGHT`]; from epoch 1 on the weights are PoSR's.
//!
//! # File format
//!
//! ```json
//! {
//!   "chain_id": "trustchain-devnet-1a2b3c4d",
//!   "time_ms": 1767225600000,
//!   "hash": "<block 0 header hash, hex; informational, checked on load>",
//!   "nodes": [
//!     { "key": "<hex>", "operator": "<hex>", "region": "eu-west", "weight": 1000, "capacity": 1 }
//!   ],
//!   "block": "<hex of the canonical bytes of block 0 and its certificate (StoredBlock)>",
//!   "window_ms": 600000,
//!   "posr": { … },
//!   "writes_per_unit": 200
//! }
//! ```
//!
//! `capacity` (1–16, default 1) weights a node in scenario placement and counts as its
//! operator's capacity pledge; `writes_per_unit` (default 200) is the write quota one pledged
//! unit buys (docs/network.md). Block 0 does not commit to regions, capacities or these
//! settings: every relay of a network must load the same genesis file.
//!
//! Nodes are listed by key, ascending. Everything is checked on load: the block decodes
//! canonically under the default limits, it is block 0 of `chain_id` at `time_ms` with a zero
//! `prev`, names the validator set made of `nodes` as this and the next epoch's set, and its
//! certificate verifies against that set.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use trustchain_core::chain::block::{BlockHeader, CommitCertificate, MAX_CHAIN_ID};
use trustchain_core::chain::posr::{PosrParams, PosrState};
use trustchain_core::chain::validators::{MAX_VALIDATORS, Validator, ValidatorSet};
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::{Decode as _, Encode as _};
use trustchain_core::merkle::anchor::AnchorMap;

use trustchain_core::chain::block::StoredBlock;

/// The voting weight of each genesis node in epoch 0. PoSR weighs observed stable runtime, and
/// at genesis none has been observed (a genesis node's PoSR weight is 0), so every genesis node
/// gets this same weight; later epochs' weights come from PoSR. Equal weights make epoch 0 a
/// plain "more than two thirds of the nodes" network.
pub const GENESIS_WEIGHT: u64 = 1_000;

/// Longest region name.
pub const MAX_REGION: usize = 64;

/// Largest genesis file read (1024 validators need about 300 KiB).
pub const MAX_GENESIS_FILE: u64 = 4 << 20;

/// One node of the genesis validator set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisNode {
    /// The node's key (consensus, checkpoints, and its libp2p identity).
    pub key: PublicKey,
    /// Its operator (PoSR caps weight and seats per operator).
    pub operator: PublicKey,
    /// Its region (P2PT, docs/network.md).
    pub region: String,
    /// Its voting weight in epoch 0.
    pub weight: u64,
    /// Its capacity in placement units (1 to `placement::MAX_TICKETS`, default 1): a node with
    /// k units is chosen as a scenario replica k times as often (docs/network.md).
    #[serde(default = "default_capacity")]
    pub capacity: u32,
}

fn default_capacity() -> u32 {
    1
}

/// A network's genesis: its name, first validator set and block 0 with its certificate.
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The network's name.
    pub chain_id: String,
    /// Epoch 0's validators.
    pub validators: ValidatorSet,
    /// Block 0, certified by the validators.
    pub block: StoredBlock,
    /// The genesis nodes, keys ascending (the same keys and weights as `validators`).
    pub nodes: Vec<GenesisNode>,
    /// How long one PoSR measurement window lasts, in milliseconds (`window = block time /
    /// window_ms`). Like the chain id, agreed by every relay of the network: a relay with other
    /// PoSR settings computes other validator sets and stops following the chain at the first
    /// epoch change.
    pub window_ms: u64,
    /// The PoSR parameters (docs/posr.md).
    pub posr: PosrParams,
    /// Contracts per second one pledged capacity unit buys at region ratio 1.0 (docs/network.md,
    /// "Capacity pledges"); like the PoSR settings, the same on every relay.
    pub writes_per_unit: u64,
}

/// The default PoSR window: 10 minutes (docs/posr.md's table assumes it).
pub const DEFAULT_WINDOW_MS: u64 = 600_000;

fn default_window_ms() -> u64 {
    DEFAULT_WINDOW_MS
}

/// The file's JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisFile {
    chain_id: String,
    time_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hash: Option<Hash>,
    nodes: Vec<GenesisNode>,
    block: String,
    #[serde(default = "default_window_ms")]
    window_ms: u64,
    #[serde(default)]
    posr: PosrParams,
    #[serde(default = "default_writes_per_unit")]
    writes_per_unit: u64,
}

fn default_writes_per_unit() -> u64 {
    trustchain_core::chain::placement::WRITES_PER_UNIT
}

impl Genesis {
    /// Makes genesis for `nodes` — `(node key, operator, region)` — and signs block 0 with every
    /// node key (see the module documentation for why that is done where all keys are).
    pub fn create(
        chain_id: &str,
        time_ms: u64,
        nodes: &[(SigningKey, PublicKey, String)],
    ) -> anyhow::Result<Genesis> {
        check_chain_id(chain_id)?;
        ensure!(!nodes.is_empty(), "genesis needs at least one node");
        ensure!(
            nodes.len() <= MAX_VALIDATORS as usize,
            "genesis has {} nodes; at most {MAX_VALIDATORS}",
            nodes.len()
        );
        let mut seen = BTreeSet::new();
        for (k, _, region) in nodes {
            let key = PublicKey::of(k);
            ensure!(seen.insert(key), "node {key} is listed twice");
            check_region(region).with_context(|| format!("node {key}"))?;
        }
        let pairs: Vec<(PublicKey, PublicKey)> = nodes
            .iter()
            .map(|(k, op, _)| (PublicKey::of(k), *op))
            .collect();
        let weights = genesis_weights(&pairs);
        let mut gnodes: Vec<GenesisNode> = nodes
            .iter()
            .zip(&weights)
            .map(|((k, operator, region), &weight)| GenesisNode {
                key: PublicKey::of(k),
                operator: *operator,
                region: region.clone(),
                capacity: 1,
                weight,
            })
            .collect();
        gnodes.sort_by_key(|n| n.key);
        let validators = validator_set(&gnodes)?;
        let header = BlockHeader {
            chain_id: chain_id.to_string(),
            height: 0,
            epoch: validators.epoch,
            prev: Hash::ZERO,
            time_ms,
            anchor_root: AnchorMap::new().root(),
            moved: 0,
            body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
            validators_hash: validators.hash(),
            next_validators_hash: validators.hash(),
        };
        let keys: Vec<&SigningKey> = nodes.iter().map(|(k, _, _)| k).collect();
        let certificate = CommitCertificate::sign(&header, 0, &validators, &keys);
        let g = Genesis {
            chain_id: chain_id.to_string(),
            validators,
            block: StoredBlock {
                header,
                certificate,
            },
            nodes: gnodes,
            window_ms: DEFAULT_WINDOW_MS,
            posr: PosrParams::default(),
            writes_per_unit: default_writes_per_unit(),
        };
        g.check().context("the new genesis does not verify")?;
        Ok(g)
    }

    /// The same genesis with other PoSR settings (a window of `window_ms`, `posr`).
    pub fn with_posr(mut self, window_ms: u64, posr: PosrParams) -> anyhow::Result<Genesis> {
        ensure!(window_ms >= 100, "window_ms must be at least 100");
        posr.check()
            .map_err(|e| anyhow::anyhow!("PoSR parameters: {e}"))?;
        self.window_ms = window_ms;
        self.posr = posr;
        Ok(self)
    }

    /// The same genesis with another write quota per pledged unit (contracts per second).
    pub fn with_writes_per_unit(mut self, writes_per_unit: u64) -> anyhow::Result<Genesis> {
        ensure!(writes_per_unit >= 1, "writes_per_unit must be at least 1");
        self.writes_per_unit = writes_per_unit;
        Ok(self)
    }

    /// Reads and verifies a genesis file. Errors name the file and what is wrong with it.
    pub fn load(path: &Path) -> anyhow::Result<Genesis> {
        let shown = path.display();
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read genesis file {shown}"))?;
        ensure!(
            meta.len() <= MAX_GENESIS_FILE,
            "genesis file {shown} is larger than {} MiB",
            MAX_GENESIS_FILE >> 20
        );
        let text =
            std::fs::read(path).with_context(|| format!("cannot read genesis file {shown}"))?;
        Self::from_json(&text).with_context(|| format!("invalid genesis file {shown}"))
    }

    /// Parses and verifies the JSON form (what [`Genesis::load`] reads).
    pub fn from_json(text: &[u8]) -> anyhow::Result<Genesis> {
        let f: GenesisFile = serde_json::from_slice(text).context("not genesis JSON")?;
        let bytes = trustchain_core::encoding::hex::decode(f.block.trim(), "block")
            .map_err(|e| anyhow::anyhow!("\"block\": {e}"))?;
        let block = StoredBlock::from_bytes(&bytes).map_err(|e| {
            anyhow::anyhow!("\"block\" is not a canonically encoded block with certificate: {e}")
        })?;
        let mut nodes = f.nodes;
        nodes.sort_by_key(|n| n.key);
        let validators = validator_set(&nodes).context("\"nodes\"")?;
        ensure!(f.window_ms >= 100, "\"window_ms\" must be at least 100");
        f.posr
            .check()
            .map_err(|e| anyhow::anyhow!("\"posr\": {e}"))?;
        let g = Genesis {
            chain_id: f.chain_id,
            validators,
            block,
            nodes,
            window_ms: f.window_ms,
            posr: f.posr,
            writes_per_unit: f.writes_per_unit,
        };
        ensure!(
            f.writes_per_unit >= 1,
            "\"writes_per_unit\" must be at least 1"
        );
        g.check()?;
        ensure!(
            g.block.header.time_ms == f.time_ms,
            "\"time_ms\" is {} but block 0 says {}",
            f.time_ms,
            g.block.header.time_ms
        );
        if let Some(h) = f.hash {
            ensure!(
                h == g.hash(),
                "\"hash\" is {h} but block 0 hashes to {}",
                g.hash()
            );
        }
        Ok(g)
    }

    /// The JSON form, pretty-printed.
    pub fn to_json(&self) -> String {
        let f = GenesisFile {
            chain_id: self.chain_id.clone(),
            time_ms: self.block.header.time_ms,
            hash: Some(self.hash()),
            nodes: self.nodes.clone(),
            block: trustchain_core::encoding::hex::encode(&self.block.to_bytes()),
            window_ms: self.window_ms,
            posr: self.posr,
            writes_per_unit: self.writes_per_unit,
        };
        let mut s = serde_json::to_string_pretty(&f).expect("genesis serializes");
        s.push('\n');
        s
    }

    /// Writes the file atomically: a temporary file next to it, synced, then renamed over it.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .with_context(|| format!("{} is not a file path", path.display()))?;
        let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(self.to_json().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            // The rename is durable once the directory is synced (best effort).
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write genesis file {}: {e}", path.display())
        })
    }

    /// The hash of block 0's header: the network's identity next to its chain id.
    pub fn hash(&self) -> Hash {
        self.block.header.hash()
    }

    /// The PoSR state at genesis: every genesis node registered and confirmed, no runtime.
    pub fn posr_state(&self) -> PosrState {
        let pairs: Vec<_> = self.nodes.iter().map(|n| (n.key, n.operator)).collect();
        PosrState::genesis(self.validators.epoch, &pairs)
    }

    /// The genesis node with key `key`, if any.
    pub fn node(&self, key: &PublicKey) -> Option<&GenesisNode> {
        self.nodes
            .binary_search_by_key(key, |n| n.key)
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// Checks the invariants [`Genesis::load`] promises.
    fn check(&self) -> anyhow::Result<()> {
        check_chain_id(&self.chain_id).context("\"chain_id\"")?;
        for n in &self.nodes {
            check_region(&n.region).with_context(|| format!("node {}", n.key))?;
            ensure!(
                (1..=trustchain_core::chain::placement::MAX_TICKETS).contains(&n.capacity),
                "node {}: capacity {} is outside 1..={}",
                n.key,
                n.capacity,
                trustchain_core::chain::placement::MAX_TICKETS
            );
        }
        let h = &self.block.header;
        let set_hash = self.validators.hash();
        ensure!(
            h.chain_id == self.chain_id,
            "block 0 is for chain {:?}, but the file says \"chain_id\": {:?}",
            h.chain_id,
            self.chain_id
        );
        ensure!(h.height == 0, "the block is at height {}, not 0", h.height);
        ensure!(h.epoch == 0, "block 0 is in epoch {}, not 0", h.epoch);
        ensure!(
            h.prev == Hash::ZERO,
            "block 0 has a previous block ({}); genesis has none",
            h.prev
        );
        ensure!(
            h.moved == 0 && h.anchor_root == AnchorMap::new().root(),
            "block 0 anchors checkpoints; genesis anchors none"
        );
        ensure!(
            h.body_hash == trustchain_core::chain::block::BlockBody::default().hash(),
            "block 0 names a non-empty body ({}); genesis has none",
            h.body_hash
        );
        ensure!(
            h.validators_hash == set_hash,
            "the \"nodes\" (keys and weights) make validator set {set_hash}, but block 0 names {} \
             — a node or weight was changed after genesis was signed",
            h.validators_hash
        );
        ensure!(
            h.next_validators_hash == set_hash,
            "block 0 names {} as the next validator set; genesis keeps its set ({set_hash})",
            h.next_validators_hash
        );
        self.block
            .certificate
            .verify(h, &self.validators)
            .map_err(|e| anyhow::anyhow!("block 0's certificate does not verify: {e}"))?;
        Ok(())
    }
}

/// Epoch 0's weight of each `(node, operator)`: PoSR's weight at genesis, or [`GENESIS_WEIGHT`]
/// where PoSR has none (always, today: no runtime has been observed yet).
pub fn genesis_weights(nodes: &[(PublicKey, PublicKey)]) -> Vec<u64> {
    let state = PosrState::genesis(0, nodes);
    let params = PosrParams::default();
    nodes
        .iter()
        .map(|(k, _)| match state.node(k).map(|s| s.weight(&params)) {
            Some(w) if w > 0 => w,
            _ => GENESIS_WEIGHT,
        })
        .collect()
}

fn validator_set(nodes: &[GenesisNode]) -> anyhow::Result<ValidatorSet> {
    if let Some(w) = nodes.windows(2).find(|w| w[0].key == w[1].key) {
        bail!("node {} is listed twice", w[0].key);
    }
    ValidatorSet::new(
        0,
        nodes
            .iter()
            .map(|n| Validator {
                key: n.key,
                weight: n.weight,
            })
            .collect(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
}

fn check_chain_id(id: &str) -> anyhow::Result<()> {
    ensure!(!id.is_empty(), "the chain id is empty");
    ensure!(
        id.len() <= MAX_CHAIN_ID as usize,
        "the chain id is longer than {MAX_CHAIN_ID} bytes"
    );
    ensure!(
        id.bytes().all(|b| b.is_ascii_graphic()),
        "the chain id {id:?} has characters other than printable ASCII"
    );
    Ok(())
}

fn check_region(region: &str) -> anyhow::Result<()> {
    ensure!(!region.is_empty(), "the region is empty");
    ensure!(
        region.len() <= MAX_REGION,
        "the region is longer than {MAX_REGION} bytes"
    );
    ensure!(
        region.bytes().all(|b| b.is_ascii_graphic()),
        "the region {region:?} has characters other than printable ASCII"
    );
    Ok(())
}

/// A devnet's PoSR window: 2 s, so that epochs (5 windows) change every 10 s and a test or a
/// person watching sees weights move within a minute.
pub const DEVNET_WINDOW_MS: u64 = 2_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> SigningKey {
        SigningKey::from_bytes(&[i; 32])
    }

    fn nodes(n: u8) -> Vec<(SigningKey, PublicKey, String)> {
        (1..=n)
            .map(|i| (key(i), PublicKey::of(&key(100 + i)), format!("r{i}")))
            .collect()
    }

    #[test]
    fn posr_weight_is_zero_at_genesis_so_genesis_weight_applies() {
        let pairs = [(PublicKey::of(&key(1)), PublicKey::of(&key(2)))];
        let state = PosrState::genesis(0, &pairs);
        assert_eq!(
            state
                .node(&pairs[0].0)
                .unwrap()
                .weight(&PosrParams::default()),
            0
        );
        assert_eq!(genesis_weights(&pairs), vec![GENESIS_WEIGHT]);
    }

    #[test]
    fn create_save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genesis.json");
        let g = Genesis::create("test-chain", 1_700_000_000_000, &nodes(4)).unwrap();
        assert_eq!(g.validators.validators.len(), 4);
        assert!(
            g.validators
                .validators
                .iter()
                .all(|v| v.weight == GENESIS_WEIGHT)
        );
        assert_eq!(g.block.certificate.signatures.len(), 4);
        g.save(&path).unwrap();
        let back = Genesis::load(&path).unwrap();
        assert_eq!(back.hash(), g.hash());
        assert_eq!(back.chain_id, "test-chain");
        assert_eq!(back.validators, g.validators);
        assert_eq!(back.nodes, g.nodes);
        assert_eq!(back.block.to_bytes(), g.block.to_bytes());
        assert_eq!(back.block.header.time_ms, 1_700_000_000_000);
        assert_eq!(back.node(&PublicKey::of(&key(3))).unwrap().region, "r3");
        assert_eq!(back.posr_state().nodes().count(), 4);
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    fn tamper(g: &Genesis, f: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&g.to_json()).unwrap();
        f(&mut v);
        let err = Genesis::from_json(v.to_string().as_bytes()).unwrap_err();
        format!("{err:#}")
    }

    #[test]
    fn load_rejects_tampering() {
        let g = Genesis::create("test-chain", 5, &nodes(4)).unwrap();
        let e = tamper(&g, |v| v["nodes"][0]["weight"] = 5_000.into());
        assert!(e.contains("a node or weight was changed"), "{e}");
        let e = tamper(&g, |v| v["chain_id"] = "other-chain".into());
        assert!(e.contains("block 0 is for chain \"test-chain\""), "{e}");
        let e = tamper(&g, |v| v["time_ms"] = 6.into());
        assert!(e.contains("\"time_ms\" is 6"), "{e}");
        let e = tamper(&g, |v| {
            v["nodes"].as_array_mut().unwrap().pop();
        });
        assert!(e.contains("a node or weight was changed"), "{e}");
        let e = tamper(&g, |v| v["extra"] = 1.into());
        assert!(e.contains("unknown field `extra`"), "{e}");
        let e = tamper(&g, |v| v["block"] = "00".into());
        assert!(
            e.contains("\"block\" is not a canonically encoded block"),
            "{e}"
        );

        // A certificate signed by only 2 of 4 validators: not more than two thirds.
        let mut weak = g.clone();
        let keys = nodes(4);
        weak.block.certificate = CommitCertificate::sign(
            &weak.block.header,
            0,
            &weak.validators,
            &[&keys[0].0, &keys[1].0],
        );
        let e = tamper(&weak, |_| {});
        assert!(e.contains("certificate does not verify"), "{e}");
        assert!(e.contains("more than two thirds"), "{e}");

        // A flipped signature bit.
        let mut bad = g.clone();
        bad.block.certificate.signatures[2].signature.0[5] ^= 1;
        let e = tamper(&bad, |_| {});
        assert!(e.contains("certificate does not verify"), "{e}");

        // A block signed for another chain id, re-hashed: the certificate no longer names it.
        let mut other = g.clone();
        other.block.header.chain_id = "x".into();
        other.chain_id = "x".into();
        let e = tamper(&other, |v| v["hash"] = serde_json::Value::Null);
        assert!(e.contains("certificate does not verify"), "{e}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        std::fs::write(&path, "{}").unwrap();
        let e = format!("{:#}", Genesis::load(&path).unwrap_err());
        assert!(e.contains("g.json") && e.contains("missing field"), "{e}");
        let e = format!(
            "{:#}",
            Genesis::load(&dir.path().join("nope.json")).unwrap_err()
        );
        assert!(e.contains("nope.json"), "{e}");
    }

    #[test]
    fn create_refuses_bad_input() {
        assert!(Genesis::create("", 0, &nodes(1)).is_err());
        assert!(Genesis::create("c", 0, &[]).is_err());
        let mut dup = nodes(2);
        dup.push(dup[0].clone());
        let e = format!("{:#}", Genesis::create("c", 0, &dup).unwrap_err());
        assert!(e.contains("listed twice"), "{e}");
        let mut bad_region = nodes(1);
        bad_region[0].2 = "has space".into();
        assert!(Genesis::create("c", 0, &bad_region).is_err());
    }
}
