//! `trustchain-relay devnet --init-only` and `run --print-config`, through the built binary.

use std::path::Path;
use std::process::Command;

use trustchain_relay::app::config::RelayConfig;
use trustchain_relay::app::devnet::peer_id;

fn relay() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trustchain-relay"));
    // The children of a devnet must not see these; neither should the tests.
    for v in trustchain_relay::app::config::Overrides::ENV_VARS {
        c.env_remove(v);
    }
    c
}

fn init_only(dir: &Path, extra: &[&str]) -> std::process::Output {
    relay()
        .args(["devnet", "--init-only", "--base-port", "27000", "--dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn init_only_writes_configs_that_load_one_genesis_and_bootstrap_from_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("devnet");
    let n = 4;
    let out = init_only(&dir, &["--nodes", "4"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("created in"), "{stdout}");

    let mut hashes = Vec::new();
    let mut p2p = Vec::new();
    let mut nets = Vec::new();
    for i in 0..n {
        let cfg = RelayConfig::load(&dir.join(format!("node-{i}/relay.toml"))).unwrap();
        let net = cfg.into_network_config().unwrap();
        let key = trustchain_relay::app::keys::load(&net.key_file).unwrap();
        let peer = peer_id(&key).unwrap();
        assert!(
            net.genesis
                .node(&trustchain_core::crypto::PublicKey::of(&key))
                .is_some(),
            "node-{i}'s key is a genesis validator"
        );
        assert_eq!(net.http_listen.port(), 27000 + i as u16);
        assert_eq!(net.demo, i == 0, "the demo runs on node 0 only");
        assert!(stdout.contains(&peer.to_string()), "{stdout}");
        hashes.push(net.genesis.hash());
        p2p.push((net.p2p_listen.clone(), peer));
        nets.push(net);
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "one genesis");
    assert_eq!(nets[0].genesis.validators.validators.len(), n);
    for (i, net) in nets.iter().enumerate() {
        assert_eq!(net.bootstrap.len(), n - 1);
        for (j, (listen, peer)) in p2p.iter().enumerate() {
            let named = net.bootstrap.iter().any(|b| {
                *b == listen[0]
                    .clone()
                    .with(libp2p::multiaddr::Protocol::P2p(*peer))
            });
            assert_eq!(named, i != j, "node-{i}'s bootstrap and node-{j}");
        }
    }

    // A second run reuses the directory: same genesis, same keys.
    let out = init_only(&dir, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&hashes[0].to_string()), "{stdout}");
    // A different node count is refused, and says how to proceed.
    let out = init_only(&dir, &["--nodes", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("devnet of 4 nodes, not 3") && stderr.contains("--fresh"),
        "{stderr}"
    );
}

#[test]
fn print_config_prints_a_config_that_parses() {
    let out = relay().args(["run", "--print-config"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, trustchain_relay::app::config::EXAMPLE_CONFIG);
    RelayConfig::parse(&text).unwrap();
}

#[test]
fn run_reports_config_errors_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("relay.toml");
    std::fs::write(
        &path,
        "data_dir = \"d\"\ngenesis = \"g.json\"\nlisten = 1\n",
    )
    .unwrap();
    let out = relay()
        .arg("run")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("relay.toml") && stderr.contains("line 3") && stderr.contains("`listen`"),
        "{stderr}"
    );
    let out = relay().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--print-config > relay.toml"), "{help}");
}
