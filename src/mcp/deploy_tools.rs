//! The deployment tools: `deploy`, `deployment_status`, `deployment_logs`, `restart_deployment`,
//! `remove_deployment`, `list_deployments`, as a second tool router of [`PixelsmithServer`]
//! (combined with the main one as `Self::tool_router() + Self::deploy_router()`).
//!
//! Each tool is a thin forward to `crate::osc`: paths are resolved inside the allowed roots, OSC's
//! base URLs and every token come from the environment (never from arguments), deploy progress
//! becomes progress notifications, cancelling the request stops the deploy, and every result and
//! error is scrubbed of tokens before it leaves the server.

use std::path::PathBuf;
use std::time::Duration;

use rmcp::handler::server::wrapper::Json;
use rmcp::model::{ProgressNotificationParam, RequestMetaObject};
use rmcp::{Peer, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::params::Args;
use super::{PixelsmithServer, Shared, reply};
use crate::osc::Error;
use crate::osc::any::AnyTarget;
use crate::osc::client::{ClientConfig, OscClient};
use crate::osc::deploy::{self, DeployOptions, DeployReport, ModuleSource, Progress};
use crate::osc::manage::{self, Logs};
use crate::osc::secret::scrub_json;
use crate::osc::target::{Deployment, TargetKind, validate_name};
use crate::schema::{input, output};

/// Arguments of `deploy`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployParams {
    /// Deployment name: lower-case letters and digits, at most 63. Default "pixelsmith".
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z0-9]+$"))]
    pub name: Option<String>,
    /// Where it runs: "myapp" (default: a My App of type wasm) or "instance" (a raw
    /// eyevinn-wasm-runner instance, which has documented update, restart and logs).
    pub target: Option<TargetKind>,
    /// Deploy this .wasm file (inside the allowed roots) as is, after the contract check.
    /// Default: build wasm-service in `project_dir` first.
    #[schemars(length(min = 1, max = 4096))]
    pub wasm_path: Option<String>,
    /// The Pixelsmith checkout (inside the allowed roots) that is built, whose commit is named in
    /// the commit message and whose `origin` is the default repository. Default: the first root.
    #[schemars(length(min = 1, max = 4096))]
    pub project_dir: Option<String>,
    /// The git repository OSC clones: an https/ssh URL, or a local path inside the allowed roots.
    /// Default: `origin` of `project_dir`. Never put a token in it; set GITHUB_TOKEN instead.
    #[schemars(length(min = 1, max = 4096))]
    pub repo: Option<String>,
    /// Branch the module is committed to as `main.wasm`, the only .wasm. Default "osc-deploy".
    #[schemars(length(min = 1, max = 255))]
    pub branch: Option<String>,
    /// Return the whole plan and change nothing (reads only). Default false.
    pub dry_run: Option<bool>,
    /// Update the deployment even when the module did not change. Default false.
    pub force: Option<bool>,
    /// Delete the existing deployment and create it again instead of updating it in place: its
    /// id and URL change (the plan says so). Needed only when an existing My App clones another
    /// repository or branch; never done without this. Default false.
    #[serde(default)]
    pub recreate: bool,
    /// Give OSC the git token (GITHUB_TOKEN/GIT_TOKEN) so it can clone a private repository.
    /// Default false.
    pub send_git_token: Option<bool>,
    /// How long to wait until the deployment runs and answers, seconds. Default 300.
    #[schemars(range(min = 10, max = 3600))]
    pub wait_timeout_secs: Option<u64>,
}

/// Arguments of the tools that act on one deployment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentParams {
    /// Deployment name. Default "pixelsmith".
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z0-9]+$"))]
    pub name: Option<String>,
    /// "myapp" (default) or "instance".
    pub target: Option<TargetKind>,
}

/// Arguments of `deployment_logs`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsParams {
    /// Deployment name. Default "pixelsmith".
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z0-9]+$"))]
    pub name: Option<String>,
    /// "myapp" (default; logs through OSC's MCP server) or "instance".
    pub target: Option<TargetKind>,
    /// At most this many of the last lines. Default 200.
    #[schemars(range(min = 1, max = 5000))]
    pub lines: Option<usize>,
}

