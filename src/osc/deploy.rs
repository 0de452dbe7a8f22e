//! The deploy flow: get a checked module (`module`), publish it as `main.wasm` on the deploy
//! branch (`git`), look the deployment up by name and create or update it, wait until it runs
//! (`wait`), and verify the live URL (`verify`). A dry run goes through the same steps reading
//! only (git ls-remote/fetch into a temporary repository, OSC lookups) and returns the plan.
//!
//! Progress goes to a callback at least every [`HEARTBEAT`] while something runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::error::{Error, Result};
use super::git::{self, Published, Remote};
use super::module::{self, Module};
use super::progress::Reporter;
pub use super::progress::{HEARTBEAT, Progress, ProgressFn, Step};
pub use super::report::{DeployReport, ModuleSummary, Timings};
use super::secret::Secret;
use super::target::{Deployment, Spec, State, Target, TargetKind, UpdateMethod, validate_name};
use super::verify::verify;
use super::wait;
use crate::build;

/// Default limit for waiting until the deployment runs and answers (the official CLI waits 5 min).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);
/// Default limit for each git command.
pub const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(120);
/// Default deployment name.
pub const DEFAULT_NAME: &str = "pixelsmith";
/// The verification gets at least this long, even when the wait used up the deadline.
const MIN_VERIFY_TIME: Duration = Duration::from_secs(30);

/// Where the module comes from.
#[derive(Debug, Clone)]
pub enum ModuleSource {
    /// A `.wasm` file to check and deploy as is.
    Wasm(PathBuf),
    /// Build `wasm-service` in this Pixelsmith checkout first.
    Build(PathBuf),
}

/// Everything `deploy` needs besides the target.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Deployment name (lower-case letters and digits).
    pub name: String,
    /// The module.
    pub module: ModuleSource,
    /// The checkout whose commit is named in the commit message, and whose `origin` is the
    /// default repository.
    pub source_dir: PathBuf,
    /// The repository to publish to (default: `origin` of `source_dir`).
    pub repo: Option<String>,
    /// The branch to publish to.
    pub branch: String,
    /// Plan only: read, never change anything.
    pub dry_run: bool,
    /// Update the deployment even when the module did not change.
    pub force: bool,
    /// Send the git token to OSC so it can clone a private repository.
    pub send_git_token: bool,
    /// Limit for waiting until it runs and answers.
    pub wait_timeout: Duration,
    /// Limit for each git command.
    pub git_timeout: Duration,
}

impl DeployOptions {
    /// Defaults: publish to the `osc-deploy` branch of `source_dir`'s origin, wait 5 minutes.
    pub fn new(name: impl Into<String>, module: ModuleSource, source_dir: PathBuf) -> Self {
        Self {
            name: name.into(),
            module,
            source_dir,
            repo: None,
            branch: git::DEFAULT_BRANCH.to_owned(),
            dry_run: false,
            force: false,
            send_git_token: false,
            wait_timeout: DEFAULT_WAIT,
            git_timeout: DEFAULT_GIT_TIMEOUT,
        }
    }
}

/// What to do with the deployment once the module is published.
enum Decision {
    Create,
    /// It runs and the module did not change.
    Keep(Deployment),
    Update(Deployment),
}

fn ms(since: Instant) -> Option<u64> {
    Some(since.elapsed().as_millis() as u64)
}

