//! trustchain-core benchmarks. Every figure is measured next to the physical limit it is bounded
//! by, in the same run, and the ratios are printed at the end (`== RATIOS ==`), together with the
//! sizes criterion cannot measure (`== SIZES ==`). See BENCHMARKS.md.
//!
//! Run: `cargo bench -p trustchain-core --bench core` (add `-- --quick` while developing).
//!
//! How the ratios are computed: every timed routine goes through [`timed`] (criterion's
//! `iter_custom`), which also records `(iterations, duration)` of each sample. The figure used in a
//! ratio is the median per-iteration time of the last `SAMPLES` samples, i.e. of criterion's
//! measurement phase (the warm-up samples come first and are dropped).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use trustchain_core::chain::block::{BlockHeader, CommitCertificate};
use trustchain_core::chain::validators::{Validator, ValidatorSet};
use trustchain_core::crypto::hash::{Domain, Hash};
use trustchain_core::crypto::{self, PublicKey};
use trustchain_core::encoding::Encode;
use trustchain_core::encoding::value::{Fields, ScenarioId, Value, parse_decimal};
use trustchain_core::merkle::anchor::AnchorMap;
use trustchain_core::merkle::log::{InclusionProof, MemoryLog};
use trustchain_core::scenario::charter::{Charter, RecordKind, UnsignedCharter};
use trustchain_core::scenario::checkpoint::Checkpoint;
use trustchain_core::scenario::contract::{Body, Contract, UnsignedContract};
use trustchain_core::scenario::entry::Entry;
use trustchain_core::scenario::schema::{FieldSchema, FieldType};
use trustchain_core::verify::proof::RecordProof;
use trustchain_core::verify::receipt;

// ---------------------------------------------------------------------------------------------
// Sample recording (for the ratios)
// ---------------------------------------------------------------------------------------------

#[path = "samples.rs"]
mod samples;
use samples::{SAMPLES, ns, timed};

// ---------------------------------------------------------------------------------------------
// Fixture: a scenario with a 1M-leaf log, an anchor map of 100 scenarios, 1- and 4-validator sets
// ---------------------------------------------------------------------------------------------

const CHAIN_ID: &str = "trustchain-dev-0123456789ab";
const SCENARIO: &str = "bench/budget";
const T0: u64 = 1_760_000_000_000;
/// Log sizes the proofs are made at.
const SIZE_1K: u64 = 1_000;
const SIZE_1M: u64 = 1_000_000;
/// Where the proven contracts sit (inside the left perfect subtree, so the paths are full length:
/// 10 hashes at 1k, 20 at 1M).
const SUBJECT_1K: u64 = 500;
const SUBJECT_1M: u64 = 123_456;
/// Scenarios in the anchor map.
const ANCHORED_SCENARIOS: u32 = 100;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}
fn sid(s: &str) -> ScenarioId {
    ScenarioId::new(s).expect("valid scenario id")
}

fn field(name: &str, ty: FieldType, required: bool) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        description: String::new(),
        ty,
        required,
    }
}

/// A charter whose record kinds carry fields but NO rules (the rule engine is benchmarked in the
/// relay bench, which has the `compiler` feature).
fn charter(owner: &SigningKey) -> Charter {
    let text = |max_len| FieldType::Text {
        max_len,
        one_of: vec![],
    };
    UnsignedCharter {
        scenario: sid(SCENARIO),
        title: "Benchmark budget".into(),
        white_paper: "Expenses of the benchmark project.".into(),
        owners: vec![PublicKey::of(owner)],
        writers: vec![],
        kinds: vec![RecordKind {
            name: "expense".into(),
            description: "Money spent.".into(),
            digest_only: false,
            fields: vec![
                field(
                    "amount",
                    FieldType::Decimal {
                        min: None,
                        max: None,
                        max_scale: 2,
                        currency: None,
                    },
                    true,
                ),
                field("budget_line", text(16), true),
                field("payee", text(200), true),
                field("note", text(1000), false),
            ],
            rules: vec![],
        }],
        time_ms: T0,
    }
    .sign(owner)
}

