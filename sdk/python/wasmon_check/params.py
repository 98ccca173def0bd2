"""Reading check parameters with errors that name the parameter, what was
expected and what was given (raised as :class:`~wasmon_check.BadParams`).

>>> p = Params([("port", "80"), ("timeout", "500ms")])
>>> p.reject_unknown(["port", "timeout"])
>>> p.integer("port", 443, 1, 65535), p.duration("timeout", 10)
(80, 0.5)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import render
from .errors import BadParams, bad_param, invalid_param
from .levels import Levels
from .numbers import format_number, parse_integer, parse_number
from .ranges import Range, RangeError, Thresholds
from .state import State, parse_state

__all__ = ["Params", "Amount", "parse_bytes", "parse_duration"]

Pairs = Iterable[Union[Tuple[str, str], Sequence[str]]]


@dataclass(frozen=True)
class Amount:
    """A threshold given as a percentage (``20%``) or an absolute size in
    bytes (``10GiB``), as ``check_disk -w``; see :meth:`Params.amount`."""

    value: float
    percent: bool

    def __str__(self) -> str:
        return render.percent(self.value) if self.percent else render.bytes(self.value)


_SIZE = re.compile(r"(\d+\.?\d*|\.\d+)\s*([A-Za-z]*)")
_SIZE_POWERS = {"b": 0, "k": 1, "kb": 1, "kib": 1, "m": 2, "mb": 2, "mib": 2,
                "g": 3, "gb": 3, "gib": 3, "t": 4, "tb": 4, "tib": 4}


def parse_bytes(text: str) -> Optional[float]:
    """A size with a unit: ``B``, ``K``/``KB``/``KiB``, ``M``/``MB``/``MiB``,
    ``G``/``GB``/``GiB``, ``T``/``TB``/``TiB`` (case-insensitive, a blank
    before the unit allowed), every unit a power of 1024; a plain number
    without unit is refused. None when it is not one."""
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        return None
    power = _SIZE_POWERS.get(m.group(2).lower())
    if power is None:
        return None
    return float(m.group(1)) * 1024 ** power


_DURATION = re.compile(r"(\d+\.?\d*|\.\d+)\s*(ms|us|µs|s|min|m|h|)")
_DURATION_FACTORS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> Optional[float]:
    """``10s``, ``500ms``, ``250us``, ``2m``, ``2min``, ``1h`` or ``1.5``
    (seconds), not negative, as seconds; None when it is not one."""
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        return None
    return float(m.group(1)) * _DURATION_FACTORS[m.group(2)]


class Params:
    """The parameters of one request, as (name, value) pairs in the order
    given. A later duplicate overrides an earlier one."""

    def __init__(self, pairs: Pairs = ()) -> None:
        self._pairs: List[Tuple[str, str]] = [(str(n), str(v)) for n, v in pairs]

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        """All parameters as (name, value), in the order given, duplicates
        included."""
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __repr__(self) -> str:
        return f"Params({self._pairs!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and self._pairs == other._pairs

    def get(self, name: str) -> Optional[str]:
        """The value of parameter `name` (the last one when given twice), or None."""
        for n, v in reversed(self._pairs):
            if n == name:
                return v
        return None

    def __contains__(self, name: object) -> bool:
        return any(n == name for n, _ in self._pairs)

    def reject_unknown(self, known: Iterable[str]) -> None:
        """Raises :class:`BadParams` naming the first parameter whose name is
        not in `known`. Checks call this first, so a typo is not ignored."""
        known = list(known)
        for name, _ in self._pairs:
            if name not in known:
                listed = ", ".join(known) if known else "none"
                raise BadParams(f"unknown parameter '{name}' (this check understands: {listed})")

    def string(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The text of parameter `name` as given, or `default`."""
        value = self.get(name)
        return default if value is None else value

    def required(self, name: str) -> str:
        """The text of parameter `name`, which must be given."""
        value = self.get(name)
        if value is None:
            raise BadParams(f"parameter '{name}' is required")
        return value

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        """One of `choices` (case-insensitive, returned as spelled in
        `choices`), or `default`."""
        raw = self.get(name)
        if raw is None:
            return default
        for c in choices:
            if raw.strip().lower() == c.lower():
                return c
        options = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
        raise bad_param(name, options, raw)

    def integer(self, name: str, default: Optional[int] = None,
                minimum: Optional[int] = None, maximum: Optional[int] = None) -> Optional[int]:
        """An integer within [minimum, maximum] (when given), or `default`:
        ``parameter 'port': expected an integer from 1 to 65535, got '0'``."""
        raw = self.get(name)
        if raw is None:
            return default
        value = parse_integer(raw.strip())
        if value is None or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise bad_param(name, _expected("an integer", minimum, maximum), raw)
        return value

    def number(self, name: str, default: Optional[float] = None,
               minimum: Optional[float] = None, maximum: Optional[float] = None) -> Optional[float]:
        """A finite number within [minimum, maximum] (when given), or
        `default`; ``nan`` and ``inf`` are refused."""
        raw = self.get(name)
        if raw is None:
            return default
        value = parse_number(raw.strip())
        if value is None or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise bad_param(name, _expected("a number", minimum, maximum), raw)
        return value

    def bool(self, name: str, default: bool) -> bool:
        """``true``/``false``, ``yes``/``no``, ``on``/``off`` or ``1``/``0``
        (case-insensitive), or `default`."""
        raw = self.get(name)
        if raw is None:
            return default
        t = raw.strip().lower()
        if t in ("true", "yes", "on", "1"):
            return True
        if t in ("false", "no", "off", "0"):
            return False
        raise bad_param(name, "true or false (also yes/no, on/off, 1/0)", raw)

    def state(self, name: str, default: State) -> State:
        """A state name (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT, 0-3), or `default`."""
        raw = self.get(name)
        if raw is None:
            return default
        try:
            return parse_state(raw)
        except ValueError as e:
            raise invalid_param(name, e) from None

    def duration(self, name: str, default: float) -> float:
        """A duration in seconds: ``10s``, ``500ms``, ``2m``, ``1h`` or a plain
        number of seconds; or `default`."""
        raw = self.get(name)
        if raw is None:
            return default
        value = parse_duration(raw)
        if value is None:
            raise bad_param(name, "a duration such as 10s, 500ms, 2m or 1.5 (seconds)", raw)
        return value

    def range(self, name: str) -> Optional[Range]:
        """A range in the plugin syntax (``10``, ``10:``, ``~:10``, ``10:20``,
        ``@10:20``), or None when not given."""
        raw = self.get(name)
        if raw is None:
            return None
        try:
            return Range.parse(raw)
        except RangeError as e:
            raise invalid_param(name, e) from None

    def thresholds(self, warn_name: str, crit_name: str) -> Thresholds:
        """Warning and critical ranges from two parameters (``-w``/``-c`` style)."""
        return Thresholds(self.range(warn_name), self.range(crit_name))

    def amount(self, name: str) -> Optional[Amount]:
        """A percentage (``20%``, 0 to 100) or a size with unit (``10GiB``, see
        :func:`parse_bytes`), or None when not given."""
        raw = self.get(name)
        if raw is None:
            return None
        t = raw.strip()
        if t.endswith("%"):
            p = parse_number(t[:-1].strip())
            if p is not None and 0 <= p <= 100:
                return Amount(p, True)
        else:
            size = parse_bytes(t)
            if size is not None:
                return Amount(size, False)
        raise bad_param(
            name,
            "a percentage from 0% to 100% or a size such as 500MiB or 10GiB (units B, KiB, MiB, GiB, TiB)",
            raw,
        )

    def levels_upper(self, warn_name: str, crit_name: str,
                     default: Optional[Tuple[float, float]] = None) -> Levels:
        """Upper levels (alert at or above) from two number parameters. A
        parameter not given takes its half of `default`; with no default both
        must be given together, and none given means no levels."""
        pair = self._level_pair(warn_name, crit_name, default)
        return Levels.none() if pair is None else Levels.at_or_above(*pair)

    def levels_lower(self, warn_name: str, crit_name: str,
                     default: Optional[Tuple[float, float]] = None) -> Levels:
        """Lower levels (alert below) from two number parameters, with the
        same rules as :meth:`levels_upper`."""
        pair = self._level_pair(warn_name, crit_name, default)
        return Levels.none() if pair is None else Levels.below(*pair)

    def _level_pair(self, warn_name: str, crit_name: str,
                    default: Optional[Tuple[float, float]]) -> Optional[Tuple[float, float]]:
        warn = self.number(warn_name)
        crit = self.number(crit_name)
        if warn is not None and crit is not None:
            return warn, crit
        if warn is None and crit is None:
            return default
        if default is not None:
            return (warn if warn is not None else default[0], crit if crit is not None else default[1])
        given, missing = (warn_name, crit_name) if warn is not None else (crit_name, warn_name)
        raise BadParams(f"parameter '{given}' is given without '{missing}': give both or neither")


def _expected(kind: str, minimum: Optional[float], maximum: Optional[float]) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {format_number(minimum)} to {format_number(maximum)}"
    if minimum is not None:
        return f"{kind} of at least {format_number(minimum)}"
    if maximum is not None:
        return f"{kind} of at most {format_number(maximum)}"
    return kind
