//! The runner emulation against OSC's runner contract (`shared/osc-platform.md` §1): the requests
//! OSC's Fastify server refuses are refused the same way and the module never runs for them; the
//! module gets stdin, `argv = ["main.wasm"]`, nothing else, a fresh instance each time; stdout
//! comes back as UTF-8 text with status 200 whatever the module did. Tiny WAT modules test the
//! semantics; the real module is tested on top.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use base64::Engine as _;
use pixelsmith::runner::{self, Exit, Runner, RunnerConfig, Served};
use serde_json::Value;

use crate::support::{module, wat_modules};

const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

fn any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

async fn serve(wasm: &[u8], config: RunnerConfig) -> Served {
    let runner = Runner::from_bytes(wasm, config).expect("fixture module loads");
    runner::start(runner, any_port())
        .await
        .expect("runner starts")
}

async fn serve_default(wasm: &[u8]) -> Served {
    serve(wasm, RunnerConfig::default()).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn post_text(url: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    client()
        .post(format!("{url}/"))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string()
}

/// A module that never returns, with a short limit: any request that ran it would take the
/// limit and get 504, so a quick refusal proves the module never ran.
async fn never_runs_server() -> Served {
    let config = RunnerConfig {
        time_limit: Duration::from_secs(3),
        ..RunnerConfig::default()
    };
    serve(&wat_modules::endless_loop(), config).await
}

#[tokio::test]
async fn other_paths_and_methods_get_fastifys_404_without_running_the_module() {
    let served = never_runs_server().await;
    let url = served.url();
    let started = Instant::now();
    let cases = [
        (
            "GET",
            "/x",
            r#"{"message":"Route GET:/x not found","error":"Not Found","statusCode":404}"#,
        ),
        (
            "GET",
            "/health?a=1",
            r#"{"message":"Route GET:/health?a=1 not found","error":"Not Found","statusCode":404}"#,
        ),
        (
            "POST",
            "/pixelate",
            r#"{"message":"Route POST:/pixelate not found","error":"Not Found","statusCode":404}"#,
        ),
        (
            "PUT",
            "/",
            r#"{"message":"Route PUT:/ not found","error":"Not Found","statusCode":404}"#,
        ),
        (
            "DELETE",
            "/",
            r#"{"message":"Route DELETE:/ not found","error":"Not Found","statusCode":404}"#,
        ),
    ];
    for (method, path, expected) in cases {
        let response = client()
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
        assert!(
            content_type(&response).starts_with("application/json"),
            "{method} {path}"
        );
        assert_eq!(response.headers()["vary"], "Origin");
        assert_eq!(response.text().await.unwrap(), expected, "{method} {path}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a refused request must not run the module (took {:?})",
        started.elapsed()
    );
    served.shutdown().await;
}

#[tokio::test]
async fn refused_bodies_get_fastifys_415_500_and_413_without_running_the_module() {
    let served = never_runs_server().await;
    let url = format!("{}/", served.url());
    let started = Instant::now();
    let send = |content_type: Option<&'static str>, body: Vec<u8>| {
        let mut request = client().post(&url).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send()
    };

    let response = send(Some("application/octet-stream"), b"\x89PNG".to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"statusCode":415,"code":"FST_ERR_CTP_INVALID_MEDIA_TYPE","error":"Unsupported Media Type","message":"Unsupported Media Type: application/octet-stream"}"#
    );

    let response = send(Some("image/png"), b"\x89PNG".to_vec()).await.unwrap();
    assert_eq!(response.status(), 415);

    let response = send(Some("application/json"), br#"{"path":"/health"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"statusCode":500,"error":"Internal Server Error","message":"request.body.match is not a function"}"#
    );

    // Over 1 MiB: refused whether the length is declared or streamed.
    let big = vec![b'a'; runner::BODY_LIMIT + 1];
    let response = send(Some("text/plain"), big.clone()).await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"statusCode":413,"code":"FST_ERR_CTP_BODY_TOO_LARGE","error":"Payload Too Large","message":"Request body is too large"}"#
    );
    let status = post_chunked(&served, &big).await;
    assert_eq!(status, 413, "a chunked body over the limit");

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a refused request must not run the module (took {:?})",
        started.elapsed()
    );
    served.shutdown().await;
}

