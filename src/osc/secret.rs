//! Tokens held in memory, and the scrubber that keeps them out of every message.
//!
//! A [`Secret`] never formats itself (its `Debug` is `Secret(***)` and it has no `Display`), and every
//! secret ever created in the process is remembered so that [`scrub`] can remove it from text that came
//! from somewhere else: a server's error body, git's stderr, a URL a user typed. Error constructors run
//! all foreign text through [`scrub`], so a server that echoes a token back cannot leak it through us.

use std::fmt;
use std::sync::{PoisonError, RwLock};

/// What replaces a token in any text we show.
pub const MASK: &str = "***";

/// Shorter values are not remembered: scrubbing a two-letter "token" would mangle every message.
const MIN_SCRUB_LEN: usize = 6;

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// A token (OSC personal access token, service access token, git token).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token and remembers it for [`scrub`]. Surrounding whitespace (a pasted newline) is
    /// dropped, because it would break the HTTP header.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into().trim().to_owned();
        remember(&value);
        Self(value)
    }

    /// Reads a token from the first of `names` that is set and not blank.
    pub fn from_env(names: &[&str]) -> Option<Self> {
        names
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.trim().is_empty())
            .map(Self::new)
    }

    /// The token itself, for building a request header or a child's environment. Never format it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Every environment variable a token may come from: the OSC personal access token and the git
/// tokens. Remembered at start-up by every command, so a token is scrubbed from everything the
/// process shows even where it is never used (a platform log line that echoes the git token,
/// printed by `deployment-logs`).
pub const TOKEN_ENVS: [&str; 3] = ["OSC_ACCESS_TOKEN", "GITHUB_TOKEN", "GIT_TOKEN"];

/// Remembers every token set in [`TOKEN_ENVS`] for [`scrub`]; call once at start-up.
pub fn remember_environment() {
    remember_from(|name| std::env::var(name).ok());
}

fn remember_from(lookup: impl Fn(&str) -> Option<String>) {
    for name in TOKEN_ENVS {
        if let Some(value) = lookup(name) {
            remember(value.trim());
        }
    }
}

fn remember(value: &str) {
    if value.len() < MIN_SCRUB_LEN {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
    }
}

/// Replaces every token this process has seen, anything shaped like a GitHub or GitLab token,
/// and the password part of any `scheme://user:pass@` URL, with [`MASK`].
pub fn scrub(text: &str) -> String {
    let mut out = text.to_owned();
    {
        let known = KNOWN.read().unwrap_or_else(PoisonError::into_inner);
        for token in known.iter() {
            if out.contains(token.as_str()) {
                out = out.replace(token.as_str(), MASK);
            }
        }
    }
    mask_token_shapes(&mask_url_userinfo(&out))
}

/// The prefixes GitHub and GitLab give their tokens (GitHub: personal, OAuth, app, user-to-server,
/// refresh, fine-grained; GitLab: personal access token).
const TOKEN_PREFIXES: [&str; 7] = [
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
];

/// Masks every run that starts with a [`TOKEN_PREFIXES`] entry and goes on with at least 16
/// token characters: a token this process never saw (one a platform log echoes, given in a
/// repository URL to an earlier command) is still not shown.
fn mask_token_shapes(text: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for prefix in TOKEN_PREFIXES {
            if let Some(tail) = rest.strip_prefix(prefix) {
                let run = tail.find(|c: char| !token_char(c)).unwrap_or(tail.len());
                let starts_word = !out.chars().next_back().is_some_and(token_char);
                if run >= 16 && starts_word {
                    out.push_str(MASK);
                    rest = &tail[run..];
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// `value` as JSON with [`scrub`] applied to all its text: what the CLI prints with `--json` and
/// the MCP tools return as structured content.
pub fn scrub_json<T: serde::Serialize>(value: &T) -> serde_json::Result<serde_json::Value> {
    // Quotes end a masked URL (see below), so scrubbing the serialised text keeps it valid JSON.
    serde_json::from_str(&scrub(&serde_json::to_string(value)?))
}

/// `https://user:pass@host` → `https://***@host`, wherever such a URL appears in `text`.
fn mask_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| "/?#\"'\\<>`".contains(c) || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("sekret-debug-4711");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn scrub_removes_known_tokens_and_url_passwords() {
        let _s = Secret::new("tok-scrub-0815-abcdef");
        let text = "bad token tok-scrub-0815-abcdef at https://bob:pw@example.com/x and ok";
        assert_eq!(
            scrub(text),
            "bad token *** at https://***@example.com/x and ok"
        );
        // Quotes end a URL: JSON text around it stays intact.
        let json = r#"{"u":"https://x.io","e":"a@b","g":"https://u:p@g.io"}"#;
        assert_eq!(
            scrub(json),
            r#"{"u":"https://x.io","e":"a@b","g":"https://***@g.io"}"#
        );
    }

    #[test]
    fn token_shapes_are_masked_though_never_seen() {
        assert_eq!(
            scrub("env GIT_TOKEN=ghp_abcdefghijklmnop0123 x github_pat_11AAAAAAA0abcdefghijklmn"),
            "env GIT_TOKEN=*** x ***"
        );
        // Words that merely start like one, or are too short, stay.
        assert_eq!(
            scrub("ghp_short and myghp_abcdefghijklmnop0123"),
            "ghp_short and myghp_abcdefghijklmnop0123"
        );
    }

    #[test]
    fn short_values_are_not_scrubbed_everywhere() {
        let _s = Secret::new("ab");
        assert_eq!(scrub("about abba"), "about abba");
    }

    #[test]
    fn tokens_in_the_environment_are_scrubbed_without_being_used() {
        remember_from(|name| (name == "GIT_TOKEN").then(|| " git-env-token-4242-abcdef\n".into()));
        assert_eq!(
            scrub("log: GIT_TOKEN=git-env-token-4242-abcdef"),
            "log: GIT_TOKEN=***"
        );
    }

    #[test]
    fn blank_env_values_are_ignored() {
        // Names that are never set in any environment we run in.
        assert!(
            Secret::from_env(&["PIXELSMITH_TEST_UNSET_A", "PIXELSMITH_TEST_UNSET_B"]).is_none()
        );
    }
}
