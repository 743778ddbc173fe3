//! The HTTP/JSON API (documented in `docs/openapi.yaml`).
//!
//! Scenario ids contain `/`; in paths they are percent-encoded as one segment:
//! `/v1/scenarios/demo%2Fbudget/records/17`.

pub mod fields;
pub mod limits;
pub mod quota;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::WatchStream;
use trustchain_core::client::api::{
    self as answers, CertifiedBlockJson, HeadInfo, RecordItem, ScenarioSummary,
};
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode, Encode};
use trustchain_core::scenario::charter::Charter;
use trustchain_core::scenario::contract::Contract;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::receipt;

use crate::ingest::{Ingest, IngestError};
use crate::metrics::Metrics;
use crate::query::{QueryError, QueryErrorKind, consistency_proof, record_proof};
use crate::store::{EncodedEntry, Store, StoreError};
use trustchain_core::chain::state::ChainSnapshot;

/// Largest request body.
pub const MAX_BODY_BYTES: usize = 4 << 20;
/// Most records per page.
pub const MAX_PAGE: u64 = 500;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// The ingest writer.
    pub ingest: Ingest,
    /// The latest chain snapshot.
    pub chain: watch::Receiver<Arc<ChainSnapshot>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// When the relay started.
    pub started: Instant,
    /// How often blocks are produced.
    pub block_interval: Duration,
    /// `"dev"` (single-node network) or `"network"` (a relay of a BFT network).
    pub mode: &'static str,
    /// The libp2p side (browser transports), when running.
    pub p2p: Option<crate::net::P2pInfo>,
    /// Lie in every record proof served (tests of the verifiers only; `dev --misbehave`).
    pub misbehave: Option<crate::node::misbehave::Misbehave>,
    /// Write quotas of the projects homed here (a network relay; none in dev mode).
    pub quotas: Option<Arc<crate::api::quota::Quotas>>,
    /// Bounds on connections and event streams (docs/threats.md).
    pub http: Arc<crate::api::limits::HttpLimits>,
    /// This relay's key and the P2PT overlay of the current epoch (a network relay).
    pub overlay: Option<(
        trustchain_core::crypto::PublicKey,
        watch::Receiver<Arc<crate::node::overlay::Overlay>>,
    )>,
}

/// An API error: a status, a stable code and a message that says what to do.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Option<serde_json::Value>,
    /// `Retry-After`, in seconds.
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<&'a serde_json::Value>,
}

