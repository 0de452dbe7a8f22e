//! `pixelsmith`: parse the command line, run the verb, map the outcome to an exit code
//! (0 ok, 1 a check found problems or some files of a batch failed, 2 error).

use std::process::ExitCode;

use clap::Parser;
use pixelsmith::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before anything can print: a token set in the environment is masked everywhere.
    pixelsmith::osc::secret::remember_environment();
    if !matches!(
        cli.command,
        Command::Mcp(_) | Command::RunLocal(_) | Command::Gateway(_)
    ) {
        die_quietly_on_closed_pipe();
    }
    let outcome = match cli.command {
        Command::Pixelate(args) => pixelsmith::pixelate::cli::run(args),
        Command::Palettes(args) => pixelsmith::pixelate::cli::palettes(args),
        Command::BuildService(args) => pixelsmith::build::cli::run(args),
        Command::CheckModule(args) => pixelsmith::check::cli::run(args),
        Command::Mcp(args) => pixelsmith::mcp::cli::run(args),
        Command::RunLocal(args) => pixelsmith::runner::cli::run(args),
        Command::Gateway(args) => pixelsmith::gateway::cli::run(args),
        Command::CallService(args) => pixelsmith::call::cli::run(args),
        Command::Deploy(args) => pixelsmith::osc::cli::deploy(args),
        Command::DeploymentStatus(args) => pixelsmith::osc::cli::status(args),
        Command::DeploymentLogs(args) => pixelsmith::osc::cli::logs(args),
        Command::RestartDeployment(args) => pixelsmith::osc::cli::restart(args),
        Command::RemoveDeployment(args) => pixelsmith::osc::cli::remove(args),
        Command::ListDeployments(args) => pixelsmith::osc::cli::list(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", pixelsmith::cli::error_text(&err));
            ExitCode::from(2)
        }
    }
}

/// One-shot commands end like other Unix tools when their output pipe closes (`--json | head`):
/// Rust ignores SIGPIPE, so `println!` would panic instead. Servers keep ignoring it.
#[allow(unsafe_code)]
fn die_quietly_on_closed_pipe() {
    // SAFETY: called once at start-up before any thread is spawned; SIG_DFL is a valid
    // disposition for SIGPIPE and no Rust handler is replaced.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
