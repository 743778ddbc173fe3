//! A real 4-relay network on loopback: `devnet --init-only`, then one `run --config` process per
//! relay. Contracts are submitted while one validator is SIGKILLed and later restarted with its
//! database wiped. Checked throughout: finality goes on with 3 of 4, no two relays ever hold
//! different blocks at one height, every acknowledged contract has a proof that verifies from
//! the genesis, and the wiped relay catches up by sync and votes again.

mod common;

use common::devnet::*;
use common::get_text;
use trustchain_core::light_client::TrustedCheckpoint;

/// A running 4-relay devnet in a temporary directory, the trust in its block 0 (as a verifier
/// holding only the genesis has), and a writer of the test scenario on node 0.
fn running_devnet() -> (tempfile::TempDir, Vec<Node>, TrustedCheckpoint, Writer) {
    let tmp = tempfile::tempdir().unwrap();
    let mut nodes = devnet(&tmp.path().join("devnet"));
    for n in nodes.iter_mut() {
        n.start();
    }
    let trust = genesis_trust(&nodes[0]);
    let w = Writer::open(&nodes[0]);
    (tmp, nodes, trust, w)
}

#[test]
fn four_relays_stay_final_through_a_sigkill_and_a_wiped_restart() {
    let (tmp, mut nodes, trust, mut w) = running_devnet();

    // 1. All four up.
    for _ in 0..5 {
        w.submit(&nodes[0], 4);
    }
    let h1 = wait_anchored(&nodes[0], w.all());
    wait_height(&nodes.iter().collect::<Vec<_>>(), h1, "all four");

    // 2. SIGKILL a validator that does not hold the scenario: 3 of 4 (weight 3/4 > 2/3) go on.
    nodes[3].kill();
    for _ in 0..5 {
        w.submit(&nodes[0], 3);
    }
    let h2 = wait_anchored(&nodes[0], w.all());
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
    w.submit(&nodes[0], 2);
    let h3 = wait_anchored(&nodes[0], w.all());
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
    w.verify_all(&nodes[0], trust);
}

/// PoSR on a real network: epochs change every 10 s on a devnet (2 s windows, 5 per epoch); a
/// validator that is down for whole epochs is observed down by the others, so the chain gives it
/// less weight than the validators that stayed up; records anchored across the epoch changes
/// verify from the genesis alone, following every change.
#[test]
fn weights_follow_observed_uptime_across_epoch_changes() {
    let (_tmp, mut nodes, trust, mut w) = running_devnet();
    w.submit(&nodes[0], 3);
    wait_anchored(&nodes[0], w.all());
    let down = nodes[3].validator_key();
    nodes[3].kill();

    // Wait for two epoch changes after the kill: the first epoch with node 3 down is closed by
    // the second change at the latest.
    let start = epoch_changes(&nodes[0]).len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while epoch_changes(&nodes[0]).len() < start + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no two epoch changes within 60 s"
        );
        w.submit(&nodes[0], 1);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    wait_anchored(&nodes[0], w.all());
    let live: Vec<&Node> = nodes[..3].iter().collect();
    assert_one_chain(&live);

    let changes = epoch_changes(&nodes[0]);
    let last = &changes.last().expect("an epoch change").next;
    let weight = |k: &trustchain_core::crypto::PublicKey| {
        last.validators
            .iter()
            .find(|v| v.key == *k)
            .map_or(0, |v| v.weight)
    };
    let up: Vec<u64> = nodes[..3]
        .iter()
        .map(|n| weight(&n.validator_key()))
        .collect();
    eprintln!(
        "epoch {}: weights of the live validators {up:?}, of the one down {}",
        last.epoch,
        weight(&down)
    );
    assert!(
        up.iter().all(|&u| u > weight(&down)),
        "the validator down for an epoch has weight {} against {up:?}",
        weight(&down)
    );
    // The beacon: epoch 0's round is finished by the second change; anyone holding epoch 0's
    // validators (the genesis set) recomputes the value the relay reports.
    let (status, beacon) = common::get_json(&format!("{}/v1/main/beacon", nodes[0].url));
    assert_eq!(status, 200, "{beacon}");
    let first = &beacon["rounds"][0];
    let round: trustchain_core::beacon::BeaconRound =
        serde_json::from_value(first["round"].clone()).expect("a finished beacon round");
    assert_eq!(round.epoch, 0);
    let out = round
        .verify(&trust.chain_id, &trust.validators)
        .expect("the round verifies against the genesis validators");
    assert_eq!(
        serde_json::to_value(out.value).unwrap(),
        first["output"]["value"],
        "the relay's beacon value is the one the round gives"
    );
    assert!(
        !round.commits.is_empty() && !out.revealed.is_empty(),
        "{round:?}"
    );

    // Every record, anchored before and after the changes, verifies from genesis.
    w.verify_all(&nodes[0], trust);
}
