//! The light client's libp2p transport: rust-libp2p in the browser, **WebRTC-direct** first and
//! **WebSocket** as the floor, speaking the relay protocol `/trustchain/relay/1`
//! (`trustchain_core::verify::wire`, `docs/wire.md`) with request-response — the same frames as the relay
//! (`relay-node/src/p2p.rs`): a `u32` big-endian length, then the canonical bytes, refused above
//! [`wire::MAX_FRAME`] before anything is allocated, decoded by core with [`FRAME_LIMITS`].
//!
//! A relay is named by its base URL (its addresses are read from
//! `{url}/.well-known/trustchain.json`) or by multiaddrs directly. One connection per relay address
//! is kept for the page and shared by every badge; a dead one is dropped and dialled again.
//!
//! libp2p-webrtc-websys sometimes fails a request under CPU load with "closure invoked recursively
//! or after being dropped" (rust-libp2p #6551): failed requests are retried a few times with
//! backoff (not timeouts: a relay that does not answer is left for the next one).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::Not as _;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{FutureExt as _, LocalBoxFuture, Shared};
use futures::{AsyncReadExt as _, AsyncWriteExt as _, StreamExt as _};
use libp2p::core::upgrade::Version;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundFailure, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Transport as _, noise, yamux};
use trustchain_core::encoding::value::ScenarioId;
use trustchain_core::encoding::{Decode, DecodeError};
use trustchain_core::verify::light_client::TrustedCheckpoint;
use trustchain_core::verify::proof::RecordProof;
use trustchain_core::verify::wire::{self, FRAME_LIMITS, Request, Response};
use wasm_bindgen::JsValue;

use crate::transport::{
    CertifiedBlock, HttpTransport, Transport, TransportError, block_answer, js_text,
};

/// How long dialling one address may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take (the relay answers from memory or its store in milliseconds).
/// Measured here, not by libp2p: on a connection whose peer is gone, opening a stream only fails
/// after libp2p's 10 s upgrade timeout. When it passes, the relay's web address is probed: a live
/// relay is asked again, a dead one left for the next.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Requests in flight on one connection; more wait their turn (a page asks for dozens of proofs at
/// once, and fewer concurrent WebRTC data channels stall less often under load).
const MAX_IN_FLIGHT: usize = 8;
/// Attempts of one request when it fails (not when it times out), and the first backoff.
const ATTEMPTS: u32 = 4;
const BACKOFF_MS: u64 = 100;
/// After a relay could not be reached, how long to answer "unreachable" at once instead of
/// dialling it again (every badge of a page asks at the same moment).
const DOWN_MS: f64 = 3_000.0;

/// Which transports may be used (the element's `transport` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// WebRTC-direct first, then WebSocket.
    Auto,
    /// WebRTC-direct only.
    WebRtc,
    /// WebSocket only.
    WebSocket,
    /// The relay's HTTP API (`fetch`), no libp2p.
    Http,
}

impl Mode {
    /// Reads `auto` (default, also for an empty value), `webrtc`, `websocket` or `http`.
    pub fn parse(s: Option<&str>) -> Result<Mode, TransportError> {
        match s.map(str::trim).unwrap_or("") {
            "" | "auto" => Ok(Mode::Auto),
            "webrtc" | "webrtc-direct" => Ok(Mode::WebRtc),
            "websocket" | "ws" => Ok(Mode::WebSocket),
            "http" => Ok(Mode::Http),
            other => Err(TransportError::Argument(format!(
                "transport {other:?}: expected auto, webrtc, websocket or http"
            ))),
        }
    }

    fn key(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::WebRtc => "webrtc",
            Mode::WebSocket => "websocket",
            Mode::Http => "http",
        }
    }
}

/// The transport's name for an address.
fn kind_of(addr: &Multiaddr) -> Option<&'static str> {
    let mut kind = None;
    for p in addr.iter() {
        match p {
            Protocol::WebRTCDirect => kind = Some("webrtc-direct"),
            Protocol::Ws(_) | Protocol::Wss(_) => kind = Some("websocket"),
            _ => {}
        }
    }
    kind
}

// ---------------------------------------------------------------------------------------------
// The codec: the relay's frames
// ---------------------------------------------------------------------------------------------

/// Requests are [`Request`]s; responses stay bytes here (bounded by the frame limit) and are
/// decoded by core with [`FRAME_LIMITS`] where they are used, so a malformed answer is a verdict
/// or a named error, not a dropped stream.
#[derive(Clone, Default)]
struct WireCodec;

async fn read_frame<T: futures::AsyncRead + Unpin + Send>(io: &mut T) -> std::io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let n = wire::frame_len(prefix)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let mut buf = vec![0u8; n];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