impl ApiError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
            retry_after: None,
        }
    }
    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: &self.message,
            extra: self.extra.as_ref(),
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        res
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let status = match e.kind {
            QueryErrorKind::NotFound => StatusCode::NOT_FOUND,
            QueryErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            QueryErrorKind::NotYet => StatusCode::CONFLICT,
            QueryErrorKind::Behind => StatusCode::SERVICE_UNAVAILABLE,
            QueryErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            code: e.code,
            message: e.message,
            extra: e.extra,
            retry_after: e.retry_after,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error while serving a request");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string())
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        let status = match &e {
            IngestError::UnknownScenario(_) => StatusCode::NOT_FOUND,
            IngestError::ScenarioExists(_) => StatusCode::CONFLICT,
            IngestError::BatchTooLarge(_) | IngestError::TooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            IngestError::BadSignature { .. } => StatusCode::UNAUTHORIZED,
            IngestError::Rejected {
                rejection: trustchain_core::scenario::charter::Rejection::Unauthorised(_),
                ..
            } => StatusCode::FORBIDDEN,
            IngestError::ReplayedNonce { .. } | IngestError::NotAt { .. } => StatusCode::CONFLICT,
            IngestError::NotHome { .. } => StatusCode::MISDIRECTED_REQUEST,
            IngestError::Storage(_) | IngestError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn scenario_id(raw: &str) -> ApiResult<ScenarioId> {
    ScenarioId::new(raw).map_err(|e| {
        ApiError::bad_request(
            "bad_scenario_id",
            format!("{e}; percent-encode the '/' in scenario ids, e.g. demo%2Fbudget"),
        )
    })
}

/// The router.
pub fn router(state: AppState) -> Router {
    router_with_web(state, None)
}

/// The router, serving the static files of `web_dir` (the demo page, the widget) for every path
/// that is not an API route. A missing directory only means 404s.
pub fn router_with_web(state: AppState, web_dir: Option<&std::path::Path>) -> Router {
    let api = Router::new()
        .route("/", get(index))
        .route("/v1/status", get(status))
        .route("/.well-known/trustchain.json", get(well_known))
        .route("/v1/trust", get(trust))
        .route("/widget/network.json", get(network_spec))
        .route("/v1/scenarios", get(scenarios).post(create_scenario))
        .route("/v1/scenarios/{id}", get(scenario))
        .route("/v1/scenarios/{id}/interface", get(interface))
        .route("/v1/scenarios/{id}/contracts", post(submit))
        .route("/v1/scenarios/{id}/records", get(records))
        .route("/v1/scenarios/{id}/records/{index}", get(record))
        .route("/v1/scenarios/{id}/checkpoints", get(checkpoints))
        .route("/v1/scenarios/{id}/consistency", get(consistency))
        .route("/v1/main/head", get(head))
        .route("/v1/main/blocks/{height}", get(block))
        .route("/v1/main/epochs", get(epochs))
        .route("/v1/main/beacon", get(beacon))
        .route("/v1/main/overlay", get(overlay))
        .route("/v1/heads", get(heads))
        .route("/metrics", get(metrics));
    let api = match web_dir {
        Some(dir) => api
            .nest_service("/explorer", explorer_files(dir))
            .fallback_service(tower_http::services::ServeDir::new(dir)),
        None => api,
    };
    api.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// The Content-Security-Policy of every HTML page the relay serves (the landing page, the demo,
/// the offline verifier, the explorer): scripts only from this origin, as files — no inline
/// script, no `eval` (WebAssembly compilation is allowed: the verifier is wasm) — and no framing.
/// `connect-src` allows any relay over HTTP(S) and libp2p WebSocket (`ws:`/`wss:`), since the
/// explorer and the badges read the relays a reader names; WebRTC is not governed by CSP. Inline
/// `style` stays allowed (the badge's shadow-DOM style sheet, Leptos' style attributes): styles
/// cannot run script.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
     connect-src 'self' http: https: ws: wss:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The Content-Security-Policy of everything else (JSON, receipts, scripts, wasm): nothing may
/// run when such a file is opened as a document. A policy on a script or module file does not
/// bind the page that loads it, so other sites still embed the widget (CORS allows them).
pub const FILE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Security headers on every answer: a CSP (pages: [`PAGE_CSP`], other files: [`FILE_CSP`]),
/// `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and for pages
/// `X-Frame-Options: DENY` (older browsers' `frame-ancestors`).
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    // A 304 answers a browser's revalidation of a cached file; the browser merges its headers
    // into the cached response. It carries no Content-Type, so it must not carry a policy either:
    // FILE_CSP on a 304 for a cached page would sandbox that page on reload.
    let not_modified = res.status() == StatusCode::NOT_MODIFIED;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let h = res.headers_mut();
    if !not_modified {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if html { PAGE_CSP } else { FILE_CSP }),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if html && !not_modified {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

/// `<`, `>`, `&`, `"` and `'` as HTML entities.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The explorer (`web_dir/explorer`, a single-page app): its files, and for every other path
/// under `/explorer/` its `index.html`, so the app's own URLs (`/explorer/scenarios/demo%2Fbudget`)
/// can be shared and reloaded.
fn explorer_files(
    dir: &std::path::Path,
) -> tower_http::services::ServeDir<tower_http::services::ServeFile> {
    let dir = dir.join("explorer");
    tower_http::services::ServeDir::new(&dir)
        .fallback(tower_http::services::ServeFile::new(dir.join("index.html")))
}

async fn count_requests(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    s.metrics.http_requests.add(1);
    let mut res = next.run(req).await;
    // The API is public and read-mostly; browsers on other origins (the explorer, project pages)
    // may read it.
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// A typed answer (`trustchain_core::client::api`) as JSON, rendered through
/// `serde_json::Value` as the API always was (object keys sorted at every depth).
fn typed<T: Serialize>(answer: &T) -> ApiResult<Json<serde_json::Value>> {
    serde_json::to_value(answer).map(Json).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding",
            format!("cannot encode the answer: {e}"),
        )
    })
}

fn head_info(s: &ChainSnapshot) -> HeadInfo {
    HeadInfo {
        height: s.head.header.height,
        hash: s.head_hash.to_hex(),
        time_ms: s.head.header.time_ms,
        moved: s.head.header.moved,
    }
}

/// A landing page for people who open the relay's URL in a browser; it leads to the explorer.
async fn index(State(s): State<AppState>) -> ApiResult<axum::response::Html<String>> {
    let snap = s.chain.borrow().clone();
    let mut rows = String::new();
    for (id, size) in s.store.read()?.scenarios()? {
        // Scenario ids are [a-z0-9._/-] only; escaped all the same.
        let e = html_escape(&id.as_str().replace('/', "%2F"));
        let id = html_escape(id.as_str());
        rows.push_str(&format!(
            "<li><code>{id}</code> — {size} records: <a href=\"/explorer/scenarios/{e}\">in the explorer</a>, \
             <a href=\"/v1/scenarios/{e}/interface\">verification interface</a>, \
             <a href=\"/v1/scenarios/{e}/records?limit=20\">records</a>, \
             <a href=\"/v1/scenarios/{e}/records/1\">record 1 with its proof</a>, \
             <a href=\"/v1/scenarios/{e}/records/1?format=receipt\">its receipt</a></li>"
        ));
    }
    Ok(axum::response::Html(format!(
        "<!doctype html><meta charset=utf-8><title>Trustchain relay</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}}code{{background:#f3f3f3;padding:0 .2em}}\
         .cta{{background:#eff4ff;border:1px solid #c7d7fe;border-radius:10px;padding:14px 18px}}.cta a{{font-size:1.2em}}</style>\
         <h1>Trustchain relay</h1><p>Chain <code>{chain}</code>, head block <b>{h}</b> (<code>{hash}</code>).</p>\
         <p class=cta><a href=/explorer/><b>Open the explorer →</b></a><br>browse the network, search the scenarios' charters, \
         see each record's proof as a picture, and verify receipts — every proof checked in your browser.</p>\
         <h2>Scenarios</h2><ul>{rows}</ul>\
         <h2>API</h2><ul><li><a href=/v1/status>/v1/status</a></li><li><a href=/v1/trust>/v1/trust</a> — a checkpoint to verify receipts against</li>\
         <li><a href=/v1/scenarios>/v1/scenarios</a></li><li><a href=/v1/main/head>/v1/main/head</a></li><li><a href=/v1/main/epochs>/v1/main/epochs</a></li>\
         <li><a href=/v1/heads>/v1/heads</a> — live heads (SSE)</li><li><a href=/metrics>/metrics</a></li></ul>\
         <p>Verify a receipt offline: <code>trustchain-relay verify --receipt r.txt --trust trust.json</code>. \
         The API is described in <code>docs/openapi.yaml</code>.</p>",
        chain = html_escape(snap.chain_id()),
        h = snap.head.header.height,
        hash = snap.head_hash,
    )))
}

async fn status(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let snap = s.chain.borrow().clone();
    let scenarios = s.store.read()?.scenarios()?.len();
    typed(&answers::Status {
        software: concat!("trustchain-relay ", env!("CARGO_PKG_VERSION")).to_string(),
        mode: s.mode.to_string(),
        chain_id: snap.chain_id().to_string(),
        head: head_info(&snap),
        epoch: snap.validators.epoch,
        validators: snap.validators.validators.len() as u64,
        scenarios: scenarios as u64,
        block_interval_ms: s.block_interval.as_millis() as u64,
        uptime_s: s.started.elapsed().as_secs(),
        contracts_accepted: s.metrics.contracts_accepted.get(),
        peer_id: s.p2p.as_ref().map(|p| p.peer_id.to_string()),
        browser_addresses: s.p2p.as_ref().map(|p| p.addresses()).unwrap_or_default(),
    })
}

/// How a browser finds this relay: its chain, peer id and libp2p addresses (WebRTC-direct with
/// the certificate hash, WebSocket).
async fn well_known(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let snap = s.chain.borrow().clone();
    typed(&answers::WellKnown {
        chain_id: snap.chain_id().to_string(),
        protocol: trustchain_core::verify::wire::PROTOCOL.to_string(),
        peer_id: s.p2p.as_ref().map(|p| p.peer_id.to_string()),
        addresses: s.p2p.as_ref().map(|p| p.addresses()).unwrap_or_default(),
    })
}

async fn trust(
    State(s): State<AppState>,
) -> Json<trustchain_core::verify::light_client::TrustedCheckpoint> {
    Json(s.chain.borrow().trust())
}

/// The network spec of the widget and the explorer this relay serves (`/widget/network.json`,
/// beside `/widget/trust-verify.js`): the chain id, the genesis block's hash and a recent trusted
/// checkpoint of the network this relay belongs to. The widget loads it relative to its own
/// script URL — never from a URL the page names — so a badge is green only for the network of the
/// relay that served its code; the explorer loads it from its own origin. Like a smoldot chain
/// spec with its light-sync checkpoint, or Helios' default checkpoints, it is where trust starts;
/// epoch changes are followed from it.
async fn network_spec(State(s): State<AppState>) -> ApiResult<Response> {
    let snap = s.chain.borrow().clone();
    let genesis = s
        .store
        .read()?
        .block(0)?
        .map(|b| b.header.hash())
        .ok_or_else(|| ApiError::not_found("no genesis block yet"))?;
    let body = typed(&answers::NetworkSpec {
        kind: answers::SPEC_KIND.to_string(),
        version: 1,
        chain_id: snap.chain_id().to_string(),
        genesis,
        checkpoint: snap.trust(),
    })?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        body,
    )
        .into_response())
}

