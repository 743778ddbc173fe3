//! The chain as this relay keeps it on the store: opening it (`open_chain`: block 0 of a network's
//! genesis, the registry replayed), the snapshot readers see (`load_snapshot`), committing a final
//! block (`commit_block`), signing checkpoints of local scenarios that grew (`sign_moved`) and the
//! header of a block to propose (`next_header`) — used by the node machine in a network relay.
//!
//! And the dev relay's block production (`trustchain-relay dev`): when scenarios moved, a
//! [`Producer`] checkpoints them and anchors them in a new main block finalized through the
//! [`Finalizer`] boundary, where a single validator signs its own blocks ([`SoloFinalizer`]: a
//! one-validator set with a real commit certificate). Network relays do not use it: their blocks
//! are agreed by the BFT engine (`crate::consensus`) driven by `crate::node::Machine`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use tokio::sync::watch;
use trustchain_core::chain::block::{BlockBody, BlockHeader, CommitCertificate, StoredBlock};
use trustchain_core::chain::registry::Registry;
use trustchain_core::chain::state::{ChainSnapshot, RecentBlocks};
use trustchain_core::chain::validators::{Validator, ValidatorSet};
use trustchain_core::chain::validity::MAX_MAIN_REF_AGE;
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::merkle::anchor::{AnchorMap, AnchorTree};
use trustchain_core::scenario::checkpoint::{Checkpoint, Link, SignedCheckpoint};

use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Agreement on a proposed block. Returns the block's commit certificate once it is final.
pub trait Finalizer: Send + 'static {
    /// The validators of the current epoch.
    fn validators(&self) -> &ValidatorSet;
    /// Runs agreement on `header` and returns its certificate.
    fn finalize(&mut self, header: &BlockHeader) -> anyhow::Result<CommitCertificate>;
    /// The key this node signs checkpoints with as a scenario replica.
    fn replica_key(&self) -> &SigningKey;
}

/// The single-node finalizer: this node is the whole validator set.
pub struct SoloFinalizer {
    key: SigningKey,
    set: ValidatorSet,
}

impl SoloFinalizer {
    /// A one-validator set of weight 1 made of `key`.
    pub fn new(key: SigningKey) -> Self {
        let set = ValidatorSet::new(
            0,
            vec![Validator {
                key: PublicKey::of(&key),
                weight: 1,
            }],
        )
        .expect("one validator with weight 1 is a valid set");
        SoloFinalizer { key, set }
    }
}

impl Finalizer for SoloFinalizer {
    fn validators(&self) -> &ValidatorSet {
        &self.set
    }
    fn finalize(&mut self, header: &BlockHeader) -> anyhow::Result<CommitCertificate> {
        Ok(CommitCertificate::sign(header, 0, &self.set, &[&self.key]))
    }
    fn replica_key(&self) -> &SigningKey {
        &self.key
    }
}

/// Rebuilds the snapshot of the chain whose latest block is `head` from the database, and checks
/// the anchored checkpoints against the head's anchor root and `validators` against the head.
pub fn load_snapshot(
    store: &Store,
    head: StoredBlock,
    validators: ValidatorSet,
    next_validators: ValidatorSet,
) -> anyhow::Result<ChainSnapshot> {
    let view = store.read()?;
    let mut anchors = AnchorMap::new();
    let mut checkpoints = BTreeMap::new();
    let mut homes = BTreeMap::new();
    for (id, size) in view.anchored()? {
        let cp = view.checkpoint(&id, size)?.ok_or_else(|| {
            anyhow::anyhow!("database corrupt: anchored checkpoint {id}@{size} is missing")
        })?;
        // The scenario's first anchored checkpoint founded it and names its home.
        match view.checkpoints(&id, 0, 1)?.first().map(|f| &f.link) {
            Some(Some(Link::Found { home })) => homes.insert(id.clone(), *home),
            _ => anyhow::bail!(
                "database corrupt: the first anchored checkpoint of {id} does not found it"
            ),
        };
        anchors.insert(id.anchor_key(), cp.checkpoint.digest());
        checkpoints.insert(id, cp);
    }
    let mut recent = RecentBlocks::default();
    let height = head.header.height;
    for h in height.saturating_sub(MAX_MAIN_REF_AGE - 1)..height {
        if let Some(b) = view.block(h)? {
            recent.push(b.header.hash(), h);
        }
    }
    recent.push(head.header.hash(), height);
    let anchor_tree = AnchorTree::new(&anchors);
    anyhow::ensure!(
        anchor_tree.root() == head.header.anchor_root,
        "database corrupt: the anchored checkpoints do not hash to block {}'s anchor root",
        head.header.height
    );
    anyhow::ensure!(
        validators.hash() == head.header.validators_hash
            && next_validators.hash() == head.header.next_validators_hash,
        "this node's validator set does not match the chain in the data directory"
    );
    Ok(ChainSnapshot {
        head_hash: head.header.hash(),
        head,
        validators,
        next_validators,
        anchors,
        anchor_tree,
        checkpoints,
        homes,
        recent: Arc::new(recent),
    })
}

