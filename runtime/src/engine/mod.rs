//! The engine: the object table built from a configuration, the scheduler,
//! check execution in the sandbox, the state processor and notification
//! decisions. Everything that leaves it is an [`Event`] on one typed stream.
//!
//! [`simulate`] drives it on a simulated clock as fast as it can; the
//! [`crate::Monitor`] (`wasmon run`, embedders) drives the same steps on a
//! real clock.
//!
//! Dependency failure, passive-only objects and freshness are in
//! [`dependency`](self::Due) (seed 002). Downtime, acknowledgements and
//! flapping are in `suppress`; the timers that start and end downtimes in
//! [`timers`].

mod dependency;
mod input;
mod suppress;
pub mod timers;

pub use self::dependency::Due;
pub use self::input::{Applied, Input, Inputs, Submission, read_inputs};
mod modules;

pub use self::modules::{ModuleAction, ModuleChange, ModuleError, ModuleFile, ModuleStatus};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::event::{NotificationEvent, ResultEvent, ResultPrivate, Status};

use crate::clock::{Clock, SimClock};
use crate::config::{CheckSpec, Config, Contact, Schedule};
use crate::error::Error;
use crate::outcome::{Outcome, State};
use crate::retention::{ObjectKey, Retained};
use crate::sandbox::Sandbox;
use crate::sandbox::handler::{HandlerCall, HandlerEvent, HandlerModule, HandlerTrigger, PendingHandler, Trigger};
use crate::sandbox::module::{CheckCall, CheckModule, CheckRun};
use crate::sandbox::policy::Target;
use crate::sandbox::values::Values;
use crate::schedule::{ObjectId, Scheduler};
use crate::state::{
    Acknowledgement, FlapPolicy, NotificationPolicy, NotifyState, ObjectState, ResultInput, Semantics, StateConfig,
    StateEvent, StateType, Time, Transition, notify, process,
};

pub use crate::event::{Event, Source};

/// One monitored object and everything the engine keeps for it. Names are
/// shared (`Arc<str>`) with the lookup index and with every event.
struct Object {
    host: Arc<str>,
    service: Option<Arc<str>>,
    item: Option<String>,
    check: Arc<CheckSpec>,
    /// The plugin arguments, macros expanded (empty for a wasmon check).
    args: Arc<[String]>,
    /// The module of its check; `None` for a passive-only object without one.
    module: Option<usize>,
    target: Arc<Target>,
    schedule: Schedule,
    notification: NotificationPolicy,
    contacts: Arc<[String]>,
    /// Indexes into the engine's handlers.
    handlers: Arc<[usize]>,
    flap_policy: FlapPolicy,
    state: ObjectState,
    notify: NotifyState,
    values: Values,
    /// A check of it is running (its value store is out with the run).
    running: bool,
    /// Dependencies, passive results and freshness.
    dep: dependency::Links,
}

impl Object {
    fn is_host(&self) -> bool {
        self.service.is_none()
    }

    /// How a state is named for this object: UP/DOWN for hosts.
    fn state_name(&self, s: State) -> Status {
        Status::of(self.is_host(), s)
    }

    fn key(&self) -> ObjectKey {
        ObjectKey { host: self.host.to_string(), service: self.service.as_deref().map(str::to_string) }
    }
}

/// A configured event handler, loaded.
struct EngineHandler {
    name: Arc<str>,
    module: HandlerModule,
    on: HandlerTrigger,
    params: Vec<(String, String)>,
    limits: crate::Limits,
    grants: crate::Grants,
}

/// The engine's objects and schedule.
pub struct Engine {
    objects: Vec<Object>,
    index: HashMap<(Arc<str>, Option<Arc<str>>), ObjectId>,
    modules: Vec<modules::Slot>,
    /// Module slots by name.
    module_index: HashMap<String, usize>,
    handlers: Vec<EngineHandler>,
    contacts: HashMap<String, Contact>,
    semantics: Semantics,
    scheduler: Scheduler,
    /// The id the next notification gets (see [`NotificationEvent::id`]).
    next_notification: u64,
    /// Downtimes (pending and in effect) and their timers.
    downtimes: suppress::Downtimes,
}

