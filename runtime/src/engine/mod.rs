//! The engine: the object table built from a configuration, the scheduler,
//! check execution in the sandbox, the state processor and notification
//! decisions. Everything that leaves it is an [`Event`] on one typed stream.
//!
//! [`simulate`] drives it on a simulated clock as fast as it can; the
//! daemon (`wasmon run`) will drive the same steps on the real clock.

pub mod daemon;

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use serde::Serialize;

use crate::clock::{Clock, SimClock};
use crate::config::{CheckSpec, Config, Contact, Schedule};
use crate::error::Error;
use crate::module::{CheckCall, CheckModule, CheckRun};
use crate::outcome::State;
use crate::sandbox::Sandbox;
use crate::sandbox::policy::Target;
use crate::schedule::{ObjectId, Scheduler};
use crate::notify::NotificationMessage;
use crate::state::{
    NotificationKind, NotificationPolicy, NotifyState, ObjectState, ResultInput, Semantics, StateConfig, StateType,
    Time, Transition, notify, process,
};
use crate::store::{ObjectKey, Retained};
use crate::values::Values;

/// Something the engine did, for subscribers (the simulator's output, the
/// store, notifiers, the API). Serialises to one JSON object per event, as
/// `wasmon simulate` prints them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A processed check result.
    Result {
        /// Seconds since the clock's epoch (since the start, simulated).
        t: f64,
        /// The host.
        host: String,
        /// The service, or null for a host result.
        service: Option<String>,
        /// OK/WARNING/CRITICAL/UNKNOWN for services, UP/DOWN for hosts.
        state: String,
        /// SOFT or HARD.
        state_type: StateType,
        /// The attempt shown to people.
        attempt: u32,
        /// `max_check_attempts`.
        max_attempts: u32,
        /// The first line of output.
        output: String,
    },
    /// A notification the engine decided, one per contact method (or one
    /// with null method and contact when the object has no contacts).
    Notification {
        /// Seconds since the clock's epoch.
        t: f64,
        /// The host.
        host: String,
        /// The service, or null for a host notification.
        service: Option<String>,
        /// PROBLEM or RECOVERY.
        #[serde(rename = "type")]
        kind: NotificationKind,
        /// The state notified about (UP/DOWN for hosts).
        state: String,
        /// The method's kind: "log", "webhook" or "email".
        method: Option<String>,
        /// The contact's name.
        contact: Option<String>,
    },
}

/// One monitored object and everything the engine keeps for it.
struct Object {
    host: String,
    service: Option<String>,
    item: Option<String>,
    check: CheckSpec,
    module: CheckModule,
    target: Target,
    schedule: Schedule,
    notification: NotificationPolicy,
    contacts: Vec<String>,
    state: ObjectState,
    notify: NotifyState,
    values: Values,
}

impl Object {
    fn is_host(&self) -> bool {
        self.service.is_none()
    }

    /// How a state is named for this object: UP/DOWN for hosts.
    fn state_name(&self, s: State) -> String {
        state_name(self.is_host(), s)
    }
}

/// The engine's objects and schedule.
pub struct Engine {
    objects: Vec<Object>,
    contacts: HashMap<String, Contact>,
    semantics: Semantics,
    scheduler: Scheduler,
}

