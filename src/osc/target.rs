//! What a deployment is, whichever way it runs on OSC, and the one trait both targets implement:
//! My Apps (`myapps.rs`) and raw wasm-runner instances (`instance.rs`).
//!
//! Also the create-after-lookup rule both share: a create that fails transiently (a 504 while OSC
//! adds capacity) may have happened anyway, so it is retried only after a lookup finds nothing.

use std::future::Future;

use serde::Serialize;

use super::client::RetryPolicy;
use super::error::{Error, Result};
use super::git::GitSource;
use super::secret::Secret;

/// Where a deployment runs.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A My App of `type: "wasm"` (deploy service), the default.
    #[default]
    Myapp,
    /// A raw `eyevinn-wasm-runner` instance (catalog, service token, instance API).
    Instance,
}

impl TargetKind {
    /// The noun used in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Myapp => "My App",
            Self::Instance => "wasm-runner instance",
        }
    }

    /// The value of `--target`.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Myapp => "myapp",
            Self::Instance => "instance",
        }
    }

    /// How an existing deployment is made to pick up a new commit, for plans and reports.
    pub fn update_note(self) -> &'static str {
        match self {
            Self::Myapp => {
                "an existing app keeps its id and URL: it is restarted through OSC's MCP server \
                 (restart-my-app, as My Apps' REST API has no update or restart), so the runner \
                 clones the deploy branch again; it is deleted and created again (a new id and \
                 URL) only with --recreate (recreate: true in the deploy tool)"
            }
            Self::Instance => {
                "an existing instance is updated with PATCH /wasm-runnerinstance/{name} \
                 (documented as update + restart), so it clones the new commit"
            }
        }
    }
}

/// A deployment's state, normalised over both targets' vocabularies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Being built or started (`building`, `starting`).
    Starting,
    /// Up (`running`).
    Running,
    /// Gave up (`failed`).
    Failed,
    /// Stopped (`stopped`).
    Stopped,
    /// Deleted by `remove-deployment` (the answer to a removal).
    Removed,
    /// The platform did not say (`unknown`, absent, or a word we do not know).
    Unknown,
}

impl State {
    /// Reads a platform status word.
    pub fn parse(word: Option<&str>) -> Self {
        match word.map(|w| w.trim().to_ascii_lowercase()).as_deref() {
            Some("building" | "starting" | "pending" | "creating") => Self::Starting,
            Some("running" | "ready") => Self::Running,
            Some("failed" | "error") => Self::Failed,
            Some("stopped") => Self::Stopped,
            Some("removed" | "deleted") => Self::Removed,
            _ => Self::Unknown,
        }
    }
}

/// One deployment as the platform reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Deployment {
    /// Which target it lives on.
    pub target: TargetKind,
    /// Its name.
    pub name: String,
    /// The platform's id (My App id; the name for an instance).
    pub id: String,
    /// Its public URL, when known.
    pub url: Option<String>,
    /// Its state.
    pub state: State,
    /// The platform's own status word, when it gave one.
    pub status: Option<String>,
    /// The git URL it was created from, when the platform reports it.
    pub git_url: Option<String>,
}

impl Deployment {
    /// The platform's status word, or the normalised state when it gave none.
    pub fn status_text(&self) -> String {
        self.status
            .clone()
            .unwrap_or_else(|| format!("{:?}", self.state).to_lowercase())
    }
}

/// What to deploy: a name and the git URL (with `#branch`) holding the module.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Deployment name (lower-case letters and digits).
    pub name: String,
    /// The repository OSC clones, with `#branch` when not the default branch.
    pub git_url: String,
    /// Sent to OSC only when the user asks (`--send-git-token`), for private repositories.
    pub git_token: Option<Secret>,
}

/// How an existing deployment was made to pick up a new commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum UpdateMethod {
    /// `PATCH /wasm-runnerinstance/{name}` (documented as update + restart).
    Patched,
    /// A My App restarted through OSC's MCP server (`restart-my-app`); id and URL stay.
    Restarted,
    /// Deleted and created again (asked for with `--recreate`); id and URL may change.
    Recreated {
        /// The id of the app that was deleted.
        old_id: String,
        /// Its URL.
        old_url: Option<String>,
    },
}

