//! `relay.toml`: the configuration of `trustchain-relay run` (one relay of a network).
//!
//! [`EXAMPLE_CONFIG`] is the annotated reference (`trustchain-relay run --print-config`). A few
//! settings can be overridden, later winning: the file, then the environment
//! (`TRUSTCHAIN_DATA_DIR`, `TRUSTCHAIN_LISTEN`, `TRUSTCHAIN_BOOTSTRAP`), then the flags of `run`
//! (`--data-dir`, `--listen`, `--bootstrap`, `--no-demo`) — see [`Overrides`].
//!
//! Relative paths in the file (`data_dir`, `key_file`, `genesis`, `web_dir`) are relative to the
//! file's directory, so a node's directory can be moved whole; paths from the environment or the
//! command line are relative to the current directory, as usual.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde::{Deserialize, Deserializer};

use crate::app::run::NetworkConfig;
use crate::consensus::TimeoutConfig;
use crate::node::genesis::Genesis;

/// Largest config file read.
const MAX_CONFIG_FILE: u64 = 1 << 20;

/// The annotated default configuration, printed by `trustchain-relay run --print-config`.
/// Every value shown is the default (except the two required paths).
pub const EXAMPLE_CONFIG: &str = r#"# trustchain-relay configuration: `trustchain-relay run --config relay.toml`.
#
# Relative paths are relative to the directory of this file. A few settings can be overridden,
# later winning: this file, then the environment (TRUSTCHAIN_DATA_DIR, TRUSTCHAIN_LISTEN,
# TRUSTCHAIN_BOOTSTRAP: comma-separated), then the flags (--data-dir, --listen, --bootstrap).

# Where the database, the node key and the WebRTC certificate live. Required (here or by flag).
data_dir = "data"

# The node's secret key: 64 hex digits, created on first start if missing. Its public key is the
# relay's validator key and, as an ed25519 libp2p identity, its peer id.
# Default: <data_dir>/node.key
# key_file = "node.key"

# The network's genesis file; every relay of a network has the same one. Required.
genesis = "genesis.json"

# This relay's region, for region-aware peer selection (docs/network.md).
region = "default"

# Static files served behind the API: the demo page at /demo/, the widget at /widget/.
# Default: none (the API only).
# web_dir = "/usr/share/trustchain/site"

[http]
# The HTTP API.
listen = "127.0.0.1:8080"

[p2p]
# Where other relays connect: libp2p over TCP (noise, yamux).
listen = ["/ip4/0.0.0.0/tcp/9010"]
# Relays to dial at start and whenever disconnected, each with its peer id, e.g.
# bootstrap = ["/ip4/192.0.2.10/tcp/9010/p2p/12D3KooW..."]
bootstrap = []
# Browsers reach the relay over WebRTC-direct (UDP) and libp2p WebSocket (TCP) on this IP.
# Default: the IP of [http] listen.
# browser_ip = "127.0.0.1"
# Ports of the browser transports (0: any free port).
webrtc_port = 8081
ws_port = 8082

[consensus]
# Timeout preset: "default" (propose 3 s, prevote 1 s, precommit 1 s, each +0.5 s per round)
# or "devnet" (1 s / 0.5 s / 0.5 s, each +0.25 s per round).
timeouts = "default"
# Or per step, [base, added per round] in milliseconds (overrides the preset for that step):
# propose_ms = [3000, 500]
# prevote_ms = [1000, 500]
# precommit_ms = [1000, 500]
# Longest time between blocks when nothing moved (an empty block then proves liveness).
idle_block_ms = 30000
# How long new records are batched before this relay signs its scenarios' checkpoints.
checkpoint_delay_ms = 20

[demo]
# Seed and drive the demo scenario demo/budget from this relay (one relay of a network is enough).
enabled = false
# Payments seeded on first start.
records = 110
# Milliseconds between new demo payments (0: none).
every_ms = 5000
"#;

