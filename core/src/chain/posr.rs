//! PoSR, Proof of Stable Runtime: who votes in the next epoch, and with how much weight.
//!
//! Nodes probe each other and sign [`ObservationReport`]s (heartbeat arrival rate, reachability,
//! round-trip time, a bandwidth sample) for one measurement *window*; the reports go on chain in
//! the node registry scenario. [`PosrState`] is the deterministic state machine every node runs
//! over those chain entries:
//!
//! - [`PosrState::register`] admits a node under an operator (both sign: nobody can charge their
//!   nodes to another operator's cap);
//! - [`PosrState::record`] takes a verified report of the epoch being collected;
//! - [`PosrState::end_epoch`] aggregates each window robustly — per subject, the median over
//!   *independent* observers (one voice per operator, self-reports ignored, at least
//!   [`PosrParams::min_observers`] voices) — and folds the outcome into each node's runtime;
//! - [`next_validator_set`] turns the state at the end of epoch `e` into the validator set of
//!   `e + 1`: per-node weight from confirmed stable runtime and measured capacity, the largest
//!   weights up to [`PosrParams::max_validators`] (ties broken by key, a seat limit per
//!   operator), then the operator cap on weight.
//!
//! Everything is integer arithmetic with explicit scales ([`PPM`], milli-windows), so every node
//! computes identical weights. No clock: windows and epochs are numbers the caller supplies. The
//! formula, its parameters and the attacks it does and does not resist are in `docs/posr.md`.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::chain::validators::{MAX_VALIDATORS, Validator, ValidatorSet};
use crate::crypto::hash::{Domain, Hash};
use crate::crypto::{BadSignature, PublicKey, Signature, sign};
use crate::encoding::{Decode, DecodeError, Encode, FORMAT_VERSION, Reader, Writer};

/// The fixed-point scale of fractions: parts per million.
pub const PPM: u64 = 1_000_000;
/// The largest weight one node can have (a node with saturated runtime and capacity).
pub const MAX_NODE_WEIGHT: u64 = PPM;
/// Runtime is counted in milli-windows, so partial credit (the streak ramp) stays an integer.
pub const MILLI_WINDOWS: u64 = 1_000;
/// Size of an encoded [`ObservationReport`]: version, two keys, window, four `u32`, signature.
pub const REPORT_SIZE: usize = 1 + 32 + 32 + 8 + 4 * 4 + 64;
/// Size of an encoded [`NodeRegistration`]: version, two keys, two signatures.
pub const REGISTRATION_SIZE: usize = 1 + 32 + 32 + 64 + 64;

// ------------------------------------------------------------------------------------------------
// Reports and registrations (what goes on chain)
// ------------------------------------------------------------------------------------------------

/// What one observer measured of one subject over one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurements {
    /// Heartbeats received over heartbeats expected, in [`PPM`] (at most `1_000_000`).
    pub heartbeat_ppm: u32,
    /// Reachability probes answered over probes sent, in [`PPM`] (at most `1_000_000`).
    pub reachability_ppm: u32,
    /// Median round-trip time of the answered probes, microseconds; `u32::MAX` when none answered.
    pub rtt_us: u32,
    /// A bandwidth sample, kbit/s.
    pub bandwidth_kbps: u32,
}

impl Measurements {
    /// What an observer reports of a subject it could not reach at all.
    pub const DOWN: Measurements = Measurements {
        heartbeat_ppm: 0,
        reachability_ppm: 0,
        rtt_us: u32::MAX,
        bandwidth_kbps: 0,
    };

    fn check(&self) -> Result<(), DecodeError> {
        if self.heartbeat_ppm as u64 > PPM || self.reachability_ppm as u64 > PPM {
            return Err(DecodeError::Invalid {
                what: "observation report",
                why: "a rate above 1_000_000 ppm",
            });
        }
        Ok(())
    }

    /// The worse of heartbeat and reachability: how much of the window the subject was usable.
    pub fn health_ppm(&self) -> u32 {
        self.heartbeat_ppm.min(self.reachability_ppm)
    }
}

impl Encode for Measurements {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.heartbeat_ppm);
        w.u32(self.reachability_ppm);
        w.u32(self.rtt_us);
        w.u32(self.bandwidth_kbps);
    }
}

impl Decode for Measurements {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let m = Measurements {
            heartbeat_ppm: r.u32("heartbeat rate")?,
            reachability_ppm: r.u32("reachability")?,
            rtt_us: r.u32("round-trip time")?,
            bandwidth_kbps: r.u32("bandwidth")?,
        };
        m.check()?;
        Ok(m)
    }
}

/// An observer's signed measurements of a subject over one window.
///
/// The signature covers the network's chain id as well (not stored: the verifier supplies its
/// own), so a report made on one network never counts on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservationReport {
    /// The node that measured.
    pub observer: PublicKey,
    /// The node measured.
    pub subject: PublicKey,
    /// The measurement window (epoch `window / windows_per_epoch`).
    pub window: u64,
    /// What was measured.
    pub measurements: Measurements,
    /// The observer's signature over [`ObservationReport::digest`].
    pub signature: Signature,
}

