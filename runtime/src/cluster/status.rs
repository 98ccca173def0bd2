//! What the scheduler knows about its cluster: the workers by their
//! heartbeats, the queues, the counters of dropped results; and the
//! changes it makes events of.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A change in the cluster, in an [`crate::Event::Cluster`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterChange {
    /// A worker sent its first heartbeat.
    WorkerJoined,
    /// A worker missed three heartbeats.
    WorkerLost,
    /// A lost worker sent a heartbeat again.
    WorkerBack,
    /// The connection to the NATS server was lost (the client reconnects).
    BrokerLost,
    /// The connection to the NATS server is back.
    BrokerBack,
    /// This scheduler took a shard's lease (free, or expired: a takeover)
    /// and leads its objects.
    ShardTaken,
    /// This scheduler lost a shard's lease (taken by another, or not
    /// renewed in time) and stopped leading its objects.
    ShardLost,
    /// This scheduler handed a shard back (to balance the schedulers).
    ShardHandedBack,
}

impl ClusterChange {
    /// What the log says.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterChange::WorkerJoined => "worker joined",
            ClusterChange::WorkerLost => "worker lost",
            ClusterChange::WorkerBack => "worker back",
            ClusterChange::BrokerLost => "NATS broker lost",
            ClusterChange::BrokerBack => "NATS broker back",
            ClusterChange::ShardTaken => "shard taken",
            ClusterChange::ShardLost => "shard lost",
            ClusterChange::ShardHandedBack => "shard handed back",
        }
    }
}

/// One worker as its heartbeats describe it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerStatus {
    /// Its id: host name and process id.
    pub worker: String,
    /// The zone it serves.
    pub zone: String,
    /// Its wasmon version.
    pub version: String,
    /// Checks it finished per second, over its last heartbeat interval.
    pub checks_per_second: f64,
    /// How many checks it runs at once.
    pub concurrency: usize,
    /// When it was last heard of (seconds since the UNIX epoch).
    pub last_seen: f64,
    /// Whether it missed three heartbeats.
    pub lost: bool,
}

/// One zone's queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZoneStatus {
    /// The zone.
    pub zone: String,
    /// Batches of jobs waiting in the stream for a worker of the zone.
    pub queued_batches: u64,
    /// Batches a worker took and has not acknowledged yet.
    pub unacknowledged_batches: u64,
    /// Checks of the zone handed out and not answered yet.
    pub in_flight: u64,
    /// Workers of the zone not lost.
    pub workers: usize,
}

/// The cluster as the scheduler sees it (`GET /api/v1/cluster`, `wasmon
/// cluster status`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterStatus {
    /// The NATS server's URL.
    pub nats: String,
    /// The cluster's name (the prefix of its streams).
    pub name: String,
    /// Whether the scheduler is connected to the broker.
    pub connected: bool,
    /// Every worker heard of, by id.
    pub workers: Vec<WorkerStatus>,
    /// Every zone of the configuration or of a worker.
    pub zones: Vec<ZoneStatus>,
    /// Checks handed to workers since the start.
    pub dispatched: u64,
    /// Results applied.
    pub applied: u64,
    /// Results dropped because their key was applied already.
    pub duplicates: u64,
    /// Results dropped because their run was given up (timed out, object
    /// removed, scheduler restarted).
    pub late: u64,
    /// Checks that ended UNKNOWN because no worker answered in time.
    pub unanswered: u64,
    /// This scheduler's name among the schedulers (`[cluster] node`).
    pub node: String,
    /// Every shard and its leader, as the lease bucket last said.
    pub shards: Vec<ShardStatus>,
}

/// One shard and who leads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShardStatus {
    /// Its number, 0 to `shards` - 1.
    pub shard: u32,
    /// The scheduler that holds its lease, or null when none does.
    pub leader: Option<String>,
}

/// The counters the engine task and the link share.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub dispatched: AtomicU64,
    pub applied: AtomicU64,
    pub duplicates: AtomicU64,
    pub late: AtomicU64,
    pub unanswered: AtomicU64,
    /// Checks in flight per zone.
    pub in_flight: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn in_flight(&self, zone: &str, delta: i64) {
        let mut m = self.in_flight.lock().expect("counters lock");
        let n = m.entry(zone.to_string()).or_default();
        *n = n.saturating_add_signed(delta);
    }
}

/// What the link keeps of each worker.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub status: WorkerStatus,
    /// Seconds between its heartbeats.
    pub interval: f64,
}
