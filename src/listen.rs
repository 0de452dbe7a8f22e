//! The accept loop every Pixelsmith HTTP server runs on (the runner emulation, the gateway and
//! MCP over Streamable HTTP): bounded connections, and timeouts for clients that are slow, stall
//! or sit idle, so a flood of half-open connections cannot take the file descriptors that the
//! next `/health` needs.
//!
//! - **Connections**: at most [`ConnectionLimits::max_connections`] at once. One more is answered
//!   `503` with `retry-after: 1`, `connection: close` and a JSON error saying why, then closed.
//! - **Headers and idle keep-alive**: a connection must deliver a request's headers within
//!   [`ConnectionLimits::header_timeout`], counted from when the server starts waiting for
//!   them, so a keep-alive connection with no new request is closed after the same time (hyper's
//!   `header_read_timeout`).
//! - **Bodies**: a body that stops sending for [`ConnectionLimits::body_timeout`] fails with a
//!   timeout error (tower-http's `RequestBodyTimeout`, reset on every frame), which the
//!   handlers answer `408`.
//! - A client that hangs up while its request runs: hyper notices the closed connection and
//!   drops the handler, which ends the work it was awaiting (the runner emulation stops the
//!   module at its next fuel slice, see `runner::module`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::RequestBodyTimeout;

/// Bounds on the connections a server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; one more gets `503` and is closed.
    pub max_connections: usize,
    /// Time to deliver a request's headers, and the most a keep-alive connection sits idle.
    pub header_timeout: Duration,
    /// The longest pause between two pieces of a request body.
    pub body_timeout: Duration,
}

impl ConnectionLimits {
    /// 256 connections: a few dozen agents and browsers with room to spare, well under the
    /// common 1,024 file-descriptor soft limit (the server opens files and runner calls too).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
    /// 20 s, Node's own order of magnitude for headers (its `headersTimeout` is 60 s) while
    /// freeing abandoned keep-alive connections three times sooner.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
    /// 30 s without a byte of body: a stalled upload, not a slow one.
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// The connection limits as command-line options, shared by `mcp --http`, `gateway` and
/// `run-local`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Most client connections served at once; one more is answered 503 (with why) and closed.
    #[arg(long = "max-connections", value_name = "N",
          default_value_t = ConnectionLimits::DEFAULT_MAX_CONNECTIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    #[arg(long = "header-timeout", value_name = "SECS",
          default_value_t = ConnectionLimits::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a request body may pause before the request is answered 408.
    #[arg(long = "body-timeout", value_name = "SECS",
          default_value_t = ConnectionLimits::DEFAULT_BODY_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout: u64,
}

impl ConnectionArgs {
    /// The limits these options give.
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections as usize,
            header_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
        }
    }
}

/// Connections refused at once (each is answered, then held briefly so the client reads the
/// answer); past this, extra connections are closed without an answer.
const MAX_REFUSING: usize = 64;

/// Serves `app` on `listener` until `stop` is cancelled, then lets requests in flight finish.
///
/// # Errors
/// None today: accept errors (such as running out of file descriptors) are logged and retried
/// after a pause, as axum's own `serve` does.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = RequestBodyTimeout::new(app, limits.body_timeout);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!("accepting a connection failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if let Ok(slot) = refusing.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse_busy(stream, limits.max_connections).await;
                    drop(slot);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!("connection ended: {err}");
            }
            drop(permit);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection over the limit with `503` and why, then closes it. The request is read
/// first (briefly) so closing does not reset the connection before the client reads the answer.
async fn refuse_busy(mut stream: TcpStream, max_connections: usize) {
    let body = format!(
        "{{\"error\":{{\"code\":\"too_many_connections\",\"message\":\"this server already \
         serves {max_connections} connections, its limit: retry shortly, or close idle \
         keep-alive connections\"}}}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut request = [0u8; 8192];
    let wait = Duration::from_millis(200);
    let _ = tokio::time::timeout(wait, stream.read(&mut request)).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read on until the client closes (or a second passes) so the answer is not reset.
        while stream.read(&mut request).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// Whether an error reading a request body came from [`ConnectionLimits::body_timeout`].
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    caused_by::<tower_http::timeout::TimeoutError>(err)
}

/// Whether `err` or any error in its `source()` chain is a `T`.
pub fn caused_by<T: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.is::<T>() {
            return true;
        }
        cause = err.source();
    }
    false
}
