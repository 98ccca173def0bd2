//! `wasmon-wasm-c`: the two steps of building a wasmon check in C that a C
//! toolchain cannot do itself, so that `checks/c/build.sh` needs only clang,
//! wasi-libc and this tool (no `wasm-tools` or `wit-bindgen` CLI install).
//!
//! ```text
//! wasmon-wasm-c bindgen-c --wit DIR [--dep DIR]... [--world NAME] --out DIR
//! wasmon-wasm-c component-new CORE.wasm -o OUT.wasm [--adapter reactor|command]
//! ```
//!
//! - `bindgen-c` runs wit-bindgen's C generator (0.57, the version the Rust
//!   guests use) on a WIT world: `--dep` packages (such as the repository's
//!   `wit/`, package `wasmon:check`) are loaded first, then the package in
//!   `--wit` with its `deps/` folder. It writes `<world>.h`, `<world>.c` and
//!   `<world>_component_type.o` (the world's type, linked into the module)
//!   into `--out`, rewriting a file only when its content changed so that
//!   make-style rebuilds stay incremental.
//! - `component-new` turns a wasm32-wasi (preview1) core module into a
//!   component with the WASI preview1 adapter of wasmtime 48: the `reactor`
//!   adapter for a check (a library exporting the world's functions), the
//!   `command` adapter for a program with `main` (it exports `wasi:cli/run`).
//!   For a command, the module's `proc_exit` import is first renamed to
//!   `wasi:cli/exit@0.2.12`'s `exit-with-code` (same core signature), as
//!   the host does when it converts a preview1 plugin itself: the stock
//!   adapter reduces every exit code to success or failure, which would
//!   turn a plugin's CRITICAL (2) into 1.
//!
//! Exit status: 0 on success, 1 on any failure (the message on stderr), 2 on
//! a usage error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_bindgen_core::wit_parser::Resolve;

const USAGE: &str = "\
usage: wasmon-wasm-c bindgen-c --wit DIR [--dep DIR]... [--world NAME] --out DIR
       wasmon-wasm-c component-new CORE.wasm -o OUT.wasm [--adapter reactor|command]";

/// A usage error: reported with the usage text and exit status 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Usage>() => {
            eprintln!("wasmon-wasm-c: {e}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("wasmon-wasm-c: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        return Err(usage("no subcommand given"));
    };
    match command.as_str() {
        "bindgen-c" => bindgen_c(&BindgenArgs::parse(rest)?),
        "component-new" => component_new(&ComponentArgs::parse(rest)?),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(usage(format!("unknown subcommand '{other}'"))),
    }
}

/// Takes the value following option `name`.
fn value<'a>(name: &str, it: &mut impl Iterator<Item = &'a String>) -> Result<&'a String> {
    it.next().ok_or_else(|| usage(format!("option {name} needs a value")))
}

/// Arguments of `bindgen-c`.
struct BindgenArgs {
    wit: PathBuf,
    deps: Vec<PathBuf>,
    world: Option<String>,
    out: PathBuf,
}

impl BindgenArgs {
    fn parse(args: &[String]) -> Result<BindgenArgs> {
        let (mut wit, mut deps, mut world, mut out) = (None, Vec::new(), None, None);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--wit" => wit = Some(PathBuf::from(value(arg, &mut it)?)),
                "--dep" => deps.push(PathBuf::from(value(arg, &mut it)?)),
                "--world" => world = Some(value(arg, &mut it)?.clone()),
                "--out" => out = Some(PathBuf::from(value(arg, &mut it)?)),
                other => return Err(usage(format!("bindgen-c: unexpected argument '{other}'"))),
            }
        }
        Ok(BindgenArgs {
            wit: wit.ok_or_else(|| usage("bindgen-c: --wit DIR is required"))?,
            deps,
            world,
            out: out.ok_or_else(|| usage("bindgen-c: --out DIR is required"))?,
        })
    }
}

/// Generates the C bindings of the world and writes them to `--out`.
fn bindgen_c(args: &BindgenArgs) -> Result<()> {
    let mut resolve = Resolve::default();
    for dep in &args.deps {
        resolve.push_path(dep).with_context(|| format!("loading WIT dependency {}", dep.display()))?;
    }
    let (package, _) = resolve.push_path(&args.wit).with_context(|| format!("loading WIT {}", args.wit.display()))?;
    let world = resolve.select_world(&[package], args.world.as_deref())?;
    let mut files = wit_bindgen_core::Files::default();
    let mut generator = wit_bindgen_c::Opts::default().build();
    generator.generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    for (name, contents) in files.iter() {
        write_if_changed(&args.out.join(name), contents)?;
    }
    Ok(())
}

