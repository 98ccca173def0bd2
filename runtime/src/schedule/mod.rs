//! The scheduler: which object is due next. A binary heap keyed by due
//! time, O(log n) per check, with no task sleeping per check; ties are
//! broken by the order objects were scheduled, so runs are deterministic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use crate::state::Time;

/// The index of a monitored object (host or service) in the engine's table.
pub type ObjectId = usize;

/// Due times of objects.
#[derive(Debug, Default)]
pub struct Scheduler {
    heap: BinaryHeap<Reverse<(Time, u64, ObjectId)>>,
    seq: u64,
}

impl Scheduler {
    /// An empty schedule.
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// Schedules `id` to be checked at `at`.
    pub fn schedule(&mut self, id: ObjectId, at: Time) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, id)));
    }

    /// When the next check is due, if any is scheduled.
    pub fn next_due(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Takes every object due at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Time) -> Vec<ObjectId> {
        let mut due = Vec::new();
        while let Some(Reverse((at, _, id))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            due.push(id);
        }
        due
    }

    /// How many checks are scheduled.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// Where in its first interval an object's first check falls: spread by a
/// hash of its name, so a restart of many objects is no thundering herd, and
/// stable, so the same object keeps its slot across restarts.
pub fn initial_offset(name: &str, interval: Duration) -> Duration {
    let nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // DefaultHasher::new() has fixed keys: the same name, the same slot.
    name.hash(&mut h);
    Duration::from_nanos(h.finish() % nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_ties_in_schedule_order() {
        let mut s = Scheduler::new();
        s.schedule(7, Duration::from_secs(20));
        s.schedule(3, Duration::from_secs(10));
        s.schedule(5, Duration::from_secs(10));
        assert_eq!(s.next_due(), Some(Duration::from_secs(10)));
        assert_eq!(s.pop_due(Duration::from_secs(9)), Vec::<ObjectId>::new());
        assert_eq!(s.pop_due(Duration::from_secs(15)), vec![3, 5]);
        assert_eq!(s.pop_due(Duration::from_secs(60)), vec![7]);
        assert!(s.is_empty());
    }

    #[test]
    fn initial_checks_spread_over_the_interval_and_stay_put() {
        let interval = Duration::from_secs(300);
        let offsets: Vec<Duration> = (0..1000).map(|i| initial_offset(&format!("host{i}/svc"), interval)).collect();
        assert!(offsets.iter().all(|o| *o < interval));
        // Each fifth of the interval gets a fair share of the first checks.
        for fifth in 0..5 {
            let n = offsets.iter().filter(|o| o.as_secs() / 60 == fifth).count();
            assert!((120..=280).contains(&n), "fifth {fifth}: {n} of 1000");
        }
        assert_eq!(initial_offset("web1/Load", interval), initial_offset("web1/Load", interval));
    }
}
