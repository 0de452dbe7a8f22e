//! The My Apps target: `https://deploy.svc.{env}.osaas.io/myapps` with the personal access token.
//!
//! The REST API documents list, create (`type: "wasm"`), get, delete, and `buildStatus`; it has no
//! update, restart or logs. Those come from OSC's own MCP server (`platform_mcp`): an update
//! restarts the app (`restart-my-app`), so the runner clones the deploy branch again and the app
//! keeps its id and URL; logs are `get-my-app-logs`. An app is never deleted implicitly: only
//! [`Target::recreate`] (the user's `--recreate`) deletes and creates it, and its URL changes.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Auth, Call, OscClient, join};
use super::error::{Error, Result};
use super::platform_mcp::{AppRef, GET_TOOL, LOGS_TOOL, PlatformMcp, RESTART_TOOL};
use super::target::{
    Deployment, Spec, State, Target, TargetKind, UpdateMethod, create_idempotently,
    ensure_same_source,
};

/// A My App as the deploy service returns it (fields beyond these are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MyApp {
    id: String,
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    git_hub_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    app_dns: Option<String>,
    #[serde(default)]
    build_status: Option<String>,
}

impl MyApp {
    fn into_deployment(self) -> Deployment {
        let url = self
            .url
            .filter(|u| !u.trim().is_empty())
            .or(self.app_dns.filter(|d| !d.trim().is_empty()))
            .map(|u| with_scheme(&u));
        Deployment {
            target: TargetKind::Myapp,
            state: State::parse(self.build_status.as_deref()),
            status: self.build_status,
            name: self.name,
            id: self.id,
            url,
            git_url: self.git_hub_url,
        }
    }
}

/// `x.apps.osaas.io` → `https://x.apps.osaas.io`; full URLs are kept.
pub(crate) fn with_scheme(url: &str) -> String {
    let url = url.trim();
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

/// My Apps of `type: "wasm"`.
#[derive(Debug)]
pub struct MyApps<'a> {
    client: &'a OscClient,
}

impl<'a> MyApps<'a> {
    /// My Apps through `client`.
    pub fn new(client: &'a OscClient) -> Self {
        Self { client }
    }

    fn collection(&self) -> reqwest::Url {
        join(&self.client.endpoints().deploy, &["myapps"])
    }

    fn item(&self, id: &str) -> reqwest::Url {
        join(&self.client.endpoints().deploy, &["myapps", id])
    }

    async fn all(&self) -> Result<Vec<MyApp>> {
        let call = Call::new(
            Method::GET,
            self.collection(),
            Auth::Personal,
            "list My Apps",
        );
        self.client.json(&call).await
    }

    async fn get(&self, id: &str, name: &str) -> Result<Deployment> {
        let call = Call::new(
            Method::GET,
            self.item(id),
            Auth::Personal,
            format!("get My App '{name}'"),
        );
        match self.client.json::<MyApp>(&call).await {
            Ok(app) => Ok(app.into_deployment()),
            Err(err) if err.http_status() == Some(404) => Err(not_found(name)),
            Err(err) => Err(err),
        }
    }

    async fn post_create(&self, spec: &Spec) -> Result<Deployment> {
        let mut body = json!({ "name": spec.name, "type": "wasm", "gitHubUrl": spec.git_url });
        if let Some(token) = &spec.git_token {
            body["gitHubToken"] = json!(token.expose());
        }
        let call = Call::new(
            Method::POST,
            self.collection(),
            Auth::Personal,
            format!("create My App '{}'", spec.name),
        )
        .json(body);
        let app: MyApp = self.client.json(&call).await?;
        Ok(app.into_deployment())
    }

