//! `trustchain-relay devnet`: a local multi-node network in one directory.
//!
//! ```text
//! <dir>/
//!   genesis.json           the network's genesis (written last: its presence marks a complete devnet)
//!   node-0/
//!     relay.toml           the relay's config (kept across restarts; edit freely)
//!     node.key             the node key (validator key and libp2p identity)
//!     operator.key         the node's operator key (PoSR registrations)
//!     relay.log            stdout and stderr of the relay, appended on every start
//!     relay.redb, ...      the relay's data (data_dir = ".")
//!   node-1/ ...
//! ```
//!
//! Node `i` of a devnet with base port `P` serves HTTP on `127.0.0.1:P+i`, talks to other relays
//! on `/ip4/127.0.0.1/tcp/P+100+i`, and to browsers on WebSocket `P+200+i` and WebRTC-direct
//! `P+300+i`. Every node bootstraps from all the others. The first run creates the directory;
//! later runs reuse it as is, so a devnet's chain survives restarts.

use std::fs::OpenOptions;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use ed25519_dalek::SigningKey;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use trustchain_core::crypto::PublicKey;

use crate::app::config::{Overrides, RelayConfig};
use crate::node::genesis::Genesis;

pub use crate::node::genesis::DEVNET_WINDOW_MS;

/// Nodes of a new devnet unless told otherwise.
pub const DEFAULT_NODES: usize = 4;
/// Most nodes of a devnet (ports of one kind are 100 apart).
pub const MAX_NODES: usize = 100;
/// First port of a new devnet unless told otherwise.
pub const DEFAULT_BASE_PORT: u16 = 7000;
/// How long stopping nodes get after SIGTERM before they are killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// The default devnet directory: `$XDG_DATA_HOME/trustchain/devnet`, else
/// `~/.local/share/trustchain/devnet`, else `./devnet` (next to `dev`'s data directory).
pub fn default_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("trustchain").join("devnet");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".local/share/trustchain/devnet");
    }
    PathBuf::from("devnet")
}

/// The libp2p peer id of a node key (its ed25519 identity, as `p2p.rs` derives it).
pub fn peer_id(key: &SigningKey) -> anyhow::Result<PeerId> {
    Ok(
        libp2p::identity::Keypair::ed25519_from_bytes(key.to_bytes())
            .context("deriving the libp2p identity")?
            .public()
            .to_peer_id(),
    )
}

/// The ports of node `index` of a devnet starting at `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodePorts {
    /// HTTP API: `base + index`.
    pub http: u16,
    /// Relay-to-relay libp2p TCP: `base + 100 + index`.
    pub p2p: u16,
    /// Browser WebSocket: `base + 200 + index`.
    pub ws: u16,
    /// Browser WebRTC-direct (UDP): `base + 300 + index`.
    pub webrtc: u16,
}

impl NodePorts {
    /// The ports of node `index`; `None` if they run past 65535.
    pub fn of(base: u16, index: usize) -> Option<NodePorts> {
        let p = |off: usize| u16::try_from(base as usize + off + index).ok();
        Some(NodePorts {
            http: p(0)?,
            p2p: p(100)?,
            ws: p(200)?,
            webrtc: p(300)?,
        })
    }
}

/// A devnet's write quota per pledged unit: high, so local load tests are not throttled.
pub const DEVNET_WRITES_PER_UNIT: u64 = 100_000;

/// How to make (or find) a devnet.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
    /// The devnet directory.
    pub dir: PathBuf,
    /// Number of nodes: for a new devnet (default [`DEFAULT_NODES`]); for an existing one, it
    /// must match.
    pub nodes: Option<usize>,
    /// First port of a new devnet.
    pub base_port: u16,
    /// Whether node 0 of a new devnet drives the demo scenario.
    pub demo: bool,
    /// Wipe the directory first (only if it looks like a devnet).
    pub fresh: bool,
    /// Contracts per second per pledged capacity unit: for a new devnet's genesis (default
    /// [`DEVNET_WRITES_PER_UNIT`]); for an existing one, it must match.
    pub writes_per_unit: Option<u64>,
}

