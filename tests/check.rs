//! `check_module` against small fixture modules that each break OSC's runner contract in one
//! well-known way (a Spin app, a component, WasmEdge sockets, no exported memory), and against
//! the real built module, which must pass both the static rules and the runs through the runner
//! emulation. The CLI's exit codes are checked on the same files.

use std::path::Path;
use std::process::Command;

use pixelsmith::check::{self, ModuleKind, Report, Severity};

use crate::support::{module, wat_modules};

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("fixture WAT compiles")
}

/// A Spin 1.x-style HTTP component as a core module: no `_start`, the handler exported instead,
/// Spin host imports.
fn spin_style() -> Vec<u8> {
    wasm(
        r#"(module
             (import "spin-config" "get-config" (func (param i32 i32 i32)))
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "canonical_abi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
             (func (export "handle-http-request") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))"#,
    )
}

/// A component (component-model binary) that imports wasi-http and Spin interfaces.
fn component() -> Vec<u8> {
    wasm(
        r#"(component
             (import "wasi:http/types@0.2.0" (instance))
             (import "fermyon:spin/key-value@2.0.0" (instance))
             (core module $m
               (memory (export "memory") 1)
               (func (export "_start"))))"#,
    )
}

/// A WasmEdge-style socket server: `sock_open`/`sock_bind`/`sock_listen` from the WasmEdge
/// socket extension.
fn wasmedge_sockets() -> Vec<u8> {
    wasm(
        r#"(module
             (import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "sock_bind" (func (param i32 i32 i32) (result i32)))
             (import "wasmedge_wasi_socket" "sock_listen" (func (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    )
}

/// A command whose memory is not exported.
fn no_memory() -> Vec<u8> {
    wasm(r#"(module (memory 1) (func (export "_start")))"#)
}

fn errors(report: &Report) -> Vec<&'static str> {
    report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.rule)
        .collect()
}

fn finding<'a>(report: &'a Report, rule: &str) -> &'a check::Finding {
    report
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no `{rule}` finding in\n{}", check::cli::render(report)))
}

fn assert_mentions(text: &str, words: &[&str]) {
    for word in words {
        assert!(
            text.to_lowercase().contains(&word.to_lowercase()),
            "expected {word:?} in:\n{text}"
        );
    }
}

#[tokio::test]
async fn a_spin_style_module_fails_naming_spin_and_the_missing_start() {
    let report = check::check_bytes(&spin_style(), "spin.wasm", true).await;
    assert!(!report.passed);
    assert_eq!(report.kind, ModuleKind::CoreModule);
    assert_eq!(errors(&report), ["spin", "missing_start"], "{report:#?}");
    let spin = finding(&report, "spin");
    assert_mentions(&spin.detail, &["Spin", "spin-config", "stdin"]);
    assert_mentions(&spin.fix, &["stdin", "stdout", "wasm32-wasip1"]);
    let start = finding(&report, "missing_start");
    assert_mentions(&start.detail, &["handle-http-request", "_start"]);
    assert!(report.dynamic.is_none());
    assert!(report.dynamic_skipped.is_some());
}

#[tokio::test]
async fn a_component_fails_naming_the_component_model_wasi_http_and_spin() {
    let report = check::check_bytes(&component(), "app.wasm", true).await;
    assert_eq!(report.kind, ModuleKind::Component);
    assert_eq!(
        errors(&report),
        ["component", "spin", "wasi_http"],
        "{report:#?}"
    );
    assert_mentions(
        &finding(&report, "component").detail,
        &["component", "preview 1"],
    );
    assert_mentions(
        &finding(&report, "component").fix,
        &["wasm32-wasip1", "wasm32-wasip2"],
    );
    assert_mentions(
        &finding(&report, "wasi_http").detail,
        &["wasi:http/types@0.2.0"],
    );

    // The bare component preamble (version 0x0d, layer 1) is recognised as a component too.
    let preamble = b"\0asm\x0d\x00\x01\x00";
    let report = check::check_bytes(preamble, "empty-component.wasm", false).await;
    assert_eq!(report.kind, ModuleKind::Component);
    assert_eq!(errors(&report), ["component"]);
}

