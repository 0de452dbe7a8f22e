//! Deploying to OSC end to end against the loopback stand-in (`support::osc_standin`), through the
//! real client, the real `git` (pushing to a local bare repository) and the real module, which the
//! stand-in clones and serves with the runner emulation. My Apps are restarted and their logs read
//! through the stand-in's MCP server with rmcp's Streamable HTTP client, as on OSC.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pixelsmith::osc::any::AnyTarget;
use pixelsmith::osc::client::{ClientConfig, Endpoints, OscClient, RetryPolicy};
use pixelsmith::osc::deploy::{self, DeployOptions, DeployReport, ModuleSource, Progress};
use pixelsmith::osc::manage;
use pixelsmith::osc::secret::Secret;
use pixelsmith::osc::target::{State, Target, TargetKind, UpdateMethod};
use pixelsmith::osc::{Error, git};
use tokio_util::sync::CancellationToken;

use crate::support::module::module_bytes;
use crate::support::osc_standin::{Faults, Standin, sha256_hex};

/// A personal access token no real system would ever print by accident.
pub(crate) const PAT: &str = "pat-FAKE-0sc7e5t-c4n4ry-9f3a1b";

/// One test's world: the stand-in, a bare repository to push to, a scratch folder.
pub(crate) struct World {
    pub(crate) standin: Standin,
    pub(crate) dir: tempfile::TempDir,
    client: OscClient,
}

impl World {
    pub(crate) async fn new() -> Self {
        let standin = Standin::start(PAT).await;
        let dir = tempfile::tempdir().unwrap();
        run_git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
        // The "project": a checkout with one commit, named in the deploy commit's message.
        let source = dir.path().join("source");
        std::fs::create_dir(&source).unwrap();
        run_git(&source, &["init", "-q"]);
        std::fs::write(source.join("README"), "source\n").unwrap();
        run_git(&source, &["add", "README"]);
        run_git(
            &source,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "-m",
                "source",
            ],
        );
        let client = client_for(&standin, PAT);
        Self {
            standin,
            dir,
            client,
        }
    }

    fn source(&self) -> PathBuf {
        self.dir.path().join("source")
    }

    fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    /// Writes `bytes` as a module file and returns its path.
    pub(crate) fn module_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn options(&self, name: &str, wasm: &Path) -> DeployOptions {
        let mut opts = DeployOptions::new(name, ModuleSource::Wasm(wasm.to_owned()), self.source());
        opts.repo = Some(self.remote().display().to_string());
        opts.wait_timeout = Duration::from_secs(60);
        opts.git_timeout = Duration::from_secs(60);
        opts
    }

    async fn deploy(
        &self,
        kind: TargetKind,
        opts: &DeployOptions,
    ) -> (Result<DeployReport, Error>, Vec<String>) {
        self.deploy_with(&self.client, kind, opts).await
    }

    /// Deploys through `client` (e.g. one with another token or MCP URL).
    async fn deploy_with(
        &self,
        client: &OscClient,
        kind: TargetKind,
        opts: &DeployOptions,
    ) -> (Result<DeployReport, Error>, Vec<String>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress = move |p: Progress| {
            sink.lock()
                .unwrap()
                .push(format!("{:?}: {}", p.step, p.message))
        };
        let target = AnyTarget::new(client, kind);
        let result = deploy::deploy(
            Some(&target),
            kind,
            opts,
            &progress,
            &CancellationToken::new(),
        )
        .await;
        let seen = seen.lock().unwrap().clone();
        (result, seen)
    }

    /// Deploys and expects success; a failure shows the progress seen so far.
    async fn deploy_ok(&self, kind: TargetKind, opts: &DeployOptions) -> DeployReport {
        let (report, progress) = self.deploy(kind, opts).await;
        report.unwrap_or_else(|e| panic!("{kind:?} deploy failed: {e}\nprogress: {progress:#?}"))
    }

    fn target(&self, kind: TargetKind) -> AnyTarget<'_> {
        AnyTarget::new(&self.client, kind)
    }

    /// `git for-each-ref` of the bare repository: what was pushed.
    fn refs(&self) -> String {
        run_git(&self.remote(), &["for-each-ref"])
    }
}

fn client_for(standin: &Standin, pat: &str) -> OscClient {
    client_with_mcp(standin, pat, &standin.mcp_url)
}

/// A client of the stand-in whose MCP server URL is `mcp_url`.
fn client_with_mcp(standin: &Standin, pat: &str, mcp_url: &str) -> OscClient {
    let endpoints = Endpoints::for_environment("prod")
        .unwrap()
        .with_overrides(
            Some(&standin.deploy_url),
            Some(&standin.catalog_url),
            Some(&standin.token_url),
        )
        .unwrap()
        .with_mcp(Some(mcp_url))
        .unwrap();
    let mut config = ClientConfig::new(endpoints);
    config.request_timeout = Duration::from_secs(20);
    config.retry = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
    };
    OscClient::new(config, Secret::new(pat)).unwrap()
}

fn run_git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The module with a custom section appended: a different file (and sha256) that behaves the same.
pub(crate) fn with_marker(module: &[u8], marker: &str) -> Vec<u8> {
    let name = b"pixelsmith-test-marker";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(marker.as_bytes());
    assert!(payload.len() < 128, "one-byte LEB128 size");
    let mut out = module.to_vec();
    out.push(0); // custom section id
    out.push(payload.len() as u8);
    out.extend_from_slice(&payload);
    out
}

