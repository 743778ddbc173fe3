//! A deterministic discrete-event simulation of validators running [`ConsensusCore`]
//! (docs/consensus.md §7): seeded, replayable, in one thread, with a virtual clock.
//!
//! - **Nodes**: one [`ConsensusCore`] per validator, weights as given, in the validator set's
//!   order (keys ascending). Each runs heights `1..=heights` with the same set.
//! - **Clock**: virtual milliseconds. Events (a delivery, a timer) sit in one queue ordered by
//!   `(time, sequence number)`; nothing depends on the host's clock or on hash-map order.
//! - **Network**: every message to every peer independently gets a delay drawn uniformly from
//!   `delay_ms` (so messages reorder) or is lost with probability `loss_ppm / 10⁶`; draws come from
//!   a [`SplitMix64`] seeded with `seed`, in event order. Same config → identical [`SimReport`].
//! - **Timers**: [`Action::ScheduleTimeout`] arms a timer in the queue; cancelling or re-arming
//!   makes the old one stale.
//! - **Acceptance**: messages for heights above current + 1 are dropped here; the rest of
//!   docs/consensus.md §4.3 is [`ConsensusCore`]'s own filter (counted in [`Counts::dropped`]).
//! - **Retransmission** ([`SimConfig::retransmit_ms`], docs/consensus.md §13): every period, a
//!   node still in the (height, round) of its previous tick re-sends
//!   [`ConsensusCore::retransmission`] on the liveness path.
//! - **Catch-up** (the pull half of §4.5, enough for the simulation): a node that receives a
//!   *republished* vote (`LivenessMsg::Vote`, sent when a node is stuck for a rebroadcast
//!   period) of a height it has decided answers the sender with that height's header and `core`
//!   certificate; the receiver checks it with `core`'s `CommitCertificate::verify` and moves on.
//! - **Faults** ([`Fault`]): crashed from the start; equivocating (the node runs an honest core,
//!   but each proposal and non-nil vote it sends is re-signed for a twin block towards half of
//!   its peers); withholding its precommits.
//! - **Crash and restart** ([`CrashRestart`], of an otherwise honest node): each node has a
//!   durable write-ahead log. [`Action::WalAppend`] entries are buffered and become durable
//!   (flushed) before the next publish, round start or decision of the node — the rule of
//!   docs/consensus.md §2.2; a crash loses the buffer, every timer and all in-memory state but
//!   the committed decisions. The node restarts as a fresh [`ConsensusCore`] at the height after
//!   its last decision and replays that height's durable entries
//!   ([`ConsensusCore::replay`]; switched off by [`SimConfig::wal_replay`] to show why it exists).
//!   Every vote and proposal a node's cores sign, in any lifetime, is checked against the
//!   others of the same (height, round, kind): two different ones are reported.
//!
//! Checks (agreement, certificates, liveness) are the tests' business; the simulation reports.

mod world;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_consensus as mcc;
use informalsystems_malachitebft_core_types as mc;
use mc::{Context as _, NilOrVal, Round, SigningProvider, TimeoutKind, VoteType};
use mcc::{LivenessMsg, SignedConsensusMsg};
use trustchain_core::chain::block::BlockHeader;
use trustchain_core::chain::validators::{Validator, ValidatorSet};
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;

use super::core::{Action, ConsensusCore, Decision, Dropped, TimeoutConfig};
use super::ctx::{BlockId, BlockValue, EpochSet, Height, TrustchainContext};
use super::signing::TrustchainSigner;

/// The simulated network's name.
pub const CHAIN: &str = "trustchain-sim";
/// Virtual time 0 as a block timestamp.
const GENESIS_MS: u64 = 1_700_000_000_000;

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, portable PRNG, so a seed replays identically
/// whatever `rand` version the workspace moves to.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi` (modulo bias negligible for the small ranges used here).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// How a simulated validator misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Follows the protocol.
    Honest,
    /// Crashed before the start: never sends, drops everything.
    Crashed,
    /// Runs an honest core but equivocates on the wire: peers at even positions get its real
    /// proposals and non-nil votes, peers at odd positions get the same messages re-signed for
    /// a twin block (same header, another `time_ms`). Two equivocators pick the same twin for the
    /// same group, so they collude.
    Equivocate,
    /// Runs an honest core but never sends a precommit.
    WithholdPrecommits,
}

