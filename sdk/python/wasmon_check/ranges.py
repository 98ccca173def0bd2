"""Threshold ranges in the Monitoring Plugins syntax, and :class:`Thresholds`.

A range is written ``10`` (same as ``0:10``), ``10:`` (10 to infinity),
``~:10`` (negative infinity to 10), ``10:20``, and with a leading ``@``
(``@10:20``) to alert *inside* the range instead of outside it. Both ends are
inclusive: with ``10`` the value 10 is fine and 10.5 alerts; with ``@10:20``
10 and 20 alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .numbers import format_number, parse_number
from .state import State

__all__ = ["Range", "RangeError", "Thresholds"]


class RangeError(ValueError):
    """Why a text is not a valid range; names the text and what was expected."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid range '{text}': {reason}; expected N, N:, ~:N, N:M or @N:M")
        self.text = text
        self.reason = reason


def _end(whole: str, part: str) -> float:
    value = parse_number(part)
    if value is None:
        raise RangeError(whole, f"'{part}' is not a number")
    return value


@dataclass(frozen=True)
class Range:
    """A range: alerts when a value lies outside ``[start, end]`` (both ends
    inclusive), or inside it when `inside` is set. A `start` of None is
    negative infinity, an `end` of None positive infinity."""

    start: Optional[float]
    end: Optional[float]
    inside: bool = False

    @staticmethod
    def parse(text: str) -> "Range":
        """Parses the plugin syntax; raises :class:`RangeError`.

        >>> Range.parse("10:20").alerts(20.5)
        True
        """
        s = text.strip()
        if not s:
            raise RangeError(text, "it is empty")
        inside = s.startswith("@")
        body = s[1:] if inside else s
        if not body:
            raise RangeError(text, "'@' must be followed by a range")
        if ":" not in body:
            if body == "~":
                raise RangeError(text, "'~' must be followed by ':' and an end")
            start: Optional[float] = 0.0
            end: Optional[float] = _end(text, body)
        else:
            first, last = body.split(":", 1)
            # Like the Monitoring Plugins: an empty start is 0 (":10" is
            # "0:10"), an empty end positive infinity.
            if first == "~":
                start = None
            elif first == "":
                start = 0.0
            else:
                start = _end(text, first)
            end = None if last == "" else _end(text, last)
        if start is not None and end is not None and start > end:
            raise RangeError(
                text, f"start {format_number(start)} is greater than end {format_number(end)}"
            )
        return Range(start, end, inside)

    @staticmethod
    def upper(x: float) -> "Range":
        """The range ``0:x`` (written ``x``): alerts above `x` (or below 0);
        for a negative `x` it is ``~:x``. How perfdata writes an upper level;
        note that a range does not alert at `x` itself, while
        :class:`~wasmon_check.Levels` do."""
        return Range(0.0 if x >= 0 else None, float(x), False)

    @staticmethod
    def lower(x: float) -> "Range":
        """The range ``x:``: alerts below `x`."""
        return Range(float(x), None, False)

    def alerts(self, value: float) -> bool:
        """Whether `value` raises an alert."""
        below = self.start is not None and value < self.start
        above = self.end is not None and value > self.end
        outside = below or above
        return not outside if self.inside else outside

    def __str__(self) -> str:
        """The shortest plugin syntax; :meth:`parse` reads it back."""
        prefix = "@" if self.inside else ""
        start, end = self.start, self.end
        if start == 0 and end is not None:
            body = format_number(end)
        elif start is not None and end is not None:
            body = f"{format_number(start)}:{format_number(end)}"
        elif start is not None:
            body = f"{format_number(start)}:"
        elif end is not None:
            body = f"~:{format_number(end)}"
        else:
            body = "~:"
        return prefix + body


@dataclass(frozen=True)
class Thresholds:
    """A warning and a critical :class:`Range`, as ``-w``/``-c`` of a
    Monitoring Plugin."""

    warn: Optional[Range] = None
    crit: Optional[Range] = None

    @staticmethod
    def parse(warn: Optional[str], crit: Optional[str]) -> "Thresholds":
        """Parses two optional range texts; raises :class:`RangeError`."""
        return Thresholds(
            Range.parse(warn) if warn is not None else None,
            Range.parse(crit) if crit is not None else None,
        )

    def evaluate(self, value: float) -> State:
        """CRITICAL if the critical range alerts, else WARNING if the warning
        range alerts, else OK."""
        if self.crit is not None and self.crit.alerts(value):
            return State.CRITICAL
        if self.warn is not None and self.warn.alerts(value):
            return State.WARNING
        return State.OK