/// Scenarios listed per page by default.
pub const SCENARIOS_PAGE: usize = 100;
/// Most scenarios one page lists.
pub const MAX_SCENARIOS_PAGE: usize = 1_000;

/// `GET /v1/scenarios?after=<id>&limit=<n>`.
#[derive(Deserialize)]
struct ScenariosQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// A page of the scenarios held here, ascending by id: at most `limit` (default
/// [`SCENARIOS_PAGE`], at most [`MAX_SCENARIOS_PAGE`]) after `after`. A full page carries a
/// `Link: <…?after=<last id>&limit=<n>>; rel="next"` header.
async fn scenarios(
    State(s): State<AppState>,
    Query(q): Query<ScenariosQuery>,
) -> ApiResult<Response> {
    let after = q.after.as_deref().map(scenario_id).transpose()?;
    let limit = q.limit.unwrap_or(SCENARIOS_PAGE);
    if limit == 0 || limit > MAX_SCENARIOS_PAGE {
        return Err(ApiError::bad_request(
            "bad_limit",
            format!("limit must be 1 to {MAX_SCENARIOS_PAGE}"),
        ));
    }
    let snap = s.chain.borrow().clone();
    let view = s.store.read()?;
    let mut out = Vec::new();
    for (id, size) in view.scenarios_page(after.as_ref(), limit)? {
        let title = view
            .charter(&id)?
            .map(|c| c.content.title)
            .unwrap_or_default();
        let anchored_size = snap.checkpoints.get(&id).map_or(0, |c| c.checkpoint.size);
        out.push(ScenarioSummary {
            id,
            title,
            size,
            anchored_size,
        });
    }
    let next = (out.len() == limit).then(|| {
        let last = out.last().map(|x| x.id.as_str()).unwrap_or_default();
        format!(
            "</v1/scenarios?after={}&limit={limit}>; rel=\"next\"",
            percent_encoding::utf8_percent_encode(last, UNRESERVED_COMPLEMENT)
        )
    });
    let mut res = Json(out).into_response();
    if let Some(link) = next.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LINK, link);
    }
    Ok(res)
}

