//! PoSR tests: unit tests of each rule, then seeded simulations (replayable: same seed, same run)
//! of whole networks in simulated time. The `println!` tables are the figures in `docs/posr.md`
//! (`cargo test -p trustchain-core posr -- --nocapture --test-threads 1`).

use super::*;
use alloc::vec;
use std::println;

const CHAIN: &str = "posr-test";

/// Small parameters so simulations run in milliseconds: 4 windows per epoch, confirmation after
/// 16 consecutive up windows (4 epochs), runtime saturating at 64 windows, operator cap 20 %.
fn params() -> PosrParams {
    PosrParams {
        windows_per_epoch: 4,
        min_observers: 3,
        up_threshold_ppm: 950_000,
        max_rtt_us: 1_000_000,
        confirmation_windows: 16,
        unconfirm_after_windows: 16,
        ramp_windows: 8,
        decay_ppm: 100_000,
        runtime_saturation_windows: 64,
        capacity_saturation_kbps: 1_000_000,
        capacity_floor_ppm: 500_000,
        capacity_smoothing_ppm: 250_000,
        operator_cap_ppm: 200_000,
        max_validators: 16,
        penalty_ppm: 500_000,
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn signing_key(seed: u64) -> SigningKey {
    let mut b = [0x5au8; 32];
    b[..8].copy_from_slice(&seed.to_be_bytes());
    SigningKey::from_bytes(&b)
}

fn operator_key(op: u64) -> SigningKey {
    signing_key(1_000_000 + op)
}

/// When a simulated node is up.
#[derive(Clone, Copy, Debug)]
enum Up {
    Always,
    Never,
    /// `up` windows up, then `down` windows down, repeating.
    Cycle {
        up: u64,
        down: u64,
    },
    /// Down in windows `from..to`.
    DownBetween(u64, u64),
}

impl Up {
    fn at(self, w: u64) -> bool {
        match self {
            Up::Always => true,
            Up::Never => false,
            Up::Cycle { up, down } => w % (up + down) < up,
            Up::DownBetween(a, b) => !(a..b).contains(&w),
        }
    }
}

/// What a lying observer reports about its target.
#[derive(Clone, Copy, Debug)]
enum Lie {
    /// Reports the target unreachable.
    Deflate,
    /// Reports the target perfect.
    Inflate,
}

#[derive(Clone, Copy, Debug)]
struct Spec {
    op: u64,
    up: Up,
    bandwidth_kbps: u32,
    /// The epoch at which it registers; 0 = in the genesis.
    joins: u64,
    /// Lies about the nodes of these indices.
    lies: Option<(Lie, [Option<usize>; 2])>,
}

fn node(op: u64, up: Up, bandwidth_kbps: u32) -> Spec {
    Spec {
        op,
        up,
        bandwidth_kbps,
        joins: 0,
        lies: None,
    }
}

struct SimNode {
    sk: SigningKey,
    key: PublicKey,
    op: PublicKey,
    spec: Spec,
}

struct Sim {
    p: PosrParams,
    state: PosrState,
    nodes: Vec<SimNode>,
    rng: XorShift,
    /// When set, each epoch's reports are shuffled and some duplicated before recording.
    reorder: Option<XorShift>,
}

impl Sim {
    fn new(seed: u64, p: PosrParams, specs: &[Spec]) -> Self {
        let nodes: Vec<SimNode> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let sk = signing_key(i as u64 + 1);
                SimNode {
                    key: PublicKey::of(&sk),
                    op: PublicKey::of(&operator_key(s.op)),
                    sk,
                    spec: *s,
                }
            })
            .collect();
        let genesis: Vec<(PublicKey, PublicKey)> = nodes
            .iter()
            .filter(|n| n.spec.joins == 0)
            .map(|n| (n.key, n.op))
            .collect();
        Sim {
            p,
            state: PosrState::genesis(0, &genesis),
            nodes,
            rng: XorShift(seed),
            reorder: None,
        }
    }

    fn measure(&mut self, o: usize, s: usize, w: u64) -> Measurements {
        if let Some((lie, targets)) = self.nodes[o].spec.lies
            && targets.contains(&Some(s))
        {
            return match lie {
                Lie::Deflate => Measurements::DOWN,
                Lie::Inflate => Measurements {
                    heartbeat_ppm: 1_000_000,
                    reachability_ppm: 1_000_000,
                    rtt_us: 1_000,
                    bandwidth_kbps: 1_000_000,
                },
            };
        }
        if !self.nodes[s].spec.up.at(w) {
            return Measurements::DOWN;
        }
        let bw = self.nodes[s].spec.bandwidth_kbps as u64;
        Measurements {
            heartbeat_ppm: (1_000_000 - self.rng.below(30_000)) as u32,
            reachability_ppm: (1_000_000 - self.rng.below(30_000)) as u32,
            rtt_us: (20_000 + self.rng.below(60_000)) as u32,
            bandwidth_kbps: (bw * (95 + self.rng.below(11)) / 100) as u32,
        }
    }

    /// Runs the epoch being collected; returns its summary and the next epoch's set.
    fn run_epoch(&mut self) -> (EpochSummary, Result<ValidatorSet, PosrError>) {
        let e = self.state.epoch();
        for n in &self.nodes {
            if n.spec.joins == e && e > 0 {
                let reg = NodeRegistration::sign(CHAIN, &n.sk, &operator_key(n.spec.op));
                self.state.register(CHAIN, &reg).unwrap();
            }
        }
        let joined = |n: &SimNode| n.spec.joins <= e;
        let mut reports = Vec::new();
        let wpe = self.p.windows_per_epoch;
        for w in e * wpe..(e + 1) * wpe {
            for o in 0..self.nodes.len() {
                let on = &self.nodes[o];
                if !joined(on) || !on.spec.up.at(w) || !self.state.is_observer(&on.key) {
                    continue;
                }
                for s in 0..self.nodes.len() {
                    let sn = &self.nodes[s];
                    if s == o || !joined(sn) || sn.op == self.nodes[o].op {
                        continue;
                    }
                    let m = self.measure(o, s, w);
                    // Simulations skip ed25519 (the signing path has its own tests): a
                    // `VerifiedReport` is made directly, which only this module can do.
                    reports.push(VerifiedReport(ObservationReport {
                        observer: self.nodes[o].key,
                        subject: self.nodes[s].key,
                        window: w,
                        measurements: m,
                        signature: Signature([0; 64]),
                    }));
                }
            }
        }
        if let Some(rng) = &mut self.reorder {
            for i in (1..reports.len()).rev() {
                reports.swap(i, rng.below(i as u64 + 1) as usize);
            }
            for i in 0..reports.len() / 10 {
                let dup = reports[i * 7 % reports.len()];
                reports.push(dup);
            }
        }
        for r in reports {
            let res = self.state.record(r, &self.p).unwrap();
            assert_ne!(res, Recorded::Equivocation);
        }
        let summary = self.state.end_epoch(&self.p).unwrap();
        (summary, next_validator_set(&self.state, &self.p, e))
    }

    fn key(&self, i: usize) -> PublicKey {
        self.nodes[i].key
    }
}

