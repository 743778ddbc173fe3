//! libp2p for browsers: WebRTC-direct (no CA certificate needed, so an HTTPS page can reach any
//! relay) and WebSocket (the floor that always works), both serving the request-response protocol
//! of `trustchain_core::verify::wire` — the same answers as the HTTP API, from the same handlers' code.
//!
//! The WebRTC certificate is kept in the data directory (`webrtc-cert.pem`), so the `certhash` in
//! the relay's address survives restarts (rust-libp2p issue #5594), and the libp2p identity is
//! derived from the node key, so the `/p2p/` peer id does too.

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

use crate::api;
use crate::consensus::codec::{
    MAX_SYNC_BLOCKS, NET_LIMITS, NetMessage, SYNC_LIMITS, SyncRequest, SyncResponse,
};
use crate::driver::{DriverIn, NetOut};
use crate::replica::{REPLICA_LIMITS, ReplicaRequest, ReplicaResponse};
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
    pub misbehave: Option<crate::misbehave::Misbehave>,
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

/// Reads one frame of at most `max` bytes. Memory grows with the bytes that actually arrive, not
/// with the length a peer announces.
async fn read_frame<T: futures::AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> std::io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let n = wire::frame_len_max(prefix, max)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut buf = Vec::with_capacity(n.min(64 * 1024));
    io.take(n as u64).read_to_end(&mut buf).await?;
    if buf.len() != n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "frame ends early",
        ));
    }
    Ok(buf)
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

/// What a request-response protocol frames: its request and response types and their limits.
pub trait Frames: Send + Clone + 'static {
    /// The request.
    type Request: Encode + Decode + Send;
    /// The response.
    type Response: Encode + Decode + Send;
    /// Largest request frame read.
    const MAX_REQUEST: usize;
    /// Largest response frame read or written.
    const MAX_RESPONSE: usize;
    /// Decoding limits of a request.
    const REQUEST_LIMITS: Limits;
    /// Decoding limits of a response.
    const RESPONSE_LIMITS: Limits;
}

/// A request-response codec of length-prefixed canonical frames (`wire::frame`), decoded with
/// [`Frames`]' limits.
#[derive(Clone, Default)]
pub struct FrameCodec<F>(std::marker::PhantomData<F>);

/// `/trustchain/relay/1`: what browsers (and the native [`Client`]) ask a relay.
#[derive(Clone, Default)]
pub struct RelayFrames;
impl Frames for RelayFrames {
    type Request = Request;
    type Response = Response;
    const MAX_REQUEST: usize = wire::MAX_REQUEST_FRAME;
    const MAX_RESPONSE: usize = wire::MAX_FRAME;
    const REQUEST_LIMITS: Limits = FRAME_LIMITS;
    const RESPONSE_LIMITS: Limits = FRAME_LIMITS;
}

/// `/trustchain/sync/1`: final blocks for a relay catching up.
#[derive(Clone, Default)]
pub struct SyncFrames;
impl Frames for SyncFrames {
    type Request = SyncRequest;
    type Response = SyncResponse;
    const MAX_REQUEST: usize = 1024;
    const MAX_RESPONSE: usize = SYNC_LIMITS.max_total;
    const REQUEST_LIMITS: Limits = NET_LIMITS;
    const RESPONSE_LIMITS: Limits = SYNC_LIMITS;
}

/// `/trustchain/replica/1`: a scenario's home sends its entries to its replicas, which
/// co-sign its checkpoints ([`crate::replica`]).
#[derive(Clone, Default)]
pub struct ReplicaFrames;
impl Frames for ReplicaFrames {
    type Request = ReplicaRequest;
    type Response = ReplicaResponse;
    const MAX_REQUEST: usize = REPLICA_LIMITS.max_total;
    const MAX_RESPONSE: usize = 2048;
    const REQUEST_LIMITS: Limits = REPLICA_LIMITS;
    const RESPONSE_LIMITS: Limits = REPLICA_LIMITS;
}

/// The identify protocol's name between relays.
pub const IDENTIFY_PROTOCOL: &str = "/trustchain/id/1";

/// The replica protocol's name.
pub const REPLICA_PROTOCOL: &str = "/trustchain/replica/1";

