//! A client for OSC's own MCP server (Streamable HTTP, `Authorization: Bearer <PAT>`), used for
//! what OSC's documented REST API lacks: restarting a My App (`restart-my-app`), reading its logs
//! (`get-my-app-logs`) and checking that the server knows it (`get-my-app`).
//!
//! The tools' input schemas are read from `tools/list` at run time (`shared/osc-platform.md` §7:
//! "read the exact input schemas rather than assuming them"): the app is passed under whichever
//! id or name property the schema has, optional arguments only when the schema lists them, and a
//! required argument we cannot fill is an error that says so. On the `apps` category surface the
//! tools are listed directly; on the top-level endpoint they are reached through `osc_call_tool
//! {name, args}`. A tool that is offered neither way is "not available" with a clear message.
//!
//! Every step (connect and list, each call) has the client's time limit; the token travels only
//! in the `Authorization` header (marked sensitive by reqwest), redirects are not followed (they
//! would carry it elsewhere), and every message goes through the one error type, which scrubs.

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig};
use rmcp::model::{Implementation, JsonObject, Tool};
use rmcp::service::{ClientInitializeError, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::{Map, Value};

use super::client::OscClient;
use super::error::{Error, Result, TokenKind};

/// Restarts a My App: `{appId, rebuild?}`.
pub(crate) const RESTART_TOOL: &str = "restart-my-app";
/// A My App's logs: `{appId, tail}`.
pub(crate) const LOGS_TOOL: &str = "get-my-app-logs";
/// One My App: `{appId}`.
pub(crate) const GET_TOOL: &str = "get-my-app";
/// The top-level endpoint's dispatcher: `{name, args}`.
const DISPATCH_TOOL: &str = "osc_call_tool";

/// Property names a tool may use for the app's id, and for its name.
const ID_KEYS: [&str; 3] = ["appId", "id", "app_id"];
const NAME_KEYS: [&str; 2] = ["appName", "name"];

/// The My App a tool acts on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppRef<'a> {
    /// Its id (`MyApp.id`).
    pub(crate) id: &'a str,
    /// Its name.
    pub(crate) name: &'a str,
}

/// One session with OSC's MCP server and the tools it lists.
pub(crate) struct PlatformMcp {
    service: RunningService<RoleClient, ClientConfig>,
    tools: Vec<Tool>,
    url: String,
    timeout: Duration,
}

impl std::fmt::Debug for PlatformMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformMcp")
            .field("url", &self.url)
            .field("tools", &self.tools.len())
            .finish_non_exhaustive()
    }
}

/// How a tool is reached: listed directly, or through the dispatcher with these property names.
enum Route<'a> {
    Direct(&'a Tool),
    Dispatch { name_key: String, args_key: String },
}

