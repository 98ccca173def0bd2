//! The engine's side of dependency failure, passive-only objects and
//! freshness (seed 002): the object graph, propagating a parent's failure
//! and recovery down the tree, and what happens when an object falls due.
//!
//! The rules (the pure state changes are in [`crate::state::dependency`]):
//!
//! - A parent host fails on its HARD DOWN (or UNREACHABLE), a parent service
//!   on its HARD CRITICAL; the objects below it (child hosts, the services
//!   of the parent and child hosts, child services) enter dependency failure
//!   naming the *highest* failed parent. They run no active checks, and no
//!   notification or event handler fires for them.
//! - A manual recheck ([`crate::Monitor::run_now`]) runs the check once; its
//!   result is shown, and the object re-enters dependency failure when it
//!   falls due next ([`Due::Handled`]). The saved state stays as it was.
//! - A passive result during the failure is shown and discards the saved
//!   state: on the parent's recovery nothing is restored, the object just
//!   returns to active checking.
//! - On the parent's HARD UP/OK the saved state is restored and the object
//!   is checked again at its next interval.
//! - Freshness: an object with a threshold that has had no result (active
//!   or passive) for that long is stale. The scheduler holds its deadline as
//!   its next due time; then it runs its check if it has one, and otherwise
//!   gets its `stale_state` with source `freshness`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::{Engine, Event, Finished, Source, Timing};
use crate::config::{PassiveSettings, ServiceRef};
use crate::error::Error;
use crate::event::{Bookkeeping, Note};
use crate::outcome::{Outcome, State, Termination};
use crate::refusal::Refusal;
use crate::schedule::ObjectId;
use crate::state::dependency::{self, DependencyFailure};
use crate::state::{ObjectState, Time, Transition, next_check_after};

/// What the engine keeps of an object's dependencies, passive results and
/// freshness.
#[derive(Clone, Debug, Default)]
pub(super) struct Links {
    /// The objects it depends on directly, in configuration order: its own
    /// host (for a service) or the nearest parent hosts with a check, then
    /// its parent services.
    pub parents: Vec<ObjectId>,
    /// The objects that depend on it directly.
    pub children: Vec<ObjectId>,
    /// Its place in an order where parents come before children.
    pub rank: usize,
    /// Set while it is in dependency failure.
    /// Boxed: it holds a whole saved state, and most objects are never in
    /// dependency failure.
    pub failure: Option<Box<Failure>>,
    /// `active_checks`, `passive_checks`, freshness.
    pub passive: PassiveSettings,
    /// Whether it has a check to run.
    pub has_check: bool,
    /// When it last received a result (or was first scheduled).
    pub since: Option<Time>,
    /// Its freshness threshold passed without a result.
    pub stale: bool,
}

/// An object in dependency failure.
#[derive(Clone, Debug)]
pub(super) struct Failure {
    /// The highest failed parent.
    pub cause: ObjectId,
    /// The imposed output.
    pub output: String,
    /// The state to restore (`None` once a passive result overwrote it).
    pub saved: Option<ObjectState>,
    /// A manual recheck ran: it re-enters the failure when due next.
    pub rechecked: bool,
}

/// What to do with an object that fell due (see [`Engine::on_due`]).
#[derive(Debug)]
pub enum Due {
    /// Run its check ([`Engine::start`], then [`Engine::finish`]).
    Run,
    /// The engine dealt with it itself (it re-entered dependency failure,
    /// or it went stale without a check to run): publish this.
    Handled(Box<Finished>),
    /// Nothing to do: it is in dependency failure (taken from the schedule
    /// together with the parent whose failure reached it), or it is passive
    /// only, without a check, and not stale yet.
    Skip,
}

/// The hosts and services as the engine builds its links from them.
pub(super) struct Graph {
    /// Each configured host's parents, by name.
    pub host_parents: HashMap<String, Vec<String>>,
    /// Each service object's parent services.
    pub service_parents: Vec<(ObjectId, Vec<ServiceRef>)>,
}

