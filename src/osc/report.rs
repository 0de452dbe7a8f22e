//! What `deploy` did, or in a dry run would do: the report the CLI prints (or writes as JSON) and
//! the MCP tool returns as structured content.

use serde::Serialize;

use super::git::Published;
use super::target::{Deployment, TargetKind, UpdateMethod};
use super::verify::Verification;

/// The module that was (or would be) deployed.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct ModuleSummary {
    /// The file, or what would be built.
    pub origin: String,
    /// Size in bytes (unknown in a dry run that would build).
    pub size_bytes: Option<u64>,
    /// sha256 (hex).
    pub sha256: Option<String>,
    /// Warnings of the contract check (errors stop the deploy).
    pub warnings: Vec<String>,
}

/// Milliseconds per step (absent when the step did not run).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Timings {
    /// Building (the contract check of the built module included).
    pub build_ms: Option<u64>,
    /// Contract check of a given module.
    pub check_ms: Option<u64>,
    /// git commit and push.
    pub publish_ms: Option<u64>,
    /// Lookup plus create or update on OSC.
    pub deploy_ms: Option<u64>,
    /// Until OSC reported it running.
    pub wait_ms: Option<u64>,
    /// Live URL verification.
    pub verify_ms: Option<u64>,
    /// Everything.
    pub total_ms: u64,
}

/// What `deploy` did, or in a dry run would do.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct DeployReport {
    /// True when nothing was changed.
    pub dry_run: bool,
    /// Where it runs.
    pub target: TargetKind,
    /// Deployment name.
    pub name: String,
    /// created, updated, re-created, unchanged (dry run: would create, would update, ...).
    pub action: String,
    /// The steps, in order, as done or planned.
    pub plan: Vec<String>,
    /// The module.
    pub module: ModuleSummary,
    /// The repository published to (never with credentials).
    pub repository: String,
    /// The publish result (in a dry run: what the branch holds now).
    pub publish: Option<Published>,
    /// How an existing deployment was updated.
    pub update: Option<UpdateMethod>,
    /// The deployment as OSC reports it.
    pub deployment: Option<Deployment>,
    /// The live URL.
    pub url: Option<String>,
    /// The command that gives the service its HTTP API back.
    pub gateway_command: Option<String>,
    /// What the live check saw.
    pub verification: Option<Verification>,
    /// Things worth knowing.
    pub notes: Vec<String>,
    /// Time per step.
    pub timings: Timings,
}
