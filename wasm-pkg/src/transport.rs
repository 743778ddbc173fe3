//! How the light client reaches relays.
//!
//! Two transports implement core's [`Transport`] (the light-client shell's,
//! `trustchain_core::client`): `crate::p2p::P2pTransport` — rust-libp2p
//! request-response over WebRTC-direct or WebSocket, what browsers use by default — and
//! [`HttpTransport`], the relay's plain HTTP API through the browser's `fetch` (the `http` mode,
//! for debugging and for relays without libp2p). Nothing outside them knows how bytes arrive: the
//! light client only sees decoded, size-limited values.

use js_sys::{Promise, Uint8Array};
use trustchain_core::chain::block::EpochChange;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode as _, DecodeError};
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::RecordProof;
use trustchain_core::verify::receipt::{self, MAX_RECEIPT_BYTES};
use trustchain_core::verify::wire;
use wasm_bindgen::prelude::*;

pub(crate) use crate::js_text;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Request, RequestInit, RequestMode, Response};

/// Largest trusted-checkpoint answer accepted (JSON), in bytes.
const MAX_TRUST_BYTES: usize = 256 * 1024;
/// How long one request may take.
const TIMEOUT_MS: u32 = 15_000;

/// Why a relay could not be asked. Verification failures are not transport errors: they come back
/// as a verdict.
#[derive(Debug, Clone)]
pub enum TransportError {
    /// No answer: network error, refused connection, CORS, timeout.
    Unreachable(String),
    /// The relay answered with an error (status and its message).
    Refused {
        /// HTTP status (or the libp2p error code later).
        status: u16,
        /// The relay's `error` code, when it sent one.
        code: String,
        /// The relay's message.
        message: String,
    },
    /// The answer is larger than allowed or not what was asked for.
    BadAnswer(String),
    /// The caller's relay address or transport mode is unusable.
    Argument(String),
}

impl TransportError {
    /// A short, stable kind for the widget (`unreachable`, `refused`, `bad_answer`).
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::Unreachable(_) => "unreachable",
            TransportError::Refused { .. } => "refused",
            TransportError::BadAnswer(_) => "bad_answer",
            TransportError::Argument(_) => "argument",
        }
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Unreachable(why) => write!(f, "relay unreachable: {why}"),
            TransportError::Refused {
                status, message, ..
            } => write!(f, "relay refused ({status}): {message}"),
            TransportError::BadAnswer(why) => write!(f, "unusable answer from relay: {why}"),
            TransportError::Argument(why) => write!(f, "{why}"),
        }
    }
}

pub use trustchain_core::client::{CertifiedBlock, Transport};

/// Reads a `wire::Response::Block` (both transports send one), or the relay's error.
pub(crate) fn block_answer(
    bytes: &[u8],
    refused: impl FnOnce(String, String) -> TransportError,
) -> Result<CertifiedBlock, TransportError> {
    match wire::Response::from_bytes_with(bytes, wire::FRAME_LIMITS) {
        Ok(wire::Response::Block {
            header,
            certificate,
        }) => Ok((header, certificate)),
        Ok(wire::Response::Error { code, message }) => Err(refused(code, message)),
        Ok(_) => Err(TransportError::BadAnswer(
            "the relay answered something else than a block".into(),
        )),
        Err(e) => Err(TransportError::BadAnswer(format!("block: {e}"))),
    }
}

#[wasm_bindgen]
extern "C" {
    /// `globalThis.fetch`: works in windows and workers alike.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> Promise;

    /// `AbortSignal.timeout(ms)`, caught: an old browser without it just has no timeout.
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout, catch)]
    fn abort_timeout(ms: u32) -> Result<AbortSignal, JsValue>;
}

/// The relay's HTTP API (`docs/openapi.yaml`), reached with `fetch`.
pub struct HttpTransport {
    base: String,
}

impl HttpTransport {
    /// A transport to the relay at `base` (`http://127.0.0.1:8080`, trailing `/` ignored).
    pub fn new(base: &str) -> Result<Self, TransportError> {
        let base = base.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TransportError::Argument(format!(
                "relay address {base:?} is not an http(s) URL"
            )));
        }
        Ok(HttpTransport {
            base: base.to_string(),
        })
    }

    /// The URL of record `index` in the relay's API (what a person can open).
    pub fn record_url(&self, scenario: &ScenarioId, index: u64) -> String {
        format!(
            "{}/v1/scenarios/{}/records/{index}",
            self.base,
            scenario.as_str().replace('/', "%2F")
        )
    }

    /// The relay's `/.well-known/trustchain.json` (its libp2p browser addresses), as text.
    pub async fn well_known(&self) -> Result<String, TransportError> {
        let bytes = self
            .get(
                &format!("{}/.well-known/trustchain.json", self.base),
                MAX_TRUST_BYTES,
            )
            .await?;
        String::from_utf8(bytes)
            .map_err(|_| TransportError::BadAnswer("trustchain.json is not UTF-8".into()))
    }

    async fn get(&self, url: &str, limit: usize) -> Result<Vec<u8>, TransportError> {
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_mode(RequestMode::Cors);
        if let Ok(signal) = abort_timeout(TIMEOUT_MS) {
            init.set_signal(Some(&signal));
        }
        let req = Request::new_with_str_and_init(url, &init)
            .map_err(|e| TransportError::Unreachable(js_text(&e)))?;
        let res: Response = JsFuture::from(global_fetch(&req))
            .await
            .map_err(|e| TransportError::Unreachable(format!("{} ({})", self.base, js_text(&e))))?
            .unchecked_into();
        if let Some(len) = res
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|l| l.parse::<usize>().ok())
            && len > limit
        {
            return Err(TransportError::BadAnswer(format!(
                "{len} bytes, more than the {limit} allowed"
            )));
        }
        let buf = JsFuture::from(
            res.array_buffer()
                .map_err(|e| TransportError::Unreachable(js_text(&e)))?,
        )
        .await
        .map_err(|e| TransportError::Unreachable(js_text(&e)))?;
        let bytes = Uint8Array::new(&buf);
        if bytes.length() as usize > limit {
            return Err(TransportError::BadAnswer(format!(
                "{} bytes, more than the {limit} allowed",
                bytes.length()
            )));
        }
        let bytes = bytes.to_vec();
        if !res.ok() {
            let (code, message) = error_body(&bytes);
            return Err(TransportError::Refused {
                status: res.status(),
                code,
                message,
            });
        }
        Ok(bytes)
    }
}

