//! Builds a separate cargo workspace of wasm32-wasip2 guests from a build
//! script, the way wasmtime's `crates/test-programs/artifacts/build.rs` does.
//!
//! Shared by build scripts through `#[path]`: `tests/build.rs` builds
//! `tests/guests/`, and `runtime/build.rs` can build `checks/` with
//!
//! ```ignore
//! #[path = "../tests/build_guests.rs"]
//! mod build_guests;
//! ```
//!
//! Build scripts that include it need `serde_json` as a build-dependency
//! (for cargo's JSON messages). [`build`] runs the nested `cargo build`, emits
//! `cargo:rerun-if-changed` lines for everything the guests were compiled
//! from, and returns each `.wasm` artifact with its crate name; what to do
//! with them (constants, embedding) is up to the caller.

#![allow(dead_code, reason = "each including build script uses a different part")]

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target every guest is built for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// One `.wasm` artifact of a guest workspace.
#[derive(Debug, Clone)]
pub struct Guest {
    /// The crate name of the artifact's target, in Rust spelling: package
    /// `guest-trap` gives `guest_trap`, also for binaries.
    pub crate_name: String,
    /// The `Cargo.toml` of the package the artifact belongs to.
    pub manifest_path: PathBuf,
    /// Absolute path of the built component.
    pub wasm: PathBuf,
}

