//! The engine on a real clock, as a library: what `wasmon run` is, and what
//! a service embeds.
//!
//! ```no_run
//! use wasmon_runtime::{Monitor, Retention};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let monitor = Monitor::builder()
//!     .config_file("wasmon.toml".as_ref())?
//!     .retention(Retention::None)
//!     .start()
//!     .await?;
//! let mut events = monitor.subscribe();
//! let event = monitor.run_now("web1", Some("HTTP")).await?;
//! println!("{event:?}, then {:?}", events.recv().await?);
//! monitor.stop().await?;
//! # Ok(())
//! # }
//! ```
//!
//! One task owns the [`Engine`]: it starts due checks (each on its own task,
//! under the sandbox's concurrency cap), applies finished ones, answers
//! commands from [`Monitor`] handles and publishes every [`Event`] on a
//! broadcast channel. Retention runs on a thread of its own (see
//! [`writer`]): a result that changes a state, a state type, an attempt or
//! the notification bookkeeping is committed before its notifications are
//! delivered; an object whose result changed only the output and the check
//! time is marked, and written with the next periodic flush, and on stop.

mod hotload;
mod stats;

pub use self::hotload::{DEBOUNCE, Rejection, ReloadReport};
pub use self::stats::{Lateness, Stats};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
pub use crate::engine::Submission;
use crate::engine::{Applied, Engine, Event, Finished, Input, ModuleStatus, ObjectStatus};
use crate::error::Error;
use crate::notify::{Notifier, NotifierSettings};
use crate::outcome::{Outcome, State, Termination};
use crate::pipeline::{Broadcast, Handlers, Log, Pipeline, Queued, Subscriber, Tracker};
use crate::retention::Store;
use crate::retention::writer::{Closer, Deliverer, Retainer};
use crate::sandbox::module::CheckRun;
use crate::sandbox::{Sandbox, SandboxBuilder};
use crate::schedule::ObjectId;
use crate::state::{Acknowledgement, Downtime, DowntimeRequest, Time};

/// Where a [`Monitor`] keeps its state between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Retention {
    /// The configuration's `[engine] state_file` (the default).
    #[default]
    Configured,
    /// This SQLite file.
    File(PathBuf),
    /// Nowhere: every start begins from scratch.
    None,
}

/// Builds a [`Monitor`].
pub struct MonitorBuilder {
    config: Option<Config>,
    sandbox: Option<Sandbox>,
    retention: Retention,
    clock: Arc<dyn Clock>,
    notifier: Option<Arc<Notifier>>,
    event_capacity: usize,
    flush_interval: Duration,
    watch_modules: bool,
    subscribers: Vec<(Box<dyn Subscriber>, usize)>,
}

impl MonitorBuilder {
    /// Monitors what `config` describes.
    pub fn config(mut self, config: Config) -> MonitorBuilder {
        self.config = Some(config);
        self
    }

    /// Reads and validates the configuration file at `path`.
    pub fn config_file(self, path: &Path) -> Result<MonitorBuilder, ConfigError> {
        Ok(self.config(crate::config::load(path)?))
    }

    /// Validates `text` as the configuration file `path` (which names it
    /// in messages and resolves its relative paths; it need not exist).
    pub fn config_str(self, text: &str, path: &Path) -> Result<MonitorBuilder, ConfigError> {
        Ok(self.config(crate::config::parse(text, path)?))
    }

    /// Runs checks in this sandbox. Default: one built by
    /// [`Monitor::sandbox_for`] the configuration.
    pub fn sandbox(mut self, sandbox: Sandbox) -> MonitorBuilder {
        self.sandbox = Some(sandbox);
        self
    }

    /// Where state is kept between runs. Default [`Retention::Configured`].
    pub fn retention(mut self, retention: Retention) -> MonitorBuilder {
        self.retention = retention;
        self
    }