impl Engine {
    /// Resolves the dependency graph: parents, children and the order.
    pub(super) fn link(&mut self, graph: Graph) {
        // A host without a check is no object: its objects' parents are
        // the nearest hosts with one above it.
        fn nearest(
            host: &str,
            graph: &Graph,
            index: &HashMap<(Arc<str>, Option<Arc<str>>), ObjectId>,
            depth: usize,
        ) -> Vec<ObjectId> {
            let mut out = Vec::new();
            if depth > 64 {
                return out;
            }
            for p in graph.host_parents.get(host).into_iter().flatten() {
                match index.get(&(Arc::from(p.as_str()), None)) {
                    Some(id) => out.push(*id),
                    None => out.extend(nearest(p, graph, index, depth + 1)),
                }
            }
            out
        }
        let services: HashMap<ObjectId, &Vec<ServiceRef>> =
            graph.service_parents.iter().map(|(id, p)| (*id, p)).collect();
        for id in 0..self.objects.len() {
            let o = &self.objects[id];
            let mut parents: Vec<ObjectId> = Vec::new();
            match &o.service {
                None => parents.extend(nearest(&o.host, &graph, &self.index, 0)),
                Some(_) => {
                    match self.index.get(&(o.host.clone(), None)) {
                        Some(h) => parents.push(*h),
                        None => parents.extend(nearest(&o.host, &graph, &self.index, 0)),
                    }
                    for r in services.get(&id).copied().into_iter().flatten() {
                        if let Some(p) =
                            self.index.get(&(Arc::from(r.host.as_str()), Some(Arc::from(r.service.as_str()))))
                        {
                            parents.push(*p);
                        }
                    }
                }
            }
            parents.dedup();
            self.objects[id].dep.parents = parents;
        }
        for id in 0..self.objects.len() {
            for p in self.objects[id].dep.parents.clone() {
                self.objects[p].dep.children.push(id);
            }
        }
        // Ranks: depth-first, parents first (the configuration has no
        // cycles; an object on the current path is not followed again).
        let mut rank = 0;
        let mut state = vec![0u8; self.objects.len()];
        for start in 0..self.objects.len() {
            let mut stack = vec![(start, 0usize)];
            while let Some(&mut (id, ref mut next)) = stack.last_mut() {
                if *next == 0 {
                    if state[id] != 0 {
                        stack.pop();
                        continue;
                    }
                    state[id] = 1;
                }
                match self.objects[id].dep.parents.get(*next).copied() {
                    Some(p) => {
                        *next += 1;
                        if state[p] == 0 {
                            stack.push((p, 0));
                        }
                    }
                    None => {
                        state[id] = 2;
                        self.objects[id].dep.rank = rank;
                        rank += 1;
                        stack.pop();
                    }
                }
            }
        }
    }

    /// Whether object `id` fails for the objects below it: it is in
    /// dependency failure, or its HARD state is DOWN (a host) or CRITICAL
    /// (a service). Returns the highest failed object.
    fn failing(&self, id: ObjectId) -> Option<ObjectId> {
        let o = &self.objects[id];
        if let Some(f) = &o.dep.failure {
            return Some(f.cause);
        }
        let s = &o.state;
        let failed = s.state_type == crate::state::StateType::Hard
            && if o.is_host() { s.state != State::Ok } else { s.state == State::Critical };
        failed.then_some(id)
    }

    /// The highest failed parent of `id`, from its parents' current states.
    fn cause(&self, id: ObjectId) -> Option<ObjectId> {
        self.objects[id].dep.parents.iter().find_map(|p| self.failing(*p))
    }

