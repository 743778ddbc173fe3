//! A real 4-relay network on loopback: `devnet --init-only`, then one `run --config` process per
//! relay. Contracts are submitted while one validator is SIGKILLed and later restarted with its
//! database wiped. Checked throughout: finality goes on with 3 of 4, no two relays ever hold
//! different blocks at one height, every acknowledged contract has a proof that verifies from
//! the genesis, and the wiped relay catches up by sync and votes again.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use trustchain_core::contract::{Contract, Entry};
use trustchain_core::light_client::{LightClient, TrustedCheckpoint};

const NODES: usize = 4;

struct Node {
    config: PathBuf,
    url: String,
    child: Option<Child>,
}

impl Node {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_trustchain-relay"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env(
                "RUST_LOG",
                "info,informalsystems_malachitebft_core_consensus=warn",
            )
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start relay");
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

    fn log(&self) -> PathBuf {
        self.config.with_file_name("test.log")
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGKILL: no shutdown path runs.
            c.kill().expect("kill");
            let _ = c.wait();
        }
    }

    fn height(&self) -> u64 {
        let (status, head) = get_json(&format!("{}/v1/main/head", self.url));
        assert_eq!(status, 200);
        head["block"]["header"]["height"].as_u64().expect("height")
    }

    fn block_hash(&self, height: u64) -> String {
        let (status, b) = get_json(&format!("{}/v1/main/blocks/{height}", self.url));
        assert_eq!(status, 200, "{b}");
        b["hash"].as_str().expect("hash").to_string()
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

fn base_port() -> u16 {
    // Distinct per test process, 400 ports per devnet, below the ephemeral port range.
    10_000 + (std::process::id() % 50) as u16 * 400
}

fn devnet(dir: &Path) -> Vec<Node> {
    let out = Command::new(env!("CARGO_BIN_EXE_trustchain-relay"))
        .args(["devnet", "--init-only", "--no-demo", "--nodes"])
        .arg(NODES.to_string())
        .arg("--base-port")
        .arg(base_port().to_string())
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("devnet --init-only");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (0..NODES)
        .map(|i| Node {
            config: dir.join(format!("node-{i}/relay.toml")),
            url: format!("http://127.0.0.1:{}", base_port() + i as u16),
            child: None,
        })
        .collect()
}

/// Waits until every live node's head reaches `height`.
fn wait_height(nodes: &[&Node], height: u64, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes.iter().any(|n| n.height() < height) {
        assert!(
            Instant::now() < deadline,
            "{why}: heights {:?}, want {height}",
            nodes.iter().map(|n| n.height()).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `node` has anchored a checkpoint of the test scenario of at least `size`;
/// returns the head height then.
fn wait_anchored(node: &Node, size: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get_json(&format!("{}/v1/scenarios/{}", node.url, enc(SCENARIO)));
        assert_eq!(status, 200, "{body}");
        if body["head_checkpoint"]["size"]
            .as_u64()
            .is_some_and(|s| s >= size)
        {
            return node.height();
        }
        assert!(Instant::now() < deadline, "size {size} never anchored");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every pair of nodes agrees on every block both have.
fn assert_one_chain(nodes: &[&Node]) {
    let top = nodes.iter().map(|n| n.height()).min().unwrap_or(0);
    for h in 0..=top {
        let hashes: Vec<String> = nodes.iter().map(|n| n.block_hash(h)).collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "conflicting blocks at height {h}: {hashes:?}"
        );
    }
}

fn submit(node: &Node, batch: &[Contract]) -> Vec<u64> {
    let (status, body) = post_json(
        &format!("{}/v1/scenarios/{}/contracts", node.url, enc(SCENARIO)),
        &batch,
    )
    .expect("submit");
    assert_eq!(status, 201, "{body}");
    serde_json::from_value(body["indices"].clone()).unwrap()
}

#[test]
fn four_relays_stay_final_through_a_sigkill_and_a_wiped_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut nodes = devnet(&tmp.path().join("devnet"));
    for n in nodes.iter_mut() {
        n.start();
    }
    let genesis_trust: TrustedCheckpoint = {
        let (status, t) = get_json(&format!("{}/v1/trust", nodes[0].url));
        assert_eq!(status, 200);
        let mut t: TrustedCheckpoint = serde_json::from_value(t).unwrap();
        assert_eq!(t.validators.validators.len(), NODES, "every node validates");
        // Trust block 0 itself, as a verifier holding only the genesis would.
        t.height = 0;
        t.block = trustchain_core::hash::Hash::from_hex(&nodes[0].block_hash(0)).expect("hash");
        t
    };

    let owner = key(1);
    let author = key(2);
    let (status, body) = post_json(
        &format!("{}/v1/scenarios", nodes[0].url),
        &charter(&owner, &[trustchain_core::crypto::PublicKey::of(&author)]),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");

    let mut acked: Vec<(u64, Contract)> = Vec::new();
    let mut nonce = 0;
    let mut batch = |count: usize| -> Vec<Contract> {
        (0..count)
            .map(|_| {
                nonce += 1;
                entry(&author, nonce, nonce as i64, "net")
            })
            .collect()
    };

    // 1. All four up.
    for _ in 0..5 {
        let b = batch(4);
        acked.extend(submit(&nodes[0], &b).into_iter().zip(b));
    }
    let h1 = wait_anchored(&nodes[0], acked.len() as u64 + 1);
    wait_height(&nodes.iter().collect::<Vec<_>>(), h1, "all four");

    // 2. SIGKILL a validator that does not hold the scenario: 3 of 4 (weight 3/4 > 2/3) go on.
    nodes[3].kill();
    for _ in 0..5 {
        let b = batch(3);
        acked.extend(submit(&nodes[0], &b).into_iter().zip(b));
    }
    let h2 = wait_anchored(&nodes[0], acked.len() as u64 + 1);
    assert!(h2 > h1, "finality stopped without node 3");
    let live: Vec<&Node> = nodes[..3].iter().collect();
    wait_height(&live, h2, "three of four");
    assert_one_chain(&live);

    // 3. Node 3 comes back with its database wiped (keys kept): it syncs, then votes again.
    std::fs::remove_file(tmp.path().join("devnet/node-3/relay.redb"))
        .or_else(|_| std::fs::remove_dir_all(tmp.path().join("devnet/node-3/data")))
        .expect("wipe node 3's database");
    nodes[3].start();
    wait_height(&[&nodes[3]], h2, "the wiped node catching up");
    // With another validator down, finality needs node 3's vote.
    nodes[2].kill();
    let b = batch(2);
    acked.extend(submit(&nodes[0], &b).into_iter().zip(b));
    let h3 = wait_anchored(&nodes[0], acked.len() as u64 + 1);
    assert!(h3 > h2);
    let live = [&nodes[0], &nodes[1], &nodes[3]];
    wait_height(&live, h3, "with the restarted node voting");
    let (_, m) = get_text(&format!("{}/metrics", nodes[3].url));
    assert!(
        m.lines()
            .any(|l| l.starts_with("trustchain_consensus_decided_total ") && !l.ends_with(" 0")),
        "the restarted node decided heights itself:\n{m}"
    );
    assert_one_chain(&live);

    // 4. Every acknowledged contract is on the chain, with a proof that verifies from genesis.
    let mut client = LightClient::new(genesis_trust);
    for (index, contract) in &acked {
        let (status, text) = get_text(&format!(
            "{}/v1/scenarios/{}/records/{index}?format=receipt",
            nodes[0].url,
            enc(SCENARIO)
        ));
        assert_eq!(status, 200, "record {index}: {text}");
        let proof = trustchain_core::receipt::from_base64url(&text).expect("receipt decodes");
        assert_eq!(proof.entry, Entry::Contract(contract.clone()));
        let verdict = client.verify_record(&proof, None);
        assert!(
            verdict.is_verified(),
            "record {index}: {:?}",
            verdict.outcome
        );
    }
}
