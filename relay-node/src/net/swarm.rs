//! The libp2p swarm: transports (TCP, WebSocket, WebRTC-direct), the behaviours, the WebRTC
//! certificate kept across restarts, the identity derived from the node key.

use super::*;

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) limits: libp2p::connection_limits::Behaviour,
    pub(crate) relay: request_response::Behaviour<WireCodec>,
    pub(crate) ping: ping::Behaviour,
    /// Relay-to-relay gossip (votes, proposals, final blocks, checkpoints); off in clients.
    pub(crate) gossip: Toggle<gossipsub::Behaviour>,
    /// Relay-to-relay catch-up.
    pub(crate) sync: request_response::Behaviour<SyncCodec>,
    pub(crate) replica: request_response::Behaviour<FrameCodec<ReplicaFrames>>,
    /// Relays tell each other where they listen (to dial hubs); off in clients.
    pub(crate) identify: Toggle<libp2p::identify::Behaviour>,
    /// PoSR's bandwidth sample between relays ([`crate::net::probes`]).
    pub(crate) bandwidth:
        request_response::Behaviour<FrameCodec<crate::net::probes::BandwidthFrames>>,
}

/// Connections a relay accepts: enough for many browsers, bounded so that no peer can exhaust it.
pub(crate) const MAX_INCOMING: u32 = 1024;
/// Connections one peer may hold at once (a browser tab needs one).
pub(crate) const MAX_PER_PEER: u32 = 4;

/// Loads the WebRTC certificate from `path`, or makes one and keeps it there.
pub(crate) fn certificate(path: &Path) -> anyhow::Result<libp2p_webrtc::tokio::Certificate> {
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
pub(crate) fn gossip(key: &libp2p::identity::Keypair) -> anyhow::Result<gossipsub::Behaviour> {
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
pub(crate) fn build_swarm(
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
                        StreamProtocol::new(crate::net::probes::PROTOCOL),
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
pub(crate) fn is_browser(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| {
        matches!(
            p,
            Protocol::Ws(_) | Protocol::Wss(_) | Protocol::WebRTCDirect
        )
    })
}
