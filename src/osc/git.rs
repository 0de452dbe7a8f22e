//! Publishing the module where OSC's runner can clone it: a commit holding the module as the only
//! `.wasm` file (`main.wasm`) on a deploy branch, pushed with the `git` binary.
//!
//! All work happens in a temporary repository, never in the user's working tree (which is only read,
//! with `--no-optional-locks`). Commands take argument lists and a time limit. A token (from
//! `GITHUB_TOKEN` / `GIT_TOKEN`, or a password found in the remote URL) reaches git only through
//! `GIT_CONFIG_COUNT/KEY/VALUE` environment entries (`http.extraHeader`), never through argv or a
//! printed URL. Publishing the same module again makes no commit.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use reqwest::Url;
use tokio::process::Command;

use super::error::{Error, Result};
use super::secret::{Secret, scrub};
use crate::check::sha256_hex;

/// The branch the module is published to unless the user names another.
pub const DEFAULT_BRANCH: &str = "osc-deploy";
/// The module's file name in the published tree.
pub const MODULE_FILE: &str = "main.wasm";
/// Environment variables a git token is read from, in order.
pub const TOKEN_ENVS: [&str; 2] = ["GITHUB_TOKEN", "GIT_TOKEN"];

const README: &str = "# Pixelsmith deploy branch\n\n\
This branch is written by `pixelsmith deploy`. OSC's wasm runner clones it and runs the first\n\
`*.wasm` file it finds, so `main.wasm` is the only module here. Each commit message names the\n\
source commit and the module's sha256. Do not edit by hand.\n";

/// Where the module is pushed, with the credentials kept apart from the URL.
#[derive(Debug, Clone)]
pub struct Remote {
    /// What git pushes to: a URL without a password, or a local path.
    push_url: String,
    /// What OSC is told to clone (https for GitHub ssh remotes), without credentials.
    clone_url: String,
    /// True when OSC cannot clone it (a local path or file URL); fine only for a stand-in.
    pub local: bool,
    token: Option<Secret>,
    user: String,
}

impl Remote {
    /// Reads a remote given as an http(s)/ssh/file URL, `user@host:path`, or a local path. A
    /// password in the URL is taken out and used as the token; `token` (from the environment) wins.
    pub fn parse(text: &str, token: Option<Secret>) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() || text.starts_with('-') {
            return Err(Error::Config(format!(
                "'{}' is not a git repository URL or path",
                scrub(text)
            )));
        }
        if text.contains("://") {
            let mut url = Url::parse(text)
                .map_err(|e| Error::Config(format!("'{}' is not a git URL: {e}", scrub(text))))?;
            let mut token = token;
            let mut user = "x-access-token".to_owned();
            if let Some(password) = url.password() {
                let from_url = Secret::new(percent_decode(password));
                if token.is_none() {
                    token = Some(from_url);
                    if !url.username().is_empty() {
                        user = percent_decode(url.username());
                    }
                }
                let _ = url.set_password(None);
                if url.scheme().starts_with("http") {
                    let _ = url.set_username("");
                }
            }
            if url.scheme().starts_with("http") && !url.username().is_empty() {
                // `https://<token>@github.com/…`, GitHub's documented form: a user name that
                // looks like a token is one (masked everywhere, and git gets it as the token).
                // Any user name is left out of the URL OSC is given, which it would store and
                // show in its app list.
                let user_name = percent_decode(url.username());
                if looks_like_token(&user_name) {
                    let from_url = Secret::new(user_name);
                    token.get_or_insert(from_url);
                    let _ = url.set_username("");
                }
            }
            if url.scheme() == "http" && token.is_some() && !is_loopback_host(&url) {
                // Anyone on the way can read a token sent over plain http.
                tracing::warn!(
                    host = url.host_str().unwrap_or(""),
                    "the git token is not sent to an http:// repository that is not on this \
                     machine: use https, or push without a token"
                );
                token = None;
            }
            let local = url.scheme() == "file";
            let clone_url = match url.scheme() {
                "ssh" | "git+ssh" => {
                    format!("https://{}{}", url.host_str().unwrap_or(""), url.path())
                }
                _ => {
                    let mut public = url.clone();
                    let _ = public.set_username("");
                    public.to_string()
                }
            };
            return Ok(Self {
                push_url: url.to_string(),
                clone_url,
                local,
                token,
                user,
            });
        }
        if let Some((userhost, path)) = scp_like(text) {
            let host = userhost.rsplit('@').next().unwrap_or(userhost);
            return Ok(Self {
                push_url: text.to_owned(),
                clone_url: format!("https://{host}/{}", path.trim_start_matches('/')),
                local: false,
                token,
                user: "x-access-token".into(),
            });
        }
        let path = std::path::absolute(text).map_err(|e| Error::Io {
            what: format!("resolve the repository path '{text}'"),
            detail: e.to_string(),
        })?;
        let path = path.to_string_lossy().into_owned();
        Ok(Self {
            push_url: path.clone(),
            clone_url: path,
            local: true,
            token,
            user: "x-access-token".into(),
        })
    }

    /// The URL OSC clones, with `#branch` (the runner's way to pick a branch).
    pub fn osc_git_url(&self, branch: &str) -> String {
        format!("{}#{branch}", self.clone_url)
    }

    /// The push target as shown to people: never carries credentials.
    pub fn display(&self) -> String {
        scrub(&self.push_url)
    }

    /// The token git will use, if any.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    fn is_http(&self) -> bool {
        self.push_url.starts_with("http://") || self.push_url.starts_with("https://")
    }
}

