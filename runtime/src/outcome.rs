//! What a check run produces, in the host's own types: the state, the plugin
//! output and the performance data, after the sandbox has mapped timeouts,
//! traps and check errors to states and messages.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A service state, as in the Nagios plugin interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    /// Exit code 0.
    Ok,
    /// Exit code 1.
    Warning,
    /// Exit code 2.
    Critical,
    /// Exit code 3.
    Unknown,
}

impl State {
    /// The plugin exit code: 0, 1, 2 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    /// How bad the state is when partial results are combined:
    /// OK < WARNING < UNKNOWN < CRITICAL.
    pub fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        }
    }

    /// The worse of two states.
    pub fn worst(self, other: State) -> State {
        if other.severity() > self.severity() { other } else { self }
    }

    /// The upper-case name: `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state name that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a state: expected OK, WARNING, CRITICAL, UNKNOWN or 0-3")]
pub struct ParseStateError(pub String);

impl FromStr for State {
    type Err = ParseStateError;

    fn from_str(s: &str) -> Result<State, ParseStateError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "OK" | "0" => Ok(State::Ok),
            "WARNING" | "WARN" | "1" => Ok(State::Warning),
            "CRITICAL" | "CRIT" | "2" => Ok(State::Critical),
            "UNKNOWN" | "3" => Ok(State::Unknown),
            _ => Err(ParseStateError(s.to_string())),
        }
    }
}

/// A threshold range in the Monitoring Plugins sense: a value alerts when it
/// lies outside `[start, end]`, or inside it when `inside` is set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Lower end; `None` is negative infinity.
    pub start: Option<f64>,
    /// Upper end; `None` is positive infinity.
    pub end: Option<f64>,
    /// Alert inside the range (`@start:end`).
    pub inside: bool,
}

impl Range {
    /// Whether `value` raises an alert against this range.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start.is_none_or(|s| value >= s) && self.end.is_none_or(|e| value <= e);
        within == self.inside
    }
}

impl fmt::Display for Range {
    /// Renders the plugin-interface syntax, in its shortest form:
    /// `10`, `10:`, `~:10`, `10:20`, `@10:20`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            // A start that renders as 0 (0.0000001 has at most six
            // decimals) is left out as 0 is.
            (Some(s), Some(e)) if !self.inside && Number(s).to_string() == "0" => write!(f, "{}", Number(e)),
            (Some(s), Some(e)) => write!(f, "{}:{}", Number(s), Number(e)),
            (Some(s), None) => write!(f, "{}:", Number(s)),
            (None, Some(e)) => write!(f, "~:{}", Number(e)),
            (None, None) => f.write_str("~:"),
        }
    }
}

/// One performance data point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The metric's name.
    pub label: String,
    /// The value, in the unit `uom` (NaN when unknown: a plugin's `U`;
    /// JSON writes NaN as `null`, and `null` reads back as NaN).
    #[serde(deserialize_with = "number_or_nan")]
    pub value: f64,
    /// Unit of measurement: "", "s", "%", "B" or "c" for a wasmon check;
    /// a command plugin's unit is kept as it wrote it, which may also be
    /// "ms", "us", "KB", "MB", "GB" or "TB" (see [`crate::plugin`]).
    pub uom: String,
    /// Warning range, if any.
    pub warn: Option<Range>,
    /// Critical range, if any.
    pub crit: Option<Range>,
    /// Smallest possible value, if any.
    pub min: Option<f64>,
    /// Largest possible value, if any.
    pub max: Option<f64>,
}

/// A number, or `null` (how JSON writes NaN) as NaN.
fn number_or_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl Metric {
    /// Renders the metric as one perfdata entry:
    /// `'label'=value[uom];[warn];[crit];[min];[max]`, trailing empty fields
    /// left out, the label quoted only where it needs to be.
    pub fn perfdata(&self) -> String {
        // Rendered through the sanitiser whatever the metric holds (one
        // read back from an old state file too): no line break, `=`,
        // unquoted blank, NaN or infinity ever reaches the output.
        let label = crate::sanitize::label(&self.label);
        let label = if label.chars().any(|c| c.is_whitespace() || matches!(c, '\'' | '|' | ';')) {
            format!("'{}'", label.replace('\'', "''"))
        } else {
            label.into_owned()
        };
        let value = if self.value.is_finite() { Number(self.value).to_string() } else { "U".to_string() };
        let uom = crate::sanitize::unit(&self.uom);
        let range = |r: Option<Range>| r.and_then(crate::sanitize::range).map(|r| r.to_string()).unwrap_or_default();
        let number = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| Number(v).to_string()).unwrap_or_default();
        let mut fields = vec![
            format!("{value}{}", if value == "U" { "" } else { &uom }),
            range(self.warn),
            range(self.crit),
            number(self.min),
            number(self.max),
        ];
        while fields.len() > 1 && fields.last().is_some_and(String::is_empty) {
            fields.pop();
        }
        format!("{label}={}", fields.join(";"))
    }
}

