//! Whole relays in one test process, on virtual time (issue 12, item 3).
//!
//! Each relay is the real [`Machine`] over a real redb file in a temp directory; what the
//! network layer would do is done here by a seeded router: gossip goes through the real codec
//! with the network's decode limits, after a delay of 50 ± 20 ms (one way), with injected loss,
//! partitions and crashes (a crashed relay is dropped without `shutdown`, like SIGKILL, and
//! restarted from its data directory). Block sync requests are answered by the same function
//! the libp2p layer uses ([`answer_sync`]). Time is virtual: the router advances the clock to
//! the next delivery or the next deadline any machine asks for, so a minute of consensus runs in
//! the time its signatures and disk writes take, and a seed replays a run exactly.
//!
//! What the multi-process tests (`tests/devnet.rs`, `tests/faults.rs`) catch only slowly and
//! now and then, these catch in seconds and every time: progress and agreement, a minority
//! partition catching up by sync, a 2|2 split that stalls and heals without a retransmission
//! storm, relays killed mid-height that recover from their WAL, epoch hand-overs driven by PoSR
//! observations, and a byzantine relay's forged final blocks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use tokio::sync::watch;
use trustchain_core::chain::posr::Measurements;
use trustchain_core::chain::posr::PosrParams;
use trustchain_core::chain::state::ChainSnapshot;
use trustchain_core::crypto::PublicKey;
use trustchain_core::crypto::hash::Hash;
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode, Encode};
use trustchain_core::scenario::checkpoint::Checkpoint;
use trustchain_relay::app::devnet::DEVNET_WINDOW_MS;
use trustchain_relay::consensus::codec::{
    MAX_SYNC_BLOCKS, NET_LIMITS, NetMessage, SyncRequest, SyncResponse,
};
use trustchain_relay::consensus::{EpochSet, TimeoutConfig};
use trustchain_relay::demo;
use trustchain_relay::ingest::Ingest;
use trustchain_relay::metrics::Metrics;
use trustchain_relay::net::answer_sync;
use trustchain_relay::net::replica::{ReplicaResponse, ReplicaSide, append_from};
use trustchain_relay::node::chain::open_chain;
use trustchain_relay::node::genesis::Genesis;
use trustchain_relay::node::overlay::Overlay;
use trustchain_relay::node::{Input, Machine, MachineConfig, Now, Output};
use trustchain_relay::store::Store;

/// splitmix64: a small seeded generator, so that the router's choices replay from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, ppm: u64) -> bool {
        self.next() % 1_000_000 < ppm
    }
}

struct Relay {
    key: SigningKey,
    dir: PathBuf,
    store: Option<Arc<Store>>,
    machine: Option<Machine<u8>>,
    chain: Option<watch::Receiver<Arc<ChainSnapshot>>>,
    /// Partition group: relays talk only within a group.
    group: u8,
    /// Messages this relay published (for storm checks).
    published: u64,
    /// Its writer, and what a replica needs to answer a home.
    ingest: Option<(Ingest, std::thread::JoinHandle<()>)>,
    side: Option<ReplicaSide>,
}

/// The seeded world: relays, the clock, and messages in flight.
struct World {
    genesis: Genesis,
    relays: Vec<Relay>,
    rng: Rng,
    seed: u64,
    base: Instant,
    wall0: u64,
    t: Duration,
    /// In flight: (delivery time, sequence) → (to, input).
    queue: BTreeMap<(Duration, u64), (usize, Input<u8>)>,
    seq: u64,
    /// Loss of each gossip copy, in parts per million.
    loss_ppm: u64,
    /// Replication requests seen (none: no scenario moves in these tests).
    replicate: u64,
    /// Reconnects the machines asked for.
    reconnects: u64,
    /// Runs the writer's and the replica side's futures (they spawn blocking signature checks).
    rt: Arc<tokio::runtime::Runtime>,
    _tmp: tempfile::TempDir,
}

const CFG: MachineConfig = MachineConfig {
    timeouts: TimeoutConfig::DEVNET,
    idle_block: Duration::from_millis(500),
    checkpoint_delay: Duration::from_millis(200),
    retransmit: Duration::from_millis(200),
    sync_grace: Duration::from_secs(5),
    misbehave: None,
};

