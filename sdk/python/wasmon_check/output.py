"""Partial results, the check result, and :class:`Output` to build them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional

from .metric import Metric
from .state import State

if TYPE_CHECKING:
    from .levels import Levels

__all__ = ["PartialResult", "CheckResult", "Output"]


@dataclass
class PartialResult:
    """One aspect of a check's verdict: a state and one line of text (output
    rules: ``Name: value unit``), with optional further lines (details)."""

    state: State
    summary: str
    details: Optional[str] = None


@dataclass
class CheckResult:
    """The result of one run: partial results in display order, and metrics."""

    partials: List[PartialResult] = field(default_factory=list)
    metrics: List[Metric] = field(default_factory=list)

    @property
    def state(self) -> State:
        """The state the host derives: the worst partial's, UNKNOWN for none."""
        if not self.partials:
            return State.UNKNOWN
        return State.worst_of(p.state for p in self.partials)

    @property
    def summary(self) -> str:
        """The summary the host shows: the partial summaries joined with ", "."""
        return ", ".join(p.summary for p in self.partials)


class Output:
    """Collects partial results and metrics for one run.

    >>> out = Output()
    >>> out.ok("Response time: 12 ms").metric(Metric.seconds("response_time", 0.012))  # doctest: +ELLIPSIS
    <...Output...>
    >>> out.warn("Certificate: expires in 10 days").details("Issuer: Example CA")  # doctest: +ELLIPSIS
    <...Output...>
    >>> out.state, out.summary
    (<State.WARNING: 1>, 'Response time: 12 ms, Certificate: expires in 10 days')
    """

    def __init__(self) -> None:
        self.partials: List[PartialResult] = []
        self.metrics: List[Metric] = []

    def push(self, partial: PartialResult) -> "Output":
        """Appends a partial result."""
        self.partials.append(partial)
        return self

    def partial(self, state: State, summary: str) -> "Output":
        """Appends a partial result with `state` and `summary`."""
        return self.push(PartialResult(state, summary))

    def ok(self, summary: str) -> "Output":
        """Appends an OK partial result."""
        return self.partial(State.OK, summary)

    def warn(self, summary: str) -> "Output":
        """Appends a WARNING partial result."""
        return self.partial(State.WARNING, summary)

    def crit(self, summary: str) -> "Output":
        """Appends a CRITICAL partial result."""
        return self.partial(State.CRITICAL, summary)

    def unknown(self, summary: str) -> "Output":
        """Appends an UNKNOWN partial result."""
        return self.partial(State.UNKNOWN, summary)

    def details(self, text: str) -> "Output":
        """Adds lines of details to the last partial result (on a new line
        when it has some already). Raises IndexError before any partial."""
        if not self.partials:
            raise IndexError("Output.details called before any partial result")
        last = self.partials[-1]
        last.details = text if last.details is None else f"{last.details}\n{text}"
        return self

    def metric(self, metric: Metric) -> "Output":
        """Appends a metric."""
        self.metrics.append(metric)
        return self

    def response_time(self, elapsed: float, levels: "Levels", timeout: float) -> "Output":
        """Appends a network check's response time: the partial result
        ``Response time: 12 ms`` judged against upper `levels` and the metric
        ``response_time`` in seconds from 0 to `timeout` (seconds). Document
        the levels with :meth:`ParamInfo.response_time_levels`."""
        from . import render
        from .levels import check_levels

        self.push(check_levels(elapsed, levels, "Response time", render.seconds))
        return self.metric(
            Metric.seconds("response_time", elapsed).with_levels(levels).with_min(0.0).with_max(timeout)
        )

    @property
    def state(self) -> State:
        """The worst state of the partial results so far (OK for none)."""
        return State.worst_of(p.state for p in self.partials)

    @property
    def summary(self) -> str:
        """The partial summaries joined with ", ", as the host shows them."""
        return ", ".join(p.summary for p in self.partials)

    def result(self) -> CheckResult:
        """The finished result."""
        return CheckResult(list(self.partials), list(self.metrics))
