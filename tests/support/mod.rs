//! The shared test kit: fixtures and stand-ins the integration tests use.

/// A token-protected git server over smart HTTP (git http-backend).
pub mod git_http;
/// The real `wasm-service` module, built once per test run.
pub mod module;
/// OSC's documented deploy, catalog, token and instance APIs on loopback, running what is deployed.
pub mod osc_standin;
/// Tiny WAT modules that each do one thing, for runner semantics.
pub mod wat_modules;

/// Makes a named pipe (FIFO) at `path` with coreutils' `mkfifo`: a file whose read never ends
/// until a writer comes, which the tools must refuse rather than open.
pub fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}
