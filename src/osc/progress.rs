//! Progress of a deploy: the reports the CLI prints and the MCP layer turns into progress
//! notifications, and the heartbeat that keeps them coming while a long step runs (MCP hosts give
//! up on a call that stays silent for about a minute).

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::secret::scrub;

/// Longest silence between two progress reports.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// The step a progress report belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Building the module.
    Build,
    /// Checking it.
    Check,
    /// Committing and pushing it.
    Publish,
    /// Looking it up, creating or updating the deployment.
    Deploy,
    /// Waiting until it runs.
    Wait,
    /// Checking the live URL.
    Verify,
}

impl Step {
    /// The step's name in lower case, as log lines and JSON show it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::Check => "check",
            Self::Publish => "publish",
            Self::Deploy => "deploy",
            Self::Wait => "wait",
            Self::Verify => "verify",
        }
    }
}

/// One progress report.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The step.
    pub step: Step,
    /// What is happening, for people (never holds a token).
    pub message: String,
    /// Time since the deploy started.
    pub elapsed: Duration,
}

/// The progress sink: called from the deploy task, so it must be shareable.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// Sends reports to a [`ProgressFn`], timed from the start of the deploy.
pub(crate) struct Reporter<'a> {
    started: Instant,
    sink: ProgressFn<'a>,
    heartbeat: Duration,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(sink: ProgressFn<'a>) -> Self {
        Self {
            started: Instant::now(),
            sink,
            heartbeat: HEARTBEAT,
        }
    }

    /// Time since the deploy started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reports `message` (scrubbed) for `step`.
    pub(crate) fn say(&self, step: Step, message: impl Into<String>) {
        (self.sink)(Progress {
            step,
            message: scrub(&message.into()),
            elapsed: self.elapsed(),
        });
    }

    /// Awaits `work`, reporting `label` every heartbeat ([`HEARTBEAT`]) until it finishes.
    pub(crate) async fn beat<T>(
        &self,
        step: Step,
        label: &str,
        work: impl Future<Output = T>,
    ) -> T {
        tokio::pin!(work);
        let began = Instant::now();
        let first = tokio::time::Instant::now() + self.heartbeat;
        let mut tick = tokio::time::interval_at(first, self.heartbeat);
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tick.tick() => {
                    self.say(step, format!("{label} ({} s)", began.elapsed().as_secs()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn long_steps_get_a_heartbeat_and_short_ones_none() {
        let seen = Mutex::new(Vec::new());
        let sink = |p: Progress| seen.lock().unwrap().push((p.step, p.message));
        let mut reporter = Reporter::new(&sink);
        reporter.heartbeat = Duration::from_millis(40);
        let quick = reporter.beat(Step::Deploy, "quick", async { 1 }).await;
        assert_eq!(quick, 1);
        assert!(seen.lock().unwrap().is_empty());
        let out = reporter
            .beat(Step::Publish, "git is working", async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                7
            })
            .await;
        assert_eq!(out, 7);
        let seen = seen.lock().unwrap();
        // Ten intervals passed; a loaded machine may deliver fewer ticks, never none.
        assert!((3..=10).contains(&seen.len()), "{seen:?}");
        assert!(
            seen.iter()
                .all(|(step, m)| *step == Step::Publish && m.starts_with("git is working (")),
            "{seen:?}"
        );
    }
}
