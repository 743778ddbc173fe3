//! [`ConsensusCore`]: one validator's malachite state machine behind a sans-IO interface
//! (docs/consensus.md §4.2).
//!
//! The caller feeds inputs (a message from the network, an elapsed timeout, the block it was asked
//! to propose, the start of a height) and gets back an ordered list of [`Action`]s — plain data it
//! executes: append to the write-ahead log, publish, arm or cancel timers, build a block, commit a
//! decision. Nothing in here reads a clock, draws randomness or does IO, so the same inputs always
//! give the same actions (ed25519 signing is deterministic): the relay and the simulation
//! (`sim.rs`, test-only) run exactly this code.
//!
//! Every malachite effect is answered synchronously inside [`ConsensusCore::step`]: signing and
//! verification with the node's [`TrustchainSigner`], validator sets from the set the height was
//! started with, vote extensions refused. Malachite feeds our own votes and proposals back into
//! itself, so the core never produces inputs for itself; the one input the caller owes it is the
//! answer to [`Action::NeedValue`] ([`ConsensusCore::propose`]).
//!
//! **Execution order.** The caller must execute the actions of one step in order and make every
//! [`Action::WalAppend`] durable before it sends any later [`Action::Publish`] /
//! [`Action::PublishLiveness`] (docs/consensus.md §2.2): then a restart replaying the WAL never
//! signs against what the node already sent.

mod io;
use io::Io;

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_consensus as mcc;
use informalsystems_malachitebft_core_types as mc;
use std::collections::BTreeMap;

use mc::{
    Context as _, Round, SigningProvider, SigningProviderExt, ThresholdParams, Timeout,
    TimeoutKind, ValidatorSet as _, Value as _,
};
use mcc::{Effect, Input, LivenessMsg, Params, Resumable, SignedConsensusMsg, State, WalEntry};
use trustchain_core::chain::block::{BlockHeader, CommitCertificate};
use trustchain_core::crypto::PublicKey;

use super::cert::to_core_certificate;
use super::ctx::{BlockValue, EpochSet, Height, TrustchainContext, ValAddr};
use super::signing::TrustchainSigner;

pub use mcc::Role;

/// Timeout durations, in milliseconds: `base + delta × round` per kind (docs/consensus.md §2.1).
///
/// Stateless, unlike malachite's engine (which adds the delta each time a timeout elapses): a WAL
/// replay or a simulation sees the same durations as the live run. The rebroadcast timeout of a
/// round lasts as long as its propose, prevote and precommit timeouts together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutConfig {
    /// `(base, delta)` of the propose timeout.
    pub propose: (u64, u64),
    /// `(base, delta)` of the prevote timeout.
    pub prevote: (u64, u64),
    /// `(base, delta)` of the precommit timeout.
    pub precommit: (u64, u64),
}

impl TimeoutConfig {
    /// Malachite's defaults (`TimeoutConfig::default` of its config crate): 3 s / 1 s / 1 s,
    /// + 0.5 s per round.
    pub const DEFAULT: TimeoutConfig = TimeoutConfig {
        propose: (3_000, 500),
        prevote: (1_000, 500),
        precommit: (1_000, 500),
    };
    /// The devnet's: 1 s / 0.5 s / 0.5 s, + 0.25 s per round.
    pub const DEVNET: TimeoutConfig = TimeoutConfig {
        propose: (1_000, 250),
        prevote: (500, 250),
        precommit: (500, 250),
    };

    /// How long `timeout` lasts once scheduled. Saturates instead of overflowing at absurd rounds.
    pub fn duration_ms(&self, timeout: Timeout) -> u64 {
        let round = timeout.round.as_u32().unwrap_or(0) as u64;
        let of = |(base, delta): (u64, u64)| base.saturating_add(delta.saturating_mul(round));
        match timeout.kind {
            TimeoutKind::Propose => of(self.propose),
            TimeoutKind::Prevote => of(self.prevote),
            TimeoutKind::Precommit => of(self.precommit),
            TimeoutKind::Rebroadcast => of(self.propose)
                .saturating_add(of(self.prevote))
                .saturating_add(of(self.precommit)),
        }
    }
}