impl PlatformMcp {
    /// Connects to the MCP server of `client`'s endpoints with its token and lists the tools.
    /// Transient failures (5xx, timeouts, refused connections) are retried with the client's
    /// policy; a refused token is not.
    pub(crate) async fn connect(client: &OscClient) -> Result<Self> {
        let policy = client.retry_policy();
        let mut retry = 0;
        let mut timeouts = 0;
        loop {
            match Self::connect_once(client).await {
                // A server that let one connect run out of time is asked once more, not
                // `attempts` times (as the REST client does).
                Err(err @ Error::Timeout { .. }) if timeouts >= 1 => return Err(err),
                Err(err) if err.is_transient() && retry + 1 < policy.attempts.max(1) => {
                    if matches!(err, Error::Timeout { .. }) {
                        timeouts += 1;
                    }
                    retry += 1;
                    let pause = policy.delay(retry);
                    tracing::info!(error = %err, ?pause, "OSC's MCP server: transient failure, retrying");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    async fn connect_once(client: &OscClient) -> Result<Self> {
        let url = client.endpoints().mcp.to_string();
        let timeout = client.request_timeout();
        let op = format!("connect to OSC's MCP server ({url})");
        install_crypto_provider();
        let http = reqwest_mcp::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .read_timeout(timeout)
            .redirect(reqwest_mcp::redirect::Policy::none())
            .user_agent(concat!("pixelsmith/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the MCP client: {e}")))?;
        let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
            .auth_header(client.pat().expose());
        let transport = StreamableHttpClientTransport::with_client(http, config);
        let identity = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
        );
        let service = within(&op, timeout, identity.serve(transport))
            .await?
            .map_err(|e| classify(&op, timeout, &e))?;
        let listing = format!("list the tools of OSC's MCP server ({url})");
        let tools = match within(&listing, timeout, service.list_all_tools()).await {
            Ok(Ok(tools)) => tools,
            Ok(Err(e)) => {
                let err = classify(&listing, timeout, &e);
                let _ = service.cancel().await;
                return Err(err);
            }
            Err(err) => {
                let _ = service.cancel().await;
                return Err(err);
            }
        };
        tracing::debug!(url = %url, tools = tools.len(), "connected to OSC's MCP server");
        Ok(Self {
            service,
            tools,
            url,
            timeout,
        })
    }

    /// Ends the session (best effort).
    pub(crate) async fn close(self) {
        let _ = tokio::time::timeout(self.timeout, self.service.cancel()).await;
    }

    /// Fails with "not available" unless `tool` can be called, directly or through the dispatcher.
    pub(crate) fn require(&self, tool: &str, op: &str) -> Result<()> {
        self.route(tool)
            .map(drop)
            .ok_or_else(|| self.not_available(tool, op))
    }

    fn route(&self, tool: &str) -> Option<Route<'_>> {
        if let Some(found) = self.tools.iter().find(|t| t.name == tool) {
            return Some(Route::Direct(found));
        }
        let dispatcher = self.tools.iter().find(|t| t.name == DISPATCH_TOOL)?;
        let props = properties(&dispatcher.input_schema);
        let pick = |candidates: &[&str]| -> Option<String> {
            match props {
                None => candidates.first().map(|c| (*c).to_owned()),
                Some(props) => candidates
                    .iter()
                    .find(|c| props.contains_key(**c))
                    .map(|c| (*c).to_owned()),
            }
        };
        Some(Route::Dispatch {
            name_key: pick(&["name", "toolName", "tool"])?,
            args_key: pick(&["args", "arguments", "params", "input"])?,
        })
    }

    fn not_available(&self, tool: &str, op: &str) -> Error {
        let mut offered: Vec<&str> = self.tools.iter().map(|t| t.name.as_ref()).collect();
        offered.sort_unstable();
        let shown = if offered.is_empty() {
            "none".to_owned()
        } else {
            offered.join(", ")
        };
        Error::Unsupported(format!(
            "{op}: not available: OSC's MCP server at {} offers no tool '{tool}' (nor \
             {DISPATCH_TOOL} to reach it); its tools: {shown}. Point --mcp-url (OSC_MCP_URL) at \
             the server's apps surface ({}) or at its top-level endpoint",
            self.url,
            super::client::DEFAULT_MCP_URL
        ))
    }

    /// Calls `tool` for `app` with the optional `extra` arguments, and returns its text.
    pub(crate) async fn call_for_app(
        &self,
        tool: &str,
        op: &str,
        app: AppRef<'_>,
        extra: &[(&str, Value)],
    ) -> Result<String> {
        let route = self
            .route(tool)
            .ok_or_else(|| self.not_available(tool, op))?;
        let params = match route {
            Route::Direct(found) => {
                let args = fill_arguments(tool, op, &found.input_schema, app, extra)?;
                CallToolRequestParams::new(tool.to_owned()).with_arguments(args)
            }
            Route::Dispatch { name_key, args_key } => {
                // The dispatcher does not show the underlying schema: documented names.
                let args = fill_arguments(tool, op, &JsonObject::new(), app, extra)?;
                let mut outer = Map::new();
                outer.insert(name_key, Value::String(tool.to_owned()));
                outer.insert(args_key, Value::Object(args));
                CallToolRequestParams::new(DISPATCH_TOOL).with_arguments(outer)
            }
        };
        let result = within(op, self.timeout, self.service.call_tool(params))
            .await?
            .map_err(|e| classify(op, self.timeout, &e))?;
        let text = result_text(&result);
        if result.is_error == Some(true) {
            return Err(Error::ToolFailed {
                op: op.to_owned(),
                tool: tool.to_owned(),
                message: if text.trim().is_empty() {
                    "no details given".into()
                } else {
                    text
                },
            });
        }
        Ok(text)
    }
}

/// rmcp's reqwest 0.13 client is built without a TLS crypto provider (to keep aws-lc's C build
/// out); this installs rustls' ring provider as the process default once. A default installed
/// earlier by someone else is kept.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

async fn within<T>(op: &str, limit: Duration, work: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| Error::Timeout {
            op: op.to_owned(),
            after_s: limit.as_secs().max(1),
        })
}