impl request_response::Codec for WireCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, _: &mut T) -> std::io::Result<Request>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        // The browser only asks; it never serves the protocol.
        Err(std::io::Error::other("this peer does not answer requests"))
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        read_frame(io).await
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
        _: &mut T,
        _: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        Err(std::io::Error::other("this peer does not answer requests"))
    }
}

// ---------------------------------------------------------------------------------------------
// One connection to one relay address
// ---------------------------------------------------------------------------------------------

type Reply = oneshot::Sender<Result<Vec<u8>, Failed>>;

/// Why a request on a live connection failed.
#[derive(Debug, Clone)]
enum Failed {
    /// No answer in time: the relay is slow or gone; not retried.
    Timeout,
    /// The connection is gone.
    Closed(String),
    /// The request failed on its stream (rust-libp2p #6551 and friends): retried.
    Stream(String),
}

struct Conn {
    tx: mpsc::UnboundedSender<(Request, Reply)>,
    closed: Rc<Cell<bool>>,
    addr: Multiaddr,
    kind: &'static str,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn sleep(d: Duration) -> futures_timer::Delay {
    futures_timer::Delay::new(d)
}

/// Dials `addr` (ending in `/p2p/<peer id>`) and starts the connection's event loop.
async fn dial(addr: Multiaddr) -> Result<Rc<Conn>, TransportError> {
    let unreachable = |why: String| TransportError::Unreachable(format!("{addr}: {why}"));
    let kind = kind_of(&addr).ok_or_else(|| {
        TransportError::Argument(format!("{addr} is neither WebRTC-direct nor WebSocket"))
    })?;
    let peer = match addr.iter().last() {
        Some(Protocol::P2p(p)) => p,
        _ => {
            return Err(TransportError::Argument(format!(
                "{addr} does not end in /p2p/<peer id>"
            )));
        }
    };
    let mut swarm = build_swarm().map_err(|e| unreachable(format!("cannot start libp2p: {e}")))?;
    swarm
        .dial(addr.clone())
        .map_err(|e| unreachable(e.to_string()))?;
    let mut timeout = sleep(DIAL_TIMEOUT).fuse();
    loop {
        futures::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == peer => break,
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    return Err(unreachable(error.to_string()));
                }
                _ => {}
            },
            _ = timeout => return Err(unreachable("no connection within 5 s".into())),
        }
    }
    let (tx, rx) = mpsc::unbounded();
    let closed = Rc::new(Cell::new(false));
    wasm_bindgen_futures::spawn_local(drive(swarm, peer, rx, closed.clone()));
    Ok(Rc::new(Conn {
        tx,
        closed,
        addr,
        kind,
    }))
}

#[derive(libp2p::swarm::NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
struct Behaviour {
    relay: request_response::Behaviour<WireCodec>,
}

fn build_swarm() -> Result<libp2p::Swarm<Behaviour>, Box<dyn std::error::Error>> {
    Ok(libp2p::SwarmBuilder::with_new_identity()
        .with_wasm_bindgen()
        .with_other_transport(|key| {
            libp2p::webrtc_websys::Transport::new(libp2p::webrtc_websys::Config::new(key))
        })?
        .with_other_transport(|key| {
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                libp2p::websocket_websys::Transport::default()
                    .upgrade(Version::V1)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default()),
            )
        })?
        .with_behaviour(|_| Behaviour {
            relay: request_response::Behaviour::with_codec(
                WireCodec,
                [(
                    StreamProtocol::new(wire::PROTOCOL),
                    ProtocolSupport::Outbound,
                )],
                request_response::Config::default()
                    .with_request_timeout(REQUEST_TIMEOUT * 2)
                    .with_max_concurrent_streams(64),
            ),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build())
}

