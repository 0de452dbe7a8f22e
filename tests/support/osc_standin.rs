//! A loopback stand-in for Eyevinn Open Source Cloud, following the documented API
//! (`shared/osc-platform.md` §2–4) with its exact paths, headers, bodies and status codes:
//!
//! - deploy service: `GET/POST /myapps`, `GET/DELETE /myapps/{id}` (header `x-pat-jwt`);
//! - catalog: `GET/POST /mysubscriptions` (header `x-pat-jwt`), whose `apiUrl` points at
//! - the wasm-runner instance API: `POST/GET /wasm-runnerinstance`,
//!   `GET/PATCH/DELETE /wasm-runnerinstance/{name}`, `POST /restart/{name}`, `GET /health/{name}`,
//!   `GET /logs/{name}` (header `x-jwt` with a service token from)
//! - the token service: `POST /servicetoken`;
//! - OSC's own MCP server (§7), an rmcp Streamable HTTP server with header
//!   `Authorization: Bearer <PAT>`: the `apps` category surface at `/mcp/category/apps` lists
//!   `list-my-apps`, `get-my-app {appId}`, `restart-my-app {appId, rebuild?}` and
//!   `get-my-app-logs {appId, tail}`; the top-level `/mcp` lists `osc_search_tools`,
//!   `osc_call_tool {name, args}` (which dispatches to those) and `get-mcp-help`.
//!
//! Each service listens on its own 127.0.0.1 port, so a client that sends a call to the wrong base
//! URL fails. Errors are JSON `{reason}`; gateway faults are nginx HTML pages.
//!
//! It really runs what is deployed: on create, PATCH and restart (REST or MCP) it clones the app's
//! git URL
//! (`<repo>#<branch>`, e.g. a local bare repository), takes the first `*.wasm` file, and serves it
//! with Pixelsmith's runner emulation (`pixelsmith::runner`) on the app's own 127.0.0.1 port.
//!
//! Switchable [`Faults`]: create answers 504 but creates anyway, the next calls answer an HTML 502
//! page, the app URL answers 401 for a while after it starts, slow starts, short-lived service
//! tokens. Every API call is recorded ([`Standin::calls`]) so tests can count creates and token
//! exchanges.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// The only service id the stand-in's catalog knows.
pub const WASM_RUNNER: &str = "eyevinn-wasm-runner";

/// Faults a test can switch on at any time.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The next N creates (My App or instance) create the app and then answer 504 (HTML).
    pub create_504_after_creating: u32,
    /// The next N API calls (any service) answer an nginx HTML 502 page and do nothing.
    pub html_502_next: u32,
    /// The next N calls to the deploy service answer 429 `{reason}` with `Retry-After: 1` and do
    /// nothing.
    pub rate_limited_next: u32,
    /// After an app starts, its URL answers 401 for this long.
    pub unauthorized_after_start: Duration,
    /// How long an app takes from (re)start to running (cloning happens after this).
    pub slow_start: Duration,
    /// Lifetime of issued service tokens (default 1 hour).
    pub sat_lifetime: Option<Duration>,
    /// 401 answers quote the header they were given (as a careless server might), to prove the
    /// client never shows such text unscrubbed.
    pub echo_credentials_in_401: bool,
    /// My Apps report `gitHubUrl` without the `#branch` they were created with (the platform
    /// has been seen to do so); the app still clones the branch.
    pub git_url_without_branch: bool,
    /// My Apps are reported without `buildStatus` (optional in the documented `MyApp`).
    pub no_build_status: bool,
    /// Tools the MCP server does not offer (neither listed nor reachable by `osc_call_tool`).
    pub mcp_hidden_tools: Vec<String>,
    /// The MCP server refuses every token (401), as it would a PAT it does not accept.
    pub mcp_refuses_token: bool,
    /// The next N My App lists answer `[]` whatever exists (a list lagging behind the apps).
    pub myapps_list_empty_next: u32,
    /// The next N `restart-my-app` calls answer an error result and restart nothing.
    pub restart_fails_next: u32,
    /// The next N gets of one My App (`GET /myapps/{id}`) answer 401, as OSC does for some
    /// seconds after a create, though the token is good.
    pub myapp_get_401_next: u32,
    /// How long a restarted My App keeps running (and serving) its old module, reported as
    /// running, before the restart takes effect.
    pub restart_lag: Duration,
}

/// One recorded API call. Each MCP tool call is recorded too, as service "mcp", method
/// "tools/call" and the tool's name as path (status 200, or 400 for an error result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// "deploy", "catalog", "token", "instance" or "mcp".
    pub service: &'static str,
    /// HTTP method (or "tools/call").
    pub method: String,
    /// Path (or the tool's name).
    pub path: String,
    /// Status answered.
    pub status: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    MyApp,
    Instance,
}

/// The life of one deployed app: its listener and what it serves.
struct Runtime {
    phase: Mutex<Phase>,
    refuse_until: Mutex<Option<Instant>>,
    generation: AtomicU64,
    stop: CancellationToken,
    logs: Mutex<Vec<String>>,
    served_sha256: Mutex<Option<String>>,
}

enum Phase {
    Starting,
    Running(Router),
    Failed,
}

