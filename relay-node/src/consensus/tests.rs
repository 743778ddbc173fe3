//! Real signatures, no mocks: malachite's certificates must be `core`'s.

use std::collections::VecDeque;

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_consensus as mcc;
use informalsystems_malachitebft_core_types as mc;
use mc::{
    CommitCertificate, Context as _, NilOrVal, Round, SigningProvider, SigningProviderExt,
    ThresholdParams, ValidatorSet as _, Value as _, VoteType,
};
use mcc::{Input, LivenessMsg, LocallyProposedValue, SignedConsensusMsg};
use trustchain_core::chain::block::{self, BlockHeader, CertificateError};
use trustchain_core::chain::validators::{Validator, ValidatorSet};
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::verify::light_client::{LightClient, TrustedCheckpoint};

use super::*;

const CHAIN: &str = "trustchain-test";

fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

/// Keys from seeds 1..=n with the given weights; returned in key order with the set.
fn setup(weights: &[u64]) -> (ValidatorSet, Vec<SigningKey>) {
    let keys: Vec<SigningKey> = (1..=weights.len() as u8).map(key).collect();
    let set = ValidatorSet::new(
        0,
        keys.iter()
            .zip(weights)
            .map(|(k, &weight)| Validator {
                key: PublicKey::of(k),
                weight,
            })
            .collect(),
    )
    .unwrap();
    let mut keys = keys;
    keys.sort_by_key(PublicKey::of);
    (set, keys)
}

fn header(set: &ValidatorSet, height: u64) -> BlockHeader {
    BlockHeader {
        chain_id: CHAIN.into(),
        height,
        epoch: set.epoch,
        prev: Hash([7; 32]),
        time_ms: 1_700_000_000_000,
        anchor_root: Hash([9; 32]),
        moved: 3,
        body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
        validators_hash: set.hash(),
        next_validators_hash: set.hash(),
    }
}

fn weight_of(set: &ValidatorSet, k: &SigningKey) -> u64 {
    set.validators[set.index_of(&PublicKey::of(k)).unwrap() as usize].weight
}

/// A malachite commit certificate by `signers` (precommits signed through the context's provider).
fn malachite_cert(
    ctx: &TrustchainContext,
    h: &BlockHeader,
    round: u32,
    signers: &[&SigningKey],
) -> CommitCertificate<TrustchainContext> {
    let id = BlockValue::new(h.clone()).id();
    let votes = signers
        .iter()
        .map(|k| {
            let vote = ctx.new_precommit(
                Height(h.height),
                Round::new(round),
                NilOrVal::Val(id),
                ValAddr(PublicKey::of(k)),
            );
            ctx.signing_provider((*k).clone()).sign_vote(vote)
        })
        .collect();
    CommitCertificate::new(Height(h.height), Round::new(round), id, votes)
}

