//! The deploy subcommands: `deploy`, `deployment-status`, `deployment-logs`,
//! `restart-deployment`, `remove-deployment`, `list-deployments`. Arguments, and printing results
//! for people, or with `--json` exactly one JSON document on stdout (the result, or
//! `{"error": {code, message}}`). Progress and log lines go to stderr in one format (`log`);
//! `--quiet` leaves only errors there. Everything printed is scrubbed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::any::AnyTarget;
use super::client::{ClientConfig, DEFAULT_ENVIRONMENT, Endpoints, OscClient};
use super::deploy::{self, DeployOptions, DeployReport, ModuleSource, Progress};
use super::error::Error;
use super::secret::{scrub, scrub_json};
use super::target::{Deployment, TargetKind};
use super::{log, manage};

macro_rules! env_help {
    () => {
        "Environment:\n  \
OSC_ACCESS_TOKEN   personal access token from the OSC web console (required; never printed)\n  \
OSC_ENVIRONMENT    prod (default) or dev\n  \
OSC_DEPLOY_URL     base URL of the deploy service  [default: https://deploy.svc.{env}.osaas.io]\n  \
OSC_CATALOG_URL    base URL of the catalog         [default: https://catalog.svc.{env}.osaas.io]\n  \
OSC_TOKEN_URL      base URL of the token service   [default: https://token.svc.{env}.osaas.io]\n  \
OSC_MCP_URL        OSC's own MCP server (My Apps restart and logs)\n                     \
[default: https://mcp.osaas.io/mcp/category/apps; its top-level https://mcp.osaas.io/mcp works too]\n  \
GITHUB_TOKEN / GIT_TOKEN  token git pushes with (given to git through its environment)\n  \
RUST_LOG           what goes to stderr (default info: progress and notable events)"
    };
}

const ENV_HELP: &str = env_help!();

/// Where OSC is and how to talk to it; shared by every deploy subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// Where the deployment runs: a My App (type wasm) or a raw wasm-runner instance.
    #[arg(long, value_enum, default_value_t = TargetKind::Myapp)]
    pub target: TargetKind,
    /// OSC environment (prod or dev).
    #[arg(long = "osc-env", env = "OSC_ENVIRONMENT", default_value = DEFAULT_ENVIRONMENT, value_name = "ENV")]
    pub osc_env: String,
    /// Base URL of the deploy service (My Apps).
    #[arg(long, env = "OSC_DEPLOY_URL", value_name = "URL")]
    pub deploy_url: Option<String>,
    /// Base URL of the catalog service (subscriptions).
    #[arg(long, env = "OSC_CATALOG_URL", value_name = "URL")]
    pub catalog_url: Option<String>,
    /// Base URL of the token service (service access tokens).
    #[arg(long, env = "OSC_TOKEN_URL", value_name = "URL")]
    pub token_url: Option<String>,
    /// OSC's own MCP server (Streamable HTTP), used to restart My Apps and read their logs
    /// [default: https://mcp.osaas.io/mcp/category/apps].
    #[arg(long, env = "OSC_MCP_URL", value_name = "URL")]
    pub mcp_url: Option<String>,
    /// Time limit for each call to OSC (REST or MCP), in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub http_timeout: u64,
    /// Print exactly one JSON document on stdout: the result, or {"error": {"code", "message"}}
    /// when it fails (the exit code is then 2).
    #[arg(long)]
    pub json: bool,
    /// Nothing on stderr but errors (no progress or log lines); deploy, restart-deployment and
    /// remove-deployment print no report either (the exit code tells). With --json the JSON
    /// document is still printed.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl Connection {
    /// The client configuration these flags describe.
    pub fn config(&self) -> Result<ClientConfig, Error> {
        let endpoints = Endpoints::for_environment(&self.osc_env)?
            .with_overrides(
                self.deploy_url.as_deref(),
                self.catalog_url.as_deref(),
                self.token_url.as_deref(),
            )?
            .with_mcp(self.mcp_url.as_deref())?;
        let mut config = ClientConfig::new(endpoints);
        config.request_timeout = Duration::from_secs(self.http_timeout);
        Ok(config)
    }

    /// A client with the token from `OSC_ACCESS_TOKEN`.
    pub fn client(&self) -> Result<OscClient, Error> {
        OscClient::from_env(self.config()?)
    }
}