fn properties(schema: &JsonObject) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// The arguments of `tool` for `app`, shaped by its input schema: the id (or name) under the
/// property the schema has, `extra` only where the schema lists it (all of them when the schema
/// is unknown), values converted to the schema's string/number/boolean type. A required property
/// left unfilled is an error naming it.
pub(crate) fn fill_arguments(
    tool: &str,
    op: &str,
    schema: &JsonObject,
    app: AppRef<'_>,
    extra: &[(&str, Value)],
) -> Result<Map<String, Value>> {
    let mut args = Map::new();
    let Some(props) = properties(schema).filter(|p| !p.is_empty()) else {
        args.insert("appId".into(), Value::String(app.id.to_owned()));
        for (key, value) in extra {
            args.insert((*key).to_owned(), value.clone());
        }
        return Ok(args);
    };
    let put = |args: &mut Map<String, Value>, key: &str, value: Value| {
        let kind = props
            .get(key)
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str);
        args.insert(key.to_owned(), coerce(value, kind));
    };
    if let Some(key) = ID_KEYS.iter().find(|k| props.contains_key(**k)) {
        put(&mut args, key, Value::String(app.id.to_owned()));
    } else if let Some(key) = NAME_KEYS.iter().find(|k| props.contains_key(**k)) {
        put(&mut args, key, Value::String(app.name.to_owned()));
    }
    for (key, value) in extra {
        if props.contains_key(*key) {
            put(&mut args, key, value.clone());
        }
    }
    let missing: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|key| !args.contains_key(*key))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Unsupported(format!(
            "{op}: OSC's MCP tool '{tool}' now requires {} that pixelsmith does not know how to \
             fill (its input schema changed); nothing was called",
            missing.join(", ")
        )));
    }
    Ok(args)
}

/// `value` as the JSON type a schema names, where that is a lossless change.
fn coerce(value: Value, kind: Option<&str>) -> Value {
    match (kind, &value) {
        (Some("string"), Value::Number(n)) => Value::String(n.to_string()),
        (Some("string"), Value::Bool(b)) => Value::String(b.to_string()),
        (Some("integer" | "number"), Value::String(s)) => {
            s.parse::<i64>().map(Value::from).unwrap_or(value)
        }
        _ => value,
    }
}

/// The text of a tool result: its text blocks, else its structured content as JSON.
fn result_text(result: &CallToolResult) -> String {
    let text: Vec<&str> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect();
    if !text.is_empty() {
        return text.join("\n");
    }
    result
        .structured_content
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default()
}

