//! # trustchain-verify
//!
//! The embeddable Trustchain verifier: thin wasm-bindgen glue over `trustchain-core`. Every
//! verdict is core's ([`trustchain_core::verify::proof::RecordProof::verify`],
//! [`trustchain_core::verify::light_client::LightClient`], [`trustchain_core::verify::display::compare`]); this
//! crate only converts between JavaScript values and core types and moves bytes.
//!
//! JavaScript API (see `README.md` and the generated `.d.ts`):
//! - `verifyReceipt(receipt, trust, charter?)` — offline, no network;
//! - `compareDisplay(shown, value)` — what the page shows vs a verified field;
//! - `bench*` — small loops for measuring the verifier in a browser;
//! - with the `transports` feature (the widget build, `trustchain_widget`): `new
//!   LightClient(trust)` / `LightClient.fromRelay(relay, transport?)` and
//!   `client.fetchAndVerify(relay, scenario, index, transport?)` — fetches a record's proof from a
//!   relay over libp2p (WebRTC-direct, WebSocket) or HTTP and verifies it.
//!
//! Without `transports` (the offline build, `trustchain_verify`) the module has no network code
//! at all, so pages that only verify receipts never download it.

#[cfg(feature = "transports")]
mod client;
mod js;
#[cfg(feature = "transports")]
mod p2p;
#[cfg(feature = "transports")]
mod transport;

use serde::Serialize;
use trustchain_core::chain::block::MAX_CHAIN_ID;
use trustchain_core::chain::validators::{MAX_VALIDATORS, Validator, ValidatorSet};
use trustchain_core::client::{CharterUse, Shell};
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::value::{Fields, ScenarioId, Value, parse_decimal};
use trustchain_core::scenario::charter::{Charter, RuleReport};
use trustchain_core::scenario::contract::Body;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::display;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::{Failure, RecordProof, StepReport, Verdict};
use trustchain_core::verify::receipt;
use wasm_bindgen::prelude::*;

