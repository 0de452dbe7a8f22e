//! Serving an axum app on a loopback port with a handle to learn the bound address and stop it.
//! Shared by the runner emulation and the gateway; connections are bounded by `crate::listen`.

use std::net::SocketAddr;

use axum::Router;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Error;
use crate::listen::{ConnectionLimits, serve_connections};

/// A running loopback HTTP server. Dropping the handle does not stop it; call
/// [`Served::shutdown`] (or cancel the token from [`Served::cancel_token`]).
#[derive(Debug)]
pub struct Served {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// The address the server is bound to (the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A token that stops the server when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops accepting connections, lets requests in flight finish, and waits for that.
    pub async fn shutdown(self) {
        self.stop.cancel();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(addr = %self.addr, "server ended with an error: {err}"),
            Err(err) => tracing::warn!(addr = %self.addr, "server task failed: {err}"),
        }
    }

    /// Waits until the server stops (after its token is cancelled).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|err| Err(std::io::Error::other(err)))
    }
}

/// Binds `addr` (loopback only) and serves `app` on it in a background task, with the default
/// [`ConnectionLimits`].
pub async fn serve(app: Router, addr: SocketAddr) -> Result<Served, Error> {
    serve_with(app, addr, ConnectionLimits::default()).await
}

/// [`serve`] with chosen connection limits.
pub async fn serve_with(
    app: Router,
    addr: SocketAddr,
    limits: ConnectionLimits,
) -> Result<Served, Error> {
    serve_until(app, addr, limits, CancellationToken::new()).await
}

/// [`serve_with`], stopping when `stop` is cancelled (by the handle or by the app itself).
pub(crate) async fn serve_until(
    app: Router,
    addr: SocketAddr,
    limits: ConnectionLimits,
    stop: CancellationToken,
) -> Result<Served, Error> {
    if !addr.ip().is_loopback() {
        return Err(Error::NotLoopback { addr });
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    let task = tokio::spawn(serve_connections(listener, app, limits, stop.clone()));
    Ok(Served {
        addr: bound,
        stop,
        task,
    })
}
