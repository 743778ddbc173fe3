//! The consensus driver: one thread that owns this relay's [`ConsensusCore`], its write-ahead
//! log, its pool of checkpoints waiting to be anchored and the chain snapshot, and executes the
//! core's actions against the real world (docs/consensus.md §5).
//!
//! Inputs arrive on one channel ([`DriverIn`]: messages from other relays, sync answers, new
//! connections); outputs leave on another ([`NetOut`]: what to gossip, whom to ask for blocks).
//! Timers are deadlines the loop sleeps towards. Everything that touches consensus state happens
//! on this thread, in order, so the execution rules of [`ConsensusCore`] hold: a WAL entry is
//! durable before anything published after it leaves the node.
//!
//! Heights: after a block is final the next height starts only when something is waiting to be
//! anchored, when another relay's message for it arrives, or after `idle_block` — an idle network
//! makes no empty blocks faster than that.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_consensus::{LivenessMsg, SignedConsensusMsg};
use informalsystems_malachitebft_core_types::{Round, SignedProposal, Timeout};
use libp2p::PeerId;
use tokio::sync::{mpsc, watch};
use trustchain_core::chain::beacon::{BeaconCommit, BeaconReveal, BeaconSecret};
use trustchain_core::chain::posr::{Measurements, ObservationReport};
use trustchain_core::crypto::PublicKey;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode, Encode};
use trustchain_core::scenario::checkpoint::{Checkpoint, ReplicaSignature, SignedCheckpoint};

use crate::consensus::codec::{MAX_SYNC_BLOCKS, NetMessage, WalRecord};
use crate::consensus::{
    Action, BlockValue, ConsensusCore, Decision, EpochSet, Height, TimeoutConfig, TrustchainContext,
};
use crate::metrics::Metrics;
use crate::overlay::Overlay;
use crate::producer::{commit_block, next_header, sign_moved};
use crate::store::{CONSENSUS_WAL, Store};
use trustchain_core::chain::block::{
    BlockBody, FinalBlock, MAX_BODY_CHECKPOINTS, MAX_BODY_REPORTS, StoredBlock,
};
use trustchain_core::chain::placement::{needed, replicas_of};
use trustchain_core::chain::registry::Registry;
use trustchain_core::chain::state::ChainSnapshot;
use trustchain_core::chain::validate::{
    check_checkpoint, early, links_to, validate_block, validate_final,
};

/// What reaches the driver.
#[derive(Debug)]
pub enum DriverIn {
    /// A message gossiped by another relay (decoded with limits, not yet verified).
    Net {
        /// The relay that forwarded it.
        from: PeerId,
        /// The message.
        msg: NetMessage,
    },
    /// An answer to [`NetOut::Sync`].
    Synced {
        /// Who answered.
        from: PeerId,
        /// The blocks, from the height asked for, ascending.
        blocks: Vec<FinalBlock>,
    },
    /// A relay connected: ask it what we missed.
    PeerConnected(PeerId),
    /// This relay durably accepted new records: checkpoint them now if between heights.
    Moved,
    /// A replica co-signed a checkpoint of a scenario homed here (signature checked by the
    /// network layer against the replica's key).
    ReplicaSigned {
        /// The checkpoint.
        checkpoint: Checkpoint,
        /// The replica's signature.
        signature: ReplicaSignature,
    },
    /// What this relay measured of the other nodes over a PoSR window (to sign as reports).
    Observations {
        /// The window.
        window: u64,
        /// Per node.
        measured: Vec<(PublicKey, Measurements)>,
    },
    /// Stop the thread.
    Stop,
}

/// What the driver asks the network layer to do.
#[derive(Debug)]
pub enum NetOut {
    /// Gossip to every relay.
    Publish(NetMessage),
    /// Ask `peer` for final blocks from height `from` on (at most [`MAX_SYNC_BLOCKS`]).
    Sync {
        /// Whom to ask.
        peer: PeerId,
        /// First height wanted.
        from: u64,
    },
    /// Close every relay connection and dial the bootstrap relays and hubs again (a stalled
    /// height; see [`STALL_RECONNECT`]).
    Reconnect,
    /// Send the entries behind `checkpoint` to `replicas` and ask them to co-sign it
    /// ([`crate::replica`]).
    Replicate {
        /// A checkpoint of a scenario homed here.
        checkpoint: Checkpoint,
        /// The scenario's replicas (this relay excluded).
        replicas: Vec<PublicKey>,
    },
}

/// A checkpoint of a scenario homed here, waiting for its replicas' signatures.
struct Awaiting {
    /// The checkpoint with the signatures so far (keys ascending, ours among them).
    cp: SignedCheckpoint,
    /// Its replicas when it was (last) sent.
    replicas: Vec<PublicKey>,
    /// When it was last sent.
    sent: Instant,
    /// When this checkpoint was first sent.
    since: Instant,
    /// Whether it has its majority (it is pooled; what remains is for the stragglers).
    majority: bool,
}

/// How long a checkpoint that has its majority (or is anchored) is still sent to the replicas
/// that did not sign it, so that they catch up even if the scenario stops growing.
const REPLICA_TRAIL: Duration = Duration::from_secs(30);

/// How long a checkpoint waits for its replicas before it is sent again (a newer checkpoint of
/// the scenario replaces it then, if the log grew).
const REPLICA_RESEND: Duration = Duration::from_secs(1);

/// Settings of the driver.
#[derive(Clone, Copy, Debug)]
pub struct DriverConfig {
    /// Consensus timeouts.
    pub timeouts: TimeoutConfig,
    /// Longest time between blocks when nothing moved.
    pub idle_block: Duration,
    /// How often local scenarios are scanned for new records to checkpoint.
    pub checkpoint_delay: Duration,
    /// How often our votes (and proposal) of a round without progress are sent again.
    pub retransmit: Duration,
    /// How long a relay that starts with a new database waits for another relay's blocks before
    /// it takes part in consensus anyway (its key may have signed in a height it no longer
    /// remembers; see [`Driver::synced`]).
    pub sync_grace: Duration,
    /// Testing the other relays' block validation only: propose and gossip checkpoints the
    /// chain must refuse (`run --misbehave-chain`).
    pub misbehave: Option<crate::misbehave::ChainMisbehave>,
}

