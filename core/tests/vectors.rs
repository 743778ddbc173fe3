//! Test vectors for other implementations: `core/tests/vectors/*.json`.
//!
//! `cargo test -p trustchain-core --test vectors -- --ignored regenerate_vectors` rewrites them
//! from the fixture (fixed seeds, fixed times: fully deterministic). The normal tests check that
//! the current code reproduces every file exactly, and re-check each vector from its own data
//! (decode the hex, recompute the hashes, verify the proofs) the way another implementation would.
//!
//! Conventions: bytes are lower-case hex; integers that may exceed 2^53 are decimal strings;
//! base64url is unpadded (RFC 4648 §5).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use serde_json::{Value as Json, json};
use trustchain_core::chain::block::{BlockHeader, CommitCertificate, EpochChange, Vote};
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::crypto::hash::{Domain, Hash};
use trustchain_core::crypto::{PublicKey, Signature};
use trustchain_core::encoding::hex;
use trustchain_core::encoding::value::{ScenarioId, Value};
use trustchain_core::encoding::{Decode, Encode, Writer};
use trustchain_core::merkle::anchor::{AnchorMap, AnchorProof, PathEnd};
use trustchain_core::merkle::log::{self, ConsistencyProof, InclusionProof, MemoryLog};
use trustchain_core::scenario::charter::Charter;
use trustchain_core::scenario::checkpoint::{Checkpoint, SignedCheckpoint};
use trustchain_core::scenario::contract::{Contract, UnsignedContract};
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::{RecordProof, Verdict};
use trustchain_core::verify::receipt;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn h(b: &[u8]) -> String {
    hex::encode(b)
}

fn unhex(j: &Json) -> Vec<u8> {
    hex::decode(j.as_str().expect("hex string"), "vector").expect("valid hex")
}

fn hash_of(j: &Json) -> Hash {
    Hash::from_hex(j.as_str().expect("hash string")).expect("hash hex")
}

fn enc<T: Encode + ?Sized>(v: &T) -> String {
    let mut w = Writer::new();
    v.encode(&mut w);
    h(&w.into_bytes())
}

fn w(f: impl FnOnce(&mut Writer)) -> String {
    let mut w = Writer::new();
    f(&mut w);
    h(&w.into_bytes())
}

// ---------------------------------------------------------------- generation

fn all() -> Vec<(&'static str, Json)> {
    vec![
        ("domains", domains()),
        ("encoding", encoding()),
        ("log", log_vectors()),
        ("anchor", anchor()),
        ("contract", contract_vectors()),
        ("chain", chain()),
        ("receipt", receipt_vectors()),
    ]
}

const SAMPLE: &[u8] = b"trustchain test vector";

fn domains() -> Json {
    let pair: Vec<u8> = (0u8..64).collect();
    json!({
        "description": "Every hash is blake3 keyed_hash(key, input) with key = blake3 derive_key(context, empty). \
                        hash_of_sample hashes sample_hex; hash_of_pair hashes the 64 bytes pair_hex (as a Merkle node would); \
                        hash_of_empty hashes the empty string.",
        "sample_hex": h(SAMPLE),
        "pair_hex": h(&pair),
        "domains": Domain::ALL.iter().map(|d| json!({
            "name": format!("{d:?}"),
            "context": d.context(),
            "key": h(d.key()),
            "hash_of_sample": d.hash(SAMPLE).to_hex(),
            "hash_of_pair": d.hash(&pair).to_hex(),
            "hash_of_empty": d.hash(&[]).to_hex(),
        })).collect::<Vec<_>>(),
    })
}

fn sample_values() -> Vec<Value> {
    let map = |pairs: &[(&str, Value)]| Value::Map(fields(pairs));
    vec![
        text(""),
        text("¥ 1,204,000"),
        Value::Int(0),
        Value::Int(-1),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        dec("0"),
        dec("0.00"),
        dec("12.5"),
        dec("12.50"),
        dec("-0.01"),
        dec("1204000.00"),
        dec("79228162514264337593543950335"),
        dec("-7.9228162514264337593543950335"),
        dec("0.0000000000000000000000000001"),
        Value::Bool(false),
        Value::Bool(true),
        Value::Bytes(vec![]),
        Value::Bytes(vec![0, 1, 0xfe, 0xff]),
        Value::List(vec![]),
        Value::List(vec![
            Value::Int(1),
            text("a"),
            Value::List(vec![Value::Bool(true)]),
        ]),
        map(&[]),
        map(&[
            ("b", Value::Int(2)),
            ("a", Value::Int(1)),
            ("ab", dec("-3.25")),
        ]),
        map(&[("nested", map(&[("x", Value::Bytes(vec![7]))]))]),
    ]
}