/// Maps an rmcp client error to [`Error`] by what caused it: a refused token, an HTTP status, a
/// time limit, an unreachable server, else an unexpected answer.
fn classify(op: &str, limit: Duration, err: &(dyn std::error::Error + 'static)) -> Error {
    let op = op.to_owned();
    let mut chain = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(http) = e.downcast_ref::<StreamableHttpError<reqwest_mcp::Error>>()
            && let Some(mapped) = from_http_error(&op, limit, http)
        {
            return mapped;
        }
        if let Some(req) = e.downcast_ref::<reqwest_mcp::Error>() {
            return from_reqwest(&op, limit, req);
        }
        chain.push(e.to_string());
        cause = match e.downcast_ref::<ClientInitializeError>() {
            // Its transport error is a plain field, not a `source`.
            Some(ClientInitializeError::TransportError { error, .. }) => Some(error),
            _ => e.source(),
        };
    }
    chain.dedup();
    let detail = chain.join(": ");
    // rmcp reports an unchallenged 401/403 only as text ("HTTP 401 Unauthorized: ...").
    if detail.contains("HTTP 403") {
        return Error::Api {
            op,
            status: 403,
            reason: "OSC's MCP server accepted the token but does not allow this (forbidden): \
                     check that OSC_ACCESS_TOKEN belongs to a user who may manage My Apps"
                .into(),
        };
    }
    if detail.contains("HTTP 401") {
        return Error::Unauthorized {
            op,
            token: TokenKind::Personal,
            reason: "OSC's MCP server refused the token".into(),
        };
    }
    Error::BadResponse { op, detail }
}

fn from_http_error(
    op: &str,
    limit: Duration,
    err: &StreamableHttpError<reqwest_mcp::Error>,
) -> Option<Error> {
    let op = op.to_owned();
    Some(match err {
        StreamableHttpError::AuthRequired(_) | StreamableHttpError::InsufficientScope(_) => {
            Error::Unauthorized {
                op,
                token: TokenKind::Personal,
                reason: "OSC's MCP server refused the token".into(),
            }
        }
        StreamableHttpError::HttpStatus(status) => Error::Api {
            op,
            status: status.status,
            reason: "OSC's MCP server is not answering (try again in a minute)".into(),
        },
        StreamableHttpError::Client(e) => from_reqwest(&op, limit, e),
        _ => return None,
    })
}

fn from_reqwest(op: &str, limit: Duration, err: &reqwest_mcp::Error) -> Error {
    if err.is_timeout() {
        return Error::Timeout {
            op: op.to_owned(),
            after_s: limit.as_secs().max(1),
        };
    }
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Unreachable {
        op: op.to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(value: Value) -> JsonObject {
        value.as_object().unwrap().clone()
    }

    const APP: AppRef<'static> = AppRef {
        id: "abc123",
        name: "pix",
    };

    #[test]
    fn arguments_follow_the_schema() {
        let restart = schema(json!({
            "type": "object",
            "properties": {"appId": {"type": "string"}, "rebuild": {"type": "boolean"}},
            "required": ["appId"]
        }));
        let args = fill_arguments("r", "op", &restart, APP, &[("rebuild", json!(true))]).unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"appId": "abc123", "rebuild": true})
        );

        // No `rebuild` in the schema: not sent. `tail` as a string: converted.
        let logs = schema(json!({
            "type": "object",
            "properties": {"appId": {"type": "string"}, "tail": {"type": "string"}},
        }));
        let args = fill_arguments(
            "l",
            "op",
            &logs,
            APP,
            &[("tail", json!(50)), ("rebuild", json!(true))],
        )
        .unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"appId": "abc123", "tail": "50"})
        );

        // A tool that names the app instead.
        let by_name = schema(json!({"properties": {"appName": {"type": "string"}}}));
        let args = fill_arguments("d", "op", &by_name, APP, &[]).unwrap();
        assert_eq!(Value::Object(args), json!({"appName": "pix"}));

        // Unknown schema: the documented names.
        let args =
            fill_arguments("r", "op", &JsonObject::new(), APP, &[("tail", json!(5))]).unwrap();
        assert_eq!(Value::Object(args), json!({"appId": "abc123", "tail": 5}));
    }

    #[test]
    fn an_unfillable_required_argument_is_named() {
        let changed = schema(json!({
            "properties": {"appId": {"type": "string"}, "region": {"type": "string"}},
            "required": ["appId", "region"]
        }));
        let err = fill_arguments("restart-my-app", "restart", &changed, APP, &[]).unwrap_err();
        assert!(matches!(err, Error::Unsupported(_)), "{err}");
        assert!(err.to_string().contains("requires region"), "{err}");
    }
}
