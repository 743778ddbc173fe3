//! The light client (widget build only): fetches record proofs from relays over a
//! [`Transport`] — libp2p (WebRTC-direct, WebSocket) by default, HTTP on request — and verifies them
//! with core's light client (which also keeps equivocation evidence).

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::Encode as _;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::scenario::charter::Charter;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::detector::{CrossCheck, RelayAnswer, RelayStatus};
use trustchain_core::verify::light_client::EquivocationEvidence;
use trustchain_core::verify::light_client::{LightClient as CoreClient, TrustedCheckpoint};
use trustchain_core::verify::proof::Verdict;
use wasm_bindgen::prelude::*;

use crate::p2p::{Mode, P2pTransport};
use crate::transport::{CertifiedBlock, HttpTransport, Transport, TransportError};
use crate::{
    Context, TrustInfo, parse_spec_text, parse_trust, to_js, verdict_to_js, without_charter,
};

/// A relay reached over one of the transports.
enum Relay {
    Http(HttpTransport),
    P2p(P2pTransport),
}

impl Relay {
    fn new(relay: &str, transport: Option<&str>) -> Result<Relay, TransportError> {
        match Mode::parse(transport)? {
            Mode::Http => HttpTransport::new(relay).map(Relay::Http),
            mode => P2pTransport::new(relay, mode).map(Relay::P2p),
        }
    }
}

impl Transport for Relay {
    fn name(&self) -> &str {
        match self {
            Relay::Http(t) => t.name(),
            Relay::P2p(t) => t.name(),
        }
    }
    fn served_by(&self) -> Option<(&'static str, String)> {
        match self {
            Relay::Http(t) => t.served_by(),
            Relay::P2p(t) => t.served_by(),
        }
    }
    async fn trusted_checkpoint(&self) -> Result<TrustedCheckpoint, TransportError> {
        match self {
            Relay::Http(t) => t.trusted_checkpoint().await,
            Relay::P2p(t) => t.trusted_checkpoint().await,
        }
    }
    async fn record_proof(
        &self,
        scenario: &ScenarioId,
        index: u64,
    ) -> Result<
        Result<trustchain_core::verify::proof::RecordProof, trustchain_core::encoding::DecodeError>,
        TransportError,
    > {
        match self {
            Relay::Http(t) => t.record_proof(scenario, index).await,
            Relay::P2p(t) => t.record_proof(scenario, index).await,
        }
    }
    async fn block(&self, height: Option<u64>) -> Result<CertifiedBlock, TransportError> {
        match self {
            Relay::Http(t) => t.block(height).await,
            Relay::P2p(t) => t.block(height).await,
        }
    }
    async fn epoch_changes(
        &self,
        from_epoch: u64,
    ) -> Result<Vec<trustchain_core::chain::block::EpochChange>, TransportError> {
        match self {
            Relay::Http(t) => t.epoch_changes(from_epoch).await,
            Relay::P2p(t) => t.epoch_changes(from_epoch).await,
        }
    }
}

/// Follows the chain's epoch changes from the client's latest trusted epoch up to `epoch`, as the
/// relay serves them. Each hand-over is checked by core's light client (the last block of the
/// epoch it trusts, certified by that epoch's set, naming the next set), so a relay cannot hand
/// over to a set of its choosing. Failures are left to the verdict: a header of an epoch still
/// unknown fails its certificate step, saying so.
async fn follow_epochs<T: Transport>(inner: &Rc<RefCell<Inner>>, t: &T, epoch: u64) {
    loop {
        let known = inner.borrow().client.epoch();
        if known >= epoch {
            return;
        }
        let Ok(changes) = t.epoch_changes(known + 1).await else {
            return;
        };
        let mut st = inner.borrow_mut();
        for change in &changes {
            if change.header.epoch == st.client.epoch()
                && st.client.apply_epoch_change(change).is_err()
            {
                return;
            }
        }
        if st.client.epoch() == known {
            return; // no progress: the relay has nothing newer
        }
    }
}

struct Inner {
    client: CoreClient,
    trust: TrustInfo,
    /// Verified charters (record 0), per relay and scenario, for the rules step.
    charters: Vec<(String, ScenarioId, Charter)>,
}

/// A light client: starts from a trusted checkpoint, fetches record proofs from relays and
/// verifies them with core's light client (which also keeps equivocation evidence).
#[wasm_bindgen]
pub struct LightClient {
    inner: Rc<RefCell<Inner>>,
}

fn js_error(kind: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&e, &"kind".into(), &kind.into());
    e.into()
}