/// A report whose signature and values were checked; only [`ObservationReport::verify`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedReport(ObservationReport);

impl VerifiedReport {
    /// The report.
    pub fn report(&self) -> &ObservationReport {
        &self.0
    }
}

fn report_digest(
    chain_id: &str,
    observer: &PublicKey,
    subject: &PublicKey,
    window: u64,
    m: &Measurements,
) -> Hash {
    let mut w = Writer::new();
    w.u8(FORMAT_VERSION);
    w.str(chain_id);
    observer.encode(&mut w);
    subject.encode(&mut w);
    w.u64(window);
    m.encode(&mut w);
    Domain::PosrReport.hash(&w.into_bytes())
}

impl ObservationReport {
    /// Makes and signs a report as `observer`.
    pub fn sign(
        chain_id: &str,
        observer: &SigningKey,
        subject: PublicKey,
        window: u64,
        measurements: Measurements,
    ) -> Self {
        let observer_key = PublicKey::of(observer);
        let d = report_digest(chain_id, &observer_key, &subject, window, &measurements);
        ObservationReport {
            observer: observer_key,
            subject,
            window,
            measurements,
            signature: sign(observer, &d),
        }
    }

    /// The digest the observer signs: `PosrReport`-domain hash of
    /// `version ‖ chain_id ‖ observer ‖ subject ‖ window ‖ measurements`.
    pub fn digest(&self, chain_id: &str) -> Hash {
        report_digest(
            chain_id,
            &self.observer,
            &self.subject,
            self.window,
            &self.measurements,
        )
    }

    /// Checks the values and the signature (`verify_strict`).
    pub fn verify(&self, chain_id: &str) -> Result<VerifiedReport, PosrError> {
        self.measurements
            .check()
            .map_err(|_| PosrError::InvalidMeasurements)?;
        self.observer
            .verify(&self.digest(chain_id), &self.signature)?;
        Ok(VerifiedReport(*self))
    }
}

impl Encode for ObservationReport {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        self.observer.encode(w);
        self.subject.encode(w);
        w.u64(self.window);
        self.measurements.encode(w);
        self.signature.encode(w);
    }
}

impl Decode for ObservationReport {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("observation report")?;
        Ok(ObservationReport {
            observer: PublicKey::decode(r)?,
            subject: PublicKey::decode(r)?,
            window: r.u64("window")?,
            measurements: Measurements::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}

/// A node's entry in the node registry: the node key and the operator that runs it, signed by
/// both. The operator's signature is what makes the operator cap sound: nobody can register nodes
/// under someone else's operator key to use up that operator's share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRegistration {
    /// The node's key (the key it observes, reports and — once it has weight — votes with).
    pub node: PublicKey,
    /// The operator's key; all nodes of one operator share one weight cap and one observer voice.
    pub operator: PublicKey,
    /// The node's signature over [`NodeRegistration::digest`].
    pub node_signature: Signature,
    /// The operator's signature over the same digest.
    pub operator_signature: Signature,
}

impl NodeRegistration {
    fn digest_of(chain_id: &str, node: &PublicKey, operator: &PublicKey) -> Hash {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION);
        w.str(chain_id);
        node.encode(&mut w);
        operator.encode(&mut w);
        Domain::PosrRegistration.hash(&w.into_bytes())
    }

    /// The digest both sign: `PosrRegistration`-domain hash of `version ‖ chain_id ‖ node ‖
    /// operator`.
    pub fn digest(&self, chain_id: &str) -> Hash {
        Self::digest_of(chain_id, &self.node, &self.operator)
    }

    /// Makes a registration signed by the node and its operator (the same key for a one-node
    /// operator is fine).
    pub fn sign(chain_id: &str, node: &SigningKey, operator: &SigningKey) -> Self {
        let (n, o) = (PublicKey::of(node), PublicKey::of(operator));
        let d = Self::digest_of(chain_id, &n, &o);
        NodeRegistration {
            node: n,
            operator: o,
            node_signature: sign(node, &d),
            operator_signature: sign(operator, &d),
        }
    }

    /// Checks both signatures.
    pub fn verify(&self, chain_id: &str) -> Result<(), BadSignature> {
        let d = self.digest(chain_id);
        self.node.verify(&d, &self.node_signature)?;
        self.operator.verify(&d, &self.operator_signature)
    }
}

impl Encode for NodeRegistration {
    fn encode(&self, w: &mut Writer) {
        w.u8(FORMAT_VERSION);
        self.node.encode(w);
        self.operator.encode(w);
        self.node_signature.encode(w);
        self.operator_signature.encode(w);
    }
}

impl Decode for NodeRegistration {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version("node registration")?;
        Ok(NodeRegistration {
            node: PublicKey::decode(r)?,
            operator: PublicKey::decode(r)?,
            node_signature: Signature::decode(r)?,
            operator_signature: Signature::decode(r)?,
        })
    }
}

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