    /// Where time comes from. Default [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> MonitorBuilder {
        self.clock = clock;
        self
    }

    /// Delivers notifications with this notifier. Default: one with
    /// [`NotifierSettings::default`].
    pub fn notifier(mut self, notifier: Arc<Notifier>) -> MonitorBuilder {
        self.notifier = Some(notifier);
        self
    }

    /// How many events a subscriber may fall behind before it misses some
    /// (it is told how many, see [`broadcast::error::RecvError::Lagged`]).
    /// Default 4096.
    pub fn event_capacity(mut self, n: usize) -> MonitorBuilder {
        self.event_capacity = n.max(1);
        self
    }

    /// How often results that changed only output and check times are
    /// written. Default 5 s.
    pub fn flush_interval(mut self, interval: Duration) -> MonitorBuilder {
        self.flush_interval = interval;
        self
    }

    /// Adds an embedder's subscriber after the built-in ones (retention,
    /// notifications, event handlers, the log, the broadcast; see
    /// [`crate::pipeline`]): it gets every event, in order, none missed,
    /// on a thread of its own, behind a queue of `capacity` batches (a
    /// batch is what one turn of the engine loop produced, at most a few
    /// hundred results). When the queue is full the engine waits for it:
    /// a slow subscriber makes checks start late rather than miss events.
    /// A subscriber that would rather miss events than slow the engine
    /// down reads [`Monitor::subscribe`] instead.
    pub fn subscriber(mut self, subscriber: impl Subscriber + 'static, capacity: usize) -> MonitorBuilder {
        self.subscribers.push((Box::new(subscriber), capacity));
        self
    }

    /// Whether to watch the checks folder and the folders of the module
    /// files for changes and hot-load them (see [`Monitor::reload`], which
    /// works either way). Default true.
    pub fn watch_modules(mut self, watch: bool) -> MonitorBuilder {
        self.watch_modules = watch;
        self
    }

    /// Expands the hosts' check packs ([`crate::pack::expand`]), loads
    /// every module, restores the retained state, delivers the
    /// notifications a previous run left pending, schedules the first
    /// checks (spread over each object's interval) and starts the engine
    /// task on the current tokio runtime.
    pub async fn start(self) -> Result<Monitor, Error> {
        let mut config =
            self.config.ok_or_else(|| Error::Config("no configuration was given to the monitor".into()))?;
        let sandbox = match self.sandbox {
            Some(s) => s,
            None => Monitor::sandbox_for(&config).build()?,
        };
        // Hosts' check packs become services, discovered items included.
        crate::pack::expand(&mut config, &sandbox).await?;
        let path = match self.retention {
            Retention::Configured => Some(config.engine.state_file.clone()),
            Retention::File(p) => Some(p),
            Retention::None => None,
        };
        let notifier = self.notifier.unwrap_or_else(|| Arc::new(Notifier::new(NotifierSettings::default())));
        // Compiling modules and opening the file block: not on a runtime thread.
        let sandbox_concurrency = sandbox.max_concurrency();
        let checks_dir = config.engine.checks_dir.clone();
        let reload_sandbox = sandbox.clone();
        let (engine, store) = tokio::task::spawn_blocking(move || -> Result<(Engine, Option<Store>), Error> {
            let engine = Engine::new(config, &sandbox)?;
            let store = path.map(|p| Store::open(&p)).transpose().map_err(|e| Error::Retention(e.to_string()))?;
            Ok((engine, store))
        })
        .await
        .map_err(|e| Error::Engine(format!("the loading task failed: {e}")))??;
        let mut engine = engine;

        let now = self.clock.now();
        engine.describe_modules(now).await;
        let module_files = engine.module_files();
        let mut restored = 0;
        if let Some(store) = &store {
            let last = store.last_notification_id().map_err(|e| Error::Retention(e.to_string()))?;
            engine.restore_notification_ids(last);
            let (downtimes, last_id) = store.load_downtimes().map_err(|e| Error::Retention(e.to_string()))?;
            engine.restore_downtimes(downtimes, last_id);
            let mut retained = store.load_objects().map_err(|e| Error::Retention(e.to_string()))?;
            let keys: Vec<_> = engine.keys().collect();
            let mut failures = store.load_dependencies().map_err(|e| Error::Retention(e.to_string()))?;
            for (id, key) in keys {
                if let Some(r) = retained.remove(&key) {
                    engine.restore(id, r);
                    restored += 1;
                }
                if let Some(f) = failures.remove(&key) {
                    engine.restore_dependency(id, f);
                }
            }
        }
        // Parents may have changed with the configuration.
        let settled = engine.settle_dependencies(now);
        let (events, _) = broadcast::channel(self.event_capacity);
        let (handled_tx, handled) = mpsc::unbounded_channel();
        let handlers = Arc::new(Tracker::default());
        let mut pipeline = Pipeline::default();
        // Retention first: it commits, then hands notifications on.
        let closer = match store {
            Some(store) => {
                let retainer = Retainer::start(store, notifier, engine.contacts(), self.flush_interval)?;
                let closer = retainer.closer();
                pipeline.push(retainer);
                closer
            }
            None => {
                let deliverer = Deliverer::new(notifier);
                let closer = deliverer.closer();
                pipeline.push(deliverer);
                closer
            }
        };
        pipeline.push(Handlers { done: handled_tx, clock: self.clock.clone(), running: handlers.clone() });
        pipeline.push(Log);
        pipeline.push(Broadcast(events.clone()));
        for (s, capacity) in self.subscribers {
            let queued =
                Queued::start(s, capacity).map_err(|e| Error::Engine(format!("cannot start a subscriber: {e}")))?;
            pipeline.push(queued);
        }
        let mut steps = Vec::new();
        for f in settled {
            f.into_steps(&mut steps);
        }
        for step in &steps {
            pipeline.publish(step);
        }
        pipeline.flush();
        tracing::info!(
            objects = engine.len(),
            restored,
            "monitor started; first checks are spread over each object's interval"
        );

        let (commands, commands_rx) = mpsc::unbounded_channel();
        let stats = Arc::new(Mutex::new(Stats::default()));
        let (done_tx, done) = mpsc::unbounded_channel();
        let workers = (0..sandbox_concurrency)
            .map(|index| {
                let (jobs, rx) = mpsc::unbounded_channel();
                tokio::spawn(worker(index, rx, done_tx.clone()));
                jobs
            })
            .collect();
        // The first checks spread over the interval: no thundering herd.
        // Counted from now, after the set-up, so that none starts late.
        engine.spread_first_checks(self.clock.as_ref());
        let task = Task {
            engine,
            clock: self.clock.clone(),
            stats: stats.clone(),
            pipeline,
            closer,
            handled,
            handlers,
            workers,
            idle: (0..sandbox_concurrency).rev().collect(),
            done,
            in_flight: 0,
            urgent: Default::default(),
            queued: HashMap::new(),
            waiters: HashMap::new(),
        };
        let reloader =
            hotload::Reloader::new(reload_sandbox, commands.downgrade(), checks_dir, module_files, self.watch_modules);
        let (reloads, reloads_rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(task.run(commands_rx));
        tokio::spawn(reloader.run(reloads_rx));
        Ok(Monitor { commands, reloads, events, stats, clock: self.clock, task: Mutex::new(Some(handle)) })
    }
}

