//! Scheduled downtime, acknowledgements and flapping in the engine: the
//! commands the [`crate::Monitor`] (and tests, at chosen simulated times)
//! call, the timers that start and end downtimes, and what a processed
//! result changes of them before its notification is decided.
//!
//! - A fixed downtime starts at `start` (at once when scheduled later than
//!   that) and ends at `end`. A flexible one starts with the first problem
//!   result (not OK/UP, SOFT or HARD, any source) of its own object between
//!   `start` and `end`, and lasts its duration from then; one never
//!   triggered is dropped at `end`. A host downtime with `with_services`
//!   covers the host's services too (a flexible one is triggered by the
//!   host's problem only).
//! - An acknowledgement needs a problem; a normal one is cleared by the
//!   next state change, a sticky one by the recovery to OK/UP.
//! - Flapping is recorded for every result ([`crate::state::flapping`]).
//!
//! While a downtime covers an object, while it flaps and while its problem
//! is acknowledged its notifications are suppressed
//! ([`crate::state::suppression`]), and recorded as suppressed. A
//! suppressed problem notification counts as not sent: the first result
//! after the suppression ends notifies if the HARD problem lasts (Nagios'
//! behaviour after a downtime), and a recovery after a problem that was
//! never notified notifies nobody.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::timers::{Timer, Timers};
use super::{Engine, Event};
use crate::error::Error;
use crate::event::{Bookkeeping, Note};
use crate::outcome::State;
use crate::refusal::Refusal;
use crate::schedule::ObjectId;
use crate::state::{
    AckState, Acknowledgement, Downtime, DowntimeRequest, ObjectState, Suppressors, Time, Transition, flapping,
};

/// The engine's downtimes and timers.
#[derive(Debug, Default)]
pub(super) struct Downtimes {
    /// Pending and active downtimes by id.
    by_id: BTreeMap<u64, Downtime>,
    /// The highest id given out.
    last_id: u64,
    pub(super) timers: Timers,
    /// The set changed since [`Engine::downtimes_changed`] last looked.
    changed: bool,
}

impl Engine {
    /// When the next timer (a downtime starting or ending) is due.
    pub fn next_timer(&self) -> Option<Time> {
        self.downtimes.timers.next_due()
    }

    /// Sets `timer` to fire at `at`.
    pub(super) fn set_timer(&mut self, at: Time, timer: Timer) {
        self.downtimes.timers.set(at, timer);
    }