impl Engine {
    /// Builds the object table from `config`, taking its objects over
    /// rather than copying them: loads every module once, resolves every
    /// host address once, shares identical check settings. Hosts without a
    /// check are not scheduled.
    pub fn new(config: Config, sandbox: &Sandbox) -> Result<Engine, Error> {
        let mut modules: Vec<modules::Slot> = Vec::new();
        let mut module_index: HashMap<String, usize> = HashMap::new();
        let mut load = |module: &str| -> Result<usize, Error> {
            if let Some(i) = module_index.get(module) {
                return Ok(*i);
            }
            let (m, _) = sandbox.load_spec(module)?;
            modules.push(modules::Slot::new(m, crate::spec_file(module).map(std::path::Path::to_path_buf)));
            module_index.insert(module.to_string(), modules.len() - 1);
            Ok(modules.len() - 1)
        };
        // Consecutive objects made from one template share one CheckSpec.
        let mut last_spec: Option<Arc<CheckSpec>> = None;
        let mut share = |spec: CheckSpec| -> Arc<CheckSpec> {
            match &last_spec {
                Some(last) if **last == spec => last.clone(),
                _ => {
                    let spec = Arc::new(spec);
                    last_spec = Some(spec.clone());
                    spec
                }
            }
        };
        let mut handlers = Vec::with_capacity(config.handlers.len());
        for h in config.handlers {
            handlers.push(EngineHandler {
                name: Arc::from(h.name),
                module: sandbox.load_handler_file(std::path::Path::new(&h.module))?,
                on: h.on,
                params: h.params,
                limits: h.limits,
                grants: h.grants,
            });
        }
        let handler_index: HashMap<String, usize> =
            handlers.iter().enumerate().map(|(i, h)| (h.name.to_string(), i)).collect();
        let mut last_handlers: Option<Arc<[usize]>> = None;
        let mut handlers_of = |names: Vec<String>, object: &str| -> Result<Arc<[usize]>, Error> {
            // The file reader refuses unknown names; a Config built in code
            // is checked here.
            let ids = names
                .iter()
                .map(|n| {
                    handler_index
                        .get(n)
                        .copied()
                        .ok_or_else(|| Error::Config(format!("{object}: no event handler named \"{n}\"")))
                })
                .collect::<Result<Vec<usize>, Error>>()?;
            Ok(match &last_handlers {
                Some(last) if **last == *ids => last.clone(),
                _ => {
                    let ids: Arc<[usize]> = ids.into();
                    last_handlers = Some(ids.clone());
                    ids
                }
            })
        };
        let mut graph = dependency::Graph { host_parents: HashMap::new(), service_parents: Vec::new() };
        let mut hosts: HashMap<String, (Arc<str>, Arc<Target>)> = HashMap::new();
        let mut objects = Vec::with_capacity(config.hosts.len() + config.services.len());
        let mut host_objects = Vec::new();
        for h in config.hosts {
            let address = match &h.address {
                Some(a) => Some(
                    crate::sandbox::policy::resolve_address(a)
                        .map_err(|reason| Error::Config(format!("host \"{}\": {reason}", h.name)))?,
                ),
                None => None,
            };
            let name: Arc<str> = Arc::from(h.name.as_str());
            let target = Arc::new(Target::new(h.name.clone(), address));
            graph.host_parents.insert(h.name.clone(), h.parents);
            hosts.insert(h.name, (name.clone(), target.clone()));
            // A passive-only host is an object even without a check.
            let has_check = h.check.is_some();
            if has_check || !h.passive.active_checks {
                let check = h.check.unwrap_or_default();
                let args = expand(&check, &target, "")?;
                let handlers = handlers_of(h.event_handlers, &format!("host \"{name}\""))?;
                host_objects.push(Object {
                    host: name,
                    service: None,
                    item: None,
                    args,
                    module: if has_check { Some(load(&check.module)?) } else { None },
                    check: share(check),
                    target,
                    schedule: h.schedule,
                    notification: h.notification,
                    contacts: h.contacts.into(),
                    handlers,
                    flap_policy: h.flapping,
                    state: ObjectState::default(),
                    notify: NotifyState::default(),
                    values: Values::new(),
                    running: false,
                    dep: dependency::Links { passive: h.passive, has_check, ..Default::default() },
                });
            }
        }
        objects.extend(host_objects);
        let mut contact_lists: Option<Arc<[String]>> = None;
        for s in config.services {
            let (host, target) = match hosts.get(&s.host) {
                Some((n, t)) => (n.clone(), t.clone()),
                None => {
                    let t = Arc::new(Target::new(s.host.clone(), None));
                    let n: Arc<str> = Arc::from(s.host.as_str());
                    hosts.insert(s.host.clone(), (n.clone(), t.clone()));
                    (n, t)
                }
            };
            let contacts = match &contact_lists {
                Some(c) if **c == *s.contacts => c.clone(),
                _ => {
                    let c: Arc<[String]> = s.contacts.into();
                    contact_lists = Some(c.clone());
                    c
                }
            };
            let args = expand(&s.check, &target, &s.name)?;
            let handlers = handlers_of(s.event_handlers, &format!("service \"{}\" on host \"{}\"", s.name, s.host))?;
            // A passive-only service may have no check.
            let has_check = !s.check.module.is_empty();
            if !s.parents.is_empty() {
                graph.service_parents.push((objects.len(), s.parents));
            }
            objects.push(Object {
                host,
                service: Some(Arc::from(s.name)),
                item: s.item,
                args,
                module: if has_check { Some(load(&s.check.module)?) } else { None },
                check: share(s.check),
                target,
                schedule: s.schedule,
                notification: s.notification,
                contacts,
                handlers,
                flap_policy: s.flapping,
                state: ObjectState::default(),
                notify: NotifyState::default(),
                values: Values::new(),
                running: false,
                dep: dependency::Links { passive: s.passive, has_check, ..Default::default() },
            });
        }
        let index = objects.iter().enumerate().map(|(id, o)| ((o.host.clone(), o.service.clone()), id)).collect();
        let contacts = config.contacts.into_iter().map(|c| (c.name.clone(), c)).collect();
        let mut engine = Engine {
            objects,
            index,
            modules,
            module_index,
            handlers,
            contacts,
            semantics: config.engine.state_semantics,
            scheduler: Scheduler::new(),
            next_notification: 1,
            downtimes: suppress::Downtimes::default(),
        };
        engine.link(graph);
        Ok(engine)
    }

