//! The consensus driver: one thread that owns this relay's [`ConsensusCore`], its write-ahead
//! log, its pool of checkpoints waiting to be anchored and the chain snapshot, and executes the
//! core's actions against the real world (docs/consensus.md §5).
//!
//! Inputs arrive on one channel ([`Input`]: messages from other relays, sync answers, new
//! connections); outputs leave on another ([`Output`]: what to gossip, whom to ask for blocks).
//! Timers are deadlines the loop sleeps towards. Everything that touches consensus state happens
//! on this thread, in order, so the execution rules of [`ConsensusCore`] hold: a WAL entry is
//! durable before anything published after it leaves the node.
//!
//! Heights: after a block is final the next height starts only when something is waiting to be
//! anchored, when another relay's message for it arrives, or after `idle_block` — an idle network
//! makes no empty blocks faster than that.

mod blocks;
mod pool;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_consensus::{LivenessMsg, SignedConsensusMsg};
use informalsystems_malachitebft_core_types::{Round, SignedProposal, Timeout};
use tokio::sync::watch;
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
use crate::node::chain::{commit_block, next_header, sign_moved};
use crate::node::overlay::Overlay;
use crate::store::Store;
use trustchain_core::chain::block::MAX_BODY_REPORTS;
use trustchain_core::chain::block::{
    BlockBody, FinalBlock, MAX_BODY_BYTES, MAX_BODY_CHECKPOINTS, StoredBlock,
};
use trustchain_core::chain::placement::{needed, replicas_of};
use trustchain_core::chain::registry::Registry;
use trustchain_core::chain::state::ChainSnapshot;
use trustchain_core::chain::validate::{
    check_checkpoint, early, links_to, validate_block, validate_final,
};

/// What the machine needs of a peer's name: the network layer's peer id (libp2p's `PeerId` in
/// the relay; any small value in tests).
pub trait Peer:
    Copy + Eq + std::hash::Hash + std::fmt::Debug + std::fmt::Display + Send + 'static
{
}
impl<T: Copy + Eq + std::hash::Hash + std::fmt::Debug + std::fmt::Display + Send + 'static> Peer
    for T
{
}

