//! Checkmk-style levels: a warning and a critical value that the measured value
//! is compared with using `>=` (upper levels) or `<` (lower levels).

use crate::{PartialResult, State};

/// Upper and/or lower warning and critical levels (Checkmk guideline 5.4).
///
/// Upper levels alert when the value is *at or above* the level: with upper
/// levels 80/90, the value 90 is already CRITICAL. Lower levels alert when the
/// value is *below* the level ("warn/crit below"), as Checkmk's `check_levels`
/// does: with lower levels 10/5, the value 5 is WARNING and 4.9 is CRITICAL.
///
/// ```
/// use wasmon_sdk::{Levels, State};
/// let levels = Levels::upper(80.0, 90.0);
/// assert_eq!(levels.evaluate(79.9), State::Ok);
/// assert_eq!(levels.evaluate(80.0), State::Warning);
/// assert_eq!(levels.evaluate(90.0), State::Critical);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Levels {
    /// Upper (warning, critical) levels: alert at or above.
    pub upper: Option<(f64, f64)>,
    /// Lower (warning, critical) levels: alert below.
    pub lower: Option<(f64, f64)>,
}

impl Levels {
    /// No levels: every value is OK.
    pub fn none() -> Levels {
        Levels { upper: None, lower: None }
    }

    /// Upper levels: WARNING at or above `warn`, CRITICAL at or above `crit`.
    pub fn upper(warn: f64, crit: f64) -> Levels {
        Levels { upper: Some((warn, crit)), lower: None }
    }

    /// Lower levels: WARNING below `warn`, CRITICAL below `crit`.
    pub fn lower(warn: f64, crit: f64) -> Levels {
        Levels { upper: None, lower: Some((warn, crit)) }
    }

    /// Both upper `(warn, crit)` and lower `(warn, crit)` levels.
    pub fn both(upper: (f64, f64), lower: (f64, f64)) -> Levels {
        Levels { upper: Some(upper), lower: Some(lower) }
    }

    /// Whether there are no levels at all.
    pub fn is_none(&self) -> bool {
        self.upper.is_none() && self.lower.is_none()
    }

    /// The state of `value`; critical levels are checked before warning ones.
    pub fn evaluate(&self, value: f64) -> State {
        self.evaluate_with_side(value).0
    }

    /// The state and which side (upper or lower) raised it.
    fn evaluate_with_side(&self, value: f64) -> (State, Option<Side>) {
        if let Some((warn, crit)) = self.upper {
            if value >= crit {
                return (State::Critical, Some(Side::Upper));
            }
            if value >= warn {
                return (State::Warning, Some(Side::Upper));
            }
        }
        if let Some((warn, crit)) = self.lower {
            if value < crit {
                return (State::Critical, Some(Side::Lower));
            }
            if value < warn {
                return (State::Warning, Some(Side::Lower));
            }
        }
        (State::Ok, None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Upper,
    Lower,
}

/// Compares `value` with `levels` and renders one partial result.
///
/// The summary is `"{label}: {render(value)}"`; when the state is not OK it is
/// followed by ` (warn/crit at {W}/{C})` for upper levels or
/// ` (warn/crit below {W}/{C})` for lower levels, the levels rendered with the
/// same `render` function.
///
/// ```
/// use wasmon_sdk::{check_levels, render, Levels, State};
/// let levels = Levels::upper(80.0, 90.0);
/// let p = check_levels(85.25, &levels, "Usage", render::percent);
/// assert_eq!(p.state, State::Warning);
/// assert_eq!(p.summary, "Usage: 85.25% (warn/crit at 80%/90%)");
/// ```
pub fn check_levels(value: f64, levels: &Levels, label: &str, render: impl Fn(f64) -> String) -> PartialResult {
    let (state, side) = levels.evaluate_with_side(value);
    let mut summary = format!("{label}: {}", render(value));
    match (side, levels.upper, levels.lower) {
        (Some(Side::Upper), Some((w, c)), _) => {
            summary.push_str(&format!(" (warn/crit at {}/{})", render(w), render(c)));
        }
        (Some(Side::Lower), _, Some((w, c))) => {
            summary.push_str(&format!(" (warn/crit below {}/{})", render(w), render(c)));
        }
        _ => {}
    }
    PartialResult::new(state, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render;

    #[test]
    fn upper_levels_alert_at_or_above() {
        let l = Levels::upper(80.0, 90.0);
        assert_eq!(l.evaluate(79.999), State::Ok);
        assert_eq!(l.evaluate(80.0), State::Warning);
        assert_eq!(l.evaluate(89.999), State::Warning);
        assert_eq!(l.evaluate(90.0), State::Critical);
        assert_eq!(l.evaluate(1e9), State::Critical);
    }

    #[test]
    fn lower_levels_alert_below() {
        let l = Levels::lower(10.0, 5.0);
        assert_eq!(l.evaluate(10.0), State::Ok);
        assert_eq!(l.evaluate(9.99), State::Warning);
        assert_eq!(l.evaluate(5.0), State::Warning);
        assert_eq!(l.evaluate(4.99), State::Critical);
    }

    #[test]
    fn both_and_none() {
        let l = Levels::both((80.0, 90.0), (10.0, 5.0));
        assert_eq!(l.evaluate(50.0), State::Ok);
        assert_eq!(l.evaluate(85.0), State::Warning);
        assert_eq!(l.evaluate(95.0), State::Critical);
        assert_eq!(l.evaluate(7.0), State::Warning);
        assert_eq!(l.evaluate(1.0), State::Critical);
        assert!(Levels::none().is_none());
        assert_eq!(Levels::none().evaluate(f64::MAX), State::Ok);
    }

    #[test]
    fn critical_is_checked_first_when_levels_are_inverted() {
        // warn above crit: the critical level decides first.
        let l = Levels::upper(95.0, 90.0);
        assert_eq!(l.evaluate(92.0), State::Critical);
    }

    #[test]
    fn check_levels_text() {
        let upper = Levels::upper(80.0, 90.0);
        let ok = check_levels(50.0, &upper, "Usage", render::percent);
        assert_eq!((ok.state, ok.summary.as_str()), (State::Ok, "Usage: 50%"));
        let crit = check_levels(90.0, &upper, "Usage", render::percent);
        assert_eq!(crit.state, State::Critical);
        assert_eq!(crit.summary, "Usage: 90% (warn/crit at 80%/90%)");
        assert_eq!(crit.details, None);

        let lower = Levels::lower(10.0 * 1024.0, 5.0 * 1024.0);
        let warn = check_levels(6.0 * 1024.0, &lower, "Free", render::bytes);
        assert_eq!(warn.state, State::Warning);
        assert_eq!(warn.summary, "Free: 6.00 KiB (warn/crit below 10.00 KiB/5.00 KiB)");

        let both = Levels::both((80.0, 90.0), (10.0, 5.0));
        let low = check_levels(1.0, &both, "Temperature", |v| format!("{v} °C"));
        assert_eq!(low.summary, "Temperature: 1 °C (warn/crit below 10 °C/5 °C)");
        let high = check_levels(81.0, &both, "Temperature", |v| format!("{v} °C"));
        assert_eq!(high.summary, "Temperature: 81 °C (warn/crit at 80 °C/90 °C)");
    }
}
