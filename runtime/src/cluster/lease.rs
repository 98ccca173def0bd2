//! The shards' leases in the JetStream KV bucket `<name>_leases`, and the
//! writer of the objects' states in `<name>_state`.
//!
//! - Key `shard.<n>` holds the name of the `wasmon run` that leads shard
//!   `n`. It is taken with `create` (no revision yet) or `update` with
//!   the revision seen (compare-and-swap), renewed every third of
//!   `lease` with `update` on its own last revision, and given back with
//!   a delete on that revision.
//! - Key `node.<name>` is each scheduler's heartbeat, put on the same
//!   tick: the live schedulers are those whose key moved within `lease`.
//! - Expiry needs no shared clock: a lease (or heartbeat) is expired when
//!   its revision has not moved for `lease` on the observer's own clock.
//! - Balance: each takes free or expired shards up to ceil(shards / live
//!   schedulers) and hands back what it holds above that; a shard is
//!   handed back only once its objects' runs are finished and their
//!   states are in `<name>_state` (the engine task drains it).
//! - A leader that could not renew for two thirds of `lease` stops
//!   leading on its own (before anyone may take over).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv::{Operation, Store};
use bytes::Bytes;
use futures::StreamExt as _;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::ClusterChange;
use super::scheduler::Incoming;
use super::shards::{StateRecord, downtimes_key, state_prefix};
use crate::state::Downtime;

/// Who leads which shard, as the last scan of the bucket saw it (for the
/// API).
pub(crate) type Leaders = Arc<Mutex<BTreeMap<u32, String>>>;

/// What the engine task sends the state writer, in order.
#[derive(Debug)]
pub(crate) enum StateOut {
    /// Objects' states to put, at the end of an engine turn.
    Put(Vec<(String, Bytes)>, u64),
    /// Shard `n` is drained: its states are all sent before this; once
    /// they are stored its lease is given back.
    Drained(u32),
}

/// Puts states in the bucket as the engine task sends them, many at once
/// (what fails is tried again every second until it is stored); then
/// marks their turn persisted, which lets the steps held for it go on,
/// and hands on a drained shard. Ends (dropping `_finished`) once the
/// engine task is gone and everything it sent is stored.
pub(crate) async fn write_states(
    state: Store,
    mut from_task: mpsc::UnboundedReceiver<StateOut>,
    drained: mpsc::UnboundedSender<u32>,
    persisted: Arc<AtomicU64>,
    to_task: mpsc::UnboundedSender<Incoming>,
    _finished: oneshot::Sender<()>,
) {
    let mut failing = false;
    let mut batch = Vec::new();
    while from_task.recv_many(&mut batch, 256).await > 0 {
        let mut puts: HashMap<String, Bytes> = HashMap::new();
        let mut done = Vec::new();
        let mut turn = 0;
        for out in batch.drain(..) {
            match out {
                StateOut::Put(records, t) => {
                    puts.extend(records);
                    turn = turn.max(t);
                }
                StateOut::Drained(shard) => done.push(shard),
            }
        }
        while !puts.is_empty() {
            let failed: Vec<(String, Bytes, String)> = futures::stream::iter(std::mem::take(&mut puts))
                .map(|(key, value)| {
                    let state = &state;
                    async move {
                        match state.put(&key, value.clone()).await {
                            Ok(_) => None,
                            Err(e) => Some((key, value, e.to_string())),
                        }
                    }
                })
                .buffer_unordered(128)
                .filter_map(std::future::ready)
                .collect()
                .await;
            if let Some((key, _, e)) = failed.first() {
                if !failing {
                    failing = true;
                    tracing::error!(
                        failed = failed.len(),
                        "cannot put objects' states in the state bucket (retrying; notifications wait): {key}: {e}"
                    );
                }
                puts = failed.into_iter().map(|(k, v, _)| (k, v)).collect();
                tokio::time::sleep(Duration::from_secs(1)).await;
            } else if failing {
                failing = false;
                tracing::info!("objects' states are put in the state bucket again");
            }
        }
        if turn > 0 {
            persisted.fetch_max(turn, std::sync::atomic::Ordering::Release);
            // At a stop the task no longer listens; the rest is still stored.
            let _ = to_task.send(Incoming::Persisted);
        }
        for shard in done {
            let _ = drained.send(shard);
        }
    }
}

/// How many notification ids a scheduler reserves at its start.
pub(crate) const ID_BLOCK: u64 = 1_000_000_000;

