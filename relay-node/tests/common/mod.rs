//! Helpers for tests that run the real `trustchain-relay` binary.
#![allow(dead_code)]

pub mod devnet;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use trustchain_core::crypto::PublicKey;
use trustchain_core::encoding::value::{Fields, ScenarioId, Value};
use trustchain_core::scenario::charter::{Charter, RecordKind, UnsignedCharter};
use trustchain_core::scenario::contract::{Body, Contract, UnsignedContract};
use trustchain_core::scenario::schema::{FieldSchema, FieldType};

/// A running relay process.
pub struct Relay {
    pub child: Child,
    pub url: String,
}

impl Relay {
    /// Starts `trustchain-relay dev` on a free loopback port and waits until it serves.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Relay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trustchain-relay"))
            .arg("dev")
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--webrtc-port",
                "0",
                "--ws-port",
                "0",
            ])
            .args(if extra.contains(&"--block-interval-ms") {
                &[][..]
            } else {
                &["--block-interval-ms", "50"][..]
            })
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start relay binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            assert!(Instant::now() < deadline, "relay did not print its URL");
            let line = lines
                .next()
                .expect("relay exited before printing its URL")
                .expect("read stdout");
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Relay { child, url }
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// GET returning (status, JSON).
pub fn get_json(url: &str) -> (u16, serde_json::Value) {
    let mut res = agent().get(url).call().expect("GET");
    let status = res.status().as_u16();
    (
        status,
        res.body_mut()
            .read_json()
            .unwrap_or(serde_json::Value::Null),
    )
}

pub fn get_text(url: &str) -> (u16, String) {
    let mut res = agent().get(url).call().expect("GET");
    let status = res.status().as_u16();
    (status, res.body_mut().read_to_string().unwrap_or_default())
}

/// POST JSON returning (status, JSON); `Err` on a transport failure.
pub fn post_json<T: serde::Serialize>(
    url: &str,
    body: &T,
) -> Result<(u16, serde_json::Value), ureq::Error> {
    let mut res = agent().post(url).send_json(body)?;
    let status = res.status().as_u16();
    Ok((
        status,
        res.body_mut()
            .read_json()
            .unwrap_or(serde_json::Value::Null),
    ))
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub const SCENARIO: &str = "test/ledger";

pub fn scenario() -> ScenarioId {
    ScenarioId::new(SCENARIO).unwrap()
}

/// A charter of [`SCENARIO`] with one kind `entry` (n: int ≥ 0, client: text), written by
/// `writers`.
pub fn charter(owner: &SigningKey, writers: &[PublicKey]) -> Charter {
    charter_of(&scenario(), owner, writers)
}

/// [`charter`] for the scenario `id`.
pub fn charter_of(id: &ScenarioId, owner: &SigningKey, writers: &[PublicKey]) -> Charter {
    let fields = vec![
        FieldSchema {
            name: "n".into(),
            description: "a sequence number".into(),
            ty: FieldType::Int {
                min: Some(0),
                max: None,
            },
            required: true,
        },
        FieldSchema {
            name: "client".into(),
            description: "who wrote it".into(),
            ty: FieldType::Text {
                max_len: 32,
                one_of: vec![],
            },
            required: true,
        },
    ];
    let rules = vec![
        trustchain_core::scenario::rules::compile(
            "n_small",
            "n < 1000000000",
            "n stays below a billion",
            &fields,
        )
        .expect("rule compiles"),
    ];
    UnsignedCharter {
        scenario: id.clone(),
        title: "test ledger".into(),
        white_paper: String::new(),
        owners: vec![PublicKey::of(owner)],
        writers: writers.to_vec(),
        kinds: vec![RecordKind {
            name: "entry".into(),
            description: String::new(),
            digest_only: false,
            fields,
            rules,
        }],
        time_ms: 1,
    }
    .sign(owner)
}

pub fn entry(author: &SigningKey, nonce: u64, n: i64, client: &str) -> Contract {
    entry_of(&scenario(), author, nonce, n, client)
}

/// [`entry`] in the scenario `id`.
pub fn entry_of(
    id: &ScenarioId,
    author: &SigningKey,
    nonce: u64,
    n: i64,
    client: &str,
) -> Contract {
    let mut f = Fields::new();
    f.insert("n".into(), Value::Int(n));
    f.insert("client".into(), Value::Text(client.into()));
    UnsignedContract {
        scenario: id.clone(),
        kind: "entry".into(),
        author: PublicKey::of(author),
        nonce,
        time_ms: 1_700_000_000_000,
        body: Body::Fields(f),
        attachments: vec![],
    }
    .sign(author)
}

pub fn enc(id: &str) -> String {
    id.replace('/', "%2F")
}
