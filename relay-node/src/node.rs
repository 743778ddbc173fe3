//! Wiring of the dev single-node network: storage, the ingest writer, block production, the demo
//! scenario and the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;
use trustchain_core::crypto::PublicKey;
use trustchain_core::value::ScenarioId;

use crate::api::{AppState, router_with_web};
use crate::demo::{self, DemoGen};
use crate::ingest::{self, Ingest};
use crate::metrics::Metrics;
use crate::producer::{Producer, SoloFinalizer, dev_chain_id};
use crate::store::Store;

/// Settings of `trustchain-relay dev`.
#[derive(Clone, Debug)]
pub struct DevConfig {
    /// Where the database and keys live.
    pub data_dir: PathBuf,
    /// Address to serve HTTP on.
    pub listen: SocketAddr,
    /// How often to produce a block when scenarios moved.
    pub block_interval: Duration,
    /// Whether to seed and drive the demo scenario.
    pub demo: bool,
    /// Payments to seed on first start.
    pub demo_records: usize,
    /// How often the demo adds a payment (zero: never).
    pub demo_every: Duration,
    /// Static files served behind the API (the demo page and the widget), if any.
    pub web_dir: Option<PathBuf>,
    /// UDP port for WebRTC-direct (0: any free port).
    pub webrtc_port: u16,
    /// TCP port for libp2p WebSocket (0: any free port).
    pub ws_port: u16,
    /// Lie in every record proof served, to test verifiers (never in production).
    pub misbehave: Option<crate::misbehave::Misbehave>,
}

/// The web directory served when `--web-dir` is not given: `wasm-pkg/site` of the current
/// directory, else of the source tree this binary was built from — if it exists.
pub fn default_web_dir() -> Option<PathBuf> {
    let built_from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm-pkg/site");
    [PathBuf::from("wasm-pkg/site"), built_from]
        .into_iter()
        .find(|d| d.is_dir())
        .and_then(|d| d.canonicalize().ok())
}

/// The default data directory: `$XDG_DATA_HOME/trustchain/dev` or `~/.local/share/trustchain/dev`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("trustchain").join("dev");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".local/share/trustchain/dev");
    }
    PathBuf::from("trustchain-data")
}

/// Runs the dev relay until `shutdown` resolves.
pub async fn run_dev(
    cfg: DevConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    let node_key = crate::keys::load_or_create(&cfg.data_dir.join("node.key"))?;
    let db_path = cfg.data_dir.join("relay.redb");
    let store = Arc::new(
        Store::open(&db_path).with_context(|| format!("cannot open {}", db_path.display()))?,
    );
    let metrics = Arc::new(Metrics::default());
    let chain_id = dev_chain_id(&PublicKey::of(&node_key));
    let (producer, chain) = Producer::open(
        store.clone(),
        SoloFinalizer::new(node_key.clone()),
        chain_id,
        metrics.clone(),
    )?;
    let (ingest, writer) = ingest::start(store.clone(), metrics.clone())?;
    let p2p = crate::p2p::start(
        crate::p2p::P2pConfig {
            ip: cfg.listen.ip(),
            webrtc_port: cfg.webrtc_port,
            ws_port: cfg.ws_port,
            misbehave: cfg.misbehave,
        },
        &node_key,
        &cfg.data_dir,
        store.clone(),
        chain.clone(),
    )
    .await
    .context("starting the libp2p browser transports (see --webrtc-port, --ws-port)")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let interval = cfg.block_interval;
    let producer_thread = std::thread::Builder::new()
        .name("block-producer".into())
        .spawn(move || producer.run(interval, stop_rx))?;

    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another relay running?)",
                cfg.listen
            )
        })?;
    let addr = listener.local_addr()?;
    {
        let snap = chain.borrow();
        tracing::info!(
            chain_id = snap.chain_id(),
            height = snap.head.header.height,
            data_dir = %cfg.data_dir.display(),
            "relay ready"
        );
    }

    let mut demo_task = None;
    if cfg.demo {
        let owner = crate::keys::load_or_create(&cfg.data_dir.join("demo-owner.key"))?;
        let treasurer = crate::keys::load_or_create(&cfg.data_dir.join("demo-treasurer.key"))?;
        seed_demo(&store, &ingest, &owner, &treasurer, cfg.demo_records).await?;
        if !cfg.demo_every.is_zero() {
            let ingest = ingest.clone();
            let every = cfg.demo_every;
            demo_task = Some(tokio::spawn(async move {
                let mut g = DemoGen::new(treasurer, demo::now_ms());
                let id = ScenarioId::new(demo::SCENARIO).expect("valid id");
                loop {
                    tokio::time::sleep(every).await;
                    let now = demo::now_ms();
                    // Nonces from the clock in microseconds: unique across restarts.
                    let c = g.payment(now * 1000, now);
                    if let Err(e) = ingest.submit(id.clone(), vec![c]).await {
                        tracing::warn!(error = %e, "demo payment refused");
                    }
                }
            }));
        }
    }

    let state = AppState {
        store: store.clone(),
        ingest,
        chain,
        metrics,
        started: Instant::now(),
        block_interval: cfg.block_interval,
        p2p: Some(p2p.clone()),
        misbehave: cfg.misbehave,
    };
    if let Some(m) = cfg.misbehave {
        eprintln!(
            "WARNING: --misbehave {m:?}: this relay deliberately serves false proofs (for testing verifiers)"
        );
    }
    println!("Trustchain dev relay listening on http://{addr}");
    println!("  status:  curl http://{addr}/v1/status");
    println!("  records: curl http://{addr}/v1/scenarios/demo%2Fbudget/records/1");
    for a in p2p.addresses() {
        println!("  browser: {a}");
    }
    match &cfg.web_dir {
        Some(dir) if dir.is_dir() => {
            println!(
                "  demo:    http://{addr}/demo/   (web files from {})",
                dir.display()
            );
            if !dir.join("widget/trust-verify.js").is_file() {
                println!("           the widget is not built yet: run wasm-pkg/build.sh");
            }
        }
        Some(dir) => {
            tracing::warn!(dir = %dir.display(), "web directory not found; serving the API only")
        }
        None => {}
    }
    axum::serve(listener, router_with_web(state, cfg.web_dir.as_deref()))
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("shutting down");
    if let Some(t) = demo_task {
        t.abort();
    }
    let _ = stop_tx.send(true);
    let _ = producer_thread.join();
    drop(writer);
    Ok(())
}

