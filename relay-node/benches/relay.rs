//! trustchain-relay benchmarks: durable ingestion, next to the physical limits measured in the same
//! run — raw redb durable batched writes and ed25519 batch verification. The ratios are printed at
//! the end (`== RATIOS ==`). See BENCHMARKS.md.
//!
//! Run: `cargo bench -p trustchain-relay --bench relay` (add `-- --quick` while developing).
//!
//! Every database is a real redb file in a fresh temporary directory (`$TMPDIR`, here ext4 on a
//! virtio disk), and every commit is durable (redb's default `Durability::Immediate`: fsync before
//! `commit` returns). Contract signing and JSON encoding of request bodies happen outside the
//! timed sections (they are the clients' work, not the relay's).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use ed25519_dalek::SigningKey;
use redb::{Database, TableDefinition};
use trustchain_core::crypto::{self, PublicKey};
use trustchain_core::encoding::Encode;
use trustchain_core::encoding::value::{Fields, ScenarioId, Value, parse_decimal};
use trustchain_core::scenario::charter::{Charter, RecordKind, UnsignedCharter};
use trustchain_core::scenario::contract::{Body, Contract, UnsignedContract};
use trustchain_core::scenario::entry::Entry;
use trustchain_core::scenario::rules::{Lookup, RecordLookup, RuleOutcome, evaluate};
use trustchain_core::scenario::schema::{FieldSchema, FieldType};
use trustchain_relay::api::{AppState, router};
use trustchain_relay::demo;
use trustchain_relay::ingest;
use trustchain_relay::metrics::Metrics;
use trustchain_relay::node::chain::{Producer, SoloFinalizer, dev_chain_id};
use trustchain_relay::store::Store;

// ---------------------------------------------------------------------------------------------
// Sample recording (for the ratios): median per-iteration time of the measurement samples
// ---------------------------------------------------------------------------------------------

#[path = "../../core/benches/samples.rs"]
mod samples;
use samples::{SAMPLES, ns, rate, record};

// ---------------------------------------------------------------------------------------------
// Workload: a charter with fields and NO rules, contracts of about 350 encoded bytes
// ---------------------------------------------------------------------------------------------

const T0: u64 = 1_760_000_000_000;
/// Rows per committed transaction in the raw redb limit.
const RAW_ROWS: u64 = 1000;
/// Bytes per raw row.
const RAW_VALUE: usize = 300;
/// Contracts per batch verification in the verification limit.
const VERIFY_BATCH: usize = 1024;
/// Storage-layer ingestion: concurrent tasks and contracts per `submit`.
const TASKS: usize = 64;
const PER_SUBMIT: usize = 16;
/// HTTP ingestion: concurrent clients and contracts per POST.
const CLIENTS: usize = 16;
const PER_POST: usize = 64;
/// Contracts per iteration of both ingestion benches.
const ROUND: u64 = (TASKS * PER_SUBMIT) as u64;
const _: () = assert!(ROUND == (CLIENTS * PER_POST) as u64);

static NONCE: AtomicU64 = AtomicU64::new(1);

fn owner() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}
fn writers() -> Vec<SigningKey> {
    (0..8u8)
        .map(|i| SigningKey::from_bytes(&[40 + i; 32]))
        .collect()
}

fn charter(scenario: &str) -> Charter {
    let text = |max_len| FieldType::Text {
        max_len,
        one_of: vec![],
    };
    let field = |name: &str, ty, required| FieldSchema {
        name: name.into(),
        description: String::new(),
        ty,
        required,
    };
    UnsignedCharter {
        scenario: ScenarioId::new(scenario).expect("valid id"),
        title: "Benchmark budget".into(),
        white_paper: String::new(),
        owners: vec![PublicKey::of(&owner())],
        writers: writers().iter().map(PublicKey::of).collect(),
        kinds: vec![RecordKind {
            name: "expense".into(),
            description: "Money spent.".into(),
            digest_only: false,
            fields: vec![
                field(
                    "amount",
                    FieldType::Decimal {
                        min: None,
                        max: None,
                        max_scale: 2,
                        currency: None,
                    },
                    true,
                ),
                field("budget_line", text(16), true),
                field("payee", text(200), true),
                field("note", text(1000), false),
            ],
            rules: vec![],
        }],
        time_ms: T0,
    }
    .sign(&owner())
}