/// A typical contract: four fields, about 300 bytes encoded.
fn contract(author: &SigningKey, nonce: u64) -> Contract {
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
        Value::Text(
            "Second instalment for the roof repair, invoice 2025-0412, approved by the committee."
                .into(),
        ),
    );
    UnsignedContract {
        scenario: sid(SCENARIO),
        kind: "expense".into(),
        author: PublicKey::of(author),
        nonce,
        time_ms: T0 + nonce,
        body: Body::Fields(f),
        attachments: vec![],
    }
    .sign(author)
}

fn dummy_leaf(i: u64) -> Hash {
    Domain::LogLeaf.hash(&i.to_be_bytes())
}

struct Fixture {
    log: MemoryLog,
    entry_1k: Entry,
    entry_1m: Entry,
    replica: SigningKey,
    others: Vec<(Hash, Hash)>,
    set1: (ValidatorSet, Vec<SigningKey>),
    set4: (ValidatorSet, Vec<SigningKey>),
}

fn validator_set(seeds: &[u8]) -> (ValidatorSet, Vec<SigningKey>) {
    let keys: Vec<SigningKey> = seeds.iter().map(|s| key(*s)).collect();
    let set = ValidatorSet::new(
        1,
        keys.iter()
            .map(|k| Validator {
                key: PublicKey::of(k),
                weight: 1,
            })
            .collect(),
    )
    .expect("valid set");
    (set, keys)
}

fn fixture() -> Fixture {
    let owner = key(1);
    let ch = charter(&owner);
    let entry_1k = Entry::Contract(contract(&owner, SUBJECT_1K));
    let entry_1m = Entry::Contract(contract(&owner, SUBJECT_1M));
    let t = Instant::now();
    let mut log = MemoryLog::new();
    let charter_leaf = Entry::Charter(ch).leaf_hash();
    let (l1k, l1m) = (entry_1k.leaf_hash(), entry_1m.leaf_hash());
    for i in 0..SIZE_1M {
        let leaf = match i {
            0 => charter_leaf,
            SUBJECT_1K => l1k,
            SUBJECT_1M => l1m,
            _ => dummy_leaf(i),
        };
        log.append(leaf);
    }
    eprintln!(
        "fixture: MemoryLog of {SIZE_1M} leaf hashes built in {:.2?}",
        t.elapsed()
    );
    let others = (1..ANCHORED_SCENARIOS)
        .map(|i| {
            (
                sid(&format!("other/s{i}")).anchor_key(),
                Domain::Checkpoint.hash(&i.to_be_bytes()),
            )
        })
        .collect();
    Fixture {
        log,
        entry_1k,
        entry_1m,
        replica: key(21),
        others,
        set1: validator_set(&[11]),
        set4: validator_set(&[11, 12, 13, 14]),
    }
}