/// The PoSR parameters: chain configuration, identical on every node. Durations are in windows;
/// the defaults assume a 10-minute window (`docs/posr.md` has the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosrParams {
    /// Windows per epoch. Default 6 (one hour).
    pub windows_per_epoch: u64,
    /// Fewest independent observers (distinct operators, other than the subject's) for a window
    /// to count at all; below it the window is *unobserved*: no gain, no loss. Default 3.
    pub min_observers: u32,
    /// Median health (`min(heartbeat, reachability)`) at or above which a window is *up*, in
    /// [`PPM`]. Anything below is *down*. Default 950_000 (95 %).
    pub up_threshold_ppm: u32,
    /// Median round-trip time above which a window is *down* however healthy, µs. Default 1 s.
    pub max_rtt_us: u32,
    /// Consecutive up windows before a node's weight counts (the confirmation period).
    /// Default 144 (one day).
    pub confirmation_windows: u64,
    /// Consecutive down windows after which a node loses its confirmation and must confirm again.
    /// Default 144 (one day).
    pub unconfirm_after_windows: u64,
    /// An up window earns `min(streak, ramp) / ramp` windows of runtime: credit ramps up over
    /// this many consecutive up windows, so flapping earns little. Default 36 (six hours).
    pub ramp_windows: u64,
    /// Each down window multiplies the accumulated runtime by `1 - decay`, in [`PPM`].
    /// Default 50_000 (5 %: about 0.06 % of the runtime is left after a day down).
    pub decay_ppm: u32,
    /// Runtime at which the runtime factor saturates (more is not banked). Default 4320 (30 days).
    pub runtime_saturation_windows: u64,
    /// Bandwidth at which the capacity factor saturates, kbit/s. Default 1_000_000 (1 Gbit/s).
    pub capacity_saturation_kbps: u64,
    /// Share of a node's weight that needs no capacity, in [`PPM`]: weight is
    /// `R · (floor + (1 - floor) · C)`. Default 500_000.
    pub capacity_floor_ppm: u32,
    /// Weight of a new bandwidth median in the capacity estimate (an exponential moving average),
    /// in [`PPM`]. Default 100_000.
    pub capacity_smoothing_ppm: u32,
    /// Most weight all nodes of one operator may hold together, as a share of the set's total, in
    /// [`PPM`]; also bounds its seats to `max_validators · operator_cap`. Default 100_000 (10 %).
    pub operator_cap_ppm: u32,
    /// Most validators in a set. Default 100 (at most [`MAX_VALIDATORS`]).
    pub max_validators: u32,
    /// Share of accumulated runtime a validator loses per proven offence (a withheld beacon
    /// reveal, an equivocating report), in [`PPM`]. Default 500_000.
    pub penalty_ppm: u32,
}

impl Default for PosrParams {
    fn default() -> Self {
        PosrParams {
            windows_per_epoch: 6,
            min_observers: 3,
            up_threshold_ppm: 950_000,
            max_rtt_us: 1_000_000,
            confirmation_windows: 144,
            unconfirm_after_windows: 144,
            ramp_windows: 36,
            decay_ppm: 50_000,
            runtime_saturation_windows: 4320,
            capacity_saturation_kbps: 1_000_000,
            capacity_floor_ppm: 500_000,
            capacity_smoothing_ppm: 100_000,
            operator_cap_ppm: 100_000,
            max_validators: 100,
            penalty_ppm: 500_000,
        }
    }
}

impl PosrParams {
    /// A local devnet's parameters (`trustchain-relay devnet`, and the tests): the defaults scaled
    /// down from 10-minute windows to 2-second ones (confirmation, ramp and saturation in a few
    /// windows, 20 % decay per down window), two independent observers suffice (so one node down
    /// still leaves the others observed), each node — its own operator — may hold up to 40 % of
    /// the weight, and 10 Mbit/s is a full link (relays on one machine all have more; what a
    /// loopback bandwidth sample measures beyond that is the machine's load, which would only make
    /// equal nodes' weights differ at random).
    pub fn devnet() -> PosrParams {
        PosrParams {
            windows_per_epoch: 5,
            capacity_saturation_kbps: 10_000,
            min_observers: 2,
            confirmation_windows: 2,
            unconfirm_after_windows: 5,
            ramp_windows: 2,
            decay_ppm: 200_000,
            runtime_saturation_windows: 50,
            operator_cap_ppm: 400_000,
            ..PosrParams::default()
        }
    }

