//! MCP server benchmarks on the real (release) binary:
//!
//! 1. Cold start to the first `tools/list` answer: spawn `pixelsmith mcp`, write the handshake and
//!    `tools/list` at once, stop the clock when the answer's line arrives. Both protocol
//!    revisions: 2025-11-25 (`initialize` first) and 2026-07-28 (one self-contained request).
//!    Target: ≤ 50 ms.
//! 2. 100 concurrent `pixelate` calls on one server over stdio (rmcp client): all must succeed and
//!    every output must decode; prints wall time and per-call latency.
//!
//! Run: `cargo bench --bench mcp_startup` (prints a Markdown summary for BENCHMARKS.md).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientLifecycleMode, ClientServiceExt};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_pixelsmith");
const COLD_RUNS: usize = 30;
const CONCURRENT_CALLS: usize = 100;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for name in ["horse.png", "coffee.png"] {
        std::fs::copy(fixtures.join(name), dir.path().join(name)).expect("fixture copies");
    }
    println!("binary: {BIN}");
    println!(
        "machine: {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();

    let legacy = [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},
            "clientInfo":{"name":"bench","version":"0"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
    ];
    let modern = [
        json!({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientInfo":{"name":"bench","version":"0"},
        "io.modelcontextprotocol/clientCapabilities":{}}}}),
    ];

    println!("| measurement | min | median | p95 | max |");
    println!("|---|---|---|---|---|");
    for (label, messages) in [
        (
            "cold start → tools/list, 2025-11-25 (initialize first)",
            &legacy[..],
        ),
        (
            "cold start → tools/list, 2026-07-28 (no initialize)",
            &modern[..],
        ),
    ] {
        cold_start(dir.path(), messages); // warm the page cache
        let times: Vec<Duration> = (0..COLD_RUNS)
            .map(|_| cold_start(dir.path(), messages))
            .collect();
        row(&format!("{label}, {COLD_RUNS} runs"), times);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for image in ["horse.png", "coffee.png"] {
        let (wall, latencies) = runtime.block_on(concurrent_pixelate(dir.path(), image));
        row(
            &format!(
                "{CONCURRENT_CALLS} concurrent pixelate calls on {image}, per call \
                 (all {CONCURRENT_CALLS} succeeded, wall {:.0} ms)",
                wall.as_secs_f64() * 1000.0
            ),
            latencies,
        );
    }
}

/// One cold start: spawn, send `messages`, wait for the answer with id 2.
fn cold_start(dir: &Path, messages: &[serde_json::Value]) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("mcp")
        .current_dir(dir)
        .env("PIXELSMITH_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pixelsmith starts");
    let mut stdin = child.stdin.take().unwrap();
    for message in messages {
        writeln!(stdin, "{message}").unwrap();
    }
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "server closed stdout"
        );
        let answer: serde_json::Value = serde_json::from_str(&line).expect("JSON-RPC on stdout");
        if answer["id"] == 2 {
            let tools = answer["result"]["tools"]
                .as_array()
                .expect("tools in the answer");
            assert_eq!(tools.len(), 5);
            break;
        }
    }
    let elapsed = started.elapsed();
    drop(stdin);
    let _ = child.wait();
    elapsed
}

/// One server, `CONCURRENT_CALLS` pixelate calls in flight at once, each to its own output.
async fn concurrent_pixelate(dir: &Path, image: &str) -> (Duration, Vec<Duration>) {
    let command = tokio::process::Command::new(BIN).configure(|c| {
        c.arg("mcp").current_dir(dir).env("PIXELSMITH_LOG", "warn");
    });
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .expect("pixelsmith starts");
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("bench", "0"),
    )
    .serve_with_lifecycle(transport, ClientLifecycleMode::Initialize)
    .await
    .expect("handshake");
    let stem = image.trim_end_matches(".png");
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..CONCURRENT_CALLS {
        let peer = client.peer().clone();
        let args = json!({"path": image, "output": format!("{stem}-{i}.png"),
                          "block": 4 + i % 8, "colors": 8 + i % 24});
        calls.spawn(async move {
            let t = Instant::now();
            let serde_json::Value::Object(args) = args else {
                unreachable!()
            };
            let result = peer
                .call_tool(CallToolRequestParams::new("pixelate").with_arguments(args))
                .await
                .expect("a tool result");
            assert_ne!(
                result.is_error,
                Some(true),
                "call {i} failed: {:?}",
                result.content
            );
            t.elapsed()
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = calls.join_next().await {
        latencies.push(done.expect("call task"));
    }
    let wall = started.elapsed();
    client.cancel().await.ok();
    for i in 0..CONCURRENT_CALLS {
        let path = dir.join(format!("{stem}-{i}.png"));
        image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    (wall, latencies)
}

fn row(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "| {label} | {} | {} | {} | {} |",
        ms(times[0]),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(times[times.len() - 1])
    );
}
