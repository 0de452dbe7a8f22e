//! The one error type of the OSC deploy client (`osc::Error`).
//!
//! Every message says what failed and what to do about it. `Display` and `Debug` both run the text
//! through [`scrub`], so no token can reach a terminal, a log line or an MCP tool result through an
//! error, even when a server or git echoes one back.

use std::fmt;

use super::secret::scrub;

/// Which credential a 401 refers to, so the message can say which one to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The personal access token from `OSC_ACCESS_TOKEN`.
    Personal,
    /// The service access token exchanged for `eyevinn-wasm-runner`.
    Service,
    /// The git token from `GITHUB_TOKEN` / `GIT_TOKEN`.
    Git,
}

impl TokenKind {
    fn advice(self) -> &'static str {
        match self {
            Self::Personal => {
                "check OSC_ACCESS_TOKEN: it must be a current personal access token from the OSC web \
                 console (Settings → API) for this environment (prod unless --osc-env says otherwise)"
            }
            Self::Service => {
                "the service access token for eyevinn-wasm-runner was refused even after fetching a \
                 new one; check that OSC_ACCESS_TOKEN belongs to a tenant allowed to use the wasm runner"
            }
            Self::Git => {
                "check GITHUB_TOKEN (or GIT_TOKEN): it must be allowed to push to the repository"
            }
        }
    }
}

