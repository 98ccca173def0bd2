//! The state processor: the one owner of monitoring state. A plain,
//! synchronous, deterministic function of (current state, check result,
//! time) to (new state, events); it does no I/O and reads no clock, which is
//! what makes seed 002's lifecycle table testable to the second.
//!
//! Two semantics are offered:
//!
//! - [`Semantics::Opsview`] (the default) is seed 002 to the letter: a
//!   change of state, from one problem state to another or back to OK,
//!   resets the attempt count and is SOFT; the state becomes HARD when it
//!   has been seen `max_check_attempts` times in a row; in a HARD state the
//!   attempt shown reverts to 1. SOFT states are rechecked at the retry
//!   interval, HARD ones at the check interval.
//! - [`Semantics::Nagios`] is Nagios Core 4: a problem becomes HARD after
//!   `max_check_attempts` SOFT attempts (problem-to-problem changes while
//!   SOFT keep counting); while HARD, a change to another problem state is
//!   an immediate HARD change and the attempt stays at the maximum; a
//!   recovery is immediately HARD.

pub mod dependency;
pub mod downtime;
pub mod flapping;
pub mod notify;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use self::downtime::{AckState, Acknowledgement, Downtime, DowntimeRequest};
pub use self::flapping::{FlapPolicy, FlapState};
pub use self::notify::{
    Notification, NotificationKind, NotificationPolicy, NotifyState, SuppressionReason, Suppressors, suppression,
};
use crate::outcome::{Metric, State};

/// A point in time: the time since the clock's epoch (the UNIX epoch for
/// the real clock, the start of a simulation for the simulated one).
pub type Time = Duration;

/// How sure the engine is of a state (seed 002, "State Types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StateType {
    /// Seen fewer than `max_check_attempts` times in a row.
    Soft,
    /// Confirmed; notifications are sent on HARD changes only.
    Hard,
}

impl std::fmt::Display for StateType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateType::Soft => "SOFT",
            StateType::Hard => "HARD",
        })
    }
}

/// Which product's state-type rules to follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Semantics {
    /// Seed 002 (Opsview): the default.
    #[default]
    Opsview,
    /// Nagios Core 4, for users who migrate.
    Nagios,
}

/// What the processor needs to know about an object's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateConfig {
    /// How many times in a row a state must be seen to become HARD (at least 1).
    pub max_check_attempts: u32,
    /// Interval between checks while HARD (and while OK and settled).
    pub check_interval: Duration,
    /// Interval between checks while SOFT.
    pub retry_interval: Duration,
    /// Which rules to follow.
    pub semantics: Semantics,
}

/// The monitoring state of one host or service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectState {
    /// The current state.
    pub state: State,
    /// SOFT or HARD.
    pub state_type: StateType,
    /// The attempt shown to people ("2/3").
    pub attempt: u32,
    /// The last HARD state, which notifications compare against.
    pub last_hard_state: State,
    /// When the last result was processed.
    pub last_check: Option<Time>,
    /// When the state last changed (SOFT or HARD).
    pub last_state_change: Option<Time>,
    /// When the HARD state last changed.
    pub last_hard_state_change: Option<Time>,
    /// The last plugin output's first line.
    pub output: String,
    /// The last long output.
    pub long_output: Option<String>,
    /// The last performance data.
    pub perfdata: Vec<Metric>,
    /// What was wrong with the last performance data entries left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perfdata_errors: Vec<String>,
    /// Flap detection: the recent states and whether it is flapping
    /// (updated by the engine with [`flapping::record`], not by [`process`]).
    #[serde(default)]
    pub flapping: FlapState,
    /// The acknowledgement of its problem, if any (cleared by [`process`]
    /// as [`downtime::ack_survives`] says).
    #[serde(default)]
    /// Boxed: most objects have none, and an object's state is kept inline
    /// for every configured object.
    pub acknowledgement: Option<Box<AckState>>,
}

impl Default for ObjectState {
    /// An object not checked yet: assumed OK and HARD, as Nagios and Opsview
    /// assume, so that a first problem result starts a SOFT count.
    fn default() -> ObjectState {
        ObjectState {
            state: State::Ok,
            state_type: StateType::Hard,
            attempt: 1,
            last_hard_state: State::Ok,
            last_check: None,
            last_state_change: None,
            last_hard_state_change: None,
            output: String::new(),
            long_output: None,
            perfdata: Vec::new(),
            perfdata_errors: Vec::new(),
            flapping: FlapState::default(),
            acknowledgement: None,
        }
    }
}