/// The relay protocol's codec.
pub type WireCodec = FrameCodec<RelayFrames>;
/// The catch-up protocol's codec.
pub type SyncCodec = FrameCodec<SyncFrames>;

/// The catch-up protocol between relays.
pub const SYNC_PROTOCOL: &str = "/trustchain/sync/1";

impl<F: Frames> request_response::Codec for FrameCodec<F> {
    type Protocol = StreamProtocol;
    type Request = F::Request;
    type Response = F::Response;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<F::Request>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let buf = read_frame(io, F::MAX_REQUEST).await?;
        F::Request::from_bytes_with(&buf, F::REQUEST_LIMITS).map_err(invalid)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<F::Response>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let buf = read_frame(io, F::MAX_RESPONSE).await?;
        F::Response::from_bytes_with(&buf, F::RESPONSE_LIMITS).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: F::Request,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&wire::frame(&req)).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: F::Response,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        let bytes = wire::frame(&res);
        if bytes.len() > F::MAX_RESPONSE + 4 {
            return Err(invalid("response larger than a frame"));
        }
        io.write_all(&bytes).await?;
        io.close().await
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: libp2p::connection_limits::Behaviour,
    relay: request_response::Behaviour<WireCodec>,
    ping: ping::Behaviour,
    /// Relay-to-relay gossip (votes, proposals, final blocks, checkpoints); off in clients.
    gossip: Toggle<gossipsub::Behaviour>,
    /// Relay-to-relay catch-up.
    sync: request_response::Behaviour<SyncCodec>,
    replica: request_response::Behaviour<FrameCodec<ReplicaFrames>>,
    /// Relays tell each other where they listen (to dial hubs); off in clients.
    identify: Toggle<libp2p::identify::Behaviour>,
    /// PoSR's bandwidth sample between relays ([`crate::bandwidth`]).
    bandwidth: request_response::Behaviour<FrameCodec<crate::bandwidth::BandwidthFrames>>,
}

/// Connections a relay accepts: enough for many browsers, bounded so that no peer can exhaust it.
const MAX_INCOMING: u32 = 1024;
/// Connections one peer may hold at once (a browser tab needs one).
const MAX_PER_PEER: u32 = 4;

/// Loads the WebRTC certificate from `path`, or makes one and keeps it there.
fn certificate(path: &Path) -> anyhow::Result<libp2p_webrtc::tokio::Certificate> {
    use libp2p_webrtc::tokio::Certificate;
    if path.exists() {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Certificate::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("{}: not a WebRTC certificate: {e}", path.display()));
    }
    let cert = Certificate::generate(&mut rand::rng())
        .map_err(|e| anyhow::anyhow!("cannot make a WebRTC certificate: {e}"))?;
    let tmp = path.with_extension("pem.tmp");
    std::fs::write(&tmp, cert.serialize_pem())?;
    std::fs::rename(&tmp, path)?;
    Ok(cert)
}

/// The gossip behaviour of relays: signed messages (the libp2p identity is the node key), one
/// topic per network, messages up to [`NET_LIMITS`].
fn gossip(key: &libp2p::identity::Keypair) -> anyhow::Result<gossipsub::Behaviour> {
    let config = gossipsub::ConfigBuilder::default()
        .max_transmit_size(NET_LIMITS.max_total)
        .heartbeat_interval(Duration::from_millis(500))
        .validation_mode(gossipsub::ValidationMode::Strict)
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub configuration: {e}"))?;
    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)
        .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))
}