/// What a query value percent-encodes: every byte but RFC 3986's unreserved characters.
const UNRESERVED_COMPLEMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The P2PT overlay of the current epoch: regions, their members and hubs, and this relay's
/// place in it.
async fn overlay(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let Some((me, rx)) = &s.overlay else {
        return Err(ApiError::not_found(
            "a dev relay is a network of one: it has no P2PT overlay (run a network: trustchain-relay devnet)",
        ));
    };
    let o = rx.borrow().clone();
    typed(&answers::OverlayInfo {
        overlay: answers::Overlay {
            epoch: o.epoch,
            seed: o.seed,
            regions: o
                .regions
                .iter()
                .map(|(name, r)| {
                    let region = answers::OverlayRegion {
                        members: r.members.clone(),
                        hubs: r.hubs.clone(),
                    };
                    (name.clone(), region)
                })
                .collect(),
        },
        this_relay: answers::OverlayPlace {
            key: *me,
            hub: o.is_hub(me),
            links: o.links(me),
        },
    })
}

async fn create_scenario(
    State(s): State<AppState>,
    body: Result<Json<Charter>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<crate::ingest::Accepted>)> {
    let Json(charter) = body.map_err(|e| ApiError::bad_request("bad_json", e.body_text()))?;
    // Every owner it names must have signed it (before anything else reads it).
    charter.verify_signature().map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_charter_signature",
            format!(
                "a charter must carry one valid signature per owner, in the order of `owners`: {e}"
            ),
        )
    })?;
    canonical_round_trip(&charter, "charter")?;
    // A scenario the chain already anchors lives elsewhere (founding it here would fork it).
    let id = &charter.content.scenario;
    if s.store.read()?.size(id)?.is_none() && s.chain.borrow().checkpoints.contains_key(id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "scenario_exists",
            format!(
                "scenario {id} already exists on this network (the chain anchors its checkpoints); \
                 write to its home relay, or found a scenario with another id"
            ),
        ));
    }
    let accepted = s.ingest.create(charter).await?;
    Ok((StatusCode::CREATED, Json(accepted)))
}

