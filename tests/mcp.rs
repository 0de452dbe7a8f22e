//! The MCP server as clients see it: the real `pixelsmith` binary started as a child process and
//! driven over stdio by rmcp's client, in both protocol revisions (2025-11-25 with `initialize`,
//! 2026-07-28 with `server/discover`), plus Streamable HTTP with raw requests. The `tools/list`
//! answer is pinned by `tests/golden/tools_list.json`: set `PIXELSMITH_BLESS=1` to rewrite it
//! (the test then fails on purpose, so a rewrite is never silent).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
    ClientRequest, Implementation, ProtocolVersion, ReadResourceRequestParams,
};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::{Value, json};

use crate::support::module;

type Client = RunningService<RoleClient, ClientConfig>;

const GOLDEN: &str = "tests/golden/tools_list.json";

fn client_info() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("pixelsmith-tests", "0"),
    )
}

/// Starts `pixelsmith mcp` in `cwd` (the first root) with extra roots, over stdio.
async fn connect(cwd: &Path, extra_roots: &[&Path], lifecycle: ClientLifecycleMode) -> Client {
    connect_with(cwd, extra_roots, &[], lifecycle).await
}

/// [`connect`] with more `pixelsmith mcp` arguments.
async fn connect_with(
    cwd: &Path,
    extra_roots: &[&Path],
    args: &[&str],
    lifecycle: ClientLifecycleMode,
) -> Client {
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pixelsmith")).configure(|c| {
        c.arg("mcp")
            .args(args)
            .current_dir(cwd)
            .env_remove("PIXELSMITH_ROOTS");
        c.env("PIXELSMITH_LOG", "warn");
        for root in extra_roots {
            c.arg("--allow-root").arg(root);
        }
    });
    let (transport, _stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pixelsmith mcp starts");
    client_info()
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .expect("the MCP handshake succeeds")
}

async fn connect_legacy(cwd: &Path, extra_roots: &[&Path]) -> Client {
    connect(cwd, extra_roots, ClientLifecycleMode::Initialize).await
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(arguments) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: protocol error instead of a tool result: {e}"))
}

fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_tool_error(result: &CallToolResult, words: &[&str]) {
    let text = text_of(result);
    assert_eq!(
        result.is_error,
        Some(true),
        "expected isError: true, got:\n{text}"
    );
    for word in words {
        assert!(
            text.contains(word),
            "expected {word:?} in the error text:\n{text}"
        );
    }
}

fn structured(result: &CallToolResult) -> &Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "tool failed:\n{}",
        text_of(result)
    );
    result
        .structured_content
        .as_ref()
        .expect("structured content")
}

fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
        &to,
    )
    .expect("fixture copies");
    to
}

#[tokio::test]
async fn tools_list_matches_the_golden_snapshot_and_is_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let client = connect_legacy(dir.path(), &[]).await;
    let info = client.peer_info().expect("server info");
    let identity = info.server_info.as_ref().expect("server identity");
    assert_eq!(identity.name, "pixelsmith");
    assert_eq!(identity.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    assert!(info.capabilities.tools.is_some());
    assert!(
        info.capabilities.logging.is_none(),
        "logging must not be advertised"
    );
    let instructions = info.instructions.clone().unwrap_or_default();

    let tools = client.list_all_tools().await.expect("tools/list");
    client.cancel().await.ok();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "build_service",
            "call_service",
            "check_module",
            "deploy",
            "deployment_logs",
            "deployment_status",
            "list_deployments",
            "pixelate",
            "pixelate_batch",
            "remove_deployment",
            "restart_deployment",
            "run_local"
        ]
    );
    for tool in &tools {
        assert!(
            instructions.contains(tool.name.as_ref()),
            "instructions miss {}",
            tool.name
        );
        assert!(
            tool.title.is_some() && tool.annotations.is_some(),
            "{}",
            tool.name
        );
        assert!(
            tool.output_schema.is_some(),
            "{} has no output schema",
            tool.name
        );
        let props = tool.input_schema["properties"]
            .as_object()
            .expect("properties");
        for (name, prop) in props {
            assert!(
                prop.get("description").is_some(),
                "{}.{name} has no description",
                tool.name
            );
        }
    }
    let listed = serde_json::to_value(&tools).unwrap();
    let text = serde_json::to_string_pretty(&listed).unwrap();
    assert!(
        !text.contains("uint") && !text.contains("int32"),
        "integer formats leak"
    );

    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("PIXELSMITH_BLESS").is_some() {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, format!("{text}\n")).unwrap();
        panic!("rewrote {GOLDEN}; review the diff and run again without PIXELSMITH_BLESS");
    }
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(&golden_path)
            .unwrap_or_else(|_| panic!("{GOLDEN} is missing: run with PIXELSMITH_BLESS=1")),
    )
    .expect("golden JSON");
    if golden != listed {
        panic!(
            "tools/list changed. If on purpose, rerun with PIXELSMITH_BLESS=1.\n\
             --- expected ({GOLDEN})\n{}\n--- actual\n{text}",
            serde_json::to_string_pretty(&golden).unwrap()
        );
    }
}