impl Engine {
    /// Builds the object table: loads every module once, resolves every
    /// host address once. Hosts without a check are not scheduled.
    pub fn new(config: &Config, sandbox: &Sandbox) -> Result<Engine, Error> {
        let mut modules: HashMap<String, CheckModule> = HashMap::new();
        let mut load = |spec: &CheckSpec| -> Result<CheckModule, Error> {
            if let Some(m) = modules.get(&spec.module) {
                return Ok(m.clone());
            }
            let (m, _) = sandbox.load_spec(&spec.module)?;
            modules.insert(spec.module.clone(), m.clone());
            Ok(m)
        };
        let mut targets: HashMap<String, Target> = HashMap::new();
        for h in &config.hosts {
            let address = match &h.address {
                Some(a) => Some(resolve(a).map_err(|reason| Error::Config(format!("host \"{}\": {reason}", h.name)))?),
                None => None,
            };
            targets.insert(h.name.clone(), Target::new(h.name.clone(), address));
        }
        let mut objects = Vec::new();
        for h in &config.hosts {
            if let Some(check) = &h.check {
                objects.push(Object {
                    host: h.name.clone(),
                    service: None,
                    item: None,
                    module: load(check)?,
                    check: check.clone(),
                    target: targets[&h.name].clone(),
                    schedule: h.schedule,
                    notification: h.notification,
                    contacts: h.contacts.clone(),
                    state: ObjectState::default(),
                    notify: NotifyState::default(),
                    values: Values::new(),
                });
            }
        }
        for s in &config.services {
            objects.push(Object {
                host: s.host.clone(),
                service: Some(s.name.clone()),
                item: s.item.clone(),
                module: load(&s.check)?,
                check: s.check.clone(),
                target: targets.get(&s.host).cloned().unwrap_or_else(|| Target::new(s.host.clone(), None)),
                schedule: s.schedule,
                notification: s.notification,
                contacts: s.contacts.clone(),
                state: ObjectState::default(),
                notify: NotifyState::default(),
                values: Values::new(),
            });
        }
        let contacts = config.contacts.iter().map(|c| (c.name.clone(), c.clone())).collect();
        Ok(Engine { objects, contacts, semantics: config.engine.state_semantics, scheduler: Scheduler::new() })
    }

    /// Schedules every object's first check at `at` (the simulator starts
    /// them all at t = 0).
    pub fn schedule_all_at(&mut self, at: Time) {
        for id in 0..self.objects.len() {
            self.scheduler.schedule(id, at);
        }
    }

    /// When the next check is due.
    pub fn next_due(&self) -> Option<Time> {
        self.scheduler.next_due()
    }

    /// Runs every check due at `now`, one after the other in schedule order,
    /// and returns what happened. The simulator uses this: simulated time
    /// does not move while a check runs.
    pub async fn run_due(&mut self, now: Time) -> Vec<Event> {
        let mut events = Vec::new();
        for id in self.scheduler.pop_due(now) {
            let pending = self.start(id);
            let run = pending.module.check(&pending.call).await;
            events.extend(self.finish(id, run, now).events);
        }
        events
    }

    /// Takes what one object's check needs to run, on its own and
    /// concurrently with others: the module and the call (the object's value
    /// store moves into the call until [`Engine::finish`] brings it back).
    pub fn start(&mut self, id: ObjectId) -> PendingCheck {
        let o = &mut self.objects[id];
        PendingCheck {
            module: o.module.clone(),
            call: CheckCall {
                target: o.target.clone(),
                item: o.item.clone(),
                params: o.check.params.clone(),
                limits: o.check.limits.clone(),
                grants: o.check.grants.clone(),
                values: std::mem::take(&mut o.values),
            },
        }
    }

