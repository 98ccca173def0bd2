"""The host's imports: the log, the per-service value store (with counter
rates and averages), and the read-only facts about the machine (``system``).

They exist only inside a component; natively they raise ImportError.
"""

from __future__ import annotations

import enum
import struct
import time
from typing import List, Optional, Tuple

from . import bindings
from .errors import Failed

__all__ = [
    "log_debug", "log_info", "log_warn", "log_error",
    "store_get", "store_set", "store_delete", "store_get_string", "store_set_string",
    "store_get_floats", "store_set_floats", "encode_floats", "decode_floats",
    "Overflow", "rate", "rate_with", "compute_rate", "compute_rate_with",
    "average", "compute_average", "now_secs",
    "system_load", "system_memory", "system_filesystems", "system_uptime",
]


def _log(level: str, message: str) -> None:
    log = bindings.wasmon("log")
    log.log(getattr(log.Level, level), message)


def log_debug(message: str) -> None:
    """Logs detailed tracing of what the check does (host log, not output)."""
    _log("DEBUG", message)


def log_info(message: str) -> None:
    """Logs normal operation worth recording."""
    _log("INFO", message)


def log_warn(message: str) -> None:
    """Logs something odd that did not stop the check."""
    _log("WARN", message)


def log_error(message: str) -> None:
    """Logs a failure."""
    _log("ERROR", message)


def store_get(key: str) -> Optional[bytes]:
    """The value stored under `key` by an earlier run of this service, if any.
    Limits: keys up to 256 bytes, values up to 64 KiB, 64 keys per service."""
    return bindings.wasmon("value-store").get(key)


def store_set(key: str, value: bytes) -> None:
    """Stores `value` under `key`; raises :class:`Failed` past the host's limits."""
    try:
        bindings.wasmon("value-store").set(key, bytes(value))
    except Exception as e:  # componentize_py_types.Err carries the host's message
        message = getattr(e, "value", e)
        raise Failed(f"value store: cannot set '{key}': {message}") from None


def store_delete(key: str) -> None:
    """Removes `key`; a missing key is not an error."""
    bindings.wasmon("value-store").delete(key)


def store_get_string(key: str) -> Optional[str]:
    """The text stored with :func:`store_set_string`; None if missing or not UTF-8."""
    raw = store_get(key)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def store_set_string(key: str, value: str) -> None:
    """Stores a text under `key`."""
    store_set(key, value.encode("utf-8"))


def encode_floats(values: List[float]) -> bytes:
    """Numbers as consecutive little-endian f64 (the Rust SDK's format)."""
    return struct.pack(f"<{len(values)}d", *values)


def decode_floats(raw: bytes) -> Optional[List[float]]:
    """What :func:`encode_floats` wrote; None if the length is not a multiple of 8."""
    if len(raw) % 8:
        return None
    return list(struct.unpack(f"<{len(raw) // 8}d", raw))


def store_get_floats(key: str) -> Optional[List[float]]:
    """The numbers stored with :func:`store_set_floats`, if any."""
    raw = store_get(key)
    return None if raw is None else decode_floats(raw)


def store_set_floats(key: str, values: List[float]) -> None:
    """Stores numbers under `key`."""
    store_set(key, encode_floats(values))


def now_secs() -> float:
    """Wall-clock seconds since the Unix epoch (``wasi:clocks`` inside a component)."""
    return time.time()


class Overflow(enum.Enum):
    """What :func:`rate_with` does when the value went down since the last
    sample (Checkmk's ``raise_overflow`` argument of ``get_rate``)."""

    #: The rate is negative (Checkmk's default, ``raise_overflow=False``): for
    #: values that may go down, such as a queue length or a byte count.
    NEGATIVE = "negative"
    #: There is no rate (Checkmk's ``raise_overflow=True``): a counter that
    #: went down wrapped or was reset, so it starts over from this sample.
    #: What :func:`rate` does.
    RAISE = "raise"


def compute_rate(previous: Optional[Tuple[float, float]], counter: float, now: float) -> Optional[float]:
    """The rate from `previous` (time, counter) to (`now`, `counter`) per
    second; None on the first sample, when the counter went backwards (a
    wrap or reset) or when no time passed. The same as
    :func:`compute_rate_with` with :attr:`Overflow.RAISE`."""
    return compute_rate_with(previous, counter, now, Overflow.RAISE)