/// Whether a URL's host is this machine (a local git server for a stand-in).
fn is_loopback_host(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A git source as OSC is told to clone it (`<repository>#<branch>`), normalised so that two
/// spellings of the same source compare equal: scheme and host in lower case, no credentials, no
/// default port, no trailing `/` or `.git`, ssh and `user@host:path` remotes as the https URL OSC
/// clones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// The normalised repository.
    pub repo: String,
    /// The branch after `#`, if one was given.
    pub branch: Option<String>,
}

impl GitSource {
    /// Reads `<repository>[#<branch>]` in any form [`Remote::parse`] accepts.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        let (repo, branch) = match text.rsplit_once('#') {
            Some((repo, branch)) => (repo, Some(branch.trim()).filter(|b| !b.is_empty())),
            None => (text, None),
        };
        Self {
            repo: normalise_repo(repo),
            branch: branch.map(str::to_owned),
        }
    }

    /// True when both name the same repository and branch. A missing `#branch` means the
    /// repository's default branch, and OSC has been seen to report `gitHubUrl` without the
    /// suffix it was given, so a missing branch on either side matches any branch: only two
    /// different branches that are both named make the sources differ.
    pub fn same_as(&self, other: &Self) -> bool {
        self.repo == other.repo
            && match (&self.branch, &other.branch) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// The repository part of a git source in one canonical spelling (see [`GitSource`]).
fn normalise_repo(repo: &str) -> String {
    let trim = |path: &str| {
        let path = path.trim_end_matches('/');
        path.strip_suffix(".git")
            .unwrap_or(path)
            .trim_end_matches('/')
            .to_owned()
    };
    if repo.contains("://") {
        if let Ok(url) = Url::parse(repo) {
            let scheme = match url.scheme() {
                // OSC clones ssh remotes over https (see `Remote::parse`).
                "ssh" | "git+ssh" => "https",
                other => other,
            };
            let host = url.host_str().unwrap_or("").to_ascii_lowercase();
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            return format!(
                "{scheme}://{host}{port}{}",
                case_of(&host, &trim(url.path()))
            );
        }
        return trim(repo);
    }
    if let Some((userhost, path)) = scp_like(repo) {
        let host = userhost
            .rsplit('@')
            .next()
            .unwrap_or(userhost)
            .to_ascii_lowercase();
        let path = trim(path.trim_start_matches('/'));
        return format!("https://{host}/{}", case_of(&host, &path));
    }
    trim(repo)
}

/// A repository path as `host` tells them apart: GitHub's and GitLab's owner and repository
/// names are case-insensitive (`Me/Pix` and `me/pix` are one repository), other hosts' paths
/// may not be.
fn case_of(host: &str, path: &str) -> String {
    match host {
        "github.com" | "www.github.com" | "gitlab.com" => path.to_ascii_lowercase(),
        _ => path.to_owned(),
    }
}

/// Whether a URL's user name is a token rather than a name: GitHub's and GitLab's token prefixes,
/// or anything as long as a token (40 characters for GitHub's classic ones; names are short).
fn looks_like_token(user: &str) -> bool {
    const PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "glpat-"];
    PREFIXES.iter().any(|p| user.starts_with(p)) || user.len() >= 32
}

