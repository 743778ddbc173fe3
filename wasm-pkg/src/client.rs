//! The light client (widget build only): core's light-client shell
//! ([`trustchain_core::client::Shell`]) over a [`Transport`] — libp2p (WebRTC-direct, WebSocket)
//! by default, HTTP on request. The shell follows epochs, verifies the charter as record 0 and
//! the records against it; this module only converts to and from JavaScript.

use std::rc::Rc;

use serde::Serialize;
use trustchain_core::client::{CharterUse, Shell, answers};
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::Encode as _;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::verify::detector::{CrossCheck, RelayAnswer, RelayStatus};
use trustchain_core::verify::light_client::EquivocationEvidence;
use trustchain_core::verify::light_client::{LightClient as CoreClient, TrustedCheckpoint};
use wasm_bindgen::prelude::*;

use crate::p2p::{Mode, P2pTransport};
use crate::transport::{CertifiedBlock, HttpTransport, Transport, TransportError};
use crate::{Context, TrustInfo, parse_spec_text, parse_trust, to_js, verdict_to_js};

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
    type Error = TransportError;

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

struct Inner {
    shell: Shell,
    trust: TrustInfo,
}

/// A light client: starts from a trusted checkpoint, fetches record proofs from relays and
/// verifies them with core's light client (which also keeps equivocation evidence).
#[wasm_bindgen]
pub struct LightClient {
    inner: Rc<Inner>,
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
            inner: Rc::new(Inner {
                shell: Shell::new(trust),
                trust: info,
            }),
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
        to_js(&self.inner.trust)
    }

    /// Height of the highest certified block seen so far (0 before any).
    #[wasm_bindgen(getter, js_name = highestHeight)]
    pub fn highest_height(&self) -> f64 {
        self.inner
            .shell
            .with_client(|c| c.highest().map_or(0.0, |h| h.header().height as f64))
    }

    /// Equivocation evidence gathered (two certified blocks at one height).
    #[wasm_bindgen(getter, js_name = evidenceCount)]
    pub fn evidence_count(&self) -> u32 {
        self.inner.shell.with_client(|c| c.evidence().len() as u32)
    }

    /// Equivocation evidence gathered so far: for each, the height, both block hashes, how many
    /// validators signed each, and the canonical bytes (hex) anyone can check against the epoch's
    /// validator set (`EquivocationEvidence::verify` in core).
    #[wasm_bindgen(getter, unchecked_return_type = "EvidenceInfo[]")]
    pub fn evidence(&self) -> Result<JsValue, JsError> {
        let list: Vec<EvidenceInfo> = self.inner.shell.with_client(|c| {
            c.evidence()
                .iter()
                .map(|e| evidence_info(c.chain_id(), e))
                .collect()
        });
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
                    inner.shell.follow_epochs(t, h.epoch).await;
                }
            }
            let mut check = inner.shell.with_client(|c| c.cross_check(&heads));
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
            inner.shell.with_client(|c| {
                for (p, a) in probes.iter().zip(&answers) {
                    c.settle_probe(&mut check, p, a);
                }
                to_js(&CrossCheckReport::new(&check, c)).map_err(JsValue::from)
            })
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

async fn fetch_and_verify<T: Transport<Error = TransportError>>(
    inner: &Inner,
    t: &T,
    scenario: &ScenarioId,
    index: u64,
) -> Result<JsValue, JsValue> {
    let checked = inner
        .shell
        .fetch_and_verify(t, scenario, index)
        .await
        .map_err(|e| transport_error(&e))?;
    // The relay must answer the question asked, or the page would show another record's fields.
    if let Some(Err(why)) = checked
        .proof
        .as_ref()
        .map(|p| answers(p, scenario.as_str(), index))
    {
        return Err(js_error("bad_answer", &why));
    }
    let url = t.name().starts_with("http").then(|| {
        format!(
            "{}/v1/scenarios/{}/records/{index}",
            t.name(),
            scenario.as_str().replace('/', "%2F")
        )
    });
    let served = t.served_by();
    let charter_note = match &checked.charter {
        CharterUse::Unverified(note) => Some(note.as_str()),
        _ => None,
    };
    let cx = Context {
        relay: Some(t.name()),
        url: url.as_deref(),
        charter_note,
        transport: served.as_ref().map(|s| s.0),
        address: served.as_ref().map(|s| s.1.as_str()),
        charter: checked.rules_charter.as_ref(),
    };
    let size = checked.validators.as_ref().map(|s| s.validators.len());
    verdict_to_js(
        &checked.verdict,
        checked.proof.as_ref(),
        size,
        &inner.trust,
        cx,
    )
    .map_err(JsValue::from)
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
