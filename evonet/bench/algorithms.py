"""`evonet bench algorithms`: every algorithm and cell on the same target, side by side.

Each combination evolves (or, for `gradient`, trains) from its example config's
settings on the same text with seeds 0..repeats-1, in this process and with the
serial evaluator, and the medians of generations to solve, evaluations and wall
time are printed, with the wall time relative to the GA on the Elman cell.
"""

from __future__ import annotations

import statistics

from ..algorithms import ALGORITHMS
from ..config import RunConfig
from . import run_seeds

# The settings of runs/cma.toml: CMA's initial step size wants to be larger than ES's noise.
SETTINGS = {"cma": {"es_sigma": 0.2}}


def add_arguments(parser) -> None:
    parser.add_argument("--text", default="Hello world!", help="target text")
    parser.add_argument("--algorithms", default="ga,es,cma,gradient",
                        help=f"comma-separated, among {', '.join(ALGORITHMS)}")
    parser.add_argument("--cells", default="elman,lstm,gru", help="comma-separated cells")
    parser.add_argument("--budget", type=int, default=500, help="generations at most")


def run(args) -> int:
    text = getattr(args, "text", "Hello world!")
    algorithms = getattr(args, "algorithms", "ga,es,cma,gradient").split(",")
    cells = getattr(args, "cells", "elman,lstm,gru").split(",")
    budget = getattr(args, "budget", 500)
    print(f"bench algorithms: {text!r}, seeds 0..{args.repeats - 1}, serial, medians "
          "(a shared machine: wall times are noisy)")
    print(f"{'algorithm':>9} {'cell':>5} {'solved':>7} {'gens':>6} {'evals':>7} {'wall s':>8} "
          f"{'time/ga':>8}")
    baseline = None
    for cell in cells:
        for name in algorithms:
            config = RunConfig(text=text, algorithm=name, cell=cell, backend="serial",
                               generations=budget, **SETTINGS.get(name, {}))
            runs = run_seeds(config, range(args.repeats))
            wall = statistics.median(runs.seconds)
            baseline = wall if baseline is None else baseline
            print(f"{name:>9} {cell:>5} {runs.solved:>3}/{args.repeats:<3} "
                  f"{statistics.median(runs.generations):>6.0f} "
                  f"{statistics.median(runs.evaluations):>7.0f} "
                  f"{wall:>8.2f} {wall / baseline:>8.2f}", flush=True)
    return 0
