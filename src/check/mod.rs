//! The pre-deploy contract check of a `.wasm` file against OSC's wasm runner.
//!
//! Static part (`inspect` + `rules`): a core module, not a component; exports `_start` and
//! `memory`; imports only WASI preview 1 functions WasmEdge provides; Spin, wasi-http, the
//! component model, WasmEdge sockets and plugins recognised and explained; size. Dynamic part
//! (`dynamic`): `GET /` and a small pixelate request through the runner emulation.
//!
//! Findings are data (`{rule, severity, detail, fix}`), not errors: a module that fails the check
//! still gives a [`Report`]. [`Error`] only covers "could not read the module".

mod dynamic;
mod inspect;
mod rules;
pub mod wasi;

pub mod cli;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmparser::Encoding;

#[cfg(test)]
pub(crate) use dynamic::gradient_bmp;
pub use dynamic::{DynamicReport, Probe};
pub use rules::SIZE_WARN_BYTES;

/// Why a module could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no module at {}: build it first (`pixelsmith build-service`, or `cargo build -p \
         wasm-service --target wasm32-wasip1 --release`) or pass the path of a .wasm file",
        .0.display()
    )]
    NotFound(PathBuf),
    #[error("cannot read the module {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How bad a finding is. Any `error` means the module will not work on OSC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The module will not run (or not answer) on OSC.
    Error,
    /// It runs, but something will hurt (speed, failing calls).
    Warning,
}

/// One thing the check found: which rule, how bad, what exactly, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Finding {
    /// Stable rule id, e.g. `missing_start`, `component`, `spin`, `wasi_http`,
    /// `wasmedge_socket`, `unsupported_import`, `missing_memory`, `module_size`, `health`.
    pub rule: &'static str,
    pub severity: Severity,
    /// What was found and why it matters on OSC's runner.
    pub detail: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    pub(crate) fn error(rule: &'static str, detail: String, fix: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Error,
            detail,
            fix: fix.into(),
        }
    }

    pub(crate) fn warning(rule: &'static str, detail: String, fix: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Warning,
            detail,
            fix: fix.into(),
        }
    }
}

/// What kind of binary the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    /// A WebAssembly core module (what the runner needs).
    CoreModule,
    /// A component-model binary (WASI preview 2, Spin 2+, wasi-http).
    Component,
    /// Not WebAssembly.
    NotWasm,
}

/// The result of checking one module.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    /// The file checked (its real path), or where the bytes came from.
    pub module: String,
    pub size_bytes: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    pub kind: ModuleKind,
    /// True when no finding is an error: the module should run on OSC's runner.
    pub passed: bool,
    pub errors: u64,
    pub warnings: u64,
    /// Everything found, errors first.
    pub findings: Vec<Finding>,
    /// Imports as `module::name` (components: the interface names).
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// The runs through the runner emulation; absent when skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<DynamicReport>,
    /// Why the dynamic part did not run, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_skipped: Option<String>,
}

impl Report {
    fn finish(&mut self) {
        self.findings.sort_by_key(|f| f.severity != Severity::Error);
        self.errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count() as u64;
        self.warnings = self.findings.len() as u64 - self.errors;
        self.passed = self.errors == 0;
    }
}

/// The static check of `bytes`; `origin` names them in the report.
pub fn check_static(bytes: &[u8], origin: &str) -> Report {
    let inspection = inspect::inspect(bytes);
    let size = bytes.len() as u64;
    let mut report = Report {
        module: origin.to_string(),
        size_bytes: size,
        sha256: sha256_hex(bytes),
        kind: match inspection.encoding {
            Some(Encoding::Module) => ModuleKind::CoreModule,
            Some(Encoding::Component) => ModuleKind::Component,
            None => ModuleKind::NotWasm,
        },
        passed: false,
        errors: 0,
        warnings: 0,
        findings: rules::findings(&inspection, size),
        imports: inspection
            .imports
            .iter()
            .map(|i| {
                if i.name.is_empty() {
                    i.module.clone()
                } else {
                    format!("{}::{}", i.module, i.name)
                }
            })
            .collect(),
        exports: inspection.exports.iter().map(|e| e.name.clone()).collect(),
        dynamic: None,
        dynamic_skipped: None,
    };
    report.finish();
    report
}

/// The full check of `bytes`: static, then (when `dynamic` is set and the static part found no
/// error) the runs through the runner emulation.
pub async fn check_bytes(bytes: &[u8], origin: &str, dynamic: bool) -> Report {
    let mut report = check_static(bytes, origin);
    if !dynamic {
        report.dynamic_skipped = Some("not requested".to_string());
    } else if !report.passed {
        report.dynamic_skipped = Some(
            "the static check found errors, so the module cannot run on the runner".to_string(),
        );
    } else {
        report.dynamic = Some(dynamic::probe(bytes, &mut report.findings).await);
        report.finish();
    }
    report
}

/// Reads the module at `path` (already resolved by the caller) and checks it.
pub async fn check_file(path: &Path, dynamic: bool) -> Result<Report, Error> {
    let bytes = tokio::fs::read(path).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(path.to_path_buf())
        } else {
            Error::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    Ok(check_bytes(&bytes, &path.display().to_string(), dynamic).await)
}

/// Where `cargo build -p wasm-service --target wasm32-wasip1 --release` puts the module for the
/// project in `project_dir` (honouring `CARGO_TARGET_DIR`).
pub fn default_module_path(project_dir: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                project_dir.join(dir)
            }
        })
        .unwrap_or_else(|| project_dir.join("target"));
    target
        .join("wasm32-wasip1")
        .join("release")
        .join("wasm-service.wasm")
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