fn contract(scenario: &ScenarioId, author: &SigningKey, nonce: u64) -> Contract {
    let mut f = Fields::new();
    f.insert(
        "amount".into(),
        Value::Decimal(parse_decimal("1204.50").expect("decimal")),
    );
    f.insert(
        "budget_line".into(),
        Value::Text(format!("BL-{:02}", nonce % 40)),
    );
    f.insert(
        "payee".into(),
        Value::Text("Riverside Roofing & Carpentry Ltd.".into()),
    );
    f.insert(
        "note".into(),
        Value::Text(format!(
            "Instalment {nonce} for the roof repair, invoice 2025-0412, approved by the committee."
        )),
    );
    UnsignedContract {
        scenario: scenario.clone(),
        kind: "expense".into(),
        author: PublicKey::of(author),
        nonce,
        time_ms: T0 + nonce,
        body: Body::Fields(f),
        attachments: vec![],
    }
    .sign(author)
}

/// `batches` batches of `per` fresh signed contracts (unique nonces), signed on both cores.
fn signed_batches(scenario: &ScenarioId, batches: usize, per: usize) -> Vec<Vec<Contract>> {
    let ws = writers();
    let make = |count: usize| -> Vec<Vec<Contract>> {
        (0..count)
            .map(|_| {
                (0..per)
                    .map(|_| {
                        let n = NONCE.fetch_add(1, Ordering::Relaxed);
                        contract(scenario, &ws[(n % ws.len() as u64) as usize], n)
                    })
                    .collect()
            })
            .collect()
    };
    let half = batches / 2;
    std::thread::scope(|s| {
        let h = s.spawn(|| make(half));
        let mut rest = make(batches - half);
        let mut out = h.join().expect("signing thread");
        out.append(&mut rest);
        out
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

const RAW: TableDefinition<u64, &[u8]> = TableDefinition::new("raw");

/// Raw redb: RAW_ROWS inserts of RAW_VALUE bytes per durable (fsync) transaction.
fn redb_raw(c: &mut Criterion) {
    let dir = tempdir();
    let db = Database::create(dir.path().join("raw.redb")).expect("create db");
    let mut value = vec![0u8; RAW_VALUE];
    for (i, b) in value.iter_mut().enumerate() {
        *b = (i * 131 % 251) as u8;
    }
    let mut next = 0u64;
    let mut g = c.benchmark_group("limit_redb");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(RAW_ROWS));
    g.bench_function("durable_txn_1000_rows_300B", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let txn = db.begin_write().expect("begin");
                {
                    let mut t = txn.open_table(RAW).expect("table");
                    for _ in 0..RAW_ROWS {
                        value[..8].copy_from_slice(&next.to_be_bytes());
                        t.insert(next, value.as_slice()).expect("insert");
                        next += 1;
                    }
                }
                txn.commit().expect("durable commit");
            }
            record("limit/redb", iters, start.elapsed())
        })
    });
    g.finish();
    // The fsync alone: an empty-ish durable commit (one row).
    let mut g = c.benchmark_group("limit_redb");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(1));
    g.bench_function("durable_txn_1_row", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let txn = db.begin_write().expect("begin");
                {
                    let mut t = txn.open_table(RAW).expect("table");
                    t.insert(next, value.as_slice()).expect("insert");
                    next += 1;
                }
                txn.commit().expect("durable commit");
            }
            record("limit/redb_commit", iters, start.elapsed())
        })
    });
    g.finish();
}

