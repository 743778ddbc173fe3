//! The HTTP/JSON API (documented in `docs/openapi.yaml`).
//!
//! Scenario ids contain `/`; in paths they are percent-encoded as one segment:
//! `/v1/scenarios/demo%2Fbudget/records/17`.

pub mod fields;
pub mod limits;
pub mod quota;

mod chain;
mod scenarios;
mod web;

use chain::*;
use scenarios::*;
pub use scenarios::{CANONICAL_BATCH, MAX_SCENARIOS_PAGE, SCENARIOS_PAGE};
use web::*;
pub use web::{FILE_CSP, PAGE_CSP};

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

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Contract>),
    One(Box<Contract>),
}
