//! The event pipeline: one ordered list of [`Subscriber`]s per engine
//! driver, each handed the events of every engine step in order.
//!
//! A *step* is what one input or one processed result caused: a result
//! event and what it decided (flapping, acknowledgement and downtime
//! changes, a suppressed notification, notifications), a timer's events, a
//! command's events. Objects that enter or leave dependency failure because
//! of a result are steps of their own, after it, parents first.
//!
//! The list, in order, for `wasmon run` and [`crate::Monitor`]:
//!
//! 1. **retention**: commits the step (or keeps a result that changed only
//!    its output for the next flush), then hands the step's notifications
//!    to the notifier; without retention, the notifier delivers at once;
//! 2. **event handlers**: run the handlers the result called for, each on
//!    its own task; their `handler` events come back as steps of their own;
//! 3. **the log**: state changes and notifications at `-v`, every result
//!    at `-vv`;
//! 4. **the broadcast** for the API's event stream and
//!    [`crate::Monitor::subscribe`]: lossy, a slow reader is told how many
//!    events it missed;
//! 5. **embedders' subscribers** ([`crate::MonitorBuilder::subscriber`]),
//!    in the order they were added: reliable and in order.
//!
//! A subscriber is called on the engine's task and must return quickly:
//! each does its work on a thread or task of its own behind a queue.
//! Nothing is cloned or serialised for a subscriber that is not there:
//! events are handed by reference, and the large ones (results,
//! notifications) are shared, not copied, by those that keep them.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use tokio::sync::broadcast;

use crate::engine::ModuleAction;
use crate::event::Event;

/// A consumer of the engine's events.
///
/// Call order: [`Subscriber::events`] once per engine step, with that
/// step's events in order, on the engine's task (so it must not block for
/// long); [`Subscriber::flush`] after each turn of the engine loop (a batch
/// of steps); nothing after the engine stopped but `Drop`.
pub trait Subscriber: Send {
    /// The events of one engine step, in order.
    fn events(&mut self, step: &[Event]);

    /// The engine finished a batch of steps: hand on what was buffered.
    fn flush(&mut self) {}
}

/// The ordered list of subscribers of one engine driver.
#[derive(Default)]
pub(crate) struct Pipeline {
    subscribers: Vec<Box<dyn Subscriber>>,
}

impl Pipeline {
    /// Adds `s` at the end of the list.
    pub(crate) fn push(&mut self, s: impl Subscriber + 'static) {
        self.subscribers.push(Box::new(s));
    }

    /// Hands one step's events to every subscriber, in order.
    pub(crate) fn publish(&mut self, step: &[Event]) {
        if step.is_empty() {
            return;
        }
        for s in &mut self.subscribers {
            s.events(step);
        }
    }

    /// Ends a batch of steps.
    pub(crate) fn flush(&mut self) {
        for s in &mut self.subscribers {
            s.flush();
        }
    }
}

/// The log: state changes, notifications, handlers, downtime,
/// acknowledgements and modules at `info`; results without a state change
/// at `debug`.
#[derive(Default)]
pub(crate) struct Log {
    /// The objects whose last result had bad performance data, and a hash
    /// of what was wrong: logged when it starts or changes, not at every
    /// run.
    bad_perfdata: std::collections::HashMap<(Arc<str>, Option<Arc<str>>), u64>,
}

impl Subscriber for Log {
    fn events(&mut self, step: &[Event]) {
        for event in step {
            log_event(event);
            if let Event::Result(r) = event {
                self.perfdata_errors(r);
            }
        }
    }
}

impl Log {
    fn perfdata_errors(&mut self, r: &crate::event::ResultEvent) {
        let key = (r.host.clone(), r.service.clone());
        if r.perfdata_errors.is_empty() {
            if !self.bad_perfdata.is_empty() {
                self.bad_perfdata.remove(&key);
            }
            return;
        }
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            r.perfdata_errors.hash(&mut h);
            h.finish()
        };
        if self.bad_perfdata.insert(key, hash) != Some(hash) {
            let service = r.service.as_deref().unwrap_or("");
            let errors = r.perfdata_errors.join("; ");
            tracing::warn!(host = %r.host, service, %errors, "bad performance data left out");
        }
    }
}

