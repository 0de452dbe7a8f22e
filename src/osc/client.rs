//! The HTTP client for OSC's APIs: base URLs per environment, the two kinds of token, time limits,
//! retries, and turning error answers (JSON `{reason}` or an nginx HTML page) into clear messages.
//!
//! It knows the platform's plumbing (deploy, catalog and token services; the wasm runner's instance
//! API found through `mysubscriptions`), not what a deployment is: `myapps.rs` and `instance.rs` build
//! on it. Tokens travel only in the `x-pat-jwt` / `x-jwt` headers, marked sensitive, and never in a
//! URL, a log line or an error.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use super::error::{Error, Result, TokenKind};
use super::secret::{Secret, scrub};

/// The catalog id of OSC's wasm runner.
pub const WASM_RUNNER: &str = "eyevinn-wasm-runner";
/// Environment variable holding the personal access token.
pub const TOKEN_ENV: &str = "OSC_ACCESS_TOKEN";
/// The environment used when none is given.
pub const DEFAULT_ENVIRONMENT: &str = "prod";

/// OSC's own MCP server, its `apps` category surface (which lists the My Apps tools directly).
/// The same server's top-level endpoint, `https://mcp.osaas.io/mcp`, works too (its
/// `osc_call_tool` dispatches to them). One URL for every environment (inferred: only the public
/// one is documented).
pub const DEFAULT_MCP_URL: &str = "https://mcp.osaas.io/mcp/category/apps";

/// Base URLs of the platform services. The wasm runner's instance API is not here: its `apiUrl`
/// is read from the catalog at run time, never hard-coded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// My Apps: `https://deploy.svc.{env}.osaas.io`.
    pub deploy: Url,
    /// Subscriptions: `https://catalog.svc.{env}.osaas.io`.
    pub catalog: Url,
    /// Service access tokens: `https://token.svc.{env}.osaas.io`.
    pub token: Url,
    /// OSC's own MCP server (Streamable HTTP), for what the REST API lacks: restarting a My App
    /// and reading its logs. Default [`DEFAULT_MCP_URL`].
    pub mcp: Url,
}

impl Endpoints {
    /// The documented URLs of environment `env` (`prod` or `dev`).
    pub fn for_environment(env: &str) -> Result<Self> {
        let valid = !env.is_empty()
            && env
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(Error::Config(format!(
                "OSC environment '{env}' is not a valid name (use prod or dev)"
            )));
        }
        let url = |svc: &str| parse_base(&format!("https://{svc}.svc.{env}.osaas.io"), svc);
        Ok(Self {
            deploy: url("deploy")?,
            catalog: url("catalog")?,
            token: url("token")?,
            mcp: parse_base(DEFAULT_MCP_URL, "MCP")?,
        })
    }

    /// Replaces the MCP server URL when one is given (`--mcp-url` or `OSC_MCP_URL`).
    pub fn with_mcp(mut self, mcp: Option<&str>) -> Result<Self> {
        if let Some(u) = mcp {
            self.mcp = parse_base(u, "MCP")?;
        }
        Ok(self)
    }

    /// Replaces the base URLs that are given (flags or `OSC_DEPLOY_URL` / `OSC_CATALOG_URL` /
    /// `OSC_TOKEN_URL`), so the same client talks to a stand-in.
    pub fn with_overrides(
        mut self,
        deploy: Option<&str>,
        catalog: Option<&str>,
        token: Option<&str>,
    ) -> Result<Self> {
        if let Some(u) = deploy {
            self.deploy = parse_base(u, "deploy")?;
        }
        if let Some(u) = catalog {
            self.catalog = parse_base(u, "catalog")?;
        }
        if let Some(u) = token {
            self.token = parse_base(u, "token")?;
        }
        Ok(self)
    }
}

fn parse_base(text: &str, what: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::Config(format!("the {what} service URL '{text}' is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "the {what} service URL '{text}' must be an http(s) URL"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(format!(
            "the {what} service URL must not carry credentials; OSC_ACCESS_TOKEN is sent as a header"
        )));
    }
    Ok(url)
}