/// Build (or take) the module, check it, publish it to git, create or update it on OSC, wait, verify.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n  pixelsmith deploy --dry-run\n  pixelsmith deploy --name pixelsmith\n  ",
    "pixelsmith deploy --wasm target/wasm32-wasip1/release/wasm-service.wasm --target instance\n  ",
    "pixelsmith deploy --repo https://github.com/me/pixel-deploy.git --branch main\n\n",
    "An existing My App keeps its id and URL: the new module is pushed to its branch and the app is\n",
    "restarted through OSC's MCP server (restart-my-app), so it clones the branch again. It is never\n",
    "deleted implicitly: an app that clones another repository or branch is left alone unless you\n",
    "pass --recreate, which deletes it and creates it again (its URL changes; the plan says so).\n",
    "Instances are updated with PATCH (update + restart); their URL follows the name.\n\n",
    "The OSC token is checked first (a lookup), before anything is built or pushed. Progress and\n",
    "log lines go to stderr as `[seconds] LEVEL step: message`; --quiet keeps only errors there,\n",
    "--json prints exactly one JSON document on stdout.\n\n",
    env_help!()
))]
pub struct DeployArgs {
    /// Deployment name (lower-case letters and digits).
    #[arg(long, default_value = deploy::DEFAULT_NAME)]
    pub name: String,
    /// Deploy this .wasm file instead of building wasm-service.
    #[arg(long, value_name = "PATH")]
    pub wasm: Option<PathBuf>,
    /// The Pixelsmith checkout to build in, and whose commit and origin are used.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// Repository to publish to (URL or path) [default: the project's origin].
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Branch the module is committed to.
    #[arg(long, default_value = super::git::DEFAULT_BRANCH)]
    pub branch: String,
    /// Print the whole plan and change nothing (only reads: git ls-remote/fetch, OSC lookups).
    #[arg(long)]
    pub dry_run: bool,
    /// Update the deployment even when the module did not change.
    #[arg(long)]
    pub force: bool,
    /// Delete the existing deployment and create it again instead of updating it in place. Its
    /// id and URL change. Needed when an existing My App clones another repository or branch.
    #[arg(long)]
    pub recreate: bool,
    /// Give OSC the git token (GITHUB_TOKEN/GIT_TOKEN) so it can clone a private repository.
    #[arg(long)]
    pub send_git_token: bool,
    /// How long to wait for the deployment to run and answer, in seconds.
    #[arg(long, default_value_t = deploy::DEFAULT_WAIT.as_secs(), value_name = "SECONDS")]
    pub wait_timeout: u64,
    /// Time limit for each git command, in seconds.
    #[arg(long, default_value_t = deploy::DEFAULT_GIT_TIMEOUT.as_secs(), value_name = "SECONDS")]
    pub git_timeout: u64,
    #[command(flatten)]
    pub osc: Connection,
}

/// A deployment name with the connection flags.
#[derive(Debug, clap::Args)]
#[command(after_help = ENV_HELP)]
pub struct NameArgs {
    /// Deployment name.
    #[arg(long, default_value = deploy::DEFAULT_NAME)]
    pub name: String,
    #[command(flatten)]
    pub osc: Connection,
}

/// Logs of a deployment.
#[derive(Debug, clap::Args)]
#[command(after_help = ENV_HELP)]
pub struct LogsArgs {
    /// Deployment name.
    #[arg(long, default_value = deploy::DEFAULT_NAME)]
    pub name: String,
    /// Show at most this many of the last lines.
    #[arg(long, default_value_t = 200)]
    pub lines: usize,
    #[command(flatten)]
    pub osc: Connection,
}

/// Remove a deployment for good.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  pixelsmith remove-deployment --name pixelsmith --confirm pixelsmith"
)]
pub struct RemoveArgs {
    /// Deployment name.
    #[arg(long)]
    pub name: String,
    /// Repeat the exact name to confirm the removal.
    #[arg(long, value_name = "NAME")]
    pub confirm: Option<String>,
    #[command(flatten)]
    pub osc: Connection,
}

/// List deployments.
#[derive(Debug, clap::Args)]
#[command(after_help = ENV_HELP)]
pub struct ListArgs {
    #[command(flatten)]
    pub osc: Connection,
}

/// The runtime for one subcommand, with the one stderr log format (`log`).
fn runtime(osc: &Connection) -> anyhow::Result<tokio::runtime::Runtime> {
    log::init(osc.quiet);
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&scrub_json(value)?)?);
    Ok(())
}