/// A height decided by consensus: the block and its certificate in `core`'s form, which
/// [`CommitCertificate::verify`] accepts against the header and the height's validator set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The decided block's header.
    pub header: BlockHeader,
    /// Its body (the anchored checkpoints).
    pub body: trustchain_core::chain::block::BlockBody,
    /// The precommits this node held when it decided (more than 2/3 of the weight; not
    /// necessarily every validator's).
    pub certificate: CommitCertificate,
}

/// Acceptance rule: votes and proposals of rounds beyond the current round plus this many are
/// refused (docs/consensus.md §4.3; messages of the next height count from round 0). Round
/// certificates are not subject to it: they are how a node left behind in rounds catches up.
pub const MAX_ROUNDS_AHEAD: u32 = 10;
/// Acceptance rule: at most this many verified messages per signer are buffered for a height
/// that has not started (malachite buffers them in an unbounded list per height).
pub const MAX_BUFFERED_PER_SIGNER: u32 = 2 * (MAX_ROUNDS_AHEAD + 1) + 2;
/// Acceptance rule: at most this many verified messages are buffered per height not started.
pub const MAX_BUFFERED_PER_HEIGHT: u32 = 4_096;

/// Messages the acceptance filter refused before malachite saw them, by reason
/// (docs/consensus.md §4.3; [`ConsensusCore::dropped`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Votes, proposals or certificates of a height below the current one.
    pub old_height: u64,
    /// Votes, proposals or certificates of a height above the current one + 1.
    pub far_height: u64,
    /// Votes or proposals of a round beyond the current one + [`MAX_ROUNDS_AHEAD`].
    pub far_round: u64,
    /// Votes or proposals signed by a key outside the height's validator set.
    pub unknown_signer: u64,
    /// Proposals from a validator that is not the proposer of their (height, round).
    pub not_proposer: u64,
    /// Proposals re-proposing a value with a `pol_round` whose only polka certificate is for
    /// another value: malachite 0.5 would take them as justified and unlock (docs/consensus.md
    /// §13, a safety bug of `core-driver`'s `multiplex_proposal`).
    pub unjustified_pol_round: u64,
    /// Buffered messages over [`MAX_BUFFERED_PER_SIGNER`] for one signer and height.
    pub signer_buffer_full: u64,
    /// Buffered messages over [`MAX_BUFFERED_PER_HEIGHT`] for one height.
    pub height_buffer_full: u64,
}

impl Dropped {
    /// All reasons together.
    pub fn total(&self) -> u64 {
        self.old_height
            + self.far_height
            + self.far_round
            + self.unknown_signer
            + self.not_proposer
            + self.unjustified_pol_round
            + self.signer_buffer_full
            + self.height_buffer_full
    }
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Dropped) {
        self.old_height += other.old_height;
        self.far_height += other.far_height;
        self.far_round += other.far_round;
        self.unknown_signer += other.unknown_signer;
        self.not_proposer += other.not_proposer;
        self.unjustified_pol_round += other.unjustified_pol_round;
        self.signer_buffer_full += other.signer_buffer_full;
        self.height_buffer_full += other.height_buffer_full;
    }
}

/// Why the acceptance filter refused a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    OldHeight,
    FarHeight,
    FarRound,
    UnknownSigner,
    NotProposer,
    UnjustifiedPolRound,
    SignerBufferFull,
    HeightBufferFull,
}

/// Verified messages buffered for a height not started yet: in all, and per signer.
#[derive(Clone, Debug, Default)]
struct Buffered {
    total: u32,
    per_signer: BTreeMap<ValAddr, u32>,
}

