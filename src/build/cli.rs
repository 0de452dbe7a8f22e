//! `pixelsmith build-service`: builds the module from the command line, with the same options as
//! the MCP tool `build_service`. Progress goes to stderr; the report to stdout. Exit code 1 when
//! the built module fails the contract check, 2 when the build fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{BuildReport, Options};

/// Build wasm-service for wasm32-wasip1 (release) and check it against OSC's runner contract.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  pixelsmith build-service\n  \
                        pixelsmith build-service --project ~/src/pixelsmith --json")]
pub struct Args {
    /// The Pixelsmith checkout (the folder holding Cargo.toml and wasm-service/)
    /// [default: the current directory]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Stop the build (and every process it started) after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = super::DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(10..=7200))]
    pub timeout: u64,
    /// Fail instead of running `rustup target add wasm32-wasip1` when the target is missing.
    #[arg(long)]
    pub no_install_target: bool,
    /// Only the static contract check of the result; do not run the module.
    #[arg(long)]
    pub static_only: bool,
    /// Print the report as JSON (the MCP tool's structured output).
    #[arg(long)]
    pub json: bool,
}

/// Runs the build; Ctrl-C cancels it and stops cargo's whole process group.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let project = match args.project {
        Some(dir) => dir,
        None => std::env::current_dir()?,
    };
    let mut options = Options::new(std::fs::canonicalize(&project).unwrap_or(project));
    options.timeout = Duration::from_secs(args.timeout);
    options.install_target = !args.no_install_target;
    options.dynamic_check = !args.static_only;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        super::build_service(
            &options,
            |p| eprintln!("[{:>4} s] {}", p.elapsed.as_secs(), p.message),
            &cancel,
        )
        .await
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(if report.check.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report as text for people.
pub fn render(report: &BuildReport) -> String {
    let mut out = format!(
        "built {} ({} bytes, sha256 {}) in {:.1} s{}\n",
        report.module_path,
        report.size_bytes,
        report.sha256,
        report.build_seconds,
        if report.fresh {
            ", nothing to recompile"
        } else {
            ""
        }
    );
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.push('\n');
    out.push_str(&crate::check::cli::render(&report.check));
    out
}