/// Prints a subcommand's outcome: with `--json` exactly one document (the result, or the error
/// as `{"error": {"code", "message"}}`), otherwise `human`'s text unless it gives none. An error
/// is returned either way, for the message on stderr and exit code 2.
fn emit<T: serde::Serialize>(
    osc: &Connection,
    outcome: anyhow::Result<T>,
    human: impl FnOnce(&T) -> Option<String>,
) -> anyhow::Result<ExitCode> {
    match outcome {
        Ok(value) => {
            if osc.json {
                print_json(&value)?;
            } else if let Some(text) = human(&value) {
                print!("{}", scrub(&text));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            if osc.json {
                let code = err.downcast_ref::<Error>().map_or("error", Error::code);
                print_json(&serde_json::json!({
                    "error": { "code": code, "message": format!("{err:#}") }
                }))?;
            }
            Err(err)
        }
    }
}

/// `pixelsmith deploy`.
pub fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let quiet = args.osc.quiet;
    let outcome = run_deploy(&args);
    emit(&args.osc, outcome, |report| {
        (!quiet).then(|| render_report(report))
    })
}

fn run_deploy(args: &DeployArgs) -> anyhow::Result<DeployReport> {
    let runtime = runtime(&args.osc)?;
    let module = match &args.wasm {
        Some(path) => ModuleSource::Wasm(path.clone()),
        None => ModuleSource::Build(args.project.clone()),
    };
    let mut opts = DeployOptions::new(args.name.clone(), module, args.project.clone());
    opts.repo = args.repo.clone();
    opts.branch = args.branch.clone();
    opts.dry_run = args.dry_run;
    opts.force = args.force;
    opts.recreate = args.recreate;
    opts.send_git_token = args.send_git_token;
    opts.wait_timeout = Duration::from_secs(args.wait_timeout);
    opts.git_timeout = Duration::from_secs(args.git_timeout);
    let client = match args.osc.client() {
        Ok(client) => Some(client),
        // A dry run can still show the plan without a token.
        Err(Error::MissingToken) if args.dry_run => None,
        Err(err) => return Err(err.into()),
    };
    let target = client.as_ref().map(|c| AnyTarget::new(c, args.osc.target));
    let progress = |p: Progress| log::progress(&p);
    Ok(runtime.block_on(deploy::deploy(
        target.as_ref(),
        args.osc.target,
        &opts,
        &progress,
        &CancellationToken::new(),
    ))?)
}

/// The deploy report for people.
pub fn render_report(r: &DeployReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let head = if r.dry_run {
        "deploy plan (dry run, nothing changed)"
    } else {
        "deployed"
    };
    let _ = writeln!(out, "{head}: {} {} '{}'", r.action, r.target.noun(), r.name);
    for (i, step) in r.plan.iter().enumerate() {
        let _ = writeln!(out, "  {}. {step}", i + 1);
    }
    let m = &r.module;
    let _ = writeln!(
        out,
        "module: {}{}{}",
        m.origin,
        m.size_bytes
            .map(|b| format!(", {b} bytes"))
            .unwrap_or_default(),
        m.sha256
            .as_ref()
            .map(|s| format!(", sha256 {s}"))
            .unwrap_or_default()
    );
    for w in &m.warnings {
        let _ = writeln!(out, "  warning {w}");
    }
    let _ = writeln!(out, "repository: {}", r.repository);
    if let Some(url) = &r.url {
        let _ = writeln!(out, "url: {url}");
    }
    if let Some(cmd) = &r.gateway_command {
        let _ = writeln!(out, "HTTP API: {cmd}");
    }
    if let Some(v) = &r.verification {
        let _ = writeln!(out, "verified: GET / {}; pixelate {}", v.health, v.pixelate);
    }
    let t = &r.timings;
    let parts: Vec<String> = [
        ("build", t.build_ms),
        ("check", t.check_ms),
        ("publish", t.publish_ms),
        ("deploy", t.deploy_ms),
        ("wait", t.wait_ms),
        ("verify", t.verify_ms),
        ("total", Some(t.total_ms)),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|ms| format!("{k} {:.1} s", ms as f64 / 1000.0)))
    .collect();
    let _ = writeln!(out, "timings: {}", parts.join(", "));
    for note in &r.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}

fn render_deployment(d: &Deployment) -> String {
    format!(
        "{} '{}' (id {}): {}{}{}",
        d.target.noun(),
        d.name,
        d.id,
        d.status_text(),
        d.url.as_ref().map(|u| format!(", {u}")).unwrap_or_default(),
        d.git_url
            .as_ref()
            .map(|u| format!(", from {u}"))
            .unwrap_or_default()
    )
}

