//! A real multi-relay devnet for tests: `trustchain-relay devnet --init-only`, then one
//! `run --config` process per relay (optionally inside a network namespace), with helpers to
//! submit contracts, wait for finality and check that the relays agree.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use trustchain_core::chain::block::EpochChange;
use trustchain_core::chain::validators::ValidatorSet;
use trustchain_core::scenario::contract::Contract;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::light_client::{LightClient, TrustedCheckpoint};

use super::*;

/// Relays in a test devnet.
pub const NODES: usize = 4;

/// One relay process of a devnet.
pub struct Node {
    /// Its `relay.toml`.
    pub config: PathBuf,
    /// Its HTTP API, as the test process reaches it.
    pub url: String,
    /// The network namespace it runs in (`ip netns exec`), if any.
    pub netns: Option<String>,
    /// More arguments to `run` (e.g. a hidden `--misbehave-chain`).
    pub args: Vec<String>,
    pub child: Option<Child>,
}

impl Node {
    /// Starts the relay and waits until it serves HTTP.
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("log file");
        let exe = env!("CARGO_BIN_EXE_trustchain-relay");
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns.as_str(), exe]);
                c
            }
            None => Command::new(exe),
        };
        cmd.arg("run")
            .arg("--config")
            .arg(&self.config)
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("TC_NODE_LOG").unwrap_or_else(|_| {
                    "info,informalsystems_malachitebft_core_consensus=warn".into()
                }),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // The relay's settings are its relay.toml's, not whatever the test's shell exports.
        for v in trustchain_relay::app::config::Overrides::ENV_VARS {
            cmd.env_remove(v);
        }
        let mut child = cmd.spawn().expect("start relay");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = lines
                .next()
                .expect("relay exited before listening")
                .expect("read stdout");
            if line.contains("listening on http://") {
                break;
            }
            assert!(Instant::now() < deadline, "relay did not start");
        }
        // Keep draining stdout so the relay never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    /// Its log (stderr), next to its config.
    pub fn log(&self) -> PathBuf {
        self.config.with_file_name("test.log")
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill");
            let _ = c.wait();
        }
    }

    /// The height of its head.
    pub fn height(&self) -> u64 {
        let (status, head) = get_json(&format!("{}/v1/main/head", self.url));
        assert_eq!(status, 200, "{}: {head}", self.url);
        head["block"]["header"]["height"].as_u64().expect("height")
    }

    /// The hash of its block at `height`.
    pub fn block_hash(&self, height: u64) -> String {
        let (status, b) = get_json(&format!("{}/v1/main/blocks/{height}", self.url));
        assert_eq!(status, 200, "{b}");
        b["hash"].as_str().expect("hash").to_string()
    }

    /// The size of the test scenario's newest anchored checkpoint (0 if none).
    pub fn anchored(&self) -> u64 {
        self.anchored_of(SCENARIO)
    }

    /// The size of scenario `id`'s newest anchored checkpoint (0 if none); the relay must hold
    /// the scenario.
    pub fn anchored_of(&self, id: &str) -> u64 {
        let (status, body) = get_json(&format!("{}/v1/scenarios/{}", self.url, enc(id)));
        assert_eq!(status, 200, "{body}");
        body["head_checkpoint"]["size"].as_u64().unwrap_or(0)
    }

    /// How many entries of scenario `id` this relay holds (`None`: it does not hold it).
    pub fn holds(&self, id: &str) -> Option<u64> {
        let (status, body) = get_json(&format!("{}/v1/scenarios/{}", self.url, enc(id)));
        match status {
            200 => body["size"].as_u64(),
            404 => None,
            _ => panic!("{}: {status} {body}", self.url),
        }
    }

    /// Its consensus key (from `node.key` next to its config).
    pub fn validator_key(&self) -> trustchain_core::crypto::PublicKey {
        let key = trustchain_relay::app::keys::load(&self.config.with_file_name("node.key"))
            .expect("node key");
        trustchain_core::crypto::PublicKey::of(&key)
    }

    /// The validators it trusts now (its head's epoch).
    pub fn validators(&self) -> trustchain_core::chain::validators::ValidatorSet {
        let (status, t) = get_json(&format!("{}/v1/trust", self.url));
        assert_eq!(status, 200, "{t}");
        serde_json::from_value::<TrustedCheckpoint>(t)
            .expect("trust")
            .validators
    }

    /// Rewrites its `relay.toml` with `edit`.
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config).expect("read relay.toml");
        std::fs::write(&self.config, edit(text)).expect("write relay.toml");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- {} (last 40 lines) ---", self.log().display());
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A base port `P` for a devnet whose ports (`P+i` HTTP, `P+100+i` relays, `P+200+i` WebSocket,
/// `P+300+i` WebRTC/UDP) are all free now: one of 50 slots of 400 ports in 10000..30000, tried
/// from one derived from the process id, never the same twice in one process.
pub fn base_port() -> u16 {
    static TAKEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    let start = std::process::id() as usize;
    for k in 0..50 {
        let base = 10_000 + ((start + k) % 50) as u16 * 400;
        if taken.contains(&base) {
            continue;
        }
        let free = (0..NODES as u16).all(|i| {
            [base + i, base + 100 + i, base + 200 + i]
                .iter()
                .all(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
                && std::net::UdpSocket::bind(("127.0.0.1", base + 300 + i)).is_ok()
        });
        if free {
            taken.push(base);
            return base;
        }
    }
    panic!("no free range of devnet ports in 10000..30000");
}

/// Makes a devnet of [`NODES`] relays at `base` in `dir` (not started).
pub fn devnet_at(dir: &Path, base: u16) -> Vec<Node> {
    devnet_with(dir, base, NODES, &[])
}

/// Makes a devnet of `count` relays at `base` in `dir` with `extra` arguments to `devnet`
/// (not started).
pub fn devnet_with(dir: &Path, base: u16, count: usize, extra: &[&str]) -> Vec<Node> {
    let out = Command::new(env!("CARGO_BIN_EXE_trustchain-relay"))
        .args(["devnet", "--init-only", "--no-demo", "--nodes"])
        .arg(count.to_string())
        .arg("--base-port")
        .arg(base.to_string())
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .output()
        .expect("devnet --init-only");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (0..count)
        .map(|i| Node {
            config: dir.join(format!("node-{i}/relay.toml")),
            url: format!("http://127.0.0.1:{}", base + i as u16),
            netns: None,
            args: Vec::new(),
            child: None,
        })
        .collect()
}

/// Makes a devnet of [`NODES`] relays at a free [`base_port`] in `dir` (not started).
pub fn devnet(dir: &Path) -> Vec<Node> {
    devnet_at(dir, base_port())
}

/// Waits until every node's head reaches `height`.
pub fn wait_height(nodes: &[&Node], height: u64, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes.iter().any(|n| n.height() < height) {
        assert!(
            Instant::now() < deadline,
            "{why}: heights {:?}, want {height}",
            nodes.iter().map(|n| n.height()).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `node` has anchored a checkpoint of the test scenario of at least `size`;
/// returns the head height then.
pub fn wait_anchored(node: &Node, size: u64) -> u64 {
    wait_anchored_of(node, SCENARIO, size)
}

/// [`wait_anchored`] for scenario `id`.
pub fn wait_anchored_of(node: &Node, id: &str, size: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if node.anchored_of(id) >= size {
            return node.height();
        }
        assert!(
            Instant::now() < deadline,
            "{id}: size {size} never anchored"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every pair of nodes agrees on every block both have.
pub fn assert_one_chain(nodes: &[&Node]) {
    let top = nodes.iter().map(|n| n.height()).min().unwrap_or(0);
    for h in 0..=top {
        let hashes: Vec<String> = nodes.iter().map(|n| n.block_hash(h)).collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "conflicting blocks at height {h}: {hashes:?}"
        );
    }
}

/// Submits `batch` to `node`; the indices it acknowledged.
pub fn submit(node: &Node, batch: &[Contract]) -> Vec<u64> {
    submit_to(node, SCENARIO, batch)
}

/// Submits `batch` of scenario `id` to `node`; the indices it acknowledged.
pub fn submit_to(node: &Node, id: &str, batch: &[Contract]) -> Vec<u64> {
    let (status, body) = post_json(
        &format!("{}/v1/scenarios/{}/contracts", node.url, enc(id)),
        &batch,
    )
    .expect("submit");
    assert_eq!(status, 201, "{body}");
    serde_json::from_value(body["indices"].clone()).unwrap()
}

/// What a verifier holding only the genesis trusts: block 0 of `node`'s chain, with the
/// validators `node` publishes (all [`NODES`] of them).
pub fn genesis_trust(node: &Node) -> TrustedCheckpoint {
    let (status, t) = get_json(&format!("{}/v1/trust", node.url));
    assert_eq!(status, 200);
    let mut t: TrustedCheckpoint = serde_json::from_value(t).unwrap();
    assert_eq!(t.validators.validators.len(), NODES, "every node validates");
    t.height = 0;
    t.block = trustchain_core::crypto::hash::Hash::from_hex(&node.block_hash(0)).expect("hash");
    t
}

/// The epoch changes `node` publishes (`/v1/main/epochs`): one per validator set after the
/// first (the light client checks each).
pub fn epoch_changes(node: &Node) -> Vec<EpochChange> {
    let (status, epochs) = get_json(&format!("{}/v1/main/epochs", node.url));
    assert_eq!(status, 200, "{epochs}");
    let changes: Vec<EpochChange> =
        serde_json::from_value(epochs["changes"].clone()).expect("epoch changes");
    let sets: Vec<ValidatorSet> =
        serde_json::from_value(epochs["epochs"].clone()).expect("validator sets");
    assert_eq!(
        changes.len() + 1,
        sets.len(),
        "{} serves {} validator sets but {} epoch changes",
        node.url,
        sets.len(),
        changes.len()
    );
    changes
}

/// A writer of the test scenario that keeps what the relays acknowledged.
pub struct Writer {
    /// The scenario written.
    pub scenario: ScenarioId,
    author: SigningKey,
    nonce: u64,
    /// Every acknowledged contract, by index.
    pub acked: Vec<(u64, Contract)>,
}

impl Writer {
    /// Creates the test scenario on `node`, with one writer.
    pub fn open(node: &Node) -> Writer {
        Writer::open_on(node, &scenario())
    }

    /// Creates scenario `id` on `node` (its home), with one writer.
    pub fn open_on(node: &Node, id: &ScenarioId) -> Writer {
        let owner = key(1);
        let author = key(2);
        let (status, body) = post_json(
            &format!("{}/v1/scenarios", node.url),
            &charter_of(
                id,
                &owner,
                &[trustchain_core::crypto::PublicKey::of(&author)],
            ),
        )
        .unwrap();
        assert_eq!(status, 201, "{body}");
        Writer {
            scenario: id.clone(),
            author,
            nonce: 0,
            acked: Vec::new(),
        }
    }

    /// A writer (key 2) of scenario `id`, founded elsewhere.
    pub fn for_existing(id: &ScenarioId) -> Writer {
        Writer {
            scenario: id.clone(),
            author: key(2),
            nonce: 0,
            acked: Vec::new(),
        }
    }

    /// `count` new contracts.
    pub fn batch(&mut self, count: usize) -> Vec<Contract> {
        (0..count)
            .map(|_| {
                self.nonce += 1;
                entry_of(
                    &self.scenario,
                    &self.author,
                    self.nonce,
                    self.nonce as i64,
                    "net",
                )
            })
            .collect()
    }

    /// Submits `count` new contracts to `node`; returns their indices.
    pub fn submit(&mut self, node: &Node, count: usize) -> Vec<u64> {
        let b = self.batch(count);
        let indices = submit_to(node, self.scenario.as_str(), &b);
        self.acked.extend(indices.iter().copied().zip(b));
        indices
    }

    /// The checkpoint size that anchors every acknowledged contract (the charter is record 0).
    pub fn all(&self) -> u64 {
        self.acked.iter().map(|(i, _)| i + 1).max().unwrap_or(1)
    }

    /// Every acknowledged contract is on `node`'s chain, with a receipt that verifies from
    /// `trust` alone (following the epoch changes `node` publishes, each checked by the client).
    pub fn verify_all(&self, node: &Node, trust: TrustedCheckpoint) {
        let mut client = LightClient::new(trust);
        let follow = |client: &mut LightClient| {
            for change in &epoch_changes(node) {
                if change.header.epoch == client.epoch() {
                    client
                        .apply_epoch_change(change)
                        .expect("the epoch change verifies");
                }
            }
        };
        follow(&mut client);
        for (index, contract) in &self.acked {
            let receipt = || {
                let (status, text) = get_text(&format!(
                    "{}/v1/scenarios/{}/records/{index}?format=receipt",
                    node.url,
                    enc(self.scenario.as_str())
                ));
                assert_eq!(status, 200, "record {index}: {text}");
                let proof = trustchain_core::verify::receipt::from_base64url(&text)
                    .expect("receipt decodes");
                assert_eq!(proof.entry, Entry::Contract(contract.clone()));
                proof
            };
            let mut verdict = client.verify_record(&receipt(), None);
            if !verdict.is_verified() {
                // The chain may have moved to a new epoch since: follow it, then try again.
                follow(&mut client);
                verdict = client.verify_record(&receipt(), None);
            }
            assert!(
                verdict.is_verified(),
                "record {index}: {:?}",
                verdict.outcome
            );
        }
    }
}
