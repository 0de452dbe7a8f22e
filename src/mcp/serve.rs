//! The transports: stdio (what `mcp.json` starts; nothing but MCP on stdout) and Streamable HTTP
//! on a loopback address (`/mcp`, Host headers checked against loopback names plus any allowed
//! hosts, so a web page cannot reach it by DNS rebinding).

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

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
    let running = server
        .serve(rmcp::transport::io::stdio_pipes())
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
    shared.shutdown().await;
    outcome
}

/// Serves Streamable HTTP on `addr` (loopback only) until `stop` is cancelled. `ready` gets the
/// bound address (useful with port 0).
pub async fn http(
    shared: Arc<Shared>,
    addr: SocketAddr,
    allowed_hosts: &[String],
    stop: CancellationToken,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    if !addr.ip().is_loopback() {
        return Err(Error::NotLoopback(addr));
    }
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_cancellation_token(stop.child_token());
    let factory_shared = shared.clone();
    let service: StreamableHttpService<PixelsmithServer, LocalSessionManager> =
        StreamableHttpService::new(
            move || Ok(PixelsmithServer::new(factory_shared.clone())),
            Default::default(),
            config,
        );
    let app = axum::Router::new().nest_service(HTTP_PATH, service);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    tracing::info!("MCP over Streamable HTTP at http://{bound}{HTTP_PATH}");
    ready(bound);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled_owned().await })
        .await
        .map_err(Error::Http);
    shared.shutdown().await;
    served
}