/// What the caller must do, in order, after a [`ConsensusCore::step`].
#[derive(Clone, Debug)]
pub enum Action {
    /// Persist `entry` before anything published later in this step leaves the node.
    WalAppend(WalEntry<TrustchainContext>),
    /// Gossip a signed vote or proposal (ours) to the other validators.
    Publish(SignedConsensusMsg<TrustchainContext>),
    /// Gossip a liveness message: a republished vote, a polka or a round certificate.
    PublishLiveness(LivenessMsg<TrustchainContext>),
    /// Arm a timer; when it fires, feed [`ConsensusCore::timeout_elapsed`]. Re-scheduling the
    /// same `timeout` replaces the earlier timer.
    ScheduleTimeout {
        /// What expires.
        timeout: Timeout,
        /// After how long, per [`TimeoutConfig::duration_ms`].
        after_ms: u64,
    },
    /// Disarm one timer.
    CancelTimeout(Timeout),
    /// Disarm every timer.
    CancelAllTimeouts,
    /// A round started (for metrics and logs; nothing to execute).
    RoundStarted {
        /// Height.
        height: Height,
        /// The new round.
        round: Round,
        /// Its proposer.
        proposer: ValAddr,
        /// What this node is in it.
        role: Role,
    },
    /// We are the proposer: build a block for `(height, round)` and hand it to
    /// [`ConsensusCore::propose`], within `within_ms` (after that the others have prevoted nil).
    NeedValue {
        /// Height.
        height: Height,
        /// Round.
        round: Round,
        /// The propose timeout of this round.
        within_ms: u64,
    },
    /// The height is decided: commit the block, then start the next height
    /// ([`ConsensusCore::start_height`]).
    Decided(Box<Decision>),
    /// Malachite refused the input with an error (logged; the state machine is unchanged past
    /// the point of the error). Never expected from honest, validated inputs.
    Failed(String),
}

/// One validator's consensus: malachite's [`State`] plus the signer and timeout configuration
/// that answer its effects. See the module documentation.
pub struct ConsensusCore {
    state: State<TrustchainContext>,
    io: Io,
    /// Refused by the acceptance filter, by reason.
    dropped: Dropped,
    /// Verified messages buffered per height not started (at most the current and the next).
    buffered: BTreeMap<u64, Buffered>,
    /// Caps on buffered messages of a height not started: (per signer, per height).
    buffer_limits: (u32, u32),
    /// Re-arm the current round's rebroadcast timer when malachite cancels it undecided (on by
    /// default; off only to measure malachite 0.5's behaviour, docs/consensus.md §12).
    rearm_rebroadcast: bool,
}

impl std::fmt::Debug for ConsensusCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsensusCore")
            .field("address", self.state.address())
            .field("height", &self.state.height())
            .field("round", &self.state.round())
            .finish_non_exhaustive()
    }
}

impl ConsensusCore {
    /// The consensus of the validator holding `key` (or of a follower, if its key is not in
    /// `set`), in `ProposalOnly` mode with malachite's 2f+1 thresholds. Idle until
    /// [`Self::start_height`].
    pub fn new(
        ctx: TrustchainContext,
        key: SigningKey,
        set: EpochSet,
        height: Height,
        timeouts: TimeoutConfig,
    ) -> Self {
        let address = ValAddr(PublicKey::of(&key));
        let params = Params {
            initial_height: height,
            initial_validator_set: set.clone(),
            address,
            threshold_params: ThresholdParams::default(),
            value_payload: mc::ValuePayload::ProposalOnly,
        };
        ConsensusCore {
            // Buffer messages of up to 2 heights ahead (docs/consensus.md §2).
            state: State::new(ctx.clone(), params, 2),
            io: Io {
                signer: ctx.signing_provider(key),
                ctx,
                set,
                timeouts,
                actions: Vec::new(),
                decided: None,
                verified: false,
            },
            dropped: Dropped::default(),
            buffered: BTreeMap::new(),
            buffer_limits: (MAX_BUFFERED_PER_SIGNER, MAX_BUFFERED_PER_HEIGHT),
            rearm_rebroadcast: true,
        }
    }

    /// Other caps on verified messages buffered for a height not started than
    /// [`MAX_BUFFERED_PER_SIGNER`] and [`MAX_BUFFERED_PER_HEIGHT`].
    pub fn with_buffer_limits(mut self, per_signer: u32, per_height: u32) -> Self {
        self.buffer_limits = (per_signer, per_height);
        self
    }

