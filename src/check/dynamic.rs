//! The dynamic half of the contract check: run the module the way OSC's runner would, in-process
//! through the runner emulation (`crate::runner::Runner`, a fresh WASI instance per request), and
//! look at what comes back.
//!
//! The requests: `GET /` (empty stdin), which every module must survive and answer with UTF-8
//! text; a text body that is no request at all, which must be answered without a trap (on OSC,
//! WasmEdge prints its error lines to stdout after the module's answer when it traps, so the
//! client gets the answer with log text after it); a 300 KB body, which must be read to the end
//! (a module that exits with much of its stdin unread crashes OSC's runner with EPIPE); and,
//! when the module speaks Pixelsmith's
//! envelope, a small `POST /pixelate` whose PNG must decode. A module that speaks another
//! protocol gets the first three only: its own routes are not ours to judge.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use wasm_service::envelope::{ENVELOPE_TAG, Request, Response};

use super::Finding;
use crate::engine;
use crate::runner::{EPIPE_UNREAD_BYTES, Exit, RunOutcome, Runner, RunnerConfig, stdin_for};

/// How long one probe may run before it counts as hanging: far more than a working module needs
/// for these small requests, and short enough that a hanging module's report reaches an MCP
/// client before the host's tool timeout (60 s in common hosts: a 60 s limit arrived just after).
const PROBE_TIME_LIMIT: Duration = Duration::from_secs(20);

/// The size of the generated test picture (a gradient; small so the probe stays fast even in an
/// interpreter).
const PROBE_WIDTH: u32 = 48;
const PROBE_HEIGHT: u32 = 32;

/// What the probes saw.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DynamicReport {
    /// What ran the module.
    pub runtime: String,
    /// One entry per request sent.
    pub probes: Vec<Probe>,
}

/// One request through the runner emulation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Probe {
    /// The request as the runner would get it, e.g. `GET / (empty stdin)`.
    pub request: String,
    /// Whether the answer was what the contract asks for.
    pub passed: bool,
    /// How the run ended: `exit 0`, `exit 3`, `trap: …`, `timed out after 20 s`.
    pub exit: String,
    /// Wall time of the run (instantiation + `_start`), milliseconds.
    pub elapsed_ms: f64,
    /// Bytes written to stdout.
    pub stdout_bytes: u64,
    /// What was checked and what was seen.
    pub detail: String,
}

/// Runs the probes on `bytes` and appends a finding for every failed expectation.
pub(crate) async fn probe(bytes: &[u8], findings: &mut Vec<Finding>) -> DynamicReport {
    let mut report = DynamicReport {
        runtime: "pixelsmith runner emulation (wasmi, fresh instance per request)".to_string(),
        probes: Vec::new(),
    };
    let config = RunnerConfig {
        time_limit: PROBE_TIME_LIMIT,
        ..RunnerConfig::default()
    };
    let runner = match Runner::from_bytes(bytes, config) {
        Ok(runner) => runner,
        Err(err) => {
            findings.push(Finding::error(
                "runner_refused",
                format!("the runner emulation cannot start the module: {err}"),
                "fix the errors above; a module the emulation refuses does not run on OSC either",
            ));
            return report;
        }
    };

    let health = runner.run_async(Vec::new()).await;
    let (probe, answer) = judge_health(&health, findings);
    report.probes.push(probe);
    if !matches!(health.exit, Exit::TimedOut(_)) {
        report
            .probes
            .push(error_path_probe(&runner, findings).await);
        report.probes.push(drain_probe(&runner, findings).await);
    }
    if let Some(answer) = answer
        && answer.envelope() == ENVELOPE_TAG
        && !answer.is_legacy()
    {
        report.probes.push(pixelate_probe(&runner, findings).await);
    }
    report
}

fn exit_text(outcome: &RunOutcome) -> String {
    match &outcome.exit {
        Exit::Code(code) => format!("exit {code}"),
        Exit::Trap(reason) => format!("trap: {reason}"),
        Exit::TimedOut(limit) => format!("timed out after {} s", limit.as_secs_f64()),
        Exit::Instantiate(reason) => format!("could not instantiate: {reason}"),
        Exit::Abandoned => "stopped: nobody waited for the answer".to_string(),
    }
}

fn new_probe(request: &str, outcome: &RunOutcome) -> Probe {
    Probe {
        request: request.to_string(),
        passed: false,
        exit: exit_text(outcome),
        elapsed_ms: outcome.elapsed.as_secs_f64() * 1000.0,
        stdout_bytes: outcome.stdout.len() as u64,
        detail: String::new(),
    }
}

