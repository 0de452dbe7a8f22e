//! Deploying the module to Eyevinn Open Source Cloud (OSC) and managing the deployment.
//!
//! - `client`: HTTP plumbing (base URLs, tokens, time limits, retries, error answers).
//! - `target`: what a deployment is and the trait both targets implement;
//!   `myapps` (My Apps, the default) and `instance` (raw wasm-runner instances).
//! - `git`: publishing the module as `main.wasm` on a deploy branch.
//! - `deploy`: the whole flow (look up, check, publish, create or update, wait, verify), the plan;
//!   `module` (build or check), `wait` (poll until running), `progress`, `report`.
//! - `platform_mcp`: OSC's own MCP server, for restarting My Apps and reading their logs.
//! - `any`: the target picked at run time; `manage`: status, logs, restart, remove, list.
//! - `verify`: checking a live URL as a client would.
//! - `cli`: the subcommands' arguments and printing; `log`: the one stderr line format.
//! - `secret` and `error`: tokens and the one error type, which never shows a token.
//!
//! The platform contract is in `shared/osc-platform.md` (sections 2–4, 7); where the code goes beyond
//! it, the comment says "inferred".

pub mod any;
pub mod cli;
pub mod client;
pub mod deploy;
pub mod error;
pub mod git;
pub mod instance;
pub mod log;
pub mod manage;
mod module;
pub mod myapps;
mod platform_mcp;
pub mod progress;
pub mod report;
pub mod secret;
pub mod target;
pub mod verify;
mod wait;

pub use error::{Error, Result};
