//! Retention as a subscriber of the event stream, and the delivery of
//! notifications after their commit.
//!
//! The restart protocol (see the [module docs](super)): a result that
//! changed a state, a state type, an attempt or the notification bookkeeping
//! is committed, with a pending record per notification it decided, before
//! those notifications are delivered; each delivery's outcome is recorded
//! when it ends. At start the notifications still pending are delivered, not
//! decided again, so a `kill -9` loses no HARD change and repeats no
//! delivered notification.
//!
//! The events of one engine step (a result and what it decided) go to the
//! retention thread as one operation, so they are committed together. A
//! result that changed nothing a restart must keep (the same state again,
//! with new output and check time) is kept in the thread's own dirty set,
//! newest per object, and written with the next flush (every flush
//! interval) and at close: a large steady installation writes each object
//! once per flush, not every result. Retention keeps that set itself, from
//! the events; the engine marks nothing.
//!
//! With a store, one thread owns it and commits whatever has queued up in
//! one transaction. Without one, [`Deliverer`] delivers at once and nothing
//! is recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::{DeliveryOutcome, HistoryLimits, NotificationId, NotificationRecord, ObjectKey, Store, SuppressedRecord};
use crate::config::Contact;
use crate::error::Error;
use crate::event::{Event, Note, NotificationEvent, ResultEvent, Source, Status};
use crate::notify::{NotificationMessage, Notifier};
use crate::pipeline::{Subscriber, Tracker};
use crate::state::{AckState, Downtime, Time};

/// One write of a transaction.
enum Write {
    /// A result a restart must not lose, written at once.
    Result(Arc<ResultEvent>),
    /// A result that changed only output and check time: kept in the dirty
    /// set until the next flush.
    Later(Arc<ResultEvent>),
    /// A notification decided: recorded pending, delivered after the commit.
    Notification(Arc<NotificationEvent>),
    Suppressed(ObjectKey, SuppressedRecord),
    Acknowledgement(ObjectKey, Option<AckState>),
    Downtimes(Arc<Vec<Downtime>>, u64),
    DependencyCleared(ObjectKey),
    Outcome(NotificationId, DeliveryOutcome, u32),
    /// A configuration reload removed and added these objects, at this time.
    Reloaded(Vec<ObjectKey>, Vec<ObjectKey>, Time),
    /// A sample of a result's metrics for the metric history.
    Samples(Arc<ResultEvent>),
}

enum Op {
    /// The writes of one engine step, committed together.
    Step(Vec<Write>),
    /// A delivery ended.
    Outcome(NotificationId, DeliveryOutcome, u32),
    /// Answered once everything sent before it is committed (or failed
    /// to be): what an acknowledged input waits for.
    Sync(oneshot::Sender<Result<(), String>>),
    Close(oneshot::Sender<()>),
}

/// The retention subscriber: the engine task's side of the retention
/// thread. First in the list: a step's notifications reach the notifier
/// only through it, after their commit.
pub(crate) struct Retainer {
    ops: mpsc::Sender<Op>,
    tracker: Arc<Tracker>,
}

/// Told of each notification whose delivery has ended (delivered, or
/// failed after its retries). With a cluster, the notification is then no
/// longer pending in its shard's state (see `crate::cluster::shards`).
pub(crate) type Delivered = Arc<dyn Fn(&NotificationMessage) + Send + Sync>;