    /// Fires every timer due at or before `now`, in time order (ties in the
    /// order they were set), and returns the events. Each fires at its own
    /// time: an event's `t` is the timer's time, not `now`.
    pub fn fire_timers(&mut self, now: Time) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some((at, timer)) = self.downtimes.timers.pop_due(now) {
            match timer {
                Timer::DowntimeStart(id) => {
                    if self.downtimes.by_id.get(&id).is_some_and(|d| d.started.is_none() && d.flexible.is_none()) {
                        let started = vec![self.start_downtime(id, at)];
                        events.extend(self.with_notifications(started, at, false));
                    }
                }
                Timer::DowntimeEnd(id) => {
                    if self.downtimes.by_id.get(&id).is_some_and(|d| d.ends_at() == Some(at)) {
                        let ended = self.end_downtime(id, at).into_iter().collect();
                        events.extend(self.with_notifications(ended, at, false));
                    }
                }
                Timer::NotificationPeriod(object) => events.extend(self.period_opened(object, at)),
                Timer::DowntimeExpire(id) => {
                    if self.downtimes.by_id.get(&id).is_some_and(|d| d.started.is_none()) {
                        self.downtimes.by_id.remove(&id);
                        self.downtimes.changed = true;
                    }
                }
            }
        }
        self.downtimes_changed(&mut events);
        events
    }

    /// Acknowledges an object's problem at `now`. Refused for an unknown
    /// object and for one in OK/UP.
    pub fn acknowledge(&mut self, ack: Acknowledgement, now: Time) -> Result<Vec<Event>, Error> {
        if ack.author.trim().is_empty() {
            return Err(Refusal::EmptyField { field: "author", expected: Some("who acknowledges") }.into());
        }
        let id = self.find_or_not_found(&ack.host, ack.service.as_deref())?;
        let o = &mut self.objects[id];
        if o.state.state == State::Ok {
            return Err(Refusal::NotAProblem {
                host: ack.host,
                service: ack.service,
                state: o.state_name(State::Ok).to_string(),
            }
            .into());
        }
        o.state.acknowledgement = Some(Box::new(AckState {
            author: ack.author.clone(),
            comment: ack.comment.clone(),
            sticky: ack.sticky,
            time: now,
        }));
        Ok(vec![Event::Acknowledgement {
            t: now.as_secs_f64(),
            host: ack.host,
            service: ack.service,
            author: ack.author,
            comment: ack.comment,
            sticky: ack.sticky,
            active: true,
        }])
    }

    /// Removes an object's acknowledgement.
    pub fn remove_acknowledgement(
        &mut self,
        host: &str,
        service: Option<&str>,
        now: Time,
    ) -> Result<Vec<Event>, Error> {
        let id = self.find_or_not_found(host, service)?;
        let Some(ack) = self.objects[id].state.acknowledgement.take() else {
            return Err(
                Refusal::NotAcknowledged { host: host.to_string(), service: service.map(str::to_string) }.into()
            );
        };
        Ok(vec![ack_cleared(host, service, *ack, now)])
    }

    /// Schedules a downtime at `now`. A fixed one whose `start` has come
    /// starts at once (its start event is returned). Refused: a malformed
    /// request, an unknown host or service, an `end` already past.
    pub fn schedule_downtime(&mut self, request: DowntimeRequest, now: Time) -> Result<(Downtime, Vec<Event>), Error> {
        request.validate()?;
        let known = match &request.service {
            Some(s) => self.find(&request.host, Some(s)).is_some(),
            None => self.objects.iter().any(|o| *o.host == *request.host),
        };
        if !known {
            return Err(Refusal::NotFound { host: request.host, service: request.service }.into());
        }
        if request.end <= now {
            return Err(Refusal::EndInPast.into());
        }
        self.downtimes.last_id += 1;
        let id = self.downtimes.last_id;
        let downtime = Downtime::new(id, request);
        let (start, flexible, end) = (downtime.start, downtime.flexible.is_some(), downtime.end);
        self.downtimes.by_id.insert(id, downtime);
        self.downtimes.changed = true;
        let mut events = Vec::new();
        if flexible {
            self.downtimes.timers.set(end, Timer::DowntimeExpire(id));
        } else if start <= now {
            events.push(self.start_downtime(id, now));
        } else {
            self.downtimes.timers.set(start, Timer::DowntimeStart(id));
        }
        Ok((self.downtimes.by_id[&id].clone(), events))
    }

    /// Cancels a downtime: a pending one goes, one in effect ends now.
    pub fn cancel_downtime(&mut self, id: u64, now: Time) -> Result<Vec<Event>, Error> {
        let Some(d) = self.downtimes.by_id.get(&id) else {
            return Err(Refusal::NoSuchDowntime { id }.into());
        };
        if d.started.is_some() {
            return Ok(self.end_downtime(id, now).into_iter().collect());
        }
        self.downtimes.by_id.remove(&id);
        self.downtimes.changed = true;
        Ok(Vec::new())
    }

    /// Every downtime, pending and in effect, by id.
    pub fn downtimes(&self) -> Vec<Downtime> {
        self.downtimes.by_id.values().cloned().collect()
    }

    /// Puts back the downtimes a store kept, and the highest id given out,
    /// and sets their timers: a downtime whose time has passed while the
    /// engine was stopped starts or ends at the first [`Engine::fire_timers`].
    pub fn restore_downtimes(&mut self, downtimes: Vec<Downtime>, last_id: u64) {
        for d in downtimes {
            self.downtimes.last_id = self.downtimes.last_id.max(d.id);
            self.put_downtime(d);
        }
        self.downtimes.last_id = self.downtimes.last_id.max(last_id);
    }

    /// Keeps downtime `d` as restored, with the timer of what comes next
    /// for it: a downtime whose time has passed starts or ends at the next
    /// [`Engine::fire_timers`].
    fn put_downtime(&mut self, d: Downtime) {
        match (d.started, d.flexible) {
            (Some(_), _) => self.downtimes.timers.set(d.ends_at().unwrap_or(d.end), Timer::DowntimeEnd(d.id)),
            (None, Some(_)) => self.downtimes.timers.set(d.end, Timer::DowntimeExpire(d.id)),
            (None, None) => self.downtimes.timers.set(d.start, Timer::DowntimeStart(d.id)),
        }
        self.downtimes.by_id.insert(d.id, d);
    }

    /// With shards: the downtimes of the hosts `of` selects (a shard just
    /// taken over) become `downtimes`, as its previous leader kept them;
    /// those this engine had of them go. Unlike
    /// [`Engine::restore_downtimes`] the highest id given out stays: the
    /// ids come from another scheduler's block.
    pub(crate) fn replace_downtimes(&mut self, of: impl Fn(&str) -> bool, downtimes: Vec<Downtime>) {
        self.downtimes.by_id.retain(|_, d| !of(&d.host));
        for d in downtimes.into_iter().filter(|d| of(&d.host)) {
            self.put_downtime(d);
        }
        self.downtimes.changed = true;
    }

    /// Appends a bookkeeping event with every downtime and the highest id
    /// if the set changed since last asked: what retention writes.
    pub(crate) fn downtimes_changed(&mut self, events: &mut Vec<Event>) {
        if std::mem::take(&mut self.downtimes.changed) {
            let note = Note::Downtimes(Arc::new(self.downtimes()), self.downtimes.last_id);
            events.push(Event::Bookkeeping(Bookkeeping(note)));
        }
    }

    /// Whether a downtime covering object `id` is in effect.
    pub fn in_downtime(&self, id: ObjectId) -> bool {
        let o = &self.objects[id];
        self.downtimes.by_id.values().any(|d| d.started.is_some() && d.covers(&o.host, o.service.as_deref()))
    }

    /// Whether object `id` is a service whose host is in downtime (one
    /// without `with_services` too): as in Nagios, a service is not
    /// notified about while its host is in downtime, though the service
    /// itself is not in downtime.
    fn host_in_downtime(&self, id: ObjectId) -> bool {
        let o = &self.objects[id];
        o.service.is_some() && self.downtimes.by_id.values().any(|d| d.started.is_some() && d.covers(&o.host, None))
    }

    /// The ids of the downtimes covering object `id`, pending and in effect.
    pub fn downtime_ids(&self, id: ObjectId) -> Vec<u64> {
        let o = &self.objects[id];
        self.downtimes.by_id.values().filter(|d| d.covers(&o.host, o.service.as_deref())).map(|d| d.id).collect()
    }

    /// What may suppress object `id`'s notification, given its `state`
    /// after the result.
    pub(super) fn suppressors(&self, id: ObjectId, state: &ObjectState) -> Suppressors {
        Suppressors {
            in_downtime: self.in_downtime(id) || self.host_in_downtime(id),
            flapping: state.flapping.flapping,
            acknowledged: state.acknowledgement.is_some(),
            // Set by the caller, which knows the time.
            outside_period: false,
        }
    }

    /// After the state processor, before the notification decision: records
    /// the result for flap detection, reports an acknowledgement that the
    /// result cleared, and starts the flexible downtimes the result
    /// triggers. Returns the events, in that order.
    pub(super) fn after_process(&mut self, id: ObjectId, transition: &mut Transition, now: Time) -> Vec<Event> {
        let mut events = Vec::new();
        let o = &self.objects[id];
        let t = now.as_secs_f64();
        let (host, service) = (o.host.to_string(), o.service.as_deref().map(str::to_string));
        let (flap, change) = flapping::record(&transition.state.flapping, transition.state.state, &o.flap_policy);
        transition.state.flapping = flap;
        if let Some(c) = change {
            events.push(Event::Flapping {
                t,
                host: host.clone(),
                service: service.clone(),
                started: c.started,
                percent_state_change: c.percent_state_change,
            });
        }
        if let (Some(ack), None) = (&o.state.acknowledgement, &transition.state.acknowledgement) {
            events.push(ack_cleared(&host, service.as_deref(), (**ack).clone(), now));
        }
        if transition.state.state != State::Ok {
            let triggered: Vec<u64> = self
                .downtimes
                .by_id
                .values()
                .filter(|d| {
                    d.flexible.is_some()
                        && d.started.is_none()
                        && d.start <= now
                        && now <= d.end
                        && d.triggered_by(&host, service.as_deref())
                })
                .map(|d| d.id)
                .collect();
            for d in triggered {
                events.push(self.start_downtime(d, now));
            }
        }
        events
    }

    pub(super) fn find_or_not_found(&self, host: &str, service: Option<&str>) -> Result<ObjectId, Error> {
        self.find(host, service)
            .ok_or_else(|| Refusal::NotFound { host: host.to_string(), service: service.map(str::to_string) }.into())
    }

    /// Starts downtime `id` at `at` and sets its end timer.
    fn start_downtime(&mut self, id: u64, at: Time) -> Event {
        let d = self.downtimes.by_id.get_mut(&id).expect("a downtime that exists");
        d.started = Some(at);
        let end = d.ends_at().unwrap_or(d.end);
        let event = downtime_event(d, true, at);
        self.downtimes.timers.set(end, Timer::DowntimeEnd(id));
        self.downtimes.changed = true;
        event
    }

    /// Ends downtime `id` at `at` (it goes).
    fn end_downtime(&mut self, id: u64, at: Time) -> Option<Event> {
        let d = self.downtimes.by_id.remove(&id)?;
        self.downtimes.changed = true;
        Some(downtime_event(&d, false, at))
    }
}

fn downtime_event(d: &Downtime, started: bool, at: Time) -> Event {
    Event::Downtime {
        t: at.as_secs_f64(),
        host: d.host.clone(),
        service: d.service.clone(),
        id: d.id,
        started,
        flexible: d.flexible.is_some(),
        with_services: d.with_services,
        author: d.author.clone(),
        comment: d.comment.clone(),
    }
}

fn ack_cleared(host: &str, service: Option<&str>, ack: AckState, now: Time) -> Event {
    Event::Acknowledgement {
        t: now.as_secs_f64(),
        host: host.to_string(),
        service: service.map(str::to_string),
        author: ack.author,
        comment: ack.comment,
        sticky: ack.sticky,
        active: false,
    }
}
