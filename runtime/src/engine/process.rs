//! Applying a result: the state processor, the notification decision, the
//! event handlers it triggers and the events it makes.

use std::sync::Arc;
use std::time::Duration;

use crate::event::{NotificationEvent, ResultEvent, ResultPrivate, Status};
use crate::outcome::{Outcome, State};
use crate::sandbox::handler::{HandlerCall, HandlerEvent, PendingHandler, Trigger};
use crate::sandbox::module::CheckRun;
use crate::schedule::ObjectId;
use crate::state::{
    NotificationKind, ResultInput, StateEvent, StateType, SuppressionReason, Time, Transition, notify, process,
};

use super::{Engine, Event, Source};

impl Engine {
    /// Applies a finished run at `now`: the value store, the state
    /// processor, the notification decision; schedules the next check.
    /// `scheduled` is when the check was due (`None` for a manual recheck),
    /// `ran` when it started (on the simulated clock `now`: simulated time
    /// does not move while a check runs).
    pub fn finish(&mut self, id: ObjectId, run: CheckRun, now: Time, scheduled: Option<Time>, ran: Time) -> Finished {
        let o = &mut self.objects[id];
        o.values = run.values;
        o.running = false;
        let timing = Timing { scheduled, ran: Some(ran), duration: Some(run.outcome.duration) };
        let finished = self.process(id, run.outcome, now, Source::Active, timing);
        let o = &self.objects[id];
        let next = now + crate::state::next_check_after(&o.state, &o.schedule.state_config(self.semantics));
        if self.in_failure(id) {
            // A manual recheck: it re-enters dependency failure when due next.
            self.rechecked(id);
            self.scheduler.schedule(id, next);
        } else {
            self.schedule_next(id, next, now);
        }
        finished
    }

    /// Applies a result submitted from outside at `now`, through the same
    /// state processor and notification rules as a check's. The object's
    /// value store is left as it is, and so is its schedule, but for a
    /// passive-only object's freshness deadline, which moves on.
    pub fn submit(&mut self, id: ObjectId, outcome: Outcome, now: Time) -> Finished {
        let f = self.process(id, outcome, now, Source::Passive, Timing::default());
        let d = &self.objects[id].dep;
        let checked_actively = d.passive.active_checks && d.has_check;
        if !(checked_actively || self.in_failure(id) || self.objects[id].running) {
            self.schedule_next(id, now, now);
        }
        f
    }