/// `base` with `segments` appended as path segments (each percent-encoded).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// How transient failures of idempotent calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first.
    pub attempts: u32,
    /// Pause before the first retry; doubled each time.
    pub first_delay: Duration,
    /// Longest pause.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Everything the client needs besides the token.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The platform's base URLs.
    pub endpoints: Endpoints,
    /// Time limit for one HTTP call (connect + answer).
    pub request_timeout: Duration,
    /// Retries for idempotent calls.
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// `endpoints` with default limits.
    pub fn new(endpoints: Endpoints) -> Self {
        Self {
            endpoints,
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }

    /// The configuration the environment describes: `OSC_ENVIRONMENT` (default `prod`), and the
    /// overrides `OSC_DEPLOY_URL`, `OSC_CATALOG_URL`, `OSC_TOKEN_URL`, `OSC_MCP_URL`. (The CLI
    /// reads the same variables through its flags; the MCP server has no flags for them.)
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let env = var(ENVIRONMENT_ENV).unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned());
        let endpoints = Endpoints::for_environment(&env)?
            .with_overrides(
                var(DEPLOY_URL_ENV).as_deref(),
                var(CATALOG_URL_ENV).as_deref(),
                var(TOKEN_URL_ENV).as_deref(),
            )?
            .with_mcp(var(MCP_URL_ENV).as_deref())?;
        Ok(Self::new(endpoints))
    }
}

/// Environment variable naming the OSC environment.
pub const ENVIRONMENT_ENV: &str = "OSC_ENVIRONMENT";
/// Environment variable overriding the deploy service's base URL.
pub const DEPLOY_URL_ENV: &str = "OSC_DEPLOY_URL";
/// Environment variable overriding the catalog's base URL.
pub const CATALOG_URL_ENV: &str = "OSC_CATALOG_URL";
/// Environment variable overriding the token service's base URL.
pub const TOKEN_URL_ENV: &str = "OSC_TOKEN_URL";
/// Environment variable overriding OSC's MCP server URL.
pub const MCP_URL_ENV: &str = "OSC_MCP_URL";

/// Which token a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `x-pat-jwt: Bearer <PAT>`.
    Personal,
    /// `x-jwt: Bearer <SAT>` for the wasm runner.
    Service,
}

/// One API call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) auth: Auth,
    pub(crate) body: Option<Value>,
    /// What we are doing, for messages ("create My App 'x'").
    pub(crate) op: String,
    /// Whether a transient failure may be retried blindly.
    pub(crate) idempotent: bool,
}

impl Call {
    pub(crate) fn new(method: Method, url: Url, auth: Auth, op: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Self {
            method,
            url,
            auth,
            body: None,
            op: op.into(),
            idempotent,
        }
    }

    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Marks a POST that is safe to repeat (restart, token exchange).
    pub(crate) fn repeatable(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    service_id: String,
    #[serde(default)]
    api_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ServiceTokenAnswer {
    token: String,
    #[serde(default)]
    expiry: Option<Value>,
}

struct CachedToken {
    token: Secret,
    renew_at: Instant,
}

/// A client for one OSC environment and one personal access token.
pub struct OscClient {
    http: reqwest::Client,
    config: ClientConfig,
    pat: Secret,
    service_tokens: Mutex<HashMap<String, CachedToken>>,
    runner_api: Mutex<Option<Url>>,
    /// The wait the last 429/503 answer asked for (`Retry-After`, in seconds), for the retry.
    retry_after: std::sync::Mutex<Option<Duration>>,
}

/// The longest `Retry-After` honoured: a server asking for more is retried at that pace anyway.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl std::fmt::Debug for OscClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OscClient")
            .field("endpoints", &self.config.endpoints)
            .finish_non_exhaustive()
    }
}

impl OscClient {
    /// A client using `pat` as the personal access token.
    pub fn new(config: ClientConfig, pat: Secret) -> Result<Self> {
        if pat.expose().is_empty() {
            return Err(Error::MissingToken);
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("pixelsmith/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self {
            http,
            config,
            pat,
            service_tokens: Mutex::new(HashMap::new()),
            runner_api: Mutex::new(None),
            retry_after: std::sync::Mutex::new(None),
        })
    }

