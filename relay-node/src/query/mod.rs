//! Answers that carry proofs — a record with its inclusion and anchoring proof, and the
//! consistency proof between two checkpoints of a scenario — computed from the store and a chain
//! snapshot, the same for every transport: the HTTP API ([`crate::api`]) and the browser wire
//! over libp2p ([`crate::net`]) both call these and only translate [`QueryError`].

use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::merkle::log::ConsistencyProof;
use trustchain_core::scenario::checkpoint::SignedCheckpoint;
use trustchain_core::verify::proof::RecordProof;

use crate::store::{Store, StoreError};
use trustchain_core::chain::state::ChainSnapshot;

/// What kind of failure a [`QueryError`] is (each transport maps it to its own status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryErrorKind {
    /// No such scenario, record or checkpoint here.
    NotFound,
    /// The request asks for something impossible (a range backwards).
    BadRequest,
    /// Accepted but not anchored yet: retry in a moment.
    NotYet,
    /// This relay (a replica) is still catching up with what the chain anchors.
    Behind,
    /// Storage failed, or a proof could not be built.
    Internal,
}

/// Why a query has no answer: a kind, a stable machine-readable code, a message that says what
/// to do, and optional details.
#[derive(Debug)]
pub struct QueryError {
    /// The kind.
    pub kind: QueryErrorKind,
    /// The stable code (`not_found`, `replica_behind`, `not_anchored_yet`, ...).
    pub code: &'static str,
    /// The message for people.
    pub message: String,
    /// Extra JSON fields of the HTTP error body.
    pub extra: Option<serde_json::Value>,
    /// Seconds after which a retry may succeed.
    pub retry_after: Option<u64>,
}

/// A query's result.
pub type QueryResult<T> = Result<T, QueryError>;

impl QueryError {
    fn new(kind: QueryErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        QueryError {
            kind,
            code,
            message: message.into(),
            extra: None,
            retry_after: None,
        }
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(QueryErrorKind::NotFound, "not_found", message)
    }
    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(QueryErrorKind::BadRequest, code, message)
    }
}

impl From<StoreError> for QueryError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error while answering a query");
        QueryError::new(QueryErrorKind::Internal, "storage", e.to_string())
    }
}

/// Builds the proof of record `index` against the snapshot's head block — as served, over HTTP
/// and libp2p alike: altered by `misbehave` when the relay is told to lie (tests of verifiers).
pub fn record_proof(
    store: &Store,
    snap: &ChainSnapshot,
    id: &ScenarioId,
    index: u64,
    misbehave: Option<crate::node::misbehave::Misbehave>,
) -> QueryResult<RecordProof> {
    let view = store.read()?;
    let size = view
        .size(id)?
        .ok_or_else(|| QueryError::not_found(format!("no scenario {id} on this relay")))?;
    let anchored_size = snap.checkpoints.get(id).map_or(0, |c| c.checkpoint.size);
    if index >= size && index < anchored_size {
        // A replica still receiving the log from the scenario's home.
        let mut e = QueryError::new(
            QueryErrorKind::Behind,
            "replica_behind",
            format!(
                "this replica holds {size} records of {id}, the chain anchors {anchored_size}; it is catching up from the home relay — retry in a moment or ask the home"
            ),
        );
        e.retry_after = Some(1);
        return Err(e);
    }
    if index >= size {
        return Err(QueryError::not_found(format!(
            "scenario {id} has {size} records; there is no record {index}"
        )));
    }
    let cp = snap.checkpoints.get(id);
    let anchored = cp.map_or(0, |c| c.checkpoint.size);
    let Some(cp) = cp.filter(|_| index < anchored) else {
        let mut e = QueryError::new(
            QueryErrorKind::NotYet,
            "not_anchored_yet",
            format!(
                "record {index} is accepted but not yet anchored in a final block (anchored: {anchored} of {size}); retry in a moment"
            ),
        );
        e.extra = Some(serde_json::json!({ "anchored_size": anchored, "size": size }));
        return Err(e);
    };
    if size < cp.checkpoint.size {
        // A replica still receiving the log from the scenario's home.
        let mut e = QueryError::new(
            QueryErrorKind::Behind,
            "replica_behind",
            format!(
                "this replica holds {size} records of {id}, the chain anchors {}; it is catching up from the home relay — retry in a moment or ask the home",
                cp.checkpoint.size
            ),
        );
        e.retry_after = Some(1);
        return Err(e);
    }
    let entry = view
        .entry(id, index)?
        .ok_or_else(|| QueryError::not_found(format!("record {index} missing")))?;
    let inclusion = view
        .inclusion(id, index, cp.checkpoint.size)?
        .map_err(|e| QueryError::new(QueryErrorKind::Internal, "proof", e.to_string()))?;
    let mut proof = RecordProof {
        entry,
        inclusion,
        checkpoint: cp.clone().unlinked(),
        anchor: snap.anchor_tree.prove(&id.anchor_key()),
        header: snap.head.header.clone(),
        certificate: snap.head.certificate.clone(),
    };
    if let Some(m) = misbehave {
        m.apply(&mut proof);
    }
    Ok(proof)
}

/// The consistency proof between the checkpoints of `id` at sizes `from` and `to` (default: the
/// latest anchored), with both checkpoints.
pub fn consistency_proof(
    store: &Store,
    snap: &ChainSnapshot,
    id: &ScenarioId,
    from: u64,
    to: Option<u64>,
) -> QueryResult<(SignedCheckpoint, SignedCheckpoint, ConsistencyProof)> {
    let view = store.read()?;
    let anchored = snap
        .checkpoints
        .get(id)
        .map(|c| c.checkpoint.size)
        .ok_or_else(|| {
            QueryError::not_found(format!("scenario {id} has no anchored checkpoint"))
        })?;
    let to = to.unwrap_or(anchored);
    let checkpoint = |size: u64| {
        view.checkpoint(id, size)?.ok_or_else(|| {
            QueryError::not_found(format!(
                "no checkpoint of {id} at size {size}; list them at /checkpoints"
            ))
        })
    };
    let (from_cp, to_cp) = (checkpoint(from)?, checkpoint(to)?);
    let proof = view
        .consistency(id, from, to)?
        .map_err(|e| QueryError::bad_request("bad_range", e.to_string()))?;
    Ok((from_cp, to_cp, proof))
}
