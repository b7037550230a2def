"""Look up a built-in by name, or a user's function given as `package.module:function`."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any


class PluginError(ValueError):
    """A name that is neither a built-in nor an importable `module:function`."""


def resolve(name: str, builtins: dict[str, Any], kind: str) -> Any:
    """Return `builtins[name]`, or import `package.module:function`.

    Raises:
        PluginError: with one line saying what is wrong.
    """
    if name in builtins:
        return builtins[name]
    if ":" not in name:
        raise PluginError(
            f"unknown {kind} {name!r}; choose one of {', '.join(builtins)} "
            "or give package.module:function"
        )
    module_name, _, attr = name.partition(":")
    try:
        module = _import(module_name)
    except Exception as exc:  # any import-time failure is the user's plugin, reported in one line
        raise PluginError(f"{kind} {name!r}: cannot import {module_name!r} ({exc})") from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise PluginError(f"{kind} {name!r}: module {module_name!r} has no function {attr!r}")
    return func


def _import(module_name: str):
    """Import `module_name`, from the current folder too.

    `python -m evonet` puts the current folder on `sys.path`, the `evonet` console
    script does not: `evonet run --fitness mymodule:f` next to mymodule.py must work
    either way. The folder is added, at the end of the path, only when the module is not
    found otherwise, so it shadows no installed or standard module, now or later;
    worker processes inherit the path (forked) or are sent it (spawned).
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        here = os.getcwd()
        top = module_name.partition(".")[0]
        if exc.name != top or here in sys.path or "" in sys.path:
            raise
        sys.path.append(here)  # last: it shadows nothing imported later either
        importlib.invalidate_caches()
        return importlib.import_module(module_name)
