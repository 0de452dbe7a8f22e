//! `pixelsmith call-service`: the smoke test of a runner URL, as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::{CallReport, CallRequest, PixelateCall, call_service};

/// Smoke-test a running service: health, then a pixelation, through its runner URL.
///
/// Sends request envelopes to the runner exactly as the gateway does (`POST /` with a text body)
/// and checks the answers: `GET /health` must say ok; `POST /pixelate` must answer a PNG of the
/// expected size whose cells are flat colours, with no more colours than asked for. Prints the
/// latency of each request. Exit code 0 when everything passed, 1 when a check failed.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    pixelsmith call-service https://myapp.apps.osaas.io\n  \
    pixelsmith call-service http://127.0.0.1:8080 --image photo.jpg --block 12 --palette pico-8\n  \
    pixelsmith call-service http://127.0.0.1:8080 --health-only --json")]
pub struct Args {
    /// The runner URL: `https://<app>.apps.osaas.io`, or the runner URL `run-local` prints
    /// (not the gateway's).
    pub url: String,

    /// The image to pixelate (default: a built-in 96×64 sample).
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,

    /// Only check `GET /health`.
    #[arg(long, conflicts_with = "image")]
    pub health_only: bool,

    /// Block size in source pixels.
    #[arg(long, value_name = "N")]
    pub block: Option<u32>,

    /// Grid width in cells, instead of --block.
    #[arg(long, value_name = "W", conflicts_with = "block")]
    pub width: Option<u32>,

    /// Palette size (2–256) or `full`.
    #[arg(long, value_name = "N")]
    pub colors: Option<String>,

    /// A built-in palette name or hex colours `#000,#fff,…`.
    #[arg(long, value_name = "NAME|HEX")]
    pub palette: Option<String>,

    /// Dithering: none, bayer2, bayer4, bayer8, floyd-steinberg, atkinson.
    #[arg(long, value_name = "KIND")]
    pub dither: Option<String>,

    /// Any engine option as NAME=VALUE (repeatable), e.g. `--set levels=4 --set grid=true`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub options: Vec<(String, String)>,

    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(n, v)| (n.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

/// Runs the checks and prints the report.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let request = request_from(&args)?;
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    let report = runtime.block_on(call_service(&request))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn request_from(args: &Args) -> anyhow::Result<CallRequest> {
    let mut options = Vec::new();
    let named = [
        ("block", args.block.map(|b| b.to_string())),
        ("width", args.width.map(|w| w.to_string())),
        ("colors", args.colors.clone()),
        ("palette", args.palette.clone()),
        ("dither", args.dither.clone()),
    ];
    for (name, value) in named {
        if let Some(value) = value {
            options.push((name.to_string(), value));
        }
    }
    options.extend(args.options.iter().cloned());
    let pixelate = if args.health_only {
        None
    } else if let Some(path) = &args.image {
        let image = std::fs::read(path)
            .with_context(|| format!("could not read the image {}", path.display()))?;
        Some(PixelateCall {
            image,
            label: path.display().to_string(),
            options,
        })
    } else {
        Some(PixelateCall::sample(options))
    };
    Ok(CallRequest {
        url: args.url.clone(),
        health: true,
        pixelate,
        timeout: Duration::from_secs(args.timeout),
    })
}

fn print_human(report: &CallReport) {
    let verdict = |ok: bool| if ok { "ok  " } else { "FAIL" };
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1} ms"));
    println!("{}", report.url);
    if let Some(h) = &report.health {
        println!(
            "  health    {}  {:>9}  {} {}",
            verdict(h.ok),
            ms(h.latency_ms),
            h.service.as_deref().unwrap_or("?"),
            h.version.as_deref().unwrap_or("")
        );
    }
    if let Some(p) = &report.pixelate {
        let size = match (p.width, p.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "-".to_string(),
        };
        println!(
            "  pixelate  {}  {:>9}  {} -> {size} PNG ({}x{} grid, {} colours, {} bytes){}",
            verdict(p.ok),
            ms(p.latency_ms),
            p.image,
            p.grid_width,
            p.grid_height,
            p.colors.map_or("?".to_string(), |c| c.to_string()),
            p.png_bytes.map_or("?".to_string(), |b| b.to_string()),
            match p.matches_local_engine {
                Some(true) => ", same bytes as the local engine",
                Some(false) => ", differs from the local engine's bytes",
                None => "",
            }
        );
        if let Some(fitted) = &p.fitted {
            println!("            fitted: {fitted}");
        }
    }
    for problem in &report.problems {
        println!("  problem: {problem}");
    }
}
