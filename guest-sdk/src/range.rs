//! Threshold ranges in the Monitoring Plugins syntax, and [`Thresholds`].
//!
//! A range is written `10` (same as `0:10`), `10:` (10 to infinity), `~:10`
//! (negative infinity to 10), `10:20`, and with a leading `@` (`@10:20`) to alert
//! *inside* the range instead of outside it. Both ends are inclusive: with `10`,
//! the value 10 is fine and 10.5 alerts; with `@10:20`, 10 and 20 alert.

use std::fmt;
use std::str::FromStr;

use crate::{Range, State};

/// Why a text is not a valid range; names the text and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    text: String,
    reason: String,
}

impl RangeError {
    fn new(text: &str, reason: impl Into<String>) -> RangeError {
        RangeError { text: text.to_string(), reason: reason.into() }
    }

    /// The text that failed to parse.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid range '{}': {}; expected N, N:, ~:N, N:M or @N:M", self.text, self.reason)
    }
}

impl std::error::Error for RangeError {}

/// Parses one end of a range: a finite decimal number.
fn parse_end(whole: &str, part: &str) -> Result<f64, RangeError> {
    match part.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(RangeError::new(whole, format!("'{part}' is not a number"))),
    }
}

/// Writes a number in its shortest form, without a sign on zero.
fn write_number(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v == 0.0 { f.write_str("0") } else { write!(f, "{v}") }
}

impl Range {
    /// Parses the plugin-interface syntax; see the [module docs](crate::range).
    ///
    /// ```
    /// use wasmon_sdk::Range;
    /// let r = Range::parse("10:20").unwrap();
    /// assert!(!r.alerts(10.0) && !r.alerts(20.0));
    /// assert!(r.alerts(9.9) && r.alerts(20.1));
    /// assert!(Range::parse("20:10").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(RangeError::new(text, "it is empty"));
        }
        let (inside, body) = match s.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if body.is_empty() {
            return Err(RangeError::new(text, "'@' must be followed by a range"));
        }
        let (start, end) = match body.split_once(':') {
            None => {
                if body == "~" {
                    return Err(RangeError::new(text, "'~' must be followed by ':' and an end"));
                }
                (Some(0.0), Some(parse_end(text, body)?))
            }
            Some((start, end)) => {
                // Like the Monitoring Plugins, an empty start means 0 (":10" is
                // "0:10") and an empty end means positive infinity.
                let start = match start {
                    "~" => None,
                    "" => Some(0.0),
                    s => Some(parse_end(text, s)?),
                };
                let end = match end {
                    "" => None,
                    e => Some(parse_end(text, e)?),
                };
                (start, end)
            }
        };
        if let (Some(a), Some(b)) = (start, end)
            && a > b
        {
            return Err(RangeError::new(text, format!("start {a} is greater than end {b}")));
        }
        Ok(Range { start, end, inside })
    }

    /// The range `0:x` (written `x`): alerts when a value is above `x` (or below 0).
    /// For a negative `x` it is `~:x`, which alerts only above `x`.
    ///
    /// This is how perfdata writes an upper threshold; note that a *range* does
    /// not alert at `x` itself, while Checkmk-style [`Levels`](crate::Levels) do.
    pub fn upper(x: f64) -> Range {
        Range { start: if x >= 0.0 { Some(0.0) } else { None }, end: Some(x), inside: false }
    }

    /// The range `x:`: alerts when a value is below `x`.
    pub fn lower(x: f64) -> Range {
        Range { start: Some(x), end: None, inside: false }
    }

    /// Whether `value` raises an alert: it lies outside `[start, end]` (both ends
    /// inclusive), or inside it for an `@` range.
    pub fn alerts(&self, value: f64) -> bool {
        let below = self.start.is_some_and(|s| value < s);
        let above = self.end.is_some_and(|e| value > e);
        let outside = below || above;
        if self.inside { !outside } else { outside }
    }
}

impl FromStr for Range {
    type Err = RangeError;

    fn from_str(s: &str) -> Result<Range, RangeError> {
        Range::parse(s)
    }
}

impl fmt::Display for Range {
    /// Renders the shortest plugin syntax: `10`, `10:`, `~:10`, `10:20`,
    /// `@10:20`; [`Range::parse`] reads it back to the same range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (Some(0.0), Some(e)) => write_number(f, e),
            (Some(s), Some(e)) => {
                write_number(f, s)?;
                f.write_str(":")?;
                write_number(f, e)
            }
            (Some(s), None) => {
                write_number(f, s)?;
                f.write_str(":")
            }
            (None, Some(e)) => {
                f.write_str("~:")?;
                write_number(f, e)
            }
            (None, None) => f.write_str("~:"),
        }
    }
}

/// A warning and a critical [`Range`], as `-w`/`-c` of a Monitoring Plugin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thresholds {
    /// The warning range, if any.
    pub warn: Option<Range>,
    /// The critical range, if any.
    pub crit: Option<Range>,
}

impl Thresholds {
    /// Thresholds from two optional ranges.
    pub fn new(warn: Option<Range>, crit: Option<Range>) -> Thresholds {
        Thresholds { warn, crit }
    }

    /// Parses two optional range texts.
    pub fn parse(warn: Option<&str>, crit: Option<&str>) -> Result<Thresholds, RangeError> {
        Ok(Thresholds { warn: warn.map(Range::parse).transpose()?, crit: crit.map(Range::parse).transpose()? })
    }

