//! A real 4-relay network on loopback: `devnet --init-only`, then one `run --config` process per
//! relay. Contracts are submitted while one validator is SIGKILLed and later restarted with its
//! database wiped. Checked throughout: finality goes on with 3 of 4, no two relays ever hold
//! different blocks at one height, every acknowledged contract has a proof that verifies from
//! the genesis, and the wiped relay catches up by sync and votes again.

mod common;

use common::devnet::*;
use common::get_text;

#[test]
fn four_relays_stay_final_through_a_sigkill_and_a_wiped_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut nodes = devnet(&tmp.path().join("devnet"));
    for n in nodes.iter_mut() {
        n.start();
    }
    // Trust block 0 itself, as a verifier holding only the genesis would.
    let trust = genesis_trust(&nodes[0]);
    let mut w = Writer::open(&nodes[0]);

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
