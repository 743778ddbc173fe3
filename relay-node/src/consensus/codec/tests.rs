use std::fmt::Debug;

use ed25519_dalek::SigningKey;
use mc::{Context as _, SigningProvider};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use trustchain_core::chain::block::CommitCertificate;
use trustchain_core::chain::validators::{Validator, ValidatorSet};
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::scenario::checkpoint::Checkpoint;

use super::*;
use trustchain_core::chain::block::StoredBlock;

const CHAIN: &str = "trustchain-test";
/// Validators in the tests' set.
const N: usize = 4;

fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}
/// Keys 1..=N, in key order.
fn keys() -> Vec<SigningKey> {
    let mut keys: Vec<SigningKey> = (1..=N as u8).map(key).collect();
    keys.sort_by_key(PublicKey::of);
    keys
}
fn set() -> ValidatorSet {
    ValidatorSet::new(
        0,
        keys()
            .iter()
            .map(|k| Validator {
                key: PublicKey::of(k),
                weight: 10,
            })
            .collect(),
    )
    .unwrap()
}
fn ctx() -> TrustchainContext {
    TrustchainContext::new(CHAIN)
}
fn addr(i: usize) -> ValAddr {
    ValAddr(PublicKey::of(&keys()[i]))
}
fn sign_vote(i: usize, vote: ConsVote) -> SignedMessage<Ctx, ConsVote> {
    ctx().signing_provider(keys()[i].clone()).sign_vote(vote)
}

// --- strategies ----------------------------------------------------------------------