impl World {
    fn new(n: usize, seed: u64) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let mut rng = Rng(seed);
        let mut members = Vec::new();
        let mut relays = Vec::new();
        for i in 0..n {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&rng.next().to_le_bytes());
            k[8] = i as u8;
            let key = SigningKey::from_bytes(&k);
            k[9] = 0xff;
            let operator = SigningKey::from_bytes(&k);
            members.push((key.clone(), PublicKey::of(&operator), "default".to_string()));
            relays.push(Relay {
                key,
                dir: tmp.path().join(format!("relay-{i}")),
                store: None,
                machine: None,
                chain: None,
                group: 0,
                published: 0,
                ingest: None,
                side: None,
            });
        }
        let wall0 = 1_767_225_600_000;
        let genesis = Genesis::create("trustchain-sim-1", wall0, &members)
            .unwrap()
            .with_posr(DEVNET_WINDOW_MS, PosrParams::devnet())
            .unwrap();
        let mut w = World {
            genesis,
            relays,
            rng,
            seed,
            base: Instant::now(),
            wall0: wall0 + 1_000,
            t: Duration::ZERO,
            queue: BTreeMap::new(),
            seq: 0,
            loss_ppm: 0,
            replicate: 0,
            reconnects: 0,
            rt: Arc::new(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap(),
            ),
            _tmp: tmp,
        };
        for i in 0..n {
            w.start(i);
        }
        w
    }

    fn now(&self) -> Now {
        Now {
            at: self.base + self.t,
            wall_ms: self.wall0 + self.t.as_millis() as u64,
        }
    }

    /// Starts (or restarts, from its data directory) relay `i`, and connects it to its group.
    fn start(&mut self, i: usize) {
        let now = self.now();
        let r = &mut self.relays[i];
        std::fs::create_dir_all(&r.dir).unwrap();
        let store = Arc::new(Store::open(&r.dir.join("relay.redb")).unwrap());
        let (snap, registry, fresh) = open_chain(&store, &self.genesis).unwrap();
        let metrics = Arc::new(Metrics::default());
        let (ingest, writer) =
            trustchain_relay::ingest::start(store.clone(), metrics.clone()).unwrap();
        r.side = Some(ReplicaSide {
            store: store.clone(),
            ingest: ingest.clone(),
            key: r.key.clone(),
            places: registry.places().clone(),
            metrics: metrics.clone(),
        });
        r.ingest = Some((ingest, writer));
        let epoch = EpochSet::new(snap.next_validators.clone(), registry.seed()).unwrap();
        let (snap_tx, chain) = watch::channel(Arc::new(snap));
        let (overlay_tx, _) = watch::channel(Arc::new(Overlay::default()));
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        seed[8] = i as u8;
        let mut m = Machine::new(
            store.clone(),
            r.key.clone(),
            epoch,
            snap_tx,
            metrics,
            CFG,
            fresh,
            registry,
            overlay_tx,
            now,
        )
        .unwrap()
        .with_entropy_seed(seed);
        m.publish_weights();
        m.recover(now).unwrap();
        r.store = Some(store);
        r.machine = Some(m);
        r.chain = Some(chain);
        self.route(i);
        for j in 0..self.relays.len() {
            if j != i && self.connected(i, j) {
                self.send(i, Input::PeerConnected(j as u8), Duration::from_millis(1));
                self.send(j, Input::PeerConnected(i as u8), Duration::from_millis(1));
            }
        }
    }

    /// Kills relay `i` as SIGKILL would: no WAL flush, nothing more sent.
    fn crash(&mut self, i: usize) {
        let r = &mut self.relays[i];
        r.machine = None;
        r.chain = None;
        r.side = None;
        if let Some((ingest, writer)) = r.ingest.take() {
            drop(ingest);
            writer.join().unwrap();
        }
        r.store = None;
        self.queue.retain(|_, (to, _)| *to != i);
    }

    fn up(&self, i: usize) -> bool {
        self.relays[i].machine.is_some()
    }

    fn connected(&self, i: usize, j: usize) -> bool {
        self.up(i) && self.up(j) && self.relays[i].group == self.relays[j].group
    }

    /// Puts relays in partition groups (`groups[i]` for relay `i`); a heal reconnects.
    fn partition(&mut self, groups: &[u8]) {
        for (r, g) in self.relays.iter_mut().zip(groups) {
            r.group = *g;
        }
        // Messages already in flight across the new cut are lost with the links.
        let groups = groups.to_vec();
        self.queue.retain(|_, (to, input)| match input {
            Input::Net { from, .. } | Input::Synced { from, .. } => {
                groups[*from as usize] == groups[*to]
            }
            _ => true,
        });
    }

    fn heal(&mut self) {
        let n = self.relays.len();
        self.partition(&vec![0; n]);
        for i in 0..n {
            for j in 0..n {
                if i != j && self.connected(i, j) {
                    self.send(i, Input::PeerConnected(j as u8), Duration::from_millis(5));
                }
            }
        }
    }

    fn send(&mut self, to: usize, input: Input<u8>, after: Duration) {
        self.seq += 1;
        self.queue.insert((self.t + after, self.seq), (to, input));
    }

    fn delay(&mut self) -> Duration {
        Duration::from_millis(self.rng.range(30, 70))
    }

    /// Carries out relay `i`'s effects.
    fn route(&mut self, i: usize) {
        let mut outs = Vec::new();
        if let Some(m) = self.relays[i].machine.as_mut() {
            while let Some(o) = m.poll_output() {
                outs.push(o);
            }
        }
        for o in outs {
            match o {
                Output::Publish(msg) => {
                    self.relays[i].published += 1;
                    let bytes = msg.to_bytes();
                    for j in 0..self.relays.len() {
                        if j == i || !self.connected(i, j) || self.rng.chance(self.loss_ppm) {
                            continue;
                        }
                        let msg = NetMessage::from_bytes_with(&bytes, NET_LIMITS)
                            .expect("what a relay publishes decodes under the network's limits");
                        let d = self.delay();
                        self.send(j, Input::Net { from: i as u8, msg }, d);
                    }
                }
                Output::Sync { peer, from } => {
                    let p = peer as usize;
                    if !self.connected(i, p) {
                        continue;
                    }
                    let store = self.relays[p].store.clone().unwrap();
                    let res = answer_sync(
                        &store,
                        SyncRequest::Blocks {
                            from,
                            limit: MAX_SYNC_BLOCKS,
                        },
                    );
                    if let SyncResponse::Blocks(blocks) = res {
                        let d = self.delay() * 2;
                        self.send(i, Input::Synced { from: peer, blocks }, d);
                    }
                }
                Output::Reconnect => {
                    self.reconnects += 1;
                    for j in 0..self.relays.len() {
                        if j != i && self.connected(i, j) {
                            self.send(i, Input::PeerConnected(j as u8), Duration::from_millis(5));
                        }
                    }
                }
                Output::Replicate {
                    checkpoint,
                    replicas,
                } => {
                    self.replicate += 1;
                    for key in replicas {
                        self.replicate_to(i, &checkpoint, &key);
                    }
                }
            }
        }
    }

    /// What the network layer's replication does for one replica: send the entries from what
    /// the replica holds (it answers `Need` with its size), and carry its signature back.
    fn replicate_to(&mut self, home: usize, cp: &Checkpoint, key: &PublicKey) {
        let Some(j) = self
            .relays
            .iter()
            .position(|r| PublicKey::of(&r.key) == *key)
        else {
            return;
        };
        if !self.connected(home, j) {
            return;
        }
        let home_key = PublicKey::of(&self.relays[home].key);
        let store = self.relays[home].store.clone().unwrap();
        let side = self.relays[j].side.clone().unwrap();
        let snap = self.relays[j].chain.as_ref().unwrap().borrow().clone();
        let wall_ms = self.now().wall_ms;
        let rt = self.rt.clone();
        let block_on = |f| rt.block_on(f);
        let mut start = 0;
        for _ in 0..1_000 {
            let req = append_from(&store, cp, start).unwrap();
            match block_on(side.answer(home_key, &snap, wall_ms, req)) {
                ReplicaResponse::Signed(signature) => {
                    assert!(key.verify(&cp.digest(), &signature.signature).is_ok());
                    let d = self.delay() * 2;
                    let input = Input::ReplicaSigned {
                        checkpoint: cp.clone(),
                        signature,
                    };
                    self.send(home, input, d);
                    return;
                }
                ReplicaResponse::Need { size } if size < cp.size && size >= start => start = size,
                _ => return,
            }
        }
    }

    /// Creates the demo scenario at relay `home` and appends `payments` payments to it.
    fn write(&mut self, home: usize, payments: u64, nonce: &mut u64) {
        let (ingest, _) = self.relays[home].ingest.as_ref().unwrap();
        let ingest = ingest.clone();
        let rt = self.rt.clone();
        let t = self.now().wall_ms;
        let owner = SigningKey::from_bytes(&[9; 32]);
        let treasurer = SigningKey::from_bytes(&[8; 32]);
        let scenario = ScenarioId::new(demo::SCENARIO).unwrap();
        let mut g = demo::DemoGen::new(treasurer.clone(), 7);
        if *nonce == 0 {
            rt.block_on(ingest.create(demo::charter(&owner, &PublicKey::of(&treasurer), t)))
                .unwrap();
            rt.block_on(ingest.submit(scenario.clone(), g.budget_lines(1, t)))
                .unwrap();
            *nonce = 100;
        }
        let batch: Vec<_> = (0..payments).map(|k| g.payment(*nonce + k, t)).collect();
        *nonce += payments;
        rt.block_on(ingest.submit(scenario, batch)).unwrap();
        self.send(home, Input::Moved, Duration::from_millis(1));
    }

    fn size(&self, i: usize) -> u64 {
        let scenario = ScenarioId::new(demo::SCENARIO).unwrap();
        let store = self.relays[i].store.as_ref().unwrap();
        store.read().unwrap().size(&scenario).unwrap().unwrap_or(0)
    }

    fn anchored(&self, i: usize) -> u64 {
        let scenario = ScenarioId::new(demo::SCENARIO).unwrap();
        let snap = self.relays[i].chain.as_ref().unwrap().borrow().clone();
        snap.checkpoints
            .get(&scenario)
            .map_or(0, |c| c.checkpoint.size)
    }

    /// Runs the world until virtual time `until`, with each relay reporting PoSR observations
    /// of the relays it can reach at the end of every window (what the probes would measure).
    fn run_until(&mut self, until: Duration) {
        let window = Duration::from_millis(DEVNET_WINDOW_MS);
        let mut steps = 0u64;
        loop {
            steps += 1;
            assert!(steps < 5_000_000, "the world does not advance");
            let next_msg = self.queue.keys().next().map(|(t, _)| *t);
            let next_timer = (0..self.relays.len())
                .filter_map(|i| self.relays[i].machine.as_ref())
                .map(|m| m.poll_timeout().saturating_duration_since(self.base))
                .min();
            let next_window = (self.t.as_millis() as u64 / window.as_millis() as u64 + 1)
                * window.as_millis() as u64;
            let next_window = Duration::from_millis(next_window);
            let t = [next_msg, next_timer, Some(next_window)]
                .into_iter()
                .flatten()
                .min()
                .unwrap();
            if t > until {
                self.t = until;
                return;
            }
            self.t = self.t.max(t);
            let now = self.now();
            if next_msg.is_some_and(|m| m <= self.t) {
                let key = *self.queue.keys().next().unwrap();
                let (to, input) = self.queue.remove(&key).unwrap();
                if let Some(m) = self.relays[to].machine.as_mut() {
                    m.handle_input(now, input);
                    m.handle_timeout(now);
                    self.route(to);
                }
                continue;
            }
            if next_window <= self.t {
                self.observe(now);
            }
            for i in 0..self.relays.len() {
                let due = self.relays[i]
                    .machine
                    .as_ref()
                    .is_some_and(|m| m.poll_timeout() <= now.at);
                if due {
                    self.relays[i].machine.as_mut().unwrap().handle_timeout(now);
                    self.route(i);
                }
            }
        }
    }

    /// Every relay reports the window that just ended: the relays it reached, up; others, down.
    fn observe(&mut self, now: Now) {
        let window = now.wall_ms / DEVNET_WINDOW_MS - 1;
        let keys: Vec<PublicKey> = self.relays.iter().map(|r| PublicKey::of(&r.key)).collect();
        for i in 0..self.relays.len() {
            if !self.up(i) {
                continue;
            }
            let measured = (0..self.relays.len())
                .filter(|j| *j != i)
                .map(|j| {
                    let m = if self.connected(i, j) {
                        Measurements {
                            heartbeat_ppm: 1_000_000,
                            reachability_ppm: 1_000_000,
                            rtt_us: 50_000,
                            bandwidth_kbps: 100_000,
                        }
                    } else {
                        Measurements::DOWN
                    };
                    (keys[j], m)
                })
                .collect();
            let m = self.relays[i].machine.as_mut().unwrap();
            m.handle_input(now, Input::Observations { window, measured });
            self.route(i);
        }
    }

    fn head(&self, i: usize) -> (u64, Hash, u64) {
        let snap = self.relays[i].chain.as_ref().unwrap().borrow().clone();
        (
            snap.head.header.height,
            snap.head_hash,
            snap.head.header.epoch,
        )
    }

    fn heights(&self) -> Vec<u64> {
        (0..self.relays.len())
            .filter(|i| self.up(*i))
            .map(|i| self.head(i).0)
            .collect()
    }

    /// Safety: every height any two live relays both hold is the same block.
    fn assert_agreement(&self) -> Vec<Hash> {
        let stores: Vec<&Arc<Store>> = self
            .relays
            .iter()
            .filter_map(|r| r.store.as_ref())
            .collect();
        let top = (0..self.relays.len())
            .filter(|i| self.up(*i))
            .map(|i| self.head(i).0)
            .max()
            .unwrap();
        let mut hashes = Vec::new();
        for h in 0..=top {
            let mut seen: Option<Hash> = None;
            for s in &stores {
                if let Some(b) = s.read().unwrap().block(h).unwrap() {
                    let hash = b.header.hash();
                    if let Some(prev) = seen {
                        assert_eq!(prev, hash, "two relays hold different blocks at height {h}");
                    }
                    seen = Some(hash);
                }
            }
            hashes.extend(seen);
        }
        hashes
    }
}