/// A running engine: a handle to ask it things and to stop it. Dropping
/// the last handle stops it too, the same graceful way as [`Monitor::stop`].
pub struct Monitor {
    commands: mpsc::UnboundedSender<Command>,
    reloads: mpsc::UnboundedSender<hotload::ReloadRequest>,
    events: broadcast::Sender<Event>,
    stats: Arc<Mutex<Stats>>,
    clock: Arc<dyn Clock>,
    task: Mutex<Option<tokio::task::JoinHandle<Result<(), Error>>>>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

enum Command {
    /// An input to the engine, and where its answer goes.
    Apply(Input, Reply),
    /// Inputs applied in order in one command (the API's batches, hot-load
    /// changes).
    ApplyBatch(Vec<(Input, Reply)>),
    Status(Option<(String, Option<String>)>, oneshot::Sender<Result<Vec<ObjectStatus>, Error>>),
    Downtimes(oneshot::Sender<Vec<Downtime>>),
    ModuleStatus(oneshot::Sender<Vec<ModuleStatus>>),
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

type Reply = oneshot::Sender<Result<Answer, Error>>;

impl Monitor {
    /// A builder with the defaults.
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder {
            config: None,
            sandbox: None,
            retention: Retention::Configured,
            clock: Arc::new(SystemClock),
            notifier: None,
            event_capacity: 4096,
            flush_interval: Duration::from_secs(5),
            watch_modules: true,
            subscribers: Vec::new(),
        }
    }

    /// The sandbox a configuration asks for: its concurrency cap, an
    /// instance pool sized for its largest memory limit (of checks and
    /// event handlers), the default
    /// module cache.
    pub fn sandbox_for(config: &Config) -> SandboxBuilder {
        let max_memory = config
            .hosts
            .iter()
            .filter_map(|h| h.check.as_ref())
            .chain(config.services.iter().map(|s| &s.check))
            .map(|spec| spec.limits.memory)
            // Handlers run in the same pool, under their own limits.
            .chain(config.handlers.iter().map(|h| h.limits.memory))
            .max()
            .unwrap_or_default()
            .max(crate::Limits::default().memory);
        Sandbox::builder().max_concurrency(config.engine.max_concurrent_checks).max_memory(max_memory)
    }

