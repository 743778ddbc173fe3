//! A deterministic scenario shared by the integration tests: a charter and contracts in a log, a
//! checkpoint signed by two replicas, an anchor map of several scenarios, and main blocks certified
//! by a weighted four-validator set. Every key comes from a fixed seed, every time is fixed.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use trustchain_core::chain::block::{BlockHeader, CommitCertificate};
use trustchain_core::chain::validators::{Validator, ValidatorSet};
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::{Domain, Hash};
use trustchain_core::encoding::value::{Fields, ScenarioId, Value, parse_decimal};
use trustchain_core::merkle::anchor::AnchorMap;
use trustchain_core::merkle::log::MemoryLog;
use trustchain_core::scenario::charter::{Charter, RecordKind, UnsignedCharter};
use trustchain_core::scenario::checkpoint::{Checkpoint, SignedCheckpoint};
use trustchain_core::scenario::contract::{Body, Contract, UnsignedContract};
use trustchain_core::scenario::entry::Entry;
use trustchain_core::scenario::schema::{FieldSchema, FieldType};
use trustchain_core::verify::proof::RecordProof;

/// The network the fixture's blocks belong to.
pub const CHAIN_ID: &str = "trustchain-test";
/// The scenario whose records are proven.
pub const SCENARIO: &str = "demo/budget";
/// Base time: 2025-10-09T08:53:20Z, in milliseconds.
pub const T0: u64 = 1_760_000_000_000;
/// Other scenarios present in the anchor map.
pub const OTHER_SCENARIOS: [&str; 6] = [
    "acme/ledger",
    "acme/decisions",
    "city/roads",
    "user-chain",
    "arbitration",
    "node-registry",
];
/// Index of the contract the tamper test and the receipt vector prove.
pub const SUBJECT_INDEX: u64 = 4;
/// Index of the contract with an undeclared field (`colour`).
pub const UNKNOWN_FIELD_INDEX: u64 = 5;
/// Index of the contract whose `amount` is text.
pub const WRONG_TYPE_INDEX: u64 = 6;

/// The signing key with seed `[n; 32]`.
pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}
/// The public key of seed `n`.
pub fn pk(n: u8) -> PublicKey {
    PublicKey::of(&key(n))
}
/// A scenario id that must be valid.
pub fn sid(s: &str) -> ScenarioId {
    ScenarioId::new(s).expect("valid scenario id")
}
/// A decimal value from exact text.
pub fn dec(s: &str) -> Value {
    Value::Decimal(parse_decimal(s).expect("exact decimal"))
}
/// A text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The charter owner (seed 1).
pub const OWNER: u8 = 1;
/// A writer (seed 2).
pub const WRITER: u8 = 2;
/// A key that may not write (seed 3).
pub const STRANGER: u8 = 3;
/// The two replicas of the scenario.
pub const REPLICAS: [u8; 2] = [21, 22];
/// Epoch 1 validators: (seed, weight). Total 90: two 30s are exactly 2/3 and do not suffice.
pub const EPOCH1: [(u8, u64); 4] = [(11, 10), (12, 20), (13, 30), (14, 30)];
/// Epoch 2 validators.
pub const EPOCH2: [(u8, u64); 4] = [(31, 25), (32, 25), (33, 25), (34, 25)];

/// A validator set from `(seed, weight)` pairs.
pub fn validator_set(epoch: u64, members: &[(u8, u64)]) -> ValidatorSet {
    ValidatorSet::new(
        epoch,
        members
            .iter()
            .map(|(s, w)| Validator {
                key: pk(*s),
                weight: *w,
            })
            .collect(),
    )
    .expect("valid validator set")
}

