"""Why a check could not produce a result: the contract's `check-error`.

Raise one of these from `check` or `discover`; the SDK hands it to the host,
which reports UNKNOWN with the message.
"""

from __future__ import annotations

__all__ = ["CheckError", "ItemNotFound", "BadParams", "Failed", "bad_param", "invalid_param"]


class CheckError(Exception):
    """Base of the three errors the contract knows."""

    @property
    def message(self) -> str:
        """The message the host shows."""
        return str(self.args[0]) if self.args else ""


class ItemNotFound(CheckError):
    """The item asked for is not in the monitoring data. The host reports
    UNKNOWN with its standard text; the check gives no message."""

    def __init__(self) -> None:
        super().__init__("Item not found in monitoring data")


class BadParams(CheckError):
    """A parameter is missing or malformed; the message names it and what
    was expected."""


class Failed(CheckError):
    """The check could not do its work for another reason."""


def bad_param(name: str, expected: str, got: str) -> BadParams:
    """A :class:`BadParams` in the standard form
    ``parameter 'NAME': expected EXPECTED, got 'VALUE'``."""
    return BadParams(f"parameter '{name}': expected {expected}, got '{got}'")


def invalid_param(name: str, message: object) -> BadParams:
    """A :class:`BadParams` in the form ``parameter 'NAME': MESSAGE``, for
    what the expected/got form of :func:`bad_param` does not fit."""
    return BadParams(f"parameter '{name}': {message}")
