//! The static contract rules: what an [`Inspection`] means on OSC's wasm runner, as findings that
//! say why something fails there and how to fix it.
//!
//! The runner (see `shared/osc-platform.md` §1) starts `wasmedge /usercontent/main.wasm` for every
//! HTTP request: a WASI preview 1 *command* (exports `_start` and `memory`, imports only from
//! `wasi_snapshot_preview1`), request body on stdin, stdout back as UTF-8 text. No plugins, no
//! sockets, no Spin or wasi-http host, no component model.

use super::Finding;
use super::inspect::{Export, Import, Inspection, ItemKind};
use super::wasi;
use wasmparser::Encoding;

/// Modules above this size get a warning: every request pays to load and validate them.
pub const SIZE_WARN_BYTES: u64 = 400 * 1024;

/// What rebuilding for the runner looks like, shared by several fixes.
const COMMAND_FIX: &str = "build a WASI preview 1 command instead: a binary crate whose `fn main()` \
     reads the request from stdin and prints the response to stdout (as Pixelsmith's \
     `wasm-service` does), built with `cargo build --target wasm32-wasip1 --release`";

/// Spin 1.x SDK host modules (core modules built with the old wit-bindgen).
const SPIN_V1_MODULES: &[&str] = &[
    "spin-config",
    "spin-http",
    "spin-variables",
    "wasi-outbound-http",
    "outbound-redis",
    "outbound-pg",
    "outbound-mysql",
    "key-value",
    "sqlite",
    "llm",
];

/// Exports by which Spin (or a Spin-like trigger) calls into a module instead of `_start`.
const SPIN_HANDLER_EXPORTS: &[&str] = &[
    "handle-http-request",
    "handle_http_request",
    "spin-http",
    "handle-redis-message",
];

fn is_spin_import(import: &Import) -> bool {
    let m = import.module.as_str();
    m.starts_with("fermyon:spin") || m.starts_with("spin:") || SPIN_V1_MODULES.contains(&m)
}

fn is_spin_export(export: &Export) -> bool {
    SPIN_HANDLER_EXPORTS.contains(&export.name.as_str()) || export.name.starts_with("fermyon:spin/")
}

fn is_wasi_http(name: &str) -> bool {
    name.starts_with("wasi:http/")
}

/// The findings for one inspected binary of `size` bytes.
pub(crate) fn findings(inspection: &Inspection, size: u64) -> Vec<Finding> {
    let mut out = Vec::new();
    match inspection.encoding {
        None => {
            out.push(Finding::error(
                "not_wasm",
                format!(
                    "this is not a WebAssembly binary ({}): the runner copies the first `.wasm` file \
                     of the repository to /usercontent/main.wasm and WasmEdge refuses anything else",
                    inspection.invalid.as_deref().unwrap_or("no `\\0asm` header")
                ),
                "point the check at the module cargo built: \
                 target/wasm32-wasip1/release/<name>.wasm",
            ));
            return out;
        }
        Some(Encoding::Component) => component_findings(inspection, &mut out),
        Some(Encoding::Module) => module_findings(inspection, &mut out),
    }
    if size > SIZE_WARN_BYTES {
        out.push(Finding::warning(
            "module_size",
            format!(
                "the module is {} KiB (over {} KiB): every request starts a fresh WasmEdge process \
                 that loads and validates the whole module before it runs, in interpreter mode \
                 (measured: ~8 ms for 96 KB, ~48 ms for 1 MB)",
                size / 1024,
                SIZE_WARN_BYTES / 1024
            ),
            "shrink it: in the release profile set `opt-level = \"s\"`, `lto = true`, \
             `codegen-units = 1`, `panic = \"abort\"`, `strip = true`, and drop heavy dependencies \
             (e.g. the `image` crate's unused codecs)",
        ));
    }
    out
}

fn component_findings(inspection: &Inspection, out: &mut Vec<Finding>) {
    out.push(Finding::error(
        "component",
        "this is a WebAssembly component (component model / WASI preview 2), not a core module: \
         the runner runs `wasmedge main.wasm` as a WASI preview 1 command, and WasmEdge does not \
         run components there"
            .to_string(),
        format!(
            "{COMMAND_FIX}; `wasm32-wasip2`, `cargo component` and Spin 2+ builds all produce \
             components"
        ),
    ));
    let names = || {
        inspection
            .imports
            .iter()
            .map(|i| i.module.as_str())
            .chain(inspection.exports.iter().map(|e| e.name.as_str()))
    };
    if let Some(name) = names().find(|n| n.starts_with("fermyon:spin") || n.starts_with("spin:")) {
        out.push(spin_finding(&format!(
            "it uses the Spin host interface `{name}`"
        )));
    }
    if let Some(name) = names().find(|n| is_wasi_http(n)) {
        out.push(wasi_http_finding(name));
    }
}