#[test]
fn four_relays_agree_on_virtual_time_and_a_seed_replays_exactly() {
    let run = |seed: u64| {
        let mut w = World::new(4, seed);
        w.loss_ppm = 20_000;
        w.run_until(Duration::from_secs(20));
        let heights = w.heights();
        assert!(
            heights.iter().all(|h| *h >= 10),
            "20 s of 500 ms idle blocks with 2% loss: {heights:?}"
        );
        assert_eq!(w.replicate, 0);
        eprintln!("seed {seed}: heights {heights:?} after 20 virtual seconds");
        w.assert_agreement()
    };
    let a = run(7);
    let b = run(7);
    assert_eq!(a, b, "the same seed must give the same chain");
    let c = run(8);
    assert_ne!(a, c, "another seed gives other block times and leaders");
}

#[test]
fn a_partitioned_relay_catches_up_by_sync_after_the_heal() {
    let mut w = World::new(4, 11);
    w.run_until(Duration::from_secs(3));
    w.partition(&[0, 0, 0, 1]);
    w.run_until(Duration::from_secs(13));
    let (ahead, _, _) = w.head(0);
    let (behind, _, _) = w.head(3);
    assert!(
        ahead >= behind + 5,
        "3 of 4 go on alone: {ahead} vs {behind}"
    );
    w.heal();
    w.run_until(Duration::from_secs(18));
    let heights = w.heights();
    let max = *heights.iter().max().unwrap();
    assert!(
        heights.iter().all(|h| *h + 1 >= max),
        "the minority relay caught up: {heights:?}"
    );
    w.assert_agreement();
}