/// `GET /`: the run must end, stdout must be UTF-8 (the runner decodes it lossily), and if it is a
/// Pixelsmith envelope, it must be a 200 health answer.
fn judge_health(outcome: &RunOutcome, findings: &mut Vec<Finding>) -> (Probe, Option<Response>) {
    let mut probe = new_probe("GET / (empty stdin)", outcome);
    match &outcome.exit {
        Exit::Code(0) => {}
        Exit::Code(code) => findings.push(Finding::warning(
            "empty_request",
            format!(
                "with empty stdin (what `GET /` sends) the module exits with code {code}; the \
                 runner still answers 200 with whatever it printed"
            ),
            "answer an empty request (a health check) and exit 0",
        )),
        Exit::TimedOut(_) => {
            probe.detail = "the module did not finish: on OSC `GET /` would hang".to_string();
            findings.push(Finding::error(
                "empty_request",
                "with empty stdin (what `GET /` sends) the module never finishes; OSC's runner \
                 has no time limit, so every `GET /` would hang"
                    .to_string(),
                "treat end-of-input on stdin as the end of the request and answer at once",
            ));
            return (probe, None);
        }
        Exit::Trap(_) => {
            probe.detail = format!("the module trapped: {}", probe.exit);
            findings.push(trap_finding(
                "empty_request",
                "with empty stdin (what `GET /` sends)",
                outcome,
            ));
            return (probe, None);
        }
        Exit::Instantiate(_) | Exit::Abandoned => {
            probe.detail = format!("the module failed: {}", probe.exit);
            findings.push(Finding::error(
                "empty_request",
                format!(
                    "with empty stdin (what `GET /` sends) the module fails ({}); OSC answers \
                     such requests with an empty 200",
                    probe.exit
                ),
                "handle an empty request (a health check) without panicking",
            ));
            return (probe, None);
        }
    }
    let Ok(text) = std::str::from_utf8(&outcome.stdout) else {
        probe.detail = "stdout is not valid UTF-8".to_string();
        findings.push(Finding::error(
            "stdout_utf8",
            "the module writes bytes that are not UTF-8 to stdout: the runner decodes stdout as \
             UTF-8 and replaces invalid bytes with U+FFFD, so binary output (e.g. PNG) arrives \
             corrupted"
                .to_string(),
            "encode binary output as text (base64 in a JSON envelope)",
        ));
        return (probe, None);
    };
    match Response::from_output(text) {
        Ok(answer) if answer.envelope() == ENVELOPE_TAG && !answer.is_legacy() => {
            let status_ok = answer.status == 200
                && answer
                    .json_body()
                    .and_then(|b| b.get("status"))
                    .and_then(|s| s.as_str())
                    == Some("ok");
            if status_ok {
                probe.passed = true;
                probe.detail = format!("a {ENVELOPE_TAG} health answer: status 200, \"ok\"");
            } else {
                probe.detail = format!(
                    "a {ENVELOPE_TAG} answer, but not a healthy one: status {}",
                    answer.status
                );
                findings.push(Finding::error(
                    "health",
                    format!(
                        "`GET /` (empty stdin) should answer the health check with status 200 \
                         and {{\"status\":\"ok\"}}; it answered status {} ({})",
                        answer.status,
                        truncate(text, 200)
                    ),
                    "rebuild the module from this version of wasm-service (`pixelsmith \
                     build-service`)",
                ));
            }
            (probe, Some(answer))
        }
        Ok(answer) => {
            probe.passed = true;
            probe.detail = "answered JSON text, not a Pixelsmith envelope: the pixelate probe \
                            was skipped"
                .to_string();
            (probe, Some(answer))
        }
        Err(_) => {
            probe.passed = true;
            probe.detail = format!(
                "answered {} bytes of UTF-8 text (not a Pixelsmith envelope): the pixelate probe \
                 was skipped",
                text.len()
            );
            (probe, None)
        }
    }
}

/// What the error-path probe sends: text that is no request in any protocol (not JSON, not hex,
/// not an image), as a mistyped `curl --data` would.
const NOT_A_REQUEST: &str = "pixelsmith check-module: this text is not a request {";

/// `POST /` with a body that is no request: the module may answer anything, but it must end
/// without a trap, or on OSC its answer is followed by WasmEdge's error lines.
async fn error_path_probe(runner: &Runner, findings: &mut Vec<Finding>) -> Probe {
    let outcome = runner.run_async(stdin_for(NOT_A_REQUEST)).await;
    let mut probe = new_probe(
        &format!("POST / with the text body {NOT_A_REQUEST:?} (the error path)"),
        &outcome,
    );
    match &outcome.exit {
        Exit::Trap(_) => {
            probe.detail = format!(
                "the module trapped after writing {} bytes; on OSC the answer is: {}",
                outcome.stdout.len(),
                truncate(&outcome.answer_text(), 300)
            );
            findings.push(trap_finding(
                "error_path_trap",
                "given a body that is no request (its error path)",
                &outcome,
            ));
        }
        Exit::TimedOut(_) => {
            probe.detail = "the module did not finish: on OSC the request would hang".into();
            findings.push(Finding::error(
                "error_path_hang",
                "given a body that is no request, the module never finishes; OSC's runner has no                  time limit, so such a request hangs"
                    .to_string(),
                "answer input you cannot parse with an error message, and end",
            ));
        }
        _ => {
            probe.passed = true;
            probe.detail = format!(
                "ended without a trap ({}), {} bytes of answer",
                probe.exit,
                outcome.stdout.len()
            );
        }
    }
    probe
}

