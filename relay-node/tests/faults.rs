//! Network faults between real relay processes (4 validators, devnet timeouts).
//!
//! - `partitions_in_network_namespaces` (root and `ip netns` only; skipped elsewhere): every relay
//!   in its own network namespace, wired by veth pairs to Linux bridges. Node 3 is cut off and
//!   healed, then the network is split 2|2 and healed. The majority stays final while node 3 is
//!   away, node 3 catches up after healing, neither half of a 2|2 split finalizes anything, and
//!   finality resumes once it heals. No two relays ever hold different blocks at one height and
//!   every acknowledged contract ends up with a receipt that verifies from the genesis.
//! - `latency_and_loss_between_relays` (everywhere): a delaying TCP proxy in front of every
//!   relay's p2p port (the kernel here has no netem), which also stalls 2 % of chunks by a
//!   200 ms retransmission timeout (what a lost segment costs a TCP stream); the relays stay
//!   final and agree, and the submit→anchored latency is printed.
//!   `TRUSTCHAIN_LATENCY_MS=<one way>,<jitter>` sets the delay (default `40,20`),
//!   `TRUSTCHAIN_LOSS_PPM` the loss (default `20000`).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::devnet::*;

// ---------------------------------------------------------------------------------------------
// Partitions in network namespaces.

/// Network namespaces, veth pairs and bridges made for one test; all removed on drop.
///
/// Layout (P = process id, x = a free third octet):
/// - namespace `tc-P-i` per relay, with `lo`, `eth0` (data, 10.213.0.(i+1)/24) and `mgmt`
///   (10.214.x.(i+1)/24);
/// - bridges in the root namespace: `tcPa` and `tcPb` (data, no address: relays only reach the
///   relays whose `eth0` is on the same bridge) and `tcPm` (management, 10.214.x.254/24: the test
///   process reaches every relay's HTTP API over it, whatever the data network looks like);
/// - the root ends of the veths, `tcPd<i>` and `tcPm<i>`; moving `tcPd<i>` between bridges or
///   detaching it partitions the data network.
struct Lab {
    pid: u32,
    mgmt_net: u8,
    namespaces: Vec<String>,
    links: Vec<String>,
}

impl Lab {
    fn ns(&self, i: usize) -> String {
        format!("tc-{}-{i}", self.pid)
    }
    fn bridge(&self, which: char) -> String {
        format!("tc{}{which}", self.pid)
    }
    fn data_link(&self, i: usize) -> String {
        format!("tc{}d{i}", self.pid)
    }
    fn data_ip(&self, i: usize) -> String {
        format!("10.213.0.{}", i + 1)
    }
    fn mgmt_ip(&self, i: usize) -> String {
        format!("10.214.{}.{}", self.mgmt_net, i + 1)
    }

    /// Builds the namespaces; `Err` (with what failed) where this needs privileges we lack.
    fn new(nodes: usize) -> Result<Lab, String> {
        let pid = std::process::id();
        let mut lab = Lab {
            pid,
            mgmt_net: 0,
            namespaces: Vec::new(),
            links: Vec::new(),
        };
        // The probe: needs root (CAP_SYS_ADMIN) and iproute2.
        ip(&["netns", "add", &lab.ns(0)])?;
        lab.namespaces.push(lab.ns(0));
        // A management subnet no address of the root namespace is in yet.
        let addrs = String::from_utf8_lossy(
            &Command::new("ip")
                .args(["-4", "-o", "addr"])
                .output()
                .map_err(|e| e.to_string())?
                .stdout,
        )
        .into_owned();
        lab.mgmt_net = (0..250)
            .map(|k| ((pid as usize + k) % 250) as u8)
            .find(|x| !addrs.contains(&format!("10.214.{x}.")))
            .ok_or("no free 10.214.x.0/24")?;
        // Past the probe, a failure is a bug in this setup (or a kernel without veth/bridge).
        let mut root = Vec::new();
        for b in ['a', 'b', 'm'] {
            let br = lab.bridge(b);
            root.push(format!("link add {br} type bridge"));
            lab.links.push(br.clone());
            root.push(format!("link set {br} up"));
        }
        root.push(format!(
            "addr add 10.214.{}.254/24 dev {}",
            lab.mgmt_net,
            lab.bridge('m')
        ));
        for i in 0..nodes {
            let ns = lab.ns(i);
            if i > 0 {
                root.push(format!("netns add {ns}"));
                lab.namespaces.push(ns.clone());
            }
            let (d, m) = (lab.data_link(i), format!("tc{pid}m{i}"));
            root.push(format!("link add {d} type veth peer name eth0 netns {ns}"));
            root.push(format!("link add {m} type veth peer name mgmt netns {ns}"));
            lab.links.push(d.clone());
            lab.links.push(m.clone());
            root.push(format!("link set {d} master {} up", lab.bridge('a')));
            root.push(format!("link set {m} master {} up", lab.bridge('m')));
        }
        ip_batch(None, &root).expect("set up bridges and veths");
        for i in 0..nodes {
            let inside = [
                "link set lo up".to_string(),
                format!("addr add {}/24 dev eth0", lab.data_ip(i)),
                "link set eth0 up".to_string(),
                format!("addr add {}/24 dev mgmt", lab.mgmt_ip(i)),
                "link set mgmt up".to_string(),
            ];
            ip_batch(Some(&lab.ns(i)), &inside).expect("set up a namespace");
        }
        Ok(lab)
    }

