//! Building the bundled `wasm-service` module for OSC: `cargo build -p wasm-service --target
//! wasm32-wasip1 --release` in the project folder, installing the target with rustup first when
//! it is missing, with progress, cancellation, a timeout and capped output; then the contract
//! check of the result.
//!
//! Programs are started with argument lists only (see `process`). This module does not decide
//! which folders may be built in; callers resolve `project_dir` (the MCP tool inside its roots).

mod process;
mod toolchain;

pub mod cli;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::check;
use process::{Event, Failure, Spec};
pub use toolchain::TARGET;
use toolchain::{TargetState, Tools};

/// The default limit for the whole build (a cold release build takes minutes on 2 cores).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How often progress is reported while nothing else happens (MCP hosts time out at 60 s
/// without progress; the issue asks for at least every 10 s).
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// How many lines from the first compile error on are quoted in the error.
const ERROR_LINES: usize = 25;

/// Why the build did not produce a module. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cargo was not found on PATH: install Rust with rustup (https://rustup.rs), then run \
         `rustup target add {TARGET}` and build again"
    )]
    CargoNotFound,
    #[error(
        "the Rust target {TARGET} is not installed and rustup is not available to install it: \
         run `rustup target add {TARGET}` (or install your distribution's wasm32-wasip1 standard \
         library), then build again"
    )]
    TargetMissing,
    #[error(
        "the Rust target {TARGET} is not installed: run `rustup target add {TARGET}` and build \
         again (or allow the build to install it)"
    )]
    TargetNotInstalled,
    #[error(
        "installing the target failed: `rustup target add {TARGET}` said: {0}. Run it yourself \
         and build again"
    )]
    TargetInstall(String),
    #[error(
        "{} has no wasm-service crate: pass the Pixelsmith checkout (the folder holding \
         Cargo.toml and wasm-service/) as the project folder",
        .0.display()
    )]
    NoProject(PathBuf),
    #[error(
        "the build failed (cargo {status}). First errors:\n{first_errors}\nFix them and build again"
    )]
    Compile {
        status: String,
        first_errors: String,
    },
    #[error(
        "the build ran longer than {0} s and was stopped (with all its processes); a cold release \
         build can take several minutes on a small machine: raise the timeout and build again"
    )]
    Timeout(u64),
    #[error("the build was cancelled; cargo and the compilers it started were stopped")]
    Cancelled,
    #[error(
        "cargo reported success but no wasm-service.wasm artifact; run `{0}` yourself to see why"
    )]
    NoArtifact(String),
    #[error("could not start cargo: {0}")]
    Spawn(std::io::Error),
    #[error(transparent)]
    Check(#[from] check::Error),
}

/// What to build, how long to allow, and whether the target may be installed.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Pixelsmith checkout: the workspace holding `wasm-service/`.
    pub project_dir: PathBuf,
    pub timeout: Duration,
    /// Run `rustup target add wasm32-wasip1` when the target is missing.
    pub install_target: bool,
    /// Run the module through the runner emulation after the static check.
    pub dynamic_check: bool,
    tools: Tools,
}

impl Options {
    /// Defaults: 20 min timeout, install the target if needed, full check.
    pub fn new(project_dir: PathBuf) -> Self {
        Options {
            project_dir,
            timeout: DEFAULT_TIMEOUT,
            install_target: true,
            dynamic_check: true,
            tools: Tools::default(),
        }
    }

    /// Uses another `cargo` program (tests use a missing one).
    pub fn with_cargo(mut self, cargo: impl Into<OsString>) -> Self {
        self.tools.cargo = cargo.into();
        self
    }
}

/// One progress report.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Time since the build started.
    pub elapsed: Duration,
    /// What is happening, for people.
    pub message: String,
}

