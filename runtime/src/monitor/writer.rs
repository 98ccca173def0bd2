//! Retention and notification delivery, off the engine task.
//!
//! The restart protocol (see [`crate::retention`]): a result that changed a
//! state, a state type, an attempt or the notification bookkeeping is
//! committed, with a pending record per notification it decided, before
//! those notifications are delivered; each delivery's outcome is recorded
//! when it ends. At start the notifications still pending are delivered,
//! not decided again, so a `kill -9` loses no HARD change and repeats no
//! delivered notification. A result that changed nothing of that (the same
//! state again, with new output and check time) is not sent here: the
//! engine marks the object, and the monitor sends snapshots of the marked
//! objects at each flush, so a large steady installation writes each
//! object once per flush interval, not every result.
//!
//! With a store, one thread owns it and commits whatever has queued up in
//! one transaction. Without one, deliveries start at once and nothing is
//! recorded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{Notify, oneshot};

use crate::config::Contact;
use crate::engine::{Finished, Snapshot, state_name};
use crate::error::Error;
use crate::notify::{self, NotificationMessage, Notifier};
use crate::retention::{DeliveryOutcome, NotificationId, NotificationRecord, Store};
use crate::state::Downtime;

/// One write of a transaction.
enum Write {
    Result(Box<Finished>),
    Snapshot(Box<Snapshot>),
    Outcome(NotificationId, DeliveryOutcome, u32),
    Downtimes(Vec<Downtime>, u64),
}

enum Op {
    Result(Box<Finished>),
    Snapshots(Vec<Snapshot>),
    Downtimes(Vec<Downtime>, u64),
    Outcome(NotificationId, DeliveryOutcome, u32),
    Close(oneshot::Sender<()>),
}

/// Counts deliveries under way, so a stop can wait for them.
#[derive(Default)]
struct Tracker {
    count: AtomicUsize,
    idle: Notify,
}

/// Starts the writer.
pub(super) struct Writer;

/// The engine task's side of the writer.
pub(super) struct WriterHandle {
    ops: Option<mpsc::Sender<Op>>,
    notifier: Arc<Notifier>,
    tracker: Arc<Tracker>,
}

impl Writer {
    /// Starts the writer thread for `store` (none without one) and delivers
    /// the notifications a previous run left pending.
    pub(super) fn start(
        store: Option<Store>,
        notifier: Arc<Notifier>,
        contacts: HashMap<String, Contact>,
    ) -> Result<WriterHandle, Error> {
        let tracker = Arc::new(Tracker::default());
        let Some(store) = store else {
            return Ok(WriterHandle { ops: None, notifier, tracker });
        };
        let (tx, rx) = mpsc::channel();
        let handle = Handle::current();
        let pending = store.pending_notifications().map_err(|e| Error::Retention(e.to_string()))?;
        for p in pending {
            let r = &p.record;
            let contact = r.contact.as_deref().and_then(|c| contacts.get(c));
            let method = contact.and_then(|c| c.methods.iter().find(|m| Some(m.kind()) == r.method.as_deref()));
            let (Some(contact), Some(method)) = (contact, method) else {
                tracing::warn!(host = %p.key.host, "a pending notification's contact or method is no longer configured");
                let gone = DeliveryOutcome::Failed { error: "contact or method no longer configured".into() };
                let _ = tx.send(Op::Outcome(p.id, gone, 0));
                continue;
            };
            let message = NotificationMessage {
                host: p.key.host.clone(),
                service: p.key.service.clone(),
                kind: r.kind,
                state: state_name(p.key.service.is_none(), r.state),
                output: r.output.clone(),
                long_output: String::new(),
                time: r.time.as_secs(),
                attempt: 0,
                max_attempts: 0,
                contact: String::new(),
            };
            tracing::info!(host = %p.key.host, service = ?p.key.service, "delivering a notification left pending by the last run");
            let single = Contact { name: contact.name.clone(), methods: vec![method.clone()] };
            deliver(&handle, &notifier, &tracker, Some(&tx), Some(p.id), single, message);
        }
        let thread = Thread { store, rx, tx: tx.clone(), handle, notifier: notifier.clone(), tracker: tracker.clone() };
        std::thread::Builder::new()
            .name("wasmon-store".into())
            .spawn(move || thread.run())
            .map_err(|e| Error::Engine(format!("cannot start the retention thread: {e}")))?;
        Ok(WriterHandle { ops: Some(tx), notifier, tracker })
    }
}

impl WriterHandle {
    /// Takes a processed result: persists it (now or at the next flush)
    /// and delivers its notifications after that.
    pub(super) fn result(&self, f: Finished) {
        match &self.ops {
            Some(ops) => {
                if ops.send(Op::Result(Box::new(f))).is_err() {
                    tracing::error!("the retention thread has stopped; a result was not persisted");
                }
            }
            None => {
                let handle = Handle::current();
                for (contact, message) in f.deliveries {
                    deliver(&handle, &self.notifier, &self.tracker, None, None, contact, message);
                }
            }
        }
    }

    /// Whether there is a store to write snapshots to.
    pub(super) fn keeps_state(&self) -> bool {
        self.ops.is_some()
    }

    /// Writes the latest state of objects that changed only in output.
    pub(super) fn snapshots(&self, snapshots: Vec<Snapshot>) {
        if let Some(ops) = &self.ops
            && !snapshots.is_empty()
            && ops.send(Op::Snapshots(snapshots)).is_err()
        {
            tracing::error!("the retention thread has stopped; the latest results were not written");
        }
    }