    /// CRITICAL if the critical range alerts, else WARNING if the warning range
    /// alerts, else OK.
    pub fn evaluate(&self, value: f64) -> State {
        if self.crit.is_some_and(|r| r.alerts(value)) {
            State::Critical
        } else if self.warn.is_some_and(|r| r.alerts(value)) {
            State::Warning
        } else {
            State::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Range {
        Range::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn plain_number_is_zero_to_n_inclusive() {
        let range = r("10");
        assert_eq!(range, Range { start: Some(0.0), end: Some(10.0), inside: false });
        assert!(!range.alerts(0.0));
        assert!(!range.alerts(10.0));
        assert!(range.alerts(10.001));
        assert!(range.alerts(-0.5));
    }

    #[test]
    fn open_end() {
        let range = r("10:");
        assert_eq!(range, Range { start: Some(10.0), end: None, inside: false });
        assert!(range.alerts(9.99));
        assert!(!range.alerts(10.0));
        assert!(!range.alerts(1e12));
    }

    #[test]
    fn negative_infinity_start() {
        let range = r("~:10");
        assert_eq!(range, Range { start: None, end: Some(10.0), inside: false });
        assert!(!range.alerts(-1e12));
        assert!(!range.alerts(10.0));
        assert!(range.alerts(10.5));
    }

    #[test]
    fn both_ends() {
        let range = r("10:20");
        assert!(range.alerts(9.0));
        assert!(!range.alerts(10.0));
        assert!(!range.alerts(15.0));
        assert!(!range.alerts(20.0));
        assert!(range.alerts(21.0));
        let neg = r("-5:-1");
        assert!(neg.alerts(0.0));
        assert!(!neg.alerts(-5.0));
        assert_eq!(r("5:5"), Range { start: Some(5.0), end: Some(5.0), inside: false });
    }

    #[test]
    fn inside_alerts_within_inclusive_ends() {
        let range = r("@10:20");
        assert!(range.inside);
        assert!(!range.alerts(9.9));
        assert!(range.alerts(10.0));
        assert!(range.alerts(15.0));
        assert!(range.alerts(20.0));
        assert!(!range.alerts(20.1));
        let upto = r("@5");
        assert!(upto.alerts(0.0) && upto.alerts(5.0) && !upto.alerts(5.1));
    }

    #[test]
    fn empty_start_is_zero_like_the_plugins() {
        assert_eq!(r(":10"), r("10"));
        assert_eq!(r("~:"), Range { start: None, end: None, inside: false });
        assert_eq!(r(" 1.5:2.5 "), Range { start: Some(1.5), end: Some(2.5), inside: false });
    }

    #[test]
    fn invalid_forms_are_rejected_with_a_clear_message() {
        for (text, reason) in [
            ("20:10", "start 20 is greater than end 10"),
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("@", "'@' must be followed by a range"),
            ("abc", "'abc' is not a number"),
            ("10:abc", "'abc' is not a number"),
            ("x:10", "'x' is not a number"),
            ("~", "'~' must be followed by ':'"),
            ("10:20:30", "'20:30' is not a number"),
            ("@@10", "'@10' is not a number"),
            ("inf", "'inf' is not a number"),
            ("NaN:", "'NaN' is not a number"),
            ("10%", "'10%' is not a number"),
        ] {
            let err = Range::parse(text).expect_err(text);
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("invalid range '{text}': ")), "{msg}");
            assert!(msg.contains(reason), "{text}: {msg}");
            assert!(msg.contains("expected N, N:, ~:N, N:M or @N:M"), "{msg}");
        }
    }

    #[test]
    fn display_is_the_shortest_form_and_round_trips() {
        for (input, shown) in [
            ("10", "10"),
            ("0:10", "10"),
            ("10:", "10:"),
            ("~:10", "~:10"),
            ("10:20", "10:20"),
            ("@10:20", "@10:20"),
            ("@0:5", "@5"),
            ("~:", "~:"),
            ("1.5:2.25", "1.5:2.25"),
            ("-3:-1", "-3:-1"),
        ] {
            let range = r(input);
            assert_eq!(range.to_string(), shown, "{input}");
            assert_eq!(r(shown), range, "{input}");
        }
    }

    #[test]
    fn upper_and_lower_constructors() {
        assert_eq!(Range::upper(80.0).to_string(), "80");
        assert!(Range::upper(80.0).alerts(80.5));
        assert!(!Range::upper(80.0).alerts(80.0));
        assert_eq!(Range::upper(-5.0).to_string(), "~:-5");
        assert_eq!(Range::lower(10.0).to_string(), "10:");
        assert!(Range::lower(10.0).alerts(9.0));
        assert!(!Range::lower(10.0).alerts(10.0));
    }

    #[test]
    fn thresholds_check_critical_first() {
        let t = Thresholds::parse(Some("10"), Some("20")).unwrap();
        assert_eq!(t.evaluate(5.0), State::Ok);
        assert_eq!(t.evaluate(10.0), State::Ok);
        assert_eq!(t.evaluate(15.0), State::Warning);
        assert_eq!(t.evaluate(20.5), State::Critical);
        // Both alert: critical wins even though warning is the wider range.
        let both = Thresholds::parse(Some("3"), Some("5")).unwrap();
        assert_eq!(both.evaluate(4.0), State::Warning);
        assert_eq!(both.evaluate(6.0), State::Critical);
        let inverted = Thresholds::parse(Some("5"), Some("3")).unwrap();
        assert_eq!(inverted.evaluate(4.0), State::Critical);
        assert_eq!(inverted.evaluate(2.0), State::Ok);
        assert_eq!(Thresholds::default().evaluate(1e9), State::Ok);
        let only_crit = Thresholds::new(None, Some(Range::lower(1.0)));
        assert_eq!(only_crit.evaluate(0.5), State::Critical);
        assert!(Thresholds::parse(Some("x"), None).is_err());
    }
}
