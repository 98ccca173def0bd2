//! `wasmon worker`: a sandbox with no configuration of its own that runs
//! the checks of one zone from the broker (see [`crate::cluster`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::AckKind;
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use super::Names;
use super::wire::{Heartbeat, Job, JobBatch, JobResult, batches};
use crate::error::Error;
use crate::outcome::{Outcome, Termination};
use crate::sandbox::module::{CheckModule, CheckRun};
use crate::sandbox::{Sandbox, SandboxBuilder};

/// A worker's own settings.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The NATS server's URL.
    pub nats: String,
    /// The cluster's name (`[cluster] name` of the scheduler; default
    /// `wasmon`).
    pub name: String,
    /// The zone whose checks it runs (default `default`).
    pub zone: String,
    /// How many checks it runs at once.
    pub concurrency: u32,
    /// The largest memory limit a check may have (the instance pool's
    /// slot size).
    pub memory: usize,
    /// How many batches of jobs it holds at once (default 2: one runs
    /// while the next one's stragglers finish).
    pub batches: usize,
    /// The compiled-module cache folder (`None`: no disk cache).
    pub cache_dir: Option<std::path::PathBuf>,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        WorkerOptions {
            nats: String::new(),
            name: "wasmon".into(),
            zone: "default".into(),
            concurrency: 64,
            memory: crate::Limits::default().memory,
            batches: 2,
            cache_dir: crate::default_cache_dir(),
        }
    }
}

/// Seconds between heartbeats.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// What the tasks of a worker share.
struct Shared {
    id: String,
    zone: String,
    sandbox: Sandbox,
    js: jetstream::Context,
    bucket: jetstream::object_store::ObjectStore,
    results_subject: String,
    names: Names,
    /// Compiled modules by sha256.
    modules: Mutex<HashMap<String, CheckModule>>,
    /// Checks finished since the start.
    done: AtomicU64,
    ack_wait: Duration,
}

/// Runs a worker until `stop` completes: then it takes no more batches,
/// finishes those it holds (publishing their results) and returns.
pub async fn run(options: WorkerOptions, stop: impl std::future::Future<Output = ()>) -> Result<(), Error> {
    if !super::valid_name(&options.zone) || options.zone.is_empty() {
        return Err(Error::Cluster(format!(
            "--zone {:?}: expected a zone name of letters, digits, '-' and '_'",
            options.zone
        )));
    }
    if !super::valid_name(&options.name) || options.name.is_empty() {
        return Err(Error::Cluster(format!(
            "--cluster {:?}: expected a cluster name of letters, digits, '-' and '_'",
            options.name
        )));
    }
    let sandbox = SandboxBuilder::default()
        .max_concurrency(options.concurrency.max(1))
        .max_memory(options.memory)
        .cache_dir(options.cache_dir.clone())
        .build()?;
    let names = Names::new(&options.name);
    let client = async_nats::ConnectOptions::new()
        .name("wasmon worker")
        .retry_on_initial_connect()
        .connect(options.nats.as_str())
        .await
        .map_err(|e| Error::Cluster(format!("cannot connect to NATS at {}: {e}", options.nats)))?;
    let js = jetstream::new(client.clone());
    let (jobs, _) = super::streams(&js, &names).await?;
    let bucket = super::modules_bucket(&js, &names).await?;
    let mut consumer = super::zone_consumer(&jobs, &names, &options.zone, Duration::from_secs(30)).await?;
    let ack_wait = consumer
        .info()
        .await
        .map(|i| i.config.ack_wait)
        .unwrap_or(Duration::from_secs(30))
        .max(Duration::from_millis(300));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "worker".into());
    let shared = Arc::new(Shared {
        id: format!("{}-{}", host.trim(), std::process::id()),
        zone: options.zone.clone(),
        sandbox,
        js,
        bucket,
        results_subject: names.results_subject(),
        names: names.clone(),
        modules: Mutex::new(HashMap::new()),
        done: AtomicU64::new(0),
        ack_wait,
    });
    tracing::info!(worker = %shared.id, zone = %options.zone, nats = %options.nats, concurrency = options.concurrency, "worker started");

    // Heartbeats, until the worker returns.
    let beat = {
        let (shared, client) = (shared.clone(), client.clone());
        let subject = names.heartbeat_subject(&options.zone);
        let concurrency = options.concurrency as usize;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            let mut last = (std::time::Instant::now(), 0u64);
            loop {
                tick.tick().await;
                let done = shared.done.load(Ordering::Relaxed);
                let secs = last.0.elapsed().as_secs_f64().max(0.001);
                let beat = Heartbeat {
                    worker: shared.id.clone(),
                    zone: shared.zone.clone(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    checks_per_second: (done - last.1) as f64 / secs,
                    concurrency,
                    interval: HEARTBEAT.as_secs_f64(),
                };
                last = (std::time::Instant::now(), done);
                let payload = serde_json::to_vec(&beat).expect("a heartbeat serializes");
                if let Err(e) = client.publish(subject.clone(), payload.into()).await {
                    tracing::debug!("cannot send a heartbeat: {e}");
                }
            }
        })
    };

    let holding = Arc::new(tokio::sync::Semaphore::new(options.batches.max(1)));
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(1)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .map_err(|e| Error::Cluster(format!("NATS JetStream: cannot pull jobs of zone {}: {e}", options.zone)))?;
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            () = &mut stop => break,
            p = holding.clone().acquire_owned() => p.expect("never closed"),
        };
        let next = tokio::select! {
            () = &mut stop => break,
            next = messages.next() => next,
        };
        let message = match next {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::debug!("pulling jobs: {e}");
                continue;
            }
            None => break,
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            batch(&shared, message).await;
            drop(permit);
        });
    }
    tracing::info!("stopping: finishing the batches held");
    let _all = holding.acquire_many(options.batches.max(1) as u32).await;
    beat.abort();
    client.flush().await.ok();
    Ok(())
}

