//! Tampering with a valid receipt: thousands of seeded single-byte mutations of its bytes, and of
//! its base64url text. Every one must be rejected, and the verdict must name the step that guards
//! the mutated byte.
//!
//! The receipt's bytes are mapped field by field (offsets computed from the encodings of the
//! parts). Each field has an expectation worked out from `RecordProof::check`'s step order:
//!
//! - `Malformed` — lengths, counts, version bytes and enum tags: any change misaligns or is refused
//!   by the decoder;
//! - `Fixed(step)` — fixed-width fields where every byte string is a valid value (integers,
//!   digests, signatures): decoding must succeed and exactly `step` must fail;
//! - `DecodeOr(step)` — fields whose values are constrained (scenario ids, names, UTF-8 text,
//!   curve points, decimals, strictly ascending signer keys or positions): either the decoder
//!   refuses the value, or it is a valid different value and exactly `step` fails.
//!
//! Which step guards which field (the first failing check in `RecordProof::check`):
//! entry → Signature (the digest covers every signed byte, and the signature itself);
//! inclusion index, size and path → Inclusion; checkpoint `size` and `root` → Inclusion (the
//! size/root comparison runs before the checkpoint step); checkpoint scenario → Checkpoint (the
//! inclusion step does not read it); checkpoint `main_ref`, time and replica signatures →
//! Checkpoint; anchor siblings → Anchor; anchor end tag → Anchor when it becomes `Empty` (no
//! payload, still decodes), Decode otherwise; header `anchor_root` → Anchor; every other header
//! field → Certificate (the certificate names the header hash); certificate → Certificate.

mod common;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use trustchain_core::encoding::Encode;
use trustchain_core::encoding::value::Value;
use trustchain_core::scenario::contract::Body;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::proof::{RecordProof, Step, Verdict};
use trustchain_core::verify::receipt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Malformed,
    Fixed(Step),
    DecodeOr(Step),
}

impl Expect {
    fn allows(self, step: Step) -> bool {
        match self {
            Expect::Malformed => step == Step::Decode,
            Expect::Fixed(s) => step == s,
            Expect::DecodeOr(s) => step == Step::Decode || step == s,
        }
    }
}

#[derive(Debug)]
struct Field {
    start: usize,
    end: usize,
    name: String,
    expect: Expect,
}

#[derive(Default)]
struct Layout {
    fields: Vec<Field>,
    pos: usize,
}

impl Layout {
    fn field(&mut self, name: impl Into<String>, len: usize, expect: Expect) {
        self.fields.push(Field {
            start: self.pos,
            end: self.pos + len,
            name: name.into(),
            expect,
        });
        self.pos += len;
    }
    /// A length-prefixed string: the prefix, then the bytes.
    fn string(&mut self, name: &str, s: &str, bytes: Expect) {
        self.field(format!("{name} length"), 4, Expect::Malformed);
        self.field(name, s.len(), bytes);
    }
    fn at(&self, i: usize) -> &Field {
        self.fields
            .iter()
            .find(|f| f.start <= i && i < f.end)
            .expect("every byte is mapped")
    }
}

use Expect::*;
use Step::{Anchor, Certificate, Checkpoint, Inclusion, Signature};

