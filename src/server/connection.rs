//! One connection: hyper serves it while a watchdog holds it to the header-read and idle timeouts.
//!
//! The watchdog knows three states from what the socket and the service see:
//! - a request is in the application: no connection deadline (the body-read and request timeouts of
//!   the middleware bound it);
//! - a request head is arriving (from the accept, or from the first byte after a response): it must be
//!   complete within the header-read timeout, however slowly it trickles;
//! - nothing is arriving after a response: the connection may sit idle for the idle timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;

use super::{ConnectionLimits, Phase};

/// Marks "no request head is arriving".
const NONE: u64 = u64::MAX;

/// What the socket and the service have seen, in milliseconds since the connection was accepted.
struct Activity {
    accepted: Instant,
    /// Last byte read or written.
    last_io: AtomicU64,
    /// When the head now arriving started, or [`NONE`].
    head_since: AtomicU64,
    /// Requests in the application.
    in_flight: AtomicUsize,
    /// Wakes the watchdog when a request enters or leaves the application.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            last_io: AtomicU64::new(0),
            // A new connection owes us a request head from the start.
            head_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            // The first byte after a response starts the next head's clock; later bytes do not reset it.
            let _ = self.head_since.compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    /// A head has arrived: the request is the application's until the guard drops.
    fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NONE, Ordering::Release);
        self.changed.notify_one();
        InFlight(self.clone())
    }

    /// No request head is partly here: a request is in the application, or the connection is idle.
    fn between_heads(&self) -> bool {
        self.head_since.load(Ordering::Acquire) == NONE
    }

    /// When the connection is to be closed, unless something happens first.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = |ms: u64| self.accepted + std::time::Duration::from_millis(ms);
        match self.head_since.load(Ordering::Acquire) {
            NONE => Some(since(self.last_io.load(Ordering::Relaxed)) + limits.idle_timeout),
            head => Some(since(head) + limits.header_read_timeout),
        }
    }
}

/// A request in the application.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.wrote();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_one();
    }
}

/// The socket, reporting every byte that moves to the connection's [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// An accepted connection and what it needs to be served.
pub(super) struct Accepted<E> {
    /// The socket.
    pub stream: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address.
    pub local: SocketAddr,
    /// The application.
    pub endpoint: Arc<E>,
    /// Its slot under the connection cap, freed when the connection ends.
    pub permit: OwnedSemaphorePermit,
}

/// Serves one connection until the client or a timeout closes it, or the server's shutdown ends it.
pub(super) async fn serve<E>(accepted: Accepted<E>, limits: ConnectionLimits, mut phase: watch::Receiver<Phase>)
where
    E: Endpoint + 'static,
{
    let Accepted { stream, peer, local, endpoint, permit } = accepted;
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { stream, activity: activity.clone() });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |request: hyper::Request<Incoming>| {
            let in_flight = activity.request();
            let endpoint = endpoint.clone();
            async move {
                let request = poem::Request::from((
                    request,
                    LocalAddr(Addr::SocketAddr(local)),
                    RemoteAddr(Addr::SocketAddr(peer)),
                    Scheme::HTTP,
                ));
                let response = endpoint.get_response(request).await;
                drop(in_flight);
                Ok::<_, Infallible>(hyper::Response::from(response))
            }
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's own header timeout needs a timer and counts idle time too; the watchdog does this job.
    builder.http1().header_read_timeout(None);
    builder.http2().max_pending_accept_reset_streams(20).max_header_list_size(16 * 1024);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut shutting = false;
    loop {
        let now = *phase.borrow_and_update();
        if now == Phase::Closing {
            tracing::debug!(%peer, "grace period over: connection closed");
            break;
        }
        // Draining: a request in the application is finished and answered with `Connection: close`;
        // an idle connection closes now. A connection whose request head is on its way (a new
        // connection included) is not cut off: it is shut down once that head has arrived.
        if now == Phase::Draining && !shutting && activity.between_heads() {
            connection.as_mut().graceful_shutdown();
            shutting = true;
        }
        let deadline = activity.deadline(&limits);
        tokio::select! {
            _ = connection.as_mut() => break,
            _ = activity.changed.notified() => {}
            changed = phase.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = sleep_until(deadline) => {
                if activity.deadline(&limits).is_some_and(|at| at <= Instant::now()) {
                    tracing::debug!(%peer, "connection timed out: closed");
                    break;
                }
            }
        }
    }
    drop(permit);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