fn transport_error(e: &TransportError) -> JsValue {
    let v = js_error(e.kind(), &e.to_string());
    if let TransportError::Refused { status, code, .. } = e {
        let _ = js_sys::Reflect::set(&v, &"status".into(), &(*status).into());
        let _ = js_sys::Reflect::set(&v, &"code".into(), &code.as_str().into());
    }
    v
}

#[wasm_bindgen]
impl LightClient {
    /// Starts from a trusted checkpoint (`GET /v1/trust` from a source you trust: an object or
    /// its JSON text).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "object | string")] trust: JsValue,
    ) -> Result<LightClient, JsError> {
        let trust = parse_trust(trust)?;
        Ok(Self::from_checkpoint(TrustInfo::pinned(&trust), trust))
    }

    /// Starts from a network spec (the JSON of `/widget/network.json`, served beside the widget
    /// script by the relay that serves the widget): chain id, genesis hash and a recent trusted
    /// checkpoint, checked like every trust input. Verdicts say `trust.source == "network"`.
    #[wasm_bindgen(js_name = fromNetworkSpec)]
    pub fn from_network_spec(spec: &str) -> Result<LightClient, JsError> {
        let (trust, genesis) = parse_spec_text(spec).map_err(|e| JsError::new(&e))?;
        Ok(Self::from_checkpoint(
            TrustInfo::network(&trust, &genesis),
            trust,
        ))
    }

    fn from_checkpoint(info: TrustInfo, trust: TrustedCheckpoint) -> LightClient {
        LightClient {
            inner: Rc::new(RefCell::new(Inner {
                client: CoreClient::new(trust),
                trust: info,
                charters: Vec::new(),
            })),
        }
    }

    /// Trust on first use: takes the trusted checkpoint from the relay itself (a base URL or
    /// multiaddrs; `transport` as in [`Self::fetch_and_verify`]). Every verdict says so
    /// (`trust.source == "first-use"`).
    #[wasm_bindgen(js_name = fromRelay)]
    pub async fn from_relay(
        #[wasm_bindgen(js_name = relayUrl)] relay_url: String,
        transport: Option<String>,
    ) -> Result<LightClient, JsValue> {
        let t = Relay::new(&relay_url, transport.as_deref()).map_err(|e| transport_error(&e))?;
        let trust = t
            .trusted_checkpoint()
            .await
            .map_err(|e| transport_error(&e))?;
        Ok(Self::from_checkpoint(
            TrustInfo::first_use(&trust, t.name()),
            trust,
        ))
    }

    /// Where trust came from.
    #[wasm_bindgen(getter, unchecked_return_type = "TrustInfo")]
    pub fn trust(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.borrow().trust)
    }

    /// Height of the highest certified block seen so far (0 before any).
    #[wasm_bindgen(getter, js_name = highestHeight)]
    pub fn highest_height(&self) -> f64 {
        self.inner
            .borrow()
            .client
            .highest()
            .map_or(0.0, |h| h.header().height as f64)
    }

    /// Equivocation evidence gathered (two certified blocks at one height).
    #[wasm_bindgen(getter, js_name = evidenceCount)]
    pub fn evidence_count(&self) -> u32 {
        self.inner.borrow().client.evidence().len() as u32
    }

    /// Equivocation evidence gathered so far: for each, the height, both block hashes, how many
    /// validators signed each, and the canonical bytes (hex) anyone can check against the epoch's
    /// validator set (`EquivocationEvidence::verify` in core).
    #[wasm_bindgen(getter, unchecked_return_type = "EvidenceInfo[]")]
    pub fn evidence(&self) -> Result<JsValue, JsError> {
        let st = self.inner.borrow();
        let list: Vec<EvidenceInfo> = st
            .client
            .evidence()
            .iter()
            .map(|e| evidence_info(st.client.chain_id(), e))
            .collect();
        to_js(&list)
    }

    /// Asks every relay for its head (in parallel), verifies each against the trusted validator
    /// set, and compares them: which agree on the highest head, which lag, which serve something
    /// invalid or are unreachable. A lagging relay's head is compared with the leading relay's
    /// block at the same height, so a fork is not mistaken for lag. Two valid certificates for
    /// different blocks at one height are kept as evidence ([`Self::evidence`]).
    ///
    /// `relays`: base URLs or multiaddrs, as for [`Self::fetch_and_verify`]; `transport` likewise.
    #[wasm_bindgen(js_name = crossCheck, unchecked_return_type = "Promise<CrossCheckReport>")]
    pub fn cross_check(&self, relays: Vec<String>, transport: Option<String>) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let mut ts = Vec::with_capacity(relays.len());
            for r in &relays {
                let t = Relay::new(r, transport.as_deref()).map_err(|e| transport_error(&e))?;
                ts.push((r.clone(), t));
            }
            let heads = futures::future::join_all(ts.iter().map(|(name, t)| async move {
                let answer: RelayAnswer = t.block(None).await.map_err(|e| e.to_string());
                (name.clone(), answer)
            }))
            .await;
            // Heads of epochs the client does not know yet: follow the hand-overs first.
            for ((_, t), (_, answer)) in ts.iter().zip(&heads) {
                if let Ok((h, _)) = answer {
                    follow_epochs(&inner, t, h.epoch).await;
                }
            }
            let mut check = inner.borrow_mut().client.cross_check(&heads);
            let probes = check.probes();
            let answers = futures::future::join_all(probes.iter().map(|p| {
                let t = ts.iter().find(|(name, _)| *name == p.ask).map(|(_, t)| t);
                async move {
                    match t {
                        Some(t) => t.block(Some(p.height)).await.map_err(|e| e.to_string()),
                        None => Err(String::new()),
                    }
                }
            }))
            .await;
            let mut st = inner.borrow_mut();
            for (p, a) in probes.iter().zip(&answers) {
                st.client.settle_probe(&mut check, p, a);
            }
            let report = CrossCheckReport::new(&check, &st.client);
            to_js(&report).map_err(JsValue::from)
        })
    }

    /// The URL of record `index` of `scenario` in the relay's API.
    #[wasm_bindgen(js_name = recordUrl)]
    pub fn record_url(
        #[wasm_bindgen(js_name = relayUrl)] relay_url: &str,
        scenario: &str,
        index: f64,
    ) -> Result<String, JsValue> {
        let (scenario, index) = args(scenario, index)?;
        let t = HttpTransport::new(relay_url).map_err(|e| transport_error(&e))?;
        Ok(t.record_url(&scenario, index))
    }

    /// Fetches record `index` of `scenario` from the relay and verifies it. When the record is
    /// not the charter, the scenario's charter (record 0) is fetched and verified once per relay,
    /// and the record is checked against its schema and rules too.
    ///
    /// `relay` is a base URL (its libp2p addresses are read from
    /// `/.well-known/trustchain.json`) or multiaddrs (comma separated). `transport`: `auto`
    /// (default: WebRTC-direct, then WebSocket), `webrtc`, `websocket` or `http` (the relay's
    /// HTTP API, no libp2p). The verdict's `transport` and `address` say which one served it.
    ///
    /// Resolves to a verdict (verified or naming the failing step); rejects with an `Error` whose
    /// `kind` is `unreachable`, `refused` (with `status` and `code`), `bad_answer` or `argument`
    /// when the relay could not be asked.
    #[wasm_bindgen(js_name = fetchAndVerify, unchecked_return_type = "Promise<Verdict>")]
    pub fn fetch_and_verify(
        &self,
        #[wasm_bindgen(js_name = relayUrl)] relay_url: String,
        scenario: String,
        index: f64,
        transport: Option<String>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (scenario, index) = args(&scenario, index)?;
            let t =
                Relay::new(&relay_url, transport.as_deref()).map_err(|e| transport_error(&e))?;
            fetch_and_verify(&inner, &t, &scenario, index).await
        })
    }
}

