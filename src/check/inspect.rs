//! Reads what the contract check needs from a `.wasm` binary with `wasmparser`: its encoding
//! (core module or component), imports, exports, whether it validates, and the signature of
//! `_start`. No judgement here; `rules` decides what the facts mean on OSC.

use wasmparser::{
    ComponentExternalKind, Encoding, ExternalKind, Parser, Payload, TypeRef, Validator,
};

/// The kind of item an import or export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    Func,
    Memory,
    Table,
    Global,
    Tag,
    /// A component-level item (instance, function, type, …).
    Component,
}

/// One import: `module` and `name` (a component import has its full name in `module` and an
/// empty `name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    pub module: String,
    pub name: String,
    pub kind: ItemKind,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Export {
    pub name: String,
    pub kind: ItemKind,
    /// The exported item's index in its index space (functions: imports first).
    pub index: u32,
}

/// Everything the rules look at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inspection {
    /// `None` when the bytes are not WebAssembly at all.
    pub encoding: Option<Encoding>,
    /// Why the bytes could not be read, or do not validate.
    pub invalid: Option<String>,
    /// Imports of the top-level module, or — for a component — the component's own imports
    /// followed by every import of the core modules inside it.
    pub imports: Vec<Import>,
    pub exports: Vec<Export>,
    /// `Some(true)` when `_start` is a function `() -> ()`; `None` when unknown (no `_start`, or
    /// the module does not validate).
    pub start_signature_ok: Option<bool>,
}

impl Inspection {
    pub(crate) fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }
}

/// Parses `bytes`. Never fails: problems are recorded in [`Inspection::invalid`].
pub(crate) fn inspect(bytes: &[u8]) -> Inspection {
    let mut out = Inspection::default();
    if let Err(detail) = collect(bytes, &mut out) {
        out.invalid = Some(detail);
        return out;
    }
    if out.encoding == Some(Encoding::Module) {
        match Validator::new().validate_all(bytes) {
            Ok(types) => {
                if let Some(start) = out.export("_start").filter(|e| e.kind == ItemKind::Func) {
                    let types = types.as_ref();
                    let id = types.core_function_at(start.index);
                    let func = types[id].unwrap_func();
                    out.start_signature_ok =
                        Some(func.params().is_empty() && func.results().is_empty());
                }
            }
            Err(e) => out.invalid = Some(e.to_string()),
        }
    }
    out
}

fn collect(bytes: &[u8], out: &mut Inspection) -> Result<(), String> {
    // Nesting depth: a component holds core modules and components; only the outermost level's
    // exports describe what the runtime would call.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| e.to_string())?;
        match payload {
            Payload::Version { encoding, .. } => {
                if out.encoding.is_none() {
                    out.encoding = Some(encoding);
                } else {
                    depth += 1;
                }
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    out.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind: match import.ty {
                            TypeRef::Func(_) | TypeRef::FuncExact(_) => ItemKind::Func,
                            TypeRef::Memory(_) => ItemKind::Memory,
                            TypeRef::Table(_) => ItemKind::Table,
                            TypeRef::Global(_) => ItemKind::Global,
                            TypeRef::Tag(_) => ItemKind::Tag,
                        },
                    });
                }
            }
            Payload::ExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    out.exports.push(Export {
                        name: export.name.to_string(),
                        kind: match export.kind {
                            ExternalKind::Func | ExternalKind::FuncExact => ItemKind::Func,
                            ExternalKind::Memory => ItemKind::Memory,
                            ExternalKind::Table => ItemKind::Table,
                            ExternalKind::Global => ItemKind::Global,
                            ExternalKind::Tag => ItemKind::Tag,
                        },
                        index: export.index,
                    });
                }
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    out.imports.push(Import {
                        module: import.name.0.to_string(),
                        name: String::new(),
                        kind: ItemKind::Component,
                    });
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    let _: ComponentExternalKind = export.kind;
                    out.exports.push(Export {
                        name: export.name.0.to_string(),
                        kind: ItemKind::Component,
                        index: export.index,
                    });
                }
            }
            _ => {}
        }
    }
    if out.encoding.is_none() {
        return Err("the file is empty".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_imports_exports_and_the_start_signature() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                 (memory (export "memory") 1)
                 (func (export "_start")))"#,
        )
        .unwrap();
        let got = inspect(&wasm);
        assert_eq!(got.encoding, Some(Encoding::Module));
        assert_eq!(got.invalid, None);
        assert_eq!(got.imports.len(), 1);
        assert_eq!(got.imports[0].name, "fd_write");
        assert_eq!(got.export("memory").map(|e| e.kind), Some(ItemKind::Memory));
        assert_eq!(got.start_signature_ok, Some(true));
    }

    #[test]
    fn a_start_with_parameters_is_flagged_and_garbage_is_invalid() {
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "_start") (param i32)))"#,
        )
        .unwrap();
        assert_eq!(inspect(&wasm).start_signature_ok, Some(false));
        let junk = inspect(b"\x7fELF not wasm");
        assert!(junk.invalid.is_some());
        assert_eq!(junk.encoding, None);
    }
}