impl Retainer {
    /// Starts the retention thread for `store`, delivers the notifications
    /// a previous run left pending, and writes results that changed only
    /// output every `flush_interval`.
    ///
    /// With a cluster (`cluster` is told of each delivery that ended), the
    /// notifications left pending are not delivered from the state file:
    /// each is pending in its shard's state too, and whoever leads the
    /// shard now delivers it from there (once, not once per file).
    pub(crate) fn start(
        store: Store,
        notifier: Arc<Notifier>,
        contacts: HashMap<String, Contact>,
        flush_interval: Duration,
        keep_removed: Duration,
        history: HistoryLimits,
        cluster: Option<Delivered>,
    ) -> Result<Retainer, Error> {
        let tracker = Arc::new(Tracker::default());
        let (tx, rx) = mpsc::channel();
        let handle = Handle::current();
        let mut pending = store.pending_notifications()?;
        if cluster.is_some() && !pending.is_empty() {
            tracing::info!(
                pending = pending.len(),
                "notifications left pending in the state file are delivered by their shards' leaders"
            );
            pending.clear();
        }
        for p in pending {
            let r = &p.record;
            let Some(single) = one_method(&contacts, r.contact.as_deref(), r.method.as_deref()) else {
                tracing::warn!(host = %p.key.host, "a pending notification's contact or method is no longer configured");
                let gone = DeliveryOutcome::Failed { error: "contact or method no longer configured".into() };
                let _ = tx.send(Op::Outcome(p.id, gone, 0));
                continue;
            };
            let message = NotificationMessage {
                id: p.id.get() as u64,
                host: p.key.host.clone(),
                service: p.key.service.clone(),
                kind: r.kind,
                state: Status::of(p.key.service.is_none(), r.state).to_string(),
                output: r.output.clone(),
                long_output: String::new(),
                time: r.time.as_secs(),
                attempt: 0,
                max_attempts: 0,
                contact: String::new(),
                author: None,
                comment: None,
            };
            tracing::info!(host = %p.key.host, service = ?p.key.service, "delivering a notification left pending by the last run");
            deliver(&handle, &notifier, &tracker, Some(&tx), Some(p.id), single, message, None);
        }
        let thread = Thread {
            store,
            rx,
            tx: tx.clone(),
            handle,
            notifier,
            tracker: tracker.clone(),
            later: HashMap::new(),
            flush_interval: flush_interval.max(Duration::from_millis(10)),
            keep_removed,
            history,
            latest: Duration::ZERO,
            sampled: HashMap::new(),
            delivered: cluster,
        };
        std::thread::Builder::new()
            .name("wasmon-store".into())
            .spawn(move || thread.run())
            .map_err(|source| Error::Thread { what: "the retention thread", source })?;
        Ok(Retainer { ops: tx, tracker })
    }

    /// What closes it when the engine stops.
    pub(crate) fn closer(&self) -> Closer {
        Closer { ops: Some(self.ops.clone()), tracker: self.tracker.clone() }
    }
}

/// Closes the notifier's side of the pipeline when the engine stops.
pub(crate) struct Closer {
    ops: Option<mpsc::Sender<Op>>,
    tracker: Arc<Tracker>,
}

impl Closer {
    /// With retention: a receiver answered once every step published
    /// before this call is committed to the state file (`Err` with the
    /// reason when the commit failed). Without retention: `None`, nothing
    /// to wait for. Steps that queued up together are committed in one
    /// transaction (group commit), so many waiters cost one commit.
    pub(crate) fn sync(&self) -> Option<oneshot::Receiver<Result<(), String>>> {
        let ops = self.ops.as_ref()?;
        let (tx, rx) = oneshot::channel();
        match ops.send(Op::Sync(tx)) {
            Ok(()) => Some(rx),
            Err(mpsc::SendError(Op::Sync(tx))) => {
                let _ = tx.send(Err("the retention thread has stopped".into()));
                Some(rx)
            }
            Err(_) => unreachable!("the op sent back is the sync"),
        }
    }

    /// With retention: writes everything, waits for the deliveries under
    /// way to end and be recorded, and stops the thread. Without: waits
    /// for the deliveries under way.
    pub(crate) async fn close(self) {
        if let Some(ops) = self.ops {
            let (tx, rx) = oneshot::channel();
            if ops.send(Op::Close(tx)).is_ok() {
                let _ = rx.await;
            }
        }
        self.tracker.idle().await;
    }
}

impl Subscriber for Retainer {
    fn events(&mut self, step: &[Event]) {
        let mut writes = Vec::new();
        for event in step {
            match event {
                // A passive result is answered only once it is committed:
                // it is never left for the flush.
                Event::Result(r) if r.private.significant || r.source == Source::Passive => {
                    writes.push(Write::Result(r.clone()))
                }
                Event::Result(r) => writes.push(Write::Later(r.clone())),
                Event::Notification(n) if n.contact.is_some() => writes.push(Write::Notification(n.clone())),
                Event::NotificationSuppressed { t: _, host, service, kind, state, reason } => {
                    let key = ObjectKey { host: host.clone(), service: service.clone() };
                    let time = step.iter().find_map(|e| e.as_result()).map(|r| r.private.time).unwrap_or_default();
                    writes.push(Write::Suppressed(key, SuppressedRecord::new(time, *kind, state.state(), *reason)));
                }
                Event::Acknowledgement { t, host, service, author, comment, sticky, active } => {
                    // One cleared by a result is in the result's own row.
                    if step.iter().any(|e| matches!(e, Event::Result(_))) {
                        continue;
                    }
                    let key = ObjectKey { host: host.clone(), service: service.clone() };
                    let ack = active.then(|| AckState {
                        author: author.clone(),
                        comment: comment.clone(),
                        sticky: *sticky,
                        time: Duration::from_secs_f64(*t),
                    });
                    writes.push(Write::Acknowledgement(key, ack));
                }
                Event::Config { t, change } => writes.push(Write::Reloaded(
                    change.removed.clone(),
                    change.added.clone(),
                    Duration::from_secs_f64(*t),
                )),
                Event::Bookkeeping(b) => match &b.0 {
                    Note::Downtimes(d, last) => writes.push(Write::Downtimes(d.clone(), *last)),
                    Note::DependencyCleared(key) => writes.push(Write::DependencyCleared(key.clone())),
                },
                _ => {}
            }
        }
        if !writes.is_empty() && self.ops.send(Op::Step(writes)).is_err() {
            tracing::error!("the retention thread has stopped; a result was not persisted");
        }
    }
}

