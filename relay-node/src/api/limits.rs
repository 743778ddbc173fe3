//! Bounds on what HTTP clients may hold open: connections in all, connections per client
//! address, and `/v1/heads` event streams. A connection over a bound is answered at once with a
//! complete HTTP response — `503 Service Unavailable` (the relay is full) or `429 Too Many
//! Requests` (this client holds too many) with `Retry-After` and the API's JSON error body — and
//! closed, so a client learns why instead of hanging in the kernel's accept queue.
//!
//! Request bodies are bounded elsewhere (`api::MAX_BODY_BYTES`), and project writes by quota.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

/// Connections the relay holds open at once, all clients together.
pub const MAX_CONNECTIONS: usize = 4_096;
/// Connections one client address holds open at once (a browser opens about six per origin;
/// a bench or a connector from one host may open more).
pub const MAX_PER_CLIENT: usize = 128;
/// `/v1/heads` event streams open at once.
pub const MAX_HEAD_STREAMS: usize = 1_024;
/// Seconds a refused client is told to wait.
pub const RETRY_AFTER_S: u32 = 1;

/// The relay's HTTP bounds, shared by the listener and the stream handler.
#[derive(Debug)]
pub struct HttpLimits {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    /// Permits for `/v1/heads` streams.
    pub head_streams: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

/// Why a connection is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The relay holds [`MAX_CONNECTIONS`].
    Full,
    /// This client holds [`MAX_PER_CLIENT`].
    Client,
}

impl HttpLimits {
    /// The default bounds.
    pub fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Self::with(MAX_CONNECTIONS, MAX_PER_CLIENT, MAX_HEAD_STREAMS, metrics)
    }

    /// Other bounds (tests).
    pub fn with(
        max_total: usize,
        max_per_client: usize,
        head_streams: usize,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(HttpLimits {
            max_total,
            max_per_client,
            open: Mutex::new((0, HashMap::new())),
            head_streams: Arc::new(Semaphore::new(head_streams)),
            metrics,
        })
    }

    /// Counts a new connection from `ip`, or says why not.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.max_total {
            return Err(Refusal::Full);
        }
        let mine = open.1.entry(ip).or_insert(0);
        if *mine >= self.max_per_client {
            return Err(Refusal::Client);
        }
        *mine += 1;
        open.0 += 1;
        Ok(Slot {
            limits: self.clone(),
            ip,
        })
    }

    /// A permit for one `/v1/heads` stream, held as long as the stream lives.
    pub fn head_stream(&self) -> Option<OwnedSemaphorePermit> {
        self.head_streams.clone().try_acquire_owned().ok()
    }
}

/// One counted connection; released when dropped.
#[derive(Debug)]
struct Slot {
    limits: Arc<HttpLimits>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

/// A TCP listener that admits connections within [`HttpLimits`] and answers the others.
pub struct LimitedListener {
    inner: TcpListener,
    limits: Arc<HttpLimits>,
}

impl LimitedListener {
    /// Wraps `inner`.
    pub fn new(inner: TcpListener, limits: Arc<HttpLimits>) -> Self {
        LimitedListener { inner, limits }
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
            match self.limits.admit(addr.ip()) {
                Ok(slot) => {
                    return (
                        Counted {
                            io: stream,
                            _slot: slot,
                        },
                        addr,
                    );
                }
                Err(why) => {
                    self.limits.metrics.http_refused.add(1);
                    tracing::debug!(client = %addr, ?why, "HTTP connection refused");
                    tokio::spawn(refuse(stream, why));
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The complete response a refused connection gets.
pub fn refusal_response(why: Refusal) -> String {
    let (status, code, message) = match why {
        Refusal::Full => (
            "503 Service Unavailable",
            "too_many_connections",
            "this relay holds as many connections as it serves; retry shortly or use another relay",
        ),
        Refusal::Client => (
            "429 Too Many Requests",
            "too_many_client_connections",
            "your address holds as many connections to this relay as one client may; close some or retry shortly",
        ),
    };
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-content-type-options: nosniff\r\nretry-after: {RETRY_AFTER_S}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn refuse(mut stream: TcpStream, why: Refusal) {
    let answer = refusal_response(why);
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// An admitted connection: the stream, and its place in the count.
#[derive(Debug)]
pub struct Counted {
    io: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_client_and_in_all() {
        let limits = HttpLimits::with(3, 2, 1, Arc::new(Metrics::default()));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = limits.admit(a).unwrap();
        let _a2 = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refusal::Client);
        let _b1 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(b).unwrap_err(), Refusal::Full);
        drop(a1);
        let _b2 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refusal::Full);
        // Stream permits.
        let p = limits.head_stream().unwrap();
        assert!(limits.head_stream().is_none());
        drop(p);
        assert!(limits.head_stream().is_some());
    }

    #[test]
    fn refusals_are_complete_http_answers() {
        for (why, status) in [(Refusal::Full, "503"), (Refusal::Client, "429")] {
            let r = refusal_response(why);
            assert!(r.starts_with(&format!("HTTP/1.1 {status} ")));
            let (head, body) = r.split_once("\r\n\r\n").unwrap();
            assert!(head.contains("retry-after: 1"));
            assert!(head.contains(&format!("content-length: {}", body.len())));
            let j: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(j["error"].as_str().unwrap().starts_with("too_many"));
        }
    }
}
