//! Where time comes from. Nothing in the engine reads the system clock
//! directly: `wasmon run` uses [`SystemClock`], `wasmon simulate` and the
//! tests a [`SimClock`] that only moves when told to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::state::Time;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The time now, since the clock's epoch.
    fn now(&self) -> Time;
}

/// Real time since the UNIX epoch.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

/// Simulated time: starts at zero and moves only by [`SimClock::advance_to`].
#[derive(Debug, Default)]
pub struct SimClock {
    nanos: AtomicU64,
}

impl SimClock {
    /// A clock at time zero.
    pub fn new() -> SimClock {
        SimClock::default()
    }

    /// Moves the clock to `t`; it never goes back.
    pub fn advance_to(&self, t: Time) {
        let n = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(n, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> Time {
        Time::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sim_clock_moves_only_forward() {
        let c = SimClock::new();
        assert_eq!(c.now(), Duration::ZERO);
        c.advance_to(Duration::from_secs(31));
        c.advance_to(Duration::from_secs(5));
        assert_eq!(c.now(), Duration::from_secs(31));
        assert!(SystemClock.now() > Duration::from_secs(1_700_000_000));
    }
}