/// What reaches the driver.
#[derive(Debug)]
pub enum Input<P> {
    /// A message gossiped by another relay (decoded with limits, not yet verified).
    Net {
        /// The relay that forwarded it.
        from: P,
        /// The message.
        msg: NetMessage,
    },
    /// An answer to [`Output::Sync`].
    Synced {
        /// Who answered.
        from: P,
        /// The blocks, from the height asked for, ascending.
        blocks: Vec<FinalBlock>,
    },
    /// A relay connected: ask it what we missed.
    PeerConnected(P),
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
pub enum Output<P> {
    /// Gossip to every relay.
    Publish(NetMessage),
    /// Ask `peer` for final blocks from height `from` on (at most [`MAX_SYNC_BLOCKS`]).
    Sync {
        /// Whom to ask.
        peer: P,
        /// First height wanted.
        from: u64,
    },
    /// Close every relay connection and dial the bootstrap relays and hubs again (a stalled
    /// height: 8 s without a decision, at most once per 8 s).
    Reconnect,
    /// Send the entries behind `checkpoint` to `replicas` and ask them to co-sign it
    /// ([`crate::net::replica`]).
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
pub struct MachineConfig {
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
    /// remembers: until a relay answered a sync, it does not vote).
    pub sync_grace: Duration,
    /// Testing the other relays' block validation only: propose and gossip checkpoints the
    /// chain must refuse (`run --misbehave-chain`).
    pub misbehave: Option<crate::node::misbehave::ChainMisbehave>,
}

/// The time an input is handled at, given by the shell: the monotonic instant timers are
/// measured against, and the wall clock (Unix milliseconds) block times and checkpoints carry.
/// Tests give a virtual clock; nothing in the machine reads a clock itself.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// Monotonic time.
    pub at: Instant,
    /// Unix time in milliseconds.
    pub wall_ms: u64,
}

/// Pending checkpoints kept at most (one per scenario).
const MAX_POOL: usize = 100_000;
/// Blocks an early checkpoint ([`Machine::early`]) waits for the block it links to.
const EARLY_BLOCKS: u64 = 4;
/// Proposals of the next height kept until it starts.
const MAX_FUTURE_PROPOSALS: usize = 16;

/// The driver's state; see the module documentation.
pub struct Machine<P> {
    store: Arc<Store>,
    key: SigningKey,
    ctx: TrustchainContext,
    epoch: EpochSet,
    core: ConsensusCore,
    cfg: MachineConfig,
    snapshot: watch::Sender<Arc<ChainSnapshot>>,
    metrics: Arc<Metrics>,
    /// Effects for the network layer, in order ([`Machine::poll_output`]).
    out: VecDeque<Output<P>>,
    /// The time of the input being handled (set by every entry point).
    now: Now,
    /// Beacon secrets derived from this seed instead of drawn from the OS (tests only).
    entropy_seed: Option<[u8; 32]>,
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
    asked: HashMap<P, Instant>,
    /// Relays that connected (sync poll targets, in turn).
    peers: Vec<P>,
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

impl<P: Peer> Machine<P> {
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
        cfg: MachineConfig,
        fresh: bool,
        registry: Registry,
        overlay: watch::Sender<Arc<Overlay>>,
        now: Now,
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
        let at = now.at;
        Ok(Machine {
            store,
            key,
            ctx,
            epoch,
            core,
            cfg,
            snapshot,
            metrics,
            out: VecDeque::new(),
            now,
            entropy_seed: None,
            waiting: true,
            synced: !fresh,
            started: at,
            head_at: at,
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
            next_scan: at,
            next_retransmit: at,
            next_block_resend: at,
            next_regossip: at,
            asked: HashMap::new(),
            peers: Vec::new(),
            height_started: at,
            polled: at,
            reconnected: at,
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
    pub fn recover(&mut self, now: Now) -> anyhow::Result<()> {
        self.now = now;
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

    /// Derives beacon secrets from `seed` instead of the operating system's randomness, so that
    /// a seeded multi-relay test replays exactly. Never in a real relay: the secrets become
    /// predictable to whoever knows the seed.
    pub fn with_entropy_seed(mut self, seed: [u8; 32]) -> Self {
        self.entropy_seed = Some(seed);
        self
    }

    /// Handles one input at `now`. Effects are queued for [`Machine::poll_output`]; call
    /// [`Machine::handle_timeout`] after it (with the same `now`) so that due timers fire.
    pub fn handle_input(&mut self, now: Now, input: Input<P>) {
        self.now = now;
        self.input(input);
    }

    /// Fires the consensus timers due at `now` and does the periodic work whose time has come
    /// (checkpoint scan, retransmission, re-gossip, stall detection).
    pub fn handle_timeout(&mut self, now: Now) {
        self.now = now;
        self.fire_timers();
        self.tick();
    }

    /// When [`Machine::handle_timeout`] next has work: the earliest consensus timer or periodic
    /// deadline.
    pub fn poll_timeout(&self) -> Instant {
        let mut wake = self.next_scan.min(self.next_retransmit);
        if let Some(t) = self.timers.values().min() {
            wake = wake.min(*t);
        }
        wake
    }

    /// The next effect for the network layer, in the order the machine produced them.
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        self.out.pop_front()
    }

    /// Makes every WAL row durable (the shell calls it when it stops).
    pub fn shutdown(&mut self) {
        if let Err(e) = self.flush_wal(true) {
            tracing::error!(error = %e, "cannot flush the consensus WAL at shutdown");
        }
    }

    fn input(&mut self, input: Input<P>) {
        match input {
            Input::Net { from, msg } => self.on_net(from, msg),
            Input::Synced { from, blocks } => self.on_synced(from, blocks),
            Input::PeerConnected(peer) => {
                let next = self.next_height();
                if !self.peers.contains(&peer) {
                    self.peers.push(peer);
                }
                self.ask(peer, next, true);
            }
            Input::Observations { window, measured } => self.observe(window, measured),
            Input::ReplicaSigned {
                checkpoint,
                signature,
            } => self.replica_signed(checkpoint, signature),
            // Between heights a moved scenario starts the next one at once (the tick covers
            // the scenarios that move during a height).
            Input::Moved => {
                if self.waiting {
                    self.scan_local();
                }
            }
            Input::Stop => {}
        }
    }

    fn refuse(&self, what: &str, why: impl std::fmt::Display) {
        self.metrics.consensus_refused.add(1);
        tracing::debug!(%why, "refused {what}");
    }

    fn on_net(&mut self, from: P, msg: NetMessage) {
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
                Some(self.now.wall_ms),
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
}