    /// The time now on the monitor's clock (the UNIX epoch's for the real
    /// clock): what a downtime's `start` and `end` are measured on.
    pub fn now(&self) -> Time {
        self.clock.now()
    }

    /// Every event from now on: results, notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Processes a passive result through the same state processor and
    /// notification rules as a check's; returns its result event.
    /// An object with `passive_checks = false` refuses it ([`Error::Refused`]).
    pub async fn submit(&self, submission: Submission) -> Result<Event, Error> {
        match self.apply(Input::Submit(submission)).await? {
            Answer::Result(event) => Ok(event),
            other => unreachable!("a submission answers with its result, not {other:?}"),
        }
    }

    /// Processes passive results in order, in one command to the engine
    /// (the API's batch endpoint); returns each one's result event or why
    /// it was refused, in the same order.
    pub async fn submit_batch(&self, submissions: Vec<Submission>) -> Vec<Result<Event, Error>> {
        let (batch, replies): (Vec<_>, Vec<_>) = submissions
            .into_iter()
            .map(|s| {
                let (tx, rx) = oneshot::channel();
                ((Input::Submit(s), tx), rx)
            })
            .unzip();
        if self.commands.send(Command::ApplyBatch(batch)).is_err() {
            return replies.iter().map(|_| Err(Error::Stopped)).collect();
        }
        let mut out = Vec::with_capacity(replies.len());
        for rx in replies {
            out.push(match rx.await {
                Ok(Ok(Answer::Result(event))) => Ok(event),
                Ok(Ok(other)) => unreachable!("a submission answers with its result, not {other:?}"),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Error::Stopped),
            });
        }
        out
    }

    /// Runs the check of `host`'s `service` (`None`: the host check) now,
    /// out of schedule, and returns its result event. If one is running
    /// already, returns that one's result. An object in dependency failure
    /// runs its check once and re-enters the failure when it is due next; a
    /// passive-only object without a check refuses ([`Error::Refused`]).
    pub async fn run_now(&self, host: &str, service: Option<&str>) -> Result<Event, Error> {
        match self.apply(Input::RunNow(host.to_string(), service.map(str::to_string))).await? {
            Answer::Result(event) => Ok(event),
            other => unreachable!("a recheck answers with its result, not {other:?}"),
        }
    }

    /// The status of one object.
    pub async fn status(&self, host: &str, service: Option<&str>) -> Result<ObjectStatus, Error> {
        let key = Some((host.to_string(), service.map(str::to_string)));
        let mut all = self.ask(|reply| Command::Status(key, reply)).await??;
        Ok(all.remove(0))
    }

    /// The status of every object, hosts first, in configuration order.
    pub async fn statuses(&self) -> Result<Vec<ObjectStatus>, Error> {
        self.ask(|reply| Command::Status(None, reply)).await?
    }

    /// Acknowledges an object's problem: its notifications are suppressed
    /// until the next state change (normal) or the recovery (sticky).
    /// Refused for an unknown object and for one in OK/UP.
    pub async fn acknowledge(&self, ack: Acknowledgement) -> Result<(), Error> {
        self.apply(Input::Acknowledge(ack)).await.map(drop)
    }

    /// Removes an object's acknowledgement (an error if it has none).
    pub async fn remove_acknowledgement(&self, host: &str, service: Option<&str>) -> Result<(), Error> {
        self.apply(Input::RemoveAcknowledgement(host.to_string(), service.map(str::to_string))).await.map(drop)
    }

    /// Schedules a downtime and returns it with its id (started if it is a
    /// fixed one whose start has come). Refused: `end` not after `start` or
    /// already past, a flexible duration of zero, an unknown object, an
    /// empty author.
    pub async fn schedule_downtime(&self, request: DowntimeRequest) -> Result<Downtime, Error> {
        match self.apply(Input::ScheduleDowntime(request)).await? {
            Answer::Downtime(d) => Ok(d),
            other => unreachable!("a downtime request answers with the downtime, not {other:?}"),
        }
    }

    /// Cancels a downtime (one in effect ends now).
    pub async fn cancel_downtime(&self, id: u64) -> Result<(), Error> {
        self.apply(Input::CancelDowntime(id)).await.map(drop)
    }

