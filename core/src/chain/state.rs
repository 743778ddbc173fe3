//! Chain state: what a relay holds of the chain at its head — the head block, the validator sets
//! that signed it and sign the next, the anchor map, every scenario's anchored checkpoint and
//! recorded home, and the recent blocks a checkpoint's `main_ref` may name. Block validity
//! ([`crate::chain::validate`]) is a function of this state; the relay builds it from its store
//! and swaps it whole after each durable block. (`ChainSnapshot::trust`, the checkpoint a light
//! client may start from, is defined beside the light client in `verify::light_client`, so that
//! `chain` never imports `verify`.)

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;

use crate::chain::block::StoredBlock;
use crate::chain::validators::ValidatorSet;
use crate::chain::validity::{self, AnchorError, Anchored, MAX_MAIN_REF_AGE};
use crate::crypto::PublicKey;
use crate::crypto::hash::Hash;
use crate::encoding::value::ScenarioId;
use crate::merkle::anchor::{AnchorMap, AnchorTree};
use crate::scenario::checkpoint::SignedCheckpoint;

/// What readers see of the chain: the head, the anchor map and the anchored checkpoints. Swapped
/// whole after each durable block, so a reader never sees half a block.
#[derive(Clone, Debug)]
pub struct ChainSnapshot {
    /// The latest block.
    pub head: StoredBlock,
    /// The head's hash.
    pub head_hash: Hash,
    /// The validators of the head's epoch (they signed the head).
    pub validators: ValidatorSet,
    /// The validators that sign the next block: the same set, except after the last block of an
    /// epoch (whose `next_validators_hash` names this one).
    pub next_validators: ValidatorSet,
    /// The anchor map as of the head.
    pub anchors: AnchorMap,
    /// Its tree, hashed once per block, from which anchor proofs are read.
    pub anchor_tree: AnchorTree,
    /// The anchored checkpoint of each scenario.
    pub checkpoints: BTreeMap<ScenarioId, SignedCheckpoint>,
    /// The home of each anchored scenario, as the block that founded it recorded
    /// ([`Link::Found`](crate::scenario::checkpoint::Link::Found)): whose replica set signs its checkpoints.
    pub homes: BTreeMap<ScenarioId, PublicKey>,
    /// The hashes of the last [`MAX_MAIN_REF_AGE`] blocks (head included), which a checkpoint's
    /// `main_ref` may name.
    pub recent: Arc<RecentBlocks>,
}

/// The last [`MAX_MAIN_REF_AGE`] blocks of the chain by hash, for the `main_ref` rule
/// ([`validity::main_ref_recent`]).
#[derive(Clone, Debug, Default)]
pub struct RecentBlocks {
    order: VecDeque<Hash>,
    heights: BTreeMap<Hash, u64>,
}

impl RecentBlocks {
    /// Adds the block `hash` at `height` (the new head), forgetting the oldest beyond the window.
    pub fn push(&mut self, hash: Hash, height: u64) {
        self.order.push_back(hash);
        self.heights.insert(hash, height);
        while self.order.len() as u64 > MAX_MAIN_REF_AGE {
            if let Some(old) = self.order.pop_front() {
                self.heights.remove(&old);
            }
        }
    }
    /// The height of block `hash`, if it is one of the window's.
    pub fn height_of(&self, hash: &Hash) -> Option<u64> {
        self.heights.get(hash).copied()
    }
}

impl ChainSnapshot {
    /// The network's name.
    pub fn chain_id(&self) -> &str {
        &self.head.header.chain_id
    }
    /// What the chain holds of `id`, for the block-validity predicates
    /// ([`crate::chain::validity`]): its anchored checkpoint and recorded home.
    pub fn anchored(&self, id: &ScenarioId) -> Option<Anchored<'_>> {
        let cp = self.checkpoints.get(id)?;
        let home = self.homes.get(id)?;
        Some(Anchored {
            checkpoint: &cp.checkpoint,
            home,
        })
    }
    /// Core's `main_ref` rule for a checkpoint the block after this head would anchor: its
    /// `main_ref` is one of this chain's recent blocks ([`validity::main_ref_recent`]).
    pub fn main_ref_recent(&self, cp: &SignedCheckpoint) -> Result<(), AnchorError> {
        validity::main_ref_recent(
            cp,
            self.recent.height_of(&cp.checkpoint.main_ref),
            self.head.header.height + 1,
        )
    }
}

/// A chain of height 1 for unit tests: signed by `keys` (each weight 10, epoch 1), its
/// head anchoring `anchored` (checkpoint, recorded home), and `earlier` as the blocks before it
/// that checkpoints may name as `main_ref`. For tests only (this crate's, and others' through
/// the `test-support` feature).
#[cfg(any(test, feature = "test-support"))]
pub fn test_snapshot(
    keys: &[ed25519_dalek::SigningKey],
    anchored: &[(SignedCheckpoint, PublicKey)],
    earlier: &[Hash],
) -> ChainSnapshot {
    use crate::chain::block::{BlockBody, BlockHeader, CommitCertificate};
    use crate::chain::validators::Validator;
    use alloc::string::String;
    use alloc::vec::Vec;
    use ed25519_dalek::SigningKey;
    let set = ValidatorSet::new(
        1,
        keys.iter()
            .map(|k| Validator {
                key: PublicKey::of(k),
                weight: 10,
            })
            .collect(),
    )
    .expect("a valid set");
    let mut anchors = AnchorMap::new();
    for (cp, _) in anchored {
        anchors.insert(cp.checkpoint.scenario.anchor_key(), cp.checkpoint.digest());
    }
    let header = BlockHeader {
        chain_id: String::from("test"),
        height: 1,
        epoch: 1,
        prev: earlier.last().copied().unwrap_or(Hash::ZERO),
        time_ms: 1,
        anchor_root: anchors.root(),
        moved: anchored.len() as u32,
        body_hash: BlockBody::default().hash(),
        validators_hash: set.hash(),
        next_validators_hash: set.hash(),
    };
    let signers: Vec<&SigningKey> = keys.iter().collect();
    let certificate = CommitCertificate::sign(&header, 0, &set, &signers);
    let mut recent = RecentBlocks::default();
    for h in earlier {
        recent.push(*h, 0);
    }
    recent.push(header.hash(), 1);
    ChainSnapshot {
        head_hash: header.hash(),
        head: StoredBlock {
            header,
            certificate,
        },
        validators: set.clone(),
        next_validators: set,
        anchor_tree: AnchorTree::new(&anchors),
        anchors,
        checkpoints: anchored
            .iter()
            .map(|(cp, _)| (cp.checkpoint.scenario.clone(), cp.clone()))
            .collect(),
        homes: anchored
            .iter()
            .map(|(cp, home)| (cp.checkpoint.scenario.clone(), *home))
            .collect(),
        recent: Arc::new(recent),
    }
}
