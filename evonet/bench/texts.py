"""`evonet bench texts`: seconds and generations to regenerate the shipped texts exactly.

Three texts of plain prose ship with evonet (`evonet/texts/`): `short` (43
characters), `medium` (133) and `long` (342). Each is evolved from scratch with
the best settings found for each algorithm (`SETTINGS`, also in
`runs/text44.toml`, `runs/text130.toml`, `runs/text350.toml`), seed by seed,
with the process backend and `--workers auto` (every CPU when parallel
evaluation pays, serial when it does not, as a run does by default), until greedy
regeneration equals the text, the generation budget runs out or the run has
taken `--time-limit` seconds. The median wall time includes starting the
workers. Targets on 2 cores: short ga <= 2 s, es <= 0.5 s; medium <= 30 s; long
solved within 10 minutes.
"""

from __future__ import annotations

import statistics
import time
from importlib import resources

from ..config import RunConfig
from ..evolve import evolve

TEXTS = ("short", "medium", "long")
ALGORITHMS = ("ga", "es")

# The best settings found for each text and algorithm (see README, "Performance").
SETTINGS: dict[tuple[str, str], dict] = {
    ("short", "ga"): {"population": 128, "hidden": 16, "sigma": 0.05, "tournsize": 5,
                      "generations": 2000},
    ("short", "es"): {"population": 128, "hidden": 32, "generations": 1000},
    ("medium", "ga"): {"population": 256, "hidden": 32, "sigma": 0.05, "tournsize": 5,
                       "generations": 2000},
    ("medium", "es"): {"population": 256, "hidden": 32, "generations": 3000},
    ("long", "ga"): {"population": 256, "hidden": 64, "sigma": 0.05, "tournsize": 5,
                     "generations": 2000},
    ("long", "es"): {"population": 512, "hidden": 64, "learning_rate": 0.015,
                     "generations": 20000},
}


def load_text(name: str) -> str:
    """The shipped text `name` (short, medium or long)."""
    return resources.files("evonet").joinpath("texts", f"{name}.txt").read_text("utf-8")


def config_for(name: str, algorithm: str, seed: int = 0, **overrides) -> RunConfig:
    """The best known config for text `name` and `algorithm`."""
    return RunConfig(text=load_text(name), algorithm=algorithm, seed=seed,
                     **{**SETTINGS[name, algorithm], **overrides})


def add_arguments(parser) -> None:
    from ..cli import positive_seconds

    parser.add_argument("--texts", default=",".join(TEXTS),
                        help=f"comma-separated texts among {', '.join(TEXTS)} [default: all]")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS),
                        help="comma-separated algorithms [default: ga,es]")
    parser.add_argument("--workers", default="auto",
                        help="worker processes, a number or auto (every CPU when parallel "
                             "evaluation pays, else serial: the run default) [default: auto]")
    parser.add_argument("--backend", default="process", help="[default: process]")
    parser.add_argument("--time-limit", type=positive_seconds, default=600.0,
                        help="stop a run after this many seconds [default: 600]")


def _choices(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    from ..cli import UsageError

    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in allowed]
    if unknown or not chosen:
        raise UsageError(f"--{what}: choose among {', '.join(allowed)} (got {value!r})")
    return chosen


class _OutOfTime(Exception):
    """Raised from the progress callback: the run's wall time is over its limit."""


def _timed_run(config: RunConfig, limit: float) -> tuple[float, int, bool, float]:
    """(seconds, generations, solved, best accuracy) of one run, stopped after `limit` s."""
    last: dict = {}

    def watch(record: dict) -> None:
        last.update(record)
        if not record["solved"] and time.perf_counter() - start > limit:
            raise _OutOfTime

    start = time.perf_counter()
    try:
        result = evolve(config, on_record=watch)
    except _OutOfTime:
        return time.perf_counter() - start, last["gen"], False, last["accuracy_best"]
    return (time.perf_counter() - start, result.generation, result.status == "solved",
            result.best_accuracy)


def run(args) -> int:
    texts = _choices(args.texts, TEXTS, "texts")
    algorithms = _choices(args.algorithms, ALGORITHMS, "algorithms")
    print(f"bench texts: {args.repeats} seeds each, backend {args.backend}, workers "
          f"{args.workers}; wall time includes starting the workers")
    for name in texts:
        for algorithm in algorithms:
            base = config_for(name, algorithm, backend=args.backend, workers=args.workers)
            print(f"  {name} ({len(base.text)} chars), {algorithm}: "
                  + ", ".join(f"{k} {v}" for k, v in SETTINGS[name, algorithm].items()),
                  flush=True)
            results = []
            for seed in range(args.repeats):
                seconds, generations, solved, best = _timed_run(base.replace(seed=seed),
                                                                args.time_limit)
                results.append((seconds, generations, solved))
                print(f"    seed {seed}: {seconds:8.2f} s {generations:6d} gen "
                      + ("solved" if solved else f"NOT solved (accuracy {best:.3f})"),
                      flush=True)
            solved = sum(r[2] for r in results)
            note = "" if solved == len(results) else " (unsolved seeds count at their limit)"
            print(f"    median {statistics.median(r[0] for r in results):.2f} s, "
                  f"{statistics.median(r[1] for r in results):.0f} generations, solved "
                  f"{solved}/{len(results)}{note}", flush=True)
    return 0
