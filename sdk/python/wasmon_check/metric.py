"""Performance data in canonical units."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from .ranges import Range, Thresholds

if TYPE_CHECKING:
    from .levels import Levels

__all__ = ["Metric", "UNITS", "is_valid_label"]

#: The units of measurement the contract allows: a plain number (also rates
#: per second), seconds, percent (0-100), bytes, a continuous counter.
UNITS = ("", "s", "%", "B", "c")

_LABEL = re.compile(r"[a-z_][a-z0-9_]*")


def is_valid_label(label: str) -> bool:
    """Lower-case ASCII letters, digits and underscores, not starting with a
    digit (Checkmk guideline 6.2)."""
    return _LABEL.fullmatch(label) is not None


@dataclass(frozen=True)
class Metric:
    """One performance data point, rendered by the host as
    ``'label'=value[uom];[warn];[crit];[min];[max]``.

    Build it with a constructor in canonical units (:meth:`seconds`,
    :meth:`bytes`, :meth:`percent`, ...) and the ``with_*`` methods, which
    return a changed copy.
    """

    label: str
    value: float
    uom: str = ""
    warn: Optional[Range] = None
    crit: Optional[Range] = None
    min: Optional[float] = None
    max: Optional[float] = None

    def __post_init__(self) -> None:
        if not is_valid_label(self.label):
            raise ValueError(
                f"metric label {self.label!r}: use lower case letters, digits and underscores, "
                "not starting with a digit"
            )
        if self.uom not in UNITS:
            raise ValueError(f"metric {self.label!r}: unit {self.uom!r} is not one of {UNITS}")
        object.__setattr__(self, "value", float(self.value))

    @staticmethod
    def seconds(label: str, seconds: float) -> "Metric":
        """A duration in seconds (unit "s"), minimum 0."""
        return Metric(label, seconds, "s", min=0.0)

    @staticmethod
    def bytes(label: str, size: float) -> "Metric":
        """A size in bytes (unit "B"), minimum 0."""
        return Metric(label, size, "B", min=0.0)

    @staticmethod
    def percent(label: str, percent: float) -> "Metric":
        """A percentage from 0 to 100 (unit "%"), minimum 0, maximum 100."""
        return Metric(label, percent, "%", min=0.0, max=100.0)

    @staticmethod
    def per_second(label: str, rate: float) -> "Metric":
        """A rate per second, a plain number (unit ""), minimum 0."""
        return Metric(label, rate, "", min=0.0)

    @staticmethod
    def count(label: str, count: float) -> "Metric":
        """A count of things, a plain number (unit ""), minimum 0."""
        return Metric(label, count, "", min=0.0)

    @staticmethod
    def number(label: str, value: float) -> "Metric":
        """A plain number without unit or bounds."""
        return Metric(label, value, "")

    @staticmethod
    def counter(label: str, value: float) -> "Metric":
        """A continuous counter (unit "c"), minimum 0."""
        return Metric(label, value, "c", min=0.0)

    def with_warn(self, range_: Optional[Range]) -> "Metric":
        """A copy with the warning range set."""
        return dataclasses.replace(self, warn=range_)

    def with_crit(self, range_: Optional[Range]) -> "Metric":
        """A copy with the critical range set."""
        return dataclasses.replace(self, crit=range_)

    def with_thresholds(self, thresholds: Thresholds) -> "Metric":
        """A copy with the warning and critical ranges of `thresholds`."""
        return dataclasses.replace(self, warn=thresholds.warn, crit=thresholds.crit)

    def with_levels(self, levels: "Levels") -> "Metric":
        """A copy with Checkmk-style levels as perfdata ranges, the way
        Checkmk writes them: upper levels as ``W`` and ``C``, lower levels as
        ``W:`` and ``C:``; with both, the upper ones. No levels clear them."""
        if levels.upper is not None:
            warn, crit = levels.upper
            return dataclasses.replace(self, warn=Range.upper(warn), crit=Range.upper(crit))
        if levels.lower is not None:
            warn, crit = levels.lower
            return dataclasses.replace(self, warn=Range.lower(warn), crit=Range.lower(crit))
        return dataclasses.replace(self, warn=None, crit=None)

    def with_min(self, value: Optional[float]) -> "Metric":
        """A copy with the smallest possible value set."""
        return dataclasses.replace(self, min=value)

    def with_max(self, value: Optional[float]) -> "Metric":
        """A copy with the largest possible value set."""
        return dataclasses.replace(self, max=value)
