"""Exports a :class:`~wasmon_check.Check` as the component's ``describe``,
``discover`` and ``check``, converting between the SDK's types and the ones
componentize-py generates for ``wit/check.wit``.

The check's app module (the one named on the componentize-py command line)
ends with::

    WitWorld = wasmon_check.component.export(MyCheck())

Only importable inside a component (it needs the generated ``wit_world``).

componentize-py runs the app module once at build time and snapshots the
interpreter. At run time wasmon gives the component no filesystem, so a
module that was not imported during that first run cannot be found later
("No module named ..."). :func:`export` therefore imports every generated
bindings module (what :mod:`wasmon_check.bindings` looks up), and a check must
import everything it uses at module level, never inside a function.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
import traceback
from typing import List, Optional

from componentize_py_types import Err

from . import bindings, deadline, host  # noqa: F401 - imported for the snapshot
from .check import Check
from .errors import BadParams, CheckError, Failed, ItemNotFound
from .info import CheckInfo
from .metric import Metric
from .output import CheckResult, Output
from .params import Params
from .ranges import Range
from .request import CheckRequest, DiscoverRequest, Item, Target

__all__ = ["export"]


def _types():
    return bindings.wasmon("types")


def _range(t, r: Optional[Range]):
    return None if r is None else t.Range(start=r.start, end=r.end, inside=r.inside)


def _metric(t, m: Metric):
    return t.Metric(
        label=m.label, value=float(m.value), uom=m.uom, warn=_range(t, m.warn), crit=_range(t, m.crit),
        min=None if m.min is None else float(m.min), max=None if m.max is None else float(m.max),
    )


def _result(t, result: CheckResult):
    return t.CheckResult(
        partials=[t.PartialResult(state=t.State(p.state.value), summary=p.summary, details=p.details)
                  for p in result.partials],
        metrics=[_metric(t, m) for m in result.metrics],
    )


def _info(t, info: CheckInfo):
    return t.CheckInfo(
        name=info.name, version=info.version, title=info.title,
        manpage=t.Manpage(description=info.manpage.description, item=info.manpage.item,
                          discovery=info.manpage.discovery),
        params=[t.ParamInfo(name=p.name, description=p.description, default_value=p.default_value,
                            default_source=p.default_source) for p in info.params],
    )


def _error(t, error: CheckError):
    if isinstance(error, ItemNotFound):
        return Err(t.CheckError_ItemNotFound())
    if isinstance(error, BadParams):
        return Err(t.CheckError_BadParams(error.message))
    return Err(t.CheckError_Failed(error.message))


def unexpected(error: BaseException) -> Failed:
    """A :class:`Failed` for an exception the check did not expect: its type,
    message and the innermost place it was raised at. (A MemoryError is not
    caught: it traps, and the host reports its memory limit.)"""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    text = str(error)
    return Failed(f"Unexpected {type(error).__name__}{': ' + text if text else ''}{where}")


def _target(target) -> Target:
    return Target(target.name, target.address)


def preload_bindings() -> List[str]:
    """Imports every module componentize-py generated for the world's
    imports, so that they are in the build-time snapshot; returns their names."""
    imports = importlib.import_module("wit_world.imports")
    names = sorted(m.name for m in pkgutil.iter_modules(imports.__path__))
    for name in names:
        importlib.import_module(f"wit_world.imports.{name}")
    return names


def export(check: Check):
    """The ``WitWorld`` class componentize-py instantiates for the exports,
    calling `check` for each. Call it at module level of the app module."""
    preload_bindings()
    # Everything alive now is in the build-time snapshot and lives for the
    # whole (short) run: keep the collector from scanning it, and so from
    # writing to all of its pages, in every run.
    gc.collect()
    gc.freeze()

    class WitWorld:
        def describe(self):
            return _info(_types(), check.describe())

        def discover(self, request):
            t = _types()
            req = DiscoverRequest(_target(request.target), Params((p.name, p.value) for p in request.params))
            try:
                items: List[Item] = check.discover(req)
            except CheckError as e:
                raise _error(t, e) from None
            except MemoryError:
                raise  # traps: the host reports its memory limit
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                raise _error(t, unexpected(e)) from None
            return [t.Item(name=i.name, params=[t.Param(name=n, value=v) for n, v in i.params]) for i in items]

        def check(self, request):
            t = _types()
            req = CheckRequest(
                _target(request.target), request.item,
                Params((p.name, p.value) for p in request.params), request.timeout_ms,
            )
            try:
                result = check.check(req)
                if isinstance(result, Output):
                    result = result.result()
                return _result(t, result)
            except CheckError as e:
                raise _error(t, e) from None
            except MemoryError:
                raise  # traps: the host reports "Check exceeded its memory limit"
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                raise _error(t, unexpected(e)) from None

    return WitWorld