    /// The state and output an object gets in dependency failure caused by `cause`.
    fn imposed(&self, id: ObjectId, cause: ObjectId) -> (State, String) {
        let c = &self.objects[cause];
        let output = match &c.service {
            None => dependency::host_failure(&c.host),
            Some(s) => dependency::service_failure(s),
        };
        let state = match (self.objects[id].is_host(), c.is_host()) {
            // UNREACHABLE: a host's UNKNOWN.
            (true, _) => State::Unknown,
            (false, true) => State::Critical,
            (false, false) => State::Unknown,
        };
        (state, output)
    }

    /// What `failing` says before a change of `id`, to compare after.
    pub(super) fn failing_before(&self, id: ObjectId) -> Option<ObjectId> {
        self.failing(id)
    }

    /// After object `id` changed: if its failing changed, every object
    /// below it, parents first, enters, changes or leaves dependency failure.
    pub(super) fn propagate(&mut self, id: ObjectId, before: Option<ObjectId>, now: Time) -> Vec<Finished> {
        if self.failing(id) == before {
            return Vec::new();
        }
        let mut below = Vec::new();
        let mut seen = vec![false; self.objects.len()];
        let mut stack = self.objects[id].dep.children.clone();
        while let Some(c) = stack.pop() {
            if std::mem::replace(&mut seen[c], true) {
                continue;
            }
            below.push(c);
            stack.extend(self.objects[c].dep.children.iter().copied());
        }
        below.sort_by_key(|c| self.objects[*c].dep.rank);
        let mut out = Vec::new();
        for c in below {
            if let Some(f) = self.reevaluate(c, now) {
                out.push(f);
            }
        }
        out
    }

    /// Brings object `id`'s dependency failure in line with its parents.
    fn reevaluate(&mut self, id: ObjectId, now: Time) -> Option<Finished> {
        let cause = self.cause(id);
        let o = &self.objects[id];
        match (&o.dep.failure, cause) {
            (None, None) => None,
            (None, Some(cause)) => {
                let (state, output) = self.imposed(id, cause);
                let o = &mut self.objects[id];
                let saved = Some(o.state.clone());
                let t = dependency::impose(&o.state, state, output.clone(), now);
                o.dep.failure = Some(Box::new(Failure { cause, output, saved, rechecked: false }));
                self.scheduler.unschedule(id);
                Some(self.dependency_result(id, t, now))
            }
            (Some(f), Some(cause)) if f.cause != cause => {
                let (state, output) = self.imposed(id, cause);
                let o = &mut self.objects[id];
                let t = dependency::impose(&o.state, state, output.clone(), now);
                if let Some(f) = &mut o.dep.failure {
                    f.cause = cause;
                    f.output = output;
                }
                Some(self.dependency_result(id, t, now))
            }
            (Some(_), Some(_)) => None,
            (Some(_), None) => {
                let o = &mut self.objects[id];
                let failure = o.dep.failure.take().expect("in failure");
                let restored = failure.saved.is_some();
                let t = match &failure.saved {
                    Some(saved) => dependency::restore(&o.state, saved, now),
                    None => Transition { state: o.state.clone(), events: Vec::new() },
                };
                // Nothing restored: no state change, no result event, but
                // retention forgets the failure all the same.
                let mut finished = self.dependency_result(id, t, now);
                if !restored {
                    let key = self.objects[id].key();
                    finished.events = vec![Event::Bookkeeping(Bookkeeping(Note::DependencyCleared(key)))];
                }
                // Back to active checking.
                let o = &self.objects[id];
                let at = if restored {
                    now + next_check_after(&o.state, &o.schedule.state_config(self.semantics))
                } else {
                    now
                };
                self.schedule_next(id, at, now);
                Some(finished)
            }
        }
    }

    /// Applies a transition the engine imposed or restored: an
    /// `Event::Result` with source `dependency`, no notification, no handler.
    fn dependency_result(&mut self, id: ObjectId, transition: Transition, now: Time) -> Finished {
        let o = &mut self.objects[id];
        let previous = (o.state.state, o.state.state_type);
        let Transition { state, events: changes } = transition;
        o.state = state;
        let result =
            self.result_event(id, previous, changes, Source::Dependency, Timing::default(), true, Vec::new(), now);
        Finished { events: vec![Event::Result(result)], dependents: Vec::new() }
    }

