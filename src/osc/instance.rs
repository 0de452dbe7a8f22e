//! The instance target: a raw `eyevinn-wasm-runner` instance, through the catalog (find the
//! instance API's `apiUrl`, subscribing if needed), the token service (service access token) and
//! the instance API (`x-jwt: Bearer <SAT>`).
//!
//! Everything here is documented: create, list, get, PATCH (update + restart), delete, restart,
//! health and logs.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Auth, Call, OscClient, WASM_RUNNER, join};
use super::error::{Error, Result};
use super::myapps::with_scheme;
use super::target::{
    Deployment, Spec, State, Target, TargetKind, UpdateMethod, create_idempotently,
};

/// The instance collection path on the instance API host.
const COLLECTION: &str = "wasm-runnerinstance";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Instance {
    #[serde(rename = "name")]
    name: String,
    #[serde(default, rename = "url")]
    url: Option<String>,
    #[serde(default)]
    github_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Health {
    #[serde(default)]
    status: Option<String>,
}

impl Instance {
    fn into_deployment(self, status: Option<String>) -> Deployment {
        Deployment {
            target: TargetKind::Instance,
            id: self.name.clone(),
            name: self.name,
            url: self
                .url
                .filter(|u| !u.trim().is_empty())
                .map(|u| with_scheme(&u)),
            state: State::parse(status.as_deref()),
            status,
            git_url: self.github_url,
        }
    }
}

/// Raw wasm-runner instances.
#[derive(Debug)]
pub struct Instances<'a> {
    client: &'a OscClient,
}

impl<'a> Instances<'a> {
    /// Instances through `client`.
    pub fn new(client: &'a OscClient) -> Self {
        Self { client }
    }

    /// The API base, or `None` when the tenant has no wasm-runner subscription (so nothing exists).
    async fn api(&self) -> Result<Option<Url>> {
        self.client.runner_api(false).await
    }

    async fn api_subscribing(&self) -> Result<Url> {
        self.client
            .runner_api(true)
            .await?
            .ok_or_else(|| Error::BadResponse {
                op: "subscribe to eyevinn-wasm-runner".into(),
                detail: "no subscription after subscribing".into(),
            })
    }