fn arb_hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}
fn arb_round() -> impl Strategy<Value = Round> {
    any::<u32>().prop_map(Round::new)
}
fn arb_opt_round() -> impl Strategy<Value = Round> {
    option::of(any::<u32>()).prop_map(Round::from)
}
fn arb_nil_or_id() -> impl Strategy<Value = NilOrVal<BlockId>> {
    option::of(arb_hash()).prop_map(|h| match h {
        None => NilOrVal::Nil,
        Some(h) => NilOrVal::Val(BlockId(h)),
    })
}
fn arb_vote_type() -> impl Strategy<Value = VoteType> {
    select(vec![VoteType::Prevote, VoteType::Precommit])
}
fn arb_header() -> impl Strategy<Value = BlockHeader> {
    (
        "[a-z0-9-]{0,20}",
        any::<u64>(),
        any::<u64>(),
        arb_hash(),
        any::<u64>(),
        arb_hash(),
        any::<u32>(),
        arb_hash(),
        arb_hash(),
    )
        .prop_map(
            |(chain_id, height, epoch, prev, time_ms, anchor_root, moved, vh, nvh)| BlockHeader {
                chain_id,
                height,
                epoch,
                prev,
                time_ms,
                anchor_root,
                moved,
                body_hash: vh,
                validators_hash: vh,
                next_validators_hash: nvh,
            },
        )
}
fn arb_checkpoint() -> impl Strategy<Value = SignedCheckpoint> {
    (
        "[a-z][a-z0-9]{0,8}(/[a-z0-9][a-z0-9._-]{0,7})?",
        any::<u64>(),
        arb_hash(),
        arb_hash(),
        any::<u64>(),
        0..=3usize,
    )
        .prop_map(|(scenario, size, root, main_ref, time_ms, signers)| {
            let keys = keys();
            let refs: Vec<&SigningKey> = keys.iter().take(signers).collect();
            Checkpoint {
                scenario: ScenarioId::new(&scenario).unwrap(),
                size,
                root,
                main_ref,
                time_ms,
            }
            .sign(&refs)
        })
}
fn arb_body() -> impl Strategy<Value = BlockBody> {
    vec(arb_checkpoint(), 0..3).prop_map(|checkpoints| BlockBody {
        checkpoints,
        ..Default::default()
    })
}
fn arb_value() -> impl Strategy<Value = BlockValue> {
    (arb_header(), arb_body()).prop_map(|(h, b)| BlockValue::with_body(h, b))
}
fn arb_signed_vote() -> impl Strategy<Value = SignedMessage<Ctx, ConsVote>> {
    (
        any::<u64>(),
        arb_round(),
        arb_vote_type(),
        arb_nil_or_id(),
        0..N,
    )
        .prop_map(|(height, round, kind, value, i)| {
            sign_vote(
                i,
                ConsVote {
                    height: Height(height),
                    round,
                    kind,
                    value,
                    validator: addr(i),
                },
            )
        })
}
fn arb_consensus_msg() -> impl Strategy<Value = SignedConsensusMsg<Ctx>> {
    let proposal = (
        any::<u64>(),
        arb_round(),
        arb_opt_round(),
        arb_value(),
        0..N,
    )
        .prop_map(|(height, round, pol_round, value, i)| {
            let p = ctx().new_proposal(Height(height), round, value, pol_round, addr(i));
            SignedConsensusMsg::Proposal(ctx().signing_provider(keys()[i].clone()).sign_proposal(p))
        });
    prop_oneof![
        arb_signed_vote().prop_map(SignedConsensusMsg::Vote),
        proposal
    ]
}
fn arb_polka() -> impl Strategy<Value = PolkaCertificate<Ctx>> {
    (any::<u64>(), arb_round(), arb_hash(), vec(0..N, 0..6)).prop_map(
        |(height, round, id, signers)| {
            let id = BlockId(id);
            let votes = signers
                .into_iter()
                .map(|i| {
                    let v = ctx().new_prevote(Height(height), round, NilOrVal::Val(id), addr(i));
                    sign_vote(i, v)
                })
                .collect();
            PolkaCertificate::new(Height(height), round, id, votes)
        },
    )
}
fn arb_round_cert() -> impl Strategy<Value = RoundCertificate<Ctx>> {
    (
        any::<u64>(),
        arb_round(),
        select(vec![
            RoundCertificateType::Precommit,
            RoundCertificateType::Skip,
        ]),
        vec((0..N, arb_vote_type(), arb_nil_or_id()), 0..6),
    )
        .prop_map(|(height, round, cert_type, votes)| {
            let votes = votes
                .into_iter()
                .map(|(i, kind, value)| {
                    let vote = ConsVote {
                        height: Height(height),
                        round,
                        kind,
                        value,
                        validator: addr(i),
                    };
                    sign_vote(i, vote)
                })
                .collect();
            RoundCertificate::new_from_votes(Height(height), round, cert_type, votes)
        })
}
fn arb_liveness() -> impl Strategy<Value = LivenessMsg<Ctx>> {
    prop_oneof![
        arb_signed_vote().prop_map(LivenessMsg::Vote),
        arb_polka().prop_map(LivenessMsg::PolkaCertificate),
        arb_round_cert().prop_map(LivenessMsg::SkipRoundCertificate),
    ]
}
fn arb_final_block() -> impl Strategy<Value = FinalBlock> {
    (arb_header(), any::<u32>(), 0..=N, arb_body()).prop_map(|(header, round, n, body)| {
        let keys = keys();
        let refs: Vec<&SigningKey> = keys.iter().take(n).collect();
        let certificate = CommitCertificate::sign(&header, round, &set(), &refs);
        FinalBlock {
            block: StoredBlock {
                header,
                certificate,
            },
            body,
        }
    })
}
fn arb_net_message() -> impl Strategy<Value = NetMessage> {
    prop_oneof![
        arb_consensus_msg().prop_map(NetMessage::Consensus),
        arb_liveness().prop_map(NetMessage::Liveness),
        arb_final_block().prop_map(|b| NetMessage::Block(Box::new(b))),
        arb_checkpoint().prop_map(|c| NetMessage::Checkpoint(Box::new(c))),
        (any::<u8>(), any::<u8>(), any::<u64>(), any::<u32>()).prop_map(|(a, b, window, rtt)| {
            NetMessage::Report(Box::new(ObservationReport::sign(
                "trustchain-test",
                &SigningKey::from_bytes(&[a; 32]),
                PublicKey::of(&SigningKey::from_bytes(&[b; 32])),
                window,
                trustchain_core::chain::posr::Measurements {
                    heartbeat_ppm: 1_000_000,
                    reachability_ppm: 990_000,
                    rtt_us: rtt,
                    bandwidth_kbps: 0,
                },
            )))
        }),
    ]
}
fn arb_timeout() -> impl Strategy<Value = Timeout> {
    (
        select(vec![
            TimeoutKind::Propose,
            TimeoutKind::Prevote,
            TimeoutKind::Precommit,
            TimeoutKind::Rebroadcast,
        ]),
        arb_opt_round(),
    )
        .prop_map(|(kind, round)| Timeout::new(round, kind))
}
fn arb_wal() -> impl Strategy<Value = WalRecord> {
    let proposed = (
        any::<u64>(),
        arb_round(),
        arb_opt_round(),
        0..N,
        arb_value(),
        any::<bool>(),
    )
        .prop_map(|(height, round, valid_round, i, value, valid)| {
            WalEntry::ProposedValue(ProposedValue {
                height: Height(height),
                round,
                valid_round,
                proposer: addr(i),
                value,
                validity: if valid {
                    Validity::Valid
                } else {
                    Validity::Invalid
                },
            })
        });
    prop_oneof![
        arb_consensus_msg().prop_map(WalEntry::ConsensusMsg),
        arb_timeout().prop_map(WalEntry::Timeout),
        proposed,
    ]
    .prop_map(WalRecord)
}
fn arb_sync_request() -> impl Strategy<Value = SyncRequest> {
    (any::<u64>(), 0..=MAX_SYNC_BLOCKS)
        .prop_map(|(from, limit)| SyncRequest::Blocks { from, limit })
}
fn arb_sync_response() -> impl Strategy<Value = SyncResponse> {
    prop_oneof![
        vec(arb_final_block(), 0..3).prop_map(SyncResponse::Blocks),
        ".{0,40}".prop_map(SyncResponse::error),
    ]
}

