"""Call an operator the way DEAP does and record what the call actually did.

The individual handed to the operator is a write-tracking `Individual`: each
item assignment logs whether it changed any value. That tells apart two bugs
that leave the genome bit-identical: an operator that changes genes and then
writes the old values back, and one whose every write stores the value already
there (a step of zero). The call also records whether the operator changed its
arguments in place, and whether it returned them (DEAP's convention) or new
arrays (the stale-fitness trap).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap.creator import MetaCreator

from .individuals import Individual


def _record_setitem(self, key, value):
    """Item assignment that logs whether it changed any value: that separates
    "writes the old values back" from "zero step"."""
    log = _WRITES[-1] if _WRITES else None
    if log is None:
        return Individual.__setitem__(self, key, value)
    plain = self.view(np.ndarray)
    before = np.array(plain[key], copy=True)
    Individual.__setitem__(self, key, value)
    log.append(not np.array_equal(before, plain[key], equal_nan=True))


# An Individual (DEAP's metaclass, so `fitness` and friends behave as usual) that
# records its writes; kept out of `deap.creator` since it never leaves this process.
_Tracked = MetaCreator("_Tracked", Individual, {"__setitem__": _record_setitem})
_WRITES: list[list[bool]] = []


@contextlib.contextmanager
def _recording():
    """Collect the writes of one call."""
    log: list[bool] = []
    _WRITES.append(log)
    try:
        yield log
    finally:
        _WRITES.pop()


def tracked(genome: np.ndarray):
    """A write-tracking Individual holding a float32 copy of `genome`."""
    ind = np.array(genome, dtype=np.float32, copy=True).view(_Tracked)
    ind.__init__()
    return ind


def _describe(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return f"{type(obj).__name__} of shape {obj.shape}"
    return type(obj).__name__


@dataclass
class Calls:
    """What repeated DEAP-style calls of one operator did (counts over the calls)."""

    calls: int = 0
    writes: int = 0
    changing_writes: int = 0
    returned_new: int = 0
    changed_in_place: int = 0
    bad_return: str = ""
    bad_array: str = ""
    error: str = ""


def call(op: Callable, args: list, calls: Calls) -> list[np.ndarray] | None:
    """Call `op(*args)` as DEAP would, adding what it did to `calls`.

    Returns:
        Plain copies of what DEAP would keep (the returned arrays), or None when the
        call raised, broke the return convention or changed a shape or dtype (the
        reason is then in `calls`).
    """
    originals = [np.array(a, copy=True) for a in args]
    with _recording() as log:
        try:
            returned = op(*args)
        except Exception as exc:  # the user's operator failing is a finding, not a crash
            calls.error = f"raises {type(exc).__name__}: {exc}"
            return None
    calls.calls += 1
    calls.writes += len(log)
    calls.changing_writes += sum(log)
    if any(not np.array_equal(a.view(np.ndarray), o, equal_nan=True)
           for a, o in zip(args, originals)):
        calls.changed_in_place += 1
    if not isinstance(returned, (tuple, list)) or len(returned) != len(args):
        what = ("its argument itself" if returned is args[0]
                else _describe(returned))
        calls.bad_return = (f"breaks DEAP's return convention: returns {what} instead of "
                            f"a {len(args)}-tuple of its arguments")
        return None
    calls.returned_new += any(new is not arg for arg, new in zip(args, returned))
    kept = []
    for arg, new in zip(args, returned):
        value = np.asarray(new)
        if value.shape != arg.shape or value.dtype != np.float32:
            calls.bad_array = (f"changes the genome's shape or dtype: {arg.shape} float32 in, "
                               f"{value.shape} {value.dtype} out")
            return None
        kept.append(value.view(np.ndarray).copy())
    return kept
