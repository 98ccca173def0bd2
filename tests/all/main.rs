//! wasmon's integration tests: one binary (STYLE 9), a module per area.
//!
//! - `hostile`: every test guest in `tests/guests/` against the sandbox,
//!   each ending in its defined state and message, the process staying
//!   healthy for the next check;
//! - `hotload`: check modules replaced, refused, removed and put back
//!   under a running monitor;
//! - `standard`: the standard checks, end to end against local servers and
//!   against the monitoring-plugins on the same machine;
//! - `packs`: the shipped check packs built, installed and expanded into a
//!   host's services, run through `simulate` and a `Monitor`.

mod cases;
mod engine;
mod handlers;
mod harden;
mod hostile;
mod hotload;
mod import;
mod lang;
mod lang_c;
mod lang_js;
mod lang_python;
mod packs;
mod plugins;
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

mod cache {
    //! The precompiled-module cache: one file per (engine, component),
    //! reused by the next load, and an unusable file replaced.

    use wasmon_runtime::Sandbox;

    fn cwasm_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_compiled_module_is_reused_and_a_broken_one_replaced() {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sandbox = Sandbox::builder().cache_dir(Some(dir.clone())).max_concurrency(2).build().unwrap();
        sandbox.load_file(wasmon_tests::WELL_BEHAVED.as_ref()).unwrap();
        let files = cwasm_files(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        let written = std::fs::metadata(&files[0]).unwrap().modified().unwrap();

        // A second sandbox (a restart) loads the same file instead of compiling.
        let again = Sandbox::builder().cache_dir(Some(dir.clone())).max_concurrency(2).build().unwrap();
        let module = again.load_file(wasmon_tests::WELL_BEHAVED.as_ref()).unwrap();
        assert_eq!(std::fs::metadata(&files[0]).unwrap().modified().unwrap(), written);
        let run = module.check(&crate::call(&[], Default::default(), Default::default())).await;
        assert_eq!(run.outcome.summary, "Run 1");

        // A damaged file is not trusted: the module is compiled and the file rewritten.
        std::fs::write(&files[0], b"not a precompiled module").unwrap();
        let module = again.load_file(wasmon_tests::WELL_BEHAVED.as_ref()).unwrap();
        assert_eq!(
            module.check(&crate::call(&[], Default::default(), Default::default())).await.outcome.summary,
            "Run 1"
        );
        assert!(std::fs::read(&files[0]).unwrap().len() > 1000, "rewritten");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