/// Reads `{"error": code, "message": text}` without a JSON library (the verifier stays small).
fn error_body(bytes: &[u8]) -> (String, String) {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    let parsed = js_sys::JSON::parse(text).ok();
    let get = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| js_sys::Reflect::get(v, &JsValue::from_str(k)).ok())
            .and_then(|v| v.as_string())
    };
    let code = get("error").unwrap_or_default();
    let mut message = get("message").unwrap_or_else(|| text.chars().take(200).collect());
    if message.is_empty() {
        message = "no message".to_string();
    }
    (code, message)
}

impl Transport for HttpTransport {
    type Error = TransportError;

    fn name(&self) -> &str {
        &self.base
    }

    fn served_by(&self) -> Option<(&'static str, String)> {
        Some(("http", self.base.clone()))
    }

    async fn trusted_checkpoint(&self) -> Result<TrustedCheckpoint, TransportError> {
        let bytes = self
            .get(&format!("{}/v1/trust", self.base), MAX_TRUST_BYTES)
            .await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| TransportError::BadAnswer("trusted checkpoint is not UTF-8".into()))?;
        crate::parse_trust_text(text).map_err(TransportError::BadAnswer)
    }

    async fn record_proof(
        &self,
        scenario: &ScenarioId,
        index: u64,
    ) -> Result<Result<RecordProof, DecodeError>, TransportError> {
        let url = format!("{}?format=bytes", self.record_url(scenario, index));
        let bytes = self.get(&url, MAX_RECEIPT_BYTES).await?;
        Ok(receipt::from_bytes(&bytes))
    }

    async fn block(&self, height: Option<u64>) -> Result<CertifiedBlock, TransportError> {
        let url = match height {
            None => format!("{}/v1/main/head?format=bytes", self.base),
            Some(h) => format!("{}/v1/main/blocks/{h}?format=bytes", self.base),
        };
        let bytes = self.get(&url, wire::MAX_FRAME).await?;
        block_answer(&bytes, |code, message| TransportError::Refused {
            status: 500,
            code,
            message,
        })
    }

    async fn epoch_changes(&self, from_epoch: u64) -> Result<Vec<EpochChange>, TransportError> {
        // `/v1/main/epochs` is JSON only: the new sets are read from it (field by field, as the
        // trusted checkpoint is), each hand-over block in canonical bytes from the blocks route.
        let bytes = self
            .get(&format!("{}/v1/main/epochs", self.base), wire::MAX_FRAME)
            .await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| TransportError::BadAnswer("epochs are not UTF-8".into()))?;
        let v = js_sys::JSON::parse(text)
            .map_err(|_| TransportError::BadAnswer("epochs are not JSON".into()))?;
        let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &JsValue::from_str(k)).ok();
        let bad = |what: &str| TransportError::BadAnswer(format!("epoch changes: {what}"));
        let list: js_sys::Array = get(&v, "changes")
            .filter(js_sys::Array::is_array)
            .ok_or_else(|| bad("no list of changes"))?
            .unchecked_into();
        let mut out = Vec::new();
        for c in list.iter().take(wire::MAX_EPOCH_CHANGES as usize) {
            let next = get(&c, "next")
                .filter(JsValue::is_object)
                .ok_or_else(|| bad("a change without its next set"))
                .and_then(|n| {
                    crate::parse_set_value(&n).map_err(|e| match e {
                        crate::SetError::Field(w) => bad(w),
                        crate::SetError::Invalid(w) => bad(&w),
                    })
                })?;
            if next.epoch < from_epoch {
                continue;
            }
            let height = get(&c, "header")
                .and_then(|h| get(&h, "height"))
                .and_then(|h| h.as_f64())
                .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= 9_007_199_254_740_991.0)
                .ok_or_else(|| bad("a change without its block height"))?;
            let (header, certificate) = self.block(Some(height as u64)).await?;
            out.push(EpochChange {
                header,
                certificate,
                next,
            });
        }
        Ok(out)
    }
}
