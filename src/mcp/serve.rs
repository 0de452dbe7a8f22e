//! The transports: stdio (what `mcp.json` starts; nothing but MCP on stdout) and Streamable HTTP
//! on a loopback address (`/mcp`, Host headers checked against loopback names, the address bound
//! and any allowed hosts, so a web page cannot reach it by DNS rebinding; a browser's `Origin`
//! must be the server's own or an allowed one, else 403).

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::sessions::CappedSessions;
use super::{PixelsmithServer, Shared};

/// The path the HTTP transport serves.
pub const HTTP_PATH: &str = "/mcp";

/// Why a transport could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "refusing to listen on {0}: pixelsmith mcp --http only listens on loopback (127.0.0.1 or \
         [::1]); to reach it from elsewhere, put a reverse proxy in front and pass its host name \
         with --allowed-host"
    )]
    NotLoopback(SocketAddr),
    #[error("could not listen on {addr}: {source} (is the port in use? port 0 picks a free one)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the MCP session failed: {0}")]
    Session(String),
    #[error("the HTTP server failed: {0}")]
    Http(#[source] std::io::Error),
}

/// Serves one client over stdin/stdout until it disconnects.
pub async fn stdio(shared: Arc<Shared>) -> Result<(), Error> {
    let server = PixelsmithServer::new(shared.clone());
    let (stdin, stdout) = rmcp::transport::io::stdio_pipes();
    // Oversized lines are answered by the framing layer; rmcp never sees one.
    let framed = super::stdio_frames::frame(stdin, stdout);
    let transport = rmcp::transport::async_rw::AsyncRwTransport::new(framed.input, framed.output)
        .with_max_line_length(super::limits::MAX_MESSAGE_BYTES + 2);
    let running = server
        .serve(transport)
        .await
        .map_err(|e| Error::Session(e.to_string()));
    let outcome = match running {
        Ok(running) => running
            .waiting()
            .await
            .map(|reason| tracing::info!(?reason, "stdio session ended"))
            .map_err(|e| Error::Session(e.to_string())),
        Err(e) => Err(e),
    };
    // Everything answered reaches stdout before the process ends.
    let _ = framed.done.await;
    shared.shutdown().await;
    outcome
}

/// Who may talk to the HTTP transport besides loopback clients of the bound address.
#[derive(Debug, Clone)]
pub struct HttpAccess {
    /// More accepted `Host` header names (a reverse proxy's).
    pub hosts: Vec<String>,
    /// More accepted browser `Origin`s (`scheme://host[:port]`, `:*` for any port).
    pub origins: Vec<String>,
    /// Most live sessions (the one idle longest is closed to make room).
    pub max_sessions: usize,
    /// A session idle this long is closed.
    pub session_idle: std::time::Duration,
    /// Connections served at once, and the header, idle and body timeouts.
    pub connections: crate::listen::ConnectionLimits,
}

/// The `Host` names accepted: loopback names, the address actually bound, and `extra`.
pub fn allowed_hosts(bound: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.push(bound.ip().to_string());
    hosts.extend(extra.iter().cloned());
    hosts.dedup();
    hosts
}

/// The browser `Origin`s accepted: the server's own (its loopback names on the bound port) and
/// `extra`.
pub fn allowed_origins(bound: SocketAddr, extra: &[String]) -> Vec<String> {
    let port = bound.port();
    let own = match bound {
        SocketAddr::V4(v4) => format!("http://{}:{port}", v4.ip()),
        SocketAddr::V6(v6) => format!("http://[{}]:{port}", v6.ip()),
    };
    let mut origins = vec![
        own,
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
        format!("http://[::1]:{port}"),
    ];
    origins.extend(extra.iter().cloned());
    origins.dedup();
    origins
}

/// Serves Streamable HTTP on `addr` (loopback only) until `stop` is cancelled. `ready` gets the
/// bound address (useful with port 0).
pub async fn http(
    shared: Arc<Shared>,
    addr: SocketAddr,
    access: &HttpAccess,
    stop: CancellationToken,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    if !addr.ip().is_loopback() {
        return Err(Error::NotLoopback(addr));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    // The spec's MUST: a foreign Origin gets 403 (requests without one are not from a browser).
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(allowed_hosts(bound, &access.hosts))
        .with_allowed_origins(allowed_origins(bound, &access.origins))
        .enforce_origin_validation()
        .with_max_request_body_bytes(super::limits::MAX_MESSAGE_BYTES)
        .with_cancellation_token(stop.child_token());
    let factory_shared = shared.clone();
    let sessions = Arc::new(CappedSessions::new(
        access.max_sessions,
        access.session_idle,
    ));
    let service: StreamableHttpService<PixelsmithServer, CappedSessions> =
        StreamableHttpService::new(
            move || Ok(PixelsmithServer::new(factory_shared.clone())),
            sessions,
            config,
        );
    let app = axum::Router::new()
        .nest_service(HTTP_PATH, service)
        .layer(axum::middleware::from_fn(super::limits::refuse_oversized))
        .layer(axum::middleware::from_fn(
            super::http_errors::json_rpc_errors,
        ))
        .layer(axum::middleware::from_fn(
            super::http_errors::session_end_status,
        ));
    tracing::info!("MCP over Streamable HTTP at http://{bound}{HTTP_PATH}");
    ready(bound);
    let served = crate::listen::serve_connections(listener, app, access.connections, stop)
        .await
        .map_err(Error::Http);
    shared.shutdown().await;
    served
}
