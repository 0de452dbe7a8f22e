//! `pixelsmith run-local`: the runner emulation and a gateway on loopback until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::gateway::local::{LocalOptions, start_local};

/// Where `cargo build -p wasm-service --target wasm32-wasip1 --release` puts the module.
pub const DEFAULT_MODULE: &str = "target/wasm32-wasip1/release/wasm-service.wasm";

/// Run a module locally exactly as OSC's wasm runner runs it, with a gateway in front.
///
/// Starts two servers on 127.0.0.1 and prints their URLs:
///
/// - the runner: what a deployed app's URL does on OSC. Only `GET /` (empty stdin) and `POST /`
///   with a `text/plain` body (hex text is decoded to bytes) run the module, in a fresh instance
///   each time; the answer is always 200 with the module's stdout as text. Other routes get
///   Fastify's 404, other content types 415, bodies over 1 MiB 413.
///
/// - the gateway: the service's real HTTP API on top of that runner — `GET /health`,
///   `GET /palettes`, `POST /pixelate` with raw image bytes in and `image/png` out, options in the
///   query string. Large images are reduced to fit the runner's 1 MiB limit without changing the
///   grid.
///
/// One difference from OSC: a run longer than --time-limit is stopped (504), where OSC would hang.
///
/// Timings: see the help's last section (local vs OSC).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    pixelsmith run-local\n  \
    pixelsmith run-local --module my.wasm --runner-port 8080 --gateway-port 8081\n\n\
    Then, with the gateway URL it prints:\n  \
    curl http://127.0.0.1:PORT/health\n  \
    curl --data-binary @photo.jpg 'http://127.0.0.1:PORT/pixelate?block=8&palette=pico-8' -o pixel.png\n\
    and with the runner URL, as on OSC:\n  \
    curl -H 'content-type: text/plain' --data '{\"path\":\"/health\"}' http://127.0.0.1:PORT/\n\n\
    Timings, local vs OSC:\n  \
    Every request pays here what it pays on OSC, in the same order of magnitude: loading and\n  \
    validating the whole module (a larger module answers more slowly), a fresh instance, and the\n  \
    module's own work, interpreted (by wasmi here). OSC is slower in absolute terms: it starts a\n  \
    `wasmedge` process per request and WasmEdge's interpreter runs image work about 6-10x slower\n  \
    than run-local on a quiet machine (measured there, on an earlier build of this module: a\n  \
    600x400 PNG in the JSON shape about 420 ms, `GET /` on a 360-400 KB module about 15 ms).\n  \
    Compare modules and requests with run-local's timings; multiply by 6-10 to estimate OSC's.")]
pub struct Args {
    /// The module to serve (a WASI preview 1 command, `.wasm`).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_MODULE)]
    pub module: PathBuf,

    /// Port for the runner emulation (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub runner_port: u16,

    /// Port for the gateway (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gateway_port: u16,

    /// Stop a module run after this many seconds (OSC has no limit).
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub time_limit: u64,

    #[command(flatten)]
    pub connections: crate::listen::ConnectionArgs,
}

/// Starts both servers, prints their URLs, and serves until Ctrl-C.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::runner::cli::init_logging();
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    let outcome = runtime.block_on(async move {
        let mut options = LocalOptions::new(&args.module);
        options.runner_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.runner_port));
        options.gateway_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.gateway_port));
        options.runner.time_limit = Duration::from_secs(args.time_limit);
        options.connections = args.connections.limits();
        let services = start_local(options).await?;
        println!(
            "runner   {}   OSC's wasm runner: GET / and POST / (text/plain), always 200",
            services.runner_url()
        );
        println!(
            "gateway  {}   the service's API: GET /health, GET /palettes, POST /pixelate",
            services.gateway_url()
        );
        println!(
            "module   {} ({} bytes)",
            services.module.display(),
            services.module_bytes
        );
        println!("Ctrl-C stops both.");
        use std::io::Write as _;
        std::io::stdout().flush().ok();
        tokio::signal::ctrl_c()
            .await
            .context("could not wait for Ctrl-C")?;
        eprintln!("stopping…");
        services.shutdown().await;
        Ok(ExitCode::SUCCESS)
    });
    // A module stuck in a host call (a long sleep) keeps its thread; do not wait for it.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// Logs to stderr (never stdout), `info` unless `RUST_LOG` says otherwise. Harmless if a
/// subscriber is already set.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