/// Arguments of `remove_deployment`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveParams {
    /// The deployment to delete.
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z0-9]+$"))]
    pub name: String,
    /// Must repeat `name` exactly; otherwise nothing is removed.
    #[schemars(length(min = 1, max = 63))]
    pub confirm: String,
    /// "myapp" (default) or "instance".
    pub target: Option<TargetKind>,
}

/// Arguments of `list_deployments`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// "myapp" (default) or "instance".
    pub target: Option<TargetKind>,
}

/// What `list_deployments` answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeploymentList {
    /// The target listed.
    pub target: TargetKind,
    /// Every deployment on it.
    pub deployments: Vec<Deployment>,
}

/// A structured result whose strings were scrubbed of tokens; its schema is `T`'s.
#[derive(Debug)]
pub struct Scrubbed<T>(serde_json::Value, std::marker::PhantomData<T>);

impl<T: Serialize> Scrubbed<T> {
    fn new(value: &T) -> Result<Self, String> {
        let clean = scrub_json(value).map_err(|e| format!("internal: {e}"))?;
        Ok(Self(clean, std::marker::PhantomData))
    }
}

impl<T> Serialize for Scrubbed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Scrubbed<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

type ToolResult<T> = Result<Json<Scrubbed<T>>, String>;

fn done<T: Serialize>(value: Result<T, Error>) -> ToolResult<T> {
    match value {
        Ok(v) => Scrubbed::new(&v).map(Json),
        Err(e) => Err(e.to_string()),
    }
}

fn client() -> Result<OscClient, String> {
    let config = ClientConfig::from_env().map_err(|e| e.to_string())?;
    OscClient::from_env(config).map_err(|e| e.to_string())
}

/// `name`, or the default deployment name, checked before anything else (a bad name is the
/// answer, not a missing token).
fn name_or_default(name: Option<String>) -> Result<String, String> {
    let name = name.unwrap_or_else(|| deploy::DEFAULT_NAME.to_owned());
    validate_name(&name).map_err(|e| e.to_string())?;
    Ok(name)
}

/// Resolves the module, project and repository paths of `params` inside the roots.
fn deploy_options(shared: &Shared, params: DeployParams) -> Result<DeployOptions, String> {
    let resolve = |p: &str| {
        shared
            .roots
            .resolve_existing(p)
            .map_err(|e| reply::failure(&e))
    };
    let project: PathBuf = match &params.project_dir {
        Some(dir) => resolve(dir)?,
        None => shared.roots.first().to_path_buf(),
    };
    let module = match &params.wasm_path {
        Some(path) => ModuleSource::Wasm(resolve(path)?),
        None => ModuleSource::Build(project.clone()),
    };
    let mut opts = DeployOptions::new(name_or_default(params.name)?, module, project);
    opts.repo = match params.repo {
        // A local repository is a folder we write into: it must be inside the roots too.
        Some(repo) if is_local_path(&repo) => Some(resolve(&repo)?.display().to_string()),
        Some(repo) if repo.starts_with("file:") => {
            return Err(
                "give a local repository as a path inside the allowed roots, not a \
                        file: URL"
                    .into(),
            );
        }
        other => other,
    };
    if let Some(branch) = params.branch {
        opts.branch = branch;
    }
    opts.dry_run = params.dry_run.unwrap_or(false);
    opts.force = params.force.unwrap_or(false);
    opts.recreate = params.recreate;
    opts.send_git_token = params.send_git_token.unwrap_or(false);
    if let Some(secs) = params.wait_timeout_secs {
        opts.wait_timeout = Duration::from_secs(secs);
    }
    Ok(opts)
}

/// True for a repository given as a filesystem path rather than a URL or `user@host:path`.
fn is_local_path(repo: &str) -> bool {
    if repo.contains("://") {
        return false;
    }
    match repo.split_once(':') {
        Some((head, _)) => head.contains('/') || head.len() == 1,
        None => true,
    }
}

