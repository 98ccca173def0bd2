"""The interface a check implements."""

from __future__ import annotations

from typing import List, Union

from .info import CheckInfo
from .output import CheckResult, Output
from .request import CheckRequest, DiscoverRequest, Item

__all__ = ["Check"]


class Check:
    """A monitoring check. Subclass it, implement :meth:`describe` and
    :meth:`check` (and :meth:`discover` for checks with items), and export
    an instance with :func:`wasmon_check.component.export`.

    `check` and `discover` report a :class:`~wasmon_check.CheckError` by
    raising it. Any other exception becomes a `failed` error naming the
    exception and where it was raised.
    """

    def describe(self) -> CheckInfo:
        """Name, version, title, manpage and every parameter with its
        default. Must not depend on the target and must not fail."""
        raise NotImplementedError

    def discover(self, request: DiscoverRequest) -> List[Item]:
        """The items this check would monitor on the target, one service per
        item. The default, for checks without items, finds none."""
        return []

    def check(self, request: CheckRequest) -> Union[CheckResult, Output]:
        """Runs the check once; returns a result (or the :class:`Output` it
        was built in)."""
        raise NotImplementedError
