//! The written contract for checks, and its verifier.
//!
//! A check MUST:
//! - describe itself completely: a lower-case `name`, a semver `version`, a
//!   `title` of the form "Device or group: what is monitored" (Checkmk
//!   guideline 9.1), a manpage description that says when the check is OK,
//!   WARN and CRIT (9.4), an item text when it has items and a discovery
//!   text when it discovers (9.5, 9.6);
//! - document every parameter, with unique names, and give the source of
//!   every default threshold (5.6);
//! - name metrics with lower-case letters, digits and underscores, not
//!   starting with a digit, never with the filler word "current" (6.2), in a
//!   plugin-interface unit ("", "s", "%", "B", "c"; canonical units only);
//! - write one summary line, with no blank between a value and `%` (5.5).
//!
//! [`verify_info`] and [`verify_outcome`] return what a check breaks, so each
//! check's test can assert that nothing is.

use crate::outcome::Outcome;
use crate::sandbox::module::CheckInfo;

/// Units of measurement the plugin interface knows, in canonical form.
pub const UNITS: [&str; 5] = ["", "s", "%", "B", "c"];

/// Checks `describe()` output against the contract; returns every breach.
pub fn verify_info(info: &CheckInfo) -> Vec<String> {
    let mut v = Vec::new();
    if info.name.is_empty()
        || !info.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        v.push(format!("name '{}': expected lower-case letters, digits, '-' or '_'", info.name));
    }
    let parts: Vec<&str> = info.version.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.split(['-', '+']).next().is_none_or(|n| n.parse::<u64>().is_err())) {
        v.push(format!("version '{}': expected semver MAJOR.MINOR.PATCH", info.version));
    }
    match info.title.split_once(':') {
        Some((device, what)) if !device.trim().is_empty() && !what.trim().is_empty() => {}
        _ => v.push(format!("title '{}': expected \"Device or group: what is monitored\"", info.title)),
    }
    let d = &info.manpage.description;
    if d.trim().len() < 40 {
        v.push("manpage description: too short to say what is monitored and when it is OK, WARN or CRIT".into());
    }
    let upper = d.to_uppercase();
    for (state, alts) in [("OK", &["OK"][..]), ("WARN", &["WARN"][..]), ("CRIT", &["CRIT"][..])] {
        if !alts.iter().any(|a| upper.contains(a)) {
            v.push(format!("manpage description: does not say when the check is {state}"));
        }
    }
    if info.manpage.discovery.is_some() && info.manpage.item.is_none() {
        v.push("manpage: the check discovers items but does not say how an item is formed".into());
    }
    for (what, text) in [("item", &info.manpage.item), ("discovery", &info.manpage.discovery)] {
        if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            v.push(format!("manpage {what}: given but empty"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for p in &info.params {
        if !is_identifier(&p.name) {
            v.push(format!("parameter '{}': expected lower-case letters, digits and underscores", p.name));
        }
        if !seen.insert(p.name.as_str()) {
            v.push(format!("parameter '{}': documented twice", p.name));
        }
        if p.description.trim().is_empty() {
            v.push(format!("parameter '{}': no description", p.name));
        }
        let threshold = ["warn", "crit", "level", "threshold"].iter().any(|t| p.name.contains(t));
        if threshold && p.default.is_some() && p.default_source.as_deref().is_none_or(|s| s.trim().is_empty()) {
            v.push(format!("parameter '{}': default threshold without its source", p.name));
        }
        if p.default_source.is_some() && p.default.is_none() && !threshold {
            v.push(format!("parameter '{}': names a default source but has no default", p.name));
        }
    }
    v
}

/// Lower-case letters, digits and underscores, not starting with a digit
/// (Checkmk guideline 6.2, for metric and parameter names alike).
pub(crate) fn is_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks one run's outcome against the output rules; returns every breach.
pub fn verify_outcome(o: &Outcome) -> Vec<String> {
    let mut v = Vec::new();
    if o.summary.trim().is_empty() {
        v.push("summary: empty".into());
    }
    if o.summary.contains('\n') {
        v.push("summary: more than one line".into());
    }
    let bytes = o.summary.as_bytes();
    for i in 2..bytes.len() {
        if bytes[i] == b'%' && bytes[i - 1] == b' ' && bytes[i - 2].is_ascii_digit() {
            v.push(format!("summary '{}': a blank before '%'", o.summary));
            break;
        }
    }
    for m in &o.metrics {
        if !is_identifier(&m.label) {
            v.push(format!(
                "metric '{}': expected lower-case letters, digits and underscores, not starting with a digit",
                m.label
            ));
        }
        if !m.value.is_finite() {
            v.push(format!("metric '{}': the value is not a finite number", m.label));
        }
        if m.uom == "%" && !(0.0..=100.0).contains(&m.value) {
            v.push(format!("metric '{}': {}% is outside 0-100", m.label, m.value));
        }
        if m.label.split('_').any(|w| w == "current") {
            v.push(format!("metric '{}': the filler word 'current'", m.label));
        }
        if !UNITS.contains(&m.uom.as_str()) {
            v.push(format!("metric '{}': unit '{}' is not one of \"\", s, %, B, c", m.label, m.uom));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Metric, State, Termination};
    use crate::sandbox::module::{Manpage, ParamInfo};

    fn info() -> CheckInfo {
        CheckInfo {
            name: "tcp".into(),
            version: "0.1.0".into(),
            title: "Network: TCP port connection".into(),
            manpage: Manpage {
                description: "Connects to a TCP port. OK when it answers in time, WARN or CRIT when the \
                              response time reaches the levels."
                    .into(),
                item: None,
                discovery: None,
            },
            params: vec![ParamInfo {
                name: "warning".into(),
                description: "Response time level".into(),
                default: Some("1".into()),
                default_source: Some("check_tcp".into()),
            }],
        }
    }

    #[test]
    fn a_complete_description_passes_and_each_gap_is_named() {
        assert_eq!(verify_info(&info()), Vec::<String>::new());
        let mut bad = info();
        bad.name = "TCP".into();
        bad.version = "1".into();
        bad.title = "TCP".into();
        bad.manpage.description = "Checks TCP.".into();
        bad.manpage.discovery = Some("All ports".into());
        bad.params[0].default_source = None;
        bad.params.push(bad.params[0].clone());
        bad.params.push(ParamInfo {
            name: "Port".into(),
            description: "x".into(),
            default: None,
            default_source: Some("y".into()),
        });
        let v = verify_info(&bad).join("\n");
        for needle in [
            "name 'TCP'",
            "version '1'",
            "title 'TCP'",
            "too short",
            "when the check is OK",
            "how an item is formed",
            "default threshold without its source",
            "documented twice",
            "parameter 'Port': expected lower-case",
            "'Port': names a default source but has no default",
        ] {
            assert!(v.contains(needle), "missing '{needle}' in:\n{v}");
        }
    }

    #[test]
    fn output_rules() {
        let metric = |label: &str, uom: &str| Metric {
            label: label.into(),
            value: 1.0,
            uom: uom.into(),
            warn: None,
            crit: None,
            min: None,
            max: None,
        };
        let mut o = Outcome {
            perfdata_errors: Vec::new(),
            state: State::Ok,
            summary: "Used: 45.2%".into(),
            long_output: None,
            metrics: vec![metric("fs_used", "B")],
            duration: std::time::Duration::ZERO,
            termination: Termination::Completed,
            truncated: false,
        };
        assert_eq!(verify_outcome(&o), Vec::<String>::new());
        o.summary = "Used: 45 %\nmore".into();
        let mut over = metric("usage", "%");
        over.value = 150.0;
        let mut nan = metric("nan", "");
        nan.value = f64::NAN;
        o.metrics = vec![metric("9lives", ""), metric("current_temp", ""), metric("time", "ms"), over, nan];
        let v = verify_outcome(&o).join("\n");
        for needle in [
            "more than one line",
            "blank before '%'",
            "'9lives'",
            "'current'",
            "unit 'ms'",
            "150% is outside 0-100",
            "'nan': the value is not a finite number",
        ] {
            assert!(v.contains(needle), "missing '{needle}' in:\n{v}");
        }
    }
}