/// Byte strings that must be refused, with what they are decoded as.
fn rejections() -> Vec<(&'static str, String, &'static str)> {
    let mut v = vec![
        ("value", "07".to_string(), "unknown value tag 7"),
        ("value", "0302".to_string(), "bool byte other than 0 or 1"),
        (
            "value",
            "0000000002fffe".to_string(),
            "text that is not UTF-8",
        ),
        (
            "value",
            "0000000005616263".to_string(),
            "length prefix beyond the input",
        ),
        (
            "value",
            "010000000000000001ff".to_string(),
            "a trailing byte",
        ),
        (
            "value",
            format!("02{}1d", "0".repeat(32)),
            "decimal scale 29 (above 28)",
        ),
        (
            "value",
            format!("02{}00", h(&(1i128 << 96).to_be_bytes())),
            "decimal mantissa of 2^96 (above 96 bits)",
        ),
        (
            "value",
            format!("02{}00", h(&(-(1i128 << 96)).to_be_bytes())),
            "decimal mantissa of -2^96",
        ),
        (
            "value",
            "05000004010000".to_string(),
            "list count 1025 (above 1024)",
        ),
        ("value", "0600000101".to_string(), "truncated map entry"),
        (
            "value",
            format!(
                "06000000020000000162{}0000000161{}",
                enc(&Value::Int(1)),
                enc(&Value::Int(2))
            ),
            "map keys out of order (\"b\" before \"a\")",
        ),
        (
            "value",
            format!(
                "06000000020000000161{}0000000161{}",
                enc(&Value::Int(1)),
                enc(&Value::Int(2))
            ),
            "duplicate map key",
        ),
        ("u64", "00000000000001".to_string(), "seven bytes for a u64"),
        (
            "scenario_id",
            w(|w| w.str("Demo/budget")),
            "upper-case letter in a scenario id",
        ),
        (
            "scenario_id",
            w(|w| w.str("demo//budget")),
            "empty scenario id segment",
        ),
        ("scenario_id", w(|w| w.str("")), "empty scenario id"),
        (
            "public_key",
            format!("01{}", "0".repeat(62)),
            "the identity point (small order)",
        ),
    ];
    // A contract with version byte 2.
    let mut c = unhex(&json!(enc(&expense(1, "1.00", "travel", None))));
    c[0] = 2;
    v.push(("contract", h(&c), "unsupported format version 2"));
    v
}

fn encoding() -> Json {
    let prim = |ty: &str, value: Json, hex: String| json!({"type": ty, "value": value, "hex": hex});
    let primitives = vec![
        prim("u8", json!("171"), w(|w| w.u8(0xab))),
        prim("u16", json!("258"), w(|w| w.u16(0x0102))),
        prim("u32", json!("4294967295"), w(|w| w.u32(u32::MAX))),
        prim("u64", json!("1"), w(|w| w.u64(1))),
        prim("u64", json!("18446744073709551615"), w(|w| w.u64(u64::MAX))),
        prim("i64", json!("-2"), w(|w| w.i64(-2))),
        prim(
            "i128",
            json!("-170141183460469231731687303715884105728"),
            w(|w| w.i128(i128::MIN)),
        ),
        prim("bool", json!(false), w(|w| w.bool(false))),
        prim("bool", json!(true), w(|w| w.bool(true))),
        prim("bytes", json!("00ff"), w(|w| w.bytes(&[0, 0xff]))),
        prim("text", json!("é"), w(|w| w.str("é"))),
        prim("option<u64>", json!(null), w(|w| w.option::<u64>(&None))),
        prim("option<u64>", json!("5"), w(|w| w.option(&Some(5u64)))),
        prim("seq<u64>", json!(["1", "2"]), w(|w| w.seq(&[1u64, 2]))),
        prim(
            "hash",
            json!(Hash([0xaa; 32]).to_hex()),
            enc(&Hash([0xaa; 32])),
        ),
    ];
    let scenario_ids: Vec<Json> = ["demo/budget", "acme/ledger-2025.q1", "user-chain"]
        .iter()
        .map(|s| {
            let id = sid(s);
            json!({"id": s, "hex": enc(&id), "anchor_key": id.anchor_key().to_hex()})
        })
        .collect();
    json!({
        "description": "Canonical encoding (docs/encoding.md). values: a field value in its JSON form (externally tagged; decimals as exact strings, bytes as hex) and its canonical bytes. rejections: byte strings every decoder must refuse.",
        "primitives": primitives,
        "values": sample_values().iter().map(|v| json!({"value": v, "hex": enc(v)})).collect::<Vec<_>>(),
        "scenario_ids": scenario_ids,
        "rejections": rejections().iter().map(|(t, x, why)| json!({"type": t, "hex": x, "why": why})).collect::<Vec<_>>(),
    })
}

