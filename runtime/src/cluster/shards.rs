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
//!
//! An object's record also lists its notifications decided and not yet
//! delivered ([`Pending`]): one goes in with the turn that decided it
//! (before it is delivered, see [`Gated`]) and leaves with the first turn
//! after its delivery ended. A scheduler that takes the shard over
//! delivers again what its predecessor left pending, with the same id, so
//! delivery across a takeover is at least once (a receiver drops a repeat
//! by its id); a shard is handed back only when none of its notifications
//! is still being delivered.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::lease::StateOut;
use super::shard_of;
use crate::engine::Engine;
use crate::event::Event;
use crate::event::Note;
use crate::notify::{NotificationMessage, Notifier};
use crate::sandbox::values::Values;
use crate::schedule::ObjectId;
use crate::state::{Downtime, NotifyState, ObjectState, Time};

/// What the state bucket keeps of one object.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateRecord {
    pub host: String,
    pub service: Option<String>,
    pub state: ObjectState,
    pub notify: NotifyState,
    pub values: Values,
    /// Its notifications decided and not yet delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

/// A notification decided and not yet delivered: the contact and method
/// it goes to (by name and kind, looked up in the configuration of
/// whoever delivers it) and the message, id included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub contact: String,
    pub method: String,
    pub message: NotificationMessage,
}

/// The prefix of shard `shard`'s keys in the state bucket.
pub(crate) fn state_prefix(shard: u32) -> String {
    format!("s{shard}.")
}

/// The key of shard `shard`'s downtimes (of its hosts and their services)
/// in the state bucket: a list, put whole whenever the set changes.
pub(crate) fn downtimes_key(shard: u32) -> String {
    format!("d{shard}")
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
    /// The notifications of the shards led here that are decided and not
    /// yet delivered, by object.
    pending: Arc<Mutex<HashMap<Named, Vec<Pending>>>>,
    /// Every downtime, when the set changed since the last turn.
    downtimes: Arc<Mutex<Option<Arc<Vec<Downtime>>>>>,
}

impl Dirty {
    pub(crate) fn new(shards: u32) -> Dirty {
        Dirty {
            objects: Arc::default(),
            shards,
            led: (0..shards).map(|_| AtomicBool::new(false)).collect(),
            turn: Arc::default(),
            persisted: Arc::default(),
            pending: Arc::default(),
            downtimes: Arc::default(),
        }
    }

    /// What tells it of a delivery that ended (see
    /// [`crate::retention::writer::Delivered`]).
    pub(crate) fn delivered_hook(&self) -> crate::retention::writer::Delivered {
        let dirty = self.clone();
        Arc::new(move |message: &NotificationMessage| dirty.delivered(message))
    }

    /// The delivery of `message` ended: it is no longer pending, and its
    /// object's record is put again without it.
    fn delivered(&self, message: &NotificationMessage) {
        let object = (message.host.clone(), message.service.clone());
        let mut pending = self.pending.lock().expect("pending lock");
        let Some(list) = pending.get_mut(&object) else { return };
        let before = list.len();
        list.retain(|p| p.message.id != message.id);
        if list.len() == before {
            return;
        }
        if list.is_empty() {
            pending.remove(&object);
        }
        drop(pending);
        self.objects.lock().expect("dirty lock").push(object);
    }

    /// Notes `p` pending; false when it already was.
    fn note_pending(&self, p: Pending) -> bool {
        let object = (p.message.host.clone(), p.message.service.clone());
        let mut pending = self.pending.lock().expect("pending lock");
        let list = pending.entry(object).or_default();
        if list.iter().any(|q| q.message.id == p.message.id) {
            return false;
        }
        list.push(p);
        true
    }

