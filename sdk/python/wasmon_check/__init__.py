"""Write wasmon monitoring checks in Python.

A check is a WebAssembly component built with componentize-py from a Python
module that subclasses :class:`Check` and ends with
``WitWorld = wasmon_check.component.export(MyCheck())``. The SDK mirrors the
Rust SDK (``guest-sdk/``):

- :class:`State` with the severity order, :class:`CheckError` and its cases
  :class:`ItemNotFound`, :class:`BadParams`, :class:`Failed`;
- :class:`Range` and :class:`Thresholds` (Monitoring Plugins ranges) and
  :class:`Levels` with :func:`check_levels` (Checkmk levels, ``>=``);
- :class:`Metric` in canonical units, :class:`Output` to collect partial
  results and metrics, :mod:`render` for values in summaries;
- :class:`Params` to read parameters with errors that name them, and
  :meth:`CheckRequest.io_timeout`;
- :class:`CheckInfo`, :class:`Manpage`, :class:`ParamInfo` for ``describe``;
- inside a component only: :mod:`wasmon_check.host` (log, value store,
  system facts), :class:`~wasmon_check.deadline.Deadline`,
  :mod:`wasmon_check.component`.

Everything but the last line runs natively, so checks unit-test their logic
with ``python3 -m unittest``.
"""

from . import render
from .check import Check
from .errors import BadParams, CheckError, Failed, ItemNotFound, bad_param, invalid_param
from .info import CheckInfo, Manpage, ParamInfo
from .levels import Levels, check_levels
from .metric import Metric, is_valid_label
from .numbers import format_number, parse_integer, parse_number
from .output import CheckResult, Output, PartialResult
from .params import Amount, Params, parse_bytes, parse_duration
from .ranges import Range, RangeError, Thresholds
from .request import CheckRequest, DiscoverRequest, Item, Target
from .state import State, parse_state

__version__ = "0.1.0"

__all__ = [
    "render", "Check", "CheckError", "ItemNotFound", "BadParams", "Failed", "bad_param", "invalid_param",
    "CheckInfo", "Manpage", "ParamInfo", "Levels", "check_levels", "Metric", "is_valid_label",
    "format_number", "parse_integer", "parse_number", "CheckResult", "Output", "PartialResult", "Amount", "Params", "parse_bytes", "parse_duration",
    "Range", "RangeError", "Thresholds", "CheckRequest", "DiscoverRequest", "Item", "Target",
    "State", "parse_state",
]