/// The map of the receipt of `proof` (whose entry is a contract with a fields body).
fn layout(p: &RecordProof) -> Layout {
    let mut l = Layout::default();
    l.field("proof version", 1, Malformed);

    // --- entry ---
    let start = l.pos;
    let Entry::Contract(c) = &p.entry else {
        panic!("the subject is a contract")
    };
    let u = &c.content;
    l.field("entry tag", 1, Malformed);
    l.field("contract version", 1, Malformed);
    l.string(
        "contract scenario",
        u.scenario.as_str(),
        DecodeOr(Signature),
    );
    l.string("contract kind", &u.kind, DecodeOr(Signature));
    l.field("contract author", 32, DecodeOr(Signature));
    l.field("contract nonce", 8, Fixed(Signature));
    l.field("contract time", 8, Fixed(Signature));
    l.field("body tag", 1, Malformed);
    let Body::Fields(fields) = &u.body else {
        panic!("fields body")
    };
    l.field("fields count", 4, Malformed);
    for (k, v) in fields {
        l.string(&format!("field {k} key"), k, DecodeOr(Signature));
        l.field(format!("field {k} value tag"), 1, Malformed);
        match v {
            Value::Decimal(_) => {
                // 16-byte mantissa (at most 96 bits), then the scale (at most 28).
                l.field(format!("field {k} mantissa"), 16, DecodeOr(Signature));
                l.field(format!("field {k} scale"), 1, DecodeOr(Signature));
            }
            Value::Text(s) => l.string(&format!("field {k} text"), s, DecodeOr(Signature)),
            other => panic!("layout of {other:?} not written"),
        }
    }
    l.field("attachments count", 4, Malformed);
    for i in 0..u.attachments.len() {
        l.field(format!("attachment {i}"), 32, Fixed(Signature));
    }
    l.field("contract signature", 64, Fixed(Signature));
    assert_eq!(l.pos - start, p.entry.to_bytes().len(), "entry layout");

    // --- inclusion ---
    let start = l.pos;
    l.field("inclusion index", 8, Fixed(Inclusion));
    l.field("inclusion size", 8, Fixed(Inclusion));
    l.field("inclusion path count", 4, Malformed);
    for i in 0..p.inclusion.path.len() {
        l.field(format!("inclusion path {i}"), 32, Fixed(Inclusion));
    }
    assert_eq!(
        l.pos - start,
        p.inclusion.to_bytes().len(),
        "inclusion layout"
    );

    // --- checkpoint ---
    let start = l.pos;
    let cp = &p.checkpoint.checkpoint;
    l.field("checkpoint version", 1, Malformed);
    l.string(
        "checkpoint scenario",
        cp.scenario.as_str(),
        DecodeOr(Checkpoint),
    );
    l.field("checkpoint size", 8, Fixed(Inclusion));
    l.field("checkpoint root", 32, Fixed(Inclusion));
    l.field("checkpoint main_ref", 32, Fixed(Checkpoint));
    l.field("checkpoint time", 8, Fixed(Checkpoint));
    l.field("replica signature count", 4, Malformed);
    for i in 0..p.checkpoint.signatures.len() {
        // A valid point that keeps the keys ascending decodes; its signature then fails.
        l.field(format!("replica {i} key"), 32, DecodeOr(Checkpoint));
        l.field(format!("replica {i} signature"), 64, Fixed(Checkpoint));
    }
    // A record proof carries the checkpoint without its link (how it joined the chain).
    let mut unlinked = trustchain_core::encoding::Writer::new();
    p.checkpoint.encode_unlinked(&mut unlinked);
    assert_eq!(
        l.pos - start,
        unlinked.into_bytes().len(),
        "checkpoint layout"
    );

    // --- anchor ---
    let start = l.pos;
    l.field("anchor sibling count", 4, Malformed);
    for i in 0..p.anchor.siblings.len() {
        l.field(format!("anchor sibling {i}"), 32, Fixed(Anchor));
    }
    // Member (0) -> Empty (1) still decodes and fails as the wrong kind of proof.
    l.field("anchor end tag", 1, DecodeOr(Anchor));
    assert_eq!(l.pos - start, p.anchor.to_bytes().len(), "anchor layout");

    // --- header ---
    let start = l.pos;
    l.field("header version", 1, Malformed);
    l.string("header chain id", &p.header.chain_id, DecodeOr(Certificate));
    l.field("header height", 8, Fixed(Certificate));
    l.field("header epoch", 8, Fixed(Certificate));
    l.field("header prev", 32, Fixed(Certificate));
    l.field("header time", 8, Fixed(Certificate));
    l.field("header anchor root", 32, Fixed(Anchor));
    l.field("header moved", 4, Fixed(Certificate));
    l.field("header body hash", 32, Fixed(Certificate));
    l.field("header validators hash", 32, Fixed(Certificate));
    l.field("header next validators hash", 32, Fixed(Certificate));
    assert_eq!(l.pos - start, p.header.to_bytes().len(), "header layout");

    // --- certificate ---
    let start = l.pos;
    l.field("certificate version", 1, Malformed);
    l.field("certificate height", 8, Fixed(Certificate));
    l.field("certificate round", 4, Fixed(Certificate));
    l.field("certificate block", 32, Fixed(Certificate));
    l.field("certificate signature count", 4, Malformed);
    for i in 0..p.certificate.signatures.len() {
        // Positions must stay strictly ascending (else Decode); any other position fails.
        l.field(format!("vote {i} validator"), 2, DecodeOr(Certificate));
        l.field(format!("vote {i} signature"), 64, Fixed(Certificate));
    }
    assert_eq!(
        l.pos - start,
        p.certificate.to_bytes().len(),
        "certificate layout"
    );
    l
}

