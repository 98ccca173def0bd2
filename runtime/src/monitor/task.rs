//! The engine task: the loop that starts due checks on its workers,
//! applies finished ones, answers the handles' commands and publishes the
//! events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::Stats;
use crate::clock::Clock;
use crate::cluster::scheduler::{Incoming, Remote};
use crate::engine::{Applied, ConfigChange, Engine, Event, Finished, Input, ModuleStatus, ObjectStatus};
use crate::error::Error;
use crate::outcome::{Outcome, Termination};
use crate::pipeline::{Pipeline, Tracker};
use crate::refusal::Refusal;
use crate::retention::writer::Closer;
use crate::sandbox::module::CheckRun;
use crate::schedule::ObjectId;
use crate::state::{Downtime, Time};

pub(super) enum Command {
    /// An input to the engine, and where its answer goes.
    Apply(Input, Reply),
    /// Inputs applied in order in one command (the API's batches, hot-load
    /// changes).
    ApplyBatch(Vec<(Input, Reply)>),
    Status(Option<(String, Option<String>)>, oneshot::Sender<Result<Vec<ObjectStatus>, Error>>),
    Downtimes(oneshot::Sender<Vec<Downtime>>),
    ModuleStatus(oneshot::Sender<Vec<ModuleStatus>>),
    /// A new configuration's engine, built and loaded, to take over.
    Reload(Box<Engine>, oneshot::Sender<ConfigChange>),
    Stop,
}

/// What an applied input answers.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The result event of a passive result or a manual recheck.
    Result(Event),
    /// A downtime scheduled, with its id.
    Downtime(Downtime),
    /// The events of an acknowledgement, a cancellation, a module change.
    Events(Vec<Event>),
}

pub(super) type Reply = oneshot::Sender<Result<Answer, Error>>;

/// An answer not sent yet: it goes out once its step is committed.
type Pending = (Reply, Result<Answer, Error>);

/// A check for a worker: the configuration epoch its object id belongs
/// to, the object, when it was due, what to run.
pub(super) struct Job {
    epoch: u64,
    id: ObjectId,
    due: Time,
    pending: crate::engine::PendingCheck,
}

/// A finished run from a worker: the worker, the configuration epoch, the
/// object, when it was due, the run.
pub(super) type Done = (usize, u64, ObjectId, Time, CheckRun);

/// Runs the checks it is handed, one at a time, until the task drops its
/// sender. A check that panics (a host bug: guest failures are outcomes)
/// ends UNKNOWN and the worker goes on.
pub(super) async fn worker(index: usize, mut jobs: mpsc::UnboundedReceiver<Job>, done: mpsc::UnboundedSender<Done>) {
    use futures::FutureExt as _;
    while let Some(job) = jobs.recv().await {
        let run = std::panic::AssertUnwindSafe(job.pending.module.check(&job.pending.call))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(object = job.id, "a check run panicked: {why}");
                failed_run(&format!("Check run failed in wasmon: {why}"))
            });
        if done.send((index, job.epoch, job.id, job.due, run)).is_err() {
            break;
        }
    }
}

