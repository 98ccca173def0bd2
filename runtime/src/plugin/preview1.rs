//! WASI preview1 command modules turned into `wasi:cli/command`
//! components at load, keeping their exit codes.
//!
//! The conversion is wit-component's with the preview1 *command* adapter of
//! the wasmtime release the host embeds (48), which implements every
//! preview1 function on the WASI 0.2 interfaces the sandbox links. One
//! function is rerouted: the adapter's `proc_exit` reduces every code to
//! success or failure (WASI 0.2's `exit` carries no more), which would turn
//! a plugin's CRITICAL (2) into WARNING (1). So the module's import of
//! `wasi_snapshot_preview1.proc_exit` is renamed, before the conversion, to
//! `wasi:cli/exit@0.2.12`'s `exit-with-code`, which has the same core
//! signature (one i32) and passes the code on (the canonical ABI keeps its
//! low 8 bits, as a POSIX exit status does).

use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

/// The preview1 import module.
const PREVIEW1: &str = WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME;

/// Where `proc_exit` goes instead.
const EXIT_INTERFACE: &str = "wasi:cli/exit@0.2.12";
const EXIT_WITH_CODE: &str = "exit-with-code";

/// The WIT the renamed import is typed by, as in wasmtime-wasi 48.
const EXIT_WIT: &str = "
package wasi:cli@0.2.12;

@since(version = 0.2.0)
interface exit {
  @since(version = 0.2.0)
  exit: func(status: result);

  @since(version = 0.2.12)
  exit-with-code: func(status-code: u8);
}
";

const WORLD_WIT: &str = "
package wasmon:plugin;

world preview1-command {
  import wasi:cli/exit@0.2.12;
}
";

/// Bump when the conversion changes: converted modules are cached compiled
/// under a key that includes it.
const CONVERSION_VERSION: &[u8] = b"wasmon preview1 command conversion 1";

/// The cache key of the component converted from a core module whose
/// sha256 is `digest`: it covers the conversion and the adapter too.
pub(crate) fn conversion_key(digest: &[u8; 32]) -> [u8; 32] {
    static ADAPTER: OnceLock<[u8; 32]> = OnceLock::new();
    let adapter = ADAPTER.get_or_init(|| Sha256::digest(WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER).into());
    let mut h = Sha256::new();
    h.update(CONVERSION_VERSION);
    h.update(adapter);
    h.update(digest);
    h.finalize().into()
}

/// Checks that `core` is a WASI preview1 command module wasmon can run:
/// it exports `_start` and imports only `wasi_snapshot_preview1`. The error
/// says, in one line, what it is instead.
pub(crate) fn check_command_module(core: &[u8]) -> Result<(), String> {
    let mut exports = Vec::new();
    let mut foreign = None;
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let payload = payload.map_err(|e| format!("it is not a valid WebAssembly module: {e}"))?;
        match payload {
            wasmparser::Payload::ImportSection(s) => {
                for import in s.into_imports() {
                    let import = import.map_err(|e| format!("it is not a valid WebAssembly module: {e}"))?;
                    if import.module != PREVIEW1 && foreign.is_none() {
                        foreign = Some((import.module.to_string(), import.name.to_string()));
                    }
                }
            }
            wasmparser::Payload::ExportSection(s) => {
                for export in s {
                    let export = export.map_err(|e| format!("it is not a valid WebAssembly module: {e}"))?;
                    exports.push(export.name.to_string());
                }
            }
            _ => {}
        }
    }
    if !exports.iter().any(|e| e == "_start") {
        return Err(if exports.iter().any(|e| e == "_initialize") {
            "it is a WASI preview1 reactor (it exports _initialize, not _start): wasmon runs core modules \
             only as command plugins, programs with a main function; build it as a command, or as a \
             wasmon:check component for wasm32-wasip2"
                .to_string()
        } else {
            "it is a core WebAssembly module without a _start function: wasmon runs core modules only as \
             WASI preview1 command plugins (programs with a main function, e.g. built for wasm32-wasip1); \
             a check must be a wasmon:check component (wasm32-wasip2)"
                .to_string()
        });
    }
    if let Some((module, name)) = foreign {
        return Err(match module.as_str() {
            "wasi_unstable" => format!(
                "it imports {module}.{name}, the interface of WASI snapshot 0, which wasmon does not \
                 provide: rebuild it for wasm32-wasip1 (wasi_snapshot_preview1)"
            ),
            "wasi" if name == "thread-spawn" => {
                "it uses WASI threads (wasi.thread-spawn), which wasmon does not provide: build it \
                 without threads"
                    .to_string()
            }
            _ => format!(
                "it imports {module}.{name}, which wasmon does not provide: a preview1 plugin may import \
                 only wasi_snapshot_preview1 (build it as a standalone WASI program, e.g. for \
                 wasm32-wasip1 or with wasi-sdk)"
            ),
        });
    }
    Ok(())
}

/// Turns a WASI preview1 command module (a core module that exports
/// `_start`, e.g. built for `wasm32-wasip1` or with wasi-sdk) into a
/// `wasi:cli/command` component that keeps its exit codes, as the sandbox
/// does when it loads one. Public for build tools that want to ship the
/// component rather than the module: converting with the stock adapter
/// alone would reduce every non-zero exit code to 1.
///
/// The error says in one line why the module cannot be converted (not a
/// command, imports the host cannot provide, invalid).
pub fn preview1_to_component(core: &[u8]) -> Result<Vec<u8>, String> {
    check_command_module(core)?;
    convert(core).map_err(|e| {
        format!("it cannot be made a component with the WASI preview1 adapter: {}", format!("{e:#}").replace('\n', " "))
    })
}

fn convert(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut module = reroute_proc_exit(core)?;
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_str("wasi-cli-exit.wit", EXIT_WIT)?;
    let package = resolve.push_str("wasmon-plugin.wit", WORLD_WIT)?;
    let world = resolve.select_world(&[package], Some("preview1-command"))?;
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8)?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(PREVIEW1, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER)?
        .encode()
}

/// The largest `name` section kept by the conversion.
const MAX_NAME_SECTION: usize = 4 << 20;

/// `core` with its import of `wasi_snapshot_preview1.proc_exit` renamed
/// to `wasi:cli/exit@0.2.12.exit-with-code`, custom sections left out but
/// a `name` section up to [`MAX_NAME_SECTION`]; every other section copied
/// byte for byte.
fn reroute_proc_exit(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = wasm_encoder::Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let payload = payload?;
        if let wasmparser::Payload::ImportSection(section) = &payload {
            let mut imports = wasm_encoder::ImportSection::new();
            for import in section.clone().into_imports() {
                let import = import?;
                let ty = RoundtripReencoder.entity_type(import.ty)?;
                if import.module == PREVIEW1 && import.name == "proc_exit" {
                    imports.import(EXIT_INTERFACE, EXIT_WITH_CODE, ty);
                } else {
                    imports.import(import.module, import.name, ty);
                }
            }
            out.section(&imports);
        } else if let wasmparser::Payload::CustomSection(custom) = &payload {
            // Custom sections mean nothing to the run but the function
            // names of a backtrace; a large one would be copied by every
            // step of the conversion.
            if custom.name() == "name" && custom.data().len() <= MAX_NAME_SECTION {
                out.section(&wasm_encoder::CustomSection { name: "name".into(), data: custom.data().into() });
            }
        } else if let Some((id, range)) = payload.as_section() {
            out.section(&wasm_encoder::RawSection { id, data: &core[range] });
        }
    }
    Ok(out.finish())
}
