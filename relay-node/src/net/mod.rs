//! libp2p for browsers: WebRTC-direct (no CA certificate needed, so an HTTPS page can reach any
//! relay) and WebSocket (the floor that always works), both serving the request-response protocol
//! of `trustchain_core::verify::wire` — the same answers as the HTTP API, from the same handlers' code.
//!
//! The WebRTC certificate is kept in the data directory (`webrtc-cert.pem`), so the `certhash` in
//! the relay's address survives restarts (rust-libp2p issue #5594), and the libp2p identity is
//! derived from the node key, so the `/p2p/` peer id does too.

pub mod browser;
pub mod client;
pub mod frames;
pub mod heartbeats;
pub mod probes;
pub mod replica;
pub mod replicating;
pub mod swarm;
pub mod sync;

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::upgrade::Version;
use libp2p::gossipsub;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Transport as _, noise, ping, yamux};
use tokio::sync::{mpsc, watch};
use trustchain_core::encoding::{Decode, Encode, Limits};
use trustchain_core::verify::wire::{self, FRAME_LIMITS, Request, Response};

use crate::consensus::codec::{
    MAX_SYNC_BLOCKS, NET_LIMITS, NetMessage, SYNC_LIMITS, SyncRequest, SyncResponse,
};
use crate::net::replica::{REPLICA_LIMITS, ReplicaRequest, ReplicaResponse};
use crate::node::{Input, Output};
use crate::query;
use crate::store::Store;
use trustchain_core::chain::state::ChainSnapshot;
use trustchain_core::scenario::checkpoint::Checkpoint;

/// How long a `Head` request waits for a new block before answering with the current head.
pub const HEAD_POLL: Duration = Duration::from_secs(20);

/// Where to listen.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// The IP address to bind (loopback in dev mode).
    pub ip: IpAddr,
    /// UDP port for WebRTC-direct (0: any).
    pub webrtc_port: u16,
    /// TCP port for WebSocket (0: any).
    pub ws_port: u16,
    /// Lie in every record proof served (tests of the verifiers only; `dev --misbehave`).
    pub misbehave: Option<crate::node::misbehave::Misbehave>,
}

/// What the rest of the relay knows of the libp2p side.
#[derive(Clone, Debug)]
pub struct P2pInfo {
    /// The relay's peer id.
    pub peer_id: PeerId,
    /// Addresses a browser can dial, with `/p2p/<peer id>`, as they become known.
    pub addrs: Arc<RwLock<Vec<Multiaddr>>>,
}

impl P2pInfo {
    /// The current browser addresses as strings.
    pub fn addresses(&self) -> Vec<String> {
        self.addrs
            .read()
            .map(|a| a.iter().map(|m| m.to_string()).collect())
            .unwrap_or_default()
    }
}

use browser::answer;
pub use client::Client;
pub use frames::*;
use heartbeats::{Heartbeats, median};
pub use heartbeats::{ping_interval, ping_timeout};
use replicating::Replicating;
use swarm::{Behaviour, BehaviourEvent, build_swarm, certificate, is_browser};
pub use swarm::{identity, topic};
pub use sync::answer_sync;

/// The relay-to-relay side of a network node (`trustchain-relay run`).
pub struct RelayNet {
    /// TCP addresses to listen on for other relays.
    pub listen: Vec<Multiaddr>,
    /// Relays to keep connected to (each ending in `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// The gossip topic (one per network).
    pub topic: String,
    /// Where gossip and sync answers go.
    pub driver: crate::node::Inbox<PeerId>,
    /// What the driver wants sent.
    pub out: mpsc::UnboundedReceiver<Output<PeerId>>,
    /// Counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The registered nodes this relay measures for PoSR.
    pub nodes: Vec<trustchain_core::crypto::PublicKey>,
    /// The PoSR window length.
    pub window_ms: u64,
    /// What this relay needs to act as a scenario replica.
    pub replica: crate::net::replica::ReplicaSide,
    /// The P2PT overlay of the current epoch: the hubs this relay keeps connected.
    pub overlay: watch::Receiver<Arc<crate::node::overlay::Overlay>>,
}

