//! The MCP side of `build_service`, `check_module` and `call_service`: argument defaults,
//! roots, progress notifications and cancellation around the verb modules (`crate::build`,
//! `crate::check`, `crate::call`), which know nothing about MCP.

use std::time::Duration;

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use tokio_util::sync::CancellationToken;

use super::params::{BuildParams, CallParams, CheckParams};
use super::{Shared, reply};
use crate::build::{self, BuildReport};
use crate::call::{self, CallReport, CallRequest, PixelateCall};
use crate::check;
use crate::gateway::Upstream;

/// `build_service`: builds in the project folder (inside the roots), reporting progress when the
/// client asked for it (a progress token), stopping everything when the request is cancelled.
pub async fn build_service(
    shared: &Shared,
    params: BuildParams,
    progress: Option<ProgressToken>,
    peer: Peer<RoleServer>,
    cancel: CancellationToken,
) -> Result<BuildReport, String> {
    let project = match &params.project_dir {
        Some(dir) => shared
            .roots
            .resolve_existing(dir)
            .map_err(|e| reply::failure(&e))?,
        None => shared.roots.first().to_path_buf(),
    };
    let mut options = build::Options::new(project);
    if let Some(secs) = params.timeout_secs {
        options.timeout = Duration::from_secs(secs);
    }
    options.install_target = params.install_target.unwrap_or(true);
    options.dynamic_check = params.dynamic_check.unwrap_or(true);

    // The build reports through a channel; this task turns reports into notifications, in order.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<build::Progress>();
    let forward = async move {
        let mut step = 0u32;
        while let Some(report) = rx.recv().await {
            let Some(token) = &progress else { continue };
            step += 1;
            let note = ProgressNotificationParam::new(token.clone(), f64::from(step)).with_message(
                format!("[{} s] {}", report.elapsed.as_secs(), report.message),
            );
            if let Err(e) = peer.notify_progress(note).await {
                tracing::debug!("progress notification not sent: {e}");
            }
        }
    };
    let build = build::build_service(&options, move |p| drop(tx.send(p)), &cancel);
    let (result, ()) = tokio::join!(build, forward);
    result.map_err(|e| reply::failure(&e))
}

/// `check_module`: the default module is the built one under the first root.
pub async fn check_module(shared: &Shared, params: CheckParams) -> Result<check::Report, String> {
    let path = shared.module_path(params.path.as_deref())?;
    check::check_file(&path, params.dynamic.unwrap_or(true))
        .await
        .map_err(|e| reply::failure(&e))
}

/// `call_service`: health and pixelate checks against a runner URL.
///
/// Cancelling the call drops its HTTP requests, so a runner stops the module run it started for
/// them (the emulation does on a closed connection) instead of running on to its time limit.
pub async fn call_service(
    shared: &Shared,
    params: CallParams,
    cancel: &CancellationToken,
) -> Result<CallReport, String> {
    let engine_options = params.engine_options();
    let options = engine_options.pairs()?;
    // Parse once here so a bad option is refused before any request is sent.
    let mut parsed = crate::engine::Options::default();
    for (name, value) in &options {
        parsed.set(name, value).map_err(|e| e.to_string())?;
    }
    let pixelate = if params.pixelate.unwrap_or(true) {
        Some(match &params.image_path {
            Some(path) => {
                let real = shared
                    .roots
                    .resolve_existing(path)
                    .map_err(|e| reply::failure(&e))?;
                let image = tokio::fs::read(&real)
                    .await
                    .map_err(|e| format!("cannot read {}: {e}", real.display()))?;
                PixelateCall {
                    image,
                    label: real.display().to_string(),
                    options,
                }
            }
            None => PixelateCall::sample(options),
        })
    } else {
        None
    };
    let health = params.health.unwrap_or(true);
    if !health && pixelate.is_none() {
        return Err("nothing to do: set `health` or `pixelate` (or both, the default)".into());
    }
    let mut request = CallRequest::smoke(params.url.clone());
    request.health = health;
    request.pixelate = pixelate;
    if let Some(secs) = params.timeout_secs {
        request.timeout = Duration::from_secs(secs);
    }
    // Loopback is refused unless allowed, except the runners and gateways this server started
    // itself with `run_local` (their exact address and port).
    let own = shared.local.started_here(&params.url).await;
    if !own
        && !shared.allow_private_urls
        && let Some(id) = shared.local.stopped_here(&params.url).await
    {
        return Err(format!(
            "{} belonged to run_local instance `{id}`, which has been stopped: start one again \
             with run_local (action `start`) and call its new runner_url or gateway_url",
            params.url.trim()
        ));
    }
    let upstream = if shared.allow_private_urls || own {
        Upstream::new(&request.url, request.timeout)
    } else {
        Upstream::public_only(&request.url, request.timeout)
    }
    .map_err(|e| reply::failure(&call::Error::from(e)))?;
    tokio::select! {
        report = call::call_service_via(upstream, &request) => report.map_err(|e| reply::failure(&e)),
        () = cancel.cancelled() => Err("cancelled: the requests to the service were dropped".into()),
    }
}
