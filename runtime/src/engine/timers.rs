//! The engine's timers: things that happen at a time of their own, not as
//! a check's result (a downtime starting or ending, a notification period
//! opening). A binary heap of
//! `(time, seq, timer)`: timers due at the same time fire in the order
//! they were set. Cancelled timers are not searched for; whoever handles a
//! timer checks that it still applies.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::state::Time;

/// What a timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// A fixed downtime starts.
    DowntimeStart(u64),
    /// A downtime in effect ends.
    DowntimeEnd(u64),
    /// A flexible downtime that never started reaches its window's end.
    DowntimeExpire(u64),
    /// An object's notification period opens (the object's id): a problem
    /// notification held back goes out.
    NotificationPeriod(usize),
}

/// Timers by due time.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Time, u64, Timer)>>,
    seq: u64,
}

impl Timers {
    /// Sets `timer` to fire at `at`.
    pub fn set(&mut self, at: Time, timer: Timer) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, timer)));
    }

    /// When the next timer is due.
    pub fn next_due(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Takes the earliest timer due at or before `now`, with its time.
    pub fn pop_due(&mut self, now: Time) -> Option<(Time, Timer)> {
        if self.next_due()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((t, _, timer))| (t, timer))
    }

    /// After a configuration reload: timers of objects follow them to their
    /// new ids (`ids[old]`); those of removed objects go.
    pub(crate) fn remap_objects(&mut self, ids: &[Option<usize>]) {
        let heap = std::mem::take(&mut self.heap);
        self.heap = heap
            .into_iter()
            .filter_map(|Reverse((t, seq, timer))| match timer {
                Timer::NotificationPeriod(id) => {
                    ids.get(id).copied().flatten().map(|id| Reverse((t, seq, Timer::NotificationPeriod(id))))
                }
                other => Some(Reverse((t, seq, other))),
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timers_fire_by_time_then_in_the_order_set() {
        let mut t = Timers::default();
        let s = Duration::from_secs;
        t.set(s(20), Timer::DowntimeEnd(1));
        t.set(s(10), Timer::DowntimeStart(2));
        t.set(s(10), Timer::DowntimeStart(1));
        assert_eq!(t.next_due(), Some(s(10)));
        assert_eq!(t.pop_due(s(5)), None);
        assert_eq!(t.pop_due(s(15)), Some((s(10), Timer::DowntimeStart(2))));
        assert_eq!(t.pop_due(s(15)), Some((s(10), Timer::DowntimeStart(1))));
        assert_eq!(t.pop_due(s(15)), None);
        assert_eq!(t.pop_due(s(20)), Some((s(20), Timer::DowntimeEnd(1))));
        assert_eq!(t.next_due(), None);
    }
}