/// The connection's event loop: sends requests, hands answers back, and ends (failing what is
/// pending) when the connection closes or every handle is dropped.
async fn drive(
    mut swarm: libp2p::Swarm<Behaviour>,
    peer: PeerId,
    mut rx: mpsc::UnboundedReceiver<(Request, Reply)>,
    closed: Rc<Cell<bool>>,
) {
    let mut pending: HashMap<request_response::OutboundRequestId, Reply> = HashMap::new();
    let mut queue: std::collections::VecDeque<(Request, Reply)> = Default::default();
    loop {
        // A request given up by its caller (timed out) frees its place.
        pending.retain(|_, r| !r.is_canceled());
        while pending.len() < MAX_IN_FLIGHT
            && let Some((req, reply)) = queue.pop_front()
        {
            if reply.is_canceled() {
                continue;
            }
            let id = swarm.behaviour_mut().relay.send_request(&peer, req);
            pending.insert(id, reply);
        }
        futures::select! {
            cmd = rx.next() => match cmd {
                Some(c) => queue.push_back(c),
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
                    let failed = match error {
                        OutboundFailure::Timeout => Failed::Timeout,
                        OutboundFailure::ConnectionClosed | OutboundFailure::DialFailure => {
                            Failed::Closed(error.to_string())
                        }
                        e => Failed::Stream(e.to_string()),
                    };
                    if let Some(r) = pending.remove(&request_id) {
                        let _ = r.send(Err(failed));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, cause, .. } if peer_id == peer => {
                    let why = cause.map_or_else(|| "connection closed".to_string(), |c| c.to_string());
                    closed.set(true);
                    for (_, r) in pending.drain() {
                        let _ = r.send(Err(Failed::Closed(why.clone())));
                    }
                    for (_, r) in queue.drain(..) {
                        let _ = r.send(Err(Failed::Closed(why.clone())));
                    }
                    break;
                }
                _ => {}
            },
        }
    }
    closed.set(true);
}

impl Conn {
    async fn request(&self, req: Request) -> Result<Vec<u8>, Failed> {
        let (reply, rx) = oneshot::channel();
        if self.closed.get() || self.tx.unbounded_send((req, reply)).is_err() {
            return Err(Failed::Closed("connection closed".into()));
        }
        let mut timeout = sleep(REQUEST_TIMEOUT).fuse();
        let mut rx = rx.fuse();
        futures::select! {
            r = rx => r.unwrap_or_else(|_| Err(Failed::Closed("connection closed".into()))),
            _ = timeout => Err(Failed::Timeout),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Relays: addresses, dialling in order, connections shared by the page
// ---------------------------------------------------------------------------------------------

type Dialing = Shared<LocalBoxFuture<'static, Result<Rc<Conn>, TransportError>>>;

thread_local! {
    /// Connections (or dials under way) per relay and mode.
    static CONNS: RefCell<HashMap<String, Dialing>> = RefCell::new(HashMap::new());
    /// Relays that could not be reached, until when (ms since the epoch).
    static DOWN: RefCell<HashMap<String, (f64, TransportError)>> = RefCell::new(HashMap::new());
}

/// Whether this page can open WebRTC connections: a window with `RTCPeerConnection` (browsers or
/// settings that disable WebRTC remove it). libp2p-webrtc-websys assumes both and would panic —
/// which aborts the whole module — so WebRTC addresses are skipped when either is missing.
fn webrtc_available() -> bool {
    let global = js_sys::global();
    let has = |name: &str| {
        js_sys::Reflect::get(&global, &JsValue::from_str(name)).is_ok_and(|v| v.is_function())
    };
    web_sys::window().is_some() && has("RTCPeerConnection")
}

/// The relay's libp2p addresses: the multiaddrs given (comma or space separated), or those its
/// `/.well-known/trustchain.json` publishes (read at every dial: dials are rare, a relay that is
/// gone is noticed at once, and a relay's new addresses are picked up).
async fn addresses(relay: &str) -> Result<Vec<Multiaddr>, TransportError> {
    if relay.starts_with('/') {
        return relay
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<Multiaddr>()
                    .map_err(|e| TransportError::Argument(format!("{s}: not a multiaddr: {e}")))
            })
            .collect();
    }
    let http = HttpTransport::new(relay)?;
    let text = http.well_known().await?;
    let v = js_sys::JSON::parse(&text).map_err(|e| {
        TransportError::BadAnswer(format!("trustchain.json is not JSON: {}", js_text(&e)))
    })?;
    let list = js_sys::Reflect::get(&v, &JsValue::from_str("addresses"))
        .ok()
        .filter(js_sys::Array::is_array)
        .ok_or_else(|| TransportError::BadAnswer("trustchain.json has no addresses".into()))?;
    let addrs: Vec<Multiaddr> = js_sys::Array::from(&list)
        .iter()
        .take(16)
        .filter_map(|a| a.as_string()?.parse().ok())
        .collect();
    Ok(addrs)
}

/// Dials the relay's addresses allowed by `mode`, WebRTC-direct first; the first that connects.
async fn connect(relay: String, mode: Mode) -> Result<Rc<Conn>, TransportError> {
    let webrtc = webrtc_available();
    if mode == Mode::WebRtc && !webrtc {
        return Err(TransportError::Unreachable(
            "this browser has no WebRTC (RTCPeerConnection)".into(),
        ));
    }
    let mut addrs: Vec<Multiaddr> = addresses(&relay)
        .await?
        .into_iter()
        .filter(|a| match (mode, kind_of(a)) {
            (Mode::Auto, Some("webrtc-direct")) => webrtc,
            (Mode::Auto, Some(_)) => true,
            (Mode::WebRtc, Some(k)) => k == "webrtc-direct",
            (Mode::WebSocket, Some(k)) => k == "websocket",
            _ => false,
        })
        .collect();
    addrs.sort_by_key(|a| kind_of(a) != Some("webrtc-direct"));
    if addrs.is_empty() {
        return Err(TransportError::Unreachable(format!(
            "{relay} publishes no {} address",
            match mode {
                Mode::WebRtc => "WebRTC-direct",
                Mode::WebSocket => "WebSocket",
                _ => "browser (WebRTC-direct or WebSocket)",
            }
        )));
    }
    let mut errors = Vec::new();
    for addr in addrs {
        match dial(addr).await {
            Ok(c) => return Ok(c),
            Err(e) => errors.push(e.to_string()),
        }
    }
    Err(TransportError::Unreachable(errors.join("; ")))
}

/// The shared connection to `relay` under `mode`, dialling it if there is none.
async fn connection(relay: &str, mode: Mode) -> Result<Rc<Conn>, TransportError> {
    let key = format!("{}|{relay}", mode.key());
    if let Some((until, e)) = DOWN.with(|d| d.borrow().get(&key).cloned())
        && now_ms() < until
    {
        return Err(e);
    }
    let dialing = CONNS.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(d) = c.get(&key) {
            let live = match d.peek() {
                Some(Ok(conn)) => !conn.closed.get(),
                Some(Err(_)) => false,
                None => true,
            };
            if live {
                return d.clone();
            }
        }
        let d = connect(relay.to_string(), mode).boxed_local().shared();
        c.insert(key.clone(), d.clone());
        d
    });
    let res = dialing.clone().await;
    if let Err(e) = &res {
        DOWN.with(|d| {
            d.borrow_mut()
                .insert(key.clone(), (now_ms() + DOWN_MS, e.clone()))
        });
        forget(&key, &dialing);
    } else {
        DOWN.with(|d| d.borrow_mut().remove(&key));
    }
    res
}

