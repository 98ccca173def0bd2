//! The engine task's side of the cluster: hands zoned checks out in
//! batches, takes their results back (dropping duplicates and late ones),
//! and gives up on runs nobody answered.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::status::Counters;
use super::wire::{Job, Key, ResultBatch};
use super::{ClusterChange, ClusterSettings};
use crate::engine::PendingCheck;
use crate::outcome::{Outcome, State, Termination};
use crate::sandbox::module::CheckRun;
use crate::sandbox::values::Values;
use crate::schedule::ObjectId;
use crate::state::Time;

/// What the engine task sends the link.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Put this module in the bucket (if it is not there) before any job
    /// that names it.
    Module { name: String, digest: String },
    /// Publish these jobs of `zone`.
    Jobs { zone: Arc<str>, expires: f64, jobs: Vec<Job> },
}

/// What the link sends the engine task.
#[derive(Debug)]
pub(crate) enum Incoming {
    Results(ResultBatch),
    Change { change: ClusterChange, worker: Option<String>, zone: Option<String>, message: String },
}

/// A run handed out and not answered yet.
struct InFlight {
    key: Key,
    zone: Arc<str>,
    due: Time,
    serial: u64,
    /// The value store that went out with it: the object gets it back if
    /// nobody answers.
    values: Values,
    /// How long it was given.
    waited: Duration,
    /// When it is given up.
    deadline: Time,
}

/// A finished run to apply: the object, when it was due, the run.
pub(crate) type Run = (ObjectId, Time, CheckRun);

/// The engine task's side of the cluster.
pub(crate) struct Remote {
    settings: ClusterSettings,
    out: mpsc::UnboundedSender<Outgoing>,
    /// Results and cluster changes from the link.
    pub(crate) incoming: mpsc::UnboundedReceiver<Incoming>,
    /// Jobs of this turn, by zone.
    outbox: BTreeMap<Arc<str>, Vec<Job>>,
    /// When the jobs in the outbox are given up, at the latest.
    outbox_expires: Time,
    /// Digests put in the bucket (or asked to be).
    published: HashSet<String>,
    in_flight: HashMap<ObjectId, InFlight>,
    /// Deadlines of the runs in flight, earliest first (stale entries are
    /// skipped: their serial is not the run's any more).
    deadlines: BinaryHeap<Reverse<(Time, u64, ObjectId)>>,
    serial: u64,
    /// Each object's last key applied or given up: a result with it again
    /// is a duplicate or late.
    done: HashMap<ObjectId, (Key, bool)>,
    counters: Arc<Counters>,
    /// Dropped with the task: the link's tasks end.
    _stop: watch::Sender<bool>,
}

impl Remote {
    pub(crate) fn new(
        settings: ClusterSettings,
        out: mpsc::UnboundedSender<Outgoing>,
        incoming: mpsc::UnboundedReceiver<Incoming>,
        counters: Arc<Counters>,
        stop: watch::Sender<bool>,
    ) -> Remote {
        Remote {
            settings,
            out,
            incoming,
            outbox: BTreeMap::new(),
            outbox_expires: Time::ZERO,
            published: HashSet::new(),
            in_flight: HashMap::new(),
            deadlines: BinaryHeap::new(),
            serial: 0,
            done: HashMap::new(),
            counters,
            _stop: stop,
        }
    }

    /// Makes sure the module `name` with `digest` is in the bucket before
    /// a job names it.
    pub(crate) fn publish_module(&mut self, name: &str, digest: &str) {
        if self.published.insert(digest.to_string()) {
            let _ = self.out.send(Outgoing::Module { name: name.to_string(), digest: digest.to_string() });
        }
    }

