//! Behaviour tables as data (STYLE.md: data-driven cases): each folder of
//! `tests/cases/` holds a configuration (`wasmon.toml`), the inputs at
//! simulated times and how long to run (`inputs.toml`), and the expected
//! `wasmon simulate` output (`expected.jsonl`, one event per line). One
//! loop runs them all through the real binary.
//!
//! `execution_time`, the one measured figure in a line, is left out of the
//! comparison. A configuration names test guests as `@guest:NAME@` (the
//! runner puts in the built guest's path). `WASMON_BLESS=1` rewrites the
//! expected files from what the binary prints, to be read before a commit.

use std::path::{Path, PathBuf};

/// The guests a case may name, by their folder's name.
const GUESTS: &[(&str, &str)] = &[("handler-echo", wasmon_tests::HANDLER_ECHO)];

#[test]
fn every_case_prints_its_expected_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("wasmon.toml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "the cases in {}", root.display());
    let bless = std::env::var_os("WASMON_BLESS").is_some();
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cases");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let mut config = std::fs::read_to_string(case.join("wasmon.toml")).unwrap();
        for (guest, path) in GUESTS {
            config = config.replace(&format!("@guest:{guest}@"), path);
        }
        let config_path = scratch.join(format!("{name}.toml"));
        std::fs::write(&config_path, config).unwrap();
        let mut args = vec!["simulate", "--config", config_path.to_str().unwrap()];
        let inputs = case.join("inputs.toml");
        if inputs.is_file() {
            args.extend(["--inputs", inputs.to_str().unwrap()]);
        }
        let out = crate::plugins::wasmon(&args);
        if !out.status.success() {
            failures.push(format!("{name}: wasmon simulate failed: {}", String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        let got: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(normalise).collect();
        let expected_path = case.join("expected.jsonl");
        if bless {
            std::fs::write(&expected_path, got.join("\n") + "\n").unwrap();
            continue;
        }
        let expected: Vec<String> =
            std::fs::read_to_string(&expected_path).unwrap_or_default().lines().map(normalise).collect();
        if got != expected {
            let first = got.iter().zip(&expected).position(|(g, e)| g != e).unwrap_or(got.len().min(expected.len()));
            failures.push(format!(
                "{name}: {} lines, expected {}; first difference at line {}:\n  expected: {}\n  got:      {}",
                got.len(),
                expected.len(),
                first + 1,
                expected.get(first).map_or("(nothing)", String::as_str),
                got.get(first).map_or("(nothing)", String::as_str),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A line without its `execution_time`, in a canonical form.
fn normalise(line: &str) -> String {
    let mut value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    if let Some(o) = value.as_object_mut() {
        o.remove("execution_time");
    }
    value.to_string()
}