const LOG_LEAVES: u64 = 10;

fn log_leaf_input(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

fn log_vectors() -> Json {
    let mut l = MemoryLog::new();
    let mut leaves = Vec::new();
    for i in 0..LOG_LEAVES {
        let input = log_leaf_input(i);
        let leaf = log::leaf_hash(&input);
        l.append(leaf);
        leaves.push(json!({"input_hex": h(&input), "leaf_hash": leaf.to_hex()}));
    }
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in 1..=LOG_LEAVES {
        for index in 0..size {
            let p = l.prove_inclusion(index, size).unwrap();
            inclusion.push(json!({"index": index, "size": size, "path": p.path, "hex": enc(&p)}));
        }
        for from in 0..=size {
            let p = l.prove_consistency(from, size).unwrap();
            consistency.push(json!({"from": from, "to": size, "path": p.path, "hex": enc(&p)}));
        }
    }
    let roots: Vec<Json> = (0..=LOG_LEAVES)
        .map(|s| json!({"size": s, "root": l.root_at(s).to_hex()}))
        .collect();
    json!({
        "description": "RFC 9162 Merkle tree over blake3: leaf = LogLeaf(input), node = LogNode(left || right), empty root = LogNode(empty). Leaf i's input is the ASCII text \"leaf i\".",
        "empty_root": log::empty_root().to_hex(),
        "leaves": leaves,
        "roots": roots,
        "inclusion": inclusion,
        "consistency": consistency,
    })
}

fn anchor_map() -> (AnchorMap, Vec<String>) {
    let mut m = AnchorMap::new();
    let mut names: Vec<String> = OTHER_SCENARIOS.iter().map(|s| s.to_string()).collect();
    names.push(SCENARIO.to_string());
    for n in &names {
        m.insert(sid(n).anchor_key(), other_digest(n));
    }
    (m, names)
}

fn anchor() -> Json {
    let (m, names) = anchor_map();
    let root = m.root();
    let mut proofs = Vec::new();
    for n in &names {
        let k = sid(n).anchor_key();
        let p = m.prove(&k);
        proofs.push(json!({"scenario": n, "key": k.to_hex(), "value": other_digest(n).to_hex(), "proof": p, "hex": enc(&p)}));
    }
    // The first two absent scenarios of each kind of absence proof.
    let (mut empty, mut other) = (0, 0);
    for i in 0.. {
        let n = format!("absent/{i}");
        let k = sid(&n).anchor_key();
        let p = m.prove(&k);
        let slot = match p.end {
            PathEnd::Empty => &mut empty,
            PathEnd::Other { .. } => &mut other,
            PathEnd::Member => unreachable!(),
        };
        if *slot < 2 {
            *slot += 1;
            proofs.push(json!({"scenario": n, "key": k.to_hex(), "value": null, "proof": p, "hex": enc(&p)}));
        }
        if empty == 2 && other == 2 {
            break;
        }
    }
    let mut single = AnchorMap::new();
    let k = sid(SCENARIO).anchor_key();
    single.insert(k, other_digest(SCENARIO));
    json!({
        "description": "Sparse Merkle tree over the 256 key bits (MSB first): empty subtree = 32 zero bytes, a subtree with one entry = AnchorLeaf(key || value) at any depth, else AnchorNode(left || right). key = AnchorKey(scenario id bytes). Values here are Checkpoint(scenario id bytes), stand-ins for checkpoint digests. Proof siblings run from the deepest level up to the root; value null = absence proof.",
        "entries": names.iter().map(|n| {
            let k = sid(n).anchor_key();
            json!({"scenario": n, "key": k.to_hex(), "value": other_digest(n).to_hex(), "leaf_hash": trustchain_core::merkle::anchor::leaf_hash(&k, &other_digest(n)).to_hex()})
        }).collect::<Vec<_>>(),
        "root": root.to_hex(),
        "empty_root": AnchorMap::new().root().to_hex(),
        "single_entry_root": single.root().to_hex(),
        "proofs": proofs,
    })
}

fn contract_vectors() -> Json {
    let f = Fixture::new();
    let describe = |c: &Contract| {
        let u = &c.content;
        let entry = Entry::Contract(c.clone());
        json!({
            "author_seed": format!("{:02x} repeated 32 times", WRITER),
            "contract": c,
            "unsigned_hex": enc(u),
            "signing_digest": u.signing_digest().to_hex(),
            "signature": c.signature.to_hex(),
            "signed_hex": enc(c),
            "entry_hex": enc(&entry),
            "leaf_hash": entry.leaf_hash().to_hex(),
        })
    };
    let contracts: Vec<Json> = [SUBJECT_INDEX, 3, 1]
        .iter()
        .map(|i| match &f.entries[*i as usize] {
            Entry::Contract(c) => describe(c),
            Entry::Charter(_) => unreachable!(),
        })
        .collect();
    let ch = &f.charter;
    let entry = Entry::Charter(ch.clone());
    json!({
        "description": "Signed records. ed25519 (RFC 8032) signs the 32-byte signing digest = Contract(unsigned bytes) or Charter(unsigned bytes); keys are SigningKey::from_bytes([seed; 32]). entry_hex is the log entry (tag 0 charter, 1 contract); leaf_hash = LogLeaf(entry bytes).",
        "writer_public_key": pk(WRITER).to_hex(),
        "owner_public_key": pk(OWNER).to_hex(),
        "contracts": contracts,
        "charter": {
            "owner_seed": format!("{:02x} repeated 32 times", OWNER),
            "charter": ch,
            "unsigned_hex": enc(&ch.content),
            "signing_digest": ch.content.signing_digest().to_hex(),
            "signatures": ch.signatures.iter().map(|s| s.to_hex()).collect::<Vec<_>>(),
            "signed_hex": enc(ch),
            "entry_hex": enc(&entry),
            "leaf_hash": entry.leaf_hash().to_hex(),
        },
    })
}

fn chain() -> Json {
    let f = Fixture::new();
    let set2 = validator_set(2, &EPOCH2);
    let handover = block(110, 1, T0 + 600_000, &f.set, &set2);
    let change = EpochChange {
        certificate: certify(&handover, &f.set, &[12, 13, 14]),
        header: handover,
        next: set2,
    };
    let vote = Vote {
        height: f.header.height,
        round: f.certificate.round,
        block: f.header.hash(),
    };
    let cp = &f.checkpoint;
    let trusted = TrustedCheckpoint {
        chain_id: CHAIN_ID.to_string(),
        height: f.parent.height,
        block: f.parent.hash(),
        validators: f.set.clone(),
    };
    json!({
        "description": "Main-chain objects of the receipt vector. Validator and replica keys are SigningKey::from_bytes([seed; 32]).",
        "validator_seeds_and_weights": EPOCH1.iter().map(|(s, wt)| json!({"seed": s, "key": pk(*s).to_hex(), "weight": wt})).collect::<Vec<_>>(),
        "validator_set": {"value": f.set, "hex": enc(&f.set), "hash": f.set.hash().to_hex()},
        "checkpoint": {"value": cp.checkpoint, "hex": enc(&cp.checkpoint), "digest": cp.checkpoint.digest().to_hex()},
        "signed_checkpoint": {"replica_seeds": REPLICAS, "value": cp, "hex": enc(cp)},
        "header": {"value": f.header, "hex": enc(&f.header), "hash": f.header.hash().to_hex()},
        "parent_header": {"value": f.parent, "hex": enc(&f.parent), "hash": f.parent.hash().to_hex()},
        "vote": {"height": vote.height, "round": vote.round, "block": vote.block.to_hex(), "hex": enc(&vote), "digest": vote.digest().to_hex()},
        "certificate": {"signer_seeds": [11, 13, 14], "value": f.certificate, "hex": enc(&f.certificate)},
        "epoch_change": {"value": change, "hex": enc(&change)},
        "trusted_checkpoint": {"value": trusted, "hex": enc(&trusted)},
    })
}

fn verdict_json(v: &Verdict) -> Json {
    let steps: Vec<Json> = v
        .steps
        .iter()
        .map(|s| json!({"step": s.step, "status": s.status}))
        .collect();
    match &v.outcome {
        Ok(r) => json!({
            "verified": true,
            "steps": steps,
            "record": {
                "index": r.index(),
                "scenario": r.scenario().as_str(),
                "checkpoint_size": r.checkpoint_size(),
                "block_height": r.block_height(),
                "block_hash": r.block_hash().to_hex(),
                "recorded_by_ms": r.recorded_by_ms().to_string(),
                "signers": r.signers(),
                "leaf_hash": r.entry().leaf_hash().to_hex(),
            },
        }),
        Err(e) => json!({"verified": false, "steps": steps, "failed_step": e.step}),
    }
}

fn negatives(f: &Fixture) -> Vec<(&'static str, String, bool)> {
    let good = f.proof(SUBJECT_INDEX);
    let b64 = |p: &RecordProof| receipt::to_base64url(p);
    let mut out = Vec::new();
    let mut p = good.clone();
    if let Entry::Contract(c) = &mut p.entry {
        c.signature.0[0] ^= 1;
    }
    out.push(("contract signature bit flipped", b64(&p), false));
    let mut p = good.clone();
    if let Entry::Contract(c) = &mut p.entry {
        c.content.time_ms += 1;
    }
    out.push(("contract time changed after signing", b64(&p), false));
    let mut p = good.clone();
    p.inclusion.path[0].0[0] ^= 1;
    out.push(("inclusion path hash changed", b64(&p), false));
    let mut p = good.clone();
    p.checkpoint.checkpoint.root.0[0] ^= 1;
    out.push((
        "checkpoint root changed (inclusion fails first)",
        b64(&p),
        false,
    ));
    let mut p = good.clone();
    p.checkpoint.checkpoint.main_ref.0[0] ^= 1;
    out.push(("checkpoint main_ref changed", b64(&p), false));
    let mut p = good.clone();
    p.anchor.siblings[0].0[0] ^= 1;
    out.push(("anchor sibling changed", b64(&p), false));
    let mut p = good.clone();
    p.header.time_ms += 1;
    out.push(("header time changed", b64(&p), false));
    let mut p = good.clone();
    p.certificate = certify(&f.header, &f.set, &[13, 14]);
    out.push(("certificate with exactly 2/3 of the weight", b64(&p), false));
    out.push((
        "record with a text amount, checked with the charter",
        b64(&f.proof(WRONG_TYPE_INDEX)),
        true,
    ));
    let mut bytes = receipt::to_bytes(&good);
    bytes[0] = 2;
    out.push((
        "format version 2",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &bytes),
        false,
    ));
    out
}