/// One node of a devnet.
#[derive(Clone, Debug)]
pub struct DevnetNode {
    /// Its position, 0-based.
    pub index: usize,
    /// Its directory (its data directory too).
    pub dir: PathBuf,
    /// Its `relay.toml`.
    pub config: PathBuf,
    /// Where its output goes.
    pub log: PathBuf,
    /// Its node key.
    pub key: PublicKey,
    /// Its libp2p identity.
    pub peer_id: PeerId,
    /// Its HTTP API.
    pub http: SocketAddr,
    /// The address other relays dial, with `/p2p/<peer id>`.
    pub p2p: Multiaddr,
}

impl DevnetNode {
    /// `node-<index>`.
    pub fn name(&self) -> String {
        format!("node-{}", self.index)
    }
}

/// A devnet on disk.
#[derive(Clone, Debug)]
pub struct Devnet {
    /// Its directory (absolute).
    pub dir: PathBuf,
    /// Its genesis.
    pub genesis: Genesis,
    /// Its nodes, by index.
    pub nodes: Vec<DevnetNode>,
    /// Whether this call created it (false: an existing devnet was reused).
    pub created: bool,
}

/// Creates the devnet in `opts.dir`, or finds the one there.
pub fn init(opts: &DevnetOptions) -> anyhow::Result<Devnet> {
    let dir = &opts.dir;
    if opts.fresh && dir.exists() {
        ensure!(
            looks_like_devnet(dir)?,
            "refusing to wipe {}: it is not empty and does not look like a devnet directory \
             (no genesis.json or node-0/)",
            dir.display()
        );
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot wipe {}", dir.display()))?;
    }
    if dir.join("genesis.json").exists() {
        let net = open(dir, opts.nodes)?;
        if let Some(want) = opts.writes_per_unit {
            ensure!(
                want == net.genesis.writes_per_unit,
                "{} holds a devnet with {} writes per unit, not {want}: run without \
                 --writes-per-unit to start it, or add --fresh to make a new one",
                dir.display(),
                net.genesis.writes_per_unit
            );
        }
        return Ok(net);
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} is not empty but has no genesis.json (an interrupted `devnet` run?); \
             pass --fresh to start over, or another --dir",
            dir.display()
        );
    }
    create(opts)
}

fn looks_like_devnet(dir: &Path) -> anyhow::Result<bool> {
    Ok(dir.join("genesis.json").is_file()
        || dir.join("node-0").is_dir()
        || std::fs::read_dir(dir)?.next().is_none())
}