/// Writes `contents` to `path` unless the file already holds exactly that,
/// so that its modification time moves only when it changes.
fn write_if_changed(path: &Path, contents: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Which WASI preview1 adapter a component gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adapter {
    /// For libraries that export functions (a check): no `run` export.
    Reactor,
    /// For programs with `main`: exports `wasi:cli/run`.
    Command,
}

/// Arguments of `component-new`.
struct ComponentArgs {
    core: PathBuf,
    out: PathBuf,
    adapter: Adapter,
}

impl ComponentArgs {
    fn parse(args: &[String]) -> Result<ComponentArgs> {
        let (mut core, mut out, mut adapter) = (None, None, Adapter::Reactor);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "-o" | "--output" => out = Some(PathBuf::from(value(arg, &mut it)?)),
                "--adapter" => {
                    adapter = match value(arg, &mut it)?.as_str() {
                        "reactor" => Adapter::Reactor,
                        "command" => Adapter::Command,
                        other => return Err(usage(format!("--adapter must be reactor or command, not '{other}'"))),
                    }
                }
                other if other.starts_with('-') => {
                    return Err(usage(format!("component-new: unknown option '{other}'")));
                }
                other if core.is_none() => core = Some(PathBuf::from(other)),
                other => return Err(usage(format!("component-new: unexpected argument '{other}'"))),
            }
        }
        Ok(ComponentArgs {
            core: core.ok_or_else(|| usage("component-new: the core module CORE.wasm is required"))?,
            out: out.ok_or_else(|| usage("component-new: -o OUT.wasm is required"))?,
            adapter,
        })
    }
}

/// Wraps the core module into a component with the chosen adapter.
fn component_new(args: &ComponentArgs) -> Result<()> {
    let core = std::fs::read(&args.core).with_context(|| format!("reading {}", args.core.display()))?;
    let component = encode(&core, args.adapter).with_context(|| format!("componentizing {}", args.core.display()))?;
    write_if_changed(&args.out, &component)
}

/// Where a command's `proc_exit` goes instead.
const EXIT_INTERFACE: &str = "wasi:cli/exit@0.2.12";
const EXIT_WITH_CODE: &str = "exit-with-code";

/// The WIT that types the rerouted import, as in wasmtime-wasi 48.
const EXIT_WIT: &str = "
package wasi:cli@0.2.12;

interface exit {
  exit: func(status: result);
  exit-with-code: func(status-code: u8);
}

world preview1-command {
  import exit;
}
";

/// The component of `core` with `adapter`, validated.
fn encode(core: &[u8], adapter: Adapter) -> Result<Vec<u8>> {
    if !core.starts_with(b"\0asm\x01\0\0\0") {
        bail!("not a WebAssembly core module (a component already, or not wasm at all)");
    }
    let (module, bytes) = match adapter {
        Adapter::Reactor => (core.to_vec(), WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER),
        Adapter::Command => (keep_exit_codes(core)?, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER),
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, bytes)?
        .encode()
}

