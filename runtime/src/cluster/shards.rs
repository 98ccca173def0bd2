//! The engine task's side of the shards: which shards this scheduler
//! leads, the objects' states it keeps in the KV bucket `<name>_state`,
//! the shards it takes over and hands back.
//!
//! Every scheduler of a cluster loads the whole configuration; an object
//! belongs to shard `shard_of(host)` ([`super::shard_of`]) and is checked
//! only by the scheduler that leads that shard: the others drop it from
//! their schedule when it comes due. After each engine turn the leader
//! puts the state of each object that changed (state, state type,
//! attempt, last changes, notification bookkeeping, acknowledgement,
//! value store) under `s<shard>.h<host in hex>[.s<service in hex>]`; a
//! scheduler that takes a shard over restores its objects from those
//! keys and schedules them, spread over their intervals.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::lease::StateOut;
use super::shard_of;
use crate::engine::Engine;
use crate::event::Event;
use crate::sandbox::values::Values;
use crate::schedule::ObjectId;
use crate::state::{NotifyState, ObjectState, Time};

/// What the state bucket keeps of one object.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateRecord {
    pub host: String,
    pub service: Option<String>,
    pub state: ObjectState,
    pub notify: NotifyState,
    pub values: Values,
}

/// The prefix of shard `shard`'s keys in the state bucket.
pub(crate) fn state_prefix(shard: u32) -> String {
    format!("s{shard}.")
}

/// The key of an object's state (names in hex: a KV key takes only
/// letters, digits and a few signs).
fn state_key(shard: u32, host: &str, service: Option<&str>) -> String {
    match service {
        Some(s) => format!("s{shard}.h{}.s{}", hex::encode(host), hex::encode(s)),
        None => format!("s{shard}.h{}", hex::encode(host)),
    }
}

/// An object by its host and service names.
type Named = (String, Option<String>);

/// What the engine task, the pipeline and the state writer share: the
/// objects named by the events published since the last turn, the shards
/// led, and the turns whose states are stored.
#[derive(Clone)]
pub(crate) struct Dirty {
    objects: Arc<Mutex<Vec<Named>>>,
    shards: u32,
    led: Arc<[AtomicBool]>,
    /// The engine task's turns so far (see [`Sharding::turn`]).
    turn: Arc<AtomicU64>,
    /// The last turn whose states are in the bucket.
    pub(crate) persisted: Arc<AtomicU64>,
}

impl Dirty {
    pub(crate) fn new(shards: u32) -> Dirty {
        Dirty {
            objects: Arc::default(),
            shards,
            led: (0..shards).map(|_| AtomicBool::new(false)).collect(),
            turn: Arc::default(),
            persisted: Arc::default(),
        }
    }

    /// Whether this scheduler leads the shard of `host`.
    pub(crate) fn leads(&self, host: &str) -> bool {
        self.led[shard_of(host, self.shards) as usize].load(Ordering::Relaxed)
    }

    fn set(&self, shard: u32, led: bool) -> bool {
        self.led.get(shard as usize).is_some_and(|l| l.swap(led, Ordering::Relaxed))
    }
}

/// The subscriber that notes the objects named by each step's events.
pub(crate) struct Noter(pub(crate) Dirty);

impl crate::pipeline::Subscriber for Noter {
    fn events(&mut self, step: &[Event]) {
        let mut dirty = self.0.objects.lock().expect("dirty lock");
        for e in step {
            let (host, service): (&str, Option<&str>) = match e {
                Event::Result(r) => (&r.host, r.service.as_deref()),
                Event::Notification(n) => (&n.host, n.service.as_deref()),
                Event::Flapping { host, service, .. }
                | Event::Acknowledgement { host, service, .. }
                | Event::NotificationSuppressed { host, service, .. } => (host, service.as_deref()),
                _ => continue,
            };
            dirty.push((host.to_string(), service.map(str::to_string)));
        }
    }
}

/// Persist before deliver, for the shards: wraps the first subscriber
/// (retention, which hands notifications on, or the deliverer) and holds
/// the notifications of each step, in order, until the states of the turn
/// they belong to are in the state bucket. A scheduler
/// that dies before that has delivered nothing the next leader does not
/// know of; the next leader decides the notification again. A
/// notification of an object whose shard is not led here (a run that
/// finished after its shard was lost) is dropped: the leader decides.
pub(crate) struct Gated {
    inner: Box<dyn crate::pipeline::Subscriber>,
    dirty: Dirty,
    held: std::collections::VecDeque<(u64, Vec<Event>)>,
}

