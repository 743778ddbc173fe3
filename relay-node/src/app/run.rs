//! Starting a relay: the rooms wired together. [`run_dev`] is the single-node dev relay (storage,
//! the ingest writer, the dev block producer, the demo scenario, the HTTP server);
//! [`run_network`] is one relay of a network (the node machine on its thread, libp2p, replication,
//! PoSR probes, the HTTP server).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;
use trustchain_core::crypto::PublicKey;
use trustchain_core::encoding::value::ScenarioId;

use crate::api::{AppState, router_with_web};
use crate::demo::{self, DemoGen};
use crate::ingest::{self, Ingest};
use crate::metrics::Metrics;
use crate::node::chain::{Producer, SoloFinalizer, dev_chain_id};
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
    pub misbehave: Option<crate::node::misbehave::Misbehave>,
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
    let node_key = crate::app::keys::load_or_create(&cfg.data_dir.join("node.key"))?;
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
    let p2p = crate::net::start(
        crate::net::P2pConfig {
            ip: cfg.listen.ip(),
            webrtc_port: cfg.webrtc_port,
            ws_port: cfg.ws_port,
            misbehave: cfg.misbehave,
        },
        &node_key,
        &cfg.data_dir,
        store.clone(),
        chain.clone(),
        None,
    )
    .await
    .context("starting the libp2p browser transports (see --webrtc-port, --ws-port)")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let interval = cfg.block_interval;
    let producer_thread = std::thread::Builder::new()
        .name("block-producer".into())
        .spawn(move || producer.run(interval, stop_rx))?;

    let listener = bind_http(cfg.listen).await?;
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

    let demo_task = start_demo(
        cfg.demo,
        &cfg.data_dir,
        &store,
        &ingest,
        cfg.demo_records,
        cfg.demo_every,
    )
    .await?;

    let state = AppState {
        store: store.clone(),
        ingest,
        chain,
        http: crate::api::limits::HttpLimits::new(metrics.clone()),
        metrics,
        started: Instant::now(),
        block_interval: cfg.block_interval,
        mode: "dev",
        quotas: None,
        overlay: None,
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
    serve(listener, state, cfg.web_dir.as_deref(), shutdown, demo_task).await?;
    let _ = stop_tx.send(true);
    let _ = producer_thread.join();
    drop(writer);
    Ok(())
}

/// Binds the HTTP listener, with an error that says what to check.
async fn bind_http(listen: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (is another relay running?)"))
}

/// Serves the API (and web files) until `shutdown`, then stops the demo task.
async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    web_dir: Option<&std::path::Path>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    demo_task: Option<tokio::task::JoinHandle<()>>,
) -> anyhow::Result<()> {
    let listener = crate::api::limits::LimitedListener::new(listener, state.http.clone());
    axum::serve(listener, router_with_web(state, web_dir))
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("shutting down");
    if let Some(t) = demo_task {
        t.abort();
    }
    Ok(())
}

/// If `enabled`: seeds the demo scenario on first start and, unless `every` is zero, adds a
/// payment every `every`; returns the task adding them.
async fn start_demo(
    enabled: bool,
    data_dir: &std::path::Path,
    store: &Store,
    ingest: &Ingest,
    records: usize,
    every: Duration,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if !enabled {
        return Ok(None);
    }
    let owner = crate::app::keys::load_or_create(&data_dir.join("demo-owner.key"))?;
    let treasurer = crate::app::keys::load_or_create(&data_dir.join("demo-treasurer.key"))?;
    seed_demo(store, ingest, &owner, &treasurer, records).await?;
    if every.is_zero() {
        return Ok(None);
    }
    let ingest = ingest.clone();
    Ok(Some(tokio::spawn(async move {
        let mut g = DemoGen::new(treasurer, crate::node::Now::real().wall_ms);
        let id = ScenarioId::new(demo::SCENARIO).expect("valid id");
        loop {
            tokio::time::sleep(every).await;
            let now = crate::node::Now::real().wall_ms;
            // Nonces from the clock in microseconds: unique across restarts.
            let c = g.payment(now * 1000, now);
            if let Err(e) = ingest.submit(id.clone(), vec![c]).await {
                tracing::warn!(error = %e, "demo payment refused");
            }
        }
    })))
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
    let t0 = crate::node::Now::real().wall_ms;
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
    pub genesis: crate::node::genesis::Genesis,
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
    /// Testing only: lie to the other validators (`run --misbehave-chain`, never from a file).
    pub misbehave: Option<crate::node::misbehave::ChainMisbehave>,
}