/// Why building a guest workspace failed.
#[derive(Debug)]
pub enum BuildError {
    /// The Rust standard library for [`GUEST_TARGET`] is not installed.
    TargetMissing,
    /// A command could not be run or failed; the text says which and why.
    Command(String),
    /// Cargo's output or a dep-info file was not what was expected.
    Output(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TargetMissing => {
                write!(f, "the {GUEST_TARGET} target is not installed: run `rustup target add {GUEST_TARGET}`")
            }
            Self::Command(text) | Self::Output(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for BuildError {}

/// The directory under which guest workspaces are built: `wasm-guests` in the
/// outer build's target (or build) directory, found by walking up from the
/// build script's `OUT_DIR`.
///
/// `OUT_DIR` is `<dir>/<profile>/build/<package>-<hash>/out`, or
/// `<dir>/<triple>/<profile>/build/…` when cargo was given `--target`; the
/// result is `<dir>/wasm-guests`. Unlike wasmtime, which builds into `OUT_DIR`
/// itself, this directory is shared: by the debug and release builds of the
/// outer workspace, and by every build script that builds a guest workspace
/// (tests' guests and the standard checks compile `wit-bindgen` and the
/// standard library's glue once), and it survives the hash changes that give
/// a build script a fresh `OUT_DIR`. Two nested builds wait for each other on
/// cargo's lock of that directory. Falls back to `OUT_DIR/wasm-guests` if
/// `OUT_DIR` does not have the expected shape.
pub fn shared_target_dir(out_dir: &Path) -> PathBuf {
    let profile_dir = out_dir
        .parent()
        .and_then(Path::parent)
        .filter(|build| build.file_name().is_some_and(|name| name == "build"))
        .and_then(Path::parent);
    let Some(mut dir) = profile_dir.and_then(Path::parent) else {
        println!("cargo:warning=unexpected OUT_DIR layout {}; building guests inside it", out_dir.display());
        return out_dir.join("wasm-guests");
    };
    let target = env::var_os("TARGET");
    if target.is_some_and(|target| dir.file_name() == Some(target.as_os_str())) {
        dir = dir.parent().unwrap_or(dir);
    }
    dir.join("wasm-guests")
}

/// Builds every member of the cargo workspace in `workspace_dir` for
/// [`GUEST_TARGET`] with cargo profile `profile` (e.g. "release") into
/// `target_dir`, and returns its `.wasm` artifacts sorted by crate name.
///
/// Cargo runs with `workspace_dir` as its working directory, so that the
/// workspace's `.cargo/config.toml` (rustflags such as the stack size)
/// applies. Environment that the outer build sets for build scripts and that
/// would leak into the nested one (rustflags, target, wrappers, build-script
/// variables) is removed; the jobserver (`CARGO_MAKEFLAGS`) is kept so the
/// nested build shares the outer one's job slots.
///
/// Emits `cargo:rerun-if-changed` for every source file listed in the
/// artifacts' dep-info files and for the workspace's `Cargo.toml`,
/// `Cargo.lock` and `.cargo/config.toml`. Files read by other means (a WIT
/// folder to which a file may be added) are the caller's to declare.
pub fn build(workspace_dir: &Path, target_dir: &Path, profile: &str) -> Result<Vec<Guest>, BuildError> {
    check_target_installed()?;
    let workspace_dir = workspace_dir
        .canonicalize()
        .map_err(|e| BuildError::Command(format!("guest workspace {}: {e}", workspace_dir.display())))?;
    for file in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", workspace_dir.join(file).display());
    }

    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(&workspace_dir)
        .args(["build", "--workspace", "--message-format=json-render-diagnostics"])
        .arg("--target")
        .arg(GUEST_TARGET)
        .arg("--profile")
        .arg(profile)
        .arg("--target-dir")
        .arg(target_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, _) in env::vars_os() {
        if leaks_into_nested_build(&name) {
            cargo.env_remove(name);
        }
    }
    eprintln!("running: {cargo:?}");
    let output = cargo.output().map_err(|e| BuildError::Command(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(BuildError::Command(format!(
            "`cargo build` of the guests in {} failed ({}); its errors are above",
            workspace_dir.display(),
            output.status
        )));
    }

    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| BuildError::Output("cargo's JSON messages are not UTF-8".to_owned()))?;
    let guests = artifacts(&stdout, &workspace_dir)?;
    let mut seen = BTreeSet::new();
    for guest in &guests {
        for file in dep_info(&guest.wasm.with_extension("d"))? {
            if !seen.contains(&file) {
                println!("cargo:rerun-if-changed={file}");
                seen.insert(file);
            }
        }
    }
    Ok(guests)
}

/// Fails with [`BuildError::TargetMissing`] when the standard library for
/// [`GUEST_TARGET`] is not in the sysroot of the `rustc` cargo uses.
fn check_target_installed() -> Result<(), BuildError> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", GUEST_TARGET])
        .output()
        .map_err(|e| BuildError::Command(format!("cannot run {}: {e}", Path::new(&rustc).display())))?;
    let libdir = String::from_utf8_lossy(&output.stdout);
    let libdir = Path::new(libdir.trim());
    if !output.status.success() || libdir.as_os_str().is_empty() || !libdir.is_dir() {
        return Err(BuildError::TargetMissing);
    }
    Ok(())
}

/// Whether the outer build sets environment variable `name` in a way that
/// would change or break the nested build.
fn leaks_into_nested_build(name: &OsString) -> bool {
    const EXACT: &[&str] = &[
        // Flags for the outer target; they would also override the guest
        // workspace's [target.wasm32-wasip2] rustflags entirely.
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        // Where and for what the outer build builds.
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        // `cargo clippy`, sccache and friends wrap the outer rustc.
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        // Set for the outer build script only.
        "OUT_DIR",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
        "RUSTC_LINKER",
        "RUSTDOC",
    ];
    const PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "CARGO_MANIFEST_", "DEP_", "__CARGO"];
    let Some(name) = name.to_str() else {
        return false;
    };
    EXACT.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// The `.wasm` artifacts of packages inside `workspace_dir` in cargo's
/// `--message-format=json` output (fresh ones are reported too).
fn artifacts(messages: &str, workspace_dir: &Path) -> Result<Vec<Guest>, BuildError> {
    let mut guests = BTreeMap::new();
    for line in messages.lines().filter(|line| line.starts_with('{')) {
        let message: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| BuildError::Output(format!("cannot parse cargo message {line:?}: {e}")))?;
        if message.get("reason").and_then(serde_json::Value::as_str) != Some("compiler-artifact") {
            continue;
        }
        let Some(manifest_path) = message.get("manifest_path").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let manifest_path = PathBuf::from(manifest_path);
        if !manifest_path.starts_with(workspace_dir) {
            continue;
        }
        let name = message
            .get("target")
            .and_then(|target| target.get("name"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| BuildError::Output(format!("artifact without a target name: {line}")))?;
        let files =
            message.get("filenames").and_then(serde_json::Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for wasm in files.iter().filter_map(serde_json::Value::as_str) {
            if !wasm.ends_with(".wasm") {
                continue;
            }
            let crate_name = name.replace('-', "_");
            let guest = Guest {
                crate_name: crate_name.clone(),
                manifest_path: manifest_path.clone(),
                wasm: PathBuf::from(wasm),
            };
            if let Some(other) = guests.insert(crate_name, guest) {
                return Err(BuildError::Output(format!(
                    "two artifacts named {}: {} and {wasm}",
                    other.crate_name,
                    other.wasm.display()
                )));
            }
        }
    }
    Ok(guests.into_values().collect())
}

/// The files listed in a makefile-style dep-info file (`target: dep dep…`),
/// with `\ ` unescaped to a blank.
fn dep_info(path: &Path) -> Result<Vec<String>, BuildError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BuildError::Output(format!("cannot read {}: {e}", path.display())))?;
    let mut files = Vec::new();
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut file = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(|&next| next == ' ' || next == '\\') => {
                    file.extend(chars.next());
                }
                ' ' => {
                    if !file.is_empty() {
                        files.push(std::mem::take(&mut file));
                    }
                }
                c => file.push(c),
            }
        }
        if !file.is_empty() {
            files.push(file);
        }
    }
    Ok(files)
}
