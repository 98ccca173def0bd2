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
mod writer;

pub use self::hotload::{DEBOUNCE, Rejection, ReloadReport};
pub use self::stats::{Lateness, Stats};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::engine::{Engine, Event, Finished, ModuleAction, ModuleChange, ModuleStatus, ObjectStatus};
use crate::error::Error;
use crate::notify::{Notifier, NotifierSettings};
use crate::outcome::{Outcome, State, Termination};
use crate::retention::Store;
use crate::sandbox::module::CheckRun;
use crate::sandbox::{Sandbox, SandboxBuilder};
use crate::schedule::ObjectId;
use crate::state::{Acknowledgement, Downtime, DowntimeRequest, Time};

use self::writer::{Writer, WriterHandle};

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
        let writer = Writer::start(store, notifier, engine.contacts())?;
        for f in settled {
            writer.result(f);
        }
        if writer.keeps_state() {
            engine.track_dirty();
        }
        tracing::info!(
            objects = engine.len(),
            restored,
            "monitor started; first checks are spread over each object's interval"
        );

        let (events, _) = broadcast::channel(self.event_capacity);
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
            flush_interval: self.flush_interval,
            flushing: false,
            engine,
            clock: self.clock.clone(),
            events: events.clone(),
            stats: stats.clone(),
            writer,
            workers,
            idle: (0..sandbox_concurrency).rev().collect(),
            done,
            in_flight: 0,
            urgent: Default::default(),
            queued: HashMap::new(),
            handling: JoinSet::new(),
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

/// A result submitted from outside: a passive check result.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    /// The host.
    pub host: String,
    /// The service, or `None` for the host itself.
    pub service: Option<String>,
    /// The state (for a host: OK and WARNING mean UP).
    pub state: State,
    /// The first line of output.
    pub output: String,
    /// Further lines of output.
    pub long_output: Option<String>,
    /// Performance data.
    pub metrics: Vec<crate::Metric>,
}

impl Submission {
    /// The outcome the state processor gets.
    pub fn outcome(self) -> Outcome {
        Outcome {
            state: self.state,
            summary: self.output,
            long_output: self.long_output,
            metrics: self.metrics,
            duration: Duration::ZERO,
            termination: Termination::Completed,
            truncated: false,
        }
    }
}

enum Command {
    Submit(Submission, oneshot::Sender<Result<Event, Error>>),
    SubmitBatch(Vec<(Submission, Waiter)>),
    RunNow(String, Option<String>, oneshot::Sender<Result<Event, Error>>),
    Status(Option<(String, Option<String>)>, oneshot::Sender<Result<Vec<ObjectStatus>, Error>>),
    Acknowledge(Acknowledgement, oneshot::Sender<Result<(), Error>>),
    RemoveAcknowledgement(String, Option<String>, oneshot::Sender<Result<(), Error>>),
    ScheduleDowntime(DowntimeRequest, oneshot::Sender<Result<Downtime, Error>>),
    CancelDowntime(u64, oneshot::Sender<Result<(), Error>>),
    Downtimes(oneshot::Sender<Vec<Downtime>>),
    /// Hot-loading changes to apply; the reply gets their events.
    Modules(Vec<ModuleChange>, oneshot::Sender<Vec<Event>>),
    ModuleStatus(oneshot::Sender<Vec<ModuleStatus>>),
    Stop,
}

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
        self.ask(|reply| Command::Submit(submission, reply)).await?
    }

    /// Processes passive results in order, in one command to the engine
    /// (the API's batch endpoint); returns each one's result event or why
    /// it was refused, in the same order.
    pub async fn submit_batch(&self, submissions: Vec<Submission>) -> Vec<Result<Event, Error>> {
        let (batch, replies): (Vec<_>, Vec<_>) = submissions
            .into_iter()
            .map(|s| {
                let (tx, rx) = oneshot::channel();
                ((s, tx), rx)
            })
            .unzip();
        if self.commands.send(Command::SubmitBatch(batch)).is_err() {
            return replies.iter().map(|_| Err(Error::Stopped)).collect();
        }
        let mut out = Vec::with_capacity(replies.len());
        for rx in replies {
            out.push(rx.await.unwrap_or(Err(Error::Stopped)));
        }
        out
    }

    /// Runs the check of `host`'s `service` (`None`: the host check) now,
    /// out of schedule, and returns its result event. If one is running
    /// already, returns that one's result. An object in dependency failure
    /// runs its check once and re-enters the failure when it is due next; a
    /// passive-only object without a check refuses ([`Error::Refused`]).
    pub async fn run_now(&self, host: &str, service: Option<&str>) -> Result<Event, Error> {
        self.ask(|reply| Command::RunNow(host.to_string(), service.map(str::to_string), reply)).await?
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
        self.ask(|reply| Command::Acknowledge(ack, reply)).await?
    }

    /// Removes an object's acknowledgement (an error if it has none).
    pub async fn remove_acknowledgement(&self, host: &str, service: Option<&str>) -> Result<(), Error> {
        self.ask(|reply| Command::RemoveAcknowledgement(host.to_string(), service.map(str::to_string), reply)).await?
    }

    /// Schedules a downtime and returns it with its id (started if it is a
    /// fixed one whose start has come). Refused: `end` not after `start` or
    /// already past, a flexible duration of zero, an unknown object, an
    /// empty author.
    pub async fn schedule_downtime(&self, request: DowntimeRequest) -> Result<Downtime, Error> {
        self.ask(|reply| Command::ScheduleDowntime(request, reply)).await?
    }

    /// Cancels a downtime (one in effect ends now).
    pub async fn cancel_downtime(&self, id: u64) -> Result<(), Error> {
        self.ask(|reply| Command::CancelDowntime(id, reply)).await?
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

    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(command(tx)).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }
}