    /// Notification ids continue after `last`, the highest a retention
    /// file holds, so that an id is never given out twice.
    pub fn restore_notification_ids(&mut self, last: u64) {
        self.next_notification = self.next_notification.max(last + 1);
    }

    /// How many objects (scheduled hosts and services) there are.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there are no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The object of `host` and `service` (`None`: the host itself).
    pub fn find(&self, host: &str, service: Option<&str>) -> Option<ObjectId> {
        self.index.get(&(Arc::from(host), service.map(Arc::from))).copied()
    }

    /// Schedules every object's first check at `at` (the simulator starts
    /// them all at t = 0; see [`Engine::schedule_first`]).
    pub fn schedule_all_at(&mut self, at: Time) {
        for id in 0..self.objects.len() {
            self.schedule_first(id, at);
        }
    }

    /// Schedules every object's first check spread over its interval (the
    /// interval its state calls for), at a place fixed by its name: a start
    /// is no thundering herd, and a restart keeps each check's place (as
    /// [`Engine::schedule_first`] does it). The places are worked out first
    /// and counted from `clock`'s time after that, then entered earliest
    /// first: with 100,000 objects, entering them in object order took long
    /// enough that the first checks were late before they were in.
    pub fn spread_first_checks(&mut self, clock: &dyn Clock) {
        let mut name = String::new();
        let started = clock.now();
        let (mut active, mut other) = (Vec::with_capacity(self.objects.len()), Vec::new());
        for id in 0..self.objects.len() {
            if self.in_failure(id) {
                continue;
            }
            let interval = crate::state::next_check_after(&self.objects[id].state, &self.state_config(id));
            let o = &mut self.objects[id];
            name.clear();
            name.push_str(&o.host);
            name.push('/');
            name.push_str(o.service.as_deref().unwrap_or(""));
            let offset = crate::schedule::initial_offset(&name, interval);
            if o.dep.passive.active_checks && o.dep.has_check {
                o.dep.since.get_or_insert(o.state.last_check.unwrap_or(started + offset));
                active.push((offset, id));
            } else {
                other.push((offset, id));
            }
        }
        active.sort_unstable();
        let at = clock.now();
        for (offset, id) in active {
            self.scheduler.schedule(id, at + offset);
        }
        for (offset, id) in other {
            self.schedule_first(id, at + offset);
        }
    }

    /// When the next check or timer is due.
    pub fn next_due(&self) -> Option<Time> {
        [self.scheduler.next_due(), self.next_timer()].into_iter().flatten().min()
    }