/// A value accepted from JSON must survive its own canonical encoding under the decoding limits,
/// or it could not be read back from disk or by a verifier.
fn canonical_round_trip<T: Encode + Decode + PartialEq>(v: &T, what: &str) -> ApiResult<()> {
    match T::from_bytes(&v.to_bytes()) {
        Ok(back) if &back == v => Ok(()),
        Ok(_) => Err(ApiError::bad_request(
            "not_canonical",
            format!("{what} changes under canonical encoding (e.g. -0 decimals)"),
        )),
        Err(e) => Err(ApiError::bad_request(
            "limits_exceeded",
            format!("{what} breaks an encoding limit: {e}"),
        )),
    }
}

async fn scenario(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = scenario_id(&id)?;
    let snap = s.chain.borrow().clone();
    let view = s.store.read()?;
    let size = view
        .size(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no scenario {id} on this relay")))?;
    let charter = view.charter(&id)?;
    let head = snap.checkpoints.get(&id);
    // A scenario kept here as a replica names its home (which takes its writes).
    let home = view.home(&id)?;
    typed(&answers::ScenarioInfo {
        size,
        role: if home.is_some() { "replica" } else { "home" }.to_string(),
        home,
        charter,
        head_checkpoint: head.cloned(),
        anchored_in_block: head.map(|_| snap.head.header.height),
        id,
    })
}

async fn interface(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = scenario_id(&id)?;
    let charter = s
        .store
        .read()?
        .charter(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no scenario {id} on this relay")))?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        charter.render_interface(),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Contract>),
    One(Box<Contract>),
}

/// The content type of a batch in the canonical encoding: a `u32` count, then each contract's
/// canonical bytes (docs/encoding.md). Decoding it is the canonical check, so no JSON and no round
/// trip: the fast path for connectors.
pub const CANONICAL_BATCH: &str = "application/vnd.trustchain.contracts";

async fn submit(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<crate::ingest::Accepted>)> {
    let id = scenario_id(&id)?;
    let canonical = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(CANONICAL_BATCH));
    let contracts = if canonical {
        decode_batch(&body)?
    } else {
        let body: OneOrMany = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                "bad_json",
                format!(
                    "{e}; send one signed contract or an array of them as JSON (see \
                     docs/openapi.yaml), or a canonical batch as {CANONICAL_BATCH}"
                ),
            )
        })?;
        let contracts = match body {
            OneOrMany::Many(v) => v,
            OneOrMany::One(c) => vec![*c],
        };
        contracts
            .into_iter()
            .enumerate()
            .map(|(i, c)| encode_checked(c, &format!("contract {i}")))
            .collect::<ApiResult<Vec<_>>>()?
    };
    if contracts.is_empty() {
        return Err(ApiError::bad_request(
            "empty_batch",
            "no contracts in the request",
        ));
    }
    if let Some(quotas) = &s.quotas {
        let view = s.store.read()?;
        // Scenarios homed here only (a replica refuses the write anyway, unknown ones too).
        if view.home(&id)?.is_none()
            && let Some(charter) = view.charter(&id)?
        {
            let snap = s.chain.borrow().clone();
            if let Err(over) = quotas.admit(&charter, contracts.len(), &snap, Instant::now()) {
                s.metrics.contracts_over_quota.add(contracts.len() as u64);
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "over_quota",
                    over.to_string(),
                );
                e.retry_after = over
                    .retry_after
                    .map(|d| d.as_secs_f64().ceil().max(1.0) as u64);
                e.extra = Some(serde_json::json!({
                    "quota": over.quota,
                    "retry_after_ms": over.retry_after.map(|d| d.as_millis() as u64),
                }));
                return Err(e);
            }
        }
    }
    let accepted = s.ingest.submit_encoded(id, contracts).await?;
    Ok((StatusCode::CREATED, Json(accepted)))
}

