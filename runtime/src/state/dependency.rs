//! Dependency failure (seed 002, "Dependency Failure"): the states the
//! engine imposes on an object whose parent failed, and the state it
//! restores when the parent recovers. Pure, like the rest of the processor.
//!
//! - A parent *host* fails when its HARD state is DOWN or UNREACHABLE; a
//!   parent *service* when its HARD state is CRITICAL. A SOFT problem does
//!   not cascade (a one-off blip), and the parent recovers on its HARD
//!   UP/OK.
//! - The imposed state is HARD with attempt 1: UNREACHABLE for a host,
//!   CRITICAL for a service under a failed host, UNKNOWN for a service under
//!   a failed service, with the seed's output ([`host_failure`],
//!   [`service_failure`]) and no performance data.
//! - The restored state is the one saved when the object entered the
//!   failure, with its state type and attempt, the output prefixed
//!   `Restored status: `, the check time of the recovery and no
//!   performance data ([`restore`]).

use serde::{Deserialize, Serialize};

use super::{ObjectState, StateEvent, StateType, Time, Transition};
use crate::outcome::State;

/// The output of an object whose highest failed parent is the host `parent`.
pub fn host_failure(parent: &str) -> String {
    format!("Dependency failure: {parent} is DOWN")
}

/// The output of an object whose highest failed parent is the service `parent`.
pub fn service_failure(parent: &str) -> String {
    format!("Dependency failure: {parent} is CRITICAL")
}

/// The prefix of a restored state's output.
pub const RESTORED: &str = "Restored status: ";

/// An object in dependency failure: what caused it and the state to restore.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DependencyFailure {
    /// The highest failed parent: its host, and its service (`None`: the host).
    pub cause: (String, Option<String>),
    /// The imposed output ("Dependency failure: … is DOWN").
    pub output: String,
    /// The state it had when it entered the failure; `None` once a passive
    /// result overwrote it (nothing is restored then).
    pub saved: Option<ObjectState>,
}

/// The imposed dependency-failure state: `state` (HARD, attempt 1) with
/// `output`, checked at `now`, no performance data.
pub fn impose(current: &ObjectState, state: State, output: String, now: Time) -> Transition {
    let changed = state != current.state;
    let hard_changed = state != current.last_hard_state;
    let next = ObjectState {
        perfdata_errors: Vec::new(),
        state,
        state_type: StateType::Hard,
        attempt: 1,
        last_hard_state: state,
        last_check: Some(now),
        last_state_change: if changed || current.last_state_change.is_none() {
            Some(now)
        } else {
            current.last_state_change
        },
        last_hard_state_change: if hard_changed || current.last_hard_state_change.is_none() {
            Some(now)
        } else {
            current.last_hard_state_change
        },
        output,
        long_output: None,
        perfdata: Vec::new(),
        // Imposed states are not results: flap history and any
        // acknowledgement stay as the last real result left them.
        flapping: current.flapping,
        acknowledgement: current.acknowledgement.clone(),
    };
    let mut events = Vec::new();
    if changed {
        events.push(StateEvent::StateChange { from: current.state, to: state, state_type: StateType::Hard });
    }
    if hard_changed {
        events.push(StateEvent::HardStateChange { from: current.last_hard_state, to: state });
    }
    Transition { state: next, events }
}