    pub(super) fn process(
        &mut self,
        id: ObjectId,
        outcome: Outcome,
        now: Time,
        source: Source,
        timing: Timing,
    ) -> Finished {
        let failing_before = self.failing_before(id);
        self.before_result(id, source, now);
        // In dependency failure: no notification, no event handler.
        let quiet = self.in_failure(id);
        let o = &mut self.objects[id];
        // A host check's OK and WARNING mean UP, anything else DOWN.
        let state = match (o.is_host(), outcome.state) {
            (true, State::Ok | State::Warning) => State::Ok,
            (true, _) => State::Critical,
            (false, s) => s,
        };
        let input = ResultInput {
            state,
            output: outcome.summary,
            long_output: outcome.long_output,
            perfdata: outcome.metrics,
            perfdata_errors: outcome.perfdata_errors,
        };
        let cfg = o.schedule.state_config(self.semantics);
        let mut transition = process(&o.state, &input, now, &cfg);
        // Flapping, acknowledgements cleared, flexible downtime triggered:
        // all before the notification decision they may suppress.
        let after_events = self.after_process(id, &mut transition, now);
        let mut suppressors = self.suppressors(id, &transition.state);
        suppressors.outside_period = self.notification_period_closed(id, now).is_some();
        let policy = self.notification_policy(id);
        let o = &mut self.objects[id];
        // In dependency failure nothing is notified (nor decided: there is
        // nothing to suppress, the object is disabled, seed 002).
        let (mut notify_state, mut notification) = if quiet {
            (o.notify, None)
        } else {
            notify::decide(&o.notify, &transition.state, &transition.events, now, &policy)
        };
        let mut suppressed = None;
        if let Some(n) = notification
            && let Some(reason) = crate::state::suppression(&n, &suppressors)
        {
            notify_state = notify::suppressed(&o.notify, &notify_state, &n);
            notification = None;
            suppressed = Some((n, reason));
        }
        let (before, after) = (&o.state, &transition.state);
        let significant = quiet
            || !transition.events.is_empty()
            || !after_events.is_empty()
            || suppressed.is_some()
            || notification.is_some()
            || notify_state != o.notify
            || (before.state, before.state_type, before.attempt, before.last_hard_state)
                != (after.state, after.state_type, after.attempt, after.last_hard_state);
        let previous = (o.state.state, o.state.state_type);
        let Transition { state: new_state, events: changes } = transition;
        o.state = new_state;
        o.notify = notify_state;
        let trigger = if changes.iter().any(|e| matches!(e, StateEvent::HardStateChange { .. })) {
            Trigger::HardStateChange
        } else if changes.is_empty() {
            Trigger::SameState
        } else {
            Trigger::StateChange
        };
        let recovered = changes.iter().any(|e| matches!(e, StateEvent::HardStateChange { to: State::Ok, .. }));
        let handlers =
            if quiet { Vec::new() } else { self.handlers_for(id, trigger, previous.0, cfg.max_check_attempts, now) };
        let result = self.result_event(id, previous, changes, source, timing, significant, handlers, now);
        let mut events = Vec::with_capacity(1 + after_events.len());
        events.push(Event::Result(result));
        // Flapping and downtime notifications, about the state after the result.
        let after_events = self.with_notifications(after_events, now, false);
        events.extend(after_events);
        if let Some((n, SuppressionReason::NotificationPeriod)) = &suppressed
            && n.kind == NotificationKind::Problem
        {
            self.wait_for_period(id, now);
        }
        let o = &self.objects[id];
        let t = now.as_secs_f64();
        if let Some((n, reason)) = suppressed {
            events.push(Event::NotificationSuppressed {
                t,
                host: o.host.to_string(),
                service: o.service.as_deref().map(str::to_string),
                kind: n.kind,
                state: Status::of(o.is_host(), n.state),
                reason,
            });
        }
        if let Some(n) = notification {
            self.notifications(id, &n, cfg.max_check_attempts, now, None, &mut events);
        }
        if recovered {
            self.problem_over(id);
        }
        // A flexible downtime the result started.
        self.downtimes_changed(&mut events);
        let mut finished = Finished { events, dependents: Vec::new() };
        finished.dependents = self.propagate(id, failing_before, now);
        finished
    }

