//! The command line: one subcommand per verb. Each verb's arguments live in its own module.

use clap::{Parser, Subcommand};

/// Pixel art from any image, and a WASM service you can build, check, run as OSC runs it, and deploy.
#[derive(Debug, Parser)]
#[command(name = "pixelsmith", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Turn an image into pixel art (exact grid, Oklab palettes, retro palettes, dithering).
    Pixelate(crate::pixelate::cli::Args),
    /// List the built-in palettes (optionally render a swatch image).
    Palettes(crate::pixelate::cli::PalettesArgs),
    /// Build wasm-service for wasm32-wasip1 (release) and check the module.
    BuildService(crate::build::cli::Args),
    /// Check a .wasm module against OSC's wasm runner contract (exit 1 on problems).
    CheckModule(crate::check::cli::Args),
    /// Serve the tools over MCP (stdio, or Streamable HTTP with --http).
    Mcp(crate::mcp::cli::Args),
    /// Run a module locally exactly as OSC's wasm runner does, plus a gateway with its HTTP API.
    RunLocal(crate::runner::cli::Args),
    /// Give a runner URL (local or deployed) its HTTP API back: /health, /pixelate, ...
    Gateway(crate::gateway::cli::Args),
    /// Smoke-test a runner URL: health and a pixelation, checked, with latencies.
    CallService(crate::call::cli::Args),
    /// Deploy the module to OSC: check, publish to git, create or update, wait, verify.
    Deploy(crate::osc::cli::DeployArgs),
    /// Show a deployment's state and URL.
    DeploymentStatus(crate::osc::cli::NameArgs),
    /// Show a deployment's logs (My Apps through OSC's MCP server, instances through the REST API).
    DeploymentLogs(crate::osc::cli::LogsArgs),
    /// Restart a deployment so it clones its repository again (serves a changed module, same URL).
    RestartDeployment(crate::osc::cli::NameArgs),
    /// Delete a deployment for good (needs --confirm <exact name>).
    RemoveDeployment(crate::osc::cli::RemoveArgs),
    /// List deployments on OSC.
    ListDeployments(crate::osc::cli::ListArgs),
}

/// The error and its causes, each said once (many messages already quote their cause, which
/// `{:#}` would then repeat).
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
