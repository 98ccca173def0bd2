//! Helpers on [`State`]: severity order, exit codes, names.

use std::fmt;
use std::str::FromStr;

use crate::State;

impl State {
    /// Every state, from best to worst in the severity order
    /// OK < WARNING < UNKNOWN < CRITICAL.
    pub const BY_SEVERITY: [State; 4] = [State::Ok, State::Warning, State::Unknown, State::Critical];

    /// The rank of the state in the severity order OK < WARNING < UNKNOWN < CRITICAL
    /// (0 to 3).
    ///
    /// Use this, or [`State::worst`], to compare states: the derived `Ord` of the
    /// generated type follows the declaration order of the WIT enum
    /// (ok, warning, critical, unknown), which is *not* the severity order.
    pub fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        }
    }

    /// The worse of two states in the order OK < WARNING < UNKNOWN < CRITICAL.
    ///
    /// ```
    /// use wasmon_sdk::State;
    /// assert_eq!(State::Unknown.worst(State::Critical), State::Critical);
    /// assert_eq!(State::worst(State::Warning, State::Unknown), State::Unknown);
    /// ```
    #[must_use]
    pub fn worst(self, other: State) -> State {
        if other.severity() > self.severity() { other } else { self }
    }

    /// The worst of any number of states; OK for none.
    ///
    /// ```
    /// use wasmon_sdk::State;
    /// let states = [State::Ok, State::Critical, State::Warning];
    /// assert_eq!(State::worst_of(states), State::Critical);
    /// assert_eq!(State::worst_of([]), State::Ok);
    /// ```
    pub fn worst_of(states: impl IntoIterator<Item = State>) -> State {
        states.into_iter().fold(State::Ok, State::worst)
    }

    /// The Nagios plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> i32 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    /// The upper-case name used in plugin output: "OK", "WARNING", "CRITICAL" or
    /// "UNKNOWN".
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

/// The error of [`State::from_str`]: the text is not a state name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStateError {
    text: String,
}

impl fmt::Display for ParseStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected a state (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT or 0-3), got '{}'", self.text)
    }
}

impl std::error::Error for ParseStateError {}

impl FromStr for State {
    type Err = ParseStateError;

    /// Parses a state name, case-insensitively: `OK`, `WARNING` (or `WARN`),
    /// `CRITICAL` (or `CRIT`), `UNKNOWN`, or the exit codes `0`-`3`. Blanks
    /// around the name are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let state = match t.to_ascii_uppercase().as_str() {
            "OK" | "0" => State::Ok,
            "WARNING" | "WARN" | "1" => State::Warning,
            "CRITICAL" | "CRIT" | "2" => State::Critical,
            "UNKNOWN" | "3" => State::Unknown,
            _ => return Err(ParseStateError { text: s.to_string() }),
        };
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_is_ok_warning_unknown_critical() {
        assert_eq!(State::Ok.worst(State::Warning), State::Warning);
        assert_eq!(State::Warning.worst(State::Unknown), State::Unknown);
        assert_eq!(State::Unknown.worst(State::Critical), State::Critical);
        assert_eq!(State::Critical.worst(State::Unknown), State::Critical);
        assert_eq!(State::Critical.worst(State::Ok), State::Critical);
        assert_eq!(State::worst_of([State::Unknown, State::Warning]), State::Unknown);
        assert_eq!(State::worst_of([State::Ok, State::Ok]), State::Ok);
        assert_eq!(State::worst_of(Vec::new()), State::Ok);
        let ranks: Vec<u8> = State::BY_SEVERITY.iter().map(|s| s.severity()).collect();
        assert_eq!(ranks, [0, 1, 2, 3]);
    }

    #[test]
    fn exit_codes_and_names() {
        let all = [State::Ok, State::Warning, State::Critical, State::Unknown];
        let codes: Vec<i32> = all.iter().map(|s| s.exit_code()).collect();
        assert_eq!(codes, [0, 1, 2, 3]);
        let names: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["OK", "WARNING", "CRITICAL", "UNKNOWN"]);
    }

    #[test]
    fn parses_names_abbreviations_and_codes() {
        for (text, state) in [
            ("ok", State::Ok),
            ("OK", State::Ok),
            ("0", State::Ok),
            ("Warning", State::Warning),
            ("warn", State::Warning),
            ("1", State::Warning),
            ("CRITICAL", State::Critical),
            ("crit", State::Critical),
            (" 2 ", State::Critical),
            ("unknown", State::Unknown),
            ("3", State::Unknown),
        ] {
            assert_eq!(text.parse::<State>(), Ok(state), "{text}");
        }
        for bad in ["", "4", "okay", "w", "-1", "UNKNOWNX"] {
            let err = bad.parse::<State>().unwrap_err();
            assert!(err.to_string().contains(&format!("got '{bad}'")), "{err}");
        }
    }
}
