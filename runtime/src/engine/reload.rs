//! A new configuration taking over from the running one, while checks run
//! ([`crate::Monitor::reload_config`], SIGHUP, `POST /api/v1/reload`).
//!
//! The new configuration's engine is built beside the running one (modules
//! loaded, addresses resolved, every problem found before anything
//! changes), then takes over what the running engine knows about each
//! object it keeps, by identity (host and service name): state, state type
//! and attempt, notification bookkeeping, value store, acknowledgement,
//! flapping history, dependency failure, a run in flight, its place in the
//! schedule. Objects the new configuration adds are spread over their
//! interval, as at a start; removed ones stop (their retention rows stay).
//! Downtimes and notification ids carry over whole.

use serde::Serialize;

use super::{Engine, Finished};
use crate::retention::ObjectKey;
use crate::schedule::ObjectId;
use crate::state::Time;
use crate::state::dependency::DependencyFailure;

/// What a configuration reload changed: objects by host and service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConfigChange {
    /// Objects the new configuration adds.
    pub added: Vec<ObjectKey>,
    /// Objects it no longer has: they stop.
    pub removed: Vec<ObjectKey>,
    /// Objects it keeps with other settings (check, parameters, intervals,
    /// contacts, parents…): they keep their state.
    pub changed: Vec<ObjectKey>,
    /// Objects it keeps as they were.
    pub unchanged: usize,
}

impl ConfigChange {
    /// Whether nothing was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

impl std::fmt::Display for ConfigChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} added, {} removed, {} changed, {} unchanged",
            self.added.len(),
            self.removed.len(),
            self.changed.len(),
            self.unchanged
        )
    }
}

/// What taking over produced besides the change.
pub(crate) struct Takeover {
    pub(crate) change: ConfigChange,
    /// For each object of the old engine, its id in the new one (`None`:
    /// removed): for runs in flight and requests waiting on them.
    pub(crate) ids: Vec<Option<ObjectId>>,
    /// Objects whose dependency failure began or ended because parents
    /// changed.
    pub(crate) settled: Vec<Finished>,
}

impl Engine {
    /// Takes over from `old`, the running configuration's engine, at `now`
    /// (see the module documentation). `old` is left without its objects'
    /// value stores and downtimes: it is dropped after this.
    pub(crate) fn take_over(&mut self, old: &mut Engine, now: Time) -> Takeover {
        self.next_notification = self.next_notification.max(old.next_notification);
        self.downtimes = std::mem::take(&mut old.downtimes);
        let mut change = ConfigChange::default();
        let mut ids = vec![None; old.objects.len()];
        let mut taken = vec![false; self.objects.len()];
        let mut failures: Vec<(ObjectId, DependencyFailure)> = Vec::new();
        let mut to_schedule: Vec<(ObjectId, Option<Time>)> = Vec::new();
        for (old_id, slot) in ids.iter_mut().enumerate() {
            let o = &old.objects[old_id];
            let Some(id) = self.find(&o.host, o.service.as_deref()) else {
                change.removed.push(o.key());
                continue;
            };
            *slot = Some(id);
            taken[id] = true;
            if old.fingerprint(old_id) == self.fingerprint(id) {
                change.unchanged += 1;
            } else {
                change.changed.push(o.key());
            }
            if let Some(f) = &old.objects[old_id].dep.failure {
                let cause = &old.objects[f.cause];
                failures.push((
                    id,
                    DependencyFailure {
                        cause: (cause.host.to_string(), cause.service.as_deref().map(str::to_string)),
                        output: f.output.clone(),
                        saved: f.saved.clone(),
                    },
                ));
            }
            let due = old.scheduler.due(old_id);
            let o = &mut old.objects[old_id];
            let n = &mut self.objects[id];
            n.state = std::mem::take(&mut o.state);
            n.notify = std::mem::take(&mut o.notify);
            n.values = std::mem::take(&mut o.values);
            n.running = o.running;
            n.dep.since = o.dep.since;
            n.notices.carry_over(&o.notices);
            n.dep.stale = o.dep.stale;
            if !n.running {
                to_schedule.push((id, due));
            }
        }
        // Timers that name objects (a notification period opening) follow them.
        self.downtimes.timers.remap_objects(&ids);
        for (id, failure) in failures {
            self.restore_dependency(id, failure);
        }
        for (id, due) in to_schedule {
            if self.in_failure(id) {
                continue;
            }
            let o = &self.objects[id];
            let active = o.dep.passive.active_checks && o.dep.has_check;
            match due {
                // Its place in the schedule, unless the new interval is shorter.
                Some(due) if active => {
                    let interval = crate::state::next_check_after(&o.state, &self.state_config(id));
                    self.scheduler.schedule(id, due.min(now + interval));
                }
                _ => self.schedule_first(id, now),
            }
        }
        let added: Vec<ObjectId> = (0..self.objects.len()).filter(|id| !taken[*id]).collect();
        change.added = added.iter().map(|id| self.objects[*id].key()).collect();
        self.spread(added, &|| now);
        let settled = self.settle_dependencies(now);
        Takeover { change, ids, settled }
    }

    /// Everything configured about object `id`, to tell a changed object
    /// from an unchanged one.
    fn fingerprint(&self, id: ObjectId) -> String {
        let o = &self.objects[id];
        let handlers: Vec<&str> = o.handlers.iter().map(|h| &*self.handlers[*h].name).collect();
        let parents: Vec<ObjectKey> = o.dep.parents.iter().map(|p| self.objects[*p].key()).collect();
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
            o.check,
            o.args,
            o.item,
            o.target,
            o.schedule,
            o.notification,
            o.contacts,
            handlers,
            o.flap_policy,
            o.dep.passive,
            parents,
            o.notices.describe()
        )
    }

    /// Schedules the first checks of `ids` spread over their intervals, each
    /// at a place fixed by its name (see [`Engine::spread_first_checks`]):
    /// the places are worked out first and counted from `now()` after that.
    pub(super) fn spread(&mut self, ids: Vec<ObjectId>, now: &dyn Fn() -> Time) {
        let mut name = String::new();
        let started = now();
        let (mut active, mut other) = (Vec::with_capacity(ids.len()), Vec::new());
        for id in ids {
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
        let at = now();
        for (offset, id) in active {
            self.scheduler.schedule(id, at + offset);
        }
        for (offset, id) in other {
            self.schedule_first(id, at + offset);
        }
    }
}