/// The scenario's charter: kinds `expense` (fields, no rules) and `invoice` (digest only).
pub fn charter() -> Charter {
    let field = |name: &str, description: &str, ty: FieldType, required: bool| FieldSchema {
        name: name.to_string(),
        description: description.to_string(),
        ty,
        required,
    };
    UnsignedCharter {
        scenario: sid(SCENARIO),
        title: "Demo budget".to_string(),
        white_paper: "Every expense of the demo project, against its budget.".to_string(),
        owners: vec![pk(OWNER)],
        writers: vec![pk(WRITER)],
        kinds: vec![
            RecordKind {
                name: "expense".to_string(),
                description: "Money spent.".to_string(),
                digest_only: false,
                fields: vec![
                    field(
                        "amount",
                        "Amount in yuan",
                        FieldType::Decimal {
                            min: Some(parse_decimal("0").unwrap()),
                            max: Some(parse_decimal("1000000.00").unwrap()),
                            max_scale: 2,
                            currency: None,
                        },
                        true,
                    ),
                    field(
                        "category",
                        "What it was spent on",
                        FieldType::Text {
                            max_len: 32,
                            one_of: vec![
                                "equipment".to_string(),
                                "services".to_string(),
                                "travel".to_string(),
                            ],
                        },
                        true,
                    ),
                    field(
                        "memo",
                        "Free text",
                        FieldType::Text {
                            max_len: 200,
                            one_of: vec![],
                        },
                        false,
                    ),
                ],
                rules: vec![],
            },
            RecordKind {
                name: "invoice".to_string(),
                description: "A scanned invoice, kept by the project.".to_string(),
                digest_only: true,
                fields: vec![],
                rules: vec![],
            },
        ],
        time_ms: T0,
    }
    .sign(&key(OWNER))
}

/// A contract of `kind` with `body`, signed by `author`.
pub fn contract(
    author: u8,
    kind: &str,
    nonce: u64,
    body: Body,
    attachments: Vec<Hash>,
) -> Contract {
    UnsignedContract {
        scenario: sid(SCENARIO),
        kind: kind.to_string(),
        author: pk(author),
        nonce,
        time_ms: T0 + nonce * 1_000,
        body,
        attachments,
    }
    .sign(&key(author))
}

/// Fields from pairs.
pub fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<BTreeMap<_, _>>()
}

/// An `expense` by the writer.
pub fn expense(nonce: u64, amount: &str, category: &str, memo: Option<&str>) -> Contract {
    let mut f = vec![("amount", dec(amount)), ("category", text(category))];
    if let Some(m) = memo {
        f.push(("memo", text(m)));
    }
    contract(WRITER, "expense", nonce, Body::Fields(fields(&f)), vec![])
}

/// The log's entries: 0 charter, 1–2 expenses, 3 a digest-only invoice, 4 an expense with memo
/// and attachment (the subject), 5 an expense with an undeclared field, 6 an expense whose amount
/// is text. The log accepts all of them; only a verifier holding the charter rejects 5 and 6.
pub fn entries() -> Vec<Entry> {
    let invoice_doc = blake3::hash(b"invoice 2025-0042.pdf");
    let subject = contract(
        WRITER,
        "expense",
        4,
        Body::Fields(fields(&[
            ("amount", dec("1204.50")),
            ("category", text("equipment")),
            ("memo", text("laptops for the field team")),
        ])),
        vec![Hash(*invoice_doc.as_bytes())],
    );
    vec![
        Entry::Charter(charter()),
        Entry::Contract(expense(1, "120.00", "travel", None)),
        Entry::Contract(expense(2, "99.99", "services", Some("hosting, October"))),
        Entry::Contract(contract(
            WRITER,
            "invoice",
            3,
            Body::Digest(Hash(*invoice_doc.as_bytes())),
            vec![],
        )),
        Entry::Contract(subject),
        Entry::Contract(contract(
            WRITER,
            "expense",
            5,
            Body::Fields(fields(&[
                ("amount", dec("5.00")),
                ("category", text("travel")),
                ("colour", text("red")),
            ])),
            vec![],
        )),
        Entry::Contract(contract(
            WRITER,
            "expense",
            6,
            Body::Fields(fields(&[
                ("amount", text("12.50")),
                ("category", text("travel")),
            ])),
            vec![],
        )),
    ]
}