    /// Checks that the parameters are usable.
    pub fn check(&self) -> Result<(), PosrError> {
        let bad = |why| Err(PosrError::BadParams(why));
        if self.windows_per_epoch == 0 {
            return bad("windows_per_epoch must be at least 1");
        }
        if self.min_observers == 0 {
            return bad("min_observers must be at least 1");
        }
        if self.confirmation_windows == 0 || self.unconfirm_after_windows == 0 {
            return bad("confirmation periods must be at least 1 window");
        }
        if self.ramp_windows == 0 || self.runtime_saturation_windows == 0 {
            return bad("ramp and saturation must be at least 1 window");
        }
        if self.capacity_saturation_kbps == 0 {
            return bad("capacity_saturation_kbps must be positive");
        }
        let ppm = [
            self.up_threshold_ppm,
            self.decay_ppm,
            self.capacity_floor_ppm,
            self.capacity_smoothing_ppm,
            self.operator_cap_ppm,
            self.penalty_ppm,
        ];
        if ppm.iter().any(|&p| p as u64 > PPM) {
            return bad("a ppm parameter exceeds 1_000_000");
        }
        if self.operator_cap_ppm == 0 {
            return bad("operator_cap_ppm must be positive");
        }
        if self.max_validators == 0 || self.max_validators > MAX_VALIDATORS {
            return bad("max_validators must be in 1..=MAX_VALIDATORS");
        }
        Ok(())
    }

    /// The epoch a window belongs to.
    pub fn epoch_of(&self, window: u64) -> u64 {
        window / self.windows_per_epoch.max(1)
    }
}

// ------------------------------------------------------------------------------------------------
// State
// ------------------------------------------------------------------------------------------------

/// Why PoSR refused an input or a computation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PosrError {
    /// A signature does not verify.
    #[error(transparent)]
    BadSignature(#[from] BadSignature),
    /// A rate in a report exceeds 1_000_000 ppm.
    #[error("a report's rate exceeds 1_000_000 ppm")]
    InvalidMeasurements,
    /// The observer reports on itself.
    #[error("node {0} reports on itself")]
    SelfReport(PublicKey),
    /// The observer reports on a node of its own operator (a self-report by another key).
    #[error("observer {observer} and subject {subject} belong to the same operator")]
    SameOperator {
        /// The observer.
        observer: PublicKey,
        /// The subject.
        subject: PublicKey,
    },
    /// The key is not in the node registry.
    #[error("node {0} is not registered")]
    UnknownNode(PublicKey),
    /// The observer is not confirmed (only confirmed nodes observe: new keys cannot vouch).
    #[error("node {0} is not an eligible observer this epoch")]
    NotObserver(PublicKey),
    /// The report's window is not in the epoch being collected.
    #[error("window {window} is not in epoch {epoch}, the epoch being collected")]
    WrongEpoch {
        /// The report's window.
        window: u64,
        /// The epoch being collected.
        epoch: u64,
    },
    /// The node key is registered already.
    #[error("node {0} is already registered")]
    AlreadyRegistered(PublicKey),
    /// The requested epoch is not the last closed one.
    #[error("epoch {requested} is not the last closed epoch ({last_closed:?})")]
    EpochNotClosed {
        /// The epoch asked for.
        requested: u64,
        /// The last epoch closed by [`PosrState::end_epoch`].
        last_closed: Option<u64>,
    },
    /// No node has positive weight.
    #[error("no node has positive weight: no validator set can be formed")]
    NoValidators,
    /// Too few operators have weight for the operator cap to hold: the chain keeps its current
    /// set rather than hand one operator more than the cap (a disturbed epoch in which a single
    /// node was seen up would otherwise make it the only validator).
    #[error(
        "only {have} operators have weight; the operator cap needs at least {need}: the current validator set stays"
    )]
    TooFewOperators {
        /// Operators with weight in the computed set.
        have: usize,
        /// The fewest operators among whom no one exceeds `operator_cap_ppm`.
        need: usize,
    },
    /// The parameters are unusable.
    #[error("bad PoSR parameters: {0}")]
    BadParams(&'static str),
}

/// What [`PosrState::record`] did with a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The first report of this observer on this subject and window.
    New,
    /// The same report again: counted once.
    Duplicate,
    /// A different report for the same observer, subject and window: both are void (the
    /// observer's voice for that subject and window is dropped) and the pair is evidence.
    Equivocation,
}

/// How one window of one node was classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowOutcome {
    /// Fewer than `min_observers` independent observers: no gain, no loss.
    Unobserved,
    /// Median health at or above the threshold and round-trip time within bounds.
    Up,
    /// Anything else.
    Down,
}

/// One registered node as PoSR sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    /// Its operator.
    pub operator: PublicKey,
    /// The epoch in which it registered.
    pub registered_epoch: u64,
    /// Whether it has completed the confirmation period (and not lost it).
    pub confirmed: bool,
    /// Accumulated stable runtime, milli-windows, at most the saturation.
    pub runtime_mw: u64,
    /// Consecutive up windows (unobserved windows neither extend nor break it).
    pub up_streak: u64,
    /// Consecutive down windows.
    pub down_streak: u64,
    /// Smoothed median bandwidth, kbit/s.
    pub capacity_kbps: u64,
    /// Up windows so far.
    pub up_windows: u64,
    /// Down windows so far.
    pub down_windows: u64,
    /// Unobserved windows so far.
    pub unobserved_windows: u64,
}