fn log_event(event: &Event) {
    match event {
        Event::Result(r) => {
            let service = r.service.as_deref().unwrap_or("");
            let (host, state, state_type, attempt, max_attempts, source, output) =
                (&*r.host, r.state.as_str(), r.state_type, r.attempt, r.max_attempts, r.source, &r.output);
            if r.state_changed {
                tracing::info!(%host, service, %state, ?state_type, attempt, max_attempts, ?source, %output, "state change");
            } else {
                tracing::debug!(%host, service, %state, ?state_type, attempt, max_attempts, ?source, %output, "result");
            }
        }
        Event::Notification(n) => {
            tracing::info!(host = %n.host, service = n.service.as_deref().unwrap_or(""), id = n.id, kind = ?n.kind, state = %n.state, method = n.method.as_deref().unwrap_or(""), contact = n.contact.as_deref().unwrap_or(""), "notification");
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
        Event::Config { change, .. } => tracing::info!(
            added = change.added.len(),
            removed = change.removed.len(),
            changed = change.changed.len(),
            unchanged = change.unchanged,
            "configuration reloaded"
        ),
        Event::Cluster { change, worker, zone, message, .. } => {
            let (worker, zone) = (worker.as_deref().unwrap_or(""), zone.as_deref().unwrap_or(""));
            match change {
                crate::cluster::ClusterChange::WorkerLost | crate::cluster::ClusterChange::BrokerLost => {
                    tracing::warn!(worker, zone, "{message}")
                }
                _ => tracing::info!(worker, zone, "{message}"),
            }
        }
        Event::Bookkeeping(_) => {}
    }
}

/// The broadcast for the API's event stream and
/// [`crate::Monitor::subscribe`]: events are cloned (results and
/// notifications are shared, not copied) only while someone listens. A
/// listener that falls more than its capacity behind misses the oldest
/// and is told how many ([`broadcast::error::RecvError::Lagged`]).
pub(crate) struct Broadcast(pub(crate) broadcast::Sender<Event>);

impl Subscriber for Broadcast {
    fn events(&mut self, step: &[Event]) {
        if self.0.receiver_count() == 0 {
            return;
        }
        for event in step.iter().filter(|e| e.is_shown()) {
            let _ = self.0.send(event.clone());
        }
    }
}

/// The event handlers: runs every handler a result event calls for on a
/// task of its own; each call's `handler` event is sent to `done`, for
/// the engine driver to publish as a step of its own.
pub(crate) struct Handlers {
    pub(crate) done: tokio::sync::mpsc::UnboundedSender<Event>,
    pub(crate) clock: Arc<dyn crate::clock::Clock>,
    /// The calls under way, so a stop can wait for them.
    pub(crate) running: Arc<Tracker>,
}

impl Subscriber for Handlers {
    fn events(&mut self, step: &[Event]) {
        for event in step {
            let Event::Result(r) = event else { continue };
            for h in &r.private.handlers {
                let (h, done, clock) = (h.clone(), self.done.clone(), self.clock.clone());
                let running = self.running.clone();
                running.start();
                tokio::spawn(async move {
                    let outcome = h.module.handle(&h.call).await;
                    let _ = done.send(h.event(outcome, clock.now()));
                    running.end();
                });
            }
        }
    }
}

/// An embedder's subscriber behind a bounded queue, on a thread of its own
/// (see [`crate::MonitorBuilder::subscriber`]).
///
/// Events are collected per turn of the engine loop and handed over as one
/// batch (shared, not copied). When the queue is full, the engine waits
/// for room: a slow subscriber slows the engine down (checks start late),
/// and never misses an event. That is the choice for a *reliable*
/// subscriber; one that would rather miss events than hold up the engine
/// reads [`crate::Monitor::subscribe`] instead.
pub(crate) struct Queued {
    batch: Vec<Event>,
    tx: Option<SyncSender<Vec<Event>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Queued {
    /// Starts `subscriber` on a thread of its own behind a queue of
    /// `capacity` batches.
    pub(crate) fn start(mut subscriber: Box<dyn Subscriber>, capacity: usize) -> std::io::Result<Queued> {
        let (tx, rx): (SyncSender<Vec<Event>>, Receiver<Vec<Event>>) = sync_channel(capacity.max(1));
        let thread = std::thread::Builder::new().name("wasmon-subscriber".into()).spawn(move || {
            while let Ok(batch) = rx.recv() {
                subscriber.events(&batch);
                subscriber.flush();
            }
        })?;
        Ok(Queued { batch: Vec::new(), tx: Some(tx), thread: Some(thread) })
    }
}

impl Subscriber for Queued {
    fn events(&mut self, step: &[Event]) {
        self.batch.extend(step.iter().filter(|e| e.is_shown()).cloned());
    }

    fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let Some(tx) = &self.tx else { return };
        let batch = std::mem::take(&mut self.batch);
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(batch)) => {
                // Back-pressure: wait for room (on a multi-threaded runtime
                // with the rest of the runtime's tasks moved off this thread).
                let multi = tokio::runtime::Handle::try_current()
                    .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
                let _ = if multi { tokio::task::block_in_place(|| tx.send(batch)) } else { tx.send(batch) };
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("an embedder's subscriber has stopped (it panicked); its events are dropped");
                self.tx = None;
            }
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.flush();
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Counts work under way (deliveries, handler calls), so a stop can wait
/// for it.
#[derive(Default)]
pub(crate) struct Tracker {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Tracker {
    /// One more under way.
    pub(crate) fn start(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// One fewer.
    pub(crate) fn end(&self) {
        if self.count.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// How many are under way.
    pub(crate) fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until none is under way.
    pub(crate) async fn idle(&self) {
        loop {
            let idle = self.idle.notified();
            if self.count() == 0 {
                break;
            }
            idle.await;
        }
    }
}