#[cfg(feature = "transports")]
pub use client::LightClient;
#[cfg(feature = "transports")]
pub use p2p::{Mode, P2pTransport};
#[cfg(feature = "transports")]
pub use transport::{HttpTransport, Transport, TransportError};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** One check of the verifier, in order: decode, signature, rules, inclusion, checkpoint, anchor, certificate. */
export interface VerdictStep {
  step: "decode" | "signature" | "rules" | "inclusion" | "checkpoint" | "anchor" | "certificate";
  status: "passed" | "failed" | "skipped";
  detail: string;
}
/** A field value as the chain holds it: `{decimal: "1204.50"}`, `{text: "Li Na"}`, `{int: 3}`, `{bool: true}`, ... */
export type FieldValue = { [type: string]: unknown };
export interface VerifiedRecordInfo {
  scenario: string;
  index: number;
  /** "charter" for record 0, else the record kind (e.g. "payment"). */
  kind: string;
  /** The author's (or charter owner's) public key, hex. */
  author: string;
  /** The author's own clock when signing (a signed claim, not a bound set by the chain). */
  time_ms: number;
  /** Public fields (absent for digest-only records). */
  fields?: { [name: string]: FieldValue };
  /** blake3 digest of a digest-only record, hex. */
  digest?: string;
  /** Size of the scenario checkpoint the record was proven in. */
  checkpoint_size: number;
  /** Replica-signed time of that checkpoint. */
  checkpoint_time_ms: number;
  /** The currency (ISO 4217) of each field the charter ties to one (only with a verified charter). */
  currencies?: { [field: string]: string };
}
export interface Verdict {
  /** True only when every checked step passed under the trusted validator set. */
  verified: boolean;
  steps: VerdictStep[];
  /** The first failing step, when not verified. */
  failure?: { step: VerdictStep["step"]; reason: string };
  /** The verified record (only when verified). */
  record?: VerifiedRecordInfo;
  /** The final block that anchors it: the record existed by `time_ms` (only when verified). */
  block?: { height: number; hash: string; time_ms: number; epoch: number };
  /** Validators whose votes certify the block, hex (only when verified). */
  signers?: string[];
  /** Size of the trusted validator set of that epoch. */
  validators?: number;
  /** Charter rules outcome, when a charter was at hand. */
  rules?: { passed: string[]; unresolved: [string, string][] };
  /** Where trust came from. */
  trust: TrustInfo;
  /** The chain id the proof's block names (whenever the proof decoded, verified or not). */
  chain?: string;
  /** The relay asked (fetchAndVerify only). */
  relay?: string;
  /** The record in the relay's API (fetchAndVerify only). */
  url?: string;
  /** A note about the charter used for the rules step (fetchAndVerify only). */
  charter_note?: string;
  /** The transport that served the proof (fetchAndVerify only). */
  transport?: "webrtc-direct" | "websocket" | "http";
  /** The address it came from: a multiaddr, or the relay's URL for http (fetchAndVerify only). */
  address?: string;
}
export interface TrustInfo {
  chain_id: string;
  height: number;
  block: string;
  epoch: number;
  /**
   * "network": the network spec shipped with this verifier (`network.json` beside the widget
   * script, `LightClient.fromNetworkSpec`); "pinned": given by the caller (`new LightClient`,
   * `verifyReceipt`); "first-use": taken from the relay being checked. Only "network" earns the
   * widget's green badge; the caller of the JS API decides what it trusts.
   */
  source: "network" | "pinned" | "first-use";
  /** The first 16 hex digits of blake3 of the trusted checkpoint's canonical encoding. */
  fingerprint: string;
  /** The genesis block's hash, when a network spec named it. */
  genesis?: string;
  /** Plain words about the trust source. */
  note: string;
}
/** How a page shows a figure: its locale (BCP 47, as the page declares it), the record's currency for the field (a verdict's `record.currencies[field]`) and the currency the element says it shows. */
export interface DisplayReading { locale?: string; chainCurrency?: string; currency?: string }
/** How a displayed text compares with a verified field (core's display normalisation). */
export type DisplayCheck =
  | { result: "match"; on_chain: string; currency?: string; currency_on_chain?: boolean }
  | { result: "mismatch"; on_chain: string; shown: string }
  | { result: "unreadable"; on_chain: string; why: string };
/** How one relay fared in a cross-check. */
export type RelayCheck = { relay: string } & (
  | { status: "agrees"; height: number }
  | { status: "lags"; height: number; behind: number }
  | { status: "invalid"; reason: string }
  | { status: "equivocates"; height: number }
  | { status: "unreachable"; reason: string });
/** Two certified blocks at one height: validators holding more than 1/3 of the weight signed both. */
export interface EvidenceInfo {
  chain_id: string;
  height: number;
  epoch: number;
  first: string;
  first_signers: number;
  second: string;
  second_signers: number;
  /** The canonical encoding of core's `EquivocationEvidence`, hex: checkable by anyone. */
  bytes: string;
}
/** The heads of several relays, verified and compared (widget build: `client.crossCheck`). */
export interface CrossCheckReport {
  /** The highest verified head. */
  height?: number;
  block?: string;
  /** How many relays serve exactly that head, of `asked`. */
  agreeing: number;
  asked: number;
  relays: RelayCheck[];
  /** True when any equivocation evidence is held. */
  equivocation: boolean;
  evidence: EvidenceInfo[];
}
"#;

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