    /// Object `id`'s dependency failure as the store keeps it.
    pub(super) fn dependency_record(&self, id: ObjectId) -> Option<DependencyFailure> {
        let f = self.objects[id].dep.failure.as_ref()?;
        let c = &self.objects[f.cause];
        Some(DependencyFailure {
            cause: (c.host.to_string(), c.service.as_deref().map(str::to_string)),
            output: f.output.clone(),
            saved: f.saved.clone(),
        })
    }

    /// Puts back a dependency failure the store kept (after
    /// [`Engine::restore`]). A cause no longer configured is ignored.
    pub fn restore_dependency(&mut self, id: ObjectId, failure: DependencyFailure) {
        let Some(cause) = self.find(&failure.cause.0, failure.cause.1.as_deref()) else { return };
        self.objects[id].dep.failure =
            Some(Box::new(Failure { cause, output: failure.output, saved: failure.saved, rechecked: false }));
        self.scheduler.unschedule(id);
    }

    /// Brings every object's dependency failure in line with its parents'
    /// states, parents first: after restoring retained state at a start (a
    /// configuration may have changed the parents since). Returns what
    /// changed, to persist.
    pub fn settle_dependencies(&mut self, now: Time) -> Vec<Finished> {
        let mut ids: Vec<ObjectId> = (0..self.objects.len()).collect();
        ids.sort_by_key(|id| self.objects[*id].dep.rank);
        ids.into_iter().filter_map(|id| self.reevaluate(id, now)).collect()
    }

    /// Called before a result is processed: a passive result during a
    /// dependency failure discards the saved state; any result but a stale
    /// one makes the object fresh.
    pub(super) fn before_result(&mut self, id: ObjectId, source: Source, now: Time) {
        let d = &mut self.objects[id].dep;
        if source == Source::Passive
            && let Some(f) = &mut d.failure
        {
            f.saved = None;
        }
        if source != Source::Freshness {
            d.since = Some(now);
            d.stale = false;
        }
    }

    /// Whether object `id` is in dependency failure (no notification, no
    /// event handler).
    pub(super) fn in_failure(&self, id: ObjectId) -> bool {
        self.objects[id].dep.failure.is_some()
    }

    /// A manual recheck of object `id` in dependency failure finished: it
    /// re-enters the failure when it is due next.
    pub(super) fn rechecked(&mut self, id: ObjectId) {
        if let Some(f) = &mut self.objects[id].dep.failure {
            f.rechecked = true;
        }
    }

    /// Schedules object `id` after a result at `now`: at `at` if it is
    /// checked actively (`at` is the check interval's due time), or at its
    /// freshness deadline, whichever comes first; a passive-only object
    /// without a threshold is not scheduled.
    pub(super) fn schedule_next(&mut self, id: ObjectId, at: Time, now: Time) {
        // Outside the check period, the check moves to its next start.
        let at = self.in_check_period(id, at);
        let d = &self.objects[id].dep;
        let deadline = d.passive.freshness_threshold.map(|t| (d.since.unwrap_or(now) + t).max(now));
        let due = match (d.passive.active_checks && d.has_check, deadline) {
            (true, Some(deadline)) => Some(at.min(deadline)),
            (true, None) => Some(at),
            (false, deadline) => deadline,
        };
        match due {
            Some(due) => self.scheduler.schedule(id, due),
            None => {
                self.scheduler.unschedule(id);
            }
        }
    }