#[test]
fn a_two_two_split_stalls_safely_without_a_storm_and_heals() {
    let mut w = World::new(4, 23);
    w.run_until(Duration::from_secs(3));
    let before = w.heights();
    w.partition(&[0, 0, 1, 1]);
    let published: Vec<u64> = w.relays.iter().map(|r| r.published).collect();
    w.run_until(Duration::from_secs(23));
    let during = w.heights();
    // No side has more than 2/3 of the weight: at most the height in flight at the cut ends.
    for (b, d) in before.iter().zip(&during) {
        assert!(
            *d <= b + 1,
            "a half decided alone: {before:?} -> {during:?}"
        );
    }
    // The storm of 2026 (750 messages a second from one relay after a 2|2 split): bounded now.
    for (r, p0) in w.relays.iter().zip(&published) {
        let rate = (r.published - p0) / 20;
        assert!(
            rate < 60,
            "a relay published {rate} messages a second in the split"
        );
    }
    assert!(w.reconnects > 0, "a stalled relay redials");
    w.heal();
    w.run_until(Duration::from_secs(43));
    let after = w.heights();
    eprintln!(
        "2|2 split: {before:?} -> {during:?} -> {after:?}, {} reconnects",
        w.reconnects
    );
    let max_during = *during.iter().max().unwrap();
    assert!(
        after.iter().all(|h| *h >= max_during + 5),
        "progress after the heal: {during:?} -> {after:?}"
    );
    w.assert_agreement();
}

