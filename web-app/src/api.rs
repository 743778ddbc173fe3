//! The relay's HTTP/JSON answers the explorer reads (docs/openapi.yaml), as core types wherever
//! the relay sends core types, and the URLs it reads them from.

use serde::Deserialize;
use trustchain_core::chain::block::{BlockHeader, CommitCertificate, EpochChange};
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::merkle::log::ConsistencyProof;
use trustchain_core::scenario::charter::Charter;
use trustchain_core::scenario::checkpoint::SignedCheckpoint;
use trustchain_core::scenario::entry::Entry;

use crate::fmt::encode_component;

/// `GET /v1/status`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Status {
    /// Software name and version.
    #[serde(default)]
    pub software: String,
    /// `dev`, …
    #[serde(default)]
    pub mode: String,
    /// The chain.
    pub chain_id: String,
    /// The head block.
    pub head: HeadInfo,
    /// The current epoch.
    #[serde(default)]
    pub epoch: u64,
    /// How many validators.
    #[serde(default)]
    pub validators: u64,
    /// How many scenarios the relay holds.
    #[serde(default)]
    pub scenarios: u64,
    /// Block interval.
    #[serde(default)]
    pub block_interval_ms: u64,
    /// Uptime.
    #[serde(default)]
    pub uptime_s: u64,
    /// Contracts accepted since start.
    #[serde(default)]
    pub contracts_accepted: u64,
    /// libp2p peer id.
    #[serde(default)]
    pub peer_id: Option<String>,
    /// libp2p addresses for browsers (WebRTC-direct, WebSocket).
    #[serde(default)]
    pub browser_addresses: Vec<String>,
}

/// A head as `/v1/status` and `/v1/heads` describe it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct HeadInfo {
    /// Height.
    pub height: u64,
    /// Hash, hex.
    pub hash: String,
    /// Block time.
    pub time_ms: u64,
    /// Scenarios that moved.
    #[serde(default)]
    pub moved: u32,
}

/// A block with its certificate.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct StoredBlock {
    /// The header.
    pub header: BlockHeader,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
}

/// `GET /v1/main/head` and `/v1/main/blocks/{h}`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Block {
    /// The block's hash (as the relay says; the light client recomputes it).
    pub hash: Hash,
    /// The block.
    pub block: StoredBlock,
}

/// `GET /v1/main/epochs`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Epochs {
    /// The validator sets by epoch.
    pub epochs: Vec<ValidatorSet>,
    /// The hand-overs between them.
    #[serde(default)]
    pub changes: Vec<EpochChange>,
}

/// `GET /.well-known/trustchain.json`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct WellKnown {
    /// The chain.
    pub chain_id: String,
    /// The libp2p protocol name.
    #[serde(default)]
    pub protocol: String,
    /// libp2p peer id.
    #[serde(default)]
    pub peer_id: Option<String>,
    /// libp2p addresses for browsers.
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// One item of `GET /v1/scenarios`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ScenarioSummary {
    /// The id.
    pub id: String,
    /// The charter's title.
    #[serde(default)]
    pub title: String,
    /// Records.
    pub size: u64,
    /// Records anchored in a final block.
    #[serde(default)]
    pub anchored_size: u64,
}

/// `GET /v1/scenarios/{id}`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ScenarioInfo {
    /// The id.
    pub id: String,
    /// Records.
    pub size: u64,
    /// The charter (as the relay says; the explorer verifies record 0 before using it).
    pub charter: Option<Charter>,
    /// The latest anchored checkpoint.
    pub head_checkpoint: Option<SignedCheckpoint>,
    /// `home` (this relay takes the scenario's writes) or `replica` (it keeps a copy); absent
    /// from older relays.
    #[serde(default)]
    pub role: Option<String>,
    /// On a replica, the home relay's node key (hex).
    #[serde(default)]
    pub home: Option<String>,
}

/// `GET /v1/main/overlay`: the P2PT overlay of the current epoch (a network relay only).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct OverlayInfo {
    /// The overlay every relay computes from the chain.
    pub overlay: Overlay,
    /// This relay's place in it.
    pub this_relay: OverlayPlace,
}

/// The regions of one epoch and their hubs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Overlay {
    /// The epoch.
    pub epoch: u64,
    /// Regions by name.
    pub regions: std::collections::BTreeMap<String, OverlayRegion>,
}

/// One region of the overlay.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct OverlayRegion {
    /// Its validators (node keys, hex, ascending).
    pub members: Vec<String>,
    /// Its hubs, best first.
    pub hubs: Vec<String>,
}

/// This relay in the overlay.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct OverlayPlace {
    /// Its node key.
    pub key: String,
    /// Whether it is a hub this epoch.
    pub hub: bool,
    /// The relays it keeps connected for the overlay.
    pub links: Vec<String>,
}

/// One record of `GET /v1/scenarios/{id}/records`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RecordItem {
    /// Its index.
    pub index: u64,
    /// Whether it is anchored in a final block yet (the relay's word).
    pub anchored: bool,
    /// The record.
    pub entry: Entry,
    /// Its inclusion path in the log of the size asked for (`proofs_at`).
    #[serde(default)]
    pub inclusion: Option<trustchain_core::merkle::log::InclusionProof>,
}