/// Runs the deploy flow on `target`. `target` is `None` only for a dry run without
/// `OSC_ACCESS_TOKEN` (then nothing is looked up on OSC).
pub async fn deploy<T: Target>(
    target: Option<&T>,
    kind: TargetKind,
    opts: &DeployOptions,
    progress: ProgressFn<'_>,
    cancel: &CancellationToken,
) -> Result<DeployReport> {
    let reporter = Reporter::new(progress);
    validate_name(&opts.name)?;
    if target.is_none() && !opts.dry_run {
        return Err(Error::MissingToken);
    }
    let mut report = DeployReport {
        dry_run: opts.dry_run,
        target: kind,
        name: opts.name.clone(),
        ..DeployReport::default()
    };

    // 1. The module.
    let module = obtain_module(&reporter, opts, &mut report, cancel).await?;

    // 2. Publish.
    let remote_text = match &opts.repo {
        Some(repo) => repo.clone(),
        None => git::origin_of(&opts.source_dir, opts.git_timeout).await?,
    };
    let remote = Remote::parse(&remote_text, Secret::from_env(&git::TOKEN_ENVS))?;
    report.repository = remote.display();
    if remote.local {
        report.notes.push(format!(
            "{} is a local path: OSC itself cannot clone it (fine for a local stand-in)",
            remote.display()
        ));
    }
    report.publish = publish(&reporter, opts, &remote, module.as_ref(), &mut report).await?;
    let spec = spec(opts, &remote, &mut report)?;

    // 3. Look up, then create or update.
    let Some(target) = target else {
        report.plan.push(format!(
            "look up {} '{}' on OSC (not done: OSC_ACCESS_TOKEN is not set); create it with \
             gitHubUrl {}, or update it if it exists: {}",
            kind.noun(),
            opts.name,
            spec.git_url,
            kind.update_note()
        ));
        report.plan.push(wait_verify_line(opts));
        report.action = "would create or update".into();
        return Ok(finish(report, &reporter));
    };
    let began = Instant::now();
    reporter.say(
        Step::Deploy,
        format!("looking up {} '{}'", kind.noun(), opts.name),
    );
    let existing = reporter
        .beat(Step::Deploy, "looking up", target.find(&opts.name))
        .await?;
    let unchanged = report.publish.as_ref().is_some_and(|p| !p.new_commit);
    // A deployment that runs from another repository or branch must be pointed at this one,
    // even when this branch already held the module.
    let same_source = |d: &Deployment| d.git_url.as_ref().is_none_or(|u| *u == spec.git_url);
    let decision = match existing {
        None => Decision::Create,
        Some(d) if unchanged && same_source(&d) && d.state == State::Running && !opts.force => {
            Decision::Keep(d)
        }
        Some(d) => Decision::Update(d),
    };
    if opts.dry_run {
        return Ok(plan_only(report, &reporter, opts, kind, &spec, decision));
    }
    let deployment = apply(&reporter, target, opts, kind, &spec, decision, &mut report).await?;
    report.timings.deploy_ms = ms(began);

    // 4. Wait until it runs.
    let deadline = Instant::now() + opts.wait_timeout;
    let began = Instant::now();
    let deployment =
        wait::until_running(&reporter, target, &deployment, deadline, &mut report.notes).await?;
    report.timings.wait_ms = ms(began);

    // 5. Verify the live URL.
    let url = deployment.url.clone().ok_or_else(|| Error::BadResponse {
        op: format!("read the URL of '{}'", opts.name),
        detail: "OSC reports no URL for the deployment".into(),
    })?;
    let began = Instant::now();
    reporter.say(
        Step::Verify,
        format!("checking {url}: GET / and a pixelate request"),
    );
    let verify_until = deadline.max(Instant::now() + MIN_VERIFY_TIME);
    let verification = reporter
        .beat(
            Step::Verify,
            "checking the live URL",
            verify(&url, verify_until, |why| {
                reporter.say(Step::Verify, format!("not answering yet ({why}); retrying"))
            }),
        )
        .await?;
    report.timings.verify_ms = ms(began);
    report.plan.push(format!(
        "verified {url}: GET / {} and a pixelate request gave a {}",
        verification.health, verification.pixelate
    ));
    report.gateway_command = Some(gateway_command(&url));
    report.url = Some(url);
    report.deployment = Some(deployment);
    report.verification = Some(verification);
    Ok(finish(report, &reporter))
}