#[test]
fn malachite_precommits_are_a_core_certificate() {
    let ctx = TrustchainContext::new(CHAIN);
    let (set, keys) = setup(&[40, 30, 20, 10]);
    let epoch = EpochSet::new(set.clone(), Hash::ZERO).unwrap();
    let h = header(&set, 5);
    // Signers given out of key order: the conversion sorts.
    let signers: Vec<&SigningKey> = keys.iter().rev().collect();
    let mc_cert = malachite_cert(&ctx, &h, 2, &signers);
    assert_eq!(mc_cert.commit_signatures.len(), 4);
    // Malachite's own check (what core-consensus asks on Decide) accepts it...
    let verifier = ctx.signing_provider(key(99));
    verifier
        .verify_commit_certificate(&ctx, &mc_cert, &epoch, ThresholdParams::default())
        .unwrap();
    // ...and so does core, after conversion.
    let cert = to_core_certificate(&mc_cert, &set).unwrap();
    assert_eq!(
        cert.signatures
            .iter()
            .map(|s| s.validator)
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    cert.verify(&h, &set).unwrap();
    let mut lc = LightClient::new(TrustedCheckpoint {
        chain_id: CHAIN.into(),
        height: 0,
        block: Hash([1; 32]),
        validators: set.clone(),
    });
    lc.verify_header(&h, &cert).unwrap();
    // Byte-identical to what core signs itself (ed25519 is deterministic).
    let refs: Vec<&SigningKey> = keys.iter().collect();
    assert_eq!(cert, block::CommitCertificate::sign(&h, 2, &set, &refs));
}

#[test]
fn a_prevote_is_not_a_commit_vote() {
    let ctx = TrustchainContext::new(CHAIN);
    let (set, keys) = setup(&[40, 30, 20, 10]);
    let h = header(&set, 5);
    let id = BlockValue::new(h.clone()).id();
    let commit_digest = block::Vote {
        height: 5,
        round: 0,
        block: id.0,
    }
    .digest();
    let signer = ctx.signing_provider(keys[0].clone());
    let addr = ValAddr(PublicKey::of(&keys[0]));
    let prevote = ctx.new_prevote(Height(5), Round::new(0), NilOrVal::Val(id), addr);
    let precommit = ctx.new_precommit(Height(5), Round::new(0), NilOrVal::Val(id), addr);
    let nil = ctx.new_precommit(Height(5), Round::new(0), NilOrVal::Nil, addr);
    assert_eq!(signing::vote_digest(CHAIN, &precommit), commit_digest);
    assert_ne!(signing::vote_digest(CHAIN, &prevote), commit_digest);
    assert_ne!(signing::vote_digest(CHAIN, &nil), commit_digest);
    assert_ne!(
        signing::vote_digest(CHAIN, &prevote),
        signing::vote_digest(CHAIN, &nil)
    );
    // The other chain's prevote differs (the chain id is in the bytes).
    assert_ne!(
        signing::vote_digest("other", &prevote),
        signing::vote_digest(CHAIN, &prevote)
    );
    let proposal = ctx.new_proposal(
        Height(5),
        Round::new(0),
        BlockValue::new(h.clone()),
        Round::Nil,
        addr,
    );
    assert_ne!(signing::proposal_digest(CHAIN, &proposal), commit_digest);

    let prevote_sig = signer.sign_vote(prevote.clone()).signature;
    assert!(signer.verify_signed_vote(&prevote, &prevote_sig, &addr.0));
    assert!(!signer.verify_signed_vote(&precommit, &prevote_sig, &addr.0));
    assert!(addr.0.verify(&commit_digest, &prevote_sig.into()).is_err());

    // A certificate of all four precommits, one swapped for its prevote, is refused by core...
    let refs: Vec<&SigningKey> = keys.iter().collect();
    let mut cert = to_core_certificate(&malachite_cert(&ctx, &h, 0, &refs), &set).unwrap();
    let pos = set.index_of(&addr.0).unwrap();
    cert.signatures
        .iter_mut()
        .find(|s| s.validator == pos)
        .unwrap()
        .signature = prevote_sig.into();
    assert!(matches!(
        cert.verify(&h, &set),
        Err(CertificateError::BadSignature { validator, .. }) if validator == pos
    ));
    // ...and a polka (prevotes of everyone) is no certificate at all.
    let polka = keys
        .iter()
        .map(|k| {
            let v = ctx.new_prevote(
                Height(5),
                Round::new(0),
                NilOrVal::Val(id),
                ValAddr(PublicKey::of(k)),
            );
            ctx.signing_provider(k.clone()).sign_vote(v)
        })
        .map(|sv| mc::CommitSignature::new(sv.validator, sv.signature))
        .collect();
    let polka_as_commit = CommitCertificate::<TrustchainContext> {
        height: Height(5),
        round: Round::new(0),
        value_id: id,
        commit_signatures: polka,
    };
    let converted = to_core_certificate(&polka_as_commit, &set).unwrap();
    assert!(matches!(
        converted.verify(&h, &set),
        Err(CertificateError::BadSignature { .. })
    ));
    let epoch = EpochSet::new(set.clone(), Hash::ZERO).unwrap();
    assert!(
        signer
            .verify_commit_certificate(&ctx, &polka_as_commit, &epoch, ThresholdParams::default())
            .is_err()
    );
}

#[test]
fn two_thirds_is_refused_by_core_and_malachite_alike() {
    let ctx = TrustchainContext::new(CHAIN);
    let verifier = ctx.signing_provider(key(99));
    // Total 6: exactly 4 (= 2/3) is not enough, 5 is.
    for (weights, enough) in [(&[2u64, 2, 1, 1][..], 5), (&[40, 30, 20, 10][..], 70)] {
        let (set, keys) = setup(weights);
        let epoch = EpochSet::new(set.clone(), Hash::ZERO).unwrap();
        let h = header(&set, 9);
        let total: u64 = weights.iter().sum();
        // Every subset of signers.
        for mask in 1u32..16 {
            let signers: Vec<&SigningKey> = (0..4)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| &keys[i])
                .collect();
            let signed: u64 = signers.iter().map(|k| weight_of(&set, k)).sum();
            let mc_cert = malachite_cert(&ctx, &h, 1, &signers);
            let core_ok = to_core_certificate(&mc_cert, &set)
                .unwrap()
                .verify(&h, &set);
            let mc_ok = verifier.verify_commit_certificate(
                &ctx,
                &mc_cert,
                &epoch,
                ThresholdParams::default(),
            );
            assert_eq!(
                core_ok.is_ok(),
                signed * 3 > total * 2,
                "{weights:?} {mask:b}"
            );
            assert_eq!(core_ok.is_ok(), mc_ok.is_ok(), "{weights:?} {mask:b}");
            if signed * 3 <= total * 2 {
                assert!(matches!(
                    core_ok,
                    Err(CertificateError::InsufficientWeight { .. })
                ));
            }
            if signed == enough {
                assert!(core_ok.is_ok());
            }
        }
    }
}