/// Runs one relay of a network until `shutdown` resolves.
pub async fn run_network(
    cfg: NetworkConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use crate::consensus::EpochSet;
    use crate::node::{self, Input, Machine, MachineConfig, Now};

    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    let node_key = crate::app::keys::load_or_create(&cfg.key_file)?;
    let me = PublicKey::of(&node_key);
    let db_path = cfg.data_dir.join("relay.redb");
    let store = Arc::new(
        Store::open(&db_path).with_context(|| format!("cannot open {}", db_path.display()))?,
    );
    let metrics = Arc::new(Metrics::default());
    let genesis = &cfg.genesis;
    let (snap, registry, fresh) = crate::node::chain::open_chain(&store, genesis)?;
    metrics.head_height.set(snap.head.header.height);
    let validator = snap.next_validators.index_of(&me).is_some();
    let (snapshot_tx, chain) = watch::channel(Arc::new(snap));
    if let Some(n) = genesis.node(&me)
        && n.region != cfg.region
    {
        tracing::warn!(
            config = %cfg.region,
            genesis = %n.region,
            "the configured region differs from this node's region in the genesis file; placement and hubs use the genesis one"
        );
    }
    let registry_nodes = registry.nodes();
    let places = registry.places().clone();
    let window_ms = registry.window_ms();
    // The leader seed: the latest beacon value (the genesis hash before the first one).
    let epoch = EpochSet::new(chain.borrow().next_validators.clone(), registry.seed())
        .map_err(|e| anyhow::anyhow!("genesis validator set: {e}"))?;
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel();
    let (overlay_tx, overlay) = watch::channel(Arc::new(crate::node::overlay::Overlay::default()));
    let now = Now::real();
    let mut drv = Machine::new(
        store.clone(),
        node_key.clone(),
        epoch,
        snapshot_tx,
        metrics.clone(),
        MachineConfig {
            timeouts: cfg.timeouts,
            idle_block: cfg.idle_block,
            checkpoint_delay: cfg.checkpoint_delay,
            retransmit: Duration::from_millis(200),
            sync_grace: Duration::from_secs(5),
            misbehave: cfg.misbehave,
        },
        fresh,
        registry,
        overlay_tx,
        now,
    )?;
    drv.publish_weights();
    drv.recover(now)?;
    let (driver_tx, driver_thread) = node::spawn(drv, out_tx)?;
    // New records wake the driver, so they are checkpointed without waiting for its next scan.
    let wake = driver_tx.clone();
    let (ingest, writer) = ingest::start_with_hook(
        store.clone(),
        metrics.clone(),
        Some(Box::new(move || {
            let _ = wake.try_send(Input::Moved);
        })),
    )?;
    let p2p = crate::net::start(
        crate::net::P2pConfig {
            ip: cfg.browser_ip,
            webrtc_port: cfg.webrtc_port,
            ws_port: cfg.ws_port,
            misbehave: None,
        },
        &node_key,
        &cfg.data_dir,
        store.clone(),
        chain.clone(),
        Some(crate::net::RelayNet {
            listen: cfg.p2p_listen.clone(),
            bootstrap: cfg.bootstrap.clone(),
            topic: crate::net::topic(&genesis.chain_id),
            driver: driver_tx.clone(),
            out: out_rx,
            metrics: metrics.clone(),
            nodes: registry_nodes,
            window_ms,
            replica: crate::net::replica::ReplicaSide {
                store: store.clone(),
                ingest: ingest.clone(),
                key: node_key.clone(),
                places,
                metrics: metrics.clone(),
            },
            overlay: overlay.clone(),
        }),
    )
    .await
    .context("starting libp2p (see [p2p] in the config)")?;
    let listener = bind_http(cfg.http_listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(
        chain_id = %genesis.chain_id,
        height = chain.borrow().head.header.height,
        validator,
        peer_id = %p2p.peer_id,
        data_dir = %cfg.data_dir.display(),
        "relay ready"
    );
    let demo_task = start_demo(
        cfg.demo,
        &cfg.data_dir,
        &store,
        &ingest,
        cfg.demo_records,
        cfg.demo_every,
    )
    .await?;
    println!(
        "Trustchain relay of {} listening on http://{addr} ({})",
        genesis.chain_id,
        if validator { "validator" } else { "follower" }
    );
    println!("  peer id: {}", p2p.peer_id);
    for a in p2p.addresses() {
        println!("  browser: {a}");
    }
    let state = AppState {
        store: store.clone(),
        ingest,
        chain,
        http: crate::api::limits::HttpLimits::new(metrics.clone()),
        metrics,
        started: Instant::now(),
        block_interval: cfg.checkpoint_delay,
        mode: "network",
        p2p: Some(p2p),
        misbehave: None,
        quotas: Some(Arc::new(crate::api::quota::Quotas::new(genesis, &me))),
        overlay: Some((me, overlay)),
    };
    serve(listener, state, cfg.web_dir.as_deref(), shutdown, demo_task).await?;
    let _ = driver_tx.send(Input::Stop);
    let _ = driver_thread.join();
    drop(writer);
    Ok(())
}
