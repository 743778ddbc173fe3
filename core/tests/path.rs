//! The whole verified-record path, built with the public API only: charter and contracts in a
//! scenario log, a replica-signed checkpoint, the anchor map, a certified main block, the
//! `RecordProof` verifier, receipts, and the light client.

mod common;

use common::*;
use trustchain_core::chain::block::{CertificateError, CommitCertificate, EpochChange};
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::{Domain, Hash};
use trustchain_core::encoding::value::Value;
use trustchain_core::encoding::{Decode, DecodeError, Encode};
use trustchain_core::merkle::anchor::{AnchorMap, AnchorProof, AnchorProofError, PathEnd};
use trustchain_core::merkle::log::{self, InclusionProof, LogProofError, MemoryLog};
use trustchain_core::scenario::checkpoint::{CheckpointError, SignedCheckpoint};
use trustchain_core::scenario::contract::Body;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::light_client::{
    EquivocationEvidence, LightClient, LightClientError, TrustedCheckpoint,
};
use trustchain_core::verify::proof::{RecordProof, Step, StepStatus, Verdict};
use trustchain_core::verify::receipt;

fn statuses(v: &Verdict) -> Vec<(Step, StepStatus)> {
    v.steps.iter().map(|r| (r.step, r.status)).collect()
}

fn failure(v: &Verdict) -> (Step, String) {
    let f = v.outcome.as_ref().expect_err("verdict must fail");
    (f.step, f.reason.clone())
}

// --- charter and log ---

#[test]
fn charter_is_valid_signed_and_round_trips() {
    let c = charter();
    c.content.validate().unwrap();
    c.verify_signature().unwrap();
    let e = Entry::Charter(c.clone());
    assert_eq!(Entry::from_bytes(&e.to_bytes()).unwrap(), e);
    // A different signer is refused.
    let forged = c.content.clone().sign(&key(WRITER));
    assert!(forged.verify_signature().is_err());
    let doc = c.render_interface();
    for needle in [
        "Demo budget",
        "`amount`",
        "`category`",
        "equipment",
        "Digest only",
    ] {
        assert!(doc.contains(needle), "interface lacks {needle}:\n{doc}");
    }
}

#[test]
fn log_holds_charter_first_and_proves_every_entry() {
    let f = Fixture::new();
    assert_eq!(f.log.size(), 7);
    assert!(matches!(f.entries[0], Entry::Charter(_)));
    let root = f.log.root();
    for (i, e) in f.entries.iter().enumerate() {
        e.verify_signature().unwrap();
        assert_eq!(Entry::from_bytes(&e.to_bytes()).unwrap(), *e);
        let p = f.log.prove_inclusion(i as u64, 7).unwrap();
        p.verify(&e.leaf_hash(), &root).unwrap();
        assert_eq!(InclusionProof::from_bytes(&p.to_bytes()).unwrap(), p);
        // The path of one entry does not prove another.
        let other = &f.entries[(i + 1) % 7];
        assert!(matches!(
            p.verify(&other.leaf_hash(), &root),
            Err(LogProofError::RootMismatch { .. })
        ));
    }
    // The log only ever appended: consistency from every earlier size.
    for from in 0..=7 {
        let c = f.log.prove_consistency(from, 7).unwrap();
        c.verify(&f.log.root_at(from), &root).unwrap();
    }
    // A log rebuilt with entries 1 and 2 swapped has another root.
    let mut swapped = MemoryLog::new();
    for i in [0, 2, 1, 3, 4, 5, 6] {
        swapped.append(f.entries[i].leaf_hash());
    }
    assert_ne!(swapped.root(), root);
    assert_eq!(MemoryLog::new().root(), log::empty_root());
}

// --- checkpoint ---

#[test]
fn checkpoint_is_signed_by_replicas() {
    let f = Fixture::new();
    let cp = &f.checkpoint;
    cp.verify_signatures().unwrap();
    assert_eq!(cp.signatures.len(), 2);
    assert!(cp.signatures[0].key < cp.signatures[1].key);
    assert_eq!(cp.checkpoint.main_ref, f.parent.hash());
    assert_eq!(SignedCheckpoint::from_bytes(&cp.to_bytes()).unwrap(), *cp);

    let mut bad = cp.clone();
    bad.checkpoint.time_ms += 1;
    assert!(matches!(
        bad.verify_signatures(),
        Err(CheckpointError::BadSignature(_))
    ));
    let mut unsigned = cp.clone();
    unsigned.signatures.clear();
    assert_eq!(unsigned.verify_signatures(), Err(CheckpointError::Unsigned));
    // Signers out of order are not canonical.
    let mut unsorted = cp.clone();
    unsorted.signatures.swap(0, 1);
    assert!(matches!(
        SignedCheckpoint::from_bytes(&unsorted.to_bytes()),
        Err(DecodeError::NonCanonical(_))
    ));
}

// --- anchor map ---