/// `git@github.com:owner/repo.git` → `("git@github.com", "owner/repo.git")`.
fn scp_like(text: &str) -> Option<(&str, &str)> {
    let (head, path) = text.split_once(':')?;
    let plausible = !head.is_empty()
        && !head.contains('/')
        && !head.contains('\\')
        && head.len() > 1 // not a Windows drive letter
        && !path.is_empty();
    plausible.then_some((head, path))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What to publish.
#[derive(Debug, Clone)]
pub struct PublishSpec<'a> {
    /// Where to push.
    pub remote: &'a Remote,
    /// The branch to commit on.
    pub branch: &'a str,
    /// The module bytes.
    pub module: &'a [u8],
    /// The source commit, for the commit message.
    pub source: &'a str,
    /// Time limit for each git command.
    pub timeout: Duration,
    /// Look only: report whether a commit would be made, commit and push nothing.
    pub dry_run: bool,
}

/// What publishing did (or, in a dry run, would do).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Published {
    /// The branch tip after publishing (before, in a dry run; `None` if the branch is new).
    pub commit: Option<String>,
    /// Whether a new commit was (or would be) made and pushed.
    pub new_commit: bool,
    /// Whether the branch already existed on the remote.
    pub branch_existed: bool,
    /// The module's sha256 (hex).
    pub sha256: String,
    /// The branch.
    pub branch: String,
    /// The URL OSC is told to clone (`<repo>#<branch>`).
    pub git_url: String,
}

/// Checks a branch name the way git does, and refuses option-like names.
async fn validate_branch(branch: &str, timeout: Duration) -> Result<()> {
    let bad = || {
        Error::Config(format!(
            "'{branch}' is not a usable branch name (e.g. {DEFAULT_BRANCH})"
        ))
    };
    if branch.is_empty() || branch.starts_with('-') {
        return Err(bad());
    }
    let git = Git::new(&std::env::temp_dir(), None, timeout);
    git.run(
        &["check-ref-format", "--branch", branch],
        "check the branch name",
    )
    .await
    .map_err(|_| bad())?;
    Ok(())
}

/// Commits `spec.module` as `main.wasm` (the only `.wasm`) on `spec.branch` of `spec.remote` and
/// pushes it. Nothing is committed when the tree would not change; a dry run pushes nothing.
pub async fn publish(spec: &PublishSpec<'_>) -> Result<Published> {
    let prepared = prepare(spec).await?;
    if spec.dry_run {
        return Ok(prepared.published());
    }
    prepared.push().await
}

/// A publish that has been worked out but not pushed: the branch is fetched into a temporary
/// repository and the new tree is staged, so whether a commit is needed is known before anything
/// leaves the machine. [`Prepared::push`] finishes it; dropping it pushes nothing.
pub struct Prepared<'a> {
    spec: &'a PublishSpec<'a>,
    work: tempfile::TempDir,
    branch_existed: bool,
    /// The branch tip before publishing.
    commit: Option<String>,
    changed: bool,
    sha256: String,
}

impl std::fmt::Debug for Prepared<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("branch", &self.spec.branch)
            .field("changed", &self.changed)
            .finish_non_exhaustive()
    }
}

/// Reads the branch of `spec.remote` (ls-remote, shallow fetch) into a temporary repository and
/// stages the module there. Reads only: nothing is committed or pushed.
pub async fn prepare<'a>(spec: &'a PublishSpec<'a>) -> Result<Prepared<'a>> {
    validate_branch(spec.branch, spec.timeout).await?;
    let work = tempfile::Builder::new()
        .prefix("pixelsmith-publish-")
        .tempdir()
        .map_err(|e| Error::Io {
            what: "create a temporary directory for publishing".into(),
            detail: e.to_string(),
        })?;
    let dir = work.path();
    let remote = spec.remote;
    let git = git_for(spec, dir);
    let url = remote.push_url.as_str();
    let reference = format!("refs/heads/{}", spec.branch);

    git.run(&["init", "-q"], "create a temporary repository")
        .await?;
    let heads = git
        .run(
            &["ls-remote", "--heads", url, &reference],
            &format!("read {}", remote.display()),
        )
        .await?;
    let branch_existed = !heads.trim().is_empty();
    let mut commit = None;
    if branch_existed {
        git.run(
            &["fetch", "-q", "--depth=1", "--no-tags", url, &reference],
            &format!("fetch {} from {}", spec.branch, remote.display()),
        )
        .await?;
        git.run(
            &["checkout", "-q", "-B", spec.branch, "FETCH_HEAD"],
            "check out the branch",
        )
        .await?;
        commit = Some(
            git.run(&["rev-parse", "HEAD"], "read the branch tip")
                .await?
                .trim()
                .to_owned(),
        );
    } else {
        git.run(
            &["checkout", "-q", "--orphan", spec.branch],
            "start the branch",
        )
        .await?;
    }

    write_tree(&git, dir, spec.module).await?;
    git.run(&["add", "-A", "."], "stage the module").await?;
    let changed = !branch_existed || !git.succeeds(&["diff", "--cached", "--quiet"]).await?;
    drop(git);
    Ok(Prepared {
        spec,
        branch_existed,
        commit,
        changed,
        sha256: sha256_hex(spec.module),
        work,
    })
}

