//! Building a [`Monitor`] and starting its engine task.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use super::task::{Task, worker};
use super::{Monitor, Retention, Stats, hotload};
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::engine::Engine;
use crate::error::Error;
use crate::notify::{Notifier, NotifierSettings};
use crate::pipeline::{Broadcast, Handlers, Log, Pipeline, Queued, Subscriber, Tracker};
use crate::retention::Store;
use crate::retention::writer::{Deliverer, Retainer};
use crate::sandbox::Sandbox;

/// Builds a [`Monitor`].
pub struct MonitorBuilder {
    pub(super) config: Option<Config>,
    pub(super) sandbox: Option<Sandbox>,
    pub(super) retention: Retention,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) notifier: Option<Arc<Notifier>>,
    pub(super) event_capacity: usize,
    pub(super) flush_interval: Duration,
    pub(super) watch_modules: bool,
    pub(super) subscribers: Vec<(Box<dyn Subscriber>, usize)>,
    pub(super) config_path: Option<PathBuf>,
}

impl MonitorBuilder {
    /// Monitors what `config` describes.
    pub fn config(mut self, config: Config) -> MonitorBuilder {
        self.config = Some(config);
        self
    }

    /// Reads and validates the configuration file at `path`.
    pub fn config_file(self, path: &Path) -> Result<MonitorBuilder, ConfigError> {
        Ok(self.config(crate::config::load(path)?).config_path(path))
    }

    /// The file [`Monitor::reload_config_file`] reads again (set by
    /// [`MonitorBuilder::config_file`]; for a configuration read some other
    /// way from a file).
    pub fn config_path(mut self, path: &Path) -> MonitorBuilder {
        self.config_path = Some(path.to_path_buf());
        self
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

    /// Where time comes from. Default [`SystemClock`](crate::clock::SystemClock).
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
        let history = config.engine.history;
        let checks_dir = config.engine.checks_dir.clone();
        let keep_removed = config.engine.keep_removed;
        let sink_configs = std::mem::take(&mut config.sinks);
        let cluster_settings = config.cluster.take();
        let spool = path.as_deref().map(crate::export::spool_path);
        let reload_sandbox = sandbox.clone();
        let monitor_sandbox = sandbox.clone();
        let retention_file = path.clone();
        let (engine, mut store) = tokio::task::spawn_blocking(move || -> Result<(Engine, Option<Store>), Error> {
            let engine = Engine::new(config, &sandbox)?;
            let store = path.map(|p| Store::open(&p)).transpose()?;
            Ok((engine, store))
        })
        .await
        .map_err(|source| Error::Task { what: "loading", source })??;
        let mut engine = engine;

        let now = self.clock.now();
        engine.describe_modules(now).await;
        let module_files = engine.module_files();
        let mut restored = 0;
        if let Some(store) = &mut store {
            let last = store.last_notification_id()?;
            engine.restore_notification_ids(last);
            let (downtimes, last_id) = store.load_downtimes()?;
            engine.restore_downtimes(downtimes, last_id);
            let mut retained = store.load_objects()?;
            let keys: Vec<_> = engine.keys().collect();
            let mut failures = store.load_dependencies()?;
            // Rows of objects this configuration lacks are kept for a while, then pruned.
            let configured = keys.iter().map(|(_, k)| k.clone()).collect();
            store.transaction(|tx| tx.mark_configured(&configured, now))?;
            for (id, key) in keys {
                if let Some(r) = retained.remove(&key) {
                    let problem = r.notify.problem_since;
                    engine.restore(id, r);
                    // The notification number of a problem that lasts, for escalations.
                    if let Some(since) = problem {
                        engine.restore_notification_number(id, store.problem_notifications(&key, since)?);
                    }
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
        // With a [cluster]: what the shards share (see crate::cluster::shards).
        let dirty = cluster_settings.as_ref().map(|c| crate::cluster::shards::Dirty::new(c.shards));
        // Retention first: it commits, then hands notifications on; with a
        // cluster, once the states are in its state bucket.
        // With a cluster, each delivery that ends is no longer pending in
        // its shard's state.
        let delivered = dirty.as_ref().map(crate::cluster::shards::Dirty::delivered_hook);
        let closer = match store {
            Some(store) => {
                let retainer = Retainer::start(
                    store,
                    notifier.clone(),
                    engine.contacts(),
                    self.flush_interval,
                    keep_removed,
                    history,
                    delivered,
                )?;
                let closer = retainer.closer();
                crate::cluster::shards::push_first(&mut pipeline, retainer, dirty.as_ref());
                closer
            }
            None => {
                let deliverer = Deliverer::new(notifier.clone(), delivered);
                let closer = deliverer.closer();
                crate::cluster::shards::push_first(&mut pipeline, deliverer, dirty.as_ref());
                closer
            }
        };
        pipeline.push(Handlers { done: handled_tx, clock: self.clock.clone(), running: handlers.clone() });
        pipeline.push(Log::default());
        // With a [cluster]: the objects whose state changed, for the shards' state bucket.
        if let Some(d) = &dirty {
            pipeline.push(crate::cluster::shards::Noter(d.clone()));
        }
        // Metric sinks: each behind its own bounded queue and thread.
        let (sinks, sink_handles) = crate::export::Sinks::start(&sink_configs, spool)?;
        if !sinks.is_empty() {
            pipeline.push(sinks);
        }
        let sinks = sink_handles;
        pipeline.push(Broadcast(events.clone()));
        for (s, capacity) in self.subscribers {
            let queued = Queued::start(s, capacity).map_err(|source| Error::Thread { what: "a subscriber", source })?;
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

        // With a [cluster]: connected, streams and zones' consumers made,
        // every module in the bucket, before the first check.
        let (remote, cluster) = match &cluster_settings {
            Some(settings) => {
                let (mut remote, handle) = crate::cluster::link::start(
                    settings,
                    engine.zones(),
                    dirty.clone().unwrap_or_else(|| crate::cluster::shards::Dirty::new(settings.shards)),
                )
                .await?;
                // Notification ids from this scheduler's block: unique in the cluster.
                engine.restore_notification_ids(remote.notification_ids);
                // Downtime ids too: a downtime moves with its host's shard.
                engine.restore_downtimes(Vec::new(), remote.notification_ids);
                // Who delivers what a shard taken over had pending.
                if let Some(sharding) = remote.sharding.as_mut() {
                    sharding.notifier = Some(notifier.clone());
                }
                for (name, digest) in engine.module_digests() {
                    remote.publish_module(&name, &digest);
                }
                (Some(remote), Some(handle))
            }
            None => (None, None),
        };
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
            epoch: 0,
            remaps: Vec::new(),
            remote,
            backlog: Default::default(),
        };
        let reloader =
            hotload::Reloader::new(reload_sandbox, commands.downgrade(), checks_dir, module_files, self.watch_modules);
        let (reloads, reloads_rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(task.run(commands_rx));
        tokio::spawn(reloader.run(reloads_rx));
        Ok(Monitor {
            commands,
            reloads,
            sandbox: monitor_sandbox,
            config_path: self.config_path,
            reloading: tokio::sync::Mutex::new(()),
            events,
            stats,
            clock: self.clock,
            task: Mutex::new(Some(handle)),
            sinks,
            retention_file,
            cluster,
        })
    }
}
