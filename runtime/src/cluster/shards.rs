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

/// The objects named by the events the engine published since the last
/// turn (a subscriber of the pipeline).
#[derive(Clone, Default)]
pub(crate) struct Dirty(Arc<Mutex<Vec<(String, Option<String>)>>>);

impl crate::pipeline::Subscriber for Dirty {
    fn events(&mut self, step: &[Event]) {
        let mut dirty = self.0.lock().expect("dirty lock");
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

/// Which shards this scheduler leads, and its writes to the state bucket.
pub(crate) struct Sharding {
    shards: u32,
    led: Vec<bool>,
    /// Shards being handed back: not scheduled any more, their runs
    /// finishing; their states go out once none runs.
    draining: BTreeSet<u32>,
    out: mpsc::UnboundedSender<StateOut>,
    dirty: Dirty,
}

impl Sharding {
    pub(crate) fn new(shards: u32, out: mpsc::UnboundedSender<StateOut>, dirty: Dirty) -> Sharding {
        Sharding { shards, led: vec![false; shards as usize], draining: BTreeSet::new(), out, dirty }
    }

    /// Whether this scheduler leads the shard of `host`.
    pub(crate) fn leads(&self, host: &str) -> bool {
        self.led[shard_of(host, self.shards) as usize]
    }

    fn objects(&self, engine: &Engine, shard: u32) -> Vec<ObjectId> {
        engine.keys().filter(|(_, k)| shard_of(&k.host, self.shards) == shard).map(|(id, _)| id).collect()
    }

    /// Shard `shard` is led here from now on: its objects get the states
    /// the bucket kept (from the scheduler that led it before) and are
    /// scheduled.
    pub(crate) fn gained(&mut self, engine: &mut Engine, shard: u32, records: Vec<StateRecord>, now: Time) -> usize {
        let Some(led) = self.led.get_mut(shard as usize) else { return 0 };
        *led = true;
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
        if let Some(led) = self.led.get_mut(shard as usize) {
            *led = false;
        }
        self.draining.remove(&shard);
    }

    /// Hands shard `shard` back: nothing more of it is scheduled; once its
    /// runs are finished and its states written, its lease is given back.
    pub(crate) fn release(&mut self, shard: u32) {
        if let Some(led) = self.led.get_mut(shard as usize)
            && *led
        {
            *led = false;
            self.draining.insert(shard);
        }
    }

    /// After an engine turn: the states of the objects that changed in
    /// shards led (or draining) go to the bucket, and drained shards are
    /// handed back.
    pub(crate) fn turn(&mut self, engine: &Engine) {
        let dirty = std::mem::take(&mut *self.dirty.0.lock().expect("dirty lock"));
        let mut puts = Vec::new();
        if !dirty.is_empty() {
            let mut done = HashSet::new();
            for (host, service) in dirty {
                let shard = shard_of(&host, self.shards);
                if !self.led[shard as usize] && !self.draining.contains(&shard) {
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
        if !puts.is_empty() {
            let _ = self.out.send(StateOut::Put(puts));
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
