//! Real signatures, no mocks: malachite's certificates must be `core`'s.

use std::collections::VecDeque;

use ed25519_dalek::SigningKey;
use informalsystems_malachitebft_core_consensus as mcc;
use informalsystems_malachitebft_core_types as mc;
use mc::{
    CommitCertificate, Context as _, NilOrVal, Round, SigningProvider, SigningProviderExt,
    ThresholdParams, ValidatorSet as _, Value as _,
};
use mcc::{Input, LocallyProposedValue, SignedConsensusMsg};
use trustchain_core::chain::{self, BlockHeader, CertificateError, Validator, ValidatorSet};
use trustchain_core::crypto::PublicKey;
use trustchain_core::hash::Hash;
use trustchain_core::light_client::{LightClient, TrustedCheckpoint};

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
    assert_eq!(cert, chain::CommitCertificate::sign(&h, 2, &set, &refs));
}

#[test]
fn a_prevote_is_not_a_commit_vote() {
    let ctx = TrustchainContext::new(CHAIN);
    let (set, keys) = setup(&[40, 30, 20, 10]);
    let h = header(&set, 5);
    let id = BlockValue::new(h.clone()).id();
    let commit_digest = chain::Vote {
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
                    assert!(decided[to].replace(d).is_none(), "decided twice");
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