fn verdict_of(text: &str, set: &ValidatorSet, charter: Option<&Charter>) -> Verdict {
    match receipt::from_base64url(text) {
        Ok(p) => p.verify(set, CHAIN_ID, charter),
        Err(e) => Verdict::undecodable(&e),
    }
}

fn receipt_vectors() -> Json {
    let f = Fixture::new();
    let proof = f.proof(SUBJECT_INDEX);
    let text = receipt::to_base64url(&proof);
    json!({
        "description": "A receipt is the canonical RecordProof bytes as unpadded base64url. Verify it against validator_set on chain_id; with the charter (the scenario's entry 0) the rules step runs too. Each negative must fail at failed_step.",
        "chain_id": CHAIN_ID,
        "validator_set_hex": enc(&f.set),
        "charter_hex": enc(&f.charter),
        "receipt": text,
        "receipt_bytes": receipt::to_bytes(&proof).len(),
        "expected": verdict_json(&proof.verify(&f.set, CHAIN_ID, None)),
        "expected_with_charter": verdict_json(&proof.verify(&f.set, CHAIN_ID, Some(&f.charter))),
        "negatives": negatives(&f).iter().map(|(what, t, with_charter)| {
            let v = verdict_of(t, &f.set, with_charter.then_some(&f.charter));
            json!({"what": what, "receipt": t, "with_charter": with_charter, "failed_step": v.failed_step()})
        }).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------- files

fn render(j: &Json) -> String {
    let mut s = serde_json::to_string_pretty(j).unwrap();
    s.push('\n');
    s
}

#[test]
#[ignore = "writes core/tests/vectors/*.json; run with --ignored after a deliberate format change"]
fn regenerate_vectors() {
    std::fs::create_dir_all(dir()).unwrap();
    for (name, j) in all() {
        std::fs::write(dir().join(format!("{name}.json")), render(&j)).unwrap();
    }
}

fn read(name: &str) -> Json {
    let path = dir().join(format!("{name}.json"));
    let s = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run the ignored regenerate_vectors test)",
            path.display()
        )
    });
    serde_json::from_str(&s).unwrap()
}