/// The notifier without retention: delivers every notification at once,
/// records nothing.
pub(crate) struct Deliverer {
    notifier: Arc<Notifier>,
    tracker: Arc<Tracker>,
    delivered: Option<Delivered>,
}

impl Deliverer {
    /// `delivered` is told of each delivery that ended (with a cluster).
    pub(crate) fn new(notifier: Arc<Notifier>, delivered: Option<Delivered>) -> Deliverer {
        Deliverer { notifier, tracker: Arc::new(Tracker::default()), delivered }
    }

    /// What waits for its deliveries when the engine stops.
    pub(crate) fn closer(&self) -> Closer {
        Closer { ops: None, tracker: self.tracker.clone() }
    }
}

impl Subscriber for Deliverer {
    fn events(&mut self, step: &[Event]) {
        let handle = Handle::current();
        for event in step {
            if let Event::Notification(n) = event
                && let Some((contact, message)) = delivery(n)
            {
                deliver(&handle, &self.notifier, &self.tracker, None, None, contact, message, self.delivered.clone());
            }
        }
    }
}

/// The configured contact named `contact` with only its method of kind
/// `method`: what a notification recorded by names is delivered to again.
/// `None` when either is not configured (any more).
pub(crate) fn one_method(
    contacts: &HashMap<String, Contact>,
    contact: Option<&str>,
    method: Option<&str>,
) -> Option<Contact> {
    let contact = contacts.get(contact?)?;
    let method = contact.methods.iter().find(|m| Some(m.kind()) == method)?;
    Some(Contact { name: contact.name.clone(), methods: vec![method.clone()], ..Contact::default() })
}

/// What a notification event is delivered as: a contact with its one
/// method, and the message. `None` without a contact.
pub(crate) fn delivery(n: &NotificationEvent) -> Option<(Contact, NotificationMessage)> {
    let (name, method) = (n.contact.as_ref()?, n.private.method.as_ref()?);
    let message = NotificationMessage {
        id: n.id,
        host: n.host.to_string(),
        service: n.service.as_deref().map(str::to_string),
        kind: n.kind,
        state: n.state.to_string(),
        output: n.output.clone(),
        long_output: n.long_output.clone(),
        time: n.private.time.as_secs(),
        attempt: n.attempt,
        max_attempts: n.max_attempts,
        contact: String::new(),
        author: n.author.clone(),
        comment: n.comment.clone(),
    };
    Some((Contact { name: name.clone(), methods: vec![method.clone()], ..Contact::default() }, message))
}

/// Delivers one contact method on the runtime and reports the outcome
/// (to the retention thread through `ops`, and to `delivered`).
#[allow(clippy::too_many_arguments)]
fn deliver(
    handle: &Handle,
    notifier: &Arc<Notifier>,
    tracker: &Arc<Tracker>,
    ops: Option<&mpsc::Sender<Op>>,
    id: Option<NotificationId>,
    contact: Contact,
    message: NotificationMessage,
    delivered: Option<Delivered>,
) {
    let notifier = notifier.clone();
    let tracker = tracker.clone();
    let ops = ops.cloned();
    tracker.start();
    handle.spawn(async move {
        for delivery in notifier.deliver(&contact, &message).await {
            if let (Some(ops), Some(id)) = (&ops, id) {
                let _ = ops.send(Op::Outcome(id, delivery.outcome, delivery.attempts));
            }
        }
        if let Some(delivered) = delivered {
            delivered(&message);
        }
        tracker.end();
    });
}

