//! Managing a deployment after `deploy`: status, logs, restart, remove (confirmed by the exact
//! name), list. Thin rules on top of the targets: names are validated first, removal needs the
//! name repeated, and platform text (logs) is scrubbed of tokens before anyone sees it.

use serde::Serialize;

use super::any::AnyTarget;
use super::error::{Error, Result};
use super::secret::scrub;
use super::target::{Deployment, State, Target, TargetKind, validate_name};

/// The logs of a deployment.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Logs {
    /// Deployment name.
    pub name: String,
    /// Where it runs.
    pub target: TargetKind,
    /// The log text (tokens masked), at most the last `lines` lines.
    pub text: String,
    /// Lines left out at the start.
    pub truncated_lines: usize,
}

/// The current state of `name`.
pub async fn status(target: &AnyTarget<'_>, name: &str) -> Result<Deployment> {
    validate_name(name)?;
    target.status(name).await
}

/// The last `lines` lines of the logs of `name`.
pub async fn logs(target: &AnyTarget<'_>, name: &str, lines: usize) -> Result<Logs> {
    validate_name(name)?;
    let text = target.logs(name, lines.max(1)).await?;
    let all: Vec<&str> = text.lines().collect();
    let skip = all.len().saturating_sub(lines.max(1));
    Ok(Logs {
        name: name.to_owned(),
        target: target.kind(),
        text: scrub(&all[skip..].join("\n")),
        truncated_lines: skip,
    })
}

/// Restarts `name` (it clones its repository again), then reports its state.
pub async fn restart(target: &AnyTarget<'_>, name: &str) -> Result<Deployment> {
    validate_name(name)?;
    let before = target.find(name).await?.ok_or_else(|| Error::NotFound {
        target: target.kind().noun(),
        name: name.to_owned(),
    })?;
    target.restart(name).await?;
    // The restart was accepted: a status read refused for a while after it (401/502/503, as OSC
    // does after a change) does not make it a failed restart.
    match target.status(name).await {
        Ok(after) => Ok(after),
        Err(err) => Ok(Deployment {
            state: State::Starting,
            status: Some(format!(
                "restarting; its status is not readable yet ({}): ask again in a minute",
                scrub(&err.to_string())
            )),
            ..before
        }),
    }
}

/// Checks that `confirm` repeats `name` exactly, before anything is removed.
pub fn check_confirmation(name: &str, confirm: Option<&str>) -> Result<()> {
    if confirm == Some(name) {
        Ok(())
    } else {
        Err(Error::ConfirmMismatch {
            name: name.to_owned(),
            given: confirm.map(str::to_owned),
        })
    }
}

/// Deletes `name` for good, once `confirm` repeats the name exactly.
pub async fn remove(
    target: &AnyTarget<'_>,
    name: &str,
    confirm: Option<&str>,
) -> Result<Deployment> {
    validate_name(name)?;
    check_confirmation(name, confirm)?;
    target.remove(name).await
}

/// Every deployment on the target.
pub async fn list(target: &AnyTarget<'_>) -> Result<Vec<Deployment>> {
    target.list().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_needs_the_exact_name() {
        assert!(check_confirmation("pix", Some("pix")).is_ok());
        let err = check_confirmation("pix", None).unwrap_err();
        assert!(err.to_string().contains("--confirm pix"), "{err}");
        let err = check_confirmation("pix", Some("Pix")).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    }
}