/// Builds or checks the module; in a dry run a build is only planned.
async fn obtain_module(
    reporter: &Reporter<'_>,
    opts: &DeployOptions,
    report: &mut DeployReport,
    cancel: &CancellationToken,
) -> Result<Option<Module>> {
    let began = Instant::now();
    let module = match &opts.module {
        ModuleSource::Build(project) if opts.dry_run => {
            report.plan.push(format!(
                "build wasm-service in {} (cargo build -p wasm-service --target {} --release) and \
                 check it against OSC's wasm-runner contract",
                project.display(),
                build::TARGET
            ));
            report.module.origin = "wasm-service built for wasm32-wasip1 (release)".into();
            return Ok(None);
        }
        ModuleSource::Build(project) => {
            let module = module::build(reporter, project, cancel).await?;
            report.timings.build_ms = ms(began);
            report.plan.push(format!(
                "built and checked {} ({} bytes)",
                module.summary.origin,
                module.bytes.len()
            ));
            module
        }
        ModuleSource::Wasm(path) => {
            let module = module::check_file(reporter, path).await?;
            report.timings.check_ms = ms(began);
            report.plan.push(format!(
                "checked {} ({} bytes): passes OSC's wasm-runner contract",
                module.summary.origin,
                module.bytes.len()
            ));
            module
        }
    };
    report.module = module.summary.clone();
    Ok(Some(module))
}

/// Commits and pushes the module (a dry run only finds out whether a commit would be made).
async fn publish(
    reporter: &Reporter<'_>,
    opts: &DeployOptions,
    remote: &Remote,
    module: Option<&Module>,
    report: &mut DeployReport,
) -> Result<Option<Published>> {
    let source = git::source_commit(&opts.source_dir, opts.git_timeout).await;
    let at = format!("branch {} of {}", opts.branch, remote.display());
    let Some(module) = module else {
        report.plan.push(format!(
            "commit the built module as main.wasm (the only .wasm) on {at}, with source commit \
             {source} and the module's sha256 in the message, and push it (no commit if the \
             module is unchanged)"
        ));
        return Ok(None);
    };
    let began = Instant::now();
    reporter.say(Step::Publish, format!("publishing main.wasm to {at}"));
    let spec = git::PublishSpec {
        remote,
        branch: &opts.branch,
        module: &module.bytes,
        source: &source,
        timeout: opts.git_timeout,
        dry_run: opts.dry_run,
    };
    let published = reporter
        .beat(Step::Publish, "git is working", git::publish(&spec))
        .await?;
    let tip = published.commit.as_deref().unwrap_or("?");
    let sha = &published.sha256;
    report
        .plan
        .push(match (opts.dry_run, published.new_commit) {
            (true, true) => {
                format!("commit main.wasm (sha256 {sha}) as the only .wasm on {at} and push it")
            }
            (true, false) => format!("no commit needed: {at} already holds this module ({sha})"),
            (false, true) => {
                format!("committed main.wasm (sha256 {sha}) on {at} as {tip} and pushed it")
            }
            (false, false) => format!("no new commit: {at} already holds this module at {tip}"),
        });
    if !opts.dry_run {
        report.timings.publish_ms = ms(began);
    }
    Ok(Some(published))
}

/// What OSC is asked to run: the name and the git URL, with the git token only if asked for.
fn spec(opts: &DeployOptions, remote: &Remote, report: &mut DeployReport) -> Result<Spec> {
    let git_url = remote.osc_git_url(&opts.branch);
    let git_token = if opts.send_git_token {
        Some(remote.token().cloned().ok_or_else(|| {
            Error::Config("--send-git-token needs GITHUB_TOKEN or GIT_TOKEN to be set".into())
        })?)
    } else {
        if !remote.local {
            report.notes.push(format!(
                "OSC clones {git_url} without a token: the repository must be public, or deploy \
                 with --send-git-token to give OSC the git token"
            ));
        }
        None
    };
    Ok(Spec {
        name: opts.name.clone(),
        git_url,
        git_token,
    })
}