fn module_findings(inspection: &Inspection, out: &mut Vec<Finding>) {
    if let Some(reason) = &inspection.invalid {
        out.push(Finding::error(
            "invalid_module",
            format!("the module does not validate: {reason}"),
            "rebuild it with a current Rust toolchain for wasm32-wasip1; if it uses WebAssembly \
             proposals (threads, GC, exceptions, memory64), turn them off",
        ));
    }
    let spin_export = inspection.exports.iter().find(|e| is_spin_export(e));
    import_findings(inspection, spin_export.is_some(), out);
    start_findings(inspection, spin_export, out);
    memory_findings(inspection, out);
}

/// Sorts the imports into the groups the runner cannot satisfy; one finding per group.
fn import_findings(inspection: &Inspection, spin_export: bool, out: &mut Vec<Finding>) {
    let mut spin = Vec::new();
    let mut http = Vec::new();
    let mut preview2 = Vec::new();
    let mut sockets = Vec::new();
    let mut plugins = Vec::new();
    let mut unknown = Vec::new();
    let mut std_sockets = Vec::new();
    for import in &inspection.imports {
        let label = format!("{}::{}", import.module, import.name);
        if is_spin_import(import) {
            spin.push(label);
        } else if is_wasi_http(&import.module) {
            http.push(label);
        } else if wasi::is_wasmedge_socket(&import.module, &import.name) {
            sockets.push(label);
        } else if wasi::is_plugin_module(&import.module) {
            plugins.push(label);
        } else if import.module.starts_with("wasi:") {
            preview2.push(label);
        } else if import.module == wasi::WASI_P1_MODULE
            && import.kind == ItemKind::Func
            && wasi::is_wasi_p1_function(&import.name)
        {
            if import.name.starts_with("sock_") {
                std_sockets.push(label);
            }
        } else if !(import.module == wasi::WASI_P1_MODULE && import.kind == ItemKind::Memory) {
            // An imported memory is reported by the memory rule.
            unknown.push(label);
        }
    }
    if !spin.is_empty() || (spin_export && inspection.export("_start").is_none()) {
        let what = if spin.is_empty() {
            "it exports a Spin HTTP handler".to_string()
        } else {
            format!("it imports the Spin host APIs {}", list(&spin))
        };
        out.push(spin_finding(&what));
    }
    if let Some(first) = http.first() {
        out.push(wasi_http_finding(first));
    }
    if !preview2.is_empty() {
        out.push(Finding::error(
            "wasi_preview2",
            format!(
                "it imports WASI preview 2 interfaces {}: only `wasi_snapshot_preview1` exists \
                 on the runner",
                list(&preview2)
            ),
            format!("{COMMAND_FIX} (target wasm32-wasip1, not wasm32-wasip2)"),
        ));
    }
    if !sockets.is_empty() {
        out.push(Finding::error(
            "wasmedge_socket",
            format!(
                "it imports WasmEdge's socket extension ({}): it wants to open its own server \
                 socket, but the runner starts a fresh `wasmedge` process for every HTTP request \
                 and hands it the request body on stdin; no port is routed to the module, so a \
                 socket server never sees a request",
                list(&sockets)
            ),
            format!(
                "remove the server loop (wasmedge_wasi_socket / tokio / hyper for WasmEdge): \
                 {COMMAND_FIX}"
            ),
        ));
    }
    if !plugins.is_empty() {
        out.push(Finding::error(
            "wasmedge_plugin",
            format!(
                "it imports WasmEdge plugin APIs {}: the runner starts WasmEdge without plugins, \
                 so instantiation fails",
                list(&plugins)
            ),
            "drop the dependency on the plugin (do the work in the module itself, or outside \
             the service)",
        ));
    }
    if !unknown.is_empty() {
        out.push(Finding::error(
            "unsupported_import",
            format!(
                "it imports {} which WasmEdge does not provide: only the WASI preview 1 functions \
                 of `wasi_snapshot_preview1` exist on the runner, so instantiation fails",
                list(&unknown)
            ),
            "remove the code that needs them; `env::…` imports usually mean undefined symbols \
             (C code not compiled for wasm32-wasip1, or linking with --allow-undefined), \
             `wasi_unstable::…` means a toolchain older than WASI preview 1: rebuild for \
             wasm32-wasip1",
        ));
    }
    if !std_sockets.is_empty() {
        out.push(Finding::warning(
            "socket_calls",
            format!(
                "it imports WASI socket calls {}: the runner preopens no sockets, so these calls \
                 can only fail",
                list(&std_sockets)
            ),
            "read requests from stdin and write responses to stdout instead of using sockets",
        ));
    }
}