    /// Whether a notification of shard `shard` is still being delivered.
    fn delivering(&self, shard: u32) -> bool {
        self.pending.lock().expect("pending lock").keys().any(|(host, _)| shard_of(host, self.shards) == shard)
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
                Event::Bookkeeping(b) => {
                    if let Note::Downtimes(all, _) = &b.0 {
                        *self.0.downtimes.lock().expect("downtimes lock") = Some(all.clone());
                    }
                    continue;
                }
                Event::Result(r) => (&r.host, r.service.as_deref()),
                Event::Notification(n) => {
                    // Pending from the turn that decided it (which [`Gated`]
                    // waits for) until its delivery ends; as `Gated`, not
                    // for a shard not led here.
                    if self.0.leads(&n.host)
                        && let Some((contact, message)) = crate::retention::writer::delivery(n)
                        && let Some(method) = contact.methods.first()
                    {
                        let method = method.kind().to_string();
                        self.0.note_pending(Pending { contact: contact.name, method, message });
                    }
                    (&n.host, n.service.as_deref())
                }
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
    /// and deliveries finishing; their states go out once none is left.
    draining: BTreeSet<u32>,
    out: mpsc::UnboundedSender<StateOut>,
    dirty: Dirty,
    /// Delivers what a shard taken over had pending (the engine's).
    pub(crate) notifier: Option<Arc<Notifier>>,
}

impl Sharding {
    pub(crate) fn new(shards: u32, out: mpsc::UnboundedSender<StateOut>, dirty: Dirty) -> Sharding {
        Sharding { shards, draining: BTreeSet::new(), out, dirty, notifier: None }
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
    /// scheduled; its hosts' downtimes become those the bucket kept, if
    /// it kept any. Returns how many objects were restored.
    pub(crate) fn gained(
        &mut self,
        engine: &mut Engine,
        shard: u32,
        records: Vec<StateRecord>,
        downtimes: Option<Vec<Downtime>>,
        now: Time,
    ) -> usize {
        if shard >= self.shards {
            return 0;
        }
        if let Some(downtimes) = downtimes {
            let shards = self.shards;
            engine.replace_downtimes(|host| shard_of(host, shards) == shard, downtimes);
        }
        self.dirty.set(shard, true);
        self.draining.remove(&shard);
        let mut restored = 0;
        let contacts = engine.contacts();
        for mut r in records {
            let Some(id) = engine.find(&r.host, r.service.as_deref()) else { continue };
            for p in std::mem::take(&mut r.pending) {
                self.deliver_again(&contacts, p);
            }
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

    /// Delivers a notification the previous leader of its shard left
    /// pending, with its id, unless it is being delivered here already.
    /// Until it has been, it stays pending in its object's record.
    fn deliver_again(&self, contacts: &HashMap<String, crate::config::Contact>, p: Pending) {
        let found = crate::retention::writer::one_method(contacts, Some(&p.contact), Some(&p.method));
        let (Some(notifier), Some(contact)) = (self.notifier.clone(), found) else {
            tracing::warn!(
                object = %p.message.object_name(),
                id = p.message.id,
                contact = %p.contact,
                method = %p.method,
                "a notification left pending by the shard's previous leader is dropped: its contact or method is not \
                 configured here"
            );
            return;
        };
        let message = p.message.clone();
        if !self.dirty.note_pending(p) {
            return;
        }
        tracing::info!(
            object = %message.object_name(),
            id = message.id,
            "delivering a notification left pending by the shard's previous leader"
        );
        let dirty = self.dirty.clone();
        tokio::spawn(async move {
            let _ = notifier.deliver(&contact, &message).await;
            dirty.delivered(&message);
        });
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
        // The downtimes changed: each shard led (or draining) gets its list.
        if let Some(all) = self.dirty.downtimes.lock().expect("downtimes lock").take() {
            for shard in 0..self.shards {
                if !self.dirty.led[shard as usize].load(Ordering::Relaxed) && !self.draining.contains(&shard) {
                    continue;
                }
                let of: Vec<&Downtime> = all.iter().filter(|d| shard_of(&d.host, self.shards) == shard).collect();
                if let Ok(bytes) = serde_json::to_vec(&of) {
                    puts.push((downtimes_key(shard), Bytes::from(bytes)));
                }
            }
        }
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
            if ids.iter().any(|id| engine.is_running(*id)) || self.dirty.delivering(shard) {
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
        let object = (host.to_string(), service.map(str::to_string));
        let pending = self.dirty.pending.lock().expect("pending lock").get(&object).cloned().unwrap_or_default();
        let record = StateRecord {
            host: object.0,
            service: object.1,
            state: state.clone(),
            notify: *notify,
            values: values.clone(),
            pending,
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

    /// The events of two simulated seconds of service `h`/`s`, CRITICAL
    /// HARD at once and notified (to contact `ops`, by log, with `extra`
    /// `contacts = ["ops"]`).
    async fn critical_service(extra: &str) -> Vec<Event> {
        let text = format!(
            "[[contact]]\nname = \"ops\"\nmethods = [{{ type = \"log\" }}]\n\n\
             [[host]]\nname = \"h\"\n\n[[service]]\nhost = \"h\"\nname = \"s\"\ncheck = \"dummy\"\n\
             {extra}max_check_attempts = 1\nparams = {{ sequence = \"CRITICAL\" }}\n"
        );
        let config = crate::config::parse(&text, std::path::Path::new("t.toml")).unwrap();
        let sandbox = crate::Sandbox::builder().cache_dir(None).build().unwrap();
        let mut events = Vec::new();
        crate::engine::simulate(&config, &sandbox, std::time::Duration::from_secs(2), |e| events.push(e.clone()))
            .await
            .unwrap();
        events
    }

    #[tokio::test]
    async fn a_notification_stays_pending_in_its_object_s_record_until_its_delivery_ends() {
        let events = critical_service("contacts = [\"ops\"]\n").await;
        let notification = events.iter().find(|e| matches!(e, Event::Notification(_))).unwrap().clone();
        let object: Named = ("h".into(), Some("s".into()));

        let dirty = Dirty::new(4);
        let shard = shard_of("h", 4);
        // Not led here: not this scheduler's to deliver, nothing pending.
        Noter(dirty.clone()).events(std::slice::from_ref(&notification));
        assert!(!dirty.delivering(shard));
        dirty.objects.lock().unwrap().clear();

        dirty.set(shard, true);
        Noter(dirty.clone()).events(std::slice::from_ref(&notification));
        let pending = dirty.pending.lock().unwrap().get(&object).cloned().unwrap();
        assert_eq!(pending.len(), 1);
        let Event::Notification(n) = &notification else { unreachable!() };
        assert_eq!((pending[0].message.id, &*pending[0].contact, &*pending[0].method), (n.id, "ops", "log"));
        assert!(dirty.delivering(shard));
        assert!(!dirty.delivering((shard + 1) % 4));
        // Noted again (delivered again after a takeover): still once.
        assert!(!dirty.note_pending(pending[0].clone()));
        assert_eq!(*dirty.objects.lock().unwrap(), std::slice::from_ref(&object));

        // In the record it goes to the bucket with; an older record without
        // the field still reads.
        let record = StateRecord {
            host: "h".into(),
            service: Some("s".into()),
            state: ObjectState::default(),
            notify: NotifyState::default(),
            values: Values::default(),
            pending: pending.clone(),
        };
        let json = serde_json::to_value(&record).unwrap();
        let back: StateRecord = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back.pending, pending);
        let mut older = json;
        older.as_object_mut().unwrap().remove("pending");
        assert!(serde_json::from_value::<StateRecord>(older).unwrap().pending.is_empty());

        // Its delivery ended: no longer pending, and the object is put again.
        dirty.objects.lock().unwrap().clear();
        (dirty.delivered_hook())(&pending[0].message);
        assert!(dirty.pending.lock().unwrap().is_empty());
        assert!(!dirty.delivering(shard));
        assert_eq!(*dirty.objects.lock().unwrap(), [object]);
        // A second report of the same delivery changes nothing.
        dirty.objects.lock().unwrap().clear();
        dirty.delivered(&pending[0].message);
        assert!(dirty.objects.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn notifications_wait_for_their_turn_s_states_and_those_not_led_here_are_dropped() {
        let events = critical_service("").await;
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