/// POSTs `body` as text with chunked transfer encoding (no declared length) over a raw socket and
/// returns the status code.
async fn post_chunked(served: &Served, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(served.addr()).await.unwrap();
    let head = "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/plain\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    socket.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(64 * 1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer and close before the whole body is sent.
        if socket.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_module_runs_for_get_and_text_post_with_the_hex_rule() {
    let served = serve_default(&wat_modules::echo()).await;
    let url = served.url();

    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), TEXT_PLAIN);
    // @fastify/cors reflecting origins (as the runner's preflight shows): no origin, no
    // access-control-allow-origin; always `vary: Origin`; never `*` with credentials.
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert_eq!(response.headers()["vary"], "Origin");
    let from_page = client()
        .get(format!("{url}/"))
        .header("origin", "https://page.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        from_page.headers()["access-control-allow-origin"],
        "https://page.example"
    );
    assert_eq!(
        from_page.headers()["access-control-allow-credentials"],
        "true"
    );
    assert_eq!(from_page.headers()["vary"], "Origin");
    assert_eq!(
        response.text().await.unwrap(),
        "",
        "GET / runs with empty stdin"
    );

    let cases: [(&str, &str); 5] = [
        ("48656C6c6f", "Hello"),
        ("48656c6c6f2", "Hello"),
        ("hello world", "hello world"),
        (r#"{"path":"/health"}"#, r#"{"path":"/health"}"#),
        ("", ""),
    ];
    for (body, stdin) in cases {
        let response = post_text(&url, body).await;
        assert_eq!(response.status(), 200, "{body:?}");
        assert_eq!(content_type(&response), TEXT_PLAIN);
        assert_eq!(response.text().await.unwrap(), stdin, "body {body:?}");
    }

    // A JSON string survives `request.body.match` and is treated as text.
    let response = client()
        .post(format!("{url}/"))
        .header("content-type", "application/json")
        .body(r#""4869""#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "Hi",
        "the hex rule applies to it too"
    );
    served.shutdown().await;
}

#[tokio::test]
async fn stdout_is_utf8_decoded_with_replacement_characters() {
    let served = serve_default(&wat_modules::bad_utf8()).await;
    let response = client()
        .get(format!("{}/", served.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "a\u{fffd}b\u{fffd}");
    served.shutdown().await;
}

#[tokio::test]
async fn traps_and_non_zero_exits_still_answer_200_with_what_was_written() {
    let served = serve_default(&wat_modules::exit_3()).await;
    let response = post_text(&served.url(), "anything").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), TEXT_PLAIN);
    assert_eq!(
        response.text().await.unwrap(),
        "exiting",
        "proc_exit is a normal end: WasmEdge prints nothing"
    );
    served.shutdown().await;
}

/// `[2026-11-30 10:15:02.114] [error] ` with any time: WasmEdge's spdlog prefix.
fn strip_log_prefix(line: &str) -> &str {
    let (stamp, rest) = line.split_at(26);
    assert!(
        stamp.starts_with("[20") && stamp.ends_with("] ") && stamp.as_bytes()[11] == b' ',
        "{line:?}"
    );
    rest
}

#[tokio::test]
async fn a_trap_appends_wasmedges_error_lines_to_stdout() {
    let served = serve_default(&wat_modules::trap_after_output()).await;
    let response = post_text(&served.url(), "anything").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), TEXT_PLAIN);
    let text = response.text().await.unwrap();
    let after = text
        .strip_prefix("before trap")
        .unwrap_or_else(|| panic!("the module's bytes come first: {text:?}"));
    let lines: Vec<&str> = after.lines().map(strip_log_prefix).collect();
    assert_eq!(
        lines,
        [
            "[error] execution failed: unreachable, Code: 0x40a",
            "[error]     In instruction: unreachable (0x00) , Bytecode offset: 0x00000000",
            "[error]     When executing function name: \"_start\"",
        ],
        "{text:?}"
    );
    assert!(text.ends_with('\n'));
    served.shutdown().await;
}

