//! Time periods, escalations, who is notified and the notification types
//! besides PROBLEM and RECOVERY, as Nagios has them.
//!
//! - `check_period`: outside it no active check runs and no freshness
//!   check is made; a check falling due then moves to the period's next
//!   start.
//! - `notification_period`: outside it nothing is notified. A problem
//!   notification held back is sent when the period opens if the HARD
//!   problem lasts (a timer at the period's next start); a recovery, an
//!   acknowledgement, flapping, downtime and custom notifications are not
//!   kept for later (Nagios drops them too).
//! - The notification number counts the problem notifications sent for
//!   the current problem (repeats included) and starts again after the
//!   recovery. An escalation applies while the number is from its
//!   `first_notification` to its `last_notification`: then its contacts are
//!   notified instead of the object's (the union of every escalation that
//!   applies), and the shortest `notification_interval` of those that set
//!   one is the repeat interval. A recovery goes to those who got the last
//!   problem notification; the other types to those of the current number.
//! - A contact's `notification_options` choose the types and states it
//!   gets ([`crate::config::NotificationOptions`]).
//! - ACKNOWLEDGEMENT follows an acknowledgement, FLAPPINGSTART and
//!   FLAPPINGSTOP the flapping changes, DOWNTIMESTART, DOWNTIMEEND and
//!   DOWNTIMECANCELLED a downtime of the object (for a host downtime, the
//!   host's), CUSTOM `POST /api/v1/notifications`. In dependency failure
//!   none is sent; in downtime FLAPPING* and CUSTOM are not (as Nagios).
//!   The number does not change for them, nor does the problem's
//!   bookkeeping.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::timers::Timer;
use super::{Engine, Event};
use crate::config::{Escalation, Method};
use crate::error::Error;
use crate::event::Status;
use crate::outcome::State;
use crate::refusal::Refusal;
use crate::schedule::ObjectId;
use crate::state::{Notification, NotificationKind, NotificationPolicy, SuppressionReason, Time, notify, suppression};
use crate::timeperiod::{Period, TimePeriod, since_epoch, timestamp};

/// What the engine keeps for all objects: the periods built so far, the
/// escalations, and the wall-clock time of engine time zero.
#[derive(Debug, Default)]
pub(super) struct EngineNotices {
    periods: Vec<TimePeriod>,
    built: HashMap<String, Period>,
    escalations: Vec<Escalation>,
    /// The wall-clock time (since the UNIX epoch) of engine time zero:
    /// zero on the real clock, the simulation's start on the simulated one.
    origin: Duration,
}

/// One object's periods, escalations and notification number.
#[derive(Clone, Debug, Default)]
pub(super) struct Notices {
    check_period: Option<Period>,
    notification_period: Option<Period>,
    /// Indexes into the engine's escalations that match the object.
    escalations: Arc<[usize]>,
    /// The problem notifications sent for the current problem.
    number: u32,
    /// A timer is set for the notification period's opening.
    waiting: bool,
}

impl Notices {
    /// After a configuration reload: what the running configuration's
    /// object knew of the current problem (how many notifications went out,
    /// for escalations; whether one waits for the notification period).
    pub(super) fn carry_over(&mut self, old: &Notices) {
        self.number = old.number;
        self.waiting = old.waiting;
    }

    /// The periods and escalations it follows, to tell a changed object
    /// from an unchanged one at a reload.
    pub(super) fn describe(&self) -> String {
        let name = |p: &Option<Period>| p.as_ref().map(|p| p.name().to_string());
        format!("{:?}|{:?}|{:?}", name(&self.check_period), name(&self.notification_period), self.escalations)
    }
}

impl EngineNotices {
    pub(super) fn new(periods: Vec<TimePeriod>, escalations: Vec<Escalation>) -> EngineNotices {
        EngineNotices { periods, built: HashMap::new(), escalations, origin: Duration::ZERO }
    }

    fn period(&mut self, name: Option<&str>) -> Result<Option<Period>, Error> {
        let Some(name) = name else { return Ok(None) };
        if let Some(p) = self.built.get(name) {
            return Ok(Some(p.clone()));
        }
        let p = Period::build(name, &self.periods).map_err(Error::Config)?;
        self.built.insert(name.to_string(), p.clone());
        Ok(Some(p))
    }