    /// Every downtime, pending and in effect, by id.
    pub async fn downtimes(&self) -> Result<Vec<Downtime>, Error> {
        self.ask(Command::Downtimes).await
    }

    /// Every check module in service: name, file, kind, version, digest,
    /// load time, how many objects use it, its last rejection.
    pub async fn modules(&self) -> Result<Vec<ModuleStatus>, Error> {
        self.ask(Command::ModuleStatus).await
    }

    /// Looks at every module file now (the checks folder's and those the
    /// configuration names) and hot-loads what changed, as a file change
    /// would after its debounce; returns what was loaded, replaced,
    /// rejected and removed. Unchanged files (same sha256) are not
    /// reloaded. `wasmon run` calls this on SIGHUP.
    pub async fn reload(&self) -> Result<ReloadReport, Error> {
        let (tx, rx) = oneshot::channel();
        self.reloads.send(tx).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// How many checks ran and how late they started.
    pub fn stats(&self) -> Stats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// Stops the engine: no new checks start, those in flight finish (each
    /// cut at its timeout) and are applied, notifications under way are
    /// delivered and recorded, everything is written. Returns what stopped
    /// the engine if it failed.
    pub async fn stop(&self) -> Result<(), Error> {
        let _ = self.commands.send(Command::Stop);
        let handle = self.task.lock().expect("task lock").take();
        match handle {
            Some(h) => h.await.map_err(|e| Error::Engine(format!("the engine task failed: {e}")))?,
            None => Ok(()),
        }
    }

    /// Applies `input` on the engine task and waits for its answer.
    async fn apply(&self, input: Input) -> Result<Answer, Error> {
        self.ask(|reply| Command::Apply(input, reply)).await?
    }

    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(command(tx)).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }
}

/// A check for a worker: the object, when it was due, what to run.
struct Job {
    id: ObjectId,
    due: Time,
    pending: crate::engine::PendingCheck,
}

/// A finished run from a worker: the worker, the object, when it was due,
/// the run.
type Done = (usize, ObjectId, Time, CheckRun);

/// Runs the checks it is handed, one at a time, until the task drops its
/// sender. A check that panics (a host bug: guest failures are outcomes)
/// ends UNKNOWN and the worker goes on.
async fn worker(index: usize, mut jobs: mpsc::UnboundedReceiver<Job>, done: mpsc::UnboundedSender<Done>) {
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
        if done.send((index, job.id, job.due, run)).is_err() {
            break;
        }
    }
}

/// The engine task's state.
struct Task {
    engine: Engine,
    clock: Arc<dyn Clock>,
    stats: Arc<Mutex<Stats>>,
    /// The subscribers, in order (see [`crate::pipeline`]).
    pipeline: Pipeline,
    /// Closes retention (or waits for deliveries) at stop.
    closer: Closer,
    /// Event handlers' `handler` events, to publish.
    handled: mpsc::UnboundedReceiver<Event>,
    /// Event handler calls under way.
    handlers: Arc<Tracker>,
    /// One long-lived task per slot runs checks: no task is spawned (and
    /// no check future moved into a new allocation) per run.
    workers: Vec<mpsc::UnboundedSender<Job>>,
    /// Workers waiting for a check.
    idle: Vec<usize>,
    /// Where workers hand back finished runs.
    done: mpsc::UnboundedReceiver<Done>,
    /// Runs handed to workers and not back yet.
    in_flight: usize,
    /// Objects asked to run now (`run_now`), before anything due.
    urgent: std::collections::VecDeque<ObjectId>,
    /// Passive results for objects whose check is running, applied after it.
    queued: HashMap<ObjectId, Vec<(Input, Reply)>>,
    /// Who waits for a manual recheck's result.
    waiters: HashMap<ObjectId, Vec<Reply>>,
}

/// Most finished checks applied and committed together.
const BATCH: usize = 512;

/// The run of a check whose task failed.
fn failed_run(message: &str) -> CheckRun {
    CheckRun {
        outcome: Outcome {
            state: State::Unknown,
            summary: message.to_string(),
            long_output: None,
            metrics: Vec::new(),
            duration: Duration::ZERO,
            termination: Termination::Trap,
            truncated: false,
        },
        values: crate::Values::new(),
    }
}

