//! The chain's answers: status, trust roots and the network spec, heads, blocks, epochs, the
//! beacon, the overlay, metrics.

use super::*;

/// A landing page for people who open the relay's URL in a browser; it leads to the explorer.
pub(super) async fn index(State(s): State<AppState>) -> ApiResult<axum::response::Html<String>> {
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

pub(super) async fn status(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
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
pub(super) async fn well_known(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let snap = s.chain.borrow().clone();
    typed(&answers::WellKnown {
        chain_id: snap.chain_id().to_string(),
        protocol: trustchain_core::verify::wire::PROTOCOL.to_string(),
        peer_id: s.p2p.as_ref().map(|p| p.peer_id.to_string()),
        addresses: s.p2p.as_ref().map(|p| p.addresses()).unwrap_or_default(),
    })
}

pub(super) async fn trust(
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
pub(super) async fn network_spec(State(s): State<AppState>) -> ApiResult<Response> {
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

/// The P2PT overlay of the current epoch: regions, their members and hubs, and this relay's
/// place in it.
pub(super) async fn overlay(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
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

/// `?format=bytes`: the block with its certificate as the canonical bytes of
/// `trustchain_core::verify::wire::Response::Block` (what the libp2p protocol sends, without the frame),
/// for light clients that verify rather than read JSON.
#[derive(Deserialize)]
pub(super) struct BlockQuery {
    format: Option<String>,
}

pub(super) fn block_answer(
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

pub(super) async fn head(
    State(s): State<AppState>,
    Query(q): Query<BlockQuery>,
) -> ApiResult<Response> {
    let snap = s.chain.borrow().clone();
    let b = &snap.head;
    block_answer(b.header.clone(), b.certificate.clone(), q.format.as_deref())
}

pub(super) async fn block(
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

pub(super) async fn epochs(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
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
pub(super) async fn beacon(State(s): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
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

pub(super) async fn heads(
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

pub(super) async fn metrics(State(s): State<AppState>) -> ApiResult<Response> {
    let n = s.store.read()?.scenarios()?.len();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(n, s.started.elapsed().as_secs()),
    )
        .into_response())
}