fn create(opts: &DevnetOptions) -> anyhow::Result<Devnet> {
    let n = opts.nodes.unwrap_or(DEFAULT_NODES);
    ensure!(
        (1..=MAX_NODES).contains(&n),
        "a devnet has 1 to {MAX_NODES} nodes, not {n}"
    );
    ensure!(
        NodePorts::of(opts.base_port, n - 1).is_some(),
        "--base-port {} is too high for {n} nodes (they use ports up to base + {})",
        opts.base_port,
        300 + n - 1
    );
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("cannot create {}", opts.dir.display()))?;
    let dir = opts
        .dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", opts.dir.display()))?;

    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let nd = dir.join(format!("node-{i}"));
        std::fs::create_dir_all(&nd).with_context(|| format!("cannot create {}", nd.display()))?;
        let key = crate::app::keys::load_or_create(&nd.join("node.key"))?;
        let operator = crate::app::keys::load_or_create(&nd.join("operator.key"))?;
        keys.push((nd, key, operator));
    }
    let mut nodes = Vec::with_capacity(n);
    for (i, (nd, key, _)) in keys.iter().enumerate() {
        let ports = NodePorts::of(opts.base_port, i).expect("checked above");
        let peer = peer_id(key)?;
        nodes.push(DevnetNode {
            index: i,
            dir: nd.clone(),
            config: nd.join("relay.toml"),
            log: nd.join("relay.log"),
            key: PublicKey::of(key),
            peer_id: peer,
            http: SocketAddr::from(([127, 0, 0, 1], ports.http)),
            p2p: tcp_addr(ports.p2p).with(Protocol::P2p(peer)),
        });
    }

    let mut suffix = [0u8; 4];
    getrandom::fill(&mut suffix).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
    let chain_id = format!(
        "trustchain-devnet-{}",
        trustchain_core::encoding::hex::encode(&suffix)
    );
    let members: Vec<_> = keys
        .iter()
        .map(|(_, k, op)| (k.clone(), PublicKey::of(op), "default".to_string()))
        .collect();
    let genesis = Genesis::create(&chain_id, crate::node::Now::real().wall_ms, &members)?
        .with_posr(
            DEVNET_WINDOW_MS,
            trustchain_core::chain::posr::PosrParams::devnet(),
        )?
        .with_writes_per_unit(opts.writes_per_unit.unwrap_or(DEVNET_WRITES_PER_UNIT))?;

    let web_dir = crate::app::run::default_web_dir();
    for node in &nodes {
        let ports = NodePorts::of(opts.base_port, node.index).expect("checked above");
        let text = node_config(node, &nodes, ports, opts.demo, web_dir.as_deref());
        write_atomic(&node.config, text.as_bytes())?;
    }
    // Last: a devnet directory with genesis.json is complete.
    genesis.save(&dir.join("genesis.json"))?;
    Ok(Devnet {
        dir,
        genesis,
        nodes,
        created: true,
    })
}

fn tcp_addr(port: u16) -> Multiaddr {
    Multiaddr::from(std::net::Ipv4Addr::LOCALHOST).with(Protocol::Tcp(port))
}

/// A TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn node_config(
    node: &DevnetNode,
    all: &[DevnetNode],
    ports: NodePorts,
    demo: bool,
    web_dir: Option<&Path>,
) -> String {
    let demo_here = demo && node.index == 0;
    let bootstrap: String = all
        .iter()
        .filter(|o| o.index != node.index)
        .map(|o| format!("  {},\n", q(&o.p2p.to_string())))
        .collect();
    let web = match web_dir {
        Some(d) if demo_here => format!("web_dir = {}\n", q(&d.to_string_lossy())),
        _ => String::new(),
    };
    format!(
        "# Devnet relay {name}, written by `trustchain-relay devnet` and kept across restarts: edit\n\
         # freely (`--fresh` starts over). All options: `trustchain-relay run --print-config`.\n\
         # Relative paths are relative to this file's directory.\n\
         data_dir = \".\"\n\
         genesis = \"../genesis.json\"\n\
         region = \"default\"\n\
         {web}\n\
         [http]\n\
         listen = {http}\n\
         \n\
         [p2p]\n\
         listen = [{p2p}]\n\
         bootstrap = [\n{bootstrap}]\n\
         browser_ip = \"127.0.0.1\"\n\
         ws_port = {ws}\n\
         webrtc_port = {webrtc}\n\
         \n\
         [consensus]\n\
         timeouts = \"devnet\"\n\
         \n\
         [demo]\n\
         enabled = {demo_here}\n",
        name = node.name(),
        http = q(&node.http.to_string()),
        p2p = q(&tcp_addr(ports.p2p).to_string()),
        ws = ports.ws,
        webrtc = ports.webrtc,
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.with_context(|| format!("cannot write {}", path.display()))
}

/// Opens the complete devnet in `dir`: its genesis and every node's config and key.
pub fn open(dir: &Path, expect_nodes: Option<usize>) -> anyhow::Result<Devnet> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let genesis = Genesis::load(&dir.join("genesis.json"))?;
    let n = genesis.nodes.len();
    if let Some(want) = expect_nodes {
        ensure!(
            want == n,
            "{} holds a devnet of {n} nodes, not {want}: run without --nodes (or --nodes {n}) \
             to start it, or add --fresh to make a new one of {want}",
            dir.display()
        );
    }
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let nd = dir.join(format!("node-{i}"));
        let config = nd.join("relay.toml");
        let cfg = RelayConfig::load(&config)?;
        let key_file = cfg
            .key_file()
            .with_context(|| format!("{}: no data_dir", config.display()))?;
        let key = crate::app::keys::load(&key_file)?;
        let pk = PublicKey::of(&key);
        ensure!(
            genesis.node(&pk).is_some(),
            "the key of node-{i} ({}) is not a genesis node of {}",
            key_file.display(),
            dir.join("genesis.json").display()
        );
        let peer = peer_id(&key)?;
        let listen = cfg
            .p2p
            .listen
            .first()
            .with_context(|| format!("{}: p2p.listen is empty", config.display()))?;
        nodes.push(DevnetNode {
            index: i,
            dir: nd.clone(),
            config,
            log: nd.join("relay.log"),
            key: pk,
            peer_id: peer,
            http: cfg.http.listen,
            p2p: listen.clone().with(Protocol::P2p(peer)),
        });
    }
    Ok(Devnet {
        dir,
        genesis,
        nodes,
        created: false,
    })
}