#[tokio::test]
async fn pixelate_writes_the_file_and_returns_report_preview_and_link() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture("coffee.png", dir.path());
    let client = connect_legacy(dir.path(), &[]).await;
    let result = call(
        &client,
        "pixelate",
        json!({"path": "coffee.png", "block": 8, "palette": "pico-8", "dither": "bayer4"}),
    )
    .await;
    let out = structured(&result).clone();
    // A custom palette's `#` and `,` are percent-encoded, and the service reads the query back.
    let custom = call(
        &client,
        "pixelate",
        json!({"path": "coffee.png", "block": 8, "palette": "#000000,#ffffff", "output": "bw.png"}),
    )
    .await;
    client.cancel().await.ok();
    let query = structured(&custom)["query"].as_str().unwrap().to_string();
    assert_eq!(query, "block=8&palette=%23000000%2C%23ffffff");
    let mut stdin = format!("POST /pixelate?{query}\n").into_bytes();
    stdin.extend(std::fs::read(dir.path().join("coffee.png")).unwrap());
    assert_eq!(wasm_service::router::handle_stdin(&stdin).status, 200);

    let written = std::fs::canonicalize(dir.path().join("coffee.pixel.png")).unwrap();
    assert_eq!(out["output_path"], written.display().to_string());
    let report = &out["report"];
    assert_eq!(
        (&report["source_width"], &report["source_height"]),
        (&json!(600), &json!(400))
    );
    assert_eq!(
        (&report["grid_width"], &report["grid_height"]),
        (&json!(75), &json!(50))
    );
    let pico8: Vec<String> = pixelsmith::engine::palettes::resolve("pico-8")
        .unwrap()
        .colors
        .iter()
        .map(|[r, g, b]| format!("#{r:02x}{g:02x}{b:02x}"))
        .collect();
    let used = report["palette"].as_array().unwrap();
    assert!(!used.is_empty());
    for colour in used {
        let colour = colour.as_str().unwrap().to_lowercase();
        assert!(pico8.contains(&colour), "{colour} is not a PICO-8 colour");
    }
    assert_eq!(out["query"], "block=8&palette=pico-8&dither=bayer4");

    // The file on disk is the full-size PNG.
    let full = image::open(&written).expect("the written PNG decodes");
    assert_eq!((full.width(), full.height()), (600, 400));
    assert_eq!(
        out["output_bytes"],
        std::fs::metadata(&written).unwrap().len()
    );

    // The preview is the same picture at an integer scale that fits 512 px: 75×6 = 450.
    let image = result
        .content
        .iter()
        .find_map(|c| c.as_image())
        .expect("an image block");
    assert_eq!(image.mime_type, "image/png");
    let png = base64::engine::general_purpose::STANDARD
        .decode(&image.data)
        .unwrap();
    assert!(png.len() <= pixelsmith::mcp::PREVIEW_MAX_BYTES);
    let preview = image::load_from_memory(&png).expect("the preview decodes");
    assert_eq!((preview.width(), preview.height()), (450, 300));
    assert_eq!(out["preview"]["included"], true);

    let link = result
        .content
        .iter()
        .find_map(|c| c.as_resource_link())
        .expect("a resource link");
    assert_eq!(link.uri, format!("file://{}", written.display()));
    assert_eq!(link.mime_type.as_deref(), Some("image/png"));
}

/// A pixelate the client cancels never writes its output (which would replace a file): the
/// engine's thread may finish, its result is dropped. It was written seconds after the cancel.
#[tokio::test]
async fn a_cancelled_pixelate_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (700u32, 700u32);
    let mut seed = 7u32;
    let noise: Vec<u8> = (0..w * h * 3)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        })
        .collect();
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&noise)
        .unwrap();
    std::fs::write(dir.path().join("noise.png"), &png).unwrap();
    let client = connect_legacy(dir.path(), &[]).await;
    let Value::Object(arguments) = json!({
        "path": "noise.png", "block": 1, "colors": 256, "dither": "floyd-steinberg",
        "output": "noise.pixel.png"
    }) else {
        unreachable!()
    };
    let request = ClientRequest::CallToolRequest(CallToolRequest::new(
        CallToolRequestParams::new("pixelate").with_arguments(arguments),
    ));
    let handle = client
        .peer()
        .send_cancellable_request(request, rmcp::service::PeerRequestOptions::no_options())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.cancel(Some("changed my mind".into())).await.unwrap();
    // Long enough for the engine to finish (about 5 s for this work in a debug build).
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        !dir.path().join("noise.pixel.png").exists(),
        "a cancelled call wrote its output"
    );
    client.cancel().await.ok();
}

