//! The My Apps target: `https://deploy.svc.{env}.osaas.io/myapps` with the personal access token.
//!
//! Documented: list, create (`type: "wasm"`), get, delete, and `buildStatus`. Not documented: update,
//! restart and logs. Update is therefore done explicitly as delete + create with the same name and
//! repository (the app's id and URL can change, and the report says so); restart and logs answer
//! with an `Unsupported` error that names the alternative instead of guessing at endpoints.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::{Auth, Call, OscClient, join};
use super::error::{Error, Result};
use super::target::{
    Deployment, Spec, State, Target, TargetKind, UpdateMethod, create_idempotently,
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
        tracing::info!(name = %existing.name, id = %existing.id, "My Apps has no update call: deleting and creating again");
        self.delete(existing).await?;
        let created = self.create(spec).await.map_err(|err| Error::DeployFailed {
            name: spec.name.clone(),
            status: "deleted".into(),
            hint: format!(
                "the old app was deleted to be created again, and creating it failed ({err}); \
                 run deploy again to create it"
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

    async fn status(&self, name: &str) -> Result<Deployment> {
        let app = self.require(name).await?;
        self.get(&app.id, name).await
    }

    async fn logs(&self, name: &str) -> Result<String> {
        self.require(name).await?;
        Err(Error::Unsupported(format!(
            "My Apps has no documented logs API, so the logs of '{name}' cannot be fetched; open \
             the app in the OSC web console (My Apps), or deploy with --target instance, whose logs \
             deployment-logs can read"
        )))
    }

    async fn restart(&self, name: &str) -> Result<()> {
        self.require(name).await?;
        Err(Error::Unsupported(format!(
            "My Apps has no documented restart call, so '{name}' was not restarted; `deploy` \
             re-creates the app (delete + create) to make it pick up a new commit, or use \
             --target instance, which has a documented restart"
        )))
    }

    async fn remove(&self, name: &str) -> Result<Deployment> {
        let app = self.require(name).await?;
        self.delete(&app).await?;
        Ok(app)
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
}
