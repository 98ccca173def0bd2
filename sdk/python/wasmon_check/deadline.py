"""A deadline on the WASI monotonic clock, for checks that wait on I/O.

WASI I/O does not block with a timeout of its own: a check waits on a
pollable (an HTTP response, a stream, a socket). :meth:`Deadline.wait` polls
it together with a clock pollable for the deadline, so no wait lasts past the
check's timeout whatever the peer does. The check's world must import
``wasi:clocks/monotonic-clock`` and ``wasi:io/poll`` (a world that imports
``wasi:http/outgoing-handler`` does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Optional

from . import bindings

__all__ = ["Deadline"]

_now: Optional[Callable[[], int]] = None


def _clock():
    return bindings.wasi("wasi:clocks", "monotonic-clock")


def now() -> int:
    """The monotonic clock in nanoseconds: ``wasi:clocks/monotonic-clock``
    when the world imports it, else Python's ``time.monotonic_ns`` (natively,
    in unit tests; inside a component both read the same WASI clock)."""
    global _now
    if _now is None:
        try:
            _now = _clock().now
        except ImportError:
            _now = time.monotonic_ns
    return _now()


def _nanos(seconds: float) -> int:
    return min(max(int(seconds * 1e9), 0), 2**64 - 1)


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock (nanoseconds) after which the check
    gives up waiting, and the instant it was set, to measure elapsed time."""

    start: int
    at: int

    @staticmethod
    def after(timeout: float) -> "Deadline":
        """The deadline `timeout` seconds from now."""
        return Deadline.starting(now(), timeout)

    @staticmethod
    def starting(now: int, timeout: float) -> "Deadline":
        """The deadline `timeout` seconds after the instant `now` (ns)."""
        return Deadline(now, min(now + _nanos(timeout), 2**64 - 1))

    def min_after(self, limit: float) -> "Deadline":
        """The earlier of this deadline and `limit` seconds from now; elapsed
        time still counts from this deadline's start."""
        return self.min_after_at(now(), limit)

    def min_after_at(self, now: int, limit: float) -> "Deadline":
        """The earlier of this deadline and `limit` seconds after `now` (ns)."""
        return replace(self, at=min(self.at, min(now + _nanos(limit), 2**64 - 1)))

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return now() >= self.at

    def elapsed(self) -> float:
        """Seconds since the deadline was set: a check's response time."""
        return max(now() - self.start, 0) / 1e9

    def remaining(self) -> float:
        """Seconds until the deadline (0 once it passed)."""
        return max(self.at - now(), 0) / 1e9

    def wait(self, pollable) -> bool:
        """Waits until `pollable` is ready or the deadline passes; True when
        the pollable became ready first. Once the deadline has passed it
        returns False at once, so a loop retrying while this is True ends.
        Needs the world to import ``wasi:io/poll`` and the monotonic clock."""
        if self.expired():
            return False
        if pollable.ready():
            return True
        poll = bindings.wasi("wasi:io", "poll")
        timer = _clock().subscribe_instant(self.at)
        try:
            return 0 in poll.poll([pollable, timer])
        finally:
            timer.__exit__(None, None, None)
