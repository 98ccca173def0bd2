"""The state of a partial result or a service, and its severity order."""

from __future__ import annotations

import enum
from typing import Iterable

__all__ = ["State", "parse_state"]


class State(enum.Enum):
    """A Nagios state. The values are the WIT enum's case indices, which are
    also the plugin exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

    Compare states with :meth:`severity` or :meth:`worst`, never with the
    values: the severity order is OK < WARNING < UNKNOWN < CRITICAL.
    """

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def severity(self) -> int:
        """The rank in the order OK < WARNING < UNKNOWN < CRITICAL (0 to 3)."""
        return _SEVERITY[self]

    @property
    def exit_code(self) -> int:
        """The plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
        return self.value

    def worst(self, other: "State") -> "State":
        """The worse of this state and `other`."""
        return other if other.severity > self.severity else self

    @staticmethod
    def worst_of(states: Iterable["State"]) -> "State":
        """The worst of any number of states; OK for none."""
        result = State.OK
        for state in states:
            result = result.worst(state)
        return result

    def __str__(self) -> str:
        return self.name


_SEVERITY = {State.OK: 0, State.WARNING: 1, State.UNKNOWN: 2, State.CRITICAL: 3}

_NAMES = {
    "OK": State.OK,
    "0": State.OK,
    "WARNING": State.WARNING,
    "WARN": State.WARNING,
    "1": State.WARNING,
    "CRITICAL": State.CRITICAL,
    "CRIT": State.CRITICAL,
    "2": State.CRITICAL,
    "UNKNOWN": State.UNKNOWN,
    "3": State.UNKNOWN,
}


def parse_state(text: str) -> State:
    """Parses a state name case-insensitively: OK, WARNING (WARN), CRITICAL
    (CRIT), UNKNOWN or the exit codes 0-3; blanks around it are ignored.

    Raises ValueError "expected a state (...), got 'TEXT'" otherwise.
    """
    state = _NAMES.get(text.strip().upper())
    if state is None:
        raise ValueError(
            f"expected a state (OK, WARNING, CRITICAL, UNKNOWN, WARN, CRIT or 0-3), got '{text}'"
        )
    return state