/// A swarm with TCP (relays), both browser transports and the relay protocol; `relay_net` turns
/// on gossip between relays (off in the native [`Client`]).
fn build_swarm(
    identity: libp2p::identity::Keypair,
    cert: libp2p_webrtc::tokio::Certificate,
    relay_net: Option<Duration>,
) -> anyhow::Result<libp2p::Swarm<Behaviour>> {
    Ok(libp2p::SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_other_transport(|key| {
            libp2p_webrtc::tokio::Transport::new(key.clone(), cert)
                .map(|(peer, conn), _| (peer, StreamMuxerBox::new(conn)))
        })?
        .with_other_transport(|key| {
            let tcp = libp2p::tcp::tokio::Transport::new(libp2p::tcp::Config::default());
            Ok(libp2p_websocket::Config::new(tcp)
                .upgrade(Version::V1)
                .authenticate(noise::Config::new(key)?)
                .multiplex(yamux::Config::default())
                .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer))))
        })?
        .with_behaviour(|key| {
            let gossip = if relay_net.is_some() {
                Some(gossip(key)?)
            } else {
                None
            };
            let identify = relay_net.map(|_| {
                libp2p::identify::Behaviour::new(libp2p::identify::Config::new(
                    IDENTIFY_PROTOCOL.into(),
                    key.public(),
                ))
            });
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour {
                limits: libp2p::connection_limits::Behaviour::new(
                    libp2p::connection_limits::ConnectionLimits::default()
                        .with_max_established_incoming(Some(MAX_INCOMING))
                        .with_max_pending_incoming(Some(MAX_INCOMING / 4))
                        .with_max_established_per_peer(Some(MAX_PER_PEER)),
                ),
                relay: request_response::Behaviour::new(
                    [(StreamProtocol::new(wire::PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(HEAD_POLL + Duration::from_secs(10))
                        .with_max_concurrent_streams(64),
                ),
                ping: match relay_net {
                    Some(every) => ping::Behaviour::new(
                        ping::Config::new()
                            .with_interval(every)
                            .with_timeout(ping_timeout(every)),
                    ),
                    None => ping::Behaviour::default(),
                },
                gossip: Toggle::from(gossip),
                sync: request_response::Behaviour::new(
                    [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(16),
                ),
                identify: Toggle::from(identify),
                bandwidth: request_response::Behaviour::new(
                    [(
                        StreamProtocol::new(crate::bandwidth::PROTOCOL),
                        ProtocolSupport::Full,
                    )],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(10))
                        .with_max_concurrent_streams(8),
                ),
                replica: request_response::Behaviour::new(
                    [(StreamProtocol::new(REPLICA_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(64),
                ),
            })
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build())
}

type Pending = tokio::sync::oneshot::Sender<anyhow::Result<Response>>;

/// A native client of the relay protocol over libp2p (WebRTC-direct or WebSocket), for tools and
/// tests; the browser's client is its wasm twin in `wasm-pkg`.
pub struct Client {
    tx: mpsc::Sender<(Request, Pending)>,
}

impl Client {
    /// Dials `addr` (which must end in `/p2p/<peer id>`).
    pub async fn connect(addr: Multiaddr) -> anyhow::Result<Client> {
        let peer = match addr.iter().last() {
            Some(Protocol::P2p(p)) => p,
            _ => anyhow::bail!("{addr} does not end in /p2p/<peer id>"),
        };
        let identity = libp2p::identity::Keypair::generate_ed25519();
        let cert = libp2p_webrtc::tokio::Certificate::generate(&mut rand::rng())
            .map_err(|e| anyhow::anyhow!("cannot make a WebRTC certificate: {e}"))?;
        let mut swarm = build_swarm(identity, cert, None)?;
        // Native WebRTC dials from a UDP socket of a listener (browsers need none).
        if addr.iter().any(|p| matches!(p, Protocol::WebRTCDirect)) {
            let ip = addr.iter().find_map(|p| match p {
                Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
                Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
                _ => None,
            });
            let local = Multiaddr::from(ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)))
                .with(Protocol::Udp(0))
                .with(Protocol::WebRTCDirect);
            swarm.listen_on(local)?;
        }
        swarm.dial(addr.clone())?;
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == peer => break,
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    anyhow::bail!("cannot connect to {addr}: {error}")
                }
                _ => {}
            }
        }
        let (tx, mut rx) = mpsc::channel::<(Request, Pending)>(64);
        tokio::spawn(async move {
            let mut pending = std::collections::HashMap::new();
            loop {
                tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some((req, reply)) => {
                            let id = swarm.behaviour_mut().relay.send_request(&peer, req);
                            pending.insert(id, reply);
                        }
                        None => break,
                    },
                    ev = swarm.select_next_some() => match ev {
                        SwarmEvent::Behaviour(BehaviourEvent::Relay(request_response::Event::Message {
                            message: request_response::Message::Response { request_id, response },
                            ..
                        })) => {
                            if let Some(r) = pending.remove(&request_id) {
                                let _ = r.send(Ok(response));
                            }
                        }
                        SwarmEvent::Behaviour(BehaviourEvent::Relay(request_response::Event::OutboundFailure {
                            request_id, error, ..
                        })) => {
                            if let Some(r) = pending.remove(&request_id) {
                                let _ = r.send(Err(anyhow::anyhow!("request failed: {error}")));
                            }
                        }
                        _ => {}
                    },
                }
            }
        });
        Ok(Client { tx })
    }

    /// Sends one request and waits for the answer.
    pub async fn request(&self, req: Request) -> anyhow::Result<Response> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send((req, reply))
            .await
            .map_err(|_| anyhow::anyhow!("connection closed"))?;
        rx.await.map_err(|_| anyhow::anyhow!("connection closed"))?
    }
}