struct App {
    kind: Kind,
    /// My Apps' `type` (always "wasm" unless seeded by a test).
    app_type: String,
    id: String,
    name: String,
    git_url: String,
    git_token: Option<String>,
    options: serde_json::Map<String, Value>,
    url: String,
    runtime: Arc<Runtime>,
}

#[derive(Default)]
struct Inner {
    apps: BTreeMap<String, App>,
    subscriptions: Vec<String>,
    service_tokens: HashMap<String, SystemTime>,
    calls: Vec<CallRecord>,
    next_id: u64,
}

struct Shared {
    pat: String,
    inner: Mutex<Inner>,
    faults: Mutex<Faults>,
    instance_api: Mutex<String>,
    stop: CancellationToken,
}

/// The running stand-in. Dropping it stops every listener, apps included.
pub struct Standin {
    shared: Arc<Shared>,
    /// Base URL of the deploy service (`OSC_DEPLOY_URL`).
    pub deploy_url: String,
    /// Base URL of the catalog (`OSC_CATALOG_URL`).
    pub catalog_url: String,
    /// Base URL of the token service (`OSC_TOKEN_URL`).
    pub token_url: String,
    /// OSC's MCP server, `apps` category surface (`OSC_MCP_URL`).
    pub mcp_url: String,
    /// OSC's MCP server, top-level endpoint (tools through `osc_call_tool`).
    pub mcp_root_url: String,
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}

impl Standin {
    /// Starts the four services on loopback ports; `pat` is the only personal access token accepted.
    pub async fn start(pat: &str) -> Self {
        let shared = Arc::new(Shared {
            pat: pat.to_owned(),
            inner: Mutex::new(Inner::default()),
            faults: Mutex::new(Faults::default()),
            instance_api: Mutex::new(String::new()),
            stop: CancellationToken::new(),
        });
        let gated = |router: Router<Arc<Shared>>, service: &'static str| {
            router
                .fallback(unknown_route)
                .layer(middleware::from_fn_with_state(
                    (shared.clone(), service),
                    gate,
                ))
                .with_state(shared.clone())
        };
        let deploy = Router::new()
            .route("/myapps", get(list_myapps).post(create_myapp))
            .route("/myapps/{id}", get(get_myapp).delete(delete_myapp));
        let catalog = Router::new().route(
            "/mysubscriptions",
            get(list_subscriptions).post(add_subscriptions),
        );
        let token = Router::new().route("/servicetoken", post(service_token));
        let instance = Router::new()
            .route(
                "/wasm-runnerinstance",
                get(list_instances).post(create_instance),
            )
            .route(
                "/wasm-runnerinstance/{name}",
                get(get_instance)
                    .patch(patch_instance)
                    .delete(delete_instance),
            )
            .route("/restart/{name}", post(restart_instance))
            .route("/health/{name}", get(instance_health))
            .route("/logs/{name}", get(instance_logs));
        let deploy_url = listen(gated(deploy, "deploy"), &shared.stop).await;
        let catalog_url = listen(gated(catalog, "catalog"), &shared.stop).await;
        let token_url = listen(gated(token, "token"), &shared.stop).await;
        // The catalog reports this host as the wasm runner's `apiUrl`.
        let instance_url = listen(gated(instance, "instance"), &shared.stop).await;
        *shared.instance_api.lock().unwrap() = instance_url;
        let mcp = Router::new()
            .route_service(MCP_APPS_PATH, mcp_service(&shared, Surface::Apps))
            .route_service(MCP_ROOT_PATH, mcp_service(&shared, Surface::Root));
        let mcp_base = listen(gated(mcp, "mcp"), &shared.stop).await;
        Self {
            shared,
            deploy_url,
            catalog_url,
            token_url,
            mcp_url: format!("{mcp_base}{MCP_APPS_PATH}"),
            mcp_root_url: format!("{mcp_base}{MCP_ROOT_PATH}"),
        }
    }

    /// Changes the faults (applies to the next calls).
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap() = faults;
    }

    /// Every API call so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.inner.lock().unwrap().calls.clone()
    }

    /// How many calls matched `method` and `path` on `service`.
    pub fn count(&self, service: &str, method: &str, path: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.service == service && c.method == method && c.path == path)
            .count()
    }

    /// Names of the My Apps (kind "myapp") or instances (kind "instance") that exist.
    pub fn names(&self, kind: &str) -> Vec<String> {
        let kind = if kind == "instance" {
            Kind::Instance
        } else {
            Kind::MyApp
        };
        let inner = self.shared.inner.lock().unwrap();
        inner
            .apps
            .values()
            .filter(|a| a.kind == kind)
            .map(|a| a.name.clone())
            .collect()
    }

    /// The sha256 of the module the app called `name` is serving right now, if it runs.
    pub fn served_sha256(&self, name: &str) -> Option<String> {
        let inner = self.shared.inner.lock().unwrap();
        let app = inner.apps.values().find(|a| a.name == name)?;
        app.runtime.served_sha256.lock().unwrap().clone()
    }

    /// Adds a My App of another type (e.g. a Node.js app the user has), which the stand-in does
    /// not run; for testing that deploy leaves it alone.
    pub fn seed_foreign_myapp(&self, name: &str, app_type: &str) {
        let mut inner = self.shared.inner.lock().unwrap();
        inner.next_id += 1;
        let id = format!("foreign{:04}", inner.next_id);
        let runtime = Arc::new(Runtime {
            phase: Mutex::new(Phase::Starting),
            refuse_until: Mutex::new(None),
            generation: AtomicU64::new(0),
            stop: self.shared.stop.child_token(),
            logs: Mutex::new(Vec::new()),
            served_sha256: Mutex::new(None),
        });
        let app = App {
            kind: Kind::MyApp,
            app_type: app_type.to_owned(),
            id: id.clone(),
            name: name.to_owned(),
            git_url: "https://github.com/someone/else".into(),
            git_token: None,
            options: Default::default(),
            url: format!("https://{id}.apps.standin.invalid"),
            runtime,
        };
        inner.apps.insert(id, app);
    }

    /// The id of the app called `name`.
    pub fn id_of(&self, name: &str) -> Option<String> {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .apps
            .values()
            .find(|a| a.name == name)
            .map(|a| a.id.clone())
    }

    /// The URL of the app called `name`.
    pub fn url_of(&self, name: &str) -> Option<String> {
        let inner = self.shared.inner.lock().unwrap();
        inner
            .apps
            .values()
            .find(|a| a.name == name)
            .map(|a| a.url.clone())
    }
}