#[tokio::test]
async fn pixelate_takes_base64_data_and_http_urls() {
    let dir = tempfile::tempdir().unwrap();
    let horse =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/horse.png")).unwrap();
    // A loopback web server with the picture.
    let served = horse.clone();
    let app = axum::Router::new().route(
        "/pictures/horse.png",
        axum::routing::get(move || {
            let body = served.clone();
            async move { ([("content-type", "image/png")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A loopback server is only reachable with --allow-private-urls.
    let client = connect_with(
        dir.path(),
        &[],
        &["--allow-private-urls"],
        ClientLifecycleMode::Initialize,
    )
    .await;
    let url = format!("http://{addr}/pictures/horse.png");
    let r = call(&client, "pixelate", json!({"url": url, "block": 16})).await;
    let out = structured(&r);
    assert_eq!(out["source"], url);
    assert_eq!(out["report"]["grid_width"], 25);
    let from_url = std::fs::canonicalize(dir.path().join("horse.pixel.png")).unwrap();
    assert_eq!(out["output_path"], from_url.display().to_string());

    let data = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&horse)
    );
    let r = call(
        &client,
        "pixelate",
        json!({"data_base64": data, "block": 16}),
    )
    .await;
    let out = structured(&r);
    let written = PathBuf::from(out["output_path"].as_str().unwrap());
    assert!(written.starts_with(std::fs::canonicalize(dir.path()).unwrap()));
    assert!(
        written
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("image-")
    );
    // Same picture, same options: the same bytes whichever way it came in.
    assert_eq!(
        std::fs::read(&written).unwrap(),
        std::fs::read(&from_url).unwrap()
    );

    let r = call(
        &client,
        "pixelate",
        json!({"url": format!("http://{addr}/missing.png")}),
    )
    .await;
    assert_tool_error(&r, &["HTTP 404"]);
    client.cancel().await.ok();
}

#[tokio::test]
async fn url_and_call_service_refuse_non_public_addresses_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    // A listener that must never see a connection, and a port where nothing listens.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = connect_legacy(dir.path(), &[]).await;
    let refusal = |text: &str, host: &str| {
        text.replace(host, "HOST")
            .replace(&open.to_string(), "PORT")
            .replace(&closed.to_string(), "PORT")
    };
    let mut texts = Vec::new();
    for (host, port) in [
        ("127.0.0.1", open),
        ("127.0.0.1", closed),
        ("localhost", open),
        ("0.0.0.0", open),
        ("169.254.169.254", 80),
        ("[::ffff:169.254.169.254]", 80),
        ("[::ffff:127.0.0.1]", open),
        ("[fe80::1]", 80),
        ("10.0.0.1", 80),
        ("[::1]", open),
    ] {
        let url = format!("http://{host}:{port}/cat.png");
        let r = call(&client, "pixelate", json!({"url": url})).await;
        assert_tool_error(&r, &["refused to connect", "--allow-private-urls"]);
        texts.push(refusal(&text_of(&r), host));

        let r = call(
            &client,
            "call_service",
            json!({"url": format!("http://{host}:{port}")}),
        )
        .await;
        let text = text_of(&r);
        if r.is_error != Some(true) {
            // A name is refused when it resolves: a failed check in the report.
            let report = structured(&r);
            assert_eq!(report["ok"], false, "{report:#}");
            assert!(text.contains("refused to connect"), "{text}");
        } else {
            assert!(text.contains("refused to connect"), "{text}");
        }
    }
    // The same words whether something listens on the port or not.
    assert_eq!(texts[0], texts[1]);
    client.cancel().await.ok();
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the loopback listener was connected to: {other:?}"),
    }
}

/// Whether this machine lets an unprivileged process make a user + network namespace.
fn can_unshare_net() -> bool {
    std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `pixelsmith mcp` in a network namespace of its own (only a loopback device, down): nothing
/// it does can reach another machine.
async fn connect_isolated(cwd: &Path, args: &[&str]) -> Client {
    let command = tokio::process::Command::new("unshare").configure(|c| {
        c.args(["--user", "--map-root-user", "--net"])
            .arg(env!("CARGO_BIN_EXE_pixelsmith"))
            .arg("mcp")
            .args(args)
            .current_dir(cwd)
            .env_remove("PIXELSMITH_ROOTS")
            .env("PIXELSMITH_LOG", "warn");
    });
    let (transport, _stderr) = TokioChildProcess::builder(command)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pixelsmith mcp starts in a namespace");
    client_info()
        .serve_with_lifecycle(transport, ClientLifecycleMode::Initialize)
        .await
        .expect("the MCP handshake succeeds")
}

#[tokio::test]
async fn off_machine_addresses_are_refused_before_any_connect_in_an_isolated_network() {
    if !can_unshare_net() {
        eprintln!("skipped: this machine does not allow unprivileged network namespaces");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let urls = [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/cat.png",
        "http://[fe80::1]/cat.png",
        "http://[fd00::1]/cat.png",
    ];
    // Guarded (the default): the guard's own refusal, before a socket is opened.
    let guarded = connect_isolated(dir.path(), &[]).await;
    for url in urls {
        let r = call(&guarded, "pixelate", json!({"url": url})).await;
        assert_tool_error(&r, &["refused to connect", "--allow-private-urls"]);
    }
    guarded.cancel().await.ok();
    // Unguarded, the same URLs do try to connect and fail on the namespace's missing network:
    // so the words above came from the guard, not from a failed connection.
    let open = connect_isolated(dir.path(), &["--allow-private-urls"]).await;
    for url in urls {
        let r = call(&open, "pixelate", json!({"url": url})).await;
        let text = text_of(&r);
        assert_eq!(r.is_error, Some(true), "{text}");
        assert!(!text.contains("--allow-private-urls"), "{url}: {text}");
        assert!(text.contains("tcp connect error"), "{url}: {text}");
    }
    open.cancel().await.ok();
}

#[tokio::test]
async fn an_animated_gif_stays_an_animation_with_frame_0_as_preview() {
    let dir = tempfile::tempdir().unwrap();
    let delays = [10u16, 20, 30, 40];
    std::fs::write(
        dir.path().join("square.gif"),
        crate::animation::moving_square_gif(&delays),
    )
    .unwrap();
    let client = connect_legacy(dir.path(), &[]).await;
    let r = call(
        &client,
        "pixelate",
        json!({"path": "square.gif", "block": 8, "colors": 6}),
    )
    .await;
    let report = structured(&r).clone();
    assert_eq!(report["animation"]["frame_count"], 4, "{report:#}");
    assert_eq!(
        report["animation"]["delays_ms"],
        json!([100, 200, 300, 400])
    );
    assert!(
        report["preview"]["note"]
            .as_str()
            .unwrap()
            .starts_with("frame 0 of the 4 frames")
    );
    let written = report["output_path"].as_str().unwrap();
    assert!(written.ends_with("square.pixel.gif"), "{written}");
    let frames = crate::animation::gif_frames(&std::fs::read(written).unwrap());
    assert_eq!(frames.len(), 4);
    // One palette over every frame, the one the report lists.
    let mut colours = std::collections::BTreeSet::new();
    for (frame, _) in &frames {
        colours.extend(
            frame
                .pixels()
                .map(|p| format!("#{:02x}{:02x}{:02x}", p[0], p[1], p[2])),
        );
    }
    let listed: std::collections::BTreeSet<String> = report["report"]["palette"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(colours.is_subset(&listed), "{colours:?} vs {listed:?}");
    assert!(
        r.content
            .iter()
            .any(|c| matches!(c, rmcp::model::ContentBlock::Image(_)))
    );

    // A PNG output cannot hold the frames: the error says what to give instead.
    let r = call(
        &client,
        "pixelate",
        json!({"path": "square.gif", "output": "square.png"}),
    )
    .await;
    assert_tool_error(&r, &["animation of 4 frames", ".gif", ".apng", "`frame`"]);

    // `frame` gives that frame as a still PNG, the CLI's `--frame` bytes.
    let r = call(
        &client,
        "pixelate",
        json!({"path": "square.gif", "block": 8, "frame": 3, "output": "f3.png"}),
    )
    .await;
    let report = structured(&r).clone();
    assert!(report.get("animation").is_none(), "{report:#}");
    let mut options = pixelsmith::engine::Options::default();
    options.set("block", "8").unwrap();
    let expected = pixelsmith::engine::animation::pixelate_frame(
        &std::fs::read(dir.path().join("square.gif")).unwrap(),
        3,
        &options,
    )
    .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("f3.png")).unwrap(),
        expected.png
    );
    let r = call(
        &client,
        "pixelate",
        json!({"path": "square.gif", "frame": 9}),
    )
    .await;
    assert_tool_error(&r, &["frame 9 does not exist", "4 frames"]);
    let r = call(
        &client,
        "pixelate",
        json!({"path": "square.gif", "frame": 1, "output": "x.gif"}),
    )
    .await;
    assert_tool_error(&r, &["still PNG", ".png"]);
    client.cancel().await.ok();
}

#[tokio::test]
async fn failures_are_tool_results_that_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret = copy_fixture("horse.png", outside.path());
    copy_fixture("horse.png", dir.path());
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let client = connect_legacy(dir.path(), &[]).await;

    let r = call(&client, "pixelate", json!({"path": secret})).await;
    assert_tool_error(
        &r,
        &[
            "outside the allowed roots",
            &root.display().to_string(),
            "--allow-root",
        ],
    );

    std::os::unix::fs::symlink(&secret, dir.path().join("link.png")).unwrap();
    let r = call(&client, "pixelate", json!({"path": "link.png"})).await;
    assert_tool_error(&r, &["outside the allowed roots"]);

    let r = call(
        &client,
        "pixelate",
        json!({"path": "horse.png", "output": secret}),
    )
    .await;
    assert_tool_error(&r, &["outside the allowed roots"]);

    let r = call(
        &client,
        "pixelate",
        json!({"path": "horse.png", "sharpen": 3}),
    )
    .await;
    assert_tool_error(&r, &["unknown field `sharpen`", "`block`"]);

    let r = call(
        &client,
        "pixelate",
        json!({"path": "horse.png", "palette": "pico-9"}),
    )
    .await;
    assert_tool_error(&r, &["palette", "pico-8"]);

    let r = call(
        &client,
        "pixelate",
        json!({"path": "horse.png", "block": 4, "width": 9}),
    )
    .await;
    assert_tool_error(&r, &["block and width"]);

    let r = call(&client, "pixelate", json!({})).await;
    assert_tool_error(&r, &["exactly one image source"]);

    let r = call(
        &client,
        "pixelate",
        json!({"path": "horse.png", "block": "big"}),
    )
    .await;
    assert_tool_error(&r, &["argument `block`", "expected a JSON number"]);

    let r = call(
        &client,
        "pixelate",
        json!({"data_base64": "aGVsbG8gd29ybGQ="}),
    )
    .await;
    assert_tool_error(&r, &["not a PNG, JPEG, WebP, GIF or BMP"]);

    let r = call(&client, "check_module", json!({})).await;
    assert_tool_error(&r, &["build it first", "build_service"]);

    // A pipe inside the root would block a read forever; a data: URL goes in data_base64; a
    // batch that makes nothing is a failed call; a grid wider than the image says so.
    let fifo = dir.path().join("fifo.png");
    crate::support::mkfifo(&fifo);
    let r = call(&client, "pixelate", json!({"path": "fifo.png"})).await;
    assert_tool_error(&r, &["not a regular file"]);
    let r = call(
        &client,
        "pixelate",
        json!({"url": format!("data:image/png;base64,{}", "A".repeat(50_000))}),
    )
    .await;
    assert_tool_error(&r, &["data_base64"]);
    assert!(text_of(&r).len() < 500, "{}", text_of(&r));
    std::fs::write(dir.path().join("broken.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    let r = call(
        &client,
        "pixelate_batch",
        json!({"paths": ["broken.png"], "output_dir": "out"}),
    )
    .await;
    assert_tool_error(&r, &["every file failed", "broken.png"]);
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let r = call(
        &client,
        "pixelate_batch",
        json!({"paths": ["empty"], "output_dir": "out"}),
    )
    .await;
    assert_tool_error(&r, &["no images to pixelate"]);
    let r = call(
        &client,
        "pixelate",
        json!({"path": "horse.png", "width": 4096, "output": "wide.png"}),
    )
    .await;
    let notes = structured(&r)["notes"].to_string();
    assert!(notes.contains("columns, not 4096"), "{notes}");
    // A bad deployment name is the answer, whether or not a token is set.
    let r = call(&client, "deployment_status", json!({"name": "My App"})).await;
    assert_tool_error(&r, &["'My App' is not allowed"]);

    let r = call(
        &client,
        "run_local",
        json!({"action": "stop", "id": "local-9"}),
    )
    .await;
    assert_tool_error(&r, &["no running instance `local-9`"]);

    // Nothing was written outside the root, and the input stays untouched.
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    client.cancel().await.ok();
}

#[tokio::test]
async fn check_module_explains_a_broken_module_and_passes_the_real_one() {
    let dir = tempfile::tempdir().unwrap();
    let spin = wat::parse_str(
        r#"(module (memory (export "memory") 1)
                   (func (export "handle-http-request")))"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("spin.wasm"), spin).unwrap();
    let built = module::module_path();
    let client = connect_legacy(dir.path(), &[built.parent().unwrap()]).await;

    let r = call(&client, "check_module", json!({"path": "spin.wasm"})).await;
    let report = structured(&r);
    assert_eq!(report["passed"], false);
    assert_eq!(report["findings"][0]["rule"], "spin");
    assert!(
        report["findings"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("stdin")
    );

    let r = call(&client, "check_module", json!({"path": built})).await;
    let report = structured(&r);
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(report["dynamic"]["probes"].as_array().unwrap().len(), 4);
    client.cancel().await.ok();
}

#[tokio::test]
async fn the_2026_07_28_revision_works_without_initialize() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture("horse-transparent.png", dir.path());
    let client = connect(
        dir.path(),
        &[],
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await;
    let info = client.peer_info().expect("discovered server info");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2026_07_28);
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 12);
    let r = call(
        &client,
        "pixelate",
        json!({"path": "horse-transparent.png", "width": 40, "grid": true}),
    )
    .await;
    let out = structured(&r);
    assert_eq!(out["report"]["grid_width"], 40);
    assert_eq!(out["report"]["output_width"], 40);
    assert_eq!(out["report"]["transparent"], true);
    let r = call(&client, "pixelate", json!({"path": "/etc/hostname"})).await;
    assert_tool_error(&r, &["outside the allowed roots"]);
    client.cancel().await.ok();
}

#[tokio::test]
async fn run_local_and_call_service_smoke_test_the_real_module() {
    let dir = tempfile::tempdir().unwrap();
    let built = module::module_path();
    let client = connect_legacy(dir.path(), &[built.parent().unwrap()]).await;

    let r = call(&client, "run_local", json!({"module": built})).await;
    let started = structured(&r)["started"].clone();
    let id = started["id"].as_str().unwrap().to_string();
    let runner_url = started["runner_url"].as_str().unwrap().to_string();
    let gateway_url = started["gateway_url"].as_str().unwrap().to_string();
    assert!(runner_url.starts_with("http://127.0.0.1:"), "{runner_url}");

    // The gateway gives the real API back.
    let health = reqwest::get(format!("{gateway_url}/health")).await.unwrap();
    assert_eq!(health.status(), 200);

    let r = call(
        &client,
        "call_service",
        json!({"url": runner_url, "block": 4, "colors": 8}),
    )
    .await;
    let report = structured(&r);
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["health"]["ok"], true);
    assert_eq!(report["pixelate"]["ok"], true);

    let r = call(&client, "run_local", json!({"action": "list"})).await;
    assert_eq!(structured(&r)["running"].as_array().unwrap().len(), 1);
    let r = call(&client, "run_local", json!({"action": "stop", "id": id})).await;
    assert_eq!(structured(&r)["stopped"], json!([id]));
    assert!(
        reqwest::get(format!("{gateway_url}/health")).await.is_err(),
        "gateway still up"
    );
    // Its URL is now said to be stopped, not a refused private address.
    let r = call(&client, "call_service", json!({"url": runner_url})).await;
    assert_tool_error(&r, &["has been stopped", &id]);
    client.cancel().await.ok();
}

/// Starts `pixelsmith mcp --http 127.0.0.1:0` and returns the child and its `/mcp` URL.
async fn start_http(cwd: &Path, extra: &[&str]) -> (tokio::process::Child, String) {
    start_http_at(cwd, "127.0.0.1:0", extra).await
}

/// [`start_http`] on another `--http` address.
async fn start_http_at(cwd: &Path, addr: &str, extra: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pixelsmith"))
        .args(["mcp", "--http", addr])
        .args(extra)
        .current_dir(cwd)
        .env("PIXELSMITH_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the server announces its URL");
        if let Some(url) = line.strip_prefix("pixelsmith mcp: listening on ") {
            break url.to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// The JSON-RPC messages in an HTTP answer (plain JSON or an SSE stream).
async fn messages(response: reqwest::Response) -> Vec<Value> {
    let sse = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
    let body = response.text().await.unwrap();
    if !sse {
        return vec![serde_json::from_str(&body).unwrap()];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

#[tokio::test]
async fn streamable_http_serves_both_revisions_and_refuses_foreign_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start_http(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let post = |body: Value| {
        http.post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .json(&body)
    };

    // 2026-07-28: no initialize, no session; everything rides in _meta.
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let answer = post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                             "params": {"_meta": meta}}))
    .header("mcp-protocol-version", "2026-07-28")
    .header("mcp-method", "tools/list")
    .send()
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    let all = messages(answer).await;
    let tools = all
        .iter()
        .find(|m| m["id"] == 1)
        .and_then(|m| m["result"]["tools"].as_array())
        .unwrap_or_else(|| panic!("no tools in {all:?}"));
    assert_eq!(tools.len(), 12);

    // 2025-11-25: initialize, then a session.
    let answer = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    let session = answer
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let init = messages(answer).await;
    assert_eq!(init[0]["result"]["serverInfo"]["name"], "pixelsmith");
    assert_eq!(init[0]["result"]["protocolVersion"], "2025-11-25");
    assert!(session.is_some(), "no session id");
    // Ending the session: 204 (the Python SDK counts only 200 and 204 as success), then gone.
    let end = http
        .delete(&url)
        .header("mcp-session-id", session.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(end.status(), 204);
    let after = post(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        .header("mcp-session-id", session.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 404);

    // DNS-rebinding guard: a foreign Host header is refused.
    let answer = post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    child.kill().await.ok();

    // Non-loopback listening is refused with a reason.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pixelsmith"))
        .args(["mcp", "--http", "0.0.0.0:0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only listens on loopback"));
}

#[tokio::test]
async fn oversized_images_get_an_answer_naming_the_limit_over_stdio_and_http() {
    let limit = pixelsmith::mcp::limits::MAX_BASE64_CHARS;
    let dir = tempfile::tempdir().unwrap();
    // stdio: a 22 MiB line used to be dropped silently (the client waited forever).
    let client = connect_legacy(dir.path(), &[]).await;
    let r = call(
        &client,
        "pixelate",
        json!({"data_base64": "A".repeat(22 << 20)}),
    )
    .await;
    assert_tool_error(&r, &["not"]);
    let r = call(
        &client,
        "pixelate",
        json!({"data_base64": "A".repeat(limit + 4)}),
    )
    .await;
    assert_tool_error(&r, &[&limit.to_string(), "`path`"]);
    // Over the message limit: a JSON-RPC error for that very request (rmcp dropped such lines
    // silently and the client waited forever), then the session goes on.
    let max = pixelsmith::mcp::limits::MAX_MESSAGE_BYTES;
    let Value::Object(arguments) = json!({"data_base64": "A".repeat(max + 10)}) else {
        unreachable!()
    };
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        client.call_tool(CallToolRequestParams::new("pixelate").with_arguments(arguments)),
    )
    .await
    .expect("an answer, not silence");
    let err = answer.expect_err("a JSON-RPC error").to_string();
    assert!(
        err.contains(&max.to_string()) && err.contains("`path`"),
        "{err}"
    );
    assert!(!client.list_all_tools().await.unwrap().is_empty());
    client.cancel().await.ok();

    // HTTP: the same limit (bodies over 4 MiB got a plain-text 413).
    let (mut child, url) = start_http(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let post = |body: String, session: Option<&str>| {
        let mut request = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body);
        if let Some(session) = session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        request
    };
    let answer = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}})
        .to_string(),
        None,
    )
    .send()
    .await
    .unwrap();
    let session = answer.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    messages(answer).await;
    let sent = post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        Some(&session),
    )
    .send()
    .await
    .unwrap();
    assert!(sent.status().is_success());
    let call_with = |id: u32, data: String| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "pixelate", "arguments": {"data_base64": data}}})
        .to_string()
    };
    // Within the message limit, over the data_base64 limit: the tool says so.
    let answer = post(call_with(2, "A".repeat(limit + 4)), Some(&session))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let reply = messages(answer)
        .await
        .into_iter()
        .find(|m| m["id"] == 2)
        .unwrap();
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains(&limit.to_string()) && text.contains("`path`"),
        "{text}"
    );
    // Over the message limit: a JSON-RPC error for that request, not a plain-text 413.
    let huge = pixelsmith::mcp::limits::MAX_MESSAGE_BYTES + 10;
    let answer = post(call_with(3, "A".repeat(huge)), Some(&session))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let reply: Value = answer.json().await.unwrap();
    assert_eq!(reply["id"], 3, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&pixelsmith::mcp::limits::MAX_MESSAGE_BYTES.to_string())
            && message.contains("`path`"),
        "{message}"
    );
    // The same without a declared length (chunked): still that request's JSON-RPC error.
    let text = call_with(5, "A".repeat(huge));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = text
        .into_bytes()
        .chunks(1 << 20)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let answer = http
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let reply: Value = answer.json().await.unwrap();
    assert_eq!(reply["id"], 5, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`path`"),
        "{reply}"
    );
    // The session still works.
    let answer = post(
        json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}).to_string(),
        Some(&session),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(answer.status(), 200);
    child.kill().await.ok();
}