/// Everything that can go wrong while deploying or managing a deployment.
#[non_exhaustive]
pub enum Error {
    /// `OSC_ACCESS_TOKEN` is not set.
    MissingToken,
    /// A flag, environment variable or name is not usable.
    Config(String),
    /// A call was refused with 401.
    Unauthorized {
        /// What we were doing ("create My App 'x'").
        op: String,
        /// Which credential to check.
        token: TokenKind,
        /// The server's reason, if it gave one.
        reason: String,
    },
    /// The API answered with an error status and (usually) a JSON `{reason}`.
    Api {
        /// What we were doing.
        op: String,
        /// HTTP status.
        status: u16,
        /// The server's reason, or a short excerpt of its body.
        reason: String,
    },
    /// A gateway (nginx) answered with an HTML error page instead of the API.
    Gateway {
        /// What we were doing.
        op: String,
        /// HTTP status.
        status: u16,
        /// The page's title.
        summary: String,
    },
    /// No answer within the per-call time limit.
    Timeout {
        /// What we were doing.
        op: String,
        /// The limit in seconds.
        after_s: u64,
    },
    /// The service could not be reached at all.
    Unreachable {
        /// What we were doing.
        op: String,
        /// The transport error.
        detail: String,
    },
    /// A 2xx answer that is not what the documented API returns.
    BadResponse {
        /// What we were doing.
        op: String,
        /// What was wrong with it.
        detail: String,
    },
    /// No deployment with that name exists on the target.
    NotFound {
        /// "My App" or "wasm-runner instance".
        target: &'static str,
        /// The name looked for.
        name: String,
    },
    /// The target has no documented API for this operation, or OSC's MCP server does not offer
    /// the tool it needs.
    Unsupported(String),
    /// A tool of OSC's MCP server answered with an error result.
    ToolFailed {
        /// What we were doing ("restart My App 'x'").
        op: String,
        /// The tool called.
        tool: String,
        /// The tool's message.
        message: String,
    },
    /// The existing My App clones another repository or branch, which only re-creating it could
    /// change; nothing is changed without `--recreate`.
    SourceMismatch {
        /// The deployment.
        name: String,
        /// What it clones now (as OSC reports it).
        current: String,
        /// What this deploy publishes to.
        wanted: String,
    },
    /// `remove-deployment` was not confirmed with the exact name.
    ConfirmMismatch {
        /// The deployment to remove.
        name: String,
        /// What was given as confirmation.
        given: Option<String>,
    },
    /// A git step failed.
    Git {
        /// The step ("push to <url>").
        step: String,
        /// git's stderr or the reason.
        detail: String,
    },
    /// The module failed the contract check; it is not deployed.
    ModuleRejected {
        /// The module file.
        module: String,
        /// The findings, one per line.
        findings: String,
    },
    /// Building the module failed.
    Build(String),
    /// A local file could not be read or written.
    Io {
        /// What we were doing.
        what: String,
        /// The OS error.
        detail: String,
    },
    /// The platform reports the deployment as failed.
    DeployFailed {
        /// The deployment.
        name: String,
        /// The status the platform reported.
        status: String,
        /// Where to look next.
        hint: String,
    },
    /// The deployment did not become ready within the time limit.
    WaitTimeout {
        /// The deployment.
        name: String,
        /// How long we waited.
        waited_s: u64,
        /// The last state seen.
        last: String,
    },
    /// The live URL did not answer as the module should.
    VerifyFailed {
        /// The URL checked.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// Updating a deployment failed after the new module was pushed.
    NotApplied {
        /// Why the update failed.
        source: Box<Error>,
        /// What the branch holds now, and what to do.
        branch: String,
    },
}

impl Error {
    /// True for failures worth retrying after a pause: gateway pages, 429/502/503/504, timeouts
    /// and connection failures.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Gateway { status, .. } | Self::Api { status, .. } => {
                matches!(status, 429 | 502 | 503 | 504)
            }
            Self::Timeout { .. } | Self::Unreachable { .. } => true,
            _ => false,
        }
    }

    /// True when no answer came within the time limit (the call may still have taken effect).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// The HTTP status behind this error, if it came from an HTTP answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Gateway { status, .. } => Some(*status),
            Self::Unauthorized { .. } => Some(401),
            Self::NotApplied { source, .. } => source.http_status(),
            _ => None,
        }
    }

    /// A stable snake_case code for tool results and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Config(_) => "invalid_config",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Api { .. } => "api_error",
            Self::Gateway { .. } => "gateway_error",
            Self::Timeout { .. } => "timeout",
            Self::Unreachable { .. } => "unreachable",
            Self::BadResponse { .. } => "bad_response",
            Self::NotFound { .. } => "not_found",
            Self::Unsupported(_) => "unsupported",
            Self::ToolFailed { .. } => "platform_tool_failed",
            Self::SourceMismatch { .. } => "source_mismatch",
            Self::ConfirmMismatch { .. } => "confirmation_required",
            Self::Git { .. } => "git_failed",
            Self::ModuleRejected { .. } => "module_rejected",
            Self::Build(_) => "build_failed",
            Self::Io { .. } => "io_error",
            Self::DeployFailed { .. } => "deploy_failed",
            Self::WaitTimeout { .. } => "wait_timeout",
            Self::VerifyFailed { .. } => "verify_failed",
            Self::NotApplied { source, .. } => source.code(),
        }
    }

    fn raw_message(&self) -> String {
        match self {
            Self::MissingToken => {
                "OSC_ACCESS_TOKEN is not set: copy a personal access token from the \
                 OSC web console (Settings → API) and export it as OSC_ACCESS_TOKEN (for the MCP \
                 server: in the \"env\" of its entry in the client's config, then restart it)"
                    .to_owned()
            }
            Self::Config(msg) => msg.clone(),
            Self::Unauthorized { op, token, reason } => {
                let reason = if reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({reason})")
                };
                format!("{op}: refused with HTTP 401{reason}; {}", token.advice())
            }
            Self::Api { op, status, reason } => {
                format!("{op}: OSC answered HTTP {status}: {reason}")
            }
            Self::Gateway {
                op,
                status,
                summary,
            } => format!(
                "{op}: OSC's gateway answered HTTP {status} with an HTML page (\"{summary}\") instead \
                 of the API; {}",
                match status {
                    502..=504 | 429 =>
                        "the service is starting or overloaded, try again in a minute",
                    401 | 403 =>
                        "it refused the request: check OSC_ACCESS_TOKEN and the endpoint URL",
                    404 => "nothing answers at that address: check the endpoint URL",
                    _ => "check the endpoint URL, or try again later",
                }
            ),
            Self::Timeout { op, after_s } => format!(
                "{op}: no answer within {after_s} s; OSC may be slow right now, try again (the limit \
                 is --http-timeout)"
            ),
            Self::Unreachable { op, detail } => format!(
                "{op}: could not reach the service ({detail}); check the network and the base URL \
                 (OSC_DEPLOY_URL/OSC_CATALOG_URL/OSC_TOKEN_URL/OSC_MCP_URL in the environment, or \
                 --osc-env, --deploy-url/--catalog-url/--token-url/--mcp-url on the command line)"
            ),
            Self::BadResponse { op, detail } => {
                format!("{op}: unexpected answer, not the documented API: {detail}")
            }
            Self::NotFound { target, name } => format!(
                "no {target} named '{name}' exists; list-deployments shows the names that do"
            ),
            Self::Unsupported(msg) => msg.clone(),
            Self::ToolFailed { op, tool, message } => {
                format!("{op}: OSC's MCP tool '{tool}' answered with an error: {message}")
            }
            Self::SourceMismatch {
                name,
                current,
                wanted,
            } => format!(
                "My App '{name}' clones {current}, not {wanted}; a My App's repository cannot be \
                 changed in place, so deploying there means deleting the app and creating it \
                 again, which changes its URL. Nothing was pushed or changed. Deploy with \
                 --recreate (recreate: true in the deploy tool) to accept the new URL, use --repo \
                 and --branch matching the app, or pick another --name"
            ),
            Self::ConfirmMismatch { name, given } => match given {
                None => format!(
                    "removing '{name}' deletes it for good; repeat the exact name to confirm \
                     (--confirm {name}, or confirm: \"{name}\" in the tool call)"
                ),
                Some(given) => format!(
                    "confirmation '{given}' does not match the deployment name '{name}'; nothing was \
                     removed"
                ),
            },
            Self::Git { step, detail } => format!("git: {step} failed: {detail}"),
            Self::ModuleRejected { module, findings } => format!(
                "{module} fails OSC's wasm-runner contract, so it was not deployed:\n{findings}"
            ),
            Self::Build(msg) => format!("building the module failed: {msg}"),
            Self::Io { what, detail } => format!("{what}: {detail}"),
            Self::DeployFailed { name, status, hint } => {
                format!("deployment '{name}' is {status} on OSC; {hint}")
            }
            Self::WaitTimeout {
                name,
                waited_s,
                last,
            } => format!(
                "deployment '{name}' was not ready after {waited_s} s (last seen: {last}); it may \
                 still come up: check deployment-status, or deploy again with a longer --wait-timeout (wait_timeout_secs in the deploy tool)"
            ),
            Self::VerifyFailed { url, detail } => {
                format!("the deployment at {url} does not answer as the module should: {detail}")
            }
            Self::NotApplied { source, branch } => format!("{}; {branch}", source.raw_message()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&scrub(&self.raw_message()))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "osc::Error({}: {self})", self.code())
    }
}

