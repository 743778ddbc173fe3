//! A native client of the browser wire over libp2p (WebRTC-direct or WebSocket), for tools and
//! tests; the browser's client is its wasm twin in `wasm-pkg`.

use super::*;

pub(crate) type Pending = tokio::sync::oneshot::Sender<anyhow::Result<Response>>;

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
