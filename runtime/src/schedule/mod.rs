//! The scheduler: which object is due next. A binary heap keyed by due
//! time, O(log n) per check, with no task sleeping per check; ties are
//! broken by the order objects were scheduled, so runs are deterministic.
//! An object is in the schedule at most once: scheduling it again moves it,
//! and [`Scheduler::unschedule`] takes it out (stale heap entries are
//! skipped, not searched for).

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
    /// Per object, the sequence number (0: none) and due time of its live
    /// heap entry.
    live: Vec<(u64, Time)>,
}

impl Scheduler {
    /// An empty schedule.
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// Schedules `id` to be checked at `at`, replacing any earlier schedule
    /// of it.
    pub fn schedule(&mut self, id: ObjectId, at: Time) {
        self.seq += 1;
        if self.live.len() <= id {
            self.live.resize(id + 1, (0, Time::ZERO));
        }
        self.live[id] = (self.seq, at);
        self.heap.push(Reverse((at, self.seq, id)));
        self.drop_stale();
    }

    /// Takes `id` out of the schedule; returns whether it was in it.
    pub fn unschedule(&mut self, id: ObjectId) -> bool {
        match self.live.get_mut(id) {
            Some((seq, _)) if *seq != 0 => {
                *seq = 0;
                self.drop_stale();
                true
            }
            _ => false,
        }
    }

    /// When `id` is due, if it is scheduled.
    pub fn due(&self, id: ObjectId) -> Option<Time> {
        let (seq, at) = *self.live.get(id)?;
        (seq != 0).then_some(at)
    }

    /// When the next check is due, if any is scheduled.
    pub fn next_due(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Takes every object due at or before `now`, earliest first, each with
    /// the time it was due.
    pub fn pop_due(&mut self, now: Time) -> Vec<(ObjectId, Time)> {
        self.pop_due_at_most(now, usize::MAX)
    }

    /// Takes at most `max` of the objects due at or before `now`, earliest
    /// first; the rest stay due.
    pub fn pop_due_at_most(&mut self, now: Time, max: usize) -> Vec<(ObjectId, Time)> {
        let mut due = Vec::new();
        while let Some(Reverse((at, seq, id))) = self.heap.peek().copied() {
            if at > now || due.len() >= max {
                break;
            }
            self.heap.pop();
            if self.live[id].0 == seq {
                self.live[id].0 = 0;
                due.push((id, at));
            }
        }
        self.drop_stale();
        due
    }

    /// Pops stale entries off the top, so that [`Scheduler::next_due`] is
    /// the due time of a live one.
    fn drop_stale(&mut self) {
        while let Some(Reverse((_, seq, id))) = self.heap.peek().copied() {
            if self.live[id].0 == seq {
                break;
            }
            self.heap.pop();
        }
    }

    /// How many objects are scheduled.
    pub fn len(&self) -> usize {
        self.live.iter().filter(|(s, _)| *s != 0).count()
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

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn earliest_first_ties_in_schedule_order() {
        let mut s = Scheduler::new();
        s.schedule(7, secs(20));
        s.schedule(3, secs(10));
        s.schedule(5, secs(10));
        assert_eq!(s.next_due(), Some(secs(10)));
        assert_eq!(s.pop_due(secs(9)), vec![]);
        assert_eq!(s.pop_due_at_most(secs(15), 1), vec![(3, secs(10))]);
        assert_eq!(s.pop_due(secs(15)), vec![(5, secs(10))]);
        assert_eq!(s.pop_due(secs(60)), vec![(7, secs(20))]);
        assert!(s.is_empty());
    }

    #[test]
    fn rescheduling_moves_and_unscheduling_removes() {
        let mut s = Scheduler::new();
        s.schedule(1, secs(10));
        s.schedule(2, secs(20));
        s.schedule(1, secs(30));
        assert_eq!(s.len(), 2);
        assert_eq!(s.due(1), Some(secs(30)));
        assert_eq!(s.next_due(), Some(secs(20)));
        assert!(s.unschedule(2));
        assert!(!s.unschedule(2));
        assert_eq!(s.due(2), None);
        assert_eq!(s.next_due(), Some(secs(30)));
        assert_eq!(s.pop_due(secs(100)), vec![(1, secs(30))]);
        assert!(s.is_empty());
        assert_eq!(s.next_due(), None);
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