    async fn get(&self, api: &Url, name: &str) -> Result<Option<Instance>> {
        let call = Call::new(
            Method::GET,
            join(api, &[COLLECTION, name]),
            Auth::Service,
            format!("get instance '{name}'"),
        );
        match self.client.json::<Instance>(&call).await {
            Ok(instance) => Ok(Some(instance)),
            Err(err) if err.http_status() == Some(404) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn health(&self, api: &Url, name: &str) -> Result<Option<String>> {
        let call = Call::new(
            Method::GET,
            join(api, &["health", name]),
            Auth::Service,
            format!("get the health of instance '{name}'"),
        );
        let health: Health = self.client.json(&call).await?;
        Ok(health.status)
    }

    async fn with_health(&self, api: &Url, instance: Instance) -> Result<Deployment> {
        let status = self.health(api, &instance.name).await?;
        Ok(instance.into_deployment(status))
    }

    async fn post_create(&self, api: &Url, spec: &Spec) -> Result<Deployment> {
        let call = Call::new(
            Method::POST,
            join(api, &[COLLECTION]),
            Auth::Service,
            format!("create instance '{}'", spec.name),
        )
        .json(body(spec, true));
        let instance: Instance = self.client.json(&call).await?;
        Ok(instance.into_deployment(None))
    }

    async fn require(&self, name: &str) -> Result<(Url, Instance)> {
        if let Some(api) = self.api().await?
            && let Some(instance) = self.get(&api, name).await?
        {
            return Ok((api, instance));
        }
        Err(Error::NotFound {
            target: TargetKind::Instance.noun(),
            name: name.to_owned(),
        })
    }
}

/// The create/PATCH body: documented fields `name`, `GithubUrl`, `GithubToken`.
fn body(spec: &Spec, with_name: bool) -> Value {
    let mut body = json!({ "GithubUrl": spec.git_url });
    if with_name {
        body["name"] = json!(spec.name);
    }
    if let Some(token) = &spec.git_token {
        body["GithubToken"] = json!(token.expose());
    }
    body
}

impl Target for Instances<'_> {
    fn kind(&self) -> TargetKind {
        TargetKind::Instance
    }

    async fn find(&self, name: &str) -> Result<Option<Deployment>> {
        let Some(api) = self.api().await? else {
            return Ok(None);
        };
        match self.get(&api, name).await? {
            Some(instance) => Ok(Some(self.with_health(&api, instance).await?)),
            None => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<Deployment>> {
        let Some(api) = self.api().await? else {
            return Ok(Vec::new());
        };
        let call = Call::new(
            Method::GET,
            join(&api, &[COLLECTION]),
            Auth::Service,
            "list wasm-runner instances",
        );
        let instances: Vec<Instance> = self.client.json(&call).await?;
        let mut out = Vec::with_capacity(instances.len());
        for instance in instances {
            // A health call that fails must not hide the instance from the list.
            let status = self.health(&api, &instance.name).await.ok().flatten();
            out.push(instance.into_deployment(status));
        }
        Ok(out)
    }

    async fn create(&self, spec: &Spec) -> Result<Deployment> {
        let api = self.api_subscribing().await?;
        create_idempotently(
            self.client.retry_policy(),
            spec,
            || self.post_create(&api, spec),
            || self.find(&spec.name),
        )
        .await
    }

    async fn update(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> Result<(Deployment, UpdateMethod)> {
        let api = self.api_subscribing().await?;
        let call = Call::new(
            Method::PATCH,
            join(&api, &[COLLECTION, &existing.name]),
            Auth::Service,
            format!("update instance '{}'", existing.name),
        )
        .json(body(spec, false));
        let instance: Instance = self.client.json(&call).await?;
        Ok((instance.into_deployment(None), UpdateMethod::Patched))
    }

    async fn recreate(
        &self,
        existing: &Deployment,
        spec: &Spec,
    ) -> Result<(Deployment, UpdateMethod)> {
        self.remove(&existing.name).await?;
        let created = self.create(spec).await?;
        Ok((
            created,
            UpdateMethod::Recreated {
                old_id: existing.id.clone(),
                old_url: existing.url.clone(),
            },
        ))
    }

    async fn check_update(&self, _existing: &Deployment) -> Result<()> {
        // PATCH is documented; the lookup that found the instance already used the service token.
        Ok(())
    }

    async fn prerequisites(&self) -> Result<Vec<String>> {
        Ok(if self.api().await?.is_none() {
            vec![format!(
                "subscribe the tenant to {WASM_RUNNER} (POST {}mysubscriptions with \
                 {{\"services\":[\"{WASM_RUNNER}\"]}}): it is not subscribed yet",
                self.client.endpoints().catalog
            )]
        } else {
            Vec::new()
        })
    }

    async fn status(&self, name: &str) -> Result<Deployment> {
        let (api, instance) = self.require(name).await?;
        self.with_health(&api, instance).await
    }

    async fn logs(&self, name: &str, _tail: usize) -> Result<String> {
        // The instance API returns the whole log; the caller keeps the tail.
        let (api, _) = self.require(name).await?;
        let call = Call::new(
            Method::GET,
            join(&api, &["logs", name]),
            Auth::Service,
            format!("get the logs of instance '{name}'"),
        );
        Ok(self.client.send(&call).await?.text())
    }

    async fn restart(&self, name: &str) -> Result<()> {
        let (api, _) = self.require(name).await?;
        let call = Call::new(
            Method::POST,
            join(&api, &["restart", name]),
            Auth::Service,
            format!("restart instance '{name}'"),
        )
        .repeatable();
        self.client.send(&call).await.map(drop)
    }

    async fn remove(&self, name: &str) -> Result<Deployment> {
        let (api, instance) = self.require(name).await?;
        let call = Call::new(
            Method::DELETE,
            join(&api, &[COLLECTION, name]),
            Auth::Service,
            format!("delete instance '{name}'"),
        );
        match self.client.send(&call).await {
            Ok(_) => {}
            Err(err) if err.http_status() == Some(404) => {}
            Err(err) => return Err(err),
        }
        Ok(instance.into_deployment(Some("removed".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osc::secret::Secret;

    #[test]
    fn bodies_use_the_documented_field_names() {
        let spec = Spec {
            name: "pix".into(),
            git_url: "https://g/r#b".into(),
            git_token: Some(Secret::new("ghp_bodytest_123456")),
        };
        assert_eq!(
            body(&spec, true),
            json!({"name": "pix", "GithubUrl": "https://g/r#b", "GithubToken": "ghp_bodytest_123456"})
        );
        assert_eq!(
            body(
                &Spec {
                    git_token: None,
                    ..spec
                },
                false
            ),
            json!({"GithubUrl": "https://g/r#b"})
        );
    }

    #[test]
    fn instance_json_becomes_a_deployment() {
        let i: Instance = serde_json::from_value(json!({
            "name": "pix", "url": "https://tenant-pix.eyevinn-wasm-runner.auto.prod.osaas.io",
            "GithubUrl": "https://g/r", "resources": {}, "_links": {"self": "x"}
        }))
        .unwrap();
        let d = i.into_deployment(Some("running".into()));
        assert_eq!(d.state, State::Running);
        assert_eq!(d.id, "pix");
        assert_eq!(d.git_url.as_deref(), Some("https://g/r"));
    }
}