/// The settings of one relay, as read from `relay.toml` (see [`EXAMPLE_CONFIG`]).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// Where the database and keys live (required, here or by override).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// The node's key file; `data_dir/node.key` if not set.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The genesis file.
    pub genesis: PathBuf,
    /// This relay's region.
    #[serde(default = "default_region")]
    pub region: String,
    /// Static files served behind the API.
    #[serde(default)]
    pub web_dir: Option<PathBuf>,
    /// `[http]`.
    #[serde(default)]
    pub http: HttpSection,
    /// `[p2p]`.
    #[serde(default)]
    pub p2p: P2pSection,
    /// `[consensus]`.
    #[serde(default)]
    pub consensus: ConsensusSection,
    /// `[demo]`.
    #[serde(default)]
    pub demo: DemoSection,
    /// The file this was read from (for messages); empty if parsed from a string.
    #[serde(skip)]
    pub source: PathBuf,
}

/// `[http]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Address of the HTTP API.
    #[serde(default = "default_http_listen")]
    pub listen: SocketAddr,
}

/// `[p2p]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// libp2p addresses other relays connect to.
    #[serde(default = "default_p2p_listen", deserialize_with = "listen_addrs")]
    pub listen: Vec<Multiaddr>,
    /// Relays to dial, each ending in `/p2p/<peer id>`.
    #[serde(default, deserialize_with = "bootstrap_addrs")]
    pub bootstrap: Vec<Multiaddr>,
    /// IP of the browser transports; the HTTP listen IP if not set.
    #[serde(default)]
    pub browser_ip: Option<IpAddr>,
    /// UDP port for WebRTC-direct.
    #[serde(default = "default_webrtc_port")]
    pub webrtc_port: u16,
    /// TCP port for libp2p WebSocket.
    #[serde(default = "default_ws_port")]
    pub ws_port: u16,
}

/// A named set of consensus timeouts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeoutPreset {
    /// [`TimeoutConfig::DEFAULT`].
    #[default]
    Default,
    /// [`TimeoutConfig::DEVNET`].
    Devnet,
}

impl TimeoutPreset {
    /// The preset's timeouts.
    pub fn config(self) -> TimeoutConfig {
        match self {
            TimeoutPreset::Default => TimeoutConfig::DEFAULT,
            TimeoutPreset::Devnet => TimeoutConfig::DEVNET,
        }
    }
}

/// `[consensus]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusSection {
    /// The timeout preset.
    #[serde(default)]
    pub timeouts: TimeoutPreset,
    /// `[base, per round]` of the propose timeout, overriding the preset.
    #[serde(default)]
    pub propose_ms: Option<[u64; 2]>,
    /// `[base, per round]` of the prevote timeout, overriding the preset.
    #[serde(default)]
    pub prevote_ms: Option<[u64; 2]>,
    /// `[base, per round]` of the precommit timeout, overriding the preset.
    #[serde(default)]
    pub precommit_ms: Option<[u64; 2]>,
    /// Longest time between blocks when nothing moved.
    #[serde(default = "default_idle_block_ms")]
    pub idle_block_ms: u64,
    /// Batching delay before checkpoints are signed.
    #[serde(default = "default_checkpoint_delay_ms")]
    pub checkpoint_delay_ms: u64,
}

impl ConsensusSection {
    /// The timeouts: the preset with any per-step overrides.
    pub fn timeout_config(&self) -> TimeoutConfig {
        let mut t = self.timeouts.config();
        let pair = |v: [u64; 2]| (v[0], v[1]);
        if let Some(v) = self.propose_ms {
            t.propose = pair(v);
        }
        if let Some(v) = self.prevote_ms {
            t.prevote = pair(v);
        }
        if let Some(v) = self.precommit_ms {
            t.precommit = pair(v);
        }
        t
    }
}