/// ed25519 batch verification of contract signatures, on one thread and on both cores.
fn verify_limit(c: &mut Criterion) {
    let id = ScenarioId::new("bench/verify").expect("id");
    let items: Vec<_> = signed_batches(&id, 1, VERIFY_BATCH)
        .remove(0)
        .iter()
        .map(|c| c.signature_item())
        .collect();
    let mut g = c.benchmark_group("limit_ed25519");
    g.throughput(Throughput::Elements(VERIFY_BATCH as u64));
    g.bench_function("verify_batch_1024_1thread", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                crypto::verify_batch(black_box(&items)).expect("valid");
            }
            record("limit/verify1", iters, start.elapsed())
        })
    });
    g.bench_function("verify_batch_1024_2threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let (l, r) = items.split_at(VERIFY_BATCH / 2);
            for _ in 0..iters {
                std::thread::scope(|s| {
                    let h = s.spawn(|| crypto::verify_batch(black_box(l)).expect("valid"));
                    crypto::verify_batch(black_box(r)).expect("valid");
                    h.join().expect("verify thread");
                });
            }
            record("limit/verify2", iters, start.elapsed())
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Durable ingestion through the storage layer (ingest::start + Ingest::submit)
// ---------------------------------------------------------------------------------------------

fn ingest_storage(c: &mut Criterion) {
    let dir = tempdir();
    let rt = runtime();
    let store = Arc::new(Store::open(&dir.path().join("relay.redb")).expect("open store"));
    let metrics = Arc::new(Metrics::default());
    let (ing, writer) = ingest::start(store, metrics.clone()).expect("start writer");
    let id = ScenarioId::new("bench/ingest").expect("id");
    rt.block_on(ing.create(charter(id.as_str())))
        .expect("found scenario");

    let mut g = c.benchmark_group("ingest_storage");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(ROUND));
    g.bench_function("64_tasks_x_16_contracts", |b| {
        b.iter_custom(|iters| {
            let batches = signed_batches(&id, TASKS * iters as usize, PER_SUBMIT);
            let mut per_task: Vec<Vec<Vec<Contract>>> = (0..TASKS).map(|_| Vec::new()).collect();
            for (i, batch) in batches.into_iter().enumerate() {
                per_task[i % TASKS].push(batch);
            }
            let commits0 = metrics.commits.get();
            let start = Instant::now();
            rt.block_on(async {
                let tasks: Vec<_> = per_task
                    .into_iter()
                    .map(|batches| {
                        let ing = ing.clone();
                        let id = id.clone();
                        tokio::spawn(async move {
                            for batch in batches {
                                ing.submit(id.clone(), batch).await.expect("accepted");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
            });
            let d = start.elapsed();
            record_groups("ingest/storage", iters, metrics.commits.get() - commits0);
            record("ingest/storage", iters, d)
        })
    });
    g.finish();
    drop(ing);
    let _ = writer.join();
}

static GROUPS: Mutex<BTreeMap<&'static str, Vec<(u64, u64)>>> = Mutex::new(BTreeMap::new());

fn record_groups(id: &'static str, iters: u64, commits: u64) {
    GROUPS
        .lock()
        .expect("lock")
        .entry(id)
        .or_default()
        .push((iters * ROUND, commits));
}

/// Mean contracts per group commit over the measurement samples.
fn group_size(id: &str) -> Option<f64> {
    let g = GROUPS.lock().expect("lock");
    let s = g.get(id)?;
    let tail = &s[s.len().saturating_sub(SAMPLES)..];
    let (c, n) = tail.iter().fold((0, 0), |(a, b), (c, n)| (a + c, b + n));
    (n > 0).then(|| c as f64 / n as f64)
}

// ---------------------------------------------------------------------------------------------
// Durable ingestion through the real HTTP path (axum in-process, ureq clients)
// ---------------------------------------------------------------------------------------------

fn ingest_http(c: &mut Criterion) {
    let dir = tempdir();
    let rt = runtime();
    let store = Arc::new(Store::open(&dir.path().join("relay.redb")).expect("open store"));
    let metrics = Arc::new(Metrics::default());
    let node_key = SigningKey::from_bytes(&[7; 32]);
    let chain_id = dev_chain_id(&PublicKey::of(&node_key));
    let (producer, chain) = Producer::open(
        store.clone(),
        SoloFinalizer::new(node_key),
        chain_id,
        metrics.clone(),
    )
    .expect("open producer");
    let (ing, writer) = ingest::start(store.clone(), metrics.clone()).expect("start writer");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let block_interval = Duration::from_millis(500);
    let producer_thread = std::thread::Builder::new()
        .name("block-producer".into())
        .spawn(move || producer.run(block_interval, stop_rx))
        .expect("spawn producer");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = AppState {
        store,
        ingest: ing,
        chain,
        http: trustchain_relay::api::limits::HttpLimits::new(metrics.clone()),
        metrics: metrics.clone(),
        started: Instant::now(),
        block_interval,
        mode: "dev",
        p2p: None,
        misbehave: None,
        quotas: None,
        overlay: None,
    };
    let server = rt.spawn(async move {
        axum::serve(listener, router(state)).await.expect("serve");
    });

    let agent = || -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    };
    let id = ScenarioId::new("bench/http").expect("id");
    let base = format!("http://{addr}/v1/scenarios");
    let body = serde_json::to_vec(&charter(id.as_str())).expect("charter json");
    let mut res = agent()
        .post(&base)
        .content_type("application/json")
        .send(&body[..])
        .expect("create scenario");
    assert_eq!(
        res.status().as_u16(),
        201,
        "{}",
        res.body_mut().read_to_string().unwrap_or_default()
    );
    let url = format!("{base}/bench%2Fhttp/contracts");
    let agents: Vec<ureq::Agent> = (0..CLIENTS).map(|_| agent()).collect();

    let mut g = c.benchmark_group("ingest_http");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(ROUND));
    // The same load as JSON (what people and scripts send) and as canonical bytes (connectors).
    for (name, id_key, content_type) in [
        (
            "16_clients_x_64_contracts_per_post",
            "ingest/http",
            "application/json",
        ),
        (
            "16_clients_x_64_contracts_per_post_canonical",
            "ingest/http-canonical",
            trustchain_relay::api::CANONICAL_BATCH,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let batches = signed_batches(&id, CLIENTS * iters as usize, PER_POST);
                let mut per_client: Vec<Vec<Vec<u8>>> = (0..CLIENTS).map(|_| Vec::new()).collect();
                for (i, batch) in batches.iter().enumerate() {
                    per_client[i % CLIENTS].push(if content_type == "application/json" {
                        serde_json::to_vec(batch).expect("json")
                    } else {
                        trustchain_core::encoding::Encode::to_bytes(batch)
                    });
                }
                let commits0 = metrics.commits.get();
                let start = Instant::now();
                std::thread::scope(|s| {
                    for (bodies, agent) in per_client.iter().zip(&agents) {
                        let url = &url;
                        s.spawn(move || {
                            for body in bodies {
                                let mut res = agent
                                    .post(url)
                                    .content_type(content_type)
                                    .send(&body[..])
                                    .expect("POST");
                                let text = res.body_mut().read_to_string().expect("response body");
                                assert_eq!(res.status().as_u16(), 201, "{text}");
                            }
                        });
                    }
                });
                let d = start.elapsed();
                record_groups(id_key, iters, metrics.commits.get() - commits0);
                record(id_key, iters, d)
            })
        });
    }
    g.finish();
    let _ = stop_tx.send(true);
    let _ = producer_thread.join();
    server.abort();
    drop(rt);
    let _ = writer.join();
    eprintln!(
        "http bench: {} blocks produced while ingesting, head height {}",
        metrics.blocks.get(),
        metrics.head_height.get()
    );
}