fn args(scenario: &str, index: f64) -> Result<(ScenarioId, u64), JsValue> {
    let scenario = ScenarioId::new(scenario)
        .map_err(|e| js_error("argument", &format!("scenario {scenario:?}: {e}")))?;
    if !(index >= 0.0 && index.fract() == 0.0 && index <= 9_007_199_254_740_991.0) {
        // (No float formatting here: it would add kilobytes to the module.)
        return Err(js_error(
            "argument",
            "the record index is not a whole number >= 0",
        ));
    }
    Ok((scenario, index as u64))
}

async fn fetch_and_verify<T: Transport>(
    inner: &Rc<RefCell<Inner>>,
    t: &T,
    scenario: &ScenarioId,
    index: u64,
) -> Result<JsValue, JsValue> {
    let mut charter_note = None;
    let charter = if index == 0 {
        None
    } else {
        let cached = inner
            .borrow()
            .charters
            .iter()
            .find(|(r, s, _)| r == t.name() && s == scenario)
            .map(|(_, _, c)| c.clone());
        match cached {
            Some(c) => Some(c),
            None => match load_charter(inner, t, scenario).await {
                Ok(c) => Some(c),
                Err(note) => {
                    charter_note = Some(note);
                    None
                }
            },
        }
    };
    let decoded = t
        .record_proof(scenario, index)
        .await
        .map_err(|e| transport_error(&e))?;
    if let Ok(p) = &decoded {
        follow_epochs(inner, t, p.header.epoch).await;
    }
    let url = t.name().starts_with("http").then(|| {
        format!(
            "{}/v1/scenarios/{}/records/{index}",
            t.name(),
            scenario.as_str().replace('/', "%2F")
        )
    });
    let served = t.served_by();
    let mut st = inner.borrow_mut();
    let cx = |note| Context {
        relay: Some(t.name()),
        url: url.as_deref(),
        charter_note: note,
        transport: served.as_ref().map(|s| s.0),
        address: served.as_ref().map(|s| s.1.as_str()),
        charter: charter.as_ref(),
    };
    let proof = match decoded {
        Ok(p) => p,
        Err(e) => {
            return verdict_to_js(
                &Verdict::undecodable(&e),
                None,
                None,
                &st.trust,
                cx(charter_note.as_deref()),
            )
            .map_err(JsValue::from);
        }
    };
    // The relay must answer the question asked, or the page would show another record's fields.
    if proof.entry.scenario() != scenario || proof.inclusion.index != index {
        return Err(js_error(
            "bad_answer",
            &format!(
                "asked for record {index} of {scenario}, the relay sent record {} of {}",
                proof.inclusion.index,
                proof.entry.scenario()
            ),
        ));
    }
    let mut verdict = st.client.verify_record(&proof, charter.as_ref());
    if index != 0 && charter.is_none() {
        verdict = without_charter(verdict, charter_note.as_deref().unwrap_or("no charter"));
    }
    let size = st
        .client
        .validators(proof.header.epoch)
        .map(|s| s.validators.len());
    verdict_to_js(
        &verdict,
        Some(&proof),
        size,
        &st.trust,
        cx(charter_note.as_deref()),
    )
    .map_err(JsValue::from)
}