/// A JS error or value as text.
pub(crate) fn js_text(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsError> {
    js::to_value(v)
        .map_err(|e| JsError::new(&format!("cannot convert the result for JavaScript: {e}")))
}

/// Parses a trusted checkpoint from JSON text.
pub(crate) fn parse_trust_text(text: &str) -> Result<TrustedCheckpoint, String> {
    let v = js_sys::JSON::parse(text)
        .map_err(|e| format!("trusted checkpoint is not JSON: {}", js_text(&e)))?;
    parse_trust_value(v)
}

/// Reads a trusted checkpoint object (`GET /v1/trust`'s JSON) field by field — no generic
/// deserializer in the module — with core's limits, and checks the validator set is well formed.
fn parse_trust_value(v: JsValue) -> Result<TrustedCheckpoint, String> {
    let bad = |what: &str| {
        format!("not a trusted checkpoint (save GET /v1/trust from a relay you trust): {what}")
    };
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &JsValue::from_str(k)).ok();
    let text = |o: &JsValue, k: &str| get(o, k).and_then(|x| x.as_string());
    let number = |o: &JsValue, k: &str| {
        get(o, k)
            .and_then(|x| x.as_f64())
            .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= 9_007_199_254_740_991.0)
            .map(|n| n as u64)
    };
    if !v.is_object() {
        return Err(bad("not an object"));
    }
    let chain_id = text(&v, "chain_id")
        .filter(|c| !c.is_empty() && c.len() <= MAX_CHAIN_ID as usize)
        .ok_or_else(|| bad("chain_id"))?;
    let height = number(&v, "height").ok_or_else(|| bad("height"))?;
    let block = text(&v, "block")
        .and_then(|h| Hash::from_hex(&h).ok())
        .ok_or_else(|| bad("block (64 hex digits)"))?;
    let set = get(&v, "validators")
        .filter(JsValue::is_object)
        .ok_or_else(|| bad("validators"))?;
    let checked = parse_set_value(&set).map_err(|e| match e {
        SetError::Field(what) if what.starts_with("a ") => bad(what),
        SetError::Field(what) => bad(&format!("validators.{what}")),
        SetError::Invalid(why) => format!("trusted checkpoint: {why}"),
    })?;
    Ok(TrustedCheckpoint {
        chain_id,
        height,
        block,
        validators: checked,
    })
}

/// Why a validator set object was not read.
pub(crate) enum SetError {
    /// A field missing or out of range (its name).
    Field(&'static str),
    /// Not a well-formed set.
    Invalid(String),
}

/// Reads a validator set object (`{epoch, validators: [{key, weight}]}`, as the relay's JSON
/// carries it) field by field with core's limits; the keys must be in the relay's order.
pub(crate) fn parse_set_value(set: &JsValue) -> Result<ValidatorSet, SetError> {
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &JsValue::from_str(k)).ok();
    let number = |o: &JsValue, k: &str| {
        get(o, k)
            .and_then(|x| x.as_f64())
            .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= 9_007_199_254_740_991.0)
            .map(|n| n as u64)
    };
    let epoch = number(set, "epoch").ok_or(SetError::Field("epoch"))?;
    let list: js_sys::Array = get(set, "validators")
        .filter(js_sys::Array::is_array)
        .ok_or(SetError::Field("validators"))?
        .unchecked_into();
    if list.length() > MAX_VALIDATORS {
        return Err(SetError::Invalid("more validators than allowed".into()));
    }
    let mut validators = Vec::with_capacity(list.length() as usize);
    for item in list.iter() {
        let key = get(&item, "key")
            .and_then(|x| x.as_string())
            .and_then(|k| PublicKey::from_hex(&k).ok())
            .ok_or(SetError::Field("a validator key"))?;
        let weight = number(&item, "weight").ok_or(SetError::Field("a validator weight"))?;
        validators.push(Validator { key, weight });
    }
    // Well formed (non-empty, positive weights) and in the relay's order (strictly ascending).
    let checked = ValidatorSet::new(epoch, validators.clone())
        .map_err(|e| SetError::Invalid(e.to_string()))?;
    if checked.validators != validators {
        return Err(SetError::Invalid(
            "validator keys must be strictly ascending".into(),
        ));
    }
    Ok(checked)
}

/// The network spec format's `kind`.
pub(crate) const SPEC_KIND: &str = "trustchain/network-spec";