/// The git context of a publish: the work folder, the token only for http(s) remotes.
fn git_for<'a>(spec: &'a PublishSpec<'a>, dir: &Path) -> Git<'a> {
    let remote = spec.remote;
    let mut git = Git::new(
        dir,
        remote.token().filter(|_| remote.is_http()),
        spec.timeout,
    );
    git.user = &remote.user;
    git
}

impl Prepared<'_> {
    /// Whether publishing makes (or would make) a new commit.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// What publishing would do, as a [`Published`] (the tip is the current one).
    pub fn published(&self) -> Published {
        self.result(self.commit.clone(), self.changed)
    }

    fn result(&self, commit: Option<String>, new_commit: bool) -> Published {
        Published {
            commit,
            new_commit,
            branch_existed: self.branch_existed,
            sha256: self.sha256.clone(),
            branch: self.spec.branch.to_owned(),
            git_url: self.spec.remote.osc_git_url(self.spec.branch),
        }
    }

    /// Commits and pushes the staged module; without a change, does nothing.
    pub async fn push(&self) -> Result<Published> {
        if !self.changed || self.spec.dry_run {
            return Ok(self.published());
        }
        let spec = self.spec;
        let git = git_for(spec, self.work.path());
        ensure_identity(&git).await?;
        let message = commit_message(&self.sha256, spec.module.len(), spec.source);
        git.run(
            &[
                "-c",
                "commit.gpgsign=false",
                "commit",
                "-q",
                "--no-verify",
                "-m",
                &message,
            ],
            "commit the module",
        )
        .await?;
        let target = format!("HEAD:refs/heads/{}", spec.branch);
        git.run(
            &[
                "push",
                "-q",
                "--no-verify",
                spec.remote.push_url.as_str(),
                &target,
            ],
            &format!("push {} to {}", spec.branch, spec.remote.display()),
        )
        .await?;
        let tip = git
            .run(&["rev-parse", "HEAD"], "read the new commit")
            .await?;
        Ok(self.result(Some(tip.trim().to_owned()), true))
    }
}

impl Prepared<'_> {
    /// Puts the branch back to its tip before [`Prepared::push`] made `pushed`, unless something
    /// else moved it since (`--force-with-lease`): for an update that did not happen, so that the
    /// branch names what the deployment runs and the next deploy sees the change again.
    pub async fn roll_back(&self, pushed: &Published) -> Result<()> {
        let (Some(before), Some(after)) = (&self.commit, &pushed.commit) else {
            return Err(Error::Config(
                "the branch is new, so there is nothing to put it back to".into(),
            ));
        };
        if !pushed.new_commit {
            return Ok(());
        }
        let spec = self.spec;
        let git = git_for(spec, self.work.path());
        let lease = format!("--force-with-lease=refs/heads/{}:{after}", spec.branch);
        let target = format!("{before}:refs/heads/{}", spec.branch);
        git.run(
            &[
                "push",
                "-q",
                "--no-verify",
                &lease,
                spec.remote.push_url.as_str(),
                &target,
            ],
            &format!("put {} of {} back", spec.branch, spec.remote.display()),
        )
        .await
        .map(drop)
    }
}