/// A contract accepted from JSON, encoded once — as the entry the store holds — and checked like
/// [`canonical_round_trip`] (its bytes decode back to it under the decoding limits); the bytes
/// go on to the store and the replicas as they are.
fn encode_checked(c: Contract, what: &str) -> ApiResult<EncodedEntry> {
    let e = EncodedEntry::new(Entry::Contract(c));
    let Entry::Contract(c) = e.entry() else {
        unreachable!("encoded as a contract")
    };
    // The entry's bytes are its tag, then the contract's.
    match Contract::from_bytes(&e.bytes()[1..]) {
        Ok(back) if &back == c => Ok(e),
        Ok(_) => Err(ApiError::bad_request(
            "not_canonical",
            format!("{what} changes under canonical encoding (e.g. -0 decimals)"),
        )),
        Err(err) => Err(ApiError::bad_request(
            "limits_exceeded",
            format!("{what} breaks an encoding limit: {err}"),
        )),
    }
}

/// Reads a canonical batch (count, then contracts), bounded like every other decoder; each
/// contract keeps its bytes (as the entry the store holds: its tag, then the contract's bytes as
/// sent — the decoder accepts only canonical encodings), so it is never encoded again.
fn decode_batch(body: &[u8]) -> ApiResult<Vec<EncodedEntry>> {
    use trustchain_core::encoding::{Limits, Reader};
    let limits = Limits {
        max_total: MAX_BODY_BYTES,
        ..Limits::DEFAULT
    };
    let bad = |e: trustchain_core::encoding::DecodeError| {
        ApiError::bad_request(
            "bad_encoding",
            format!("the body is not a canonical batch of contracts: {e}"),
        )
    };
    let mut r = Reader::new(body, limits).map_err(bad)?;
    // Every contract is more than 100 bytes, which bounds the count by the body's size.
    let n = r
        .len("contracts", crate::ingest::MAX_BATCH as u32 + 1, 100)
        .map_err(bad)?;
    let contracts = r
        .nested(|r| {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let from = body.len() - r.remaining();
                let c = Contract::decode(r)?;
                let to = body.len() - r.remaining();
                let mut bytes = Vec::with_capacity(1 + to - from);
                bytes.push(1); // Entry::Contract's tag
                bytes.extend_from_slice(&body[from..to]);
                v.push((c, bytes));
            }
            Ok(v)
        })
        .map_err(bad)?;
    r.finish().map_err(bad)?;
    Ok(contracts
        .into_iter()
        .map(|(c, bytes)| EncodedEntry::from_parts(Entry::Contract(c), bytes))
        .collect())
}

