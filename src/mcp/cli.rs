//! `pixelsmith mcp [--http ADDR] [--allow-root DIR]... [--allowed-host H]... [--allow-origin O]...`: runs the MCP
//! server. Logs go to stderr (no ANSI colours; `PIXELSMITH_LOG` or `RUST_LOG` sets the level),
//! so stdout carries nothing but MCP in stdio mode.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Shared, serve};
use crate::roots::{ROOTS_ENV, Roots};

/// Serve Pixelsmith's tools over MCP: stdio by default, Streamable HTTP with --http.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  pixelsmith mcp                                  # stdio, \
                        what mcp.json starts\n  pixelsmith mcp --allow-root ~/pictures\n  \
                        pixelsmith mcp --http 127.0.0.1:8765              # http://127.0.0.1:8765/mcp"
)]
pub struct Args {
    /// Serve Streamable HTTP on this loopback address (e.g. 127.0.0.1:8765, [::1]:8765 or
    /// localhost:8765; port 0 picks one) at the path /mcp, instead of stdio.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen_addr)]
    pub http: Option<SocketAddr>,
    /// Another folder the tools may read and write (besides the working directory, which is
    /// allowed unless it is `/` or the home folder). Repeatable.
    /// More come from PIXELSMITH_ROOTS (a ':'-separated list).
    #[arg(long = "allow-root", value_name = "DIR")]
    pub allow_root: Vec<PathBuf>,
    /// With --http: also accept this Host header (e.g. a reverse proxy's name). Loopback names
    /// are always accepted. Repeatable.
    #[arg(long = "allowed-host", value_name = "HOST", requires = "http")]
    pub allowed_host: Vec<String>,
    /// With --http: also accept browser requests from this Origin (scheme://host[:port], e.g.
    /// http://localhost:5173; `:*` for any port). Requests whose Origin is not the server's own
    /// address or listed here get 403; requests without an Origin (non-browser clients) pass.
    /// Repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN", requires = "http")]
    pub allow_origin: Vec<String>,
    /// With --http: most live sessions; when a new one would pass it, the session idle longest
    /// is closed.
    #[arg(long = "max-sessions", value_name = "N", default_value_t = super::sessions::DEFAULT_MAX_SESSIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_sessions: u32,
    /// With --http: close a session after this many seconds without activity.
    #[arg(long = "session-idle-secs", value_name = "S", default_value_t = super::sessions::DEFAULT_IDLE.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub session_idle_secs: u64,
    #[command(flatten)]
    pub connections: crate::listen::ConnectionArgs,
    /// Let `pixelate`'s `url` and `call_service` reach loopback, private, link-local and other
    /// non-public addresses (for local use; off by default, so a prompt cannot make the server
    /// fetch from your network or a cloud metadata service). `call_service` may always reach
    /// the instances `run_local` started.
    #[arg(long = "allow-private-urls")]
    pub allow_private_urls: bool,
}

/// Runs the server until the client disconnects (stdio) or Ctrl-C (HTTP).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logging();
    let roots = Roots::from_cwd_and(&args.allow_root, std::env::var_os(ROOTS_ENV))?;
    let mut shared = Shared::new(roots);
    shared.allow_private_urls = args.allow_private_urls;
    let shared = Arc::new(shared);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        roots = %shared.roots_text(),
        "pixelsmith MCP server starting"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async move {
        match args.http {
            None => serve::stdio(shared).await,
            Some(addr) => {
                let stop = CancellationToken::new();
                let on_signal = stop.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        on_signal.cancel();
                    }
                });
                let access = serve::HttpAccess {
                    hosts: args.allowed_host.clone(),
                    origins: args.allow_origin.clone(),
                    max_sessions: args.max_sessions as usize,
                    session_idle: std::time::Duration::from_secs(args.session_idle_secs),
                    connections: args.connections.limits(),
                };
                serve::http(shared, addr, &access, stop, |bound| {
                    // Port 0 users (tests, scripts) learn the port from this line.
                    eprintln!(
                        "pixelsmith mcp: listening on http://{bound}{}",
                        serve::HTTP_PATH
                    );
                })
                .await
            }
        }
    });
    // A pending stdin read cannot be cancelled (rmcp's note): do not wait long for the pool.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    outcome?;
    Ok(ExitCode::SUCCESS)
}

/// `--http`'s address: an IP socket address, or `localhost:PORT` (bound as 127.0.0.1:PORT).
fn parse_listen_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{port}` is not a port number (0-65535)"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Err(format!(
        "`{text}` is not a listen address: give IP:PORT (127.0.0.1:8765, [::1]:8765) or \
         localhost:PORT"
    ))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PIXELSMITH_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Scrubbed: rmcp's client may quote what OSC's MCP server answered (deploy tools).
        .with_writer(crate::osc::log::ScrubbedStderr)
        .with_ansi(false)
        .try_init();
}
