//! Flap detection, the Nagios way: the object's last 21 states are kept,
//! and the 20 places between them where the state changed are weighted,
//! rising linearly from 0.8 for the oldest to 1.2 for the newest. The
//! weighted sum over 20 is the percent state change. An object starts
//! flapping when the percentage rises above the high threshold and stops
//! when it falls below the low one; in between it stays as it was.
//!
//! Before 21 states have been seen the history counts as filled with the
//! first state seen (as Nagios fills it at start), so the newest change
//! always weighs 1.2 and the percentage is always taken over 20 changes.
//! Pure: no clock, no I/O.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::outcome::State;

/// How many states the history keeps (Nagios' `MAX_STATE_HISTORY_ENTRIES`).
pub const HISTORY: usize = 21;
/// The weight of the oldest change.
pub const LOW_WEIGHT: f64 = 0.8;
/// The weight of the newest change.
pub const HIGH_WEIGHT: f64 = 1.2;
/// The built-in `low_flap_threshold`, in percent.
pub const LOW_THRESHOLD: f64 = 20.0;
/// The built-in `high_flap_threshold`, in percent.
pub const HIGH_THRESHOLD: f64 = 30.0;

/// An object's flap detection settings (`flap_detection`,
/// `low_flap_threshold`, `high_flap_threshold`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlapPolicy {
    /// Whether flapping is detected at all (default true).
    pub enabled: bool,
    /// Below this percentage a flapping object stops flapping (default 20).
    pub low_threshold: f64,
    /// Above this percentage an object starts flapping (default 30).
    pub high_threshold: f64,
}

impl Default for FlapPolicy {
    fn default() -> FlapPolicy {
        FlapPolicy { enabled: true, low_threshold: LOW_THRESHOLD, high_threshold: HIGH_THRESHOLD }
    }
}

/// An object's flap detection state, kept across restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlapState {
    /// The last states seen, oldest first, at most [`HISTORY`].
    pub history: StateHistory,
    /// Whether the object is flapping.
    pub flapping: bool,
    /// The percent state change after the last result.
    pub percent_state_change: f64,
}

/// The last [`HISTORY`] states, oldest first, two bits each in one word:
/// no allocation per object, and copied, not cloned, with its state. In
/// the store and the API it is a list of state names, oldest first.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct StateHistory {
    /// State `i` (0 the oldest) in bits `2i..2i+2`, as its exit code.
    bits: u64,
    len: u8,
}

impl StateHistory {
    /// Appends the newest state, dropping the oldest past [`HISTORY`].
    pub fn push(&mut self, state: State) {
        if usize::from(self.len) == HISTORY {
            self.bits >>= 2;
            self.len -= 1;
        }
        self.bits |= u64::from(state.exit_code()) << (2 * u32::from(self.len));
        self.len += 1;
    }

    /// How many states it holds.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether it holds none.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The states, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = State> + '_ {
        (0..u32::from(self.len)).map(|i| match (self.bits >> (2 * i)) & 3 {
            0 => State::Ok,
            1 => State::Warning,
            2 => State::Critical,
            _ => State::Unknown,
        })
    }
}

impl FromIterator<State> for StateHistory {
    /// The last [`HISTORY`] of `states`.
    fn from_iter<I: IntoIterator<Item = State>>(states: I) -> StateHistory {
        let mut h = StateHistory::default();
        for s in states {
            h.push(s);
        }
        h
    }
}

impl std::fmt::Debug for StateHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for StateHistory {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for StateHistory {
    /// A list of states; only the newest [`HISTORY`] are kept.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StateHistory, D::Error> {
        Ok(Vec::<State>::deserialize(deserializer)?.into_iter().collect())
    }
}

/// A start or stop of flapping, for the event stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlapChange {
    /// True when flapping started, false when it stopped.
    pub started: bool,
    /// The percent state change that decided it.
    pub percent_state_change: f64,
}

/// The weighted percent state change of `history` (oldest first), over
/// [`HISTORY`] states as described in the module docs.
pub fn percent_state_change(history: &StateHistory) -> f64 {
    let padding = HISTORY - history.len();
    let mut changes = 0.0;
    let mut previous = None;
    for (j, state) in history.iter().enumerate() {
        if previous.is_some_and(|p| p != state) {
            // x counts the transitions of the full window, 1 (oldest) to 20 (newest).
            let x = (j + padding) as f64;
            changes += LOW_WEIGHT + (x - 1.0) * (HIGH_WEIGHT - LOW_WEIGHT) / (HISTORY as f64 - 2.0);
        }
        previous = Some(state);
    }
    changes * 100.0 / (HISTORY as f64 - 1.0)
}