impl Devnet {
    /// A table of the nodes: name, HTTP URL, p2p address, log file.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .nodes
            .iter()
            .map(|n| {
                [
                    n.name(),
                    format!("http://{}", n.http),
                    n.p2p.to_string(),
                    n.log.display().to_string(),
                ]
            })
            .collect();
        let head = ["node", "HTTP", "p2p", "log"].map(String::from);
        let mut w = [0usize; 4];
        for r in std::iter::once(&head).chain(&rows) {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.len());
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&head).chain(&rows) {
            let line = format!(
                "  {:<w0$}  {:<w1$}  {:<w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// A summary: chain id, genesis hash, directory and the table.
    pub fn describe(&self) -> String {
        format!(
            "Trustchain devnet {} ({} node{}, {} {})\n  genesis {}\n\n{}",
            self.genesis.chain_id,
            self.nodes.len(),
            if self.nodes.len() == 1 { "" } else { "s" },
            if self.created { "created in" } else { "in" },
            self.dir.display(),
            self.genesis.hash(),
            self.table()
        )
    }
}

/// The last `lines` lines of a file (at most its last 16 KiB).
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 << 10)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

struct Running {
    node: DevnetNode,
    child: Child,
    /// How it exited, if it did so on its own.
    exited: Option<ExitStatus>,
}

/// Runs every node of `devnet` as a child process `exe run --config <node>/relay.toml [args]`
/// (output appended to its `relay.log`) until `shutdown` resolves or every node has exited;
/// then stops the rest: SIGTERM, and SIGKILL after [`STOP_GRACE`]. Nodes that exit early are
/// reported at once with their exit status and the tail of their log. Returns whether no node
/// exited early.
pub async fn supervise(
    devnet: &Devnet,
    exe: &Path,
    args: &[String],
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<bool> {
    let mut running: Vec<Running> = Vec::new();
    for node in &devnet.nodes {
        match spawn(node, exe, args) {
            Ok(child) => running.push(Running {
                node: node.clone(),
                child,
                exited: None,
            }),
            Err(e) => {
                stop(&mut running).await;
                return Err(e);
            }
        }
    }
    println!("{}", devnet.describe());
    println!("Ctrl-C stops the network.");

    tokio::pin!(shutdown);
    let mut early = 0;
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        for r in running.iter_mut().filter(|r| r.exited.is_none()) {
            if let Some(status) = r.child.try_wait()? {
                r.exited = Some(status);
                early += 1;
                eprintln!("{}", early_exit_report(&r.node, status));
            }
        }
        if running.iter().all(|r| r.exited.is_some()) {
            eprintln!("every node has exited; stopping");
            break;
        }
    }
    let alive = running.iter().filter(|r| r.exited.is_none()).count();
    if alive > 0 {
        eprintln!("stopping {alive} node(s)...");
    }
    stop(&mut running).await;
    if alive > 0 {
        eprintln!("stopped");
    }
    if early > 0 {
        eprintln!("{early} node(s) exited early:");
        for r in &running {
            // `exited` is set only for nodes that exited on their own (`stop` does not set it).
            if let Some(s) = r.exited {
                eprintln!("  {} ({s}): {}", r.node.name(), r.node.log.display());
            }
        }
    }
    Ok(early == 0)
}