impl Gated {
    pub(crate) fn new(inner: impl crate::pipeline::Subscriber + 'static, dirty: Dirty) -> Gated {
        Gated { inner: Box::new(inner), dirty, held: Default::default() }
    }

    fn release(&mut self) {
        let persisted = self.dirty.persisted.load(Ordering::Acquire);
        while self.held.front().is_some_and(|(turn, _)| *turn <= persisted) {
            let (_, step) = self.held.pop_front().expect("a step");
            self.inner.events(&step);
        }
    }
}

/// Pushes the pipeline's first subscriber, gated with a cluster.
pub(crate) fn push_first(
    pipeline: &mut crate::pipeline::Pipeline,
    s: impl crate::pipeline::Subscriber + 'static,
    dirty: Option<&Dirty>,
) {
    match dirty {
        Some(d) => pipeline.push(Gated::new(s, d.clone())),
        None => pipeline.push(s),
    }
}

impl crate::pipeline::Subscriber for Gated {
    fn events(&mut self, step: &[Event]) {
        if !step.iter().any(|e| matches!(e, Event::Notification(_))) {
            self.inner.events(step);
            return;
        }
        // The rest of the step goes on now (an answer to an input still
        // means "kept"); its notifications wait for the states of the turn.
        let (notifications, rest): (Vec<Event>, Vec<Event>) =
            step.iter().cloned().partition(|e| matches!(e, Event::Notification(_)));
        if !rest.is_empty() {
            self.inner.events(&rest);
        }
        let notifications: Vec<Event> = notifications
            .into_iter()
            .filter(|e| matches!(e, Event::Notification(n) if self.dirty.leads(&n.host)))
            .collect();
        if !notifications.is_empty() {
            // Covered by the states the next turn writes.
            let turn = self.dirty.turn.load(Ordering::Relaxed) + 1;
            self.held.push_back((turn, notifications));
        }
    }

    fn flush(&mut self) {
        self.release();
        self.inner.flush();
    }
}

impl Drop for Gated {
    /// At a stop: what is held goes on once its states are stored (for
    /// two seconds at most).
    fn drop(&mut self) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !self.held.is_empty() && std::time::Instant::now() < until {
            self.release();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for (_, step) in std::mem::take(&mut self.held) {
            self.inner.events(&step);
        }
        self.inner.flush();
    }
}

/// Which shards this scheduler leads, and its writes to the state bucket.
pub(crate) struct Sharding {
    shards: u32,
    /// Shards being handed back: not scheduled any more, their runs
    /// finishing; their states go out once none runs.
    draining: BTreeSet<u32>,
    out: mpsc::UnboundedSender<StateOut>,
    dirty: Dirty,
}

impl Sharding {
    pub(crate) fn new(shards: u32, out: mpsc::UnboundedSender<StateOut>, dirty: Dirty) -> Sharding {
        Sharding { shards, draining: BTreeSet::new(), out, dirty }
    }

    /// Whether this scheduler leads the shard of `host`.
    pub(crate) fn leads(&self, host: &str) -> bool {
        self.dirty.leads(host)
    }

    fn objects(&self, engine: &Engine, shard: u32) -> Vec<ObjectId> {
        (0..engine.len()).filter(|id| shard_of(engine.run_key(*id).0, self.shards) == shard).collect()
    }

    /// Shard `shard` is led here from now on: its objects get the states
    /// the bucket kept (from the scheduler that led it before) and are
    /// scheduled.
    pub(crate) fn gained(&mut self, engine: &mut Engine, shard: u32, records: Vec<StateRecord>, now: Time) -> usize {
        if shard >= self.shards {
            return 0;
        }
        self.dirty.set(shard, true);
        self.draining.remove(&shard);
        let mut restored = 0;
        for r in records {
            let Some(id) = engine.find(&r.host, r.service.as_deref()) else { continue };
            if engine.is_running(id) {
                // Its run (started while this scheduler led the shard
                // before) brings the newer state.
                continue;
            }
            engine.restore(id, crate::retention::Retained { state: r.state, notify: r.notify, values: r.values });
            restored += 1;
        }
        let ids = self.objects(engine, shard).into_iter().filter(|id| !engine.is_running(*id)).collect();
        engine.schedule_taken(ids, now);
        restored
    }

    /// Stops leading shard `shard` now (its lease is gone): nothing more
    /// of it is scheduled or written.
    pub(crate) fn lost(&mut self, shard: u32) {
        self.dirty.set(shard, false);
        self.draining.remove(&shard);
    }

    /// Hands shard `shard` back: nothing more of it is scheduled; once its
    /// runs are finished and its states written, its lease is given back.
    pub(crate) fn release(&mut self, shard: u32) {
        if self.dirty.set(shard, false) {
            self.draining.insert(shard);
        }
    }

