//! Runs `examples/embed.rs` (cargo builds examples for `cargo test`) and
//! checks what it printed: the embedding API end to end.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/example-<hash> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("the test's own path");
    exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>").join("examples").join(name)
}

#[test]
fn the_embedding_example_runs_checks_takes_a_passive_result_and_stops() {
    let path = example("embed");
    // `cargo test` builds examples with the tests; `cargo test --test
    // example` alone does not (run `cargo build --example embed` first
    // there, or this builds it, with cargo's features for one package).
    if !path.is_file() {
        let built = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "wasmon-runtime", "--example", "embed"])
            .status()
            .expect("cargo starts");
        assert!(built.success() && path.is_file(), "{} could not be built", path.display());
    }
    let out = Command::new(&path).output().expect("the example starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let events: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad event line {l}: {e}")))
        .collect();
    let results: Vec<(String, String, String, u64, String)> = events
        .iter()
        .filter(|e| e["kind"] == "result")
        .map(|e| {
            (
                e["service"].as_str().unwrap().to_string(),
                e["state"].as_str().unwrap().to_string(),
                e["state_type"].as_str().unwrap().to_string(),
                e["attempt"].as_u64().unwrap(),
                e["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let r = |s: &str, state: &str, t: &str, a: u64, src: &str| {
        (s.to_string(), state.to_string(), t.to_string(), a, src.to_string())
    };
    assert_eq!(
        results,
        vec![
            r("Queue depth", "OK", "HARD", 1, "active"),
            r("Queue depth", "CRITICAL", "SOFT", 1, "active"),
            r("Queue depth", "CRITICAL", "HARD", 2, "active"),
            r("Queue depth", "OK", "SOFT", 1, "active"),
            r("Queue depth", "OK", "HARD", 2, "active"),
            r("Nightly backup", "OK", "HARD", 1, "passive"),
        ],
        "{stdout}"
    );
    let notifications: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] == "notification")
        .map(|e| (e["type"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert_eq!(notifications, vec![("PROBLEM", "CRITICAL"), ("RECOVERY", "OK")], "{stdout}");
    assert!(stdout.contains("status: app / Queue depth: OK HARD 2/2 - Sequence step 5 of 5: OK"), "{stdout}");
    assert!(
        stdout.contains("status: app / Nightly backup: OK HARD 1/3 - Backup of 3 databases finished in 42 s"),
        "{stdout}"
    );
}