/// Reserves a block of notification ids for this scheduler's lifetime
/// (key `notification_ids` of the lease bucket: the first id not given
/// out, raised by compare-and-swap), so that no two schedulers give the
/// same id. Returns the id before the block.
pub(crate) async fn reserve_ids(leases: &Store) -> Result<u64, crate::error::Error> {
    let err = |e: &dyn std::fmt::Display| crate::error::Error::Cluster(format!("cannot reserve notification ids: {e}"));
    for _ in 0..100 {
        let (base, swapped) = match leases.entry("notification_ids").await.map_err(|e| err(&e))? {
            Some(e) if e.operation == Operation::Put => {
                let base: u64 = String::from_utf8_lossy(&e.value).parse().map_err(|e| err(&e))?;
                let next = Bytes::from((base + ID_BLOCK).to_string());
                (base, leases.update("notification_ids", next, e.revision).await.is_ok())
            }
            _ => (0, leases.create("notification_ids", Bytes::from(ID_BLOCK.to_string())).await.is_ok()),
        };
        if swapped {
            return Ok(base);
        }
    }
    Err(err(&"the key kept changing under 100 attempts"))
}

/// One key of the lease bucket as last seen.
struct Seen {
    value: String,
    revision: u64,
    deleted: bool,
    /// When its revision last moved, on this process's clock.
    moved: Instant,
}

/// The lease keeper's state.
pub(crate) struct Leases {
    pub(crate) leases: Store,
    pub(crate) state: Store,
    pub(crate) node: String,
    pub(crate) shards: u32,
    pub(crate) lease: Duration,
    pub(crate) to_task: mpsc::UnboundedSender<Incoming>,
    pub(crate) leaders: Leaders,
    /// Shards held, with the revision of their lease.
    held: BTreeMap<u32, u64>,
    /// Shards the engine task was asked to hand back.
    releasing: BTreeSet<u32>,
    seen: HashMap<String, Seen>,
    /// When every lease held was last renewed.
    renewed: Instant,
}

fn shard_key(n: u32) -> String {
    format!("shard.{n}")
}

