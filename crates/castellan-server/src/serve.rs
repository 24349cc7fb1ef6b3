//! Serving the router over HTTP/1.1 within bounds: a cap on open connections, a header read
//! timeout, an idle keep-alive timeout, a stalled-write timeout and a bounded graceful shutdown.
//! The per-request and request-body timeouts are layers of the router (see [`crate::limits`]).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::limits::ServeLimits;
use crate::AppState;

/// What a connection over the cap gets before it is closed: a bare 503 problem.
static OVER_CAPACITY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let body = r#"{"type":"urn:castellan:problem:overloaded","title":"Server busy","status":503,"detail":"too many open connections; retry later"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/problem+json\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Serves the router on `listener` until `shutdown` resolves, within `state.limits`
/// ([`ServeLimits`]): at most `max_connections` open connections (one over the cap gets a bare
/// 503 and is closed), request heads within `header_read_timeout` of their first byte, idle
/// keep-alive connections closed after `idle_timeout`, writes stalled for `idle_timeout`
/// abandoned. On shutdown the listener closes at once, idle connections are closed, requests in
/// progress get up to `shutdown_drain` to finish, and whatever is left is then closed.
///
/// # Errors
/// None in practice: accept errors (out of file descriptors, say) are logged and the loop goes
/// on after a short pause. The `io::Result` leaves room for setup errors.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = state.limits;
    let router = crate::router(state);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    if !is_connection_error(&e) {
                        tracing::warn!(error = %e, "accepting an HTTP connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "HTTP connection limit reached");
            // Best effort, never waits: the socket buffer of a new connection has room.
            let _ = stream.try_write(&OVER_CAPACITY);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stop = stop_rx.clone();
        conns.spawn(async move {
            connection(stream, peer, router, limits, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    tracing::info!(
        connections = conns.len(),
        drain_secs = limits.shutdown_drain.as_secs_f64(),
        "HTTP server stopping"
    );
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_drain, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = conns.len(),
            "closing the connections still open after the drain time"
        );
        conns.shutdown().await;
    }
    Ok(())
}

/// Errors of one incoming connection (the peer gave up before accept), not of the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it ends, or until `stop`, when it is shut down gracefully.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
) {
    let phase = Arc::new(Phase::new());
    let io = TokioIo::new(Watched::new(stream, phase.clone(), limits));
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        phase.request_started();
        req.extensions_mut().insert(ConnectInfo(peer));
        let phase = phase.clone();
        let call = router.clone().oneshot(req);
        async move {
            let resp = call.await?;
            Ok::<_, Infallible>(resp.map(|body| Body::new(Tracked { body, phase })))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, svc);
    tokio::pin!(conn);
    let ended = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = stop.wait_for(|s| *s) => None,
    };
    let result = match ended {
        Some(r) => r,
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
    }
}

/// Where a connection is in its request cycle, for its read deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for a request (after connect, or after a response was sent).
    Idle,
    /// Bytes of a request head have arrived; the rest must follow in time.
    Head,
    /// A handler has the request (no read deadline: the request timeout applies).
    Request,
}

/// The stage and when it began, shared by the connection's I/O and its service, and the waker
/// of the last read that found nothing to read.
#[derive(Debug)]
struct Phase(Mutex<PhaseState>);

#[derive(Debug)]
struct PhaseState {
    stage: Stage,
    since: Instant,
    reader: Option<Waker>,
}

impl Phase {
    fn new() -> Self {
        Self(Mutex::new(PhaseState {
            stage: Stage::Idle,
            since: Instant::now(),
            reader: None,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PhaseState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn enter(&self, stage: Stage) {
        let mut p = self.lock();
        p.stage = stage;
        p.since = Instant::now();
    }

    fn bytes_arrived(&self) {
        if self.lock().stage == Stage::Idle {
            self.enter(Stage::Head);
        }
    }

    fn request_started(&self) {
        self.enter(Stage::Request);
    }

    /// Back to idle. The connection's last read may have parked while the request was in
    /// progress, without a deadline: wake it so that it starts the idle timer.
    fn response_sent(&self) {
        let waker = {
            let mut p = self.lock();
            p.stage = Stage::Idle;
            p.since = Instant::now();
            p.reader.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// When the connection must have read more, if ever; remembers `waker` for
    /// [`Phase::response_sent`].
    fn read_deadline(&self, limits: &ServeLimits, waker: &Waker) -> Option<Instant> {
        let mut p = self.lock();
        match p.stage {
            Stage::Idle => Some(p.since + limits.idle_timeout),
            Stage::Head => Some(p.since + limits.header_read_timeout),
            Stage::Request => {
                p.reader = Some(waker.clone());
                None
            }
        }
    }
}

/// A response body that marks the connection idle once hyper is done with it (sent or dropped).
struct Tracked {
    body: Body,
    phase: Arc<Phase>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.phase.response_sent();
    }
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The TCP stream with the connection's deadlines: reads fail with `TimedOut` past the
/// phase's deadline (idle or header), writes fail when no byte could be sent for
/// `idle_timeout` (a client that stopped reading).
struct Watched {
    stream: TcpStream,
    phase: Arc<Phase>,
    limits: ServeLimits,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
    write_stalled: bool,
}

impl Watched {
    fn new(stream: TcpStream, phase: Arc<Phase>, limits: ServeLimits) -> Self {
        let far = Instant::now() + Duration::from_secs(86_400);
        Self {
            stream,
            phase,
            limits,
            read_timer: Box::pin(tokio::time::sleep_until(far)),
            write_timer: Box::pin(tokio::time::sleep_until(far)),
            write_stalled: false,
        }
    }
}

/// Polls `timer` set to `deadline`: `Ready` once it passed.
fn expired(timer: &mut Pin<Box<Sleep>>, deadline: Instant, cx: &mut Context<'_>) -> bool {
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
    timer.as_mut().poll(cx).is_ready()
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"))
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.phase.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.phase.read_deadline(&this.limits, cx.waker()) {
                Some(deadline) if expired(&mut this.read_timer, deadline, cx) => {
                    Poll::Ready(Err(timed_out("reading the request")))
                }
                _ => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.stalled(r.is_pending(), cx).map_or(r, Poll::Ready)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.stalled(r.is_pending(), cx).map_or(r, Poll::Ready)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

impl Watched {
    /// Tracks a write that could not proceed; an error once it has been stuck too long.
    fn stalled<T>(&mut self, pending: bool, cx: &mut Context<'_>) -> Option<io::Result<T>> {
        if !pending {
            self.write_stalled = false;
            return None;
        }
        if !self.write_stalled {
            self.write_stalled = true;
            let deadline = Instant::now() + self.limits.idle_timeout;
            self.write_timer.as_mut().reset(deadline);
        }
        let deadline = self.write_timer.deadline();
        expired(&mut self.write_timer, deadline, cx).then(|| Err(timed_out("sending the response")))
    }
}