/// The size of the drain probe's body: over [`EPIPE_UNREAD_BYTES`], under the runner's 1 MiB.
const DRAIN_PROBE_BYTES: usize = 300_000;

/// `POST /` with a large text body: the module must read all of stdin, or on OSC the runner's
/// write to its stdin fails with EPIPE and the runner dies.
async fn drain_probe(runner: &Runner, findings: &mut Vec<Finding>) -> Probe {
    let line = "pixelsmith check-module: a large body the module must read to the end\n";
    let body = line.repeat(DRAIN_PROBE_BYTES / line.len() + 1);
    let outcome = runner.run_async(stdin_for(&body)).await;
    let mut probe = new_probe(
        &format!(
            "POST / with a {} byte text body (stdin must be read to the end)",
            body.len()
        ),
        &outcome,
    );
    if matches!(outcome.exit, Exit::TimedOut(_)) {
        probe.detail = "the module did not finish".into();
        return probe;
    }
    let read = body.len() - outcome.stdin_unread;
    if outcome.stdin_unread == 0 {
        probe.passed = true;
        probe.detail = format!("read all {} bytes of stdin ({})", body.len(), probe.exit);
    } else {
        probe.detail = format!(
            "ended ({}) after reading {read} of {} stdin bytes",
            probe.exit,
            body.len()
        );
        findings.push(Finding::error(
            "stdin_not_drained",
            format!(
                "given a {} byte body, the module ended after reading only {read} bytes of \
                 stdin. OSC's runner writes the body to the module's stdin while it runs; when \
                 the module exits with {} or more bytes still unwritten, that write fails with \
                 EPIPE, the runner's Node process dies, and the app refuses every request until \
                 it is restarted (the answer to this request is lost too)",
                body.len(),
                EPIPE_UNREAD_BYTES
            ),
            "read stdin to the end before answering, even when the answer does not need it \
             (e.g. `std::io::stdin().read_to_end(&mut buf)`, or keep reading into a small \
             buffer and discard), and only then write the answer and exit",
        ));
    }
    probe
}

/// The finding for a run that trapped: what OSC's client gets, and how to end cleanly instead.
fn trap_finding(rule: &'static str, when: &str, outcome: &RunOutcome) -> Finding {
    let first_line = outcome.runtime_stdout.lines().next().unwrap_or_default();
    Finding::error(
        rule,
        format!(
            "{when} the module traps ({}) after writing {} bytes to stdout. On OSC, WasmEdge              then prints its own error lines to the same stdout (`{first_line}` and more) and              the runner sends them after the module's answer, so the client gets text after the              answer: a JSON answer no longer parses, and a gateway answers 502 instead of the              module's error",
            exit_text(outcome),
            outcome.stdout.len()
        ),
        "end every path without a trap: after writing the answer, return from `main` or exit          with `std::process::exit` (WASI `proc_exit`, which WasmEdge treats as a normal end). In          Rust a panic on wasm32-wasip1 aborts, which traps: answer errors as values, and install          a panic hook that writes the error answer and then calls `std::process::exit`",
    )
}

/// `POST /pixelate` with a small BMP, sent as the envelope text a client would POST as
/// `text/plain`; the answer must be a 200 `image/png` whose PNG decodes to the expected size.
async fn pixelate_probe(runner: &Runner, findings: &mut Vec<Finding>) -> Probe {
    let picture = gradient_bmp(PROBE_WIDTH, PROBE_HEIGHT);
    let query = "block=4&colors=8";
    let request = Request::pixelate(&picture, query).to_json();
    let outcome = runner.run_async(stdin_for(&request)).await;
    let mut probe = new_probe(
        &format!("POST / with a {PROBE_WIDTH}x{PROBE_HEIGHT} BMP as POST /pixelate?{query}"),
        &outcome,
    );
    match check_png_answer(&outcome, &picture, query) {
        Ok(detail) => {
            probe.passed = true;
            probe.detail = detail;
        }
        Err(detail) => {
            probe.detail = detail.clone();
            findings.push(Finding::error(
                "pixelate",
                format!("a small pixelate request failed: {detail}"),
                "rebuild the module from this version of wasm-service (`pixelsmith \
                 build-service`) and run `pixelsmith check-module` again",
            ));
        }
    }
    probe
}