#[tokio::test]
async fn bodies_that_are_not_json_rpc_get_json_rpc_errors_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start_http(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    for (body, code) in [
        ("{\"jsonrpc\": \"2.0\", \"id\": 1, \"meth", -32700),
        ("not json at all", -32700),
        ("{\"hello\": \"world\"}", -32600),
    ] {
        let answer = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let reply: Value = answer.json().await.unwrap();
        assert_eq!(reply["error"]["code"], code, "{body}: {reply}");
        assert!(reply["error"]["message"].is_string());
    }
    // The wrong content type is still the transport's 415.
    let answer = http
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);
    child.kill().await.ok();
}

/// Opens a 2025-11-25 session on `url` (initialize + initialized) and returns its id.
async fn open_session(url: &str) -> String {
    let http = reqwest::Client::new();
    let answer = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}),
        )
        .send()
        .await
        .unwrap();
    let id = answer.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    messages(answer).await;
    assert_eq!(
        session_post(
            url,
            &id,
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .await,
        202
    );
    id
}

/// The status of `body` POSTed in session `id`.
async fn session_post(url: &str, id: &str, body: Value) -> u16 {
    let answer = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", id)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let _ = answer.bytes().await;
    status
}

#[tokio::test]
async fn http_sessions_are_capped_oldest_idle_first_and_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start_http(dir.path(), &["--max-sessions", "3"]).await;
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
    let a = open_session(&url).await;
    let b = open_session(&url).await;
    let c = open_session(&url).await;
    assert_eq!(session_post(&url, &a, ping.clone()).await, 200); // a is now used more recently than b
    let d = open_session(&url).await; // over the cap: b, idle longest, goes
    assert_eq!(session_post(&url, &b, ping.clone()).await, 404);
    for live in [&a, &c, &d] {
        assert_eq!(session_post(&url, live, ping.clone()).await, 200);
    }
    child.kill().await.ok();

    let (mut child, url) = start_http(dir.path(), &["--session-idle-secs", "1"]).await;
    let e = open_session(&url).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(session_post(&url, &e, ping.clone()).await, 404);
    child.kill().await.ok();
}