#[test]
fn conversion_refuses_strangers_and_duplicates() {
    let ctx = TrustchainContext::new(CHAIN);
    let (set, keys) = setup(&[40, 30, 20, 10]);
    let h = header(&set, 5);
    let stranger = key(50);
    let c = malachite_cert(&ctx, &h, 0, &[&keys[0], &stranger]);
    assert_eq!(
        to_core_certificate(&c, &set),
        Err(ConvertError::UnknownSigner(ValAddr(PublicKey::of(
            &stranger
        ))))
    );
    let mut c = malachite_cert(&ctx, &h, 0, &[&keys[0], &keys[1]]);
    c.commit_signatures.push(c.commit_signatures[0].clone());
    assert!(matches!(
        to_core_certificate(&c, &set),
        Err(ConvertError::DuplicateSigner(_))
    ));
}

#[test]
fn proposer_is_weighted_and_deterministic() {
    let (set, _) = setup(&[40, 30, 20, 10]);
    let epoch = EpochSet::new(set.clone(), Hash::ZERO).unwrap();
    let mut counts = [0u32; 4];
    for h in 1..=2000 {
        let p = epoch.proposer(Height(h), Round::new(0));
        assert_eq!(p, epoch.proposer(Height(h), Round::new(0)));
        counts[set.index_of(&p.key).unwrap() as usize] += 1;
    }
    // Expected 800/600/400/200 by weight (in key order the weights are permuted; compare sorted).
    let mut by_weight: Vec<(u64, u32)> = set
        .validators
        .iter()
        .zip(counts)
        .map(|(v, c)| (v.weight, c))
        .collect();
    by_weight.sort();
    for (w, c) in &by_weight {
        let expected = 2000 * *w as i64 / 100;
        assert!(
            (*c as i64 - expected).abs() < expected / 4 + 20,
            "{by_weight:?}"
        );
    }
    // Another seed gives another order.
    let other = EpochSet::new(set, Hash([1; 32])).unwrap();
    assert!((1..50).any(|h| other.proposer(Height(h), Round::new(0)).key
        != epoch.proposer(Height(h), Round::new(0)).key));
}

#[test]
fn epoch_set_refuses_weights_malachite_would_overflow() {
    let (a, b) = (key(1), key(2));
    let set = ValidatorSet::new(
        0,
        vec![
            Validator {
                key: PublicKey::of(&a),
                weight: u64::MAX / 4,
            },
            Validator {
                key: PublicKey::of(&b),
                weight: u64::MAX / 4,
            },
        ],
    )
    .unwrap();
    assert!(matches!(
        EpochSet::new(set, Hash::ZERO),
        Err(EpochSetError::TooHeavy(_))
    ));
}

// ------------------------------------------------------------ one height of core-consensus