    /// A client whose token comes from `OSC_ACCESS_TOKEN`.
    pub fn from_env(config: ClientConfig) -> Result<Self> {
        let pat = Secret::from_env(&[TOKEN_ENV]).ok_or(Error::MissingToken)?;
        Self::new(config, pat)
    }

    /// The base URLs in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.config.endpoints
    }

    /// The retry policy in use (the create-after-lookup loops share it).
    pub fn retry_policy(&self) -> RetryPolicy {
        self.config.retry
    }

    /// The time limit of one call.
    pub fn request_timeout(&self) -> Duration {
        self.config.request_timeout
    }

    /// The personal access token, for the MCP client's `Authorization` header.
    pub(crate) fn pat(&self) -> &Secret {
        &self.pat
    }

    /// Sends `call`, retrying transient failures of idempotent calls with backoff. A service-token
    /// call that is refused gets one fresh token and one more try.
    pub(crate) async fn send(&self, call: &Call) -> Result<Answer> {
        if call.auth == Auth::Service {
            // The token exchange retries on its own; inside the call's retries a slow token
            // service would be waited for attempts × attempts times.
            self.service_token(WASM_RUNNER).await?;
        }
        self.with_retries(call, || self.send_authenticated(call))
            .await
    }

    /// Sends `call` and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<T> {
        decode(call, &self.send(call).await?)
    }

    async fn with_retries<F, Fut>(&self, call: &Call, mut attempt: F) -> Result<Answer>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Answer>>,
    {
        let attempts = if call.idempotent {
            self.config.retry.attempts.max(1)
        } else {
            1
        };
        let mut retry = 0;
        let mut timeouts = 0;
        loop {
            match attempt().await {
                // A server that let one call run out of time is asked once more, not
                // `attempts` times: `--http-timeout` should bound the wait, not a fraction of it.
                Err(err @ Error::Timeout { .. }) if timeouts >= 1 => return Err(err),
                Err(err) if err.is_transient() && retry + 1 < attempts => {
                    if matches!(err, Error::Timeout { .. }) {
                        timeouts += 1;
                    }
                    retry += 1;
                    let asked = self.take_retry_after();
                    let pause = self.config.retry.delay(retry).max(asked);
                    tracing::info!(op = %call.op, error = %err, ?pause, "transient failure, retrying");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    /// The wait the last 429/503 asked for, once (zero when it asked for none).
    fn take_retry_after(&self) -> Duration {
        self.retry_after
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_default()
    }

    async fn send_authenticated(&self, call: &Call) -> Result<Answer> {
        match call.auth {
            Auth::Personal => self.send_once(call, &self.pat, TokenKind::Personal).await,
            Auth::Service => {
                let token = self.service_token(WASM_RUNNER).await?;
                match self.send_once(call, &token, TokenKind::Service).await {
                    Err(Error::Unauthorized { .. }) => {
                        // The token may have been revoked or expired early: one fresh exchange.
                        self.service_tokens.lock().await.remove(WASM_RUNNER);
                        let token = self.service_token(WASM_RUNNER).await?;
                        self.send_once(call, &token, TokenKind::Service).await
                    }
                    other => other,
                }
            }
        }
    }

    async fn send_once(&self, call: &Call, token: &Secret, kind: TokenKind) -> Result<Answer> {
        let (header, value) = match kind {
            TokenKind::Service => ("x-jwt", token),
            _ => ("x-pat-jwt", token),
        };
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", value.expose())).map_err(|_| {
                Error::Config("the token contains characters not allowed in a header".into())
            })?;
        value.set_sensitive(true);
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .header(header, value);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(call, e))?;
        let status = response.status().as_u16();
        if matches!(status, 429 | 503) {
            let asked = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER));
            *self
                .retry_after
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = asked;
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(call, e))?
            .to_vec();
        tracing::debug!(
            method = %call.method,
            path = call.url.path(),
            status,
            ms = started.elapsed().as_millis() as u64,
            "OSC call"
        );
        if (200..300).contains(&status) {
            return Ok(Answer { body });
        }
        Err(error_from_answer(
            &call.op,
            status,
            &content_type,
            &body,
            kind,
        ))
    }

    fn transport_error(&self, call: &Call, err: reqwest::Error) -> Error {
        if err.is_timeout() {
            Error::Timeout {
                op: call.op.clone(),
                after_s: self.config.request_timeout.as_secs().max(1),
            }
        } else {
            let err = err.without_url();
            let mut detail = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                detail.push_str(": ");
                detail.push_str(&cause.to_string());
                source = cause.source();
            }
            Error::Unreachable {
                op: format!("{} ({})", call.op, call.url),
                detail,
            }
        }
    }

    /// The wasm runner's instance API base URL from `mysubscriptions`, subscribing first if the
    /// tenant has no subscription yet (unless `subscribe` is false). Cached for the client's life.
    pub(crate) async fn runner_api(&self, subscribe: bool) -> Result<Option<Url>> {
        let mut cached = self.runner_api.lock().await;
        if let Some(url) = cached.as_ref() {
            return Ok(Some(url.clone()));
        }
        let mut found = self.find_subscription(WASM_RUNNER).await?;
        if found.is_none() {
            if !subscribe {
                return Ok(None);
            }
            self.subscribe(WASM_RUNNER).await?;
            found = self.find_subscription(WASM_RUNNER).await?;
        }
        let sub = found.ok_or_else(|| Error::BadResponse {
            op: format!("subscribe to {WASM_RUNNER}"),
            detail: "the subscription does not appear in mysubscriptions".into(),
        })?;
        let api = sub.api_url.ok_or_else(|| Error::BadResponse {
            op: "read mysubscriptions".into(),
            detail: format!("the {WASM_RUNNER} subscription has no apiUrl"),
        })?;
        let url = instance_api_base(&api)?;
        *cached = Some(url.clone());
        Ok(Some(url))
    }

    async fn find_subscription(&self, service: &str) -> Result<Option<Subscription>> {
        let call = Call::new(
            Method::GET,
            join(&self.config.endpoints.catalog, &["mysubscriptions"]),
            Auth::Personal,
            "list subscriptions (catalog mysubscriptions)",
        );
        let subs: Vec<Subscription> = self.json(&call).await?;
        Ok(subs.into_iter().find(|s| s.service_id == service))
    }

    async fn subscribe(&self, service: &str) -> Result<()> {
        let call = Call::new(
            Method::POST,
            join(&self.config.endpoints.catalog, &["mysubscriptions"]),
            Auth::Personal,
            format!("subscribe to {service}"),
        )
        .json(serde_json::json!({ "services": [service] }));
        tracing::info!(service, "not subscribed yet: subscribing");
        match self.send(&call).await {
            Ok(_) => Ok(()),
            // A subscription that was made although the answer was lost is fine: the caller looks
            // the subscription up again.
            Err(err) if err.is_transient() => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// A service access token for `service`, exchanged once and reused until shortly before it
    /// expires.
    pub(crate) async fn service_token(&self, service: &str) -> Result<Secret> {
        let mut cache = self.service_tokens.lock().await;
        if let Some(hit) = cache.get(service)
            && Instant::now() < hit.renew_at
        {
            return Ok(hit.token.clone());
        }
        let call = Call::new(
            Method::POST,
            join(&self.config.endpoints.token, &["servicetoken"]),
            Auth::Personal,
            format!("get a service access token for {service}"),
        )
        .json(serde_json::json!({ "serviceId": service }))
        .repeatable();
        // Not `self.json`: that path may itself need a service token.
        let answer = self
            .with_retries(&call, || {
                self.send_once(&call, &self.pat, TokenKind::Personal)
            })
            .await?;
        let answer: ServiceTokenAnswer = decode(&call, &answer)?;
        let token = Secret::new(answer.token);
        let lifetime = answer
            .expiry
            .as_ref()
            .and_then(|v| lifetime_from_expiry(v, SystemTime::now()))
            .unwrap_or(UNKNOWN_EXPIRY_LIFETIME);
        tracing::debug!(
            service,
            lifetime_s = lifetime.as_secs(),
            "service access token obtained"
        );
        cache.insert(
            service.to_owned(),
            CachedToken {
                token: token.clone(),
                renew_at: Instant::now() + renew_after(lifetime),
            },
        );
        Ok(token)
    }
}

fn decode<T: DeserializeOwned>(call: &Call, answer: &Answer) -> Result<T> {
    serde_json::from_slice(&answer.body).map_err(|e| Error::BadResponse {
        op: call.op.clone(),
        detail: format!("{e} in {}", excerpt(&answer.text())),
    })
}

/// How long a service token is reused when its `expiry` cannot be read.
const UNKNOWN_EXPIRY_LIFETIME: Duration = Duration::from_secs(300);

/// Renew a minute early, or at half the lifetime for short-lived tokens.
fn renew_after(lifetime: Duration) -> Duration {
    let margin = Duration::from_secs(60).min(lifetime / 2);
    lifetime - margin
}

/// Reads the token service's `expiry` (documented only as a number; inferred: a Unix time in
/// seconds or milliseconds, or a lifetime in seconds; a numeric or RFC 3339-like string is
/// tolerated as a number only) into a remaining lifetime.
pub(crate) fn lifetime_from_expiry(expiry: &Value, now: SystemTime) -> Option<Duration> {
    let number = match expiry {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !number.is_finite() || number <= 0.0 {
        return None;
    }
    let now_s = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    let seconds_left = if number > 1e12 {
        number / 1000.0 - now_s
    } else if number > 1e9 {
        number - now_s
    } else {
        number
    };
    (seconds_left > 0.0).then(|| Duration::from_secs_f64(seconds_left))
}

/// The instance API base from a subscription's `apiUrl`. The documented paths
/// (`/wasm-runnerinstance`, `/health/{name}`, ...) live on that host; an `apiUrl` that already ends
/// in `/wasm-runnerinstance` (the form OSC's own client appends names to) is accepted too.
pub(crate) fn instance_api_base(api_url: &str) -> Result<Url> {
    let mut url = parse_base(api_url, "wasm-runner instance API")?;
    let trimmed = url.path().trim_end_matches('/');
    let base_path = trimmed
        .strip_suffix("/wasm-runnerinstance")
        .unwrap_or(trimmed)
        .to_owned();
    url.set_path(&base_path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The longest piece of a foreign body we quote in a message.
const EXCERPT_CHARS: usize = 300;

fn excerpt(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = flat.chars().take(EXCERPT_CHARS).collect();
    if flat.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    scrub(&out)
}

/// True when a body is an HTML page (a gateway's error page) rather than API JSON.
pub(crate) fn looks_like_html(content_type: &str, body: &[u8]) -> bool {
    if content_type.to_ascii_lowercase().contains("text/html") {
        return true;
    }
    let head: String = String::from_utf8_lossy(&body[..body.len().min(64)])
        .trim_start()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// The title of an HTML page (`<title>`, else the first `<h1>`), as plain text.
pub(crate) fn html_summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    for tag in ["title", "h1"] {
        let open = format!("<{tag}");
        if let Some(start) = lower.find(&open)
            && let Some(gt) = lower[start..].find('>')
        {
            let from = start + gt + 1;
            let to = lower[from..]
                .find(&format!("</{tag}"))
                .map_or(text.len(), |e| from + e);
            let inner = excerpt(&text[from..to]);
            if !inner.is_empty() {
                return inner;
            }
        }
    }
    "untitled HTML page".to_owned()
}

/// The `reason` (or `message`/`error`) of a JSON error body, else an excerpt of the body.
pub(crate) fn reason_from_body(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        for key in ["reason", "message", "error"] {
            if let Some(s) = value.get(key).and_then(Value::as_str) {
                return excerpt(s);
            }
        }
        return excerpt(&value.to_string());
    }
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        "no details given".to_owned()
    } else {
        excerpt(&text)
    }
}

/// Maps an error answer to [`Error`]: 401 names the token, HTML pages are gateway errors, the rest
/// carry the API's `{reason}`.
pub(crate) fn error_from_answer(
    op: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    token: TokenKind,
) -> Error {
    let op = op.to_owned();
    if looks_like_html(content_type, body) {
        if status == 401 {
            return Error::Unauthorized {
                op,
                token,
                reason: html_summary(body),
            };
        }
        return Error::Gateway {
            op,
            status,
            summary: html_summary(body),
        };
    }
    let reason = reason_from_body(body);
    if status == 401 {
        return Error::Unauthorized { op, token, reason };
    }
    Error::Api { op, status, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_map_to_documented_hosts() {
        let e = Endpoints::for_environment("dev").unwrap();
        assert_eq!(e.deploy.as_str(), "https://deploy.svc.dev.osaas.io/");
        assert_eq!(e.catalog.as_str(), "https://catalog.svc.dev.osaas.io/");
        assert_eq!(e.token.as_str(), "https://token.svc.dev.osaas.io/");
        assert!(Endpoints::for_environment("prod/../x").is_err());
    }

    #[test]
    fn overrides_replace_only_what_is_given_and_refuse_credentials() {
        let e = Endpoints::for_environment("prod")
            .unwrap()
            .with_overrides(Some("http://127.0.0.1:9/base"), None, None)
            .unwrap();
        assert_eq!(
            join(&e.deploy, &["myapps", "a b"]).as_str(),
            "http://127.0.0.1:9/base/myapps/a%20b"
        );
        assert_eq!(e.token.as_str(), "https://token.svc.prod.osaas.io/");
        let err = Endpoints::for_environment("prod")
            .unwrap()
            .with_overrides(None, Some("https://u:p@x.io"), None)
            .unwrap_err();
        assert!(
            err.to_string().contains("must not carry credentials"),
            "{err}"
        );
    }

    #[test]
    fn instance_api_base_accepts_host_or_collection_url() {
        assert_eq!(
            instance_api_base("https://x.osaas.io").unwrap().as_str(),
            "https://x.osaas.io/"
        );
        assert_eq!(
            instance_api_base("https://x.osaas.io/wasm-runnerinstance/")
                .unwrap()
                .as_str(),
            "https://x.osaas.io/"
        );
        let base = instance_api_base("http://127.0.0.1:5/p/wasm-runnerinstance").unwrap();
        assert_eq!(
            join(&base, &["health", "n1"]).as_str(),
            "http://127.0.0.1:5/p/health/n1"
        );
    }

    #[test]
    fn expiry_forms_become_lifetimes() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let secs = |v: Value| lifetime_from_expiry(&v, now).map(|d| d.as_secs());
        assert_eq!(secs(serde_json::json!(1_800_000_600)), Some(600));
        assert_eq!(secs(serde_json::json!(1_800_000_600_000u64)), Some(600));
        assert_eq!(secs(serde_json::json!(3600)), Some(3600));
        assert_eq!(secs(serde_json::json!("900")), Some(900));
        assert_eq!(
            secs(serde_json::json!(1_700_000_000)),
            None,
            "already expired"
        );
        assert_eq!(secs(serde_json::json!("tomorrow")), None);
        assert_eq!(
            renew_after(Duration::from_secs(600)),
            Duration::from_secs(540)
        );
        assert_eq!(
            renew_after(Duration::from_secs(20)),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn html_pages_become_gateway_errors_with_their_title() {
        let page = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>";
        let err = error_from_answer("list My Apps", 502, "text/html", page, TokenKind::Personal);
        assert!(matches!(err, Error::Gateway { status: 502, .. }));
        assert!(err.is_transient());
        let shown = err.to_string();
        assert!(shown.contains("\"502 Bad Gateway\""), "{shown}");
        assert!(!shown.contains("<html"), "{shown}");
    }

    #[test]
    fn json_reasons_and_401s_become_clear_messages() {
        let err = error_from_answer(
            "create instance 'a'",
            409,
            "application/json",
            br#"{"reason":"Name is already taken"}"#,
            TokenKind::Service,
        );
        assert_eq!(
            err.to_string(),
            "create instance 'a': OSC answered HTTP 409: Name is already taken"
        );
        let err = error_from_answer(
            "list My Apps",
            401,
            "application/json",
            br#"{"reason":"Invalid token"}"#,
            TokenKind::Personal,
        );
        assert!(err.to_string().contains("OSC_ACCESS_TOKEN"), "{err}");
    }

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(p.delay(1), Duration::from_millis(500));
        assert_eq!(p.delay(2), Duration::from_secs(1));
        assert_eq!(p.delay(9), Duration::from_secs(1));
    }
}