/// Binds 127.0.0.1:0 and serves `app` until `stop` is cancelled; returns `http://127.0.0.1:PORT`.
async fn listen(app: Router, stop: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = stop.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    url
}

// ---------------------------------------------------------------- answers

fn reason(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "reason": text }))).into_response()
}

fn nginx_page(status: StatusCode) -> Response {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

async fn unknown_route(request: Request) -> Response {
    reason(
        StatusCode::NOT_FOUND,
        &format!("no route {} {}", request.method(), request.uri().path()),
    )
}

/// In front of every API call of `service`: the injected 502 page, then the auth header check,
/// then the handler; the call is recorded with the status it got.
async fn gate(
    State((shared, service)): State<(Arc<Shared>, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let injected = {
        let mut faults = shared.faults.lock().unwrap();
        if faults.html_502_next > 0 {
            faults.html_502_next -= 1;
            Some(nginx_page(StatusCode::BAD_GATEWAY))
        } else if faults.rate_limited_next > 0 && service == "deploy" {
            faults.rate_limited_next -= 1;
            let mut refused = reason(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            refused
                .headers_mut()
                .insert(header::RETRY_AFTER, "1".parse().unwrap());
            Some(refused)
        } else {
            None
        }
    };
    let response = match injected.or_else(|| check_auth(&shared, service, request.headers())) {
        Some(refused) => refused,
        None => next.run(request).await,
    };
    shared.inner.lock().unwrap().calls.push(CallRecord {
        service,
        method,
        path,
        status: response.status().as_u16(),
    });
    response
}

/// `x-jwt: Bearer <unexpired service token>` on the instance API, `Authorization: Bearer <PAT>`
/// on the MCP server (a 401 with a `WWW-Authenticate` challenge, as OAuth-protected MCP servers
/// answer), `x-pat-jwt: Bearer <PAT>` everywhere else; a 401 `{reason}` otherwise.
fn check_auth(shared: &Shared, service: &str, headers: &HeaderMap) -> Option<Response> {
    if service == "mcp" {
        let given = header_text(headers, "authorization");
        let (echo, refuse) = {
            let faults = shared.faults.lock().unwrap();
            (faults.echo_credentials_in_401, faults.mcp_refuses_token)
        };
        if !refuse && given.as_deref() == Some(format!("Bearer {}", shared.pat).as_str()) {
            return None;
        }
        let said = if echo {
            format!("invalid token {:?}", given.unwrap_or_default())
        } else {
            "invalid or missing token".to_owned()
        };
        let challenge = format!(
            "Bearer realm=\"osc-mcp\", error=\"invalid_token\", error_description={said:?}"
        );
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, challenge)],
                axum::Json(json!({ "error": "invalid_token", "error_description": said })),
            )
                .into_response(),
        );
    }
    let (name, ok) = if service == "instance" {
        let given = header_text(headers, "x-jwt");
        let valid = given
            .as_deref()
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|sat| {
                let inner = shared.inner.lock().unwrap();
                inner
                    .service_tokens
                    .get(sat)
                    .is_some_and(|expiry| SystemTime::now() < *expiry)
            });
        ("x-jwt", valid)
    } else {
        let expected = format!("Bearer {}", shared.pat);
        (
            "x-pat-jwt",
            header_text(headers, "x-pat-jwt").as_deref() == Some(expected.as_str()),
        )
    };
    if ok {
        return None;
    }
    let echo = shared.faults.lock().unwrap().echo_credentials_in_401;
    let text = if echo {
        format!(
            "Invalid token in {name}: {:?} (x-pat-jwt: {:?})",
            header_text(headers, name),
            header_text(headers, "x-pat-jwt")
        )
    } else {
        format!("Invalid or missing {name} token")
    };
    Some(reason(StatusCode::UNAUTHORIZED, &text))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// The body as a JSON object.
