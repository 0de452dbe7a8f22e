//! Running one external program for the build: an argument list (never a shell string), its own
//! process group, a timeout, cancellation, capped output and a heartbeat.
//!
//! The child is started with `process_group(0)`, so it and everything it spawns (cargo → rustc →
//! linker) form one group; timeout, cancellation and dropping the run all kill the whole group
//! with `SIGKILL`, so no compiler is left running after a cancelled MCP call.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub dir: PathBuf,
    pub timeout: Duration,
    /// How often `on_event` gets a [`Event::Tick`] while the program runs.
    pub heartbeat: Duration,
}

/// Most bytes of stderr kept (the head: the first compile errors are there).
pub(crate) const STDERR_CAP: usize = 128 * 1024;

/// What a finished run left.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    /// The first [`STDERR_CAP`] bytes of stderr.
    pub stderr: String,
}

/// Why a run did not finish on its own.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The program could not be started (`NotFound` when it is not on PATH).
    Spawn(std::io::Error),
    /// The timeout passed; the group was killed.
    TimedOut,
    /// The token was cancelled; the group was killed.
    Cancelled,
}

/// Something that happened while the program ran.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// One line of stdout (without the newline).
    Stdout(&'a str),
    /// One line of stderr.
    Stderr(&'a str),
    /// The heartbeat (every [`Spec::heartbeat`]).
    Tick,
}

/// Runs `spec` to the end, the timeout, or cancellation, calling `on_event` for every line and
/// tick.
pub(crate) async fn run(
    spec: &Spec,
    cancel: &CancellationToken,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<Finished, Failure> {
    let mut child = tokio::process::Command::new(&spec.program)
        .args(&spec.args)
        .current_dir(&spec.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(Failure::Spawn)?;
    let mut group = GroupGuard {
        pgid: child.id().map(|id| id as i32),
    };

    // Readers run as tasks feeding channels: a channel receive is cancel-safe inside `select!`,
    // and the pipes keep draining even while we wait for something else.
    let (out_tx, mut out_rx) = mpsc::unbounded_channel();
    let (err_tx, mut err_rx) = mpsc::unbounded_channel();
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward_lines(stdout, out_tx));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_lines(stderr, err_tx));
    }

    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + spec.heartbeat, spec.heartbeat);
    let mut stderr = String::new();
    let (mut out_open, mut err_open) = (true, true);
    loop {
        tokio::select! {
            line = out_rx.recv(), if out_open => match line {
                Some(line) => on_event(Event::Stdout(&line)),
                None => out_open = false,
            },
            line = err_rx.recv(), if err_open => match line {
                Some(line) => {
                    if stderr.len() < STDERR_CAP {
                        stderr.push_str(&line);
                        stderr.push('\n');
                    }
                    on_event(Event::Stderr(&line));
                }
                None => err_open = false,
            },
            _ = ticks.tick() => on_event(Event::Tick),
            () = &mut deadline => {
                group.kill();
                let _ = child.wait().await;
                return Err(Failure::TimedOut);
            }
            () = cancel.cancelled() => {
                group.kill();
                let _ = child.wait().await;
                return Err(Failure::Cancelled);
            }
            status = child.wait(), if !out_open && !err_open => {
                group.disarm();
                return match status {
                    Ok(status) => Ok(Finished { status, stderr }),
                    Err(e) => Err(Failure::Spawn(e)),
                };
            }
        }
    }
}

async fn forward_lines(stream: impl AsyncRead + Unpin, tx: mpsc::UnboundedSender<String>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                    break;
                }
            }
        }
    }
}

/// Kills the child's whole process group unless disarmed — also when the run's future is dropped
/// (an MCP request cancelled by dropping its handler).
struct GroupGuard {
    pgid: Option<i32>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            kill_group(pgid);
        }
    }

    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `SIGKILL` to process group `pgid`.
#[allow(unsafe_code)]
fn kill_group(pgid: i32) {
    if pgid <= 1 {
        // Never signal group 0 (our own) or -1 (every process we may signal).
        return;
    }
    // SAFETY: `kill` takes plain integers and has no memory-safety preconditions; a negative
    // pid addresses the process group we created with `process_group(0)` for this child.
    let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if rc != 0 {
        tracing::debug!(
            pgid,
            "kill(-pgid) failed: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> Spec {
        Spec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            dir: std::env::temp_dir(),
            timeout,
            heartbeat: Duration::from_millis(50),
        }
    }

    fn alive(pid: i32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    }

    #[tokio::test]
    async fn lines_ticks_and_exit_status_are_reported() {
        let mut out = Vec::new();
        let mut ticks = 0;
        let spec = sh(
            "echo one; echo two >&2; sleep 0.2; exit 3",
            Duration::from_secs(10),
        );
        let done = run(&spec, &CancellationToken::new(), |e| match e {
            Event::Stdout(l) => out.push(l.to_string()),
            Event::Stderr(_) => {}
            Event::Tick => ticks += 1,
        })
        .await
        .unwrap();
        assert_eq!(out, ["one"]);
        assert_eq!(done.stderr, "two\n");
        assert_eq!(done.status.code(), Some(3));
        assert!(ticks >= 1, "no heartbeat in 200 ms at a 50 ms interval");
    }

    #[tokio::test]
    async fn timeout_and_cancel_kill_the_whole_group() {
        // The grandchild prints its pid, then everything sleeps.
        let script = "sleep 30 & echo $!; wait";
        let mut grandchild = 0;
        let failure = run(
            &sh(script, Duration::from_millis(500)),
            &CancellationToken::new(),
            |e| {
                if let Event::Stdout(l) = e {
                    grandchild = l.trim().parse().unwrap();
                }
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(failure, Failure::TimedOut), "{failure:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            grandchild > 0 && !alive(grandchild),
            "grandchild {grandchild} survived"
        );

        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            trigger.cancel();
        });
        let mut grandchild = 0;
        let failure = run(&sh(script, Duration::from_secs(30)), &cancel, |e| {
            if let Event::Stdout(l) = e {
                grandchild = l.trim().parse().unwrap();
            }
        })
        .await
        .unwrap_err();
        assert!(matches!(failure, Failure::Cancelled), "{failure:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            grandchild > 0 && !alive(grandchild),
            "grandchild {grandchild} survived"
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_failure() {
        let spec = Spec {
            program: "pixelsmith-no-such-program".into(),
            ..sh("", Duration::from_secs(1))
        };
        let failure = run(&spec, &CancellationToken::new(), |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(&failure, Failure::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound),
            "{failure:?}"
        );
    }
}