// --- properties ----------------------------------------------------------------------

/// `decode(encode(x)) == x`, the re-encoding is byte-identical, every strict prefix and one
/// trailing byte are errors.
fn check_roundtrip<T: Encode + Decode + PartialEq + Debug>(x: &T) -> Result<(), TestCaseError> {
    let bytes = x.to_bytes();
    let back = T::from_bytes(&bytes);
    prop_assert!(back.is_ok(), "{:?}", back);
    let back = back.unwrap();
    prop_assert_eq!(&back, x);
    prop_assert_eq!(back.to_bytes(), bytes.clone());
    for n in 0..bytes.len() {
        prop_assert!(
            T::from_bytes(&bytes[..n]).is_err(),
            "prefix of {} bytes decodes",
            n
        );
    }
    let mut longer = bytes;
    longer.push(0);
    prop_assert_eq!(
        T::from_bytes(&longer),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
    Ok(())
}

/// Decoding never panics, and whatever decodes re-encodes to the same bytes (one encoding
/// per value).
fn check_canonical<T: Encode + Decode + Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(x) = T::from_bytes(bytes) {
        prop_assert_eq!(x.to_bytes(), bytes.to_vec(), "{:?}", x);
    }
    Ok(())
}
fn check_all_decoders(bytes: &[u8]) -> Result<(), TestCaseError> {
    check_canonical::<NetMessage>(bytes)?;
    check_canonical::<WalRecord>(bytes)?;
    check_canonical::<SyncRequest>(bytes)?;
    check_canonical::<SyncResponse>(bytes)
}