async fn seed_demo(
    store: &Store,
    ingest: &Ingest,
    owner: &ed25519_dalek::SigningKey,
    treasurer: &ed25519_dalek::SigningKey,
    records: usize,
) -> anyhow::Result<()> {
    let id = ScenarioId::new(demo::SCENARIO).expect("valid id");
    if store.read()?.size(&id)?.is_some() {
        return Ok(());
    }
    let t0 = demo::now_ms();
    let bar = ProgressBar::new((records + 15) as u64).with_style(
        ProgressStyle::with_template("seeding demo/budget {bar:30} {pos}/{len} records")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    ingest
        .create(demo::charter(owner, &PublicKey::of(treasurer), t0))
        .await
        .context("seeding the demo charter")?;
    bar.inc(1);
    let mut g = DemoGen::new(treasurer.clone(), 0x5eed);
    let lines = g.budget_lines(1, t0);
    bar.inc(lines.len() as u64);
    ingest
        .submit(id.clone(), lines)
        .await
        .context("seeding budget lines")?;
    let mut nonce = 100;
    let mut done = 0;
    while done < records {
        let n = (records - done).min(25);
        let batch: Vec<_> = (0..n)
            .map(|i| {
                nonce += 1;
                // Spread the seeded payments over the last 30 days.
                let t =
                    t0 - 30 * 86_400_000 + ((done + i) as u64 * 30 * 86_400_000 / records as u64);
                g.payment(nonce, t)
            })
            .collect();
        ingest
            .submit(id.clone(), batch)
            .await
            .context("seeding payments")?;
        done += n;
        bar.inc(n as u64);
    }
    for (i, text) in [
        "Committee meeting 1: budget approved, 9 votes for, 0 against.",
        "Committee meeting 2: roof contractor chosen after three bids.",
    ]
    .iter()
    .enumerate()
    {
        ingest
            .submit(id.clone(), vec![g.minutes(90 + i as u64, t0, text)])
            .await
            .context("seeding minutes")?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    tracing::info!(records = records + 15, "seeded demo/budget");
    Ok(())
}

/// Settings of `trustchain-relay run`: one relay of a multi-node network (docs/network.md).
/// Built from `relay.toml`, the environment and flags by `config.rs`.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Where the database and keys live.
    pub data_dir: PathBuf,
    /// The node's key file (created if missing; `data_dir/node.key` by default).
    pub key_file: PathBuf,
    /// The network's genesis, loaded and verified.
    pub genesis: crate::genesis::Genesis,
    /// This node's region (P2PT, docs/network.md).
    pub region: String,
    /// Address to serve HTTP on.
    pub http_listen: SocketAddr,
    /// libp2p addresses to listen on for other relays (TCP, noise, yamux).
    pub p2p_listen: Vec<libp2p::Multiaddr>,
    /// Relays to dial at start and whenever disconnected (with `/p2p/<peer id>`).
    pub bootstrap: Vec<libp2p::Multiaddr>,
    /// IP the browser transports bind.
    pub browser_ip: std::net::IpAddr,
    /// UDP port for WebRTC-direct (0: any free port).
    pub webrtc_port: u16,
    /// TCP port for libp2p WebSocket (0: any free port).
    pub ws_port: u16,
    /// Consensus timeouts.
    pub timeouts: crate::consensus::TimeoutConfig,
    /// Longest time between blocks when nothing moved (an empty block then proves liveness).
    pub idle_block: Duration,
    /// How long new records are batched before this relay signs its scenarios' checkpoints.
    pub checkpoint_delay: Duration,
    /// Whether to seed and drive the demo scenario on this relay.
    pub demo: bool,
    /// Payments to seed on first start.
    pub demo_records: usize,
    /// How often the demo adds a payment (zero: never).
    pub demo_every: Duration,
    /// Static files served behind the API, if any.
    pub web_dir: Option<PathBuf>,
}

/// Runs one relay of a network until `shutdown` resolves.
pub async fn run_network(
    cfg: NetworkConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _ = (cfg, shutdown);
    anyhow::bail!("not wired yet")
}