impl Fixture {
    /// The record proof of the subject at `size`, in a block certified by every member of the
    /// 1- or 4-validator set; the checkpoint is signed by one replica (as the dev relay does).
    fn proof(&self, size: u64, validators: usize) -> RecordProof {
        let (entry, index) = if size == SIZE_1K {
            (&self.entry_1k, SUBJECT_1K)
        } else {
            (&self.entry_1m, SUBJECT_1M)
        };
        let checkpoint = Checkpoint {
            scenario: sid(SCENARIO),
            size,
            root: self.log.root_at(size),
            main_ref: Domain::BlockHeader.hash(b"previous block"),
            time_ms: T0 + 5_000,
        }
        .sign(&[&self.replica]);
        let mut anchors = AnchorMap::new();
        for (k, v) in &self.others {
            anchors.insert(*k, *v);
        }
        let key = sid(SCENARIO).anchor_key();
        anchors.insert(key, checkpoint.checkpoint.digest());
        let (set, keys) = if validators == 1 {
            &self.set1
        } else {
            &self.set4
        };
        let header = BlockHeader {
            chain_id: CHAIN_ID.into(),
            height: 12_345,
            epoch: set.epoch,
            prev: Domain::BlockHeader.hash(b"previous block"),
            time_ms: T0 + 5_500,
            anchor_root: anchors.root(),
            moved: ANCHORED_SCENARIOS,
            body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
        };
        let signers: Vec<&SigningKey> = keys.iter().collect();
        let certificate = CommitCertificate::sign(&header, 0, set, &signers);
        let proof = RecordProof {
            entry: entry.clone(),
            inclusion: self
                .log
                .prove_inclusion(index, size)
                .expect("inclusion proof"),
            checkpoint,
            anchor: anchors.prove(&key),
            header,
            certificate,
        };
        let verdict = proof.verify(set, CHAIN_ID, None);
        assert!(
            verdict.is_verified(),
            "fixture proof must verify: {verdict:?}"
        );
        proof
    }
    fn set(&self, validators: usize) -> &ValidatorSet {
        if validators == 1 {
            &self.set1.0
        } else {
            &self.set4.0
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Benches
// ---------------------------------------------------------------------------------------------

/// The limit: one blake3 compression (a log node), vs inclusion-proof verification.
fn hashing(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("hash");
    let (a, b) = (dummy_leaf(1), dummy_leaf(2));
    g.throughput(Throughput::Elements(1));
    g.bench_function("log_node_hash_pair_64B", |bch| {
        bch.iter_custom(|n| {
            timed("hash/node", n, || {
                black_box(Domain::LogNode.hash_pair(black_box(&a), black_box(&b)));
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("inclusion_verify");
    for (size, index, id) in [
        (SIZE_1K, SUBJECT_1K, "inclusion/1k"),
        (SIZE_1M, SUBJECT_1M, "inclusion/1M"),
    ] {
        let p: InclusionProof = fx.log.prove_inclusion(index, size).expect("proof");
        let leaf = if size == SIZE_1K {
            fx.entry_1k.leaf_hash()
        } else {
            fx.entry_1m.leaf_hash()
        };
        let root = fx.log.root_at(size);
        p.verify(&leaf, &root).expect("valid proof");
        g.throughput(Throughput::Elements(p.path.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &p, |bch, p| {
            bch.iter_custom(|n| {
                timed(id, n, || {
                    black_box(black_box(p).verify(black_box(&leaf), black_box(&root))).expect("ok");
                })
            })
        });
    }
    g.finish();
}

/// The limits: ed25519 verify_strict and batch verification, raw (ed25519-dalek with a prepared
/// key) and through `trustchain_core::crypto` (which decompresses the key on every call).
fn signatures(c: &mut Criterion) {
    let keys: Vec<SigningKey> = (0..64u8).map(|i| key(100 + i)).collect();
    let items: Vec<(PublicKey, Hash, crypto::Signature)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let d = Domain::Contract.hash(&(i as u64).to_be_bytes());
            (PublicKey::of(k), d, crypto::sign(k, &d))
        })
        .collect();
    let (pk, digest, sig) = items[0];
    let vk: VerifyingKey = keys[0].verifying_key();
    let dsig = ed25519_dalek::Signature::from_bytes(&sig.0);

    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("dalek_verify_strict_prepared_key", |b| {
        b.iter_custom(|n| {
            timed("sig/dalek_strict", n, || {
                black_box(vk.verify_strict(black_box(digest.as_bytes()), black_box(&dsig)))
                    .expect("ok");
            })
        })
    });
    g.bench_function("crypto_verify_strict", |b| {
        b.iter_custom(|n| {
            timed("sig/crypto_strict", n, || {
                black_box(black_box(&pk).verify(black_box(&digest), black_box(&sig))).expect("ok");
            })
        })
    });
    let bytes = *pk.as_bytes();
    g.bench_function("pubkey_decompress_check", |b| {
        b.iter_custom(|n| {
            timed("sig/decompress", n, || {
                black_box(PublicKey::from_bytes(black_box(bytes))).expect("ok");
            })
        })
    });
    g.throughput(Throughput::Elements(items.len() as u64));
    let msgs: Vec<&[u8]> = items
        .iter()
        .map(|(_, d, _)| d.as_bytes().as_slice())
        .collect();
    let sigs: Vec<ed25519_dalek::Signature> = items
        .iter()
        .map(|(_, _, s)| ed25519_dalek::Signature::from_bytes(&s.0))
        .collect();
    let vks: Vec<VerifyingKey> = keys.iter().map(|k| k.verifying_key()).collect();
    g.bench_function("dalek_verify_batch_64_prepared_keys", |b| {
        b.iter_custom(|n| {
            timed("sig/dalek_batch64", n, || {
                ed25519_dalek::verify_batch(black_box(&msgs), black_box(&sigs), black_box(&vks))
                    .expect("ok");
            })
        })
    });
    g.bench_function("crypto_verify_batch_64", |b| {
        b.iter_custom(|n| {
            timed("sig/crypto_batch64", n, || {
                crypto::verify_batch(black_box(&items)).expect("ok");
            })
        })
    });
    g.finish();
    // Keep the signer trait in use for the prepared-key path (and check it agrees).
    assert_eq!(keys[0].sign(digest.as_bytes()).to_bytes(), sig.0);
}

/// RecordProof::verify, native, with a 1- and a 4-validator certificate, at a 1M-record log.
fn record_proof(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("record_proof_verify");
    g.throughput(Throughput::Elements(1));
    for (v, id) in [(1usize, "proof/1v"), (4, "proof/4v")] {
        let p = fx.proof(SIZE_1M, v);
        let set = fx.set(v).clone();
        g.bench_function(format!("{v}_validator_1M_log"), |b| {
            b.iter_custom(|n| {
                timed(id, n, || {
                    let verdict = black_box(&p).verify(black_box(&set), CHAIN_ID, None);
                    assert!(verdict.is_verified());
                    black_box(verdict);
                })
            })
        });
    }
    g.finish();

    // The parts, each timed on its own in this run.
    let mut g = c.benchmark_group("record_proof_parts");
    g.throughput(Throughput::Elements(1));
    let p1 = fx.proof(SIZE_1M, 1);
    let p4 = fx.proof(SIZE_1M, 4);
    let cp = &p1.checkpoint;
    let key = cp.checkpoint.scenario.anchor_key();
    let leaf = p1.entry.leaf_hash();
    let root = cp.checkpoint.root;
    g.bench_function("entry_signature", |b| {
        b.iter_custom(|n| {
            timed("part/signature", n, || {
                black_box(&p1.entry).verify_signature().expect("ok")
            })
        })
    });
    g.bench_function("entry_leaf_hash", |b| {
        b.iter_custom(|n| {
            timed("part/leaf", n, || {
                black_box(black_box(&p1.entry).leaf_hash());
            })
        })
    });
    g.bench_function("inclusion_verify", |b| {
        b.iter_custom(|n| {
            timed("part/inclusion", n, || {
                black_box(&p1.inclusion).verify(&leaf, &root).expect("ok")
            })
        })
    });
    g.bench_function("checkpoint_signatures", |b| {
        b.iter_custom(|n| {
            timed("part/checkpoint", n, || {
                black_box(cp).verify_signatures().expect("ok")
            })
        })
    });
    g.bench_function("anchor_verify_member", |b| {
        b.iter_custom(|n| {
            timed("part/anchor", n, || {
                let digest = black_box(cp).checkpoint.digest();
                black_box(&p1.anchor)
                    .verify_member(&key, &digest, &p1.header.anchor_root)
                    .expect("ok")
            })
        })
    });
    for (p, v, id) in [(&p1, 1usize, "part/cert1"), (&p4, 4, "part/cert4")] {
        let set = fx.set(v).clone();
        g.bench_function(format!("certificate_{v}_validator"), |b| {
            b.iter_custom(|n| {
                timed(id, n, || {
                    black_box(&p.certificate)
                        .verify(&p.header, &set)
                        .expect("ok")
                })
            })
        });
    }
    g.finish();
}

/// Anchor-map proofs as the relay builds them per record request (`AnchorMap::prove`).
fn anchor(c: &mut Criterion) {
    let mut g = c.benchmark_group("anchor_map_prove");
    for (n, id) in [(100u32, "anchor/prove/100"), (10_000, "anchor/prove/10k")] {
        let mut m = AnchorMap::new();
        for i in 0..n {
            m.insert(
                sid(&format!("s/{i}")).anchor_key(),
                Domain::Checkpoint.hash(&i.to_be_bytes()),
            );
        }
        let k = sid("s/7").anchor_key();
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_custom(|iters| {
                timed(id, iters, || {
                    black_box(black_box(&m).prove(black_box(&k)));
                })
            })
        });
    }
    g.finish();
}

/// Block validity (issue 11): what every validator adds per anchored checkpoint besides its
/// signatures — the founding/recorded-home rule, the replica-set rule over 16 members, and the
/// RFC 9162 consistency proof from the anchored checkpoint (1M → 1M + 1,000 records).
fn validity(c: &mut Criterion, fx: &Fixture) {
    use trustchain_core::chain::placement::{DEFAULT_REPLICAS, Member, replicas};
    use trustchain_core::chain::validity::{Anchored, check_anchoring};
    use trustchain_core::scenario::checkpoint::Link;
    let scenario = sid(SCENARIO);
    let members: Vec<Member> = (0..16u8)
        .map(|i| Member {
            key: PublicKey::of(&key(60 + i)),
            region: "eu".into(),
            capacity: 1,
        })
        .collect();
    let home_key = key(60);
    let home = PublicKey::of(&home_key);
    let set = replicas(&scenario, &home, &members, DEFAULT_REPLICAS);
    let replica_key = (0..16u8)
        .map(|i| key(60 + i))
        .find(|k| PublicKey::of(k) == set[0])
        .expect("a replica");
    let (from, to) = (SIZE_1M - 1_000, SIZE_1M);
    let anchored = Checkpoint {
        scenario: scenario.clone(),
        size: from,
        root: fx.log.root_at(from),
        main_ref: Domain::BlockHeader.hash(b"previous block"),
        time_ms: T0,
    };
    let mut cp = Checkpoint {
        size: to,
        root: fx.log.root_at(to),
        ..anchored.clone()
    }
    .sign(&[&home_key, &replica_key]);
    cp.link = Some(Link::Extend {
        proof: fx.log.prove_consistency(from, to).expect("consistency"),
    });
    let a = Anchored {
        checkpoint: &anchored,
        home: &home,
    };
    assert_eq!(
        check_anchoring(Some(a), &cp, |_| members.clone(), DEFAULT_REPLICAS),
        Ok(home)
    );
    let mut g = c.benchmark_group("validity");
    g.throughput(Throughput::Elements(1));
    g.bench_function("check_anchoring_1M_plus_1k", |b| {
        b.iter_custom(|n| {
            timed("validity/anchoring", n, || {
                black_box(check_anchoring(
                    Some(black_box(a)),
                    black_box(&cp),
                    |_| members.clone(),
                    DEFAULT_REPLICAS,
                ))
                .expect("ok");
            })
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Sizes (criterion cannot measure them): printed with a clear label
// ---------------------------------------------------------------------------------------------

fn receipt_sizes(fx: &Fixture) -> Vec<String> {
    let mut out = Vec::new();
    for size in [SIZE_1K, SIZE_1M] {
        for v in [1usize, 4] {
            let p = fx.proof(size, v);
            let bytes = receipt::to_bytes(&p);
            let text = receipt::to_base64url(&p);
            let back = receipt::from_base64url(&text).expect("receipt decodes");
            assert!(back.verify(fx.set(v), CHAIN_ID, None).is_verified());
            let parts = [
                ("entry", p.entry.to_bytes().len()),
                ("inclusion", p.inclusion.to_bytes().len()),
                ("checkpoint", p.checkpoint.to_bytes().len()),
                ("anchor", p.anchor.to_bytes().len()),
                ("header", p.header.to_bytes().len()),
                ("certificate", p.certificate.to_bytes().len()),
            ];
            let detail: Vec<String> = parts.iter().map(|(n, b)| format!("{n}={b}")).collect();
            out.push(format!(
                "SIZE receipt log={size:>7} validators={v} path={:>2} anchor_path={} bytes={} base64url_chars={} goal<=2048 {} ({})",
                p.inclusion.path.len(),
                p.anchor.siblings.len(),
                bytes.len(),
                text.len(),
                if bytes.len() <= 2048 { "MET" } else { "MISSED" },
                detail.join(" ")
            ));
        }
    }
    out
}

/// Main-chain bytes per block: header + certificate + the checkpoints anchored in the block.
fn block_sizes() -> Vec<String> {
    let mut out = Vec::new();
    let replica = key(21);
    let (set, keys) = validator_set(&[11]);
    let (set4, keys4) = validator_set(&[11, 12, 13, 14]);
    for records in [10u64, 10_000] {
        // The real root of a `records`-leaf log (every scenario shares it: the encoding of a
        // checkpoint is fixed-width in its size and root, so the bytes do not depend on it).
        let mut log = MemoryLog::new();
        for i in 0..records {
            log.append(dummy_leaf(i));
        }
        let root = log.root();
        for moved in [1u32, 100, 1000] {
            let mut anchors = AnchorMap::new();
            let mut cp_bytes = 0usize;
            for j in 0..moved {
                let id = sid(&format!("bench/s{j}"));
                let cp = Checkpoint {
                    scenario: id.clone(),
                    size: records,
                    root,
                    main_ref: Domain::BlockHeader.hash(b"previous block"),
                    time_ms: T0,
                }
                .sign(&[&replica]);
                cp_bytes += cp.to_bytes().len();
                anchors.insert(id.anchor_key(), cp.checkpoint.digest());
            }
            for (vs, ks, v) in [(&set, &keys, 1), (&set4, &keys4, 4)] {
                let header = BlockHeader {
                    chain_id: CHAIN_ID.into(),
                    height: 12_345,
                    epoch: vs.epoch,
                    prev: Domain::BlockHeader.hash(b"previous block"),
                    time_ms: T0,
                    anchor_root: anchors.root(),
                    moved,
                    body_hash: trustchain_core::chain::block::BlockBody::default().hash(),
                    validators_hash: vs.hash(),
                    next_validators_hash: vs.hash(),
                };
                let signers: Vec<&SigningKey> = ks.iter().collect();
                let cert = CommitCertificate::sign(&header, 0, vs, &signers);
                let (h, c) = (header.to_bytes().len(), cert.to_bytes().len());
                let total = h + c + cp_bytes;
                out.push(format!(
                    "SIZE block moved={moved:>4} records_per_scenario={records:>5} validators={v} header={h} certificate={c} checkpoints={cp_bytes} total={total} per_moved_scenario={:.1} per_record={:.4}",
                    cp_bytes as f64 / moved as f64,
                    total as f64 / (moved as u64 * records) as f64
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

fn fmt_ns(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| {
        if v >= 1e6 {
            format!("{:.2} ms", v / 1e6)
        } else if v >= 1e3 {
            format!("{:.2} µs", v / 1e3)
        } else {
            format!("{v:.1} ns")
        }
    })
}

fn report(fx: &Fixture, sizes: &[String]) {
    let h = ns("hash/node");
    println!("\n== RATIOS (median of the measurement samples, same run) ==");
    println!(
        "limit: blake3 keyed hash of 64 B (log node) = {} ({:.1} M hashes/s)",
        fmt_ns(h),
        h.map_or(0.0, |h| 1e3 / h)
    );
    for (id, size, index) in [
        ("inclusion/1k", SIZE_1K, SUBJECT_1K),
        ("inclusion/1M", SIZE_1M, SUBJECT_1M),
    ] {
        let len = fx
            .log
            .prove_inclusion(index, size)
            .expect("proof")
            .path
            .len() as f64;
        let v = ns(id);
        match (v, h) {
            (Some(v), Some(h)) => {
                let overhead = v / (len * h);
                println!(
                    "{id}: verify = {} for a path of {len} hashes; verify/(len x hash) = {overhead:.2}; hashing throughput inside verify = {:.2}x raw (goal >= 0.5x) {}",
                    fmt_ns(Some(v)),
                    1.0 / overhead,
                    if 1.0 / overhead >= 0.5 {
                        "MET"
                    } else {
                        "MISSED"
                    }
                );
            }
            _ => println!("{id}: n/a (not run)"),
        }
    }
    let ds = ns("sig/dalek_strict");
    let cs = ns("sig/crypto_strict");
    let dc = ns("sig/decompress");
    let db = ns("sig/dalek_batch64").map(|v| v / 64.0);
    let cb = ns("sig/crypto_batch64").map(|v| v / 64.0);
    println!(
        "limit: ed25519 verify_strict (dalek, prepared key) = {} per signature",
        fmt_ns(ds)
    );
    println!(
        "crypto::PublicKey::verify (verify_strict + key decompression) = {} per signature; /limit = {}",
        fmt_ns(cs),
        ratio(cs, ds)
    );
    println!(
        "PublicKey::from_bytes (decompress + weak-key check) = {}",
        fmt_ns(dc)
    );
    println!(
        "limit: ed25519 batch verify of 64 (dalek, prepared keys) = {} per signature ({} faster than single)",
        fmt_ns(db),
        ratio(ds, db)
    );
    println!(
        "crypto::verify_batch of 64 = {} per signature; /limit = {}",
        fmt_ns(cb),
        ratio(cb, db)
    );
    for (v, id) in [(1usize, "proof/1v"), (4, "proof/4v")] {
        let p = fx.proof(SIZE_1M, v);
        let sigs = 2 + p.certificate.signatures.len();
        let hashes = p.inclusion.path.len() + p.anchor.siblings.len() + 1;
        let t = ns(id);
        let parts_crypto = match (cs, h) {
            (Some(s), Some(h)) => Some(sigs as f64 * s + hashes as f64 * h),
            _ => None,
        };
        let parts_limit = match (ds, h) {
            (Some(s), Some(h)) => Some(sigs as f64 * s + hashes as f64 * h),
            _ => None,
        };
        let measured: Option<f64> = [
            "part/signature",
            "part/leaf",
            "part/inclusion",
            "part/checkpoint",
            "part/anchor",
            if v == 1 { "part/cert1" } else { "part/cert4" },
        ]
        .iter()
        .map(|id| ns(id))
        .sum();
        println!(
            "RecordProof::verify {v}-validator (1M log): {}; its steps timed one by one sum to {} ({} of the total; the rest is the verdict's strings and copies)",
            fmt_ns(t),
            fmt_ns(measured),
            share(measured, t)
        );
        println!(
            "RecordProof::verify {v}-validator (1M log): {}; parts = {sigs} signature verifies + {hashes} Merkle hashes = {} with crypto::verify ({} of the total), {} at the dalek limit (total/limit = {})",
            fmt_ns(t),
            fmt_ns(parts_crypto),
            share(parts_crypto, t),
            fmt_ns(parts_limit),
            ratio(t, parts_limit)
        );
    }
    let a1 = ns("anchor/prove/100");
    let a2 = ns("anchor/prove/10k");
    println!(
        "AnchorMap::prove: {} at 100 scenarios, {} at 10k scenarios ({} - linear in scenarios: it re-sorts and re-hashes the whole map per proof)",
        fmt_ns(a1),
        fmt_ns(a2),
        ratio(a2, a1)
    );
    let v = ns("validity/anchoring");
    let sig = ns("sig/crypto_strict");
    println!(
        "block validity per anchored checkpoint (recorded home, replica set of 16 members, consistency proof 1M-1k -> 1M): {} = {} of one ed25519 verify_strict ({}); a checkpoint carries 2 signatures",
        fmt_ns(v),
        ratio(v, sig),
        fmt_ns(sig)
    );
    println!(
        "rules: benchmarked in the relay bench (section RULES): rules::compile needs the `compiler` feature, which only trustchain-relay enables"
    );
    println!("\n== SIZES ==");
    for s in sizes {
        println!("{s}");
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "n/a".into(),
    }
}

fn share(part: Option<f64>, total: Option<f64>) -> String {
    match (part, total) {
        (Some(p), Some(t)) if t > 0.0 => format!("{:.0}%", 100.0 * p / t),
        _ => "n/a".into(),
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let fx = fixture();
    let mut sizes = receipt_sizes(&fx);
    sizes.extend(block_sizes());
    for s in &sizes {
        println!("{s}");
    }
    hashing(&mut c, &fx);
    signatures(&mut c);
    record_proof(&mut c, &fx);
    anchor(&mut c);
    validity(&mut c, &fx);
    c.final_summary();
    report(&fx, &sizes);
}