/// Answers one request from the store and the chain snapshot.
async fn answer(
    store: Arc<Store>,
    mut chain: watch::Receiver<Arc<ChainSnapshot>>,
    req: Request,
    misbehave: Option<crate::misbehave::Misbehave>,
) -> Response {
    let err = |e: api::ApiError| Response::Error {
        code: e.code().to_string(),
        message: e.message().to_string(),
    };
    match req {
        Request::Trust => Response::Trust(chain.borrow().trust()),
        Request::Head { after } => {
            let wait = chain.wait_for(|s| s.head.header.height > after);
            let _ = tokio::time::timeout(HEAD_POLL, wait).await;
            let snap = chain.borrow().clone();
            Response::Block {
                header: snap.head.header.clone(),
                certificate: snap.head.certificate.clone(),
            }
        }
        Request::Block { height } => match store.read().and_then(|v| v.block(height)) {
            Ok(Some(b)) => Response::Block {
                header: b.header,
                certificate: b.certificate,
            },
            Ok(None) => Response::Error {
                code: "not_found".into(),
                message: format!("no block at height {height} yet"),
            },
            Err(e) => err(e.into()),
        },
        Request::EpochChanges { from_epoch } => {
            match store
                .read()
                .and_then(|v| v.epoch_changes(from_epoch, wire::MAX_EPOCH_CHANGES as usize))
            {
                Ok(changes) => Response::EpochChanges {
                    changes,
                    current: chain.borrow().validators.clone(),
                },
                Err(e) => err(e.into()),
            }
        }
        Request::Record { scenario, index } => {
            let snap = chain.borrow().clone();
            match api::record_proof(&store, &snap, &scenario, index, misbehave) {
                Ok(p) => Response::Record(Box::new(p)),
                Err(e) => err(e),
            }
        }
        Request::Consistency { scenario, from, to } => {
            let snap = chain.borrow().clone();
            match api::consistency_proof(&store, &snap, &scenario, from, (to != 0).then_some(to)) {
                Ok((from, to, proof)) => Response::Consistency { from, to, proof },
                Err(e) => err(e),
            }
        }
    }
}

/// The relay-to-relay side of a network node (`trustchain-relay run`).
pub struct RelayNet {
    /// TCP addresses to listen on for other relays.
    pub listen: Vec<Multiaddr>,
    /// Relays to keep connected to (each ending in `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// The gossip topic (one per network).
    pub topic: String,
    /// Where gossip and sync answers go.
    pub driver: crate::driver::DriverTx,
    /// What the driver wants sent.
    pub out: mpsc::UnboundedReceiver<NetOut>,
    /// Counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The registered nodes this relay measures for PoSR.
    pub nodes: Vec<trustchain_core::crypto::PublicKey>,
    /// The PoSR window length.
    pub window_ms: u64,
    /// What this relay needs to act as a scenario replica.
    pub replica: crate::replica::ReplicaSide,
    /// The P2PT overlay of the current epoch: the hubs this relay keeps connected.
    pub overlay: watch::Receiver<Arc<crate::overlay::Overlay>>,
}

/// How long a relay waits for a ping's answer: eight intervals, within [2 s, 20 s]. A relay
/// connection whose ping times out is closed (and redialed): it stalled, e.g. in a partition,
/// and everything sent on it meanwhile piles up in gossip's send queue, which a TCP connection
/// recovering at its retransmission backoff drains only tens of seconds after the network heals
/// (seen in the 2|2 split test: finality did not resume within 60 s).
pub fn ping_timeout(every: Duration) -> Duration {
    (every * 8).clamp(Duration::from_secs(2), Duration::from_secs(20))
}