    /// The notices of the object `host`/`service` with these periods.
    pub(super) fn object(
        &mut self,
        host: &str,
        service: Option<&str>,
        check_period: Option<&str>,
        notification_period: Option<&str>,
    ) -> Result<Notices, Error> {
        let glob = crate::config::read::glob;
        let escalations: Vec<usize> = self
            .escalations
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                glob(&e.host, host)
                    && match (&e.service, service) {
                        (None, None) => true,
                        (Some(p), Some(s)) => glob(p, s),
                        _ => false,
                    }
            })
            .map(|(i, _)| i)
            .collect();
        Ok(Notices {
            check_period: self.period(check_period)?,
            notification_period: self.period(notification_period)?,
            escalations: escalations.into(),
            number: 0,
            waiting: false,
        })
    }
}

/// A notification sent by someone (`POST /api/v1/notifications`, the
/// simulator's `notify` input): type CUSTOM.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomNotification {
    /// The host.
    pub host: String,
    /// The service, or `None` for the host itself.
    #[serde(default)]
    pub service: Option<String>,
    /// Who sends it.
    pub author: String,
    /// What it says.
    pub comment: String,
}

/// The Nagios option letter a notification needs of a contact; `None`:
/// every contact gets it (CUSTOM).
fn letter(kind: NotificationKind, is_host: bool, state: State) -> Option<char> {
    let state_letter = match (is_host, state) {
        (_, State::Ok) => 'r',
        (true, State::Unknown) => 'u',
        (true, _) => 'd',
        (false, State::Warning) => 'w',
        (false, State::Critical) => 'c',
        (false, State::Unknown) => 'u',
    };
    match kind {
        NotificationKind::Problem | NotificationKind::Acknowledgement => Some(state_letter),
        NotificationKind::Recovery => Some('r'),
        NotificationKind::FlappingStart | NotificationKind::FlappingStop => Some('f'),
        NotificationKind::DowntimeStart | NotificationKind::DowntimeEnd | NotificationKind::DowntimeCancelled => {
            Some('s')
        }
        NotificationKind::Custom => None,
    }
}

/// Who a notification goes to: `(contact, method)` pairs, or one pair of
/// neither when nobody is configured.
pub(super) type Recipients = Vec<(Option<String>, Option<Method>)>;

impl Engine {
    /// Sets the wall-clock time of engine time zero, which time periods are
    /// read against: the simulator's start (the real clock's time is
    /// already wall-clock time).
    pub fn set_wall_clock_origin(&mut self, origin: Duration) {
        self.notices.origin = origin;
    }

    /// The wall-clock time (since the UNIX epoch) of engine time `t`.
    pub(super) fn wall_time(&self, t: Time) -> Duration {
        self.notices.origin + t
    }

    fn wall(&self, t: Time) -> Timestamp {
        timestamp(self.wall_time(t))
    }

    fn engine_time(&self, t: Timestamp) -> Time {
        since_epoch(t).saturating_sub(self.notices.origin)
    }

    /// `None` if object `id` is in its check period at `at`; otherwise
    /// when the period opens next (`Some(None)`: not within four years).
    pub(super) fn check_period_closed(&self, id: ObjectId, at: Time) -> Option<Option<Time>> {
        let p = self.objects[id].notices.check_period.as_ref()?;
        let t = self.wall(at);
        (!p.contains(t)).then(|| p.next_start(t).map(|s| self.engine_time(s)))
    }

    /// When object `id`'s next check due at `at` runs: at `at`, or when
    /// its check period opens next.
    pub(super) fn in_check_period(&self, id: ObjectId, at: Time) -> Time {
        match self.check_period_closed(id, at) {
            Some(Some(open)) => open,
            _ => at,
        }
    }

    /// Like [`Engine::check_period_closed`], for the notification period.
    pub(super) fn notification_period_closed(&self, id: ObjectId, at: Time) -> Option<Option<Time>> {
        let p = self.objects[id].notices.notification_period.as_ref()?;
        let t = self.wall(at);
        (!p.contains(t)).then(|| p.next_start(t).map(|s| self.engine_time(s)))
    }

