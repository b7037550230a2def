"""Benchmarks behind `evonet bench NAME`: each measures side by side in one process
run and prints medians of several repeats and their ratios. Never timed unit tests.

Each benchmark is a module in this package with `run(args) -> int` and an
`add_arguments(parser)`; `BENCHMARKS` maps the CLI name to the module name.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

BENCHMARKS = {"hello": "hello", "cma": "cma", "parallel": "parallel", "kernel": "kernel",
              "algorithms": "algorithms", "texts": "texts", "memory": "memory",
              "sweep": "sweep"}


@dataclass
class SeedRuns:
    """Outcomes of one config evolved from several seeds."""

    generations: list[int] = field(default_factory=list)
    evaluations: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    solved: int = 0


def run_seeds(config, seeds: Iterable[int]) -> SeedRuns:
    """Evolve `config` from each seed in this process; generations, evaluations and
    wall time of each run, and how many were solved."""
    from ..evolve import evolve  # benchmarks are imported by the CLI: keep that light

    runs = SeedRuns()
    for seed in seeds:
        start = time.perf_counter()
        result = evolve(config.replace(seed=seed))
        runs.seconds.append(time.perf_counter() - start)
        runs.generations.append(result.generation)
        runs.evaluations.append(result.evaluations)
        runs.solved += result.status == "solved"
    return runs


def median_time(func: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of `repeats` calls of `func`, and every time measured."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times