    /// When the next check is due.
    pub fn next_check(&self) -> Option<Time> {
        self.scheduler.next_due()
    }

    /// Fires the timers due at `now`, then runs every check due at `now`,
    /// one after the other in schedule order, and returns what happened.
    /// The simulator uses this: simulated time does not move while a check
    /// runs. Timers come first, so a downtime that starts when a check is
    /// due covers its result, and one that ends then does not.
    pub async fn run_due(&mut self, now: Time) -> Vec<Event> {
        let mut events = self.fire_timers(now);
        for (id, _) in self.scheduler.pop_due(now) {
            match self.on_due(id, now) {
                Due::Run => {}
                Due::Handled(f) => {
                    run_handlers(*f, now, &mut events).await;
                    continue;
                }
                Due::Skip => continue,
            }
            let pending = self.start(id);
            let run = pending.module.check(&pending.call).await;
            let finished = self.finish(id, run, now, Some(now), now);
            run_handlers(finished, now, &mut events).await;
        }
        events
    }

    /// Takes what one object's check needs to run, on its own and
    /// concurrently with others: the module and the call (the object's value
    /// store moves into the call until [`Engine::finish`] brings it back).
    /// Takes the object out of the schedule; `finish` puts it back.
    pub fn start(&mut self, id: ObjectId) -> PendingCheck {
        self.scheduler.unschedule(id);
        let o = &mut self.objects[id];
        o.running = true;
        PendingCheck {
            module: self.modules[o.module.expect("only an object with a check is started")].module.clone(),
            call: CheckCall {
                target: (*o.target).clone(),
                item: o.item.clone(),
                params: o.check.params.clone(),
                args: o.args.to_vec(),
                limits: o.check.limits.clone(),
                grants: o.check.grants.clone(),
                values: std::mem::take(&mut o.values),
            },
        }
    }

    /// Whether a check of object `id` is running.
    pub fn is_running(&self, id: ObjectId) -> bool {
        self.objects[id].running
    }

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