/// Pending checkpoints kept at most (one per scenario).
const MAX_POOL: usize = 100_000;
/// Blocks an early checkpoint ([`Driver::early`]) waits for the block it links to.
const EARLY_BLOCKS: u64 = 4;
/// Proposals of the next height kept until it starts.
const MAX_FUTURE_PROPOSALS: usize = 16;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The driver's state; see the module documentation.
pub struct Driver {
    store: Arc<Store>,
    key: SigningKey,
    ctx: TrustchainContext,
    epoch: EpochSet,
    core: ConsensusCore,
    cfg: DriverConfig,
    snapshot: watch::Sender<Arc<ChainSnapshot>>,
    metrics: Arc<Metrics>,
    net: mpsc::UnboundedSender<NetOut>,
    /// Whether the height after the head has not started yet.
    waiting: bool,
    /// Whether this relay may vote: false for a new database until a relay answered a sync.
    synced: bool,
    /// When the driver started (for `sync_grace`).
    started: Instant,
    /// When the head became final here.
    head_at: Instant,
    timers: HashMap<Timeout, Instant>,
    pool: BTreeMap<ScenarioId, SignedCheckpoint>,
    /// Checkpoints (signatures verified) that link to a block this relay has not committed yet —
    /// gossiped by a home one block ahead: its `main_ref`, or the anchored size its consistency
    /// proof starts from. Retried after each block; kept for [`EARLY_BLOCKS`] blocks at most.
    early: BTreeMap<ScenarioId, (SignedCheckpoint, u64)>,
    /// Proposed values of the height in progress found valid (cleared at every final block).
    validated: std::collections::HashSet<crate::consensus::ctx::BlockId>,
    /// Checkpoints of scenarios homed here waiting for their replicas.
    awaiting: BTreeMap<ScenarioId, Awaiting>,
    /// The node registry as of the head.
    registry: Registry,
    /// Observation reports waiting for a block: (observer, subject, window) → report.
    reports: BTreeMap<(PublicKey, PublicKey, u64), ObservationReport>,
    /// Beacon commitments waiting for a block: (epoch, validator) → commit.
    beacon_commits: BTreeMap<(u64, PublicKey), BeaconCommit>,
    /// Beacon reveals waiting for a block.
    beacon_reveals: BTreeMap<(u64, PublicKey), BeaconReveal>,
    future_proposals: Vec<SignedProposal<TrustchainContext>>,
    my_proposal: Option<SignedProposal<TrustchainContext>>,
    /// WAL rows appended but not written: (height, bytes).
    wal_pending: Vec<(u64, Vec<u8>)>,
    /// Whether WAL rows were written without `fsync` since the last durable commit.
    wal_lazy: bool,
    wal_seq: u64,
    next_scan: Instant,
    next_retransmit: Instant,
    /// When a lasting round may re-send the head block again.
    next_block_resend: Instant,
    /// When this relay next re-gossips its own pending checkpoints and beacon entries.
    next_regossip: Instant,
    /// Last sync request per peer (rate limit).
    asked: HashMap<PeerId, Instant>,
    /// Relays that connected (sync poll targets, in turn).
    peers: Vec<PeerId>,
    /// When the height in progress started.
    height_started: Instant,
    /// When this relay last polled a peer for blocks because it made no progress.
    polled: Instant,
    /// When this relay last dropped and redialed its relay connections (see
    /// [`STALL_RECONNECT`]).
    reconnected: Instant,
    /// The P2PT overlay of the current epoch, for the network layer and the API.
    overlay: watch::Sender<Arc<Overlay>>,
}

/// A height in progress this long without a decision, or an idle wait this much longer than
/// `idle_block`, makes the relay ask another relay for blocks: gossip alone can leave a relay
/// behind (seen: a restarted relay that received no gossip of its peers' heights).
const STALL_POLL: Duration = Duration::from_secs(2);
/// A height in progress (or an idle wait past `idle_block`) this long without a decision makes
/// the relay drop its relay connections and dial them afresh, at most once per this period: a
/// connection that stalled in a partition recovers only as fast as TCP's retransmission backoff,
/// and gossip state on it may be stale; new connections start clean.
const STALL_RECONNECT: Duration = Duration::from_secs(8);

