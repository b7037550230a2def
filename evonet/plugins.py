"""Look up a built-in by name, or a user's function given as `package.module:function`."""

from __future__ import annotations

import importlib
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
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's plugin, reported in one line
        raise PluginError(f"{kind} {name!r}: cannot import {module_name!r} ({exc})") from None
    func = getattr(module, attr, None)
    if not callable(func):
        raise PluginError(f"{kind} {name!r}: module {module_name!r} has no function {attr!r}")
    return func