    /// Leaves a cancelled rebroadcast timer cancelled, as malachite 0.5 does (the liveness hole
    /// of docs/consensus.md §12); for before/after measurements only.
    #[cfg(test)]
    pub(crate) fn without_rebroadcast_rearm(mut self) -> Self {
        self.rearm_rebroadcast = false;
        self
    }

    /// Messages the acceptance filter refused so far, by reason.
    pub fn dropped(&self) -> &Dropped {
        &self.dropped
    }

    /// What to re-send while the round makes no progress (docs/consensus.md §12, §13), as
    /// [`Action::PublishLiveness`] would: our prevote and precommit of the current round, if
    /// signed, the round certificate that brought us into it, and the polka certificate of our
    /// lock if it is of an earlier round. The same messages
    /// malachite's rebroadcast timeout republishes, but the caller sends them on its own period,
    /// so a lost vote does not wait for the rebroadcast timer (nor depend on it being armed).
    pub fn retransmission(&self) -> Vec<LivenessMsg<TrustchainContext>> {
        let (height, round) = (self.state.height(), self.state.round());
        let mut out: Vec<LivenessMsg<TrustchainContext>> = [
            &self.state.last_signed_prevote,
            &self.state.last_signed_precommit,
        ]
        .into_iter()
        .flatten()
        .filter(|v| v.height == height && v.round == round)
        .map(|v| LivenessMsg::Vote(v.clone()))
        .collect();
        if let Some(cert) = self.state.round_certificate()
            && cert.enter_round == round
            && cert.certificate.height == height
        {
            out.push(LivenessMsg::SkipRoundCertificate(cert.certificate.clone()));
        }
        // A lock of an earlier round: its polka certificate, so that the others can propose the
        // locked block (see [`Self::propose`]). Malachite publishes it on locking only from
        // round `HIDDEN_LOCK_ROUND` (10) on, and otherwise only with a re-proposal.
        if let Some(locked) = &self.state.driver.round_state().locked
            && locked.round < round
            && let Some(cert) = self.state.polka_certificate_at_round(locked.round)
            && cert.value_id == locked.value.id()
        {
            out.push(LivenessMsg::PolkaCertificate(cert));
        }
        out
    }

    /// This node's address.
    pub fn address(&self) -> ValAddr {
        *self.state.address()
    }
    /// The height in progress (the initial one before the first [`Self::start_height`]).
    pub fn height(&self) -> Height {
        self.state.height()
    }
    /// The round in progress (`Nil` before the height started).
    pub fn round(&self) -> Round {
        self.state.round()
    }
    /// The validator set of the height in progress.
    pub fn validator_set(&self) -> &EpochSet {
        &self.io.set
    }

    /// Validators caught signing two different votes of one kind in one round of the current
    /// height (malachite keeps the pairs, per height, in its vote keeper: docs/consensus.md §2.5
    /// item 5), and proposers caught proposing twice in one round.
    pub fn equivocators(&self) -> Vec<ValAddr> {
        let votes = self.state.driver.votes().evidence();
        let proposals = self.state.driver.evidence();
        self.io
            .set
            .validators()
            .iter()
            .map(|v| v.address)
            .filter(|a| votes.get(a).is_some() || proposals.get(a).is_some())
            .collect()
    }

    /// Starts `height` with `set` (after the previous height's [`Action::Decided`] was
    /// committed, or to begin). Messages of `height` buffered earlier are replayed.
    pub fn start_height(&mut self, height: Height, set: EpochSet) -> Vec<Action> {
        self.io.set = set.clone();
        self.buffered.retain(|h, _| *h > height.0);
        self.step(Input::StartHeight(height, set))
    }

    /// Answers [`Action::NeedValue`] with the block to propose. If this height already had a
    /// polka for a block whose valid proposal we hold, that block (the highest round's) is
    /// proposed instead of `block` (docs/consensus.md §13, seed 53).
    ///
    /// Malachite asks for a value only when it has no valid value of its own; its valid value
    /// is only set by a polka seen in the round it happened, so a node that learnt of a polka
    /// later (through a certificate or late votes) would propose a fresh block, which every
    /// validator locked on the polka's block refuses. Proposing the polka's block instead (with
    /// no `pol_round`) is accepted by those locked on it as well as by the unlocked. Which
    /// value a proposer picks never matters for safety (the locks do).
    pub fn propose(&mut self, height: Height, round: Round, block: BlockValue) -> Vec<Action> {
        let value = self.polka_value(height).unwrap_or(block);
        self.step(Input::Propose(mcc::LocallyProposedValue::new(
            height, round, value,
        )))
    }