#[derive(Deserialize)]
struct Page {
    from: Option<u64>,
    limit: Option<u64>,
    /// With each record below this log size, its inclusion path in the log of this size (the
    /// size of a checkpoint the client verified), so the client checks the listing itself.
    proofs_at: Option<u64>,
}

async fn records(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Page>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = scenario_id(&id)?;
    let view = s.store.read()?;
    let size = view
        .size(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no scenario {id} on this relay")))?;
    let limit = p.limit.unwrap_or(50).min(MAX_PAGE);
    let from = p.from.unwrap_or(0);
    let entries = view.entries(&id, from, limit)?;
    let anchored = s
        .chain
        .borrow()
        .checkpoints
        .get(&id)
        .map_or(0, |c| c.checkpoint.size);
    if let Some(at) = p.proofs_at
        && at > size
    {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "replica_behind",
            format!(
                "this relay holds {size} records of {id}; proofs at size {at} are not possible here yet"
            ),
        );
        e.retry_after = Some(1);
        return Err(e);
    }
    let mut items = Vec::with_capacity(entries.len());
    for (index, mut entry) in entries {
        let inclusion = match p.proofs_at {
            Some(at) if index < at => Some(
                view.inclusion(&id, index, at)?
                    .map_err(|e| ApiError::bad_request("bad_range", e.to_string()))?,
            ),
            _ => None,
        };
        if let Some(m) = s.misbehave {
            m.apply_listed(&mut entry);
        }
        items.push(RecordItem {
            index,
            anchored: index < anchored,
            entry,
            inclusion,
        });
    }
    typed(&answers::RecordsPage {
        scenario: id,
        size,
        anchored_size: anchored,
        from,
        records: items,
    })
}

#[derive(Deserialize)]
struct RecordQuery {
    format: Option<String>,
}

async fn record(
    State(s): State<AppState>,
    Path((id, index)): Path<(String, u64)>,
    Query(q): Query<RecordQuery>,
) -> ApiResult<Response> {
    let id = scenario_id(&id)?;
    let snap = s.chain.borrow().clone();
    let proof = record_proof(&s.store, &snap, &id, index, s.misbehave)?;
    match q.format.as_deref() {
        Some("receipt") => Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            receipt::to_base64url(&proof),
        )
            .into_response()),
        Some("bytes") => Ok((
            [(header::CONTENT_TYPE, "application/octet-stream")],
            receipt::to_bytes(&proof),
        )
            .into_response()),
        None | Some("json") => Ok(typed(&answers::RecordAnswer {
            scenario: id,
            index,
            entry: proof.entry.clone(),
            receipt: receipt::to_base64url(&proof),
            proof,
        })?
        .into_response()),
        Some(other) => Err(ApiError::bad_request(
            "bad_format",
            format!("unknown format {other:?}; use json, receipt or bytes"),
        )),
    }
}

#[derive(Deserialize)]
struct CheckpointQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

