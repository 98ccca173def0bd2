//! A deadline on the WASI monotonic clock, for checks that wait on I/O.
//!
//! WASI I/O calls do not block with a timeout of their own: a check waits on
//! a [`Pollable`] (a socket, a stream, an HTTP response, a name lookup).
//! [`Deadline::wait`] polls it together with a clock pollable for the
//! deadline, so no wait lasts past the check's timeout whatever the peer
//! does:
//!
//! ```no_run
//! use std::time::Duration;
//! use wasmon_sdk::Deadline;
//! use wasmon_sdk::wasi::sockets::instance_network::instance_network;
//! use wasmon_sdk::wasi::sockets::ip_name_lookup::resolve_addresses;
//! use wasmon_sdk::wasi::sockets::network::ErrorCode;
//!
//! let deadline = Deadline::after(Duration::from_secs(10));
//! let stream = resolve_addresses(&instance_network(), "example.com").unwrap();
//! let ready = stream.subscribe();
//! let first = loop {
//!     match stream.resolve_next_address() {
//!         Err(ErrorCode::WouldBlock) => {
//!             if !deadline.wait(&ready) {
//!                 break None; // timed out
//!             }
//!         }
//!         other => break Some(other),
//!     }
//! };
//! let response_time = deadline.elapsed();
//! ```
//!
//! The clock calls are WASI imports: natively (in a check's unit tests)
//! they panic, so unit tests exercise the code around them, not them.

use std::time::Duration;

use crate::wasi::clocks::monotonic_clock::{self, Instant};
use crate::wasi::io::poll::{Pollable, poll};

/// A point on the monotonic clock after which a check gives up waiting,
/// together with the instant it was set, so that it also measures how long
/// the check has been at it ([`Deadline::elapsed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// When the deadline was set, in nanoseconds of the monotonic clock.
    start: Instant,
    /// When it passes, in nanoseconds of the monotonic clock.
    at: Instant,
}

impl Deadline {
    /// The deadline `timeout` from now. A timeout beyond the clock's range
    /// means no deadline in practice (about 584 years).
    pub fn after(timeout: Duration) -> Deadline {
        Deadline::starting(monotonic_clock::now(), timeout)
    }

    /// The deadline `timeout` after the instant `now`.
    fn starting(now: Instant, timeout: Duration) -> Deadline {
        Deadline { start: now, at: now.saturating_add(nanos(timeout)) }
    }

    /// The earlier of this deadline and `limit` from now, for a shorter wait
    /// within the whole (such as "two more seconds of silence, but never past
    /// the timeout"). [`Deadline::elapsed`] still counts from this deadline's
    /// start.
    #[must_use]
    pub fn min_after(self, limit: Duration) -> Deadline {
        self.min_after_at(monotonic_clock::now(), limit)
    }

    /// The earlier of this deadline and `limit` after the instant `now`.
    fn min_after_at(self, now: Instant, limit: Duration) -> Deadline {
        Deadline { at: self.at.min(now.saturating_add(nanos(limit))), ..self }
    }

    /// Whether the deadline has passed.
    pub fn expired(self) -> bool {
        monotonic_clock::now() >= self.at
    }

    /// The time since the deadline was set with [`Deadline::after`]: a
    /// check's response time.
    pub fn elapsed(self) -> Duration {
        Duration::from_nanos(monotonic_clock::now().saturating_sub(self.start))
    }

    /// Waits until `pollable` is ready or the deadline passes, and returns
    /// whether the pollable became ready before the deadline. Once the
    /// deadline has passed it returns false at once without polling, so a
    /// loop that retries while this returns true ends.
    pub fn wait(self, pollable: &Pollable) -> bool {
        if self.expired() {
            return false;
        }
        if pollable.ready() {
            return true;
        }
        let timer = monotonic_clock::subscribe_instant(self.at);
        poll(&[pollable, &timer]).contains(&0)
    }
}

/// `duration` in nanoseconds, saturated at `u64::MAX`.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_adds_the_timeout_and_saturates() {
        let d = Deadline::starting(1_000, Duration::from_millis(1500));
        assert_eq!((d.start, d.at), (1_000, 1_500_001_000));
        let far = Deadline::starting(u64::MAX - 5, Duration::from_secs(1));
        assert_eq!(far.at, u64::MAX);
        assert_eq!(Deadline::starting(7, Duration::MAX).at, u64::MAX);
    }

    #[test]
    fn min_after_takes_the_earlier_and_keeps_the_start() {
        let d = Deadline::starting(0, Duration::from_secs(10));
        let sooner = d.min_after_at(1_000_000_000, Duration::from_secs(2));
        assert_eq!((sooner.start, sooner.at), (0, 3_000_000_000));
        let later = d.min_after_at(9_000_000_000, Duration::from_secs(2));
        assert_eq!(later, d);
    }
}