/// Reads a network spec (`/widget/network.json`: `{kind, version, chain_id, genesis, checkpoint}`)
/// with the same checks as any trust input: the checkpoint is read by [`parse_trust_value`] (core's
/// limits, a well-formed validator set), its chain id must be the spec's, the genesis hash is 64
/// hex digits, and a checkpoint at height 0 must be the genesis block itself.
#[cfg_attr(not(feature = "transports"), allow(dead_code))]
pub(crate) fn parse_spec_text(text: &str) -> Result<(TrustedCheckpoint, Hash), String> {
    let bad = |what: &str| format!("not a Trustchain network spec: {what}");
    let v = js_sys::JSON::parse(text).map_err(|e| bad(&format!("not JSON ({})", js_text(&e))))?;
    if !v.is_object() {
        return Err(bad("not an object"));
    }
    let get = |k: &str| js_sys::Reflect::get(&v, &JsValue::from_str(k)).ok();
    if get("kind").and_then(|k| k.as_string()).as_deref() != Some(SPEC_KIND) {
        return Err(bad("kind"));
    }
    if get("version").and_then(|n| n.as_f64()) != Some(1.0) {
        return Err(bad("version (this verifier reads version 1)"));
    }
    let chain_id = get("chain_id")
        .and_then(|c| c.as_string())
        .ok_or_else(|| bad("chain_id"))?;
    let genesis = get("genesis")
        .and_then(|h| h.as_string())
        .and_then(|h| Hash::from_hex(&h).ok())
        .ok_or_else(|| bad("genesis (64 hex digits)"))?;
    let cp = get("checkpoint")
        .filter(JsValue::is_object)
        .ok_or_else(|| bad("checkpoint"))?;
    let cp = parse_trust_value(cp)?;
    if cp.chain_id != chain_id {
        return Err(bad("the checkpoint is of another chain"));
    }
    if cp.height == 0 && cp.block != genesis {
        return Err(bad("a checkpoint at height 0 must be the genesis block"));
    }
    Ok((cp, genesis))
}

/// A trusted checkpoint's fingerprint: the first 16 hex digits of blake3 over its canonical
/// encoding (what a person compares when told "fingerprint …").
pub(crate) fn fingerprint(t: &TrustedCheckpoint) -> String {
    use trustchain_core::encoding::Encode as _;
    let h = blake3::hash(&t.to_bytes());
    trustchain_core::encoding::hex::encode(&h.as_bytes()[..8])
}

pub(crate) fn parse_trust(v: JsValue) -> Result<TrustedCheckpoint, JsError> {
    let r = match v.as_string() {
        Some(text) => parse_trust_text(&text),
        None if v.is_object() => parse_trust_value(v),
        None => Err("trust must be a trusted checkpoint object or its JSON text".into()),
    };
    r.map_err(|e| JsError::new(&e))
}

/// Reads the charter for the rules step from its own receipt (record 0 of the scenario, as
/// `…/records/0?format=receipt` returns) and verifies that receipt under the same trust first (the
/// shell's [`Shell::check_charter`]), so the rules a record is checked against are the scenario's
/// real charter.
fn verified_charter(text: &str, shell: &Shell) -> Result<Charter, JsError> {
    let proof = receipt::from_base64url(text)
        .map_err(|e| JsError::new(&format!("the charter receipt does not decode: {e}")))?;
    let scenario = proof.entry.scenario().clone();
    shell
        .check_charter(&scenario, Ok(proof))
        .map(|v| v.charter)
        .map_err(|e| JsError::new(&format!("the charter receipt: {e}")))
}

#[derive(Serialize)]
pub(crate) struct TrustInfo {
    chain_id: String,
    height: u64,
    block: String,
    epoch: u64,
    source: &'static str,
    fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    genesis: Option<String>,
    note: String,
}

