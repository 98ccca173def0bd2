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
mod notifications;

pub use self::notifications::CustomNotification;

pub use self::modules::{ModuleAction, ModuleChange, ModuleError, ModuleFile, ModuleStatus};
mod object;
mod process;
mod reload;
mod simulate;
mod status;
#[cfg(test)]
mod tests;
mod zone;

pub use self::process::Finished;
pub(crate) use self::process::Timing;
pub use self::reload::ConfigChange;
pub use self::simulate::{SimInput, simulate, simulate_from, simulate_with};
pub use self::status::ObjectStatus;

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{CheckSpec, Config, Contact};
use crate::error::Error;
use crate::retention::{ObjectKey, Retained};
use crate::sandbox::Sandbox;
use crate::sandbox::module::{CheckCall, CheckModule};
use crate::sandbox::policy::Target;
use crate::sandbox::values::Values;
use crate::schedule::{ObjectId, Scheduler};
use crate::state::{NotifyState, ObjectState, Semantics, StateConfig, Time};

use self::object::{EngineHandler, Object};

pub use crate::event::{Event, Source};

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
    /// The id the next notification gets (see [`NotificationEvent::id`](crate::event::NotificationEvent::id)).
    next_notification: u64,
    /// Downtimes (pending and in effect) and their timers.
    downtimes: suppress::Downtimes,
    /// Escalations, time periods and the wall-clock time of engine time zero.
    notices: notifications::EngineNotices,
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
        let mut notices = notifications::EngineNotices::new(config.timeperiods, config.escalations);
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
                let object_notices =
                    notices.object(&name, None, h.check_period.as_deref(), h.notification_period.as_deref())?;
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
                    notices: object_notices,
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
            let object_notices =
                notices.object(&s.host, Some(&s.name), s.check_period.as_deref(), s.notification_period.as_deref())?;
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
                notices: object_notices,
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
            notices,
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
        self.spread((0..self.objects.len()).collect(), &|| clock.now());
    }

    /// When the next check or timer is due.
    pub fn next_due(&self) -> Option<Time> {
        [self.scheduler.next_due(), self.next_timer()].into_iter().flatten().min()
    }

    /// When the next check is due.
    pub fn next_check(&self) -> Option<Time> {
        self.scheduler.next_due()
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

    /// Takes at most `max` of the objects due at or before `now`, earliest
    /// first, each with the time it was due.
    pub fn pop_due(&mut self, now: Time, max: usize) -> Vec<(ObjectId, Time)> {
        self.scheduler.pop_due_at_most(now, max)
    }

    /// The schedule and state-processor settings of object `id`.
    pub fn state_config(&self, id: ObjectId) -> StateConfig {
        self.objects[id].schedule.state_config(self.semantics)
    }

    /// Every contact, by name.
    pub fn contacts(&self) -> HashMap<String, Contact> {
        self.contacts.clone()
    }
}

/// One object's check, ready to run away from the engine (see [`Engine::start`]).
pub struct PendingCheck {
    /// The module to run.
    pub module: CheckModule,
    /// What to run it with.
    pub call: CheckCall,
}

/// A check's plugin arguments with their macros expanded for one object.
fn expand(spec: &CheckSpec, target: &Target, service: &str) -> Result<Arc<[String]>, Error> {
    if spec.args.is_empty() {
        return Ok(Arc::from(Vec::new()));
    }
    let ctx = crate::plugin::MacroContext::new(target, service);
    crate::plugin::expand_args(&spec.args, &ctx).map(Arc::from).map_err(Error::Macro)
}
