"""Rendering values for summaries, following Checkmk's output rules: one
blank between a value and its unit, none before ``%``."""

from __future__ import annotations

import math

__all__ = ["fixed", "number", "bytes", "percent", "seconds"]


def fixed(value: float, decimals: int) -> str:
    """`value` with exactly `decimals` digits after the point, without a sign
    on zero (``-0.00`` becomes ``0.00``)."""
    s = f"{value:.{decimals}f}"
    if s.startswith("-") and all(c in "0." for c in s[1:]):
        return s[1:]
    return s


def _round(value: float) -> float:
    """Rounds half away from zero, as Rust's f64::round (Python's round()
    rounds half to even)."""
    return math.copysign(math.floor(abs(value) + 0.5), value)


def _trimmed(value: float, decimals: int) -> str:
    s = fixed(value, decimals)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def number(value: float, decimals: int = 2) -> str:
    """A plain number with at most `decimals` digits after the point, trailing
    zeros dropped: ``12``, ``0.5``, ``3.14``."""
    return _trimmed(value, decimals)


def bytes(value: float) -> str:
    """A size in bytes with binary units: ``512 B``, ``1.50 KiB``, ``1.50 GiB``,
    up to PiB."""
    units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
    if abs(value) < 1024:
        return f"{fixed(value, 0)} B"
    scaled = value / 1024
    unit = units[0]
    for following in units[1:]:
        # Scale up only when the rounded figure would reach 1024.
        if _round(abs(scaled) * 100) / 100 < 1024:
            break
        scaled /= 1024
        unit = following
    return f"{fixed(scaled, 2)} {unit}"


def percent(value: float) -> str:
    """A percentage (0-100) with up to two decimals and no blank: ``89.5%``,
    ``100%``; a value that is not zero but rounds to zero is ``<0.01%``."""
    if value != 0 and abs(value) < 0.005:
        return ("-" if value < 0 else "") + "<0.01%"
    return f"{_trimmed(value, 2)}%"


def seconds(value: float) -> str:
    """A duration in seconds, in the unit that reads best: ``850 µs``,
    ``12 ms``, ``1.5 ms``, ``1.20 s``, ``5 min 3 s``, ``2 h 5 min``, ``3 d 4 h``."""
    if value < 0:
        return "-" + seconds(-value)
    if value == 0:
        return "0 s"
    if value < 0.0009995:
        return f"{fixed(value * 1e6, 0)} µs"
    if value < 0.00995:
        return f"{_trimmed(value * 1e3, 1)} ms"
    if value < 0.9995:
        return f"{fixed(value * 1e3, 0)} ms"
    if value < 59.995:
        return f"{fixed(value, 2)} s"
    total = int(_round(value))
    days, hours, minutes, secs = total // 86400, total // 3600 % 24, total // 60 % 60, total % 60
    if days > 0:
        return f"{days} d {hours} h"
    if hours > 0:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"
