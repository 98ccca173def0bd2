//! What the tests of checks in other languages share: where their built
//! components and the `wasmon` binary are, and skipping (or, under
//! `CI=true`, failing) when `tests/run` has not provided them.

use std::path::{Path, PathBuf};

use wasmon_runtime::contract::verify_outcome;
use wasmon_runtime::{CheckCall, CheckModule, Grants, Limits, Metric, Outcome, Range, Target};

use crate::show;

/// Skips a test for a missing prerequisite: prints why and returns `None`.
/// Under `CI=true` it fails instead.
pub fn missing<T>(what: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}; tests/run provides it");
    }
    eprintln!("skipping: {what}");
    None
}

/// The file `relative` in the folder `$var` names, which `script DIR`
/// builds.
pub fn built(var: &str, relative: &str, script: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os(var) else {
        return missing(&format!("{var} is not set ({script} DIR builds what it names)"));
    };
    let path = Path::new(&dir).join(relative);
    if path.is_file() {
        Some(path)
    } else {
        missing(&format!("{} does not exist (run {script} {})", path.display(), dir.to_string_lossy()))
    }
}

/// The `wasmon` binary: `$WASMON_BIN`, else beside this test binary's
/// profile directory (`target/debug/deps/all-*` -> `target/debug/wasmon`).
pub fn wasmon_bin() -> Option<PathBuf> {
    let path = match std::env::var_os("WASMON_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().expect("current_exe");
            exe.parent()
                .and_then(Path::parent)
                .expect("target/PROFILE/deps")
                .join(format!("wasmon{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if path.is_file() {
        Some(path)
    } else {
        missing(&format!("{} is not built (cargo build -p wasmon-runtime, or set WASMON_BIN)", path.display()))
    }
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The metric `label` of an outcome.
pub fn metric<'a>(o: &'a Outcome, label: &str) -> &'a Metric {
    o.metrics.iter().find(|m| m.label == label).unwrap_or_else(|| panic!("no metric {label} in {:?}", o.metrics))
}

/// A range `start:end`, not inverted.
pub fn range(start: Option<f64>, end: Option<f64>) -> Option<Range> {
    Some(Range { start, end, inside: false })
}

/// Runs the loaded check against 127.0.0.1 through the library, with the
/// default limits, and checks the output rules.
pub async fn run(module: &CheckModule, params: &[(&str, &str)], grants: Grants) -> Outcome {
    let call = CheckCall {
        target: Target::new("127.0.0.1", Some("127.0.0.1".parse().unwrap())),
        params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        limits: Limits::default(),
        grants,
        ..CheckCall::default()
    };
    let outcome = show(module.check(&call).await).outcome;
    let breaches = verify_outcome(&outcome);
    assert!(breaches.is_empty(), "{} breaks the output rules: {breaches:?}", module.name());
    outcome
}