/// Removes every tracked `.wasm`, writes `main.wasm`, and adds the README if there is none.
async fn write_tree(git: &Git<'_>, dir: &Path, module: &[u8]) -> Result<()> {
    let tracked = git
        .run(&["ls-files", "-z"], "list the branch's files")
        .await?;
    for file in tracked.split('\0').filter(|f| !f.is_empty()) {
        if file.to_ascii_lowercase().ends_with(".wasm") {
            let path = dir.join(file);
            std::fs::remove_file(&path).map_err(|e| io_err("remove an old module", &path, e))?;
        }
    }
    let module_path = dir.join(MODULE_FILE);
    std::fs::write(&module_path, module).map_err(|e| io_err("write", &module_path, e))?;
    let readme = dir.join("README.md");
    if !readme.exists() {
        std::fs::write(&readme, README).map_err(|e| io_err("write", &readme, e))?;
    }
    Ok(())
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        what: format!("{what} {}", path.display()),
        detail: e.to_string(),
    }
}

/// A commit needs an author; the user's configured identity is used when there is one.
async fn ensure_identity(git: &Git<'_>) -> Result<()> {
    if !git.succeeds(&["config", "user.email"]).await? {
        git.run(
            &["config", "user.email", "pixelsmith@localhost"],
            "set a committer",
        )
        .await?;
    }
    if !git.succeeds(&["config", "user.name"]).await? {
        git.run(&["config", "user.name", "pixelsmith"], "set a committer")
            .await?;
    }
    Ok(())
}