    async fn delete(&self, app: &Deployment) -> Result<()> {
        let call = Call::new(
            Method::DELETE,
            self.item(&app.id),
            Auth::Personal,
            format!("delete My App '{}'", app.name),
        );
        match self.client.send(&call).await {
            Ok(_) => Ok(()),
            // Gone already (a retried delete whose first answer was lost): the goal is reached.
            Err(err) if err.http_status() == Some(404) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn require(&self, name: &str) -> Result<Deployment> {
        self.find(name).await?.ok_or_else(|| not_found(name))
    }

    /// `restart-my-app` with `rebuild: true` where the tool has it: the runner then clones the
    /// deploy branch again, whatever OSC kept from the last start.
    async fn restart_app(&self, app: &Deployment) -> Result<()> {
        let op = format!("restart My App '{}'", app.name);
        let mcp = PlatformMcp::connect(self.client).await?;
        let done = mcp
            .call_for_app(RESTART_TOOL, &op, app_ref(app), &[("rebuild", json!(true))])
            .await;
        mcp.close().await;
        done.map(drop)
    }
}

fn app_ref(app: &Deployment) -> AppRef<'_> {
    AppRef {
        id: &app.id,
        name: &app.name,
    }
}

/// The log text of a `get-my-app-logs` answer. Its shape is not documented: a JSON answer with a
/// `logs` (or `text`, `output`, `lines`) field, or a list of lines or of `{message}` records, is
/// unpacked into lines; anything else is taken as the text itself.
pub(crate) fn log_text(answer: &str) -> String {
    fn lines(value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(s) => s.clone(),
                        Value::Object(o) => ["message", "line", "msg", "log"]
                            .iter()
                            .find_map(|k| o.get(*k).and_then(Value::as_str))
                            .map_or_else(|| item.to_string(), str::to_owned),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Value::Object(o) => ["logs", "text", "output", "lines"]
                .iter()
                .find_map(|k| o.get(*k))
                .and_then(lines),
            _ => None,
        }
    }
    serde_json::from_str::<Value>(answer)
        .ok()
        .and_then(|v| lines(&v))
        .unwrap_or_else(|| answer.to_owned())
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        target: TargetKind::Myapp.noun(),
        name: name.to_owned(),
    }
}