/// Runs height 1 with 4 validators of weights 40/30/20/10 to a decision at every node, each a
/// [`ConsensusCore`], with FIFO delivery and timers ignored (round 0 decides without them);
/// returns each node's decision and the number of delivered inputs.
fn run_one_height() -> (Vec<Decision>, usize) {
    let ctx = TrustchainContext::new(CHAIN);
    let (set, keys) = setup(&[40, 30, 20, 10]);
    let epoch = EpochSet::new(set.clone(), Hash::ZERO).unwrap();
    let height = Height(1);
    let proposer = epoch.proposer(height, Round::new(0)).address;
    // What the proposer builds (`ChainApp::build` later): a header for height 1.
    let block = header(&set, 1);

    let mut nodes: Vec<ConsensusCore> = keys
        .iter()
        .map(|k| {
            ConsensusCore::new(
                ctx.clone(),
                k.clone(),
                epoch.clone(),
                height,
                TimeoutConfig::DEFAULT,
            )
        })
        .collect();
    let mut decided: Vec<Option<Decision>> = vec![None; 4];
    let mut wal = [0; 4];

    // Deliveries in FIFO order: (to, input). No clock, no randomness.
    let mut queue: VecDeque<(usize, Input<TrustchainContext>)> = (0..nodes.len())
        .map(|i| (i, Input::StartHeight(height, epoch.clone())))
        .collect();
    let mut steps = 0;
    while let Some((to, input)) = queue.pop_front() {
        steps += 1;
        assert!(steps < 10_000, "no decision");
        for action in nodes[to].step(input) {
            match action {
                Action::NeedValue { height, round, .. } => {
                    assert_eq!(nodes[to].address(), proposer, "only the proposer is asked");
                    queue.push_back((
                        to,
                        Input::Propose(LocallyProposedValue::new(
                            height,
                            round,
                            BlockValue::new(block.clone()),
                        )),
                    ));
                }
                Action::Publish(msg) => {
                    for other in (0..4).filter(|&o| o != to) {
                        let input = match &msg {
                            SignedConsensusMsg::Vote(v) => Input::Vote(v.clone()),
                            SignedConsensusMsg::Proposal(p) => Input::Proposal(p.clone()),
                        };
                        queue.push_back((other, input));
                    }
                }
                Action::Decided(d) => {
                    assert!(decided[to].replace(*d).is_none(), "decided twice");
                }
                Action::WalAppend(_) => wal[to] += 1,
                Action::Failed(e) => panic!("node {to}: {e}"),
                _ => {}
            }
        }
    }

    let id = BlockValue::new(block.clone()).id();
    let mut decisions = Vec::new();
    for (node, decision) in decided.into_iter().enumerate() {
        let d = decision.expect("every node decides");
        assert_eq!(d.header, block);
        assert_eq!((d.certificate.height, d.certificate.round), (1, 0));
        assert_eq!(d.certificate.block, id.0);
        assert!(wal[node] > 0, "votes and proposals go through the WAL");
        // The decided certificate is a core certificate.
        d.certificate.verify(&block, &set).unwrap();
        // Malachite decides as soon as the precommits it holds pass 2/3 of the weight, so the
        // certificate may carry fewer signatures than validators (here at least 40 + 30).
        assert!(d.certificate.signatures.len() >= 2);
        decisions.push(d);
    }
    assert_eq!(epoch.count(), 4);
    (decisions, steps)
}

#[test]
fn four_weighted_validators_decide_one_height_in_process() {
    let (decisions, steps) = run_one_height();
    assert_eq!(decisions.len(), 4);
    // Deterministic: the same inputs give byte-identical decisions (the simulation's premise).
    assert_eq!(run_one_height(), (decisions, steps));
}

// ------------------------------------------------------------ acceptance rules (§4.3)

/// A validator of 4 equal ones that is not the proposer of (5, 0) nor of (5, 1), and the others'
/// keys.
struct Filter {
    ctx: TrustchainContext,
    set: ValidatorSet,
    epoch: EpochSet,
    keys: Vec<SigningKey>,
    me: usize,
}