/// Runs the deploy, forwarding progress as notifications while it runs.
async fn run_deploy(
    params: DeployParams,
    opts: DeployOptions,
    meta: RequestMetaObject,
    peer: Peer<RoleServer>,
    cancel: CancellationToken,
) -> ToolResult<DeployReport> {
    let kind = params.target.unwrap_or_default();
    let client = match client() {
        Ok(c) => Some(c),
        Err(_) if opts.dry_run => None,
        Err(e) => return Err(e),
    };
    let target = client.as_ref().map(|c| AnyTarget::new(c, kind));
    let token = meta.get_progress_token();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let forward = async move {
        let mut step = 0u32;
        while let Some(p) = rx.recv().await {
            let Some(token) = &token else { continue };
            step += 1;
            let note = ProgressNotificationParam::new(token.clone(), f64::from(step)).with_message(
                format!("[{} s] {:?}: {}", p.elapsed.as_secs(), p.step, p.message),
            );
            if let Err(e) = peer.notify_progress(note).await {
                tracing::debug!("progress notification not sent: {e}");
            }
        }
    };
    let progress = move |p: Progress| drop(tx.send(p));
    let work = async {
        let result = deploy::deploy(target.as_ref(), kind, &opts, &progress, &cancel).await;
        drop(progress);
        result
    };
    let result = tokio::select! {
        (result, ()) = async { tokio::join!(work, forward) } => result,
        () = cancel.cancelled() => return Err("the deploy was cancelled; git and the build were stopped, and a create or update already sent to OSC may still complete (check deployment_status)".into()),
    };
    done(result)
}