    /// The escalations of object `id` that apply to notification `number`.
    fn escalations_for(&self, id: ObjectId, number: u32) -> impl Iterator<Item = &Escalation> {
        let o = &self.objects[id];
        o.notices.escalations.iter().map(|i| &self.notices.escalations[*i]).filter(move |e| {
            number > 0 && e.first_notification <= number && (e.last_notification == 0 || number <= e.last_notification)
        })
    }

    /// Object `id`'s notification policy, with the repeat interval of the
    /// escalations that apply to the last notification sent.
    pub(super) fn notification_policy(&self, id: ObjectId) -> NotificationPolicy {
        let o = &self.objects[id];
        let mut policy = o.notification;
        if let Some(interval) = self.escalations_for(id, o.notices.number).filter_map(|e| e.notification_interval).min()
        {
            policy.interval = interval;
        }
        policy
    }

    /// Who notification `n` of object `id` goes to. `None`: it has
    /// contacts, and none of them wants it.
    pub(super) fn recipients(&self, id: ObjectId, n: &Notification) -> Option<Recipients> {
        let o = &self.objects[id];
        let number = match n.kind {
            NotificationKind::Problem => o.notices.number + 1,
            _ => o.notices.number,
        };
        let mut names: Vec<&String> = Vec::new();
        for e in self.escalations_for(id, number) {
            for c in &e.contacts {
                if !names.contains(&c) {
                    names.push(c);
                }
            }
        }
        if names.is_empty() {
            names = o.contacts.iter().collect();
        }
        let letter = letter(n.kind, o.is_host(), n.state);
        let mut recipients = Vec::new();
        let mut wanted = false;
        for name in names {
            let Some(contact) = self.contacts.get(name) else { continue };
            let letters = if o.is_host() { contact.options.host } else { contact.options.service };
            if letter.is_some_and(|l| !letters.has(l)) {
                continue;
            }
            wanted = true;
            for method in &contact.methods {
                recipients.push((Some(contact.name.clone()), Some(method.clone())));
            }
        }
        if !o.contacts.is_empty() && !wanted {
            return None;
        }
        if recipients.is_empty() {
            recipients.push((None, None));
        }
        Some(recipients)
    }

    /// After notification `n` of object `id` went out: a problem counts,
    /// a recovery starts the count again.
    pub(super) fn count(&mut self, id: ObjectId, kind: NotificationKind) {
        let notices = &mut self.objects[id].notices;
        match kind {
            NotificationKind::Problem => notices.number += 1,
            NotificationKind::Recovery => notices.number = 0,
            _ => {}
        }
    }

    /// After a restart: `n` problem notifications already went out about
    /// object `id`'s current problem, so escalations go on from there.
    pub fn restore_notification_number(&mut self, id: ObjectId, n: u32) {
        self.objects[id].notices.number = n;
    }

    /// The problem is over (a HARD OK, notified or not): the count starts
    /// again.
    pub(super) fn problem_over(&mut self, id: ObjectId) {
        self.objects[id].notices.number = 0;
    }

    /// A problem notification of object `id` was held back because the
    /// notification period is closed: sets a timer for its opening.
    pub(super) fn wait_for_period(&mut self, id: ObjectId, now: Time) {
        if self.objects[id].notices.waiting {
            return;
        }
        if let Some(Some(open)) = self.notification_period_closed(id, now) {
            self.objects[id].notices.waiting = true;
            self.set_timer(open, Timer::NotificationPeriod(id));
        }
    }

    /// Object `id`'s notification period opened at `at`: the problem
    /// notification held back goes out if the HARD problem lasts and
    /// nothing else holds it back.
    pub(super) fn period_opened(&mut self, id: ObjectId, at: Time) -> Vec<Event> {
        self.objects[id].notices.waiting = false;
        let mut events = Vec::new();
        if self.in_failure(id) {
            return events;
        }
        let policy = self.notification_policy(id);
        let o = &self.objects[id];
        let (decided, n) = notify::decide(&o.notify, &o.state, &[], at, &policy);
        let Some(n) = n else { return events };
        let mut suppressors = self.suppressors(id, &self.objects[id].state);
        suppressors.outside_period = self.notification_period_closed(id, at).is_some();
        if let Some(reason) = suppression(&n, &suppressors) {
            if reason == SuppressionReason::NotificationPeriod {
                self.wait_for_period(id, at);
            }
            return events;
        }
        self.objects[id].notify = decided;
        let max = self.objects[id].schedule.max_check_attempts;
        self.notifications(id, &n, max, at, None, &mut events);
        events
    }