/// A crash of node `node` at `at_ms`, restarted (from its write-ahead log) `down_ms` later.
/// The node is otherwise honest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashRestart {
    /// Position of the node.
    pub node: usize,
    /// Virtual time of the crash.
    pub at_ms: u64,
    /// How long it stays down.
    pub down_ms: u64,
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seeds the network's delays and losses and the leader order.
    pub seed: u64,
    /// Voting weights, by position in the validator set (keys ascending).
    pub weights: Vec<u64>,
    /// Faults by position; missing entries are [`Fault::Honest`].
    pub faults: Vec<Fault>,
    /// Heights to decide (`1..=heights`).
    pub heights: u64,
    /// Per-message delay, uniform in `lo..=hi` ms.
    pub delay_ms: (u64, u64),
    /// Per-message loss probability, in millionths.
    pub loss_ppm: u32,
    /// Timeouts (scaled to the simulated delays).
    pub timeouts: TimeoutConfig,
    /// Virtual time after which the run stops, decided or not.
    pub max_time_ms: u64,
    /// Crashes with restart (of honest nodes).
    pub crashes: Vec<CrashRestart>,
    /// Whether a restarted node replays its write-ahead log (test switch: off shows the
    /// equivocation the WAL prevents).
    pub wal_replay: bool,
    /// Retransmission period: every this many ms, a node still in the (height, round) it was in
    /// at the previous tick re-sends [`ConsensusCore::retransmission`] (docs/consensus.md §12).
    /// `None`: only malachite's rebroadcast timeout re-sends.
    pub retransmit_ms: Option<u64>,
    /// Whether cores re-arm a rebroadcast timer malachite cancelled undecided (test switch: off
    /// reproduces malachite 0.5's liveness hole, docs/consensus.md §12).
    pub rearm_rebroadcast: bool,
}

impl SimConfig {
    /// Honest validators with `weights`, one height, 1–10 ms delays, no loss, timeouts of
    /// 200/100/100 ms + 100/50/50 ms per round, 60 s of virtual time.
    pub fn new(seed: u64, weights: &[u64]) -> Self {
        SimConfig {
            seed,
            weights: weights.to_vec(),
            faults: Vec::new(),
            heights: 1,
            delay_ms: (1, 10),
            loss_ppm: 0,
            timeouts: TimeoutConfig {
                propose: (200, 100),
                prevote: (100, 50),
                precommit: (100, 50),
            },
            max_time_ms: 60_000,
            crashes: Vec::new(),
            wal_replay: true,
            retransmit_ms: Some(100),
            rearm_rebroadcast: true,
        }
    }
    /// The fault of node `i`.
    pub fn fault(&self, i: usize) -> Fault {
        self.faults.get(i).copied().unwrap_or(Fault::Honest)
    }
    /// Positions of the honest nodes (the ones agreement and liveness are about).
    pub fn honest(&self) -> Vec<usize> {
        (0..self.weights.len())
            .filter(|&i| self.fault(i) == Fault::Honest)
            .collect()
    }
}

/// One node's decision of one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDecision {
    /// The decided block and its certificate.
    pub decision: Decision,
    /// Virtual time of the decision.
    pub at_ms: u64,
    /// Learnt by catch-up (a peer's certificate), not by its own consensus.
    pub synced: bool,
}

/// Message and event counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Proposals sent (per recipient).
    pub proposals: u64,
    /// Votes sent (per recipient).
    pub votes: u64,
    /// Liveness messages sent (per recipient).
    pub liveness: u64,
    /// Catch-up answers sent.
    pub sync: u64,
    /// Messages lost by the network.
    pub lost: u64,
    /// Messages handed to a live node.
    pub delivered: u64,
    /// Messages dropped by the height rule.
    pub too_far_ahead: u64,
    /// WAL entries appended, all nodes.
    pub wal: u64,
    /// Timeouts that fired: propose, prevote, precommit, rebroadcast.
    pub timeouts: [u64; 4],
    /// Restarts after a crash.
    pub restarts: u64,
    /// WAL entries replayed after restarts.
    pub replayed: u64,
    /// Unflushed WAL entries lost in crashes.
    pub wal_lost: u64,
    /// Retransmission ticks that re-sent something.
    pub retransmissions: u64,
    /// Refused by the cores' acceptance filters (all nodes, all lifetimes).
    pub dropped: Dropped,
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimReport {
    /// The validator set (`core` form), to check certificates against.
    pub set: ValidatorSet,
    /// Per node, its decisions by height.
    pub decisions: Vec<BTreeMap<u64, NodeDecision>>,
    /// Counts.
    pub counts: Counts,
    /// The highest round any node started.
    pub max_round: u32,
    /// Virtual time when the run stopped.
    pub end_ms: u64,
    /// Nodes that some honest node's state machine recorded as equivocating.
    pub equivocators_seen: BTreeSet<usize>,
    /// [`Action::Failed`]s of honest nodes (none expected).
    pub failures: Vec<String>,
    /// Per node, the height and round it was in when the run stopped (`heights + 1` once done).
    pub positions: Vec<(u64, Option<u32>)>,
    /// Per node, pairs of different messages its cores signed for one (height, round, kind) —
    /// equivocation by the state machine itself (the wire equivocation of
    /// [`Fault::Equivocate`] happens outside it and is not counted). Empty for honest nodes,
    /// restarted or not, as long as the WAL is replayed.
    pub self_equivocations: Vec<Vec<String>>,
}