/// `[demo]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSection {
    /// Whether this relay seeds and drives the demo scenario.
    #[serde(default)]
    pub enabled: bool,
    /// Payments seeded on first start.
    #[serde(default = "default_demo_records")]
    pub records: usize,
    /// Milliseconds between new demo payments (0: none).
    #[serde(default = "default_demo_every_ms")]
    pub every_ms: u64,
}

fn default_region() -> String {
    "default".into()
}
fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_p2p_listen() -> Vec<Multiaddr> {
    vec!["/ip4/0.0.0.0/tcp/9010".parse().expect("valid multiaddr")]
}
fn default_webrtc_port() -> u16 {
    8081
}
fn default_ws_port() -> u16 {
    8082
}
fn default_idle_block_ms() -> u64 {
    30_000
}
fn default_checkpoint_delay_ms() -> u64 {
    20
}
fn default_demo_records() -> usize {
    110
}
fn default_demo_every_ms() -> u64 {
    5_000
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: default_http_listen(),
        }
    }
}
impl Default for P2pSection {
    fn default() -> Self {
        P2pSection {
            listen: default_p2p_listen(),
            bootstrap: vec![],
            browser_ip: None,
            webrtc_port: default_webrtc_port(),
            ws_port: default_ws_port(),
        }
    }
}
impl Default for ConsensusSection {
    fn default() -> Self {
        ConsensusSection {
            timeouts: TimeoutPreset::Default,
            propose_ms: None,
            prevote_ms: None,
            precommit_ms: None,
            idle_block_ms: default_idle_block_ms(),
            checkpoint_delay_ms: default_checkpoint_delay_ms(),
        }
    }
}
impl Default for DemoSection {
    fn default() -> Self {
        DemoSection {
            enabled: false,
            records: default_demo_records(),
            every_ms: default_demo_every_ms(),
        }
    }
}

/// Parses a libp2p address of a relay to listen on (TCP).
pub fn parse_listen_addr(s: &str) -> anyhow::Result<Multiaddr> {
    let a: Multiaddr = s
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{s:?} is not a multiaddr: {e}"))?;
    ensure!(
        a.iter().any(|p| matches!(p, Protocol::Tcp(_))),
        "{s:?} has no /tcp/<port>: relays talk over TCP, e.g. /ip4/0.0.0.0/tcp/9010"
    );
    Ok(a)
}

/// Parses the libp2p address of a relay to dial: it must name the peer (`.../p2p/<peer id>`).
pub fn parse_bootstrap_addr(s: &str) -> anyhow::Result<Multiaddr> {
    let a: Multiaddr = s
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{s:?} is not a multiaddr: {e}"))?;
    ensure!(
        matches!(a.iter().last(), Some(Protocol::P2p(_))),
        "{s:?} does not end in /p2p/<peer id> (the relay's identity, printed at its start)"
    );
    Ok(a)
}

fn addrs<'de, D: Deserializer<'de>>(
    d: D,
    parse: fn(&str) -> anyhow::Result<Multiaddr>,
) -> Result<Vec<Multiaddr>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    v.iter()
        .map(|s| parse(s).map_err(|e| serde::de::Error::custom(format!("{e:#}"))))
        .collect()
}
fn listen_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Multiaddr>, D::Error> {
    addrs(d, parse_listen_addr)
}
fn bootstrap_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Multiaddr>, D::Error> {
    addrs(d, parse_bootstrap_addr)
}

/// Settings that override the file: from the environment ([`Overrides::from_env`]) and from
/// the flags of `run`. Combine with [`Overrides::then`]: the later source wins.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--data-dir` / `TRUSTCHAIN_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--listen` / `TRUSTCHAIN_LISTEN`: the HTTP address.
    pub http_listen: Option<SocketAddr>,
    /// `--bootstrap` (repeatable) / `TRUSTCHAIN_BOOTSTRAP` (comma-separated): replaces the list.
    pub bootstrap: Option<Vec<Multiaddr>>,
    /// `--no-demo`: the demo off whatever the file says.
    pub no_demo: bool,
}