    fn process(&mut self, id: ObjectId, outcome: Outcome, now: Time, source: Source, timing: Timing) -> Finished {
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
        let input =
            ResultInput { state, output: outcome.summary, long_output: outcome.long_output, perfdata: outcome.metrics };
        let cfg = o.schedule.state_config(self.semantics);
        let mut transition = process(&o.state, &input, now, &cfg);
        // Flapping, acknowledgements cleared, flexible downtime triggered:
        // all before the notification decision they may suppress.
        let after_events = self.after_process(id, &mut transition, now);
        let suppressors = self.suppressors(id, &transition.state);
        let o = &mut self.objects[id];
        // In dependency failure nothing is notified (nor decided: there is
        // nothing to suppress, the object is disabled, seed 002).
        let (mut notify_state, mut notification) = if quiet {
            (o.notify, None)
        } else {
            notify::decide(&o.notify, &transition.state, &transition.events, now, &o.notification)
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
        let handlers =
            if quiet { Vec::new() } else { self.handlers_for(id, trigger, previous.0, cfg.max_check_attempts, now) };
        let result = self.result_event(id, previous, changes, source, timing, significant, handlers, now);
        let mut events = Vec::with_capacity(1 + after_events.len());
        events.push(Event::Result(result));
        events.extend(after_events);
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
            self.notifications(id, &n, cfg.max_check_attempts, now, &mut events);
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
    fn result_event(
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
    /// object has no contacts.
    fn notifications(
        &mut self,
        id: ObjectId,
        n: &crate::state::Notification,
        max_attempts: u32,
        now: Time,
        events: &mut Vec<Event>,
    ) {
        let o = &self.objects[id];
        let mut recipients: Vec<(Option<String>, Option<crate::config::Method>)> = Vec::new();
        for c in o.contacts.iter() {
            if let Some(contact) = self.contacts.get(c) {
                for method in &contact.methods {
                    recipients.push((Some(contact.name.clone()), Some(method.clone())));
                }
            }
        }
        if recipients.is_empty() {
            recipients.push((None, None));
        }
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

    /// The objects' keys, in table order.
    pub fn keys(&self) -> impl Iterator<Item = (ObjectId, ObjectKey)> + '_ {
        self.objects.iter().enumerate().map(|(id, o)| (id, o.key()))
    }

    /// Puts back what the store kept for an object: state, notification
    /// bookkeeping, value store.
    pub fn restore(&mut self, id: ObjectId, retained: Retained) {
        let o = &mut self.objects[id];
        o.state = retained.state;
        o.notify = retained.notify;
        o.values = retained.values;
    }

    /// Schedules object `id`'s next check at `at`.
    pub fn schedule(&mut self, id: ObjectId, at: Time) {
        self.scheduler.schedule(id, at);
    }

    /// Takes at most `max` of the objects due at or before `now`, earliest
    /// first, each with the time it was due.
    pub fn pop_due(&mut self, now: Time, max: usize) -> Vec<(ObjectId, Time)> {
        self.scheduler.pop_due_at_most(now, max)
    }

    /// The schedule and state-processor settings of object `id`.
    pub fn state_config(&self, id: ObjectId) -> StateConfig {
        self.objects[id].schedule.state_config(self.semantics)
    }

    /// Object `id`'s current state.
    pub fn state(&self, id: ObjectId) -> &ObjectState {
        &self.objects[id].state
    }

    /// Object `id`'s status, as the API shows it.
    pub fn status(&self, id: ObjectId) -> ObjectStatus {
        let o = &self.objects[id];
        ObjectStatus {
            host: o.host.to_string(),
            service: o.service.as_deref().map(str::to_string),
            state: o.state_name(o.state.state).to_string(),
            state_type: o.state.state_type,
            attempt: o.state.attempt,
            max_attempts: o.schedule.max_check_attempts,
            output: o.state.output.clone(),
            long_output: o.state.long_output.clone(),
            perfdata: o.state.perfdata.iter().map(crate::Metric::perfdata).collect::<Vec<_>>().join(" "),
            last_check: o.state.last_check.map(|t| t.as_secs_f64()),
            last_state_change: o.state.last_state_change.map(|t| t.as_secs_f64()),
            last_hard_state_change: o.state.last_hard_state_change.map(|t| t.as_secs_f64()),
            next_check: self.scheduler.due(id).map(|t| t.as_secs_f64()),
            running: o.running,
            dependency_failure: o.dep.failure.as_ref().map(|f| f.output.clone()),
            stale: o.dep.stale,
            flapping: o.state.flapping.flapping,
            percent_state_change: o.state.flapping.percent_state_change,
            in_downtime: self.in_downtime(id),
            downtimes: self.downtime_ids(id),
            acknowledgement: o.state.acknowledgement.as_ref().map(|a| Acknowledgement {
                host: o.host.to_string(),
                service: o.service.as_deref().map(str::to_string),
                author: a.author.clone(),
                comment: a.comment.clone(),
                sticky: a.sticky,
            }),
        }
    }

    /// A contact by name.
    pub fn contact(&self, name: &str) -> Option<&Contact> {
        self.contacts.get(name)
    }

    /// Every contact, by name.
    pub fn contacts(&self) -> HashMap<String, Contact> {
        self.contacts.clone()
    }
}

/// One object's status: its state and when it was last and will next be
/// checked. Times are seconds since the clock's epoch (the UNIX epoch on
/// the real clock).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectStatus {
    /// The host.
    pub host: String,
    /// The service, or null for the host itself.
    pub service: Option<String>,
    /// OK/WARNING/CRITICAL/UNKNOWN, or UP/DOWN/UNREACHABLE for a host.
    pub state: String,
    /// SOFT or HARD.
    pub state_type: StateType,
    /// The attempt shown to people.
    pub attempt: u32,
    /// `max_check_attempts`.
    pub max_attempts: u32,
    /// The last output's first line.
    pub output: String,
    /// The last long output.
    pub long_output: Option<String>,
    /// The last performance data, in plugin syntax.
    pub perfdata: String,
    /// When the last result was processed.
    pub last_check: Option<f64>,
    /// When the state last changed.
    pub last_state_change: Option<f64>,
    /// When the HARD state last changed.
    pub last_hard_state_change: Option<f64>,
    /// When the next check is due, if one is scheduled.
    pub next_check: Option<f64>,
    /// Whether a check of it is running now.
    pub running: bool,
    /// The cause while it is in dependency failure ("Dependency failure:
    /// router is DOWN").
    pub dependency_failure: Option<String>,
    /// Whether its freshness threshold passed without a result.
    pub stale: bool,
    /// Whether it is flapping.
    pub flapping: bool,
    /// Its weighted percent state change over the last 21 results.
    pub percent_state_change: f64,
    /// Whether a downtime covering it is in effect.
    pub in_downtime: bool,
    /// The ids of the downtimes covering it, pending and in effect.
    pub downtimes: Vec<u64>,
    /// The acknowledgement of its problem, if any.
    pub acknowledgement: Option<Acknowledgement>,
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

/// One object's check, ready to run away from the engine (see [`Engine::start`]).
pub struct PendingCheck {
    /// The module to run.
    pub module: CheckModule,
    /// What to run it with.
    pub call: CheckCall,
}

/// Appends what `f` caused, in order, running its event handlers one after
/// the other where they belong (after its own events, before its
/// dependents'): simulated time does not move while they run.
async fn run_handlers(mut f: Finished, now: Time, events: &mut Vec<Event>) {
    let dependents = std::mem::take(&mut f.dependents);
    let handlers = match f.events.first() {
        Some(Event::Result(r)) => r.private.handlers.clone(),
        _ => Vec::new(),
    };
    events.append(&mut f.events);
    for h in handlers {
        let outcome = h.module.handle(&h.call).await;
        events.push(h.event(outcome, now));
    }
    for d in dependents {
        Box::pin(run_handlers(d, now, events)).await;
    }
}

/// A check's plugin arguments with their macros expanded for one object.
fn expand(spec: &CheckSpec, target: &Target, service: &str) -> Result<Arc<[String]>, Error> {
    if spec.args.is_empty() {
        return Ok(Arc::from(Vec::new()));
    }
    let ctx = crate::plugin::MacroContext::new(target, service);
    crate::plugin::expand_args(&spec.args, &ctx).map(Arc::from).map_err(|e| Error::Config(e.to_string()))
}

/// Runs the engine on a simulated clock for `duration`, as fast as it can,
/// handing every event to `sink` in time order. Every object's first check
/// runs at t = 0. Hosts' check packs are expanded first
/// ([`crate::pack::expand`]). Timers (downtime start and end) fire at their
/// times, before the checks due at the same time.
pub async fn simulate(
    config: &Config,
    sandbox: &Sandbox,
    duration: Duration,
    sink: impl FnMut(&Event),
) -> Result<(), Error> {
    simulate_with(config, sandbox, duration, Vec::new(), sink).await
}

/// The simulator's inputs are the engine's [`Input`]s, at simulated times.
pub type SimInput = Input;

/// [`simulate`], with `inputs` applied at their times (each before the
/// checks due at the same time). An input naming no object, or one the
/// object refuses, ends the simulation with that error.
pub async fn simulate_with(
    config: &Config,
    sandbox: &Sandbox,
    duration: Duration,
    mut inputs: Vec<(Duration, SimInput)>,
    mut sink: impl FnMut(&Event),
) -> Result<(), Error> {
    let clock = SimClock::new();
    let mut config = config.clone();
    crate::pack::expand(&mut config, sandbox).await?;
    let mut engine = Engine::new(config, sandbox)?;
    engine.describe_modules(clock.now()).await;
    engine.schedule_all_at(clock.now());
    inputs.sort_by_key(|(t, _)| *t);
    let mut inputs = std::collections::VecDeque::from(inputs);
    loop {
        let next_input = inputs.front().map(|(t, _)| *t);
        let t = match (engine.next_due(), next_input) {
            (Some(d), Some(i)) => d.min(i),
            (Some(d), None) => d,
            (None, Some(i)) => i,
            (None, None) => break,
        };
        if t > duration {
            break;
        }
        clock.advance_to(t);
        let now = clock.now();
        while inputs.front().is_some_and(|(at, _)| *at <= now) {
            let (_, input) = inputs.pop_front().expect("checked");
            let mut events = Vec::new();
            match engine.apply(input, now)? {
                Applied::Result(f) => run_handlers(f, now, &mut events).await,
                Applied::Events(e) | Applied::Downtime(_, e) => events = e,
                Applied::Run(id) => {
                    let pending = engine.start(id);
                    let run = pending.module.check(&pending.call).await;
                    run_handlers(engine.finish(id, run, now, None, now), now, &mut events).await;
                }
            }
            for e in events.iter().filter(|e| e.is_shown()) {
                sink(e);
            }
        }
        if engine.next_due().is_some_and(|d| d <= now) {
            for event in engine.run_due(now).await.iter().filter(|e| e.is_shown()) {
                sink(event);
            }
        }
    }
    Ok(())
}