/// Fetches and verifies record 0 (the charter); remembers it. Errors are notes for the verdict:
/// without a charter the record is not verified (the rules step fails, naming the note).
async fn load_charter<T: Transport>(
    inner: &Rc<RefCell<Inner>>,
    t: &T,
    scenario: &ScenarioId,
) -> Result<Charter, String> {
    let proof = t
        .record_proof(scenario, 0)
        .await
        .map_err(|e| format!("charter not fetched: {e}"))?
        .map_err(|e| format!("charter not decoded: {e}"))?;
    follow_epochs(inner, t, proof.header.epoch).await;
    let mut st = inner.borrow_mut();
    let verdict = st.client.verify_record(&proof, None);
    match (&verdict.outcome, &proof.entry) {
        (Ok(_), Entry::Charter(c))
            if proof.inclusion.index == 0 && &c.content.scenario == scenario =>
        {
            st.charters
                .push((t.name().to_string(), scenario.clone(), c.clone()));
            Ok(c.clone())
        }
        (Ok(_), _) => Err("record 0 is not this scenario's charter".into()),
        (Err(f), _) => Err(format!("charter not verified: {f}")),
    }
}

/// What [`LightClient::cross_check`] resolves to.
#[derive(Serialize)]
struct CrossCheckReport<'a> {
    /// The highest verified head.
    height: Option<u64>,
    block: Option<Hash>,
    /// How many relays serve exactly that head.
    agreeing: usize,
    /// How many relays were asked.
    asked: usize,
    relays: Vec<RelayInfo<'a>>,
    equivocation: bool,
    evidence: Vec<EvidenceInfo>,
}

#[derive(Serialize)]
struct RelayInfo<'a> {
    relay: &'a str,
    #[serde(flatten)]
    status: &'a RelayStatus,
}

impl<'a> CrossCheckReport<'a> {
    fn new(check: &'a CrossCheck, client: &CoreClient) -> Self {
        CrossCheckReport {
            height: check.height,
            block: check.block,
            agreeing: check.agreeing,
            asked: check.relays.len(),
            relays: check
                .relays
                .iter()
                .map(|(relay, status)| RelayInfo { relay, status })
                .collect(),
            equivocation: check.equivocation,
            evidence: client
                .evidence()
                .iter()
                .map(|e| evidence_info(client.chain_id(), e))
                .collect(),
        }
    }
}

/// Equivocation evidence for people and for download.
#[derive(Serialize)]
struct EvidenceInfo {
    chain_id: String,
    height: u64,
    epoch: u64,
    first: Hash,
    first_signers: usize,
    second: Hash,
    second_signers: usize,
    /// The canonical encoding of `EquivocationEvidence` (hex).
    bytes: String,
}

fn evidence_info(chain_id: &str, e: &EquivocationEvidence) -> EvidenceInfo {
    EvidenceInfo {
        chain_id: chain_id.to_string(),
        height: e.first.height,
        epoch: e.first.epoch,
        first: e.first.hash(),
        first_signers: e.first_certificate.signatures.len(),
        second: e.second.hash(),
        second_signers: e.second_certificate.signatures.len(),
        bytes: trustchain_core::encoding::hex::encode(&e.to_bytes()),
    }
}