/// The state restored from `saved` at `now`, the parent's recovery.
pub fn restore(current: &ObjectState, saved: &ObjectState, now: Time) -> Transition {
    let changed = saved.state != current.state;
    let hard_changed = saved.last_hard_state != current.last_hard_state;
    let next = ObjectState {
        perfdata_errors: Vec::new(),
        state: saved.state,
        state_type: saved.state_type,
        attempt: saved.attempt,
        last_hard_state: saved.last_hard_state,
        last_check: Some(now),
        last_state_change: if changed { Some(now) } else { current.last_state_change },
        last_hard_state_change: if hard_changed { Some(now) } else { current.last_hard_state_change },
        // A state restored once and saved again is not prefixed twice.
        output: if saved.output.starts_with(RESTORED) {
            saved.output.clone()
        } else {
            format!("{RESTORED}{}", saved.output)
        },
        long_output: saved.long_output.clone(),
        perfdata: Vec::new(),
        flapping: current.flapping,
        acknowledgement: current.acknowledgement.clone(),
    };
    let mut events = Vec::new();
    if changed {
        events.push(StateEvent::StateChange { from: current.state, to: saved.state, state_type: saved.state_type });
    }
    if hard_changed {
        events.push(StateEvent::HardStateChange { from: current.last_hard_state, to: saved.last_hard_state });
    }
    Transition { state: next, events }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::outcome::Metric;

    fn secs(s: u64) -> Time {
        Duration::from_secs(s)
    }

    fn warning_soft() -> ObjectState {
        ObjectState {
            state: State::Warning,
            state_type: StateType::Soft,
            attempt: 2,
            last_hard_state: State::Ok,
            last_check: Some(secs(50)),
            last_state_change: Some(secs(20)),
            last_hard_state_change: Some(secs(0)),
            output: "WARNING - load 5".into(),
            long_output: Some("details".into()),
            perfdata: vec![Metric {
                label: "load".into(),
                value: 5.0,
                uom: String::new(),
                warn: None,
                crit: None,
                min: None,
                max: None,
            }],
            ..ObjectState::default()
        }
    }

    #[test]
    fn messages_are_the_seeds() {
        assert_eq!(host_failure("router"), "Dependency failure: router is DOWN");
        assert_eq!(service_failure("SNMP Agent"), "Dependency failure: SNMP Agent is CRITICAL");
    }

    #[test]
    fn the_imposed_state_is_hard_attempt_one_without_perfdata() {
        let t = impose(&warning_soft(), State::Critical, host_failure("router"), secs(60));
        let s = &t.state;
        assert_eq!(
            (s.state, s.state_type, s.attempt, s.last_hard_state),
            (State::Critical, StateType::Hard, 1, State::Critical)
        );
        assert_eq!(
            (s.last_check, s.last_state_change, s.last_hard_state_change),
            (Some(secs(60)), Some(secs(60)), Some(secs(60)))
        );
        assert_eq!(s.output, "Dependency failure: router is DOWN");
        assert!(s.perfdata.is_empty() && s.long_output.is_none());
        assert_eq!(
            t.events,
            [
                StateEvent::StateChange { from: State::Warning, to: State::Critical, state_type: StateType::Hard },
                StateEvent::HardStateChange { from: State::Ok, to: State::Critical }
            ]
        );
    }

    #[test]
    fn the_restored_state_is_the_saved_one_prefixed_at_the_recovery_time() {
        let saved = warning_soft();
        let failed = impose(&saved, State::Critical, host_failure("router"), secs(60)).state;
        let t = restore(&failed, &saved, secs(300));
        let s = &t.state;
        assert_eq!(
            (s.state, s.state_type, s.attempt, s.last_hard_state),
            (State::Warning, StateType::Soft, 2, State::Ok)
        );
        assert_eq!(s.output, "Restored status: WARNING - load 5");
        assert_eq!(s.last_check, Some(secs(300)));
        assert_eq!(s.last_state_change, Some(secs(300)));
        assert!(s.perfdata.is_empty(), "no performance data from the prior state");
        assert_eq!(s.long_output.as_deref(), Some("details"));
        let again =
            restore(&impose(&t.state, State::Critical, host_failure("router"), secs(400)).state, &t.state, secs(500));
        assert_eq!(again.state.output, "Restored status: WARNING - load 5", "not prefixed twice");
        assert_eq!(
            t.events,
            [
                StateEvent::StateChange { from: State::Critical, to: State::Warning, state_type: StateType::Soft },
                StateEvent::HardStateChange { from: State::Critical, to: State::Ok }
            ]
        );
    }
}
