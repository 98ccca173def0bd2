//! Checks written in C (`checks/c/`, SDK in `sdk/c/`, built by
//! `checks/c/build.sh DIR` with clang + wasi-libc + `wasmon-wasm-c`):
//!
//! - the SDK's native unit tests and the classic plugin `check_values`,
//!   compiled for this machine with `cc` and run;
//! - the `redis` check end to end against a fake Redis started here (PING,
//!   AUTH, INFO over RESP), through the library, through the `wasmon` CLI
//!   and through `wasmon simulate`;
//! - `check_values` as a WASI preview1 command module and as a command
//!   component, through the library and through `wasmon check
//!   plugin.wasm -- ARGS`;
//! - as an ignored test, the cost of one execution beside the Rust `dummy`.
//!
//! The components come from `$WASMON_C_CHECKS_DIR` (`redis.wasm`,
//! `plugins/check_values.wasm`, `plugins/check_values.component.wasm`), the
//! CLI from `$WASMON_BIN` or `wasmon` beside this test binary's profile
//! directory (`target/debug/wasmon`). Without them the tests skip, and fail
//! under `CI=true`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmon_runtime::contract::verify_info;
use wasmon_runtime::{CheckCall, Grants, Range, State, Target, Termination};

use crate::lang::{built, closed_port, metric, missing, range, run, wasmon_bin};
use crate::{sandbox, show};

mod cost;
mod plugin;
mod redis;

/// A file built by `checks/c/build.sh`, from `$WASMON_C_CHECKS_DIR`.
fn c_build(relative: &str) -> Option<PathBuf> {
    built("WASMON_C_CHECKS_DIR", relative, "checks/c/build.sh")
}

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_path_buf()
}

/// A scratch directory for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lang-c-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles C sources for this machine with `cc` (or `$CC`); None (skip)
/// when there is no C compiler.
fn cc(output: &Path, sources: &[PathBuf]) -> Option<PathBuf> {
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let sdk = repo().join("sdk/c");
    let result = Command::new(&compiler)
        .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&sdk)
        .args(sources)
        .arg("-lm")
        .arg("-o")
        .arg(output)
        .output();
    match result {
        Err(e) => missing(&format!("no C compiler '{compiler}': {e}")),
        Ok(out) => {
            assert!(out.status.success(), "{compiler} failed:\n{}", String::from_utf8_lossy(&out.stderr));
            Some(output.to_path_buf())
        }
    }
}

#[test]
fn c_sdk_unit_tests_pass_natively() {
    let sdk = repo().join("sdk/c");
    let Some(exe) = cc(
        &scratch("sdk").join("test_wasmon_check"),
        &[sdk.join("wasmon_check.c"), sdk.join("test/test_wasmon_check.c")],
    ) else {
        return;
    };
    let out = Command::new(&exe).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "the SDK's unit tests failed:\n{stderr}");
    assert!(stdout.starts_with("all ") && stdout.contains(" expectations passed"), "{stdout}");
}

/// The precompiled-module cache of the CLI runs, filled once.
fn cli_cache(bin: &Path, wasm: &Path) -> &'static Path {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cli-cache-c");
        let out = Command::new(bin).arg("describe").arg("--cache-dir").arg(&dir).arg(wasm).output().unwrap();
        assert!(out.status.success(), "wasmon describe: {}", String::from_utf8_lossy(&out.stderr));
        dir
    })
}

/// One `wasmon check` run: (exit code, stdout).
fn cli(bin: &Path, cache: &Path, wasm: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(bin).arg("check").arg("--cache-dir").arg(cache).arg(wasm).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("wasmon check {} {}\n{stdout}{}", wasm.display(), args.join(" "), String::from_utf8_lossy(&out.stderr));
    (out.status.code().expect("an exit code"), stdout)
}