/// xorshift64*: tiny, seeded, deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn verdict_of_bytes(bytes: &[u8], f: &Fixture) -> Verdict {
    match receipt::from_bytes(bytes) {
        Ok(p) => p.verify(&f.set, CHAIN_ID, None),
        Err(e) => Verdict::undecodable(&e),
    }
}

fn verdict_of_text(text: &str, f: &Fixture) -> Verdict {
    match receipt::from_base64url(text) {
        Ok(p) => p.verify(&f.set, CHAIN_ID, None),
        Err(e) => Verdict::undecodable(&e),
    }
}

/// Mutation counts; `TAMPER_SCALE=n` multiplies them for a longer run. (The workspace builds the
/// crypto crates optimised in the test profile; unoptimised, each verification costs ~20 ms.)
fn scaled(n: usize) -> usize {
    let k: usize = std::env::var("TAMPER_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    n * k.max(1)
}
const BYTE_MUTATIONS: usize = 5000;
const TEXT_MUTATIONS: usize = 2000;

#[test]
fn every_single_byte_mutation_is_rejected_at_the_right_step() {
    let f = Fixture::new();
    let proof = f.proof(SUBJECT_INDEX);
    let good = receipt::to_bytes(&proof);
    assert!(verdict_of_bytes(&good, &f).is_verified());
    let l = layout(&proof);
    assert_eq!(l.pos, good.len(), "the layout covers the receipt exactly");

    let mut rng = Rng(0x7275_7374_6368_6169); // "trustchai"
    let mut by_step: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut by_field: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    let mut touched = vec![false; good.len()];
    let mut wrong = Vec::new();
    let count = scaled(BYTE_MUTATIONS);
    for n in 0..count {
        let i = rng.below(good.len());
        let flip = 1 + rng.below(255) as u8; // never zero: the byte always changes
        touched[i] = true;
        let mut bytes = good.clone();
        bytes[i] ^= flip;
        let v = verdict_of_bytes(&bytes, &f);
        let field = l.at(i);
        let Some(step) = v.failed_step() else {
            panic!(
                "mutation {n} (byte {i} ^ {flip:#04x}, {}) was ACCEPTED",
                field.name
            );
        };
        *by_step.entry(step.name()).or_default() += 1;
        *by_field
            .entry(field.name.clone())
            .or_default()
            .entry(step.name())
            .or_default() += 1;
        if !field.expect.allows(step) {
            wrong.push(format!(
                "mutation {n}: byte {i} ^ {flip:#04x} in {} (expect {:?}) failed at {step}: {}",
                field.name,
                field.expect,
                v.outcome.as_ref().unwrap_err().reason
            ));
        }
    }
    println!(
        "{count} byte mutations of a {}-byte receipt, by failing step:",
        good.len()
    );
    for (s, c) in &by_step {
        println!("  {s:12} {c}");
    }
    println!("by field:");
    for fl in &l.fields {
        if let Some(m) = by_field.get(&fl.name) {
            println!("  {:32} {:?}", fl.name, m);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} misattributed:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The seed reaches every region, and most bytes.
    let covered = touched.iter().filter(|t| **t).count();
    assert!(
        covered * 10 >= good.len() * 9,
        "only {covered} of {} bytes touched",
        good.len()
    );
    for s in [
        Step::Decode,
        Signature,
        Inclusion,
        Checkpoint,
        Anchor,
        Certificate,
    ] {
        assert!(
            by_step.get(s.name()).copied().unwrap_or(0) > 0,
            "no mutation failed at {s}"
        );
    }
}

#[test]
fn every_field_is_guarded_exhaustively_for_one_bit() {
    // Deterministic complement to the random run: flip the low bit of every byte.
    let f = Fixture::new();
    let proof = f.proof(SUBJECT_INDEX);
    let good = receipt::to_bytes(&proof);
    let l = layout(&proof);
    let mut wrong = Vec::new();
    for i in 0..good.len() {
        let mut bytes = good.clone();
        bytes[i] ^= 1;
        let v = verdict_of_bytes(&bytes, &f);
        let field = l.at(i);
        match v.failed_step() {
            None => wrong.push(format!("byte {i} ({}) accepted", field.name)),
            Some(s) if !field.expect.allows(s) => wrong.push(format!(
                "byte {i} ({}, expect {:?}) failed at {s}",
                field.name, field.expect
            )),
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_base64url_text_mutation_is_rejected() {
    let f = Fixture::new();
    let proof = f.proof(SUBJECT_INDEX);
    let good = receipt::to_bytes(&proof);
    let text = receipt::to_base64url(&proof);
    let l = layout(&proof);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const FOREIGN: &[u8] = b"+/=.~ \t\n%!*";
    let mut rng = Rng(0x6261_7365_3634_7572); // "base64ur"
    let mut by_step: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    let count = scaled(TEXT_MUTATIONS);
    for n in 0..count {
        let i = rng.below(text.len());
        let mut t = text.clone().into_bytes();
        // Mostly other alphabet characters (they decode), sometimes foreign ones.
        t[i] = if rng.below(8) == 0 {
            FOREIGN[rng.below(FOREIGN.len())]
        } else {
            loop {
                let c = ALPHABET[rng.below(64)];
                if c != t[i] {
                    break c;
                }
            }
        };
        let t = String::from_utf8(t).unwrap();
        let v = verdict_of_text(&t, &f);
        let Some(step) = v.failed_step() else {
            panic!("text mutation {n} at char {i} was ACCEPTED");
        };
        *by_step.entry(step.name()).or_default() += 1;
        // When the text still decodes to bytes of the same length, the changed bytes are those
        // that character covers; the failing step must be allowed for one of them.
        if step != Step::Decode
            && let Ok(bytes) = URL_SAFE_NO_PAD.decode(t.trim())
        {
            assert_eq!(bytes.len(), good.len());
            let changed: Vec<usize> = (0..good.len()).filter(|j| bytes[*j] != good[*j]).collect();
            assert!(
                !changed.is_empty()
                    && changed
                        .iter()
                        .all(|j| (i * 6 / 8..=(i * 6 + 5) / 8).contains(j))
            );
            if !changed.iter().any(|j| l.at(*j).expect.allows(step)) {
                wrong.push(format!(
                    "text mutation {n} at char {i} (bytes {changed:?}) failed at {step}"
                ));
            }
        }
    }
    println!("{count} base64url text mutations, by failing step:");
    for (s, c) in &by_step {
        println!("  {s:12} {c}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn truncations_and_extensions_are_rejected() {
    let f = Fixture::new();
    let good = receipt::to_bytes(&f.proof(SUBJECT_INDEX));
    for len in 0..good.len() {
        assert_eq!(
            verdict_of_bytes(&good[..len], &f).failed_step(),
            Some(Step::Decode),
            "prefix {len}"
        );
    }
    for extra in [&[0u8][..], &[1], &[0xff; 7]] {
        let mut b = good.clone();
        b.extend_from_slice(extra);
        assert_eq!(verdict_of_bytes(&b, &f).failed_step(), Some(Step::Decode));
    }
}
