//! Waiting until a new or updated deployment runs: poll its state with backoff (1 s, growing to
//! 5 s) until it runs, fails (then quote its last log lines), or the deadline passes.
//!
//! Transient answers (gateway pages, 5xx, timeouts) and a deployment that is not listed yet are
//! treated as "not yet", and so are 401s: OSC refuses requests about a deployment for some
//! seconds after creating or restarting it (osc-platform.md §4), although the same token was just
//! accepted (every deploy proves it first). Anything else ends the wait; 401s that go on until the
//! deadline end it with that as the last state seen.

use std::time::{Duration, Instant};

use super::error::{Error, Result};
use super::progress::{Reporter, Step};
use super::secret::scrub;
use super::target::{Deployment, State, Target};

/// How many polls without any status before the live URL is left to decide.
const UNKNOWN_POLLS: u32 = 3;
/// Log lines quoted when the platform reports a failure.
const FAILURE_LOG_LINES: usize = 15;

/// Polls `current` on `target` until it runs, fails, or `deadline` passes. `notes` gets a line
/// when readiness could not be read from the platform.
pub(crate) async fn until_running<T: Target>(
    reporter: &Reporter<'_>,
    target: &T,
    current: &Deployment,
    deadline: Instant,
    notes: &mut Vec<String>,
) -> Result<Deployment> {
    let name = current.name.as_str();
    let began = Instant::now();
    let mut pause = Duration::from_secs(1);
    let mut unknown_polls = 0;
    let mut last: String;
    loop {
        let answer = target.status(name).await;
        match answer {
            Ok(d) if d.state == State::Running => return Ok(d),
            Ok(d) if d.state == State::Failed => {
                let logs = target
                    .logs(name, FAILURE_LOG_LINES)
                    .await
                    .map(|text| tail(&text, FAILURE_LOG_LINES))
                    .unwrap_or_else(|e| format!("(no logs: {e})"));
                return Err(Error::DeployFailed {
                    name: name.to_owned(),
                    status: d.status_text(),
                    hint: format!(
                        "OSC could not start it (e.g. the repository could not be cloned or holds \
                         no .wasm). Last log lines:\n{logs}"
                    ),
                });
            }
            Ok(d) => {
                if d.state == State::Unknown {
                    unknown_polls += 1;
                    // buildStatus is optional in the documented MyApp: when OSC does not report
                    // one, the live URL check (which retries) decides instead.
                    if unknown_polls >= UNKNOWN_POLLS && d.url.is_some() {
                        notes.push(
                            "OSC reported no build status; readiness was judged by the live URL"
                                .into(),
                        );
                        return Ok(d);
                    }
                }
                last = d.status_text();
            }
            Err(err) if err.is_transient() || matches!(err, Error::NotFound { .. }) => {
                last = err.to_string();
            }
            Err(Error::Unauthorized { .. }) => {
                last = "refused for now (HTTP 401), as OSC does just after a change".into();
            }
            Err(err) => return Err(err),
        }
        if Instant::now() + pause >= deadline {
            return Err(Error::WaitTimeout {
                name: name.to_owned(),
                waited_s: began.elapsed().as_secs(),
                last,
            });
        }
        reporter.say(
            Step::Wait,
            format!(
                "waiting for '{name}' to run: {last} ({} s)",
                began.elapsed().as_secs()
            ),
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(5));
    }
}

/// The last `n` lines of `text`, scrubbed.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    scrub(&lines[lines.len().saturating_sub(n)..].join("\n"))
}