impl TrustInfo {
    pub(crate) fn pinned(t: &TrustedCheckpoint) -> Self {
        TrustInfo {
            chain_id: t.chain_id.clone(),
            height: t.height,
            block: t.block.to_hex(),
            epoch: t.validators.epoch,
            source: "pinned",
            fingerprint: fingerprint(t),
            genesis: None,
            note: format!(
                "checked against a pinned checkpoint: {} validator(s) of epoch {} on chain {}, block {}",
                t.validators.validators.len(),
                t.validators.epoch,
                t.chain_id,
                t.height
            ),
        }
    }
    /// The network spec shipped beside the widget (the only source that earns its green badge).
    #[cfg_attr(not(feature = "transports"), allow(dead_code))]
    pub(crate) fn network(t: &TrustedCheckpoint, genesis: &Hash) -> Self {
        TrustInfo {
            source: "network",
            genesis: Some(genesis.to_hex()),
            note: format!(
                "checked against the network this widget ships with: chain {}, genesis {}, followed from block {} (fingerprint {})",
                t.chain_id,
                &genesis.to_hex()[..16],
                t.height,
                fingerprint(t)
            ),
            ..TrustInfo::pinned(t)
        }
    }
    #[cfg_attr(not(feature = "transports"), allow(dead_code))]
    pub(crate) fn first_use(t: &TrustedCheckpoint, relay: &str) -> Self {
        TrustInfo {
            source: "first-use",
            note: format!(
                "trust on first use: the validator set was taken from the relay being checked ({relay}) at block {}",
                t.height
            ),
            ..TrustInfo::pinned(t)
        }
    }
}

#[derive(Serialize)]
struct RecordInfo<'a> {
    scenario: &'a ScenarioId,
    index: u64,
    kind: &'a str,
    author: String,
    time_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a Fields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    checkpoint_size: u64,
    checkpoint_time_ms: u64,
    /// The currency (ISO 4217) of each field the charter ties to one, read from this record
    /// (an object: field name → code).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "pairs_as_map")]
    currencies: Vec<(String, String)>,
}

/// Serialises (key, value) pairs as a map (a JavaScript object).
fn pairs_as_map<S: serde::Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[derive(Serialize)]
struct BlockInfo {
    height: u64,
    hash: String,
    time_ms: u64,
    epoch: u64,
}

#[derive(Serialize)]
struct JsVerdict<'a> {
    verified: bool,
    steps: &'a [StepReport],
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<RecordInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block: Option<BlockInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    validators: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<&'a RuleReport>,
    trust: &'a TrustInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relay: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    charter_note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
}

/// Extra context for a verdict from the light client.
#[derive(Default)]
pub(crate) struct Context<'a> {
    pub(crate) relay: Option<&'a str>,
    pub(crate) url: Option<&'a str>,
    pub(crate) charter_note: Option<&'a str>,
    /// The transport that served the proof (`webrtc-direct`, `websocket`, `http`).
    pub(crate) transport: Option<&'a str>,
    /// The address it was served from.
    pub(crate) address: Option<&'a str>,
    /// The verified charter the record was checked against, if any: its currency ties say
    /// which currency each amount is in.
    pub(crate) charter: Option<&'a Charter>,
}

/// The JavaScript view of core's verdict. Record data appears only when core verified it.
pub(crate) fn verdict_to_js(
    verdict: &Verdict,
    proof: Option<&RecordProof>,
    set_size: Option<usize>,
    trust: &TrustInfo,
    cx: Context<'_>,
) -> Result<JsValue, JsError> {
    let verified = match (&verdict.outcome, proof) {
        (Ok(v), Some(p)) => Some((v, p)),
        _ => None,
    };
    let record = verified.map(|(v, p)| {
        let (kind, author, time_ms, fields, digest): (&str, _, _, Option<&Fields>, _) =
            match v.entry() {
                Entry::Charter(c) => (
                    "charter",
                    c.content.owners[0].to_hex(),
                    c.content.time_ms,
                    None,
                    None,
                ),
                Entry::Contract(c) => {
                    let (fields, digest) = match &c.content.body {
                        Body::Fields(f) => (Some(f), None),
                        Body::Digest(d) => (None, Some(d.to_hex())),
                    };
                    (
                        c.content.kind.as_str(),
                        c.content.author.to_hex(),
                        c.content.time_ms,
                        fields,
                        digest,
                    )
                }
            };
        let currencies = match (cx.charter.and_then(|c| c.kind(kind)), fields) {
            (Some(k), Some(f)) => display::record_currencies(k, f),
            _ => Vec::new(),
        };
        RecordInfo {
            currencies,
            scenario: v.scenario(),
            index: v.index(),
            kind,
            author,
            time_ms,
            fields,
            digest,
            checkpoint_size: v.checkpoint_size(),
            checkpoint_time_ms: p.checkpoint.checkpoint.time_ms,
        }
    });
    let out = JsVerdict {
        verified: verdict.is_verified(),
        steps: &verdict.steps,
        failure: verdict.outcome.as_ref().err(),
        record,
        block: verified.map(|(v, p)| BlockInfo {
            height: v.block_height(),
            hash: v.block_hash().to_hex(),
            time_ms: v.recorded_by_ms(),
            epoch: p.header.epoch,
        }),
        signers: verified.map(|(v, _)| v.signers().iter().map(|k| k.to_hex()).collect()),
        validators: set_size,
        rules: verdict.outcome.as_ref().ok().and_then(|v| v.rules()),
        trust,
        chain: proof.map(|p| p.header.chain_id.as_str()),
        relay: cx.relay,
        url: cx.url,
        charter_note: cx.charter_note,
        transport: cx.transport,
        address: cx.address,
    };
    to_js(&out)
}

