//! The scheduler's connection to the broker: publishes modules and jobs,
//! takes results, follows the workers' heartbeats and the connection.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, oneshot, watch};

use super::scheduler::{Incoming, Outgoing, Remote};
use super::status::{Counters, Seen};
use super::wire::{Heartbeat, ResultBatch, batches};
use super::{ClusterChange, ClusterSettings, ClusterStatus, Names, WorkerStatus, ZoneStatus};
use crate::error::Error;

/// The cluster's state that the API reads ([`crate::Monitor::cluster`]).
#[derive(Clone)]
pub(crate) struct ClusterHandle {
    settings: ClusterSettings,
    connected: Arc<AtomicBool>,
    workers: Arc<Mutex<BTreeMap<String, Seen>>>,
    counters: Arc<Counters>,
    jobs: jetstream::stream::Stream,
    zones: Vec<String>,
    node: String,
    leaders: super::lease::Leaders,
}

/// Connects to the broker named by `settings`, creates the streams, the
/// buckets and the consumers of `zones`, and starts the link's tasks and
/// the lease keeper (see [`super::lease`]); `dirty` is the pipeline's
/// subscriber that names the objects whose state changed. Returns the
/// engine task's side and the handle the API reads.
pub(crate) async fn start(
    settings: &ClusterSettings,
    zones: Vec<String>,
    dirty: super::shards::Dirty,
) -> Result<(Remote, ClusterHandle), Error> {
    let names = Names::new(&settings.name);
    let node = settings.node();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let connected = Arc::new(AtomicBool::new(false));
    let events = in_tx.clone();
    let up = connected.clone();
    let nats = settings.nats.clone();
    let client = async_nats::ConnectOptions::new()
        .name("wasmon run")
        .event_callback(move |event| {
            let (events, up, nats) = (events.clone(), up.clone(), nats.clone());
            async move {
                let change = match event {
                    async_nats::Event::Connected => ClusterChange::BrokerBack,
                    async_nats::Event::Disconnected => ClusterChange::BrokerLost,
                    _ => return,
                };
                let was = up.swap(change == ClusterChange::BrokerBack, Ordering::Relaxed);
                if was != (change == ClusterChange::BrokerBack) {
                    let message = format!("{} at {nats}", change.as_str());
                    let _ = events.send(Incoming::Change { change, worker: None, zone: None, message });
                }
            }
        })
        .connect(settings.nats.as_str())
        .await
        .map_err(|e| Error::Cluster(format!("cannot connect to NATS at {}: {e}", settings.nats)))?;
    connected.store(true, Ordering::Relaxed);
    let js = jetstream::new(client.clone());
    let (jobs, results) = super::streams(&js, &names).await?;
    let bucket = super::modules_bucket(&js, &names).await?;
    for zone in &zones {
        let consumer = super::zone_consumer(&jobs, &names, zone, settings.ack_wait).await?;
        let found = consumer.cached_info().config.ack_wait;
        if found != settings.ack_wait {
            // Made before, by a worker or with another setting: it stays.
            tracing::warn!(
                %zone,
                ack_wait = %humantime::format_duration(found),
                "the consumer of the zone exists with another ack_wait than [cluster] ack_wait; it keeps its own"
            );
        }
    }
    // Each scheduler takes the results of the jobs it handed out.
    let durable = format!("scheduler_{node}");
    let consumer = results
        .get_or_create_consumer(
            &durable,
            jetstream::consumer::pull::Config {
                durable_name: Some(durable.clone()),
                filter_subject: names.results_subject_of(&node),
                ack_wait: Duration::from_secs(30),
                max_ack_pending: 1024,
                // The consumer of a scheduler gone for good goes too.
                inactive_threshold: Duration::from_secs(3600),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::Cluster(format!("NATS JetStream: cannot create the results consumer: {e}")))?;
    let heartbeats = client
        .subscribe(names.heartbeats())
        .await
        .map_err(|e| Error::Cluster(format!("NATS: cannot subscribe to the heartbeats: {e}")))?;

    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let workers = Arc::new(Mutex::new(BTreeMap::new()));
    tokio::spawn(publish(js.clone(), bucket, names.clone(), node.clone(), settings.batch_size, out_rx));
    // The shards: leases, and the objects' states.
    let leases = super::kv::bucket(&js, &names.leases_bucket(), "shard leases").await?;
    let ids = super::lease::reserve_ids(&leases).await?;
    let state = super::kv::bucket(&js, &names.state_bucket(), "objects' states").await?;
    let leaders = super::lease::Leaders::default();
    let (state_tx, state_rx) = mpsc::unbounded_channel();
    let (drained_tx, drained_rx) = mpsc::unbounded_channel();
    let (written_tx, written) = oneshot::channel();
    let (closed_tx, closed) = oneshot::channel();
    tokio::spawn(super::lease::write_states(
        state.clone(),
        state_rx,
        drained_tx,
        dirty.persisted.clone(),
        in_tx.clone(),
        written_tx,
    ));
    let keeper = super::lease::Leases::new(
        leases,
        state,
        node.clone(),
        settings.shards,
        settings.lease,
        in_tx.clone(),
        leaders.clone(),
    );
    tokio::spawn(keeper.run(drained_rx, written, closed_tx));
    tokio::spawn(take_results(consumer, in_tx.clone(), stop.clone()));
    tokio::spawn(follow_workers(heartbeats, workers.clone(), in_tx, stop));
    tracing::info!(nats = %settings.nats, name = %settings.name, %node, zones = zones.join(","), "connected to the NATS broker");
    let mut remote = Remote::new(settings.clone(), out_tx, in_rx, counters.clone(), stop_tx);
    remote.sharding = Some(super::shards::Sharding::new(settings.shards, state_tx, dirty));
    remote.closed = Some(closed);
    remote.notification_ids = ids;
    let handle = ClusterHandle { settings: settings.clone(), connected, workers, counters, jobs, zones, node, leaders };
    Ok((remote, handle))
}

/// Publishes what the engine task sends, in order: a module before the
/// jobs that name it.
async fn publish(
    js: jetstream::Context,
    bucket: jetstream::object_store::ObjectStore,
    names: Names,
    node: String,
    batch_size: usize,
    mut out: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut failing = false;
    while let Some(o) = out.recv().await {
        match o {
            Outgoing::Module { name, digest } => {
                if let Err(e) = put_module(&bucket, &name, &digest).await {
                    tracing::error!(module = %name, %digest, "cannot put the module in the bucket: {e}");
                }
            }
            Outgoing::Jobs { zone, expires, jobs } => {
                let subject = names.jobs_subject(&zone);
                let head = format!(r#"{{"expires":{expires},"reply":"{node}","jobs":["#);
                for message in batches(&head, &jobs, batch_size) {
                    let Ok(payload) = message else {
                        // Left to time out: its object ends UNKNOWN, naming the zone.
                        tracing::error!(%zone, "a job is larger than a message may be; it is not sent");
                        continue;
                    };
                    let sent = match js.publish(subject.clone(), payload.into()).await {
                        Ok(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match sent {
                        Ok(()) if failing => {
                            failing = false;
                            tracing::info!(%zone, "jobs are published again");
                        }
                        Ok(()) => {}
                        Err(e) if !failing => {
                            failing = true;
                            tracing::error!(%zone, "cannot publish jobs (they end UNKNOWN after their timeout): {e}");
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    }
}

/// Puts the module `name` in the bucket under `digest`, unless it is
/// there: its bytes from its file or the standard checks, if their sha256
/// is still `digest`.
async fn put_module(bucket: &jetstream::object_store::ObjectStore, name: &str, digest: &str) -> Result<(), String> {
    if bucket.info(digest).await.is_ok() {
        return Ok(());
    }
    let bytes: Vec<u8> = match crate::spec_file(name) {
        Some(path) => tokio::fs::read(path).await.map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => crate::standard::find(name).map_err(|e| e.to_string())?.wasm.to_vec(),
    };
    let found = hex::encode(Sha256::digest(&bytes));
    if found != digest {
        return Err(format!("the file changed since it was loaded (sha256 {found}); the next hot-load publishes it"));
    }
    bucket.put(digest, &mut bytes.as_slice()).await.map_err(|e| e.to_string())?;
    tracing::debug!(module = %name, %digest, "module put in the bucket");
    Ok(())
}

/// Takes result batches and hands them to the engine task.
async fn take_results(
    consumer: jetstream::consumer::PullConsumer,
    to_task: mpsc::UnboundedSender<Incoming>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("cannot pull results (retrying): {e}");
                tokio::select! {
                    _ = stop.changed() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let next = tokio::select! {
                _ = stop.changed() => return,
                next = messages.next() => next,
            };
            let message = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::debug!("pulling results: {e}");
                    continue;
                }
                None => break,
            };
            match serde_json::from_slice::<ResultBatch>(&message.payload) {
                Ok(batch) => {
                    if to_task.send(Incoming::Results(batch)).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!("a result batch that does not parse is dropped: {e}"),
            }
            if let Err(e) = message.ack().await {
                tracing::debug!("cannot acknowledge a result batch: {e}");
            }
        }
    }
}

/// Keeps the workers' list from their heartbeats; a worker that misses
/// three is lost, one that comes back is back.
async fn follow_workers(
    mut heartbeats: async_nats::Subscriber,
    workers: Arc<Mutex<BTreeMap<String, Seen>>>,
    to_task: mpsc::UnboundedSender<Incoming>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let change = |change: ClusterChange, w: &WorkerStatus| {
        let message = format!("{}: {} (zone {})", change.as_str(), w.worker, w.zone);
        Incoming::Change { change, worker: Some(w.worker.clone()), zone: Some(w.zone.clone()), message }
    };
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            beat = heartbeats.next() => {
                let Some(beat) = beat else { return };
                let Ok(beat) = serde_json::from_slice::<Heartbeat>(&beat.payload) else {
                    tracing::debug!("a heartbeat that does not parse is ignored");
                    continue;
                };
                let status = WorkerStatus {
                    worker: crate::sanitize::line(&beat.worker, 128),
                    zone: crate::sanitize::line(&beat.zone, 64),
                    version: crate::sanitize::line(&beat.version, 64),
                    checks_per_second: beat.checks_per_second,
                    concurrency: beat.concurrency,
                    last_seen: now(),
                    lost: false,
                };
                let before = workers
                    .lock()
                    .expect("workers lock")
                    .insert(status.worker.clone(), Seen { status: status.clone(), interval: beat.interval.clamp(0.1, 60.0) });
                let what = match before {
                    None => Some(ClusterChange::WorkerJoined),
                    Some(s) if s.status.lost => Some(ClusterChange::WorkerBack),
                    Some(_) => None,
                };
                if let Some(what) = what && to_task.send(change(what, &status)).is_err() {
                    return;
                }
            }
            _ = tick.tick() => {
                let t = now();
                let mut lost = Vec::new();
                for seen in workers.lock().expect("workers lock").values_mut() {
                    if !seen.status.lost && t - seen.status.last_seen > 3.0 * seen.interval {
                        seen.status.lost = true;
                        lost.push(seen.status.clone());
                    }
                }
                for w in lost {
                    if to_task.send(change(ClusterChange::WorkerLost, &w)).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Seconds since the UNIX epoch, for the workers' last-seen times.
fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

impl ClusterHandle {
    /// The workers, the zones' queues and the counters, now.
    pub(crate) async fn status(&self) -> ClusterStatus {
        let workers: Vec<WorkerStatus> =
            self.workers.lock().expect("workers lock").values().map(|s| s.status.clone()).collect();
        let in_flight = self.counters.in_flight.lock().expect("counters lock").clone();
        let mut zones: Vec<String> = self.zones.clone();
        zones.extend(workers.iter().map(|w| w.zone.clone()));
        zones.extend(in_flight.keys().cloned());
        zones.sort();
        zones.dedup();
        let mut out = Vec::with_capacity(zones.len());
        for zone in zones {
            let (queued, unacknowledged) = match self.jobs.consumer_info(Names::zone_consumer(&zone)).await {
                Ok(info) => (info.num_pending, info.num_ack_pending as u64),
                Err(_) => (0, 0),
            };
            out.push(ZoneStatus {
                workers: workers.iter().filter(|w| w.zone == zone && !w.lost).count(),
                in_flight: in_flight.get(&zone).copied().unwrap_or(0),
                queued_batches: queued,
                unacknowledged_batches: unacknowledged,
                zone,
            });
        }
        let c = &self.counters;
        ClusterStatus {
            nats: self.settings.nats.clone(),
            name: self.settings.name.clone(),
            connected: self.connected.load(Ordering::Relaxed),
            workers,
            zones: out,
            dispatched: Counters::get(&c.dispatched),
            applied: Counters::get(&c.applied),
            duplicates: Counters::get(&c.duplicates),
            late: Counters::get(&c.late),
            unanswered: Counters::get(&c.unanswered),
            node: self.node.clone(),
            shards: {
                let leaders = self.leaders.lock().expect("leaders lock");
                (0..self.settings.shards)
                    .map(|shard| super::ShardStatus { shard, leader: leaders.get(&shard).cloned() })
                    .collect()
            },
        }
    }
}