#[tokio::test]
async fn a_trap_after_a_complete_answer_reaches_the_gateway_as_502_not_an_envelope() {
    let runner = Runner::from_bytes(
        &wat_modules::answers_then_traps_on_input(),
        RunnerConfig::default(),
    )
    .unwrap();
    let served = runner::start(runner, any_port()).await.unwrap();
    let gateway = pixelsmith::gateway::start(
        &pixelsmith::gateway::GatewayConfig::new(served.url()),
        any_port(),
    )
    .await
    .unwrap();
    // The gateway sends every request as an envelope on stdin, so the module answers with its
    // 500 envelope and traps: the runner sends the envelope and WasmEdge's lines, which is no
    // envelope, as on OSC.
    let response = client()
        .get(format!("{}/palettes", gateway.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_an_envelope", "{body}");
    gateway.shutdown().await;
    served.shutdown().await;
}

#[test]
fn in_process_runs_report_exit_code_trap_stderr_and_time() {
    let exit = Runner::from_bytes(&wat_modules::exit_3(), RunnerConfig::default()).unwrap();
    let outcome = exit.run(b"");
    assert_eq!(outcome.exit, Exit::Code(3));
    assert_eq!(outcome.exit_code(), Some(3));
    assert_eq!(outcome.stdout, b"exiting");

    let trap =
        Runner::from_bytes(&wat_modules::trap_after_output(), RunnerConfig::default()).unwrap();
    let outcome = trap.run(b"");
    assert!(
        matches!(&outcome.exit, Exit::Trap(why) if why.contains("unreachable")),
        "{:?}",
        outcome.exit
    );
    assert_eq!(outcome.exit_code(), None);
    assert_eq!(outcome.stdout, b"before trap");
    assert_eq!(outcome.stderr, b"oops");

    let echo = Runner::from_bytes(&wat_modules::echo(), RunnerConfig::default()).unwrap();
    let input: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let outcome = echo.run(&input);
    assert_eq!(outcome.exit, Exit::Code(0));
    assert_eq!(
        outcome.stdout, input,
        "binary stdin passes through unchanged in-process"
    );
    assert!(outcome.elapsed > Duration::ZERO);
}

#[tokio::test]
async fn the_module_sees_only_argv_main_wasm_no_env_no_preopens() {
    // Environment variables of this process must not leak into the module.
    let served = serve_default(&wat_modules::probe_args_env_preopens()).await;
    let response = client()
        .get(format!("{}/", served.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "main.wasm\0|0|8");
    served.shutdown().await;
}

#[tokio::test]
async fn every_request_gets_a_fresh_instance() {
    let served = serve_default(&wat_modules::counter()).await;
    for _ in 0..3 {
        let response = client()
            .get(format!("{}/", served.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.text().await.unwrap(),
            "1",
            "state must not survive a request"
        );
    }
    served.shutdown().await;
}

#[tokio::test]
async fn a_hanging_module_is_stopped_at_the_time_limit_with_504() {
    let config = RunnerConfig {
        time_limit: Duration::from_millis(500),
        ..RunnerConfig::default()
    };
    let runner = Runner::from_bytes(&wat_modules::endless_loop(), config).unwrap();
    let started = Instant::now();
    let outcome = runner.run(b"");
    assert_eq!(outcome.exit, Exit::TimedOut(Duration::from_millis(500)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let served = runner::start(runner, any_port()).await.unwrap();
    let response = client()
        .get(format!("{}/", served.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    let text = response.text().await.unwrap();
    assert!(text.contains("OSC's runner has no limit"), "{text}");
    served.shutdown().await;
}

#[tokio::test]
async fn a_module_blocked_in_a_host_call_is_also_cut_off() {
    let config = RunnerConfig {
        time_limit: Duration::from_millis(400),
        ..RunnerConfig::default()
    };
    let runner = Runner::from_bytes(&wat_modules::long_sleep(), config).unwrap();
    let started = Instant::now();
    let outcome = runner.run_async(Vec::new()).await;
    assert_eq!(outcome.exit, Exit::TimedOut(Duration::from_millis(400)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cors_preflight_is_answered_as_fastify_cors_does() {
    let served = serve_default(&wat_modules::echo()).await;
    let response = client()
        .request(reqwest::Method::OPTIONS, format!("{}/", served.url()))
        .header("origin", "https://example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://example.com"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-allow-methods"], "GET,HEAD,POST");
    assert_eq!(headers["access-control-allow-headers"], "content-type");
    assert_eq!(headers["content-length"], "0");
    assert_eq!(headers["vary"], "Origin, Access-Control-Request-Headers");
    assert_eq!(response.text().await.unwrap(), "");
    served.shutdown().await;
}

#[tokio::test]
async fn request_handling_differences_are_fastifys_and_the_module_never_runs() {
    let served = never_runs_server().await;
    let url = format!("{}/", served.url());
    let started = Instant::now();
    let send = |content_type: &'static str, body: Vec<u8>| {
        client()
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let expect = |status: u16, body: &str| (status, body.to_string());
    let answer = |response: reqwest::Response| async move {
        let headers = response.headers().clone();
        (
            (response.status().as_u16(), response.text().await.unwrap()),
            headers,
        )
    };

    // One hex digit: the hex test passes, the pair decoder gets null.
    let (got, _) = answer(send("text/plain", b"a".to_vec()).await.unwrap()).await;
    assert_eq!(
        got,
        expect(
            500,
            r#"{"statusCode":500,"error":"Internal Server Error","message":"Cannot read properties of null (reading 'map')"}"#
        )
    );

    // Not UTF-8: the decoded length no longer matches Content-Length.
    let (got, headers) = answer(send("text/plain", b"a\xffb".to_vec()).await.unwrap()).await;
    assert_eq!(
        got,
        expect(
            400,
            r#"{"statusCode":400,"code":"FST_ERR_CTP_INVALID_CONTENT_LENGTH","error":"Bad Request","message":"Request body size did not match Content-Length"}"#
        )
    );
    assert_eq!(headers["connection"], "close");

    // Invalid JSON: Node's own SyntaxError message, no `code`.
    let (got, _) = answer(
        send("application/json", b"not json".to_vec())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        got,
        expect(
            400,
            r#"{"statusCode":400,"error":"Bad Request","message":"Unexpected token 'o', \"not json\" is not valid JSON"}"#
        )
    );
    let (got, _) = answer(
        send("application/json", br#"{"path":"/health",}"#.to_vec())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        got,
        expect(
            400,
            r#"{"statusCode":400,"error":"Bad Request","message":"Expected double-quoted property name in JSON at position 18 (line 1 column 19)"}"#
        )
    );
    let (got, _) = answer(
        send("application/json", br#"{"__proto__":{"x":1}}"#.to_vec())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        got,
        expect(
            400,
            r#"{"statusCode":400,"error":"Bad Request","message":"Object contains forbidden prototype property"}"#
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a refused request must not run the module (took {:?})",
        started.elapsed()
    );
    served.shutdown().await;
}

#[test]
fn modules_that_cannot_run_are_refused_with_the_reason() {
    let missing = Runner::from_file(
        std::path::Path::new("/nonexistent/main.wasm"),
        RunnerConfig::default(),
    )
    .unwrap_err();
    assert!(
        matches!(missing, runner::Error::ModuleNotFound { .. }),
        "{missing}"
    );
    assert!(missing.to_string().contains("build it first"), "{missing}");

    let reactor =
        wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "handle")))"#)
            .unwrap();
    let err = Runner::from_bytes(&reactor, RunnerConfig::default()).unwrap_err();
    assert!(err.to_string().contains("no `_start`"), "{err}");

    let sockets = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    )
    .unwrap();
    let err = Runner::from_bytes(&sockets, RunnerConfig::default()).unwrap_err();
    assert!(err.to_string().contains("sock_open"), "{err}");
}

#[tokio::test]
async fn only_loopback_addresses_are_served() {
    let runner = Runner::from_bytes(&wat_modules::echo(), RunnerConfig::default()).unwrap();
    let err = runner::start(runner, "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, runner::Error::NotLoopback { .. }), "{err}");
}

// ---- the real module on the emulation ----

#[tokio::test]
async fn the_real_module_answers_get_with_health_and_text_envelopes() {
    let runner = Runner::from_file(module::module_path(), RunnerConfig::default()).unwrap();
    let served = runner::start(runner, any_port()).await.unwrap();
    let url = served.url();

    let response = client().get(format!("{url}/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = serde_json::from_str(response.text().await.unwrap().trim()).unwrap();
    assert_eq!(answer["envelope"], "pixelsmith/1");
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["body"]["status"], "ok");

    let response = post_text(&url, r#"{"method":"GET","path":"/nope"}"#).await;
    assert_eq!(response.status(), 200, "the runner always answers 200");
    let answer: Value = serde_json::from_str(response.text().await.unwrap().trim()).unwrap();
    assert_eq!(
        answer["status"], 404,
        "the module's own status is in the envelope"
    );
    assert_eq!(answer["body"]["error"]["code"], "not_found");
    served.shutdown().await;
}

#[tokio::test]
async fn a_hex_encoded_image_reaches_the_real_module_as_bytes() {
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/horse.png")).unwrap();
    let hex: String = png.iter().map(|b| format!("{b:02x}")).collect();
    let runner = Runner::from_file(module::module_path(), RunnerConfig::default()).unwrap();
    let served = runner::start(runner, any_port()).await.unwrap();
    let response = post_text(&served.url(), hex).await;
    assert_eq!(response.status(), 200);
    let answer: Value = serde_json::from_str(response.text().await.unwrap().trim()).unwrap();
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["content_type"], "image/png");
    let out = base64::engine::general_purpose::STANDARD
        .decode(answer["body_base64"].as_str().unwrap())
        .unwrap();
    let native =
        pixelsmith::engine::pixelate(&png, &pixelsmith::engine::Options::default()).unwrap();
    assert_eq!(
        out, native.png,
        "the module's PNG equals the native engine's, byte for byte"
    );
    served.shutdown().await;
}

#[test]
fn the_real_module_in_process_gives_one_envelope_line() {
    let runner = Runner::from_bytes(&module::module_bytes(), RunnerConfig::default()).unwrap();
    let outcome = runner.run(br#"{"path":"/palettes"}"#);
    assert_eq!(outcome.exit, Exit::Code(0));
    let text = outcome.stdout_text();
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["status"], 200);
}

#[test]
fn the_modules_panic_hook_answers_500_and_exits_without_a_trap() {
    let runner = Runner::from_file(module::panic_example_path(), RunnerConfig::default()).unwrap();
    let outcome = runner.run(b"");
    assert_eq!(outcome.exit, Exit::Code(101), "proc_exit, not a trap");
    assert_eq!(outcome.runtime_stdout, "", "WasmEdge has nothing to add");
    let text = outcome.answer_text();
    assert_eq!(text.lines().count(), 1, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["envelope"], "pixelsmith/1");
    assert_eq!(answer["status"], 500);
    assert_eq!(answer["body"]["error"]["code"], "internal_error");
    let message = answer["body"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("index out of bounds"), "{message}");
}

#[tokio::test]
async fn hex_with_a_trailing_newline_gets_an_answer_that_says_so() {
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/horse.png")).unwrap();
    let mut hex: String = png.iter().map(|b| format!("{b:02x}")).collect();
    hex.push('\n'); // what `echo "$(xxd -p …)"` or an editor's saved file sends
    let runner = Runner::from_file(module::module_path(), RunnerConfig::default()).unwrap();
    let served = runner::start(runner, any_port()).await.unwrap();
    let response = post_text(&served.url(), hex).await;
    assert_eq!(response.status(), 200, "the runner always answers 200");
    let answer: Value = serde_json::from_str(response.text().await.unwrap().trim()).unwrap();
    assert_eq!(answer["status"], 400, "{answer}");
    assert_eq!(answer["body"]["error"]["code"], "hex_not_decoded");
    let message = answer["body"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("line break"), "{message}");
    assert!(message.contains("--data-binary @image.hex"), "{message}");
    served.shutdown().await;
}

#[tokio::test]
async fn a_module_that_leaves_a_large_stdin_unread_crashes_the_runner_as_on_osc() {
    let served = serve_default(&wat_modules::ignores_stdin()).await;
    let url = served.url();
    // Small leftovers fit the pipe: answered as usual.
    let response = post_text(&url, "x".repeat(100_000)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");

    // From EPIPE_UNREAD_BYTES unread, the runner dies: no answer at all, over a raw socket.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = "x".repeat(runner::EPIPE_UNREAD_BYTES + 1000);
    let mut socket = tokio::net::TcpStream::connect(served.addr()).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/plain\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    assert_eq!(
        String::from_utf8_lossy(&answer),
        "",
        "the connection closes with no answer"
    );

    // And it is gone: connections are refused until it is started again.
    let err = client()
        .get(format!("{url}/"))
        .send()
        .await
        .expect_err("the crashed runner refuses connections");
    assert!(err.is_connect(), "{err:?}");
    served.shutdown().await;
}

#[test]
fn every_run_loads_and_validates_the_module_so_its_size_shows() {
    // The same trivial `_start`, alone and next to 20,000 functions it never calls: on OSC the
    // second costs more per request because WasmEdge loads and validates all of it every time.
    let small = wat_modules::ignores_stdin();
    let filler: String = (0..20_000)
        .map(|i| format!("(func $f{i} (param i32) (result i32) local.get 0 i32.const {i} i32.add)"))
        .collect();
    let big = wat::parse_str(format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  {filler}
  (func (export "_start")))"#
    ))
    .unwrap();
    let median_load = |wasm: &[u8]| {
        let runner = Runner::from_bytes(wasm, RunnerConfig::default()).unwrap();
        let mut loads: Vec<Duration> = (0..5).map(|_| runner.run(b"").load).collect();
        loads.sort();
        loads[2]
    };
    let (small_load, big_load) = (median_load(&small), median_load(&big));
    assert!(
        big_load > small_load * 5,
        "a {} byte module should take longer to load than a {} byte one: {big_load:?} vs {small_load:?}",
        big.len(),
        small.len()
    );
}

#[test]
fn run_local_help_says_how_local_timings_relate_to_oscs() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pixelsmith"))
        .args(["run-local", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("Timings, local vs OSC"), "{help}");
    assert!(help.contains("6-10x slower"), "{help}");
    assert!(
        help.contains("loading and\n  validating the whole module"),
        "{help}"
    );
}

/// Wherever a fuel slice (the emulation's time-limit check) happens to end, the real module runs
/// to its end. Running out of fuel while wasmi compiled a function on its first call was an error
/// that cannot be resumed: a third of some requests trapped, depending only on their byte length,
/// and run-local answered 502 where OSC answers 200. With tiny slices every first call of a
/// function lands in a slice's last fuel.
#[test]
fn the_real_module_runs_to_its_end_wherever_a_fuel_slice_ends() {
    let config = RunnerConfig {
        fuel_slice: 1_000,
        ..RunnerConfig::default()
    };
    let runner = Runner::from_bytes(&module::module_bytes(), config).unwrap();
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/horse.png")).unwrap();
    let mut stdin = b"POST /pixelate?block=16\n".to_vec();
    stdin.extend_from_slice(&png);
    for request in [&b""[..], &stdin] {
        let outcome = runner.run(request);
        assert!(
            matches!(outcome.exit, Exit::Code(0)),
            "{:?} {}",
            outcome.exit,
            outcome.runtime_stdout
        );
        assert!(String::from_utf8_lossy(&outcome.stdout).contains("\"status\":200"));
    }
}

/// The module reads JSON and base64 with its own vector code (wasm SIMD, `+simd128`), which no
/// native test runs: every way a client writes the image's base64 must give the module the
/// answer the native router gives, byte for byte, failures included (same message, same offset).
#[test]
fn the_modules_json_and_base64_readers_answer_as_the_native_router() {
    let runner = Runner::from_bytes(&module::module_bytes(), RunnerConfig::default()).unwrap();
    let gradient =
        image::RgbImage::from_fn(45, 31, |x, y| image::Rgb([x as u8 * 5, y as u8 * 8, 90]));
    let mut png = Vec::new();
    gradient
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let plain = base64::engine::general_purpose::STANDARD.encode(&png);
    let wrapped = |newline: &str| {
        plain
            .as_bytes()
            .chunks(76)
            .map(|line| std::str::from_utf8(line).unwrap())
            .collect::<Vec<_>>()
            .join(newline)
    };
    let with_bad_char = |at: usize| {
        let mut text = plain.clone();
        text.replace_range(at..at + 1, "!");
        text
    };
    // Values as they appear between the JSON string's quotes.
    let mut values = vec![
        plain.clone(),
        plain.trim_end_matches('=').to_string(),
        wrapped("\\n"),
        wrapped("\\r\\n"),
        base64::engine::general_purpose::URL_SAFE.encode(&png),
        format!("data:image/png;base64,{plain}"),
        plain.replace('/', "\\/"),
        plain.replacen('A', "\\u0041", 3),
        format!("{}={}", &plain[..64], &plain[64..]),
        plain[..plain.len() - 1].to_string(),
    ];
    values.extend([0, 15, 16, 31, 100, plain.len() - 2].map(with_bad_char));
    let mut bodies: Vec<String> = values
        .iter()
        .map(|value| format!(r#"{{"image_base64":"{value}","pixel_size":4,"color_levels":4}}"#))
        .collect();
    // A string's plain run ending (escape, quote, control character) at every place around the
    // vector and word sizes; the option's error message quotes the string as it was read.
    for len in 0..40 {
        let run = "é0123456789abcdef"
            .chars()
            .cycle()
            .take(len)
            .collect::<String>();
        for end in ["\\u0041x", "\"", "\\n", "\\\\", "\t"] {
            bodies.push(format!(
                r#"{{"dither":"{run}{end}","image_base64":"AAAA"}}"#
            ));
        }
    }
    for body in bodies {
        assert_module_answers_as_native(&runner, &body);
    }
}

/// The real module's answer to `body` equals the native router's, field for field; returns it.
fn assert_module_answers_as_native(runner: &Runner, body: &str) -> Value {
    let native: Value =
        serde_json::from_str(&wasm_service::router::handle_stdin(body.as_bytes()).to_line())
            .unwrap();
    let outcome = runner.run(body.as_bytes());
    let module: Value = serde_json::from_str(&outcome.stdout_text())
        .unwrap_or_else(|e| panic!("{e}: {}", outcome.stdout_text()));
    let start: String = body.chars().take(60).collect();
    assert!(
        module == native,
        "{start}…\nmodule: {:.400}\nnative: {:.400}",
        module.to_string(),
        native.to_string()
    );
    native
}

/// The module undoes PNG row filters with its own vector code (Sub, Average and Paeth for RGB and
/// RGBA, `+simd128`), which no native test runs: every filter, every pixel layout and widths
/// around the 4-byte step give the native decoder's pixels (block 1: the output is the image).
#[test]
fn the_module_unfilters_every_png_filter_as_the_native_decoder() {
    let runner = Runner::from_bytes(&module::module_bytes(), RunnerConfig::default()).unwrap();
    let layouts = [
        (png::ColorType::Rgb, png::BitDepth::Eight, 3),
        (png::ColorType::Rgba, png::BitDepth::Eight, 4),
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight, 2),
        (png::ColorType::Grayscale, png::BitDepth::Eight, 1),
        (png::ColorType::Rgb, png::BitDepth::Sixteen, 6),
    ];
    let filters = [
        png::Filter::Sub,
        png::Filter::Up,
        png::Filter::Avg,
        png::Filter::Paeth,
    ];
    for (color, depth, bytes_per_pixel) in layouts {
        for width in [1u32, 2, 3, 5, 17] {
            let height = 6u32;
            // Noise, so every predictor's choice (left, above, upper left) occurs: the top rows
            // from five levels, where Paeth's distances often tie, the rest from every value.
            let row_len = width * bytes_per_pixel;
            let samples: Vec<u8> = (0..row_len * height)
                .map(|i| {
                    let noise = i.wrapping_mul(2_654_435_761) >> 13;
                    match i / row_len {
                        0..3 => (noise % 5 * 60) as u8,
                        _ => noise as u8,
                    }
                })
                .collect();
            for filter in filters {
                let mut png = Vec::new();
                let mut encoder = png::Encoder::new(&mut png, width, height);
                encoder.set_color(color);
                encoder.set_depth(depth);
                encoder.set_filter(filter);
                let mut writer = encoder.write_header().unwrap();
                writer.write_image_data(&samples).unwrap();
                writer.finish().unwrap();
                let encoded = base64::engine::general_purpose::STANDARD.encode(&png);
                let body =
                    format!(r#"{{"image_base64":"{encoded}","pixel_size":1,"colors":"full"}}"#);
                let answer = assert_module_answers_as_native(&runner, &body);
                assert_eq!(
                    answer["status"], "ok",
                    "{color:?} {width} {filter:?}: {answer}"
                );
            }
        }
    }
}

/// The module reads PNGs with its own reader and the CLI with the `png` crate: a damaged file
/// gets the same plain words from both (the crate's own texts were debug dumps such as
/// `ChunkType { type: IHDR, critical: true, … }`).
#[test]
fn damaged_pngs_get_the_same_words_from_the_module_and_natively() {
    let runner = Runner::from_bytes(&module::module_bytes(), RunnerConfig::default()).unwrap();
    let mut good = Vec::new();
    let mut encoder = png::Encoder::new(&mut good, 16, 16);
    encoder.set_color(png::ColorType::Rgb);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[90u8; 16 * 16 * 3]).unwrap();
    writer.finish().unwrap();
    // IHDR's data is bytes 16..29 and its CRC (over type and data) 29..33.
    let with_ihdr = |edit: &dyn Fn(&mut [u8])| {
        let mut png = good.clone();
        edit(&mut png[16..29]);
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        png
    };
    let mut bad_crc = good.clone();
    bad_crc[29] ^= 0xFF;
    let cases = [
        (bad_crc, "checksum (CRC)"),
        (with_ihdr(&|d| d[8] = 7), "not a valid combination"),
        (
            with_ihdr(&|d| d[7] = 64),
            "fewer rows than its header declares",
        ),
    ];
    for (png, words) in cases {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&png);
        let body = format!(r#"{{"image_base64":"{encoded}","pixel_size":4}}"#);
        let answer = assert_module_answers_as_native(&runner, &body);
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(words), "{words}: {answer}");
        assert!(
            !error.contains("ChunkType") && !error.contains("Invalid"),
            "{answer}"
        );
    }
}