    /// The block of `height`'s highest-round polka certificate whose proposal we hold as valid.
    fn polka_value(&self, height: Height) -> Option<BlockValue> {
        if height != self.state.height() {
            return None;
        }
        let driver = &self.state.driver;
        driver
            .polka_certificates()
            .iter()
            .filter(|c| c.height == height)
            .filter_map(|c| {
                let (p, validity) =
                    driver.proposal_and_validity_for_round_and_value(c.round, c.value_id)?;
                validity.is_valid().then(|| (c.round, p.value.clone()))
            })
            .max_by_key(|(round, _)| *round)
            .map(|(_, value)| value)
    }

    /// A vote or proposal from the network, through the acceptance filter (docs/consensus.md
    /// §4.3; refusals are counted in [`Self::dropped`] and give no actions). The caller validates
    /// a proposal's block first (`ProposalOnly` never asks for validity, §2.3).
    pub fn receive(&mut self, msg: SignedConsensusMsg<TrustchainContext>) -> Vec<Action> {
        match msg {
            SignedConsensusMsg::Vote(v) => {
                let (h, r, who) = (v.height, v.round, v.validator);
                self.admitted(h, r, who, false, Input::Vote(v))
            }
            SignedConsensusMsg::Proposal(p) => {
                if !self.pol_round_justified(&p) {
                    return self.refuse(Refusal::UnjustifiedPolRound);
                }
                let (h, r, who) = (p.height, p.round, p.proposer);
                self.admitted(h, r, who, true, Input::Proposal(p))
            }
        }
    }

    /// Guards malachite 0.5's lock: `core-driver`'s `multiplex_proposal` (`mux.rs`) takes a
    /// proposal with `pol_round = vr` as justified if it holds *any* polka certificate of round
    /// `vr` (it looks certificates up by round, not by value), and the driver stores one for
    /// every polka it sees. A node locked on X by the polka of round vr would then prevote a
    /// byzantine proposer's Y re-proposed with `pol_round = vr` — seen in the simulation (two
    /// honest nodes decided different blocks, docs/consensus.md §13). Refused here: a proposal of
    /// the height in progress whose `pol_round` has a polka certificate, but none for its value.
    /// (With less than a third byzantine there cannot be polkas for two values in one round, so
    /// nothing justified is lost.)
    fn pol_round_justified(&self, p: &mc::SignedProposal<TrustchainContext>) -> bool {
        let vr = p.pol_round;
        if vr == Round::Nil || p.height != self.state.height() {
            return true;
        }
        let id = p.value.id();
        let certs = self.state.driver.polka_certificates();
        !certs.iter().any(|c| c.round == vr)
            || certs.iter().any(|c| c.round == vr && c.value_id == id)
    }

    /// A liveness message from the network: a vote goes through the same filter as in
    /// [`Self::receive`]; polka and round certificates through the height rule only.
    pub fn receive_liveness(&mut self, msg: LivenessMsg<TrustchainContext>) -> Vec<Action> {
        match msg {
            LivenessMsg::Vote(v) => {
                let (h, r, who) = (v.height, v.round, v.validator);
                self.admitted(h, r, who, false, Input::Vote(v))
            }
            LivenessMsg::PolkaCertificate(c) => match self.height_rule(c.height) {
                Ok(()) => self.step(Input::PolkaCertificate(c)),
                Err(why) => self.refuse(why),
            },
            LivenessMsg::SkipRoundCertificate(c) => match self.height_rule(c.height) {
                Ok(()) => self.step(Input::RoundCertificate(c)),
                Err(why) => self.refuse(why),
            },
        }
    }