/// The stand-in digest of another scenario's latest checkpoint.
pub fn other_digest(name: &str) -> Hash {
    Domain::Checkpoint.hash(name.as_bytes())
}

/// Everything a record proof is made of.
pub struct Fixture {
    pub charter: Charter,
    pub entries: Vec<Entry>,
    pub log: MemoryLog,
    pub checkpoint: SignedCheckpoint,
    pub anchors: AnchorMap,
    pub set: ValidatorSet,
    /// Block 99: the checkpoint's `main_ref`, and the light client's trusted block.
    pub parent: BlockHeader,
    /// Block 100: anchors the checkpoint.
    pub header: BlockHeader,
    /// Signed by validators 11, 13, 14 (weight 70 of 90).
    pub certificate: CommitCertificate,
}

impl Fixture {
    pub fn new() -> Self {
        let charter = charter();
        let entries = entries();
        let mut log = MemoryLog::new();
        for e in &entries {
            log.append(e.leaf_hash());
        }
        let set = validator_set(1, &EPOCH1);
        let parent = BlockHeader {
            chain_id: CHAIN_ID.to_string(),
            height: 99,
            epoch: 1,
            prev: Domain::BlockHeader.hash(b"block 98"),
            time_ms: T0 + 55_000,
            anchor_root: Hash::ZERO,
            moved: 0,
            body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
        };
        let checkpoint = Checkpoint {
            scenario: sid(SCENARIO),
            size: log.size(),
            root: log.root(),
            main_ref: parent.hash(),
            time_ms: T0 + 60_000,
        }
        .sign(&[&key(REPLICAS[0]), &key(REPLICAS[1])]);
        let mut anchors = AnchorMap::new();
        for s in OTHER_SCENARIOS {
            anchors.insert(sid(s).anchor_key(), other_digest(s));
        }
        anchors.insert(sid(SCENARIO).anchor_key(), checkpoint.checkpoint.digest());
        let header = BlockHeader {
            chain_id: CHAIN_ID.to_string(),
            height: 100,
            epoch: 1,
            prev: parent.hash(),
            time_ms: T0 + 65_000,
            anchor_root: anchors.root(),
            moved: 1,
            body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
        };
        let certificate =
            CommitCertificate::sign(&header, 0, &set, &[&key(11), &key(13), &key(14)]);
        Fixture {
            charter,
            entries,
            log,
            checkpoint,
            anchors,
            set,
            parent,
            header,
            certificate,
        }
    }

    /// The record proof of the entry at `index`.
    pub fn proof(&self, index: u64) -> RecordProof {
        RecordProof {
            entry: self.entries[index as usize].clone(),
            inclusion: self.log.prove_inclusion(index, self.log.size()).unwrap(),
            checkpoint: self.checkpoint.clone(),
            anchor: self.anchors.prove(&sid(SCENARIO).anchor_key()),
            header: self.header.clone(),
            certificate: self.certificate.clone(),
        }
    }
}

/// A header of `epoch` at `height` on the fixture chain, naming `set` and `next`.
pub fn block(
    height: u64,
    epoch: u64,
    time_ms: u64,
    set: &ValidatorSet,
    next: &ValidatorSet,
) -> BlockHeader {
    BlockHeader {
        chain_id: CHAIN_ID.to_string(),
        height,
        epoch,
        prev: Domain::BlockHeader.hash(&height.to_be_bytes()),
        time_ms,
        anchor_root: Hash::ZERO,
        moved: 0,
        body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
        validators_hash: set.hash(),
        next_validators_hash: next.hash(),
    }
}

/// A certificate of `header` by the validators with seeds `signers`.
pub fn certify(header: &BlockHeader, set: &ValidatorSet, signers: &[u8]) -> CommitCertificate {
    let keys: Vec<SigningKey> = signers.iter().map(|s| key(*s)).collect();
    let refs: Vec<&SigningKey> = keys.iter().collect();
    CommitCertificate::sign(header, 0, set, &refs)
}