fn json_object(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

/// The 400 answer to a body that is not a JSON object.
fn not_an_object() -> Response {
    reason(StatusCode::BAD_REQUEST, "Body must be a JSON object")
}

fn text_field(object: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The answer to a successful create, unless a 504 fault is armed (the app exists anyway).
fn created_answer(shared: &Shared, json: Value) -> Response {
    let mut faults = shared.faults.lock().unwrap();
    if faults.create_504_after_creating > 0 {
        faults.create_504_after_creating -= 1;
        return nginx_page(StatusCode::GATEWAY_TIMEOUT);
    }
    axum::Json(json).into_response()
}

fn status_word(app: &App, starting: &'static str) -> &'static str {
    match &*app.runtime.phase.lock().unwrap() {
        Phase::Starting => starting,
        Phase::Running(_) => "running",
        Phase::Failed => "failed",
    }
}

// ---------------------------------------------------------------- My Apps

/// How the stand-in spells My Apps, from [`Faults`]: what the platform may leave out.
#[derive(Clone, Copy)]
struct Shape {
    without_branch: bool,
    without_build_status: bool,
}

fn myapp_json(app: &App, shape: Shape) -> Value {
    let git_url = match app.git_url.split_once('#') {
        Some((repo, _)) if shape.without_branch => repo,
        _ => app.git_url.as_str(),
    };
    let mut json = json!({
        "id": app.id,
        "name": app.name,
        "type": app.app_type,
        "gitHubUrl": git_url,
        "url": app.url,
        "appDns": app.url.trim_start_matches("http://"),
        "tenantId": "standin-tenant",
        "buildStatus": status_word(app, "building"),
    });
    if shape.without_build_status {
        json.as_object_mut().unwrap().remove("buildStatus");
    }
    json
}

fn find_myapp<'a>(inner: &'a Inner, id: &str) -> Option<&'a App> {
    inner.apps.get(id).filter(|a| a.kind == Kind::MyApp)
}

fn shape(shared: &Shared) -> Shape {
    let faults = shared.faults.lock().unwrap();
    Shape {
        without_branch: faults.git_url_without_branch,
        without_build_status: faults.no_build_status,
    }
}

fn all_myapps_json(shared: &Shared) -> Vec<Value> {
    let strip = shape(shared);
    let inner = shared.inner.lock().unwrap();
    inner
        .apps
        .values()
        .filter(|a| a.kind == Kind::MyApp)
        .map(|a| myapp_json(a, strip))
        .collect()
}

fn one_myapp_json(shared: &Shared, id: &str) -> Option<Value> {
    let strip = shape(shared);
    find_myapp(&shared.inner.lock().unwrap(), id).map(|a| myapp_json(a, strip))
}

async fn list_myapps(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut faults = shared.faults.lock().unwrap();
        if faults.myapps_list_empty_next > 0 {
            faults.myapps_list_empty_next -= 1;
            return axum::Json(Vec::<Value>::new()).into_response();
        }
    }
    axum::Json(all_myapps_json(&shared)).into_response()
}

async fn get_myapp(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>) -> Response {
    {
        let mut faults = shared.faults.lock().unwrap();
        if faults.myapp_get_401_next > 0 {
            faults.myapp_get_401_next -= 1;
            return reason(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
    }
    match one_myapp_json(&shared, &id) {
        Some(app) => axum::Json(app).into_response(),
        None => reason(StatusCode::NOT_FOUND, "App not found"),
    }
}

async fn create_myapp(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match json_object(&body) {
        Some(body) => body,
        None => return not_an_object(),
    };
    let name = text_field(&body, "name").unwrap_or_default();
    let git_url = text_field(&body, "gitHubUrl").unwrap_or_default();
    if text_field(&body, "type").as_deref() != Some("wasm") {
        return reason(StatusCode::BAD_REQUEST, "Only type wasm is served here");
    }
    if !valid_name(&name) {
        return reason(
            StatusCode::BAD_REQUEST,
            "Name must be lower-case letters and digits",
        );
    }
    if git_url.is_empty() {
        return reason(StatusCode::BAD_REQUEST, "gitHubUrl is required");
    }
    let token = text_field(&body, "gitHubToken");
    match create_app(
        &shared,
        Kind::MyApp,
        &name,
        &git_url,
        token,
        Default::default(),
    )
    .await
    {
        Ok(json) => created_answer(&shared, json),
        Err(refused) => refused,
    }
}

async fn delete_myapp(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>) -> Response {
    let removed = {
        let mut inner = shared.inner.lock().unwrap();
        find_myapp(&inner, &id)
            .is_some()
            .then(|| inner.apps.remove(&id))
            .flatten()
    };
    match removed {
        Some(app) => {
            app.runtime.stop.cancel();
            StatusCode::NO_CONTENT.into_response()
        }
        None => reason(StatusCode::NOT_FOUND, "App not found"),
    }
}

// ---------------------------------------------------------------- catalog and tokens

async fn list_subscriptions(State(shared): State<Arc<Shared>>) -> Response {
    let api = shared.instance_api.lock().unwrap().clone();
    let list: Vec<Value> = shared
        .inner
        .lock()
        .unwrap()
        .subscriptions
        .iter()
        .map(|id| json!({ "serviceId": id, "apiUrl": api }))
        .collect();
    axum::Json(list).into_response()
}

async fn add_subscriptions(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let wanted: Option<Vec<String>> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| serde_json::from_value(v["services"].clone()).ok());
    let Some(services) = wanted else {
        return reason(
            StatusCode::BAD_REQUEST,
            "Body must be {\"services\": [...]}",
        );
    };
    if services.iter().any(|s| s != WASM_RUNNER) {
        return reason(StatusCode::NOT_FOUND, "Unknown service");
    }
    let mut inner = shared.inner.lock().unwrap();
    for s in services {
        if !inner.subscriptions.contains(&s) {
            inner.subscriptions.push(s);
        }
    }
    axum::Json(json!({ "teamId": "standin-tenant", "services": inner.subscriptions }))
        .into_response()
}

static SAT_COUNTER: AtomicU64 = AtomicU64::new(1);

async fn service_token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Some(service) = json_object(&body).and_then(|b| text_field(&b, "serviceId")) else {
        return reason(StatusCode::BAD_REQUEST, "serviceId is required");
    };
    let lifetime = shared
        .faults
        .lock()
        .unwrap()
        .sat_lifetime
        .unwrap_or(Duration::from_secs(3600));
    let mut inner = shared.inner.lock().unwrap();
    if !inner.subscriptions.contains(&service) {
        return reason(
            StatusCode::FORBIDDEN,
            &format!("Not subscribed to {service}"),
        );
    }
    let n = SAT_COUNTER.fetch_add(1, Ordering::Relaxed);
    let token = format!("standin-sat-{n}-{}", std::process::id());
    let expiry = SystemTime::now() + lifetime;
    inner.service_tokens.insert(token.clone(), expiry);
    let expiry_s = expiry.duration_since(UNIX_EPOCH).unwrap().as_secs();
    axum::Json(json!({ "serviceId": service, "token": token, "expiry": expiry_s })).into_response()
}