#[test]
fn anchor_map_membership_and_absence() {
    let f = Fixture::new();
    let root = f.anchors.root();
    assert_eq!(f.anchors.len(), 7);
    // Every scenario is a member with its own value, under the block's anchor root.
    assert_eq!(f.header.anchor_root, root);
    let mut all: Vec<(String, Hash)> = OTHER_SCENARIOS
        .iter()
        .map(|s| (s.to_string(), other_digest(s)))
        .collect();
    all.push((SCENARIO.to_string(), f.checkpoint.checkpoint.digest()));
    for (name, value) in &all {
        let k = sid(name).anchor_key();
        let p = f.anchors.prove(&k);
        assert_eq!(p.end, PathEnd::Member);
        p.verify_member(&k, value, &root).unwrap();
        assert!(
            p.siblings.len() <= 8,
            "path of {name} is {} long",
            p.siblings.len()
        );
        assert_eq!(AnchorProof::from_bytes(&p.to_bytes()).unwrap(), p);
        // A stale or foreign value does not verify, nor does absence.
        assert!(matches!(
            p.verify_member(&k, &Hash::ZERO, &root),
            Err(AnchorProofError::RootMismatch { .. })
        ));
        assert!(matches!(
            p.verify_absent(&k, &root),
            Err(AnchorProofError::WrongKind { .. })
        ));
    }
    // One scenario's path does not prove another's value.
    let (a, b) = (
        sid("acme/ledger").anchor_key(),
        sid("city/roads").anchor_key(),
    );
    assert!(
        f.anchors
            .prove(&a)
            .verify_member(&b, &other_digest("city/roads"), &root)
            .is_err()
    );

    // Scenarios that are not in the map: absence, ending in an empty subtree or another key.
    let mut ends = (0, 0);
    for i in 0..64 {
        let k = sid(&format!("absent/{i}")).anchor_key();
        let p = f.anchors.prove(&k);
        p.verify_absent(&k, &root).unwrap();
        assert!(p.verify_member(&k, &Hash::ZERO, &root).is_err());
        match &p.end {
            PathEnd::Empty => ends.0 += 1,
            PathEnd::Other { key, value } => {
                ends.1 += 1;
                // The neighbour really is in the map; naming the neighbour's key is refused.
                assert_eq!(f.anchors.get(key), Some(value));
                assert_eq!(p.verify_absent(key, &root), Err(AnchorProofError::OffPath));
            }
            PathEnd::Member => panic!("absent key proven a member"),
        }
        assert_eq!(AnchorProof::from_bytes(&p.to_bytes()).unwrap(), p);
    }
    assert!(
        ends.0 > 0 && ends.1 > 0,
        "both kinds of absence proof: {ends:?}"
    );

    // The scenario moves: a new checkpoint digest changes the root; the old proof fails.
    let mut moved = f.anchors.clone();
    let k = sid(SCENARIO).anchor_key();
    let newer = Domain::Checkpoint.hash(b"checkpoint 8");
    moved.insert(k, newer);
    assert_ne!(moved.root(), root);
    let old = f.checkpoint.checkpoint.digest();
    assert!(
        f.anchors
            .prove(&k)
            .verify_member(&k, &old, &moved.root())
            .is_err()
    );
    moved
        .prove(&k)
        .verify_member(&k, &newer, &moved.root())
        .unwrap();
    // Only this leaf changed: the siblings on its path are the same.
    assert_eq!(moved.prove(&k), f.anchors.prove(&k));
    // Another scenario's old path now fails: one of its siblings covers the moved leaf.
    let a = sid("acme/ledger").anchor_key();
    assert!(
        f.anchors
            .prove(&a)
            .verify_member(&a, &other_digest("acme/ledger"), &moved.root())
            .is_err()
    );
    assert_eq!(moved.len(), 7);

    // Empty and single-entry maps.
    let empty = AnchorMap::new();
    assert_eq!(empty.root(), Hash::ZERO);
    empty.prove(&k).verify_absent(&k, &Hash::ZERO).unwrap();
    let mut one = AnchorMap::new();
    one.insert(k, newer);
    assert_eq!(
        one.root(),
        trustchain_core::merkle::anchor::leaf_hash(&k, &newer)
    );
    let p = one.prove(&k);
    assert!(p.siblings.is_empty());
    p.verify_member(&k, &newer, &one.root()).unwrap();
    let other = sid("acme/ledger").anchor_key();
    one.prove(&other)
        .verify_absent(&other, &one.root())
        .unwrap();
}

// --- main chain ---