fn weight_in(set: &ValidatorSet, key: &PublicKey) -> u64 {
    set.index_of(key)
        .map_or(0, |i| set.validators[i as usize].weight)
}

/// Share of `keys` in `set`, in ppm.
fn share_ppm(set: &ValidatorSet, keys: &[PublicKey]) -> u64 {
    let w: u128 = keys.iter().map(|k| weight_in(set, k) as u128).sum();
    (w * PPM as u128 / set.total_weight()) as u64
}

fn pct(ppm: u64) -> f64 {
    ppm as f64 / 10_000.0
}

// ------------------------------------------------------------------------------------------------
// Unit tests
// ------------------------------------------------------------------------------------------------

fn healthy() -> Measurements {
    Measurements {
        heartbeat_ppm: 990_000,
        reachability_ppm: 1_000_000,
        rtt_us: 30_000,
        bandwidth_kbps: 500_000,
    }
}

#[test]
fn report_signs_encodes_and_rejects_bad_bytes() {
    let o = signing_key(1);
    let s = PublicKey::of(&signing_key(2));
    let r = ObservationReport::sign(CHAIN, &o, s, 42, healthy());
    assert!(r.verify(CHAIN).is_ok());
    assert!(matches!(
        r.verify("another-chain"),
        Err(PosrError::BadSignature(_))
    ));
    let bytes = r.to_bytes();
    assert_eq!(bytes.len(), REPORT_SIZE);
    assert_eq!(ObservationReport::from_bytes(&bytes).unwrap(), r);
    let mut tampered = r;
    tampered.measurements.bandwidth_kbps += 1;
    assert!(tampered.verify(CHAIN).is_err());
    // A rate above 100 % does not decode.
    let mut bad = bytes.clone();
    bad[1 + 32 + 32 + 8..1 + 32 + 32 + 12].copy_from_slice(&1_000_001u32.to_be_bytes());
    assert!(matches!(
        ObservationReport::from_bytes(&bad),
        Err(DecodeError::Invalid { .. })
    ));
    assert!(ObservationReport::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(ObservationReport::from_bytes(&long).is_err());
    let mut v2 = bytes;
    v2[0] = 2;
    assert!(matches!(
        ObservationReport::from_bytes(&v2),
        Err(DecodeError::BadVersion { .. })
    ));
}

#[test]
fn registration_needs_node_and_operator() {
    let reg = NodeRegistration::sign(CHAIN, &signing_key(1), &operator_key(1));
    assert_eq!(reg.to_bytes().len(), REGISTRATION_SIZE);
    assert_eq!(NodeRegistration::from_bytes(&reg.to_bytes()).unwrap(), reg);
    let mut state = PosrState::genesis(0, &[]);
    // Someone charging their node to operator 1 without operator 1's signature.
    let mut forged = NodeRegistration::sign(CHAIN, &signing_key(2), &operator_key(9));
    forged.operator = reg.operator;
    assert!(matches!(
        state.register(CHAIN, &forged),
        Err(PosrError::BadSignature(_))
    ));
    state.register(CHAIN, &reg).unwrap();
    assert_eq!(
        state.register(CHAIN, &reg),
        Err(PosrError::AlreadyRegistered(reg.node))
    );
    let n = state.node(&reg.node).unwrap();
    assert!(!n.confirmed && !state.is_observer(&reg.node));
}

/// Genesis of `n` nodes, each its own operator; returns the state and the node keys.
fn genesis(n: u64) -> (PosrState, Vec<SigningKey>) {
    let ks: Vec<SigningKey> = (1..=n).map(signing_key).collect();
    let nodes: Vec<(PublicKey, PublicKey)> = ks
        .iter()
        .enumerate()
        .map(|(i, k)| (PublicKey::of(k), PublicKey::of(&operator_key(i as u64))))
        .collect();
    (PosrState::genesis(0, &nodes), ks)
}

fn report(o: &SigningKey, s: &SigningKey, w: u64, m: Measurements) -> VerifiedReport {
    ObservationReport::sign(CHAIN, o, PublicKey::of(s), w, m)
        .verify(CHAIN)
        .unwrap()
}

#[test]
fn record_refuses_what_must_not_count() {
    let p = params();
    let (mut state, ks) = genesis(4);
    // Self-report.
    assert!(matches!(
        state.record(report(&ks[0], &ks[0], 0, healthy()), &p),
        Err(PosrError::SelfReport(_))
    ));
    // Another epoch's window.
    assert!(matches!(
        state.record(report(&ks[0], &ks[1], 4, healthy()), &p),
        Err(PosrError::WrongEpoch {
            window: 4,
            epoch: 0
        })
    ));
    // Unknown subject.
    let stranger = signing_key(77);
    assert!(matches!(
        state.record(report(&ks[0], &stranger, 0, healthy()), &p),
        Err(PosrError::UnknownNode(_))
    ));
    // A registered but unconfirmed node cannot observe.
    state
        .register(
            CHAIN,
            &NodeRegistration::sign(CHAIN, &stranger, &operator_key(77)),
        )
        .unwrap();
    assert!(matches!(
        state.record(report(&stranger, &ks[0], 0, healthy()), &p),
        Err(PosrError::NotObserver(_))
    ));
    // A second node of operator 0 reporting on the first is a self-report by another key.
    let sibling = signing_key(78);
    state
        .register(
            CHAIN,
            &NodeRegistration::sign(CHAIN, &sibling, &operator_key(0)),
        )
        .unwrap();
    assert!(matches!(
        state.record(report(&sibling, &ks[0], 0, healthy()), &p),
        Err(PosrError::SameOperator { .. })
    ));
}

#[test]
fn an_observer_counts_once_and_equivocation_voids_its_voice() {
    let p = params();
    let (mut state, ks) = genesis(5);
    for o in &ks[1..] {
        assert_eq!(
            state.record(report(o, &ks[0], 0, healthy()), &p),
            Ok(Recorded::New)
        );
    }
    assert_eq!(
        state.record(report(&ks[1], &ks[0], 0, healthy()), &p),
        Ok(Recorded::Duplicate)
    );
    assert_eq!(
        state
            .aggregate(0, &PublicKey::of(&ks[0]))
            .unwrap()
            .observers,
        4
    );
    assert_eq!(
        state.record(report(&ks[1], &ks[0], 0, Measurements::DOWN), &p),
        Ok(Recorded::Equivocation)
    );
    let agg = state.aggregate(0, &PublicKey::of(&ks[0])).unwrap();
    assert_eq!(agg.observers, 3);
    assert_eq!(agg.median, healthy());
    let summary = state.end_epoch(&p).unwrap();
    assert_eq!(summary.equivocations.len(), 1);
    assert_eq!(summary.equivocations[0].0.observer, PublicKey::of(&ks[1]));
}

#[test]
fn median_resists_a_lying_minority_and_one_operator_is_one_voice() {
    let p = params();
    // Subject 0; observers 1..=9, each its own operator.
    let (mut state, ks) = genesis(10);
    let subject = PublicKey::of(&ks[0]);
    let honest = |i: u32| Measurements {
        heartbeat_ppm: 960_000 + i * 1_000,
        reachability_ppm: 970_000 + i * 1_000,
        rtt_us: 40_000 + i * 1_000,
        bandwidth_kbps: 400_000 + i * 10_000,
    };
    for (i, o) in ks[1..6].iter().enumerate() {
        state
            .record(report(o, &ks[0], 0, honest(i as u32)), &p)
            .unwrap();
    }
    for lie in [Measurements::DOWN, {
        Measurements {
            heartbeat_ppm: 1_000_000,
            reachability_ppm: 1_000_000,
            rtt_us: 0,
            bandwidth_kbps: u32::MAX,
        }
    }] {
        let mut s = state.clone();
        for o in &ks[6..10] {
            s.record(report(o, &ks[0], 0, lie), &p).unwrap();
        }
        // 4 liars of 9: every field stays within the honest values.
        let m = s.aggregate(0, &subject).unwrap().median;
        let within = |v: u32, f: fn(&Measurements) -> u32| {
            (0..5).any(|i| f(&honest(i)) <= v) && (0..5).any(|i| f(&honest(i)) >= v)
        };
        assert!(within(m.heartbeat_ppm, |m| m.heartbeat_ppm), "{m:?}");
        assert!(within(m.reachability_ppm, |m| m.reachability_ppm));
        assert!(within(m.rtt_us, |m| m.rtt_us));
        assert!(within(m.bandwidth_kbps, |m| m.bandwidth_kbps));
    }
    // With a fifth liar (5 of 10, not a minority) the deflation goes through: the bound is tight.
    let liar = signing_key(50);
    let mut s = state.clone();
    for o in &ks[6..10] {
        s.record(report(o, &ks[0], 0, Measurements::DOWN), &p)
            .unwrap();
    }
    let mut g = s.clone();
    let extra_key = PublicKey::of(&liar);
    g.nodes
        .insert(extra_key, NodeStatus::new(extra_key, 0, true));
    g.observers.insert(extra_key);
    g.record(report(&liar, &ks[0], 0, Measurements::DOWN), &p)
        .unwrap();
    assert_eq!(g.aggregate(0, &subject).unwrap().median.health_ppm(), 0);

    // One operator running 20 observer nodes is still one voice.
    let (mut state, ks) = genesis(4);
    let sybils: Vec<SigningKey> = (100..120).map(signing_key).collect();
    for k in &sybils {
        let key = PublicKey::of(k);
        let op = PublicKey::of(&operator_key(99));
        state.nodes.insert(key, NodeStatus::new(op, 0, true));
        state.observers.insert(key);
    }
    for o in &ks[1..4] {
        state.record(report(o, &ks[0], 0, healthy()), &p).unwrap();
    }
    for k in &sybils {
        state
            .record(report(k, &ks[0], 0, Measurements::DOWN), &p)
            .unwrap();
    }
    let agg = state.aggregate(0, &PublicKey::of(&ks[0])).unwrap();
    assert_eq!(agg.observers, 4);
    assert_eq!(agg.median, healthy());
}

#[test]
fn operator_cap_water_fills() {
    let ks: Vec<PublicKey> = (1..=12).map(|i| PublicKey::of(&signing_key(i))).collect();
    let op = |i: u64| PublicKey::of(&operator_key(i));
    // One operator with 9 nodes of 100 against 9 operators with one node of 100: cap 20 %.
    let mut c: Vec<Candidate> = (0..9).map(|i| (ks[i], op(0), 100)).collect();
    c.extend((1..=3).map(|i| (ks[8 + i as usize], op(i), 100)));
    c.truncate(12);
    let mut cands = c.clone();
    apply_operator_cap(&mut cands, 200_000);
    let total: u64 = cands.iter().map(|c| c.2).sum();
    let big: u64 = cands.iter().filter(|c| c.1 == op(0)).map(|c| c.2).sum();
    // Infeasible with 4 operators at 20 %: all equal (the closest possible), up to the floor of
    // each node's scaled weight (9 × ⌊100 · 100 / 900⌋ = 99).
    assert_eq!(big, 99);
    assert_eq!(total, 399);
    // Feasible: 9 small operators.
    let mut c: Vec<Candidate> = (0..3).map(|i| (ks[i], op(0), 300)).collect();
    c.extend((1..=9).map(|i| (ks[2 + i as usize], op(i), 100)));
    apply_operator_cap(&mut c, 200_000);
    let total: u64 = c.iter().map(|c| c.2).sum();
    let big: u64 = c.iter().filter(|c| c.1 == op(0)).map(|c| c.2).sum();
    // L = 0.2 · 900 / 0.8 = 225, split over its three nodes (75 each).
    assert_eq!(big, 225);
    assert_eq!(total, 1125);
    // Nothing to cap: unchanged.
    let mut c: Vec<Candidate> = (0..6).map(|i| (ks[i], op(i as u64), 100)).collect();
    let before = c.clone();
    apply_operator_cap(&mut c, 200_000);
    assert_eq!(c, before);
}

#[test]
fn parameters_and_epochs_are_checked() {
    assert!(PosrParams::default().check().is_ok());
    for bad in [
        PosrParams {
            windows_per_epoch: 0,
            ..params()
        },
        PosrParams {
            operator_cap_ppm: 0,
            ..params()
        },
        PosrParams {
            decay_ppm: 1_000_001,
            ..params()
        },
        PosrParams {
            max_validators: MAX_VALIDATORS + 1,
            ..params()
        },
    ] {
        assert!(matches!(bad.check(), Err(PosrError::BadParams(_))));
    }
    let p = params();
    let (mut state, _) = genesis(3);
    assert_eq!(
        next_validator_set(&state, &p, 0),
        Err(PosrError::EpochNotClosed {
            requested: 0,
            last_closed: None
        })
    );
    state.end_epoch(&p).unwrap();
    // No reports at all: nobody has runtime, so nobody has weight.
    assert_eq!(
        next_validator_set(&state, &p, 0),
        Err(PosrError::NoValidators)
    );
    assert!(matches!(
        next_validator_set(&state, &p, 1),
        Err(PosrError::EpochNotClosed { .. })
    ));
}

// ------------------------------------------------------------------------------------------------
// Simulations
// ------------------------------------------------------------------------------------------------

#[test]
fn honest_network_converges() {
    let p = params();
    let bws = [
        200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 900_000,
    ];
    let specs: Vec<Spec> = bws
        .iter()
        .enumerate()
        .map(|(i, bw)| node(i as u64, Up::Always, *bw))
        .collect();
    let mut sim = Sim::new(1, p, &specs);
    println!("\nhonest network: 8 nodes, 8 operators, bandwidth 200..900 Mbit/s");
    println!(
        "| end of epoch | validators | weight of 200 Mbit/s node | weight of 900 Mbit/s node | largest share |"
    );
    println!("|---|---|---|---|---|");
    let mut history: Vec<ValidatorSet> = Vec::new();
    for e in 0..30u64 {
        let (_, set) = sim.run_epoch();
        let set = set.unwrap();
        assert_eq!(
            set.validators.len(),
            8,
            "every honest node votes from the start"
        );
        let largest = (0..8)
            .map(|i| share_ppm(&set, &[sim.key(i)]))
            .max()
            .unwrap();
        if [0, 1, 3, 7, 11, 15, 19, 23, 29].contains(&e) {
            println!(
                "| {e} | {} | {} | {} | {:.1} % |",
                set.validators.len(),
                weight_in(&set, &sim.key(0)),
                weight_in(&set, &sim.key(7)),
                pct(largest)
            );
        }
        history.push(set);
    }
    // Converged: runtime saturated (64 windows + ramp), weights follow capacity
    // R · (0.5 + 0.5 · C) with R = 1, within the ±5 % measurement noise.
    for set in &history[20..] {
        for (i, bw) in bws.iter().enumerate() {
            let expected = 500_000 + *bw as u64 / 2;
            let w = weight_in(set, &sim.key(i));
            assert!(
                w.abs_diff(expected) * 100 <= expected * 3,
                "node {i}: {w} vs {expected}"
            );
        }
    }
}

#[test]
fn sybils_gain_nothing_before_confirmation_and_stay_under_the_cap() {
    let p = params();
    let mut specs: Vec<Spec> = (0..6).map(|op| node(op, Up::Always, 500_000)).collect();
    // At epoch 10 operator 99 brings 24 fast, always-up nodes.
    for _ in 0..24 {
        specs.push(Spec {
            joins: 10,
            ..node(99, Up::Always, 1_000_000)
        });
    }
    let mut sim = Sim::new(2, p, &specs);
    let sybils: Vec<PublicKey> = (6..30).map(|i| sim.key(i)).collect();
    let honest: Vec<PublicKey> = (0..6).map(|i| sim.key(i)).collect();
    println!(
        "\nsybils: 6 honest operators; operator 99 registers 24 nodes at epoch 10 (cap 20 %, 16 seats)"
    );
    println!("| end of epoch | sybil seats | sybil share | honest seats | confirmed sybils |");
    println!("|---|---|---|---|---|");
    for e in 0..30u64 {
        let (_, set) = sim.run_epoch();
        let set = set.unwrap();
        let seats = sybils.iter().filter(|k| set.index_of(k).is_some()).count();
        let share = share_ppm(&set, &sybils);
        let confirmed = sybils
            .iter()
            .filter(|k| sim.state.node(k).is_some_and(|n| n.confirmed))
            .count();
        if (9..=16).contains(&e) || e == 29 {
            println!(
                "| {e} | {seats} | {:.2} % | {} | {confirmed} |",
                pct(share),
                honest.iter().filter(|k| set.index_of(k).is_some()).count()
            );
        }
        // Confirmation takes 16 consecutive up windows: epochs 10, 11, 12 and 13.
        if e < 13 {
            assert_eq!(seats, 0, "epoch {e}");
            assert_eq!(confirmed, 0);
        }
        // At most the cap (up to a few ppm of rounding), and the honest nodes keep their seats.
        assert!(share <= 200_010, "epoch {e}: sybil share {share} ppm");
        assert!(honest.iter().all(|k| set.index_of(k).is_some()));
    }
}

/// Not resisted by the cap: one party registering its nodes under many operator keys. Shown so
/// the docs can state it with numbers.
#[test]
fn known_limit_sybils_with_many_operator_keys() {
    let p = params();
    let mut specs: Vec<Spec> = (0..6).map(|op| node(op, Up::Always, 500_000)).collect();
    for i in 0..12 {
        specs.push(Spec {
            joins: 10,
            ..node(100 + i, Up::Always, 1_000_000)
        });
    }
    let mut sim = Sim::new(3, p, &specs);
    let sybils: Vec<PublicKey> = (6..18).map(|i| sim.key(i)).collect();
    println!("\nsybils under 12 distinct operator keys (one party), joining at epoch 10");
    println!("| end of epoch | sybil seats | sybil share | honest seats |");
    println!("|---|---|---|---|");
    for e in 0..40u64 {
        let (_, set) = sim.run_epoch();
        let set = set.unwrap();
        let share = share_ppm(&set, &sybils);
        if e < 13 {
            assert_eq!(share, 0);
        }
        if [12, 13, 16, 20, 30, 39].contains(&e) {
            println!(
                "| {e} | {} | {:.1} % | {} |",
                sybils.iter().filter(|k| set.index_of(k).is_some()).count(),
                pct(share),
                (0..6)
                    .filter(|i| set.index_of(&sim.key(*i)).is_some())
                    .count()
            );
        }
    }
}

#[test]
fn colluding_observers_below_half_cannot_move_a_median() {
    let p = params();
    // Node 0 (target, always up), node 1 (offline from the start), nodes 2..=10 observers.
    // The target's reporting observers: the 9 others that are up. Liars deflate node 0 and
    // inflate node 1.
    let run = |liars: usize| {
        let mut specs = vec![node(0, Up::Always, 500_000), node(1, Up::Never, 500_000)];
        for i in 0..9 {
            let mut s = node(2 + i as u64, Up::Always, 500_000);
            if i < liars {
                s.lies = Some((Lie::Deflate, [Some(0), None]));
            }
            specs.push(s);
        }
        let mut inflate = specs.clone();
        for s in inflate.iter_mut().skip(2).take(liars) {
            s.lies = Some((Lie::Inflate, [Some(1), None]));
        }
        let mut deflating = Sim::new(4, p, &specs);
        let mut inflating = Sim::new(4, p, &inflate);
        let (mut target, mut offline) = (0, 0);
        for _ in 0..16 {
            target = weight_in(&deflating.run_epoch().1.unwrap(), &deflating.key(0));
            offline = weight_in(&inflating.run_epoch().1.unwrap(), &inflating.key(1));
        }
        (
            target,
            offline,
            deflating.state.node(&deflating.key(0)).unwrap().up_windows,
        )
    };
    println!(
        "\ncolluding observers: the target has 9 observers, the offline node 10; 16 epochs (64 windows)"
    );
    println!(
        "| liars | target (up) weight, liars deflate | up windows of 64 | offline node weight, liars inflate |"
    );
    println!("|---|---|---|---|");
    let (honest_target, _, _) = run(0);
    for liars in 0..=6 {
        let (target, offline, up) = run(liars);
        println!("| {liars} of 9 | {target} | {up} | {offline} |");
        // The target has 9 reporting observers (the offline node reports nothing): 4 liars are
        // a minority, 5 a majority. The offline node has 10 (the target too): 5 liars are
        // exactly half, and a tie goes to the lower value, so inflating it takes 6.
        if liars <= 4 {
            assert_eq!(up, 64);
            assert!(target.abs_diff(honest_target) * 100 <= honest_target * 3);
        } else {
            assert!(up < 64);
        }
        assert_eq!(offline > 0, liars >= 6, "{liars} liars");
    }
}

#[test]
fn flapping_nodes_earn_less_than_stable_ones() {
    let p = params();
    let patterns = [
        ("always up", Up::Always),
        ("1 up / 1 down", Up::Cycle { up: 1, down: 1 }),
        ("4 up / 4 down", Up::Cycle { up: 4, down: 4 }),
        ("12 up / 4 down", Up::Cycle { up: 12, down: 4 }),
        ("24 up / 8 down", Up::Cycle { up: 24, down: 8 }),
        ("60 up / 4 down", Up::Cycle { up: 60, down: 4 }),
    ];
    let mut specs: Vec<Spec> = (0..6).map(|op| node(op, Up::Always, 500_000)).collect();
    // They register at epoch 1, so each must earn its confirmation (genesis nodes are confirmed
    // by the genesis block).
    for (i, (_, up)) in patterns.iter().enumerate() {
        specs.push(Spec {
            joins: 1,
            ..node(10 + i as u64, *up, 500_000)
        });
    }
    let mut sim = Sim::new(5, p, &specs);
    // Average weight over epochs 20..40, after the stable nodes saturate.
    let mut sums = [0u64; 6];
    for e in 0..40 {
        let set = sim.run_epoch().1.unwrap();
        if e >= 20 {
            for (i, s) in sums.iter_mut().enumerate() {
                *s += weight_in(&set, &sim.key(6 + i));
            }
        }
    }
    println!("\nflapping: average weight over epochs 20..40 (80 windows)");
    println!(
        "| pattern (windows) | uptime | average weight | of the stable node's | confirmed at end |"
    );
    println!("|---|---|---|---|---|");
    let stable = sums[0] / 20;
    for (i, (name, up)) in patterns.iter().enumerate() {
        let avg = sums[i] / 20;
        let uptime = (80..160).filter(|w| up.at(*w)).count() as u64 * 100 / 80;
        println!(
            "| {name} | {uptime} % | {avg} | {:.1} % | {} |",
            avg as f64 * 100.0 / stable as f64,
            sim.state.node(&sim.key(6 + i)).unwrap().confirmed
        );
        if i > 0 {
            // Less than proportional to uptime.
            assert!(avg * 100 < stable * uptime, "{name}: {avg} vs {stable}");
        }
    }
    // Never 16 consecutive up windows: never confirmed, never any weight.
    assert_eq!(sums[1], 0);
    assert_eq!(sums[2], 0);
    assert_eq!(sums[3], 0);
}

#[test]
fn a_crash_decays_and_a_return_needs_confirmation_again() {
    let p = params();
    let mut specs: Vec<Spec> = (0..6).map(|op| node(op, Up::Always, 500_000)).collect();
    // Down in windows 80..140 (epochs 20..35).
    specs.push(node(6, Up::DownBetween(80, 140), 500_000));
    let mut sim = Sim::new(6, p, &specs);
    let x = sim.key(6);
    println!("\ncrash at window 80 (epoch 20), back at window 140 (epoch 35)");
    println!("| end of epoch | weight | runtime (windows) | confirmed |");
    println!("|---|---|---|---|");
    let mut weights = Vec::new();
    for e in 0..48u64 {
        let set = sim.run_epoch().1.unwrap();
        let w = weight_in(&set, &x);
        let n = sim.state.node(&x).unwrap();
        if (18..=26).contains(&e) || (33..=40).contains(&e) || e == 47 {
            println!(
                "| {e} | {w} | {:.2} | {} |",
                n.runtime_mw as f64 / 1000.0,
                n.confirmed
            );
        }
        weights.push(w);
    }
    // Each down epoch (4 windows at −10 %) keeps 0.9^4 = 65.6 % of the weight.
    for e in 20..23 {
        let ratio = weights[e] * 1000 / weights[e - 1];
        assert!((650..=660).contains(&ratio), "epoch {e}: {ratio}");
    }
    // 16 down windows: unconfirmed, out of the set, until 16 up windows again (epochs 35..38).
    for (e, w) in weights.iter().enumerate().take(38).skip(23) {
        assert_eq!(*w, 0, "epoch {e}");
    }
    assert!(weights[38] > 0);
    assert!(weights[47] > weights[38]);
}

#[test]
fn the_same_inputs_in_any_order_give_the_same_set() {
    let p = params();
    let mut specs: Vec<Spec> = (0..5)
        .map(|op| node(op, Up::Always, 300_000 + op as u32 * 100_000))
        .collect();
    specs.push(node(5, Up::Cycle { up: 20, down: 5 }, 800_000));
    specs.push(node(6, Up::DownBetween(30, 50), 700_000));
    let mut liar = node(7, Up::Always, 600_000);
    liar.lies = Some((Lie::Deflate, [Some(0), Some(1)]));
    specs.push(liar);
    for _ in 0..5 {
        specs.push(Spec {
            joins: 3,
            ..node(8, Up::Always, 900_000)
        });
    }
    let mut plain = Sim::new(7, p, &specs);
    let mut shuffled = Sim::new(7, p, &specs);
    shuffled.reorder = Some(XorShift(0xdead_beef));
    let mut other = Sim::new(7, p, &specs);
    other.reorder = Some(XorShift(12345));
    for e in 0..25 {
        let a = plain.run_epoch().1.unwrap();
        let b = shuffled.run_epoch().1.unwrap();
        let c = other.run_epoch().1.unwrap();
        assert_eq!(a.hash(), b.hash(), "epoch {e}");
        assert_eq!(a.hash(), c.hash(), "epoch {e}");
        assert_eq!(a.epoch, e + 1);
    }
}

#[test]
fn penalties_cut_weight() {
    let p = params();
    let specs: Vec<Spec> = (0..5).map(|op| node(op, Up::Always, 500_000)).collect();
    let mut sim = Sim::new(8, p, &specs);
    for _ in 0..20 {
        sim.run_epoch().1.unwrap();
    }
    let k = sim.key(0);
    let before = sim.state.node(&k).unwrap().weight(&p);
    sim.state.penalize(&k, &p).unwrap();
    let after = sim.state.node(&k).unwrap().weight(&p);
    assert!(after <= before / 2 + 1, "{before} -> {after}");
    assert!(
        sim.state
            .penalize(&PublicKey::of(&signing_key(999)), &p)
            .is_err()
    );
}

/// `would_record` (and `precheck`) give exactly what `record` then does, over random sequences
/// of reports — good, refused, duplicate, equivocating — across epoch ends; a refused report
/// leaves the reports untouched.
#[test]
fn would_record_agrees_with_record() {
    let p = params();
    for seed in 1..=8u64 {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ seed);
        let (mut state, mut ks) = genesis(5);
        // A registered but unconfirmed node, a sibling of node 0's operator, and a stranger.
        let newcomer = signing_key(90);
        let sibling = signing_key(91);
        for (k, op) in [(&newcomer, operator_key(90)), (&sibling, operator_key(0))] {
            state
                .register(CHAIN, &NodeRegistration::sign(CHAIN, k, &op))
                .unwrap();
        }
        ks.extend([newcomer, sibling, signing_key(92)]);
        let choices = [healthy(), Measurements::DOWN];
        let mut seen = [0usize; 3];
        for step in 0..400 {
            if step % 150 == 149 {
                state.end_epoch(&p).unwrap();
            }
            let o = &ks[rng.below(ks.len() as u64) as usize];
            let s = &ks[rng.below(ks.len() as u64) as usize];
            // Mostly the epoch being collected, sometimes the one before or after.
            let first = state.epoch() * p.windows_per_epoch;
            let window = (first + rng.below(p.windows_per_epoch + 2)).saturating_sub(1);
            let m = choices[rng.below(2) as usize];
            let raw = ObservationReport::sign(CHAIN, o, PublicKey::of(s), window, m);
            let v = raw.verify(CHAIN).unwrap();
            let predicted = state.would_record(&v, &p);
            assert_eq!(state.precheck(&raw, &p), predicted);
            let before = state.reports.clone();
            let got = state.record(v, &p);
            assert_eq!(predicted, got, "seed {seed} step {step}: {raw:?}");
            match got {
                Ok(r) => seen[r as usize] += 1,
                Err(_) => assert_eq!(state.reports, before, "a refusal changes nothing"),
            }
        }
        assert!(
            seen.iter().all(|&n| n > 0),
            "every outcome occurs: {seen:?}"
        );
    }
}

