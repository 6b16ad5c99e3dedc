//! The HTTP server: accepts connections up to a cap, holds each to header-read and idle timeouts, and
//! on shutdown stops accepting, lets requests in flight finish within a grace period, and returns.
//!
//! poem's `Server` offers an idle timeout that any trickle of bytes resets, no header-read timeout and
//! no connection cap, so connections are served with hyper directly; requests still go through the
//! poem endpoint.

mod connection;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::Endpoint;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::error::{ApiError, ErrorCode};

/// Limits every connection is held to.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// A request head (request line and headers) must arrive within this, counted from the accept or
    /// from its first byte; the connection is closed otherwise.
    pub header_read_timeout: Duration,
    /// A connection with no request in progress is closed after this long without a byte.
    pub idle_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
}

/// What the connections are told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Business as usual.
    Serving,
    /// Finish what is in flight, take no new requests.
    Draining,
    /// The grace period is over: close now.
    Closing,
}

/// How a client over the connection cap is answered before its connection is closed.
fn refusal() -> Vec<u8> {
    let error = ApiError::new(ErrorCode::Unavailable)
        .with_message("The request could not be completed. The server is at its connection limit; retry later.");
    let body = poem_openapi::types::ToJSON::to_json_string(error.body());
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    [head.into_bytes(), body.into_bytes()].concat()
}

/// Answers a connection over the cap without waiting for it: whatever fits in the socket now is sent,
/// what the client already sent is read (so closing does not reset the connection), then it is closed.
fn refuse(stream: tokio::net::TcpStream, answer: &[u8]) {
    use std::io::{Read, Write};
    if let Ok(mut stream) = stream.into_std() {
        let _ = stream.write(answer);
        let _ = stream.read(&mut [0; 4096]);
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
}

/// The server's half of one run: the connection cap, and the phase every connection follows.
struct Connections<E> {
    endpoint: Arc<E>,
    limits: ConnectionLimits,
    local: SocketAddr,
    slots: Arc<Semaphore>,
    phase: watch::Sender<Phase>,
    refusal: Vec<u8>,
    refused: u64,
    warned_at: Option<Instant>,
}

impl<E: Endpoint + 'static> Connections<E> {
    /// Serves `stream` in a task of its own, or refuses it when every slot is taken.
    fn admit(&mut self, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            refuse(stream, &self.refusal);
            self.refused += 1;
            // One warning a minute at most: under a flood the log must not become the next problem.
            if self.warned_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                tracing::warn!(
                    max_connections = self.limits.max_connections,
                    refused = self.refused,
                    "connection cap reached (ASSENT_MAX_CONNECTIONS): refusing connections with 503"
                );
                self.warned_at = Some(Instant::now());
            }
            return;
        };
        let accepted =
            connection::Accepted { stream, peer, local: self.local, endpoint: self.endpoint.clone(), permit };
        tokio::spawn(connection::serve(accepted, self.limits, self.phase.subscribe()));
    }

    /// Connections still open.
    fn open(&self) -> usize {
        self.limits.max_connections - self.slots.available_permits()
    }

    /// Waits until every connection has closed, or `within` has passed; answers whether they all did.
    async fn closed_within(&self, within: Duration) -> bool {
        let all = u32::try_from(self.limits.max_connections).unwrap_or(u32::MAX);
        tokio::time::timeout(within, self.slots.acquire_many(all)).await.is_ok()
    }
}

/// Serves `endpoint` on `listener` until `shutdown` resolves, then drains: the listener is closed
/// (new connections are refused by the system), requests in flight are finished and answered with
/// `Connection: close`, idle connections are closed; after `grace`, whatever is left is closed.
pub async fn serve<E: Endpoint + 'static>(
    listener: TcpListener,
    endpoint: E,
    limits: ConnectionLimits,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let mut connections = Connections {
        endpoint: Arc::new(endpoint),
        limits,
        local,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        phase: watch::channel(Phase::Serving).0,
        refusal: refusal(),
        refused: 0,
        warned_at: None,
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => connections.admit(stream, peer),
                Err(error) => {
                    // Out of file descriptors, typically: back off instead of spinning on the error.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    // Connections the system completed but nobody accepted yet would be reset by closing the
    // listener: take them first. The std listener accepts without waiting for readiness events.
    let listener = listener.into_std()?;
    while let Ok((stream, peer)) = listener.accept() {
        if stream.set_nonblocking(true).is_ok()
            && let Ok(stream) = tokio::net::TcpStream::from_std(stream)
        {
            connections.admit(stream, peer);
        }
    }
    drop(listener);
    connections.phase.send_replace(Phase::Draining);
    let open = connections.open();
    tracing::info!(open, grace_ms = grace.as_millis() as u64, "shutting down: no longer accepting connections");
    if connections.closed_within(grace).await {
        tracing::info!("every connection closed");
    } else {
        let open = connections.open();
        tracing::warn!(open, "grace period over (ASSENT_SHUTDOWN_GRACE_MS): closing the connections left");
        connections.phase.send_replace(Phase::Closing);
        connections.closed_within(Duration::from_secs(1)).await;
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// Warns at start when the process may open fewer files than the connection cap needs (Linux only):
/// past that limit, accepting fails and the cap never comes into play.
pub fn warn_if_file_limit_is_low(max_connections: usize, other_files: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else { return };
    let soft = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|value| value.parse::<usize>().ok());
    if let Some(soft) = soft
        && soft < max_connections + other_files
    {
        tracing::warn!(
            open_files_limit = soft,
            max_connections,
            "the open-files limit (ulimit -n) is below ASSENT_MAX_CONNECTIONS plus {other_files} for the \
             database and logs: raise it, or lower ASSENT_MAX_CONNECTIONS"
        );
    }
}
