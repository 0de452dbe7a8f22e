//! `pixelsmith`: parse the command line, run the verb, map the outcome to an exit code
//! (0 ok, 1 a check found problems, 2 error).

use std::process::ExitCode;

use clap::Parser;
use pixelsmith::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