/// Formats a number the way perfdata wants it: no exponent, at most six
/// decimals, and the shortest text that reads back as the same value (no
/// `0.799999` noise from binary floating point).
pub(crate) struct Number(pub f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // At most six decimals and 15 significant digits (what an f64
        // holds exactly).
        let int_digits = if self.0.abs() >= 1.0 { self.0.abs().log10().floor() as i32 + 1 } else { 0 };
        let scale = 10f64.powi((15 - int_digits).clamp(0, 6));
        let rounded = (self.0 * scale).round() / scale;
        // `Display` for f64 never uses an exponent and prints integral
        // values without a fraction.
        let v = if rounded.is_finite() { rounded } else { self.0 };
        write!(f, "{}", if v == 0.0 { 0.0 } else { v })
    }
}

/// Why a run ended the way it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// The check returned a result.
    Completed,
    /// The check reported that its item is not in the monitoring data.
    ItemNotFound,
    /// The check rejected its parameters.
    BadParams,
    /// The check reported that it failed.
    Failed,
    /// The run exceeded its wall-time limit.
    Timeout,
    /// The check exceeded its memory limit.
    MemoryLimit,
    /// The check trapped (a panic, an invalid operation, a stack overflow).
    Trap,
    /// A command plugin exited with a code outside 0-3, or with a failure
    /// status that carries no code (WASI 0.2's `exit(err)`).
    InvalidExit,
    /// The host could not run the check (no sandbox slot, instantiation failed).
    HostError,
}

/// The outcome of one check run, ready to be reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The service state.
    pub state: State,
    /// The first line of plugin output (without the state prefix).
    pub summary: String,
    /// Further lines of plugin output, if any.
    pub long_output: Option<String>,
    /// Performance data.
    pub metrics: Vec<Metric>,
    /// What was wrong with performance data entries that were left out
    /// (`Ignored bad performance data 'x=abc': ...`), one line each; the
    /// long output stays as the check wrote it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perfdata_errors: Vec<String>,
    /// How long the run took, instantiation included.
    pub duration: Duration,
    /// Why the run ended.
    pub termination: Termination,
    /// Whether output was cut to the output limit.
    pub truncated: bool,
}

impl Outcome {
    /// UNKNOWN with `summary` and nothing else, for a check that did not
    /// run to the end of its own accord (no slot, bad parameters, no
    /// worker answered, a host failure): `termination` says which.
    pub fn not_run(summary: impl Into<String>, termination: Termination) -> Outcome {
        Outcome {
            state: State::Unknown,
            summary: summary.into(),
            long_output: None,
            metrics: Vec::new(),
            perfdata_errors: Vec::new(),
            duration: Duration::ZERO,
            termination,
            truncated: false,
        }
    }

    /// The plugin output as Nagios prints it: `STATE - summary | perfdata`
    /// on the first line, then the long output.
    pub fn plugin_output(&self) -> String {
        let mut out = format!("{} - {}", self.state, self.summary);
        if !self.metrics.is_empty() {
            out.push_str(" | ");
            let perf: Vec<String> = self.metrics.iter().map(Metric::perfdata).collect();
            out.push_str(&perf.join(" "));
        }
        if let Some(long) = &self.long_output {
            out.push('\n');
            out.push_str(long);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plugin's `U` (NaN) survives a JSON round trip, as the state file
    /// stores metrics.
    #[test]
    fn unknown_values_survive_json() {
        let m = Metric {
            label: "u".into(),
            value: f64::NAN,
            uom: String::new(),
            warn: None,
            crit: None,
            min: None,
            max: None,
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""value":null"#), "{json}");
        let back: Metric = serde_json::from_str(&json).unwrap();
        assert!(back.value.is_nan() && back.label == "u");
        let back: Metric = serde_json::from_str(&serde_json::to_string(&Metric { value: 1.5, ..m }).unwrap()).unwrap();
        assert_eq!(back.value, 1.5);
    }
}