    /// Hands object `id`'s check (started by the engine) to `zone`'s
    /// workers; `host`, `service` and `attempt` make its key with `due`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn dispatch(
        &mut self,
        id: ObjectId,
        due: Time,
        now: Time,
        zone: &str,
        (host, service, attempt): (&str, Option<&str>, u32),
        pending: PendingCheck,
    ) {
        let key = Key {
            host: host.to_string(),
            service: service.map(str::to_string),
            scheduled: due.as_millis() as u64,
            attempt,
        };
        let digest = pending.module.digest_hex();
        self.publish_module(pending.module.name(), &digest);
        let waited = pending.call.limits.timeout + self.settings.grace;
        let deadline = now + waited;
        self.serial += 1;
        let zone: Arc<str> = match self.outbox.keys().find(|z| &***z == zone) {
            Some(z) => z.clone(),
            None => Arc::from(zone),
        };
        self.counters.in_flight(&zone, 1);
        Counters::add(&self.counters.dispatched, 1);
        self.deadlines.push(Reverse((deadline, self.serial, id)));
        self.in_flight.insert(
            id,
            InFlight {
                key: key.clone(),
                zone: zone.clone(),
                due,
                serial: self.serial,
                values: pending.call.values.clone(),
                waited,
                deadline,
            },
        );
        self.outbox_expires = self.outbox_expires.max(deadline);
        self.outbox.entry(zone).or_default().push(Job {
            key,
            module: pending.module.name().to_string(),
            digest,
            call: pending.call,
        });
    }

    /// Sends this turn's jobs to the link.
    pub(crate) fn flush(&mut self) {
        let expires = self.outbox_expires.as_secs_f64();
        for (zone, jobs) in std::mem::take(&mut self.outbox) {
            let _ = self.out.send(Outgoing::Jobs { zone, expires, jobs });
        }
        self.outbox_expires = Time::ZERO;
    }

    /// When the earliest run in flight is given up.
    pub(crate) fn next_deadline(&mut self) -> Option<Time> {
        while let Some(Reverse((at, serial, id))) = self.deadlines.peek() {
            if self.in_flight.get(id).is_some_and(|f| f.serial == *serial) {
                return Some(*at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// The runs whose deadline has passed, given up: each ends UNKNOWN
    /// with a message naming its zone.
    pub(crate) fn expired(&mut self, now: Time) -> Vec<Run> {
        let mut runs = Vec::new();
        while let Some(at) = self.next_deadline() {
            if at > now {
                break;
            }
            let Some(Reverse((_, _, id))) = self.deadlines.pop() else { break };
            let Some(f) = self.in_flight.remove(&id) else { continue };
            self.counters.in_flight(&f.zone, -1);
            Counters::add(&self.counters.unanswered, 1);
            let summary = format!(
                "No worker in zone {} answered within {}",
                f.zone,
                humantime::format_duration(Duration::from_secs(f.waited.as_secs().max(1)))
            );
            tracing::warn!(host = %f.key.host, service = f.key.service.as_deref().unwrap_or(""), zone = %f.zone, "{summary}");
            self.done.insert(id, (f.key, false));
            runs.push((id, f.due, unanswered(summary, f.values)));
        }
        runs
    }

    /// The results of a batch to apply: those whose key is the run their
    /// object waits for. The others are dropped and counted.
    pub(crate) fn results(
        &mut self,
        batch: ResultBatch,
        find: impl Fn(&str, Option<&str>) -> Option<ObjectId>,
    ) -> Vec<Run> {
        let mut runs = Vec::with_capacity(batch.results.len());
        let (mut duplicates, mut late) = (0, 0);
        for r in batch.results {
            let id = find(&r.key.host, r.key.service.as_deref());
            let waited_for = id.and_then(|id| self.in_flight.get(&id).map(|f| (id, f.key == r.key)));
            match waited_for {
                Some((id, true)) => {
                    let f = self.in_flight.remove(&id).expect("in flight");
                    self.counters.in_flight(&f.zone, -1);
                    self.done.insert(id, (f.key, true));
                    runs.push((id, f.due, r.run));
                }
                _ => match id.and_then(|id| self.done.get(&id)) {
                    Some((key, true)) if *key == r.key => duplicates += 1,
                    _ => late += 1,
                },
            }
        }
        Counters::add(&self.counters.applied, runs.len() as u64);
        Counters::add(&self.counters.duplicates, duplicates);
        Counters::add(&self.counters.late, late);
        if duplicates + late > 0 {
            tracing::debug!(worker = %batch.worker, duplicates, late, "results dropped");
        }
        runs
    }

    /// How many runs are out with workers.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// After a configuration reload: object ids change (`ids` maps the old
    /// ones to the new; `None`: removed, its run's result will be late).
    pub(crate) fn remap(&mut self, ids: &[Option<ObjectId>]) {
        let old = std::mem::take(&mut self.in_flight);
        for (id, f) in old {
            match ids.get(id).copied().flatten() {
                Some(new) => {
                    self.in_flight.insert(new, f);
                }
                None => self.counters.in_flight(&f.zone, -1),
            }
        }
        self.deadlines = self.in_flight.iter().map(|(id, f)| Reverse((f.deadline, f.serial, *id))).collect();
        self.done = std::mem::take(&mut self.done)
            .into_iter()
            .filter_map(|(id, k)| Some((ids.get(id).copied().flatten()?, k)))
            .collect();
    }
}

/// The run of a check nobody answered.
fn unanswered(summary: String, values: Values) -> CheckRun {
    CheckRun {
        outcome: Outcome {
            state: State::Unknown,
            summary,
            long_output: None,
            metrics: Vec::new(),
            duration: Duration::ZERO,
            termination: Termination::HostError,
            truncated: false,
        },
        values,
    }
}