/// The operations every target offers. All of them look deployments up by name.
pub trait Target: Send + Sync {
    /// Which target this is.
    fn kind(&self) -> TargetKind;

    /// The deployment called `name`, if there is one.
    fn find(&self, name: &str) -> impl Future<Output = Result<Option<Deployment>>> + Send;

    /// All deployments on this target.
    fn list(&self) -> impl Future<Output = Result<Vec<Deployment>>> + Send;

    /// Creates a deployment, safely: a transient failure is retried only after a lookup shows
    /// nothing was created, and a deployment that appeared anyway is returned.
    fn create(&self, spec: &Spec) -> impl Future<Output = Result<Deployment>> + Send;

    /// Makes `existing` run the (new) commit of `spec` in place, keeping its id and URL (see
    /// [`TargetKind::update_note`]). Never deletes it.
    fn update(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> impl Future<Output = Result<(Deployment, UpdateMethod)>> + Send;

    /// Deletes `existing` and creates it again from `spec`: its id and URL can change. Only on
    /// the user's explicit request (`--recreate`).
    fn recreate(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> impl Future<Output = Result<(Deployment, UpdateMethod)>> + Send;

    /// Reads only: fails when [`Target::update`] could not be done on `existing` (e.g. OSC's MCP
    /// server does not offer the restart My Apps need), so a deploy stops before it pushes.
    fn check_update(&self, existing: &Deployment) -> impl Future<Output = Result<()>> + Send;

    /// Reads only: what the target would set up before the first create (as plan lines).
    fn prerequisites(&self) -> impl Future<Output = Result<Vec<String>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// The current state of `name` (fresh from the platform).
    fn status(&self, name: &str) -> impl Future<Output = Result<Deployment>> + Send;

    /// The logs of `name`, as text; `tail` is how many of the last lines are wanted (a target
    /// may return more).
    fn logs(&self, name: &str, tail: usize) -> impl Future<Output = Result<String>> + Send;

    /// Restarts `name` so it clones its repository again.
    fn restart(&self, name: &str) -> impl Future<Output = Result<()>> + Send;

    /// Deletes `name` for good.
    fn remove(&self, name: &str) -> impl Future<Output = Result<Deployment>> + Send;
}

/// Checks a deployment name: OSC accepts lower-case letters and digits only.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "deployment name '{name}' is not allowed: OSC names use lower-case letters and digits \
             only (e.g. pixelsmith or pixelsmith2), at most 63"
        )))
    }
}

/// True when an error says the name is already in use ("Name is already taken").
pub(crate) fn is_name_taken(err: &Error) -> bool {
    match err {
        Error::Api { status, reason, .. } => {
            let reason = reason.to_ascii_lowercase();
            *status == 409
                || (reason.contains("already")
                    && (reason.contains("taken") || reason.contains("exist")))
        }
        _ => false,
    }
}

/// Refuses to touch a deployment that clones another repository or branch (compared normalised; see
/// [`GitSource`]): only re-creating it could change that.
pub(crate) fn ensure_same_source(existing: &Deployment, spec: &Spec) -> Result<()> {
    let Some(current) = &existing.git_url else {
        return Ok(());
    };
    if GitSource::parse(current).same_as(&GitSource::parse(&spec.git_url)) {
        Ok(())
    } else {
        Err(Error::SourceMismatch {
            name: existing.name.clone(),
            current: current.clone(),
            wanted: spec.git_url.clone(),
        })
    }
}