impl NodeStatus {
    fn new(operator: PublicKey, epoch: u64, confirmed: bool) -> Self {
        NodeStatus {
            operator,
            registered_epoch: epoch,
            confirmed,
            runtime_mw: 0,
            up_streak: 0,
            down_streak: 0,
            capacity_kbps: 0,
            up_windows: 0,
            down_windows: 0,
            unobserved_windows: 0,
        }
    }

    /// The node's own weight before the operator cap, in `0..=MAX_NODE_WEIGHT`:
    /// `R · (F + (1 − F) · C)` with `R = min(runtime, sat) / sat`, `C = min(cap, cap_sat) /
    /// cap_sat`, `F` the capacity floor, and 0 while unconfirmed.
    pub fn weight(&self, p: &PosrParams) -> u64 {
        if !self.confirmed {
            return 0;
        }
        let sat = p.runtime_saturation_windows as u128 * MILLI_WINDOWS as u128;
        let r = (self.runtime_mw as u128).min(sat) * PPM as u128 / sat;
        let cs = p.capacity_saturation_kbps as u128;
        let c = (self.capacity_kbps as u128).min(cs) * PPM as u128 / cs;
        let f = p.capacity_floor_ppm as u128;
        let factor = f + (PPM as u128 - f) * c / PPM as u128;
        (r * factor / PPM as u128) as u64
    }

    fn apply(&mut self, outcome: WindowOutcome, bandwidth_kbps: u32, p: &PosrParams) {
        match outcome {
            WindowOutcome::Unobserved => self.unobserved_windows += 1,
            WindowOutcome::Up => {
                self.up_windows += 1;
                self.up_streak += 1;
                self.down_streak = 0;
                let credit = MILLI_WINDOWS * self.up_streak.min(p.ramp_windows) / p.ramp_windows;
                let sat = p.runtime_saturation_windows * MILLI_WINDOWS;
                self.runtime_mw = (self.runtime_mw + credit).min(sat);
                let bw = bandwidth_kbps as u128;
                self.capacity_kbps = if self.up_windows == 1 {
                    bandwidth_kbps as u64
                } else {
                    let a = p.capacity_smoothing_ppm as u128;
                    ((self.capacity_kbps as u128 * (PPM as u128 - a) + bw * a) / PPM as u128) as u64
                };
                if self.up_streak >= p.confirmation_windows {
                    self.confirmed = true;
                }
            }
            WindowOutcome::Down => {
                self.down_windows += 1;
                self.down_streak += 1;
                self.up_streak = 0;
                self.runtime_mw = scale_ppm(self.runtime_mw, PPM - p.decay_ppm as u64);
                if self.down_streak >= p.unconfirm_after_windows {
                    self.confirmed = false;
                }
            }
        }
    }
}

fn scale_ppm(v: u64, ppm: u64) -> u64 {
    (v as u128 * ppm as u128 / PPM as u128) as u64
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    One(ObservationReport),
    Conflict(ObservationReport, ObservationReport),
}

/// What [`PosrState::end_epoch`] closed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochSummary {
    /// The epoch closed.
    pub epoch: u64,
    /// Nodes that became confirmed during the epoch.
    pub confirmed: Vec<PublicKey>,
    /// Nodes that lost their confirmation during the epoch.
    pub unconfirmed: Vec<PublicKey>,
    /// Pairs of conflicting reports by one observer on one subject and window (evidence; the
    /// caller decides on a [`PosrState::penalize`]).
    pub equivocations: Vec<(ObservationReport, ObservationReport)>,
}

/// The robust aggregate of one subject in one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aggregate {
    /// Independent observers (distinct operators) whose reports counted.
    pub observers: u32,
    /// Per measurement, the lower median over those operators (each operator first reduced to
    /// the lower median of its own nodes' reports).
    pub median: Measurements,
}

/// The PoSR state machine: the node registry and the reports of the epoch being collected.
/// A deterministic function of the registry scenario's entries: the same entries, in any order
/// within an epoch, give the same state.
#[derive(Clone, Debug)]
pub struct PosrState {
    epoch: u64,
    last_closed: Option<u64>,
    nodes: BTreeMap<PublicKey, NodeStatus>,
    /// Nodes whose reports count this epoch: those confirmed when the epoch began.
    observers: BTreeSet<PublicKey>,
    /// Reports of the epoch being collected: `(window, subject) → observer → report`.
    reports: BTreeMap<(u64, PublicKey), BTreeMap<PublicKey, Slot>>,
}