/// How often relays ping each other: eight heartbeats per PoSR window, within [250 ms, 15 s].
pub fn ping_interval(window_ms: u64) -> Duration {
    Duration::from_millis((window_ms / 8).clamp(250, 15_000))
}

/// One window's heartbeats of one peer.
#[derive(Default)]
struct Heartbeats {
    ok: u32,
    failed: u32,
    rtts_us: Vec<u32>,
}

/// The upper median of `values` (sorted in place): the element at `len / 2`.
fn median(values: &mut [u32]) -> Option<u32> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

impl Heartbeats {
    /// The median RTT of the window's answered pings.
    fn median_rtt(&self) -> Option<Duration> {
        median(&mut self.rtts_us.clone()).map(|us| Duration::from_micros(u64::from(us)))
    }

    /// The measurements of a window in which `expected` heartbeats were due, with the peer's
    /// latest bandwidth sample (0 if none answered yet).
    fn measurements(
        &mut self,
        expected: u32,
        bandwidth_kbps: u32,
    ) -> trustchain_core::chain::posr::Measurements {
        use trustchain_core::chain::posr::{Measurements, PPM};
        if self.ok == 0 {
            return Measurements::DOWN;
        }
        let ppm = |n: u32, of: u32| ((n as u64 * PPM) / of.max(1) as u64).min(PPM) as u32;
        Measurements {
            heartbeat_ppm: ppm(self.ok, expected),
            reachability_ppm: ppm(self.ok, self.ok + self.failed),
            // Every answered ping pushed an RTT, and `ok > 0`.
            rtt_us: median(&mut self.rtts_us).unwrap_or(u32::MAX),
            bandwidth_kbps,
        }
    }
}

/// A home's replication to one replica of one scenario.
type Slot = (
    trustchain_core::crypto::PublicKey,
    trustchain_core::encoding::value::ScenarioId,
);

/// The home side of `/trustchain/replica/1`: at most one request per replica and scenario is in
/// flight; a newer checkpoint waits (the newest only) until it is answered. (One request per
/// checkpoint, unbounded, flooded a replica's streams under load — "Dropping inbound stream
/// because we are at capacity" — and out-of-order appends only earned `Need` answers.)
#[derive(Default)]
struct Replicating {
    /// Requests in flight: their slot and checkpoint.
    sent: std::collections::HashMap<request_response::OutboundRequestId, (Slot, Checkpoint)>,
    /// Slots with a request in flight.
    busy: std::collections::HashSet<Slot>,
    /// The newest checkpoint waiting for its slot.
    queued: std::collections::HashMap<Slot, Checkpoint>,
    /// How many entries each replica is known to hold.
    sizes: std::collections::HashMap<Slot, u64>,
}

impl Replicating {
    /// Sends `cp` to the replica `key` from what it is known to hold (or asks first), unless a
    /// request for the same slot is in flight: then it waits its turn.
    fn send(
        &mut self,
        swarm: &mut libp2p::Swarm<Behaviour>,
        store: &Store,
        key: trustchain_core::crypto::PublicKey,
        cp: Checkpoint,
    ) {
        let Some(peer) = peer_of(&key) else { return };
        let slot = (key, cp.scenario.clone());
        if self.busy.contains(&slot) {
            if self.queued.get(&slot).is_none_or(|q| q.size < cp.size) {
                self.queued.insert(slot, cp);
            }
            return;
        }
        // Unknown: ask first (an empty request), so nothing is sent twice.
        let start = self.sizes.get(&slot).copied().unwrap_or(cp.size);
        self.send_from(swarm, store, slot, peer, cp, start);
    }

    fn send_from(
        &mut self,
        swarm: &mut libp2p::Swarm<Behaviour>,
        store: &Store,
        slot: Slot,
        peer: PeerId,
        cp: Checkpoint,
        start: u64,
    ) {
        match crate::replica::append_from(store, &cp, start) {
            Ok(req) => {
                tracing::debug!(%peer, scenario = %cp.scenario, size = cp.size, start, "replicate");
                let id = swarm.behaviour_mut().replica.send_request(&peer, req);
                self.busy.insert(slot.clone());
                self.sent.insert(id, (slot, cp));
            }
            Err(e) => tracing::error!(error = %e, "cannot read entries to replicate"),
        }
    }

