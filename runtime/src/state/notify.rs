//! Deciding notifications: on HARD state changes only, including the HARD
//! recovery (seed 002), never for SOFT states; repeated every
//! `notification_interval` while the HARD problem lasts (0 = once); held back
//! for `first_notification_delay` after the problem became HARD. Pure, like
//! the state processor; suppression (downtime, acknowledgement, flapping,
//! dependency failure) is decided by the caller before it asks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ObjectState, StateEvent, StateType, Time};
use crate::outcome::State;

/// Why a notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NotificationKind {
    /// A HARD problem state (or its repetition).
    Problem,
    /// The HARD return to OK after a notified problem.
    Recovery,
}

/// A notification the engine should send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Problem or recovery.
    pub kind: NotificationKind,
    /// The state notified about.
    pub state: State,
}

/// When to notify.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPolicy {
    /// Repeat a problem notification this often while it lasts; zero
    /// notifies once per HARD change.
    pub interval: Duration,
    /// Wait this long after the HARD change before the first problem
    /// notification; a recovery within the delay notifies nobody.
    pub first_delay: Duration,
}

/// The notification bookkeeping of one object, kept across restarts so that
/// no notification already delivered is sent twice for the same change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyState {
    /// When the current HARD problem began, if there is one.
    pub problem_since: Option<Time>,
    /// Whether the current HARD problem has been notified.
    pub problem_notified: bool,
    /// When the last notification was decided.
    pub last_notification: Option<Time>,
}

/// Decides whether a notification is due after a processed result (or at a
/// timer tick, with no events). Returns the new bookkeeping and at most one
/// notification.
pub fn decide(
    current: &NotifyState,
    object: &ObjectState,
    events: &[StateEvent],
    now: Time,
    policy: &NotificationPolicy,
) -> (NotifyState, Option<Notification>) {
    let mut n = *current;
    for event in events {
        if let StateEvent::HardStateChange { to, .. } = event {
            if *to == State::Ok {
                let notified = n.problem_notified;
                n = NotifyState { last_notification: n.last_notification, ..NotifyState::default() };
                if notified {
                    n.last_notification = Some(now);
                    return (n, Some(Notification { kind: NotificationKind::Recovery, state: State::Ok }));
                }
                return (n, None);
            }
            // A new HARD problem, also one problem state after another: it
            // is notified in its own right.
            n.problem_since = Some(now);
            n.problem_notified = false;
        }
    }
    let hard_problem = object.state_type == StateType::Hard && object.last_hard_state != State::Ok;
    let Some(since) = n.problem_since.filter(|_| hard_problem) else {
        return (n, None);
    };
    let due = if !n.problem_notified {
        now >= since + policy.first_delay
    } else {
        !policy.interval.is_zero() && n.last_notification.is_some_and(|last| now >= last + policy.interval)
    };
    if !due {
        return (n, None);
    }
    n.problem_notified = true;
    n.last_notification = Some(now);
    (n, Some(Notification { kind: NotificationKind::Problem, state: object.last_hard_state }))
}
