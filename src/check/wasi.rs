//! What the host on OSC provides: the WASI preview 1 functions WasmEdge implements (the full
//! `wasi_snapshot_preview1` set), and the names of the non-standard host APIs that are known to
//! be missing there (WasmEdge's socket extension and its plugins), so the check can explain them.
//!
//! The runner starts `wasmedge /usercontent/main.wasm` with no plugins and no options, so only the
//! built-in `wasi_snapshot_preview1` module can satisfy an import.

/// The only import module the runner provides.
pub const WASI_P1_MODULE: &str = "wasi_snapshot_preview1";

/// Every function of `wasi_snapshot_preview1` (the WASI preview 1 snapshot, witx), all of which
/// WasmEdge implements. Sorted, so it can be binary-searched.
pub const WASI_P1_FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "environ_get",
    "environ_sizes_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_dir_name",
    "fd_prestat_get",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "random_get",
    "sched_yield",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// Whether `name` is a standard `wasi_snapshot_preview1` function.
pub fn is_wasi_p1_function(name: &str) -> bool {
    WASI_P1_FUNCTIONS.binary_search(&name).is_ok()
}

/// The import module of WasmEdge's socket extension in its newer SDKs.
pub const WASMEDGE_SOCKET_MODULE: &str = "wasmedge_wasi_socket";

/// Whether an import is WasmEdge's socket extension: its own module, or a `sock_*` function that
/// is not part of WASI preview 1 (older `wasmedge_wasi_socket` releases import `sock_open`,
/// `sock_bind`, `sock_listen`, `sock_connect`, `sock_getaddrinfo`, … from
/// `wasi_snapshot_preview1`).
pub fn is_wasmedge_socket(module: &str, name: &str) -> bool {
    module == WASMEDGE_SOCKET_MODULE || (name.starts_with("sock_") && !is_wasi_p1_function(name))
}

/// Import modules of WasmEdge plugins and other non-standard host APIs the runner does not load.
pub const PLUGIN_MODULES: &[&str] = &[
    "wasmedge_httpsreq",
    "wasmedge_process",
    "wasmedge_image",
    "wasmedge_tensorflow",
    "wasmedge_tensorflowlite",
    "wasi_ephemeral_nn",
    "wasi_nn",
    "wasi_ephemeral_crypto_common",
    "wasi_ephemeral_crypto_asymmetric_common",
    "wasi_ephemeral_crypto_signatures",
    "wasi_ephemeral_crypto_symmetric",
    "wasi_ephemeral_crypto_kx",
    "wasi_logging",
    "wasi:logging/logging",
];

/// Whether an import module belongs to a WasmEdge plugin (or a similar optional host API).
pub fn is_plugin_module(module: &str) -> bool {
    PLUGIN_MODULES.contains(&module)
        || module.starts_with("wasmedge_")
        || module.starts_with("wasi_ephemeral_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_complete_and_distinct() {
        let mut sorted = WASI_P1_FUNCTIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted, WASI_P1_FUNCTIONS,
            "keep WASI_P1_FUNCTIONS sorted and unique"
        );
        // wasi_snapshot_preview1 has 46 functions (45 + sock_accept, added to the snapshot later).
        assert_eq!(WASI_P1_FUNCTIONS.len(), 46);
        assert!(is_wasi_p1_function("fd_write"));
        assert!(!is_wasi_p1_function("sock_open"));
    }

    #[test]
    fn socket_extension_and_plugins_are_recognised() {
        assert!(is_wasmedge_socket("wasi_snapshot_preview1", "sock_open"));
        assert!(is_wasmedge_socket("wasmedge_wasi_socket", "sock_bind"));
        assert!(!is_wasmedge_socket("wasi_snapshot_preview1", "sock_recv"));
        assert!(is_plugin_module("wasmedge_httpsreq"));
        assert!(is_plugin_module("wasi_ephemeral_nn"));
        assert!(!is_plugin_module("wasi_snapshot_preview1"));
    }
}
