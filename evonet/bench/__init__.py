"""Benchmarks behind `evonet bench NAME`: each measures side by side in one process
run and prints medians of several repeats and their ratios. Never timed unit tests.

Each benchmark is a module in this package with `run(args) -> int` and an
`add_arguments(parser)`; `BENCHMARKS` maps the CLI name to the module name.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

BENCHMARKS = {"hello": "hello", "cma": "cma", "parallel": "parallel", "kernel": "kernel",
              "algorithms": "algorithms", "texts": "texts", "memory": "memory",
              "sweep": "sweep"}


def median_time(func: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of `repeats` calls of `func`, and every time measured."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times