impl PosrState {
    /// The state at genesis: `nodes` are `(node, operator)` pairs, confirmed by the genesis block
    /// itself (somebody has to observe first), with no runtime yet. Collection starts at `epoch`.
    pub fn genesis(epoch: u64, nodes: &[(PublicKey, PublicKey)]) -> Self {
        let mut s = PosrState {
            epoch,
            last_closed: None,
            nodes: BTreeMap::new(),
            observers: BTreeSet::new(),
            reports: BTreeMap::new(),
        };
        for (node, operator) in nodes {
            s.nodes
                .entry(*node)
                .or_insert_with(|| NodeStatus::new(*operator, epoch, true));
            s.observers.insert(*node);
        }
        s
    }

    /// The epoch being collected.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The last epoch closed by [`PosrState::end_epoch`].
    pub fn last_closed(&self) -> Option<u64> {
        self.last_closed
    }

    /// A node's status.
    pub fn node(&self, key: &PublicKey) -> Option<&NodeStatus> {
        self.nodes.get(key)
    }

    /// Every registered node, keys ascending.
    pub fn nodes(&self) -> impl Iterator<Item = (&PublicKey, &NodeStatus)> {
        self.nodes.iter()
    }

    /// Whether `key`'s reports count in the epoch being collected.
    pub fn is_observer(&self, key: &PublicKey) -> bool {
        self.observers.contains(key)
    }

    /// Admits a node. It starts unconfirmed, with no runtime, and cannot observe until confirmed.
    pub fn register(&mut self, chain_id: &str, reg: &NodeRegistration) -> Result<(), PosrError> {
        if self.nodes.contains_key(&reg.node) {
            return Err(PosrError::AlreadyRegistered(reg.node));
        }
        reg.verify(chain_id)?;
        self.nodes
            .insert(reg.node, NodeStatus::new(reg.operator, self.epoch, false));
        Ok(())
    }

    /// Takes a verified report of the epoch being collected. What it answers (and refuses) is
    /// exactly [`PosrState::would_record`]; this then stores the report (or voids the observer's
    /// voice on an equivocation).
    pub fn record(
        &mut self,
        report: VerifiedReport,
        params: &PosrParams,
    ) -> Result<Recorded, PosrError> {
        let outcome = self.would_record(&report, params)?;
        let r = report.0;
        match outcome {
            Recorded::New => {
                self.reports
                    .entry((r.window, r.subject))
                    .or_default()
                    .insert(r.observer, Slot::One(r));
            }
            Recorded::Duplicate => {}
            Recorded::Equivocation => {
                let slot = self
                    .reports
                    .get_mut(&(r.window, r.subject))
                    .and_then(|slots| slots.get_mut(&r.observer));
                // A slot already in conflict stays as it is: the first pair is the evidence.
                if let Some(slot) = slot
                    && let Slot::One(prev) = *slot
                {
                    // Keep the evidence in a canonical order so it does not depend on arrival
                    // order.
                    let (a, b) = if prev.to_bytes() <= r.to_bytes() {
                        (prev, r)
                    } else {
                        (r, prev)
                    };
                    *slot = Slot::Conflict(a, b);
                }
            }
        }
        Ok(outcome)
    }

    /// What [`PosrState::record`] would answer for `report` now, without recording it: the same
    /// checks, in the same order, so the same result. Costs a few map look-ups.
    pub fn would_record(
        &self,
        report: &VerifiedReport,
        params: &PosrParams,
    ) -> Result<Recorded, PosrError> {
        self.precheck(report.report(), params)
    }

    /// What [`PosrState::record`] would answer for `report` *if its signature verifies*: every
    /// rule of [`PosrState::would_record`], none of [`ObservationReport::verify`]'s. A cheap
    /// filter to run before the (far costlier) signature check; anything it admits must still
    /// be verified before it counts.
    pub fn precheck(
        &self,
        r: &ObservationReport,
        params: &PosrParams,
    ) -> Result<Recorded, PosrError> {
        if params.epoch_of(r.window) != self.epoch {
            return Err(PosrError::WrongEpoch {
                window: r.window,
                epoch: self.epoch,
            });
        }
        if r.observer == r.subject {
            return Err(PosrError::SelfReport(r.observer));
        }
        let subject = self
            .nodes
            .get(&r.subject)
            .ok_or(PosrError::UnknownNode(r.subject))?;
        let observer = self
            .nodes
            .get(&r.observer)
            .ok_or(PosrError::UnknownNode(r.observer))?;
        if observer.operator == subject.operator {
            return Err(PosrError::SameOperator {
                observer: r.observer,
                subject: r.subject,
            });
        }
        if !self.observers.contains(&r.observer) {
            return Err(PosrError::NotObserver(r.observer));
        }
        let slot = self
            .reports
            .get(&(r.window, r.subject))
            .and_then(|slots| slots.get(&r.observer));
        Ok(match slot {
            None => Recorded::New,
            Some(Slot::One(prev)) if prev.measurements == r.measurements => Recorded::Duplicate,
            Some(Slot::One(_) | Slot::Conflict(..)) => Recorded::Equivocation,
        })
    }

