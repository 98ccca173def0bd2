//! The scheduler: which object is due next, with no task sleeping per
//! check. Due times are kept in buckets of one millisecond (an ordered map
//! of small vectors): scheduling appends to a bucket, and a bucket is
//! sorted once when it comes due, which is much cheaper than a binary heap
//! of every object when 100,000 of them are scheduled. Within a bucket
//! entries run by due time and ties by the order they were scheduled, so
//! runs are deterministic. An object is in the schedule at most once:
//! scheduling it again moves it, and [`Scheduler::unschedule`] takes it out
//! (stale entries are skipped, not searched for).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use crate::state::Time;

/// The index of a monitored object (host or service) in the engine's table.
pub type ObjectId = usize;

/// The entries due within one millisecond.
#[derive(Debug, Default)]
struct Bucket {
    entries: Vec<(Time, u64, ObjectId)>,
    /// Sorted latest first, so the earliest is popped from the end.
    sorted: bool,
}

fn millis(t: Time) -> u64 {
    u64::try_from(t.as_millis()).unwrap_or(u64::MAX)
}

/// Due times of objects.
#[derive(Debug, Default)]
pub struct Scheduler {
    /// Entries `(due, seq, id)` by the millisecond they are due in.
    buckets: BTreeMap<u64, Bucket>,
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
        let replaced = self.live[id].0 != 0;
        self.live[id] = (self.seq, at);
        let bucket = self.buckets.entry(millis(at)).or_default();
        bucket.entries.push((at, self.seq, id));
        bucket.sorted = false;
        if replaced {
            // Its old entry may have been the only live one in front.
            self.drop_stale();
        }
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
        let (_, bucket) = self.buckets.first_key_value()?;
        // After drop_stale the first bucket's earliest live entry is the
        // earliest of all; stale ones in it are skipped here.
        bucket
            .entries
            .iter()
            .filter(|(_, seq, id)| self.live[*id].0 == *seq)
            .map(|(at, seq, _)| (*at, *seq))
            .min()
            .map(|(at, _)| at)
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
        let limit = millis(now);
        while due.len() < max {
            let Some(mut first) = self.buckets.first_entry() else { break };
            if *first.key() > limit {
                break;
            }
            let bucket = first.get_mut();
            if !bucket.sorted {
                bucket.entries.sort_unstable_by_key(|e| std::cmp::Reverse((e.0, e.1)));
                bucket.sorted = true;
            }
            while due.len() < max {
                let Some(&(at, seq, id)) = bucket.entries.last() else { break };
                if at > now {
                    break;
                }
                bucket.entries.pop();
                if self.live[id].0 == seq {
                    self.live[id].0 = 0;
                    due.push((id, at));
                }
            }
            if bucket.entries.is_empty() {
                first.remove();
            } else {
                break;
            }
        }
        self.drop_stale();
        due
    }

    /// Removes buckets that hold only stale entries from the front, so
    /// that the first bucket holds the earliest live entry.
    fn drop_stale(&mut self) {
        while let Some(first) = self.buckets.first_entry() {
            if first.get().entries.iter().any(|(_, seq, id)| self.live[*id].0 == *seq) {
                break;
            }
            first.remove();
        }
    }

    /// How many objects are scheduled.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.live.iter().filter(|(s, _)| *s != 0).count()
    }

    /// Whether nothing is scheduled.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
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
    fn within_a_millisecond_order_is_by_time_then_schedule_order() {
        let mut s = Scheduler::new();
        let us = Duration::from_micros;
        s.schedule(1, us(1_700));
        s.schedule(2, us(1_200));
        s.schedule(3, us(1_200));
        s.schedule(4, us(900));
        assert_eq!(s.next_due(), Some(us(900)));
        assert_eq!(s.pop_due(us(1_500)), vec![(4, us(900)), (2, us(1_200)), (3, us(1_200))]);
        assert_eq!(s.next_due(), Some(us(1_700)));
        s.schedule(5, us(1_100));
        assert_eq!(s.pop_due(us(5_000)), vec![(5, us(1_100)), (1, us(1_700))]);
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