impl Filter {
    fn new() -> Self {
        let ctx = TrustchainContext::new(CHAIN);
        let (set, keys) = setup(&[1, 1, 1, 1]);
        let epoch = EpochSet::new(set.clone(), Hash::ZERO).unwrap();
        let p0 = epoch.proposer(Height(5), Round::new(0)).address;
        let p1 = epoch.proposer(Height(5), Round::new(1)).address;
        let me = (0..4)
            .find(|&i| ![p0, p1].contains(&ValAddr(PublicKey::of(&keys[i]))))
            .unwrap();
        Filter {
            ctx,
            set,
            epoch,
            keys,
            me,
        }
    }
    /// Our core at height 5, not started.
    fn core(&self) -> ConsensusCore {
        ConsensusCore::new(
            self.ctx.clone(),
            self.keys[self.me].clone(),
            self.epoch.clone(),
            Height(5),
            TimeoutConfig::DEFAULT,
        )
    }
    /// Our core with height 5 started.
    fn started(&self) -> ConsensusCore {
        let mut core = self.core();
        core.start_height(Height(5), self.epoch.clone());
        core
    }
    /// A validator other than us and than the proposer of (5, 0).
    fn other(&self) -> &SigningKey {
        let proposer = self.proposer(5, 0);
        self.keys
            .iter()
            .enumerate()
            .find(|(i, k)| *i != self.me && PublicKey::of(k) != PublicKey::of(proposer))
            .unwrap()
            .1
    }
    fn proposer(&self, height: u64, round: u32) -> &SigningKey {
        let p = self
            .epoch
            .proposer(Height(height), Round::new(round))
            .address;
        self.keys
            .iter()
            .find(|k| ValAddr(PublicKey::of(k)) == p)
            .unwrap()
    }
    fn block(&self, height: u64) -> BlockValue {
        BlockValue::new(header(&self.set, height))
    }
    fn vote(
        &self,
        by: &SigningKey,
        height: u64,
        round: u32,
        kind: VoteType,
        value: NilOrVal<BlockId>,
    ) -> SignedConsensusMsg<TrustchainContext> {
        let (h, r, a) = (
            Height(height),
            Round::new(round),
            ValAddr(PublicKey::of(by)),
        );
        let v = match kind {
            VoteType::Prevote => self.ctx.new_prevote(h, r, value, a),
            VoteType::Precommit => self.ctx.new_precommit(h, r, value, a),
        };
        SignedConsensusMsg::Vote(self.ctx.signing_provider(by.clone()).sign_vote(v))
    }
    fn prevote(
        &self,
        by: &SigningKey,
        height: u64,
        round: u32,
    ) -> SignedConsensusMsg<TrustchainContext> {
        let id = self.block(height).id();
        self.vote(by, height, round, VoteType::Prevote, NilOrVal::Val(id))
    }
    fn proposal(
        &self,
        by: &SigningKey,
        height: u64,
        round: u32,
    ) -> SignedConsensusMsg<TrustchainContext> {
        self.reproposal(by, height, round, self.block(height), Round::Nil)
    }
    fn reproposal(
        &self,
        by: &SigningKey,
        height: u64,
        round: u32,
        value: BlockValue,
        pol_round: Round,
    ) -> SignedConsensusMsg<TrustchainContext> {
        let p = self.ctx.new_proposal(
            Height(height),
            Round::new(round),
            value,
            pol_round,
            ValAddr(PublicKey::of(by)),
        );
        SignedConsensusMsg::Proposal(self.ctx.signing_provider(by.clone()).sign_proposal(p))
    }
}

fn appended(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::WalAppend(_)))
        .count()
}

#[test]
fn votes_of_other_heights_than_current_and_next_are_dropped() {
    let f = Filter::new();
    let mut core = f.started();
    let by = f.other();
    assert!(core.receive(f.prevote(by, 4, 0)).is_empty());
    assert!(core.receive(f.prevote(by, 7, 0)).is_empty());
    // The same through the liveness topic.
    let SignedConsensusMsg::Vote(old) = f.prevote(by, 3, 0) else {
        unreachable!()
    };
    assert!(core.receive_liveness(LivenessMsg::Vote(old)).is_empty());
    assert_eq!(
        (core.dropped().old_height, core.dropped().far_height),
        (2, 1)
    );
    // Current and next height pass (the next one is buffered: verified, nothing appended yet).
    assert_eq!(appended(&core.receive(f.prevote(by, 5, 0))), 1);
    core.receive(f.prevote(by, 6, 0));
    assert_eq!(core.dropped().total(), 3);
}

#[test]
fn votes_too_many_rounds_ahead_are_dropped() {
    let f = Filter::new();
    let mut core = f.started();
    let by = f.other();
    assert!(
        core.receive(f.prevote(by, 5, MAX_ROUNDS_AHEAD + 1))
            .is_empty()
    );
    // The next height's rounds count from 0.
    assert!(
        core.receive(f.prevote(by, 6, MAX_ROUNDS_AHEAD + 1))
            .is_empty()
    );
    assert_eq!(core.dropped().far_round, 2);
    assert_eq!(
        appended(&core.receive(f.prevote(by, 5, MAX_ROUNDS_AHEAD))),
        1
    );
    core.receive(f.prevote(by, 6, MAX_ROUNDS_AHEAD));
    assert_eq!(core.dropped().total(), 2);
}

