//! `PixelsmithServer`: the MCP façade. One method per tool, each a one-line forward to the verb
//! adapters; the tool attributes (names, titles, descriptions, annotations, schemas) are the
//! contract agents read, pinned by `tests/golden/tools_list.json`.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Json;
use rmcp::model::{
    CallToolResult, Implementation, ListResourcesResult, PaginatedRequestParams, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, RequestMetaObject, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use tokio_util::sync::CancellationToken;

use super::local::RunLocalOutput;
use super::params::{
    Args, BatchParams, BuildParams, CallParams, CheckParams, PixelateParams, RunLocalParams,
};
use super::pixelate::PixelateOutput;
use super::{Shared, app, batch, local, pixelate, verbs};
use crate::build::BuildReport;
use crate::call::CallReport;
use crate::check::Report;
use crate::schema::{input, output};

/// The Pixelsmith MCP server. Cheap to clone; every clone (one per HTTP session) shares the
/// roots and the running local services.
#[derive(Debug, Clone)]
pub struct PixelsmithServer {
    pub(super) shared: Arc<Shared>,
    tool_router: ToolRouter<Self>,
}

impl PixelsmithServer {
    /// A server over `shared` state.
    pub fn new(shared: Arc<Shared>) -> Self {
        PixelsmithServer {
            shared,
            tool_router: Self::tool_router() + Self::deploy_router(),
        }
    }
}

#[tool_router]
impl PixelsmithServer {
    #[tool(
        name = "pixelate",
        title = "Pixelate an image",
        description = "Turn an image into pixel art with Pixelsmith's engine: an exact grid of \
            square blocks (or exactly `width` columns), each one flat colour averaged in linear \
            light, reduced to a palette built from the image in Oklab (`colors`), a retro palette \
            (`palette`) or per-channel levels (`levels`), optionally dithered. Input: exactly one \
            of `path` (PNG/JPEG/WebP/GIF/BMP inside the allowed roots), `data_base64`, or an \
            http(s) `url` (≤ 32 MiB, 30 s). Writes the full-size PNG inside the allowed roots \
            (default `<name>.pixel.png` next to the input; an existing file there is replaced). \
            Returns the report (grid size, palette hex list, timings), a preview PNG (≤ 512 px, \
            ≤ 64 KiB: the same picture at a smaller integer scale) and a link to the full file. \
            An animated GIF, APNG or WebP stays an animation with one palette for all frames: \
            written as an animated GIF (default `<name>.pixel.gif`) or APNG (`output` ending in \
            .apng); the report lists the frames' delays and the preview is frame 0. \
            Limits: 64 MB input, 64 megapixels.",
        input_schema = input::<PixelateParams>(),
        output_schema = output::<PixelateOutput>(),
        meta = app::tool_meta(),
        annotations(
            title = "Pixelate an image",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn pixelate(
        &self,
        Args(params): Args<PixelateParams>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        cancel: CancellationToken,
    ) -> Result<CallToolResult, String> {
        let work = pixelate::run(&self.shared, params, &cancel);
        pixelate::with_heartbeat(meta.get_progress_token(), &peer, work).await
    }

    #[tool(
        name = "pixelate_batch",
        title = "Pixelate many images",
        description = "Pixelate many images at once with the same options as `pixelate`: \
            `paths` lists image files and folders inside the allowed roots (folders give the \
            images in them; `recursive` for subfolders; at most 200 files), and every PNG goes \
            to `output_dir` as `<name>.png`. With `shared_palette`, one palette is built from all \
            the images together and used for every output, so a sprite set matches. A file that \
            fails is reported and the rest still finish. Sends a progress notification per file \
            when the request has a progress token; cancelling stops between files. Returns a line \
            per file (output, grid, colours or the error) and the shared palette; no previews \
            (open the files, or call `pixelate` on one).",
        input_schema = input::<BatchParams>(),
        output_schema = output::<batch::BatchOutput>(),
        annotations(
            title = "Pixelate many images",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn pixelate_batch(
        &self,
        Args(params): Args<BatchParams>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        cancel: CancellationToken,
    ) -> Result<Json<batch::BatchOutput>, String> {
        batch::run(
            &self.shared,
            params,
            meta.get_progress_token(),
            peer,
            cancel,
        )
        .await
        .map(Json)
    }

    #[tool(
        name = "build_service",
        title = "Build the WASM service",
        description = "Build the bundled `wasm-service` for OSC's wasm runner: `cargo build -p \
            wasm-service --target wasm32-wasip1 --release` in the project folder (default: the \
            first allowed root). Installs the wasm32-wasip1 target with rustup when it is missing \
            (and says so). Sends progress notifications every few seconds when the request has a \
            progress token; cancelling the request stops cargo and every compiler it started. A \
            cold build takes minutes (default timeout 1200 s). Returns the module path, size, \
            sha256, build time and the `check_module` report of the result. Compile errors come \
            back as an error result quoting the first error lines.",
        input_schema = input::<BuildParams>(),
        output_schema = output::<BuildReport>(),
        annotations(
            title = "Build the WASM service",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn build_service(
        &self,
        Args(params): Args<BuildParams>,
        meta: RequestMetaObject,
        peer: Peer<RoleServer>,
        cancel: CancellationToken,
    ) -> Result<Json<BuildReport>, String> {
        verbs::build_service(
            &self.shared,
            params,
            meta.get_progress_token(),
            peer,
            cancel,
        )
        .await
        .map(Json)
    }

    #[tool(
        name = "check_module",
        title = "Check a module against OSC's runner",
        description = "Pre-deploy contract check of a .wasm file (default: the built \
            wasm-service module) against OSC's wasm runner, which runs `wasmedge main.wasm` as a \
            WASI preview 1 command per request. Static rules: a core module (not a component), \
            exports `_start` and `memory`, imports only wasi_snapshot_preview1 functions; \
            recognises Spin apps, wasi-http, the component model, WasmEdge sockets and plugins and \
            says why each fails on OSC and how to fix it; warns above 400 KiB (every request \
            loads the whole module). Dynamic: runs `GET /` (empty stdin) and a small pixelate \
            request through the runner emulation and checks the answers. Returns findings \
            {rule, severity, detail, fix} and `passed`; a failing module is a normal result, not \
            an error.",
        input_schema = input::<CheckParams>(),
        output_schema = output::<Report>(),
        annotations(
            title = "Check a module against OSC's runner",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn check_module(&self, Args(params): Args<CheckParams>) -> Result<Json<Report>, String> {
        verbs::check_module(&self.shared, params).await.map(Json)
    }

    #[tool(
        name = "run_local",
        title = "Run the service locally as OSC does",
        description = "Start (`action: start`, default), list, or stop (`action: stop`, with `id` \
            or all) a local copy of the service on 127.0.0.1: (1) an emulation of OSC's wasm \
            runner serving the module with the same semantics (only `GET /` and `POST /` with \
            text/plain, the hex rule, 1 MiB limit, always 200, a fresh WASI instance per request, \
            no env/args/files), and (2) a gateway that gives it its real HTTP API back (`GET \
            /health`, `POST /pixelate` with raw image bytes → image/png, `GET /palettes`). \
            Returns both URLs and an id; they run until stopped or the server exits (at most 8 \
            at once). Default module: the built wasm-service.",
        input_schema = input::<RunLocalParams>(),
        output_schema = output::<RunLocalOutput>(),
        annotations(
            title = "Run the service locally as OSC does",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn run_local(
        &self,
        Args(params): Args<RunLocalParams>,
    ) -> Result<Json<RunLocalOutput>, String> {
        local::run(&self.shared, params).await.map(Json)
    }

    #[tool(
        name = "call_service",
        title = "Smoke-test a running service",
        description = "Smoke-test the service behind a runner URL — the local emulation's \
            `runner_url` from `run_local`, or a deployed OSC app (https://<id>.apps.osaas.io) — \
            the way the gateway talks to it (JSON envelopes as text/plain POST /). Checks `GET \
            /health` (200, status ok) and `POST /pixelate` with an image (default: a built-in \
            96×64 sample; or `image_path` inside the allowed roots) and the engine options: the \
            answer must be image/png of the expected size, flat cells, within the palette size. \
            Reports latency per request. Problems with the service are findings (`ok: false`), \
            not errors.",
        input_schema = input::<CallParams>(),
        output_schema = output::<CallReport>(),
        annotations(
            title = "Smoke-test a running service",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn call_service(
        &self,
        Args(params): Args<CallParams>,
        cancel: CancellationToken,
    ) -> Result<Json<CallReport>, String> {
        verbs::call_service(&self.shared, params, &cancel)
            .await
            .map(Json)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for PixelsmithServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE)
        .with_server_info(
            Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
                .with_title("Pixelsmith"),
        )
        .with_instructions(instructions(&self.shared))
    }

    /// Every tool call goes through the router, then through the result size cap.
    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, ErrorData> {
        let call = rmcp::handler::server::tool::ToolCallContext::new(self, request, context);
        Ok(match self.tool_router.call(call).await? {
            rmcp::model::CallToolResponse::Complete(result) => {
                rmcp::model::CallToolResponse::Complete(super::result_cap::cap(result))
            }
            other => other,
        })
    }

    /// One resource: Pixelsmith Studio, the `pixelate` tool's MCP App.
    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(app::resources()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        app::read(&request.uri).map(Into::into)
    }
}

/// What the server tells the model up front: every tool, the usual order, and the roots.
fn instructions(shared: &Shared) -> String {
    format!(
        "Pixelsmith makes pixel art and builds, checks, runs and smoke-tests its WebAssembly \
         service for Eyevinn Open Source Cloud (OSC)'s wasm runner.\n\
         Tools:\n\
         - pixelate: image (path, base64 or URL) → pixel-art PNG written inside the allowed \
         roots, with report and preview.\n\
         - pixelate_batch: many files and folders → one output folder, optionally one shared \
         palette for all (a matching sprite set); progress per file.\n\
         - build_service: cargo build of wasm-service for wasm32-wasip1 (release), then \
         check_module on it. Slow when cold: ask for progress.\n\
         - check_module: pre-deploy contract check of any .wasm against OSC's runner.\n\
         - run_local: start/list/stop the runner emulation + HTTP gateway on 127.0.0.1.\n\
         - call_service: health + pixelate smoke test against a runner URL (local or \
         deployed).\n\
         - deploy: check, publish to git, create or update on OSC, wait, verify the live URL \
         (dry_run shows the plan). deployment_status, deployment_logs, restart_deployment, \
         remove_deployment (needs the exact name), list_deployments manage it. OSC_ACCESS_TOKEN \
         and GITHUB_TOKEN come from the server's environment, never from arguments.\n\
         Usual flow: build_service → run_local → call_service with its runner_url → deploy.\n\
         Files are read and written only inside the allowed roots: {}. Relative paths start at \
         the first root.",
        shared.roots_text()
    )
}