fn early_exit_report(node: &DevnetNode, status: ExitStatus) -> String {
    let t = tail(&node.log, 15);
    let mut s = format!(
        "{} exited early ({status}); the end of {}:\n",
        node.name(),
        node.log.display()
    );
    for l in t.lines() {
        s.push_str("  | ");
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn spawn(node: &DevnetNode, exe: &Path, args: &[String]) -> anyhow::Result<Child> {
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&node.log)
        .with_context(|| format!("cannot open {}", node.log.display()))?;
    writeln!(
        log,
        "=== trustchain-relay devnet: {} starting at {} ===",
        node.name(),
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    )?;
    let err = log.try_clone()?;
    let mut cmd = Command::new(exe);
    cmd.arg("run")
        .arg("--config")
        .arg(&node.config)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    // The children's settings are their relay.toml's, not whatever this shell exports.
    for v in Overrides::ENV_VARS {
        cmd.env_remove(v);
    }
    // Plain text in the log files (tracing colours its output otherwise).
    cmd.env("NO_COLOR", "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Their own process group: Ctrl-C reaches only the supervisor, which stops them in order.
        cmd.process_group(0);
    }
    cmd.spawn()
        .with_context(|| format!("cannot start {} ({})", node.name(), exe.display()))
}

/// Stops the nodes still running: SIGTERM, then SIGKILL after [`STOP_GRACE`].
async fn stop(running: &mut [Running]) {
    let alive: Vec<usize> = (0..running.len())
        .filter(|&i| running[i].exited.is_none())
        .collect();
    for &i in &alive {
        terminate(&mut running[i].child);
    }
    let deadline = Instant::now() + STOP_GRACE;
    let mut left = alive;
    while !left.is_empty() && Instant::now() < deadline {
        left.retain(|&i| !matches!(running[i].child.try_wait(), Ok(Some(_))));
        if !left.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for &i in &left {
        eprintln!(
            "{} did not stop within {} s; killing it",
            running[i].node.name(),
            STOP_GRACE.as_secs()
        );
        let _ = running[i].child.kill();
        let _ = running[i].child.wait();
    }
}

#[cfg(unix)]
fn terminate(child: &mut Child) {
    // std has no SIGTERM; kill(1) is POSIX. Fall back to SIGKILL if it cannot run.
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let _ = child.kill();
    }
}

#[cfg(not(unix))]
fn terminate(child: &mut Child) {
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &Path, nodes: usize) -> DevnetOptions {
        DevnetOptions {
            dir: dir.to_path_buf(),
            nodes: Some(nodes),
            base_port: 7000,
            demo: true,
            fresh: false,
            writes_per_unit: None,
        }
    }

    #[test]
    fn ports() {
        let p = NodePorts::of(7000, 3).unwrap();
        assert_eq!((p.http, p.p2p, p.ws, p.webrtc), (7003, 7103, 7203, 7303));
        assert!(NodePorts::of(65300, 0).is_none());
    }

    #[test]
    fn create_then_reuse() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dn");
        let d = init(&opts(&dir, 3)).unwrap();
        assert!(d.created);
        assert!(d.genesis.chain_id.starts_with("trustchain-devnet-"));
        assert_eq!(d.genesis.chain_id.len(), "trustchain-devnet-".len() + 8);
        for node in &d.nodes {
            let cfg = RelayConfig::load(&node.config).unwrap();
            assert_eq!(cfg.demo.enabled, node.index == 0);
            assert_eq!(
                cfg.consensus.timeouts,
                crate::app::config::TimeoutPreset::Devnet
            );
            let net = cfg.into_network_config().unwrap();
            assert_eq!(net.genesis.hash(), d.genesis.hash());
            assert_eq!(net.data_dir.canonicalize().unwrap(), node.dir);
            let others: Vec<_> = d
                .nodes
                .iter()
                .filter(|o| o.index != node.index)
                .map(|o| o.p2p.clone())
                .collect();
            assert_eq!(net.bootstrap, others);
        }
        let again = init(&DevnetOptions {
            nodes: None,
            ..opts(&dir, 3)
        })
        .unwrap();
        assert!(!again.created);
        assert_eq!(again.genesis.hash(), d.genesis.hash());
        assert_eq!(again.nodes.len(), 3);
        assert_eq!(again.nodes[2].p2p, d.nodes[2].p2p);
        let e = format!("{:#}", init(&opts(&dir, 5)).unwrap_err());
        assert!(e.contains("devnet of 3 nodes, not 5"), "{e}");
        let fresh = init(&DevnetOptions {
            fresh: true,
            ..opts(&dir, 2)
        })
        .unwrap();
        assert!(fresh.created && fresh.nodes.len() == 2);
        assert_ne!(fresh.genesis.hash(), d.genesis.hash());
        assert!(!dir.join("node-2").exists());
    }

    /// Stands in for the relay binary: node-0 ignores SIGTERM, node-1 obeys it, node-2 fails.
    #[cfg(unix)]
    #[test]
    fn supervise_stops_nodes_and_reports_early_exits() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let d = init(&opts(&tmp.path().join("dn"), 3)).unwrap();
        let exe = tmp.path().join("fake-relay.sh");
        std::fs::write(
            &exe,
            "#!/bin/sh\n\
             case \"$3\" in\n\
             */node-0/*) trap '' TERM; exec sleep 30 ;;\n\
             */node-1/*) exec sleep 30 ;;\n\
             *) echo \"boom: $*\"; exit 3 ;;\n\
             esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let t0 = Instant::now();
        let clean = rt
            .block_on(supervise(&d, &exe, &["--no-demo".to_string()], async {
                tokio::time::sleep(Duration::from_secs(1)).await
            }))
            .unwrap();
        let took = t0.elapsed();
        assert!(!clean, "node-2 exited early");
        // node-0 needed SIGKILL after the grace period; node-1 stopped at once.
        assert!(took >= STOP_GRACE + Duration::from_secs(1), "{took:?}");
        assert!(took < STOP_GRACE + Duration::from_secs(10), "{took:?}");
        let log = std::fs::read_to_string(&d.nodes[2].log).unwrap();
        assert!(log.contains("starting at"), "{log}");
        assert!(log.contains("boom: run --config"), "{log}");
        assert!(log.contains("node-2/relay.toml --no-demo"), "{log}");
        assert!(tail(&d.nodes[2].log, 1).starts_with("boom"));
    }

    #[test]
    fn refuses_foreign_directories() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("precious.txt"), "x").unwrap();
        let e = format!(
            "{:#}",
            init(&DevnetOptions {
                fresh: true,
                ..opts(tmp.path(), 2)
            })
            .unwrap_err()
        );
        assert!(e.contains("refusing to wipe"), "{e}");
        let e = format!("{:#}", init(&opts(tmp.path(), 2)).unwrap_err());
        assert!(e.contains("no genesis.json"), "{e}");
        assert!(tmp.path().join("precious.txt").exists());
    }
}