#[tokio::test]
async fn wasmedge_socket_imports_fail_explaining_that_no_port_reaches_the_module() {
    let report = check::check_bytes(&wasmedge_sockets(), "server.wasm", true).await;
    assert_eq!(errors(&report), ["wasmedge_socket"], "{report:#?}");
    let socket = finding(&report, "wasmedge_socket");
    assert_mentions(
        &socket.detail,
        &[
            "sock_open",
            "sock_bind",
            "wasmedge_wasi_socket::sock_listen",
            "stdin",
            "port",
        ],
    );
    assert_mentions(&socket.fix, &["stdin", "stdout"]);
}

#[tokio::test]
async fn a_module_without_exported_memory_fails() {
    let report = check::check_bytes(&no_memory(), "nomem.wasm", true).await;
    assert_eq!(errors(&report), ["missing_memory"], "{report:#?}");
    assert_mentions(&finding(&report, "missing_memory").detail, &["`memory`"]);
}

#[tokio::test]
async fn the_real_module_passes_statically_and_through_the_runner() {
    let path = module::module_path();
    let report = check::check_file(path, true)
        .await
        .expect("the module reads");
    assert!(report.passed, "{}", check::cli::render(&report));
    assert_eq!(report.kind, ModuleKind::CoreModule);
    assert!(report.exports.iter().any(|e| e == "_start"));
    assert!(
        report
            .imports
            .iter()
            .all(|i| i.starts_with("wasi_snapshot_preview1::"))
    );
    let dynamic = report.dynamic.as_ref().expect("the runs happened");
    assert_eq!(dynamic.probes.len(), 4, "{dynamic:#?}");
    assert!(dynamic.probes.iter().all(|p| p.passed), "{dynamic:#?}");
    assert_mentions(&dynamic.probes[1].detail, &["without a trap", "exit 0"]);
    assert_mentions(&dynamic.probes[2].detail, &["read all", "bytes of stdin"]);
    assert_mentions(&dynamic.probes[3].detail, &["image/png", "identical"]);
}

#[test]
fn the_cli_exits_1_for_a_broken_module_and_0_for_the_real_one() {
    let dir = tempfile::tempdir().unwrap();
    let spin = dir.path().join("spin.wasm");
    std::fs::write(&spin, spin_style()).unwrap();
    let run = |path: &Path, json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pixelsmith"));
        cmd.arg("check-module").arg(path);
        if json {
            cmd.arg("--json");
        }
        cmd.output().expect("pixelsmith runs")
    };
    let out = run(&spin, true);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["passed"], false);
    assert_eq!(report["findings"][0]["rule"], "spin");

    let out = run(module::module_path(), false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS"), "{text}");

    let out = run(&dir.path().join("missing.wasm"), false);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("build it first"));
}

#[tokio::test]
async fn a_module_whose_error_path_traps_is_flagged_with_what_osc_sends() {
    let report = check::check_bytes(
        &wat_modules::answers_then_traps_on_input(),
        "traps.wasm",
        true,
    )
    .await;
    assert!(!report.passed, "{report:#?}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "error_path_trap")
        .unwrap_or_else(|| panic!("no error_path_trap finding: {report:#?}"));
    assert_eq!(finding.severity, Severity::Error);
    assert!(
        finding
            .detail
            .contains("[error] execution failed: unreachable, Code: 0x40a"),
        "{}",
        finding.detail
    );
    assert!(
        finding.fix.contains("std::process::exit"),
        "{}",
        finding.fix
    );
    let dynamic = report.dynamic.as_ref().unwrap();
    assert!(dynamic.probes[0].passed, "the health answer itself is fine");
    assert!(!dynamic.probes[1].passed);
    assert!(dynamic.probes[1].detail.contains("on OSC the answer is"));
}

#[tokio::test]
async fn a_module_that_does_not_read_stdin_is_flagged_with_the_runner_crash_explained() {
    let report = check::check_bytes(&wat_modules::ignores_stdin(), "lazy.wasm", true).await;
    assert!(!report.passed, "{report:#?}");
    let finding = report
        .findings
        .iter()
        .find(|f| f.rule == "stdin_not_drained")
        .unwrap_or_else(|| panic!("no stdin_not_drained finding: {report:#?}"));
    assert_eq!(finding.severity, Severity::Error);
    assert!(
        finding.detail.contains("reading only 0 bytes"),
        "{}",
        finding.detail
    );
    assert!(finding.detail.contains("EPIPE"), "{}", finding.detail);
    assert!(
        finding.fix.contains("read stdin to the end"),
        "{}",
        finding.fix
    );
}