/// Runs one batch of jobs, publishes the results and only then
/// acknowledges the batch; says it is still at work every third of the
/// acknowledgement wait.
async fn batch(shared: &Shared, message: jetstream::Message) {
    let batch: JobBatch = match serde_json::from_slice(&message.payload) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("a batch of jobs that does not parse is dropped: {e}");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
    if batch.expires < now {
        tracing::debug!(jobs = batch.jobs.len(), "a batch the scheduler gave up is dropped unrun");
        let _ = message.double_ack().await;
        return;
    }
    let subject = match &batch.reply {
        Some(node) if super::valid_name(node) && !node.is_empty() => shared.names.results_subject_of(node),
        _ => shared.results_subject.clone(),
    };
    let work = async {
        let results = run_jobs(shared, batch.jobs).await;
        publish(shared, &subject, &results).await
    };
    tokio::pin!(work);
    let mut progress = tokio::time::interval(shared.ack_wait / 3);
    progress.tick().await;
    let published = loop {
        tokio::select! {
            r = &mut work => break r,
            _ = progress.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    match published {
        Ok(()) => {
            if let Err(e) = message.double_ack().await {
                // Delivered again after the wait: its results are then duplicates.
                tracing::warn!("cannot acknowledge a batch of jobs: {e}");
            }
        }
        Err(e) => {
            tracing::error!("cannot publish results (the batch will be delivered again): {e}");
            let _ = message.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
        }
    }
}

/// Runs the jobs at once (the sandbox caps how many run together).
async fn run_jobs(shared: &Shared, jobs: Vec<Job>) -> Vec<JobResult> {
    use futures::FutureExt as _;
    let mut modules = HashMap::new();
    for job in &jobs {
        if !modules.contains_key(&job.digest) {
            let m = module(shared, &job.module, &job.digest).await;
            modules.insert(job.digest.clone(), m);
        }
    }
    let runs = jobs.into_iter().map(|job| {
        let module = modules[&job.digest].clone();
        async move {
            let run = match module {
                Ok(m) => std::panic::AssertUnwindSafe(m.check(&job.call)).catch_unwind().await.unwrap_or_else(|_| {
                    failed("Check run failed in wasmon: the run panicked", job.call.values.clone())
                }),
                Err(why) => failed(&why, job.call.values.clone()),
            };
            shared.done.fetch_add(1, Ordering::Relaxed);
            JobResult { key: job.key, run }
        }
    });
    futures::future::join_all(runs).await
}

/// The module with `digest`: compiled already, or fetched from the
/// bucket, its sha256 checked, and loaded.
async fn module(shared: &Shared, name: &str, digest: &str) -> Result<CheckModule, String> {
    if let Some(m) = shared.modules.lock().expect("modules lock").get(digest) {
        return Ok(m.clone());
    }
    let unavailable =
        |why: String| format!("Module {name} (sha256 {digest}) is not available on worker {}: {why}", shared.id);
    let mut object = shared.bucket.get(digest).await.map_err(|e| unavailable(e.to_string()))?;
    let mut bytes = Vec::new();
    object.read_to_end(&mut bytes).await.map_err(|e| unavailable(e.to_string()))?;
    let found = hex::encode(Sha256::digest(&bytes));
    if found != digest {
        return Err(unavailable(format!("the bucket's object has sha256 {found}")));
    }
    let (sandbox, owned) = (shared.sandbox.clone(), name.to_string());
    let module = tokio::task::spawn_blocking(move || sandbox.load(&owned, &bytes))
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .map_err(|e| unavailable(e.to_string()))?;
    tracing::info!(module = %name, %digest, "module fetched and loaded");
    shared.modules.lock().expect("modules lock").insert(digest.to_string(), module.clone());
    Ok(module)
}

/// Publishes results in batches and waits until the stream has them.
async fn publish(shared: &Shared, subject: &str, results: &[JobResult]) -> Result<(), String> {
    let head = serde_json::json!({ "worker": shared.id, "zone": shared.zone }).to_string();
    let head = format!("{},\"results\":[", &head[..head.len() - 1]);
    for message in batches(&head, results, usize::MAX) {
        let Ok(payload) = message else {
            // Cannot happen: outputs are bounded far below a message.
            tracing::error!("a result larger than a message is dropped");
            continue;
        };
        let ack = shared.js.publish(subject.to_string(), payload.into()).await.map_err(|e| e.to_string())?;
        ack.await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// An UNKNOWN run that did not run.
fn failed(message: &str, values: crate::Values) -> CheckRun {
    CheckRun { outcome: Outcome::not_run(message, Termination::HostError), values }
}
