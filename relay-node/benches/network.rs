//! trustchain-relay network benchmark: a real 4-relay devnet on loopback (one `run` process per
//! relay, BFT consensus over libp2p TCP/gossipsub), measured from outside through the HTTP API —
//! next to the physical limits measured in-process in the same run (durable redb commit, loopback
//! TCP round trip, ed25519 verification) and the ingest rate of a single `dev` relay (no
//! consensus) under the same load. See BENCHMARKS.md §4.
//!
//! Run: `cargo bench -p trustchain-relay --bench network` (a plain `main`, not criterion: it
//! measures a multi-process system). About 90 s plus the build. Knobs (environment):
//! `TRUSTCHAIN_BENCH_LOG` the relays' `RUST_LOG` (`warn`; their logs are in the temporary
//! directory), `TRUSTCHAIN_BENCH_N` submissions timed one by one (200), `TRUSTCHAIN_BENCH_WINDOW_S` seconds of
//! each throughput window (8), `TRUSTCHAIN_BENCH_CLIENTS` client threads (16),
//! `TRUSTCHAIN_BENCH_BATCH` contracts per POST (8), `TRUSTCHAIN_BENCH_POOL` contracts pre-signed
//! per window (200,000).
//!
//! Latency: one contract is submitted to node 0 at a time; "final on node 0" is when node 0's head
//! (seen through its SSE stream `/v1/heads`) reaches the first block whose anchored checkpoint of
//! the scenario covers the new record (`GET /v1/scenarios/{id}`: `head_checkpoint.size > index`);
//! "final on all 4" is when the last relay's head reaches that block. Both are conservative by at
//! most one block (a read that already sees a later head attributes the record to that head).
//!
//! Throughput: scenarios are founded round-robin on the 4 relays (each relay checkpoints its own
//! scenarios; the blocks carry them all); client threads POST pre-signed canonical batches
//! (`application/vnd.trustchain.contracts`) round-robin over the scenarios for a fixed window.
//! Acknowledged = 201 answers within the window; anchored = growth of the anchored sizes summed
//! over the scenarios (`GET /v1/scenarios` on every relay) within the window. Each devnet window
//! follows the same window against one `dev` relay (solo finalizer, no consensus), which stays up
//! beside the devnet: the ingest limit under the same load at the same moment. CPU time per
//! thread name comes from `/proc/<pid>/task/*/stat` (assumes 100 clock ticks per second).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer as _, SigningKey};
use redb::{Database, TableDefinition};
use serde_json::Value as Json;
use trustchain_core::chain::block::BlockBody;
use trustchain_core::crypto::PublicKey;
use trustchain_core::encoding::Encode;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::scenario::charter::Charter;
use trustchain_core::scenario::checkpoint::SignedCheckpoint;
use trustchain_core::scenario::contract::Contract;
use trustchain_relay::api::CANONICAL_BATCH;

const NODES: usize = 4;
/// Scenarios moving in the throughput windows (and their id tags).
const SIZES: &[(usize, &str)] = &[(1, "one"), (100, "hundred"), (1000, "thousand")];
const BIN: &str = env!("CARGO_BIN_EXE_trustchain-relay");
/// The devnet's `checkpoint_delay_ms` (the default `relay.toml` value; `devnet` does not set it).
const CHECKPOINT_DELAY_MS: f64 = 20.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Workload (the small charter and contract of relay-node/tests/common, with a scenario parameter)
// ---------------------------------------------------------------------------------------------

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn owner() -> SigningKey {
    key(1)
}

/// Client `i`'s author key (writers of every bench scenario).
fn author(i: usize) -> SigningKey {
    key(40 + i as u8)
}

/// The workload: the small charter and contract of the relay's tests.
#[path = "../tests/common/mod.rs"]
mod common;

fn charter(id: &ScenarioId, writers: &[PublicKey]) -> Charter {
    common::charter_of(id, &owner(), writers)
}

fn entry(id: &ScenarioId, author: &SigningKey, nonce: u64, client: &str) -> Contract {
    common::entry_of(id, author, nonce, (nonce % 1_000_000) as i64, client)
}

fn enc(id: &ScenarioId) -> String {
    id.as_str().replace('/', "%2F")
}

fn writers(clients: usize) -> Vec<PublicKey> {
    (0..clients.max(1))
        .map(|i| PublicKey::of(&author(i)))
        .chain([PublicKey::of(&key(2))])
        .collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(timeout)
        .build()
        .into()
}

fn get_json(a: &ureq::Agent, url: &str) -> (u16, Json) {
    let mut res = a
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = res.status().as_u16();
    (status, res.body_mut().read_json().unwrap_or(Json::Null))
}

fn get_bytes(a: &ureq::Agent, url: &str) -> (u16, Vec<u8>) {
    let mut res = a
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = res.status().as_u16();
    (status, res.body_mut().read_to_vec().unwrap_or_default())
}

