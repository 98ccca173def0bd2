//! wasmon's integration tests: one binary (STYLE 9), a module per area.
//!
//! - `hostile`: every test guest in `tests/guests/` against the sandbox,
//!   each ending in its defined state and message, the process staying
//!   healthy for the next check;
//! - `standard`: the standard checks, end to end against local servers and
//!   against the monitoring-plugins on the same machine.

mod hostile;
mod standard;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use wasmon_runtime::{CheckCall, CheckModule, CheckRun, Grants, Limits, Sandbox, Target};

/// One sandbox for the whole test binary, with its precompiled-module cache
/// in cargo's per-target temporary directory.
pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmon-cache");
        Sandbox::builder().cache_dir(Some(cache)).max_concurrency(8).build().expect("sandbox")
    })
}

/// Loads a guest component from its path.
pub fn guest(path: &str) -> CheckModule {
    sandbox().load_file(path.as_ref()).unwrap_or_else(|e| panic!("loading {path}: {e}"))
}

/// A call against 127.0.0.1 with the given params and limits.
pub fn call(params: &[(&str, &str)], limits: Limits, grants: Grants) -> CheckCall {
    CheckCall {
        target: Target::new("localhost", Some("127.0.0.1".parse().unwrap())),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        limits,
        grants,
        ..CheckCall::default()
    }
}

/// Limits with a short timeout, for guests that never return.
pub fn quick(timeout: Duration) -> Limits {
    Limits { timeout, ..Limits::default() }
}

/// Prints the outcome (shown when the test fails) and returns it.
pub fn show(run: CheckRun) -> CheckRun {
    println!("{}\n({:?}, {:?})", run.outcome.plugin_output(), run.outcome.termination, run.outcome.duration);
    run
}

/// Under `CI=true` a test never skips for a missing tool: it fails.
pub fn require_tool(path: &str) -> bool {
    if std::path::Path::new(path).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{path} is missing; tests/run installs it");
    }
    eprintln!("skipping: {path} is not installed (tests/run installs it)");
    false
}
