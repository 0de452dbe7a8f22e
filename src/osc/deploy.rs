//! The deploy flow: look the deployment up by name (the first OSC call, so a refused token stops
//! the deploy before anything is built or pushed), refuse a My App that clones another repository
//! or branch unless asked to re-create it, get a checked module (`module`), work out the
//! publish of `main.wasm` on the deploy branch (`git`), decide (create, keep, update in place, or
//! re-create on request), check that the update can be made, push, apply, wait until it runs
//! (`wait`), and verify the live URL (`verify`). A dry run goes through the same steps reading only
//! (git ls-remote/fetch into a temporary repository, OSC lookups) and returns the plan.
//!
//! A deployment is never deleted implicitly: an existing My App is updated in place (restarted
//! through OSC's MCP server, keeping its id and URL); only `recreate` deletes and creates it.
//!
//! Progress goes to a callback at least every [`HEARTBEAT`] while something runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::error::{Error, Result};
use super::git::{self, GitSource, Prepared, PublishSpec, Published, Remote};
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
    /// Delete an existing deployment and create it again (its id and URL change) instead of
    /// updating it in place. Never done without this.
    pub recreate: bool,
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
            recreate: false,
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
    /// In place: PATCH for an instance, a restart for a My App; id and URL stay.
    Update(Deployment),
    /// Delete and create again, on the user's request only.
    Recreate(Deployment),
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

    // 1. The credentials, with the lookup: nothing is built or pushed for a refused token.
    let began = Instant::now();
    let existing = match target {
        Some(target) => Some(look_up(&reporter, target, kind, opts, &mut report).await?),
        None => None,
    };
    report.timings.deploy_ms = ms(began);

    // 2. What OSC will clone; a My App that clones something else is left alone (before the
    //    build, which can take minutes).
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
    let spec = spec(opts, &remote, &mut report)?;
    if let Some(Some(d)) = &existing
        && kind == TargetKind::Myapp
        && !opts.recreate
    {
        super::target::ensure_same_source(d, &spec)?;
    }

    // 3. The module.
    let module = obtain_module(&reporter, opts, &mut report, cancel).await?;
    // The build the live app must answer once it runs what is pushed (this service's modules).
    let expected_build = module
        .as_ref()
        .and_then(|m| wasm_service::router::build_id_of(&m.bytes))
        .map(str::to_owned);

    // 4. Work out the publish (reads only), then decide.
    let source = git::source_commit(&opts.source_dir, opts.git_timeout).await;
    let publish_spec = module.as_ref().map(|m| PublishSpec {
        remote: &remote,
        branch: &opts.branch,
        module: &m.bytes,
        source: &source,
        timeout: opts.git_timeout,
        dry_run: opts.dry_run,
    });
    let prepared = prepare(&reporter, opts, &remote, publish_spec.as_ref(), &mut report).await?;
    let Some((target, existing)) = target.zip(existing) else {
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
    let changed = prepared.as_ref().is_none_or(Prepared::changed);
    let same_source = |d: &Deployment| {
        d.git_url
            .as_ref()
            .is_none_or(|u| GitSource::parse(u).same_as(&GitSource::parse(&spec.git_url)))
    };
    // An unchanged module is left alone only where the app answers with its build: buildStatus
    // is optional, and "running" may be the module from before (a restart whose answer was lost
    // and whose branch was then put back, or one that never took effect).
    let runs = match (&existing, &expected_build) {
        (Some(d), Some(build))
            if !changed && matches!(d.state, State::Running | State::Unknown) =>
        {
            match &d.url {
                Some(url) => super::verify::serves_build(url, build).await,
                None => d.state == State::Running,
            }
        }
        (Some(d), _) => d.state == State::Running,
        _ => false,
    };
    let decision = match existing {
        None => Decision::Create,
        Some(d) if opts.recreate => Decision::Recreate(d),
        Some(d) if !changed && same_source(&d) && runs && !opts.force => Decision::Keep(d),
        Some(d) => Decision::Update(d),
    };
    if let Decision::Update(d) = &decision {
        // Before anything is pushed: a My App's restart needs OSC's MCP server.
        let began = Instant::now();
        reporter.say(
            Step::Deploy,
            format!(
                "checking that {} '{}' can be updated in place",
                kind.noun(),
                d.name
            ),
        );
        reporter
            .beat(Step::Deploy, "checking", target.check_update(d))
            .await?;
        report.timings.deploy_ms = report.timings.deploy_ms.map(|t| t + ms(began).unwrap_or(0));
    }
    if opts.dry_run {
        report.publish = prepared.as_ref().map(Prepared::published);
        return Ok(plan_only(report, &reporter, opts, kind, &spec, decision));
    }

    // 5. Push, then create or update.
    report.publish = match &prepared {
        Some(prepared) => Some(push(&reporter, opts, &remote, prepared, &mut report).await?),
        None => None,
    };
    let began = Instant::now();
    let updating = matches!(decision, Decision::Update(_));
    let deployment = match apply(&reporter, target, opts, kind, &spec, decision, &mut report).await
    {
        Ok(deployment) => deployment,
        Err(err) => match (updating, &prepared, &report.publish) {
            // No answer in time: the update may have happened. Putting the branch back under an
            // app that restarted onto it would leave the next deploy unable to tell; the next
            // deploy checks which build the app answers with instead.
            (true, Some(_), Some(pushed)) if pushed.new_commit && err.is_timeout() => {
                return Err(Error::NotApplied {
                    source: Box::new(err),
                    branch: format!(
                        "the update's answer did not come in time, so it may or may not have \
                         happened; branch {} holds the new module: run the same deploy again, \
                         which checks which build the app answers with and restarts it if needed",
                        opts.branch
                    ),
                });
            }
            (true, Some(prepared), Some(pushed)) if pushed.new_commit => {
                return Err(put_branch_back(&reporter, opts, prepared, pushed, err).await);
            }
            _ => return Err(err),
        },
    };
    report.timings.deploy_ms = Some(report.timings.deploy_ms.unwrap_or(0) + ms(began).unwrap_or(0));

    // 6. Wait until it runs.
    let deadline = Instant::now() + opts.wait_timeout;
    let began = Instant::now();
    let deployment =
        wait::until_running(&reporter, target, &deployment, deadline, &mut report.notes).await?;
    report.timings.wait_ms = ms(began);

    // 7. Verify the live URL.
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
            verify(&url, verify_until, expected_build.as_deref(), |why| {
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

/// The first call to OSC: finds the deployment by name, which also proves the token is accepted
/// (a refused token ends the deploy here, before anything is built or pushed). When there is none
/// yet, adds what the target would set up first to the plan.
async fn look_up<T: Target>(
    reporter: &Reporter<'_>,
    target: &T,
    kind: TargetKind,
    opts: &DeployOptions,
    report: &mut DeployReport,
) -> Result<Option<Deployment>> {
    let (noun, name) = (kind.noun(), &opts.name);
    reporter.say(
        Step::Deploy,
        format!("checking the OSC credentials: looking up {noun} '{name}'"),
    );
    let existing = reporter
        .beat(Step::Deploy, "looking up", target.find(name))
        .await?;
    report.plan.push(match &existing {
        None => format!("looked up {noun} '{name}' on OSC (token accepted): none exists yet"),
        Some(d) => format!(
            "looked up {noun} '{name}' on OSC (token accepted): id {}, {}{}",
            d.id,
            d.status_text(),
            d.url.as_ref().map(|u| format!(", {u}")).unwrap_or_default()
        ),
    });
    if existing.is_none() || opts.recreate {
        let steps = target.prerequisites().await?;
        report.plan.extend(steps);
    }
    Ok(existing)
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

/// Works out the publish: fetches the branch and stages the module, so whether a commit is
/// needed is known before anything is pushed. Without a module (a dry run that would build), only
/// plans it.
async fn prepare<'a>(
    reporter: &Reporter<'_>,
    opts: &DeployOptions,
    remote: &Remote,
    spec: Option<&'a PublishSpec<'a>>,
    report: &mut DeployReport,
) -> Result<Option<Prepared<'a>>> {
    let at = format!("branch {} of {}", opts.branch, remote.display());
    let Some(spec) = spec else {
        report.plan.push(format!(
            "commit the built module as main.wasm (the only .wasm) on {at}, with source commit \
             {} and the module's sha256 in the message, and push it (no commit if the module is \
             unchanged)",
            git::source_commit(&opts.source_dir, opts.git_timeout).await
        ));
        return Ok(None);
    };
    reporter.say(Step::Publish, format!("reading {at}"));
    let prepared = reporter
        .beat(Step::Publish, "git is working", git::prepare(spec))
        .await?;
    if opts.dry_run {
        let sha = prepared.published().sha256;
        report.plan.push(if prepared.changed() {
            format!("commit main.wasm (sha256 {sha}) as the only .wasm on {at} and push it")
        } else {
            format!("no commit needed: {at} already holds this module ({sha})")
        });
    }
    Ok(Some(prepared))
}

/// Commits and pushes what [`prepare`] staged (nothing when the module is unchanged).
async fn push(
    reporter: &Reporter<'_>,
    opts: &DeployOptions,
    remote: &Remote,
    prepared: &Prepared<'_>,
    report: &mut DeployReport,
) -> Result<Published> {
    let began = Instant::now();
    let at = format!("branch {} of {}", opts.branch, remote.display());
    if prepared.changed() {
        reporter.say(Step::Publish, format!("pushing main.wasm to {at}"));
    }
    let published = reporter
        .beat(Step::Publish, "git is working", prepared.push())
        .await?;
    let tip = published.commit.as_deref().unwrap_or("?");
    let sha = &published.sha256;
    report.plan.push(if published.new_commit {
        format!("committed main.wasm (sha256 {sha}) on {at} as {tip} and pushed it")
    } else {
        format!("no new commit: {at} already holds this module at {tip}")
    });
    report.timings.publish_ms = ms(began);
    Ok(published)
}

/// What OSC is asked to run: the name and the git URL, with the git token only if asked for.
fn spec(opts: &DeployOptions, remote: &Remote, report: &mut DeployReport) -> Result<Spec> {
    let git_url = remote.osc_git_url(&opts.branch);
    let git_token = if opts.send_git_token {
        Some(remote.token().cloned().ok_or_else(|| {
            Error::Config(
                "--send-git-token (send_git_token in the deploy tool) needs GITHUB_TOKEN or GIT_TOKEN \
                 to be set"
                    .into(),
            )
        })?)
    } else {
        if !remote.local {
            report.notes.push(format!(
                "OSC clones {git_url} without a token: the repository must be public, or deploy \
                 with --send-git-token (send_git_token: true in the deploy tool) to give OSC the git token"
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
                 (--force, force: true in the deploy tool, updates it anyway){}",
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
                "update {noun} '{name}' in place (id {}, now {}; checked: it can be): {}",
                d.id,
                d.status_text(),
                kind.update_note()
            ),
            "would update",
            Some(d),
        ),
        Decision::Recreate(d) => (
            format!(
                "re-create {noun} '{name}' (recreate): delete id {} and create it again with \
                 gitHubUrl {}; THE URL WILL CHANGE{}",
                d.id,
                spec.git_url,
                d.url
                    .as_ref()
                    .map(|u| format!(" ({u} stops answering)"))
                    .unwrap_or_default()
            ),
            "would re-create",
            Some(d),
        ),
    };
    report.plan.push(line);
    report.plan.push(wait_verify_line(opts));
    report.deployment = existing;
    report.action = action.into();
    finish(report, reporter)
}

/// Creates, updates, re-creates or keeps the deployment as decided; records the action in
/// `report`.
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
            let created = match reporter
                .beat(Step::Deploy, "creating", target.create(spec))
                .await
            {
                Ok(created) => created,
                Err(err) if super::target::is_name_taken(&err) => {
                    // OSC's list did not show it (lists can lag), yet it exists: it is updated
                    // in place like any existing deployment (a My App's update refuses another
                    // source first), and never reported as created.
                    let Some(existing) = target.find(name).await? else {
                        return Err(Error::Config(format!(
                            "OSC refused to create {noun} '{name}' because the name is taken \
                             ({err}), yet none of your {noun}s has it: another tenant may use \
                             it, or one was just deleted; choose another --name (name in the \
                             deploy tool)"
                        )));
                    };
                    report.notes.push(format!(
                        "{noun} '{name}' already existed although OSC's list did not show it at \
                         first: it was updated in place"
                    ));
                    let updated =
                        update_in_place(reporter, target, opts, kind, spec, existing, report)
                            .await?;
                    report.action = "updated".to_owned();
                    return Ok(updated);
                }
                Err(err) => return Err(err),
            };
            report
                .plan
                .push(format!("created {noun} '{name}' (id {})", created.id));
            if opts.recreate {
                report
                    .notes
                    .push("recreate: there was nothing to re-create, so it was created".into());
            }
            (created, "created")
        }
        Decision::Keep(existing) => {
            report.plan.push(format!(
                "left {noun} '{name}' as it is: it runs and the module did not change"
            ));
            report.notes.push(
                "the module did not change, so the deployment was not touched; --force (force: \
                 true in the deploy tool) updates it anyway"
                    .into(),
            );
            (existing, "unchanged")
        }
        Decision::Update(existing) => (
            update_in_place(reporter, target, opts, kind, spec, existing, report).await?,
            "updated",
        ),
        Decision::Recreate(existing) => {
            reporter.say(
                Step::Deploy,
                format!(
                    "re-creating {noun} '{name}' (recreate): deleting it and creating it again"
                ),
            );
            let (created, method) = reporter
                .beat(
                    Step::Deploy,
                    "re-creating",
                    target.recreate(&existing, spec),
                )
                .await?;
            report.plan.push(format!(
                "re-created {noun} '{name}' (recreate): deleted id {} and created id {}",
                existing.id, created.id
            ));
            if existing.url != created.url {
                report.notes.push(format!(
                    "the URL changed from {} to {} because re-creating deleted the deployment and \
                     created it again",
                    existing.url.as_deref().unwrap_or("?"),
                    created.url.as_deref().unwrap_or("?")
                ));
            }
            report.update = Some(method);
            (created, "re-created")
        }
    };
    report.action = action.to_owned();
    Ok(deployment)
}

