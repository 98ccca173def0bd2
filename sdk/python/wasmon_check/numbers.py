"""Strict number syntax shared by ranges and parameters.

Python's float() also accepts '1_000', 'inf', 'nan' and blanks; parameters
and ranges accept plain decimal numbers only, with an optional exponent.
"""

from __future__ import annotations

import math
import re
from typing import Optional

__all__ = ["parse_number", "parse_integer", "format_number"]

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def parse_number(text: str) -> Optional[float]:
    """The finite number `text` is (no blanks allowed), or None."""
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_integer(text: str) -> Optional[int]:
    """The integer `text` is (no blanks allowed), or None."""
    return int(text) if _INTEGER.fullmatch(text) else None


def format_number(value: float) -> str:
    """A number in its shortest form: ``10`` rather than ``10.0``, ``1.5``,
    ``0`` without a sign for negative zero."""
    if value == 0:
        return "0"
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))
