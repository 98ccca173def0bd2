"""Checkmk-style levels: a warning and a critical value that the measured
value is compared with using ``>=`` (upper levels) or ``<`` (lower levels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from .output import PartialResult
from .state import State

__all__ = ["Levels", "check_levels"]

Pair = Tuple[float, float]


@dataclass(frozen=True)
class Levels:
    """Upper and/or lower (warning, critical) levels (Checkmk guideline 5.4).

    Upper levels alert when the value is *at or above* the level: with upper
    levels 80/90 the value 90 is already CRITICAL. Lower levels alert when the
    value is *below* the level: with lower levels 10/5 the value 5 is WARNING
    and 4.9 CRITICAL. Critical levels are checked before warning ones.
    """

    upper: Optional[Pair] = None
    lower: Optional[Pair] = None

    @staticmethod
    def none() -> "Levels":
        """No levels: every value is OK."""
        return Levels()

    @staticmethod
    def at_or_above(warn: float, crit: float) -> "Levels":
        """WARNING at or above `warn`, CRITICAL at or above `crit`."""
        return Levels(upper=(float(warn), float(crit)))

    @staticmethod
    def below(warn: float, crit: float) -> "Levels":
        """WARNING below `warn`, CRITICAL below `crit`."""
        return Levels(lower=(float(warn), float(crit)))

    @staticmethod
    def both(upper: Pair, lower: Pair) -> "Levels":
        """Upper (warn, crit) and lower (warn, crit) levels."""
        return Levels(upper=(float(upper[0]), float(upper[1])), lower=(float(lower[0]), float(lower[1])))

    def is_none(self) -> bool:
        """Whether there are no levels at all."""
        return self.upper is None and self.lower is None

    def evaluate(self, value: float) -> State:
        """The state of `value`."""
        return self._evaluate(value)[0]

    def _evaluate(self, value: float) -> Tuple[State, Optional[str]]:
        if self.upper is not None:
            warn, crit = self.upper
            if value >= crit:
                return State.CRITICAL, "upper"
            if value >= warn:
                return State.WARNING, "upper"
        if self.lower is not None:
            warn, crit = self.lower
            if value < crit:
                return State.CRITICAL, "lower"
            if value < warn:
                return State.WARNING, "lower"
        return State.OK, None


def check_levels(
    value: float, levels: Levels, label: str, render: Callable[[float], str]
) -> PartialResult:
    """Compares `value` with `levels` and renders one partial result.

    The summary is ``"{label}: {render(value)}"``; when the state is not OK it
    is followed by `` (warn/crit at W/C)`` for upper levels or
    `` (warn/crit below W/C)`` for lower ones, the levels rendered with the
    same `render`.

    >>> from wasmon_check import render
    >>> check_levels(85.25, Levels.at_or_above(80, 90), "Usage", render.percent).summary
    'Usage: 85.25% (warn/crit at 80%/90%)'
    """
    state, side = levels._evaluate(value)
    summary = f"{label}: {render(value)}"
    if side == "upper" and levels.upper is not None:
        warn, crit = levels.upper
        summary += f" (warn/crit at {render(warn)}/{render(crit)})"
    elif side == "lower" and levels.lower is not None:
        warn, crit = levels.lower
        summary += f" (warn/crit below {render(warn)}/{render(crit)})"
    return PartialResult(state, summary)