#[test]
fn vectors_are_reproduced_exactly() {
    let generated: BTreeMap<String, Json> =
        all().into_iter().map(|(n, j)| (n.to_string(), j)).collect();
    let mut on_disk = Vec::new();
    for e in std::fs::read_dir(dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            on_disk.push(p.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    on_disk.sort();
    let mut expected: Vec<String> = generated.keys().cloned().collect();
    expected.sort();
    assert_eq!(on_disk, expected, "vector files on disk");
    for (name, j) in &generated {
        let text = std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap();
        assert!(
            text == render(j),
            "{name}.json is not what the current code produces: the encoding or hashing changed. \
             If that is deliberate (and versioned), regenerate with --ignored regenerate_vectors."
        );
    }
}

// ---------------------------------------------------------------- independent re-checks

#[test]
fn domain_vectors_hold() {
    let v = read("domains");
    let sample = unhex(&v["sample_hex"]);
    let pair = unhex(&v["pair_hex"]);
    let list = v["domains"].as_array().unwrap();
    assert_eq!(list.len(), Domain::ALL.len());
    for d in list {
        // Derive the key from the context with blake3 directly, not from the crate's table.
        let key = blake3::derive_key(d["context"].as_str().unwrap(), b"");
        assert_eq!(h(&key), d["key"].as_str().unwrap());
        for (input, field) in [
            (&sample[..], "hash_of_sample"),
            (&pair[..], "hash_of_pair"),
            (&[][..], "hash_of_empty"),
        ] {
            assert_eq!(
                h(blake3::keyed_hash(&key, input).as_bytes()),
                d[field].as_str().unwrap()
            );
        }
    }
    // Every context is distinct.
    let mut ctx: Vec<&str> = list
        .iter()
        .map(|d| d["context"].as_str().unwrap())
        .collect();
    ctx.sort();
    ctx.dedup();
    assert_eq!(ctx.len(), list.len());
}

#[test]
fn encoding_vectors_hold() {
    let v = read("encoding");
    for item in v["values"].as_array().unwrap() {
        let value: Value = serde_json::from_value(item["value"].clone()).unwrap();
        let bytes = unhex(&item["hex"]);
        assert_eq!(value.to_bytes(), bytes, "{value}");
        assert_eq!(Value::from_bytes(&bytes).unwrap(), value);
    }
    for item in v["scenario_ids"].as_array().unwrap() {
        let id = ScenarioId::from_bytes(&unhex(&item["hex"])).unwrap();
        assert_eq!(id.as_str(), item["id"].as_str().unwrap());
        assert_eq!(id.anchor_key(), hash_of(&item["anchor_key"]));
    }
    for item in v["primitives"].as_array().unwrap() {
        if item["type"] == "u64" {
            let n: u64 = item["value"].as_str().unwrap().parse().unwrap();
            assert_eq!(u64::from_bytes(&unhex(&item["hex"])).unwrap(), n);
        }
    }
    for item in v["rejections"].as_array().unwrap() {
        let b = unhex(&item["hex"]);
        let why = item["why"].as_str().unwrap();
        let refused = match item["type"].as_str().unwrap() {
            "value" => Value::from_bytes(&b).is_err(),
            "u64" => u64::from_bytes(&b).is_err(),
            "scenario_id" => ScenarioId::from_bytes(&b).is_err(),
            "public_key" => <PublicKey as Decode>::from_bytes(&b).is_err(),
            "contract" => Contract::from_bytes(&b).is_err(),
            t => panic!("unknown rejection type {t}"),
        };
        assert!(refused, "accepted: {why}");
    }
}

#[test]
fn log_vectors_hold() {
    let v = read("log");
    let leaves: Vec<Hash> = v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let leaf = log::leaf_hash(&unhex(&l["input_hex"]));
            assert_eq!(leaf, hash_of(&l["leaf_hash"]));
            leaf
        })
        .collect();
    let roots: Vec<Hash> = v["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| hash_of(&r["root"]))
        .collect();
    assert_eq!(roots[0], hash_of(&v["empty_root"]));
    let mut l = MemoryLog::new();
    for (i, leaf) in leaves.iter().enumerate() {
        l.append(*leaf);
        assert_eq!(l.root(), roots[i + 1]);
    }
    for item in v["inclusion"].as_array().unwrap() {
        let p = InclusionProof::from_bytes(&unhex(&item["hex"])).unwrap();
        let expected: InclusionProof = serde_json::from_value(item.clone()).unwrap();
        assert_eq!(p, expected);
        p.verify(&leaves[p.index as usize], &roots[p.size as usize])
            .unwrap();
    }
    for item in v["consistency"].as_array().unwrap() {
        let p = ConsistencyProof::from_bytes(&unhex(&item["hex"])).unwrap();
        let expected: ConsistencyProof = serde_json::from_value(item.clone()).unwrap();
        assert_eq!(p, expected);
        p.verify(&roots[p.from as usize], &roots[p.to as usize])
            .unwrap();
    }
}

#[test]
fn anchor_vectors_hold() {
    let v = read("anchor");
    let root = hash_of(&v["root"]);
    let mut m = AnchorMap::new();
    for e in v["entries"].as_array().unwrap() {
        let k = sid(e["scenario"].as_str().unwrap()).anchor_key();
        assert_eq!(k, hash_of(&e["key"]));
        let val = hash_of(&e["value"]);
        assert_eq!(
            trustchain_core::merkle::anchor::leaf_hash(&k, &val),
            hash_of(&e["leaf_hash"])
        );
        m.insert(k, val);
    }
    assert_eq!(m.root(), root);
    assert_eq!(hash_of(&v["empty_root"]), Hash::ZERO);
    for item in v["proofs"].as_array().unwrap() {
        let p = AnchorProof::from_bytes(&unhex(&item["hex"])).unwrap();
        let expected: AnchorProof = serde_json::from_value(item["proof"].clone()).unwrap();
        assert_eq!(p, expected);
        let k = hash_of(&item["key"]);
        if item["value"].is_null() {
            p.verify_absent(&k, &root).unwrap();
        } else {
            p.verify_member(&k, &hash_of(&item["value"]), &root)
                .unwrap();
        }
    }
}

#[test]
fn contract_vectors_hold() {
    let v = read("contract");
    for c in v["contracts"].as_array().unwrap() {
        let u = UnsignedContract::from_bytes(&unhex(&c["unsigned_hex"])).unwrap();
        assert_eq!(
            Domain::Contract.hash(&unhex(&c["unsigned_hex"])),
            hash_of(&c["signing_digest"])
        );
        assert_eq!(u.signing_digest(), hash_of(&c["signing_digest"]));
        let signed = Contract::from_bytes(&unhex(&c["signed_hex"])).unwrap();
        assert_eq!(signed.content, u);
        assert_eq!(
            signed.signature,
            Signature::from_hex(c["signature"].as_str().unwrap()).unwrap()
        );
        signed.verify_signature().unwrap();
        let from_json: Contract = serde_json::from_value(c["contract"].clone()).unwrap();
        assert_eq!(from_json, signed);
        let entry = unhex(&c["entry_hex"]);
        assert_eq!(entry[0], 1);
        assert_eq!(Entry::from_bytes(&entry).unwrap(), Entry::Contract(signed));
        assert_eq!(log::leaf_hash(&entry), hash_of(&c["leaf_hash"]));
    }
    let c = &v["charter"];
    let ch = Charter::from_bytes(&unhex(&c["signed_hex"])).unwrap();
    ch.verify_signature().unwrap();
    assert_eq!(
        Domain::Charter.hash(&unhex(&c["unsigned_hex"])),
        hash_of(&c["signing_digest"])
    );
    let entry = unhex(&c["entry_hex"]);
    assert_eq!(entry[0], 0);
    assert_eq!(log::leaf_hash(&entry), hash_of(&c["leaf_hash"]));
    let from_json: Charter = serde_json::from_value(c["charter"].clone()).unwrap();
    assert_eq!(from_json, ch);
}

#[test]
fn chain_vectors_hold() {
    let v = read("chain");
    let set = ValidatorSet::from_bytes(&unhex(&v["validator_set"]["hex"])).unwrap();
    assert_eq!(
        Domain::ValidatorSet.hash(&unhex(&v["validator_set"]["hex"])),
        hash_of(&v["validator_set"]["hash"])
    );
    let header = BlockHeader::from_bytes(&unhex(&v["header"]["hex"])).unwrap();
    assert_eq!(header.hash(), hash_of(&v["header"]["hash"]));
    assert_eq!(header.validators_hash, set.hash());
    let cp = Checkpoint::from_bytes(&unhex(&v["checkpoint"]["hex"])).unwrap();
    assert_eq!(
        Domain::Checkpoint.hash(&unhex(&v["checkpoint"]["hex"])),
        hash_of(&v["checkpoint"]["digest"])
    );
    let scp = SignedCheckpoint::from_bytes(&unhex(&v["signed_checkpoint"]["hex"])).unwrap();
    assert_eq!(scp.checkpoint, cp);
    scp.verify_signatures().unwrap();
    assert_eq!(cp.main_ref, hash_of(&v["parent_header"]["hash"]));
    assert_eq!(
        Domain::Vote.hash(&unhex(&v["vote"]["hex"])),
        hash_of(&v["vote"]["digest"])
    );
    let cert = CommitCertificate::from_bytes(&unhex(&v["certificate"]["hex"])).unwrap();
    cert.verify(&header, &set).unwrap();
    let change = EpochChange::from_bytes(&unhex(&v["epoch_change"]["hex"])).unwrap();
    change.certificate.verify(&change.header, &set).unwrap();
    assert_eq!(change.header.next_validators_hash, change.next.hash());
    let t = TrustedCheckpoint::from_bytes(&unhex(&v["trusted_checkpoint"]["hex"])).unwrap();
    assert_eq!(t.validators, set);
}

#[test]
fn receipt_vectors_hold() {
    let v = read("receipt");
    let set = ValidatorSet::from_bytes(&unhex(&v["validator_set_hex"])).unwrap();
    let charter = Charter::from_bytes(&unhex(&v["charter_hex"])).unwrap();
    let text = v["receipt"].as_str().unwrap();
    assert_eq!(v["chain_id"], CHAIN_ID);
    assert_eq!(verdict_json(&verdict_of(text, &set, None)), v["expected"]);
    assert_eq!(
        verdict_json(&verdict_of(text, &set, Some(&charter))),
        v["expected_with_charter"]
    );
    assert_eq!(v["expected"]["verified"], true);
    for n in v["negatives"].as_array().unwrap() {
        let ch = n["with_charter"].as_bool().unwrap().then_some(&charter);
        let verdict = verdict_of(n["receipt"].as_str().unwrap(), &set, ch);
        assert!(!verdict.is_verified(), "{}", n["what"]);
        assert_eq!(
            json!(verdict.failed_step()),
            n["failed_step"],
            "{}",
            n["what"]
        );
    }
}