#[test]
fn too_few_operators_with_weight_keep_the_current_set() {
    let p = params();
    assert_eq!(min_operators(&p), 5, "a 20 % cap needs five operators");
    assert_eq!(
        min_operators(&PosrParams {
            operator_cap_ppm: 1_000_000,
            ..p
        }),
        1
    );
    assert_eq!(min_operators(&PosrParams::default()), 10);
    // Six operators; two are down from window 40 (epoch 10) on.
    let mut specs: Vec<Spec> = (0..4).map(|op| node(op, Up::Always, 500_000)).collect();
    specs.push(node(4, Up::DownBetween(40, 10_000), 500_000));
    specs.push(node(5, Up::DownBetween(40, 10_000), 500_000));
    let mut sim = Sim::new(7, p, &specs);
    for _ in 0..8 {
        let _ = sim.run_epoch();
    }
    let (_, set) = sim.run_epoch();
    assert_eq!(set.unwrap().validators.len(), 6, "all six confirmed");
    // Once the two are unconfirmed (16 down windows), four operators have weight: too few for
    // the cap, so no set is formed (the chain keeps its current one).
    let mut last = None;
    for _ in 9..20 {
        last = Some(sim.run_epoch().1);
    }
    assert_eq!(
        last.unwrap(),
        Err(PosrError::TooFewOperators { have: 4, need: 5 })
    );
}
