//! Crash safety: run the real binary, stream contracts from several clients, SIGKILL it at random
//! moments, restart it, and check that every acknowledged contract is there with a proof that
//! verifies, and that each new checkpoint is consistent with every earlier one.
//!
//! `TRUSTCHAIN_CRASH_CYCLES` sets the number of kill/restart cycles (default 20; the soak script
//! `relay-node/tests/soak.sh` runs many more).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::merkle::log::ConsistencyProof;
use trustchain_core::scenario::checkpoint::SignedCheckpoint;
use trustchain_core::scenario::contract::Contract;
use trustchain_core::scenario::entry::Entry;
use trustchain_core::verify::light_client::{LightClient, TrustedCheckpoint};

const CLIENTS: usize = 4;

/// A tiny deterministic generator (the seed is printed so a failing run can be replayed).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Clone)]
struct Acked {
    index: u64,
    contract: Contract,
}

fn wait_anchored(url: &str, at_least: u64) -> SignedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get_json(&format!("{url}/v1/scenarios/{}", enc(SCENARIO)));
        assert_eq!(status, 200, "{body}");
        if !body["head_checkpoint"].is_null() {
            let cp: SignedCheckpoint =
                serde_json::from_value(body["head_checkpoint"].clone()).unwrap();
            if cp.checkpoint.size >= at_least {
                return cp;
            }
        }
        assert!(
            Instant::now() < deadline,
            "checkpoint never reached size {at_least}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn check_record(url: &str, trust: &TrustedCheckpoint, a: &Acked) {
    let (status, text) = get_text(&format!(
        "{url}/v1/scenarios/{}/records/{}?format=receipt",
        enc(SCENARIO),
        a.index
    ));
    assert_eq!(status, 200, "record {}: {text}", a.index);
    let proof = trustchain_core::verify::receipt::from_base64url(&text).expect("receipt decodes");
    assert_eq!(
        proof.entry,
        Entry::Contract(a.contract.clone()),
        "record {} is not the acknowledged contract",
        a.index
    );
    let verdict = LightClient::new(trust.clone()).verify_record(&proof, None);
    assert!(
        verdict.is_verified(),
        "record {}: {:?}",
        a.index,
        verdict.outcome
    );
}

#[test]
fn sigkill_never_loses_an_acknowledged_contract() {
    let cycles: usize = std::env::var("TRUSTCHAIN_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("TRUSTCHAIN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7275_7374);
    eprintln!("crash test: {cycles} cycles, seed {seed}");
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let owner = key(1);
    let authors: Vec<_> = (0..CLIENTS).map(|i| key(10 + i as u8)).collect();
    let writers: Vec<_> = authors
        .iter()
        .map(trustchain_core::crypto::PublicKey::of)
        .collect();

    // Found the scenario and take the trusted checkpoint once; every later run must still be
    // verifiable under the same validator set.
    let relay = Relay::start(dir.path(), &["--no-demo"]);
    let (status, body) = post_json(
        &format!("{}/v1/scenarios", relay.url),
        &charter(&owner, &writers),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (_, trust) = get_json(&format!("{}/v1/trust", relay.url));
    let trust: TrustedCheckpoint = serde_json::from_value(trust).unwrap();
    relay.kill();

    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let mut roots: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut total_checked = 0usize;

    for cycle in 0..cycles {
        let relay = Relay::start(dir.path(), &["--no-demo"]);
        let url = relay.url.clone();

        // Everything acknowledged before the last kill must be there, with a verifying proof.
        let before: Vec<Acked> = acked.lock().unwrap().clone();
        let needed = before.iter().map(|a| a.index + 1).max().unwrap_or(1);
        let cp = wait_anchored(&url, needed);
        let fresh_from = before.len().saturating_sub(200);
        for a in &before[fresh_from..] {
            check_record(&url, &trust, a);
            total_checked += 1;
        }
        // The new checkpoint extends every earlier one.
        for (&size, root) in &roots {
            if size > cp.checkpoint.size {
                continue;
            }
            let (status, body) = get_json(&format!(
                "{url}/v1/scenarios/{}/consistency?from={size}&to={}",
                enc(SCENARIO),
                cp.checkpoint.size
            ));
            assert_eq!(status, 200, "{body}");
            let proof: ConsistencyProof = serde_json::from_value(body["proof"].clone()).unwrap();
            proof
                .verify(root, &cp.checkpoint.root)
                .unwrap_or_else(|e| panic!("cycle {cycle}: checkpoint {size} not extended: {e}"));
        }
        roots.insert(cp.checkpoint.size, cp.checkpoint.root);

        // Stream from several clients, then kill at a random moment.
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for (c, author) in authors.iter().enumerate() {
            let (url, stop, acked, author) =
                (url.clone(), stop.clone(), acked.clone(), author.clone());
            let mut local = Rng(rng.next() | 1);
            handles.push(std::thread::spawn(move || {
                let mut seq = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = 1 + (local.next() % 8) as usize;
                    let batch: Vec<Contract> = (0..n)
                        .map(|_| {
                            seq += 1;
                            let nonce = (cycle as u64) << 32 | seq;
                            entry(&author, nonce, seq as i64, &format!("c{c}"))
                        })
                        .collect();
                    match post_json(
                        &format!("{url}/v1/scenarios/{}/contracts", enc(SCENARIO)),
                        &batch,
                    ) {
                        Ok((201, body)) => {
                            let indices: Vec<u64> =
                                serde_json::from_value(body["indices"].clone()).unwrap();
                            let mut a = acked.lock().unwrap();
                            for (index, contract) in indices.into_iter().zip(batch) {
                                a.push(Acked { index, contract });
                            }
                        }
                        Ok((status, body)) => panic!("unexpected refusal {status}: {body}"),
                        // The relay died mid-request: this batch was never acknowledged.
                        Err(_) => break,
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(30 + rng.next() % 300));
        relay.kill();
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().expect("client thread");
        }
    }

    // Finally every acknowledged contract, from every cycle.
    let relay = Relay::start(dir.path(), &["--no-demo"]);
    let all = acked.lock().unwrap().clone();
    let needed = all.iter().map(|a| a.index + 1).max().unwrap_or(1);
    wait_anchored(&relay.url, needed);
    let mut seen = std::collections::HashSet::new();
    for a in &all {
        assert!(seen.insert(a.index), "index {} acknowledged twice", a.index);
        check_record(&relay.url, &trust, a);
    }
    eprintln!(
        "crash test: {} contracts acknowledged over {cycles} SIGKILLs, all present and verified ({total_checked} checked after restarts)",
        all.len()
    );
    assert!(
        all.len() > cycles,
        "too few contracts acknowledged to mean anything"
    );
}
