//! Constructors and builder methods for [`Metric`] in canonical units.

use crate::{Levels, Metric, Range, Thresholds};

/// Whether `label` is a valid metric name: lower case ASCII letters, digits and
/// underscores, not empty and not starting with a digit (Checkmk guideline 6.2).
pub fn is_valid_label(label: &str) -> bool {
    let mut chars = label.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The units of measurement the WIT contract allows.
const UNITS: [&str; 5] = ["", "s", "%", "B", "c"];

impl Metric {
    /// A metric with a label, a value and a unit ("", "s", "%", "B" or "c"),
    /// without thresholds or bounds.
    ///
    /// In debug builds this panics on a label that is not lower case letters,
    /// digits and underscores, or on a unit outside the contract's list.
    pub fn new(label: impl Into<String>, value: f64, uom: &str) -> Metric {
        let label = label.into();
        debug_assert!(
            is_valid_label(&label),
            "metric label {label:?}: use lower case letters, digits and underscores, not starting with a digit"
        );
        debug_assert!(UNITS.contains(&uom), "metric {label:?}: unit {uom:?} is not one of {UNITS:?}");
        Metric { label, value, uom: uom.to_string(), warn: None, crit: None, min: None, max: None }
    }

    /// A duration in seconds (unit "s"), with minimum 0.
    pub fn seconds(label: impl Into<String>, seconds: f64) -> Metric {
        Metric::new(label, seconds, "s").min(0.0)
    }

    /// A size in bytes (unit "B"), with minimum 0.
    pub fn bytes(label: impl Into<String>, bytes: f64) -> Metric {
        Metric::new(label, bytes, "B").min(0.0)
    }

    /// A percentage from 0 to 100 (unit "%"), with minimum 0 and maximum 100.
    pub fn percent(label: impl Into<String>, percent: f64) -> Metric {
        Metric::new(label, percent, "%").min(0.0).max(100.0)
    }

    /// A rate per second (events, octets), a plain number (unit ""), minimum 0.
    pub fn per_second(label: impl Into<String>, rate: f64) -> Metric {
        Metric::new(label, rate, "").min(0.0)
    }

    /// A count of things (processes, entries), a plain number (unit ""), minimum 0.
    pub fn count(label: impl Into<String>, count: f64) -> Metric {
        Metric::new(label, count, "").min(0.0)
    }

    /// A plain number without unit or bounds (a load average, a ratio).
    pub fn number(label: impl Into<String>, value: f64) -> Metric {
        Metric::new(label, value, "")
    }

    /// A continuous counter (unit "c") such as bytes sent since boot, minimum 0.
    pub fn counter(label: impl Into<String>, value: f64) -> Metric {
        Metric::new(label, value, "c").min(0.0)
    }

    /// Sets the warning range.
    #[must_use]
    pub fn warn(mut self, range: Range) -> Metric {
        self.warn = Some(range);
        self
    }

    /// Sets the critical range.
    #[must_use]
    pub fn crit(mut self, range: Range) -> Metric {
        self.crit = Some(range);
        self
    }

    /// Sets the warning and critical ranges from [`Thresholds`].
    #[must_use]
    pub fn with_thresholds(mut self, thresholds: &Thresholds) -> Metric {
        self.warn = thresholds.warn;
        self.crit = thresholds.crit;
        self
    }

    /// Sets the warning and critical ranges from Checkmk-style [`Levels`], the
    /// way Checkmk writes them into perfdata: upper levels as `W` and `C`
    /// ([`Range::upper`]), lower levels as `W:` and `C:` ([`Range::lower`]).
    /// With both, the upper levels are written. No levels clear the ranges.
    #[must_use]
    pub fn with_levels(mut self, levels: &Levels) -> Metric {
        let (warn, crit) = match (levels.upper, levels.lower) {
            (Some((w, c)), _) => (Some(Range::upper(w)), Some(Range::upper(c))),
            (None, Some((w, c))) => (Some(Range::lower(w)), Some(Range::lower(c))),
            (None, None) => (None, None),
        };
        self.warn = warn;
        self.crit = crit;
        self
    }

    /// Sets the smallest possible value.
    #[must_use]
    pub fn min(mut self, min: f64) -> Metric {
        self.min = Some(min);
        self
    }

    /// Sets the largest possible value.
    #[must_use]
    pub fn max(mut self, max: f64) -> Metric {
        self.max = Some(max);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_syntax() {
        for good in ["load1", "fs_used", "_x", "a"] {
            assert!(is_valid_label(good), "{good}");
        }
        for bad in ["", "1load", "Load", "fs-used", "fs used", "tíme"] {
            assert!(!is_valid_label(bad), "{bad}");
        }
    }

    #[test]
    fn canonical_constructors() {
        let p = Metric::percent("mem_used_percent", 42.0);
        assert_eq!((p.uom.as_str(), p.min, p.max), ("%", Some(0.0), Some(100.0)));
        let b = Metric::bytes("fs_used", 1024.0);
        assert_eq!((b.uom.as_str(), b.min, b.max), ("B", Some(0.0), None));
        assert_eq!(Metric::seconds("time", 0.012).uom, "s");
        assert_eq!(Metric::per_second("requests", 3.0).uom, "");
        assert_eq!(Metric::count("processes", 3.0).uom, "");
        assert_eq!(Metric::counter("bytes_in", 3.0).uom, "c");
        let n = Metric::number("load1", 0.5);
        assert_eq!((n.min, n.max), (None, None));
    }

    #[test]
    #[should_panic(expected = "lower case letters")]
    #[cfg(debug_assertions)]
    fn bad_label_panics_in_debug() {
        let _ = Metric::new("Response Time", 1.0, "s");
    }

    #[test]
    #[should_panic(expected = "is not one of")]
    #[cfg(debug_assertions)]
    fn bad_unit_panics_in_debug() {
        let _ = Metric::new("time", 1.0, "ms");
    }

    #[test]
    fn levels_become_perfdata_ranges() {
        let up = Metric::percent("usage", 50.0).with_levels(&Levels::upper(80.0, 90.0));
        assert_eq!(up.warn.map(|r| r.to_string()).as_deref(), Some("80"));
        assert_eq!(up.crit.map(|r| r.to_string()).as_deref(), Some("90"));
        let low = Metric::bytes("free", 5.0).with_levels(&Levels::lower(10.0, 5.0));
        assert_eq!(low.warn.map(|r| r.to_string()).as_deref(), Some("10:"));
        assert_eq!(low.crit.map(|r| r.to_string()).as_deref(), Some("5:"));
        let both = Metric::number("t", 5.0).with_levels(&Levels::both((80.0, 90.0), (10.0, 5.0)));
        assert_eq!(both.warn, Some(Range::upper(80.0)));
        let none = up.clone().with_levels(&Levels::none());
        assert_eq!((none.warn, none.crit), (None, None));
        let explicit = Metric::seconds("time", 1.0).warn(Range::upper(2.0)).crit(Range::upper(5.0));
        assert_eq!(explicit.crit, Some(Range::upper(5.0)));
    }
}