/// The peer id of a node key (its ed25519 libp2p identity).
fn peer_of(key: &trustchain_core::crypto::PublicKey) -> Option<PeerId> {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(pk).to_peer_id())
}

/// Starts the libp2p side: listens on WebRTC-direct and WebSocket and serves the relay protocol;
/// with `relay_net`, also listens on TCP for other relays, keeps its bootstrap relays connected,
/// gossips the driver's messages and answers sync requests.
pub async fn start(
    cfg: P2pConfig,
    node_key: &ed25519_dalek::SigningKey,
    data_dir: &Path,
    store: Arc<Store>,
    chain: watch::Receiver<Arc<ChainSnapshot>>,
    relay_net: Option<RelayNet>,
) -> anyhow::Result<P2pInfo> {
    let identity = identity(node_key)?;
    let cert = certificate(&data_dir.join("webrtc-cert.pem"))?;
    let ping_every = relay_net.as_ref().map(|n| ping_interval(n.window_ms));
    let mut swarm = build_swarm(identity, cert, ping_every)?;
    let mut window_ms = 0;
    let mut measured: std::collections::HashMap<
        PeerId,
        (trustchain_core::crypto::PublicKey, Heartbeats),
    > = std::collections::HashMap::new();
    let mut topic_hash = None;
    let mut net_out = None;
    let mut bootstrap = Vec::new();
    let mut driver = None;
    let mut metrics = None;
    let mut replica_side = None;
    let mut overlay: Option<watch::Receiver<Arc<crate::node::overlay::Overlay>>> = None;
    let me = trustchain_core::crypto::PublicKey::of(node_key);
    // Where registered relays listen (bootstrap addresses, then what identify tells).
    let mut relay_addrs: std::collections::HashMap<PeerId, Multiaddr> =
        std::collections::HashMap::new();
    // Registered nodes by peer id (replica requests are taken from them only).
    let mut node_keys: std::collections::HashMap<PeerId, trustchain_core::crypto::PublicKey> =
        std::collections::HashMap::new();
    if let Some(net) = relay_net {
        replica_side = Some(net.replica);
        overlay = Some(net.overlay);
        let topic = gossipsub::IdentTopic::new(net.topic);
        if let Some(g) = swarm.behaviour_mut().gossip.as_mut() {
            g.subscribe(&topic)
                .map_err(|e| anyhow::anyhow!("gossip subscription: {e}"))?;
        }
        topic_hash = Some(topic.hash());
        for a in &net.listen {
            swarm
                .listen_on(a.clone())
                .with_context(|| format!("cannot listen on {a} for relays"))?;
        }
        for a in &net.bootstrap {
            match a.iter().last() {
                Some(Protocol::P2p(peer)) => {
                    bootstrap.push((peer, a.clone()));
                    relay_addrs.insert(peer, a.clone());
                }
                _ => anyhow::bail!("bootstrap address {a} does not end in /p2p/<peer id>"),
            }
        }
        net_out = Some(net.out);
        driver = Some(net.driver);
        metrics = Some(net.metrics);
        window_ms = net.window_ms.max(1);
        for k in &net.nodes {
            if let Some(p) = peer_of(k)
                && p != *swarm.local_peer_id()
            {
                measured.insert(p, (*k, Heartbeats::default()));
                node_keys.insert(p, *k);
            }
        }
    }

    let webrtc: Multiaddr = Multiaddr::from(cfg.ip)
        .with(Protocol::Udp(cfg.webrtc_port))
        .with(Protocol::WebRTCDirect);
    let ws: Multiaddr = Multiaddr::from(cfg.ip)
        .with(Protocol::Tcp(cfg.ws_port))
        .with(Protocol::Ws("/".into()));
    swarm
        .listen_on(webrtc.clone())
        .with_context(|| format!("cannot listen on {webrtc}"))?;
    swarm
        .listen_on(ws.clone())
        .with_context(|| format!("cannot listen on {ws}"))?;

    let info = P2pInfo {
        peer_id: *swarm.local_peer_id(),
        addrs: Arc::default(),
    };
    let (done_tx, mut done_rx) =
        mpsc::channel::<(request_response::ResponseChannel<Response>, Response)>(256);
    let addrs = info.addrs.clone();
    let peer_id = info.peer_id;
    let misbehave = cfg.misbehave;
    let mut listening = 0;
    // Wait until both browser listeners have an address, so /v1/status can publish them at once.
    while listening < 2 {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            let full = address.clone().with_p2p(peer_id).unwrap_or_else(|a| a);
            if is_browser(&address) {
                tracing::info!(%full, "browser address");
                if let Ok(mut a) = addrs.write() {
                    a.push(full);
                }
                listening += 1;
            } else {
                tracing::info!(%full, "relay address");
            }
        }
    }
    let (sync_tx, mut sync_rx) = mpsc::channel::<(
        request_response::ResponseChannel<SyncResponse>,
        SyncResponse,
    )>(16);
    let (replica_tx, mut replica_rx) = mpsc::channel::<(
        request_response::ResponseChannel<ReplicaResponse>,
        ReplicaResponse,
    )>(64);
    // Home side: requests in flight, and what each replica is known to hold.
    let mut replicating = Replicating::default();
    // PoSR bandwidth samples: the window each peer was last sampled in, the samples in flight,
    // and each peer's latest figure.
    let mut sampled_in: std::collections::HashMap<PeerId, u64> = std::collections::HashMap::new();
    let mut sampling: std::collections::HashMap<
        request_response::OutboundRequestId,
        (PeerId, Instant),
    > = std::collections::HashMap::new();
    let mut bandwidth: std::collections::HashMap<PeerId, u32> = std::collections::HashMap::new();
    let mut redial = tokio::time::interval(Duration::from_secs(2));
    let mut window_tick = tokio::time::interval(Duration::from_millis(100));
    let now_window = move || crate::node::Now::real().wall_ms / window_ms.max(1);
    // The window the task started in is partial: measurements start with the next.
    let mut window = now_window();
    // Heartbeats due in a window: one per interval, less one for the phase of the first (libp2p
    // pings an interval after the previous answer, so a full window holds n - 1 to n of them).
    let expected = ping_every.map_or(1, |p| {
        (window_ms / p.as_millis().max(1) as u64)
            .saturating_sub(1)
            .max(1) as u32
    });
    let mut relays: std::collections::HashSet<PeerId> = std::collections::HashSet::new();
    // Dropped inputs are counted (metric) and logged at most once a second.
    let drop_metrics = metrics.clone();
    let last_drop_log = std::cell::Cell::new(None::<Instant>);
    let to_driver = move |input: Input<PeerId>| {
        if let Some(d) = &driver
            && d.try_send(input).is_err()
        {
            if let Some(m) = &drop_metrics {
                m.driver_dropped.add(1);
            }
            if last_drop_log
                .get()
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
            {
                last_drop_log.set(Some(Instant::now()));
                tracing::warn!(
                    "consensus driver busy; messages are being dropped (see trustchain_driver_dropped_total)"
                );
            }
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = redial.tick(), if !bootstrap.is_empty() || overlay.is_some() => {
                    for (peer, addr) in &bootstrap {
                        if !swarm.is_connected(peer) {
                            let _ = swarm.dial(addr.clone());
                        }
                    }
                    // The overlay's links: this relay's hubs (and, for a hub, every hub).
                    if let Some(o) = &overlay {
                        let links = o.borrow().links(&me);
                        let mut up = 0;
                        for k in &links {
                            let Some(peer) = peer_of(k) else { continue };
                            if swarm.is_connected(&peer) {
                                up += 1;
                            } else if let Some(addr) = relay_addrs.get(&peer) {
                                let _ = swarm.dial(addr.clone());
                            }
                        }
                        if let Some(m) = &metrics { m.hub_links.set(up); }
                    }
                }
                Some(()) = async { match overlay.as_mut() { Some(o) => o.changed().await.ok(), None => None } } => {
                    // A new epoch's hubs: dial them at the next redial tick (at most 2 s).
                    redial.reset_immediately();
                }
                Some(out) = async { match net_out.as_mut() { Some(rx) => rx.recv().await, None => None } } => match out {
                    Output::Publish(msg) => {
                        if let (Some(g), Some(t)) = (swarm.behaviour_mut().gossip.as_mut(), &topic_hash)
                            && let Err(e) = g.publish(t.clone(), msg.to_bytes())
                        {
                            tracing::debug!(error = %e, "gossip publish");
                        }
                    }
                    Output::Sync { peer, from } => {
                        swarm.behaviour_mut().sync.send_request(&peer, SyncRequest::Blocks { from, limit: MAX_SYNC_BLOCKS });
                    }
                    Output::Reconnect => {
                        for peer in relays.iter().copied().collect::<Vec<_>>() {
                            let _ = swarm.disconnect_peer_id(peer);
                        }
                        redial.reset_immediately();
                    }
                    Output::Replicate { checkpoint, replicas } => {
                        for key in replicas {
                            replicating.send(&mut swarm, &store, key, checkpoint.clone());
                        }
                    }
                },
                Some((channel, res)) = replica_rx.recv() => {
                    let _ = swarm.behaviour_mut().replica.send_response(channel, res);
                }
                _ = window_tick.tick(), if !measured.is_empty() => {
                    let w = now_window();
                    if w != window {
                        let done = window;
                        window = w;
                        let list = measured
                            .iter_mut()
                            .map(|(p, (k, hb))| {
                                let m = hb.measurements(expected, bandwidth.get(p).copied().unwrap_or(0));
                                *hb = Heartbeats::default();
                                (*k, m)
                            })
                            .collect();
                        // A jump of more than one window (a suspended machine) measured nothing.
                        if w == done + 1 {
                            to_driver(Input::Observations { window: done, measured: list });
                        }
                    }
                }
                Some((channel, res)) = sync_rx.recv() => {
                    let _ = swarm.behaviour_mut().sync.send_response(channel, res);
                }
                ev = swarm.select_next_some() => match ev {
                    SwarmEvent::Behaviour(BehaviourEvent::Relay(request_response::Event::Message {
                        message: request_response::Message::Request { request, channel, .. },
                        ..
                    })) => {
                        let (store, chain, done) = (store.clone(), chain.clone(), done_tx.clone());
                        tokio::spawn(async move {
                            let res = answer(store, chain, request, misbehave).await;
                            let _ = done.send((channel, res)).await;
                        });
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Relay(request_response::Event::InboundFailure { peer, error, .. })) => {
                        tracing::debug!(%peer, %error, "inbound request failed");
                    }
                    SwarmEvent::NewListenAddr { address, .. } => {
                        if is_browser(&address) && let Ok(mut a) = addrs.write() {
                            a.push(address.with_p2p(peer_id).unwrap_or_else(|a| a));
                        }
                    }
                    SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
                        let addr = endpoint.get_remote_address();
                        if is_browser(addr) {
                            tracing::debug!(%peer_id, %addr, "browser connected");
                        } else if num_established.get() == 1 && topic_hash.is_some() {
                            tracing::info!(%peer_id, %addr, "relay connected");
                            relays.insert(peer_id);
                            if let Some(m) = &metrics { m.peers.set(relays.len() as u64); }
                            to_driver(Input::PeerConnected(peer_id));
                        }
                    }
                    SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } if relays.remove(&peer_id) => {
                        tracing::info!(%peer_id, "relay disconnected");
                        if let Some(m) = &metrics { m.peers.set(relays.len() as u64); }
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, result, .. })) => {
                        tracing::trace!(%peer, ok = result.is_ok(), known = measured.contains_key(&peer), "ping");
                        if let Some((_, hb)) = measured.get_mut(&peer) {
                            match result {
                                Ok(rtt) => {
                                    hb.ok += 1;
                                    hb.rtts_us.push(u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX));
                                    // One bandwidth sample per peer and window, after its first
                                    // answered ping (which spreads the samples over the window).
                                    if relays.contains(&peer) && sampled_in.get(&peer) != Some(&window) {
                                        sampled_in.insert(peer, window);
                                        let id = swarm.behaviour_mut().bandwidth.send_request(&peer, crate::net::probes::Sample::full());
                                        sampling.insert(id, (peer, Instant::now()));
                                    }
                                }
                                Err(_) => hb.failed += 1,
                            }
                        }
                        if let Err(e) = &result
                            && relays.contains(&peer)
                        {
                            tracing::info!(%peer, error = %e, "relay ping failed; closing the connection (it is redialed)");
                            let _ = swarm.disconnect_peer_id(peer);
                        }
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message { propagation_source, message, .. })) => {
                        match NetMessage::from_bytes_with(&message.data, NET_LIMITS) {
                            Ok(msg) => to_driver(Input::Net { from: propagation_source, msg }),
                            Err(e) => {
                                if let Some(m) = &metrics { m.consensus_refused.add(1); }
                                tracing::debug!(peer = %propagation_source, error = %e, "undecodable gossip");
                            }
                        }
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. })) => match message {
                        request_response::Message::Request { request, channel, .. } => {
                            let (store, tx) = (store.clone(), sync_tx.clone());
                            tokio::task::spawn_blocking(move || {
                                let res = answer_sync(&store, request);
                                let _ = tx.blocking_send((channel, res));
                            });
                        }
                        request_response::Message::Response { response, .. } => match response {
                            SyncResponse::Blocks(blocks) => to_driver(Input::Synced { from: peer, blocks }),
                            SyncResponse::Error { message } => tracing::warn!(%peer, %message, "sync refused"),
                        },
                    },
                    SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure { peer, error, .. })) => {
                        tracing::debug!(%peer, %error, "sync request failed");
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Replica(request_response::Event::Message { peer, message, .. })) => match message {
                        request_response::Message::Request { request, channel, .. } => {
                            let tx = replica_tx.clone();
                            match (node_keys.get(&peer).copied(), replica_side.clone()) {
                                (Some(from), Some(side)) => {
                                    let snap = chain.borrow().clone();
                                    tokio::spawn(async move {
                                        let res = side.answer(from, &snap, crate::node::Now::real().wall_ms, request).await;
                                        let _ = tx.send((channel, res)).await;
                                    });
                                }
                                _ => {
                                    let _ = tx.try_send((channel, ReplicaResponse::refused("not a registered node of this network")));
                                }
                            }
                        }
                        request_response::Message::Response { request_id, response } => {
                            let Some((slot, cp)) = replicating.sent.remove(&request_id) else { continue };
                            let key = slot.0;
                            match response {
                                ReplicaResponse::Signed(sig) => {
                                    tracing::debug!(%peer, scenario = %cp.scenario, size = cp.size, "replica signed");
                                    if sig.key == key && key.verify(&cp.digest(), &sig.signature).is_ok() {
                                        replicating.sizes.insert(slot.clone(), cp.size);
                                        to_driver(Input::ReplicaSigned { checkpoint: cp, signature: sig });
                                    } else {
                                        tracing::warn!(%peer, "a replica's signature does not verify");
                                    }
                                    replicating.done(&mut swarm, &store, slot);
                                }
                                ReplicaResponse::Need { size } if size < cp.size => {
                                    tracing::debug!(%peer, scenario = %cp.scenario, size, "replica needs entries");
                                    replicating.sizes.insert(slot.clone(), size);
                                    // The slot stays busy: this continues the same checkpoint.
                                    replicating.send_from(&mut swarm, &store, slot, peer, cp, size);
                                }
                                ReplicaResponse::Need { size } => {
                                    tracing::warn!(%peer, scenario = %cp.scenario, size, "a replica asks for entries past the checkpoint");
                                    replicating.sizes.remove(&slot);
                                    replicating.done(&mut swarm, &store, slot);
                                }
                                ReplicaResponse::Refused { message } => {
                                    tracing::debug!(%peer, scenario = %cp.scenario, %message, "replica refused");
                                    replicating.sizes.remove(&slot);
                                    replicating.done(&mut swarm, &store, slot);
                                }
                            }
                        }
                    },
                    SwarmEvent::Behaviour(BehaviourEvent::Identify(libp2p::identify::Event::Received { peer_id, info, .. })) => {
                        // A registered relay's TCP listen address (not a browser transport).
                        if node_keys.contains_key(&peer_id)
                            && let Some(a) = info.listen_addrs.iter().find(|a| {
                                !is_browser(a) && a.iter().any(|p| matches!(p, Protocol::Tcp(_)))
                            })
                        {
                            // A configured (bootstrap) address wins: the operator chose it.
                            relay_addrs
                                .entry(peer_id)
                                .or_insert_with(|| a.clone().with_p2p(peer_id).unwrap_or_else(|a| a));
                        }
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Bandwidth(request_response::Event::Message { peer, message, .. })) => match message {
                        request_response::Message::Request { request, channel, .. } => {
                            // Registered relays only; anyone else's stream is dropped unanswered.
                            if node_keys.contains_key(&peer) {
                                let n = u32::try_from(request.0.len()).unwrap_or(u32::MAX);
                                let _ = swarm.behaviour_mut().bandwidth.send_response(channel, crate::net::probes::Received(n));
                            }
                        }
                        request_response::Message::Response { request_id, response } => {
                            if let Some((p, sent)) = sampling.remove(&request_id)
                                && response.0 as usize == crate::net::probes::SAMPLE_BYTES
                            {
                                let rtt = measured.get(&p).and_then(|(_, hb)| hb.median_rtt());
                                if let Some(k) = crate::net::probes::kbps(crate::net::probes::SAMPLE_BYTES, sent.elapsed(), rtt) {
                                    tracing::trace!(peer = %p, kbps = k, "bandwidth sample");
                                    bandwidth.insert(p, k);
                                    if let Some(m) = &metrics {
                                        let mut all: Vec<u32> = bandwidth.values().copied().collect();
                                        m.bandwidth_samples.add(1);
                                        m.bandwidth_kbps.set(u64::from(median(&mut all).unwrap_or(0)));
                                    }
                                }
                            }
                        }
                    },
                    SwarmEvent::Behaviour(BehaviourEvent::Bandwidth(request_response::Event::OutboundFailure { peer, request_id, error, .. })) => {
                        // A sample that does not arrive within 10 s is under 0.1 Mbit/s.
                        if sampling.remove(&request_id).is_some() {
                            bandwidth.insert(peer, 0);
                        }
                        tracing::debug!(%peer, %error, "bandwidth sample failed");
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Replica(request_response::Event::OutboundFailure { peer, request_id, error, .. })) => {
                        if let Some((slot, _)) = replicating.sent.remove(&request_id) {
                            replicating.sizes.remove(&slot);
                            replicating.done(&mut swarm, &store, slot);
                        }
                        tracing::debug!(%peer, %error, "replica request failed");
                    }
                    _ => {}
                },
                Some((channel, res)) = done_rx.recv() => {
                    // The peer may have gone; nothing to do then.
                    let _ = swarm.behaviour_mut().relay.send_response(channel, res);
                }
            }
        }
    });
    Ok(info)
}