#[test]
fn certificate_needs_more_than_two_thirds_of_the_weight() {
    let f = Fixture::new();
    let set = &f.set;
    assert_eq!(set.total_weight(), 90);
    assert_eq!(ValidatorSet::from_bytes(&set.to_bytes()).unwrap(), *set);
    f.certificate.verify(&f.header, set).unwrap();
    assert_eq!(
        CommitCertificate::from_bytes(&f.certificate.to_bytes()).unwrap(),
        f.certificate
    );
    let signers: Vec<&PublicKey> = f.certificate.signers(set).collect();
    assert_eq!(signers.len(), 3);

    // Exactly 2/3 (30 + 30 of 90) is not enough; nor is 10 + 20 + 30.
    for (keys, signed) in [
        (&[13u8, 14][..], 60u128),
        (&[11, 12, 13][..], 60),
        (&[14][..], 30),
    ] {
        let c = certify(&f.header, set, keys);
        assert_eq!(
            c.verify(&f.header, set),
            Err(CertificateError::InsufficientWeight { signed, total: 90 })
        );
    }
    // 70 of 90 is.
    certify(&f.header, set, &[11, 13, 14])
        .verify(&f.header, set)
        .unwrap();
    certify(&f.header, set, &[11, 12, 13, 14])
        .verify(&f.header, set)
        .unwrap();
    // Keys outside the set are ignored when signing, so they add no weight.
    let c = certify(&f.header, set, &[13, 14, 31, 32]);
    assert_eq!(c.signatures.len(), 2);
    assert!(matches!(
        c.verify(&f.header, set),
        Err(CertificateError::InsufficientWeight { .. })
    ));

    // Another block, another set, a forged vote, an unknown signer position.
    assert!(matches!(
        f.certificate.verify(&f.parent, set),
        Err(CertificateError::WrongBlock { .. })
    ));
    let other = validator_set(1, &EPOCH2);
    assert!(matches!(
        f.certificate.verify(&f.header, &other),
        Err(CertificateError::WrongValidatorSet { .. })
    ));
    let mut forged = f.certificate.clone();
    forged.signatures[1].signature.0[10] ^= 1;
    assert!(matches!(
        forged.verify(&f.header, set),
        Err(CertificateError::BadSignature { validator, .. }) if validator == forged.signatures[1].validator
    ));
    let mut wrong_round = f.certificate.clone();
    wrong_round.round = 1;
    assert!(matches!(
        wrong_round.verify(&f.header, set),
        Err(CertificateError::BadSignature { .. })
    ));
    let mut unknown = f.certificate.clone();
    unknown.signatures.last_mut().unwrap().validator = 4;
    assert_eq!(
        unknown.verify(&f.header, set),
        Err(CertificateError::BadSigners)
    );
    let mut dup = f.certificate.clone();
    dup.signatures[1].validator = dup.signatures[0].validator;
    assert_eq!(
        dup.verify(&f.header, set),
        Err(CertificateError::BadSigners)
    );
    assert!(matches!(
        CommitCertificate::from_bytes(&dup.to_bytes()),
        Err(DecodeError::NonCanonical(_))
    ));
}

// --- the record proof ---