/// The status of a `ping` POSTed to `url` with these headers.
async fn ping_status(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}),
        );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn streamable_http_refuses_foreign_origins_and_answers_the_address_it_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start_http(dir.path(), &["--allow-origin", "https://app.example"]).await;
    let port = url.rsplit(':').next().unwrap().trim_end_matches("/mcp");
    let own = format!("http://127.0.0.1:{port}");
    let localhost = format!("http://localhost:{port}");
    assert_eq!(
        ping_status(&url, &[("origin", "http://evil.example")]).await,
        403
    );
    assert_eq!(ping_status(&url, &[("origin", "null")]).await, 403);
    // Loopback on another port is another origin (another local web page).
    assert_eq!(
        ping_status(&url, &[("origin", "http://127.0.0.1:1")]).await,
        403
    );
    assert_eq!(ping_status(&url, &[("origin", &own)]).await, 200);
    assert_eq!(ping_status(&url, &[("origin", &localhost)]).await, 200);
    assert_eq!(
        ping_status(&url, &[("origin", "https://app.example")]).await,
        200
    );
    // Clients that are not browsers send no Origin.
    assert_eq!(ping_status(&url, &[]).await, 200);
    child.kill().await.ok();

    // Any loopback address works, with its own Host header; localhost:PORT is a listen address.
    let (mut child, url) = start_http_at(dir.path(), "127.0.0.2:0", &[]).await;
    assert!(url.starts_with("http://127.0.0.2:"), "{url}");
    assert_eq!(ping_status(&url, &[]).await, 200);
    assert_eq!(ping_status(&url, &[("host", "evil.example")]).await, 403);
    child.kill().await.ok();
    let (mut child, url) = start_http_at(dir.path(), "localhost:0", &[]).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(ping_status(&url, &[]).await, 200);
    child.kill().await.ok();
}