/// Runs one management call with a client for `osc`.
fn manage<T, F>(osc: &Connection, call: F) -> anyhow::Result<T>
where
    F: AsyncFnOnce(&AnyTarget<'_>) -> Result<T, Error>,
{
    let runtime = runtime(osc)?;
    let client = osc.client()?;
    let target = AnyTarget::new(&client, osc.target);
    Ok(runtime.block_on(call(&target))?)
}

/// `pixelsmith deployment-status`.
pub fn status(args: NameArgs) -> anyhow::Result<ExitCode> {
    let d = manage(&args.osc, async |t| manage::status(t, &args.name).await);
    emit(&args.osc, d, |d| {
        Some(format!("{}\n", render_deployment(d)))
    })
}

/// `pixelsmith deployment-logs`.
pub fn logs(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let logs = manage(&args.osc, async |t| {
        manage::logs(t, &args.name, args.lines).await
    });
    emit(&args.osc, logs, |logs| Some(format!("{}\n", logs.text)))
}

/// `pixelsmith restart-deployment`.
pub fn restart(args: NameArgs) -> anyhow::Result<ExitCode> {
    let quiet = args.osc.quiet;
    let d = manage(&args.osc, async |t| manage::restart(t, &args.name).await);
    emit(&args.osc, d, |d| {
        (!quiet).then(|| format!("restarted: {}\n", render_deployment(d)))
    })
}

/// `pixelsmith remove-deployment`.
pub fn remove(args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let quiet = args.osc.quiet;
    // Refuse before anything else (even before reading the token) when not confirmed.
    let removed = manage::check_confirmation(&args.name, args.confirm.as_deref())
        .map_err(anyhow::Error::from)
        .and_then(|()| {
            manage(&args.osc, async |t| {
                manage::remove(t, &args.name, args.confirm.as_deref()).await
            })
        });
    emit(&args.osc, removed, |d| {
        (!quiet).then(|| format!("removed: {}\n", render_deployment(d)))
    })
}

/// `pixelsmith list-deployments`.
pub fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let noun = args.osc.target.noun();
    let all = manage(&args.osc, async |t| manage::list(t).await);
    emit(&args.osc, all, |all| {
        Some(if all.is_empty() {
            format!("no {noun}s\n")
        } else {
            all.iter()
                .map(|d| format!("{}\n", render_deployment(d)))
                .collect()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osc::client::{DEFAULT_MCP_URL, TOKEN_ENV};
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        osc: Connection,
    }

    #[test]
    fn flags_override_environment_urls() {
        let t = T::try_parse_from([
            "t",
            "--osc-env",
            "dev",
            "--deploy-url",
            "http://127.0.0.1:1",
        ])
        .unwrap();
        let c = t.osc.config().unwrap();
        assert_eq!(c.endpoints.deploy.as_str(), "http://127.0.0.1:1/");
        assert_eq!(
            c.endpoints.catalog.as_str(),
            "https://catalog.svc.dev.osaas.io/"
        );
        assert_eq!(t.osc.target, TargetKind::Myapp);
        let t = T::try_parse_from(["t", "--target", "instance"]).unwrap();
        assert_eq!(t.osc.target, TargetKind::Instance);
        assert!(T::try_parse_from(["t", "--target", "vm"]).is_err());
    }

    #[test]
    fn token_env_name_is_documented() {
        assert!(ENV_HELP.contains(TOKEN_ENV));
        assert!(ENV_HELP.contains(crate::osc::client::MCP_URL_ENV));
        assert!(ENV_HELP.contains(DEFAULT_MCP_URL));
    }

    #[test]
    fn the_mcp_url_has_a_default_and_an_override() {
        let t = T::try_parse_from(["t"]).unwrap();
        assert_eq!(
            t.osc.config().unwrap().endpoints.mcp.as_str(),
            DEFAULT_MCP_URL
        );
        let t = T::try_parse_from(["t", "--mcp-url", "http://127.0.0.1:7/mcp"]).unwrap();
        assert_eq!(
            t.osc.config().unwrap().endpoints.mcp.as_str(),
            "http://127.0.0.1:7/mcp"
        );
        assert!(
            T::try_parse_from(["t", "--mcp-url", "ftp://x"])
                .unwrap()
                .osc
                .config()
                .is_err()
        );
    }
}
