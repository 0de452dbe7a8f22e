//! Getting a deployable module: build `wasm-service` (the build checks it) or read a given
//! `.wasm` and check it, and refuse one that fails OSC's wasm-runner contract, quoting the
//! findings. Building and checking are `crate::build` and `crate::check`; this only adapts them.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::error::{Error, Result};
use super::progress::{Reporter, Step};
use super::report::ModuleSummary;
use crate::{build, check};

/// A module that passed the check.
pub(crate) struct Module {
    pub(crate) bytes: Vec<u8>,
    pub(crate) summary: ModuleSummary,
}

/// Builds `wasm-service` in `project` (the build runs the contract check too).
pub(crate) async fn build(
    reporter: &Reporter<'_>,
    project: &Path,
    cancel: &CancellationToken,
) -> Result<Module> {
    reporter.say(
        Step::Build,
        format!("building wasm-service in {}", project.display()),
    );
    let options = build::Options::new(project.to_path_buf());
    let built = build::build_service(&options, |p| reporter.say(Step::Build, p.message), cancel)
        .await
        .map_err(|e| Error::Build(e.to_string()))?;
    let bytes = read(Path::new(&built.module_path)).await?;
    accept(built.check, bytes)
}

/// Reads the `.wasm` at `path` and checks it (statically and through the runner emulation).
pub(crate) async fn check_file(reporter: &Reporter<'_>, path: &Path) -> Result<Module> {
    reporter.say(Step::Check, format!("checking {}", path.display()));
    let bytes = read(path).await?;
    let report = check::check_bytes(&bytes, &path.display().to_string(), true).await;
    accept(report, bytes)
}

async fn read(path: &Path) -> Result<Vec<u8>> {
    tokio::fs::read(path).await.map_err(|e| Error::Io {
        what: format!("read the module {}", path.display()),
        detail: e.to_string(),
    })
}

/// Turns a check report into a deployable module, or the reason it is not one.
fn accept(report: check::Report, bytes: Vec<u8>) -> Result<Module> {
    let line = |f: &check::Finding| format!("- [{}] {} (fix: {})", f.rule, f.detail, f.fix);
    let with = |severity| {
        report
            .findings
            .iter()
            .filter(move |f| f.severity == severity)
            .map(line)
    };
    if !report.passed {
        return Err(Error::ModuleRejected {
            module: report.module.clone(),
            findings: with(check::Severity::Error).collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(Module {
        summary: ModuleSummary {
            origin: report.module.clone(),
            size_bytes: Some(bytes.len() as u64),
            sha256: Some(report.sha256.clone()),
            warnings: with(check::Severity::Warning).collect(),
        },
        bytes,
    })
}