/// The dry run's last plan lines and its answer.
fn plan_only(
    mut report: DeployReport,
    reporter: &Reporter<'_>,
    opts: &DeployOptions,
    kind: TargetKind,
    spec: &Spec,
    decision: Decision,
) -> DeployReport {
    let (noun, name) = (kind.noun(), &opts.name);
    let (line, action, existing) = match decision {
        Decision::Create => (
            format!(
                "create {noun} '{name}' with gitHubUrl {} (none exists yet)",
                spec.git_url
            ),
            "would create",
            None,
        ),
        Decision::Keep(d) => (
            format!(
                "leave {noun} '{name}' as it is: it runs and the module did not change \
                 (--force updates it anyway){}",
                d.url
                    .as_ref()
                    .map(|u| format!("; URL {u}"))
                    .unwrap_or_default()
            ),
            "would leave unchanged",
            Some(d),
        ),
        Decision::Update(d) => (
            format!(
                "update {noun} '{name}' (id {}, now {}): {}",
                d.id,
                d.status_text(),
                kind.update_note()
            ),
            "would update",
            Some(d),
        ),
    };
    report.plan.push(line);
    report.plan.push(wait_verify_line(opts));
    report.deployment = existing;
    report.action = action.into();
    finish(report, reporter)
}

/// Creates, updates or keeps the deployment as decided; records the action in `report`.
async fn apply<T: Target>(
    reporter: &Reporter<'_>,
    target: &T,
    opts: &DeployOptions,
    kind: TargetKind,
    spec: &Spec,
    decision: Decision,
    report: &mut DeployReport,
) -> Result<Deployment> {
    let (noun, name) = (kind.noun(), &opts.name);
    let (deployment, action) = match decision {
        Decision::Create => {
            reporter.say(Step::Deploy, format!("creating {noun} '{name}'"));
            let created = reporter
                .beat(Step::Deploy, "creating", target.create(spec))
                .await?;
            report
                .plan
                .push(format!("created {noun} '{name}' (id {})", created.id));
            (created, "created")
        }
        Decision::Keep(existing) => {
            report.plan.push(format!(
                "left {noun} '{name}' as it is: it runs and the module did not change"
            ));
            report.notes.push(
                "the module did not change, so the deployment was not touched; --force updates \
                 it anyway"
                    .into(),
            );
            (existing, "unchanged")
        }
        Decision::Update(existing) => {
            reporter.say(
                Step::Deploy,
                format!("updating {noun} '{name}': {}", kind.update_note()),
            );
            let (updated, method) = reporter
                .beat(Step::Deploy, "updating", target.update(&existing, spec))
                .await?;
            let action = match &method {
                UpdateMethod::Patched => {
                    report.plan.push(format!(
                        "updated {noun} '{name}' with PATCH (update + restart)"
                    ));
                    "updated"
                }
                UpdateMethod::Recreated { old_id, old_url } => {
                    report.plan.push(format!(
                        "re-created {noun} '{name}': deleted id {old_id} and created id {} (My \
                         Apps has no documented update)",
                        updated.id
                    ));
                    if old_url.is_some() && old_url != &updated.url {
                        report.notes.push(format!(
                            "the URL changed from {} to {} because My Apps can only delete and \
                             create again",
                            old_url.as_deref().unwrap_or("?"),
                            updated.url.as_deref().unwrap_or("?")
                        ));
                    }
                    "re-created"
                }
            };
            report.update = Some(method);
            (updated, action)
        }
    };
    report.action = action.to_owned();
    Ok(deployment)
}

/// Stamps the total time on `report`.
fn finish(mut report: DeployReport, reporter: &Reporter<'_>) -> DeployReport {
    report.timings.total_ms = reporter.elapsed().as_millis() as u64;
    report
}

/// The command that gives a deployed service its HTTP API back.
pub fn gateway_command(url: &str) -> String {
    format!("pixelsmith gateway --runner {url}")
}

fn wait_verify_line(opts: &DeployOptions) -> String {
    format!(
        "wait up to {} s until it runs, then check the live URL: GET / must answer the health \
         envelope and a small pixelate request must return a valid PNG",
        opts.wait_timeout.as_secs()
    )
}
