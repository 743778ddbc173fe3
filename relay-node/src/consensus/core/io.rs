//! The effect handler of [`super::ConsensusCore`]: signing, verifying, timeouts and the
//! actions handed to the caller, everything but malachite's state machine.

use super::*;

/// The effect handler: everything but the state machine, which `process!` borrows meanwhile.
pub(super) struct Io {
    pub(super) ctx: TrustchainContext,
    pub(super) signer: TrustchainSigner,
    /// The validator set of the current height (and, until epochs change sets, of the next).
    pub(super) set: EpochSet,
    pub(super) timeouts: TimeoutConfig,
    pub(super) actions: Vec<Action>,
    /// Where in `actions` the decision goes, and malachite's certificate for it.
    pub(super) decided: Option<(usize, mc::CommitCertificate<TrustchainContext>)>,
    /// Whether a message signature was checked valid during the current step.
    pub(super) verified: bool,
}

pub(super) type Res = mcc::Resume<TrustchainContext>;

impl Io {
    /// Answers one effect. Never fails: an error would make malachite continue as if `()` had
    /// been returned, whatever the effect asked for.
    pub(super) fn handle(
        &mut self,
        height: Height,
        effect: Effect<TrustchainContext>,
    ) -> Result<Res, String> {
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
                self.verified |= ok;
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