impl Leases {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        leases: Store,
        state: Store,
        node: String,
        shards: u32,
        lease: Duration,
        to_task: mpsc::UnboundedSender<Incoming>,
        leaders: Leaders,
    ) -> Leases {
        Leases {
            leases,
            state,
            node,
            shards,
            lease,
            to_task,
            leaders,
            held: BTreeMap::new(),
            releasing: BTreeSet::new(),
            seen: HashMap::new(),
            renewed: Instant::now(),
        }
    }

    /// Keeps the leases: a tick every third of the lease; a drained
    /// shard's lease is given back when it comes. When the state writer
    /// has ended (the engine task stopped and every state it sent is
    /// stored), every lease is given back and this scheduler's heartbeat
    /// deleted, so that the others take its shards at once rather than
    /// after `lease`; then `_closed` is dropped.
    pub(crate) async fn run(
        mut self,
        mut drained: mpsc::UnboundedReceiver<u32>,
        mut written: oneshot::Receiver<()>,
        _closed: oneshot::Sender<()>,
    ) {
        let mut tick = tokio::time::interval((self.lease / 3).max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut written => break,
                _ = tick.tick() => self.tick().await,
                Some(shard) = drained.recv() => self.give_back(shard).await,
            }
        }
        let held = std::mem::take(&mut self.held);
        let gone = futures::future::join_all(
            held.iter().map(|(shard, revision)| self.leases.delete_expect_revision(shard_key(*shard), Some(*revision))),
        )
        .await;
        let given = gone.iter().filter(|r| r.is_ok()).count();
        if let Err(e) = self.leases.delete(format!("node.{}", self.node)).await {
            tracing::debug!("cannot delete this scheduler's heartbeat: {e}");
        }
        if !held.is_empty() {
            tracing::info!(given, held = held.len(), "stopped: shards' leases given back");
        }
    }

    /// One round: heartbeat, scan, renew, balance.
    async fn tick(&mut self) {
        let now = Instant::now();
        if let Err(e) = self.leases.put(format!("node.{}", self.node), Bytes::from(self.node.clone())).await {
            tracing::debug!("cannot put this scheduler's heartbeat: {e}");
        }
        if let Err(e) = self.scan(now).await {
            tracing::warn!("cannot read the lease bucket: {e}");
        }
        self.renew().await;
        // Not renewed for two thirds of the lease: another may take the
        // shards soon; stop leading them first.
        if !self.held.is_empty() && self.renewed.elapsed() > self.lease * 2 / 3 {
            for shard in std::mem::take(&mut self.held).into_keys() {
                self.releasing.remove(&shard);
                self.lost(shard, "its lease could not be renewed in time".into());
            }
        }
        self.balance(now).await;
        let mut leaders = BTreeMap::new();
        for n in 0..self.shards {
            if let Some(s) = self.seen.get(&shard_key(n))
                && !s.deleted
                && (self.held.contains_key(&n) || s.moved.elapsed() < self.lease)
            {
                leaders.insert(n, s.value.clone());
            }
        }
        *self.leaders.lock().expect("leaders lock") = leaders;
    }

    /// Reads every key of the bucket, noting which moved.
    async fn scan(&mut self, now: Instant) -> Result<(), String> {
        // The heartbeats by listing (a deleted one is gone from it), every
        // shard's lease by name (a lease given back is a delete marker).
        let nodes: Vec<String> = self
            .leases
            .keys()
            .await
            .map_err(|e| e.to_string())?
            .filter_map(|k| async { k.ok().filter(|k| k.starts_with("node.")) })
            .collect()
            .await;
        self.seen.retain(|k, _| !k.starts_with("node.") || nodes.contains(k));
        let keys: Vec<String> = (0..self.shards).map(shard_key).chain(nodes).collect();
        let entries = futures::future::join_all(keys.iter().map(|k| self.leases.entry(k.clone()))).await;
        for (key, entry) in keys.into_iter().zip(entries) {
            match entry {
                Ok(Some(entry)) => self.see(key, &entry, now),
                Ok(None) => {
                    self.seen.remove(&key);
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    fn see(&mut self, key: String, entry: &async_nats::jetstream::kv::Entry, now: Instant) {
        let value = String::from_utf8_lossy(&entry.value).into_owned();
        let deleted = entry.operation != Operation::Put;
        match self.seen.get_mut(&key) {
            Some(s) if s.revision == entry.revision => {}
            Some(s) => *s = Seen { value, revision: entry.revision, deleted, moved: now },
            None => {
                self.seen.insert(key, Seen { value, revision: entry.revision, deleted, moved: now });
            }
        }
    }

    /// Renews every lease held on its own revision; one that fails was
    /// taken (or the broker is away: tried again next tick, until the
    /// two-thirds limit).
    async fn renew(&mut self) {
        let mut all = true;
        for (shard, revision) in self.held.clone() {
            match self.leases.update(shard_key(shard), Bytes::from(self.node.clone()), revision).await {
                Ok(r) => {
                    self.held.insert(shard, r);
                }
                Err(e) => {
                    all = false;
                    // Taken by another (the revision moved), or not reachable.
                    let holder = match self.leases.entry(shard_key(shard)).await {
                        Ok(Some(e)) if e.revision != revision => Some(String::from_utf8_lossy(&e.value).into_owned()),
                        Ok(None) => Some(String::new()),
                        _ => None,
                    };
                    match holder {
                        Some(by) => {
                            self.held.remove(&shard);
                            self.releasing.remove(&shard);
                            let by = if by.is_empty() { "nobody".to_string() } else { by };
                            self.lost(shard, format!("its lease was taken by {by}"));
                        }
                        None => tracing::warn!(shard, "cannot renew the lease of the shard: {e}"),
                    }
                }
            }
        }
        if all {
            self.renewed = Instant::now();
        }
    }

    /// The schedulers alive: this one and those whose heartbeat moved
    /// within the lease; a heartbeat dead for six leases is removed.
    async fn live(&mut self, now: Instant) -> usize {
        let mut live = 1;
        let mut dead = Vec::new();
        for (key, s) in &self.seen {
            let Some(node) = key.strip_prefix("node.") else { continue };
            if node == self.node || s.deleted {
                continue;
            }
            let quiet = now.duration_since(s.moved);
            if quiet < self.lease {
                live += 1;
            } else if quiet > self.lease * 6 {
                dead.push((key.clone(), s.revision));
            }
        }
        for (key, revision) in dead {
            if self.leases.delete_expect_revision(&key, Some(revision)).await.is_ok() {
                self.seen.remove(&key);
            }
        }
        live
    }

    /// Takes free and expired shards up to this scheduler's share, and
    /// asks the engine task to hand back what it holds above it.
    async fn balance(&mut self, now: Instant) {
        let live = self.live(now).await;
        let share = (self.shards as usize).div_ceil(live);
        let keeping = self.held.len() - self.releasing.len();
        if keeping > share {
            let surplus: Vec<u32> =
                self.held.keys().rev().filter(|s| !self.releasing.contains(s)).take(keeping - share).copied().collect();
            for shard in surplus {
                self.releasing.insert(shard);
                tracing::info!(shard, live, share, "handing the shard back to balance the schedulers");
                let _ = self.to_task.send(Incoming::Release { shard });
            }
            return;
        }
        let mut room = share.saturating_sub(self.held.len());
        for shard in 0..self.shards {
            if room == 0 {
                break;
            }
            if self.held.contains_key(&shard) {
                continue;
            }
            let key = shard_key(shard);
            let taken = match self.seen.get(&key) {
                None => self.leases.create(&key, Bytes::from(self.node.clone())).await.ok(),
                Some(s) if s.deleted => self.leases.update(&key, Bytes::from(self.node.clone()), s.revision).await.ok(),
                // Expired: its revision stood still for a whole lease.
                Some(s) if now.duration_since(s.moved) >= self.lease || s.value == self.node => {
                    self.leases.update(&key, Bytes::from(self.node.clone()), s.revision).await.ok()
                }
                Some(_) => None,
            };
            let Some(revision) = taken else { continue };
            let before = self.seen.get(&key).filter(|s| !s.deleted).map(|s| s.value.clone());
            self.seen.insert(key, Seen { value: self.node.clone(), revision, deleted: false, moved: Instant::now() });
            self.held.insert(shard, revision);
            room -= 1;
            self.gained(shard, before).await;
        }
    }

    /// Reads the states of `shard`'s objects and hands them to the engine
    /// task, which schedules the shard's objects from them.
    async fn gained(&mut self, shard: u32, from: Option<String>) {
        let read = async { Ok::<_, String>((self.read_states(shard).await?, self.read_downtimes(shard).await?)) };
        let (records, downtimes) = match read.await {
            Ok(r) => r,
            Err(e) => {
                // Without its states the shard is not led: given back.
                tracing::error!(shard, "cannot read the shard's states and downtimes; its lease is given back: {e}");
                self.give_back(shard).await;
                return;
            }
        };
        let message = match &from {
            Some(from) if *from != self.node => {
                format!("shard {shard} taken over from {from} (its lease expired): {} states", records.len())
            }
            _ => format!("shard {shard} taken: {} states", records.len()),
        };
        let _ = self.to_task.send(Incoming::Gained { shard, records, downtimes, message });
    }

    /// The downtimes the shard's leaders kept in the bucket; `None` if
    /// none ever did (those of this scheduler's state file stay).
    async fn read_downtimes(&self, shard: u32) -> Result<Option<Vec<Downtime>>, String> {
        let key = downtimes_key(shard);
        let Some(bytes) = self.state.get(&key).await.map_err(|e| format!("{key}: {e}"))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{key} does not parse: {e}"))
    }

    async fn read_states(&self, shard: u32) -> Result<Vec<StateRecord>, String> {
        let prefix = state_prefix(shard);
        let keys: Vec<String> = self
            .state
            .keys()
            .await
            .map_err(|e| e.to_string())?
            .filter_map(|k| async { k.ok() })
            .filter(|k| std::future::ready(k.starts_with(&prefix)))
            .collect()
            .await;
        let entries = futures::stream::iter(keys)
            .map(|k| async move { (self.state.get(&k).await, k) })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
        let mut records = Vec::with_capacity(entries.len());
        for (entry, key) in entries {
            let Some(bytes) = entry.map_err(|e| format!("{key}: {e}"))? else { continue };
            match serde_json::from_slice::<StateRecord>(&bytes) {
                Ok(r) => records.push(r),
                Err(e) => tracing::error!(%key, "a state record that does not parse is ignored: {e}"),
            }
        }
        Ok(records)
    }

    /// Gives back shard `shard`'s lease (drained, or unusable).
    async fn give_back(&mut self, shard: u32) {
        self.releasing.remove(&shard);
        let Some(revision) = self.held.remove(&shard) else { return };
        if let Err(e) = self.leases.delete_expect_revision(shard_key(shard), Some(revision)).await {
            tracing::warn!(shard, "cannot give the lease back (it expires): {e}");
        }
        let message = format!("shard {shard} handed back");
        let _ = self.to_task.send(Incoming::Shard { shard, change: ClusterChange::ShardHandedBack, message });
    }

    fn lost(&self, shard: u32, why: String) {
        let message = format!("shard {shard} lost: {why}");
        let _ = self.to_task.send(Incoming::Shard { shard, change: ClusterChange::ShardLost, message });
    }
}
