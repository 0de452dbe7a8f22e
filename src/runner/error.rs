//! The runner emulation's one error type: why a module could not be loaded or served.
//!
//! What a module does while it runs (trap, non-zero exit, timeout) is never an error here: OSC's
//! runner answers 200 whatever happens, so that is data in [`super::RunOutcome`].

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the runner emulation could not start. Each message names the file or address and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The module file does not exist.
    #[error(
        "no module at {}: build it first (`pixelsmith build-service` or `cargo build -p wasm-service \
         --target wasm32-wasip1 --release`) or pass --module PATH",
        path.display()
    )]
    ModuleNotFound { path: PathBuf },
    /// The module file exists but could not be read.
    #[error("could not read the module {}: {source}", path.display())]
    ReadModule {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly core module the interpreter accepts.
    #[error("{origin} is not a valid WebAssembly core module: {reason}")]
    InvalidModule { origin: String, reason: String },
    /// The module is valid WebAssembly but cannot run as a WASI preview 1 command.
    #[error("{origin} cannot run on OSC's wasm runner: {reason}")]
    NotACommand { origin: String, reason: String },
    /// An address to listen on is not a loopback address.
    #[error(
        "refusing to listen on {addr}: the runner emulation and the gateway only listen on \
         loopback (use 127.0.0.1:PORT, or port 0 for any free port)"
    )]
    NotLoopback { addr: SocketAddr },
    /// The listening socket could not be bound.
    #[error(
        "could not listen on {addr}: {source} (is the port in use? use port 0 for any free port)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