// ---------------------------------------------------------------- instances

fn instance_json(app: &App) -> Value {
    let mut json = json!({
        "name": app.name,
        "url": app.url,
        "resources": { "license": { "url": "https://standin.invalid/license" } },
        "_links": {
            "self": { "href": format!("/wasm-runnerinstance/{}", app.name) },
            "logs": { "href": format!("/logs/{}", app.name) },
            "health": { "href": format!("/health/{}", app.name) },
            "restart": { "href": format!("/restart/{}", app.name) },
        },
    });
    // The documented Instance echoes its options.
    for (k, v) in &app.options {
        json[k] = v.clone();
    }
    json
}

fn find_instance<'a>(inner: &'a Inner, name: &str) -> Option<&'a App> {
    inner
        .apps
        .values()
        .find(|a| a.kind == Kind::Instance && a.name == name)
}

/// `answer(instance)`, or the documented 404 `{reason}` when there is none called `name`.
fn with_instance(shared: &Shared, name: &str, answer: impl FnOnce(&App) -> Response) -> Response {
    match find_instance(&shared.inner.lock().unwrap(), name) {
        Some(app) => answer(app),
        None => reason(StatusCode::NOT_FOUND, "Instance not found"),
    }
}

async fn list_instances(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.inner.lock().unwrap();
    let list: Vec<Value> = inner
        .apps
        .values()
        .filter(|a| a.kind == Kind::Instance)
        .map(instance_json)
        .collect();
    axum::Json(list).into_response()
}

async fn create_instance(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut options = match json_object(&body) {
        Some(body) => body,
        None => return not_an_object(),
    };
    let name = options
        .remove("name")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    if !valid_name(&name) {
        return reason(
            StatusCode::BAD_REQUEST,
            "Name must be lower-case letters and digits",
        );
    }
    let git_url = text_field(&options, "GithubUrl").unwrap_or_default();
    let token = text_field(&options, "GithubToken");
    match create_app(&shared, Kind::Instance, &name, &git_url, token, options).await {
        Ok(json) => created_answer(&shared, json),
        Err(refused) => refused,
    }
}

async fn get_instance(
    State(shared): State<Arc<Shared>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    with_instance(&shared, &name, |app| {
        axum::Json(instance_json(app)).into_response()
    })
}

/// Documented as update + restart: the options change and the app clones again.
async fn patch_instance(
    State(shared): State<Arc<Shared>>,
    UrlPath(name): UrlPath<String>,
    body: Bytes,
) -> Response {
    let changes = match json_object(&body) {
        Some(body) => body,
        None => return not_an_object(),
    };
    let relaunch = {
        let mut inner = shared.inner.lock().unwrap();
        let app = inner
            .apps
            .values_mut()
            .find(|a| a.kind == Kind::Instance && a.name == name);
        app.map(|app| {
            for (k, v) in changes.into_iter().filter(|(k, _)| k != "name") {
                match k.as_str() {
                    "GithubUrl" => app.git_url = v.as_str().unwrap_or_default().to_owned(),
                    "GithubToken" => app.git_token = v.as_str().map(str::to_owned),
                    _ => {}
                }
                app.options.insert(k, v);
            }
            let relaunch = (
                app.runtime.clone(),
                app.git_url.clone(),
                app.git_token.clone(),
            );
            (relaunch, instance_json(app))
        })
    };
    match relaunch {
        Some(((runtime, url, token), json)) => {
            launch(&shared, runtime, url, token);
            axum::Json(json).into_response()
        }
        None => reason(StatusCode::NOT_FOUND, "Instance not found"),
    }
}

