//! libp2p for browsers: WebRTC-direct (no CA certificate needed, so an HTTPS page can reach any
//! relay) and WebSocket (the floor that always works), both serving the request-response protocol
//! of `trustchain_core::wire` — the same answers as the HTTP API, from the same handlers' code.
//!
//! The WebRTC certificate is kept in the data directory (`webrtc-cert.pem`), so the `certhash` in
//! the relay's address survives restarts (rust-libp2p issue #5594), and the libp2p identity is
//! derived from the node key, so the `/p2p/` peer id does too.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::upgrade::Version;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Transport as _, noise, ping, yamux};
use tokio::sync::{mpsc, watch};
use trustchain_core::encoding::Decode;
use trustchain_core::wire::{self, FRAME_LIMITS, Request, Response};

use crate::api;
use crate::producer::ChainSnapshot;
use crate::store::Store;

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

/// Frames of the relay protocol on a libp2p stream.
#[derive(Clone, Default)]
pub struct WireCodec;

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

impl request_response::Codec for WireCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Request>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let buf = read_frame(io, wire::MAX_REQUEST_FRAME).await?;
        Request::from_bytes_with(&buf, FRAME_LIMITS).map_err(invalid)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Response>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        let buf = read_frame(io, wire::MAX_FRAME).await?;
        Response::from_bytes_with(&buf, FRAME_LIMITS).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Request,
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
        res: Response,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        let bytes = wire::frame(&res);
        if bytes.len() > wire::MAX_FRAME + 4 {
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

/// A swarm with both browser transports and the relay protocol (used by relays and by the
/// native [`Client`]).
fn build_swarm(
    identity: libp2p::identity::Keypair,
    cert: libp2p_webrtc::tokio::Certificate,
) -> anyhow::Result<libp2p::Swarm<Behaviour>> {
    Ok(libp2p::SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
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
        .with_behaviour(|_| Behaviour {
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
            ping: ping::Behaviour::default(),
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
        let mut swarm = build_swarm(identity, cert)?;
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
        Request::EpochChanges { .. } => Response::EpochChanges {
            // Single-node mode has one epoch: no changes to follow yet.
            changes: Vec::new(),
            current: chain.borrow().validators.clone(),
        },
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

/// Starts the libp2p side: listens on WebRTC-direct and WebSocket and serves the relay protocol.
pub async fn start(
    cfg: P2pConfig,
    node_key: &ed25519_dalek::SigningKey,
    data_dir: &Path,
    store: Arc<Store>,
    chain: watch::Receiver<Arc<ChainSnapshot>>,
) -> anyhow::Result<P2pInfo> {
    let identity = libp2p::identity::Keypair::ed25519_from_bytes(node_key.to_bytes())
        .context("deriving the libp2p identity")?;
    let cert = certificate(&data_dir.join("webrtc-cert.pem"))?;
    let mut swarm = build_swarm(identity, cert)?;

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
    // Wait until both listeners have an address, so /v1/status can publish them at once.
    while listening < 2 {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            let full = address.with_p2p(peer_id).unwrap_or_else(|a| a);
            tracing::info!(%full, "browser address");
            if let Ok(mut a) = addrs.write() {
                a.push(full);
            }
            listening += 1;
        }
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
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
                        if let Ok(mut a) = addrs.write() {
                            a.push(address.with_p2p(peer_id).unwrap_or_else(|a| a));
                        }
                    }
                    SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                        tracing::debug!(%peer_id, addr = %endpoint.get_remote_address(), "browser connected");
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
