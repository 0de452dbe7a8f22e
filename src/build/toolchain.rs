//! Is the `wasm32-wasip1` standard library installed for the toolchain cargo will use, and if
//! not, can rustup install it?
//!
//! With rustup: `rustup target list --installed`, run in the project folder so a
//! `rust-toolchain.toml` there picks the same toolchain cargo will. Without rustup (a distro
//! Rust): look for `lib/rustlib/wasm32-wasip1` under `rustc --print sysroot`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::process::{self, Failure, Spec};

/// The target the runner needs.
pub const TARGET: &str = "wasm32-wasip1";

/// What we learned about the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetState {
    Installed,
    /// Missing, and rustup is there to add it.
    MissingRustup,
    /// Missing, and there is no rustup.
    MissingNoRustup,
}

/// The programs used; tests point them elsewhere.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub cargo: OsString,
    pub rustup: OsString,
    pub rustc: OsString,
}

impl Default for Tools {
    fn default() -> Self {
        Tools {
            cargo: "cargo".into(),
            rustup: "rustup".into(),
            rustc: "rustc".into(),
        }
    }
}

/// Output of a short helper command, or `None` if the program is not there.
async fn capture(program: &OsString, args: &[&str], dir: &Path) -> Option<(bool, String)> {
    let spec = Spec {
        program: program.clone(),
        args: args.iter().map(OsString::from).collect(),
        dir: dir.to_path_buf(),
        timeout: Duration::from_secs(60),
        heartbeat: Duration::from_secs(3600),
    };
    let mut stdout = String::new();
    let done = process::run(&spec, &CancellationToken::new(), |event| {
        if let process::Event::Stdout(line) = event {
            stdout.push_str(line);
            stdout.push('\n');
        }
    })
    .await
    .ok()?;
    Some((done.status.success(), stdout))
}

/// Finds out whether [`TARGET`] is installed for the toolchain used in `dir`.
pub(crate) async fn target_state(tools: &Tools, dir: &Path) -> TargetState {
    if let Some((ok, stdout)) =
        capture(&tools.rustup, &["target", "list", "--installed"], dir).await
        && ok
    {
        return if stdout.lines().any(|l| l.trim() == TARGET) {
            TargetState::Installed
        } else {
            TargetState::MissingRustup
        };
    }
    // No (working) rustup: look into the sysroot of the rustc on PATH.
    if let Some((true, sysroot)) = capture(&tools.rustc, &["--print", "sysroot"], dir).await {
        let dir = PathBuf::from(sysroot.trim())
            .join("lib")
            .join("rustlib")
            .join(TARGET);
        if dir.is_dir() {
            return TargetState::Installed;
        }
    }
    TargetState::MissingNoRustup
}

/// `rustup target add wasm32-wasip1` in `dir`. Returns rustup's stderr on failure.
pub(crate) async fn install_target(
    tools: &Tools,
    dir: &Path,
    timeout: Duration,
    cancel: &CancellationToken,
    on_line: impl FnMut(&str),
) -> Result<(), String> {
    let spec = Spec {
        program: tools.rustup.clone(),
        args: ["target", "add", TARGET].map(OsString::from).to_vec(),
        dir: dir.to_path_buf(),
        timeout,
        heartbeat: Duration::from_secs(5),
    };
    let mut on_line = on_line;
    match process::run(&spec, cancel, |event| {
        if let process::Event::Stderr(line) = event {
            on_line(line);
        }
    })
    .await
    {
        Ok(done) if done.status.success() => Ok(()),
        Ok(done) => Err(done.stderr.trim().to_string()),
        Err(Failure::Spawn(e)) => Err(e.to_string()),
        Err(Failure::TimedOut) => Err(format!("it took longer than {} s", timeout.as_secs())),
        Err(Failure::Cancelled) => Err("cancelled".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes an executable shell script `name` into `dir`.
    fn script(dir: &Path, name: &str, body: &str) -> OsString {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.into_os_string()
    }

    #[tokio::test]
    async fn the_real_toolchain_has_the_target() {
        // The machine's rustup has wasm32-wasip1 installed (the project's setup does it).
        let dir = std::env::current_dir().unwrap();
        assert_eq!(
            target_state(&Tools::default(), &dir).await,
            TargetState::Installed
        );
    }

    #[tokio::test]
    async fn rustup_lists_decide_and_a_missing_rustup_falls_back_to_the_sysroot() {
        let tmp = tempfile::tempdir().unwrap();
        let without = Tools {
            rustup: script(tmp.path(), "rustup-a", "echo x86_64-unknown-linux-gnu"),
            ..Tools::default()
        };
        assert_eq!(
            target_state(&without, tmp.path()).await,
            TargetState::MissingRustup
        );

        let empty_sysroot = tmp.path().join("sysroot");
        std::fs::create_dir_all(&empty_sysroot).unwrap();
        let no_rustup = Tools {
            rustup: "pixelsmith-no-such-rustup".into(),
            rustc: script(
                tmp.path(),
                "rustc-a",
                &format!("echo {}", empty_sysroot.display()),
            ),
            ..Tools::default()
        };
        assert_eq!(
            target_state(&no_rustup, tmp.path()).await,
            TargetState::MissingNoRustup
        );

        std::fs::create_dir_all(empty_sysroot.join("lib/rustlib").join(TARGET)).unwrap();
        assert_eq!(
            target_state(&no_rustup, tmp.path()).await,
            TargetState::Installed
        );
    }
}