#[test]
fn votes_of_strangers_are_dropped() {
    let f = Filter::new();
    let mut core = f.started();
    let stranger = key(50);
    assert!(core.receive(f.prevote(&stranger, 5, 0)).is_empty());
    assert!(core.receive(f.proposal(&stranger, 5, 0)).is_empty());
    assert_eq!(core.dropped().unknown_signer, 2);
    assert_eq!(appended(&core.receive(f.prevote(f.other(), 5, 0))), 1);
    assert_eq!(core.dropped().total(), 2);
}

#[test]
fn proposals_not_from_the_rounds_proposer_are_dropped() {
    let f = Filter::new();
    let mut core = f.started();
    assert!(core.receive(f.proposal(f.other(), 5, 0)).is_empty());
    assert_eq!(core.dropped().not_proposer, 1);
    // The proposer's is taken: stored in the WAL, and we prevote for it.
    let actions = core.receive(f.proposal(f.proposer(5, 0), 5, 0));
    assert!(appended(&actions) >= 1);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Publish(SignedConsensusMsg::Vote(v))
        if v.kind == VoteType::Prevote && v.value == NilOrVal::Val(f.block(5).id())))
    );
    assert_eq!(core.dropped().total(), 1);
    // What a caller re-sends while stuck: that prevote.
    let again = core.retransmission();
    assert!(matches!(&again[..], [LivenessMsg::Vote(v)]
        if v.kind == VoteType::Prevote && v.round == Round::new(0)));
}

#[test]
fn buffered_messages_are_capped_per_signer_and_per_height() {
    let f = Filter::new();
    // Not started: messages of heights 5 and 6 are buffered. 3 per signer, 5 per height.
    let mut core = f.core().with_buffer_limits(3, 5);
    let signers: Vec<&SigningKey> = f
        .keys
        .iter()
        .filter(|k| PublicKey::of(k) != PublicKey::of(&f.keys[f.me]))
        .collect();
    let a = signers[0];
    // Forgeries (a's name, another key's signature) are verified and refused by malachite,
    // and do not count against a's share.
    for round in 0..4 {
        let SignedConsensusMsg::Vote(mut forged) = f.prevote(signers[1], 5, round) else {
            unreachable!()
        };
        forged.message.validator = ValAddr(PublicKey::of(a));
        core.receive(SignedConsensusMsg::Vote(forged));
    }
    assert_eq!(core.dropped().total(), 0);
    for round in 0..4 {
        core.receive(f.prevote(a, 5, round));
    }
    assert_eq!(core.dropped().signer_buffer_full, 1);
    // Another signer fills the height (3 + 2 = 5), a third is refused for the height.
    core.receive(f.prevote(signers[1], 5, 0));
    core.receive(f.prevote(signers[1], 5, 1));
    core.receive(f.prevote(signers[2], 5, 0));
    assert_eq!(core.dropped().height_buffer_full, 1);
    // Height 6 has its own budget.
    core.receive(f.prevote(signers[2], 6, 0));
    assert_eq!(core.dropped().total(), 2);
    // Starting height 5 replays the 5 buffered votes into the state machine (and the WAL).
    let actions = core.start_height(Height(5), f.epoch.clone());
    assert_eq!(appended(&actions), 5);
}

/// Our core locked on the block of (5, 0) (it saw the proposal and a polka, and precommitted it),
/// then moved to round 1 by nil precommits and its precommit timeout.
fn locked_in_round_1(f: &Filter) -> ConsensusCore {
    let mut core = f.started();
    core.receive(f.proposal(f.proposer(5, 0), 5, 0));
    let others: Vec<&SigningKey> = (0..4).filter(|&i| i != f.me).map(|i| &f.keys[i]).collect();
    let mut precommitted = false;
    for by in &others[..2] {
        for a in core.receive(f.prevote(by, 5, 0)) {
            precommitted |= matches!(a, Action::Publish(SignedConsensusMsg::Vote(v))
                if v.kind == VoteType::Precommit && v.value == NilOrVal::Val(f.block(5).id()));
        }
    }
    assert!(precommitted, "locked on the round-0 block");
    for by in &others[..2] {
        core.receive(f.vote(by, 5, 0, VoteType::Precommit, NilOrVal::Nil));
    }
    core.timeout_elapsed(mc::Timeout::precommit(Round::new(0)));
    assert_eq!(core.round(), Round::new(1));
    core
}