    /// Replaces the stored downtimes (and the highest id given out).
    pub(super) fn downtimes(&self, downtimes: Vec<Downtime>, last_id: u64) {
        if let Some(ops) = &self.ops
            && ops.send(Op::Downtimes(downtimes, last_id)).is_err()
        {
            tracing::error!("the retention thread has stopped; the downtimes were not written");
        }
    }

    /// Writes everything, waits for the deliveries under way to end and be
    /// recorded, and stops the thread.
    pub(super) async fn close(mut self) {
        match self.ops.take() {
            Some(ops) => {
                let (tx, rx) = oneshot::channel();
                if ops.send(Op::Close(tx)).is_ok() {
                    let _ = rx.await;
                }
            }
            None => loop {
                let idle = self.tracker.idle.notified();
                if self.tracker.count.load(Ordering::SeqCst) == 0 {
                    break;
                }
                idle.await;
            },
        }
    }
}

/// Delivers one contact method on the runtime and reports the outcome.
fn deliver(
    handle: &Handle,
    notifier: &Arc<Notifier>,
    tracker: &Arc<Tracker>,
    ops: Option<&mpsc::Sender<Op>>,
    id: Option<NotificationId>,
    contact: Contact,
    message: NotificationMessage,
) {
    let notifier = notifier.clone();
    let tracker = tracker.clone();
    let ops = ops.cloned();
    tracker.count.fetch_add(1, Ordering::SeqCst);
    handle.spawn(async move {
        for delivery in notifier.deliver(&contact, &message).await {
            let (outcome, attempts) = match delivery.outcome {
                notify::DeliveryOutcome::Delivered { attempts } => (DeliveryOutcome::Delivered, attempts),
                notify::DeliveryOutcome::Failed { attempts, error } => (DeliveryOutcome::Failed { error }, attempts),
            };
            if let (Some(ops), Some(id)) = (&ops, id) {
                let _ = ops.send(Op::Outcome(id, outcome, attempts));
            }
        }
        if tracker.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            tracker.idle.notify_waiters();
        }
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
}

/// Most operations committed in one transaction.
const BATCH: usize = 4096;

impl Thread {
    fn run(mut self) {
        let mut closing: Option<oneshot::Sender<()>> = None;
        loop {
            let mut ops = Vec::new();
            if closing.is_some() {
                match self.rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(op) => ops.push(op),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match self.rx.recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            while ops.len() < BATCH {
                match self.rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            // Written in the order they came: a snapshot taken after a
            // significant result must not be overwritten by it, nor it by
            // an older one.
            let mut writes = Vec::new();
            for op in ops {
                match op {
                    Op::Result(f) => writes.push(Write::Result(f)),
                    Op::Snapshots(s) => writes.extend(s.into_iter().map(|s| Write::Snapshot(Box::new(s)))),
                    Op::Outcome(id, outcome, attempts) => writes.push(Write::Outcome(id, outcome, attempts)),
                    Op::Downtimes(d, last) => writes.push(Write::Downtimes(d, last)),
                    Op::Close(reply) => closing = Some(reply),
                }
            }
            if !writes.is_empty() {
                self.commit(writes);
            }
            if closing.is_some() && self.tracker.count.load(Ordering::SeqCst) == 0 {
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
                    self.commit(outcomes);
                }
                break;
            }
        }
        if let Some(reply) = closing {
            let _ = reply.send(());
        }
    }

    /// Commits significant results, snapshots and delivery outcomes in one
    /// transaction, in order, then starts the results' deliveries.
    fn commit(&mut self, writes: Vec<Write>) {
        let saved = self.store.transaction(|tx| {
            let mut ids = Vec::new();
            for w in &writes {
                match w {
                    Write::Snapshot(snapshot) => {
                        let (key, state, notify, values) = &**snapshot;
                        tx.save_object(key, state, notify, values)?
                    }
                    Write::Outcome(id, outcome, attempts) => tx.set_notification_outcome(*id, outcome, *attempts)?,
                    Write::Downtimes(downtimes, last) => tx.save_downtimes(downtimes, *last)?,
                    Write::Result(f) => {
                        let now = f.time;
                        let records: Vec<NotificationRecord> = f
                            .deliveries
                            .iter()
                            .map(|(contact, message)| NotificationRecord {
                                time: now,
                                change_time: f.transition.state.last_hard_state_change.unwrap_or(now),
                                kind: message.kind,
                                state: f.transition.state.last_hard_state,
                                contact: Some(contact.name.clone()),
                                method: contact.methods.first().map(|m| m.kind().to_string()),
                                output: message.output.clone(),
                                outcome: DeliveryOutcome::Pending,
                                attempts: 0,
                            })
                            .collect();
                        ids.push(tx.save_result(&f.key, now, &f.transition, &f.notify, &f.values, &records)?);
                        tx.save_dependency(&f.key, f.dependency.as_ref())?;
                        if let Some(s) = &f.suppressed {
                            tx.record_suppressed(&f.key, s)?;
                        }
                    }
                }
            }
            Ok(ids)
        });
        let results = writes.into_iter().filter_map(|w| match w {
            Write::Result(f) => Some(f),
            _ => None,
        });
        let ids = match saved {
            Ok(ids) => ids,
            Err(e) => {
                // Better a notification without its record than none at all.
                tracing::error!("cannot persist results: {e}");
                Vec::new()
            }
        };
        for (i, f) in results.enumerate() {
            let f = *f;
            for (j, (contact, message)) in f.deliveries.into_iter().enumerate() {
                let id = ids.get(i).and_then(|ids| ids.get(j)).copied();
                deliver(&self.handle, &self.notifier, &self.tracker, Some(&self.tx), id, contact, message);
            }
        }
    }
}
