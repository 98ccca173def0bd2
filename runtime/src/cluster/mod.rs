//! Scale-out on NATS JetStream: checks of objects with a `zone` run on
//! `wasmon worker` processes, anywhere, while `wasmon run` keeps
//! scheduling them and owns their state.
//!
//! - **Work**: the engine task hands a due check of a zoned object, instead
//!   of to a local slot, to the cluster's scheduler side, which batches the jobs
//!   of one zone (at most `batch_size` per message, under 1 MiB) into the
//!   work-queue stream `<name>_jobs` on subject `<name>.jobs.<zone>`. Each
//!   job carries its idempotency key (object, scheduled time, attempt),
//!   the module's name and sha256 and the call (parameters, limits,
//!   grants, the object's value store).
//! - **Workers** ([`worker`]) pull batches of their zone through one
//!   durable consumer per zone, run them in their sandbox, publish the
//!   results in batches on `<name>.results` (stream `<name>_results`), and
//!   acknowledge a batch of jobs only once its results are stored: a
//!   worker killed mid-batch leaves it to be delivered again after the
//!   consumer's acknowledgement wait.
//! - **Results** come back to the engine task and go through the same
//!   state processor as local runs (`Engine::finish`). A result whose key
//!   is not the run the object waits for is dropped and counted: a
//!   duplicate (its key was applied already) or a late one (its run was
//!   given up). A run with no result after its timeout plus `grace` ends
//!   UNKNOWN, "No worker in zone Z answered within …".
//! - **Modules** travel by digest: the scheduler puts every module it
//!   hands out in the Object Store bucket `<name>_modules` under its
//!   sha256 (a hot-loaded version when it is first handed out); a worker
//!   fetches what it lacks, checks the sha256 before it loads it and keeps
//!   the compiled module.
//! - **Operations**: workers send heartbeats on `<name>.heartbeat.<zone>`;
//!   the scheduler keeps the list ([`ClusterStatus`], `GET
//!   /api/v1/cluster`) and makes a worker lost or back, and the broker
//!   lost or back, [`crate::Event::Cluster`] events.
//! - **Shards** (`shards.rs`, `lease.rs`): several `wasmon run` share the
//!   objects by a hash of their host name ([`shard_of`]); each leads the
//!   shards whose lease it holds in the KV bucket `<name>_leases`, keeps
//!   its objects' states in `<name>_state` (a notification is delivered
//!   only once the state that records it is stored there), and takes over
//!   a shard whose lease expired, restoring its objects from the bucket.

pub(crate) mod kv;
pub(crate) mod lease;
pub(crate) mod link;
pub(crate) mod scheduler;
pub(crate) mod shards;
pub mod status;
pub(crate) mod wire;
pub mod worker;

pub use self::status::{ClusterChange, ClusterStatus, ShardStatus, WorkerStatus, ZoneStatus};

use std::time::Duration;

/// `[cluster]`: where the broker is and how work travels.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSettings {
    /// `nats`: the NATS server's URL (`nats://host:4222`).
    pub nats: String,
    /// `name`: the prefix of the streams, subjects and buckets (default
    /// `wasmon`), so that several installations can share a broker.
    pub name: String,
    /// `batch_size`: the most jobs (and results) in one message (default
    /// 256); a message also stays under 1 MiB.
    pub batch_size: usize,
    /// `ack_wait`: how long a worker has to acknowledge a batch of jobs
    /// before it is delivered again (default 30 s; a worker that is still
    /// running the batch says so every third of it).
    pub ack_wait: Duration,
    /// `grace`: how long past its timeout a zoned check waits for its
    /// result before it ends UNKNOWN (default 60 s).
    pub grace: Duration,
    /// `shards`: how many shards the objects are split into by a hash of
    /// their host name (default 16); each is led by one `wasmon run` at a
    /// time. Every process of a cluster must have the same number.
    pub shards: u32,
    /// `lease`: a shard whose leader has not renewed its lease for this
    /// long may be taken over by another `wasmon run` (default 10 s).
    pub lease: Duration,
    /// `node`: this `wasmon run`'s name among the schedulers of the
    /// cluster (default: the host name and the process id).
    pub node: String,
}

/// The default `shards`.
pub const SHARDS: u32 = 16;

/// The default `batch_size`.
pub const BATCH_SIZE: usize = 256;

impl Default for ClusterSettings {
    fn default() -> ClusterSettings {
        ClusterSettings {
            nats: String::new(),
            name: "wasmon".into(),
            batch_size: BATCH_SIZE,
            ack_wait: Duration::from_secs(30),
            grace: Duration::from_secs(60),
            shards: SHARDS,
            lease: Duration::from_secs(10),
            node: String::new(),
        }
    }
}

impl ClusterSettings {
    /// `node`, or when it is not set this process's own name: the host
    /// name and the process id, made of the characters a name may have.
    pub(crate) fn node(&self) -> String {
        if !self.node.is_empty() {
            return self.node.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "wasmon".into());
        let host: String = host
            .trim()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .take(48)
            .collect();
        format!("{host}-{}", std::process::id())
    }
}

/// The shard of the objects of `host`: FNV-1a (64 bits) of the host name
/// modulo `shards`, the same in every process and every release (not
/// std's hasher, which is seeded per process), so that a host and its
/// services stay together.
pub fn shard_of(host: &str, shards: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in host.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % u64::from(shards.max(1))) as u32
}

/// The largest message wasmon publishes: NATS refuses more than 1 MiB by
/// default; a batch is cut before it reaches this.
pub(crate) const MAX_PAYLOAD: usize = 900 * 1024;