#[test]
fn a_reproposal_justified_only_by_another_values_polka_is_dropped() {
    let f = Filter::new();
    let mut other = header(&f.set, 5);
    other.time_ms += 1;
    let other = BlockValue::new(other);
    let prevotes = |actions: &[Action], id: BlockId| {
        actions.iter().any(|a| {
            matches!(a, Action::Publish(SignedConsensusMsg::Vote(v))
            if v.kind == VoteType::Prevote && v.value == NilOrVal::Val(id))
        })
    };
    let bad = f.reproposal(f.proposer(5, 1), 5, 1, other.clone(), Round::new(0));
    // Unfiltered, malachite 0.5 takes the polka of round 0 (for the locked block) as
    // justifying another block and prevotes it: the lock is gone.
    let mut unfiltered = locked_in_round_1(&f);
    let SignedConsensusMsg::Proposal(p) = bad.clone() else {
        unreachable!()
    };
    assert!(prevotes(&unfiltered.step(Input::Proposal(p)), other.id()));
    // Through the filter it is refused and counted.
    let mut core = locked_in_round_1(&f);
    assert!(core.receive(bad).is_empty());
    assert_eq!(core.dropped().unjustified_pol_round, 1);
    // The locked block re-proposed with the same polka round passes, and we prevote it.
    let good = f.reproposal(f.proposer(5, 1), 5, 1, f.block(5), Round::new(0));
    assert!(prevotes(&core.receive(good), f.block(5).id()));
    assert_eq!(core.dropped().total(), 1);
}

/// docs/consensus.md §13, seed 53: a lock of an earlier round hidden from the others. The locked
/// core re-sends the lock's polka certificate; a core that learnt of the polka only after its
/// round (so malachite left its valid value unset), once proposer, proposes the polka's block,
/// which the locked validators accept, instead of a fresh one, which they would refuse.
#[test]
fn a_polka_learnt_late_is_reproposed_and_a_lock_resends_its_certificate() {
    let f = Filter::new();
    let locked = locked_in_round_1(&f);
    let cert = locked
        .retransmission()
        .into_iter()
        .find_map(|m| match m {
            LivenessMsg::PolkaCertificate(c) => Some(c),
            _ => None,
        })
        .expect("the lock's polka certificate is re-sent");
    assert_eq!(
        (cert.round, cert.value_id),
        (Round::new(0), f.block(5).id())
    );
    assert!(f.started().retransmission().is_empty());

    let me = ValAddr(PublicKey::of(&f.keys[f.me]));
    let others: Vec<&SigningKey> = (0..4).filter(|&i| i != f.me).map(|i| &f.keys[i]).collect();
    let mut fresh = header(&f.set, 5);
    fresh.time_ms += 1;
    let proposed = |with_cert: bool| {
        let mut core = f.started();
        core.receive(f.proposal(f.proposer(5, 0), 5, 0));
        let mut round = 0;
        // Nil rounds until we propose; the polka certificate arrives in round 1.
        while f.epoch.proposer(Height(5), Round::new(round)).address != me {
            core.timeout_elapsed(mc::Timeout::propose(Round::new(round)));
            for kind in [VoteType::Prevote, VoteType::Precommit] {
                for by in &others[..2] {
                    core.receive(f.vote(by, 5, round, kind, NilOrVal::Nil));
                }
                if kind == VoteType::Prevote {
                    core.timeout_elapsed(mc::Timeout::prevote(Round::new(round)));
                }
            }
            core.timeout_elapsed(mc::Timeout::precommit(Round::new(round)));
            round += 1;
            assert_eq!(core.round(), Round::new(round));
            if round == 1 && with_cert {
                core.receive_liveness(LivenessMsg::PolkaCertificate(cert.clone()));
            }
        }
        core.propose(Height(5), Round::new(round), BlockValue::new(fresh.clone()))
            .into_iter()
            .find_map(|a| match a {
                Action::Publish(SignedConsensusMsg::Proposal(p)) => Some(p.value.id()),
                _ => None,
            })
            .expect("a proposal")
    };
    assert_eq!(proposed(false), BlockId(fresh.hash()));
    assert_eq!(proposed(true), f.block(5).id());
}