type Waiter = oneshot::Sender<Result<Event, Error>>;

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
    /// How often objects that changed only in output are written.
    flush_interval: Duration,
    /// A flush is under way: snapshots go out a chunk per loop turn.
    flushing: bool,
    engine: Engine,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<Event>,
    stats: Arc<Mutex<Stats>>,
    writer: WriterHandle,
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
    queued: HashMap<ObjectId, Vec<(Submission, Waiter)>>,
    /// Event handlers under way.
    handling: JoinSet<()>,
    waiters: HashMap<ObjectId, Vec<Waiter>>,
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

/// Most objects written per loop turn during a flush.
const FLUSH_CHUNK: usize = 1024;

impl Task {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) -> Result<(), Error> {
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let mut flush = tokio::time::interval(self.flush_interval.max(Duration::from_millis(10)));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.tick().await;
        let mut next_flush = tokio::time::Instant::now() + self.flush_interval;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            // Also here, not only in the select: under load the branches
            // above it are always ready and the tick would never be seen.
            if self.writer.keeps_state() && !self.flushing && tokio::time::Instant::now() >= next_flush {
                self.flushing = self.engine.has_dirty();
                next_flush = tokio::time::Instant::now() + self.flush_interval;
            }
            if self.flushing {
                // A chunk per turn keeps checks starting on time meanwhile.
                let chunk = self.engine.take_dirty(FLUSH_CHUNK);
                self.flushing = chunk.len() == FLUSH_CHUNK;
                self.writer.snapshots(chunk);
            }
            // Downtimes start and end before the checks due with them.
            if self.engine.next_timer().is_some_and(|d| d <= self.clock.now()) {
                let events = self.engine.fire_timers(self.clock.now());
                self.emit(events);
            }
            // Start what is due now at once: a timer set to a moment already
            // past fires only at the timer wheel's next millisecond.
            if !self.idle.is_empty()
                && (!self.urgent.is_empty() || self.engine.next_check().is_some_and(|d| d <= self.clock.now()))
            {
                self.start_due();
            }
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
                Some(_) = self.handling.join_next(), if !self.handling.is_empty() => {}
                _ = flush.tick(), if self.writer.keeps_state() => self.flushing = self.engine.has_dirty(),
                // Nothing else to do: go on with the flush.
                () = std::future::ready(()), if self.flushing => {}
            }
        }
        tracing::info!(in_flight = self.in_flight, "stopping: letting the checks in flight finish");
        while self.in_flight > 0 && self.done.recv_many(&mut batch, BATCH).await > 0 {
            self.finish(&mut batch);
        }
        self.persist_downtimes();
        self.workers.clear();
        while self.handling.join_next().await.is_some() {}
        self.writer.snapshots(self.engine.take_dirty(usize::MAX));
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
        // The writer flushes, waits for the deliveries under way and closes.
        self.writer.close().await;
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
                finished.push((id, self.engine.finish(id, run, now)));
            }
        }
        for (id, f) in finished {
            if let Some(waiters) = self.waiters.remove(&id) {
                for w in waiters {
                    let _ = w.send(Ok(f.events[0].clone()));
                }
            }
            self.publish(f);
            // Passive results that came in while it ran.
            for (submission, reply) in self.queued.remove(&id).unwrap_or_default() {
                self.submit(id, submission, reply);
            }
        }
    }

    fn submit(&mut self, id: ObjectId, s: Submission, reply: Waiter) {
        let f = self.engine.submit(id, s.outcome(), self.clock.now());
        let _ = reply.send(Ok(f.events[0].clone()));
        self.publish(f);
    }

    /// Logs and publishes events that are no check result's (timers,
    /// commands), and writes the downtimes if they changed.
    fn emit(&mut self, events: Vec<Event>) {
        for event in events {
            log_event(&event, true);
            let _ = self.events.send(event);
        }
        self.persist_downtimes();
    }

    fn persist_downtimes(&mut self) {
        if let Some((downtimes, last_id)) = self.engine.take_downtimes_changed() {
            self.writer.downtimes(downtimes, last_id);
        }
    }

    /// An acknowledgement given or removed: written with a flush now.
    fn flush_soon(&mut self) {
        if self.writer.keeps_state() {
            self.flushing = self.engine.has_dirty();
        }
    }

    /// Sends a processed result's events to subscribers and waiters and
    /// hands it to the writer (which persists, then delivers).
    fn publish(&mut self, mut f: Finished) {
        let changed = !f.transition.events.is_empty();
        let dependents = std::mem::take(&mut f.dependents);
        for h in std::mem::take(&mut f.handlers) {
            let events = self.events.clone();
            let clock = self.clock.clone();
            self.handling.spawn(async move {
                let outcome = h.module.handle(&h.call).await;
                let event = h.event(outcome, clock.now());
                log_event(&event, false);
                let _ = events.send(event);
            });
        }
        for event in &f.events {
            log_event(event, changed);
        }
        if self.events.receiver_count() > 0 {
            for event in &f.events {
                let _ = self.events.send(event.clone());
            }
        }
        // A flexible downtime a result started: written before the result.
        self.persist_downtimes();
        // Results that changed only output are written by the next flush.
        if f.significant || !f.deliveries.is_empty() {
            self.writer.result(f);
        }
        // What it caused below it in the dependency tree, parents first.
        for d in dependents {
            self.publish(d);
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::SubmitBatch(batch) => {
                for (s, reply) in batch {
                    self.command(Command::Submit(s, reply));
                }
            }
            Command::Submit(s, reply) => {
                let Some(id) = self.engine.find(&s.host, s.service.as_deref()) else {
                    let _ = reply.send(Err(Error::NotFound { host: s.host, service: s.service }));
                    return;
                };
                if let Err(e) = self.engine.accepts_passive(id) {
                    let _ = reply.send(Err(e));
                    return;
                }
                if self.engine.is_running(id) {
                    // Its value store is out with the run: apply after it.
                    self.queued.entry(id).or_default().push((s, reply));
                } else {
                    self.submit(id, s, reply);
                }
            }
            Command::RunNow(host, service, reply) => {
                let Some(id) = self.engine.find(&host, service.as_deref()) else {
                    let _ = reply.send(Err(Error::NotFound { host, service }));
                    return;
                };
                if let Err(e) = self.engine.can_run(id) {
                    let _ = reply.send(Err(e));
                    return;
                }
                self.waiters.entry(id).or_default().push(reply);
                if !self.engine.is_running(id) && !self.urgent.contains(&id) {
                    self.urgent.push_back(id);
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
            Command::Acknowledge(ack, reply) => {
                let answer = self.engine.acknowledge(ack, self.clock.now()).map(|events| self.emit(events));
                self.flush_soon();
                let _ = reply.send(answer);
            }
            Command::RemoveAcknowledgement(host, service, reply) => {
                let answer = self
                    .engine
                    .remove_acknowledgement(&host, service.as_deref(), self.clock.now())
                    .map(|events| self.emit(events));
                self.flush_soon();
                let _ = reply.send(answer);
            }
            Command::ScheduleDowntime(request, reply) => {
                let answer = self.engine.schedule_downtime(request, self.clock.now()).map(|(downtime, events)| {
                    self.emit(events);
                    downtime
                });
                self.persist_downtimes();
                let _ = reply.send(answer);
            }
            Command::CancelDowntime(id, reply) => {
                let answer = self.engine.cancel_downtime(id, self.clock.now()).map(|events| self.emit(events));
                self.persist_downtimes();
                let _ = reply.send(answer);
            }
            Command::Downtimes(reply) => {
                let _ = reply.send(self.engine.downtimes());
            }
            Command::Modules(changes, reply) => {
                let now = self.clock.now();
                let events: Vec<Event> = changes.into_iter().map(|c| self.engine.apply_module(c, now)).collect();
                for event in &events {
                    log_event(event, true);
                    let _ = self.events.send(event.clone());
                }
                let _ = reply.send(events);
            }
            Command::ModuleStatus(reply) => {
                let _ = reply.send(self.engine.modules());
            }
            Command::Stop => unreachable!("handled by the loop"),
        }
    }
}

fn log_event(event: &Event, changed: bool) {
    match event {
        Event::Result { host, service, state, state_type, attempt, max_attempts, output, source, .. } => {
            let service = service.as_deref().unwrap_or("");
            if changed {
                tracing::info!(%host, service, %state, ?state_type, attempt, max_attempts, ?source, %output, "state change");
            } else {
                tracing::debug!(%host, service, %state, ?state_type, attempt, max_attempts, ?source, %output, "result");
            }
        }
        Event::Notification { host, service, kind, state, method, contact, .. } => {
            tracing::info!(%host, service = service.as_deref().unwrap_or(""), ?kind, %state, method = method.as_deref().unwrap_or(""), contact = contact.as_deref().unwrap_or(""), "notification");
        }
        Event::Handler { host, service, handler, trigger, ok, output, .. } => {
            let service = service.as_deref().unwrap_or("");
            if *ok {
                tracing::info!(%host, service, %handler, ?trigger, %output, "event handler ran");
            } else {
                tracing::warn!(%host, service, %handler, ?trigger, %output, "event handler failed");
            }
        }
        Event::Flapping { host, service, started, percent_state_change, .. } => {
            let service = service.as_deref().unwrap_or("");
            let what = if *started { "flapping started" } else { "flapping stopped" };
            tracing::info!(%host, service, percent_state_change, "{what}");
        }
        Event::Downtime { host, service, id, started, author, comment, .. } => {
            let service = service.as_deref().unwrap_or("");
            let what = if *started { "downtime started" } else { "downtime ended" };
            tracing::info!(%host, service, id, %author, %comment, "{what}");
        }
        Event::Acknowledgement { host, service, author, comment, sticky, active, .. } => {
            let service = service.as_deref().unwrap_or("");
            let what = if *active { "problem acknowledged" } else { "acknowledgement cleared" };
            tracing::info!(%host, service, %author, %comment, sticky, "{what}");
        }
        Event::NotificationSuppressed { host, service, kind, state, reason, .. } => {
            let service = service.as_deref().unwrap_or("");
            tracing::info!(%host, service, ?kind, %state, reason = reason.as_str(), "notification suppressed");
        }
        Event::Module { module, action, version, digest, reason, .. } => {
            let version = version.as_deref().unwrap_or("");
            let digest = digest.as_deref().unwrap_or("");
            let reason = reason.as_deref().unwrap_or("");
            match action {
                ModuleAction::Rejected => {
                    tracing::warn!(%module, digest, %reason, "check module rejected; the version in service stays")
                }
                ModuleAction::Removed => tracing::info!(%module, %reason, "check module removed"),
                ModuleAction::Loaded => tracing::info!(%module, version, digest, "check module loaded"),
                ModuleAction::Replaced => tracing::info!(%module, version, digest, "check module replaced"),
            }
        }
    }
}
