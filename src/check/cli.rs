//! `pixelsmith check-module [PATH] [--json]`: the contract check from the command line, with the
//! same options as the MCP tool `check_module`. Exit code 1 when the check finds errors.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Report, Severity};

/// Check a .wasm module against OSC's wasm runner contract (static rules + two test requests).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  pixelsmith check-module\n  \
                        pixelsmith check-module target/wasm32-wasip1/release/wasm-service.wasm --json")]
pub struct Args {
    /// The module to check [default: the built wasm-service module,
    /// target/wasm32-wasip1/release/wasm-service.wasm]
    pub path: Option<PathBuf>,
    /// Print the report as JSON (the MCP tool's structured output).
    #[arg(long)]
    pub json: bool,
    /// Only the static rules; do not run the module.
    #[arg(long)]
    pub static_only: bool,
}

/// Runs the check and prints the report; exit code 1 when it found errors.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = match args.path {
        Some(path) => path,
        None => super::default_module_path(&std::env::current_dir()?),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(super::check_file(&path, !args.static_only))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report as text for people.
pub fn render(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let verdict = if report.passed {
        "PASS: should run on OSC's wasm runner"
    } else {
        "FAIL: will not work on OSC's wasm runner"
    };
    let _ = writeln!(out, "{}", report.module);
    let _ = writeln!(
        out,
        "  {:?}, {} bytes ({} KiB), sha256 {}",
        report.kind,
        report.size_bytes,
        report.size_bytes.div_ceil(1024),
        report.sha256
    );
    let _ = writeln!(
        out,
        "  {verdict} ({} errors, {} warnings)",
        report.errors, report.warnings
    );
    for finding in &report.findings {
        let tag = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "\n{tag}[{}]: {}", finding.rule, finding.detail);
        let _ = writeln!(out, "  fix: {}", finding.fix);
    }
    if let Some(dynamic) = &report.dynamic {
        let _ = writeln!(out, "\nruns ({}):", dynamic.runtime);
        for probe in &dynamic.probes {
            let _ = writeln!(
                out,
                "  {} {} — {}, {:.1} ms: {}",
                if probe.passed { "ok  " } else { "FAIL" },
                probe.request,
                probe.exit,
                probe.elapsed_ms,
                probe.detail
            );
        }
    }
    if let Some(reason) = &report.dynamic_skipped {
        let _ = writeln!(out, "\nruns skipped: {reason}");
    }
    out
}