#[test]
fn record_proof_verifies_every_step() {
    let f = Fixture::new();
    let proof = f.proof(SUBJECT_INDEX);
    let v = proof.verify(&f.set, CHAIN_ID, None);
    assert!(v.is_verified(), "{v:#?}");
    assert_eq!(v.failed_step(), None);
    let expected: Vec<(Step, StepStatus)> = Step::ALL
        .iter()
        .map(|s| {
            let st = if *s == Step::Rules {
                StepStatus::Skipped
            } else {
                StepStatus::Passed
            };
            (*s, st)
        })
        .collect();
    assert_eq!(statuses(&v), expected);
    assert_eq!(v.steps[2].detail, "charter not supplied");
    let r = v.outcome.as_ref().unwrap();
    assert_eq!(r.entry(), &f.entries[SUBJECT_INDEX as usize]);
    assert_eq!(r.index(), SUBJECT_INDEX);
    assert_eq!(r.scenario(), &sid(SCENARIO));
    assert_eq!(r.block_height(), 100);
    assert_eq!(r.block_hash(), f.header.hash());
    assert_eq!(r.recorded_by_ms(), f.header.time_ms);
    assert_eq!(r.checkpoint_size(), 7);
    assert_eq!(r.signers().len(), 3);
    assert!(r.rules().is_none());

    // Every entry of the log, the charter included, verifies the same way.
    for i in 0..7 {
        let v = f.proof(i).verify(&f.set, CHAIN_ID, None);
        assert!(v.is_verified(), "entry {i}: {v:#?}");
    }
    // The proof round-trips through its canonical bytes.
    assert_eq!(RecordProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
}

#[test]
fn record_proof_names_the_failing_step() {
    let f = Fixture::new();
    let good = f.proof(SUBJECT_INDEX);
    let check = |p: &RecordProof, set: &ValidatorSet, chain: &str, step: Step| {
        let v = p.verify(set, chain, None);
        assert_eq!(v.failed_step(), Some(step), "{v:#?}");
        // The failing step is reported as failed; everything after it as skipped.
        let pos = v.steps.iter().position(|r| r.step == step).unwrap();
        assert_eq!(v.steps[pos].status, StepStatus::Failed);
        assert!(
            v.steps[pos + 1..]
                .iter()
                .all(|r| r.status == StepStatus::Skipped)
        );
        assert_eq!(v.steps.len(), Step::ALL.len());
    };
    let mut p = good.clone();
    if let Entry::Contract(c) = &mut p.entry {
        c.content.nonce += 1;
    }
    check(&p, &f.set, CHAIN_ID, Step::Signature);
    // Another entry with this entry's path.
    let mut p = good.clone();
    p.entry = f.entries[3].clone();
    check(&p, &f.set, CHAIN_ID, Step::Inclusion);
    let mut p = good.clone();
    p.inclusion = f.log.prove_inclusion(SUBJECT_INDEX, 6).unwrap();
    check(&p, &f.set, CHAIN_ID, Step::Inclusion);
    let mut p = good.clone();
    p.checkpoint.signatures.pop();
    p.checkpoint.signatures[0].signature.0[0] ^= 1;
    check(&p, &f.set, CHAIN_ID, Step::Checkpoint);
    let mut p = good.clone();
    p.anchor = f.anchors.prove(&sid("acme/ledger").anchor_key());
    check(&p, &f.set, CHAIN_ID, Step::Anchor);
    let mut p = good.clone();
    p.header.anchor_root = Hash::ZERO;
    check(&p, &f.set, CHAIN_ID, Step::Anchor);
    check(&good, &f.set, "another-chain", Step::Certificate);
    check(
        &good,
        &validator_set(1, &EPOCH2),
        CHAIN_ID,
        Step::Certificate,
    );
    let mut p = good.clone();
    p.certificate = certify(&f.header, &f.set, &[13, 14]);
    check(&p, &f.set, CHAIN_ID, Step::Certificate);
    assert!(
        failure(&p.verify(&f.set, CHAIN_ID, None))
            .1
            .contains("60 of 90")
    );
}

#[test]
fn charter_checks_the_schema() {
    let f = Fixture::new();
    let ch = &f.charter;
    // A good record: Rules passes (no rules declared, the schema holds).
    let v = f.proof(SUBJECT_INDEX).verify(&f.set, CHAIN_ID, Some(ch));
    assert!(v.is_verified(), "{v:#?}");
    assert!(statuses(&v).iter().all(|(_, s)| *s == StepStatus::Passed));
    assert_eq!(v.outcome.as_ref().unwrap().rules().unwrap().passed.len(), 0);
    // The digest-only invoice is admitted; the charter itself skips Rules.
    assert!(f.proof(3).verify(&f.set, CHAIN_ID, Some(ch)).is_verified());
    let v = f.proof(0).verify(&f.set, CHAIN_ID, Some(ch));
    assert!(v.is_verified());
    assert_eq!(v.steps[2].status, StepStatus::Skipped);

    // Entries 5 and 6 are in the log and certified, yet not what the charter allows.
    let v = f.proof(UNKNOWN_FIELD_INDEX).verify(&f.set, CHAIN_ID, None);
    assert!(
        v.is_verified(),
        "without the charter only the chain is checked"
    );
    let (step, why) = failure(
        &f.proof(UNKNOWN_FIELD_INDEX)
            .verify(&f.set, CHAIN_ID, Some(ch)),
    );
    assert_eq!(step, Step::Rules);
    assert!(
        why.contains("`colour`") && why.contains("not declared"),
        "{why}"
    );
    let (step, why) = failure(&f.proof(WRONG_TYPE_INDEX).verify(&f.set, CHAIN_ID, Some(ch)));
    assert_eq!(step, Step::Rules);
    assert!(
        why.contains("`amount`") && why.contains("expected decimal, found text"),
        "{why}"
    );

    // More schema breaches (Rules comes before Inclusion, so these need not be in the log).
    let with_fields = |author: u8, kind: &str, pairs: &[(&str, Value)]| {
        let mut p = f.proof(SUBJECT_INDEX);
        p.entry = Entry::Contract(contract(
            author,
            kind,
            9,
            Body::Fields(fields(pairs)),
            vec![],
        ));
        failure(&p.verify(&f.set, CHAIN_ID, Some(ch)))
    };
    type Case<'a> = (u8, &'a str, Vec<(&'a str, Value)>, &'a [&'a str]);
    let cases: Vec<Case> = vec![
        (
            WRITER,
            "expense",
            vec![("amount", dec("1.00"))],
            &["`category`", "missing"],
        ),
        (
            WRITER,
            "expense",
            vec![("amount", dec("1.001")), ("category", text("travel"))],
            &["`amount`", "more than 2 decimals"],
        ),
        (
            WRITER,
            "expense",
            vec![("amount", dec("2000000.00")), ("category", text("travel"))],
            &["`amount`", "outside"],
        ),
        (
            WRITER,
            "expense",
            vec![("amount", dec("1.00")), ("category", text("food"))],
            &["`category`", "not one of"],
        ),
        (
            WRITER,
            "expense",
            vec![
                ("amount", dec("1.00")),
                ("category", text("travel")),
                ("memo", Value::Int(3)),
            ],
            &["`memo`", "expected text, found int"],
        ),
        (
            WRITER,
            "refund",
            vec![("amount", dec("1.00"))],
            &["`refund`", "not declared"],
        ),
        (
            WRITER,
            "invoice",
            vec![("amount", dec("1.00"))],
            &["`invoice`", "digest body"],
        ),
        (
            STRANGER,
            "expense",
            vec![("amount", dec("1.00")), ("category", text("travel"))],
            &["neither an owner nor a writer"],
        ),
    ];
    for (author, kind, pairs, needles) in cases {
        let (step, why) = with_fields(author, kind, &pairs);
        assert_eq!(step, Step::Rules, "{why}");
        for n in needles {
            assert!(why.contains(n), "{why:?} lacks {n:?}");
        }
    }
    // A charter with a bad signature is refused at the Rules step.
    let mut forged = ch.clone();
    forged.content.title.push('!');
    let (step, why) = failure(
        &f.proof(SUBJECT_INDEX)
            .verify(&f.set, CHAIN_ID, Some(&forged)),
    );
    assert_eq!(step, Step::Rules);
    assert!(why.starts_with("charter:"), "{why}");
}

// --- receipts ---

#[test]
fn receipt_round_trips_as_base64url() {
    let f = Fixture::new();
    let proof = f.proof(SUBJECT_INDEX);
    let bytes = receipt::to_bytes(&proof);
    assert_eq!(bytes, proof.to_bytes());
    assert_eq!(receipt::from_bytes(&bytes).unwrap(), proof);
    let text = receipt::to_base64url(&proof);
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(receipt::from_base64url(&text).unwrap(), proof);
    assert_eq!(
        receipt::from_base64url(&format!("  {text}\n")).unwrap(),
        proof
    );
    let v = receipt::from_base64url(&text)
        .unwrap()
        .verify(&f.set, CHAIN_ID, None);
    assert!(v.is_verified());

    // Padding, the standard alphabet, inner whitespace, truncation and trailing bytes fail.
    let padded = format!("{text}{}", "=".repeat((4 - text.len() % 4) % 4));
    if padded != text {
        assert!(receipt::from_base64url(&padded).is_err());
    }
    let std_alphabet = text.replace('-', "+").replace('_', "/");
    if std_alphabet != text {
        assert!(receipt::from_base64url(&std_alphabet).is_err());
    }
    let mid = text.len() / 2;
    assert!(receipt::from_base64url(&format!("{} {}", &text[..mid], &text[mid..])).is_err());
    assert!(receipt::from_base64url(&text[..text.len() - 4]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        receipt::from_bytes(&long),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
    // A failed decode becomes a verdict that names the Decode step.
    let e = receipt::from_base64url("AAAA").unwrap_err();
    let v = Verdict::undecodable(&e);
    assert_eq!(v.failed_step(), Some(Step::Decode));
    assert_eq!(v.steps.len(), Step::ALL.len());
    // Oversized input is refused before decoding.
    let huge = "A".repeat(receipt::MAX_RECEIPT_BYTES / 3 * 4 + 8);
    assert!(matches!(
        receipt::from_base64url(&huge),
        Err(DecodeError::TooLarge { .. })
    ));
}

// --- light client ---

fn trusted(f: &Fixture) -> TrustedCheckpoint {
    TrustedCheckpoint {
        chain_id: CHAIN_ID.to_string(),
        height: f.parent.height,
        block: f.parent.hash(),
        validators: f.set.clone(),
    }
}

/// The last block of epoch 1 (height 110), handing over to the epoch 2 set.
fn epoch_change(set1: &ValidatorSet, set2: &ValidatorSet) -> EpochChange {
    let header = block(110, 1, T0 + 600_000, set1, set2);
    EpochChange {
        certificate: certify(&header, set1, &[12, 13, 14]),
        header,
        next: set2.clone(),
    }
}

#[test]
fn light_client_starts_from_trusted_checkpoint() {
    let f = Fixture::new();
    let t = trusted(&f);
    assert_eq!(TrustedCheckpoint::from_bytes(&t.to_bytes()).unwrap(), t);
    let mut lc = LightClient::new(t);
    assert_eq!(lc.chain_id(), CHAIN_ID);
    assert_eq!(lc.epoch(), 1);
    assert!(lc.highest().is_none());

    // The trusted block itself, then the anchoring block.
    let c99 = certify(&f.parent, &f.set, &[11, 13, 14]);
    lc.verify_header(&f.parent, &c99).unwrap();
    let vh = lc.verify_header(&f.header, &f.certificate).unwrap();
    assert_eq!(vh.hash(), f.header.hash());
    assert_eq!(lc.highest().unwrap().header().height, 100);
    // Re-submitting the same block is fine and does not count as equivocation.
    lc.verify_header(&f.header, &f.certificate).unwrap();
    assert!(lc.evidence().is_empty());

    // A record proof through the light client.
    let v = lc.verify_record(&f.proof(SUBJECT_INDEX), None);
    assert!(v.is_verified(), "{v:#?}");
    let v = lc.verify_record(&f.proof(WRONG_TYPE_INDEX), Some(&f.charter));
    assert_eq!(v.failed_step(), Some(Step::Rules));

    // A different certified block at the trusted height conflicts with trust.
    let mut fork = f.parent.clone();
    fork.time_ms += 1;
    let cf = certify(&fork, &f.set, &[11, 13, 14]);
    assert!(matches!(
        lc.verify_header(&fork, &cf),
        Err(LightClientError::ConflictsWithTrust { height: 99, .. })
    ));
    // Another chain, a weak certificate.
    let mut other = f.header.clone();
    other.chain_id = "other".to_string();
    assert!(matches!(
        lc.verify_header(&other, &f.certificate),
        Err(LightClientError::WrongChain { .. })
    ));
    let weak = certify(&f.header, &f.set, &[13, 14]);
    assert!(matches!(
        lc.verify_header(&f.header, &weak),
        Err(LightClientError::Certificate(
            CertificateError::InsufficientWeight { .. }
        ))
    ));
}

#[test]
fn light_client_follows_epoch_change_and_rejects_unknown_epochs() {
    let f = Fixture::new();
    let set1 = f.set.clone();
    let set2 = validator_set(2, &EPOCH2);
    let mut lc = LightClient::new(trusted(&f));
    let h111 = block(111, 2, T0 + 601_000, &set2, &set2);
    let c111 = certify(&h111, &set2, &[31, 32, 33]);

    // Before the hand-over, epoch 2 is unknown.
    assert_eq!(
        lc.verify_header(&h111, &c111).unwrap_err(),
        LightClientError::UnknownEpoch {
            header_epoch: 2,
            known: 1
        }
    );
    let change = epoch_change(&set1, &set2);
    assert_eq!(EpochChange::from_bytes(&change.to_bytes()).unwrap(), change);

    // Malformed hand-overs are refused and change nothing.
    let mut wrong_epoch = change.clone();
    wrong_epoch.next = validator_set(3, &EPOCH2);
    assert!(matches!(
        lc.apply_epoch_change(&wrong_epoch),
        Err(LightClientError::BadEpochChange(_))
    ));
    let mut unnamed = change.clone();
    unnamed.next = validator_set(2, &[(31, 25), (32, 25), (33, 25), (35, 25)]);
    assert!(matches!(
        lc.apply_epoch_change(&unnamed),
        Err(LightClientError::BadEpochChange(_))
    ));
    let mut self_signed = change.clone();
    self_signed.certificate = certify(&change.header, &set2, &[31, 32, 33]);
    assert!(matches!(
        lc.apply_epoch_change(&self_signed),
        Err(LightClientError::Certificate(_))
    ));
    let mut weak = change.clone();
    weak.certificate = certify(&change.header, &set1, &[13, 14]);
    assert!(lc.apply_epoch_change(&weak).is_err());
    assert_eq!(lc.epoch(), 1);

    // The real hand-over.
    lc.apply_epoch_change(&change).unwrap();
    assert_eq!(lc.epoch(), 2);
    assert_eq!(lc.validators(2), Some(&set2));
    assert_eq!(lc.validators(1), Some(&set1));
    lc.verify_header(&h111, &c111).unwrap();
    assert_eq!(lc.highest().unwrap().header().height, 111);
    // Epoch 2 blocks signed by the old set fail; an epoch 3 block is unknown.
    let c111_old = certify(&h111, &set1, &[11, 12, 13, 14]);
    assert!(matches!(
        lc.verify_header(&h111, &c111_old),
        Err(LightClientError::Certificate(_))
    ));
    let set3 = validator_set(3, &[(41, 1)]);
    let h200 = block(200, 3, T0 + 900_000, &set3, &set3);
    let c200 = certify(&h200, &set3, &[41]);
    assert_eq!(
        lc.verify_header(&h200, &c200).unwrap_err(),
        LightClientError::UnknownEpoch {
            header_epoch: 3,
            known: 2
        }
    );
    // Replaying the old hand-over is refused: it is not in the latest epoch any more.
    assert!(matches!(
        lc.apply_epoch_change(&change),
        Err(LightClientError::BadEpochChange(_))
    ));
}

/// Issue 11 §7: after the 1→2 hand-over at height 110, the retired epoch-1 keys must certify
/// nothing past it — no header at 210, no record anchored at 310 — and the epoch-2 set nothing
/// at or before the hand-over.
#[test]
fn light_client_refuses_retired_sets() {
    let f = Fixture::new();
    let set1 = f.set.clone();
    let set2 = validator_set(2, &EPOCH2);
    let mut lc = LightClient::new(trusted(&f));
    lc.apply_epoch_change(&epoch_change(&set1, &set2)).unwrap();
    assert_eq!(lc.epoch_heights(1), Some((None, Some(110))));
    assert_eq!(lc.epoch_heights(2), Some((Some(111), None)));

    // An invented block claiming epoch 1 at height 210, signed by the epoch-1 keys.
    let h210 = block(210, 1, T0 + 900_000, &set1, &set1);
    let c210 = certify(&h210, &set1, &[12, 13, 14]);
    assert_eq!(
        lc.verify_header(&h210, &c210).unwrap_err(),
        LightClientError::OutsideEpoch {
            height: 210,
            epoch: 1,
            first: 0,
            last: 110
        }
    );
    assert_eq!(lc.highest().unwrap().header().height, 110);

    // A record proof anchored in such a block at height 310 fails at the certificate step.
    let mut proof = f.proof(SUBJECT_INDEX);
    proof.header.height = 310;
    proof.header.prev = Domain::BlockHeader.hash(b"block 309");
    proof.certificate = certify(&proof.header, &set1, &[11, 13, 14]);
    let v = lc.verify_record(&proof, None);
    assert_eq!(v.failed_step(), Some(Step::Certificate), "{v:#?}");
    // The same proof at a height of epoch 1 still verifies: the set is retired, not forgotten.
    let v = lc.verify_record(&f.proof(SUBJECT_INDEX), None);
    assert!(v.is_verified(), "{v:#?}");

    // The new set does not reach back before its first block.
    let h105 = block(105, 2, T0 + 500_000, &set2, &set2);
    let c105 = certify(&h105, &set2, &[31, 32, 33]);
    assert!(matches!(
        lc.verify_header(&h105, &c105),
        Err(LightClientError::OutsideEpoch {
            epoch: 2,
            first: 111,
            ..
        })
    ));
}

/// A hand-over below a height the current set already certified is two views of one epoch's
/// end; the client keeps the first and refuses the change.
#[test]
fn light_client_refuses_hand_over_below_certified_height() {
    let f = Fixture::new();
    let set1 = f.set.clone();
    let set2 = validator_set(2, &EPOCH2);
    let mut lc = LightClient::new(trusted(&f));
    let h120 = block(120, 1, T0 + 700_000, &set1, &set1);
    lc.verify_header(&h120, &certify(&h120, &set1, &[12, 13, 14]))
        .unwrap();
    assert!(matches!(
        lc.apply_epoch_change(&epoch_change(&set1, &set2)),
        Err(LightClientError::BadEpochChange(_))
    ));
    assert_eq!(lc.epoch(), 1);
    assert_eq!(lc.epoch_heights(1), Some((None, None)));
}

#[test]
fn light_client_keeps_equivocation_evidence() {
    let f = Fixture::new();
    let set1 = f.set.clone();
    let set2 = validator_set(2, &EPOCH2);
    let mut lc = LightClient::new(trusted(&f));
    lc.apply_epoch_change(&epoch_change(&set1, &set2)).unwrap();

    let a = block(112, 2, T0 + 602_000, &set2, &set2);
    let mut b = a.clone();
    b.time_ms += 1;
    let ca = certify(&a, &set2, &[31, 32, 33]);
    let cb = certify(&b, &set2, &[32, 33, 34]);
    lc.verify_header(&a, &ca).unwrap();
    assert_eq!(
        lc.verify_header(&b, &cb).unwrap_err(),
        LightClientError::Equivocation {
            height: 112,
            first: a.hash(),
            second: b.hash()
        }
    );
    // Seen again: refused again, evidence kept once.
    assert!(lc.verify_header(&b, &cb).is_err());
    assert_eq!(lc.evidence().len(), 1);
    let ev = lc.evidence()[0].clone();
    assert_eq!((&ev.first, &ev.second), (&a, &b));

    // The evidence is self-contained: it encodes, decodes and verifies against the epoch's set.
    let bytes = ev.to_bytes();
    let back = EquivocationEvidence::from_bytes(&bytes).unwrap();
    assert_eq!(back, ev);
    back.verify(&set2).unwrap();
    assert!(matches!(
        back.verify(&set1),
        Err(LightClientError::Certificate(_))
    ));
    // Not evidence: the same block twice, or blocks at different heights.
    let same = EquivocationEvidence {
        first: a.clone(),
        first_certificate: ca.clone(),
        second: a.clone(),
        second_certificate: ca.clone(),
    };
    assert_eq!(same.verify(&set2), Err(LightClientError::NotConflicting));
    let mut apart = back.clone();
    apart.second.height = 113;
    assert_eq!(apart.verify(&set2), Err(LightClientError::NotConflicting));
    // Evidence with one forged certificate does not verify.
    let mut forged = back.clone();
    forged.second_certificate.signatures[0].signature.0[3] ^= 0x10;
    assert!(forged.verify(&set2).is_err());
    // Truncated or padded evidence bytes are refused.
    assert!(EquivocationEvidence::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut padded = bytes.clone();
    padded.push(0);
    assert!(EquivocationEvidence::from_bytes(&padded).is_err());
}

#[test]
fn light_client_record_on_forked_block_fails_at_certificate() {
    let f = Fixture::new();
    let mut lc = LightClient::new(trusted(&f));
    // The client first sees a different certified block 100 ...
    let mut fork = f.header.clone();
    fork.moved = 2;
    let cf = certify(&fork, &f.set, &[11, 12, 13, 14]);
    lc.verify_header(&fork, &cf).unwrap();
    // ... so a record anchored in the other block 100 is refused, and the fork kept.
    let v = lc.verify_record(&f.proof(SUBJECT_INDEX), None);
    assert_eq!(v.failed_step(), Some(Step::Certificate));
    assert!(failure(&v).1.contains("equivocation"), "{v:#?}");
    assert_eq!(lc.evidence().len(), 1);
    lc.evidence()[0].verify(&f.set).unwrap();
    // A record whose block is in an unknown epoch: every other step still reported.
    let set2 = validator_set(2, &EPOCH2);
    let mut p = f.proof(SUBJECT_INDEX);
    p.header.epoch = 2;
    p.header.validators_hash = set2.hash();
    p.certificate = certify(&p.header, &set2, &[31, 32, 33]);
    let v = lc.verify_record(&p, None);
    assert_eq!(v.failed_step(), Some(Step::Certificate));
    assert_eq!(
        v.steps[5].status,
        StepStatus::Passed,
        "anchor still checked"
    );
}

#[test]
fn charter_with_many_small_fields_round_trips() {
    // Minimal field schemas (short name, no description, `bool`) are 11 or 12 bytes long: the
    // decoder's per-item lower bound must not exceed that, or a charter its owner can build and
    // sign cannot be decoded by any verifier.
    use trustchain_core::scenario::charter::{Charter, RecordKind};
    use trustchain_core::scenario::schema::{FieldSchema, FieldType};
    let mut c = charter().content;
    c.kinds.push(RecordKind {
        name: "flags".to_string(),
        description: String::new(),
        digest_only: false,
        fields: (0..40)
            .map(|i| FieldSchema {
                name: format!("f{i}"),
                description: String::new(),
                ty: FieldType::Bool,
                required: false,
            })
            .collect(),
        rules: vec![],
    });
    c.validate().unwrap();
    let signed = c.sign(&key(OWNER));
    let bytes = signed.to_bytes();
    assert_eq!(Charter::from_bytes(&bytes), Ok(signed));
}

/// Issue 11 §9: a charter binds every owner it names. Naming another's key as co-owner (to
/// spend its quota, or to claim its backing) without its signature is refused, and so is a
/// charter whose signature count differs from its owner count.
#[test]
fn charter_is_signed_by_every_owner() {
    use trustchain_core::scenario::charter::Charter;
    let mut two = charter().content;
    two.owners = vec![pk(OWNER), pk(STRANGER)];
    let one_signed = two.clone().sign(&key(OWNER));
    assert_eq!(
        one_signed.verify_signature().unwrap_err().key,
        pk(STRANGER),
        "the unsigned co-owner is named"
    );
    let both = two.clone().sign_all(&[&key(OWNER), &key(STRANGER)]);
    both.verify_signature().unwrap();
    assert_eq!(Charter::from_bytes(&both.to_bytes()).unwrap(), both);
    let swapped = two.clone().sign_all(&[&key(STRANGER), &key(OWNER)]);
    assert!(swapped.verify_signature().is_err());
    // Encoded with one signature for two owners: refused when decoded.
    assert!(matches!(
        Charter::from_bytes(&one_signed.to_bytes()),
        Err(DecodeError::Invalid { .. })
    ));
    // The single-owner charter of the fixture still verifies.
    charter().verify_signature().unwrap();
}

/// Issue 11 §8: a listing's records are checked against a verified checkpoint, each by its own
/// inclusion path: an altered, moved or foreign record fails.
#[test]
fn listed_records_verify_against_the_checkpoint() {
    use trustchain_core::verify::proof::{ListedError, verify_listed};
    let f = Fixture::new();
    let cp = &f.checkpoint.checkpoint;
    for (i, e) in f.entries.iter().enumerate() {
        let i = i as u64;
        let p = f.log.prove_inclusion(i, f.log.size()).unwrap();
        verify_listed(e, i, &p, cp).unwrap();
    }
    // Record 1 listed with record 2's content, or at another position.
    let p1 = f.log.prove_inclusion(1, f.log.size()).unwrap();
    assert!(matches!(
        verify_listed(&f.entries[2], 1, &p1, cp),
        Err(ListedError::Inclusion(_))
    ));
    assert!(matches!(
        verify_listed(&f.entries[1], 2, &p1, cp),
        Err(ListedError::Position { .. })
    ));
    // A path for a smaller log (a relay listing against an older checkpoint).
    let older = f.log.prove_inclusion(1, 2).unwrap();
    assert!(matches!(
        verify_listed(&f.entries[1], 1, &older, cp),
        Err(ListedError::Position { size: 2, .. })
    ));
    // Another scenario's checkpoint.
    let mut other = cp.clone();
    other.scenario = trustchain_core::encoding::value::ScenarioId::new("other/one").unwrap();
    assert!(matches!(
        verify_listed(&f.entries[1], 1, &p1, &other),
        Err(ListedError::OtherScenario(_))
    ));
}