// ---------------------------------------------------------------------------------------------
// RULES: charter rule evaluation (the real engine in core/src/scenario/rules). Lives in the relay bench
// because `rules::compile` needs trustchain-core's `compiler` feature, which this crate enables.
// ---------------------------------------------------------------------------------------------

/// A lookup that finds every referenced record (as the relay's index does for valid payments).
struct FoundLookup;
impl RecordLookup for FoundLookup {
    fn record_exists(&self, _: &str, _: &str, _: &Value) -> Lookup {
        Lookup::Found
    }
}

fn rules_bench(c: &mut Criterion) {
    let treasurer = SigningKey::from_bytes(&[2; 32]);
    let with_rules = demo::charter(&owner(), &PublicKey::of(&treasurer), T0);
    let mut without_rules = with_rules.clone();
    for k in &mut without_rules.content.kinds {
        k.rules.clear();
    }
    let payment = demo::DemoGen::new(treasurer, 0x5eed).payment(1, T0);
    let Body::Fields(fields) = &payment.content.body else {
        panic!("a payment carries fields")
    };
    let rules = with_rules
        .kind("payment")
        .expect("payment kind")
        .rules
        .clone();
    for r in &rules {
        assert_eq!(
            evaluate(r, fields, &FoundLookup),
            Ok(RuleOutcome::Pass),
            "rule {}",
            r.name
        );
    }
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(rules.len() as u64));
    g.bench_function("evaluate_4_payment_rules", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for r in &rules {
                    black_box(evaluate(black_box(r), black_box(fields), &FoundLookup))
                        .expect("pass");
                }
            }
            record("rules/evaluate4", iters, start.elapsed())
        })
    });
    g.throughput(Throughput::Elements(1));
    for (ch, id, name) in [
        (
            &with_rules,
            "rules/admit_with",
            "admit_payment_schema_and_4_rules",
        ),
        (
            &without_rules,
            "rules/admit_without",
            "admit_payment_schema_only",
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(black_box(ch).admit(black_box(&payment.content), &FoundLookup))
                        .expect("admitted");
                }
                record(id, iters, start.elapsed())
            })
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