async fn checkpoints(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<CheckpointQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = scenario_id(&id)?;
    let view = s.store.read()?;
    view.size(&id)?
        .ok_or_else(|| ApiError::not_found(format!("no scenario {id} on this relay")))?;
    let checkpoints =
        view.checkpoints(&id, q.from.unwrap_or(0), q.limit.unwrap_or(100).min(500))?;
    typed(&answers::Checkpoints {
        scenario: id,
        checkpoints,
    })
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

async fn consistency(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = scenario_id(&id)?;
    let snap = s.chain.borrow().clone();
    let (from, to, proof) = consistency_proof(&s.store, &snap, &id, q.from, q.to)?;
    typed(&answers::Consistency {
        scenario: id,
        from,
        to,
        proof,
    })
}

/// `?format=bytes`: the block with its certificate as the canonical bytes of
/// `trustchain_core::verify::wire::Response::Block` (what the libp2p protocol sends, without the frame),
/// for light clients that verify rather than read JSON.
#[derive(Deserialize)]
struct BlockQuery {
    format: Option<String>,
}

fn block_answer(
    header: trustchain_core::chain::block::BlockHeader,
    certificate: trustchain_core::chain::block::CommitCertificate,
    format: Option<&str>,
) -> ApiResult<Response> {
    match format {
        None | Some("json") => Ok(typed(&answers::Block {
            hash: header.hash(),
            block: CertifiedBlockJson {
                header,
                certificate,
            },
        })?
        .into_response()),
        Some("bytes") => Ok((
            [(header::CONTENT_TYPE, "application/octet-stream")],
            trustchain_core::verify::wire::Response::Block {
                header,
                certificate,
            }
            .to_bytes(),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(
            "bad_format",
            format!("unknown format {other:?}; use json or bytes"),
        )),
    }
}

async fn head(State(s): State<AppState>, Query(q): Query<BlockQuery>) -> ApiResult<Response> {
    let snap = s.chain.borrow().clone();
    let b = &snap.head;
    block_answer(b.header.clone(), b.certificate.clone(), q.format.as_deref())
}

async fn block(
    State(s): State<AppState>,
    Path(height): Path<u64>,
    Query(q): Query<BlockQuery>,
) -> ApiResult<Response> {
    let b = s
        .store
        .read()?
        .block(height)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {height} yet")))?;
    block_answer(b.header, b.certificate, q.format.as_deref())
}

async fn epochs(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let view = s.store.read()?;
    let sets = view.epochs()?;
    // Every hand-over so far (epochs of a dev relay never change): a light client follows them
    // from the epoch it trusts. A long-lived network will want `?from=` paging here.
    let changes = view.epoch_changes(1, usize::MAX)?;
    typed(&answers::Epochs {
        epochs: sets,
        changes,
    })
}

/// `GET /v1/main/beacon`: every finished beacon round (docs/beacon.md) with the hand-over block
/// that carries it, and its value as recomputed here from the round and the epoch's validators
/// (a client recomputes it the same way: `BeaconRound::verify`).
async fn beacon(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let chain_id = s.chain.borrow().chain_id().to_string();
    let view = s.store.read()?;
    let mut rounds = Vec::new();
    for change in view.epoch_changes(1, usize::MAX)? {
        let height = change.header.height;
        let Some(round) = view.body(height)?.and_then(|b| b.beacon_round) else {
            continue;
        };
        let output = view
            .epoch_set(round.epoch)?
            .and_then(|set| round.verify(&chain_id, &set).ok())
            .map(|o| {
                serde_json::json!({
                    "value": o.value,
                    "revealed": o.revealed,
                    "withheld": o.withheld,
                    "revealed_weight": o.revealed_weight.to_string(),
                    "total_weight": o.total_weight.to_string(),
                })
            });
        rounds.push(serde_json::json!({
            "epoch": round.epoch,
            "block": height,
            "round": round,
            "output": output,
        }));
    }
    Ok(Json(serde_json::json!({ "rounds": rounds })))
}

async fn heads(
    State(s): State<AppState>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // Each stream holds a permit until the client goes away: a bounded number at once.
    let permit = s.http.head_stream().ok_or_else(|| {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!(
                "this relay serves {} head streams at once; retry shortly, or poll /v1/main/head",
                crate::api::limits::MAX_HEAD_STREAMS
            ),
        );
        e.retry_after = Some(u64::from(crate::api::limits::RETRY_AFTER_S));
        e
    })?;
    let stream = WatchStream::new(s.chain.clone()).map(move |snap| {
        let _held = &permit;
        Ok(Event::default()
            .event("head")
            .json_data(head_info(&snap))
            .unwrap_or_else(|_| Event::default().comment("encoding error")))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn metrics(State(s): State<AppState>) -> ApiResult<Response> {
    let n = s.store.read()?.scenarios()?.len();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(n, s.started.elapsed().as_secs()),
    )
        .into_response())
}
