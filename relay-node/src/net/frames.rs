//! Length-prefixed frames over libp2p request-response: one codec for the browser wire, block
//! sync, replication and bandwidth samples, each with its own limits.

use super::*;

/// Reads one frame of at most `max` bytes. Memory grows with the bytes that actually arrive, not
/// with the length a peer announces.
pub(crate) async fn read_frame<T: futures::AsyncRead + Unpin + Send>(
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

pub(crate) fn invalid(e: impl std::fmt::Display) -> std::io::Error {
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
/// co-sign its checkpoints ([`crate::net::replica`]).
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