    /// Height ∈ {current, current + 1}.
    fn height_rule(&self, height: Height) -> Result<(), Refusal> {
        let current = self.state.height().0;
        if height.0 < current {
            Err(Refusal::OldHeight)
        } else if height.0 > current.saturating_add(1) {
            Err(Refusal::FarHeight)
        } else {
            Ok(())
        }
    }

    /// The acceptance rules of docs/consensus.md §4.3 for a vote or proposal of `(height,
    /// round)` signed by `signer`; `Ok(true)` if malachite will buffer it (a height not started).
    fn acceptable(
        &self,
        height: Height,
        round: Round,
        signer: ValAddr,
        proposal: bool,
    ) -> Result<bool, Refusal> {
        self.height_rule(height)?;
        let current_round = self.state.round();
        let buffered = height != self.state.height() || current_round == Round::Nil;
        // Messages buffered for a height not started count their rounds from 0.
        let base = if buffered {
            0
        } else {
            current_round.as_u32().unwrap_or(0)
        };
        match round.as_u32() {
            Some(r) if r <= base.saturating_add(MAX_ROUNDS_AHEAD) => {}
            // Votes and proposals always have a round; a `Nil` one is malformed.
            _ => return Err(Refusal::FarRound),
        }
        // The current set serves the current and the next height (see `Io::handle`).
        let set = &self.io.set;
        if set.get_by_address(&signer).is_none() {
            return Err(Refusal::UnknownSigner);
        }
        if proposal && self.io.ctx.select_proposer(set, height, round).address != signer {
            return Err(Refusal::NotProposer);
        }
        if buffered && let Some(b) = self.buffered.get(&height.0) {
            let (per_signer, per_height) = self.buffer_limits;
            if b.total >= per_height {
                return Err(Refusal::HeightBufferFull);
            }
            if b.per_signer.get(&signer).copied().unwrap_or(0) >= per_signer {
                return Err(Refusal::SignerBufferFull);
            }
        }
        Ok(buffered)
    }

    /// Steps `input` if [`Self::acceptable`], counting what malachite buffered (only messages
    /// whose signature it verified count against the caps, so forgeries cannot fill a signer's
    /// share).
    fn admitted(
        &mut self,
        height: Height,
        round: Round,
        signer: ValAddr,
        proposal: bool,
        input: Input<TrustchainContext>,
    ) -> Vec<Action> {
        match self.acceptable(height, round, signer, proposal) {
            Err(why) => self.refuse(why),
            Ok(buffered) => {
                let actions = self.step(input);
                if buffered && self.io.verified {
                    let b = self.buffered.entry(height.0).or_default();
                    b.total += 1;
                    *b.per_signer.entry(signer).or_default() += 1;
                }
                actions
            }
        }
    }

    /// Counts a refusal; nothing to do.
    fn refuse(&mut self, why: Refusal) -> Vec<Action> {
        let d = &mut self.dropped;
        match why {
            Refusal::OldHeight => d.old_height += 1,
            Refusal::FarHeight => d.far_height += 1,
            Refusal::FarRound => d.far_round += 1,
            Refusal::UnknownSigner => d.unknown_signer += 1,
            Refusal::NotProposer => d.not_proposer += 1,
            Refusal::UnjustifiedPolRound => d.unjustified_pol_round += 1,
            Refusal::SignerBufferFull => d.signer_buffer_full += 1,
            Refusal::HeightBufferFull => d.height_buffer_full += 1,
        }
        Vec::new()
    }

    /// A timer armed by [`Action::ScheduleTimeout`] fired.
    pub fn timeout_elapsed(&mut self, timeout: Timeout) -> Vec<Action> {
        self.step(Input::TimeoutElapsed(timeout))
    }

