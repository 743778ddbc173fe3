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

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_consensus as mcc;
use informalsystems_malachitebft_core_types as mc;
use mc::{
    Round, SigningProvider, SigningProviderExt, ThresholdParams, Timeout, TimeoutKind, Value as _,
};
use mcc::{Effect, Input, LivenessMsg, Params, Resumable, SignedConsensusMsg, State, WalEntry};
use trustchain_core::chain::{BlockHeader, CommitCertificate};
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
    /// The precommits this node held when it decided (more than 2/3 of the weight; not
    /// necessarily every validator's).
    pub certificate: CommitCertificate,
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
    Decided(Decision),
    /// Malachite refused the input with an error (logged; the state machine is unchanged past
    /// the point of the error). Never expected from honest, validated inputs.
    Failed(String),
}

/// The effect handler: everything but the state machine, which `process!` borrows meanwhile.
struct Io {
    ctx: TrustchainContext,
    signer: TrustchainSigner,
    /// The validator set of the current height (and, until epochs change sets, of the next).
    set: EpochSet,
    timeouts: TimeoutConfig,
    actions: Vec<Action>,
    /// Where in `actions` the decision goes, and malachite's certificate for it.
    decided: Option<(usize, mc::CommitCertificate<TrustchainContext>)>,
}

type Res = mcc::Resume<TrustchainContext>;

impl Io {
    /// Answers one effect. Never fails: an error would make malachite continue as if `()` had
    /// been returned, whatever the effect asked for.
    fn handle(&mut self, height: Height, effect: Effect<TrustchainContext>) -> Result<Res, String> {
        Ok(match effect {
            // Durations are stateless (`TimeoutConfig`): nothing to reset.
            Effect::ResetTimeouts(r) => r.resume_with(()),
            Effect::CancelAllTimeouts(r) => {
                self.actions.push(Action::CancelAllTimeouts);
                r.resume_with(())
            }
            Effect::CancelTimeout(t, r) => {
                self.actions.push(Action::CancelTimeout(t));
                r.resume_with(())
            }
            Effect::ScheduleTimeout(t, r) => {
                self.actions.push(Action::ScheduleTimeout {
                    timeout: t,
                    after_ms: self.timeouts.duration_ms(t),
                });
                r.resume_with(())
            }
            Effect::GetValidatorSet(h, r) => {
                // Asked only for heights other than the current one (buffered messages). Until
                // epochs rotate sets, the next height's set is this one; farther heights are
                // unknown, and their messages are dropped.
                let known = h.0 == height.0 || h.0 == height.0.saturating_add(1);
                r.resume_with(known.then(|| self.set.clone()))
            }
            Effect::StartRound(height, round, proposer, role, r) => {
                self.actions.push(Action::RoundStarted {
                    height,
                    round,
                    proposer,
                    role,
                });
                r.resume_with(())
            }
            Effect::PublishConsensusMsg(msg, r) => {
                self.actions.push(Action::Publish(msg));
                r.resume_with(())
            }
            Effect::PublishLivenessMsg(msg, r) => {
                self.actions.push(Action::PublishLiveness(msg));
                r.resume_with(())
            }
            Effect::RepublishVote(vote, r) => {
                self.actions
                    .push(Action::PublishLiveness(LivenessMsg::Vote(vote)));
                r.resume_with(())
            }
            Effect::RepublishRoundCertificate(cert, r) => {
                self.actions
                    .push(Action::PublishLiveness(LivenessMsg::SkipRoundCertificate(
                        cert,
                    )));
                r.resume_with(())
            }
            Effect::GetValue(height, round, timeout, r) => {
                self.actions.push(Action::NeedValue {
                    height,
                    round,
                    within_ms: self.timeouts.duration_ms(timeout),
                });
                r.resume_with(())
            }
            // `ProposalOnly`: the proposal carries the value, there are no parts to re-send.
            // Malachite's own sync path is not used (docs/consensus.md §4.5).
            Effect::RestreamProposal(_, _, _, _, _, r) | Effect::SyncValue(_, r) => {
                r.resume_with(())
            }
            Effect::Decide(cert, _extensions, r) => {
                self.decided = Some((self.actions.len(), cert));
                r.resume_with(())
            }
            Effect::SignVote(v, r) => r.resume_with(self.signer.sign_vote(v)),
            Effect::SignProposal(p, r) => r.resume_with(self.signer.sign_proposal(p)),
            Effect::VerifySignature(msg, pk, r) => {
                let ok = match &msg.message {
                    mcc::ConsensusMsg::Vote(v) => {
                        self.signer.verify_signed_vote(v, &msg.signature, &pk)
                    }
                    mcc::ConsensusMsg::Proposal(p) => {
                        self.signer.verify_signed_proposal(p, &msg.signature, &pk)
                    }
                };
                r.resume_with(ok)
            }
            Effect::VerifyCommitCertificate(c, set, t, r) => r.resume_with(
                self.signer
                    .verify_commit_certificate(&self.ctx, &c, &set, t),
            ),
            Effect::VerifyPolkaCertificate(c, set, t, r) => {
                r.resume_with(self.signer.verify_polka_certificate(&self.ctx, &c, &set, t))
            }
            Effect::VerifyRoundCertificate(c, set, t, r) => {
                r.resume_with(self.signer.verify_round_certificate(&self.ctx, &c, &set, t))
            }
            Effect::WalAppend(entry, r) => {
                self.actions.push(Action::WalAppend(entry));
                r.resume_with(())
            }
            // No vote extensions: the signed bytes of a precommit must stay the commit digest.
            Effect::ExtendVote(_, _, _, r) => r.resume_with(None),
            Effect::VerifyVoteExtension(_, _, _, _, _, r) => r.resume_with(Ok(())),
        })
    }
}

/// One validator's consensus: malachite's [`State`] plus the signer and timeout configuration
/// that answer its effects. See the module documentation.
pub struct ConsensusCore {
    state: State<TrustchainContext>,
    io: Io,
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
            },
        }
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
        self.step(Input::StartHeight(height, set))
    }

    /// Answers [`Action::NeedValue`] with the block to propose.
    pub fn propose(&mut self, height: Height, round: Round, header: BlockHeader) -> Vec<Action> {
        self.step(Input::Propose(mcc::LocallyProposedValue::new(
            height,
            round,
            BlockValue::new(header),
        )))
    }

    /// A vote or proposal from the network. The caller validates a proposal's block first
    /// (`ProposalOnly` never asks for validity, docs/consensus.md §2.3).
    pub fn receive(&mut self, msg: SignedConsensusMsg<TrustchainContext>) -> Vec<Action> {
        self.step(match msg {
            SignedConsensusMsg::Vote(v) => Input::Vote(v),
            SignedConsensusMsg::Proposal(p) => Input::Proposal(p),
        })
    }

    /// A liveness message from the network.
    pub fn receive_liveness(&mut self, msg: LivenessMsg<TrustchainContext>) -> Vec<Action> {
        self.step(match msg {
            LivenessMsg::Vote(v) => Input::Vote(v),
            LivenessMsg::PolkaCertificate(c) => Input::PolkaCertificate(c),
            LivenessMsg::SkipRoundCertificate(c) => Input::RoundCertificate(c),
        })
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
        let ConsensusCore { state, io } = self;
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
        actions
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
            Ok(certificate) => Action::Decided(Decision {
                header: value.header().clone(),
                certificate,
            }),
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