    /// Schedules object `id`'s first check at `at` (with freshness, a
    /// passive-only object's first deadline counts from its last result or
    /// from `at`). An object in dependency failure is not scheduled.
    pub fn schedule_first(&mut self, id: ObjectId, at: Time) {
        if self.in_failure(id) {
            return;
        }
        let o = &mut self.objects[id];
        let since = *o.dep.since.get_or_insert(o.state.last_check.unwrap_or(at));
        if o.dep.passive.active_checks && o.dep.has_check {
            self.scheduler.schedule(id, at);
        } else {
            let deadline = o.dep.passive.freshness_threshold.map(|t| (since + t).max(at));
            if let Some(d) = deadline {
                self.scheduler.schedule(id, d);
            }
        }
    }

    /// What to do with object `id`, taken from the schedule at `now`: run
    /// its check, or the engine's own result (re-entering dependency
    /// failure after a manual recheck, a stale result).
    pub fn on_due(&mut self, id: ObjectId, now: Time) -> Due {
        if let Some(f) = &self.objects[id].dep.failure {
            if !f.rechecked {
                return Due::Skip;
            }
            let (state, output) = self.imposed(id, f.cause);
            if let Some(f) = &mut self.objects[id].dep.failure {
                f.rechecked = false;
            }
            let o = &mut self.objects[id];
            let t = dependency::impose(&o.state, state, output, now);
            return Due::Handled(Box::new(self.dependency_result(id, t, now)));
        }
        // Outside the check period: no check, no freshness check (seed 002);
        // it falls due again when the period opens.
        if let Some(open) = self.check_period_closed(id, now) {
            if let Some(open) = open {
                self.scheduler.schedule(id, open);
            }
            return Due::Skip;
        }
        let d = &self.objects[id].dep;
        let since = d.since.unwrap_or_default();
        let stale = d.passive.freshness_threshold.is_some_and(|t| since + t <= now);
        if d.has_check {
            self.objects[id].dep.stale |= stale;
            return Due::Run;
        }
        if !stale {
            return Due::Skip;
        }
        let o = &mut self.objects[id];
        o.dep.stale = true;
        let outcome = Outcome {
            perfdata_errors: Vec::new(),
            state: o.dep.passive.stale_state,
            summary: stale_output(now.saturating_sub(since), self.wall_time(since)),
            long_output: None,
            metrics: Vec::new(),
            duration: Duration::ZERO,
            termination: Termination::Completed,
            truncated: false,
        };
        let f = self.process(id, outcome, now, Source::Freshness, Timing::default());
        if let Some(t) = self.objects[id].dep.passive.freshness_threshold {
            self.scheduler.schedule(id, now + t);
        }
        Due::Handled(Box::new(f))
    }

    /// Refuses a passive result for object `id` if it takes none
    /// (`passive_checks = false`).
    pub fn accepts_passive(&self, id: ObjectId) -> Result<(), Error> {
        let o = &self.objects[id];
        if o.dep.passive.passive_checks {
            return Ok(());
        }
        Err(Refusal::PassiveDisabled { host: o.host.to_string(), service: o.service.as_deref().map(str::to_string) }
            .into())
    }

    /// Refuses a manual recheck of object `id` if it has no check.
    pub fn can_run(&self, id: ObjectId) -> Result<(), Error> {
        let o = &self.objects[id];
        if o.dep.has_check {
            return Ok(());
        }
        Err(Refusal::NoCheck { host: o.host.to_string(), service: o.service.as_deref().map(str::to_string) }.into())
    }
}

/// A stale object's output: how long without a result, and since when.
pub(crate) fn stale_output(for_: Duration, since: Time) -> String {
    let since = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(since.as_secs()));
    format!(
        "Result is stale: no result for {}, since {since}",
        humantime::format_duration(Duration::from_secs(for_.as_secs()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_message_says_for_how_long_and_since_when() {
        let since = Duration::from_secs(1_796_119_200); // 2026-12-01T10:00:00Z
        assert_eq!(
            stale_output(Duration::from_secs(615), since),
            "Result is stale: no result for 10m 15s, since 2026-12-01T10:00:00Z"
        );
    }
}