/// The commit message: module hash first (it is what identifies a publish), then the source.
pub fn commit_message(sha256: &str, size: usize, source: &str) -> String {
    format!(
        "Deploy main.wasm sha256:{short}\n\n\
         module: main.wasm, {size} bytes\n\
         module-sha256: {sha256}\n\
         source-commit: {source}\n\
         published-by: pixelsmith {version}\n",
        short = &sha256[..12.min(sha256.len())],
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// The source commit of `dir` for the commit message: `<sha>`, `<sha> (with uncommitted changes)`,
/// or a note that it is not a git checkout. Reads only.
pub async fn source_commit(dir: &Path, timeout: Duration) -> String {
    let git = Git::new(dir, None, timeout);
    let Ok(head) = git
        .run(&["rev-parse", "HEAD"], "read the source commit")
        .await
    else {
        return "unknown (not a git checkout)".into();
    };
    let head = head.trim().to_owned();
    match git
        .run(
            &[
                "--no-optional-locks",
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            "check for uncommitted changes",
        )
        .await
    {
        Ok(out) if !out.trim().is_empty() => format!("{head} (with uncommitted changes)"),
        _ => head,
    }
}

/// The `origin` remote of the checkout at `dir`, the default place to publish to.
pub async fn origin_of(dir: &Path, timeout: Duration) -> Result<String> {
    let git = Git::new(dir, None, timeout);
    git.run(&["remote", "get-url", "origin"], "read the origin remote")
        .await
        .map(|s| s.trim().to_owned())
        .map_err(|_| {
            Error::Config(format!(
                "{} has no git remote 'origin' to publish the module to; name a repository (the \
                 `repo` argument, or --repo <url> on the command line)",
                dir.display()
            ))
        })
}

/// One `git` invocation context: a directory, an optional token, a time limit.
struct Git<'a> {
    dir: PathBuf,
    token: Option<&'a Secret>,
    user: &'a str,
    timeout: Duration,
}

impl<'a> Git<'a> {
    fn new(dir: &Path, token: Option<&'a Secret>, timeout: Duration) -> Self {
        Self {
            dir: dir.to_owned(),
            token,
            user: "x-access-token",
            timeout,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Never wait for a password prompt; English messages for the hints below.
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never")
            .env("LC_ALL", "C");
        // Inherited repository pointers (e.g. when run from a git hook) would redirect us into
        // the user's repository.
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
        ] {
            cmd.env_remove(var);
        }
        if let Some(token) = self.token {
            let first = std::env::var("GIT_CONFIG_COUNT")
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                self.user,
                token.expose()
            ));
            // The header goes with every request git makes, so git must not follow a redirect
            // to another host (its default follows the first one, and the header with it).
            let second = first + 1;
            cmd.env("GIT_CONFIG_COUNT", (first + 2).to_string())
                .env(format!("GIT_CONFIG_KEY_{first}"), "http.extraHeader")
                .env(
                    format!("GIT_CONFIG_VALUE_{first}"),
                    format!("Authorization: Basic {basic}"),
                )
                .env(format!("GIT_CONFIG_KEY_{second}"), "http.followRedirects")
                .env(format!("GIT_CONFIG_VALUE_{second}"), "false");
        }
        cmd
    }

    /// Runs git; its stdout on success, an error with its (scrubbed) stderr otherwise.
    async fn run(&self, args: &[&str], step: &str) -> Result<String> {
        let output = self.output(args, step).await?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut detail = stderr.trim().to_owned();
        if detail.is_empty() {
            detail = format!("git exited with {}", output.status);
        }
        let lower = detail.to_ascii_lowercase();
        if lower.contains("redirect") {
            detail.push_str(
                "\nhint: the repository URL redirects elsewhere, which git is not allowed to \
                 follow with your token: give the URL it redirects to with --repo",
            );
        } else if lower.contains("authentication failed")
            || lower.contains("could not read username")
            || lower.contains("403")
            || lower.contains("permission denied")
        {
            detail.push_str(if self.token.is_some() {
                "\nhint: the git token given (GITHUB_TOKEN, GIT_TOKEN or the URL's) was refused: \
                 it must be valid and allowed to push to this repository (contents: write), or \
                 name another repository with --repo"
            } else {
                "\nhint: set GITHUB_TOKEN (or GIT_TOKEN) to a token allowed to push to this \
                 repository, or name another one with --repo"
            });
        }
        Err(Error::Git {
            step: step.to_owned(),
            detail,
        })
    }

    /// Runs git and says whether it exited 0 (for `diff --quiet`, `config <key>`).
    async fn succeeds(&self, args: &[&str]) -> Result<bool> {
        Ok(self.output(args, "git").await?.status.success())
    }

    async fn output(&self, args: &[&str], step: &str) -> Result<std::process::Output> {
        let child = self.command(args).spawn().map_err(|e| Error::Git {
            step: step.to_owned(),
            detail: format!("cannot run git ({e}); install git and make sure it is on PATH"),
        })?;
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => Err(Error::Git {
                step: step.to_owned(),
                detail: e.to_string(),
            }),
            Err(_) => Err(Error::Git {
                step: step.to_owned(),
                detail: format!(
                    "no answer within {} s (git was stopped); check the network or the remote",
                    self.timeout.as_secs()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_as_the_user_name_is_the_token_and_never_reaches_osc() {
        let r = Remote::parse(
            "https://ghp_username0123456789abcdef@github.com/o/r.git",
            None,
        )
        .unwrap();
        assert_eq!(r.token().unwrap().expose(), "ghp_username0123456789abcdef");
        assert_eq!(
            r.osc_git_url("osc-deploy"),
            "https://github.com/o/r.git#osc-deploy"
        );
        // A plain user name stays for git's credential helper, but OSC is not given it either.
        let r = Remote::parse("http://127.0.0.1:9/alice-or-token/r.git", None).unwrap();
        assert_eq!(
            r.osc_git_url("b"),
            "http://127.0.0.1:9/alice-or-token/r.git#b"
        );
        let r = Remote::parse("http://user-0815@127.0.0.1:9/r.git", None).unwrap();
        assert!(r.token().is_none());
        assert_eq!(r.osc_git_url("b"), "http://127.0.0.1:9/r.git#b");
        assert!(r.push_url.contains("user-0815@"), "{}", r.push_url);
    }

    #[test]
    fn github_paths_differ_only_in_case_name_one_repository() {
        let a = GitSource::parse("https://github.com/Me/Pix-Deploy#osc-deploy");
        assert!(a.same_as(&GitSource::parse("https://github.com/me/pix-deploy.git")));
        assert!(a.same_as(&GitSource::parse("git@github.com:ME/pix-deploy.git")));
        let b = GitSource::parse("https://git.example.com/Me/Pix");
        assert!(!b.same_as(&GitSource::parse("https://git.example.com/me/pix")));
    }

    #[test]
    fn passwords_in_urls_become_tokens_and_disappear_from_display() {
        let r = Remote::parse(
            "https://bob:ghp_urlpass_0123456789@github.com/o/r.git",
            None,
        )
        .unwrap();
        assert_eq!(r.display(), "https://github.com/o/r.git");
        assert_eq!(
            r.osc_git_url("osc-deploy"),
            "https://github.com/o/r.git#osc-deploy"
        );
        assert_eq!(r.token().unwrap().expose(), "ghp_urlpass_0123456789");
        assert_eq!(r.user, "bob");
        assert!(!r.local);
    }

    #[test]
    fn a_token_goes_over_https_or_to_this_machine_only_and_never_follows_a_redirect() {
        let token = || Some(Secret::new("ghp_env_0123456789"));
        for url in [
            "https://github.com/o/r.git",
            "http://127.0.0.1:8080/r.git",
            "http://localhost/r.git",
            "http://[::1]:9/r.git",
        ] {
            assert!(
                Remote::parse(url, token()).unwrap().token().is_some(),
                "{url}"
            );
        }
        for url in [
            "http://git.example.com/r.git",
            "http://10.0.0.2/r.git",
            "http://user:pass@example.com/r.git",
        ] {
            assert!(
                Remote::parse(url, token()).unwrap().token().is_none(),
                "{url}"
            );
        }
        let secret = Secret::new("ghp_env_0123456789");
        let git = Git::new(Path::new("."), Some(&secret), Duration::from_secs(1));
        let cmd = git.command(&["ls-remote"]);
        let envs: Vec<(String, String)> = cmd
            .as_std()
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v?.to_str()?.to_owned())))
            .collect();
        let value_of = |key: &str| {
            let slot = envs
                .iter()
                .find(|(_, v)| v == key)
                .map(|(k, _)| k.clone())?;
            let value_key = slot.replace("KEY", "VALUE");
            envs.iter()
                .find(|(k, _)| *k == value_key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value_of("http.followRedirects").as_deref(), Some("false"));
        assert!(
            value_of("http.extraHeader").is_some_and(|h| h.starts_with("Authorization: Basic "))
        );
    }

    #[test]
    fn ssh_remotes_are_cloned_over_https() {
        let r = Remote::parse("git@github.com:o/r.git", None).unwrap();
        assert_eq!(r.display(), "git@github.com:o/r.git");
        assert_eq!(r.osc_git_url("b"), "https://github.com/o/r.git#b");
        let r = Remote::parse("ssh://git@github.com/o/r.git", None).unwrap();
        assert_eq!(r.osc_git_url("b"), "https://github.com/o/r.git#b");
    }

    #[test]
    fn local_paths_are_marked_local() {
        let r = Remote::parse("/tmp/x/repo.git", None).unwrap();
        assert!(r.local);
        assert_eq!(r.osc_git_url("b"), "/tmp/x/repo.git#b");
        assert!(Remote::parse("--upload-pack=evil", None).is_err());
    }

    #[test]
    fn sources_compare_normalised() {
        let same = |a: &str, b: &str| GitSource::parse(a).same_as(&GitSource::parse(b));
        let base = "https://github.com/o/r.git#osc-deploy";
        for spelling in [
            "https://github.com/o/r.git#osc-deploy",
            "HTTPS://GitHub.com/o/r#osc-deploy",
            "https://github.com/o/r/#osc-deploy",
            "https://github.com:443/o/r.git/#osc-deploy",
            "https://x-access-token:ghp_secret_0000@github.com/o/r.git#osc-deploy",
            "git@github.com:o/r.git#osc-deploy",
            "ssh://git@github.com/o/r#osc-deploy",
            // OSC may report the URL without the branch it was given.
            "https://github.com/o/r",
            "https://github.com/o/r.git#",
        ] {
            assert!(same(base, spelling), "{spelling}");
            assert!(same(spelling, base), "{spelling}");
        }
        for other in [
            "https://github.com/o/r.git#main",
            "https://github.com/o/other.git#osc-deploy",
            "https://gitlab.com/o/r.git#osc-deploy",
            "https://github.com/o/r.git.git#osc-deploy",
            "https://github.com:8443/o/r#osc-deploy",
        ] {
            assert!(!same(base, other), "{other}");
        }
        assert!(same("/srv/git/deploy.git/#b", "/srv/git/deploy#b"));
        assert!(!same("/srv/git/deploy#b", "/srv/git/deploy2#b"));
        assert_eq!(
            GitSource::parse("https://u:p@GitHub.com/o/r.git/#b").repo,
            "https://github.com/o/r"
        );
    }

    #[test]
    fn commit_message_carries_hash_and_source() {
        let sha = sha256_hex(b"abc");
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let m = commit_message(&sha, 3, "0123abcd");
        assert!(
            m.starts_with("Deploy main.wasm sha256:ba7816bf8f01\n"),
            "{m}"
        );
        assert!(m.contains(&format!("module-sha256: {sha}")), "{m}");
        assert!(m.contains("source-commit: 0123abcd"), "{m}");
    }
}