/// The bodies of the values in `m`, which `==` ignores (values compare by id).
fn bodies(m: &NetMessage) -> Option<&BlockBody> {
    match m {
        NetMessage::Consensus(SignedConsensusMsg::Proposal(p)) => Some(p.value.body()),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn net_messages_round_trip(m in arb_net_message()) {
        check_roundtrip(&m)?;
        let back = NetMessage::from_bytes(&m.to_bytes()).unwrap();
        prop_assert_eq!(bodies(&back), bodies(&m));
    }

    #[test]
    fn wal_records_round_trip(w in arb_wal()) {
        check_roundtrip(&w)?;
    }

    #[test]
    fn sync_messages_round_trip(q in arb_sync_request(), s in arb_sync_response()) {
        check_roundtrip(&q)?;
        check_roundtrip(&s)?;
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Valid messages with one byte changed, inserted or removed.
    #[test]
    fn mutated_messages_never_panic(
        m in arb_net_message(),
        w in arb_wal(),
        s in arb_sync_response(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0..3u8,
    ) {
        for mut bytes in [m.to_bytes(), w.to_bytes(), s.to_bytes()] {
            let i = at.index(bytes.len());
            match how {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => {
                    bytes.remove(i);
                }
            }
            check_all_decoders(&bytes)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        check_all_decoders(&bytes)?;
    }

    /// Past the version byte and a valid tag, so that the decoders get further.
    #[test]
    fn random_bodies_never_panic(tag in 0..4u8, inner in 0..3u8, rest in vec(any::<u8>(), 0..600)) {
        let mut bytes = vec![FORMAT_VERSION, tag, inner];
        bytes.extend_from_slice(&rest);
        check_all_decoders(&bytes)?;
    }
}

// --- specific failures -----------------------------------------------------------------

fn vote(round: Round) -> ConsVote {
    ConsVote {
        height: Height(5),
        round,
        kind: VoteType::Precommit,
        value: NilOrVal::Val(BlockId(Hash([3; 32]))),
        validator: addr(0),
    }
}
fn vote_message(round: Round) -> NetMessage {
    NetMessage::Consensus(SignedConsensusMsg::Vote(sign_vote(0, vote(round))))
}

#[test]
fn a_signed_vote_has_its_exact_layout() {
    let bytes = vote_message(Round::new(2)).to_bytes();
    // version, tag, tag, height, round, kind, value, address, signature
    assert_eq!(bytes.len(), 1 + 1 + 1 + 8 + 5 + 1 + 33 + 32 + 64);
    assert_eq!(&bytes[..3], &[FORMAT_VERSION, 0, 0]);
    assert_eq!(&bytes[11..16], &[1, 0, 0, 0, 2]);
}

#[test]
fn unknown_tags_are_rejected() {
    let mut bytes = vote_message(Round::new(0)).to_bytes();
    bytes[1] = 7;
    assert_eq!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::InvalidTag {
            what: "net message",
            tag: 7
        })
    );
    bytes[1] = 0;
    bytes[2] = 2;
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::InvalidTag { tag: 2, .. })
    ));
    // The vote kind.
    let mut bytes = vote_message(Round::new(0)).to_bytes();
    bytes[16] = 2;
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::InvalidTag {
            what: "vote type",
            ..
        })
    ));
    let wal = WalRecord(WalEntry::Timeout(Timeout::propose(Round::new(1)))).to_bytes();
    let mut bad = wal.clone();
    bad[1] = 3;
    assert!(matches!(
        WalRecord::from_bytes(&bad),
        Err(DecodeError::InvalidTag { .. })
    ));
    let mut bad = wal;
    bad[2] = 4;
    assert!(matches!(
        WalRecord::from_bytes(&bad),
        Err(DecodeError::InvalidTag {
            what: "timeout kind",
            ..
        })
    ));
    assert!(matches!(
        SyncRequest::from_bytes(&[FORMAT_VERSION, 1]),
        Err(DecodeError::InvalidTag { .. })
    ));
    assert!(matches!(
        SyncResponse::from_bytes(&[FORMAT_VERSION, 2]),
        Err(DecodeError::InvalidTag { .. })
    ));
}

#[test]
fn other_versions_are_rejected() {
    let mut bytes = vote_message(Round::new(0)).to_bytes();
    bytes[0] = FORMAT_VERSION + 1;
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::BadVersion { .. })
    ));
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = vote_message(Round::new(0)).to_bytes();
    bytes.extend_from_slice(&[0, 0]);
    assert_eq!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::TrailingBytes { count: 2 })
    );
    let mut bytes = SyncRequest::Blocks { from: 1, limit: 2 }.to_bytes();
    bytes.push(0);
    assert_eq!(
        SyncRequest::from_bytes(&bytes),
        Err(DecodeError::TrailingBytes { count: 1 })
    );
}