/// Drops a connection (if it is still the one registered) so the next request dials again.
fn forget(key: &str, dialing: &Dialing) {
    CONNS.with(|c| {
        let mut c = c.borrow_mut();
        if c.get(key).is_some_and(|d| d.ptr_eq(dialing)) {
            c.remove(key);
        }
    });
}

/// A relay reached over libp2p: implements [`Transport`] with the relay protocol.
pub struct P2pTransport {
    relay: String,
    mode: Mode,
    served: RefCell<Option<(&'static str, String)>>,
    forgiven: Cell<bool>,
}

impl P2pTransport {
    /// A transport to `relay` (a base URL, or multiaddrs) over WebRTC-direct and/or WebSocket.
    pub fn new(relay: &str, mode: Mode) -> Result<Self, TransportError> {
        let relay = relay.trim().trim_end_matches('/');
        if !(relay.starts_with('/')
            || relay.starts_with("http://")
            || relay.starts_with("https://"))
        {
            return Err(TransportError::Argument(format!(
                "relay {relay:?} is neither an http(s) URL nor a multiaddr"
            )));
        }
        if mode == Mode::Http {
            return Err(TransportError::Argument("not a libp2p mode".into()));
        }
        Ok(P2pTransport {
            relay: relay.to_string(),
            mode,
            served: RefCell::new(None),
            forgiven: Cell::new(false),
        })
    }