#[test]
fn relays_killed_mid_height_recover_from_their_wal_and_never_fork() {
    let mut w = World::new(4, 31);
    let mut t = Duration::from_secs(2);
    for round in 0..6 {
        let victim = round % 4;
        // A kill at an odd moment: some milliseconds into whatever is in progress.
        t += Duration::from_millis(w.rng.range(300, 1_700));
        w.run_until(t);
        w.crash(victim);
        t += Duration::from_millis(w.rng.range(100, 1_500));
        w.run_until(t);
        w.start(victim);
    }
    t += Duration::from_secs(8);
    w.run_until(t);
    let heights = w.heights();
    eprintln!("after six kills: {heights:?}");
    let max = *heights.iter().max().unwrap();
    assert!(
        max >= 10,
        "the chain went on through six kills: {heights:?}"
    );
    assert!(
        heights.iter().all(|h| *h + 1 >= max),
        "all caught up: {heights:?}"
    );
    w.assert_agreement();
}

#[test]
fn epochs_hand_over_on_posr_observations() {
    let mut w = World::new(4, 41);
    // devnet PoSR: 2 s windows, 5 windows an epoch.
    w.run_until(Duration::from_secs(35));
    let epochs: Vec<u64> = (0..4).map(|i| w.head(i).2).collect();
    eprintln!("epochs {epochs:?} at heights {:?}", w.heights());
    assert!(
        epochs.iter().all(|e| *e >= 2),
        "two epoch changes in 35 s: {epochs:?}"
    );
    w.assert_agreement();
}