/// Records one result's `state` and decides whether flapping starts or
/// stops. With detection disabled nothing is recorded and an object that
/// was flapping stops.
pub fn record(current: &FlapState, state: State, policy: &FlapPolicy) -> (FlapState, Option<FlapChange>) {
    if !policy.enabled {
        let change = current.flapping.then_some(FlapChange { started: false, percent_state_change: 0.0 });
        return (FlapState::default(), change);
    }
    let mut next = *current;
    next.history.push(state);
    let percent = percent_state_change(&next.history);
    next.percent_state_change = percent;
    let mut change = None;
    if !current.flapping && percent > policy.high_threshold {
        next.flapping = true;
        change = Some(FlapChange { started: true, percent_state_change: percent });
    } else if current.flapping && percent < policy.low_threshold {
        next.flapping = false;
        change = Some(FlapChange { started: false, percent_state_change: percent });
    }
    (next, change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::{Critical as C, Ok as O};

    fn history(states: &[State]) -> StateHistory {
        states.iter().copied().collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn no_change_is_zero_percent() {
        assert_eq!(percent_state_change(&history(&[O; 21])), 0.0);
        assert_eq!(percent_state_change(&history(&[])), 0.0);
        assert_eq!(percent_state_change(&history(&[C])), 0.0);
    }

    #[test]
    fn weights_rise_from_0_8_to_1_2() {
        // Only the newest of 21 changed: weight 1.2, 1.2 * 100 / 20 = 6 %.
        let mut h = vec![O; 20];
        h.push(C);
        assert!(close(percent_state_change(&history(&h)), 6.0));
        // Only the oldest change (between states 1 and 2): 0.8 * 5 = 4 %.
        let mut h = vec![O];
        h.extend([C; 20]);
        assert!(close(percent_state_change(&history(&h)), 4.0));
        // Every one of the 20 places changed: the weights average 1.0, 100 %.
        let h: Vec<State> = (0..21).map(|i| if i % 2 == 0 { O } else { C }).collect();
        assert!(close(percent_state_change(&history(&h)), 100.0));
    }

    #[test]
    fn a_short_history_counts_as_padded_with_its_first_state() {
        // O, C, O, C: changes at x = 18, 19, 20 of the full window, weights
        // 0.8 + 17*0.4/19, 0.8 + 18*0.4/19 and 1.2, summed times 100/20.
        let expected = (0.8 + 17.0 * 0.4 / 19.0 + 0.8 + 18.0 * 0.4 / 19.0 + 1.2) * 5.0;
        assert!(close(percent_state_change(&history(&[O, C, O, C])), expected));
        // The same as with the padding written out.
        let mut padded = vec![O; 17];
        padded.extend([O, C, O, C]);
        assert!(close(percent_state_change(&history(&padded)), expected));
        // ≈ 17.684 %
        assert!((expected - 17.684_210_526_315_79).abs() < 1e-9);
    }

    #[test]
    fn flapping_starts_above_high_and_stops_below_low() {
        let policy = FlapPolicy::default();
        let mut s = FlapState::default();
        let mut changes = Vec::new();
        // OK then alternating: the percentage climbs with every change.
        let sequence = [O, C, O, C, O, C, O];
        for (i, state) in sequence.iter().enumerate() {
            let (next, change) = record(&s, *state, &policy);
            if let Some(c) = change {
                changes.push((i, c.started, c.percent_state_change));
            }
            s = next;
        }
        // After O,C,O,C: 17.68 %; after the 5th result 23.37 %, the 6th
        // 28.95 % (not above 30 yet), the 7th 34.42 %: flapping starts.
        let p7: f64 = (14..=19).map(|k| 0.8 + k as f64 * 0.4 / 19.0).sum::<f64>() * 5.0;
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!((changes[0].0, changes[0].1), (6, true));
        assert!(close(changes[0].2, p7), "{} vs {p7}", changes[0].2);
        assert!(s.flapping);
        // Steady OK: the changes age and drop out; flapping stops below 20 %.
        let mut stop = None;
        for i in 0..21 {
            let (next, change) = record(&s, O, &policy);
            s = next;
            if let Some(c) = change {
                assert!(!c.started);
                assert!(c.percent_state_change < 20.0);
                stop = Some(i);
                break;
            }
            assert!(s.percent_state_change >= 20.0, "still flapping at {}", s.percent_state_change);
        }
        // Six changes; each OK result moves them one place older (each
        // weighs 0.4/19 less) and one drops out of the window after 14:
        let mut expected = None;
        for i in 0..21usize {
            // Changes at full-window positions x = 14-i-1 .. 20-i-1 (those ≥ 1).
            let p: f64 = (14..=19)
                .map(|k| k as i64 - (i as i64 + 1))
                .filter(|k| *k >= 0)
                .map(|k| 0.8 + k as f64 * 0.4 / 19.0)
                .sum::<f64>()
                * 5.0;
            if p < 20.0 {
                expected = Some(i);
                break;
            }
        }
        assert_eq!(stop, expected);
        assert!(!s.flapping);
    }

    #[test]
    fn disabled_detection_records_nothing_and_stops_flapping() {
        let off = FlapPolicy { enabled: false, ..FlapPolicy::default() };
        let flapping = FlapState { history: history(&[O, C]), flapping: true, percent_state_change: 40.0 };
        let (next, change) = record(&flapping, C, &off);
        assert_eq!(next, FlapState::default());
        assert_eq!(change, Some(FlapChange { started: false, percent_state_change: 0.0 }));
        assert_eq!(record(&FlapState::default(), C, &off), (FlapState::default(), None));
    }

    #[test]
    fn the_history_keeps_the_newest_21_in_order_and_is_stored_as_a_list() {
        use State::{Unknown as U, Warning as W};
        let all: Vec<State> = (0..30).map(|i| [O, W, C, U][i % 4]).collect();
        let h: StateHistory = all.iter().copied().collect();
        assert_eq!(h.len(), HISTORY);
        assert_eq!(h.iter().collect::<Vec<_>>(), all[30 - HISTORY..]);
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.starts_with(r#"["WARNING","CRITICAL","UNKNOWN","OK""#), "{json}");
        assert_eq!(serde_json::from_str::<StateHistory>(&json).unwrap(), h);
        // A longer stored list keeps its newest 21.
        let long = serde_json::to_string(&all).unwrap();
        assert_eq!(serde_json::from_str::<StateHistory>(&long).unwrap(), h);
        assert!(StateHistory::default().is_empty());
    }

    #[test]
    fn the_history_keeps_21_states() {
        let mut s = FlapState::default();
        for i in 0..30 {
            s = record(&s, if i % 3 == 0 { C } else { O }, &FlapPolicy::default()).0;
        }
        assert_eq!(s.history.len(), HISTORY);
    }
}