impl SimReport {
    /// Virtual time by which every node of `nodes` had decided `height`, if all did.
    pub fn decided_by(&self, nodes: &[usize], height: u64) -> Option<u64> {
        nodes
            .iter()
            .map(|&i| self.decisions[i].get(&height).map(|d| d.at_ms))
            .try_fold(0, |acc, t| t.map(|t| acc.max(t)))
    }
}

/// What travels between nodes.
#[derive(Clone, Debug)]
enum Msg {
    Consensus(SignedConsensusMsg<TrustchainContext>),
    Liveness(LivenessMsg<TrustchainContext>),
    /// A catch-up answer: a decided height.
    Decided(Box<Decision>),
}

impl Msg {
    fn height(&self) -> u64 {
        match self {
            Msg::Consensus(m) => m.height().0,
            Msg::Liveness(LivenessMsg::Vote(v)) => v.height.0,
            Msg::Liveness(LivenessMsg::PolkaCertificate(c)) => c.height.0,
            Msg::Liveness(LivenessMsg::SkipRoundCertificate(c)) => c.height.0,
            Msg::Decided(d) => d.header.height,
        }
    }
}

enum Event {
    Deliver { from: usize, to: usize, msg: Msg },
    Timer { node: usize, key: TimerKey, id: u64 },
    Crash { node: usize, down_ms: u64 },
    Restart { node: usize },
    Retransmit { node: usize },
}

/// What a signed message is about: (height, round, kind: 0 proposal, 1 prevote, 2 precommit).
type SignedKey = (u64, i64, u8);

/// A timer's identity: kind and round (malachite's `Timeout` has no `Ord`).
type TimerKey = (u8, i64);

fn timer_key(t: mc::Timeout) -> TimerKey {
    let kind = match t.kind {
        TimeoutKind::Propose => 0,
        TimeoutKind::Prevote => 1,
        TimeoutKind::Precommit => 2,
        TimeoutKind::Rebroadcast => 3,
    };
    (kind, t.round.as_i64())
}

struct Node {
    core: ConsensusCore,
    key: SigningKey,
    /// The same key outside the state machine, for equivocation.
    signer: TrustchainSigner,
    /// False while crashed (between [`Event::Crash`] and [`Event::Restart`]).
    up: bool,
    /// The durable write-ahead log: (height, entry), in append order. Survives crashes.
    wal: Vec<(u64, mcc::WalEntry<TrustchainContext>)>,
    /// Appended but not yet flushed; lost in a crash.
    unflushed: Vec<(u64, mcc::WalEntry<TrustchainContext>)>,
    /// Everything its cores signed, over all lifetimes: what, and its value (None = nil).
    signed: BTreeMap<SignedKey, Option<BlockId>>,
    /// Signed twice differently (see [`SimReport::self_equivocations`]).
    self_equivocations: Vec<String>,
    fault: Fault,
    /// Armed timers: key → (timeout, id of the live timer event).
    timers: BTreeMap<TimerKey, (mc::Timeout, u64)>,
    decided: BTreeMap<u64, NodeDecision>,
    /// Headers seen in proposals (equivocators use them to build twins).
    headers: BTreeMap<BlockId, BlockHeader>,
    /// Decided every height.
    done: bool,
    /// (height, round) at the last retransmission tick.
    last_tick: Option<(u64, Option<u32>)>,
}

