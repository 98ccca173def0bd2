//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz) and for the
//! test that replays their corpora in the ordinary test run: each takes
//! arbitrary bytes, feeds them to one parser the way the engine does, and
//! checks what must hold of any input. Not a stable API.
//!
//! Each returns normally for any input; a panic, a hang or an abort is a
//! bug in the parser.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use crate::api::request;
use crate::plugin::{self, ExitStatus};

/// The file the configuration and pack-manifest targets name in messages:
/// in a folder that does not exist, so relative paths resolve to nothing.
const FILE: &str = "/nonexistent/wasmon-fuzz/wasmon.toml";

/// A fuzz target's entry point: any bytes, no panic.
pub type Target = fn(&[u8]);

/// Every entry point, by the name of its fuzz target and its corpus
/// folder (`fuzz/corpus/NAME`).
pub const TARGETS: &[(&str, Target)] = &[
    ("perfdata", perfdata),
    ("plugin_output", plugin_output),
    ("range", range),
    ("config", config),
    ("pack_manifest", pack_manifest),
    ("api_body", api_body),
    ("module_load", module_load),
];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Performance data (`label=value[UOM];warn;crit;min;max ...`): every
/// metric renders back (as sinks and `wasmon check` print it) to one entry
/// that parses to a metric rendering the same way.
pub fn perfdata(data: &[u8]) {
    let text = text(data);
    let (metrics, problems) = plugin::parse_perfdata(&text);
    assert!(metrics.len() + problems.len() <= text.len(), "more entries than bytes in {text:?}");
    for m in &metrics {
        assert!(!m.label.is_empty(), "a metric without a label from {text:?}");
        let shown = m.perfdata();
        let (again, bad) = plugin::parse_perfdata(&shown);
        assert!(again.len() == 1 && bad.is_empty(), "{m:?} renders as {shown:?}, which parses to {again:?} {bad:?}");
        assert_eq!(again[0].perfdata(), shown, "{m:?} renders as {shown:?}, which parses to {again:?}");
    }
}

/// Plugin output: the split and the result of a plugin that exited with
/// any code, with this output on stdout or on stderr.
pub fn plugin_output(data: &[u8]) {
    let text = text(data);
    let split = plugin::split_output(&text);
    assert!(!split.summary.contains('\n'), "a summary of several lines from {text:?}");
    let parsed = plugin::parse_output(&text);
    assert_eq!(parsed.summary, split.summary);
    let _ = parsed.perfdata_errors();
    let code = data.first().map_or(0, |&b| i32::from(b as i8));
    for exit in [ExitStatus::Code(code), ExitStatus::FailureWithoutCode] {
        let _ = plugin::plugin_result(exit, &text, "");
        let _ = plugin::plugin_result(exit, "", &text);
    }
}

/// A threshold range (`10`, `10:`, `~:10`, `10:20`, `@10:20`): what parses
/// renders back to a text that parses to the same range.
pub fn range(data: &[u8]) {
    let text = text(data);
    if let Ok(range) = plugin::parse_range(&text) {
        round_trip(&range);
        for value in [0.0, -1.0, 1.0, f64::MAX, f64::MIN, f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            let _ = range.alerts(value);
        }
    }
}

/// A range that can be printed (see [`crate::sanitize::range`]) renders to
/// a text that parses to a range rendering the same way.
fn round_trip(range: &crate::Range) {
    let Some(range) = crate::sanitize::range(*range) else {
        return;
    };
    let shown = range.to_string();
    let again = plugin::parse_range(&shown).unwrap_or_else(|e| panic!("{range:?} renders as {shown:?}, which {e}"));
    assert_eq!(again.to_string(), shown, "{range:?} renders as {shown:?}, which parses to {again:?}");
}

/// A configuration file, read as `wasmon check --config` reads it.
pub fn config(data: &[u8]) {
    let _ = crate::config::parse(&text(data), Path::new(FILE));
}

/// A pack manifest, as `wasmon pack build` reads a source `pack.toml` and
/// as an installed or built pack's manifest is read.
pub fn pack_manifest(data: &[u8]) {
    let text = text(data);
    let file = Path::new(FILE);
    if let Ok(source) = crate::pack::manifest::read_source(&text, file) {
        for finding in crate::pack::manifest::verify(&source.manifest) {
            let _ = source.locate(file, &finding);
        }
    }
    let _ = crate::pack::parse_manifest(&text, "fuzz");
}

/// A body of each API endpoint that takes one (`POST /results`,
/// `/acknowledgements`, `/notifications`, `/downtimes`, `/rechecks`).
pub fn api_body(data: &[u8]) {
    let Ok(body) = request::parse_json(data) else {
        return;
    };
    let _ = request::results(&body);
    let _ = request::acknowledgement(&body);
    let _ = request::custom_notification(&body);
    let _ = request::downtime(&body, Duration::from_secs(1_700_000_000));
    let _ = request::object(&body, &["host", "service"]);
}

/// Loading a module: any bytes, as a file in the checks folder.
pub fn module_load(data: &[u8]) {
    static SANDBOX: OnceLock<crate::Sandbox> = OnceLock::new();
    let sandbox = SANDBOX.get_or_init(|| crate::Sandbox::builder().cache_dir(None).build().expect("a sandbox"));
    let _ = sandbox.load("fuzz", data);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Replays every corpus file (and every crash kept as a regression
    /// input) through its entry point: what the fuzzer found stays fixed.
    #[test]
    fn fuzz_corpora_replay() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let mut replayed = 0;
        for (name, target) in super::TARGETS {
            let dir = root.join(name);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.expect("a directory entry").path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "{} is empty", dir.display());
            for file in files {
                let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(outcome.is_ok(), "{name}: {} panics", file.display());
                replayed += 1;
            }
        }
        assert!(replayed > 0);
    }
}