fn post(a: &ureq::Agent, url: &str, content_type: &str, body: &[u8]) -> (u16, Json) {
    let mut res = a
        .post(url)
        .content_type(content_type)
        .send(body)
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = res.status().as_u16();
    (status, res.body_mut().read_json().unwrap_or(Json::Null))
}

fn found(a: &ureq::Agent, url: &str, id: &ScenarioId, clients: usize) {
    let body = serde_json::to_vec(&charter(id, &writers(clients))).expect("charter json");
    let (status, res) = post(a, &format!("{url}/v1/scenarios"), "application/json", &body);
    assert_eq!(status, 201, "founding {id}: {res}");
}

// ---------------------------------------------------------------------------------------------
// Relay processes
// ---------------------------------------------------------------------------------------------

struct Proc {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Proc {
    /// Starts `trustchain-relay <args>` (RUST_LOG=warn, stderr to `log`) and waits until it
    /// prints "listening on http://…"; keeps draining its stdout.
    fn start(args: &[&str], log: &Path) -> Proc {
        let err = std::fs::File::create(log).expect("log file");
        let mut child = Command::new(BIN)
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("TRUSTCHAIN_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("start relay");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            assert!(Instant::now() < deadline, "relay did not start: {args:?}");
            let line = match lines.next() {
                Some(Ok(l)) => l,
                _ => panic!(
                    "relay exited before listening: {args:?}\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ),
            };
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .expect("url")
                    .trim_end_matches('/')
                    .to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Proc {
            child,
            url,
            log: log.to_path_buf(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            eprintln!("--- {} (last 20 lines) ---", self.log.display());
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A base port whose devnet ports (base + 0..4, +100.., +200.., +300.. UDP) are all free now;
/// 30000–32303, below the ephemeral range and above the tests' 10000–29903.
fn free_base_port() -> u16 {
    let start = (std::process::id() % 6) as u16;
    for k in 0..6 {
        let base = 30_000 + ((start + k) % 6) * 400;
        let free = (0..NODES as u16).all(|i| {
            [0u16, 100, 200]
                .iter()
                .all(|off| TcpListener::bind(("127.0.0.1", base + off + i)).is_ok())
                && UdpSocket::bind(("127.0.0.1", base + 300 + i)).is_ok()
        });
        if free {
            return base;
        }
    }
    panic!("no free devnet port range in 30000–32303");
}

// ---------------------------------------------------------------------------------------------
// Heads seen by every relay, from their SSE streams
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Heads {
    /// Per node: height → when this process first saw it.
    seen: Mutex<Vec<BTreeMap<u64, Instant>>>,
    cv: Condvar,
}

impl Heads {
    fn new(nodes: usize) -> Arc<Heads> {
        Arc::new(Heads {
            seen: Mutex::new(vec![BTreeMap::new(); nodes]),
            cv: Condvar::new(),
        })
    }

    /// Follows `GET {url}/v1/heads` (server-sent events) until the relay goes away.
    fn follow(self: &Arc<Self>, node: usize, url: String) {
        let heads = self.clone();
        std::thread::spawn(move || {
            let Ok(res) = agent(None).get(&format!("{url}/v1/heads")).call() else {
                return;
            };
            let reader = BufReader::new(res.into_body().into_reader());
            for line in reader.lines() {
                let Ok(line) = line else { return };
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let now = Instant::now();
                let Ok(v) = serde_json::from_str::<Json>(data.trim()) else {
                    continue;
                };
                if let Some(h) = v["height"].as_u64() {
                    heads.seen.lock().expect("heads")[node]
                        .entry(h)
                        .or_insert(now);
                    heads.cv.notify_all();
                }
            }
        });
    }

    fn top(&self, node: usize) -> u64 {
        self.seen.lock().expect("heads")[node]
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
    }

    /// When `node` first showed a head of at least `height`, waiting up to `timeout`.
    fn wait_at_least(&self, node: usize, height: u64, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let mut seen = self.seen.lock().expect("heads");
        loop {
            if let Some((_, t)) = seen[node].range(height..).next() {
                return Some(*t);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            seen = self.cv.wait_timeout(seen, left).expect("heads").0;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// Physical limits, in-process
// ---------------------------------------------------------------------------------------------

struct Limits {
    fsync_p50_ms: f64,
    fsync_p99_ms: f64,
    rtt_p50_ms: f64,
    rtt_p99_ms: f64,
    verify_us: f64,
}

const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw");

fn limits(dir: &Path) -> Limits {
    // A durable one-row redb commit: what the ingest writer, every WAL flush before a vote and
    // every block commit cost at least.
    let db = Database::create(dir.join("fsync.redb")).expect("create db");
    let row = [7u8; 200];
    let mut commits = Vec::new();
    for i in 0..320u64 {
        let t = Instant::now();
        let txn = db.begin_write().expect("begin");
        {
            let mut table = txn.open_table(RAW).expect("table");
            table.insert(i, row.as_slice()).expect("insert");
        }
        txn.commit().expect("durable commit");
        if i >= 20 {
            commits.push(ms(t.elapsed()));
        }
    }
    drop(db);
    let commits = sorted(commits);

    // Loopback TCP round trip: 64 bytes out and back between two threads, Nagle off.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_nodelay(true).expect("nodelay");
        let mut buf = [0u8; 64];
        while s.read_exact(&mut buf).is_ok() {
            if s.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut buf = [0u8; 64];
    let mut rtts = Vec::new();
    for i in 0..3200 {
        let t = Instant::now();
        s.write_all(&buf).expect("write");
        s.read_exact(&mut buf).expect("read");
        if i >= 200 {
            rtts.push(ms(t.elapsed()));
        }
    }
    drop(s);
    let _ = echo.join();
    let rtts = sorted(rtts);

    // ed25519: one `verify_strict`, key already decompressed (the dalek limit of BENCHMARKS §1).
    let sk = key(9);
    let vk = sk.verifying_key();
    let msg = [42u8; 100];
    let sig = sk.sign(&msg);
    let n = 3000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(vk.verify_strict(std::hint::black_box(&msg), &sig)).expect("valid");
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    Limits {
        fsync_p50_ms: pct(&commits, 0.5),
        fsync_p99_ms: pct(&commits, 0.99),
        rtt_p50_ms: pct(&rtts, 0.5),
        rtt_p99_ms: pct(&rtts, 0.99),
        verify_us,
    }
}

// ---------------------------------------------------------------------------------------------
// Load: client threads POSTing pre-signed canonical batches for a window
// ---------------------------------------------------------------------------------------------

/// Per client thread: its (url, body, contracts) requests, in order.
type Plan = Vec<Vec<(String, Vec<u8>, u64)>>;

static NONCE: AtomicU64 = AtomicU64::new(1_000_000);

/// Pre-signs `pool` contracts in batches of `batch`, spread round-robin over `targets`
/// (contracts URL, scenario) and over `clients` threads, each of which reaches every target
/// (and so every relay) in turn; signed on two threads.
fn plan(targets: &[(String, ScenarioId)], clients: usize, batch: usize, pool: usize) -> Plan {
    let batches = pool.div_ceil(batch);
    let jobs: Vec<(usize, usize, u64)> = (0..batches)
        .map(|j| {
            let nonce = NONCE.fetch_add(batch as u64, Ordering::Relaxed);
            ((j + j / clients) % targets.len(), j % clients, nonce)
        })
        .collect();
    let bodies: Vec<(usize, String, Vec<u8>, u64)> = std::thread::scope(|s| {
        let halves: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(2))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(t, c, nonce)| {
                            let (url, id) = &targets[t];
                            let a = author(c);
                            let contracts: Vec<Contract> = (0..batch as u64)
                                .map(|k| entry(id, &a, nonce + k, "bench"))
                                .collect();
                            (c, url.clone(), contracts.to_bytes(), batch as u64)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("signer"))
            .collect()
    });
    let mut out: Plan = (0..clients).map(|_| Vec::new()).collect();
    for (c, url, body, n) in bodies {
        out[c].push((url, body, n));
    }
    out
}

struct LoadResult {
    acked: u64,
    /// Until the window closed, or the pool ran out.
    elapsed: Duration,
    exhausted: bool,
    post_p50_ms: f64,
}

fn load(plan: &Plan, window: Duration) -> LoadResult {
    let acked = AtomicU64::new(0);
    let exhausted = AtomicBool::new(false);
    let lat = Mutex::new(Vec::new());
    let start = Instant::now();
    let deadline = start + window;
    let last_done = Mutex::new(start);
    std::thread::scope(|s| {
        for reqs in plan {
            let (acked, exhausted, lat, last_done) = (&acked, &exhausted, &lat, &last_done);
            s.spawn(move || {
                let a = agent(Some(Duration::from_secs(30)));
                let mut mine = Vec::with_capacity(reqs.len());
                let mut finished_all = true;
                for (url, body, n) in reqs {
                    if Instant::now() >= deadline {
                        finished_all = false;
                        break;
                    }
                    let t = Instant::now();
                    let (status, res) = post(&a, url, CANONICAL_BATCH, body);
                    assert_eq!(status, 201, "{url}: {res}");
                    let done = Instant::now();
                    if done <= deadline {
                        acked.fetch_add(*n, Ordering::Relaxed);
                    }
                    mine.push(ms(done - t));
                }
                if finished_all {
                    exhausted.store(true, Ordering::Relaxed);
                    let mut l = last_done.lock().expect("lock");
                    *l = (*l).max(Instant::now());
                }
                lat.lock().expect("lock").extend(mine);
            });
        }
    });
    let exhausted = exhausted.load(Ordering::Relaxed);
    let elapsed = if exhausted {
        (*last_done.lock().expect("lock") - start).min(window)
    } else {
        window
    };
    LoadResult {
        acked: acked.load(Ordering::Relaxed),
        elapsed,
        exhausted,
        post_p50_ms: pct(&sorted(lat.into_inner().expect("lock")), 0.5),
    }
}

/// (records, anchored records) summed over the scenarios whose id starts with `prefix`, on every
/// relay of `urls` (each relay lists the scenarios it holds).
fn sizes(a: &ureq::Agent, urls: &[String], prefix: &str) -> (u64, u64) {
    let mut size = 0;
    let mut anchored = 0;
    for url in urls {
        let (status, list) = get_json(a, &format!("{url}/v1/scenarios"));
        assert_eq!(status, 200, "{list}");
        for s in list.as_array().expect("list") {
            if s["id"].as_str().is_some_and(|id| id.starts_with(prefix)) {
                size += s["size"].as_u64().unwrap_or(0);
                anchored += s["anchored_size"].as_u64().unwrap_or(0);
            }
        }
    }
    (size, anchored)
}

/// The sum over `urls` of the Prometheus counters `names` (in that order).
fn counters(a: &ureq::Agent, urls: &[String], names: &[&str]) -> Vec<u64> {
    let mut out = vec![0; names.len()];
    for url in urls {
        let mut res = a
            .get(&format!("{url}/metrics"))
            .call()
            .unwrap_or_else(|e| panic!("GET {url}/metrics: {e}"));
        let text = res.body_mut().read_to_string().unwrap_or_default();
        for line in text.lines() {
            for (i, name) in names.iter().enumerate() {
                if let Some(v) = line.strip_prefix(name).and_then(|r| r.strip_prefix(' ')) {
                    out[i] += v.trim().parse::<f64>().unwrap_or(0.0) as u64;
                }
            }
        }
    }
    out
}

/// CPU seconds (user + system) of `/proc/<pid>/stat` or of a task's `stat`.
fn stat_cpu(path: &Path) -> Option<(String, f64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // After the comm: state is field 3, utime 14 and stime 15 (1-based, man proc).
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((comm, ticks / 100.0))
}

/// CPU seconds used so far by the processes `pids`, by thread name ("total": whole processes,
/// threads that exited included), and by this bench process ("clients").
fn cpu(pids: &[u32]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for pid in pids {
        if let Some((_, t)) = stat_cpu(Path::new(&format!("/proc/{pid}/stat"))) {
            *out.entry("total".to_string()).or_insert(0.0) += t;
        }
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                if let Some((comm, t)) = stat_cpu(&task.path().join("stat")) {
                    *out.entry(comm).or_insert(0.0) += t;
                }
            }
        }
    }
    if let Some((_, t)) = stat_cpu(Path::new("/proc/self/stat")) {
        out.insert("clients".to_string(), t);
    }
    out
}

const COUNTERS: &[&str] = &[
    "trustchain_contracts_accepted_total",
    "trustchain_group_commits_total",
    "trustchain_consensus_refused_total",
    "trustchain_blocks_synced_total",
];

fn head(a: &ureq::Agent, url: &str) -> u64 {
    let (status, h) = get_json(a, &format!("{url}/v1/main/head"));
    assert_eq!(status, 200, "{h}");
    h["block"]["header"]["height"].as_u64().expect("height")
}

// ---------------------------------------------------------------------------------------------
// The phases
// ---------------------------------------------------------------------------------------------

struct Latency {
    n: usize,
    ack: Vec<f64>,
    node0: Vec<f64>,
    all: Vec<f64>,
    blocks_per_record: f64,
}

fn latency(nodes: &[Proc], heads: &Heads, n: usize) -> Latency {
    let a = agent(Some(Duration::from_secs(30)));
    let id = ScenarioId::new("bench/latency").expect("id");
    found(&a, &nodes[0].url, &id, 0);
    let url = format!("{}/v1/scenarios/{}/contracts", nodes[0].url, enc(&id));
    let scen = format!("{}/v1/scenarios/{}", nodes[0].url, enc(&id));
    let writer = key(2);
    let warmup = 10;
    let bodies: Vec<Vec<u8>> = (0..(warmup + n) as u64)
        .map(|i| serde_json::to_vec(&entry(&id, &writer, i + 1, "latency")).expect("json"))
        .collect();
    let (mut ack, mut node0, mut all) = (Vec::new(), Vec::new(), Vec::new());
    let h_start = heads.top(0);
    for (i, body) in bodies.iter().enumerate() {
        let t0 = Instant::now();
        let (status, res) = post(&a, &url, "application/json", body);
        let t_ack = Instant::now();
        assert_eq!(status, 201, "{res}");
        let index = res["indices"][0].as_u64().expect("index");
        let (h, seen_at) = loop {
            let (status, s) = get_json(&a, &scen);
            let now = Instant::now();
            assert_eq!(status, 200, "{s}");
            let at = s["anchored_in_block"].as_u64().unwrap_or(0);
            if s["head_checkpoint"]["size"]
                .as_u64()
                .is_some_and(|size| size > index)
            {
                break (at, now);
            }
            heads
                .wait_at_least(0, at + 1, Duration::from_secs(10))
                .unwrap_or_else(|| panic!("record {index} not anchored within 10 s"));
        };
        let t_final0 = heads
            .wait_at_least(0, h, Duration::from_secs(10))
            .expect("node 0 head")
            .min(seen_at);
        let mut t_all = t_final0;
        for node in 0..nodes.len() {
            let t = heads
                .wait_at_least(node, h, Duration::from_secs(10))
                .unwrap_or_else(|| panic!("node {node} never reached height {h}"));
            t_all = t_all.max(t);
        }
        if i >= warmup {
            ack.push(ms(t_ack - t0));
            node0.push(ms(t_final0.saturating_duration_since(t0)));
            all.push(ms(t_all.saturating_duration_since(t0)));
        }
    }
    let blocks = heads.top(0) - h_start;
    Latency {
        n,
        ack: sorted(ack),
        node0: sorted(node0),
        all: sorted(all),
        blocks_per_record: blocks as f64 / (warmup + n) as f64,
    }
}

struct Throughput {
    scenarios: usize,
    load: LoadResult,
    anchored: u64,
    blocks: u64,
    moved: Vec<f64>,
    hc_bytes: Vec<f64>,
    body_bytes: Vec<f64>,
    checkpoint_bytes: usize,
    drain_ms: f64,
    /// Blocks of the window decided in a round after 0.
    late_rounds: usize,
    /// Contracts per ingest commit (all relays).
    group: f64,
    /// Consensus inputs refused, blocks learnt from others instead of decided (all relays).
    refused: u64,
    synced: u64,
    /// CPU seconds in the window by thread name (see [`cpu`]).
    cpu: BTreeMap<String, f64>,
}

impl Throughput {
    fn acked_rate(&self) -> f64 {
        self.load.acked as f64 / self.load.elapsed.as_secs_f64()
    }
    fn anchored_rate(&self) -> f64 {
        self.anchored as f64 / self.load.elapsed.as_secs_f64()
    }
    fn blocks_rate(&self) -> f64 {
        self.blocks as f64 / self.load.elapsed.as_secs_f64()
    }
}

struct Knobs {
    window: Duration,
    clients: usize,
    batch: usize,
    pool: usize,
}

fn throughput(urls: &[String], pids: &[u32], scenarios: usize, tag: &str, k: &Knobs) -> Throughput {
    let a = agent(Some(Duration::from_secs(30)));
    let prefix = format!("bench/{tag}-");
    // Found the scenarios round-robin on the relays, one founding thread per relay.
    let ids: Vec<(usize, ScenarioId)> = (0..scenarios)
        .map(|i| {
            (
                i % urls.len(),
                ScenarioId::new(&format!("{prefix}{i}")).expect("id"),
            )
        })
        .collect();
    std::thread::scope(|s| {
        for (node, url) in urls.iter().enumerate() {
            let ids = &ids;
            s.spawn(move || {
                let a = agent(Some(Duration::from_secs(30)));
                for (_, id) in ids.iter().filter(|(n, _)| *n == node) {
                    found(&a, url, id, k.clients);
                }
            });
        }
    });
    let targets: Vec<(String, ScenarioId)> = ids
        .iter()
        .map(|(n, id)| {
            (
                format!("{}/v1/scenarios/{}/contracts", urls[*n], enc(id)),
                id.clone(),
            )
        })
        .collect();
    let plan = plan(&targets, k.clients, k.batch, k.pool);
    // Let the foundings anchor, so the window measures contracts only.
    let settle = Instant::now();
    loop {
        let (size, anchored) = sizes(&a, urls, &prefix);
        if size == anchored || settle.elapsed() > Duration::from_secs(20) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let h0 = head(&a, &urls[0]);
    let (_, anchored0) = sizes(&a, urls, &prefix);
    let c0 = counters(&a, urls, COUNTERS);
    let cpu0 = cpu(pids);
    let load = load(&plan, k.window);
    let cpu1 = cpu(pids);
    let (_, anchored1) = sizes(&a, urls, &prefix);
    let h1 = head(&a, &urls[0]);
    let c1 = counters(&a, urls, COUNTERS);
    let counted: Vec<u64> = c1.iter().zip(&c0).map(|(x, y)| x - y).collect();
    let stop = Instant::now();
    let drain_ms = loop {
        let (size, anchored) = sizes(&a, urls, &prefix);
        if size == anchored {
            break ms(stop.elapsed());
        }
        if stop.elapsed() > Duration::from_secs(30) {
            break f64::NAN;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The blocks of the window: `moved` from the header, header + certificate bytes as served
    // (`?format=bytes`), the body computed from one real checkpoint of this phase.
    let (status, cps) = get_json(
        &a,
        &format!(
            "{}/v1/scenarios/{}/checkpoints?limit=1",
            urls[ids[0].0],
            enc(&ids[0].1)
        ),
    );
    assert_eq!(status, 200, "{cps}");
    let cp: SignedCheckpoint =
        serde_json::from_value(cps["checkpoints"][0].clone()).expect("checkpoint");
    let checkpoint_bytes = cp.to_bytes().len();
    let (mut moved, mut hc_bytes, mut body_bytes) = (Vec::new(), Vec::new(), Vec::new());
    let mut late_rounds = 0;
    for h in h0 + 1..=h1 {
        let (status, b) = get_json(&a, &format!("{}/v1/main/blocks/{h}", urls[0]));
        assert_eq!(status, 200, "{b}");
        let m = b["block"]["header"]["moved"].as_u64().expect("moved") as usize;
        if b["block"]["certificate"]["round"].as_u64().unwrap_or(0) > 0 {
            late_rounds += 1;
        }
        let (status, bytes) =
            get_bytes(&a, &format!("{}/v1/main/blocks/{h}?format=bytes", urls[0]));
        assert_eq!(status, 200);
        moved.push(m as f64);
        hc_bytes.push(bytes.len() as f64);
        body_bytes.push(
            BlockBody {
                checkpoints: vec![cp.clone(); m],
                ..Default::default()
            }
            .to_bytes()
            .len() as f64,
        );
    }
    Throughput {
        scenarios,
        load,
        anchored: anchored1 - anchored0,
        blocks: h1 - h0,
        moved,
        hc_bytes,
        body_bytes,
        checkpoint_bytes,
        drain_ms,
        late_rounds,
        group: counted[0] as f64 / counted[1].max(1) as f64,
        refused: counted[2],
        synced: counted[3],
        cpu: cpu1
            .iter()
            .map(|(name, t)| (name.clone(), t - cpu0.get(name).copied().unwrap_or(0.0)))
            .collect(),
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cpu}, {} cores; load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.join(" / ")
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench targets without it,
    // and a 90-second multi-process benchmark has no place in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("network bench: skipped (run it with `cargo bench --bench network`)");
        return;
    }
    let k = Knobs {
        window: Duration::from_secs(env_usize("TRUSTCHAIN_BENCH_WINDOW_S", 8) as u64),
        clients: env_usize("TRUSTCHAIN_BENCH_CLIENTS", 16).clamp(1, 64),
        batch: env_usize("TRUSTCHAIN_BENCH_BATCH", 8).max(1),
        pool: env_usize("TRUSTCHAIN_BENCH_POOL", 200_000).max(1),
    };
    let n = env_usize("TRUSTCHAIN_BENCH_N", 200).max(1);
    let started = Instant::now();
    println!("machine: {}", machine());
    let tmp = tempfile::tempdir().expect("tempdir");

    // 1. Physical limits, in-process, before any relay runs.
    let lim = limits(tmp.path());
    println!(
        "limits: durable 1-row redb commit p50 {:.3} ms (p99 {:.3}); loopback TCP RTT p50 {:.1} µs (p99 {:.1}); ed25519 verify_strict {:.1} µs",
        lim.fsync_p50_ms,
        lim.fsync_p99_ms,
        lim.rtt_p50_ms * 1e3,
        lim.rtt_p99_ms * 1e3,
        lim.verify_us
    );

    // 2. The ingest limit: one `dev` relay (solo finalizer, no consensus) under the same load,
    //    run just before each devnet window (both stay up; the idle one costs next to nothing).
    let dev_dir = tmp.path().join("dev").to_string_lossy().to_string();
    let dev = Proc::start(
        &[
            "dev",
            "--data-dir",
            &dev_dir,
            "--listen",
            "127.0.0.1:0",
            "--webrtc-port",
            "0",
            "--ws-port",
            "0",
            "--no-demo",
            "--block-interval-ms",
            "20",
        ],
        &tmp.path().join("dev.log"),
    );

    // 3. The devnet.
    let dir = tmp.path().join("devnet");
    let base = free_base_port();
    let out = Command::new(BIN)
        .args(["devnet", "--init-only", "--no-demo", "--nodes"])
        .arg(NODES.to_string())
        .arg("--base-port")
        .arg(base.to_string())
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("devnet --init-only");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes: Vec<Proc> = (0..NODES)
        .map(|i| {
            let config = dir.join(format!("node-{i}/relay.toml"));
            Proc::start(
                &["run", "--config", &config.to_string_lossy()],
                &dir.join(format!("node-{i}/bench.log")),
            )
        })
        .collect();
    let urls: Vec<String> = nodes.iter().map(|p| p.url.clone()).collect();
    let pids: Vec<u32> = nodes.iter().map(|p| p.child.id()).collect();
    let heads = Heads::new(NODES);
    for (i, u) in urls.iter().enumerate() {
        heads.follow(i, u.clone());
    }
    println!(
        "devnet of {NODES} on ports {base}.. up at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let lat = latency(&nodes, &heads, n);
    println!(
        "latency ({} submissions): final on node 0 p50 {:.1} ms, on all 4 p50 {:.1} ms",
        lat.n,
        pct(&lat.node0, 0.5),
        pct(&lat.all, 0.5)
    );

    let (mut single, mut runs) = (Vec::new(), Vec::new());
    for &(s, tag) in SIZES {
        let one = throughput(
            std::slice::from_ref(&dev.url),
            &[dev.child.id()],
            s,
            &format!("single-{tag}"),
            &k,
        );
        let t = throughput(&urls, &pids, s, tag, &k);
        println!(
            "{s} scenarios: single relay {:.0} contracts/s acknowledged; devnet {:.0}/s acknowledged, {:.0}/s anchored, {:.1} blocks/s, {:.1} moved per block",
            one.acked_rate(),
            t.acked_rate(),
            t.anchored_rate(),
            t.blocks_rate(),
            mean(&t.moved)
        );
        single.push(one);
        runs.push(t);
    }
    drop(nodes);
    drop(dev);

    report(&lim, &single, &lat, &runs, &k);
    println!(
        "\nmachine: {}\ntotal {:.0} s",
        machine(),
        started.elapsed().as_secs_f64()
    );
}

fn report(lim: &Limits, single: &[Throughput], lat: &Latency, runs: &[Throughput], k: &Knobs) {
    println!("\n== LIMITS (in-process, same run) ==");
    println!(
        "durable one-row redb commit (fsync)   p50 {:>8.3} ms   p99 {:.3} ms",
        lim.fsync_p50_ms, lim.fsync_p99_ms
    );
    println!(
        "loopback TCP round trip (64 B)        p50 {:>8.1} µs   p99 {:.1} µs",
        lim.rtt_p50_ms * 1e3,
        lim.rtt_p99_ms * 1e3
    );
    println!(
        "ed25519 verify_strict                mean {:>8.1} µs",
        lim.verify_us
    );
    for t in single {
        println!(
            "single `dev` relay ingest ({} scenarios, {} clients × {} per POST): {:.0} contracts/s acknowledged, {:.0}/s anchored{}",
            t.scenarios,
            k.clients,
            k.batch,
            t.acked_rate(),
            t.anchored_rate(),
            if t.load.exhausted {
                " (pool exhausted)"
            } else {
                ""
            }
        );
    }

    println!(
        "\n== LATENCY: submit → final, 4-node devnet, one contract at a time ({} submissions) ==",
        lat.n
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>8}",
        "ms", "p50", "p90", "p99", "max"
    );
    for (name, v) in [
        ("submit → 201 (ingest ack)", &lat.ack),
        ("submit → final on node 0", &lat.node0),
        ("submit → final on all 4", &lat.all),
    ] {
        println!(
            "{name:<28} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            pct(v, 0.5),
            pct(v, 0.9),
            pct(v, 0.99),
            pct(v, 1.0)
        );
    }
    println!("blocks per submission: {:.2}", lat.blocks_per_record);

    println!(
        "\n== THROUGHPUT ({} s windows, {} clients × {} contracts per POST, canonical batches) ==",
        k.window.as_secs(),
        k.clients,
        k.batch
    );
    println!(
        "{:>9} {:>12} {:>12} {:>9} {:>9} {:>10} {:>10} {:>11} {:>10} {:>9}",
        "scenarios",
        "acked/s",
        "anchored/s",
        "blocks/s",
        "moved/blk",
        "max moved",
        "POST p50",
        "hdr+cert B",
        "body B/blk",
        "drain ms"
    );
    for t in runs {
        println!(
            "{:>9} {:>12.0} {:>12.0} {:>9.1} {:>9.1} {:>10.0} {:>10.1} {:>11.0} {:>10.0} {:>9.0}{}",
            t.scenarios,
            t.acked_rate(),
            t.anchored_rate(),
            t.blocks_rate(),
            mean(&t.moved),
            t.moved.iter().copied().fold(0.0, f64::max),
            t.load.post_p50_ms,
            mean(&t.hc_bytes),
            mean(&t.body_bytes),
            t.drain_ms,
            if t.load.exhausted {
                "  (pool exhausted)"
            } else {
                ""
            }
        );
    }

    println!("\n== CONSENSUS DURING THE WINDOWS (all 4 relays) ==");
    println!(
        "{:>9} {:>14} {:>16} {:>9} {:>14} | single relay: {:>14}",
        "scenarios",
        "ms per block",
        "blocks round>0",
        "refused",
        "blocks synced",
        "contracts/commit"
    );
    for (t, one) in runs.iter().zip(single) {
        println!(
            "{:>9} {:>14.1} {:>16} {:>9} {:>14} | {:>14.1} (devnet: {:.1})",
            t.scenarios,
            1e3 / t.blocks_rate(),
            t.late_rounds,
            t.refused,
            t.synced,
            one.group,
            t.group
        );
    }

    println!(
        "\n== CPU during the windows: µs of CPU per acknowledged contract, by thread (all relays) =="
    );
    let columns: Vec<(String, &Throughput)> = single
        .iter()
        .map(|t| (format!("dev {}", t.scenarios), t))
        .chain(runs.iter().map(|t| (format!("devnet {}", t.scenarios), t)))
        .collect();
    let mut names: Vec<String> = columns
        .iter()
        .flat_map(|(_, t)| {
            t.cpu
                .iter()
                .filter(|(_, v)| **v > 0.0)
                .map(|(n, _)| n.clone())
        })
        .collect();
    names.sort();
    names.dedup();
    print!("{:<22}", "thread");
    for (label, _) in &columns {
        print!(" {label:>12}");
    }
    println!();
    for name in &names {
        print!("{name:<22}");
        for (_, t) in &columns {
            let secs = t.cpu.get(name).copied().unwrap_or(0.0);
            print!(" {:>12.1}", secs * 1e6 / t.load.acked.max(1) as f64);
        }
        println!();
    }
    print!("{:<22}", "cores busy (+clients)");
    for (_, t) in &columns {
        let secs = t.cpu.get("total").copied().unwrap_or(0.0)
            + t.cpu.get("clients").copied().unwrap_or(0.0);
        print!(" {:>12.2}", secs / t.load.elapsed.as_secs_f64());
    }
    println!();

    println!("\n== SIZES: main-chain bytes per block vs scenarios moved ==");
    println!(
        "{:>9} {:>8} {:>10} {:>12} {:>12} {:>14}",
        "scenarios", "blocks", "moved/blk", "total B/blk", "B per moved", "checkpoint B"
    );
    for t in runs {
        let total: Vec<f64> = t
            .hc_bytes
            .iter()
            .zip(&t.body_bytes)
            .map(|(a, b)| a + b)
            .collect();
        let moved_total: f64 = t.moved.iter().sum();
        let body_total: f64 = t.body_bytes.iter().sum();
        println!(
            "SIZE {:>4} {:>8} {:>10.1} {:>12.0} {:>12.1} {:>14}",
            t.scenarios,
            t.blocks,
            mean(&t.moved),
            mean(&total),
            if moved_total > 0.0 {
                body_total / moved_total
            } else {
                f64::NAN
            },
            t.checkpoint_bytes
        );
    }

    // The protocol path of one record (see BENCHMARKS.md §4): 5 durable commits in sequence
    // (ingest on node 0; the proposer's WAL before its proposal; every node's WAL before its
    // prevote and before its precommit; node 0's block commit), 7 one-way messages (the POST, the
    // checkpoint gossip, proposal, prevote, precommit, the SSE event: ≈ 3.5 round trips; counted as
    // 3 RTT + ½ for the response-less hops), 9 signature checks (the checkpoint at the proposer,
    // the proposal and its checkpoint at each voter, a quorum of 3 prevotes and 3 precommits).
    let (kf, mr, vs) = (5.0, 3.5, 9.0);
    let floor = kf * lim.fsync_p50_ms + mr * lim.rtt_p50_ms + vs * lim.verify_us / 1e3;
    // The designed wait: a record waits for node 0's next scan (uniform in [0, delay]), and in
    // 3 heights of 4 for the proposer's scan too (it starts the height on its tick).
    let scan = CHECKPOINT_DELAY_MS / 2.0 * (1.0 + 0.75);
    println!("\n== RATIOS ==");
    println!(
        "physical floor of one record: {kf} × fsync + {mr} × RTT + {vs} × verify = {floor:.2} ms"
    );
    println!(
        "latency p50 final on node 0 / floor            = {:.1} ({:.1} ms / {:.2} ms)",
        pct(&lat.node0, 0.5) / floor,
        pct(&lat.node0, 0.5),
        floor
    );
    println!(
        "latency p50 / (floor + designed scan wait {scan:.1} ms) = {:.2}",
        pct(&lat.node0, 0.5) / (floor + scan)
    );
    println!(
        "latency p50 / goal 150 ms = {:.2}; p99 / goal 500 ms = {:.2}",
        pct(&lat.node0, 0.5) / 150.0,
        pct(&lat.node0, 0.99) / 500.0
    );
    println!(
        "ingest ack p50 / (fsync + RTT) = {:.1}",
        pct(&lat.ack, 0.5) / (lim.fsync_p50_ms + lim.rtt_p50_ms)
    );
    for (t, one) in runs.iter().zip(single) {
        println!(
            "{:>4} scenarios: acked / single relay's acked = {:.2}; anchored / single relay's anchored = {:.2}; acked / single relay's with 1 scenario = {:.2}",
            t.scenarios,
            t.acked_rate() / one.acked_rate(),
            t.anchored_rate() / one.anchored_rate(),
            t.acked_rate() / single[0].acked_rate()
        );
    }
}