struct Sim {
    cfg: SimConfig,
    ctx: TrustchainContext,
    set: EpochSet,
    nodes: Vec<Node>,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Event>,
    rng: SplitMix64,
    counts: Counts,
    max_round: u32,
    equivocators_seen: BTreeSet<usize>,
    failures: Vec<String>,
}

/// The key of node position `i` is derived from `i` only; positions are by key, so the keys
/// are sorted first and weights assigned after.
fn keys(n: usize) -> Vec<SigningKey> {
    let mut keys: Vec<SigningKey> = (0..n)
        .map(|i| SigningKey::from_bytes(blake3::hash(&(i as u64).to_le_bytes()).as_bytes()))
        .collect();
    keys.sort_by_key(PublicKey::of);
    keys
}

/// A fresh core for `cfg` at `height`.
fn new_core(
    cfg: &SimConfig,
    ctx: &TrustchainContext,
    key: &SigningKey,
    set: &EpochSet,
    height: u64,
) -> ConsensusCore {
    let core = ConsensusCore::new(
        ctx.clone(),
        key.clone(),
        set.clone(),
        Height(height),
        cfg.timeouts,
    );
    match cfg.rearm_rebroadcast {
        true => core,
        false => core.without_rebroadcast_rearm(),
    }
}

/// Runs the simulation described by `cfg`.
pub fn run(cfg: &SimConfig) -> SimReport {
    let keys = keys(cfg.weights.len());
    let set = ValidatorSet::new(
        0,
        keys.iter()
            .zip(&cfg.weights)
            .map(|(k, &weight)| Validator {
                key: PublicKey::of(k),
                weight,
            })
            .collect(),
    )
    .expect("a valid validator set");
    // The leader order follows the seed too.
    let leader_seed = Hash(*blake3::hash(&cfg.seed.to_le_bytes()).as_bytes());
    let epoch = EpochSet::new(set.clone(), leader_seed).expect("weights fit malachite");
    let ctx = TrustchainContext::new(CHAIN);
    let nodes = keys
        .into_iter()
        .enumerate()
        .map(|(i, key)| Node {
            core: new_core(cfg, &ctx, &key, &epoch, 1),
            signer: ctx.signing_provider(key.clone()),
            key,
            up: true,
            wal: Vec::new(),
            unflushed: Vec::new(),
            signed: BTreeMap::new(),
            self_equivocations: Vec::new(),
            fault: cfg.fault(i),
            timers: BTreeMap::new(),
            decided: BTreeMap::new(),
            headers: BTreeMap::new(),
            done: false,
            last_tick: None,
        })
        .collect();
    let mut sim = Sim {
        cfg: cfg.clone(),
        ctx,
        set: epoch,
        nodes,
        now: 0,
        seq: 0,
        queue: BTreeMap::new(),
        rng: SplitMix64::new(cfg.seed),
        counts: Counts::default(),
        max_round: 0,
        equivocators_seen: BTreeSet::new(),
        failures: Vec::new(),
    };
    sim.run();
    for n in &sim.nodes {
        sim.counts.dropped.add(n.core.dropped());
    }
    SimReport {
        set,
        decisions: sim.nodes.iter().map(|n| n.decided.clone()).collect(),
        counts: sim.counts,
        max_round: sim.max_round,
        end_ms: sim.now,
        equivocators_seen: sim.equivocators_seen,
        failures: sim.failures,
        positions: sim
            .nodes
            .iter()
            .map(|n| match n.done {
                true => (cfg.heights + 1, None),
                false => (n.core.height().0, n.core.round().as_u32()),
            })
            .collect(),
        self_equivocations: sim
            .nodes
            .iter()
            .map(|n| n.self_equivocations.clone())
            .collect(),
    }
}

/// What a message a node's core signed is about, and its value.
fn signed_key(msg: &SignedConsensusMsg<TrustchainContext>) -> (SignedKey, Option<BlockId>) {
    match msg {
        SignedConsensusMsg::Proposal(p) => (
            (p.height.0, p.round.as_i64(), 0),
            Some(mc::Value::id(&p.value)),
        ),
        SignedConsensusMsg::Vote(v) => {
            let kind = match v.kind {
                VoteType::Prevote => 1,
                VoteType::Precommit => 2,
            };
            let value = match v.value {
                NilOrVal::Val(id) => Some(id),
                NilOrVal::Nil => None,
            };
            ((v.height.0, v.round.as_i64(), kind), value)
        }
    }
}

#[cfg(test)]
mod tests;