    /// Asks the relay, retrying failed requests (not timeouts) with backoff, on a new connection
    /// when the old one closed; returns the answer's frame payload, not yet decoded.
    async fn ask(&self, req: Request) -> Result<Vec<u8>, TransportError> {
        let key = format!("{}|{}", self.mode.key(), self.relay);
        let mut last = String::new();
        let mut timeouts = 0;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                sleep(Duration::from_millis(BACKOFF_MS << (2 * (attempt - 1)))).await;
            }
            let conn = connection(&self.relay, self.mode).await?;
            match conn.request(req.clone()).await {
                Ok(bytes) => {
                    *self.served.borrow_mut() = Some((conn.kind, conn.addr.to_string()));
                    return Ok(bytes);
                }
                Err(Failed::Timeout) => {
                    // No answer: a killed relay (a dead WebRTC path the browser has not noticed
                    // yet) or a stalled stream. Ask the relay's web server whether it is still
                    // there: if not, note it as down and let the caller try another relay; if it
                    // is, try again — on a new connection after a second stall.
                    last = format!(
                        "{}: no answer within {} s",
                        conn.addr,
                        REQUEST_TIMEOUT.as_secs()
                    );
                    timeouts += 1;
                    let alive = self.alive().await;
                    if timeouts >= 2 || !alive {
                        self.drop_conn(&key, &conn);
                    }
                    if !alive {
                        let e = TransportError::Unreachable(last);
                        DOWN.with(|d| d.borrow_mut().insert(key, (now_ms() + DOWN_MS, e.clone())));
                        return Err(e);
                    }
                }
                Err(Failed::Closed(why)) => {
                    self.drop_conn(&key, &conn);
                    last = format!("{}: {why}", conn.addr);
                }
                Err(Failed::Stream(why)) => last = format!("{}: {why}", conn.addr),
            }
        }
        Err(TransportError::Unreachable(format!(
            "{last} (after {ATTEMPTS} attempts)"
        )))
    }

    /// Whether the relay still answers on its web address (relays named by multiaddrs only: one
    /// stall is forgiven, the next one counts as down).
    async fn alive(&self) -> bool {
        if self.relay.starts_with('/') {
            return self.forgiven.replace(true).not();
        }
        match HttpTransport::new(&self.relay) {
            Ok(h) => h.well_known().await.is_ok(),
            Err(_) => false,
        }
    }

    fn drop_conn(&self, key: &str, conn: &Rc<Conn>) {
        conn.closed.set(true);
        conn.tx.close_channel();
        CONNS.with(|c| {
            let mut c = c.borrow_mut();
            if c.get(key)
                .and_then(|d| d.peek())
                .is_some_and(|r| r.as_ref().is_ok_and(|x| Rc::ptr_eq(x, conn)))
            {
                c.remove(key);
            }
        });
    }
}

fn refused(code: String, message: String) -> TransportError {
    let status = match code.as_str() {
        "not_found" => 404,
        "not_anchored_yet" => 409,
        "bad_request" => 400,
        _ => 500,
    };
    TransportError::Refused {
        status,
        code,
        message,
    }
}

fn unexpected(what: &str) -> TransportError {
    TransportError::BadAnswer(format!("the relay answered something else than {what}"))
}

impl Transport for P2pTransport {
    type Error = TransportError;

    fn name(&self) -> &str {
        &self.relay
    }

    fn served_by(&self) -> Option<(&'static str, String)> {
        self.served.borrow().clone()
    }

    async fn trusted_checkpoint(&self) -> Result<TrustedCheckpoint, TransportError> {
        let bytes = self.ask(Request::Trust).await?;
        match Response::from_bytes_with(&bytes, FRAME_LIMITS) {
            Ok(Response::Trust(t)) => Ok(t),
            Ok(Response::Error { code, message }) => Err(refused(code, message)),
            Ok(_) => Err(unexpected("a trusted checkpoint")),
            Err(e) => Err(TransportError::BadAnswer(format!(
                "trusted checkpoint: {e}"
            ))),
        }
    }

    async fn record_proof(
        &self,
        scenario: &ScenarioId,
        index: u64,
    ) -> Result<Result<RecordProof, DecodeError>, TransportError> {
        let bytes = self
            .ask(Request::Record {
                scenario: scenario.clone(),
                index,
            })
            .await?;
        // A proof that does not decode is a verdict (its decode step failed), as a malformed
        // receipt is; a relay that cannot answer says why.
        match Response::from_bytes_with(&bytes, FRAME_LIMITS) {
            Ok(Response::Record(p)) => Ok(Ok(*p)),
            Ok(Response::Error { code, message }) => Err(refused(code, message)),
            Ok(_) => Err(unexpected("a record proof")),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn block(&self, height: Option<u64>) -> Result<CertifiedBlock, TransportError> {
        // `after: 0`: answered at once (the head is above the genesis block).
        let req = match height {
            None => Request::Head { after: 0 },
            Some(height) => Request::Block { height },
        };
        let bytes = self.ask(req).await?;
        block_answer(&bytes, refused)
    }

    async fn epoch_changes(
        &self,
        from_epoch: u64,
    ) -> Result<Vec<trustchain_core::chain::block::EpochChange>, TransportError> {
        let bytes = self.ask(Request::EpochChanges { from_epoch }).await?;
        match Response::from_bytes_with(&bytes, FRAME_LIMITS) {
            Ok(Response::EpochChanges { changes, .. }) => Ok(changes),
            Ok(Response::Error { code, message }) => Err(refused(code, message)),
            Ok(_) => Err(unexpected("epoch changes")),
            Err(e) => Err(TransportError::BadAnswer(format!("epoch changes: {e}"))),
        }
    }
}
