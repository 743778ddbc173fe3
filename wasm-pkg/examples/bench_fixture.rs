//! Writes receipts and trusted checkpoints for the browser benchmark (e2e/bench.mjs): record
//! 123 456 of a 1M-record log, anchored among 100 scenarios, in a block certified by 1 and by 4
//! validators — the shape of core's native `RecordProof::verify` benchmark, so the figures compare.
//!
//! `cargo run -p trustchain-verify --example bench_fixture > fixture.json`

use ed25519_dalek::SigningKey;
use trustchain_core::chain::block::{BlockHeader, CommitCertificate};
use trustchain_core::chain::validators::{Validator, ValidatorSet};
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Domain;
use trustchain_core::encoding::value::{Fields, ScenarioId, Value, parse_decimal};
use trustchain_core::merkle::anchor::AnchorMap;
use trustchain_core::merkle::log::MemoryLog;
use trustchain_core::scenario::checkpoint::Checkpoint;
use trustchain_core::scenario::contract::{Body, UnsignedContract};
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::RecordProof;
use trustchain_core::verify::receipt;

const CHAIN_ID: &str = "trustchain-bench";
const SIZE: u64 = 1_000_000;
const SUBJECT: u64 = 123_456;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn main() {
    let sid = ScenarioId::new("bench/budget").expect("id");
    let author = key(1);
    let mut f = Fields::new();
    f.insert(
        "amount".into(),
        Value::Decimal(parse_decimal("1204.50").expect("decimal")),
    );
    f.insert("budget_line".into(), Value::Text("BL-07".into()));
    f.insert(
        "payee".into(),
        Value::Text("Riverside Roofing & Carpentry Ltd.".into()),
    );
    f.insert(
        "note".into(),
        Value::Text("Second instalment for the roof repair, invoice 2025-0412.".into()),
    );
    let entry = Entry::Contract(
        UnsignedContract {
            scenario: sid.clone(),
            kind: "expense".into(),
            author: PublicKey::of(&author),
            nonce: SUBJECT,
            time_ms: 1_760_000_000_000,
            body: Body::Fields(f),
            attachments: vec![],
        }
        .sign(&author),
    );
    let mut log = MemoryLog::new();
    let leaf = entry.leaf_hash();
    for i in 0..SIZE {
        log.append(if i == SUBJECT {
            leaf
        } else {
            Domain::LogLeaf.hash(&i.to_be_bytes())
        });
    }
    let checkpoint = Checkpoint {
        scenario: sid.clone(),
        size: SIZE,
        root: log.root_at(SIZE),
        main_ref: Domain::BlockHeader.hash(b"previous block"),
        time_ms: 1_760_000_005_000,
    }
    .sign(&[&key(21)]);
    let mut anchors = AnchorMap::new();
    for i in 1..100u32 {
        anchors.insert(
            ScenarioId::new(&format!("other/s{i}"))
                .expect("id")
                .anchor_key(),
            Domain::Checkpoint.hash(&i.to_be_bytes()),
        );
    }
    anchors.insert(sid.anchor_key(), checkpoint.checkpoint.digest());

    let mut out = serde_json::Map::new();
    for n in [1u8, 4] {
        let keys: Vec<SigningKey> = (0..n).map(|i| key(11 + i)).collect();
        let set = ValidatorSet::new(
            1,
            keys.iter()
                .map(|k| Validator {
                    key: PublicKey::of(k),
                    weight: 1,
                })
                .collect(),
        )
        .expect("set");
        let header = BlockHeader {
            chain_id: CHAIN_ID.into(),
            height: 12_345,
            epoch: set.epoch,
            prev: Domain::BlockHeader.hash(b"previous block"),
            time_ms: 1_760_000_005_500,
            anchor_root: anchors.root(),
            moved: 100,
            body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
        };
        let signers: Vec<&SigningKey> = keys.iter().collect();
        let proof = RecordProof {
            entry: entry.clone(),
            inclusion: log.prove_inclusion(SUBJECT, SIZE).expect("inclusion"),
            checkpoint: checkpoint.clone(),
            anchor: anchors.prove(&sid.anchor_key()),
            certificate: CommitCertificate::sign(&header, 0, &set, &signers),
            header: header.clone(),
        };
        assert!(proof.verify(&set, CHAIN_ID, None).is_verified());
        let trust = TrustedCheckpoint {
            chain_id: CHAIN_ID.into(),
            height: header.height,
            block: header.hash(),
            validators: set,
        };
        out.insert(
            format!("validators_{n}"),
            serde_json::json!({ "receipt": receipt::to_base64url(&proof), "trust": trust }),
        );
    }
    println!("{}", serde_json::Value::Object(out));
}