fn k(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{:.1}k", v / 1e3))
}

fn report() {
    let redb = rate("limit/redb", RAW_ROWS);
    let fsync = ns("limit/redb_commit");
    let v1 = rate("limit/verify1", VERIFY_BATCH as u64);
    let v2 = rate("limit/verify2", VERIFY_BATCH as u64);
    let lower = match (redb, v1) {
        (Some(a), Some(b)) => Some(a.min(b)),
        _ => None,
    };
    // One thread doing both, one after the other (what a single writer thread can reach).
    let serial = match (redb, v1) {
        (Some(a), Some(b)) => Some(1.0 / (1.0 / a + 1.0 / b)),
        _ => None,
    };
    let st = rate("ingest/storage", ROUND);
    let http = rate("ingest/http", ROUND);
    let http_canonical = rate("ingest/http-canonical", ROUND);
    println!("\n== RATIOS (median of the measurement samples, same run) ==");
    println!(
        "limit: redb durable txn of {RAW_ROWS} x {RAW_VALUE} B rows = {} rows/s; a 1-row durable commit takes {}",
        k(redb),
        fsync.map_or("n/a".into(), |t| format!("{:.2} ms", t / 1e6))
    );
    println!(
        "limit: ed25519 batch verification (crypto::verify_batch, {VERIFY_BATCH}) = {}/s on 1 thread, {}/s on 2 threads",
        k(v1),
        k(v2)
    );
    println!(
        "lower limit = min(redb, verify 1 thread) = {}/s; both in series on one thread = {}/s",
        k(lower),
        k(serial)
    );
    for (name, v, id) in [
        (
            "storage layer (ingest::start + 64 tasks x Ingest::submit of 16)",
            st,
            "ingest/storage",
        ),
        (
            "HTTP (axum in-process, 16 ureq clients x POST of 64)",
            http,
            "ingest/http",
        ),
        (
            "HTTP, canonical batches (same load, application/vnd.trustchain.contracts)",
            http_canonical,
            "ingest/http-canonical",
        ),
    ] {
        let r = match (v, lower) {
            (Some(v), Some(l)) => Some(v / l),
            _ => None,
        };
        println!(
            "durable ingestion via {name} = {} contracts/s; /lower limit = {} (goal >= 0.7) {}; /serial limit = {}; mean group commit = {} contracts",
            k(v),
            r.map_or("n/a".into(), |r| format!("{r:.2}")),
            match r {
                Some(r) if r >= 0.7 => "MET",
                Some(_) => "MISSED",
                None => "",
            },
            match (v, serial) {
                (Some(v), Some(s)) => format!("{:.2}", v / s),
                _ => "n/a".into(),
            },
            group_size(id).map_or("n/a".into(), |g| format!("{g:.0}"))
        );
    }
    // RULES
    let e4 = ns("rules/evaluate4");
    let with = ns("rules/admit_with");
    let without = ns("rules/admit_without");
    let sig = v1.map(|r| 1e9 / r);
    let us = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{:.2} µs", v / 1e3));
    println!(
        "RULES: evaluate() of the demo payment's 4 rules = {} ({} per rule); Charter::admit with rules = {}, schema only = {}; the rules cost {} per contract = {} of one batch-verified signature ({} per contract, the limit every contract pays)",
        us(e4),
        us(e4.map(|v| v / 4.0)),
        us(with),
        us(without),
        us(with.zip(without).map(|(a, b)| a - b)),
        match (with.zip(without), sig) {
            (Some((a, b)), Some(s)) => format!("{:.0}%", 100.0 * (a - b) / s),
            _ => "n/a".into(),
        },
        us(sig)
    );
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let sample = contract(&ScenarioId::new("bench/ingest").expect("id"), &owner(), 0);
    println!(
        "SIZE contract entry={} bytes (canonical), json={} bytes",
        Entry::Contract(sample.clone()).to_bytes().len(),
        serde_json::to_vec(&sample).expect("json").len()
    );
    redb_raw(&mut c);
    verify_limit(&mut c);
    ingest_storage(&mut c);
    ingest_http(&mut c);
    rules_bench(&mut c);
    c.final_summary();
    report();
}