/// `core` with its import `wasi_snapshot_preview1.proc_exit` (if any)
/// renamed to `wasi:cli/exit@0.2.12.exit-with-code` and the WIT of that
/// import embedded; every other section copied byte for byte.
fn keep_exit_codes(core: &[u8]) -> Result<Vec<u8>> {
    use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

    let mut out = wasm_encoder::Module::new();
    let mut rerouted = false;
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let payload = payload?;
        if let wasmparser::Payload::ImportSection(section) = &payload {
            let mut imports = wasm_encoder::ImportSection::new();
            for import in section.clone().into_imports() {
                let import = import?;
                let ty = RoundtripReencoder.entity_type(import.ty)?;
                if import.module == WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME && import.name == "proc_exit" {
                    imports.import(EXIT_INTERFACE, EXIT_WITH_CODE, ty);
                    rerouted = true;
                } else {
                    imports.import(import.module, import.name, ty);
                }
            }
            out.section(&imports);
        } else if let Some((id, range)) = payload.as_section() {
            out.section(&wasm_encoder::RawSection { id, data: &core[range] });
        }
    }
    let mut module = out.finish();
    if rerouted {
        let mut resolve = Resolve::default();
        let package = resolve.push_str("wasi-cli-exit.wit", EXIT_WIT)?;
        let world = resolve.select_world(&[package], Some("preview1-command"))?;
        wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8)?;
    }
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bindgen_arguments() {
        let a = BindgenArgs::parse(&strings(&["--dep", "wit", "--wit", "sdk/c/wit", "--out", "gen", "--dep", "x"]))
            .unwrap();
        assert_eq!((a.wit, a.out, a.world), (PathBuf::from("sdk/c/wit"), PathBuf::from("gen"), None));
        assert_eq!(a.deps, [PathBuf::from("wit"), PathBuf::from("x")]);
        let e = BindgenArgs::parse(&strings(&["--wit", "w"])).err().unwrap();
        assert!(e.is::<Usage>() && e.to_string().contains("--out"), "{e}");
        assert!(BindgenArgs::parse(&strings(&["--wit"])).err().unwrap().to_string().contains("needs a value"));
    }

    #[test]
    fn component_arguments() {
        let a = ComponentArgs::parse(&strings(&["core.wasm", "-o", "out.wasm", "--adapter", "command"])).unwrap();
        assert_eq!(
            (a.core, a.out, a.adapter),
            (PathBuf::from("core.wasm"), PathBuf::from("out.wasm"), Adapter::Command)
        );
        let a = ComponentArgs::parse(&strings(&["-o", "o", "c"])).unwrap();
        assert_eq!(a.adapter, Adapter::Reactor);
        for bad in [&["c", "--adapter", "proxy", "-o", "o"][..], &["c", "d", "-o", "o"], &["-o", "o"], &["c"]] {
            assert!(ComponentArgs::parse(&strings(bad)).err().unwrap().is::<Usage>(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_core_module() {
        let e = encode(b"\0asm\x0d\0\x01\0", Adapter::Reactor).unwrap_err();
        assert!(e.to_string().contains("not a WebAssembly core module"), "{e}");
    }

    #[test]
    fn a_preview1_command_becomes_a_component() {
        // The smallest preview1 command: `_start` calls `proc_exit(3)`.
        let core = wat_module();
        let component = encode(&core, Adapter::Command).unwrap();
        assert!(component.starts_with(b"\0asm\x0d\0\x01\0"), "a component header");
        let has = |text: &[u8]| component.windows(text.len()).any(|w| w == text);
        assert!(has(b"wasi:cli/run"), "the command adapter exports wasi:cli/run");
        assert!(has(b"exit-with-code"), "proc_exit goes to exit-with-code");
        let module = keep_exit_codes(&core).unwrap();
        let imports: Vec<(String, String)> = wasmparser::Parser::new(0)
            .parse_all(&module)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::ImportSection(s) => Some(
                    s.into_imports()
                        .map(|i| i.unwrap())
                        .map(|i| (i.module.to_string(), i.name.to_string()))
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(imports, [("wasi:cli/exit@0.2.12".to_string(), "exit-with-code".to_string())]);
    }

    /// A hand-assembled core module importing `wasi_snapshot_preview1.proc_exit`,
    /// exporting `_start` and `memory` (no `wat` dependency needed).
    fn wat_module() -> Vec<u8> {
        fn section(id: u8, body: &[u8]) -> Vec<u8> {
            let mut s = vec![id, u8::try_from(body.len()).unwrap()];
            s.extend_from_slice(body);
            s
        }
        fn name(n: &str) -> Vec<u8> {
            let mut v = vec![u8::try_from(n.len()).unwrap()];
            v.extend_from_slice(n.as_bytes());
            v
        }
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        // Types: 0 = (i32) -> (), 1 = () -> ().
        m.extend(section(1, &[2, 0x60, 1, 0x7f, 0, 0x60, 0, 0]));
        let mut import = vec![1];
        import.extend(name("wasi_snapshot_preview1"));
        import.extend(name("proc_exit"));
        import.extend([0x00, 0]);
        m.extend(section(2, &import));
        m.extend(section(3, &[1, 1]));
        m.extend(section(5, &[1, 0, 1]));
        let mut exports = vec![2];
        exports.extend(name("_start"));
        exports.extend([0x00, 1]);
        exports.extend(name("memory"));
        exports.extend([0x02, 0]);
        m.extend(section(7, &exports));
        // Code: i32.const 3; call 0; end.
        m.extend(section(10, &[1, 6, 0, 0x41, 3, 0x10, 0, 0x0b]));
        m
    }
}