#[test]
fn a_nil_round_is_rejected_where_a_round_is_required() {
    // Encodes (malachite never makes one), but does not decode.
    let bytes = vote_message(Round::Nil).to_bytes();
    assert_eq!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::Invalid {
            what: "vote round",
            why: "must be a defined round, not nil"
        })
    );
    let p = ctx().new_proposal(
        Height(1),
        Round::Nil,
        BlockValue::new(header()),
        Round::Nil,
        addr(0),
    );
    let p = ctx().signing_provider(keys()[0].clone()).sign_proposal(p);
    let bytes = NetMessage::Consensus(SignedConsensusMsg::Proposal(p)).to_bytes();
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::Invalid {
            what: "proposal round",
            ..
        })
    ));
    let cert = PolkaCertificate::<Ctx> {
        height: Height(1),
        round: Round::Nil,
        value_id: BlockId(Hash([1; 32])),
        polka_signatures: vec![],
    };
    let bytes = NetMessage::Liveness(LivenessMsg::PolkaCertificate(cert)).to_bytes();
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::Invalid {
            what: "polka round",
            ..
        })
    ));
    // A nil pol_round, valid_round or timeout round is fine.
    let t = WalRecord(WalEntry::Timeout(Timeout::prevote(Round::Nil)));
    assert_eq!(WalRecord::from_bytes(&t.to_bytes()), Ok(t));
}

fn header() -> BlockHeader {
    let set = set();
    BlockHeader {
        chain_id: CHAIN.into(),
        height: 1,
        epoch: 0,
        prev: Hash([7; 32]),
        time_ms: 1_700_000_000_000,
        anchor_root: Hash([9; 32]),
        moved: 0,
        body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
        validators_hash: set.hash(),
        next_validators_hash: set.hash(),
    }
}

#[test]
fn too_many_certificate_signatures_are_rejected() {
    let sig = sign_vote(0, vote(Round::new(0))).signature;
    let polka = |n: usize| PolkaCertificate::<Ctx> {
        height: Height(1),
        round: Round::new(0),
        value_id: BlockId(Hash([1; 32])),
        polka_signatures: vec![PolkaSignature::new(addr(0), sig); n],
    };
    let max = MAX_CERTIFICATE_SIGNATURES as usize;
    let ok = NetMessage::Liveness(LivenessMsg::PolkaCertificate(polka(max)));
    assert_eq!(NetMessage::from_bytes(&ok.to_bytes()), Ok(ok));
    let bytes = NetMessage::Liveness(LivenessMsg::PolkaCertificate(polka(max + 1))).to_bytes();
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::TooLong {
            what: "polka signatures",
            ..
        })
    ));
    let round = RoundCertificate::<Ctx> {
        height: Height(1),
        round: Round::new(0),
        cert_type: RoundCertificateType::Skip,
        round_signatures: vec![
            RoundSignature::new(VoteType::Prevote, NilOrVal::Nil, addr(0), sig);
            max + 1
        ],
    };
    let bytes = NetMessage::Liveness(LivenessMsg::SkipRoundCertificate(round)).to_bytes();
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::TooLong {
            what: "round signatures",
            ..
        })
    ));
    // A count the input cannot hold is refused before any allocation.
    let mut bytes = NetMessage::Liveness(LivenessMsg::PolkaCertificate(polka(0))).to_bytes();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&1000u32.to_be_bytes());
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::UnexpectedEnd { .. })
    ));
}

#[test]
fn an_invalid_validator_key_is_rejected() {
    let mut bytes = vote_message(Round::new(0)).to_bytes();
    // The address: a y coordinate that is not on the curve.
    let at = bytes.len() - 64 - 32;
    bytes[at..at + 32].copy_from_slice(&[0xff; 32]);
    bytes[at] = 2;
    assert!(NetMessage::from_bytes(&bytes).is_err());
}