/// The engine task's state.
pub(super) struct Task {
    pub(super) engine: Engine,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) stats: Arc<Mutex<Stats>>,
    /// The subscribers, in order (see [`crate::pipeline`]).
    pub(super) pipeline: Pipeline,
    /// Closes retention (or waits for deliveries) at stop.
    pub(super) closer: Closer,
    /// Event handlers' `handler` events, to publish.
    pub(super) handled: mpsc::UnboundedReceiver<Event>,
    /// Event handler calls under way.
    pub(super) handlers: Arc<Tracker>,
    /// One long-lived task per slot runs checks: no task is spawned (and
    /// no check future moved into a new allocation) per run.
    pub(super) workers: Vec<mpsc::UnboundedSender<Job>>,
    /// Workers waiting for a check.
    pub(super) idle: Vec<usize>,
    /// Where workers hand back finished runs.
    pub(super) done: mpsc::UnboundedReceiver<Done>,
    /// Runs handed to workers and not back yet.
    pub(super) in_flight: usize,
    /// Objects asked to run now (`run_now`), before anything due.
    pub(super) urgent: std::collections::VecDeque<ObjectId>,
    /// Passive results for objects whose check is running, applied after it.
    pub(super) queued: HashMap<ObjectId, Vec<(Input, Reply)>>,
    /// Who waits for a manual recheck's result.
    pub(super) waiters: HashMap<ObjectId, Vec<Reply>>,
    /// Configuration reloads so far: object ids are those of this epoch.
    pub(super) epoch: u64,
    /// For runs started before a reload: each reload's map from the ids of
    /// the epoch before it to the ids after it (`None`: removed), oldest
    /// first, kept while such runs are in flight.
    pub(super) remaps: Vec<(u64, Vec<Option<ObjectId>>)>,
    /// With a `[cluster]`: where checks of zoned objects go (see
    /// [`crate::cluster`]).
    pub(super) remote: Option<Remote>,
    /// With a `[cluster]`: local checks taken from the schedule while
    /// zoned ones were, waiting for a slot, with when they were due.
    pub(super) backlog: std::collections::VecDeque<(ObjectId, Time)>,
}

/// With a `[cluster]`, how many local checks may wait for a slot outside
/// the schedule, so that zoned checks due behind them are handed out.
const BACKLOG: usize = 4096;

/// The next message from the cluster's link, or never without a cluster.
async fn incoming(remote: &mut Option<Remote>) -> Option<Incoming> {
    match remote {
        Some(r) => r.incoming.recv().await,
        None => std::future::pending().await,
    }
}

/// Most finished checks applied and committed together.
const BATCH: usize = 512;

/// The run of a check whose task failed.
fn failed_run(message: &str) -> CheckRun {
    CheckRun { outcome: Outcome::not_run(message, Termination::Trap), values: crate::Values::new() }
}