impl Task {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) -> Result<(), Error> {
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
            if !self.idle.is_empty()
                && (!self.urgent.is_empty() || self.engine.next_check().is_some_and(|d| d <= self.clock.now()))
            {
                self.start_due();
            }
            // One batch per turn for the subscribers that buffer.
            self.pipeline.flush();
            // At capacity, due checks wait in the schedule for a slot.
            let due = self.engine.next_check().filter(|_| !self.idle.is_empty());
            let due = [due, self.engine.next_timer()].into_iter().flatten().min();
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
            }
        }
        tracing::info!(in_flight = self.in_flight, "stopping: letting the checks in flight finish");
        while self.in_flight > 0 && self.done.recv_many(&mut batch, BATCH).await > 0 {
            self.finish(&mut batch);
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
        // Embedders' subscribers get the last batch and end.
        self.pipeline.flush();
        drop(std::mem::take(&mut self.pipeline));
        // Retention writes everything, waits for the deliveries under way
        // and closes.
        self.closer.close().await;
        tracing::info!("monitor stopped");
        Ok(())
    }

    fn start_due(&mut self) {
        while !self.idle.is_empty() {
            let Some(id) = self.urgent.pop_front() else { break };
            if !self.engine.is_running(id) {
                let now = self.clock.now();
                self.dispatch(id, now);
            }
        }
        let now = self.clock.now();
        for (id, due) in self.engine.pop_due(now, self.idle.len()) {
            match self.engine.on_due(id, now) {
                crate::engine::Due::Run => self.dispatch(id, due),
                crate::engine::Due::Handled(f) => self.publish(*f),
                crate::engine::Due::Skip => {}
            }
        }
    }

    /// Hands object `id`'s check to an idle worker.
    fn dispatch(&mut self, id: ObjectId, due: Time) {
        let worker = self.idle.pop().expect("dispatch only with an idle worker");
        let pending = self.engine.start(id);
        self.in_flight += 1;
        if self.workers[worker].send(Job { id, due, pending }).is_err() {
            unreachable!("workers live as long as the task");
        }
    }

    fn finish(&mut self, batch: &mut Vec<Done>) {
        let now = self.clock.now();
        let mut finished = Vec::with_capacity(batch.len());
        {
            let mut stats = self.stats.lock().expect("stats lock");
            for (worker, id, due, run) in batch.drain(..) {
                self.idle.push(worker);
                self.in_flight -= 1;
                // When the check really started: after waiting for a slot.
                let started = now.saturating_sub(run.outcome.duration);
                stats.record(started.saturating_sub(due));
                finished.push((id, self.engine.finish(id, run, now, Some(due), started)));
            }
        }
        for (id, f) in finished {
            if let Some(waiters) = self.waiters.remove(&id) {
                if let Some(result) = f.result() {
                    for w in waiters {
                        let _ = w.send(Ok(Answer::Result(result.clone())));
                    }
                }
            }
            self.publish(f);
            // Passive results that came in while it ran.
            for (input, reply) in self.queued.remove(&id).unwrap_or_default() {
                self.apply(input, reply);
            }
        }
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
            Command::Apply(input, reply) => self.apply(input, reply),
            Command::ApplyBatch(batch) => {
                for (input, reply) in batch {
                    self.apply(input, reply);
                }
            }
            Command::Status(key, reply) => {
                let answer = match key {
                    None => Ok((0..self.engine.len()).map(|id| self.engine.status(id)).collect()),
                    Some((host, service)) => match self.engine.find(&host, service.as_deref()) {
                        Some(id) => Ok(vec![self.engine.status(id)]),
                        None => Err(Error::NotFound { host, service }),
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
            Command::Stop => unreachable!("handled by the loop"),
        }
    }

    /// Applies one input and answers it; its events go to the subscribers.
    fn apply(&mut self, input: Input, reply: Reply) {
        // A passive result for an object whose check is running waits for
        // the run: the object's value store is out with it.
        if let Input::Submit(s) = &input
            && let Some(id) = self.engine.find(&s.host, s.service.as_deref())
            && self.engine.is_running(id)
            && self.engine.accepts_passive(id).is_ok()
        {
            self.queued.entry(id).or_default().push((input, reply));
            return;
        }
        let answer = match self.engine.apply(input, self.clock.now()) {
            Err(e) => Err(e),
            Ok(Applied::Result(f)) => {
                let answer = f.result().cloned().map(Answer::Result);
                self.publish(f);
                answer.ok_or_else(|| Error::Engine("a passive result made no result event".into()))
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
                return;
            }
        };
        let _ = reply.send(answer);
    }
}