def compute_rate_with(previous: Optional[Tuple[float, float]], value: float, now: float,
                      overflow: Overflow) -> Optional[float]:
    """The rate from `previous` (time, value) to (`now`, `value`) per second;
    see :func:`rate_with`."""
    if not isinstance(overflow, Overflow):
        raise TypeError(f"not an Overflow: {overflow!r} (use Overflow.NEGATIVE or Overflow.RAISE)")
    if previous is None:
        return None
    last_time, last_value = previous
    if now <= last_time:
        return None
    rate = (value - last_value) / (now - last_time)
    if rate < 0 and overflow is Overflow.RAISE:
        return None
    return rate


def rate(key: str, counter: float, now: float) -> Optional[float]:
    """The per-second rate of a growing counter (Checkmk counter semantics),
    remembering the last sample under `key`; None when there is no rate yet
    (see :func:`compute_rate`), and the check should say it is initializing.
    The same as :func:`rate_with` with :attr:`Overflow.RAISE`."""
    return rate_with(key, counter, now, Overflow.RAISE)


def rate_with(key: str, value: float, now: float, overflow: Overflow) -> Optional[float]:
    """The rate of a value per second since the sample remembered under `key`,
    as Checkmk's ``get_rate(value_store, key, time, value, raise_overflow=...)``:
    ``(value - last) / (now - last_time)``, negative when the value went down
    unless `overflow` is :attr:`Overflow.RAISE`.

    None where Checkmk raises ``GetRateError`` (the check should say the
    counter is initializing): on the first call, when `now` did not advance,
    and with :attr:`Overflow.RAISE` when the value went down. Every call
    stores the current sample."""
    stored = store_get_floats(key)
    previous = (stored[0], stored[1]) if stored is not None and len(stored) == 2 else None
    rate = compute_rate_with(previous, value, now, overflow)
    store_set_floats(key, [now, value])
    return rate


def compute_average(previous: Optional[Tuple[float, float, float]], value: float, now: float,
                    backlog_minutes: float) -> Tuple[float, float, float]:
    """The next state (start_time, last_time, average) of an exponential
    moving average from the previous one, for the new `value` at `now`; the
    average is the last element. See :func:`average`.

    The formula of Checkmk's ``get_average`` (agent-based API v2,
    ``packages/cmk-agent-based/cmk/agent_based/v2/_get_average.py`` in
    github.com/Checkmk/checkmk, commit d3754c3427c6):

    - no previous state: ``(now, now, value)``;
    - ``now <= last_time``: the previous state, unchanged;
    - otherwise, with the horizon ``h = backlog_minutes * 60`` capped at the
      time since the first value, ``now - start_time`` (so the first value
      gets no undue weight), and ``k = h / (now - last_time)`` values in the
      horizon, the weight ``w = 0.5 ** (1 / k)`` makes the horizon count for
      half of the average: ``average = (1 - w) * value + w * last_average``.
    """
    if previous is None:
        return (now, now, value)
    start_time, last_time, last_average = previous
    time_diff = now - last_time
    if time_diff <= 0:
        return (start_time, last_time, last_average)
    since_start = now - start_time
    horizon = backlog_minutes * 60.0
    backlog_count = horizon / time_diff if horizon < since_start else since_start / time_diff
    weight = (1.0 - 0.5) ** (1.0 / backlog_count)
    return (start_time, now, (1.0 - weight) * value + weight * last_average)


def average(key: str, value: float, now: float, backlog_minutes: float) -> float:
    """The exponential moving average of `value` over about
    `backlog_minutes`, remembering its state under `key`, as Checkmk's
    ``get_average(value_store, key, time, value, backlog_minutes)``; see
    :func:`compute_average` for the weighting.

    The first call returns `value`. When `now` did not advance since the last
    call, it returns the last average and keeps the state."""
    stored = store_get_floats(key)
    previous = (stored[0], stored[1], stored[2]) if stored is not None and len(stored) == 3 else None
    state = compute_average(previous, value, now, backlog_minutes)
    store_set_floats(key, list(state))
    return state[2]


def _system(function: str):
    system = bindings.wasmon("system")
    try:
        return getattr(system, function)()
    except Exception as e:
        message = getattr(e, "value", None)
        if isinstance(message, str):
            raise Failed(message) from None
        raise


def system_load():
    """The load averages (``one``, ``five``, ``fifteen``, ``cpus``); raises
    :class:`Failed` with the host's message when the ``system`` grant is missing."""
    return _system("load")


def system_memory():
    """Memory and swap in bytes (``mem_total``, ``mem_available``, ...)."""
    return _system("memory")


def system_filesystems():
    """Mounted filesystems (``mount_point``, ``total_bytes``, ...)."""
    return _system("filesystems")


def system_uptime() -> float:
    """Seconds since the machine booted."""
    return _system("uptime")