// ---------------------------------------------------------------------------------------------
// Offline verification and display comparison
// ---------------------------------------------------------------------------------------------

/// Verifies a receipt (base64url text, as `GET …/records/{i}?format=receipt` returns) offline
/// against a trusted checkpoint (`GET /v1/trust`, an object or its JSON text). With
/// `charterReceipt` — the receipt of the scenario's record 0, its charter — that receipt is
/// verified too and the record is checked against the charter's schema and rules.
///
/// Returns the verdict; it throws only for an unusable `trust` or charter receipt. A receipt
/// that does not decode is a verdict whose `decode` step failed.
#[wasm_bindgen(js_name = verifyReceipt, unchecked_return_type = "Verdict")]
pub fn verify_receipt(
    receipt: &str,
    #[wasm_bindgen(unchecked_param_type = "TrustedCheckpoint | object | string")] trust: JsValue,
    #[wasm_bindgen(js_name = charterReceipt)] charter_receipt: Option<String>,
) -> Result<JsValue, JsError> {
    let trust = parse_trust(trust)?;
    let info = TrustInfo::pinned(&trust);
    let set_size = trust.validators.validators.len();
    let shell = Shell::new(trust);
    let charter = match charter_receipt.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => Some(verified_charter(text, &shell)?),
        _ => None,
    };
    let checked = shell.check(
        receipt::from_base64url(receipt),
        charter.as_ref().map(|c| (c, CharterUse::Pasted)),
    );
    let size = checked.proof.as_ref().map(|_| {
        checked
            .validators
            .as_ref()
            .map_or(set_size, |s| s.validators.len())
    });
    let cx = Context {
        charter: checked.rules_charter.as_ref(),
        ..Context::default()
    };
    verdict_to_js(&checked.verdict, checked.proof.as_ref(), size, &info, cx)
}

/// Compares what a page displays with a verified field, under core's documented normalisation
/// (the page's locale fixes decimal and grouping separators, currency signs and codes must be
/// the record's, exact decimals — never rounding).
///
/// `value` is a field as a verdict gives it (`{decimal: "1204.50"}`, `{text: "Li Na"}`), or a
/// plain string (text), boolean, integer number or bigint. `how` says how the page shows it:
/// `locale` (the BCP 47 tag the page declares — never guessed: without it only plain digits
/// read), `chainCurrency` (the record's currency for this field, from a verdict's
/// `record.currencies`), `currency` (the currency the element says it shows).
#[wasm_bindgen(js_name = compareDisplay, unchecked_return_type = "DisplayCheck")]
pub fn compare_display(
    shown: &str,
    #[wasm_bindgen(unchecked_param_type = "FieldValue | string | boolean | number | bigint")]
    value: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DisplayReading | undefined")] how: JsValue,
) -> Result<JsValue, JsError> {
    let value = js_to_value(value)?;
    let get = |k: &str| {
        if how.is_object() {
            js_sys::Reflect::get(&how, &JsValue::from_str(k))
                .ok()
                .and_then(|v| v.as_string())
        } else {
            None
        }
    };
    let (locale, chain, page) = (get("locale"), get("chainCurrency"), get("currency"));
    let reading = display::Reading {
        locale: locale.as_deref(),
        chain_currency: chain.as_deref(),
        page_currency: page.as_deref(),
    };
    to_js(&display::compare(shown, &value, &reading))
}