async fn delete_instance(
    State(shared): State<Arc<Shared>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let removed = {
        let mut inner = shared.inner.lock().unwrap();
        let id = find_instance(&inner, &name).map(|a| a.id.clone());
        id.and_then(|id| inner.apps.remove(&id))
    };
    match removed {
        Some(app) => {
            app.runtime.stop.cancel();
            StatusCode::NO_CONTENT.into_response()
        }
        None => reason(StatusCode::NOT_FOUND, "Instance not found"),
    }
}

async fn restart_instance(
    State(shared): State<Arc<Shared>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    with_instance(&shared, &name, |app| {
        let (runtime, url, token) = (
            app.runtime.clone(),
            app.git_url.clone(),
            app.git_token.clone(),
        );
        launch(&shared, runtime, url, token);
        StatusCode::NO_CONTENT.into_response()
    })
}

async fn instance_health(
    State(shared): State<Arc<Shared>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    with_instance(&shared, &name, |app| {
        axum::Json(json!({ "status": status_word(app, "starting") })).into_response()
    })
}

async fn instance_logs(
    State(shared): State<Arc<Shared>>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    with_instance(&shared, &name, |app| {
        let text = app.runtime.logs.lock().unwrap().join("\n");
        ([(header::CONTENT_TYPE, "text/plain")], text).into_response()
    })
}

// ---------------------------------------------------------------- OSC's MCP server

/// The `apps` category surface: its tools are listed directly.
const MCP_APPS_PATH: &str = "/mcp/category/apps";
/// The top-level endpoint: tools are reached through `osc_call_tool`.
const MCP_ROOT_PATH: &str = "/mcp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Apps,
    Root,
}

fn mcp_service(
    shared: &Arc<Shared>,
    surface: Surface,
) -> rmcp::transport::StreamableHttpService<
    OscMcp,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    let shared = shared.clone();
    let config = rmcp::transport::StreamableHttpServerConfig::default()
        .with_cancellation_token(shared.stop.child_token());
    rmcp::transport::StreamableHttpService::new(
        move || {
            Ok(OscMcp {
                shared: shared.clone(),
                surface,
            })
        },
        Default::default(),
        config,
    )
}

/// One MCP session with the stand-in.
struct OscMcp {
    shared: Arc<Shared>,
    surface: Surface,
}

fn tool(name: &'static str, description: &'static str, schema: Value) -> rmcp::model::Tool {
    let Value::Object(schema) = schema else {
        unreachable!("schemas are objects")
    };
    rmcp::model::Tool::new(name, description, schema)
}

/// The apps tools this stand-in implements, with their input schemas.
fn apps_tools() -> Vec<rmcp::model::Tool> {
    let app_id = json!({"type": "string", "description": "The id of the My App"});
    vec![
        tool(
            "list-my-apps",
            "List your My Apps",
            json!({"type": "object", "properties": {}}),
        ),
        tool(
            "get-my-app",
            "Get one My App",
            json!({"type": "object", "properties": {"appId": app_id}, "required": ["appId"]}),
        ),
        tool(
            "restart-my-app",
            "Restart a My App",
            json!({"type": "object", "properties": {
                "appId": app_id,
                "rebuild": {"type": "boolean", "description": "Rebuild from source first"}
            }, "required": ["appId"]}),
        ),
        tool(
            "get-my-app-logs",
            "The logs of a My App",
            json!({"type": "object", "properties": {
                "appId": app_id,
                "tail": {"type": "number", "description": "Number of lines"}
            }, "required": ["appId"]}),
        ),
    ]
}

fn root_tools() -> Vec<rmcp::model::Tool> {
    vec![
        tool(
            "osc_search_tools",
            "Search OSC's tools",
            json!({"type": "object", "properties": {"query": {"type": "string"}}}),
        ),
        tool(
            "osc_call_tool",
            "Call any OSC tool by name",
            json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "args": {"type": "object"}
            }, "required": ["name"]}),
        ),
        tool(
            "get-mcp-help",
            "Help",
            json!({"type": "object", "properties": {}}),
        ),
    ]
}

fn tool_text(text: impl Into<String>) -> rmcp::model::CallToolResult {
    rmcp::model::CallToolResult::success(vec![rmcp::model::ContentBlock::text(text)])
}

fn tool_error(text: impl Into<String>) -> rmcp::model::CallToolResult {
    rmcp::model::CallToolResult::error(vec![rmcp::model::ContentBlock::text(text)])
}

impl OscMcp {
    fn hidden(&self, name: &str) -> bool {
        let faults = self.shared.faults.lock().unwrap();
        faults.mcp_hidden_tools.iter().any(|h| h == name)
    }

