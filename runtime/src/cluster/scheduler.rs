//! The engine task's side of the cluster: hands zoned checks out in
//! batches, takes their results back (dropping duplicates and late ones),
//! and gives up on runs nobody answered.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::status::Counters;
use super::wire::{Job, Key, ResultBatch};
use super::{ClusterChange, ClusterSettings};
use crate::engine::PendingCheck;
use crate::outcome::{Outcome, Termination};
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
    Change {
        change: ClusterChange,
        worker: Option<String>,
        zone: Option<String>,
        message: String,
    },
    /// This scheduler took shard `shard`'s lease: the states the bucket
    /// kept of its objects.
    Gained {
        shard: u32,
        records: Vec<super::shards::StateRecord>,
        /// Its hosts' downtimes, if its leaders kept any.
        downtimes: Option<Vec<crate::state::Downtime>>,
        message: String,
    },
    /// Shard `shard` is to be handed back (to balance the schedulers).
    Release {
        shard: u32,
    },
    /// The states of a turn are stored: the steps held for them go on.
    Persisted,
    /// Shard `shard` is not led here any more (lost or handed back).
    Shard {
        shard: u32,
        change: ClusterChange,
        message: String,
    },
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
    /// The shards this scheduler leads.
    pub(crate) sharding: Option<super::shards::Sharding>,
    /// The id before this scheduler's block of notification ids (see
    /// [`super::lease::reserve_ids`]).
    pub(crate) notification_ids: u64,
    /// Answered (dropped) once the leases are given back after a stop.
    pub(crate) closed: Option<oneshot::Receiver<()>>,
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
            sharding: None,
            notification_ids: 0,
            closed: None,
            _stop: stop,
        }
    }

    /// At a stop, after the last turn: the states still to store are
    /// stored and the shards' leases given back (see
    /// [`super::lease::Leases::run`]), for `lease` at most (when they
    /// would expire anyway).
    pub(crate) async fn close(&mut self) {
        self.sharding = None;
        if let Some(closed) = self.closed.take() {
            let _ = tokio::time::timeout(self.settings.lease, closed).await;
        }
    }

    /// Why an input about `host` and `service` is refused here: another
    /// scheduler leads its shard.
    pub(crate) fn refuse(&self, host: &str, service: Option<&str>) -> Option<crate::error::Error> {
        let sharding = self.sharding.as_ref()?;
        (!sharding.leads(host)).then(|| {
            crate::error::Error::Refused(crate::Refusal::LedElsewhere {
                host: host.to_string(),
                service: service.map(str::to_string),
                shard: super::shard_of(host, self.settings.shards),
            })
        })
    }

    /// Whether this scheduler checks the objects of `host`: it leads
    /// their shard (always without shards).
    pub(crate) fn leads(&self, host: &str) -> bool {
        self.sharding.as_ref().is_none_or(|s| s.leads(host))
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
    CheckRun { outcome: Outcome::not_run(summary, Termination::HostError), values }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::wire::JobResult;
    use crate::outcome::State;
    use crate::sandbox::module::CheckCall;

    fn remote() -> (Remote, mpsc::UnboundedReceiver<Outgoing>) {
        let (out, out_rx) = mpsc::unbounded_channel();
        let (_in_tx, in_rx) = mpsc::unbounded_channel();
        let (stop, _) = watch::channel(false);
        let settings = ClusterSettings { grace: Duration::from_secs(5), ..ClusterSettings::default() };
        (Remote::new(settings, out, in_rx, Arc::new(Counters::default()), stop), out_rx)
    }

    fn result(key: &Key, state: State) -> JobResult {
        let mut run = unanswered("ran".into(), Values::new());
        run.outcome.state = state;
        JobResult { key: key.clone(), run }
    }

    fn batch(results: Vec<JobResult>) -> ResultBatch {
        ResultBatch { worker: "w".into(), zone: "dc1".into(), results }
    }

    /// Applies each key once; drops a duplicate, a result of a run given
    /// up and one of an unknown object, and counts them.
    #[test]
    fn a_key_is_applied_once_and_late_results_are_dropped() {
        let sandbox = crate::Sandbox::builder().max_concurrency(1).cache_dir(None).build().unwrap();
        let (module, _) = sandbox.load_spec("dummy").unwrap();
        let (mut remote, mut out) = remote();
        let pending = || PendingCheck { module: module.clone(), call: CheckCall::default() };
        let find = |host: &str, service: Option<&str>| match (host, service) {
            ("web", Some("a")) => Some(0),
            ("web", Some("b")) => Some(1),
            _ => None,
        };
        let t0 = Time::from_secs(1_000);
        remote.dispatch(0, t0, t0, "dc1", ("web", Some("a"), 1), pending());
        remote.dispatch(1, t0, t0, "dc1", ("web", Some("b"), 2), pending());
        remote.flush();
        // The module goes out before the jobs that name it.
        let Some(Outgoing::Module { digest, .. }) = out.try_recv().ok() else { panic!("the module first") };
        let Some(Outgoing::Jobs { zone, jobs, expires }) = out.try_recv().ok() else { panic!("then the jobs") };
        assert_eq!((&*zone, jobs.len()), ("dc1", 2));
        assert_eq!(jobs[0].digest, digest);
        assert_eq!(expires, (t0 + Duration::from_secs(15)).as_secs_f64(), "timeout 10 s plus grace 5 s");
        let (a, b) = (jobs[0].key.clone(), jobs[1].key.clone());
        assert_eq!((a.scheduled, a.attempt), (1_000_000, 1));

        // a twice in one batch, then again: applied once.
        let runs = remote.results(batch(vec![result(&a, State::Ok), result(&a, State::Critical)]), find);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].2.outcome.state, State::Ok);
        assert!(remote.results(batch(vec![result(&a, State::Ok)]), find).is_empty());
        // b is given up at its deadline, UNKNOWN naming the zone; its result is late.
        assert!(remote.expired(t0 + Duration::from_secs(14)).is_empty());
        let given_up = remote.expired(t0 + Duration::from_secs(15));
        assert_eq!(given_up.len(), 1);
        assert_eq!(given_up[0].2.outcome.state, State::Unknown);
        assert_eq!(given_up[0].2.outcome.summary, "No worker in zone dc1 answered within 15s");
        assert!(remote.results(batch(vec![result(&b, State::Ok)]), find).is_empty());
        // An object nobody knows (removed): late.
        let gone = Key { host: "gone".into(), ..a.clone() };
        assert!(remote.results(batch(vec![result(&gone, State::Ok)]), find).is_empty());
        let c = &remote.counters;
        let counts = [&c.dispatched, &c.applied, &c.duplicates, &c.late, &c.unanswered].map(Counters::get);
        assert_eq!(counts, [2, 1, 2, 2, 1], "dispatched, applied, duplicates, late, unanswered");
        assert_eq!(remote.in_flight(), 0);
    }

    /// A reload moves runs in flight to their objects' new ids; a removed
    /// object's result is late.
    #[test]
    fn a_reload_keeps_runs_in_flight_under_their_new_ids() {
        let sandbox = crate::Sandbox::builder().max_concurrency(1).cache_dir(None).build().unwrap();
        let (module, _) = sandbox.load_spec("dummy").unwrap();
        let (mut remote, _out) = remote();
        let pending = || PendingCheck { module: module.clone(), call: CheckCall::default() };
        let t0 = Time::from_secs(1_000);
        remote.dispatch(0, t0, t0, "dc1", ("web", Some("a"), 1), pending());
        remote.dispatch(1, t0, t0, "dc1", ("web", Some("b"), 1), pending());
        remote.remap(&[None, Some(7)]);
        assert_eq!(remote.in_flight(), 1);
        let expired = remote.expired(t0 + Duration::from_secs(15));
        assert_eq!(expired.iter().map(|r| r.0).collect::<Vec<_>>(), [7]);
    }
}
