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

/// What an item counts as: points, and bytes once encoded.
pub(crate) trait Weigh {
    /// `(points, bytes)`; `metadata`: the sink adds the metadata points.
    fn weigh(&self, metadata: bool) -> (usize, usize);
}

impl Weigh for Arc<ResultEvent> {
    fn weigh(&self, metadata: bool) -> (usize, usize) {
        let names = self.host.len() + self.service.as_deref().map_or(0, str::len);
        let points = self.metrics.len() + if metadata { 5 } else { 0 };
        let bytes: usize = self.metrics.iter().map(|m| m.label.len() + m.uom.len() + names + POINT_BYTES).sum();
        (points, bytes + if metadata { 5 * (names + POINT_BYTES) } else { 0 })
    }
}

struct Inner<T> {
    items: VecDeque<(T, usize, usize)>,
    points: usize,
    bytes: usize,
    closed: bool,
    /// The sink's thread waits in [`Queue::take`].
    waiting: bool,
}

/// One sink's queue.
pub(crate) struct Queue<T = Arc<ResultEvent>> {
    inner: Mutex<Inner<T>>,
    ready: Condvar,
    max_points: usize,
    max_bytes: usize,
    wake_points: usize,
    metadata: bool,
    counters: Arc<Counters>,
}

impl<T: Weigh> Queue<T> {
    /// A queue of at most `max_points` and `max_bytes` that wakes its
    /// thread once it holds `wake_points` (at most half of `max_points`).
    pub(crate) fn new(
        max_points: usize,
        max_bytes: usize,
        wake_points: usize,
        metadata: bool,
        counters: Arc<Counters>,
    ) -> Queue<T> {
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

    /// Adds `r` (on the engine's task: never blocks for long).
    pub(crate) fn push(&self, r: T) {
        let (points, bytes) = r.weigh(self.metadata);
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
    pub(crate) fn take(&self, wait: Duration) -> Option<Vec<T>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An item of `.0` points, ten bytes each.
    struct Item(usize);

    impl Weigh for Item {
        fn weigh(&self, _: bool) -> (usize, usize) {
            (self.0, 10 * self.0)
        }
    }

    fn queue(max_points: usize, max_bytes: usize, wake_points: usize) -> (Arc<Queue<Item>>, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        (Arc::new(Queue::new(max_points, max_bytes, wake_points, false, counters.clone())), counters)
    }

    #[test]
    fn a_due_batch_wakes_the_thread_and_less_waits_for_the_flush() {
        let (q, _) = queue(100, 1 << 20, 10);
        // Less than a batch: the take waits out its wait, then hands it over.
        q.push(Item(3));
        assert_eq!(q.take(Duration::from_millis(20)).expect("open").len(), 1);
        assert!(q.take(Duration::ZERO).expect("open").is_empty());

        // A whole batch wakes a take long before its wait ends.
        let taker = {
            let q = q.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                (q.take(Duration::from_secs(120)), started.elapsed())
            })
        };
        while !q.inner.lock().expect("queue lock").waiting {
            std::thread::yield_now();
        }
        for _ in 0..10 {
            q.push(Item(1));
        }
        let (taken, waited) = taker.join().expect("taker");
        assert_eq!(taken.expect("open").len(), 10);
        assert!(waited < Duration::from_secs(120), "woken by the batch, not by the end of its wait");

        // Half the bytes wake it too.
        let (q, _) = queue(1000, 100, 1000);
        q.push(Item(5));
        assert_eq!(q.take(Duration::from_secs(120)).expect("open").len(), 1);

        // Closed: what is left, then the end.
        let (q, _) = queue(100, 1 << 20, 10);
        q.push(Item(1));
        q.close();
        assert_eq!(q.take(Duration::from_secs(120)).expect("the rest").len(), 1);
        assert!(q.take(Duration::from_secs(120)).is_none());
    }

    #[test]
    fn over_its_cap_the_oldest_are_dropped_and_counted() {
        let (q, counters) = queue(10, 1 << 20, 10);
        for n in 1..=4 {
            q.push(Item(n));
        }
        // 1+2+3 = 6, then 4 more would make 10: fits; one more drops the oldest.
        q.push(Item(2));
        let taken = q.take(Duration::ZERO).expect("open");
        assert_eq!(taken.iter().map(|i| i.0).collect::<Vec<_>>(), [3, 4, 2]);
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 3);
        assert_eq!(counters.queued.load(Ordering::Relaxed), 0);
    }
}