    /// Runs one apps tool, as `osc_call_tool` does too.
    fn run_apps_tool(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
    ) -> rmcp::model::CallToolResult {
        if self.hidden(name) || !apps_tools().iter().any(|t| t.name == name) {
            return tool_error(format!("Unknown tool: {name}"));
        }
        if name == "list-my-apps" {
            return tool_text(Value::Array(all_myapps_json(&self.shared)).to_string());
        }
        let Some(id) = args.get("appId").and_then(Value::as_str) else {
            return tool_error("appId is required");
        };
        let Some(app) = one_myapp_json(&self.shared, id) else {
            return tool_error(format!("App {id} not found"));
        };
        match name {
            "get-my-app" => tool_text(app.to_string()),
            "restart-my-app" => {
                {
                    let mut faults = self.shared.faults.lock().unwrap();
                    if faults.restart_fails_next > 0 {
                        faults.restart_fails_next -= 1;
                        return tool_error("Internal error: the restart could not be scheduled");
                    }
                }
                let relaunch = {
                    let inner = self.shared.inner.lock().unwrap();
                    find_myapp(&inner, id)
                        .map(|a| (a.runtime.clone(), a.git_url.clone(), a.git_token.clone()))
                };
                let Some((runtime, url, token)) = relaunch else {
                    return tool_error(format!("App {id} not found"));
                };
                let lag = self.shared.faults.lock().unwrap().restart_lag;
                if lag.is_zero() {
                    launch(&self.shared, runtime, url, token);
                } else {
                    let shared = self.shared.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(lag).await;
                        launch(&shared, runtime, url, token);
                    });
                }
                tool_text(format!("App {id} is restarting"))
            }
            "get-my-app-logs" => {
                let tail = args.get("tail").and_then(Value::as_u64).unwrap_or(100) as usize;
                let inner = self.shared.inner.lock().unwrap();
                let lines = find_myapp(&inner, id)
                    .map(|a| a.runtime.logs.lock().unwrap().clone())
                    .unwrap_or_default();
                let from = lines.len().saturating_sub(tail);
                tool_text(json!({ "appId": id, "logs": lines[from..].join("\n") }).to_string())
            }
            _ => tool_error(format!("Unknown tool: {name}")),
        }
    }

    fn record(&self, tool: &str, ok: bool) {
        self.shared.inner.lock().unwrap().calls.push(CallRecord {
            service: "mcp",
            method: "tools/call".into(),
            path: tool.to_owned(),
            status: if ok { 200 } else { 400 },
        });
    }
}