/// What a successful build produced.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BuildReport {
    /// The built module (absolute path).
    pub module_path: String,
    pub size_bytes: u64,
    /// Hex SHA-256 of the module.
    pub sha256: String,
    /// Wall time of the whole build, seconds (target install included).
    pub build_seconds: f64,
    /// Whether this build installed the wasm32-wasip1 target with rustup.
    pub target_installed_now: bool,
    /// True when cargo had nothing to recompile.
    pub fresh: bool,
    /// The command that was run, for reproducing it by hand.
    pub command: String,
    /// Things worth knowing (e.g. that the target was installed).
    pub notes: Vec<String>,
    /// The contract check of the built module.
    pub check: check::Report,
}

/// Builds `wasm-service` for wasm32-wasip1 in release mode and checks the result.
pub async fn build_service(
    options: &Options,
    mut on_progress: impl FnMut(Progress) + Send,
    cancel: &CancellationToken,
) -> Result<BuildReport, Error> {
    let started = Instant::now();
    let dir = options.project_dir.as_path();
    if !has_wasm_service(dir) {
        return Err(Error::NoProject(dir.to_path_buf()));
    }
    let mut notes = Vec::new();
    let mut target_installed_now = false;

    match toolchain::target_state(&options.tools, dir).await {
        TargetState::Installed => {}
        TargetState::MissingNoRustup => return Err(Error::TargetMissing),
        TargetState::MissingRustup if !options.install_target => {
            return Err(Error::TargetNotInstalled);
        }
        TargetState::MissingRustup => {
            on_progress(Progress {
                elapsed: started.elapsed(),
                message: format!("installing the Rust target {TARGET} with rustup"),
            });
            toolchain::install_target(&options.tools, dir, options.timeout, cancel, |line| {
                on_progress(Progress {
                    elapsed: started.elapsed(),
                    message: format!("rustup: {line}"),
                })
            })
            .await
            .map_err(|detail| {
                if cancel.is_cancelled() {
                    Error::Cancelled
                } else {
                    Error::TargetInstall(detail)
                }
            })?;
            target_installed_now = true;
            notes.push(format!(
                "the Rust target {TARGET} was missing and was installed with `rustup target add \
                 {TARGET}`"
            ));
        }
    }

    let args = cargo_args();
    let command = format!(
        "{} {}",
        options.tools.cargo.to_string_lossy(),
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let spec = Spec {
        program: options.tools.cargo.clone(),
        args,
        dir: dir.to_path_buf(),
        timeout: options.timeout.saturating_sub(started.elapsed()),
        heartbeat: HEARTBEAT,
    };
    let mut artifact: Option<(PathBuf, bool)> = None;
    let mut crates_built = 0u64;
    let mut last_crate = String::new();
    let mut last_report = Instant::now();
    on_progress(Progress {
        elapsed: started.elapsed(),
        message: format!("running {command}"),
    });
    let done = process::run(&spec, cancel, |event| match event {
        Event::Stdout(line) => {
            if let Some(message) = CargoMessage::parse(line) {
                if message.is_artifact {
                    crates_built += 1;
                    last_crate = message.target_name.clone();
                }
                if message.target_name == "wasm-service"
                    && let Some(path) = message.executable
                {
                    artifact = Some((path, message.fresh));
                }
            }
        }
        Event::Stderr(line) => {
            // Cargo's status lines ("Compiling serde v1.0.228") make good progress messages;
            // at most one a second.
            let status = line.trim_start();
            if (status.starts_with("Compiling") || status.starts_with("Blocking"))
                && last_report.elapsed() >= Duration::from_secs(1)
            {
                last_report = Instant::now();
                on_progress(Progress {
                    elapsed: started.elapsed(),
                    message: format!("{status} ({crates_built} crates done)"),
                });
            }
        }
        Event::Tick => {
            last_report = Instant::now();
            on_progress(Progress {
                elapsed: started.elapsed(),
                message: format!(
                    "building… {} s, {crates_built} crates done{}",
                    started.elapsed().as_secs(),
                    if last_crate.is_empty() {
                        String::new()
                    } else {
                        format!(", last: {last_crate}")
                    }
                ),
            });
        }
    })
    .await
    .map_err(|failure| match failure {
        Failure::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound => Error::CargoNotFound,
        Failure::Spawn(e) => Error::Spawn(e),
        Failure::TimedOut => Error::Timeout(options.timeout.as_secs()),
        Failure::Cancelled => Error::Cancelled,
    })?;

    if !done.status.success() {
        if done.stderr.contains("target may not be installed")
            || done.stderr.contains("can't find crate for `core`")
            || done.stderr.contains("can't find crate for `std`")
        {
            return Err(Error::TargetNotInstalled);
        }
        return Err(Error::Compile {
            status: done.status.to_string(),
            first_errors: first_errors(&done.stderr),
        });
    }
    let (module_path, fresh) = artifact.ok_or_else(|| Error::NoArtifact(command.clone()))?;
    on_progress(Progress {
        elapsed: started.elapsed(),
        message: "checking the module against the runner contract".to_string(),
    });
    let check = check::check_file(&module_path, options.dynamic_check).await?;
    Ok(BuildReport {
        module_path: module_path.display().to_string(),
        size_bytes: check.size_bytes,
        sha256: check.sha256.clone(),
        build_seconds: started.elapsed().as_secs_f64(),
        target_installed_now,
        fresh,
        command,
        notes,
        check,
    })
}

/// The cargo arguments: release build of the module for wasm32-wasip1, JSON messages on stdout
/// (to find the artifact), diagnostics rendered for people on stderr.
fn cargo_args() -> Vec<OsString> {
    [
        "build",
        "-p",
        "wasm-service",
        "--target",
        TARGET,
        "--release",
        "--message-format=json-render-diagnostics",
    ]
    .map(OsString::from)
    .to_vec()
}

/// Whether `dir` is a workspace (or package) that holds the `wasm-service` crate.
fn has_wasm_service(dir: &Path) -> bool {
    dir.join("wasm-service").join("Cargo.toml").is_file()
        || std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|text| text.contains("name = \"wasm-service\""))
}