    /// After an engine turn: the states of the objects that changed in
    /// shards led (or draining) go to the bucket, and drained shards are
    /// handed back.
    pub(crate) fn turn(&mut self, engine: &Engine) {
        let turn = self.dirty.turn.fetch_add(1, Ordering::Relaxed) + 1;
        let dirty = std::mem::take(&mut *self.dirty.objects.lock().expect("dirty lock"));
        let noted = !dirty.is_empty();
        let mut puts = Vec::new();
        if !dirty.is_empty() {
            let mut done = HashSet::new();
            for (host, service) in dirty {
                let shard = shard_of(&host, self.shards);
                if !self.dirty.led[shard as usize].load(Ordering::Relaxed) && !self.draining.contains(&shard) {
                    continue;
                }
                let Some(id) = engine.find(&host, service.as_deref()) else { continue };
                if done.insert(id)
                    && let Some(r) = self.record(engine, id, shard)
                {
                    puts.push(r);
                }
            }
        }
        let mut drained = Vec::new();
        for &shard in &self.draining {
            let ids = self.objects(engine, shard);
            if ids.iter().any(|id| engine.is_running(*id)) {
                continue;
            }
            puts.extend(ids.into_iter().filter_map(|id| self.record(engine, id, shard)));
            drained.push(shard);
        }
        // Sent even when empty: the steps of this turn wait for it.
        if noted || !puts.is_empty() {
            let _ = self.out.send(StateOut::Put(puts, turn));
        }
        for shard in drained {
            self.draining.remove(&shard);
            let _ = self.out.send(StateOut::Drained(shard));
        }
    }

    fn record(&self, engine: &Engine, id: ObjectId, shard: u32) -> Option<(String, Bytes)> {
        let (state, notify, values) = engine.shard_state(id)?;
        let (host, service, _) = engine.run_key(id);
        let record = StateRecord {
            host: host.to_string(),
            service: service.map(str::to_string),
            state: state.clone(),
            notify: *notify,
            values: values.clone(),
        };
        let bytes = serde_json::to_vec(&record).ok()?;
        Some((state_key(shard, host, service), Bytes::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Subscriber;

    /// The kinds of the events it gets.
    struct Recorder(Arc<Mutex<Vec<&'static str>>>);

    impl Subscriber for Recorder {
        fn events(&mut self, step: &[Event]) {
            self.0.lock().unwrap().extend(step.iter().map(Event::kind));
        }
    }

    #[tokio::test]
    async fn notifications_wait_for_their_turn_s_states_and_those_not_led_here_are_dropped() {
        let text = "[[host]]\nname = \"h\"\n\n[[service]]\nhost = \"h\"\nname = \"s\"\ncheck = \"dummy\"\n\
                    max_check_attempts = 1\nparams = { sequence = \"CRITICAL\" }\n";
        let config = crate::config::parse(text, std::path::Path::new("t.toml")).unwrap();
        let sandbox = crate::Sandbox::builder().cache_dir(None).build().unwrap();
        let mut events = Vec::new();
        crate::engine::simulate(&config, &sandbox, std::time::Duration::from_secs(2), |e| events.push(e.clone()))
            .await
            .unwrap();
        let result = events.iter().find(|e| matches!(e, Event::Result(_))).unwrap().clone();
        let notification = events.iter().find(|e| matches!(e, Event::Notification(_))).unwrap().clone();

        let dirty = Dirty::new(4);
        let shard = shard_of("h", 4);
        dirty.set(shard, true);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut gated = Gated::new(Recorder(seen.clone()), dirty.clone());
        gated.events(&[result.clone(), notification.clone()]);
        gated.flush();
        // The result goes on; the notification waits for turn 1's states.
        assert_eq!(*seen.lock().unwrap(), ["result"]);
        dirty.turn.store(1, Ordering::Relaxed);
        gated.events(std::slice::from_ref(&notification));
        dirty.persisted.store(1, Ordering::Release);
        gated.flush();
        assert_eq!(*seen.lock().unwrap(), ["result", "notification"]);
        dirty.persisted.store(2, Ordering::Release);
        gated.flush();
        assert_eq!(*seen.lock().unwrap(), ["result", "notification", "notification"]);
        // Its shard lost: its notifications are the leader's to decide.
        dirty.set(shard, false);
        gated.events(&[result, notification]);
        dirty.persisted.store(9, Ordering::Release);
        gated.flush();
        drop(gated);
        assert_eq!(*seen.lock().unwrap(), ["result", "notification", "notification", "result"]);
    }
}