    /// The robust aggregate of `subject` in `window` (of the epoch being collected), or `None`
    /// if the subject is unknown or nobody independent reported.
    pub fn aggregate(&self, window: u64, subject: &PublicKey) -> Option<Aggregate> {
        let subject_op = self.nodes.get(subject)?.operator;
        let slots = self.reports.get(&(window, *subject))?;
        let mut by_operator: BTreeMap<PublicKey, Vec<Measurements>> = BTreeMap::new();
        for (observer, slot) in slots {
            let Slot::One(r) = slot else { continue };
            let Some(op) = self.nodes.get(observer).map(|n| n.operator) else {
                continue;
            };
            // `record` refuses these; the checks are repeated so the aggregate is right however
            // the state was reached.
            if observer == subject || op == subject_op || !self.observers.contains(observer) {
                continue;
            }
            by_operator.entry(op).or_default().push(r.measurements);
        }
        if by_operator.is_empty() {
            return None;
        }
        let voices: Vec<Measurements> = by_operator.values().map(|v| median_of(v)).collect();
        Some(Aggregate {
            observers: voices.len() as u32,
            median: median_of(&voices),
        })
    }

    /// Closes the epoch being collected: classifies every window of every node (windows in
    /// order), updates runtimes, confirmations and capacities, fixes the observers of the next
    /// epoch (the nodes confirmed now) and drops the epoch's reports.
    pub fn end_epoch(&mut self, params: &PosrParams) -> Result<EpochSummary, PosrError> {
        params.check()?;
        let mut summary = EpochSummary {
            epoch: self.epoch,
            ..EpochSummary::default()
        };
        for slots in self.reports.values() {
            for slot in slots.values() {
                if let Slot::Conflict(a, b) = slot {
                    summary.equivocations.push((*a, *b));
                }
            }
        }
        let was_confirmed: BTreeSet<PublicKey> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.confirmed)
            .map(|(k, _)| *k)
            .collect();
        let first = self.epoch * params.windows_per_epoch;
        let keys: Vec<PublicKey> = self.nodes.keys().copied().collect();
        for window in first..first + params.windows_per_epoch {
            for key in &keys {
                let agg = self.aggregate(window, key);
                let (outcome, bw) = classify(agg, params);
                self.nodes
                    .get_mut(key)
                    .expect("key from the map")
                    .apply(outcome, bw, params);
            }
        }
        for (k, n) in &self.nodes {
            match (was_confirmed.contains(k), n.confirmed) {
                (false, true) => summary.confirmed.push(*k),
                (true, false) => summary.unconfirmed.push(*k),
                _ => {}
            }
        }
        self.observers = self
            .nodes
            .iter()
            .filter(|(_, n)| n.confirmed)
            .map(|(k, _)| *k)
            .collect();
        self.reports.clear();
        self.last_closed = Some(self.epoch);
        self.epoch += 1;
        Ok(summary)
    }

    /// Cuts a node's accumulated runtime by `penalty_ppm` and breaks its streak: the price of a
    /// proven offence recorded on chain (a withheld beacon reveal, an equivocating report).
    pub fn penalize(&mut self, key: &PublicKey, params: &PosrParams) -> Result<(), PosrError> {
        let n = self
            .nodes
            .get_mut(key)
            .ok_or(PosrError::UnknownNode(*key))?;
        n.runtime_mw = scale_ppm(n.runtime_mw, PPM - params.penalty_ppm as u64);
        n.up_streak = 0;
        Ok(())
    }
}

fn classify(agg: Option<Aggregate>, p: &PosrParams) -> (WindowOutcome, u32) {
    match agg {
        Some(a) if a.observers >= p.min_observers => {
            if a.median.health_ppm() >= p.up_threshold_ppm && a.median.rtt_us <= p.max_rtt_us {
                (WindowOutcome::Up, a.median.bandwidth_kbps)
            } else {
                (WindowOutcome::Down, 0)
            }
        }
        _ => (WindowOutcome::Unobserved, 0),
    }
}

/// The lower median of a non-empty list of `u32`: with fewer than half of the values chosen by
/// an adversary, it lies between the smallest and the largest honest value.
fn lower_median(mut v: Vec<u32>) -> u32 {
    v.sort_unstable();
    v[(v.len() - 1) / 2]
}

/// Field-by-field lower median.
fn median_of(ms: &[Measurements]) -> Measurements {
    let field = |f: fn(&Measurements) -> u32| lower_median(ms.iter().map(f).collect());
    Measurements {
        heartbeat_ppm: field(|m| m.heartbeat_ppm),
        reachability_ppm: field(|m| m.reachability_ppm),
        rtt_us: field(|m| m.rtt_us),
        bandwidth_kbps: field(|m| m.bandwidth_kbps),
    }
}

// ------------------------------------------------------------------------------------------------
// The next validator set
// ------------------------------------------------------------------------------------------------

/// A candidate validator: node, operator, weight.
type Candidate = (PublicKey, PublicKey, u64);