/// One result to process: from an active check, a passive submission or
/// the engine itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultInput {
    /// The state the result reports.
    pub state: State,
    /// Its first line of output.
    pub output: String,
    /// Its long output.
    pub long_output: Option<String>,
    /// Its performance data.
    pub perfdata: Vec<Metric>,
    /// What was wrong with performance data entries left out.
    pub perfdata_errors: Vec<String>,
}

/// Something the processor decided, for the event stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StateEvent {
    /// The state changed (SOFT or HARD).
    StateChange {
        /// The state before.
        from: State,
        /// The state now.
        to: State,
        /// The state type now.
        state_type: StateType,
    },
    /// The HARD state changed: what notifications are about.
    HardStateChange {
        /// The HARD state before.
        from: State,
        /// The HARD state now.
        to: State,
    },
}

/// The processor's answer: the new state and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The object's state after the result.
    pub state: ObjectState,
    /// What changed, in order.
    pub events: Vec<StateEvent>,
}

/// Processes one result for an object: attempts, SOFT and HARD, change
/// times and output. Pure: the same inputs always give the same transition.
pub fn process(current: &ObjectState, result: &ResultInput, now: Time, config: &StateConfig) -> Transition {
    let max = config.max_check_attempts.max(1);
    let cur = current;
    let changed = result.state != cur.state;
    let (state_type, attempt) = match config.semantics {
        Semantics::Opsview => {
            if changed {
                // A change of state, to a problem or back to OK, starts a new
                // SOFT count (seed 002: "the check attempts are reset",
                // "the same logic also applies for an OK state").
                if max == 1 { (StateType::Hard, 1) } else { (StateType::Soft, 1) }
            } else if cur.state_type == StateType::Hard {
                // "When a service has gone into a hard state type, then the
                // check attempts will revert to 1."
                (StateType::Hard, 1)
            } else if cur.attempt + 1 >= max {
                (StateType::Hard, max)
            } else {
                (StateType::Soft, cur.attempt + 1)
            }
        }
        Semantics::Nagios => {
            if result.state == State::Ok {
                // Recoveries, soft or hard, are HARD at once.
                (StateType::Hard, 1)
            } else if cur.state_type == StateType::Hard && cur.state != State::Ok {
                // A HARD problem stays HARD, also when it changes to another
                // problem state; the attempt stays at the maximum.
                (StateType::Hard, max)
            } else if cur.state == State::Ok {
                // A new problem starts the SOFT count.
                if max == 1 { (StateType::Hard, 1) } else { (StateType::Soft, 1) }
            } else if cur.attempt + 1 >= max {
                (StateType::Hard, max)
            } else {
                (StateType::Soft, cur.attempt + 1)
            }
        }
    };

    let mut next = ObjectState {
        state: result.state,
        state_type,
        attempt,
        last_hard_state: cur.last_hard_state,
        last_check: Some(now),
        last_state_change: cur.last_state_change,
        last_hard_state_change: cur.last_hard_state_change,
        output: result.output.clone(),
        long_output: result.long_output.clone(),
        perfdata: result.perfdata.clone(),
        perfdata_errors: result.perfdata_errors.clone(),
        flapping: cur.flapping,
        acknowledgement: None,
    };
    let mut events = Vec::new();
    if changed || cur.last_check.is_none() {
        next.last_state_change = Some(now);
    }
    if changed {
        events.push(StateEvent::StateChange { from: cur.state, to: result.state, state_type });
    }
    if state_type == StateType::Hard {
        if result.state != cur.last_hard_state {
            events.push(StateEvent::HardStateChange { from: cur.last_hard_state, to: result.state });
            next.last_hard_state = result.state;
            next.last_hard_state_change = Some(now);
        } else if cur.last_hard_state_change.is_none() {
            next.last_hard_state_change = Some(now);
        }
    }
    next.acknowledgement = cur.acknowledgement.clone().filter(|ack| downtime::ack_survives(ack, &events, result.state));
    Transition { state: next, events }
}

/// How long after a result the object is checked again: the retry interval
/// while SOFT, the check interval while HARD (seed 002's table).
pub fn next_check_after(state: &ObjectState, config: &StateConfig) -> Duration {
    match state.state_type {
        StateType::Soft => config.retry_interval,
        StateType::Hard => config.check_interval,
    }
}

#[cfg(test)]
mod tests;