/// The first compile error and the lines after it (or the tail when no line starts with
/// `error`), at most [`ERROR_LINES`] lines.
fn first_errors(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("error"))
        .unwrap_or(lines.len().saturating_sub(ERROR_LINES));
    lines[start..]
        .iter()
        .take(ERROR_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// The parts of one cargo JSON message we use.
struct CargoMessage {
    is_artifact: bool,
    target_name: String,
    executable: Option<PathBuf>,
    fresh: bool,
}

impl CargoMessage {
    fn parse(line: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let is_artifact = value.get("reason")?.as_str()? == "compiler-artifact";
        Some(CargoMessage {
            is_artifact,
            target_name: value
                .pointer("/target/name")
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string(),
            executable: value
                .get("executable")
                .and_then(|e| e.as_str())
                .map(PathBuf::from),
            fresh: value
                .get("fresh")
                .and_then(|f| f.as_bool())
                .unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_errors_starts_at_the_first_error_line() {
        let stderr = "   Compiling a v1\nwarning: unused\nerror[E0425]: cannot find value `x`\n --> src/main.rs:1:1\nerror: could not compile `a`\n";
        let got = first_errors(stderr);
        assert!(got.starts_with("error[E0425]"), "{got}");
        assert!(got.contains("could not compile"), "{got}");
    }

    #[test]
    fn cargo_messages_give_the_artifact() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"wasm-service","kind":["bin"]},"executable":"/t/wasm-service.wasm","fresh":true}"#;
        let m = CargoMessage::parse(line).unwrap();
        assert!(m.is_artifact && m.fresh);
        assert_eq!(m.executable, Some(PathBuf::from("/t/wasm-service.wasm")));
        assert!(CargoMessage::parse("not json").is_none());
    }

    #[tokio::test]
    async fn a_missing_cargo_and_a_folder_without_the_crate_are_clear_errors() {
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
        let options = Options::new(project).with_cargo("pixelsmith-no-such-cargo");
        let err = build_service(&options, |_| {}, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::CargoNotFound), "{err}");
        assert!(err.to_string().contains("rustup"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let err = build_service(
            &Options::new(empty.path().to_path_buf()),
            |_| {},
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::NoProject(_)), "{err}");
    }
}
