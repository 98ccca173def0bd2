//! Rendering outcomes for people and programs: the Nagios plugin output and
//! the JSON object of `wasmon check --format json`.

use serde::Serialize;

use crate::outcome::{Metric, Outcome};

/// Formats a byte count with binary units: `512 B`, `64 MiB`, `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The JSON form of one outcome.
#[derive(Debug, Serialize)]
pub struct JsonOutcome<'a> {
    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub state: crate::State,
    /// The summary line.
    pub summary: &'a str,
    /// The long output, or null.
    pub long_output: Option<&'a str>,
    /// Performance data.
    pub metrics: Vec<JsonMetric<'a>>,
    /// What was wrong with performance data entries left out of
    /// `metrics`, one line each (an empty list when nothing was).
    pub perfdata_errors: &'a [String],
    /// Run time in milliseconds.
    pub duration_ms: f64,
}

/// The JSON form of one metric; ranges in the plugin-interface syntax.
#[derive(Debug, Serialize)]
pub struct JsonMetric<'a> {
    /// The metric's name.
    pub label: &'a str,
    /// The value.
    pub value: f64,
    /// The unit of measurement.
    pub uom: &'a str,
    /// Warning range (`10`, `10:`, `~:10`, `@10:20`), or null.
    pub warn: Option<String>,
    /// Critical range, or null.
    pub crit: Option<String>,
    /// Minimum, or null.
    pub min: Option<f64>,
    /// Maximum, or null.
    pub max: Option<f64>,
}

impl<'a> From<&'a Metric> for JsonMetric<'a> {
    fn from(m: &'a Metric) -> JsonMetric<'a> {
        JsonMetric {
            label: &m.label,
            value: m.value,
            uom: &m.uom,
            warn: m.warn.map(|r| r.to_string()),
            crit: m.crit.map(|r| r.to_string()),
            min: m.min,
            max: m.max,
        }
    }
}

impl<'a> From<&'a Outcome> for JsonOutcome<'a> {
    fn from(o: &'a Outcome) -> JsonOutcome<'a> {
        JsonOutcome {
            state: o.state,
            summary: &o.summary,
            long_output: o.long_output.as_deref(),
            metrics: o.metrics.iter().map(JsonMetric::from).collect(),
            perfdata_errors: &o.perfdata_errors,
            duration_ms: o.duration.as_secs_f64() * 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{Range, State, Termination};
    use std::time::Duration;

    #[test]
    fn bytes_read_like_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn plugin_output_and_perfdata() {
        let o = Outcome {
            perfdata_errors: Vec::new(),
            state: State::Warning,
            summary: "Response time: 1.5 s (warn/crit at 1.0 s/2.0 s)".into(),
            long_output: Some("line two".into()),
            metrics: vec![
                Metric {
                    label: "time".into(),
                    value: 1.5,
                    uom: "s".into(),
                    warn: Some(Range { start: Some(0.0), end: Some(1.0), inside: false }),
                    crit: Some(Range { start: Some(0.0), end: Some(2.0), inside: false }),
                    min: Some(0.0),
                    max: None,
                },
                Metric {
                    label: "free space".into(),
                    value: 10.0,
                    uom: "%".into(),
                    warn: Some(Range { start: Some(20.0), end: None, inside: false }),
                    crit: Some(Range { start: Some(10.0), end: Some(20.0), inside: true }),
                    min: None,
                    max: None,
                },
                Metric {
                    label: "n".into(),
                    value: f64::NAN,
                    uom: "B".into(),
                    warn: None,
                    crit: None,
                    min: None,
                    max: None,
                },
                Metric {
                    label: "fs_used".into(),
                    value: 23045410816.0,
                    uom: "B".into(),
                    warn: Some(Range { start: Some(0.0), end: Some(78058199449.6), inside: false }),
                    crit: Some(Range { start: Some(19514549862.399994), end: None, inside: false }),
                    min: Some(0.0),
                    max: Some(0.1 + 0.2),
                },
                Metric {
                    label: "low".into(),
                    value: -0.25,
                    uom: "".into(),
                    warn: Some(Range { start: None, end: Some(5.0), inside: false }),
                    crit: None,
                    min: None,
                    max: None,
                },
            ],
            duration: Duration::from_millis(3),
            termination: Termination::Completed,
            truncated: false,
        };
        assert_eq!(
            o.plugin_output(),
            "WARNING - Response time: 1.5 s (warn/crit at 1.0 s/2.0 s) | time=1.5s;1;2;0 'free space'=10%;20:;@10:20 n=U fs_used=23045410816B;78058199449.6;19514549862.4:;0;0.3 low=-0.25;~:5\nline two"
        );
        let json = serde_json::to_value(JsonOutcome::from(&o)).unwrap();
        assert_eq!(json["state"], "WARNING");
        assert_eq!(json["metrics"][0]["warn"], "1");
        assert_eq!(json["metrics"][1]["crit"], "@10:20");
        assert_eq!(json["metrics"][0]["max"], serde_json::Value::Null);
        assert_eq!(json["duration_ms"], 3.0);
    }
}