impl Overrides {
    /// Environment variable of [`Overrides::data_dir`].
    pub const ENV_DATA_DIR: &'static str = "TRUSTCHAIN_DATA_DIR";
    /// Environment variable of [`Overrides::http_listen`].
    pub const ENV_LISTEN: &'static str = "TRUSTCHAIN_LISTEN";
    /// Environment variable of [`Overrides::bootstrap`].
    pub const ENV_BOOTSTRAP: &'static str = "TRUSTCHAIN_BOOTSTRAP";
    /// Every environment variable read.
    pub const ENV_VARS: [&'static str; 3] =
        [Self::ENV_DATA_DIR, Self::ENV_LISTEN, Self::ENV_BOOTSTRAP];

    /// The overrides set in the process environment (empty variables count as unset).
    pub fn from_env() -> anyhow::Result<Overrides> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// The overrides from variables looked up by `get` (for tests).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Overrides> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut o = Overrides::default();
        if let Some(v) = get(Self::ENV_DATA_DIR) {
            o.data_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = get(Self::ENV_LISTEN) {
            o.http_listen = Some(v.trim().parse().map_err(|e| {
                anyhow::anyhow!(
                    "{}={v:?}: not an address like 127.0.0.1:8080: {e}",
                    Self::ENV_LISTEN
                )
            })?);
        }
        if let Some(v) = get(Self::ENV_BOOTSTRAP) {
            o.bootstrap = Some(
                v.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(parse_bootstrap_addr)
                    .collect::<anyhow::Result<_>>()
                    .context(Self::ENV_BOOTSTRAP)?,
            );
        }
        Ok(o)
    }

    /// `self`, with whatever `later` sets taking precedence.
    pub fn then(self, later: Overrides) -> Overrides {
        Overrides {
            data_dir: later.data_dir.or(self.data_dir),
            http_listen: later.http_listen.or(self.http_listen),
            bootstrap: later.bootstrap.or(self.bootstrap),
            no_demo: later.no_demo || self.no_demo,
        }
    }
}

impl RelayConfig {
    /// Reads `path`, resolving relative paths against its directory. Errors name the file and,
    /// for syntax and type errors, the line, column and field.
    pub fn load(path: &Path) -> anyhow::Result<RelayConfig> {
        let shown = path.display();
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read config file {shown}"))?;
        ensure!(
            meta.len() <= MAX_CONFIG_FILE,
            "config file {shown} is larger than 1 MiB"
        );
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {shown}"))?;
        let mut cfg = Self::parse(&text).map_err(|e| anyhow::anyhow!("{shown}: {e:#}"))?;
        cfg.source = path.to_path_buf();
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(p) = cfg.data_dir.as_mut() {
            resolve(p);
        }
        if let Some(p) = cfg.key_file.as_mut() {
            resolve(p);
        }
        resolve(&mut cfg.genesis);
        if let Some(p) = cfg.web_dir.as_mut() {
            resolve(p);
        }
        Ok(cfg)
    }