async fn get_text(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn myapp_deploy_redeploy_manage_and_remove() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    let opts = w.options("pixelsmith", &first);

    // First deploy: publish, create, wait, verify through the served module.
    let report = w.deploy_ok(TargetKind::Myapp, &opts).await;
    assert_eq!(report.action, "created", "{report:#?}");
    let published = report.publish.clone().unwrap();
    assert!(published.new_commit);
    assert_eq!(published.sha256, sha256_hex(&module));
    let url = report.url.clone().unwrap();
    assert_eq!(Some(url.clone()), w.standin.url_of("pixelsmith"));
    assert_eq!(
        w.standin.served_sha256("pixelsmith"),
        Some(sha256_hex(&module))
    );
    let verification = report.verification.clone().unwrap();
    assert!(verification.health.starts_with("ok"), "{verification:?}");
    assert!(verification.pixelate.contains("PNG"), "{verification:?}");
    assert_eq!(
        report.gateway_command.as_deref(),
        Some(format!("pixelsmith gateway --runner {url}").as_str())
    );
    assert!(report.timings.total_ms >= report.timings.wait_ms.unwrap());

    // What was pushed: one commit on osc-deploy holding main.wasm as the only .wasm.
    let files = run_git(&w.remote(), &["ls-tree", "-r", "--name-only", "osc-deploy"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        ["README.md", "main.wasm"]
    );
    let pushed = run_git(&w.remote(), &["show", "osc-deploy:main.wasm"]);
    assert_eq!(pushed.len(), String::from_utf8_lossy(&module).len());
    let message = run_git(&w.remote(), &["log", "-1", "--format=%B", "osc-deploy"]);
    let head = run_git(&w.source(), &["rev-parse", "HEAD"]);
    assert!(
        message.contains(&format!("module-sha256: {}", sha256_hex(&module))),
        "{message}"
    );
    assert!(
        message.contains(&format!("source-commit: {}", head.trim())),
        "{message}"
    );

    // The URL serves the module the way OSC's runner does.
    let (status, body) = get_text(&url).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"envelope\":\"pixelsmith/1\""), "{body}");

    // Same module again: no new commit, nothing created or deleted.
    let creates = w.standin.count("deploy", "POST", "/myapps");
    let again = w.deploy_ok(TargetKind::Myapp, &opts).await;
    assert_eq!(again.action, "unchanged", "{again:#?}");
    assert!(!again.publish.as_ref().unwrap().new_commit);
    assert_eq!(again.publish.unwrap().commit, published.commit);
    assert_eq!(w.standin.count("deploy", "POST", "/myapps"), creates);
    assert!(again.verification.is_some());

    // A changed module: new commit, pushed, and the app restarted through OSC's MCP server. It
    // keeps its id and URL and serves the new module; nothing was deleted or created.
    let id = w.standin.id_of("pixelsmith").unwrap();
    let changed = with_marker(&module, "second build");
    let second = w.module_file("second.wasm", &changed);
    let redeploy = w
        .deploy_ok(TargetKind::Myapp, &w.options("pixelsmith", &second))
        .await;
    assert_eq!(redeploy.action, "updated", "{redeploy:#?}");
    assert_eq!(redeploy.update, Some(UpdateMethod::Restarted));
    assert!(redeploy.publish.as_ref().unwrap().new_commit);
    assert_eq!(redeploy.url.as_deref(), Some(url.as_str()));
    assert_eq!(redeploy.deployment.as_ref().unwrap().id, id);
    assert_eq!(w.standin.id_of("pixelsmith").as_deref(), Some(id.as_str()));
    assert_eq!(
        w.standin.served_sha256("pixelsmith"),
        Some(sha256_hex(&changed))
    );
    assert_eq!(w.standin.count("deploy", "POST", "/myapps"), creates);
    assert_eq!(
        w.standin
            .count("deploy", "DELETE", &format!("/myapps/{id}")),
        0
    );
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 1);
    assert!(
        redeploy.plan.join("\n").contains("restart-my-app"),
        "{:#?}",
        redeploy.plan
    );
    assert_eq!(w.standin.names("myapp"), ["pixelsmith"]);
    let commits = run_git(&w.remote(), &["rev-list", "--count", "osc-deploy"]);
    assert_eq!(commits.trim(), "2");
    let files = run_git(&w.remote(), &["ls-tree", "-r", "--name-only", "osc-deploy"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        ["README.md", "main.wasm"]
    );
    let new_url = redeploy.url.clone().unwrap();
    let (status, _) = get_text(&new_url).await;
    assert_eq!(status, 200);

    // Manage: status over REST; logs and restart through OSC's MCP server.
    let target = w.target(TargetKind::Myapp);
    let status = manage::status(&target, "pixelsmith").await.unwrap();
    assert_eq!(status.state, State::Running);
    assert_eq!(status.url.as_deref(), Some(new_url.as_str()));
    let listed = manage::list(&target).await.unwrap();
    assert_eq!(listed.len(), 1);
    let logs = manage::logs(&target, "pixelsmith", 50).await.unwrap();
    assert!(logs.text.contains("cloning"), "{logs:?}");
    assert!(logs.text.contains("main.wasm"), "{logs:?}");
    assert_eq!(w.standin.count("mcp", "tools/call", "get-my-app-logs"), 1);
    let two = manage::logs(&target, "pixelsmith", 2).await.unwrap();
    assert_eq!(two.text.lines().count(), 2, "{two:?}");
    let restarted = manage::restart(&target, "pixelsmith").await.unwrap();
    assert_eq!(restarted.id, id);
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 2);
    // A status read refused just after an accepted restart (as OSC does after a change): the
    // restart is reported as done, its status as not readable yet.
    w.standin.set_faults(Faults {
        myapp_get_401_next: 1,
        ..Faults::default()
    });
    let restarted = manage::restart(&target, "pixelsmith").await.unwrap();
    assert_eq!(restarted.id, id);
    assert_eq!(restarted.state, State::Starting);
    assert!(
        restarted
            .status
            .as_deref()
            .unwrap()
            .contains("not readable yet"),
        "{restarted:?}"
    );
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 3);
    let err = manage::status(&target, "nothere").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");

    // Remove: refused without the exact name, done with it; the URL stops answering.
    let deletes = w
        .standin
        .count("deploy", "DELETE", &format!("/myapps/{}", status.id));
    let err = manage::remove(&target, "pixelsmith", Some("pixelsmit"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConfirmMismatch { .. }), "{err}");
    assert_eq!(w.standin.names("myapp"), ["pixelsmith"]);
    assert_eq!(
        w.standin
            .count("deploy", "DELETE", &format!("/myapps/{}", status.id)),
        deletes
    );
    let removed = manage::remove(&target, "pixelsmith", Some("pixelsmith"))
        .await
        .unwrap();
    assert_eq!(removed.state, pixelsmith::osc::target::State::Removed);
    assert!(w.standin.names("myapp").is_empty());
    assert!(
        reqwest::get(&new_url).await.is_err(),
        "the removed app still answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_deploy_patch_restart_logs_and_remove() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    let opts = w.options("pixinst", &first);

    let report = w.deploy_ok(TargetKind::Instance, &opts).await;
    assert_eq!(report.action, "created");
    // Not subscribed at first: the client subscribed once.
    assert_eq!(w.standin.count("catalog", "POST", "/mysubscriptions"), 1);
    let url = report.url.clone().unwrap();
    assert_eq!(
        w.standin.served_sha256("pixinst"),
        Some(sha256_hex(&module))
    );

    // A changed module: PATCH (update + restart), same URL, new module served.
    let changed = with_marker(&module, "patched");
    let second = w.module_file("second.wasm", &changed);
    let redeploy = w
        .deploy_ok(TargetKind::Instance, &w.options("pixinst", &second))
        .await;
    assert_eq!(redeploy.action, "updated", "{redeploy:#?}");
    assert_eq!(redeploy.url.as_deref(), Some(url.as_str()));
    assert_eq!(
        w.standin
            .count("instance", "PATCH", "/wasm-runnerinstance/pixinst"),
        1
    );
    assert_eq!(
        w.standin.served_sha256("pixinst"),
        Some(sha256_hex(&changed))
    );

    // The same module on another branch: no change to the module, but the instance must now
    // clone the other branch, so it is updated.
    let mut moved = w.options("pixinst", &second);
    moved.branch = "elsewhere".into();
    let moved = w.deploy_ok(TargetKind::Instance, &moved).await;
    assert_eq!(moved.action, "updated", "{moved:#?}");
    assert!(
        moved
            .deployment
            .unwrap()
            .git_url
            .unwrap()
            .ends_with("#elsewhere")
    );
    assert_eq!(
        w.standin
            .count("instance", "PATCH", "/wasm-runnerinstance/pixinst"),
        2
    );
    let back = w
        .deploy_ok(TargetKind::Instance, &w.options("pixinst", &second))
        .await;
    assert_eq!(back.action, "updated");
    assert_eq!(
        w.standin
            .count("instance", "PATCH", "/wasm-runnerinstance/pixinst"),
        3
    );
    let again = w
        .deploy_ok(TargetKind::Instance, &w.options("pixinst", &second))
        .await;
    assert_eq!(again.action, "unchanged");

    // --force on an unchanged module updates anyway.
    let mut forced = w.options("pixinst", &second);
    forced.force = true;
    assert_eq!(
        w.deploy_ok(TargetKind::Instance, &forced).await.action,
        "updated"
    );
    assert_eq!(
        w.standin
            .count("instance", "PATCH", "/wasm-runnerinstance/pixinst"),
        4
    );

    let target = w.target(TargetKind::Instance);
    let restarted = manage::restart(&target, "pixinst").await.unwrap();
    assert_eq!(w.standin.count("instance", "POST", "/restart/pixinst"), 1);
    assert_eq!(restarted.name, "pixinst");
    let logs = manage::logs(&target, "pixinst", 100).await.unwrap();
    assert!(logs.text.contains("cloning"), "{logs:?}");
    assert!(logs.text.contains("main.wasm"), "{logs:?}");
    let listed = manage::list(&target).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["pixinst"]
    );

    // The service token was exchanged once and reused for every instance API call.
    assert_eq!(w.standin.count("token", "POST", "/servicetoken"), 1);

    let removed = manage::remove(&target, "pixinst", Some("pixinst"))
        .await
        .unwrap();
    assert_eq!(removed.state, pixelsmith::osc::target::State::Removed);
    assert!(w.standin.names("instance").is_empty());
    assert_eq!(
        w.standin
            .count("instance", "DELETE", "/wasm-runnerinstance/pixinst"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_504_that_created_anyway_is_found_not_duplicated() {
    for kind in [TargetKind::Myapp, TargetKind::Instance] {
        let w = World::new().await;
        let wasm = w.module_file("m.wasm", &module_bytes());
        w.standin.set_faults(Faults {
            create_504_after_creating: 1,
            ..Faults::default()
        });
        let report = w.deploy_ok(kind, &w.options("retried", &wasm)).await;
        assert_eq!(report.action, "created");
        let (service, path) = match kind {
            TargetKind::Myapp => ("deploy", "/myapps"),
            TargetKind::Instance => ("instance", "/wasm-runnerinstance"),
        };
        // One create (answered 504); the lookup found the app, so no second create.
        assert_eq!(w.standin.count(service, "POST", path), 1, "{kind:?}");
        assert_eq!(w.standin.names(kind.flag()), ["retried"], "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_pages_slow_start_and_early_401s_are_waited_out() {
    let w = World::new().await;
    let wasm = w.module_file("m.wasm", &module_bytes());
    w.standin.set_faults(Faults {
        html_502_next: 2,
        slow_start: Duration::from_millis(1500),
        unauthorized_after_start: Duration::from_millis(1500),
        myapp_get_401_next: 1,
        ..Faults::default()
    });
    let (report, progress) = w
        .deploy(TargetKind::Myapp, &w.options("patient", &wasm))
        .await;
    let report = report.unwrap_or_else(|e| panic!("{e}\n{progress:#?}"));
    assert_eq!(report.action, "created");
    // The two 502 pages were retried (GET /myapps is idempotent).
    let gets = w.standin.calls();
    assert_eq!(gets.iter().filter(|c| c.status == 502).count(), 2);
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("Wait: waiting for 'patient' to run: building")),
        "{progress:#?}"
    );
    assert!(
        progress.iter().any(|p| p.contains("HTTP 401")),
        "{progress:#?}"
    );
    // The platform API's own early 401s (the token was just accepted) were waited out too.
    assert!(
        progress
            .iter()
            .any(|p| p.contains("refused for now (HTTP 401), as OSC does just after a change")),
        "{progress:#?}"
    );
    assert!(report.verification.unwrap().attempts > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_gateway_errors_and_401s_become_clear_messages() {
    let w = World::new().await;
    let target = w.target(TargetKind::Myapp);
    w.standin.set_faults(Faults {
        html_502_next: 10,
        ..Faults::default()
    });
    let err = manage::list(&target).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Gateway { status: 502, .. }), "{text}");
    assert!(
        text.contains("\"502 Bad Gateway\"") && !text.contains("<html"),
        "{text}"
    );
    // 4 attempts (the retry policy), each recorded.
    assert_eq!(w.standin.count("deploy", "GET", "/myapps"), 4);

    w.standin.set_faults(Faults::default());
    let wrong = client_for(&w.standin, "pat-WRONG-not-the-one");
    let err = manage::list(&AnyTarget::new(&wrong, TargetKind::Myapp))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("check OSC_ACCESS_TOKEN"), "{err}");
    let err = manage::list(&AnyTarget::new(&wrong, TargetKind::Instance))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_token_is_reused_until_it_expires() {
    let w = World::new().await;
    w.standin.set_faults(Faults {
        sat_lifetime: Some(Duration::from_secs(2)),
        ..Faults::default()
    });
    let target = w.target(TargetKind::Instance);
    // Nothing subscribed yet: listing needs no token and subscribes nothing.
    assert!(manage::list(&target).await.unwrap().is_empty());
    assert_eq!(w.standin.count("token", "POST", "/servicetoken"), 0);
    assert_eq!(w.standin.count("catalog", "POST", "/mysubscriptions"), 0);

    let wasm = w.module_file("m.wasm", &module_bytes());
    w.deploy_ok(TargetKind::Instance, &w.options("shortsat", &wasm))
        .await;
    let before = w.standin.count("token", "POST", "/servicetoken");
    target.status("shortsat").await.unwrap();
    target.status("shortsat").await.unwrap();
    // A 2 s token is renewed after 1 s: the two quick calls reused it (unless the deploy itself
    // ended right at the renewal point).
    assert!(w.standin.count("token", "POST", "/servicetoken") <= before + 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let at = w.standin.count("token", "POST", "/servicetoken");
    target.status("shortsat").await.unwrap();
    assert_eq!(w.standin.count("token", "POST", "/servicetoken"), at + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_touches_nothing() {
    let w = World::new().await;
    let wasm = w.module_file("m.wasm", &module_bytes());
    for kind in [TargetKind::Myapp, TargetKind::Instance] {
        let mut opts = w.options("planned", &wasm);
        opts.dry_run = true;
        let report = w.deploy_ok(kind, &opts).await;
        assert!(report.dry_run);
        assert_eq!(report.action, "would create", "{report:#?}");
        let plan = report.plan.join("\n");
        assert!(plan.contains("checked"), "{plan}");
        assert!(plan.contains("commit main.wasm"), "{plan}");
        assert!(plan.contains("create "), "{plan}");
        assert!(plan.contains("wait up to 60 s"), "{plan}");
        // The instance target's first deploy subscribes the tenant to the wasm runner: the plan
        // says so (the My App target needs no subscription).
        assert_eq!(
            plan.contains("subscribe the tenant to eyevinn-wasm-runner"),
            kind == TargetKind::Instance,
            "{plan}"
        );
        assert!(report.url.is_none());
    }
    assert_eq!(w.refs(), "", "a dry run pushed something");
    assert!(w.standin.names("myapp").is_empty() && w.standin.names("instance").is_empty());
    let changes: Vec<_> = w
        .standin
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .collect();
    assert!(
        changes.is_empty(),
        "a dry run changed something: {changes:?}"
    );

    // With a deployment in place, the plan says what would happen to it.
    w.deploy_ok(TargetKind::Myapp, &w.options("planned", &wasm))
        .await;
    let refs = w.refs();
    let calls = w.standin.calls().len();
    let changed = w.module_file("changed.wasm", &with_marker(&module_bytes(), "x"));
    let mut opts = w.options("planned", &changed);
    opts.dry_run = true;
    let report = w.deploy_ok(TargetKind::Myapp, &opts).await;
    assert_eq!(report.action, "would update");
    let plan = report.plan.join("\n");
    assert!(plan.contains("in place"), "{plan}");
    assert!(plan.contains("restart-my-app"), "{plan}");
    assert!(!plan.contains("URL WILL CHANGE"), "{plan}");
    assert_eq!(w.refs(), refs);
    // Reads only: REST GETs, and on OSC's MCP server the session and a get-my-app (the check
    // that the restart could be made); no restart.
    let after: Vec<_> = w.standin.calls().into_iter().skip(calls).collect();
    assert!(
        after.iter().all(|c| match c.service {
            "mcp" => c.method != "tools/call" || c.path == "get-my-app",
            _ => c.method == "GET",
        }),
        "{after:?}"
    );
    assert_eq!(w.standin.count("mcp", "tools/call", "get-my-app"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_that_fails_the_check_is_refused_before_anything_happens() {
    let w = World::new().await;
    // A module without `_start`: the runner cannot run it.
    let bad =
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "main")))"#).unwrap();
    let wasm = w.module_file("bad.wasm", &bad);
    let (report, _) = w
        .deploy(TargetKind::Myapp, &w.options("refused", &wasm))
        .await;
    let err = report.unwrap_err();
    assert!(matches!(err, Error::ModuleRejected { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("not deployed") && text.contains("_start"),
        "{text}"
    );
    assert_eq!(w.refs(), "");
    // Only the lookup that checked the credentials reached OSC.
    let calls = w.standin.calls();
    assert!(calls.iter().all(|c| c.method == "GET"), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_that_answers_wrongly_fails_verification_and_the_change_is_visible() {
    let w = World::new().await;
    let module = module_bytes();
    let good = w.module_file("good.wasm", &module);
    let url = w
        .deploy_ok(TargetKind::Instance, &w.options("swapped", &good))
        .await
        .url
        .unwrap();

    // An echo module passes the contract check (it runs and answers text) but is not our
    // service: the redeploy goes through and verification says what is wrong.
    let echo = w.module_file("echo.wasm", &crate::support::wat_modules::echo());
    let (report, _) = w
        .deploy(TargetKind::Instance, &w.options("swapped", &echo))
        .await;
    let err = report.unwrap_err();
    assert!(matches!(err, Error::VerifyFailed { .. }), "{err}");
    assert!(err.to_string().contains("health envelope"), "{err}");
    // The change is live: the app now echoes what it is sent.
    let echoed = reqwest::Client::new()
        .post(&url)
        .header("content-type", "text/plain")
        .body("marker-7f3a")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(echoed, "marker-7f3a");

    // And back to the real module.
    assert_eq!(
        w.deploy_ok(TargetKind::Instance, &w.options("swapped", &good))
            .await
            .action,
        "updated"
    );
    let (_, body) = get_text(&url).await;
    assert!(body.contains("pixelsmith/1"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redeploy_keeps_the_app_when_osc_reports_its_url_without_the_branch() {
    let w = World::new().await;
    w.standin.set_faults(Faults {
        git_url_without_branch: true,
        ..Faults::default()
    });
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    let created = w
        .deploy_ok(TargetKind::Myapp, &w.options("nobranch", &first))
        .await;
    assert_eq!(created.action, "created");
    let reported = created.deployment.clone().unwrap();
    assert!(
        !reported.git_url.clone().unwrap().contains('#'),
        "{reported:?}"
    );
    let url = created.url.clone().unwrap();

    // The same module: left alone, although the reported URL lacks `#osc-deploy`.
    let again = w
        .deploy_ok(TargetKind::Myapp, &w.options("nobranch", &first))
        .await;
    assert_eq!(again.action, "unchanged", "{again:#?}");

    // A changed module: restarted in place, same id and URL, the new module served.
    let changed = with_marker(&module, "no branch reported");
    let second = w.module_file("second.wasm", &changed);
    let redeploy = w
        .deploy_ok(TargetKind::Myapp, &w.options("nobranch", &second))
        .await;
    assert_eq!(redeploy.action, "updated", "{redeploy:#?}");
    assert_eq!(redeploy.url.as_deref(), Some(url.as_str()));
    assert_eq!(redeploy.deployment.unwrap().id, reported.id);
    assert_eq!(
        w.standin.served_sha256("nobranch"),
        Some(sha256_hex(&changed))
    );
    let calls = w.standin.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.service == "deploy" && c.method == "DELETE"),
        "an app was deleted: {calls:?}"
    );
    assert_eq!(w.standin.count("deploy", "POST", "/myapps"), 1);
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_is_explicit_and_the_plan_says_the_url_changes() {
    let w = World::new().await;
    let wasm = w.module_file("m.wasm", &module_bytes());
    let first = w
        .deploy_ok(TargetKind::Myapp, &w.options("again", &wasm))
        .await;
    let old_url = first.url.clone().unwrap();
    let old_id = w.standin.id_of("again").unwrap();

    // Another branch, without --recreate: refused before anything is pushed or changed.
    let refs = w.refs();
    let calls = w.standin.calls().len();
    let mut moved = w.options("again", &wasm);
    moved.branch = "elsewhere".into();
    let (result, progress) = w.deploy(TargetKind::Myapp, &moved).await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::SourceMismatch { .. }), "{err}");
    // ... and before the module was built or checked.
    assert!(
        progress.iter().all(|p| p.starts_with("Deploy:")),
        "{progress:#?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("--recreate") && text.contains("Nothing was pushed"),
        "{text}"
    );
    assert_eq!(w.refs(), refs, "pushed although the deploy was refused");
    let after: Vec<_> = w.standin.calls().into_iter().skip(calls).collect();
    assert!(after.iter().all(|c| c.method == "GET"), "{after:?}");

    // The dry run of --recreate says the URL will change, and changes nothing.
    moved.recreate = true;
    moved.dry_run = true;
    let plan = w.deploy_ok(TargetKind::Myapp, &moved).await;
    assert_eq!(plan.action, "would re-create", "{plan:#?}");
    let lines = plan.plan.join("\n");
    assert!(lines.contains("THE URL WILL CHANGE"), "{lines}");
    assert!(lines.contains(&old_url), "{lines}");
    assert_eq!(w.refs(), refs);
    assert_eq!(w.standin.id_of("again").as_deref(), Some(old_id.as_str()));

    // For real: deleted and created again, with a new id and URL, and it says so.
    moved.dry_run = false;
    let done = w.deploy_ok(TargetKind::Myapp, &moved).await;
    assert_eq!(done.action, "re-created", "{done:#?}");
    assert!(
        matches!(&done.update, Some(UpdateMethod::Recreated { old_id: id, .. }) if *id == old_id),
        "{:?}",
        done.update
    );
    let new_id = w.standin.id_of("again").unwrap();
    assert_ne!(new_id, old_id);
    assert_ne!(done.url.as_deref(), Some(old_url.as_str()));
    assert!(
        done.notes
            .iter()
            .any(|n| n.contains("the URL changed from")),
        "{:#?}",
        done.notes
    );
    assert_eq!(
        w.standin
            .count("deploy", "DELETE", &format!("/myapps/{old_id}")),
        1
    );
    assert!(
        done.deployment
            .unwrap()
            .git_url
            .unwrap()
            .ends_with("#elsewhere")
    );
    assert_eq!(w.standin.names("myapp"), ["again"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_restart_tool_stops_the_deploy_before_anything_is_pushed() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    w.deploy_ok(TargetKind::Myapp, &w.options("norestart", &first))
        .await;
    w.standin.set_faults(Faults {
        mcp_hidden_tools: vec!["restart-my-app".into(), "get-my-app-logs".into()],
        ..Faults::default()
    });
    let refs = w.refs();
    let second = w.module_file("second.wasm", &with_marker(&module, "unreachable"));
    for dry_run in [true, false] {
        let mut opts = w.options("norestart", &second);
        opts.dry_run = dry_run;
        let (result, _) = w.deploy(TargetKind::Myapp, &opts).await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Unsupported(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("not available") && text.contains("restart-my-app"),
            "{text}"
        );
        assert_eq!(
            w.refs(),
            refs,
            "pushed although the app could not be restarted"
        );
    }
    assert_eq!(
        w.standin.served_sha256("norestart"),
        Some(sha256_hex(&module))
    );
    let target = w.target(TargetKind::Myapp);
    let err = manage::logs(&target, "norestart", 10).await.unwrap_err();
    assert!(
        err.to_string().contains("not available") && err.to_string().contains("get-my-app-logs"),
        "{err}"
    );
    let err = manage::restart(&target, "norestart").await.unwrap_err();
    assert!(err.to_string().contains("not available"), "{err}");
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_top_level_mcp_endpoint_reaches_the_apps_tools_through_osc_call_tool() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    let created = w
        .deploy_ok(TargetKind::Myapp, &w.options("viaroot", &first))
        .await;
    let root = client_with_mcp(&w.standin, PAT, &w.standin.mcp_root_url);
    let changed = with_marker(&module, "through osc_call_tool");
    let second = w.module_file("second.wasm", &changed);
    let (report, progress) = w
        .deploy_with(&root, TargetKind::Myapp, &w.options("viaroot", &second))
        .await;
    let report = report.unwrap_or_else(|e| panic!("{e}\n{progress:#?}"));
    assert_eq!(report.action, "updated");
    assert_eq!(report.url, created.url);
    assert_eq!(
        w.standin.served_sha256("viaroot"),
        Some(sha256_hex(&changed))
    );
    // The stand-in records the tool osc_call_tool dispatched to.
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 1);
    let target = AnyTarget::new(&root, TargetKind::Myapp);
    let logs = manage::logs(&target, "viaroot", 20).await.unwrap();
    assert!(logs.text.contains("cloning"), "{logs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_fails_before_anything_is_built_or_pushed() {
    let w = World::new().await;
    let wasm = w.module_file("m.wasm", &module_bytes());
    let wrong = client_for(&w.standin, "pat-WRONG-c4n4ry-2b9d");
    for kind in [TargetKind::Myapp, TargetKind::Instance] {
        for dry_run in [false, true] {
            let mut opts = w.options("refused", &wasm);
            opts.dry_run = dry_run;
            let (result, progress) = w.deploy_with(&wrong, kind, &opts).await;
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Unauthorized { .. }), "{kind:?}: {err}");
            assert!(err.to_string().contains("check OSC_ACCESS_TOKEN"), "{err}");
            // It stopped at the lookup: no check, no git.
            assert!(
                progress
                    .iter()
                    .all(|p| p.starts_with("Deploy: checking the OSC credentials")),
                "{progress:#?}"
            );
        }
    }
    assert_eq!(w.refs(), "", "pushed with a refused token");
    let calls = w.standin.calls();
    assert!(
        calls.iter().all(|c| c.method == "GET" && c.status == 401),
        "{calls:?}"
    );

    // OSC's MCP server refusing the token is named as clearly, and nothing is pushed either.
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    w.deploy_ok(TargetKind::Myapp, &w.options("mcprefused", &first))
        .await;
    w.standin.set_faults(Faults {
        mcp_refuses_token: true,
        echo_credentials_in_401: true,
        ..Faults::default()
    });
    let refs = w.refs();
    let second = w.module_file("second.wasm", &with_marker(&module, "refused"));
    let (result, _) = w
        .deploy(TargetKind::Myapp, &w.options("mcprefused", &second))
        .await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("MCP server") && text.contains("check OSC_ACCESS_TOKEN"),
        "{text}"
    );
    assert!(!text.contains(PAT), "{text}");
    assert_eq!(w.refs(), refs);
    let err = manage::logs(&w.target(TargetKind::Myapp), "mcprefused", 5)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
}

/// A git token as distinctive as the personal access token.
pub(crate) const GIT_TOKEN: &str = "ghp_FAKEgit-c4n4ry-51d2e8a7";

/// Runs the real binary with the stand-in's URLs and the fake tokens in its environment.
async fn cli(standin: &Standin, pat: &str, args: &[&str]) -> (bool, String, String) {
    cli_with(standin, pat, args, Some("trace")).await
}

/// [`cli`] with `RUST_LOG` set to `rust_log`, or unset.
async fn cli_with(
    standin: &Standin,
    pat: &str,
    args: &[&str],
    rust_log: Option<&str>,
) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pixelsmith"));
    match rust_log {
        Some(level) => command.env("RUST_LOG", level),
        None => command.env_remove("RUST_LOG"),
    };
    let out = command
        .args(args)
        .env("OSC_ACCESS_TOKEN", pat)
        .env("GITHUB_TOKEN", GIT_TOKEN)
        .env_remove("GIT_TOKEN")
        .env("OSC_DEPLOY_URL", &standin.deploy_url)
        .env("OSC_CATALOG_URL", &standin.catalog_url)
        .env("OSC_TOKEN_URL", &standin.token_url)
        .env("OSC_MCP_URL", &standin.mcp_url)
        .kill_on_drop(true)
        .output()
        .await
        .expect("the pixelsmith binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_appears_in_output_logs_errors_or_commits() {
    use crate::support::git_http::GitHttp;

    let standin = Standin::start(PAT).await;
    // A careless server: 401 answers quote the credentials they were sent.
    standin.set_faults(Faults {
        echo_credentials_in_401: true,
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let repos = dir.path().join("repos");
    std::fs::create_dir(&repos).unwrap();
    run_git(&repos, &["init", "-q", "--bare", "remote.git"]);
    // The repository is private: pushing and cloning need GITHUB_TOKEN.
    let server = GitHttp::start(&repos, GIT_TOKEN).await;
    let remote = format!("{}/remote.git", server.url);
    let wasm = dir.path().join("m.wasm");
    std::fs::write(&wasm, module_bytes()).unwrap();
    let wasm = wasm.display().to_string();
    let deploy_args = [
        "deploy",
        "--wasm",
        &wasm,
        "--repo",
        &remote,
        "--target",
        "instance",
        "--name",
        "leakcheck",
        "--send-git-token",
        "--wait-timeout",
        "60",
    ];
    let mut transcript = String::new();
    let mut record = |what: &str, (ok, out, err): (bool, String, String), expect_ok: bool| {
        assert_eq!(ok, expect_ok, "{what}: stdout:\n{out}\nstderr:\n{err}");
        transcript.push_str(&format!("== {what}\n{out}\n{err}\n"));
        (out, err)
    };

    let mut dry = deploy_args.to_vec();
    dry.push("--dry-run");
    let (out, _) = record("dry run", cli(&standin, PAT, &dry).await, true);
    assert!(
        out.contains("deploy plan (dry run, nothing changed)"),
        "{out}"
    );
    let (out, _) = record("deploy", cli(&standin, PAT, &deploy_args).await, true);
    assert!(
        out.contains("pixelsmith gateway --runner http://127.0.0.1:"),
        "{out}"
    );
    assert!(out.contains("verified: GET / ok"), "{out}");
    // OSC (the stand-in) cloned the private repository with the token it was given.
    assert!(standin.served_sha256("leakcheck").is_some());
    let mut json = deploy_args.to_vec();
    json.extend(["--json", "--force"]);
    let (out, _) = record("deploy --json", cli(&standin, PAT, &json).await, true);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["action"], "updated");

    let named = ["--target", "instance", "--name", "leakcheck"];
    for verb in ["deployment-status", "deployment-logs", "restart-deployment"] {
        let mut args = vec![verb, "--json"];
        args.extend(named);
        record(verb, cli(&standin, PAT, &args).await, true);
    }
    record(
        "list",
        cli(
            &standin,
            PAT,
            &["list-deployments", "--target", "instance", "--json"],
        )
        .await,
        true,
    );
    // The My App path: restart and logs go through OSC's MCP server with the same token.
    let app_args: Vec<&str> = deploy_args
        .iter()
        .map(|a| match *a {
            "instance" => "myapp",
            "leakcheck" => "leakapp",
            other => other,
        })
        .collect();
    record("deploy myapp", cli(&standin, PAT, &app_args).await, true);
    let mut forced = app_args.clone();
    forced.extend(["--force", "--json"]);
    let (out, _) = record(
        "deploy myapp --force",
        cli(&standin, PAT, &forced).await,
        true,
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["action"], "updated");
    assert_eq!(report["update"]["method"], "restarted");
    let app = ["--target", "myapp", "--name", "leakapp"];
    for verb in ["deployment-logs", "restart-deployment"] {
        let mut args = vec![verb, "--json"];
        args.extend(app);
        record(verb, cli(&standin, PAT, &args).await, true);
    }
    assert_eq!(standin.count("mcp", "tools/call", "restart-my-app"), 2);
    standin.set_faults(Faults {
        echo_credentials_in_401: true,
        mcp_refuses_token: true,
        ..Faults::default()
    });
    let mut args = vec!["deployment-logs"];
    args.extend(app);
    let (_, err) = record(
        "MCP refuses the token",
        cli(&standin, PAT, &args).await,
        false,
    );
    assert!(
        err.contains("MCP server") && err.contains("check OSC_ACCESS_TOKEN"),
        "{err}"
    );
    standin.set_faults(Faults {
        echo_credentials_in_401: true,
        ..Faults::default()
    });

    let (_, err) = record(
        "wrong token",
        cli(&standin, "pat-WRONG-c4n4ry-77e1", &["list-deployments"]).await,
        false,
    );
    assert!(err.contains("check OSC_ACCESS_TOKEN"), "{err}");
    let (_, err) = record(
        "remove unconfirmed",
        cli(
            &standin,
            PAT,
            &[
                "remove-deployment",
                "--target",
                "instance",
                "--name",
                "leakcheck",
            ],
        )
        .await,
        false,
    );
    assert!(err.contains("--confirm leakcheck"), "{err}");
    record(
        "remove",
        cli(
            &standin,
            PAT,
            &[
                "remove-deployment",
                "--target",
                "instance",
                "--name",
                "leakcheck",
                "--confirm",
                "leakcheck",
            ],
        )
        .await,
        true,
    );
    assert!(standin.names("instance").is_empty());

    // Everything that was committed and pushed, and the repository's own files.
    transcript.push_str(&run_git(
        &repos.join("remote.git"),
        &["log", "--all", "-p", "--text"],
    ));
    for entry in ["config", "HEAD", "description"] {
        transcript.push_str(
            &std::fs::read_to_string(repos.join("remote.git").join(entry)).unwrap_or_default(),
        );
    }
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("x-access-token:{GIT_TOKEN}"),
    );
    for secret in [
        PAT,
        GIT_TOKEN,
        "pat-WRONG-c4n4ry-77e1",
        "standin-sat-",
        basic.as_str(),
    ] {
        assert!(
            !transcript.contains(secret),
            "{secret} leaked:\n{transcript}"
        );
    }
    assert!(
        transcript.contains("main.wasm"),
        "the transcript holds the commits"
    );
}

/// True for a line in the deploy commands' one stderr format: `[  12.3 s] LEVEL label: message`.
fn is_log_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some((secs, rest)) = rest.split_once(" s] ") else {
        return false;
    };
    let Some((level, rest)) = rest.split_once(' ') else {
        return false;
    };
    let label = rest.trim_start().split(": ").next().unwrap_or("");
    secs.trim().parse::<f64>().is_ok()
        && ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level)
        && !label.is_empty()
        && !label.contains(' ')
        && rest.contains(": ")
}

/// Counts the JSON documents in `text` (and fails on anything else there).
fn json_documents(text: &str) -> usize {
    let mut count = 0;
    for doc in serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>() {
        doc.unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        count += 1;
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_has_one_line_format_quiet_keeps_only_errors_json_prints_one_document() {
    let standin = Standin::start(PAT).await;
    let dir = tempfile::tempdir().unwrap();
    run_git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
    let wasm = dir.path().join("m.wasm");
    std::fs::write(&wasm, module_bytes()).unwrap();
    let (wasm, remote) = (
        wasm.display().to_string(),
        dir.path().join("remote.git").display().to_string(),
    );
    let deploy = |extra: &[&'static str]| {
        let mut args: Vec<String> = [
            "deploy",
            "--wasm",
            &wasm,
            "--repo",
            &remote,
            "--name",
            "lines",
            "--wait-timeout",
            "60",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let run = async |args: Vec<String>, pat: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli_with(&standin, pat, &args, None).await
    };

    // A gateway page on the first call: the client's retry is logged among the progress lines.
    standin.set_faults(Faults {
        html_502_next: 1,
        ..Faults::default()
    });
    let (ok, out, err) = run(deploy(&[]), PAT).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.starts_with("deployed: created My App 'lines'"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.iter().all(|l| is_log_line(l)),
        "a line in another format:\n{err}"
    );
    assert!(
        lines.iter().any(|l| l.contains(" INFO  publish: ")),
        "{err}"
    );
    assert!(lines.iter().any(|l| l.contains(" INFO  verify: ")), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" client: transient failure, retrying")),
        "{err}"
    );

    // --quiet: nothing at all on success.
    let (ok, out, err) = run(deploy(&["--force", "--quiet"]), PAT).await;
    assert!(ok, "{out}\n{err}");
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    // ... and only the error on failure.
    let (ok, out, err) = run(deploy(&["--quiet"]), "pat-WRONG-quiet-8c1d").await;
    assert!(!ok);
    assert_eq!(out, "");
    assert!(
        err.starts_with("error: ") && err.contains("check OSC_ACCESS_TOKEN"),
        "{err}"
    );
    assert!(!err.lines().any(is_log_line), "{err}");

    // --json: exactly one document on stdout, whatever happens; logs stay on stderr.
    let (ok, out, err) = run(deploy(&["--force", "--json"]), PAT).await;
    assert!(ok, "{err}");
    assert_eq!(json_documents(&out), 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["action"], "updated");
    assert!(err.lines().all(is_log_line) && !err.is_empty(), "{err}");
    // The restart went through OSC's MCP server: the MCP client's bookkeeping is not logged.
    assert!(!err.contains("rmcp"), "{err}");
    let (ok, out, _) = run(deploy(&["--json"]), "pat-WRONG-json-8c1d").await;
    assert!(!ok);
    assert_eq!(json_documents(&out), 1, "{out}");
    let failure: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(failure["error"]["code"], "unauthorized", "{out}");
    assert!(
        failure["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check OSC_ACCESS_TOKEN")
    );
    let (ok, out, err) = run(deploy(&["--json", "--quiet", "--dry-run"]), PAT).await;
    assert!(ok, "{err}");
    assert_eq!(json_documents(&out), 1, "{out}");
    assert_eq!(err, "");
    let status = ["deployment-status", "--name", "lines", "--json"];
    let (ok, out, _) = cli_with(&standin, PAT, &status, None).await;
    assert!(ok);
    assert_eq!(json_documents(&out), 1, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_to_a_private_repository_needs_the_token() {
    use crate::support::git_http::GitHttp;

    let dir = tempfile::tempdir().unwrap();
    run_git(dir.path(), &["init", "-q", "--bare", "private.git"]);
    let server = GitHttp::start(dir.path(), GIT_TOKEN).await;
    let url = format!("{}/private.git", server.url);
    let module = b"\0asm\x01\0\0\0".to_vec();
    let publish = |remote: git::Remote| {
        let module = module.clone();
        async move {
            let spec = git::PublishSpec {
                remote: &remote,
                branch: "osc-deploy",
                module: &module,
                source: "test",
                timeout: Duration::from_secs(30),
                dry_run: false,
            };
            git::publish(&spec).await
        }
    };
    let err = publish(git::Remote::parse(&url, None).unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("GITHUB_TOKEN"), "{err}");
    let wrong = Secret::new("ghp_wrong-token-0000");
    let err = publish(git::Remote::parse(&url, Some(wrong)).unwrap())
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("ghp_wrong-token-0000"), "{err}");

    let token = Secret::new(GIT_TOKEN);
    let done = publish(git::Remote::parse(&url, Some(token.clone())).unwrap())
        .await
        .unwrap();
    assert!(done.new_commit);
    let again = publish(git::Remote::parse(&url, Some(token)).unwrap())
        .await
        .unwrap();
    assert!(!again.new_commit, "the same module made a new commit");
    assert_eq!(again.commit, done.commit);
    let files = run_git(
        &dir.path().join("private.git"),
        &["ls-tree", "-r", "--name-only", "osc-deploy"],
    );
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        ["README.md", "main.wasm"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_of_another_type_with_the_same_name_is_left_alone() {
    let w = World::new().await;
    w.standin.seed_foreign_myapp("taken", "nodejs");
    let wasm = w.module_file("m.wasm", &module_bytes());
    let (report, _) = w
        .deploy(TargetKind::Myapp, &w.options("taken", &wasm))
        .await;
    let err = report.unwrap_err();
    assert!(err.to_string().contains("type 'nodejs'"), "{err}");
    assert_eq!(w.standin.names("myapp"), ["taken"]);
    let changes: Vec<_> = w
        .standin
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    let err = manage::remove(&w.target(TargetKind::Myapp), "taken", Some("taken"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("left alone"), "{err}");
    assert_eq!(w.standin.names("myapp"), ["taken"]);
}

/// OSC's list can lag: a My App it did not show makes the create answer 409 "Name is already
/// taken". That app is not adopted as "created": one cloning our source is updated in place
/// (restarted, so the new module is served, same id), one cloning another source is refused
/// as any existing app of another source is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_taken_by_an_app_the_list_did_not_show_is_updated_or_refused_not_adopted() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    let created = w
        .deploy_ok(TargetKind::Myapp, &w.options("lagging", &first))
        .await;
    let id = created.deployment.unwrap().id;

    let changed = with_marker(&module, "after a lagging list");
    let second = w.module_file("second.wasm", &changed);
    w.standin.set_faults(Faults {
        myapps_list_empty_next: 1,
        ..Faults::default()
    });
    let again = w
        .deploy_ok(TargetKind::Myapp, &w.options("lagging", &second))
        .await;
    assert_eq!(again.action, "updated", "{again:#?}");
    assert_eq!(again.deployment.unwrap().id, id);
    assert_eq!(
        w.standin.count("deploy", "POST", "/myapps"),
        2,
        "the refused create"
    );
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 1);
    assert_eq!(
        w.standin.served_sha256("lagging"),
        Some(sha256_hex(&changed))
    );

    // Another source under the name: refused, nothing claimed.
    w.standin.seed_foreign_myapp("elsewhere", "wasm");
    w.standin.set_faults(Faults {
        myapps_list_empty_next: 1,
        ..Faults::default()
    });
    let (report, _) = w
        .deploy(TargetKind::Myapp, &w.options("elsewhere", &first))
        .await;
    let err = report.unwrap_err();
    assert!(matches!(err, Error::SourceMismatch { .. }), "{err}");
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 1);
}

/// A create whose answer was lost (504) and whose app OSC lists only later: the retried create is
/// told the name is taken, and that is the lost create's own app, found by looking again (it was
/// refused with "Name is already taken", and an agent would have picked another name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_whose_app_is_listed_late_is_found_not_refused() {
    let w = World::new().await;
    let wasm = w.module_file("m.wasm", &module_bytes());
    w.standin.set_faults(Faults {
        create_504_after_creating: 1,
        // The deploy's own lookup, the look after the 504, the first look after the 409.
        myapps_list_empty_next: 3,
        ..Faults::default()
    });
    let report = w
        .deploy_ok(TargetKind::Myapp, &w.options("late", &wasm))
        .await;
    assert_eq!(report.action, "created", "{report:#?}");
    assert_eq!(w.standin.count("deploy", "POST", "/myapps"), 2);
    assert_eq!(w.standin.names("myapp"), ["late"]);
}

/// A 429 says how long to wait (`Retry-After`), and the client waits that long rather than its
/// own short backoff; a create refused with 429 made nothing, so it is sent again, with no
/// lookup and no "perhaps created".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_are_waited_out_as_the_server_asks() {
    let w = World::new().await;
    let wasm = w.module_file("m.wasm", &module_bytes());
    // The deploy's lookup (GET, retried) and then the create (POST) each get one 429.
    w.standin.set_faults(Faults {
        rate_limited_next: 1,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    let target = w.target(TargetKind::Myapp);
    assert!(target.find("nothing").await.unwrap().is_none());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}, not the second Retry-After asked for",
        started.elapsed()
    );
    let gets = w.standin.count("deploy", "GET", "/myapps");
    assert_eq!(gets, 2, "one refused, one answered");
    w.standin.set_faults(Faults {
        rate_limited_next: 2,
        ..Faults::default()
    });
    let report = w
        .deploy_ok(TargetKind::Myapp, &w.options("limited", &wasm))
        .await;
    assert_eq!(report.action, "created", "{report:#?}");
    assert_eq!(w.standin.names("myapp"), ["limited"]);
}

/// OSC refuses requests about an app for a while after a restart, as after a create: an accepted
/// restart is an update done, waited out, not a failure that puts the branch back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_right_after_an_accepted_restart_are_waited_out() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    w.deploy_ok(TargetKind::Myapp, &w.options("refusing", &first))
        .await;
    let changed = with_marker(&module, "refused after the restart");
    let second = w.module_file("second.wasm", &changed);
    w.standin.set_faults(Faults {
        myapp_get_401_next: 2,
        ..Faults::default()
    });
    let again = w
        .deploy_ok(TargetKind::Myapp, &w.options("refusing", &second))
        .await;
    assert_eq!(again.action, "updated", "{again:#?}");
    assert_eq!(
        w.standin.served_sha256("refusing"),
        Some(sha256_hex(&changed))
    );
}

/// `buildStatus` is optional: without it, an unchanged module that the app answers with is left
/// alone (it was restarted on every deploy), and a changed one is still updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_build_status_an_unchanged_running_module_is_left_alone() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    w.standin.set_faults(Faults {
        no_build_status: true,
        ..Faults::default()
    });
    w.deploy_ok(TargetKind::Myapp, &w.options("quiet", &first))
        .await;
    let again = w
        .deploy_ok(TargetKind::Myapp, &w.options("quiet", &first))
        .await;
    assert_eq!(again.action, "unchanged", "{again:#?}");
    assert_eq!(w.standin.count("mcp", "tools/call", "restart-my-app"), 0);
    let next = with_build_id(&module, "fedcba9876543210");
    let second = w.module_file("second.wasm", &next);
    let updated = w
        .deploy_ok(TargetKind::Myapp, &w.options("quiet", &second))
        .await;
    assert_eq!(updated.action, "updated", "{updated:#?}");
    assert_eq!(w.standin.served_sha256("quiet"), Some(sha256_hex(&next)));
}

/// A restart that fails after the new module was pushed leaves the app on the old module: the
/// branch is put back, so the next deploy of the same module sees the change and restarts
/// (it once found the branch "unchanged" and left the old module running for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restart_puts_the_branch_back_so_the_next_deploy_updates() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    w.deploy_ok(TargetKind::Myapp, &w.options("stuck", &first))
        .await;
    let tip_before = w.refs();

    let changed = with_marker(&module, "restart fails once");
    let second = w.module_file("second.wasm", &changed);
    w.standin.set_faults(Faults {
        restart_fails_next: 1,
        ..Faults::default()
    });
    let (report, _) = w
        .deploy(TargetKind::Myapp, &w.options("stuck", &second))
        .await;
    let err = report.unwrap_err();
    assert!(matches!(err, Error::NotApplied { .. }), "{err}");
    assert!(err.to_string().contains("was put back"), "{err}");
    assert_eq!(w.refs(), tip_before, "the branch names what the app runs");
    assert_eq!(w.standin.served_sha256("stuck"), Some(sha256_hex(&module)));

    let again = w
        .deploy_ok(TargetKind::Myapp, &w.options("stuck", &second))
        .await;
    assert_eq!(again.action, "updated", "{again:#?}");
    assert_eq!(w.standin.served_sha256("stuck"), Some(sha256_hex(&changed)));
}

/// `module` with another build identity in its data (`pixelsmith-build:<id>`): a different
/// service build as far as `/health` can tell.
fn with_build_id(module: &[u8], id: &str) -> Vec<u8> {
    let prefix = wasm_service::router::BUILD_MARKER_PREFIX.as_bytes();
    let at = module
        .windows(prefix.len())
        .position(|w| w == prefix)
        .unwrap()
        + prefix.len();
    let mut out = module.to_vec();
    out[at..at + 16].copy_from_slice(id.as_bytes());
    out
}

/// A branch that already holds the module while the app, "running", still answers with another
/// build (a restart whose answer was lost, one that never took effect, a push by hand): the
/// deploy restarts it rather than leaving it alone as "unchanged".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_branch_under_an_app_on_another_build_is_restarted() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    w.deploy_ok(TargetKind::Myapp, &w.options("stale", &first))
        .await;
    // The next build reaches the branch by hand, with no restart.
    let next = with_build_id(&module, "00112233445566ff");
    let work = w.dir.path().join("by-hand");
    run_git(
        w.dir.path(),
        &[
            "clone",
            "-q",
            "-b",
            git::DEFAULT_BRANCH,
            &w.remote().display().to_string(),
            "by-hand",
        ],
    );
    std::fs::write(work.join("main.wasm"), &next).unwrap();
    run_git(
        &work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            "by hand",
        ],
    );
    run_git(&work, &["push", "-q", "origin", git::DEFAULT_BRANCH]);
    let second = w.module_file("second.wasm", &next);
    let report = w
        .deploy_ok(TargetKind::Myapp, &w.options("stale", &second))
        .await;
    assert_eq!(report.action, "updated", "{report:#?}");
    assert_eq!(w.standin.served_sha256("stale"), Some(sha256_hex(&next)));
}

/// A restart that takes a while to take effect (the old module answers and OSC says running
/// meanwhile) is not verified against the old module: verification waits for the pushed build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_waits_for_the_pushed_build_not_the_one_before_the_restart() {
    let w = World::new().await;
    let module = module_bytes();
    let first = w.module_file("first.wasm", &module);
    w.deploy_ok(TargetKind::Myapp, &w.options("lagging", &first))
        .await;
    let next = with_build_id(&module, "0123456789abcdef");
    let second = w.module_file("second.wasm", &next);
    w.standin.set_faults(Faults {
        restart_lag: Duration::from_secs(3),
        ..Faults::default()
    });
    let (report, progress) = w
        .deploy(TargetKind::Myapp, &w.options("lagging", &second))
        .await;
    let report = report.unwrap_or_else(|e| panic!("{e}\n{progress:#?}"));
    assert_eq!(report.action, "updated");
    assert_eq!(w.standin.served_sha256("lagging"), Some(sha256_hex(&next)));
    assert!(
        progress
            .iter()
            .any(|p| p.contains("still answers build") && p.contains("0123456789abcdef")),
        "{progress:#?}"
    );
    assert!(report.verification.unwrap().health.contains("ok"));
}