/// `GET /v1/scenarios/{id}/records?from&limit`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RecordsPage {
    /// Records in the scenario.
    pub size: u64,
    /// Records anchored.
    pub anchored_size: u64,
    /// First index asked for.
    pub from: u64,
    /// The records.
    pub records: Vec<RecordItem>,
}

/// `GET /v1/scenarios/{id}/checkpoints`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Checkpoints {
    /// The checkpoints, by size.
    pub checkpoints: Vec<SignedCheckpoint>,
}

/// `GET /v1/scenarios/{id}/consistency?from&to`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Consistency {
    /// The earlier checkpoint.
    pub from: SignedCheckpoint,
    /// The later checkpoint.
    pub to: SignedCheckpoint,
    /// The proof.
    pub proof: ConsistencyProof,
}

/// An API error body.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ApiError {
    /// Stable code.
    pub error: String,
    /// Message for people.
    pub message: String,
}

/// URLs of one relay's API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relay(pub String);

impl Relay {
    /// A relay by its base URL (a trailing `/` is dropped).
    pub fn new(base: &str) -> Relay {
        Relay(base.trim().trim_end_matches('/').to_string())
    }
    /// Whether `url` can be a relay's base URL: `http://` or `https://` only (a `?relay=` from a
    /// link must not smuggle in `javascript:` or `data:` URLs).
    pub fn acceptable(url: &str) -> bool {
        let u = url.trim().to_ascii_lowercase();
        (u.starts_with("http://") || u.starts_with("https://"))
            && u.len() > "https://".len()
            && !u.contains(char::is_whitespace)
    }
    /// The base URL.
    pub fn base(&self) -> &str {
        &self.0
    }
    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
    /// A scenario's API root: `/v1/scenarios/demo%2Fbudget`.
    pub fn scenario(&self, id: &str) -> String {
        self.url(&format!("/v1/scenarios/{}", encode_component(id)))
    }
    /// A record's proof (`format`: `json`, `bytes` or `receipt`).
    pub fn record(&self, id: &str, index: u64, format: &str) -> String {
        format!("{}/records/{index}?format={format}", self.scenario(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let r = Relay::new("http://127.0.0.1:8080/ ");
        assert_eq!(
            r.record("demo/budget", 17, "receipt"),
            "http://127.0.0.1:8080/v1/scenarios/demo%2Fbudget/records/17?format=receipt"
        );
    }

    #[test]
    fn only_http_relays() {
        assert!(Relay::acceptable("http://127.0.0.1:8080"));
        assert!(Relay::acceptable(" HTTPS://relay.example/ "));
        assert!(!Relay::acceptable("javascript:alert(1)//"));
        assert!(!Relay::acceptable("data:text/html,x"));
        assert!(!Relay::acceptable("http://"));
        assert!(!Relay::acceptable("http://a b"));
    }

    #[test]
    fn api_error() {
        let e: ApiError =
            serde_json::from_str(r#"{"error":"not_found","message":"no record 9"}"#).unwrap();
        assert_eq!(e.error, "not_found");
    }

    #[test]
    fn entries_read_back_from_the_relays_json() {
        use std::collections::BTreeMap;
        use trustchain_core::crypto::PublicKey;
        use trustchain_core::encoding::value::{ScenarioId, Value, parse_decimal};
        use trustchain_core::scenario::charter::{RecordKind, UnsignedCharter};
        use trustchain_core::scenario::contract::{Body, UnsignedContract};
        use trustchain_core::scenario::schema::{FieldSchema, FieldType};
        let k = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let id = ScenarioId::new("demo/budget").unwrap();
        let charter = UnsignedCharter {
            scenario: id.clone(),
            title: "T".into(),
            white_paper: "W".into(),
            owners: vec![PublicKey::of(&k)],
            writers: vec![],
            kinds: vec![RecordKind {
                name: "payment".into(),
                description: String::new(),
                digest_only: false,
                fields: vec![FieldSchema {
                    name: "amount".into(),
                    description: String::new(),
                    ty: FieldType::Decimal {
                        min: None,
                        max: None,
                        max_scale: 2,
                        currency: None,
                    },
                    required: true,
                }],
                rules: vec![],
            }],
            time_ms: 1,
        }
        .sign(&k);
        let mut fields = BTreeMap::new();
        fields.insert(
            "amount".to_string(),
            Value::Decimal(parse_decimal("12.50").unwrap()),
        );
        let contract = UnsignedContract {
            scenario: id,
            kind: "payment".into(),
            author: PublicKey::of(&k),
            nonce: 1,
            time_ms: 2,
            body: Body::Fields(fields),
            attachments: vec![],
        }
        .sign(&k);
        for entry in [Entry::Charter(charter), Entry::Contract(contract)] {
            let json = serde_json::json!({ "index": 0, "anchored": true, "entry": entry });
            let back: RecordItem = serde_json::from_value(json).unwrap();
            assert_eq!(back.entry, entry);
        }
    }
}