    /// Parses and checks TOML text; relative paths are kept as they are.
    pub fn parse(text: &str) -> anyhow::Result<RelayConfig> {
        let cfg: RelayConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> anyhow::Result<()> {
        let c = &self.consensus;
        for (name, v) in [
            ("propose_ms", c.propose_ms),
            ("prevote_ms", c.prevote_ms),
            ("precommit_ms", c.precommit_ms),
        ] {
            if let Some([base, _]) = v {
                ensure!(
                    base > 0,
                    "consensus.{name}: the base timeout must be at least 1 ms"
                );
            }
        }
        ensure!(
            c.idle_block_ms >= 10,
            "consensus.idle_block_ms: {} ms is too short (at least 10)",
            c.idle_block_ms
        );
        ensure!(
            c.checkpoint_delay_ms <= 60_000,
            "consensus.checkpoint_delay_ms: {} ms is longer than a minute",
            c.checkpoint_delay_ms
        );
        ensure!(
            !self.region.is_empty()
                && self.region.len() <= crate::node::genesis::MAX_REGION
                && self.region.bytes().all(|b| b.is_ascii_graphic()),
            "region: {:?} must be 1 to {} printable ASCII characters without spaces",
            self.region,
            crate::node::genesis::MAX_REGION
        );
        Ok(())
    }

    /// Applies overrides (see [`Overrides`]).
    pub fn apply(&mut self, o: &Overrides) {
        if let Some(d) = &o.data_dir {
            self.data_dir = Some(d.clone());
        }
        if let Some(l) = o.http_listen {
            self.http.listen = l;
        }
        if let Some(b) = &o.bootstrap {
            self.p2p.bootstrap = b.clone();
        }
        if o.no_demo {
            self.demo.enabled = false;
        }
    }

    /// The node's key file: `key_file`, or `data_dir/node.key`.
    pub fn key_file(&self) -> Option<PathBuf> {
        self.key_file
            .clone()
            .or_else(|| self.data_dir.as_ref().map(|d| d.join("node.key")))
    }

    /// Loads and verifies the genesis file and builds the settings of `run_network`.
    pub fn into_network_config(self) -> anyhow::Result<NetworkConfig> {
        let Some(data_dir) = self.data_dir.clone() else {
            bail!(
                "{}: no data_dir: set it in the file, or pass --data-dir or {}",
                self.source_name(),
                Overrides::ENV_DATA_DIR
            );
        };
        let key_file = self.key_file().expect("data_dir is set");
        let genesis = Genesis::load(&self.genesis)
            .with_context(|| format!("genesis of {}", self.source_name()))?;
        Ok(NetworkConfig {
            data_dir,
            key_file,
            genesis,
            region: self.region,
            http_listen: self.http.listen,
            p2p_listen: self.p2p.listen,
            bootstrap: self.p2p.bootstrap,
            browser_ip: self.p2p.browser_ip.unwrap_or(self.http.listen.ip()),
            webrtc_port: self.p2p.webrtc_port,
            ws_port: self.p2p.ws_port,
            timeouts: self.consensus.timeout_config(),
            idle_block: Duration::from_millis(self.consensus.idle_block_ms),
            checkpoint_delay: Duration::from_millis(self.consensus.checkpoint_delay_ms),
            demo: self.demo.enabled,
            demo_records: self.demo.records,
            demo_every: Duration::from_millis(self.demo.every_ms),
            web_dir: self.web_dir,
            misbehave: None,
        })
    }

    fn source_name(&self) -> String {
        if self.source.as_os_str().is_empty() {
            "the config".into()
        } else {
            self.source.display().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "data_dir = \"data\"\ngenesis = \"genesis.json\"\n";

    fn err(text: &str) -> String {
        format!("{:#}", RelayConfig::parse(text).unwrap_err())
    }

    #[test]
    fn defaults() {
        let c = RelayConfig::parse(MINIMAL).unwrap();
        assert_eq!(c.region, "default");
        assert_eq!(
            c.http.listen,
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.p2p.listen, vec!["/ip4/0.0.0.0/tcp/9010".parse().unwrap()]);
        assert!(c.p2p.bootstrap.is_empty());
        assert_eq!((c.p2p.webrtc_port, c.p2p.ws_port), (8081, 8082));
        assert_eq!(c.consensus.timeout_config(), TimeoutConfig::DEFAULT);
        assert_eq!(c.consensus.idle_block_ms, 30_000);
        assert_eq!(c.consensus.checkpoint_delay_ms, 20);
        assert!(!c.demo.enabled);
        assert_eq!(c.key_file(), Some(PathBuf::from("data/node.key")));
    }

    #[test]
    fn example_parses_and_documents_the_defaults() {
        let example = RelayConfig::parse(EXAMPLE_CONFIG).unwrap();
        assert_eq!(example, RelayConfig::parse(MINIMAL).unwrap());
    }

    #[test]
    fn every_commented_option_of_the_example_parses() {
        // Uncomment `# key = ...` lines (not prose) and parse again.
        let text: String = EXAMPLE_CONFIG
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if !rest.starts_with("bootstrap")
                        && rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                        }) =>
                {
                    rest.to_string()
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = RelayConfig::parse(&text).unwrap();
        assert_eq!(c.key_file, Some(PathBuf::from("node.key")));
        assert_eq!(c.p2p.browser_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(c.consensus.propose_ms, Some([3000, 500]));
        assert_eq!(c.consensus.timeout_config(), TimeoutConfig::DEFAULT);
    }

    #[test]
    fn presets_and_step_overrides() {
        let c = RelayConfig::parse(&format!(
            "{MINIMAL}[consensus]\ntimeouts = \"devnet\"\nprevote_ms = [700, 100]\n"
        ))
        .unwrap();
        let t = c.consensus.timeout_config();
        assert_eq!(t.propose, TimeoutConfig::DEVNET.propose);
        assert_eq!(t.prevote, (700, 100));
        let e = err(&format!("{MINIMAL}[consensus]\ntimeouts = \"fast\"\n"));
        assert!(e.contains("devnet") && e.contains("line 4"), "{e}");
        let e = err(&format!("{MINIMAL}[consensus]\npropose_ms = [0, 1]\n"));
        assert!(e.contains("consensus.propose_ms"), "{e}");
    }

    #[test]
    fn unknown_field_is_named_with_its_line() {
        let e = err(&format!("{MINIMAL}[p2p]\nlisten = []\nbootstrapp = []\n"));
        assert!(e.contains("unknown field `bootstrapp`"), "{e}");
        assert!(e.contains("line 5"), "{e}");
        let e = err("data_dir = \"d\"\ngenesis = \"g\"\nregoin = \"eu\"\n");
        assert!(
            e.contains("unknown field `regoin`") && e.contains("line 3"),
            "{e}"
        );
        let e = err("data_dir = \"d\"\n");
        assert!(e.contains("missing field `genesis`"), "{e}");
        let e = err(&format!("{MINIMAL}[http]\nlisten = \"localhost\"\n"));
        assert!(e.contains("line 4"), "{e}");
    }

    #[test]
    fn bad_addresses_are_named() {
        let e = err(&format!(
            "{MINIMAL}[p2p]\nbootstrap = [\"/ip4/127.0.0.1/tcp/1\"]\n"
        ));
        assert!(e.contains("/p2p/<peer id>") && e.contains("line 4"), "{e}");
        let e = err(&format!("{MINIMAL}[p2p]\nlisten = [\"not an addr\"]\n"));
        assert!(e.contains("not a multiaddr"), "{e}");
        let e = err(&format!(
            "{MINIMAL}[p2p]\nlisten = [\"/ip4/127.0.0.1/udp/1\"]\n"
        ));
        assert!(e.contains("no /tcp/"), "{e}");
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("node-0");
        std::fs::create_dir(&sub).unwrap();
        let path = sub.join("relay.toml");
        std::fs::write(
            &path,
            "data_dir = \".\"\ngenesis = \"../genesis.json\"\nweb_dir = \"/abs/site\"\n",
        )
        .unwrap();
        let c = RelayConfig::load(&path).unwrap();
        assert_eq!(c.genesis, sub.join("../genesis.json"));
        assert_eq!(c.data_dir, Some(sub.join(".")));
        assert_eq!(c.web_dir, Some(PathBuf::from("/abs/site")));
        assert_eq!(c.key_file(), Some(sub.join(".").join("node.key")));
        // Errors name the file.
        std::fs::write(&path, "genesis = 1\n").unwrap();
        let e = format!("{:#}", RelayConfig::load(&path).unwrap_err());
        assert!(e.contains("relay.toml") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn overrides_file_then_env_then_flags() {
        let peer =
            "/ip4/10.0.0.1/tcp/9010/p2p/12D3KooWGUTNeTvQbRHF3ZQ1Ldr2EbwWxqnmhn1zSjYUrGNutQFj";
        let peer2 =
            "/ip4/10.0.0.2/tcp/9010/p2p/12D3KooWGUTNeTvQbRHF3ZQ1Ldr2EbwWxqnmhn1zSjYUrGNutQFj";
        let vars = |k: &str| match k {
            "TRUSTCHAIN_DATA_DIR" => Some("/env/data".to_string()),
            "TRUSTCHAIN_LISTEN" => Some("127.0.0.1:9999".to_string()),
            "TRUSTCHAIN_BOOTSTRAP" => Some(format!("{peer}, {peer2}")),
            _ => None,
        };
        let env = Overrides::from_vars(vars).unwrap();
        assert_eq!(env.bootstrap.as_ref().unwrap().len(), 2);
        let flags = Overrides {
            data_dir: Some("/flag/data".into()),
            ..Default::default()
        };
        let mut c = RelayConfig::parse(&format!(
            "{MINIMAL}[demo]\nenabled = true\n[http]\nlisten = \"0.0.0.0:1\"\n"
        ))
        .unwrap();
        c.apply(&env.clone().then(flags));
        assert_eq!(c.data_dir, Some(PathBuf::from("/flag/data")));
        assert_eq!(
            c.http.listen,
            "127.0.0.1:9999".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.p2p.bootstrap.len(), 2);
        assert!(c.demo.enabled);
        // The key file follows the overridden data directory.
        assert_eq!(c.key_file(), Some(PathBuf::from("/flag/data/node.key")));
        c.apply(&Overrides {
            bootstrap: Some(vec![]),
            no_demo: true,
            ..Default::default()
        });
        assert!(c.p2p.bootstrap.is_empty() && !c.demo.enabled);

        // Empty variables are unset; bad ones are named.
        assert_eq!(
            Overrides::from_vars(|_| Some(" ".into())).unwrap(),
            Overrides::default()
        );
        let e = Overrides::from_vars(|k| (k == "TRUSTCHAIN_LISTEN").then(|| "x".into()));
        assert!(format!("{:#}", e.unwrap_err()).contains("TRUSTCHAIN_LISTEN"));
        let e = Overrides::from_vars(|k| {
            (k == "TRUSTCHAIN_BOOTSTRAP").then(|| "/ip4/1.2.3.4/tcp/1".into())
        });
        assert!(format!("{:#}", e.unwrap_err()).contains("TRUSTCHAIN_BOOTSTRAP"));
    }

    #[test]
    fn network_config_needs_a_data_dir_and_a_valid_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "genesis = \"genesis.json\"\n").unwrap();
        let e = format!(
            "{:#}",
            RelayConfig::load(&path)
                .unwrap()
                .into_network_config()
                .unwrap_err()
        );
        assert!(e.contains("no data_dir") && e.contains("relay.toml"), "{e}");
        let mut c = RelayConfig::load(&path).unwrap();
        c.apply(&Overrides {
            data_dir: Some(dir.path().join("d")),
            ..Default::default()
        });
        let e = format!("{:#}", c.clone().into_network_config().unwrap_err());
        assert!(e.contains("genesis.json"), "{e}");

        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let op = trustchain_core::crypto::PublicKey::of(&key);
        let g = Genesis::create("c", 1, &[(key, op, "eu".into())]).unwrap();
        g.save(&dir.path().join("genesis.json")).unwrap();
        let n = c.into_network_config().unwrap();
        assert_eq!(n.genesis.hash(), g.hash());
        assert_eq!(n.key_file, dir.path().join("d/node.key"));
        assert_eq!(n.browser_ip, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(n.idle_block, Duration::from_secs(30));
        assert_eq!(n.timeouts, TimeoutConfig::DEFAULT);
    }
}
