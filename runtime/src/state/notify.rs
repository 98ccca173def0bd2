//! Deciding notifications: on HARD state changes only, including the HARD
//! recovery (seed 002), never for SOFT states; repeated every
//! `notification_interval` while the HARD problem lasts (0 = once); held back
//! for `first_notification_delay` after the problem became HARD. Pure, like
//! the state processor. Whether a decided notification is then held back
//! (downtime, flapping, acknowledgement) is decided in one place,
//! [`suppression`], and [`suppressed`] keeps the bookkeeping of one that
//! was.

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
    /// A problem was acknowledged.
    Acknowledgement,
    /// The object started flapping.
    FlappingStart,
    /// The object stopped flapping.
    FlappingStop,
    /// A downtime of the object started.
    DowntimeStart,
    /// A downtime of the object ended at its time.
    DowntimeEnd,
    /// A downtime of the object in effect was cancelled.
    DowntimeCancelled,
    /// Sent by someone (`POST /api/v1/notifications`).
    Custom,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 9] = [
        NotificationKind::Problem,
        NotificationKind::Recovery,
        NotificationKind::Acknowledgement,
        NotificationKind::FlappingStart,
        NotificationKind::FlappingStop,
        NotificationKind::DowntimeStart,
        NotificationKind::DowntimeEnd,
        NotificationKind::DowntimeCancelled,
        NotificationKind::Custom,
    ];

    /// The kind as Nagios names it (`$NOTIFICATIONTYPE$`): `PROBLEM`,
    /// `RECOVERY`, `ACKNOWLEDGEMENT`, `FLAPPINGSTART`, `FLAPPINGSTOP`,
    /// `DOWNTIMESTART`, `DOWNTIMEEND`, `DOWNTIMECANCELLED`, `CUSTOM`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Problem => "PROBLEM",
            NotificationKind::Recovery => "RECOVERY",
            NotificationKind::Acknowledgement => "ACKNOWLEDGEMENT",
            NotificationKind::FlappingStart => "FLAPPINGSTART",
            NotificationKind::FlappingStop => "FLAPPINGSTOP",
            NotificationKind::DowntimeStart => "DOWNTIMESTART",
            NotificationKind::DowntimeEnd => "DOWNTIMEEND",
            NotificationKind::DowntimeCancelled => "DOWNTIMECANCELLED",
            NotificationKind::Custom => "CUSTOM",
        }
    }

    /// The kind named `s` ([`NotificationKind::as_str`]).
    pub fn parse(s: &str) -> Option<NotificationKind> {
        NotificationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
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

/// Why a notification was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SuppressionReason {
    /// The object (or its host, with `with_services`) is in scheduled downtime.
    Downtime,
    /// The object is flapping.
    Flapping,
    /// The problem is acknowledged.
    Acknowledged,
    /// Outside the object's `notification_period`.
    NotificationPeriod,
}

impl SuppressionReason {
    /// The reason as the event stream and the store name it.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Downtime => "downtime",
            SuppressionReason::Flapping => "flapping",
            SuppressionReason::Acknowledged => "acknowledged",
            SuppressionReason::NotificationPeriod => "notification_period",
        }
    }
}

/// What may hold an object's notifications back, as the engine knows it at
/// the moment a notification is decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Suppressors {
    /// A downtime covering the object is in effect.
    pub in_downtime: bool,
    /// The object is flapping.
    pub flapping: bool,
    /// The object's problem is acknowledged.
    pub acknowledged: bool,
    /// The time is outside the object's `notification_period`.
    pub outside_period: bool,
}

/// The one place that decides whether a notification [`decide`] chose is
/// suppressed, and why (the first reason that applies, in this order):
/// downtime and flapping hold back problems and recoveries alike (as in
/// Nagios); an acknowledgement holds back problems only (a recovery clears
/// it anyway); outside the notification period nothing goes out (a problem
/// held back is sent when the period opens, if it lasts).
pub fn suppression(notification: &Notification, s: &Suppressors) -> Option<SuppressionReason> {
    if s.in_downtime {
        return Some(SuppressionReason::Downtime);
    }
    if s.flapping {
        return Some(SuppressionReason::Flapping);
    }
    if s.acknowledged && notification.kind == NotificationKind::Problem {
        return Some(SuppressionReason::Acknowledged);
    }
    if s.outside_period {
        return Some(SuppressionReason::NotificationPeriod);
    }
    None
}

