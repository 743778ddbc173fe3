//! Scenarios: listing, founding, submitting contracts (JSON or canonical batches), records with
//! their proofs, checkpoints and consistency proofs.

use super::*;

/// Scenarios listed per page by default.
pub const SCENARIOS_PAGE: usize = 100;

/// Most scenarios one page lists.
pub const MAX_SCENARIOS_PAGE: usize = 1_000;

/// `GET /v1/scenarios?after=<id>&limit=<n>`.
#[derive(Deserialize)]
pub(super) struct ScenariosQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// A page of the scenarios held here, ascending by id: at most `limit` (default
/// [`SCENARIOS_PAGE`], at most [`MAX_SCENARIOS_PAGE`]) after `after`. A full page carries a
/// `Link: <…?after=<last id>&limit=<n>>; rel="next"` header.
pub(super) async fn scenarios(
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
pub(super) const UNRESERVED_COMPLEMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');

pub(super) async fn create_scenario(
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
pub(super) fn canonical_round_trip<T: Encode + Decode + PartialEq>(
    v: &T,
    what: &str,
) -> ApiResult<()> {
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

pub(super) async fn scenario(
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

pub(super) async fn interface(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
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

/// The content type of a batch in the canonical encoding: a `u32` count, then each contract's
/// canonical bytes (docs/encoding.md). Decoding it is the canonical check, so no JSON and no round
/// trip: the fast path for connectors.
pub const CANONICAL_BATCH: &str = "application/vnd.trustchain.contracts";

pub(super) async fn submit(
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
pub(super) fn encode_checked(c: Contract, what: &str) -> ApiResult<EncodedEntry> {
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
pub(super) fn decode_batch(body: &[u8]) -> ApiResult<Vec<EncodedEntry>> {
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
pub(super) struct Page {
    from: Option<u64>,
    limit: Option<u64>,
    /// With each record below this log size, its inclusion path in the log of this size (the
    /// size of a checkpoint the client verified), so the client checks the listing itself.
    proofs_at: Option<u64>,
}

pub(super) async fn records(
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
pub(super) struct RecordQuery {
    format: Option<String>,
}

pub(super) async fn record(
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
pub(super) struct CheckpointQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

pub(super) async fn checkpoints(
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
pub(super) struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

pub(super) async fn consistency(
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