/// Why a block does not follow a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The body's checkpoints do not hash to the header's anchor root.
    #[error("block {height}: its body does not hash to the header's anchor root")]
    AnchorRoot {
        /// The block's height.
        height: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes `block` (final: its certificate was checked by the caller) with `body` on top of
/// `snap` in one durable transaction — the block, its body, the checkpoints and the anchored
/// sizes, and, with `wal_below = Some(h)`, the removal of the consensus WAL below height `h` — and
/// returns the new snapshot. `next_validators` sign the block after this one; if they are a new
/// epoch's, the set and the hand-over height are stored too.
pub fn commit_block(
    store: &Store,
    snap: &ChainSnapshot,
    block: StoredBlock,
    body: BlockBody,
    next_validators: ValidatorSet,
    wal_below: Option<u64>,
) -> Result<ChainSnapshot, CommitError> {
    let validators = snap.next_validators.clone();
    let epoch_change = next_validators.epoch != validators.epoch;
    let height = block.header.height;
    let mut anchors = snap.anchors.clone();
    let mut checkpoints = snap.checkpoints.clone();
    let mut homes = snap.homes.clone();
    for cp in &body.checkpoints {
        let c = &cp.checkpoint;
        anchors.insert(c.scenario.anchor_key(), c.digest());
        checkpoints.insert(c.scenario.clone(), cp.clone());
        if let Some(Link::Found { home }) = &cp.link {
            homes.insert(c.scenario.clone(), *home);
        }
    }
    let anchor_tree = AnchorTree::new(&anchors);
    if anchor_tree.root() != block.header.anchor_root {
        return Err(CommitError::AnchorRoot { height });
    }
    store.commit_block(
        &block,
        &body,
        epoch_change.then_some(&next_validators),
        wal_below,
    )?;
    let head_hash = block.header.hash();
    let mut recent = (*snap.recent).clone();
    recent.push(head_hash, height);
    Ok(ChainSnapshot {
        head_hash,
        head: block,
        validators,
        next_validators,
        anchors,
        anchor_tree,
        checkpoints,
        homes,
        recent: Arc::new(recent),
    })
}

/// Signs, with `key`, a checkpoint of every scenario homed here (not those kept as replicas) that grew past both its
/// anchored size in `snap` and `pending(scenario)` (the size of a checkpoint already waiting to be
/// anchored), ascending by scenario. `main_ref` is `snap`'s head.
pub fn sign_moved(
    store: &Store,
    snap: &ChainSnapshot,
    key: &SigningKey,
    time_ms: u64,
    pending: impl Fn(&ScenarioId) -> u64,
) -> Result<Vec<SignedCheckpoint>, StoreError> {
    let view = store.read()?;
    let replicated: std::collections::HashSet<ScenarioId> =
        view.homes()?.into_iter().map(|(id, _)| id).collect();
    let mut out = Vec::new();
    for (id, size) in view.scenarios()? {
        if replicated.contains(&id) {
            continue;
        }
        let anchored = snap.checkpoints.get(&id).map_or(0, |c| c.checkpoint.size);
        if size <= anchored.max(pending(&id)) {
            continue;
        }
        let root = view.root(&id, size)?;
        // Founding (nothing anchored yet), or extending what is anchored with a proof that
        // this log starts with it.
        let link = match snap.checkpoints.get(&id) {
            None => Link::Found {
                home: PublicKey::of(key),
            },
            Some(a) => match view.consistency(&id, a.checkpoint.size, size)? {
                Ok(proof) => Link::Extend { proof },
                Err(e) => {
                    tracing::error!(scenario = %id, anchored = a.checkpoint.size, size, error = %e, "no consistency proof from the anchored checkpoint");
                    continue;
                }
            },
        };
        let mut cp = Checkpoint {
            scenario: id,
            size,
            root,
            main_ref: snap.head_hash,
            time_ms,
        }
        .sign(&[key]);
        cp.link = Some(link);
        out.push(cp);
    }
    out.sort_by(|a, b| a.checkpoint.scenario.cmp(&b.checkpoint.scenario));
    Ok(out)
}

/// The header of the block after `snap`'s head that anchors `body`, signed by `snap`'s next
/// validators; `after` names the set of the block after it (another epoch's at a hand-over).
pub fn next_header(
    snap: &ChainSnapshot,
    body: &BlockBody,
    time_ms: u64,
    after: &ValidatorSet,
) -> BlockHeader {
    let set = &snap.next_validators;
    let mut anchors = snap.anchors.clone();
    for cp in &body.checkpoints {
        anchors.insert(cp.checkpoint.scenario.anchor_key(), cp.checkpoint.digest());
    }
    BlockHeader {
        chain_id: snap.head.header.chain_id.clone(),
        height: snap.head.header.height + 1,
        epoch: set.epoch,
        prev: snap.head_hash,
        time_ms,
        anchor_root: anchors.root(),
        moved: body.checkpoints.len() as u32,
        body_hash: body.hash(),
        validators_hash: set.hash(),
        next_validators_hash: after.hash(),
    }
}

/// The chain's name in dev mode: derived from the validator key, so two dev nodes differ.
pub fn dev_chain_id(key: &PublicKey) -> String {
    format!("trustchain-dev-{}", &key.to_hex()[..12])
}

/// Block production state.
pub struct Producer<F: Finalizer> {
    store: Arc<Store>,
    finalizer: F,
    snapshot: watch::Sender<Arc<ChainSnapshot>>,
    metrics: Arc<Metrics>,
}

impl<F: Finalizer> Producer<F> {
    /// Opens the chain: writes genesis on first start, otherwise rebuilds the snapshot from the
    /// database and checks it against the head block.
    pub fn open(
        store: Arc<Store>,
        finalizer: F,
        chain_id: String,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<(Self, watch::Receiver<Arc<ChainSnapshot>>)> {
        let view = store.read()?;
        let head = match view.head()? {
            Some(h) => h,
            None => {
                drop(view);
                let set = finalizer.validators().clone();
                let header = BlockHeader {
                    chain_id,
                    height: 0,
                    epoch: set.epoch,
                    prev: Hash::ZERO,
                    time_ms: super::Now::real().wall_ms,
                    anchor_root: AnchorMap::new().root(),
                    moved: 0,
                    body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
                    validators_hash: set.hash(),
                    next_validators_hash: set.hash(),
                };
                let mut f = finalizer;
                let certificate = f.finalize(&header)?;
                let block = StoredBlock {
                    header,
                    certificate,
                };
                store.write_genesis(&block, &set)?;
                tracing::info!(chain_id = %block.header.chain_id, "wrote genesis block");
                return Self::open(store, f, String::new(), metrics);
            }
        };
        drop(view);
        let validators = finalizer.validators().clone();
        let snap = load_snapshot(&store, head, validators.clone(), validators)?;
        metrics.head_height.set(snap.head.header.height);
        let (tx, rx) = watch::channel(Arc::new(snap));
        Ok((
            Producer {
                store,
                finalizer,
                snapshot: tx,
                metrics,
            },
            rx,
        ))
    }

    /// A new receiver of chain snapshots.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ChainSnapshot>> {
        self.snapshot.subscribe()
    }

    /// Produces one block if any scenario moved since the last; returns its height.
    pub fn produce(&mut self) -> anyhow::Result<Option<u64>> {
        let snap = self.snapshot.borrow().clone();
        let time_ms = super::Now::real().wall_ms.max(snap.head.header.time_ms);
        let new_cps = sign_moved(
            &self.store,
            &snap,
            self.finalizer.replica_key(),
            time_ms,
            |_| 0,
        )?;
        if new_cps.is_empty() {
            return Ok(None);
        }
        let set = self.finalizer.validators().clone();
        let body = BlockBody {
            checkpoints: new_cps,
            ..Default::default()
        };
        let header = next_header(&snap, &body, time_ms, &set);
        let certificate = self.finalizer.finalize(&header)?;
        let block = StoredBlock {
            header,
            certificate,
        };
        let height = block.header.height;
        let moved = body.checkpoints.len();
        let next = commit_block(&self.store, &snap, block, body, set, None)?;
        self.metrics.head_height.set(height);
        self.metrics.blocks.add(1);
        tracing::debug!(height, moved, "block final");
        self.snapshot.send_replace(Arc::new(next));
        Ok(Some(height))
    }

    /// Produces blocks every `interval` until `stop` turns true.
    pub fn run(mut self, interval: Duration, stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            std::thread::sleep(interval);
            if let Err(e) = self.produce() {
                tracing::error!(error = %e, "block production failed; retrying");
            }
        }
    }
}