/// The retention thread.
struct Thread {
    store: Store,
    rx: mpsc::Receiver<Op>,
    tx: mpsc::Sender<Op>,
    handle: Handle,
    notifier: Arc<Notifier>,
    tracker: Arc<Tracker>,
    /// Retention's dirty set: the newest result of each object that changed
    /// only output and check time, not yet written.
    later: HashMap<ObjectKey, Arc<ResultEvent>>,
    flush_interval: Duration,
    /// How long removed objects' rows stay (`[engine] keep_removed`).
    keep_removed: Duration,
    /// How much history to keep.
    history: HistoryLimits,
    /// The time of the newest result written: "now" for pruning by age,
    /// on whatever clock the engine runs.
    latest: Time,
    /// When each object's metrics were last sampled for the metric history.
    sampled: HashMap<ObjectKey, crate::state::Time>,
    /// With a cluster: told of each delivery that ended.
    delivered: Option<Delivered>,
}

/// How often the history is pruned, at most.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Most operations committed in one transaction.
const BATCH: usize = 4096;

/// After a wake-up that brought only results kept for the flush, how long
/// the thread lets more gather: the most a significant write that comes
/// meanwhile waits for it.
const LAZY_GATHER: Duration = Duration::from_millis(20);

impl Thread {
    fn run(mut self) {
        let mut closing: Option<oneshot::Sender<()>> = None;
        let mut next_flush = Instant::now() + self.flush_interval;
        let mut next_prune = Instant::now();
        loop {
            let mut ops = Vec::new();
            let wait = if closing.is_some() {
                Duration::from_millis(20)
            } else {
                next_flush.saturating_duration_since(Instant::now())
            };
            match self.rx.recv_timeout(wait) {
                Ok(op) => ops.push(op),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while ops.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            // Only results kept for the flush: nothing waits for them, so
            // let more gather before the next wake-up. Woken for every
            // engine step, this thread cost more CPU than its writes
            // (`wasmon bench --state-file`: a futex wake and two context
            // switches per step).
            let lazy = !ops.is_empty()
                && ops.iter().all(|op| matches!(op, Op::Step(w) if w.iter().all(|w| matches!(w, Write::Later(_)))));
            // Written in the order they came: a result kept for the flush
            // must not overwrite a newer significant one, nor it an older.
            let mut writes = Vec::new();
            let mut syncs = Vec::new();
            for op in ops {
                match op {
                    Op::Step(w) => {
                        for w in w {
                            self.order(w, &mut writes);
                        }
                    }
                    Op::Outcome(id, outcome, attempts) => writes.push(Write::Outcome(id, outcome, attempts)),
                    Op::Sync(reply) => syncs.push(reply),
                    Op::Close(reply) => closing = Some(reply),
                }
            }
            let committed = if writes.is_empty() { Ok(()) } else { self.commit(writes) };
            for reply in syncs {
                let _ = reply.send(committed.clone());
            }
            if closing.is_some() || Instant::now() >= next_flush {
                self.flush();
                self.prune();
                next_flush = Instant::now() + self.flush_interval;
                if Instant::now() >= next_prune {
                    match self.store.prune_history(self.latest, self.history) {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(entries = n, "pruned the state-change history"),
                        Err(e) => tracing::error!("cannot prune the state-change history: {e}"),
                    }
                    next_prune = Instant::now() + PRUNE_INTERVAL;
                }
            }
            if lazy && closing.is_none() {
                std::thread::sleep(LAZY_GATHER);
            }
            if closing.is_some() && self.tracker.count() == 0 {
                // Outcomes are sent before the count drops: take the last.
                let outcomes: Vec<_> = self
                    .rx
                    .try_iter()
                    .filter_map(|op| match op {
                        Op::Outcome(id, o, a) => Some(Write::Outcome(id, o, a)),
                        _ => None,
                    })
                    .collect();
                if !outcomes.is_empty() {
                    let _ = self.commit(outcomes);
                }
                break;
            }
        }
        if let Some(reply) = closing {
            let _ = reply.send(());
        }
    }

    /// Puts `w` in order: a result for later goes to the dirty set; a newer
    /// significant result of the same object replaces it there; an
    /// acknowledgement writes the object's pending row first, so the row
    /// written later does not carry an older acknowledgement.
    fn order(&mut self, w: Write, writes: &mut Vec<Write>) {
        match w {
            Write::Later(r) => {
                self.sample(&r, writes);
                self.later.insert(key_of(&r), r);
            }
            Write::Result(r) => {
                self.sample(&r, writes);
                self.later.remove(&key_of(&r));
                writes.push(Write::Result(r));
            }
            Write::Acknowledgement(key, ack) => {
                if let Some(r) = self.later.remove(&key) {
                    writes.push(Write::Later(r));
                }
                writes.push(Write::Acknowledgement(key, ack));
            }
            w => writes.push(w),
        }
    }

    /// Deletes the rows of objects removed longer than `keep_removed` ago.
    fn prune(&mut self) {
        let (latest, keep) = (self.latest, self.keep_removed);
        if latest == Time::ZERO {
            return;
        }
        match self.store.transaction(|tx| tx.prune_removed(latest, keep)) {
            Ok(0) => {}
            Ok(n) => tracing::info!(objects = n, "retention rows of removed objects pruned"),
            Err(e) => tracing::error!("cannot prune removed objects: {e}"),
        }
    }

    /// Samples the result's metrics for the metric history if the object's
    /// last sample is [`super::SAMPLE_SPACING`] old.
    fn sample(&mut self, r: &Arc<ResultEvent>, writes: &mut Vec<Write>) {
        if r.metrics.is_empty() {
            return;
        }
        let key = key_of(r);
        let due = self.sampled.get(&key).is_none_or(|last| r.private.time >= *last + super::SAMPLE_SPACING);
        if due {
            self.sampled.insert(key, r.private.time);
            writes.push(Write::Samples(r.clone()));
        }
    }

    /// Writes the dirty set, a transaction per [`BATCH`] objects.
    fn flush(&mut self) {
        if self.later.is_empty() {
            return;
        }
        let all: Vec<Write> = self.later.drain().map(|(_, r)| Write::Later(r)).collect();
        let mut all = all.into_iter().peekable();
        while all.peek().is_some() {
            let _ = self.commit(all.by_ref().take(BATCH).collect());
        }
    }

    /// Commits results, notifications, delivery outcomes and the rest in
    /// one transaction, in order, then starts the notifications' deliveries.
    /// `Err` with the reason when the transaction failed.
    fn commit(&mut self, writes: Vec<Write>) -> Result<(), String> {
        let mut latest = self.latest;
        let saved = self.store.transaction(|tx| {
            for w in &writes {
                match w {
                    Write::Result(r) | Write::Later(r) => {
                        latest = latest.max(r.private.time);
                        let key = key_of(r);
                        let p = &r.private;
                        let state = r.object_state();
                        let time = p.time;
                        tx.save_object(&key, &state, &p.notify, &p.values)?;
                        for change in &p.changes {
                            tx.record_state_change(&key, time, change, &state.output)?;
                        }
                        if matches!(w, Write::Result(_)) {
                            tx.save_dependency(&key, p.dependency.as_ref())?;
                        }
                    }
                    Write::Notification(n) => {
                        let record = NotificationRecord {
                            time: n.private.time,
                            change_time: n.private.change_time,
                            kind: n.kind,
                            state: n.private.hard_state,
                            contact: n.contact.clone(),
                            method: n.method.clone(),
                            output: n.output.clone(),
                            outcome: DeliveryOutcome::Pending,
                            attempts: 0,
                        };
                        let key =
                            ObjectKey { host: n.host.to_string(), service: n.service.as_deref().map(str::to_string) };
                        tx.record_notification_as(NotificationId::new(n.id), &key, &record)?;
                    }
                    Write::Suppressed(key, record) => tx.record_suppressed(key, record)?,
                    Write::Acknowledgement(key, ack) => tx.save_acknowledgement(key, ack.as_ref())?,
                    Write::Downtimes(downtimes, last) => tx.save_downtimes(downtimes, *last)?,
                    Write::DependencyCleared(key) => tx.save_dependency(key, None)?,
                    Write::Outcome(id, outcome, attempts) => tx.set_notification_outcome(*id, outcome, *attempts)?,
                    Write::Reloaded(removed, added, t) => {
                        latest = latest.max(*t);
                        tx.mark_removed(removed, added, *t)?
                    }
                    Write::Samples(r) => {
                        tx.save_samples(&key_of(r), r.private.time, &r.metrics, super::SAMPLES_KEPT)?
                    }
                }
            }
            Ok(())
        });
        self.latest = latest;
        let saved = saved.map_err(|e| {
            // Better a notification without its record than none at all.
            tracing::error!("cannot persist results: {e}");
            e.to_string()
        });
        for w in writes {
            if let Write::Notification(n) = w
                && let Some((contact, message)) = delivery(&n)
            {
                let id = NotificationId::new(n.id);
                let delivered = self.delivered.clone();
                deliver(
                    &self.handle,
                    &self.notifier,
                    &self.tracker,
                    Some(&self.tx),
                    Some(id),
                    contact,
                    message,
                    delivered,
                );
            }
        }
        saved
    }
}

fn key_of(r: &ResultEvent) -> ObjectKey {
    ObjectKey { host: r.host.to_string(), service: r.service.as_deref().map(str::to_string) }
}
