//! `run_local`: the runner emulation serving a module, and a gateway in front of it, both on
//! loopback. The runner URL behaves like the deployed app's URL on OSC; the gateway URL gives the
//! service's real HTTP API.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::runner::{self, Runner, RunnerConfig, Served};

use super::{Error, GatewayConfig};

/// What to run and where.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The module (`.wasm`) to serve.
    pub module: PathBuf,
    /// Where the runner emulation listens (loopback; port 0 for any free port).
    pub runner_addr: SocketAddr,
    /// Where the gateway listens (loopback; port 0 for any free port).
    pub gateway_addr: SocketAddr,
    /// The runner's limits (time limit per run, output caps).
    pub runner: RunnerConfig,
    /// The gateway's timeout for each runner call.
    pub gateway_timeout: Duration,
    /// Connections each server takes at once, and their header, idle and body timeouts.
    pub connections: crate::listen::ConnectionLimits,
}

impl LocalOptions {
    /// Both servers on free loopback ports, default limits.
    pub fn new(module: impl Into<PathBuf>) -> Self {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        LocalOptions {
            module: module.into(),
            runner_addr: any_port,
            gateway_addr: any_port,
            runner: RunnerConfig::default(),
            gateway_timeout: super::DEFAULT_TIMEOUT,
            connections: Default::default(),
        }
    }
}

/// Why `run_local` could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The module cannot be loaded or served.
    #[error(transparent)]
    Runner(#[from] runner::Error),
    /// The gateway cannot be started.
    #[error(transparent)]
    Gateway(#[from] Error),
}

/// The two running servers. Stop them with [`LocalServices::shutdown`].
#[derive(Debug)]
pub struct LocalServices {
    /// The runner emulation (OSC's semantics: `GET /`, `POST /` text, always 200).
    pub runner: Served,
    /// The gateway (the service's HTTP API: `/health`, `/pixelate`, ...).
    pub gateway: Served,
    /// The module served.
    pub module: PathBuf,
    /// Its size in bytes.
    pub module_bytes: usize,
}

impl LocalServices {
    /// `http://127.0.0.1:PORT` of the runner emulation.
    pub fn runner_url(&self) -> String {
        self.runner.url()
    }

    /// `http://127.0.0.1:PORT` of the gateway.
    pub fn gateway_url(&self) -> String {
        self.gateway.url()
    }

    /// Stops both servers (requests in flight finish first).
    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
        self.runner.shutdown().await;
    }
}

/// Compiles the module, serves it with the runner emulation, and puts a gateway in front.
pub async fn start_local(options: LocalOptions) -> Result<LocalServices, LocalError> {
    let path = options.module.clone();
    let config = options.runner;
    // Compiling a module of a few MB takes tens of milliseconds: keep it off the async threads.
    let runner = tokio::task::spawn_blocking(move || Runner::from_file(&path, config))
        .await
        .map_err(|join| runner::Error::ReadModule {
            path: options.module.clone(),
            source: std::io::Error::other(join.to_string()),
        })??;
    let module_bytes = runner.module_bytes();
    let runner_served =
        runner::start_with(runner, options.runner_addr, options.connections).await?;
    let mut gateway_config = GatewayConfig::new(runner_served.url());
    gateway_config.timeout = options.gateway_timeout;
    gateway_config.connections = options.connections;
    let gateway = match super::start(&gateway_config, options.gateway_addr).await {
        Ok(gateway) => gateway,
        Err(err) => {
            runner_served.shutdown().await;
            return Err(err.into());
        }
    };
    Ok(LocalServices {
        runner: runner_served,
        gateway,
        module: options.module,
        module_bytes,
    })
}
