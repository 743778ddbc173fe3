//! HTTP GETs with the browser's `fetch`, bounded by a timeout, and the browser's storage; and a
//! relay's HTTP API as a transport of core's light-client shell.

use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Request, RequestInit, RequestMode, Response};

use trustchain_core::chain::block::EpochChange;
use trustchain_core::client::{CertifiedBlock, Transport};
use trustchain_core::encoding::DecodeError;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::RecordProof;
use trustchain_core::verify::receipt;

use crate::api::{ApiError, Block, Epochs, Relay};
use crate::check;

/// How long one request may take.
const TIMEOUT_MS: u32 = 15_000;
/// The largest answer read (a receipt is at most ~1.2 MiB; JSON pages are far smaller).
const MAX_BYTES: u32 = 8 << 20;

/// A JavaScript error as text.
pub fn js_error(e: JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

async fn get(url: &str) -> Result<Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_mode(RequestMode::Cors);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let req = Request::new_with_str_and_init(url, &init).map_err(js_error)?;
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|e| format!("could not reach {url}: {}", js_error(e)))?;
    let resp: Response = resp.dyn_into().map_err(js_error)?;
    if !resp.ok() {
        let status = resp.status();
        let body = match resp.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let why = serde_json::from_str::<ApiError>(&body)
            .map(|e| e.message)
            .unwrap_or_else(|_| body.chars().take(200).collect());
        let why = if why.trim().is_empty() {
            resp.status_text()
        } else {
            why
        };
        return Err(format!("{url} answered {status}: {why}"));
    }
    if let Ok(Some(len)) = resp.headers().get("content-length")
        && len.parse::<u64>().is_ok_and(|n| n > MAX_BYTES as u64)
    {
        return Err(format!("{url}: answer larger than {MAX_BYTES} bytes"));
    }
    Ok(resp)
}

/// GETs `url` as text.
pub async fn text(url: &str) -> Result<String, String> {
    let resp = get(url).await?;
    let v = JsFuture::from(resp.text().map_err(js_error)?)
        .await
        .map_err(|e| format!("{url}: {}", js_error(e)))?;
    v.as_string().ok_or_else(|| format!("{url}: not text"))
}

/// GETs `url` as bytes.
pub async fn bytes(url: &str) -> Result<Vec<u8>, String> {
    let resp = get(url).await?;
    let buf = JsFuture::from(resp.array_buffer().map_err(js_error)?)
        .await
        .map_err(|e| format!("{url}: {}", js_error(e)))?;
    let arr = js_sys::Uint8Array::new(&buf);
    if arr.length() > MAX_BYTES {
        return Err(format!("{url}: answer larger than {MAX_BYTES} bytes"));
    }
    Ok(arr.to_vec())
}

/// GETs `url` as JSON of type `T`.
pub async fn json<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    let t = text(url).await?;
    serde_json::from_str(&t).map_err(|e| format!("{url}: unexpected answer: {e}"))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Reads a localStorage item.
pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

/// Writes (or with `None` removes) a localStorage item.
pub fn store(key: &str, value: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match value {
            Some(v) => s.set_item(key, v),
            None => s.remove_item(key),
        };
    }
}

/// Milliseconds since the Unix epoch, by this browser's clock.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Copies text to the clipboard (best effort).
pub fn copy(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

/// A `data:` URL holding `text`, for download links that need no server.
pub fn data_url(mime: &str, text: &str) -> String {
    let enc = js_sys::encode_uri_component(text);
    format!("data:{mime};charset=utf-8,{}", String::from(enc))
}

/// A relay's HTTP API (`docs/openapi.yaml`) as a transport of core's light-client shell.
impl Transport for Relay {
    type Error = String;

    fn name(&self) -> &str {
        self.base()
    }

    async fn trusted_checkpoint(&self) -> Result<TrustedCheckpoint, String> {
        json(&self.url("/v1/trust"))
            .await
            .and_then(check::checked_trust)
    }

    async fn record_proof(
        &self,
        scenario: &ScenarioId,
        index: u64,
    ) -> Result<Result<RecordProof, DecodeError>, String> {
        let b = bytes(&self.record(scenario.as_str(), index, "bytes")).await?;
        Ok(receipt::from_bytes(&b))
    }

    async fn block(&self, height: Option<u64>) -> Result<CertifiedBlock, String> {
        let url = match height {
            None => self.url("/v1/main/head"),
            Some(h) => self.url(&format!("/v1/main/blocks/{h}")),
        };
        let b: Block = json(&url).await?;
        Ok((b.block.header, b.block.certificate))
    }

    async fn epoch_changes(&self, from_epoch: u64) -> Result<Vec<EpochChange>, String> {
        let e: Epochs = json(&self.url("/v1/main/epochs")).await?;
        Ok(e.changes
            .into_iter()
            .filter(|c| c.next.epoch >= from_epoch)
            .collect())
    }
}