fn start_findings(inspection: &Inspection, spin_export: Option<&Export>, out: &mut Vec<Finding>) {
    match inspection.export("_start") {
        Some(start) if start.kind != ItemKind::Func => out.push(Finding::error(
            "missing_start",
            "`_start` is exported but is not a function".to_string(),
            COMMAND_FIX.to_string(),
        )),
        Some(_) => {
            if inspection.start_signature_ok == Some(false) {
                out.push(Finding::error(
                    "start_signature",
                    "`_start` takes parameters or returns values; WASI commands have \
                     `_start: () -> ()` and WasmEdge refuses to call anything else"
                        .to_string(),
                    COMMAND_FIX.to_string(),
                ));
            }
        }
        None => {
            let (detail, fix) = if let Some(handler) = spin_export {
                (
                    format!(
                        "there is no `_start` export; the module exports the HTTP handler `{}` \
                         instead, which a Spin-style host calls once per request — OSC's runner \
                         only runs `_start`, so nothing of it would ever run",
                        handler.name
                    ),
                    format!("{COMMAND_FIX}; route the request yourself from what stdin holds"),
                )
            } else if inspection.export("_initialize").is_some() {
                (
                    "there is no `_start` export but an `_initialize`: this is a WASI reactor \
                     (a library, e.g. a `cdylib` or `-mexec-model=reactor`), which the runner \
                     cannot start"
                        .to_string(),
                    format!("{COMMAND_FIX} (a `[[bin]]` target, not a `cdylib`)"),
                )
            } else {
                (
                    "there is no `_start` export: the runner runs the module as a WASI command, \
                     which starts at `_start`"
                        .to_string(),
                    COMMAND_FIX.to_string(),
                )
            };
            out.push(Finding::error("missing_start", detail, fix));
        }
    }
}

fn memory_findings(inspection: &Inspection, out: &mut Vec<Finding>) {
    match inspection.export("memory") {
        Some(memory) if memory.kind == ItemKind::Memory => {}
        Some(_) => out.push(Finding::error(
            "missing_memory",
            "`memory` is exported but is not a linear memory".to_string(),
            "export the module's linear memory as `memory` (the default for Rust binaries built \
             for wasm32-wasip1)"
                .to_string(),
        )),
        None => {
            let imported = inspection
                .imports
                .iter()
                .find(|i| i.kind == ItemKind::Memory)
                .map(|i| format!(" (it imports its memory from `{}::{}`)", i.module, i.name));
            out.push(Finding::error(
                "missing_memory",
                format!(
                    "the module does not export `memory`{}: WASI functions read and write the \
                     caller's buffers through the exported memory, so WasmEdge cannot run it",
                    imported.unwrap_or_default()
                ),
                "export the linear memory as `memory`: Rust binaries for wasm32-wasip1 do by \
                 default; remove linker flags such as `--import-memory` or `--no-export-memory`"
                    .to_string(),
            ));
        }
    }
}

fn spin_finding(what: &str) -> Finding {
    Finding::error(
        "spin",
        format!(
            "this is a Spin app ({what}): Spin's runtime runs a long-lived HTTP trigger and calls \
             the component's handler per request; OSC's runner has no Spin runtime, it runs the \
             module as a plain WASI command with the request body on stdin"
        ),
        format!(
            "drop the Spin SDK (`#[http_component]`): {COMMAND_FIX}; keep your routes by reading \
             method, path and body from an envelope on stdin"
        ),
    )
}

fn wasi_http_finding(name: &str) -> Finding {
    Finding::error(
        "wasi_http",
        format!(
            "it uses wasi-http (`{name}`): wasi-http handlers are components called by a host \
             that owns the HTTP server; the runner gives a module only stdin and stdout"
        ),
        format!("{COMMAND_FIX}; parse the request from stdin instead of `wasi:http` types"),
    )
}

/// `a, b, c` with at most eight entries, then `and N more`.
fn list(items: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = items
        .iter()
        .take(SHOWN)
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::Severity;
    use super::super::inspect::inspect;
    use super::*;

    fn rules_of(wat: &str) -> Vec<&'static str> {
        let wasm = wat::parse_str(wat).unwrap();
        findings(&inspect(&wasm), wasm.len() as u64)
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn a_wasi_command_has_no_errors() {
        let rules = rules_of(
            r#"(module
                 (import "wasi_snapshot_preview1" "fd_read" (func (param i32 i32 i32 i32) (result i32)))
                 (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                 (memory (export "memory") 1)
                 (func (export "_start")))"#,
        );
        assert!(rules.is_empty(), "{rules:?}");
    }

    #[test]
    fn env_imports_reactors_and_imported_memory_are_errors() {
        let rules = rules_of(
            r#"(module
                 (import "env" "memory" (memory 1))
                 (import "env" "js_log" (func))
                 (func (export "_initialize")))"#,
        );
        assert_eq!(
            rules,
            ["unsupported_import", "missing_start", "missing_memory"]
        );
    }

    #[test]
    fn size_warning_starts_above_400_kib() {
        let wasm =
            wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "_start")))"#)
                .unwrap();
        let inspection = inspect(&wasm);
        assert!(findings(&inspection, SIZE_WARN_BYTES).is_empty());
        let big = findings(&inspection, SIZE_WARN_BYTES + 1);
        assert_eq!(big.len(), 1);
        assert_eq!(big[0].rule, "module_size");
        assert_eq!(big[0].severity, Severity::Warning);
    }
}
