"""A check's self-description: :class:`CheckInfo`, :class:`Manpage`,
:class:`ParamInfo`. ``wasmon describe`` verifies it against the contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .numbers import format_number

__all__ = ["CheckInfo", "Manpage", "ParamInfo"]


@dataclass
class ParamInfo:
    """Documentation of one parameter: name, meaning and syntax, the default
    and where the default comes from (required for default thresholds,
    Checkmk guideline 5.6)."""

    name: str
    description: str
    default_value: Optional[str] = None
    default_source: Optional[str] = None

    @staticmethod
    def response_time_levels(source: str) -> Tuple["ParamInfo", "ParamInfo"]:
        """The parameters ``warning`` and ``critical`` of a network check's
        response time (read with ``Params.levels_upper``, shown with
        ``Output.response_time``), without default; `source` says why."""
        return (
            ParamInfo("warning", "Response time in seconds at or above which the check is WARN.", None, source),
            ParamInfo("critical", "Response time in seconds at or above which the check is CRIT.", None, source),
        )

    @staticmethod
    def timeout(what: str, default: float, source: str) -> "ParamInfo":
        """The standard ``timeout`` parameter, read with
        ``CheckRequest.io_timeout``: "Time allowed `what`, ..."; `default`
        in seconds."""
        return ParamInfo(
            "timeout",
            f"Time allowed {what}, as seconds ('10', '2.5') or with a unit ('10s', '500ms'). "
            "Never more than 90% of the wall time the host gives the run (`wasmon check -t`), "
            "so that the check reports its own timeout first.",
            f"{format_number(default)}s",
            source,
        )


@dataclass
class Manpage:
    """The manpage (Checkmk guideline 9): what is monitored and when it is
    OK, WARN or CRIT; how the item is formed; when discovery finds services."""

    description: str
    item: Optional[str] = None
    discovery: Optional[str] = None


@dataclass
class CheckInfo:
    """Everything the host and the operator need to know about a check."""

    name: str
    version: str
    title: str
    manpage: Manpage
    params: List[ParamInfo] = field(default_factory=list)
