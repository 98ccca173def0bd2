"""What the host asks a check: :class:`CheckRequest`, :class:`DiscoverRequest`,
and what discovery answers: :class:`Item`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .errors import BadParams, bad_param
from .params import Pairs, Params

__all__ = ["Target", "CheckRequest", "DiscoverRequest", "Item"]


@dataclass
class Target:
    """The host a check runs against: its configured name (``-H``) and the
    address to connect to (an IP literal resolved by the host, or empty for a
    local-only check)."""

    name: str = ""
    address: str = ""

    @property
    def host(self) -> str:
        """The name, or the address when there is no name: what goes into a
        URL or a message. Empty when the check has no target."""
        return self.name or self.address


@dataclass
class CheckRequest:
    """What one ``check`` call is asked to look at."""

    target: Target = field(default_factory=Target)
    item: Optional[str] = None
    params: Params = field(default_factory=Params)
    #: The wall time the host gives this run, in milliseconds (0: unknown).
    timeout_ms: int = 0

    @staticmethod
    def new(target_name: str = "", target_address: str = "", params: Pairs = (),
            timeout_ms: int = 10_000, item: Optional[str] = None) -> "CheckRequest":
        """A request for unit tests (the host builds the real ones)."""
        return CheckRequest(Target(target_name, target_address), item, Params(params), timeout_ms)

    def io_timeout(self, default: float) -> float:
        """Seconds the check may spend on its own I/O: parameter ``timeout``
        (default `default`), but never more than 90% of the host's wall time,
        so the check reports its own timeout ("Socket timeout after 9
        seconds") before the host cuts it off. Document it with
        :meth:`ParamInfo.timeout`."""
        wanted = self.params.duration("timeout", default)
        if wanted <= 0:
            raise bad_param("timeout", "a duration of more than 0 seconds", self.params.get("timeout") or "0")
        if self.timeout_ms == 0:
            return wanted
        budget = self.timeout_ms * 9 // 10 / 1000
        return min(wanted, max(budget, 0.001))

    def required_item(self) -> str:
        """The item, or :class:`BadParams` when the service has none."""
        if self.item is None:
            raise BadParams("this check needs an item, but none was given")
        return self.item


@dataclass
class DiscoverRequest:
    """What one ``discover`` call is asked to look at."""

    target: Target = field(default_factory=Target)
    params: Params = field(default_factory=Params)


@dataclass
class Item:
    """One item found by discovery, with parameters it recommends."""

    name: str
    params: List[Tuple[str, str]] = field(default_factory=list)
