"""The host's imports: the log, the per-service value store (with counter
rates), and the read-only facts about the machine (``system``).

They exist only inside a component; natively they raise ImportError.
"""

from __future__ import annotations

import struct
import time
from typing import List, Optional, Tuple

from . import bindings
from .errors import Failed

__all__ = [
    "log_debug", "log_info", "log_warn", "log_error",
    "store_get", "store_set", "store_delete", "store_get_string", "store_set_string",
    "store_get_floats", "store_set_floats", "encode_floats", "decode_floats",
    "rate", "compute_rate", "now_secs",
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


def compute_rate(previous: Optional[Tuple[float, float]], counter: float, now: float) -> Optional[float]:
    """The rate from `previous` (time, counter) to (`now`, `counter`) per
    second; None on the first sample, when the counter went backwards (a
    wrap or reset) or when no time passed."""
    if previous is None:
        return None
    last_time, last_counter = previous
    if counter < last_counter or now <= last_time:
        return None
    return (counter - last_counter) / (now - last_time)


def rate(key: str, counter: float, now: float) -> Optional[float]:
    """The per-second rate of a growing counter (Checkmk counter semantics),
    remembering the last sample under `key`; None when there is no rate yet
    (see :func:`compute_rate`), and the check should say it is initializing."""
    stored = store_get_floats(key)
    previous = (stored[0], stored[1]) if stored is not None and len(stored) == 2 else None
    store_set_floats(key, [now, counter])
    return compute_rate(previous, counter, now)


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