impl Driver {
    /// A driver for the chain in `snapshot`, as the validator (or follower) holding `key`.
    /// `fresh`: the database was created at this start, so the key may have voted before in a
    /// database that is gone — the relay votes only after syncing (or after `sync_grace`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<Store>,
        key: SigningKey,
        epoch: EpochSet,
        snapshot: watch::Sender<Arc<ChainSnapshot>>,
        metrics: Arc<Metrics>,
        net: mpsc::UnboundedSender<NetOut>,
        cfg: DriverConfig,
        fresh: bool,
        registry: Registry,
        overlay: watch::Sender<Arc<Overlay>>,
    ) -> anyhow::Result<Self> {
        let snap = snapshot.borrow().clone();
        let ctx = TrustchainContext::new(snap.chain_id());
        let next = snap.head.header.height + 1;
        let core = ConsensusCore::new(
            ctx.clone(),
            key.clone(),
            epoch.clone(),
            Height(next),
            cfg.timeouts,
        );
        let wal_seq = store.read()?.wal_last_seq()?.map_or(0, |s| s + 1);
        let now = Instant::now();
        Ok(Driver {
            store,
            key,
            ctx,
            epoch,
            core,
            cfg,
            snapshot,
            metrics,
            net,
            waiting: true,
            synced: !fresh,
            started: now,
            head_at: now,
            timers: HashMap::new(),
            pool: BTreeMap::new(),
            early: BTreeMap::new(),
            validated: std::collections::HashSet::new(),
            awaiting: BTreeMap::new(),
            registry,
            reports: BTreeMap::new(),
            beacon_commits: BTreeMap::new(),
            beacon_reveals: BTreeMap::new(),
            future_proposals: Vec::new(),
            my_proposal: None,
            wal_pending: Vec::new(),
            wal_lazy: false,
            wal_seq,
            next_scan: now,
            next_retransmit: now,
            next_block_resend: now,
            next_regossip: now,
            asked: HashMap::new(),
            peers: Vec::new(),
            height_started: now,
            polled: now,
            reconnected: now,
            overlay,
        })
    }

    fn snap(&self) -> Arc<ChainSnapshot> {
        self.snapshot.borrow().clone()
    }

    /// The height after the head: the one in progress, or about to start.
    fn next_height(&self) -> u64 {
        self.snapshot.borrow().head.header.height + 1
    }

    /// Replays the WAL of the next height, if the last run left one (docs/consensus.md §2.2).
    /// The replayed votes are not sent again; timers are armed; a request for a value is answered
    /// after the replay.
    pub fn recover(&mut self) -> anyhow::Result<()> {
        let next = self.next_height();
        let rows = self.store.read()?.wal(next)?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut entries = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let rec = WalRecord::from_bytes(row).map_err(|e| {
                anyhow::anyhow!(
                    "database corrupt: consensus WAL entry {i} of height {next} does not decode ({e}); \
                     a relay must not vote without its WAL — restore the data directory or start a new one"
                )
            })?;
            entries.push(rec.0);
        }
        tracing::info!(
            height = next,
            entries = entries.len(),
            "replaying the consensus WAL"
        );
        let start = self.core.start_height(Height(next), self.epoch.clone());
        let mut deferred = self.run(start, true);
        for e in entries {
            let actions = self.core.replay(e);
            deferred.extend(self.run(actions, true));
        }
        self.waiting = false;
        // The WAL proves what this key signed at this height: safe to go on voting.
        self.synced = true;
        if let Some((h, r)) = deferred.pop()
            && h == self.core.height()
            && r == self.core.round()
        {
            let actions = self.propose(h, r);
            self.run(actions, false);
        }
        Ok(())
    }

    /// Runs until [`DriverIn::Stop`] or until every sender is gone.
    pub fn run_loop(mut self, rx: DriverRx) {
        loop {
            let now = Instant::now();
            let mut wake = self.next_scan.min(self.next_retransmit);
            if let Some(t) = self.timers.values().min() {
                wake = wake.min(*t);
            }
            // Consensus first: a flood of checkpoints and reports must not delay (or, when
            // the bulk lane is full, drop) the votes that make blocks final.
            // `None`: a timer is due; `Some(None)`: every sender is gone.
            let got = crossbeam_channel::select_biased! {
                recv(rx.urgent) -> m => Some(m.ok()),
                recv(rx.bulk) -> m => Some(m.ok()),
                default(wake.saturating_duration_since(now)) => None,
            };
            match got {
                Some(Some(DriverIn::Stop) | None) => break,
                Some(Some(input)) => self.input(input),
                None => {}
            }
            self.fire_timers();
            self.tick();
        }
        if let Err(e) = self.flush_wal(true) {
            tracing::error!(error = %e, "cannot flush the consensus WAL at shutdown");
        }
    }

    fn input(&mut self, input: DriverIn) {
        match input {
            DriverIn::Net { from, msg } => self.on_net(from, msg),
            DriverIn::Synced { from, blocks } => self.on_synced(from, blocks),
            DriverIn::PeerConnected(peer) => {
                let next = self.next_height();
                if !self.peers.contains(&peer) {
                    self.peers.push(peer);
                }
                self.ask(peer, next, true);
            }
            DriverIn::Observations { window, measured } => self.observe(window, measured),
            DriverIn::ReplicaSigned {
                checkpoint,
                signature,
            } => self.replica_signed(checkpoint, signature),
            // Between heights a moved scenario starts the next one at once (the tick covers
            // the scenarios that move during a height).
            DriverIn::Moved => {
                if self.waiting {
                    self.scan_local();
                }
            }
            DriverIn::Stop => {}
        }
    }

    fn refuse(&self, what: &str, why: impl std::fmt::Display) {
        self.metrics.consensus_refused.add(1);
        tracing::debug!(%why, "refused {what}");
    }

    fn on_net(&mut self, from: PeerId, msg: NetMessage) {
        let next = self.next_height();
        match msg {
            NetMessage::Checkpoint(cp) => {
                self.pool_insert(*cp, false);
                // Something to anchor: begin the next height now, not at the next tick.
                if self.waiting && !self.pool.is_empty() {
                    self.start_if_waiting();
                }
            }
            NetMessage::Report(r) => self.report_insert(*r),
            NetMessage::BeaconCommit(c) => {
                if self.registry.admits_commit(&c) {
                    self.beacon_commits.insert((c.epoch, c.validator), *c);
                }
            }
            NetMessage::BeaconReveal(r) => {
                if self.registry.admits_reveal(&r) {
                    self.beacon_reveals.insert((r.epoch, r.validator), *r);
                }
            }
            NetMessage::Block(fb) => {
                let h = fb.block.header.height;
                if h == next {
                    self.apply_final(*fb, false);
                } else if h > next {
                    self.ask(from, next, false);
                }
            }
            NetMessage::Consensus(SignedConsensusMsg::Proposal(p)) => {
                let h = p.height.0;
                if h == next + 1 {
                    if self.future_proposals.len() < MAX_FUTURE_PROPOSALS {
                        self.future_proposals.push(p);
                    }
                } else if h == next {
                    self.start_if_waiting();
                    self.feed_proposal(p);
                } else if h > next + 1 {
                    self.ask(from, next, false);
                }
            }
            NetMessage::Consensus(SignedConsensusMsg::Vote(v)) => {
                let h = v.height.0;
                if h > next + 1 {
                    self.ask(from, next, false);
                    return;
                }
                if h == next {
                    self.start_if_waiting();
                }
                if !self.waiting {
                    let actions = self.core.receive(SignedConsensusMsg::Vote(v));
                    self.run(actions, false);
                }
            }
            NetMessage::Liveness(m) => {
                let h = match &m {
                    LivenessMsg::Vote(v) => v.height.0,
                    LivenessMsg::PolkaCertificate(c) => c.height.0,
                    LivenessMsg::SkipRoundCertificate(c) => c.height.0,
                };
                if h > next + 1 {
                    self.ask(from, next, false);
                    return;
                }
                if h == next {
                    self.start_if_waiting();
                }
                if !self.waiting {
                    let actions = self.core.receive_liveness(m);
                    self.run(actions, false);
                }
            }
        }
    }

    /// A proposal of the height in progress: its block is validated before the state machine
    /// sees it (`ProposalOnly` mode marks every value valid, docs/consensus.md §2.3).
    fn feed_proposal(&mut self, p: SignedProposal<TrustchainContext>) {
        if self.waiting {
            return;
        }
        let snap = self.snap();
        let v = &p.message.value;
        // A proposal is re-sent every 200 ms while its round lasts, and a value once valid at
        // this height stays valid (its id is its header's hash, which commits to the body):
        // validate each value once, not each copy — a block of 1,000 checkpoints costs
        // thousands of signature checks.
        let id = informalsystems_malachitebft_core_types::Value::id(v);
        if !self.validated.contains(&id) {
            if let Err(e) = validate_block(
                &snap,
                Some(&self.registry),
                v.header(),
                v.body(),
                Some(now_ms()),
                Some(&self.pool),
            ) {
                self.refuse("proposal", e);
                return;
            }
            self.validated.insert(id);
        }
        let actions = self.core.receive(SignedConsensusMsg::Proposal(p));
        self.run(actions, false);
    }

    /// Pools a checkpoint larger than the one pooled or anchored, once checked (its signatures
    /// too, unless `signed_here`: ours and replica signatures the network layer verified).
    /// Returns whether it was pooled.
    fn pool_insert(&mut self, cp: SignedCheckpoint, signed_here: bool) -> bool {
        let c = &cp.checkpoint;
        let snap = self.snap();
        let anchored = snap
            .checkpoints
            .get(&c.scenario)
            .map_or(0, |a| a.checkpoint.size);
        let pooled = self.pool.get(&c.scenario).map_or(0, |p| p.checkpoint.size);
        if c.size <= anchored.max(pooled) {
            return false;
        }
        let set = &snap.next_validators;
        let checked = check_checkpoint(&snap, set, Some(&self.registry), &cp, !signed_here);
        if let Err(e) = checked {
            // Signed validly (the signatures are checked first), but linked to a block this
            // relay has not committed yet: kept, and tried again after the next blocks.
            if early(&snap, &e) {
                if self.early.len() < MAX_POOL || self.early.contains_key(&c.scenario) {
                    let height = snap.head.header.height;
                    self.early.insert(c.scenario.clone(), (cp, height));
                }
                return false;
            }
            self.refuse("checkpoint", e);
            return false;
        }
        if self.pool.len() >= MAX_POOL && !self.pool.contains_key(&c.scenario) {
            self.refuse("checkpoint", "pool full");
            return false;
        }
        self.pool.insert(c.scenario.clone(), cp);
        true
    }

    fn report_insert(&mut self, r: ObservationReport) {
        let key = (r.observer, r.subject, r.window);
        if self.reports.contains_key(&key) || self.reports.len() >= MAX_POOL {
            return;
        }
        if !self.registry.plausible(&r) {
            self.refuse("report", "badly signed, or of another PoSR epoch");
            return;
        }
        self.reports.insert(key, r);
    }

    /// Signs a report on every other registered node for `window`, pools and gossips them.
    fn observe(&mut self, window: u64, measured: Vec<(PublicKey, Measurements)>) {
        let me = PublicKey::of(&self.key);
        let chain_id = self.ctx.chain_id().to_string();
        for (subject, m) in measured {
            if subject == me {
                continue;
            }
            tracing::trace!(%subject, window, heartbeat = m.heartbeat_ppm, rtt_us = m.rtt_us, "measured");
            let r = ObservationReport::sign(&chain_id, &self.key, subject, window, m);
            if self.registry.plausible(&r) {
                self.reports.insert((r.observer, r.subject, r.window), r);
                let _ = self
                    .net
                    .send(NetOut::Publish(NetMessage::Report(Box::new(r))));
            }
        }
    }

    /// This relay's beacon duties (docs/beacon.md): as a validator of the current epoch, commit to
    /// a secret (kept durably first, so a restart can still reveal it); in the next epoch,
    /// reveal it. Commit and reveal wait in the pool (and are re-sent) until a block has them.
    fn beacon_duties(&mut self) {
        let me = PublicKey::of(&self.key);
        let chain_id = self.ctx.chain_id().to_string();
        let epoch = self.registry.beacon_epoch();
        if self.registry.needs_commit(&me) && !self.beacon_commits.contains_key(&(epoch, me)) {
            match self.beacon_secret(epoch) {
                Ok(secret) => {
                    let (c, _) = BeaconCommit::new(&chain_id, &self.key, epoch, secret);
                    self.beacon_commits.insert((epoch, me), c);
                    let _ = self
                        .net
                        .send(NetOut::Publish(NetMessage::BeaconCommit(Box::new(c))));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot keep a beacon secret; not committing")
                }
            }
        }
        if let Some(e) = self.registry.reveal_due(&me)
            && !self.beacon_reveals.contains_key(&(e, me))
        {
            match self
                .store
                .read()
                .map_err(anyhow::Error::from)
                .and_then(|v| Ok(v.beacon_secret(e)?))
            {
                Ok(Some(secret)) => {
                    let (_, r) = BeaconCommit::new(&chain_id, &self.key, e, BeaconSecret(secret));
                    self.beacon_reveals.insert((e, me), r);
                    let _ = self
                        .net
                        .send(NetOut::Publish(NetMessage::BeaconReveal(Box::new(r))));
                }
                // Lost with a wiped database: the reveal is withheld (and penalized).
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "cannot read a beacon secret"),
            }
        }
    }

    /// The secret of `epoch`: the stored one, or a fresh one stored durably.
    fn beacon_secret(&self, epoch: u64) -> anyhow::Result<BeaconSecret> {
        if let Some(s) = self.store.read()?.beacon_secret(epoch)? {
            return Ok(BeaconSecret(s));
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let txn = self.store.write()?;
        txn.open_table(crate::store::BEACON_SECRETS)?
            .insert(epoch, secret)?;
        txn.commit()?;
        Ok(BeaconSecret(secret))
    }

    /// Re-gossips what this relay made itself and no block holds yet: its checkpoints, beacon
    /// entries and observation reports (a message published before any relay was connected is lost, and only blocks
    /// proposed elsewhere would take it).
    fn regossip_own(&mut self) {
        let now = Instant::now();
        let stale: Vec<SignedCheckpoint> = self
            .awaiting
            .values()
            .filter(|a| now.duration_since(a.sent) >= REPLICA_RESEND)
            .filter(|a| now.duration_since(a.since) < REPLICA_TRAIL)
            .map(|a| a.cp.clone())
            .collect();
        self.awaiting
            .retain(|_, a| now.duration_since(a.since) < REPLICA_TRAIL);
        for cp in stale {
            self.replicate(cp);
        }
        let me = PublicKey::of(&self.key);
        let own: Vec<NetMessage> = self
            .pool
            .values()
            .filter(|cp| cp.signatures.iter().any(|s| s.key == me))
            .map(|cp| NetMessage::Checkpoint(Box::new(cp.clone())))
            .chain(
                self.beacon_commits
                    .values()
                    .filter(|c| c.validator == me)
                    .map(|c| NetMessage::BeaconCommit(Box::new(*c))),
            )
            .chain(
                self.beacon_reveals
                    .values()
                    .filter(|r| r.validator == me)
                    .map(|r| NetMessage::BeaconReveal(Box::new(*r))),
            )
            .chain(
                self.reports
                    .values()
                    .filter(|r| r.observer == me)
                    .map(|r| NetMessage::Report(Box::new(*r))),
            )
            .collect();
        for m in own {
            let _ = self.net.send(NetOut::Publish(m));
        }
    }

    /// Asks `peer` for blocks from `from` (at most once a second per peer unless `force`).
    fn ask(&mut self, peer: PeerId, from: u64, force: bool) {
        let now = Instant::now();
        if !force
            && self
                .asked
                .get(&peer)
                .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1))
        {
            return;
        }
        self.asked.insert(peer, now);
        let _ = self.net.send(NetOut::Sync { peer, from });
    }

    fn on_synced(&mut self, from: PeerId, blocks: Vec<FinalBlock>) {
        let full = blocks.len() as u32 >= MAX_SYNC_BLOCKS;
        for fb in blocks {
            let h = fb.block.header.height;
            let next = self.next_height();
            if h < next {
                continue;
            }
            if h > next || !self.apply_final(fb, false) {
                break;
            }
        }
        if full {
            let next = self.next_height();
            self.ask(from, next, true);
        } else if !self.synced {
            tracing::info!(height = self.next_height() - 1, %from, "synced with a relay; voting");
            self.synced = true;
        }
    }

    /// Makes a final block the head: checked (unless this node decided it), written with the WAL
    /// of its height removed, snapshot swapped, pool trimmed; a block we decided is gossiped.
    /// Returns whether the block was applied.
    fn apply_final(&mut self, fb: FinalBlock, decided_here: bool) -> bool {
        let snap = self.snap();
        let checked = if decided_here {
            validate_block(
                &snap,
                Some(&self.registry),
                &fb.block.header,
                &fb.body,
                None,
                Some(&self.pool),
            )
        } else {
            validate_final(
                &snap,
                Some(&self.registry),
                &fb.block.header,
                &fb.block.certificate,
                &fb.body,
                Some(&self.pool),
            )
        };
        let checked = match checked {
            Ok(c) => c,
            Err(e) => {
                if decided_here {
                    // The state machine decided a block this relay validated as a proposal (or
                    // built); it cannot become invalid. Log loudly rather than diverge.
                    tracing::error!(error = %e, "a decided block fails validation");
                }
                self.refuse("final block", e);
                return false;
            }
        };
        let set = checked.next_validators.clone();
        let height = fb.block.header.height;
        let included: std::collections::BTreeSet<_> = fb
            .body
            .reports
            .iter()
            .map(|r| (r.observer, r.subject, r.window))
            .collect();
        // Our own WAL rows of this height must not outlive the block in a later replay.
        if let Err(e) = self.flush_wal(false) {
            tracing::error!(error = %e, "consensus WAL write failed");
        }
        let next = match commit_block(
            &self.store,
            &snap,
            fb.block.clone(),
            fb.body.clone(),
            set.clone(),
            Some(height + 1),
        ) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(height, error = %e, "cannot commit a final block");
                return false;
            }
        };
        self.snapshot.send_replace(Arc::new(next));
        self.validated.clear();
        if let Some(r) = checked.registry {
            self.registry = r;
        }
        let epoch_changed = set.epoch != self.epoch.core().epoch;
        if epoch_changed {
            // The new epoch's leaders follow the beacon value this block finished.
            match EpochSet::new(set.clone(), self.registry.seed()) {
                Ok(e) => {
                    tracing::info!(
                        epoch = set.epoch,
                        validators = set.validators.len(),
                        height,
                        "epoch change"
                    );
                    for (k, n) in self.registry.state().nodes() {
                        tracing::debug!(
                            node = %k,
                            confirmed = n.confirmed,
                            up = n.up_windows,
                            down = n.down_windows,
                            unobserved = n.unobserved_windows,
                            runtime_mw = n.runtime_mw,
                            "PoSR"
                        );
                    }
                    self.epoch = e;
                    self.publish_weights();
                }
                Err(e) => tracing::error!(error = %e, "the new validator set is unusable"),
            }
        }
        self.metrics.head_height.set(height);
        self.metrics.blocks.add(1);
        if decided_here {
            self.metrics.consensus_decided.add(1);
            let _ = self
                .net
                .send(NetOut::Publish(NetMessage::Block(Box::new(fb))));
        } else {
            self.metrics.blocks_synced.add(1);
            // Our state machine was still in this height: begin the next one afresh.
            self.core = ConsensusCore::new(
                self.ctx.clone(),
                self.key.clone(),
                self.epoch.clone(),
                Height(height + 1),
                self.cfg.timeouts,
            );
        }
        tracing::debug!(height, here = decided_here, "block final");
        let snap = self.snap();
        let anchored = |id: &ScenarioId| snap.checkpoints.get(id).map_or(0, |a| a.checkpoint.size);
        let registry = &self.registry;
        // At an epoch change a replica set may change: a pooled checkpoint that the new set's
        // placement refuses is dropped (its home signs a new one). Only then: checking every
        // pooled checkpoint's signatures after every block cost 1,000 busy scenarios about
        // 0.2 s of the driver per block.
        // A checkpoint whose link no longer starts at the anchored size (another checkpoint of
        // its scenario was anchored) is dropped too: its home signs a new one from there.
        self.pool.retain(|_, cp| {
            links_to(&snap, cp)
                && (!epoch_changed
                    || check_checkpoint(&snap, &snap.next_validators, Some(registry), cp, true)
                        .is_ok())
        });
        // Checkpoints that arrived a block early: those that link now are pooled (their
        // signatures were verified on arrival), the others wait a few blocks more.
        let arrived_early = std::mem::take(&mut self.early);
        for (_, (cp, at)) in arrived_early {
            if height.saturating_sub(at) > EARLY_BLOCKS {
                continue;
            }
            if links_to(&snap, &cp) {
                self.pool_insert(cp, true);
            } else {
                self.early.insert(cp.checkpoint.scenario.clone(), (cp, at));
            }
        }
        // An anchored checkpoint still goes to the replicas that did not sign it, for a while;
        // one still waiting for its majority whose link went stale is dropped (re-signed).
        self.awaiting.retain(|id, a| {
            if a.cp.checkpoint.size > anchored(id) {
                links_to(&snap, &a.cp)
            } else {
                a.since.elapsed() < REPLICA_TRAIL
            }
        });
        let registry = &self.registry;
        self.reports
            .retain(|k, r| !included.contains(k) && registry.plausible_pooled(r));
        self.beacon_commits.retain(|_, c| registry.admits_commit(c));
        self.beacon_reveals.retain(|_, r| registry.admits_reveal(r));
        self.future_proposals.retain(|p| p.height.0 == height + 1);
        self.timers.clear();
        self.my_proposal = None;
        self.waiting = true;
        self.head_at = Instant::now();
        // Checkpoint what grew during the height at the next tick, right after this input.
        self.next_scan = self.head_at;
        true
    }

    /// Starts the next height now if it has not started (and this relay may vote).
    fn start_if_waiting(&mut self) {
        if !self.waiting || !self.synced {
            return;
        }
        self.waiting = false;
        self.height_started = Instant::now();
        let next = self.next_height();
        let actions = self.core.start_height(Height(next), self.epoch.clone());
        self.run(actions, false);
        let proposals = std::mem::take(&mut self.future_proposals);
        for p in proposals {
            if p.height.0 == next {
                self.feed_proposal(p);
            }
        }
    }

    /// Periodic work: checkpoint local scenarios, start an idle height, retransmit.
    fn tick(&mut self) {
        let now = Instant::now();
        if !self.synced && now.duration_since(self.started) >= self.cfg.sync_grace {
            tracing::warn!("no relay answered a sync; voting from the local chain");
            self.synced = true;
        }
        if now >= self.next_scan {
            self.next_scan = now + self.cfg.checkpoint_delay;
            // Checkpoints are signed during a height too, for scenarios with none pooled or in
            // flight: a replica's round trip then overlaps the height, and the checkpoint is
            // ready when the next one starts (see `scan_local`).
            self.scan_local();
            self.beacon_duties();
            if self.waiting
                && (!self.pool.is_empty()
                    || self.registry.epoch_due(now_ms())
                    || self
                        .reports
                        .values()
                        .any(|r| self.registry.admits_pooled(r))
                    || now.duration_since(self.head_at) >= self.cfg.idle_block)
            {
                self.start_if_waiting();
            }
        }
        if now >= self.next_retransmit {
            self.next_retransmit = now + self.cfg.retransmit;
            self.retransmit();
        }
        if now >= self.next_regossip {
            self.next_regossip = now + Duration::from_secs(1);
            self.regossip_own();
        }
        let stalled_for = if self.waiting {
            now.duration_since(self.head_at)
                .saturating_sub(self.cfg.idle_block)
        } else {
            now.duration_since(self.height_started)
        };
        let stalled = stalled_for > STALL_POLL;
        if stalled_for > STALL_RECONNECT
            && now.duration_since(self.reconnected) >= STALL_RECONNECT
            && !self.peers.is_empty()
        {
            self.reconnected = now;
            tracing::warn!(
                height = self.next_height(),
                stalled_s = stalled_for.as_secs(),
                "no progress; dropping and redialing the relay connections"
            );
            self.metrics.reconnects.add(1);
            let _ = self.net.send(NetOut::Reconnect);
        }
        if stalled && now.duration_since(self.polled) >= STALL_POLL / 2 && !self.peers.is_empty() {
            self.polled = now;
            // Each poll asks the next relay in turn.
            self.peers.rotate_left(1);
            let (peer, next) = (self.peers[0], self.next_height());
            self.ask(peer, next, true);
        }
    }

    /// Signs checkpoints of this relay's scenarios that grew, pools and gossips them.
    fn scan_local(&mut self) {
        let snap = self.snap();
        let (pool, awaiting) = (&self.pool, &self.awaiting);
        let now = Instant::now();
        let during = !self.waiting;
        let signed = match sign_moved(&self.store, &snap, &self.key, now_ms(), |id| {
            // During a height, only scenarios with nothing pooled or in flight: one checkpoint
            // each, replicated while the height runs, ready for the next. (Re-signing every
            // grown scenario at every scan made 1,000 busy scenarios cost the driver 0.5 ms of
            // CPU per contract, and no block was final in the bench's 8 s window.)
            if during && (pool.contains_key(id) || awaiting.contains_key(id)) {
                return u64::MAX;
            }
            // A checkpoint still waiting for its majority is not replaced by a newer one (of a
            // grown log) until its resend is due: replacing it at every new record would start
            // a replication that the next record abandons, and none would ever finish.
            let waiting = awaiting
                .get(id)
                .filter(|a| !a.majority && now.duration_since(a.sent) < REPLICA_RESEND)
                .map_or(0, |_| u64::MAX);
            pool.get(id).map_or(0, |p| p.checkpoint.size).max(waiting)
        }) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot read scenarios to checkpoint");
                return;
            }
        };
        for cp in signed {
            self.replicate(cp);
        }
        if self.waiting && !self.pool.is_empty() {
            self.start_if_waiting();
        }
    }

    /// Sends a checkpoint of a scenario homed here to its replicas, or pools and gossips it at
    /// once when it needs no other signature (a network smaller than a replica set's quorum).
    fn replicate(&mut self, mut cp: SignedCheckpoint) {
        let snap = self.snap();
        let me = PublicKey::of(&self.key);
        let replicas = replicas_of(
            self.registry.places(),
            &snap.next_validators,
            &cp.checkpoint.scenario,
            &me,
        );
        // The replica set may have changed since the last send (an epoch change).
        cp.signatures
            .retain(|s| s.key == me || replicas.contains(&s.key));
        let missing: Vec<PublicKey> = replicas
            .iter()
            .filter(|r| !cp.signatures.iter().any(|s| s.key == **r))
            .copied()
            .collect();
        if !missing.is_empty() {
            let _ = self.net.send(NetOut::Replicate {
                checkpoint: cp.checkpoint.clone(),
                replicas: missing.clone(),
            });
        }
        let majority = cp.signatures.len() >= needed(replicas.len());
        if majority {
            self.pool_signed(&cp);
        }
        let id = cp.checkpoint.scenario.clone();
        if missing.is_empty() {
            self.awaiting.remove(&id);
            return;
        }
        let now = Instant::now();
        let since = match self.awaiting.get(&id) {
            Some(a) if a.cp.checkpoint == cp.checkpoint => a.since,
            _ => now,
        };
        self.awaiting.insert(
            id,
            Awaiting {
                cp,
                replicas,
                sent: now,
                since,
                majority,
            },
        );
    }

    /// Pools and gossips a checkpoint of ours that has its majority, unless a checkpoint as
    /// large is pooled or anchored.
    fn pool_signed(&mut self, cp: &SignedCheckpoint) {
        if self.pool_insert(cp.clone(), true) {
            let _ = self
                .net
                .send(NetOut::Publish(NetMessage::Checkpoint(Box::new(
                    cp.clone(),
                ))));
        }
    }

    /// A replica's signature on a checkpoint waiting here: added; with enough, the checkpoint
    /// is pooled and gossiped.
    fn replica_signed(&mut self, checkpoint: Checkpoint, signature: ReplicaSignature) {
        let Some(a) = self.awaiting.get_mut(&checkpoint.scenario) else {
            return;
        };
        if a.cp.checkpoint != checkpoint || !a.replicas.contains(&signature.key) {
            return;
        }
        let sigs = &mut a.cp.signatures;
        if let Err(i) = sigs.binary_search_by_key(&signature.key, |s| s.key) {
            sigs.insert(i, signature);
        }
        let (enough, all) = (
            sigs.len() >= needed(a.replicas.len()),
            sigs.len() > a.replicas.len(),
        );
        a.majority |= enough;
        let cp = a.cp.clone();
        if all {
            self.awaiting.remove(&checkpoint.scenario);
        }
        if enough {
            self.pool_signed(&cp);
            if self.waiting && !self.pool.is_empty() {
                self.start_if_waiting();
            }
        }
    }

    /// Sends again what a stalled round needs from us; while waiting, the head block (for relays
    /// that missed it) and the pool (for proposers that missed a checkpoint).
    fn retransmit(&mut self) {
        if self.waiting {
            return;
        }
        for m in self.core.retransmission() {
            let _ = self.net.send(NetOut::Publish(NetMessage::Liveness(m)));
        }
        if let Some(p) = &self.my_proposal
            && p.height == self.core.height()
            && p.round == self.core.round()
        {
            let _ = self.net.send(NetOut::Publish(NetMessage::Consensus(
                SignedConsensusMsg::Proposal(p.clone()),
            )));
        }
        // A round that lasts: the previous block may not have reached everyone. Once a second:
        // retransmission runs every 200 ms, and a block is the largest message there is.
        // (Checkpoints, reports and beacon entries are re-gossiped by the relay that made them,
        // in `regossip_own`: re-sending the whole pool of every relay here, every 200 ms, was a
        // storm once a stall let reports pile up — 750 messages a second from one relay after
        // a 2|2 split, which filled gossip's send queues and dropped the votes that would have
        // ended the stall.)
        let now = Instant::now();
        if self.core.round().as_u32().unwrap_or(0) > 0 && now >= self.next_block_resend {
            self.next_block_resend = now + Duration::from_secs(1);
            let snap = self.snap();
            let height = snap.head.header.height;
            if height > 0
                && let Ok(body) = self.store.read().and_then(|v| v.body(height))
            {
                let fb = FinalBlock {
                    block: snap.head.clone(),
                    body: body.unwrap_or_default(),
                };
                let _ = self
                    .net
                    .send(NetOut::Publish(NetMessage::Block(Box::new(fb))));
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        let mut due: Vec<(Instant, Timeout)> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(t, at)| (*at, *t))
            .collect();
        due.sort_by_key(|(at, _)| *at);
        for (_, t) in due {
            if self.timers.remove(&t).is_some() {
                let actions = self.core.timeout_elapsed(t);
                self.run(actions, false);
            }
        }
    }

    /// Builds the block to propose: every pooled checkpoint that grows its scenario.
    fn propose(&mut self, height: Height, round: Round) -> Vec<crate::consensus::Action> {
        let snap = self.snap();
        let checkpoints: Vec<SignedCheckpoint> = self
            .pool
            .values()
            .filter(|cp| links_to(&snap, cp))
            .take(MAX_BODY_CHECKPOINTS as usize)
            .cloned()
            .collect();
        let reports: Vec<ObservationReport> = self
            .reports
            .values()
            .filter(|r| self.registry.admits_pooled(r))
            .take(MAX_BODY_REPORTS as usize)
            .copied()
            .collect();
        let time_ms = now_ms().max(snap.head.header.time_ms);
        let registry = &self.registry;
        let mut body = BlockBody {
            checkpoints,
            reports,
            beacon_commits: self
                .beacon_commits
                .values()
                .filter(|c| registry.admits_commit(c))
                .copied()
                .collect(),
            beacon_reveals: self
                .beacon_reveals
                .values()
                .filter(|r| registry.admits_reveal(r))
                .copied()
                .collect(),
            beacon_round: None,
        };
        if let Some(m) = self.cfg.misbehave
            && let Some(forged) = m.forge(
                &self.store,
                &snap,
                &self.key,
                height.0 + u64::from(round.as_u32().unwrap_or(0)),
            )
        {
            tracing::warn!(scenario = %forged.checkpoint.scenario, size = forged.checkpoint.size, "misbehaving: proposing a forged checkpoint");
            body.checkpoints
                .retain(|c| c.checkpoint.scenario != forged.checkpoint.scenario);
            let _ = self
                .net
                .send(NetOut::Publish(NetMessage::Checkpoint(Box::new(
                    forged.clone(),
                ))));
            body.checkpoints.push(forged);
            body.checkpoints
                .sort_by(|a, b| a.checkpoint.scenario.cmp(&b.checkpoint.scenario));
        }
        let applied = match self
            .registry
            .clone()
            .apply(time_ms, &body, &snap.next_validators)
        {
            Ok(a) => a,
            Err(e) => {
                // Pooled entries the registry refuses together: propose without them.
                tracing::warn!(error = %e, "proposing without registry and beacon entries");
                body.reports.clear();
                body.beacon_commits.clear();
                body.beacon_reveals.clear();
                self.registry
                    .clone()
                    .apply(time_ms, &body, &snap.next_validators)
                    .unwrap_or_default()
            }
        };
        body.beacon_round = applied.round;
        let after = applied.next.unwrap_or_else(|| snap.next_validators.clone());
        let header = next_header(&snap, &body, time_ms, &after);
        self.core
            .propose(height, round, BlockValue::with_body(header, body))
    }

    /// Executes `actions` in order (see [`ConsensusCore`]'s execution rules). With `replay`,
    /// nothing is appended or sent, and requests for a value are returned instead of answered.
    fn run(&mut self, actions: Vec<Action>, replay: bool) -> Vec<(Height, Round)> {
        let mut deferred = Vec::new();
        let mut work: VecDeque<Action> = actions.into();
        while let Some(action) = work.pop_front() {
            match action {
                Action::WalAppend(entry) => {
                    if !replay {
                        let h = self.core.height().0;
                        self.wal_pending.push((h, WalRecord(entry).to_bytes()));
                    }
                }
                Action::Publish(msg) => {
                    if replay {
                        continue;
                    }
                    if let Err(e) = self.flush_wal(true) {
                        // Never publish what the WAL does not hold.
                        tracing::error!(error = %e, "consensus WAL write failed; not publishing");
                        continue;
                    }
                    if let SignedConsensusMsg::Proposal(p) = &msg {
                        self.my_proposal = Some(p.clone());
                    }
                    let _ = self.net.send(NetOut::Publish(NetMessage::Consensus(msg)));
                }
                Action::PublishLiveness(msg) => {
                    if replay {
                        continue;
                    }
                    if let Err(e) = self.flush_wal(true) {
                        tracing::error!(error = %e, "consensus WAL write failed; not publishing");
                        continue;
                    }
                    let _ = self.net.send(NetOut::Publish(NetMessage::Liveness(msg)));
                }
                Action::ScheduleTimeout { timeout, after_ms } => {
                    self.timers
                        .insert(timeout, Instant::now() + Duration::from_millis(after_ms));
                }
                Action::CancelTimeout(t) => {
                    self.timers.remove(&t);
                }
                Action::CancelAllTimeouts => self.timers.clear(),
                Action::RoundStarted { height, round, .. } => {
                    self.metrics
                        .consensus_round
                        .set(round.as_u32().unwrap_or(0) as u64);
                    if round.as_u32().unwrap_or(0) > 0 {
                        tracing::info!(height = height.0, round = %round, "consensus round");
                    }
                }
                Action::NeedValue { height, round, .. } => {
                    if replay {
                        deferred.push((height, round));
                    } else {
                        work.extend(self.propose(height, round));
                    }
                }
                Action::Decided(decision) => {
                    let Decision {
                        header,
                        body,
                        certificate,
                    } = *decision;
                    let fb = FinalBlock {
                        block: StoredBlock {
                            header,
                            certificate,
                        },
                        body,
                    };
                    self.apply_final(fb, true);
                }
                Action::Failed(e) => tracing::warn!(error = %e, "consensus step failed"),
            }
        }
        if !replay && let Err(e) = self.flush_wal(false) {
            tracing::error!(error = %e, "consensus WAL write failed");
        }
        deferred
    }

    /// Writes pending WAL rows; `durable` forces an `fsync` (also of earlier lazy writes).
    fn flush_wal(&mut self, durable: bool) -> anyhow::Result<()> {
        if self.wal_pending.is_empty() && !(durable && self.wal_lazy) {
            return Ok(());
        }
        let mut txn = self.store.write()?;
        if !durable {
            txn.set_durability(redb::Durability::None)?;
        }
        {
            let mut t = txn.open_table(CONSENSUS_WAL)?;
            for (h, bytes) in self.wal_pending.drain(..) {
                t.insert((h, self.wal_seq), bytes.as_slice())?;
                self.wal_seq += 1;
            }
        }
        txn.commit()?;
        self.wal_lazy = !durable;
        Ok(())
    }

    /// Sets the weight metrics from the current set.
    pub fn publish_weights(&self) {
        let me = PublicKey::of(&self.key);
        let set = self.epoch.core();
        let weight = set
            .validators
            .iter()
            .find(|v| v.key == me)
            .map_or(0, |v| v.weight);
        self.metrics.validator_weight.set(weight);
        self.metrics
            .total_weight
            .set(u64::try_from(set.total_weight()).unwrap_or(u64::MAX));
        if self.overlay.borrow().epoch != set.epoch || self.overlay.borrow().regions.is_empty() {
            let o = Overlay::of(self.registry.places(), set, self.registry.seed());
            self.metrics.hub.set(u64::from(o.is_hub(&me)));
            tracing::info!(
                epoch = o.epoch,
                hub = o.is_hub(&me),
                hubs = ?o.regions.iter().map(|(r, g)| (r.as_str(), g.hubs.len())).collect::<Vec<_>>(),
                "P2PT overlay"
            );
            self.overlay.send_replace(Arc::new(o));
        }
    }

    /// This relay's validator key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::of(&self.key)
    }
}