    /// The notification of `kind` (not PROBLEM or RECOVERY) about object
    /// `id` at `now`, or why it is not sent, appended to `events`.
    fn notify_other(
        &mut self,
        id: ObjectId,
        kind: NotificationKind,
        now: Time,
        note: Option<(&str, &str)>,
        events: &mut Vec<Event>,
    ) {
        if self.in_failure(id) {
            return;
        }
        let o = &self.objects[id];
        let n = Notification { kind, state: o.state.state };
        let mut suppressors = self.suppressors(id, &o.state);
        suppressors.outside_period = self.notification_period_closed(id, now).is_some();
        // Only flapping and custom notifications wait for a downtime's end
        // (a downtime's own notifications are about it).
        let downtime_applies =
            matches!(kind, NotificationKind::FlappingStart | NotificationKind::FlappingStop | NotificationKind::Custom);
        let reason = if suppressors.outside_period {
            Some(SuppressionReason::NotificationPeriod)
        } else if downtime_applies && suppressors.in_downtime {
            Some(SuppressionReason::Downtime)
        } else {
            None
        };
        if let Some(reason) = reason {
            let o = &self.objects[id];
            events.push(Event::NotificationSuppressed {
                t: now.as_secs_f64(),
                host: o.host.to_string(),
                service: o.service.as_deref().map(str::to_string),
                kind,
                state: Status::of(o.is_host(), n.state),
                reason,
            });
            return;
        }
        let max = o.schedule.max_check_attempts;
        self.notifications(id, &n, max, now, note, events);
    }

    /// `events` with the notifications they call for after each of them:
    /// ACKNOWLEDGEMENT after an acknowledgement, FLAPPING* after a flapping
    /// change, DOWNTIME* after a downtime starting or ending (`cancelled`:
    /// an end is a cancellation).
    pub(super) fn with_notifications(&mut self, events: Vec<Event>, now: Time, cancelled: bool) -> Vec<Event> {
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            let (host, service, kind, note) = match &e {
                Event::Acknowledgement { host, service, author, comment, active: true, .. } => (
                    host.clone(),
                    service.clone(),
                    NotificationKind::Acknowledgement,
                    Some((author.clone(), comment.clone())),
                ),
                Event::Flapping { host, service, started, .. } => {
                    let kind = if *started { NotificationKind::FlappingStart } else { NotificationKind::FlappingStop };
                    (host.clone(), service.clone(), kind, None)
                }
                Event::Downtime { host, service, started, author, comment, .. } => {
                    let kind = match (started, cancelled) {
                        (true, _) => NotificationKind::DowntimeStart,
                        (false, false) => NotificationKind::DowntimeEnd,
                        (false, true) => NotificationKind::DowntimeCancelled,
                    };
                    (host.clone(), service.clone(), kind, Some((author.clone(), comment.clone())))
                }
                _ => {
                    out.push(e);
                    continue;
                }
            };
            let t = match &e {
                Event::Downtime { t, .. } => Duration::from_secs_f64(*t),
                _ => now,
            };
            out.push(e);
            if let Some(id) = self.find(&host, service.as_deref()) {
                let note = note.as_ref().map(|(a, c)| (a.as_str(), c.as_str()));
                self.notify_other(id, kind, t.max(Duration::ZERO), note, &mut out);
            }
        }
        out
    }

    /// Sends a CUSTOM notification about an object (refused for an unknown
    /// object or an empty author or comment).
    pub fn custom_notification(&mut self, request: CustomNotification, now: Time) -> Result<Vec<Event>, Error> {
        for (field, value) in [("author", &request.author), ("comment", &request.comment)] {
            if value.trim().is_empty() {
                return Err(Refusal::EmptyField { field, expected: None }.into());
            }
        }
        let id = self.find_or_not_found(&request.host, request.service.as_deref())?;
        let mut events = Vec::new();
        self.notify_other(id, NotificationKind::Custom, now, Some((&request.author, &request.comment)), &mut events);
        Ok(events)
    }
}