/// The create-after-lookup loop shared by both targets. A create that fails for a transient
/// reason may still have happened (its answer lost: a 504 while OSC adds capacity): the lookup
/// finds it, and it is used if it clones `spec`'s source. A name taken at the first try was taken
/// before this create: that error is returned, so the caller treats it as the existing deployment
/// it is (updated in place, not reported as created). A name taken at a retry is most likely the
/// lost create's own deployment, not listed yet: it is looked for patiently, and if it never shows
/// up the error says so (another name would leave it behind).
pub(crate) async fn create_idempotently<C, CF, L, LF>(
    policy: RetryPolicy,
    spec: &Spec,
    mut create: C,
    mut lookup: L,
) -> Result<Deployment>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<Deployment>>,
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<Deployment>>>,
{
    let mut attempt = 0;
    // The first answer that left open whether the deployment was made.
    let mut lost: Option<Error> = None;
    loop {
        let err = match create().await {
            Ok(created) => return Ok(created),
            Err(err) => err,
        };
        let taken = is_name_taken(&err);
        if err.http_status() == Some(429) && !taken {
            // Refused for the rate: nothing was made, so no lookup, and no "perhaps created".
            attempt += 1;
            if attempt >= policy.attempts.max(1) {
                return Err(err);
            }
            tokio::time::sleep(policy.delay(attempt).max(RATE_LIMITED_PAUSE)).await;
            continue;
        }
        // A 2xx whose body cannot be read made the deployment as surely as a lost answer may.
        let unanswered = err.is_transient() || matches!(err, Error::BadResponse { .. });
        if (!unanswered && !taken) || (taken && lost.is_none()) {
            return Err(err);
        }
        // After a lost answer OSC lists the new deployment late and refuses requests about it
        // (401, 502, 503) for a while (osc-platform.md §4): one look after a transient error,
        // patient looks once the name turns out taken.
        let looks = if taken || !err.is_transient() {
            PATIENT_LOOKS
        } else {
            1
        };
        if let Some(existing) = look_for(&mut lookup, looks, policy).await? {
            ensure_same_source(&existing, spec)?;
            tracing::info!(name = %existing.name, error = %err, "create answered an error but the deployment was made: using it");
            return Ok(existing);
        }
        let first = lost.get_or_insert(err);
        attempt += 1;
        if taken || attempt >= policy.attempts.max(1) {
            return Err(Error::DeployFailed {
                name: spec.name.clone(),
                status: "perhaps created".into(),
                hint: format!(
                    "creating it answered \"{first}\"{}, and it is not listed yet: OSC may have \
                     made it anyway. Run the same deploy again in a minute (it looks the \
                     deployment up first and uses it); do not pick another name, which would \
                     leave this one behind",
                    if taken {
                        ", a retry was told the name is taken"
                    } else {
                        ""
                    }
                ),
            });
        }
        let pause = policy.delay(attempt);
        tracing::info!(error = %first, ?pause, "create failed and no deployment of that name is listed: retrying");
        tokio::time::sleep(pause).await;
    }
}

/// The least pause before a create refused with 429 (too many requests) is sent again.
const RATE_LIMITED_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

/// Looks up before giving up on a name taken after a lost create: with the default policy about
/// 40 s of pauses (0.5, 1, 2, 4, 8, 8, 8, 8 s).
const PATIENT_LOOKS: u32 = 9;

/// Up to `looks` lookups with the policy's growing pauses between them; refusals and transient
/// failures count as "not listed yet".
async fn look_for<L, LF>(
    lookup: &mut L,
    looks: u32,
    policy: RetryPolicy,
) -> Result<Option<Deployment>>
where
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<Deployment>>>,
{
    for look in 1..=looks {
        match lookup().await {
            Ok(Some(found)) => return Ok(Some(found)),
            Ok(None) => {}
            Err(err) if err.is_transient() || matches!(err, Error::Unauthorized { .. }) => {
                tracing::info!(error = %err, "looking for the deployment: not answered yet");
            }
            Err(err) => return Err(err),
        }
        if look < looks {
            tokio::time::sleep(policy.delay(look)).await;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_osc_rules() {
        assert!(validate_name("pixelsmith2").is_ok());
        for bad in ["", "Pixel", "pix-el", "pix el", "a/b"] {
            let err = validate_name(bad).unwrap_err();
            assert!(
                err.to_string().contains("lower-case letters and digits"),
                "{err}"
            );
        }
    }

    #[test]
    fn state_words_are_normalised() {
        assert_eq!(State::parse(Some("building")), State::Starting);
        assert_eq!(State::parse(Some("Running")), State::Running);
        assert_eq!(State::parse(Some("failed")), State::Failed);
        assert_eq!(State::parse(None), State::Unknown);
        assert_eq!(State::parse(Some("weird")), State::Unknown);
    }

    #[test]
    fn name_taken_is_recognised_in_any_documented_status() {
        let e = |status, reason: &str| Error::Api {
            op: "create".into(),
            status,
            reason: reason.into(),
        };
        assert!(is_name_taken(&e(409, "x")));
        assert!(is_name_taken(&e(500, "Name is already taken")));
        assert!(!is_name_taken(&e(500, "disk full")));
    }
}