#[tokio::test]
async fn pixelsmith_studio_is_an_mcp_app_resource_linked_from_pixelate() {
    let dir = tempfile::tempdir().unwrap();
    let client = connect_legacy(dir.path(), &[]).await;
    let info = client.peer_info().expect("server info");
    assert!(
        info.capabilities.resources.is_some(),
        "resources not advertised"
    );

    let tools = client.list_all_tools().await.expect("tools/list");
    let pixelate = tools.iter().find(|t| t.name == "pixelate").unwrap();
    let meta = serde_json::to_value(pixelate.meta.as_ref().expect("pixelate has _meta")).unwrap();
    assert_eq!(meta["ui"]["resourceUri"], "ui://pixelsmith/studio");
    // Only the tool with a view carries one.
    assert!(tools.iter().filter(|t| t.meta.is_some()).count() == 1);

    let resources = client.list_all_resources().await.expect("resources/list");
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].uri, "ui://pixelsmith/studio");
    assert_eq!(
        resources[0].mime_type.as_deref(),
        Some("text/html;profile=mcp-app")
    );
    let read = client
        .read_resource(ReadResourceRequestParams::new("ui://pixelsmith/studio"))
        .await
        .expect("resources/read");
    let contents = serde_json::to_value(&read.contents).unwrap();
    assert_eq!(contents[0]["uri"], "ui://pixelsmith/studio");
    assert_eq!(contents[0]["mimeType"], "text/html;profile=mcp-app");
    let html = contents[0]["text"].as_str().unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("ui/initialize"));
    // The boot data carries what the page cannot fetch inside a host: options and palettes.
    assert!(html.contains(r#""palettes":[{"#) && html.contains(r#""name":"pico-8""#));

    let missing = client
        .read_resource(ReadResourceRequestParams::new("ui://pixelsmith/nope"))
        .await
        .expect_err("an unknown resource is a protocol error");
    assert!(
        missing.to_string().contains("ui://pixelsmith/studio"),
        "{missing}"
    );
    client.cancel().await.ok();
}
