//! The daemon loop of `wasmon run`: the engine on a real clock, many checks
//! at once under the sandbox's concurrency cap, every processed result
//! persisted before its notifications are delivered, and a graceful stop.
//!
//! The restart protocol (see [`crate::store`]): a result and its pending
//! notification records are committed in one transaction; only then are the
//! notifications delivered and their outcome recorded. At start the retained
//! state is restored and notifications still pending are delivered, not
//! decided again, so a `kill -9` loses no HARD change and repeats no
//! delivered notification.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Engine, Finished};
use crate::clock::Clock;
use crate::config::{Config, Contact};
use crate::error::Error;
use crate::module::CheckRun;
use crate::notify::{self, NotificationMessage, Notifier};
use crate::sandbox::Sandbox;
use crate::schedule::{ObjectId, initial_offset};
use crate::store::{DeliveryOutcome, NotificationId, NotificationRecord, ObjectKey, Store};

/// A delivery that ended: which record, how, after how many attempts.
type Delivered = (NotificationId, DeliveryOutcome, u32);

/// Runs the engine until `shutdown` resolves, then lets the checks in flight
/// finish (each is cut at its own timeout), records them, and returns.
pub async fn run(
    config: &Config,
    sandbox: &Sandbox,
    mut store: Store,
    notifier: Arc<Notifier>,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let mut engine = Engine::new(config, sandbox)?;
    let mut retained = store.load_objects().map_err(|e| Error::Config(e.to_string()))?;
    let now = clock.now();
    let keys: Vec<(ObjectId, ObjectKey)> = engine.keys().collect();
    for (id, key) in &keys {
        if let Some(r) = retained.remove(key) {
            engine.restore(*id, r);
        }
        // The first checks spread over the interval: no thundering herd.
        let interval = crate::state::next_check_after(engine.state(*id), &engine.state_config(*id));
        let name = format!("{}/{}", key.host, key.service.as_deref().unwrap_or(""));
        engine.schedule(*id, now + initial_offset(&name, interval));
    }
    tracing::info!(
        objects = keys.len(),
        state_file = %store.path(),
        "wasmon started; first checks are spread over each object's interval"
    );

    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Delivered>();
    resend_pending(&engine, &store, &notifier, &done_tx)?;

    let mut running: JoinSet<(ObjectId, CheckRun)> = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let sleep = engine.next_due().map(|due| due.saturating_sub(clock.now()));
        tokio::select! {
            () = &mut shutdown => break,
            Some(joined) = running.join_next(), if !running.is_empty() => {
                match joined {
                    Ok((id, run)) => finish(&mut engine, &mut store, &notifier, &done_tx, id, run, clock.now()),
                    Err(e) => tracing::error!("a check task failed: {e}"),
                }
            }
            Some((id, outcome, attempts)) = done_rx.recv() => record(&mut store, id, &outcome, attempts),
            () = tokio::time::sleep(sleep.unwrap_or(Duration::from_secs(3600))), if sleep.is_some() => {
                for id in engine.pop_due(clock.now()) {
                    let pending = engine.start(id);
                    running.spawn(async move { (id, pending.module.check(&pending.call).await) });
                }
            }
        }
    }
    tracing::info!(in_flight = running.len(), "stopping: letting the checks in flight finish");
    while let Some(joined) = running.join_next().await {
        if let Ok((id, run)) = joined {
            // Not rescheduled in effect: the loop is over.
            finish(&mut engine, &mut store, &notifier, &done_tx, id, run, clock.now());
        }
    }
    // Deliveries under way finish (each bounded by its timeouts) and are recorded.
    drop(done_tx);
    while let Some((id, outcome, attempts)) = done_rx.recv().await {
        record(&mut store, id, &outcome, attempts);
    }
    tracing::info!("wasmon stopped");
    Ok(())
}