/// The bookkeeping after a suppressed notification: `decided` as
/// [`decide`] returned it, with the notification counted as not sent. So a
/// suppressed first problem notification is sent by the first result after
/// the suppression ends (if the HARD problem lasts and any
/// `first_notification_delay` has passed), a suppressed repeat by the
/// first result after it ends once `notification_interval` has passed since
/// the last one sent, and a recovery after a problem that was never sent
/// notifies nobody.
pub fn suppressed(before: &NotifyState, decided: &NotifyState, notification: &Notification) -> NotifyState {
    match notification.kind {
        NotificationKind::Problem => NotifyState {
            problem_since: decided.problem_since,
            problem_notified: before.problem_notified && before.problem_since == decided.problem_since,
            last_notification: before.last_notification,
        },
        NotificationKind::Recovery => NotifyState { last_notification: before.last_notification, ..*decided },
        // The others leave the problem's bookkeeping alone.
        _ => *before,
    }
}

#[cfg(test)]
mod suppression_tests {
    use super::*;

    fn problem() -> Notification {
        Notification { kind: NotificationKind::Problem, state: State::Critical }
    }

    fn recovery() -> Notification {
        Notification { kind: NotificationKind::Recovery, state: State::Ok }
    }

    #[test]
    fn reasons_in_order() {
        let all = Suppressors { in_downtime: true, flapping: true, acknowledged: true, outside_period: true };
        assert_eq!(suppression(&problem(), &all), Some(SuppressionReason::Downtime));
        let s = Suppressors { in_downtime: false, ..all };
        assert_eq!(suppression(&problem(), &s), Some(SuppressionReason::Flapping));
        assert_eq!(suppression(&recovery(), &s), Some(SuppressionReason::Flapping));
        let ack = Suppressors { acknowledged: true, ..Suppressors::default() };
        assert_eq!(suppression(&problem(), &ack), Some(SuppressionReason::Acknowledged));
        assert_eq!(suppression(&recovery(), &ack), None);
        assert_eq!(suppression(&problem(), &Suppressors::default()), None);
        let outside = Suppressors { outside_period: true, ..Suppressors::default() };
        assert_eq!(suppression(&recovery(), &outside), Some(SuppressionReason::NotificationPeriod));
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        }
        assert_eq!(serde_json::to_string(&SuppressionReason::Acknowledged).unwrap(), "\"acknowledged\"");
    }

    #[test]
    fn a_suppressed_problem_stays_unsent_and_is_sent_after() {
        let object = ObjectState {
            state: State::Critical,
            state_type: StateType::Hard,
            last_hard_state: State::Critical,
            ..ObjectState::default()
        };
        let events = [StateEvent::HardStateChange { from: State::Ok, to: State::Critical }];
        let policy = NotificationPolicy::default();
        let t = Duration::from_secs;
        let before = NotifyState::default();
        let (decided, n) = decide(&before, &object, &events, t(10), &policy);
        let n = n.unwrap();
        let after = suppressed(&before, &decided, &n);
        assert_eq!(after, NotifyState { problem_since: Some(t(10)), problem_notified: false, last_notification: None });
        // The next result of the same HARD problem, unsuppressed, notifies.
        let (_, again) = decide(&after, &object, &[], t(20), &policy);
        assert_eq!(again, Some(problem()));
        // A recovery after it notifies nobody.
        let ok = ObjectState::default();
        let (_, r) = decide(
            &after,
            &ok,
            &[StateEvent::HardStateChange { from: State::Critical, to: State::Ok }],
            t(30),
            &policy,
        );
        assert_eq!(r, None);
    }
}
