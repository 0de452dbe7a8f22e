//! The shared test kit: fixtures and stand-ins the integration tests use.

/// The real `wasm-service` module, built once per test run.
pub mod module;
/// Tiny WAT modules that each do one thing, for runner semantics.
pub mod wat_modules;