fn js_to_value(v: JsValue) -> Result<Value, JsError> {
    let bad = || {
        JsError::new(
            "not a field value: expected {decimal: \"12.50\"}, {int: 3}, {text: \"…\"}, {bool: true}, or a string, boolean or integer",
        )
    };
    if let Some(s) = v.as_string() {
        return Ok(Value::Text(s));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if v.as_f64().is_some() || v.is_bigint() {
        return js_int(&v).map(Value::Int).ok_or_else(bad);
    }
    if !v.is_object() {
        return Err(bad());
    }
    // A field as verdicts give it: one key naming the type (core's JSON form of `Value`).
    let get =
        |k: &str| js_sys::Reflect::get(&v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    let (dec, int, text, boolean) = (get("decimal"), get("int"), get("text"), get("bool"));
    if let Some(d) = dec.as_string() {
        return parse_decimal(&d)
            .map(Value::Decimal)
            .map_err(|e| JsError::new(&format!("decimal {d:?}: {e}")));
    }
    if !int.is_undefined() {
        return js_int(&int).map(Value::Int).ok_or_else(bad);
    }
    if let Some(t) = text.as_string() {
        return Ok(Value::Text(t));
    }
    boolean.as_bool().map(Value::Bool).ok_or_else(bad)
}

/// A safe-integer number, a bigint or a decimal-digit string as an i64.
fn js_int(v: &JsValue) -> Option<i64> {
    if let Some(n) = v.as_f64() {
        return (n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0).then_some(n as i64);
    }
    let text: String = if v.is_bigint() {
        js_sys::BigInt::unchecked_from_js_ref(v)
            .to_string(10)
            .ok()?
            .into()
    } else {
        v.as_string()?
    };
    text.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Benchmarks (measured in a browser by e2e; see e2e/BROWSER_BENCHMARKS.md)
// ---------------------------------------------------------------------------------------------

/// Decodes and verifies `receipt` against `trust` `iterations` times (no charter); returns how
/// many verified. Time it from JavaScript.
#[wasm_bindgen(js_name = benchVerifyReceipt)]
pub fn bench_verify_receipt(
    receipt: &str,
    #[wasm_bindgen(unchecked_param_type = "object | string")] trust: JsValue,
    iterations: u32,
) -> Result<u32, JsError> {
    let trust = parse_trust(trust)?;
    let mut ok = 0;
    for _ in 0..iterations {
        let proof = receipt::from_base64url(receipt).map_err(|e| JsError::new(&e.to_string()))?;
        if proof
            .verify(&trust.validators, &trust.chain_id, None)
            .is_verified()
        {
            ok += 1;
        }
    }
    Ok(ok)
}

/// Verifies the receipt's contract signature (ed25519, `verify_strict` on a prepared digest)
/// `iterations` times; returns how many held.
#[wasm_bindgen(js_name = benchEd25519)]
pub fn bench_ed25519(receipt: &str, iterations: u32) -> Result<u32, JsError> {
    let proof = receipt::from_base64url(receipt).map_err(|e| JsError::new(&e.to_string()))?;
    let Entry::Contract(c) = &proof.entry else {
        return Err(JsError::new("bench needs a contract receipt"));
    };
    let digest = c.content.signing_digest();
    let mut ok = 0;
    for _ in 0..iterations {
        if c.content.author.verify(&digest, &c.signature).is_ok() {
            ok += 1;
        }
    }
    Ok(ok)
}

/// Hashes `len` bytes with blake3 `iterations` times; returns a byte of the last hash.
#[wasm_bindgen(js_name = benchBlake3)]
pub fn bench_blake3(len: u32, iterations: u32) -> u32 {
    let mut data = vec![0x5au8; len as usize];
    let mut last = 0u8;
    for i in 0..iterations {
        if let Some(b) = data.first_mut() {
            *b = i as u8;
        }
        last = blake3::hash(&data).as_bytes()[0];
    }
    last as u32
}
