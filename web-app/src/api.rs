//! The relay's HTTP/JSON answers the explorer reads (docs/openapi.yaml) — the types the relay
//! writes them with, from `trustchain_core::client::api` — and the URLs it reads them from.

pub use trustchain_core::client::api::{
    ApiError, Block, CertifiedBlockJson, Checkpoints, Consistency, Epochs, HeadInfo, Overlay,
    OverlayInfo, OverlayPlace, OverlayRegion, RecordItem, RecordsPage, ScenarioInfo,
    ScenarioSummary, Status, WellKnown,
};

use crate::fmt::encode_component;

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
        use trustchain_core::scenario::entry::Entry;
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