    /// Puts node `i`'s data link on bridge `which` (`None`: on no bridge, cut off).
    fn attach(&self, i: usize, which: Option<char>) {
        let link = self.data_link(i);
        let r = match which {
            Some(b) => ip(&["link", "set", &link, "master", &self.bridge(b)]),
            None => ip(&["link", "set", &link, "nomaster"]),
        };
        r.expect("move a data link");
    }

    /// Rewrites node `i`'s config for its namespace and points it there.
    fn place(&self, i: usize, node: &mut Node, base: u16) {
        node.edit_config(|mut t| {
            t = t.replace(
                &format!("listen = \"127.0.0.1:{}\"", base + i as u16),
                &format!("listen = \"{}:{}\"", self.mgmt_ip(i), base + i as u16),
            );
            for j in 0..NODES {
                t = t.replace(
                    &format!("/ip4/127.0.0.1/tcp/{}", base + 100 + j as u16),
                    &format!("/ip4/{}/tcp/{}", self.data_ip(j), base + 100 + j as u16),
                );
            }
            t = t.replace(
                "browser_ip = \"127.0.0.1\"",
                &format!("browser_ip = \"{}\"", self.data_ip(i)),
            );
            assert!(!t.contains("127.0.0.1"), "a loopback address is left:\n{t}");
            t
        });
        node.url = format!("http://{}:{}", self.mgmt_ip(i), base + i as u16);
        node.netns = Some(self.ns(i));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth ends in it, hence their root ends too.
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
        for l in &self.links {
            let _ = Command::new("ip")
                .args(["link", "del", l])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `ip [-n netns] -batch -`: stops at the first failing command.
fn ip_batch(netns: Option<&str>, cmds: &[String]) -> Result<(), String> {
    let mut child = Command::new("ip")
        .args(netns.map(|ns| ["-n", ns]).into_iter().flatten())
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ip -batch: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(cmds.join("\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip -batch: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn heights(nodes: &[&Node]) -> Vec<u64> {
    nodes.iter().map(|n| n.height()).collect()
}

/// Waits until `nodes` all reach `height`; the time it took.
fn time_to_height(nodes: &[&Node], height: u64, within: Duration, why: &str) -> Duration {
    let start = Instant::now();
    while nodes.iter().any(|n| n.height() < height) {
        assert!(
            start.elapsed() < within,
            "{why}: heights {:?} after {within:?}, want {height}",
            heights(nodes)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

#[test]
fn partitions_in_network_namespaces() {
    let lab = match Lab::new(NODES) {
        Ok(lab) => lab,
        Err(e) => {
            println!("skipped: needs root and ip netns ({e})");
            return;
        }
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    // Each relay has its namespace to itself: any base port does.
    let base = 20_000;
    let mut nodes = devnet_at(&tmp.path().join("devnet"), base);
    for (i, n) in nodes.iter_mut().enumerate() {
        lab.place(i, n, base);
    }
    for n in nodes.iter_mut() {
        n.start();
    }
    let all: Vec<&Node> = nodes.iter().collect();
    let trust = genesis_trust(&nodes[0]);
    let mut w = Writer::open(&nodes[0]);

    // a. All connected: node 0 holds the scenario; what it acknowledges gets anchored.
    for _ in 0..3 {
        w.submit(&nodes[0], 3);
    }
    let ha = wait_anchored(&nodes[0], w.all());
    wait_height(&all, ha, "all connected");
    assert_one_chain(&all);

    // b. Node 3 cut off: 0, 1 and 2 (weight 3/4 > 2/3) stay final; node 3 stops.
    lab.attach(3, None);
    // A block already decided when the link went down may still reach node 3's disk (blocks
    // come every 2 s here, with the PoSR reports): take its height once that has settled.
    std::thread::sleep(Duration::from_millis(500));
    let h3 = nodes[3].height();
    for _ in 0..3 {
        w.submit(&nodes[0], 2);
        std::thread::sleep(Duration::from_millis(300));
    }
    let hb = wait_anchored(&nodes[0], w.all());
    assert!(hb > ha, "finality stopped without node 3");
    let majority: Vec<&Node> = nodes[..3].iter().collect();
    wait_height(&majority, hb, "the majority");
    assert_one_chain(&majority);
    assert_one_chain(&all);
    assert!(
        nodes[3].height() == h3 && h3 < hb,
        "the cut-off node went on: {:?}",
        heights(&all)
    );

    // c. Healed: node 3 catches up.
    lab.attach(3, Some('a'));
    let top = heights(&majority).into_iter().max().unwrap();
    let catch_up = time_to_height(
        &[&nodes[3]],
        top,
        Duration::from_secs(20),
        "node 3 catching up",
    );
    println!(
        "partition: node 3 caught up to height {top} in {:.2} s after healing",
        catch_up.as_secs_f64()
    );
    assert_one_chain(&all);

    // d. Split 2|2: the heaviest and the lightest validator stay on bridge a, the other two go
    // to bridge b, so that neither half has more than 2/3 of the weight (PoSR moves the weights
    // from epoch 1 on: node 3 was just away, and measured bandwidths differ).
    //
    // Until 2026-12-01 about 1 run in 12 never resumed finality after this split healed: the
    // relays' TCP connections stalled during the split, gossip's per-peer send queue filled
    // ("Send Queue full") and stayed full while TCP crept back at its retransmission backoff.
    // Relay connections whose ping times out are now closed and redialed (and a relay with no
    // final height for 8 s redials all): 27 runs of 27 resumed, in 2.3–7.9 s (most near 4.4 s).
    // Two later runs of 18 took 19.5 s: a lasting round re-sent every relay's whole pool every
    // 200 ms, and the reports piled up during the split flooded gossip's send queues; with only
    // each relay's own messages re-gossiped once a second, 16 runs of 16 resumed in 1.2–4.9 s.
    // `TC_FAULTS_SPLIT=0` skips this step.
    if std::env::var_os("TC_FAULTS_SPLIT").is_some_and(|v| v == "0") {
        println!("partition: 2|2 split step skipped (TC_FAULTS_SPLIT=0)");
        w.verify_all(&nodes[0], trust);
        return;
    }
    let set = nodes[0].validators();
    let total: u64 = set.validators.iter().map(|v| v.weight).sum();
    let weight = |half: &[usize]| -> u64 {
        half.iter()
            .map(|&i| {
                let key = nodes[i].validator_key();
                set.validators
                    .iter()
                    .find(|v| v.key == key)
                    .map_or(0, |v| v.weight)
            })
            .sum()
    };
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weight(&[i])));
    let (stay, go) = ([order[0], order[3]], [order[1], order[2]]);
    let halves = [weight(&stay), weight(&go)];
    assert!(
        halves.iter().all(|&w| 3 * w <= 2 * total),
        "a half of the split {stay:?}|{go:?} would hold a quorum: weights {halves:?} of {total} (epoch {})",
        set.epoch
    );
    println!("partition: splitting {stay:?}|{go:?}, weights {halves:?} of {total}");
    for &i in &go {
        lab.attach(i, Some('b'));
    }
    // Let what was in flight at the cut land.
    std::thread::sleep(Duration::from_millis(500));
    let split = heights(&all).into_iter().max().unwrap();
    let anchored = nodes[0].anchored();
    for _ in 0..4 {
        w.submit(&nodes[0], 2);
        std::thread::sleep(Duration::from_millis(750));
    }
    let during = heights(&all);
    assert!(
        during.iter().all(|&h| h <= split),
        "a height became final during a 2|2 split: {during:?}, split at {split}"
    );
    assert_eq!(nodes[0].anchored(), anchored, "anchored during a 2|2 split");
    assert_one_chain(&all);
    let healed = Instant::now();
    for &i in &go {
        lab.attach(i, Some('a'));
    }
    let hd = wait_anchored(&nodes[0], w.all());
    let resumed = healed.elapsed();
    assert!(hd > split);
    let all_final = time_to_height(&all, hd, Duration::from_secs(20), "after the 2|2 split");
    println!(
        "partition: 2|2 split at height {split} healed; contracts submitted during it anchored \
         (height {hd}) {:.2} s after healing, all four at {hd} after {:.2} s",
        resumed.as_secs_f64(),
        (resumed + all_final).as_secs_f64()
    );
    assert!(
        resumed < Duration::from_secs(20),
        "finality took {resumed:?} to resume"
    );
    assert_one_chain(&all);
    w.verify_all(&nodes[0], trust);
    println!(
        "partition: {} contracts, final height {hd}, {:.1} s",
        w.acked.len(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Latency through a delaying proxy.

/// A TCP proxy in front of one address that delays every chunk it forwards by `delay ± jitter`,
/// keeping the order within a connection.
struct DelayProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

#[derive(Clone, Copy)]
struct Delay {
    one_way: Duration,
    jitter: Duration,
    /// Loss as TCP shows it to the application: a chunk (and everything after it) held back
    /// by one retransmission timeout, with this probability in millionths.
    loss_ppm: u64,
}

/// Linux's minimum retransmission timeout: what one lost segment costs a TCP stream.
const RTO: Duration = Duration::from_millis(200);

impl DelayProxy {
    fn start(target: u16, delay: Delay) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listen");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let (s, c, b) = (stop.clone(), connections.clone(), bytes.clone());
        std::thread::spawn(move || {
            let mut seed = 0x9e37_79b9_7f4a_7c15 ^ u64::from(target);
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((inbound, _)) => {
                        let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)) else {
                            continue;
                        };
                        c.fetch_add(1, Ordering::Relaxed);
                        for (from, to) in [
                            (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                            (outbound, inbound),
                        ] {
                            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                            pipe(from, to, delay, seed, b.clone(), s.clone());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        DelayProxy {
            port,
            stop,
            connections,
            bytes,
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Forwards `from` → `to`: a reader stamps each chunk with its delivery time (never before the
/// previous chunk's), a writer sleeps until then and writes it.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    delay: Delay,
    seed: u64,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let _ = from.set_nodelay(true);
    let _ = to.set_nodelay(true);
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut rng = seed | 1;
        let mut last = Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let span = delay.jitter.as_micros() as u64 * 2 + 1;
            let mut d = delay.one_way + Duration::from_micros(rng % span) - delay.jitter;
            if (rng >> 20) % 1_000_000 < delay.loss_ppm {
                d += RTO;
            }
            last = last.max(Instant::now() + d);
            if tx.send((last, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Read);
    });
    std::thread::spawn(move || {
        while let Ok((at, chunk)) = rx.recv() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                break;
            }
            bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[test]
fn latency_and_loss_between_relays() {
    // `TRUSTCHAIN_LATENCY_MS=<one way>,<jitter>` overrides the default 40 ms ± 20 ms;
    // `TRUSTCHAIN_LOSS_PPM` the default 2 % loss (each costing a 200 ms retransmission stall:
    // there is no `tc netem` in this kernel, so the proxy shows TCP's view of a lost segment).
    let (one_way, jitter) = std::env::var("TRUSTCHAIN_LATENCY_MS")
        .ok()
        .and_then(|v| {
            let (d, j) = v.split_once(',')?;
            Some((d.trim().parse().ok()?, j.trim().parse().ok()?))
        })
        .unwrap_or((40, 20));
    assert!(jitter <= one_way, "the jitter must not exceed the delay");
    let loss_ppm = std::env::var("TRUSTCHAIN_LOSS_PPM")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(20_000);
    let delay = Delay {
        one_way: Duration::from_millis(one_way),
        jitter: Duration::from_millis(jitter),
        loss_ppm,
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let base = base_port();
    let mut nodes = devnet_at(&tmp.path().join("devnet"), base);
    // One proxy per relay; every other relay reaches it only through it (relays dial the
    // addresses in their config; an address learnt by identify is used only for a relay that
    // is in none of them).
    let proxies: Vec<DelayProxy> = (0..NODES)
        .map(|j| DelayProxy::start(base + 100 + j as u16, delay))
        .collect();
    for n in &nodes {
        n.edit_config(|mut t| {
            for (j, p) in proxies.iter().enumerate() {
                let direct = format!("/ip4/127.0.0.1/tcp/{}/p2p/", base + 100 + j as u16);
                let proxied = format!("/ip4/127.0.0.1/tcp/{}/p2p/", p.port);
                t = t.replace(&direct, &proxied);
            }
            t
        });
    }
    for n in nodes.iter_mut() {
        n.start();
    }
    let all: Vec<&Node> = nodes.iter().collect();
    let trust = genesis_trust(&nodes[0]);
    let mut w = Writer::open(&nodes[0]);
    let h0 = wait_anchored(&nodes[0], 1);
    wait_height(&all, h0, "with the charter");

    // Submit one contract at a time, a few per second, while a poller notes when each checkpoint
    // size became anchored.
    const N: usize = 30;
    // The anchored size the poller must see before it stops (0: not known yet).
    let done = Arc::new(AtomicU64::new(0));
    let url0 = nodes[0].url.clone();
    let poller = {
        let done = done.clone();
        std::thread::spawn(move || {
            let probe = Node {
                config: Default::default(),
                url: url0,
                netns: None,
                args: Vec::new(),
                child: None,
            };
            let mut seen: Vec<(Instant, u64)> = Vec::new();
            // Until told the size to reach, and then until a sample of its own shows it (the
            // main thread's view may be newer than this thread's last sample).
            loop {
                let size = probe.anchored();
                seen.push((Instant::now(), size));
                let target = done.load(Ordering::Relaxed);
                if target > 0 && size >= target {
                    break seen;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut submitted: Vec<(Instant, u64)> = Vec::new();
    for _ in 0..N {
        let at = Instant::now();
        let index = w.submit(&nodes[0], 1)[0];
        submitted.push((at, index));
        std::thread::sleep(Duration::from_millis(150));
    }
    let last = w.all();
    let h = wait_anchored(&nodes[0], last);
    done.store(last, Ordering::Relaxed);
    let seen = poller.join().unwrap();
    let mut latencies: Vec<Duration> = submitted
        .iter()
        .map(|&(at, index)| {
            let (when, _) = seen
                .iter()
                .find(|&&(t, size)| t >= at && size > index)
                .unwrap_or_else(|| panic!("record {index} anchored unseen"));
            when.duration_since(at)
        })
        .collect();
    latencies.sort();
    wait_height(&all, h, "all four through the proxies");
    assert_one_chain(&all);
    w.verify_all(&nodes[0], trust);
    // Every pair of relays is connected, and only through the proxies (nothing else is known).
    let proxied: u64 = proxies
        .iter()
        .map(|p| p.connections.load(Ordering::Relaxed))
        .sum();
    assert!(
        proxied >= (NODES * (NODES - 1) / 2) as u64,
        "{proxied} proxied"
    );
    for n in &nodes {
        let (_, m) = common::get_text(&format!("{}/metrics", n.url));
        assert!(
            m.lines()
                .any(|l| l == format!("trustchain_peers {}", NODES - 1)),
            "{}: not connected to every relay:\n{m}",
            n.url
        );
    }
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    println!(
        "latency: one-way {:?} ± {:?} between relays, {:.1} % of chunks stalled {RTO:?} (loss); \
         {N} contracts, submit→anchored p50 {} ms, p99 {} ms, max {} ms; proxied {} connections, \
         {} KiB; {:.1} s",
        delay.one_way,
        delay.jitter,
        delay.loss_ppm as f64 / 10_000.0,
        p50.as_millis(),
        p99.as_millis(),
        latencies.last().unwrap().as_millis(),
        proxied,
        proxies
            .iter()
            .map(|p| p.bytes.load(Ordering::Relaxed))
            .sum::<u64>()
            / 1024,
        started.elapsed().as_secs_f64()
    );
    assert!(
        p99 < Duration::from_secs(15),
        "submit→anchored p99 {p99:?} with {:?} one-way",
        delay.one_way
    );
    drop(nodes);
}
