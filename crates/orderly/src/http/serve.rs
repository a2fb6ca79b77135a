//! The accept loop. `axum::serve` keeps every connection as long as the client likes,
//! which let 200 idle sockets and 20 slow-loris senders hold a file descriptor each for
//! as long as they pleased (issue 14). This loop serves each connection with hyper and
//! closes it when:
//!
//! - it stays idle (no request in progress, no byte of a next one) for
//!   `server.idle_timeout_seconds`, before its first request or between requests;
//! - a request's head, counted from its first byte, is not complete within
//!   `server.header_read_timeout_seconds`.
//!
//! hyper has one `header_read_timeout` that starts as soon as it waits for a head, so it
//! cannot be both a short head timeout and an idle timeout longer than a load balancer's
//! (hyperium/hyper#1628, #3743); hence the small watchdog below, which sees the bytes
//! read ([`Watched`]) and the requests served ([`Activity`]). An idle connection is shut
//! down gracefully, so a response still being written finishes (within
//! `server.request_timeout_seconds` more); an incomplete head is dropped. The whole-request timeout itself is a layer of
//! the router (`http/hygiene.rs`), so that it answers problem+json.
//!
//! At most `server.max_connections` connections are served at once: a permit is taken
//! before `accept`, so further clients wait in the kernel's listen backlog instead of
//! costing a task each. Every request carries its peer address as
//! `ConnectInfo<SocketAddr>` (the failed-authentication throttle counts per peer).
//!
//! These are socket timeouts, measured on tokio's monotonic clock, not the application's
//! injected clock: they bound resources, they are no business decision.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

/// The connection limits, from `server.*`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// Also the longest a connection may take to finish once it is told to close.
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_config(server: &crate::config::ServerConfig) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(server.header_read_timeout_seconds),
            idle_timeout: Duration::from_secs(server.idle_timeout_seconds),
            request_timeout: Duration::from_secs(server.request_timeout_seconds),
            max_connections: server.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, asks
/// every connection to finish its request and close, and returns when they have, or when
/// `grace` is over (the rest are dropped).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let next = async {
            // The semaphore is never closed, so this waits for a permit and never fails.
            let permit = permits.clone().acquire_owned().await;
            (permit, listener.accept().await)
        };
        tokio::select! {
            () = &mut shutdown => break,
            // Reaps finished connections so that the set holds only live ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            (permit, accepted) = next => match (permit, accepted) {
                (Ok(permit), Ok((stream, peer))) => {
                    let router = router.clone();
                    let stop = stop_rx.clone();
                    connections.spawn(async move {
                        serve_connection(stream, peer, router, limits, stop).await;
                        drop(permit);
                    });
                }
                (_, Err(e)) => {
                    // Out of file descriptors, most likely: wait for some to be freed
                    // rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (Err(e), _) => {
                    tracing::error!(error = %e, "connection permits closed");
                    break;
                }
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            seconds = grace.as_secs(),
            open = connections.len(),
            "grace period over; dropping open connections"
        );
        connections.shutdown().await;
    }
}

/// Serves one connection under the watchdog until it closes, a timeout closes it, or
/// the server stops.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = activity.request_started();
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(busy);
                response
            }
        }
    });
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(connection);
    // Once set, the connection has been asked to close and must be gone by then.
    let mut closing_by: Option<Instant> = None;
    loop {
        let deadline = closing_by.or_else(|| activity.deadline(&limits));
        let changed = activity.changed.notified();
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            () = changed => {}
            () = sleep_until(deadline) => {
                if closing_by.is_some() {
                    tracing::debug!(%peer, "connection did not close in time; dropped");
                    return;
                }
                if activity.phase() == Phase::Head {
                    // hyper would wait on for the rest of the head even after a graceful
                    // shutdown, so the connection is dropped.
                    tracing::debug!(%peer, "request head not complete in time; dropped");
                    return;
                }
                tracing::debug!(%peer, "connection idle too long; closing");
                connection.as_mut().graceful_shutdown();
                closing_by = Some(Instant::now() + limits.request_timeout);
            }
            _ = stop.changed(), if closing_by.is_none() => {
                connection.as_mut().graceful_shutdown();
                // The server's grace period bounds this.
                closing_by = Some(Instant::now() + Duration::from_secs(86_400));
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What a connection is doing, as its watchdog needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in progress and no byte of the next one read.
    Idle,
    /// Bytes of a request head have arrived; hyper has not finished parsing it.
    Head,
    /// A request is being served (its body read, its handler run).
    Busy,
}

struct State {
    phase: Phase,
    since: Instant,
}

/// A connection's phase, shared by its reader, its service and its watchdog.
struct Activity {
    state: Mutex<State>,
    /// Wakes the watchdog when the phase changes, so it re-arms its deadline.
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            state: Mutex::new(State {
                phase: Phase::Idle,
                since: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn set(&self, from: Option<Phase>, to: Phase) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if from.is_none_or(|f| f == state.phase) && state.phase != to {
            state.phase = to;
            state.since = Instant::now();
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: on an idle connection, a request head has begun.
    fn bytes_read(&self) {
        self.set(Some(Phase::Idle), Phase::Head);
    }

    /// hyper parsed a head and calls the service; the connection is idle again when the
    /// returned guard is dropped (its answer is then written out).
    fn request_started(self: &Arc<Self>) -> BusyGuard {
        self.set(None, Phase::Busy);
        BusyGuard(self.clone())
    }

    fn phase(&self) -> Phase {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .phase
    }

    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.phase {
            Phase::Idle => Some(state.since + limits.idle_timeout),
            Phase::Head => Some(state.since + limits.header_read_timeout),
            Phase::Busy => None,
        }
    }
}

/// Marks the end of a request (HTTP/1.1 serves one at a time on a connection).
struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.set(Some(Phase::Busy), Phase::Idle);
    }
}

/// The TCP stream, telling its [`Activity`] whenever bytes are read.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