#[tool_router(router = deploy_router, vis = "pub(super)")]
impl PixelsmithServer {
    #[tool(
        name = "deploy",
        title = "Deploy the service to OSC",
        description = "Deploy the wasm-service module to Eyevinn Open Source Cloud. Steps: look \
            the deployment up by name (this checks OSC_ACCESS_TOKEN before anything is built or \
            pushed); build wasm-service and check it (or check `wasm_path`), refusing a module \
            that fails the contract check, with the findings; commit it as main.wasm, the only \
            .wasm, on branch `osc-deploy` (or `branch`) of the project's origin (or `repo`), with \
            the source commit and sha256 in the message, and push (no commit when unchanged); \
            create the deployment, or update it in place keeping its id and URL (instance: PATCH \
            = update + restart; My App: restarted through OSC's MCP server so it clones the branch \
            again); wait with backoff until it runs (default limit 300 s); verify the live URL \
            (GET / answers the health envelope, a small pixelate request returns a valid PNG). A \
            My App is never deleted implicitly: one that clones another repository or branch is \
            refused unless `recreate: true`, which deletes and re-creates it (new URL). Returns \
            the URL, the gateway command that gives the HTTP API back, the plan, timings and \
            notes. `dry_run: true` returns the plan and changes nothing. Needs OSC_ACCESS_TOKEN \
            (and GITHUB_TOKEN/GIT_TOKEN for a private repository) in the server's environment; \
            tokens are never returned. Sends progress notifications; cancelling stops it.",
        input_schema = input::<DeployParams>(),
        output_schema = output::<DeployReport>(),
        annotations(
            title = "Deploy the service to OSC",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn deploy(
        &self,
        Args(params): Args<DeployParams>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        cancel: CancellationToken,
    ) -> ToolResult<DeployReport> {
        let opts = deploy_options(&self.shared, params.clone())?;
        run_deploy(params, opts, meta, peer, cancel).await
    }

    #[tool(
        name = "deployment_status",
        title = "Deployment status",
        description = "The state of a deployment on OSC (starting, running, failed, stopped, \
            unknown), its URL, id and git URL, fresh from the platform. Target myapp (default) or \
            instance. Needs OSC_ACCESS_TOKEN in the server's environment.",
        input_schema = input::<DeploymentParams>(),
        output_schema = output::<Deployment>(),
        annotations(
            title = "Deployment status",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn deployment_status(
        &self,
        Args(params): Args<DeploymentParams>,
    ) -> ToolResult<Deployment> {
        let name = name_or_default(params.name)?;
        let client = client()?;
        let target = AnyTarget::new(&client, params.target.unwrap_or_default());
        done(manage::status(&target, &name).await)
    }

    #[tool(
        name = "deployment_logs",
        title = "Deployment logs",
        description = "The last `lines` (default 200) log lines of a deployment (tokens \
            masked): for a My App through OSC's MCP server (get-my-app-logs), for a wasm-runner \
            instance from its logs API. Needs OSC_ACCESS_TOKEN in the server's environment.",
        input_schema = input::<LogsParams>(),
        output_schema = output::<Logs>(),
        annotations(
            title = "Deployment logs",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn deployment_logs(&self, Args(params): Args<LogsParams>) -> ToolResult<Logs> {
        let name = name_or_default(params.name)?;
        let client = client()?;
        let target = AnyTarget::new(&client, params.target.unwrap_or_default());
        let lines = params.lines.unwrap_or(200);
        done(manage::logs(&target, &name, lines).await)
    }

    #[tool(
        name = "restart_deployment",
        title = "Restart a deployment",
        description = "Restart a deployment so it clones its repository again, keeping its \
            id and URL, then return its state: a My App through OSC's MCP server (restart-my-app, \
            with rebuild), a wasm-runner instance with POST /restart/{name}. Needs \
            OSC_ACCESS_TOKEN in the server's environment.",
        input_schema = input::<DeploymentParams>(),
        output_schema = output::<Deployment>(),
        annotations(
            title = "Restart a deployment",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn restart_deployment(
        &self,
        Args(params): Args<DeploymentParams>,
    ) -> ToolResult<Deployment> {
        let name = name_or_default(params.name)?;
        let client = client()?;
        let target = AnyTarget::new(&client, params.target.unwrap_or_default());
        done(manage::restart(&target, &name).await)
    }

    #[tool(
        name = "remove_deployment",
        title = "Remove a deployment",
        description = "Delete a deployment from OSC for good. `confirm` must repeat `name` \
            exactly, otherwise nothing is removed. Returns the deployment as it was. The git \
            branch with the module is left as it is.",
        input_schema = input::<RemoveParams>(),
        output_schema = output::<Deployment>(),
        annotations(
            title = "Remove a deployment",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn remove_deployment(&self, Args(params): Args<RemoveParams>) -> ToolResult<Deployment> {
        validate_name(&params.name).map_err(|e| e.to_string())?;
        manage::check_confirmation(&params.name, Some(&params.confirm))
            .map_err(|e| e.to_string())?;
        let client = client()?;
        let target = AnyTarget::new(&client, params.target.unwrap_or_default());
        done(manage::remove(&target, &params.name, Some(&params.confirm)).await)
    }

    #[tool(
        name = "list_deployments",
        title = "List deployments",
        description = "Every deployment on the target (myapp by default, or instance) with its \
            state and URL.",
        input_schema = input::<ListParams>(),
        output_schema = output::<DeploymentList>(),
        annotations(
            title = "List deployments",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_deployments(&self, Args(params): Args<ListParams>) -> ToolResult<DeploymentList> {
        let client = client()?;
        let kind = params.target.unwrap_or_default();
        let target = AnyTarget::new(&client, kind);
        done(
            manage::list(&target)
                .await
                .map(|deployments| DeploymentList {
                    target: kind,
                    deployments,
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_urls_are_told_apart() {
        assert!(is_local_path("../deploy.git"));
        assert!(is_local_path("/srv/git/deploy.git"));
        assert!(is_local_path("C:/git/deploy.git"));
        assert!(!is_local_path("https://github.com/o/r.git"));
        assert!(!is_local_path("git@github.com:o/r.git"));
    }

    #[test]
    fn unknown_arguments_are_refused() {
        let err =
            serde_json::from_value::<DeployParams>(serde_json::json!({"nmae": "x"})).unwrap_err();
        assert!(err.to_string().contains("unknown field `nmae`"), "{err}");
        let err =
            serde_json::from_value::<RemoveParams>(serde_json::json!({"name": "x"})).unwrap_err();
        assert!(err.to_string().contains("confirm"), "{err}");
    }

    #[test]
    fn scrubbed_results_keep_their_shape_and_lose_tokens() {
        let _t = crate::osc::secret::Secret::new("tok-mcp-scrub-31337");
        let list = DeploymentList {
            target: TargetKind::Instance,
            deployments: vec![Deployment {
                target: TargetKind::Instance,
                name: "a".into(),
                id: "a".into(),
                url: Some("https://x.io".into()),
                state: crate::osc::target::State::Running,
                status: Some("running".into()),
                git_url: Some("https://u:tok-mcp-scrub-31337@g.io/r#b".into()),
            }],
        };
        let s = serde_json::to_string(&Scrubbed::new(&list).unwrap()).unwrap();
        assert!(!s.contains("tok-mcp-scrub-31337"), "{s}");
        assert!(s.contains("\"state\":\"running\""), "{s}");
    }
}
