//! `trustchain-relay`: the relay node and its command-line tools.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use trustchain_core::client::api::ScenarioInfo;
use trustchain_core::crypto::PublicKey;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::scenario::contract::UnsignedContract;
use trustchain_relay::api::fields;
use trustchain_relay::app::config::{self, Overrides, RelayConfig};
use trustchain_relay::app::{devnet, keys, run as node};

mod verify_cli;

#[derive(Parser)]
#[command(
    name = "trustchain-relay",
    version,
    about = "Trustchain relay node: stores scenarios, anchors them in a BFT main chain, serves proofs.",
    long_about = "Trustchain relay node.\n\n\
Projects write signed contracts into scenarios (append-only Merkle logs); the relay checkpoints\n\
them, anchors the checkpoints in final main-chain blocks, and serves proofs that anyone can\n\
verify offline with `trustchain-relay verify` or in a browser.\n\n\
Start here:
  trustchain-relay dev                  a complete single-node network with a demo scenario
  trustchain-relay devnet               a local network of 4 relays with BFT consensus
  trustchain-relay run --print-config   the annotated configuration of a network relay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a complete single-node network (sole validator) with the demo scenario `demo/budget`.
    Dev {
        /// Data directory (database, node key, demo keys).
        #[arg(long, env = "TRUSTCHAIN_DATA_DIR", default_value_os_t = node::default_data_dir())]
        data_dir: PathBuf,
        /// Address to serve the HTTP API on.
        #[arg(long, env = "TRUSTCHAIN_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Milliseconds between blocks (a block is made only when a scenario moved).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..))]
        block_interval_ms: u64,
        /// Do not seed or drive the demo scenario.
        #[arg(long)]
        no_demo: bool,
        /// Payments to seed into demo/budget on first start.
        #[arg(long, default_value_t = 110)]
        demo_records: usize,
        /// Milliseconds between new demo payments (0: none).
        #[arg(long, default_value_t = 5000)]
        demo_every_ms: u64,
        /// Directory of static files served behind the API: the demo page at /demo/ and the
        /// widget at /widget/ [default: wasm-pkg/site of the source tree, if it exists]
        #[arg(long, env = "TRUSTCHAIN_WEB_DIR")]
        web_dir: Option<PathBuf>,
        /// UDP port for browsers over WebRTC-direct (on the --listen address; 0: any free port).
        #[arg(long, env = "TRUSTCHAIN_WEBRTC_PORT", default_value_t = 8081)]
        webrtc_port: u16,
        /// TCP port for browsers over libp2p WebSocket (on the --listen address; 0: any).
        #[arg(long, env = "TRUSTCHAIN_WS_PORT", default_value_t = 8082)]
        ws_port: u16,
        /// Testing verifiers only: serve false record proofs (tamper-record: contract data changed
        /// after signing; forge-certificate: votes the validators never made; tamper-listing:
        /// honest proofs, altered record listings).
        #[arg(long, value_enum, hide = true)]
        misbehave: Option<trustchain_relay::node::misbehave::Misbehave>,
    },
    /// Run one relay of a multi-node network, configured by a TOML file.
    #[command(
        long_about = "Run one relay of a multi-node network, configured by a TOML file.\n\
The relays agree on blocks by BFT consensus among the validators named in genesis.json.\n\n\
Settings come from the file, then the environment (TRUSTCHAIN_DATA_DIR, TRUSTCHAIN_LISTEN,\n\
TRUSTCHAIN_BOOTSTRAP: comma-separated), then the flags below; later wins. Relative paths in\n\
the file are relative to its directory.\n\n\
Examples:\n  \
trustchain-relay run --print-config > relay.toml     # an annotated config to start from\n  \
trustchain-relay run --config relay.toml\n  \
trustchain-relay run --config relay.toml --data-dir /var/lib/trustchain \\\n      \
--bootstrap /ip4/192.0.2.10/tcp/9010/p2p/12D3KooW..."
    )]
    Run {
        /// The relay's configuration file (TOML; `--print-config` shows every option).
        #[arg(long, required_unless_present = "print_config")]
        config: Option<PathBuf>,
        /// Data directory, overriding the file's `data_dir` [env: TRUSTCHAIN_DATA_DIR].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Address of the HTTP API, overriding `[http] listen` [env: TRUSTCHAIN_LISTEN].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// A relay to dial, `.../p2p/<peer id>`; repeat for more. Replaces `[p2p] bootstrap`
        /// [env: TRUSTCHAIN_BOOTSTRAP, comma-separated].
        #[arg(long, value_name = "MULTIADDR", value_parser = parse_bootstrap)]
        bootstrap: Vec<libp2p::Multiaddr>,
        /// Do not seed or drive the demo scenario, whatever `[demo] enabled` says.
        #[arg(long)]
        no_demo: bool,
        /// Print an annotated default configuration to stdout and exit.
        #[arg(long, conflicts_with_all = ["config", "data_dir", "listen", "bootstrap", "no_demo"])]
        print_config: bool,
        /// Testing the other relays only: propose and gossip checkpoints the chain must refuse.
        #[arg(long, value_enum, hide = true)]
        misbehave_chain: Option<trustchain_relay::node::misbehave::ChainMisbehave>,
    },
    /// Run a local network of relays (one process each) in one directory, until Ctrl-C.
    #[command(
        long_about = "Run a local network of N relays with BFT consensus, one process \
each, until Ctrl-C.\n\n\
The first run creates the directory: a genesis.json naming every node as a validator, and per\n\
node node-<i>/ with its key, its relay.toml and its relay.log. Later runs reuse it as is, so\n\
the chain survives restarts; --fresh starts over. Node i serves HTTP on 127.0.0.1:P+i and\n\
talks to the other relays on TCP port P+100+i (browsers: WebSocket P+200+i, WebRTC P+300+i),\n\
with P the base port; node 0 drives the demo scenario.\n\n\
Examples:\n  \
trustchain-relay devnet                          # 4 nodes in the default directory\n  \
trustchain-relay devnet --nodes 7 --fresh --dir /tmp/dn --base-port 9000\n  \
trustchain-relay devnet --init-only --dir /tmp/dn  # only write the files\n  \
trustchain-relay run --config /tmp/dn/node-2/relay.toml   # then run a node by hand"
    )]
    Devnet {
        /// Number of nodes of a new devnet [default: 4]; must match an existing one's.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=devnet::MAX_NODES as u64))]
        nodes: Option<u64>,
        /// The devnet directory [default: $XDG_DATA_HOME/trustchain/devnet or
        /// ~/.local/share/trustchain/devnet].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// First port of a new devnet (HTTP P+i, p2p P+100+i, WebSocket P+200+i, WebRTC P+300+i).
        #[arg(long, default_value_t = devnet::DEFAULT_BASE_PORT)]
        base_port: u16,
        /// Delete the directory first and make a new devnet (new keys and genesis).
        #[arg(long)]
        fresh: bool,
        /// Do not seed or drive the demo scenario.
        #[arg(long)]
        no_demo: bool,
        /// Only write (or check) the devnet's files, print its nodes, and exit.
        #[arg(long)]
        init_only: bool,
        /// Write quota of a new devnet: contracts per second per pledged capacity unit (every
        /// project has one base unit; docs/network.md, "Capacity pledges") [default: 100000,
        /// so local load tests are not throttled; a public network's genesis uses 200].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        writes_per_unit: Option<u64>,
    },
    /// Manage signing keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Sign records with your key and submit them to a relay.
    ///
    /// The input is a JSON object of field values — or an array of them — as the scenario's
    /// charter declares (decimals as strings: {"amount": "1250.00", "approved": true}).
    Submit {
        /// The relay's base URL.
        #[arg(
            long,
            env = "TRUSTCHAIN_RELAY",
            default_value = "http://127.0.0.1:8080"
        )]
        relay: String,
        /// Your secret key file (from `key new`).
        #[arg(long)]
        key: PathBuf,
        /// The scenario, e.g. demo/budget.
        #[arg(long)]
        scenario: String,
        /// The record kind, e.g. payment.
        #[arg(long)]
        kind: String,
        /// First nonce (default: from the clock, unique per run).
        #[arg(long)]
        nonce: Option<u64>,
        /// JSON file with the fields, or - for stdin.
        #[arg(default_value = "-")]
        input: String,
    },
    /// Verify a receipt offline against a trusted checkpoint. Exits 0 only when verified; 1 when
    /// not; 3 when the proof holds but a contract's charter rules were not checked (no
    /// --charter: no charter, no "verified").
    ///
    /// With --evidence instead of --receipt: check equivocation evidence (two blocks at one
    /// height, each certified by the trusted validator set), as the browser widget downloads it.
    ///
    /// With --relay, --scenario and --index instead: fetch the record from a relay and verify it
    /// as the browser widget does — epoch hand-overs followed from the trusted checkpoint, the
    /// scenario's charter verified as its record 0 and the record checked against it.
    Verify {
        /// The receipt (base64url text, as `?format=receipt` returns), a file or - for stdin.
        #[arg(
            long,
            required_unless_present_any = ["evidence", "relay"],
            conflicts_with_all = ["evidence", "relay"]
        )]
        receipt: Option<String>,
        /// A relay's base URL to fetch the record from (with --scenario and --index).
        #[arg(
            long,
            requires_all = ["scenario", "index"],
            conflicts_with_all = ["evidence", "charter"]
        )]
        relay: Option<String>,
        /// The record's scenario (with --relay).
        #[arg(long, requires = "relay")]
        scenario: Option<String>,
        /// The record's index (with --relay).
        #[arg(long, requires = "relay")]
        index: Option<u64>,
        /// Equivocation evidence: the widget's downloaded JSON (its `bytes` field) or the hex
        /// of its canonical encoding; a file or - for stdin. Exits 0 only when it proves that
        /// the trusted validators certified two different blocks at one height.
        #[arg(long)]
        evidence: Option<String>,
        /// The trusted checkpoint JSON (as `GET /v1/trust` returns), kept from a source you trust.
        #[arg(long)]
        trust: PathBuf,
        /// The scenario's charter JSON, to check the record's schema and rules too (without it a
        /// contract's receipt is at best "proof holds, rules not checked", exit 3).
        #[arg(long)]
        charter: Option<PathBuf>,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create a new ed25519 key and print its public key.
    New {
        /// Where to write the secret key (mode 0600; never overwritten).
        #[arg(long, default_value = "trustchain.key")]
        out: PathBuf,
    },
    /// Print the public key of a secret key file.
    Show {
        /// The secret key file.
        key: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                // Malachite logs every vote at INFO: quiet unless asked for.
                "info,tower_http=warn,informalsystems_malachitebft_core_consensus=warn".into()
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Dev {
            data_dir,
            listen,
            block_interval_ms,
            no_demo,
            demo_records,
            demo_every_ms,
            web_dir,
            webrtc_port,
            ws_port,
            misbehave,
        } => {
            let cfg = node::DevConfig {
                data_dir,
                listen,
                block_interval: Duration::from_millis(block_interval_ms),
                demo: !no_demo,
                demo_records,
                demo_every: Duration::from_millis(demo_every_ms),
                web_dir: web_dir.or_else(node::default_web_dir),
                webrtc_port,
                ws_port,
                misbehave,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(node::run_dev(cfg, shutdown_signal()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            config,
            data_dir,
            listen,
            bootstrap,
            no_demo,
            print_config,
            misbehave_chain,
        } => {
            if print_config {
                print!("{}", config::EXAMPLE_CONFIG);
                return Ok(ExitCode::SUCCESS);
            }
            let path = config.expect("clap requires --config without --print-config");
            let mut cfg = RelayConfig::load(&path)?;
            let flags = Overrides {
                data_dir,
                http_listen: listen,
                bootstrap: (!bootstrap.is_empty()).then_some(bootstrap),
                no_demo,
            };
            cfg.apply(&Overrides::from_env()?.then(flags));
            let mut net = cfg.into_network_config()?;
            if let Some(m) = misbehave_chain {
                eprintln!(
                    "WARNING: --misbehave-chain {m:?}: this relay deliberately proposes invalid blocks (for testing the other relays)"
                );
                net.misbehave = Some(m);
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(node::run_network(net, shutdown_signal()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Devnet {
            nodes,
            dir,
            base_port,
            fresh,
            no_demo,
            init_only,
            writes_per_unit,
        } => {
            let dir = dir.unwrap_or_else(devnet::default_dir);
            let net = devnet::init(&devnet::DevnetOptions {
                dir,
                nodes: nodes.map(|n| n as usize),
                base_port,
                demo: !no_demo,
                fresh,
                writes_per_unit,
            })?;
            if init_only {
                print!("{}", net.describe());
                return Ok(ExitCode::SUCCESS);
            }
            let exe = std::env::current_exe().context("cannot find this program's path")?;
            let args: Vec<String> = if no_demo {
                vec!["--no-demo".into()]
            } else {
                vec![]
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let clean = rt.block_on(devnet::supervise(&net, &exe, &args, shutdown_signal()))?;
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Key { command } => {
            match command {
                KeyCommand::New { out } => {
                    let k = keys::generate()?;
                    keys::save(&out, &k)?;
                    println!("{}", PublicKey::of(&k));
                    eprintln!("secret key written to {}", out.display());
                }
                KeyCommand::Show { key } => println!("{}", PublicKey::of(&keys::load(&key)?)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Submit {
            relay,
            key,
            scenario,
            kind,
            nonce,
            input,
        } => submit(&relay, &key, &scenario, &kind, nonce, &input),
        Command::Verify {
            receipt,
            relay,
            scenario,
            index,
            evidence,
            trust,
            charter,
            json,
        } => match (receipt, evidence, relay, scenario, index) {
            (_, Some(evidence), ..) => verify_cli::verify_evidence(&evidence, &trust),
            (Some(receipt), ..) => verify_cli::verify(&receipt, &trust, charter.as_deref(), json),
            (None, None, Some(relay), Some(scenario), Some(index)) => {
                verify_cli::verify_online(&relay, &scenario, index, &trust, json)
            }
            _ => unreachable!("clap requires --receipt, --evidence or --relay with its record"),
        },
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn parse_bootstrap(s: &str) -> Result<libp2p::Multiaddr, String> {
    config::parse_bootstrap_addr(s).map_err(|e| format!("{e:#}"))
}

fn read_input(arg: &str) -> anyhow::Result<Vec<u8>> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(16 << 20)
            .read_to_end(&mut buf)
            .context("reading stdin")?;
        Ok(buf)
    } else {
        let meta = std::fs::metadata(arg).with_context(|| format!("cannot read {arg}"))?;
        if meta.len() > 16 << 20 {
            bail!("{arg} is larger than 16 MiB");
        }
        std::fs::read(arg).with_context(|| format!("cannot read {arg}"))
    }
}

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn submit(
    relay: &str,
    key: &std::path::Path,
    scenario: &str,
    kind: &str,
    nonce: Option<u64>,
    input: &str,
) -> anyhow::Result<ExitCode> {
    let key = keys::load(key)?;
    let id = ScenarioId::new(scenario).map_err(|e| anyhow::anyhow!("--scenario: {e}"))?;
    let enc = id.as_str().replace('/', "%2F");
    let base = relay.trim_end_matches('/');
    let agent = http();
    let mut res = agent
        .get(&format!("{base}/v1/scenarios/{enc}"))
        .call()
        .with_context(|| format!("cannot reach relay {base}"))?;
    let body: serde_json::Value = res.body_mut().read_json().context("relay answer")?;
    if !res.status().is_success() {
        bail!("relay: {}", body["message"].as_str().unwrap_or("error"));
    }
    let charter = serde_json::from_value::<ScenarioInfo>(body)
        .ok()
        .and_then(|info| info.charter)
        .context("the relay's charter")?;
    let record_kind = charter.kind(kind).ok_or_else(|| {
        let kinds: Vec<_> = charter
            .content
            .kinds
            .iter()
            .map(|k| k.name.as_str())
            .collect();
        anyhow::anyhow!(
            "scenario {id} has no record kind `{kind}` (kinds: {})",
            kinds.join(", ")
        )
    })?;
    let json: serde_json::Value =
        serde_json::from_slice(&read_input(input)?).context("the input is not JSON")?;
    let items = match json {
        serde_json::Value::Array(v) => v,
        one => vec![one],
    };
    let now = trustchain_relay::node::Now::real().wall_ms;
    let first_nonce = nonce.unwrap_or(now * 1000);
    let mut contracts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f =
            fields::from_json(record_kind, item).map_err(|e| anyhow::anyhow!("record {i}: {e}"))?;
        contracts.push(
            UnsignedContract {
                scenario: id.clone(),
                kind: kind.to_string(),
                author: PublicKey::of(&key),
                nonce: first_nonce + i as u64,
                time_ms: now,
                body: trustchain_core::scenario::contract::Body::Fields(f),
                attachments: vec![],
            }
            .sign(&key),
        );
    }
    let mut res = agent
        .post(&format!("{base}/v1/scenarios/{enc}/contracts"))
        .send_json(&contracts)
        .with_context(|| format!("cannot reach relay {base}"))?;
    let body: serde_json::Value = res.body_mut().read_json().context("relay answer")?;
    if res.status().is_success() {
        println!("{}", serde_json::to_string_pretty(&body)?);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "refused ({}): {}",
            body["error"].as_str().unwrap_or("error"),
            body["message"].as_str().unwrap_or("")
        );
        Ok(ExitCode::from(1))
    }
}