/// Applies one finished check, persists it with its pending notifications,
/// then starts their delivery.
fn finish(
    engine: &mut Engine,
    store: &mut Store,
    notifier: &Arc<Notifier>,
    done: &mpsc::UnboundedSender<Delivered>,
    id: ObjectId,
    run: CheckRun,
    now: crate::state::Time,
) {
    let f: Finished = engine.finish(id, run, now);
    for event in &f.events {
        log_event(event);
    }
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
    let ids = match store.save_result(&f.key, now, &f.transition, &f.notify, &f.values, &records) {
        Ok(ids) => ids,
        Err(e) => {
            // Better a notification without its record than none at all.
            tracing::error!("cannot persist a result: {e}");
            Vec::new()
        }
    };
    for (i, (contact, message)) in f.deliveries.into_iter().enumerate() {
        spawn_delivery(notifier, done, ids.get(i).copied(), contact, message);
    }
}

/// Delivers one contact method in the background and reports the outcome.
fn spawn_delivery(
    notifier: &Arc<Notifier>,
    done: &mpsc::UnboundedSender<Delivered>,
    id: Option<NotificationId>,
    contact: Contact,
    message: NotificationMessage,
) {
    let notifier = notifier.clone();
    let done = done.clone();
    tokio::spawn(async move {
        for delivery in notifier.deliver(&contact, &message).await {
            let (outcome, attempts) = match delivery.outcome {
                notify::DeliveryOutcome::Delivered { attempts } => (DeliveryOutcome::Delivered, attempts),
                notify::DeliveryOutcome::Failed { attempts, error } => (DeliveryOutcome::Failed { error }, attempts),
            };
            if let Some(id) = id {
                let _ = done.send((id, outcome, attempts));
            }
        }
    });
}

fn record(store: &mut Store, id: NotificationId, outcome: &DeliveryOutcome, attempts: u32) {
    if let Err(e) = store.set_notification_outcome(id, outcome, attempts) {
        tracing::error!("cannot record a notification's outcome: {e}");
    }
}

/// Delivers what a previous run persisted but did not see delivered.
fn resend_pending(
    engine: &Engine,
    store: &Store,
    notifier: &Arc<Notifier>,
    done: &mpsc::UnboundedSender<Delivered>,
) -> Result<(), Error> {
    let pending = store.pending_notifications().map_err(|e| Error::Config(e.to_string()))?;
    for p in pending {
        let r = &p.record;
        let contact = r.contact.as_deref().and_then(|c| engine.contact(c));
        let method = contact.and_then(|c| c.methods.iter().find(|m| Some(m.kind()) == r.method.as_deref()));
        let (Some(contact), Some(method)) = (contact, method) else {
            tracing::warn!(host = %p.key.host, "a pending notification's contact or method is no longer configured");
            let gone = DeliveryOutcome::Failed { error: "contact or method no longer configured".into() };
            let _ = done.send((p.id, gone, 0));
            continue;
        };
        let message = NotificationMessage {
            host: p.key.host.clone(),
            service: p.key.service.clone(),
            kind: r.kind,
            state: super::state_name(p.key.service.is_none(), r.state),
            output: r.output.clone(),
            long_output: String::new(),
            time: r.time.as_secs(),
            attempt: 0,
            max_attempts: 0,
            contact: String::new(),
        };
        tracing::info!(host = %p.key.host, service = ?p.key.service, "delivering a notification left pending by the last run");
        let single = Contact { name: contact.name.clone(), methods: vec![method.clone()] };
        spawn_delivery(notifier, done, Some(p.id), single, message);
    }
    Ok(())
}

fn log_event(event: &super::Event) {
    match event {
        super::Event::Result { host, service, state, state_type, attempt, max_attempts, output, .. } => {
            tracing::info!(%host, service = service.as_deref().unwrap_or(""), %state, ?state_type, attempt, max_attempts, %output, "result");
        }
        super::Event::Notification { host, service, kind, state, method, contact, .. } => {
            tracing::info!(%host, service = service.as_deref().unwrap_or(""), ?kind, %state, method = method.as_deref().unwrap_or(""), contact = contact.as_deref().unwrap_or(""), "notification");
        }
    }
}