    /// The result event of object `id` after its state changed from
    /// `previous` by `changes`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn result_event(
        &self,
        id: ObjectId,
        previous: (State, StateType),
        changes: Vec<StateEvent>,
        source: Source,
        timing: Timing,
        significant: bool,
        handlers: Vec<PendingHandler>,
        now: Time,
    ) -> Arc<ResultEvent> {
        let o = &self.objects[id];
        let s = &o.state;
        let is_host = o.is_host();
        let secs = |t: Time| t.as_secs_f64();
        Arc::new(ResultEvent {
            t: now.as_secs_f64(),
            host: o.host.clone(),
            service: o.service.clone(),
            check: o.module.map(|m| self.modules[m].check.clone()),
            state: Status::of(is_host, s.state),
            state_type: s.state_type,
            attempt: s.attempt,
            max_attempts: o.schedule.max_check_attempts,
            output: s.output.clone(),
            long_output: s.long_output.clone(),
            metrics: s.perfdata.clone(),
            perfdata_errors: s.perfdata_errors.clone(),
            source,
            execution_time: timing.duration.map(|d| d.as_secs_f64()),
            scheduled: timing.scheduled.map(secs),
            ran: timing.ran.map(secs),
            previous_state: Status::of(is_host, previous.0),
            previous_state_type: previous.1,
            state_changed: changes.iter().any(|e| matches!(e, StateEvent::StateChange { .. })),
            state_type_changed: previous.1 != s.state_type,
            hard_state_changed: changes.iter().any(|e| matches!(e, StateEvent::HardStateChange { .. })),
            last_state_change: s.last_state_change.map(secs),
            last_hard_state_change: s.last_hard_state_change.map(secs),
            flapping: s.flapping.flapping,
            acknowledged: s.acknowledgement.is_some(),
            dependency_failure: o.dep.failure.as_ref().map(|f| f.output.clone()),
            private: ResultPrivate {
                time: now,
                significant,
                changes,
                kept: crate::event::Kept {
                    last_hard_state: s.last_hard_state,
                    last_check: s.last_check,
                    last_state_change: s.last_state_change,
                    last_hard_state_change: s.last_hard_state_change,
                    flapping: s.flapping,
                    acknowledgement: s.acknowledgement.clone(),
                },
                notify: o.notify,
                values: o.values.clone(),
                dependency: self.dependency_record(id),
                handlers,
            },
        })
    }

    /// The notification events of object `id`'s notification `n`: one per
    /// contact method, each with its own id, or one with neither when the
    /// object has no contacts; none when its contacts (or those of the
    /// escalations that apply) do not want it. `note`: an author and a
    /// comment (acknowledgements, downtime, custom notifications).
    pub(super) fn notifications(
        &mut self,
        id: ObjectId,
        n: &crate::state::Notification,
        max_attempts: u32,
        now: Time,
        note: Option<(&str, &str)>,
        events: &mut Vec<Event>,
    ) {
        let Some(recipients) = self.recipients(id, n) else { return };
        self.count(id, n.kind);
        let o = &self.objects[id];
        let change = o.state.last_hard_state_change.unwrap_or(now);
        for (contact, method) in recipients {
            let o = &self.objects[id];
            let event = NotificationEvent {
                id: self.next_notification,
                t: now.as_secs_f64(),
                host: o.host.clone(),
                service: o.service.clone(),
                kind: n.kind,
                state: Status::of(o.is_host(), n.state),
                method: method.as_ref().map(|m| m.kind().to_string()),
                contact,
                output: o.state.output.clone(),
                long_output: o.state.long_output.clone().unwrap_or_default(),
                attempt: o.state.attempt,
                max_attempts,
                change_time: change.as_secs_f64(),
                author: note.map(|(a, _)| a.to_string()),
                comment: note.map(|(_, c)| c.to_string()),
                private: crate::event::NotificationPrivate {
                    time: now,
                    change_time: change,
                    hard_state: o.state.last_hard_state,
                    method,
                },
            };
            self.next_notification += 1;
            events.push(Event::Notification(Arc::new(event)));
        }
    }

    /// The event handlers of object `id` that run for `trigger`.
    fn handlers_for(
        &self,
        id: ObjectId,
        trigger: Trigger,
        previous_state: State,
        max_attempts: u32,
        now: Time,
    ) -> Vec<PendingHandler> {
        let o = &self.objects[id];
        o.handlers
            .iter()
            .map(|i| &self.handlers[*i])
            .filter(|h| trigger.runs(h.on))
            .map(|h| PendingHandler {
                name: h.name.clone(),
                module: h.module.clone(),
                call: HandlerCall {
                    event: HandlerEvent {
                        trigger,
                        host: o.host.to_string(),
                        address: o.target.address.map(|a| a.to_string()),
                        service: o.service.as_deref().map(str::to_string),
                        state: o.state.state,
                        state_type: o.state.state_type,
                        attempt: o.state.attempt,
                        max_attempts,
                        previous_state,
                        output: o.state.output.clone(),
                        long_output: o.state.long_output.clone(),
                        time: now.as_secs_f64(),
                    },
                    params: h.params.clone(),
                    target: (*o.target).clone(),
                    limits: h.limits.clone(),
                    grants: h.grants.clone(),
                },
            })
            .collect()
    }
}

/// What one processed result caused, for the subscribers: its events (the
/// result event first), then what it caused below the object in the
/// dependency tree, parents first.
#[derive(Debug)]
pub struct Finished {
    /// The result and what it decided: flapping, acknowledgement and
    /// downtime changes, a suppressed notification, notifications.
    pub events: Vec<Event>,
    /// Objects entering, changing or leaving dependency failure because of
    /// it, parents first. Published after it, each as a step of its own.
    pub dependents: Vec<Finished>,
}

impl Finished {
    /// The result event, if it has one.
    pub fn result(&self) -> Option<&Event> {
        self.events.first().filter(|e| matches!(e, Event::Result(_)))
    }

    /// Its steps in order: its own events, then each dependent's.
    pub fn into_steps(mut self, steps: &mut Vec<Vec<Event>>) {
        let dependents = std::mem::take(&mut self.dependents);
        steps.push(self.events);
        for d in dependents {
            d.into_steps(steps);
        }
    }
}

/// When a check ran, for its result event.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timing {
    /// When it was due.
    pub scheduled: Option<Time>,
    /// When it started.
    pub ran: Option<Time>,
    /// How long it ran.
    pub duration: Option<Duration>,
}