impl Task {
    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) -> Result<(), Error> {
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            // Downtimes start and end before the checks due with them.
            if self.engine.next_timer().is_some_and(|d| d <= self.clock.now()) {
                let events = self.engine.fire_timers(self.clock.now());
                self.pipeline.publish(&events);
            }
            // Start what is due now at once: a timer set to a moment already
            // past fires only at the timer wheel's next millisecond.
            let can_start = !self.idle.is_empty() || self.remote_room();
            if can_start
                && (!self.urgent.is_empty()
                    || (!self.backlog.is_empty() && !self.idle.is_empty())
                    || self.engine.next_check().is_some_and(|d| d <= self.clock.now()))
            {
                self.start_due();
            }
            let mut deadline = None;
            if let Some(remote) = &mut self.remote {
                // Zoned checks nobody answered in time end UNKNOWN.
                let runs = remote.expired(self.clock.now());
                if !runs.is_empty() {
                    self.apply_runs(runs);
                }
                let remote = self.remote.as_mut().expect("a cluster");
                remote.flush();
                deadline = remote.next_deadline();
            }
            // The states that changed go to the shards' state bucket.
            self.shard_turn();
            // One batch per turn for the subscribers that buffer.
            self.pipeline.flush();
            // At capacity, due checks wait in the schedule for a slot.
            let due = self.engine.next_check().filter(|_| !self.idle.is_empty() || self.remote_room());
            let due = [due, self.engine.next_timer(), deadline].into_iter().flatten().min();
            if let Some(due) = due {
                let wait = due.saturating_sub(self.clock.now());
                sleep.as_mut().reset(tokio::time::Instant::now() + wait);
            }
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    None | Some(Command::Stop) => break,
                    Some(c) => self.command(c),
                },
                () = &mut sleep, if due.is_some() => self.start_due(),
                n = self.done.recv_many(&mut batch, BATCH), if self.in_flight > 0 => {
                    if n > 0 {
                        self.finish(&mut batch);
                    }
                }
                Some(event) = self.handled.recv() => self.pipeline.publish(&[event]),
                Some(message) = incoming(&mut self.remote) => self.incoming(message),
            }
        }
        tracing::info!(in_flight = self.in_flight, "stopping: letting the checks in flight finish");
        while self.in_flight > 0 && self.done.recv_many(&mut batch, BATCH).await > 0 {
            self.finish(&mut batch);
        }
        // Zoned checks out with workers: their results for a while (their
        // value stores are out with them); the rest run again after a restart.
        let until = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.remote.as_ref().is_some_and(|r| r.in_flight() > 0) {
            match tokio::time::timeout_at(until, incoming(&mut self.remote)).await {
                Ok(Some(message)) => self.incoming(message),
                _ => break,
            }
        }
        self.workers.clear();
        // The event handlers under way finish and are published.
        self.handlers.idle().await;
        while let Ok(event) = self.handled.try_recv() {
            self.pipeline.publish(&[event]);
        }
        for (_, waiters) in self.waiters.drain() {
            for w in waiters {
                let _ = w.send(Err(Error::Stopped));
            }
        }
        for (_, queued) in self.queued.drain() {
            for (_, w) in queued {
                let _ = w.send(Err(Error::Stopped));
            }
        }
        // With shards: the states of the last results go to the bucket,
        // before the notifications they decided are delivered.
        self.shard_turn();
        // Embedders' subscribers get the last batch and end.
        self.pipeline.flush();
        drop(std::mem::take(&mut self.pipeline));
        // Retention writes everything, waits for the deliveries under way
        // and closes.
        self.closer.close().await;
        if let Some(remote) = &mut self.remote {
            // The deliveries that ended are no longer pending in the
            // bucket; then the leases are given back.
            if let Some(sharding) = &mut remote.sharding {
                sharding.turn(&self.engine);
            }
            remote.close().await;
        }
        tracing::info!("monitor stopped");
        Ok(())
    }

    /// With shards: the end of a turn (see
    /// [`crate::cluster::shards::Sharding::turn`]).
    fn shard_turn(&mut self) {
        if let Some(sharding) = self.remote.as_mut().and_then(|r| r.sharding.as_mut()) {
            sharding.turn(&self.engine);
        }
    }

    /// Whether zoned checks may be taken from the schedule: with a
    /// cluster, while the backlog of local ones has room.
    fn remote_room(&self) -> bool {
        self.remote.is_some() && self.backlog.len() < BACKLOG
    }

    fn start_due(&mut self) {
        // Local checks taken from the schedule before, first.
        while !self.idle.is_empty() {
            let Some((id, due)) = self.backlog.pop_front() else { break };
            if !self.engine.is_running(id) && self.leads(id) {
                self.dispatch(id, due);
            }
        }
        while let Some(&id) = self.urgent.front() {
            let zoned = self.remote.is_some() && self.engine.zone(id).is_some();
            if self.idle.is_empty() && !zoned {
                break;
            }
            self.urgent.pop_front();
            if !self.engine.is_running(id) && self.leads(id) {
                let now = self.clock.now();
                self.dispatch(id, now);
            }
        }
        let now = self.clock.now();
        let max = match self.remote {
            Some(_) => self.idle.len() + BACKLOG.saturating_sub(self.backlog.len()),
            None => self.idle.len(),
        };
        for (id, due) in self.engine.pop_due(now, max) {
            // Another scheduler of the cluster leads its shard: it leaves
            // the schedule here until this one takes the shard over.
            if !self.leads(id) {
                continue;
            }
            match self.engine.on_due(id, now) {
                crate::engine::Due::Run => self.dispatch(id, due),
                crate::engine::Due::Handled(f) => self.publish(*f),
                crate::engine::Due::Skip => {}
            }
        }
    }

    /// Whether this process checks object `id`: without a cluster always;
    /// with one, when it leads the object's shard.
    fn leads(&self, id: ObjectId) -> bool {
        self.remote.as_ref().is_none_or(|r| r.leads(self.engine.run_key(id).0))
    }

    /// Hands object `id`'s check to an idle worker, or with a cluster
    /// and a zone, to the zone's workers; a local one waits in the backlog
    /// when no slot is idle.
    fn dispatch(&mut self, id: ObjectId, due: Time) {
        if let Some(remote) = &mut self.remote {
            if let Some(zone) = self.engine.zone(id).map(str::to_string) {
                let (host, service, attempt) = self.engine.run_key(id);
                let (host, service) = (host.to_string(), service.map(str::to_string));
                let pending = self.engine.start(id);
                remote.dispatch(id, due, self.clock.now(), &zone, (&host, service.as_deref(), attempt), pending);
                return;
            }
            if self.idle.is_empty() {
                self.backlog.push_back((id, due));
                return;
            }
        }
        let worker = self.idle.pop().expect("dispatch only with an idle worker");
        let pending = self.engine.start(id);
        self.in_flight += 1;
        if self.workers[worker].send(Job { epoch: self.epoch, id, due, pending }).is_err() {
            unreachable!("workers live as long as the task");
        }
    }

    fn finish(&mut self, batch: &mut Vec<Done>) {
        let mut runs = Vec::with_capacity(batch.len());
        for (worker, epoch, id, due, run) in batch.drain(..) {
            self.idle.push(worker);
            self.in_flight -= 1;
            // A run started before a reload: its object's id now, if it is kept.
            let Some(id) = self.current_id(epoch, id) else {
                tracing::debug!("the result of a check removed by a configuration reload is dropped");
                continue;
            };
            runs.push((id, due, run));
        }
        if self.in_flight == 0 {
            self.remaps.clear();
        }
        self.apply_runs(runs);
    }

    /// Applies finished runs, local or from the cluster's workers: each
    /// object's id (of the current epoch), when it was due and its run.
    fn apply_runs(&mut self, runs: Vec<(ObjectId, Time, CheckRun)>) {
        let now = self.clock.now();
        let mut finished = Vec::with_capacity(runs.len());
        {
            let mut stats = self.stats.lock().expect("stats lock");
            for (id, due, run) in runs {
                // When the check really started: after waiting for a slot.
                let started = now.saturating_sub(run.outcome.duration);
                stats.record(started.saturating_sub(due));
                finished.push((id, self.engine.finish(id, run, now, Some(due), started)));
            }
        }
        let mut answers = Vec::new();
        for (id, f) in finished {
            if let Some(waiters) = self.waiters.remove(&id)
                && let Some(result) = f.result()
            {
                for w in waiters {
                    answers.push((w, Ok(Answer::Result(result.clone()))));
                }
            }
            self.publish(f);
            // Passive results that came in while it ran.
            for (input, reply) in self.queued.remove(&id).unwrap_or_default() {
                answers.extend(self.apply(input, reply));
            }
        }
        self.answer(answers);
    }

    /// Sends answers once the steps they answer are committed to the state
    /// file (all of them behind one sync: group commit); without retention
    /// at once. A failed commit turns an answer into an error: an answer
    /// that says "done" means "kept".
    fn answer(&mut self, answers: Vec<Pending>) {
        if answers.is_empty() {
            return;
        }
        let Some(committed) = self.closer.sync() else {
            for (reply, answer) in answers {
                let _ = reply.send(answer);
            }
            return;
        };
        tokio::spawn(async move {
            let committed = committed.await.unwrap_or_else(|_| Err("the retention thread has stopped".into()));
            for (reply, answer) in answers {
                let answer = match (&committed, answer) {
                    (Err(e), Ok(_)) => Err(Error::NotSaved(e.clone())),
                    (_, answer) => answer,
                };
                let _ = reply.send(answer);
            }
        });
    }

    /// Publishes a processed result's steps: its own events, then what it
    /// caused below it in the dependency tree, parents first.
    fn publish(&mut self, f: Finished) {
        let mut steps = Vec::new();
        f.into_steps(&mut steps);
        for step in &steps {
            self.pipeline.publish(step);
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Apply(input, reply) => {
                let answer = self.apply(input, reply);
                self.answer(answer.into_iter().collect());
            }
            Command::ApplyBatch(batch) => {
                let mut answers = Vec::with_capacity(batch.len());
                for (input, reply) in batch {
                    answers.extend(self.apply(input, reply));
                }
                self.answer(answers);
            }
            Command::Status(key, reply) => {
                let answer = match key {
                    None => Ok((0..self.engine.len()).map(|id| self.engine.status(id)).collect()),
                    Some((host, service)) => match self.engine.find(&host, service.as_deref()) {
                        Some(id) => Ok(vec![self.engine.status(id)]),
                        None => Err(Refusal::NotFound { host, service }.into()),
                    },
                };
                let _ = reply.send(answer);
            }
            Command::Downtimes(reply) => {
                let _ = reply.send(self.engine.downtimes());
            }
            Command::ModuleStatus(reply) => {
                let _ = reply.send(self.engine.modules());
            }
            Command::Reload(engine, reply) => {
                let change = self.reload(*engine);
                let _ = reply.send(change);
            }
            Command::Stop => unreachable!("handled by the loop"),
        }
    }

    /// The id in the current epoch of object `id` of `epoch`.
    fn current_id(&self, epoch: u64, id: ObjectId) -> Option<ObjectId> {
        let mut id = Some(id);
        for (e, map) in &self.remaps {
            if *e >= epoch {
                id = id.and_then(|id| map[id]);
            }
        }
        id
    }

    /// Lets `engine`, built from a new configuration, take over: object
    /// ids change, so runs in flight are mapped when they come back, and
    /// waiting rechecks and passive results now; those of removed objects
    /// are answered that the object is gone.
    fn reload(&mut self, mut engine: Engine) -> ConfigChange {
        let now = self.clock.now();
        let takeover = engine.take_over(&mut self.engine, now);
        self.engine = engine;
        let ids = takeover.ids;
        let gone = || Error::Removed;
        self.urgent = self.urgent.drain(..).filter_map(|id| ids[id]).collect();
        self.backlog = self.backlog.drain(..).filter_map(|(id, due)| Some((ids[id]?, due))).collect();
        if let Some(remote) = &mut self.remote {
            remote.remap(&ids);
        }
        for (id, waiters) in std::mem::take(&mut self.waiters) {
            match ids[id] {
                Some(new) => self.waiters.entry(new).or_default().extend(waiters),
                None => waiters.into_iter().for_each(|w| drop(w.send(Err(gone())))),
            }
        }
        for (id, queued) in std::mem::take(&mut self.queued) {
            match ids[id] {
                // Still running under its new id: applied after the run.
                Some(new) if self.engine.is_running(new) => self.queued.entry(new).or_default().extend(queued),
                _ => {
                    let answers = queued.into_iter().filter_map(|(input, reply)| self.apply(input, reply)).collect();
                    self.answer(answers);
                }
            }
        }
        if self.in_flight > 0 {
            self.remaps.push((self.epoch, ids));
        }
        self.epoch += 1;
        for f in takeover.settled {
            self.publish(f);
        }
        let change = takeover.change;
        self.pipeline.publish(&[Event::Config { t: now.as_secs_f64(), change: change.clone() }]);
        change
    }

    /// A message from the cluster's link: results to apply, or a change
    /// to publish.
    fn incoming(&mut self, message: Incoming) {
        match message {
            Incoming::Results(batch) => {
                let (remote, engine) = (self.remote.as_mut().expect("a cluster"), &self.engine);
                let mut runs = remote.results(batch, |host, service| engine.find(host, service));
                // What a worker sends is untrusted text, as a passive result is.
                for (id, _, run) in &mut runs {
                    crate::sanitize::fit_output(&mut run.outcome, self.engine.limits(*id));
                }
                self.apply_runs(runs);
            }
            Incoming::Change { change, worker, zone, message } => {
                let t = self.clock.now().as_secs_f64();
                self.pipeline.publish(&[Event::Cluster { t, change, worker, zone, message }]);
            }
            // A shard taken, lost or to hand back (see crate::cluster::shards).
            Incoming::Gained { shard, records, downtimes, message } => {
                let now = self.clock.now();
                let sharding = self.remote.as_mut().and_then(|r| r.sharding.as_mut()).expect("shards");
                let restored = sharding.gained(&mut self.engine, shard, records, downtimes, now);
                tracing::info!(shard, restored, "{message}");
                let (change, t) = (crate::cluster::ClusterChange::ShardTaken, now.as_secs_f64());
                let mut events = vec![Event::Cluster { t, change, worker: None, zone: None, message }];
                // Its downtimes, to the state file.
                self.engine.downtimes_changed(&mut events);
                self.pipeline.publish(&events);
            }
            // The loop's turn hands the steps held for them on.
            Incoming::Persisted => {}
            Incoming::Release { shard } => {
                if let Some(s) = self.remote.as_mut().and_then(|r| r.sharding.as_mut()) {
                    s.release(shard);
                }
            }
            Incoming::Shard { shard, change, message } => {
                if let Some(s) = self.remote.as_mut().and_then(|r| r.sharding.as_mut()) {
                    s.lost(shard);
                }
                tracing::warn!(shard, "{message}");
                let t = self.clock.now().as_secs_f64();
                self.pipeline.publish(&[Event::Cluster { t, change, worker: None, zone: None, message }]);
            }
        }
    }

    /// Applies one input; its events go to the subscribers. Returns the
    /// answer to send once the step is committed ([`Task::answer`]), or
    /// `None` when the answer comes later (a recheck, a passive result
    /// waiting for a run).
    fn apply(&mut self, input: Input, reply: Reply) -> Option<Pending> {
        // With shards: an input about an object goes to its shard's leader.
        let about = match &input {
            Input::Submit(s) => Some((&s.host, &s.service)),
            Input::RunNow(host, service) | Input::RemoveAcknowledgement(host, service) => Some((host, service)),
            Input::Acknowledge(a) => Some((&a.host, &a.service)),
            Input::Notify(n) => Some((&n.host, &n.service)),
            Input::ScheduleDowntime(d) => Some((&d.host, &d.service)),
            _ => None,
        };
        if let (Some(remote), Some((host, service))) = (&self.remote, about)
            && let Some(refused) = remote.refuse(host, service.as_deref())
        {
            return Some((reply, Err(refused)));
        }
        // A downtime goes with its host's shard: cancelled by its leader.
        if let (Some(remote), Input::CancelDowntime(id)) = (&self.remote, &input)
            && let Some(d) = self.engine.downtimes().into_iter().find(|d| d.id == *id)
            && let Some(refused) = remote.refuse(&d.host, d.service.as_deref())
        {
            return Some((reply, Err(refused)));
        }
        // A passive result for an object whose check is running waits for
        // the run: the object's value store is out with it.
        if let Input::Submit(s) = &input
            && let Some(id) = self.engine.find(&s.host, s.service.as_deref())
            && self.engine.is_running(id)
            && self.engine.accepts_passive(id).is_ok()
        {
            self.queued.entry(id).or_default().push((input, reply));
            return None;
        }
        let answer = match self.engine.apply(input, self.clock.now()) {
            Err(e) => Err(e),
            Ok(Applied::Result(f)) => {
                let answer = f.result().cloned().map(Answer::Result);
                self.publish(f);
                answer.ok_or_else(|| Error::Internal("a passive result made no result event"))
            }
            Ok(Applied::Events(events)) => {
                self.pipeline.publish(&events);
                Ok(Answer::Events(events))
            }
            Ok(Applied::Downtime(downtime, events)) => {
                self.pipeline.publish(&events);
                Ok(Answer::Downtime(downtime))
            }
            Ok(Applied::Run(id)) => {
                self.waiters.entry(id).or_default().push(reply);
                if !self.engine.is_running(id) && !self.urgent.contains(&id) {
                    self.urgent.push_back(id);
                }
                return None;
            }
        };
        Some((reply, answer))
    }
}
