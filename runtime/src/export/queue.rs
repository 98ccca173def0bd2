//! The bounded queue between the engine and one sink's thread.
//!
//! The engine pushes the shared result event (no copy, no encoding) and
//! never waits: when the queue holds more than its cap in points or in
//! bytes, the oldest results are dropped, counted and logged. A result
//! counts as its metrics (plus the metadata points when the sink sends
//! them) and its bytes as an estimate of its encoded size.
//!
//! The sink's thread is not woken for every result: a push wakes it only
//! once the queue holds `wake_points` points (a pushing sink's batch) or
//! half its bytes; otherwise the thread takes what is there when its wait
//! ends (the flush interval). Waking a thread per result cost more CPU
//! than everything the sink does with the result (two context switches
//! per execution, measured with `wasmon bench --sinks`).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::Counters;
use crate::event::ResultEvent;

/// Per point, beside its label, unit and names: what a line takes.
const POINT_BYTES: usize = 96;

struct Inner {
    items: VecDeque<(Arc<ResultEvent>, usize, usize)>,
    points: usize,
    bytes: usize,
    closed: bool,
    /// The sink's thread waits in [`Queue::take`].
    waiting: bool,
}

/// One sink's queue.
pub(crate) struct Queue {
    inner: Mutex<Inner>,
    ready: Condvar,
    max_points: usize,
    max_bytes: usize,
    wake_points: usize,
    metadata: bool,
    counters: Arc<Counters>,
}

impl Queue {
    /// A queue of at most `max_points` and `max_bytes` that wakes its
    /// thread once it holds `wake_points` (at most half of `max_points`).
    pub(crate) fn new(
        max_points: usize,
        max_bytes: usize,
        wake_points: usize,
        metadata: bool,
        counters: Arc<Counters>,
    ) -> Queue {
        let max_points = max_points.max(1);
        Queue {
            inner: Mutex::new(Inner { items: VecDeque::new(), points: 0, bytes: 0, closed: false, waiting: false }),
            ready: Condvar::new(),
            max_points,
            max_bytes: max_bytes.max(1),
            wake_points: wake_points.clamp(1, max_points.div_ceil(2)),
            metadata,
            counters,
        }
    }

    fn size(&self, r: &ResultEvent) -> (usize, usize) {
        let names = r.host.len() + r.service.as_deref().map_or(0, str::len);
        let points = r.metrics.len() + if self.metadata { 5 } else { 0 };
        let bytes: usize = r.metrics.iter().map(|m| m.label.len() + m.uom.len() + names + POINT_BYTES).sum();
        (points, bytes + if self.metadata { 5 * (names + POINT_BYTES) } else { 0 })
    }

    /// Adds `r` (on the engine's task: never blocks for long).
    pub(crate) fn push(&self, r: Arc<ResultEvent>) {
        let (points, bytes) = self.size(&r);
        if points == 0 {
            return;
        }
        let mut q = self.inner.lock().expect("queue lock");
        let mut dropped = 0;
        while !q.items.is_empty() && (q.points + points > self.max_points || q.bytes + bytes > self.max_bytes) {
            let (_, p, b) = q.items.pop_front().expect("not empty");
            q.points -= p;
            q.bytes -= b;
            dropped += p;
        }
        q.items.push_back((r, points, bytes));
        q.points += points;
        q.bytes += bytes;
        self.counters.queued.store(q.points as u64, Ordering::Relaxed);
        let wake = q.waiting && (q.points >= self.wake_points || q.bytes >= self.max_bytes.div_ceil(2));
        if wake {
            q.waiting = false;
        }
        drop(q);
        if dropped > 0 {
            let before = self.counters.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
            if before == 0 || (before + dropped as u64) / 10_000 != before / 10_000 {
                tracing::warn!(
                    dropped = before + dropped as u64,
                    "a sink's queue is full: its oldest points are dropped"
                );
            }
        }
        if wake {
            self.ready.notify_one();
        }
    }

    /// Takes everything queued once it holds `wake_points`, or when `wait`
    /// ends (then what there is, perhaps nothing); `None` once the queue is
    /// closed and empty.
    pub(crate) fn take(&self, wait: Duration) -> Option<Vec<Arc<ResultEvent>>> {
        let deadline = Instant::now() + wait;
        let mut q = self.inner.lock().expect("queue lock");
        while q.points < self.wake_points && q.bytes < self.max_bytes.div_ceil(2) && !q.closed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            q.waiting = true;
            q = self.ready.wait_timeout(q, deadline - now).expect("queue lock").0;
        }
        q.waiting = false;
        if q.items.is_empty() {
            return (!q.closed).then(Vec::new);
        }
        let items: Vec<_> = q.items.drain(..).map(|(r, _, _)| r).collect();
        (q.points, q.bytes) = (0, 0);
        self.counters.queued.store(0, Ordering::Relaxed);
        Some(items)
    }

    /// No more pushes: the thread takes what is left and ends.
    pub(crate) fn close(&self) {
        self.inner.lock().expect("queue lock").closed = true;
        self.ready.notify_all();
    }
}
