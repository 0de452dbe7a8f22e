//! The `run_local` tool: starts, lists and stops runner-emulation + gateway pairs on loopback
//! (`crate::gateway::local`), and keeps them in a registry shared by every session of the server,
//! so a pair started in one call can be stopped in another and none outlive the server.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::Mutex;

use super::params::{RunLocalAction, RunLocalParams};
use super::{Shared, reply};
use crate::gateway::local::{LocalOptions, LocalServices, start_local};

/// At most this many pairs run at once, so forgotten ones cannot pile up.
pub const MAX_INSTANCES: usize = 8;

/// One running pair.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Instance {
    /// Pass this to `run_local` with `action: stop`.
    pub id: String,
    /// The runner emulation: OSC's semantics (`GET /`, `POST /` with text, always 200). Give
    /// this URL to `call_service`.
    pub runner_url: String,
    /// The gateway: the service's real HTTP API (`GET /health`, `POST /pixelate` with raw image
    /// bytes → `image/png`, `GET /palettes`).
    pub gateway_url: String,
    /// The module served (absolute path).
    pub module: String,
    pub module_bytes: u64,
}

/// What `run_local` answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunLocalOutput {
    /// `start`, `stop` or `list`.
    pub action: String,
    /// The pair just started (for `start`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<Instance>,
    /// Ids stopped (for `stop`).
    pub stopped: Vec<String>,
    /// Everything still running after this call.
    pub running: Vec<Instance>,
    /// What to do next.
    pub note: String,
}

/// The running pairs.
#[derive(Debug, Default)]
pub struct Registry {
    next: AtomicU64,
    running: Mutex<BTreeMap<String, (Instance, LocalServices)>>,
    /// The last instances stopped (at most [`REMEMBERED_STOPS`]), so a call to one of their URLs
    /// is told it was stopped rather than refused as a private address.
    stopped: Mutex<Vec<Instance>>,
}

/// How many stopped instances [`Registry`] remembers.
const REMEMBERED_STOPS: usize = 16;

/// Whether `url` has the origin (scheme, host and port) of `instance`'s runner or gateway.
fn serves(instance: &Instance, url: &reqwest::Url) -> bool {
    let origin = url.origin();
    [&instance.runner_url, &instance.gateway_url]
        .iter()
        .any(|own| reqwest::Url::parse(own).is_ok_and(|own| own.origin() == origin))
}

impl Registry {
    async fn list(&self) -> Vec<Instance> {
        self.running
            .lock()
            .await
            .values()
            .map(|(i, _)| i.clone())
            .collect()
    }

    /// Whether `url` points at the exact address (host and port) of a runner or gateway this
    /// server started and still runs.
    pub async fn started_here(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url.trim()) else {
            return false;
        };
        self.running
            .lock()
            .await
            .values()
            .any(|(i, _)| serves(i, &url))
    }

    /// The id of a stopped instance whose runner or gateway had `url`'s address, if any.
    pub async fn stopped_here(&self, url: &str) -> Option<String> {
        let url = reqwest::Url::parse(url.trim()).ok()?;
        let stopped = self.stopped.lock().await;
        stopped
            .iter()
            .rev()
            .find(|i| serves(i, &url))
            .map(|i| i.id.clone())
    }

    /// Shuts `services` down and remembers `instance` as stopped.
    async fn stop(&self, instance: Instance, services: LocalServices) -> String {
        services.shutdown().await;
        let id = instance.id.clone();
        let mut stopped = self.stopped.lock().await;
        if stopped.len() == REMEMBERED_STOPS {
            stopped.remove(0);
        }
        stopped.push(instance);
        id
    }

    /// Stops every pair (when the server shuts down).
    pub async fn stop_all(&self) -> Vec<String> {
        let all = std::mem::take(&mut *self.running.lock().await);
        let mut ids = Vec::new();
        for (_, (instance, services)) in all {
            ids.push(self.stop(instance, services).await);
        }
        ids
    }
}

/// Runs the tool.
pub async fn run(shared: &Shared, params: RunLocalParams) -> Result<RunLocalOutput, String> {
    let registry = &shared.local;
    match params.action.unwrap_or_default() {
        RunLocalAction::List => Ok(RunLocalOutput {
            action: "list".to_string(),
            started: None,
            stopped: Vec::new(),
            running: registry.list().await,
            note: "use `call_service` with a runner_url, or open the gateway_url".to_string(),
        }),
        RunLocalAction::Stop => {
            let stopped = match &params.id {
                Some(id) => {
                    let entry = registry.running.lock().await.remove(id);
                    match entry {
                        Some((instance, services)) => vec![registry.stop(instance, services).await],
                        None => {
                            let ids: Vec<String> =
                                registry.list().await.into_iter().map(|i| i.id).collect();
                            return Err(format!(
                                "no running instance `{id}`; running: {}",
                                if ids.is_empty() {
                                    "none".to_string()
                                } else {
                                    ids.join(", ")
                                }
                            ));
                        }
                    }
                }
                None => registry.stop_all().await,
            };
            Ok(RunLocalOutput {
                action: "stop".to_string(),
                started: None,
                stopped,
                running: registry.list().await,
                note: "stopped; their ports are free again".to_string(),
            })
        }
        RunLocalAction::Start => start(shared, &params).await,
    }
}

async fn start(shared: &Shared, params: &RunLocalParams) -> Result<RunLocalOutput, String> {
    if params.id.is_some() {
        return Err("`id` is for `action: stop`; `start` makes a new id".to_string());
    }
    let registry = &shared.local;
    if registry.running.lock().await.len() >= MAX_INSTANCES {
        return Err(format!(
            "{MAX_INSTANCES} instances are already running: stop some with \
             `run_local` `action: stop` (give `id`, or none to stop all)"
        ));
    }
    let module = shared.module_path(params.module.as_deref())?;
    let mut options = LocalOptions::new(&module);
    options.runner_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, params.runner_port.unwrap_or(0)));
    options.gateway_addr =
        SocketAddr::from((Ipv4Addr::LOCALHOST, params.gateway_port.unwrap_or(0)));
    if let Some(secs) = params.time_limit_secs {
        options.runner.time_limit = Duration::from_secs(secs);
    }
    let services = start_local(options).await.map_err(|e| reply::failure(&e))?;
    let id = format!(
        "local-{}",
        registry.next.fetch_add(1, Ordering::Relaxed) + 1
    );
    let instance = Instance {
        id: id.clone(),
        runner_url: services.runner_url(),
        gateway_url: services.gateway_url(),
        module: module.display().to_string(),
        module_bytes: services.module_bytes as u64,
    };
    registry
        .running
        .lock()
        .await
        .insert(id.clone(), (instance.clone(), services));
    Ok(RunLocalOutput {
        action: "start".to_string(),
        started: Some(instance.clone()),
        stopped: Vec::new(),
        running: registry.list().await,
        note: format!(
            "runner emulation at {} (call_service takes this URL), gateway at {} (e.g. curl \
             --data-binary @cat.png '{}/pixelate?block=8' -o out.png); stop with action stop, \
             id {id}",
            instance.runner_url, instance.gateway_url, instance.gateway_url
        ),
    })
}
