"""The modules componentize-py generates for the imports of the component's
world, found by interface name: ``bindings.wasi("wasi:http", "types")``,
``bindings.wasmon("log")``. They exist only inside a component, so
everything that uses them imports them on first use.

``checks/python/build.sh`` builds with ``--full-names``, which names modules
after package, interface and version (``wasmon_check_log_0_1_0``); without
it they are named after the interface alone (``log``) unless that clashes.
Both are tried.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Dict, List

_cache: Dict[str, ModuleType] = {}


def _candidates(package: str, interface: str, versions: List[str]) -> List[str]:
    full = f"{package.replace(':', '_').replace('-', '_')}_{interface.replace('-', '_')}"
    names = [f"{full}_{v.replace('.', '_')}" for v in versions]
    names += [interface.replace("-", "_"), full]
    return names


def interface(package: str, name: str, versions: List[str]) -> ModuleType:
    """The bindings module of interface `package`/`name` at one of
    `versions`, e.g. ``interface("wasmon:check", "log", ["0.1.0"])``.

    Raises ImportError naming the interface when the world does not import it.
    """
    key = f"{package}/{name}"
    if key in _cache:
        return _cache[key]
    names = [f"wit_world.imports.{c}" for c in _candidates(package, name, versions)]
    # Every run starts from the build-time snapshot with an empty cache;
    # component.export() imported all bindings then, so they are found here
    # without a failed import per candidate name (each costs file lookups).
    for module_name in names:
        module = sys.modules.get(module_name)
        if module is not None:
            _cache[key] = module
            return module
    for module_name in names:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        _cache[key] = module
        return module
    raise ImportError(
        f"the component's world does not import {key} (tried {', '.join(names)}); "
        "this works only inside a component built by componentize-py"
    )


#: WASI 0.2 patch versions to look for, newest first.
WASI_VERSIONS = [f"0.2.{patch}" for patch in range(20, -1, -1)]


def wasmon(name: str) -> ModuleType:
    """A wasmon:check@0.1.0 interface: types, log, value-store, system."""
    return interface("wasmon:check", name, ["0.1.0"])


def wasi(package: str, name: str) -> ModuleType:
    """A WASI 0.2 interface, e.g. ``wasi("wasi:io", "poll")``."""
    return interface(package, name, WASI_VERSIONS)