#[test]
fn the_value_id_is_the_header_hash() {
    let body = BlockBody {
        checkpoints: vec![
            Checkpoint {
                scenario: ScenarioId::new("demo/budget").unwrap(),
                size: 3,
                root: Hash([4; 32]),
                main_ref: Hash([5; 32]),
                time_ms: 9,
            }
            .sign(&[&key(1), &key(2)]),
        ],
        ..Default::default()
    };
    let value = BlockValue::with_body(header(), body.clone());
    let p = ctx().new_proposal(Height(1), Round::new(0), value, Round::Nil, addr(0));
    let p = ctx().signing_provider(keys()[0].clone()).sign_proposal(p);
    let m = NetMessage::Consensus(SignedConsensusMsg::Proposal(p.clone()));
    let NetMessage::Consensus(SignedConsensusMsg::Proposal(back)) =
        NetMessage::from_bytes(&m.to_bytes()).unwrap()
    else {
        panic!("not a proposal");
    };
    assert_eq!(mc::Value::id(&back.value), BlockId(header().hash()));
    assert_eq!(back.value.body(), &body);
    // Decoding checks no signature: malachite does, and this one verifies.
    let verifier = ctx().signing_provider(key(99));
    assert!(verifier.verify_signed_proposal(&back.message, &back.signature, &addr(0).0));
}

#[test]
fn sync_limits_are_enforced() {
    assert!(matches!(
        SyncRequest::from_bytes(
            &SyncRequest::Blocks {
                from: 0,
                limit: MAX_SYNC_BLOCKS + 1
            }
            .to_bytes()
        ),
        Err(DecodeError::TooLong { .. })
    ));
    let block = FinalBlock {
        block: StoredBlock {
            header: header(),
            certificate: CommitCertificate::sign(&header(), 0, &set(), &[&key(1)]),
        },
        body: BlockBody::default(),
    };
    let too_many = SyncResponse::Blocks(vec![block.clone(); MAX_SYNC_BLOCKS as usize + 1]);
    assert!(matches!(
        SyncResponse::from_bytes(&too_many.to_bytes()),
        Err(DecodeError::TooLong { .. })
    ));
    // `blocks_fitting` caps the count...
    let fitted = SyncResponse::blocks_fitting(vec![block.clone(); 300]);
    let SyncResponse::Blocks(b) = &fitted else {
        panic!()
    };
    assert_eq!(b.len(), MAX_SYNC_BLOCKS as usize);
    assert_eq!(
        SyncResponse::from_bytes(&fitted.to_bytes()).as_ref(),
        Ok(&fitted)
    );
    // ...and the size.
    let big = FinalBlock {
        body: BlockBody {
            checkpoints: vec![
                Checkpoint {
                    scenario: ScenarioId::new("demo/big").unwrap(),
                    size: 1,
                    root: Hash([1; 32]),
                    main_ref: Hash([2; 32]),
                    time_ms: 3,
                }
                .sign(&[&key(1)]);
                4_000
            ],
            ..Default::default()
        },
        ..block
    };
    let fitted = SyncResponse::blocks_fitting(vec![big; 40]);
    let bytes = fitted.to_bytes();
    assert!(bytes.len() <= SYNC_LIMITS.max_total);
    let SyncResponse::Blocks(b) = SyncResponse::from_bytes(&bytes).unwrap() else {
        panic!()
    };
    assert!(b.len() > 1 && b.len() < 40, "{}", b.len());
    // Error messages are cut to fit.
    let e = SyncResponse::error("é".repeat(1_000));
    let SyncResponse::Error { message } = &e else {
        panic!()
    };
    assert!(message.len() <= MAX_SYNC_ERROR as usize);
    assert_eq!(SyncResponse::from_bytes(&e.to_bytes()).as_ref(), Ok(&e));
}

#[test]
fn oversized_messages_are_rejected_at_once() {
    let bytes = vec![0u8; NET_LIMITS.max_total + 1];
    assert!(matches!(
        NetMessage::from_bytes(&bytes),
        Err(DecodeError::TooLarge { .. })
    ));
    assert!(matches!(
        WalRecord::from_bytes(&bytes),
        Err(DecodeError::TooLarge { .. })
    ));
}