/// After a failed update of a deployment whose new module was pushed: puts the branch back, so
/// it names what the deployment still runs and the next deploy updates it again (otherwise that
/// deploy would find the branch unchanged and leave the old module running); `err` says so.
async fn put_branch_back(
    reporter: &Reporter<'_>,
    opts: &DeployOptions,
    prepared: &Prepared<'_>,
    pushed: &Published,
    err: Error,
) -> Error {
    let branch = &opts.branch;
    reporter.say(
        Step::Publish,
        format!(
            "the update failed: putting branch {branch} back to the module the deployment runs"
        ),
    );
    let note = match prepared.roll_back(pushed).await {
        Ok(()) => format!(
            "the deployment was not updated, so branch {branch} was put back to the module it \
             runs; deploy again once the cause is fixed"
        ),
        Err(why) => format!(
            "branch {branch} holds the new module but the deployment may still run the old one \
             (putting the branch back failed: {why}): once the cause is fixed, deploy again with \
             --force (force: true in the deploy tool), or run restart-deployment {}",
            opts.name
        ),
    };
    Error::NotApplied {
        source: Box::new(err),
        branch: note,
    }
}

/// Updates `existing` in place (a restart for a My App, PATCH for an instance): id and URL stay.
async fn update_in_place<T: Target>(
    reporter: &Reporter<'_>,
    target: &T,
    opts: &DeployOptions,
    kind: TargetKind,
    spec: &Spec,
    existing: Deployment,
    report: &mut DeployReport,
) -> Result<Deployment> {
    let (noun, name) = (kind.noun(), &opts.name);
    reporter.say(
        Step::Deploy,
        format!("updating {noun} '{name}' in place: {}", kind.update_note()),
    );
    if kind == TargetKind::Myapp
        && opts.branch != git::DEFAULT_BRANCH
        && existing
            .git_url
            .as_deref()
            .is_some_and(|u| GitSource::parse(u).branch.is_none())
    {
        // OSC has been seen to report gitHubUrl without its #branch: which branch the app
        // clones is then unknown, and a restart of an app on another branch runs its old module
        // (with the default branch, the one this tool creates apps with, it is assumed).
        report.notes.push(format!(
            "OSC does not say which branch {noun} '{name}' clones (its gitHubUrl is {}): if it \
             is not {}, the restart brings back the module it had and the check waits for the \
             pushed build in vain; deploy with the app's branch (--branch), or --recreate it",
            existing.git_url.as_deref().unwrap_or_default(),
            opts.branch
        ));
    }
    let (updated, method) = reporter
        .beat(Step::Deploy, "updating", target.update(&existing, spec))
        .await?;
    report.plan.push(match method {
        UpdateMethod::Restarted => format!(
            "restarted {noun} '{name}' through OSC's MCP server (restart-my-app) so it clones \
             branch {} again; id {} and its URL are kept",
            opts.branch, updated.id
        ),
        _ => format!("updated {noun} '{name}' with PATCH (update + restart)"),
    });
    report.update = Some(method);
    Ok(updated)
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