impl std::error::Error for Error {}

/// The result type of everything under `osc`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::super::secret::Secret;
    use super::*;

    /// Every variant, each carrying the token wherever it holds foreign text.
    fn all_variants(token: &str) -> Vec<Error> {
        let t = || format!("echo {token} echo https://u:{token}@github.com/o/r");
        vec![
            Error::MissingToken,
            Error::Config(t()),
            Error::Unauthorized {
                op: t(),
                token: TokenKind::Personal,
                reason: t(),
            },
            Error::Api {
                op: t(),
                status: 500,
                reason: t(),
            },
            Error::Gateway {
                op: t(),
                status: 502,
                summary: t(),
            },
            Error::Timeout {
                op: t(),
                after_s: 3,
            },
            Error::Unreachable {
                op: t(),
                detail: t(),
            },
            Error::BadResponse {
                op: t(),
                detail: t(),
            },
            Error::NotFound {
                target: "My App",
                name: t(),
            },
            Error::Unsupported(t()),
            Error::ToolFailed {
                op: t(),
                tool: t(),
                message: t(),
            },
            Error::SourceMismatch {
                name: t(),
                current: t(),
                wanted: t(),
            },
            Error::ConfirmMismatch {
                name: t(),
                given: Some(t()),
            },
            Error::Git {
                step: t(),
                detail: t(),
            },
            Error::ModuleRejected {
                module: t(),
                findings: t(),
            },
            Error::Build(t()),
            Error::Io {
                what: t(),
                detail: t(),
            },
            Error::DeployFailed {
                name: t(),
                status: t(),
                hint: t(),
            },
            Error::WaitTimeout {
                name: t(),
                waited_s: 1,
                last: t(),
            },
            Error::VerifyFailed {
                url: t(),
                detail: t(),
            },
        ]
    }

    #[test]
    fn no_variant_ever_shows_a_token() {
        let token = "pat-ERRTEST-9f8e7d6c5b4a";
        let _secret = Secret::new(token);
        for err in all_variants(token) {
            let shown = format!("{err} | {err:?} | {err:#}");
            assert!(
                !shown.contains(token) && !shown.contains("u:pat"),
                "token leaked by {}: {shown}",
                err.code()
            );
        }
    }

    #[test]
    fn unauthorized_says_which_token_to_check() {
        let err = Error::Unauthorized {
            op: "list My Apps".into(),
            token: TokenKind::Personal,
            reason: "Invalid token".into(),
        };
        assert!(err.to_string().contains("OSC_ACCESS_TOKEN"), "{err}");
        let err = Error::Unauthorized {
            op: "push".into(),
            token: TokenKind::Git,
            reason: String::new(),
        };
        assert!(err.to_string().contains("GITHUB_TOKEN"), "{err}");
    }

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        let gw = Error::Gateway {
            op: "x".into(),
            status: 504,
            summary: "504 Gateway Time-out".into(),
        };
        assert!(gw.is_transient());
        assert!(gw.to_string().contains("try again in a minute"), "{gw}");
        let refused = Error::Gateway {
            op: "x".into(),
            status: 403,
            summary: "403 Forbidden".into(),
        };
        assert!(!refused.is_transient());
        assert!(
            refused.to_string().contains("check OSC_ACCESS_TOKEN"),
            "{refused}"
        );
        assert!(!refused.to_string().contains("try again"), "{refused}");
        let conflict = Error::Api {
            op: "x".into(),
            status: 409,
            reason: "Name is already taken".into(),
        };
        assert!(!conflict.is_transient());
    }
}
