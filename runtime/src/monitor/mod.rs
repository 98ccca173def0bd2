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
//! One task owns the engine (crate-private): it starts due checks (each on its own task,
//! under the sandbox's concurrency cap), applies finished ones and the
//! [`Input`]s that [`Monitor`] handles send, and hands every step's
//! [`Event`]s to the ordered list of subscribers ([`crate::pipeline`]).
//! Retention, first in the list, runs on a thread of its own: a result that
//! changes a state, a state type, an attempt or the notification
//! bookkeeping is committed before its notifications are delivered; a
//! result that changed only the output and the check time is kept in
//! retention's own dirty set and written with the next periodic flush, and
//! on stop.

mod builder;
mod hotload;
mod stats;
mod task;

pub use self::builder::MonitorBuilder;
pub use self::hotload::{DEBOUNCE, Rejection, ReloadReport};
pub use self::stats::{Lateness, Stats};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use self::task::{Answer, Command};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
pub use crate::engine::Submission;
use crate::engine::{ConfigChange, Engine, Event, Input, ModuleStatus, ObjectStatus};
use crate::error::Error;
use crate::sandbox::{Sandbox, SandboxBuilder};
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

/// A running engine: a handle to ask it things and to stop it. Dropping
/// the last handle stops it too, the same graceful way as [`Monitor::stop`].
pub struct Monitor {
    commands: mpsc::UnboundedSender<Command>,
    reloads: mpsc::UnboundedSender<hotload::Request>,
    /// The sandbox checks run in: a reloaded configuration's modules load here.
    sandbox: Sandbox,
    /// The configuration file [`Monitor::reload_config_file`] reads.
    config_path: Option<PathBuf>,
    /// One configuration reload at a time.
    reloading: tokio::sync::Mutex<()>,
    events: broadcast::Sender<Event>,
    stats: Arc<Mutex<Stats>>,
    clock: Arc<dyn Clock>,
    task: Mutex<Option<tokio::task::JoinHandle<Result<(), Error>>>>,
    sinks: Arc<Vec<crate::export::SinkHandle>>,
    /// The retention file, if there is one.
    retention_file: Option<PathBuf>,
    /// With a `[cluster]`: what the API shows of it.
    cluster: Option<crate::cluster::link::ClusterHandle>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
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
            subscribers: Vec::new(),
            config_path: None,
        }
    }

    /// The sandbox a configuration asks for: its concurrency cap, an
    /// instance pool sized for its largest memory limit (of checks and
    /// event handlers), its compile budget, the default module cache.
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
        Sandbox::builder()
            .max_concurrency(config.engine.max_concurrent_checks)
            .max_memory(max_memory)
            .compile_limits(config.engine.compile)
    }

    /// The time now on the monitor's clock (the UNIX epoch's for the real
    /// clock): what a downtime's `start` and `end` are measured on.
    pub fn now(&self) -> Time {
        self.clock.now()
    }

    /// The retention file it writes, if any (readers may open it read-only
    /// while it runs, as the status page's history does).
    pub fn retention_file(&self) -> Option<&std::path::Path> {
        self.retention_file.as_deref()
    }

    /// Every event from now on: results, notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Processes a passive result through the same state processor and
    /// notification rules as a check's; returns its result event.
    /// An object with `passive_checks = false` refuses it ([`Refusal::PassiveDisabled`](crate::Refusal::PassiveDisabled)).
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
    /// passive-only object without a check refuses ([`Refusal::NoCheck`](crate::Refusal::NoCheck)).
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

    /// Sends a CUSTOM notification about an object to its contacts (held
    /// back in downtime and outside its notification period). Refused for
    /// an unknown object and an empty author or comment.
    pub async fn custom_notification(&self, request: crate::engine::CustomNotification) -> Result<Vec<Event>, Error> {
        match self.apply(Input::Notify(request)).await? {
            Answer::Events(events) => Ok(events),
            other => unreachable!("a custom notification answers with its events, not {other:?}"),
        }
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
        self.reloads.send(hotload::Request::Reload(tx)).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Whether the monitor knows its configuration file, to read it again
    /// ([`Monitor::reload_config_file`]).
    pub fn has_config_file(&self) -> bool {
        self.config_path.is_some()
    }

    /// Reads the configuration file again (the one given to
    /// [`MonitorBuilder::config_file`] or [`MonitorBuilder::config_path`])
    /// and lets it take over, as [`Monitor::reload_config`]. A file with
    /// problems is refused with every problem listed
    /// ([`Error::InvalidConfig`]) and the running configuration stays.
    /// `wasmon run` calls this on SIGHUP.
    pub async fn reload_config_file(&self) -> Result<ConfigChange, Error> {
        let path = self.config_path.clone().ok_or_else(|| {
            Error::Config("the monitor was started without a configuration file to read again".into())
        })?;
        let config = tokio::task::spawn_blocking(move || crate::config::load(&path))
            .await
            .map_err(|source| Error::Task { what: "loading", source })?
            .map_err(Error::InvalidConfig)?;
        self.reload_config(config).await
    }

    /// Lets `config` take over while checks keep running: its hosts' packs
    /// are expanded, its modules loaded and its addresses resolved first
    /// (any problem refuses it and the running configuration stays); then
    /// objects it adds start, spread over their interval; objects it
    /// removes stop (their retention rows stay); objects it keeps, by host
    /// and service name, keep their state, attempt, value store,
    /// acknowledgement, downtime, flapping history and place in the
    /// schedule, with their new settings. Returns what changed, which a
    /// `config` event also says. Settings of `[engine]` and `[api]` that
    /// the running process was started with (`state_file`,
    /// `max_concurrent_checks`, the listener) take effect at the next start.
    pub async fn reload_config(&self, mut config: Config) -> Result<ConfigChange, Error> {
        let _one = self.reloading.lock().await;
        crate::pack::expand(&mut config, &self.sandbox).await?;
        let sandbox = self.sandbox.clone();
        // Compiling modules and resolving addresses block: not on a runtime thread.
        let mut engine = tokio::task::spawn_blocking(move || Engine::new(config, &sandbox))
            .await
            .map_err(|source| Error::Task { what: "loading", source })??;
        engine.describe_modules(self.clock.now()).await;
        let files = engine.module_files();
        let change = self.ask(|reply| Command::Reload(Box::new(engine), reply)).await?;
        let _ = self.reloads.send(hotload::Request::Files(files));
        Ok(change)
    }

    /// Every metric sink's counters, in configuration order (see
    /// [`crate::export`]).
    pub fn sinks(&self) -> Vec<crate::export::SinkStatus> {
        self.sinks.iter().map(|s| s.status()).collect()
    }

    /// With a `[cluster]`: its workers (zone, version, checks/s, last
    /// seen), each zone's queue and the counters of dropped results (see
    /// [`crate::cluster`]); `None` without one.
    pub async fn cluster(&self) -> Option<crate::cluster::ClusterStatus> {
        Some(self.cluster.as_ref()?.status().await)
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
            Some(h) => h.await.map_err(|source| Error::Task { what: "engine", source })?,
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