/// Opens the chain of `genesis` in `store`: writes block 0 into a new database (`fresh` is then
/// true), or checks that the database holds this network; rebuilds the node registry by
/// replaying every block's reports (and checks it against the stored epoch changes).
pub fn open_chain(
    store: &Store,
    genesis: &crate::node::genesis::Genesis,
) -> anyhow::Result<(ChainSnapshot, Registry, bool)> {
    let view = store.read()?;
    let (head, fresh) = match view.head()? {
        Some(head) => {
            let zero = view.block(0)?.map(|b| b.header.hash());
            anyhow::ensure!(
                zero == Some(genesis.hash()),
                "the data directory holds another network than genesis {} ({}): use another \
                 --data-dir, or remove this one to join {} from scratch",
                genesis.chain_id,
                genesis.hash(),
                genesis.chain_id
            );
            (head, false)
        }
        None => {
            drop(view);
            store.write_genesis(&genesis.block, &genesis.validators)?;
            tracing::info!(chain_id = %genesis.chain_id, "wrote the genesis block");
            (genesis.block.clone(), true)
        }
    };
    // Replay the registry: block by block, the set each block names must be the one stored.
    let view = store.read()?;
    let mut registry = crate::node::registry::of_genesis(genesis);
    let mut set = genesis.validators.clone();
    for h in 1..=head.header.height {
        let block = view
            .block(h)?
            .ok_or_else(|| anyhow::anyhow!("database corrupt: block {h} is missing"))?;
        let body = view.body(h)?.unwrap_or_default();
        let applied = registry
            .apply(block.header.time_ms, &body, &set)
            .map_err(|e| anyhow::anyhow!("database corrupt: block {h}'s registry entries: {e}"))?;
        if let Some(next) = applied.next {
            anyhow::ensure!(
                next.hash() == block.header.next_validators_hash,
                "the registry replayed to block {h} gives another validator set than the chain \
                 (are the PoSR settings in the genesis file the network's?)"
            );
            set = next;
        }
    }
    let current = view.epoch_set(head.header.epoch)?.ok_or_else(|| {
        anyhow::anyhow!(
            "database corrupt: no validator set of epoch {}",
            head.header.epoch
        )
    })?;
    drop(view);
    let snap = load_snapshot(store, head, current, set)?;
    Ok((snap, registry, fresh))
}
