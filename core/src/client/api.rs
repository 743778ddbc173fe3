//! The relay's HTTP/JSON answers (`docs/openapi.yaml`) as types: the relay writes them, the
//! explorer and the command line read them. Core types travel as themselves (their serde form).
//!
//! Optional fields are written as `null` when absent (never left out), as the API always did.
//! The relay renders every answer through `serde_json::Value`, whose object keys are sorted: the
//! order of the fields here does not show on the wire.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::chain::block::{BlockHeader, CommitCertificate, EpochChange};
use crate::chain::validators::ValidatorSet;
use crate::crypto::PublicKey;
use crate::crypto::hash::Hash;
use crate::encoding::value::ScenarioId;
use crate::merkle::log::{ConsistencyProof, InclusionProof};
use crate::scenario::charter::Charter;
use crate::scenario::checkpoint::SignedCheckpoint;
use crate::scenario::entry::Entry;
use crate::verify::light_client::TrustedCheckpoint;
use crate::verify::proof::RecordProof;

/// A head, as `GET /v1/status` and the `/v1/heads` events describe it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadInfo {
    /// Height.
    pub height: u64,
    /// Hash, hex.
    pub hash: String,
    /// Block time.
    pub time_ms: u64,
    /// How many scenarios moved in it.
    pub moved: u32,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Software name and version.
    pub software: String,
    /// `dev`, `node`, …
    pub mode: String,
    /// The chain.
    pub chain_id: String,
    /// The head block.
    pub head: HeadInfo,
    /// The current epoch.
    pub epoch: u64,
    /// How many validators.
    pub validators: u64,
    /// How many scenarios the relay holds.
    pub scenarios: u64,
    /// Block interval.
    pub block_interval_ms: u64,
    /// Uptime.
    pub uptime_s: u64,
    /// Contracts accepted since start.
    pub contracts_accepted: u64,
    /// libp2p peer id (`null` without libp2p).
    pub peer_id: Option<String>,
    /// libp2p addresses for browsers (WebRTC-direct, WebSocket).
    pub browser_addresses: Vec<String>,
}

/// `GET /.well-known/trustchain.json`: how a browser finds the relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WellKnown {
    /// The chain.
    pub chain_id: String,
    /// The libp2p protocol name.
    pub protocol: String,
    /// libp2p peer id.
    pub peer_id: Option<String>,
    /// libp2p addresses for browsers.
    pub addresses: Vec<String>,
}

/// The network spec format's `kind`.
pub const SPEC_KIND: &str = "trustchain/network-spec";

/// `GET /widget/network.json`: where trust starts for the widget and the explorer a relay serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// [`SPEC_KIND`].
    pub kind: String,
    /// 1.
    pub version: u32,
    /// The chain.
    pub chain_id: String,
    /// The genesis block's hash.
    pub genesis: Hash,
    /// A recent trusted checkpoint.
    pub checkpoint: TrustedCheckpoint,
}

/// One item of `GET /v1/scenarios`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    /// The id.
    pub id: ScenarioId,
    /// The charter's title.
    pub title: String,
    /// Records.
    pub size: u64,
    /// Records anchored in a final block.
    pub anchored_size: u64,
}

/// `GET /v1/scenarios/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// The id.
    pub id: ScenarioId,
    /// Records.
    pub size: u64,
    /// `home` (this relay takes the scenario's writes) or `replica` (it keeps a copy).
    pub role: String,
    /// On a replica, the home relay's node key.
    pub home: Option<PublicKey>,
    /// The charter (the relay's word: clients verify record 0 before using it).
    pub charter: Option<Charter>,
    /// The latest anchored checkpoint.
    pub head_checkpoint: Option<SignedCheckpoint>,
    /// The head block's height when the checkpoint was read.
    pub anchored_in_block: Option<u64>,
}

/// One record of `GET /v1/scenarios/{id}/records`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordItem {
    /// Its index.
    pub index: u64,
    /// Whether it is anchored in a final block yet (the relay's word).
    pub anchored: bool,
    /// The record.
    pub entry: Entry,
    /// Its inclusion path in the log of the size asked for (`proofs_at`).
    pub inclusion: Option<InclusionProof>,
}

/// `GET /v1/scenarios/{id}/records?from&limit&proofs_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordsPage {
    /// The scenario.
    pub scenario: ScenarioId,
    /// Records in the scenario.
    pub size: u64,
    /// Records anchored.
    pub anchored_size: u64,
    /// First index asked for.
    pub from: u64,
    /// The records.
    pub records: Vec<RecordItem>,
}

/// `GET /v1/scenarios/{id}/records/{i}` (`format=json`, the default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordAnswer {
    /// The scenario.
    pub scenario: ScenarioId,
    /// The record's index.
    pub index: u64,
    /// The record (as in `proof.entry`).
    pub entry: Entry,
    /// Its proof.
    pub proof: RecordProof,
    /// The proof as a receipt (base64url of its canonical bytes).
    pub receipt: String,
}

/// `GET /v1/scenarios/{id}/checkpoints`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// The scenario.
    pub scenario: ScenarioId,
    /// The checkpoints, by size.
    pub checkpoints: Vec<SignedCheckpoint>,
}

/// `GET /v1/scenarios/{id}/consistency?from&to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consistency {
    /// The scenario.
    pub scenario: ScenarioId,
    /// The earlier checkpoint.
    pub from: SignedCheckpoint,
    /// The later checkpoint.
    pub to: SignedCheckpoint,
    /// The proof.
    pub proof: ConsistencyProof,
}

/// A block with its commit certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedBlockJson {
    /// The header.
    pub header: BlockHeader,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
}

/// `GET /v1/main/head` and `GET /v1/main/blocks/{h}` (`format=json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The block's hash (the relay's word; the light client recomputes it).
    pub hash: Hash,
    /// The block.
    pub block: CertifiedBlockJson,
}

/// `GET /v1/main/epochs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Epochs {
    /// The validator sets by epoch.
    pub epochs: Vec<ValidatorSet>,
    /// The hand-overs between them.
    pub changes: Vec<EpochChange>,
}

/// An error answer: a stable code and a message for people (some errors add fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable code.
    pub error: String,
    /// Message for people.
    pub message: String,
}

/// `GET /v1/main/overlay`: the P2PT overlay of the current epoch (a network relay only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayInfo {
    /// The overlay every relay computes from the chain.
    pub overlay: Overlay,
    /// This relay's place in it.
    pub this_relay: OverlayPlace,
}

/// The regions of one epoch and their hubs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    /// The epoch.
    pub epoch: u64,
    /// The beacon value that broke ties.
    pub seed: Hash,
    /// Regions by name.
    pub regions: BTreeMap<String, OverlayRegion>,
}

/// One region of the overlay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayRegion {
    /// Its validators this epoch, keys ascending.
    pub members: Vec<PublicKey>,
    /// Its hubs, best first.
    pub hubs: Vec<PublicKey>,
}

/// This relay in the overlay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayPlace {
    /// Its node key.
    pub key: PublicKey,
    /// Whether it is a hub this epoch.
    pub hub: bool,
    /// The relays it keeps connected for the overlay.
    pub links: Vec<PublicKey>,
}