fn check_png_answer(outcome: &RunOutcome, picture: &[u8], query: &str) -> Result<String, String> {
    if outcome.exit != Exit::Code(0) {
        return Err(format!("the module ended with {}", exit_text(outcome)));
    }
    let text = std::str::from_utf8(&outcome.stdout)
        .map_err(|_| "stdout is not valid UTF-8 (the runner would corrupt it)".to_string())?;
    let answer = Response::from_output(text).map_err(|e| e.to_string())?;
    if answer.status != 200 || !answer.content_type.starts_with("image/png") {
        return Err(format!(
            "expected status 200 with image/png, got status {} with {} ({})",
            answer.status,
            answer.content_type,
            truncate(text, 200)
        ));
    }
    if answer.body_base64.is_none() {
        return Err("the image/png answer has no body_base64".to_string());
    }
    let png = answer
        .decode_body()
        .map_err(|e| format!("the body does not decode: {e}"))?;
    let info = engine::probe(&png).map_err(|e| format!("the PNG does not decode: {e}"))?;
    if info.format != engine::Format::Png {
        return Err(format!("the body is {:?}, not PNG", info.format));
    }
    let mut options = engine::Options::default();
    options
        .set("block", "1")
        .map_err(|e| format!("internal: {e}"))?;
    engine::decode_only(&png, &options).map_err(|e| format!("the PNG does not decode: {e}"))?;
    if (info.width, info.height) != (PROBE_WIDTH, PROBE_HEIGHT) {
        return Err(format!(
            "the PNG is {}x{}, expected the source size {PROBE_WIDTH}x{PROBE_HEIGHT}",
            info.width, info.height
        ));
    }
    // The engine is deterministic across targets, so the module should give this build's bytes.
    let mut native_options = engine::Options::default();
    for pair in query.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            native_options
                .set(name, value)
                .map_err(|e| format!("internal: {e}"))?;
        }
    }
    let same = engine::pixelate(picture, &native_options)
        .map(|native| native.png == png)
        .unwrap_or(false);
    Ok(format!(
        "status 200, image/png, a {}x{} PNG of {} bytes that decodes{}",
        info.width,
        info.height,
        png.len(),
        if same {
            "; identical to this pixelsmith's native engine output"
        } else {
            "; differs from this pixelsmith's native engine output (an older build?)"
        }
    ))
}

/// A 24-bit bottom-up BMP with a colour gradient: a valid image the engine decodes, built here so
/// the check needs no fixture file.
pub(crate) fn gradient_bmp(width: u32, height: u32) -> Vec<u8> {
    let row = (width * 3).div_ceil(4) * 4;
    let pixels = row * height;
    let mut out = Vec::with_capacity(54 + pixels as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(54 + pixels).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(width as i32).to_le_bytes());
    out.extend_from_slice(&(height as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&pixels.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for y in 0..height {
        for x in 0..width {
            let r = (x * 255 / width.max(1)) as u8;
            let g = (y * 255 / height.max(1)) as u8;
            let b = ((x + y) * 4) as u8;
            out.extend_from_slice(&[b, g, r]);
        }
        out.resize(out.len() + (row - width * 3) as usize, 0);
    }
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_bmp_is_an_image_the_engine_reads() {
        let bmp = gradient_bmp(PROBE_WIDTH, PROBE_HEIGHT);
        let info = engine::probe(&bmp).unwrap();
        assert_eq!((info.width, info.height), (PROBE_WIDTH, PROBE_HEIGHT));
        let out = engine::pixelate(&bmp, &engine::Options::default()).unwrap();
        assert_eq!(out.report.source_width, PROBE_WIDTH);
    }

    #[tokio::test]
    async fn a_module_printing_binary_garbage_fails_stdout_utf8() {
        // Writes the 2 bytes 0xff 0xfe to stdout with fd_write, then returns.
        let wasm = wat::parse_str(
            r#"(module
                 (import "wasi_snapshot_preview1" "fd_write"
                   (func $fd_write (param i32 i32 i32 i32) (result i32)))
                 (memory (export "memory") 1)
                 (data (i32.const 16) "\ff\fe")
                 (func (export "_start")
                   (i32.store (i32.const 0) (i32.const 16))
                   (i32.store (i32.const 4) (i32.const 2))
                   (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        )
        .unwrap();
        let mut findings = Vec::new();
        let report = probe(&wasm, &mut findings).await;
        assert_eq!(report.probes.len(), 3, "health, the error path, draining");
        assert!(!report.probes[0].passed);
        assert!(report.probes[1].passed, "it ends without a trap");
        let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["stdout_utf8", "stdin_not_drained"], "{findings:?}");
    }
}