    /// Applies a finished run at `now`: the value store, the state
    /// processor, the notification decision; schedules the next check.
    pub fn finish(&mut self, id: ObjectId, run: CheckRun, now: Time) -> Finished {
        let mut events = Vec::new();
        let o = &mut self.objects[id];
        o.values = run.values;
        let outcome = run.outcome;
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
        };
        let cfg = o.schedule.state_config(self.semantics);
        let transition = process(&o.state, &input, now, &cfg);
        let (notify_state, notification) =
            notify::decide(&o.notify, &transition.state, &transition.events, now, &o.notification);
        o.state = transition.state.clone();
        o.notify = notify_state;
        let t = now.as_secs_f64();
        events.push(Event::Result {
            t,
            host: o.host.clone(),
            service: o.service.clone(),
            state: o.state_name(o.state.state),
            state_type: o.state.state_type,
            attempt: o.state.attempt,
            max_attempts: cfg.max_check_attempts,
            output: o.state.output.clone(),
        });
        let mut deliveries = Vec::new();
        if let Some(n) = notification {
            let message = NotificationMessage {
                host: o.host.clone(),
                service: o.service.clone(),
                kind: n.kind,
                state: o.state_name(n.state),
                output: o.state.output.clone(),
                long_output: o.state.long_output.clone().unwrap_or_default(),
                time: now.as_secs(),
                attempt: o.state.attempt,
                max_attempts: cfg.max_check_attempts,
                contact: String::new(),
            };
            for c in &o.contacts {
                if let Some(contact) = self.contacts.get(c) {
                    for method in &contact.methods {
                        deliveries.push((
                            Contact { name: contact.name.clone(), methods: vec![method.clone()] },
                            message.clone(),
                        ));
                    }
                }
            }
            // One event per contact method, or one with neither when the
            // object has no contacts.
            let recipients: Vec<(Option<String>, Option<String>)> = if deliveries.is_empty() {
                vec![(None, None)]
            } else {
                deliveries
                    .iter()
                    .map(|(c, _)| (c.methods.first().map(|m| m.kind().to_string()), Some(c.name.clone())))
                    .collect()
            };
            for (method, contact) in recipients {
                events.push(Event::Notification {
                    t,
                    host: o.host.clone(),
                    service: o.service.clone(),
                    kind: n.kind,
                    state: o.state_name(n.state),
                    method,
                    contact,
                });
            }
        }
        let next = now + crate::state::next_check_after(&o.state, &cfg);
        self.scheduler.schedule(id, next);
        Finished {
            key: ObjectKey { host: o.host.clone(), service: o.service.clone() },
            transition,
            notify: o.notify,
            values: o.values.clone(),
            deliveries,
            events,
        }
    }

    /// The objects' keys, in table order.
    pub fn keys(&self) -> impl Iterator<Item = (ObjectId, ObjectKey)> + '_ {
        self.objects
            .iter()
            .enumerate()
            .map(|(id, o)| (id, ObjectKey { host: o.host.clone(), service: o.service.clone() }))
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

    /// Takes every object due at or before `now`.
    pub fn pop_due(&mut self, now: Time) -> Vec<ObjectId> {
        self.scheduler.pop_due(now)
    }

    /// The schedule and state-processor settings of object `id`.
    pub fn state_config(&self, id: ObjectId) -> StateConfig {
        self.objects[id].schedule.state_config(self.semantics)
    }

    /// Object `id`'s current state.
    pub fn state(&self, id: ObjectId) -> &ObjectState {
        &self.objects[id].state
    }

    /// A contact by name.
    pub fn contact(&self, name: &str) -> Option<&Contact> {
        self.contacts.get(name)
    }
}

/// What one finished check changed, for the store and the notifier.
#[derive(Debug)]
pub struct Finished {
    /// Which object.
    pub key: ObjectKey,
    /// The state processor's transition (new state and state events).
    pub transition: Transition,
    /// The notification bookkeeping after the result.
    pub notify: NotifyState,
    /// The value store after the result.
    pub values: Values,
    /// The notification to deliver, once per contact method: a contact
    /// holding that one method, and the message.
    pub deliveries: Vec<(Contact, NotificationMessage)>,
    /// The events, for subscribers.
    pub events: Vec<Event>,
}

/// One object's check, ready to run away from the engine (see [`Engine::start`]).
pub struct PendingCheck {
    /// The module to run.
    pub module: CheckModule,
    /// What to run it with.
    pub call: CheckCall,
}

/// How a state is named: OK/WARNING/CRITICAL/UNKNOWN for a service, UP
/// (OK) or DOWN (anything else) for a host.
pub(crate) fn state_name(is_host: bool, s: State) -> String {
    match (is_host, s) {
        (true, State::Ok) => "UP".to_string(),
        (true, _) => "DOWN".to_string(),
        (false, s) => s.to_string(),
    }
}

/// Resolves a host address once: an IP literal as it is, a name through
/// the system resolver.
fn resolve(address: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = address.parse::<IpAddr>() {
        return Ok(ip);
    }
    (address, 0)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve address '{address}': {e}"))?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| format!("address '{address}' resolves to nothing"))
}

/// Runs the engine on a simulated clock for `duration`, as fast as it can,
/// handing every event to `sink` in time order. Every object's first check
/// runs at t = 0.
pub async fn simulate(
    config: &Config,
    sandbox: &Sandbox,
    duration: Duration,
    mut sink: impl FnMut(&Event),
) -> Result<(), Error> {
    let clock = SimClock::new();
    let mut engine = Engine::new(config, sandbox)?;
    engine.schedule_all_at(clock.now());
    while let Some(t) = engine.next_due() {
        if t > duration {
            break;
        }
        clock.advance_to(t);
        for event in engine.run_due(clock.now()).await {
            sink(&event);
        }
    }
    Ok(())
}