    /// The slot's request is answered or failed: the waiting checkpoint, if any, goes next.
    fn done(&mut self, swarm: &mut libp2p::Swarm<Behaviour>, store: &Store, slot: Slot) {
        self.busy.remove(&slot);
        if let Some(next) = self.queued.remove(&slot) {
            self.send(swarm, store, slot.0, next);
        }
    }
}

/// The peer id of a node key (its ed25519 libp2p identity).
fn peer_of(key: &trustchain_core::crypto::PublicKey) -> Option<PeerId> {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).ok()?;
    Some(libp2p::identity::PublicKey::from(pk).to_peer_id())
}

/// The gossip topic of the network `chain_id`.
pub fn topic(chain_id: &str) -> String {
    format!("/trustchain/{chain_id}/consensus/1")
}

/// The libp2p identity (and so the peer id) of a node key.
pub fn identity(node_key: &ed25519_dalek::SigningKey) -> anyhow::Result<libp2p::identity::Keypair> {
    libp2p::identity::Keypair::ed25519_from_bytes(node_key.to_bytes())
        .context("deriving the libp2p identity")
}

/// Whether a connection is to a browser (WebSocket or WebRTC) rather than to a relay over TCP.
fn is_browser(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| {
        matches!(
            p,
            Protocol::Ws(_) | Protocol::Wss(_) | Protocol::WebRTCDirect
        )
    })
}

/// Reads and answers one sync request from the store, within [`SYNC_LIMITS`] (see
/// [`SyncResponse::blocks_fitting`]).
fn answer_sync(store: &Store, req: SyncRequest) -> SyncResponse {
    let SyncRequest::Blocks { from, limit } = req;
    match store
        .read()
        .and_then(|v| v.final_blocks(from, u64::from(limit.min(MAX_SYNC_BLOCKS))))
    {
        Ok(blocks) => SyncResponse::blocks_fitting(blocks),
        Err(e) => SyncResponse::error(e.to_string()),
    }
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
    let mut overlay: Option<watch::Receiver<Arc<crate::overlay::Overlay>>> = None;
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
    let now_window = move || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
            / window_ms.max(1)
    };
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
    let to_driver = move |input: DriverIn| {
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
                    NetOut::Publish(msg) => {
                        if let (Some(g), Some(t)) = (swarm.behaviour_mut().gossip.as_mut(), &topic_hash)
                            && let Err(e) = g.publish(t.clone(), msg.to_bytes())
                        {
                            tracing::debug!(error = %e, "gossip publish");
                        }
                    }
                    NetOut::Sync { peer, from } => {
                        swarm.behaviour_mut().sync.send_request(&peer, SyncRequest::Blocks { from, limit: MAX_SYNC_BLOCKS });
                    }
                    NetOut::Reconnect => {
                        for peer in relays.iter().copied().collect::<Vec<_>>() {
                            let _ = swarm.disconnect_peer_id(peer);
                        }
                        redial.reset_immediately();
                    }
                    NetOut::Replicate { checkpoint, replicas } => {
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
                            to_driver(DriverIn::Observations { window: done, measured: list });
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
                            to_driver(DriverIn::PeerConnected(peer_id));
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
                                        let id = swarm.behaviour_mut().bandwidth.send_request(&peer, crate::bandwidth::Sample::full());
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
                            Ok(msg) => to_driver(DriverIn::Net { from: propagation_source, msg }),
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
                            SyncResponse::Blocks(blocks) => to_driver(DriverIn::Synced { from: peer, blocks }),
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
                                        let res = side.answer(from, &snap, crate::demo::now_ms(), request).await;
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
                                        to_driver(DriverIn::ReplicaSigned { checkpoint: cp, signature: sig });
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
                                let _ = swarm.behaviour_mut().bandwidth.send_response(channel, crate::bandwidth::Received(n));
                            }
                        }
                        request_response::Message::Response { request_id, response } => {
                            if let Some((p, sent)) = sampling.remove(&request_id)
                                && response.0 as usize == crate::bandwidth::SAMPLE_BYTES
                            {
                                let rtt = measured.get(&p).and_then(|(_, hb)| hb.median_rtt());
                                if let Some(k) = crate::bandwidth::kbps(crate::bandwidth::SAMPLE_BYTES, sent.elapsed(), rtt) {
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