impl rmcp::ServerHandler for OscMcp {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        rmcp::model::ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        )
        .with_server_info(rmcp::model::Implementation::new("osc-mcp-standin", "0.0.0"))
    }

    async fn list_tools(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, rmcp::ErrorData> {
        let tools = match self.surface {
            Surface::Apps => apps_tools()
                .into_iter()
                .filter(|t| !self.hidden(&t.name))
                .collect(),
            Surface::Root => root_tools(),
        };
        Ok(rmcp::model::ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        let args = request.arguments.clone().unwrap_or_default();
        let (name, result) = match (self.surface, request.name.as_ref()) {
            (Surface::Apps, name) => (name.to_owned(), self.run_apps_tool(name, &args)),
            (Surface::Root, "osc_call_tool") => {
                let inner_name = args.get("name").and_then(Value::as_str).unwrap_or("");
                let inner_args = args
                    .get("args")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                (
                    inner_name.to_owned(),
                    self.run_apps_tool(inner_name, &inner_args),
                )
            }
            (Surface::Root, "osc_search_tools") => (
                "osc_search_tools".into(),
                tool_text(
                    apps_tools()
                        .iter()
                        .map(|t| t.name.to_string())
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            ),
            (Surface::Root, name) => (name.to_owned(), tool_text("OSC MCP stand-in")),
        };
        self.record(&name, result.is_error != Some(true));
        Ok(result.into())
    }
}

// ---------------------------------------------------------------- running what is deployed

/// Registers a new app (409 if the name is taken), binds its URL and starts it.
async fn create_app(
    shared: &Arc<Shared>,
    kind: Kind,
    name: &str,
    git_url: &str,
    git_token: Option<String>,
    options: serde_json::Map<String, Value>,
) -> Result<Value, Response> {
    let taken = {
        let inner = shared.inner.lock().unwrap();
        inner
            .apps
            .values()
            .any(|a| a.kind == kind && a.name == name)
    };
    if taken {
        return Err(reason(StatusCode::CONFLICT, "Name is already taken"));
    }
    let runtime = Arc::new(Runtime {
        phase: Mutex::new(Phase::Starting),
        refuse_until: Mutex::new(None),
        generation: AtomicU64::new(0),
        stop: shared.stop.child_token(),
        logs: Mutex::new(Vec::new()),
        served_sha256: Mutex::new(None),
    });
    let url = listen(app_router(runtime.clone()), &runtime.stop).await;
    let strip = shape(shared);
    let app = {
        let mut inner = shared.inner.lock().unwrap();
        inner.next_id += 1;
        let id = format!("standin{:04}", inner.next_id);
        let app = App {
            kind,
            app_type: "wasm".into(),
            id: id.clone(),
            name: name.to_owned(),
            git_url: git_url.to_owned(),
            git_token: git_token.clone(),
            options,
            url,
            runtime: runtime.clone(),
        };
        let json = match kind {
            Kind::MyApp => myapp_json(&app, strip),
            Kind::Instance => instance_json(&app),
        };
        inner.apps.insert(id, app);
        json
    };
    launch(shared, runtime, git_url.to_owned(), git_token);
    Ok(app)
}

/// (Re)starts an app the way the runner container does: clone, take the first `.wasm`, serve it.
fn launch(shared: &Arc<Shared>, runtime: Arc<Runtime>, git_url: String, token: Option<String>) {
    let generation = runtime.generation.fetch_add(1, Ordering::SeqCst) + 1;
    *runtime.phase.lock().unwrap() = Phase::Starting;
    let faults = shared.faults.lock().unwrap().clone();
    tokio::spawn(async move {
        tokio::time::sleep(faults.slow_start).await;
        let log = |line: String| runtime.logs.lock().unwrap().push(line);
        log(format!("cloning {}", display_git_url(&git_url)));
        let loaded = load_module(&git_url, token.as_deref()).await;
        if runtime.generation.load(Ordering::SeqCst) != generation {
            return; // A newer restart took over.
        }
        match loaded {
            Ok((file, bytes)) => {
                match pixelsmith::runner::Runner::from_bytes(
                    &bytes,
                    pixelsmith::runner::RunnerConfig::default(),
                ) {
                    Ok(runner) => {
                        log(format!(
                            "copied {file} to /usercontent/main.wasm ({} bytes)",
                            bytes.len()
                        ));
                        log("Server listening at http://0.0.0.0:8080".into());
                        *runtime.served_sha256.lock().unwrap() = Some(sha256_hex(&bytes));
                        *runtime.refuse_until.lock().unwrap() =
                            Some(Instant::now() + faults.unauthorized_after_start);
                        *runtime.phase.lock().unwrap() =
                            Phase::Running(pixelsmith::runner::router(runner));
                    }
                    Err(err) => {
                        log(format!("module does not run: {err}"));
                        *runtime.phase.lock().unwrap() = Phase::Failed;
                    }
                }
            }
            Err(err) => {
                log(err);
                log("container exited with code 1".into());
                *runtime.phase.lock().unwrap() = Phase::Failed;
            }
        }
    });
}

fn display_git_url(url: &str) -> String {
    // The stand-in's own logs never need credentials either.
    match url.split_once('@') {
        Some((head, tail)) if head.contains("://") => {
            format!("{}://***@{tail}", head.split("://").next().unwrap_or(""))
        }
        _ => url.to_owned(),
    }
}

/// Clones `<repo>#<branch>` and returns the first `.wasm` file found (name, bytes).
async fn load_module(git_url: &str, token: Option<&str>) -> Result<(String, Vec<u8>), String> {
    let (repo, branch) = match git_url.rsplit_once('#') {
        Some((repo, branch)) => (repo, Some(branch)),
        None => (git_url, None),
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = dir.path().join("repo");
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("clone").arg("-q").arg("--depth=1");
    if let Some(branch) = branch {
        cmd.arg("--branch").arg(branch);
    }
    cmd.arg(repo)
        .arg(&target)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(token) = token {
        use base64::Engine as _;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
        cmd.env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env(
                "GIT_CONFIG_VALUE_0",
                format!("Authorization: Basic {basic}"),
            );
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .map_err(|_| "git clone timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "git clone failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let file = first_wasm(&target).ok_or_else(|| "no .wasm file in the repository".to_owned())?;
    let bytes = std::fs::read(&file).map_err(|e| e.to_string())?;
    let rel = file
        .strip_prefix(&target)
        .unwrap_or(&file)
        .display()
        .to_string();
    Ok((rel, bytes))
}

fn first_wasm(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in &entries {
        let path = entry.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "wasm") {
            return Some(path);
        }
    }
    for entry in entries {
        let path = entry.path();
        if path.is_dir()
            && entry.file_name() != ".git"
            && let Some(found) = first_wasm(&path)
        {
            return Some(found);
        }
    }
    None
}

/// sha256 as lower-case hex (what the stand-in reports for the module it serves).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The app's own URL: a gateway page while starting or failed, 401 right after start (fault),
/// then the runner emulation serving the cloned module.
fn app_router(runtime: Arc<Runtime>) -> Router {
    Router::new()
        .fallback(
            |State(runtime): State<Arc<Runtime>>, request: Request<Body>| async move {
                let router = match &*runtime.phase.lock().unwrap() {
                    Phase::Starting => None,
                    Phase::Running(router) => Some(router.clone()),
                    Phase::Failed => return nginx_page(StatusCode::BAD_GATEWAY),
                };
                let Some(router) = router else {
                    return nginx_page(StatusCode::SERVICE_UNAVAILABLE);
                };
                let refusing = runtime
                    .refuse_until
                    .lock()
                    .unwrap()
                    .is_some_and(|until| Instant::now() < until);
                if refusing {
                    return nginx_page(StatusCode::UNAUTHORIZED);
                }
                match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            },
        )
        .with_state(runtime)
}