impl Target for MyApps<'_> {
    fn kind(&self) -> TargetKind {
        TargetKind::Myapp
    }

    async fn find(&self, name: &str) -> Result<Option<Deployment>> {
        let Some(app) = self.all().await?.into_iter().find(|app| app.name == name) else {
            return Ok(None);
        };
        // Only wasm apps are ours to update or delete: re-creating another app of the same name
        // would destroy it.
        match app.kind.as_deref() {
            Some(kind) if kind != "wasm" => Err(Error::Config(format!(
                "a My App named '{name}' already exists with type '{kind}', not wasm; it is left \
                 alone: deploy with another --name"
            ))),
            _ => Ok(Some(app.into_deployment())),
        }
    }

    async fn list(&self) -> Result<Vec<Deployment>> {
        Ok(self
            .all()
            .await?
            .into_iter()
            .filter(|app| app.kind.as_deref().is_none_or(|k| k == "wasm"))
            .map(MyApp::into_deployment)
            .collect())
    }

    async fn create(&self, spec: &Spec) -> Result<Deployment> {
        create_idempotently(
            self.client.retry_policy(),
            spec,
            || self.post_create(spec),
            || self.find(&spec.name),
        )
        .await
    }

    async fn update(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> Result<(Deployment, UpdateMethod)> {
        ensure_same_source(existing, spec)?;
        self.restart_app(existing).await?;
        // The restart was accepted, so the update is done: an app that refuses requests for a
        // while as it restarts (401/502/503, seen after creation too) is the wait's business, not
        // a failed update (which would put the deploy branch back under a restarted app).
        let restarted = match self.get(&existing.id, &existing.name).await {
            Ok(restarted) => restarted,
            Err(err) => {
                tracing::info!(name = %existing.name, error = %err, "restarted; its status is not readable yet");
                Deployment {
                    state: State::Starting,
                    ..existing.clone()
                }
            }
        };
        Ok((restarted, UpdateMethod::Restarted))
    }

    async fn recreate(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> Result<(Deployment, UpdateMethod)> {
        tracing::info!(name = %existing.name, id = %existing.id, "--recreate: deleting the My App and creating it again");
        self.delete(existing).await?;
        let created = self.create(spec).await.map_err(|err| Error::DeployFailed {
            name: spec.name.clone(),
            status: "deleted".into(),
            hint: format!(
                "re-creating deleted the old app, and creating it again failed ({err}); run \
                 deploy again to create it"
            ),
        })?;
        Ok((
            created,
            UpdateMethod::Recreated {
                old_id: existing.id.clone(),
                old_url: existing.url.clone(),
            },
        ))
    }

    async fn check_update(&self, existing: &Deployment) -> Result<()> {
        let op = format!(
            "check that OSC's MCP server can restart My App '{}'",
            existing.name
        );
        let mcp = PlatformMcp::connect(self.client).await?;
        let checked = async {
            mcp.require(RESTART_TOOL, &op)?;
            if mcp.require(GET_TOOL, &op).is_ok() {
                // The same app reference the restart will use, proven before anything is pushed.
                mcp.call_for_app(GET_TOOL, &op, app_ref(existing), &[])
                    .await?;
            }
            Ok(())
        }
        .await;
        mcp.close().await;
        checked
    }

    async fn status(&self, name: &str) -> Result<Deployment> {
        let app = self.require(name).await?;
        self.get(&app.id, name).await
    }

    async fn logs(&self, name: &str, tail: usize) -> Result<String> {
        let app = self.require(name).await?;
        let op = format!("get the logs of My App '{name}'");
        let mcp = PlatformMcp::connect(self.client).await?;
        let text = mcp
            .call_for_app(LOGS_TOOL, &op, app_ref(&app), &[("tail", json!(tail))])
            .await;
        mcp.close().await;
        Ok(log_text(&text?))
    }

    async fn restart(&self, name: &str) -> Result<()> {
        let app = self.require(name).await?;
        self.restart_app(&app).await
    }

    async fn remove(&self, name: &str) -> Result<Deployment> {
        let app = self.require(name).await?;
        self.delete(&app).await?;
        Ok(Deployment {
            state: State::Removed,
            status: Some("removed".into()),
            ..app
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn my_app_json_becomes_a_deployment() {
        let app: MyApp = serde_json::from_value(json!({
            "id": "abc123", "name": "pix", "type": "wasm", "gitHubUrl": "https://g/x#b",
            "url": "abc123.apps.osaas.io", "tenantId": "t", "buildStatus": "building"
        }))
        .unwrap();
        let d = app.into_deployment();
        assert_eq!(d.url.as_deref(), Some("https://abc123.apps.osaas.io"));
        assert_eq!(d.state, State::Starting);
        assert_eq!(d.git_url.as_deref(), Some("https://g/x#b"));
    }

    #[test]
    fn log_answers_of_any_likely_shape_become_lines() {
        assert_eq!(log_text("plain\ntext"), "plain\ntext");
        assert_eq!(log_text(r#"{"logs":"a\nb"}"#), "a\nb");
        assert_eq!(log_text(r#"{"lines":["a","b"]}"#), "a\nb");
        assert_eq!(log_text(r#"[{"message":"a"},{"msg":"b"},"c"]"#), "a\nb\nc");
        assert_eq!(log_text(r#"{"other":1}"#), r#"{"other":1}"#);
    }

    #[test]
    fn the_same_source_in_another_spelling_is_accepted() {
        let app = |git: &str| Deployment {
            target: TargetKind::Myapp,
            name: "pix".into(),
            id: "abc".into(),
            url: None,
            state: State::Running,
            status: None,
            git_url: Some(git.into()),
        };
        let spec = Spec {
            name: "pix".into(),
            git_url: "https://github.com/o/r.git#osc-deploy".into(),
            git_token: None,
        };
        assert!(ensure_same_source(&app("https://GitHub.com/o/r"), &spec).is_ok());
        let err = ensure_same_source(&app("https://github.com/o/r#main"), &spec).unwrap_err();
        assert!(matches!(err, Error::SourceMismatch { .. }), "{err}");
        assert!(err.to_string().contains("--recreate"), "{err}");
    }
}