/// Scales the nodes of every operator whose total exceeds the cap so that no operator holds more
/// than `cap_ppm` of the total (up to rounding: the floor of each node's share). Water-filling:
/// the `k` heaviest operators are cut to the level `L = cap · rest / (1 − k · cap)` where `rest`
/// is the weight of the others, for the smallest `k` at which the next operator is at or under
/// `L`. When no level exists (fewer than `1 / cap` operators), every operator is cut to the
/// lightest one's total: equal shares, the closest the cap can be approached. Nodes scaled to
/// zero weight are dropped.
fn apply_operator_cap(cands: &mut Vec<Candidate>, cap_ppm: u32) {
    let cap = cap_ppm as u128;
    let ppm = PPM as u128;
    let mut sums: BTreeMap<PublicKey, u128> = BTreeMap::new();
    for (_, op, w) in cands.iter() {
        *sums.entry(*op).or_default() += *w as u128;
    }
    let total: u128 = sums.values().sum();
    let mut ops: Vec<(u128, PublicKey)> = sums.iter().map(|(k, s)| (*s, *k)).collect();
    // Heaviest first; ties by key so the order is total.
    ops.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let Some(&(heaviest, _)) = ops.first() else {
        return;
    };
    if cap >= ppm || heaviest * ppm <= cap * total {
        return;
    }
    let mut level = None;
    let mut rest = total;
    for k in 1..ops.len() {
        rest -= ops[k - 1].0;
        let kc = k as u128 * cap;
        if kc >= ppm {
            break;
        }
        let l = cap * rest / (ppm - kc);
        if l >= ops[k].0 {
            level = Some(l);
            break;
        }
    }
    let level = level.unwrap_or(ops[ops.len() - 1].0);
    for (_, op, w) in cands.iter_mut() {
        let s = sums[op];
        if s > level {
            *w = (*w as u128 * level / s) as u64;
        }
    }
    cands.retain(|c| c.2 > 0);
}

/// The fewest operators with weight a validator set needs: `⌈1 / operator_cap⌉` (1 without a
/// cap), the fewest among whom nobody holds more than the cap.
pub fn min_operators(params: &PosrParams) -> usize {
    let cap = u64::from(params.operator_cap_ppm).clamp(1, PPM);
    PPM.div_ceil(cap) as usize
}

/// Most seats one operator may hold: `max(1, ⌊max_validators · operator_cap⌋)`.
pub fn seats_per_operator(params: &PosrParams) -> usize {
    ((params.max_validators as u64 * params.operator_cap_ppm as u64 / PPM) as usize).max(1)
}

/// The validator set of epoch `epoch + 1`, from the state at the end of epoch `epoch` (the caller
/// has just run [`PosrState::end_epoch`] for `epoch`).
///
/// 1. every confirmed node's own weight ([`NodeStatus::weight`]), zero weights left out;
/// 2. the heaviest first (ties: the smaller key), taking at most [`seats_per_operator`] nodes of
///    any one operator, until `max_validators` are chosen — so one operator's many nodes cannot
///    crowd out other operators' seats;
/// 3. the operator cap over the chosen: no operator above `operator_cap` of the total;
/// 4. sorted by key, as [`ValidatorSet`] requires.
///
/// If no node has weight, [`PosrError::NoValidators`], and if fewer than [`min_operators`]
/// operators have weight, [`PosrError::TooFewOperators`]: the chain keeps its current set.
pub fn next_validator_set(
    state: &PosrState,
    params: &PosrParams,
    epoch: u64,
) -> Result<ValidatorSet, PosrError> {
    params.check()?;
    if state.last_closed != Some(epoch) {
        return Err(PosrError::EpochNotClosed {
            requested: epoch,
            last_closed: state.last_closed,
        });
    }
    let mut ranked: Vec<Candidate> = state
        .nodes
        .iter()
        .map(|(k, n)| (*k, n.operator, n.weight(params)))
        .filter(|c| c.2 > 0)
        .collect();
    ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let seat_limit = seats_per_operator(params);
    let mut seats: BTreeMap<PublicKey, usize> = BTreeMap::new();
    let mut chosen: Vec<Candidate> = Vec::new();
    for c in ranked {
        if chosen.len() == params.max_validators as usize {
            break;
        }
        let taken = seats.entry(c.1).or_default();
        if *taken < seat_limit {
            *taken += 1;
            chosen.push(c);
        }
    }
    apply_operator_cap(&mut chosen, params.operator_cap_ppm);
    if chosen.is_empty() {
        return Err(PosrError::NoValidators);
    }
    let operators: BTreeSet<PublicKey> = chosen.iter().map(|c| c.1).collect();
    let need = min_operators(params);
    if operators.len() < need {
        return Err(PosrError::TooFewOperators {
            have: operators.len(),
            need,
        });
    }
    let validators = chosen
        .into_iter()
        .map(|(key, _, weight)| Validator { key, weight })
        .collect();
    ValidatorSet::new(epoch + 1, validators).map_err(|_| PosrError::NoValidators)
}

#[cfg(test)]
mod tests;