    /// Replays one entry of the current height's write-ahead log after a restart
    /// (docs/consensus.md §2.2): call [`Self::start_height`] on a fresh core first, then this for
    /// each durable entry of that height, in append order. The caller must not append the
    /// [`Action::WalAppend`]s of a replay again nor send its [`Action::Publish`]es (they are
    /// byte-identical re-signatures of what was sent before the crash), but arms its timers and
    /// answers an [`Action::NeedValue`] only once the replay is over.
    pub fn replay(&mut self, entry: WalEntry<TrustchainContext>) -> Vec<Action> {
        self.step(match entry {
            WalEntry::ConsensusMsg(SignedConsensusMsg::Vote(v)) => Input::Vote(v),
            WalEntry::ConsensusMsg(SignedConsensusMsg::Proposal(p)) => Input::Proposal(p),
            WalEntry::Timeout(t) => Input::TimeoutElapsed(t),
            WalEntry::ProposedValue(v) => Input::ProposedValue(v, mc::ValueOrigin::Consensus),
        })
    }

    /// Runs one input to completion and returns what the caller must do, in order.
    pub fn step(&mut self, input: Input<TrustchainContext>) -> Vec<Action> {
        let ConsensusCore { state, io, .. } = self;
        io.verified = false;
        let height = state.height();
        let res: Result<(), mcc::Error<TrustchainContext>> = mcc::process!(
            input: input,
            state: state,
            metrics: &(),
            with: effect => io.handle(height, effect)
        );
        let mut actions = std::mem::take(&mut io.actions);
        if let Some((at, cert)) = io.decided.take() {
            let decision = self.decision(&cert);
            actions.insert(at, decision);
        }
        if let Err(e) = res {
            actions.push(Action::Failed(e.to_string()));
        }
        if self.rearm_rebroadcast {
            self.rearm(&mut actions);
        }
        actions
    }

    /// Closes the liveness hole of docs/consensus.md §12: malachite 0.5 cancels the rebroadcast
    /// timer of a round certificate's round after applying it (`handle/liveness.rs`), which can
    /// leave a node in that round, undecided, with no timer at all. If this step's last word on
    /// the current round's rebroadcast timer is a cancel and the height is not decided, arm it
    /// again (the timer only republishes our votes; an extra one is harmless).
    fn rearm(&self, actions: &mut Vec<Action>) {
        let round = self.state.round();
        if round == Round::Nil || self.state.decided_value().is_some() {
            return;
        }
        let rebroadcast = Timeout::rebroadcast(round);
        let last = actions.iter().rev().find_map(|a| match a {
            Action::ScheduleTimeout { timeout, .. } if *timeout == rebroadcast => Some(false),
            Action::CancelTimeout(t) if *t == rebroadcast => Some(true),
            Action::CancelAllTimeouts | Action::Decided(_) => Some(false),
            _ => None,
        });
        if last == Some(true) {
            actions.push(Action::ScheduleTimeout {
                timeout: rebroadcast,
                after_ms: self.io.timeouts.duration_ms(rebroadcast),
            });
        }
    }

    /// The [`Action::Decided`] for malachite's certificate `cert`, read right after the step
    /// that decided (the state still holds the decided value).
    fn decision(&self, cert: &mc::CommitCertificate<TrustchainContext>) -> Action {
        let Some((_, value)) = self.state.decided_value() else {
            return Action::Failed("decided without a decided value".into());
        };
        debug_assert_eq!(value.id(), cert.value_id);
        // Core-consensus asserts that our `VerifyCommitCertificate` accepted `cert` before
        // emitting `Decide`; that check refuses unknown and duplicate signers, the only reasons
        // the conversion can fail.
        match to_core_certificate(cert, self.io.set.core()) {
            Ok(certificate) => Action::Decided(Box::new(Decision {
                header: value.header().clone(),
                body: value.body().clone(),
                certificate,
            })),
            Err(e) => Action::Failed(format!("decided certificate has no core form: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_linearly_with_the_round() {
        let c = TimeoutConfig::DEFAULT;
        assert_eq!(c.duration_ms(Timeout::propose(Round::new(0))), 3_000);
        assert_eq!(c.duration_ms(Timeout::prevote(Round::new(2))), 2_000);
        assert_eq!(c.duration_ms(Timeout::precommit(Round::new(1))), 1_500);
        assert_eq!(c.duration_ms(Timeout::rebroadcast(Round::new(0))), 5_000);
        assert_eq!(
            c.duration_ms(Timeout::propose(Round::new(u32::MAX))),
            3_000 + 500 * u32::MAX as u64
        );
    }
}