/// Whether `s` may be a zone or cluster name: letters, digits, `-` and
/// `_` (they become parts of subjects and stream names), at most 64; the
/// empty string is a valid zone (this process).
pub fn valid_name(s: &str) -> bool {
    s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The names one cluster uses on the broker.
#[derive(Clone, Debug)]
pub(crate) struct Names {
    name: String,
}

impl Names {
    pub(crate) fn new(name: &str) -> Names {
        Names { name: name.to_string() }
    }

    pub(crate) fn jobs_stream(&self) -> String {
        format!("{}_jobs", self.name)
    }

    pub(crate) fn jobs_subject(&self, zone: &str) -> String {
        format!("{}.jobs.{zone}", self.name)
    }

    pub(crate) fn results_stream(&self) -> String {
        format!("{}_results", self.name)
    }

    pub(crate) fn results_subject(&self) -> String {
        format!("{}.results", self.name)
    }

    /// Where the workers put the results of the jobs `node` handed out.
    pub(crate) fn results_subject_of(&self, node: &str) -> String {
        format!("{}.results.{node}", self.name)
    }

    /// The KV bucket of the shards' leases and the schedulers' heartbeats.
    pub(crate) fn leases_bucket(&self) -> String {
        format!("{}_leases", self.name)
    }

    /// The KV bucket of the objects' states, by shard.
    pub(crate) fn state_bucket(&self) -> String {
        format!("{}_state", self.name)
    }

    pub(crate) fn modules_bucket(&self) -> String {
        format!("{}_modules", self.name)
    }

    pub(crate) fn heartbeat_subject(&self, zone: &str) -> String {
        format!("{}.heartbeat.{zone}", self.name)
    }

    pub(crate) fn heartbeats(&self) -> String {
        format!("{}.heartbeat.>", self.name)
    }

    /// The durable consumer the workers of `zone` share.
    pub(crate) fn zone_consumer(zone: &str) -> String {
        format!("zone_{zone}")
    }
}

/// The work-queue streams and the module bucket, created if they are
/// missing (by the scheduler or a worker, whichever comes first).
pub(crate) async fn streams(
    js: &async_nats::jetstream::Context,
    names: &Names,
) -> Result<(async_nats::jetstream::stream::Stream, async_nats::jetstream::stream::Stream), crate::Error> {
    use async_nats::jetstream::stream::{Config, RetentionPolicy};
    let err = |what: &str, e: &dyn std::fmt::Display| crate::Error::Cluster(format!("NATS JetStream: {what}: {e}"));
    let jobs = js
        .get_or_create_stream(Config {
            name: names.jobs_stream(),
            subjects: vec![format!("{}.jobs.*", names.name)],
            retention: RetentionPolicy::WorkQueue,
            // Jobs nobody took within a day are of no use to anyone.
            max_age: Duration::from_secs(24 * 3600),
            ..Default::default()
        })
        .await
        .map_err(|e| err("cannot create the jobs stream", &e))?;
    let results = js
        .get_or_create_stream(Config {
            name: names.results_stream(),
            subjects: vec![names.results_subject(), format!("{}.*", names.results_subject())],
            retention: RetentionPolicy::WorkQueue,
            max_age: Duration::from_secs(24 * 3600),
            ..Default::default()
        })
        .await
        .map_err(|e| err("cannot create the results stream", &e))?;
    Ok((jobs, results))
}

/// The module bucket, created if it is missing.
pub(crate) async fn modules_bucket(
    js: &async_nats::jetstream::Context,
    names: &Names,
) -> Result<async_nats::jetstream::object_store::ObjectStore, crate::Error> {
    if let Ok(store) = js.get_object_store(names.modules_bucket()).await {
        return Ok(store);
    }
    js.create_object_store(async_nats::jetstream::object_store::Config {
        bucket: names.modules_bucket(),
        description: Some("wasmon check modules by sha256".into()),
        ..Default::default()
    })
    .await
    .map_err(|e| crate::Error::Cluster(format!("NATS JetStream: cannot create the module bucket: {e}")))
}

/// The durable consumer of `zone`'s jobs, created if it is missing.
pub(crate) async fn zone_consumer(
    jobs: &async_nats::jetstream::stream::Stream,
    names: &Names,
    zone: &str,
    ack_wait: Duration,
) -> Result<async_nats::jetstream::consumer::PullConsumer, crate::Error> {
    let name = Names::zone_consumer(zone);
    jobs.get_or_create_consumer(
        &name,
        async_nats::jetstream::consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: names.jobs_subject(zone),
            ack_wait,
            max_ack_pending: 1024,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| crate::Error::Cluster(format!("NATS JetStream: cannot create the consumer of zone {zone}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_s_shard_is_the_same_everywhere_and_always() {
        // FNV-1a 64's published test vectors: a changed hash would move
        // every host to another shard between releases.
        assert_eq!(shard_of("foobar", 1 << 31), (0x8594_4171_f739_67e8u64 % (1 << 31)) as u32);
        assert_eq!(shard_of("", 16), (0xcbf2_9ce4_8422_2325u64 % 16) as u32);
        assert_eq!(shard_of("a", 1 << 20), (0xaf63_dc4c_8601_ec8cu64 % (1 << 20)) as u32);
        assert_eq!(shard_of("anything", 1), 0);
        // Spread: 1,000 hosts over 16 shards, none empty.
        let mut counts = [0; 16];
        for i in 0..1000 {
            counts[shard_of(&format!("host{i}"), 16) as usize] += 1;
        }
        assert!(counts.iter().all(|c| *c > 30), "{counts:?}");
    }
}