#[test]
fn a_forged_final_block_is_refused_and_the_chain_goes_on() {
    let mut w = World::new(4, 53);
    w.run_until(Duration::from_secs(3));
    // Relay 3 turns byzantine: it gossips the next block with a certificate copied from the
    // head (signatures over another block) and a time of its choosing.
    let (h, _, _) = w.head(0);
    let store = w.relays[0].store.clone().unwrap();
    let head = store.read().unwrap().block(h).unwrap().unwrap();
    let mut forged = head.clone();
    forged.header.height = h + 1;
    forged.header.prev = head.header.hash();
    forged.header.time_ms += 1;
    let fb = trustchain_core::chain::block::FinalBlock {
        block: forged,
        body: Default::default(),
    };
    let bytes = NetMessage::Block(Box::new(fb)).to_bytes();
    for to in 0..3 {
        let msg = NetMessage::from_bytes_with(&bytes, NET_LIMITS).unwrap();
        w.send(to, Input::Net { from: 3, msg }, Duration::from_millis(1));
    }
    w.run_until(Duration::from_secs(8));
    let heights = w.heights();
    assert!(heights.iter().all(|x| *x >= h + 5), "{heights:?}");
    let hashes = w.assert_agreement();
    assert_ne!(
        hashes[(h + 1) as usize],
        NetMessage::from_bytes_with(&bytes, NET_LIMITS)
            .map(|m| match m {
                NetMessage::Block(b) => b.block.header.hash(),
                _ => unreachable!(),
            })
            .unwrap(),
        "the forged block was not taken"
    );
}

#[test]
fn a_replica_that_was_down_catches_up_with_the_anchored_log() {
    let mut w = World::new(4, 61);
    let mut nonce = 0;
    w.run_until(Duration::from_secs(2));
    w.write(0, 20, &mut nonce);
    w.run_until(Duration::from_secs(4));
    let anchored = w.anchored(1);
    assert_eq!(anchored, w.size(0), "the first records are anchored");
    let holders: Vec<usize> = (1..4).filter(|j| w.size(*j) == anchored).collect();
    assert!(!holders.is_empty(), "replicas hold the log");
    // One replica goes down; the home writes on; the others anchor without it.
    let down = holders[0];
    w.crash(down);
    for k in 0..10 {
        w.write(0, 30, &mut nonce);
        w.run_until(Duration::from_secs(5 + k));
    }
    w.run_until(Duration::from_secs(16));
    let anchored = w.anchored(0);
    assert_eq!(
        anchored,
        w.size(0),
        "anchored without the replica that is down"
    );
    // Back up, it catches up from the home's trailing re-sends and serves proofs again.
    w.start(down);
    w.run_until(Duration::from_secs(30));
    eprintln!(
        "replica {down}: holds {} of {} anchored ({} replication requests)",
        w.size(down),
        w.anchored(down),
        w.replicate
    );
    assert_eq!(w.anchored(down), anchored);
    assert_eq!(w.size(down), anchored, "the replica caught up");
    let store = w.relays[down].store.clone().unwrap();
    let snap = w.relays[down].chain.as_ref().unwrap().borrow().clone();
    let scenario = ScenarioId::new(demo::SCENARIO).unwrap();
    let proof = trustchain_relay::query::record_proof(&store, &snap, &scenario, anchored - 1, None)
        .map_err(|e| e.message)
        .unwrap();
    assert_eq!(proof.checkpoint.checkpoint.size, anchored);
    w.assert_agreement();
}
