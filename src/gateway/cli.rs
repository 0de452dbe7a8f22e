//! `pixelsmith gateway`: the service's HTTP API in front of any runner URL, until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::GatewayConfig;

/// Give a runner URL (local or a deployed OSC app) its real HTTP API back.
///
/// OSC's wasm runner only takes `POST /` with text and answers 200 text, so the deployed module
/// speaks JSON envelopes. The gateway listens on 127.0.0.1 and translates: `GET /health`,
/// `GET /palettes`, `GET /` and `POST /pixelate` (raw image bytes in, `image/png` out, options in
/// the query string, `?report=true` for a JSON report) go to the runner as envelopes, and the
/// module's status codes, content types and bodies come back as real HTTP.
///
/// Images too large for the runner's 1 MiB request limit are reduced without changing the grid
/// (the `x-pixelsmith-fitted` response header says how). A runner that fails, answers an HTML
/// error page or nothing gets 502; one that does not answer in time gets 504.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    pixelsmith gateway --runner https://myapp.apps.osaas.io --listen 127.0.0.1:8081\n  \
    curl --data-binary @photo.jpg 'http://127.0.0.1:8081/pixelate?block=8&colors=16' -o pixel.png\n  \
    curl 'http://127.0.0.1:8081/pixelate?report=true' --data-binary @photo.jpg")]
pub struct Args {
    /// The runner's root URL: `https://<app>.apps.osaas.io`, or the runner URL `run-local` prints.
    #[arg(long, value_name = "URL")]
    pub runner: String,

    /// Where to listen (loopback only; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Seconds to wait for each runner answer before answering 504.
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    #[command(flatten)]
    pub connections: crate::listen::ConnectionArgs,
}

/// Serves the gateway until Ctrl-C.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    crate::runner::cli::init_logging();
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async move {
        let mut config = GatewayConfig::new(args.runner);
        config.timeout = Duration::from_secs(args.timeout);
        config.connections = args.connections.limits();
        let served = super::start(&config, args.listen).await?;
        println!(
            "gateway  {}   -> runner {}",
            served.url(),
            config.runner_url
        );
        println!("Ctrl-C stops it.");
        use std::io::Write as _;
        std::io::stdout().flush().ok();
        tokio::signal::ctrl_c()
            .await
            .context("could not wait for Ctrl-C")?;
        served.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