/// Messages each lane of the driver's input holds before `try_send` refuses.
pub const LANE: usize = 4096;

impl DriverIn {
    /// Whether the input goes in the urgent lane: what consensus needs to make progress
    /// (votes, proposals, final blocks, sync answers, new peers) and `Stop`.
    fn urgent(&self) -> bool {
        match self {
            DriverIn::Net { msg, .. } => matches!(
                msg,
                NetMessage::Consensus(_) | NetMessage::Liveness(_) | NetMessage::Block(_)
            ),
            DriverIn::Synced { .. } | DriverIn::PeerConnected(_) | DriverIn::Stop => true,
            _ => false,
        }
    }
}

/// The driver's input: two bounded lanes, the urgent one read first.
#[derive(Clone)]
pub struct DriverTx {
    urgent: crossbeam_channel::Sender<DriverIn>,
    bulk: crossbeam_channel::Sender<DriverIn>,
}

/// The receiving side of [`DriverTx`].
pub struct DriverRx {
    urgent: crossbeam_channel::Receiver<DriverIn>,
    bulk: crossbeam_channel::Receiver<DriverIn>,
}

/// An input the driver did not take: its lane was full, or the driver has stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the consensus driver did not take the input (busy or stopped)")]
pub struct NotTaken;

impl DriverTx {
    fn lane(&self, input: &DriverIn) -> &crossbeam_channel::Sender<DriverIn> {
        if input.urgent() {
            &self.urgent
        } else {
            &self.bulk
        }
    }

    /// Queues `input` in its lane; refused if that lane is full or the driver gone.
    pub fn try_send(&self, input: DriverIn) -> Result<(), NotTaken> {
        self.lane(&input).try_send(input).map_err(|_| NotTaken)
    }

    /// Queues `input`, waiting for room; refused if the driver is gone.
    pub fn send(&self, input: DriverIn) -> Result<(), NotTaken> {
        self.lane(&input).send(input).map_err(|_| NotTaken)
    }
}

/// Starts the driver on its own thread; returns its input.
pub fn spawn(driver: Driver) -> std::io::Result<(DriverTx, std::thread::JoinHandle<()>)> {
    let (urgent, urgent_rx) = crossbeam_channel::bounded(LANE);
    let (bulk, bulk_rx) = crossbeam_channel::bounded(LANE);
    let rx = DriverRx {
        urgent: urgent_rx,
        bulk: bulk_rx,
    };
    let handle = std::thread::Builder::new()
        .name("consensus".into())
        .spawn(move || driver.run_loop(rx))?;
    Ok((DriverTx { urgent, bulk }, handle))
}
