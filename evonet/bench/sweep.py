"""`evonet bench sweep`: generations to solve a text under several settings, side by side.

Each `--setting` (comma-separated `key=value` pairs of the run config, TOML
values) evolves the text from every seed of `--seeds` with the serial
evaluator; the settings share the seeds, and the median (and mean) generations
to solve, evaluations and wall time are printed for each. An unsolved run counts
at its generation limit. This is how the GA's defaults were chosen:

    evonet bench sweep --seeds 200-259 --setting tournsize=3,cxpb=0.5 \\
        --setting tournsize=8,cxpb=1.0
"""

from __future__ import annotations

import statistics
from dataclasses import fields

from ..config import ConfigError, RunConfig, tomllib
from . import run_seeds

DEFAULT_SETTINGS = ("tournsize=3,cxpb=0.5", "tournsize=8,cxpb=1.0")


def add_arguments(parser) -> None:
    parser.add_argument("--text", default="Hello world!", help="target text")
    parser.add_argument("--seeds", default="200-259",
                        help="seeds FIRST-LAST (inclusive) [default: 200-259]")
    parser.add_argument("--setting", action="append", dest="settings", metavar="K=V,K=V",
                        help="config changes of one arm (repeat the option for each arm) "
                             f"[default: {' and '.join(DEFAULT_SETTINGS)}]")


def parse_seeds(value: str) -> range:
    """`A-B` (inclusive) or `N` as a range of seeds."""
    first, dash, last = value.partition("-")
    try:
        seeds = range(int(first), int(last if dash else first) + 1)
    except ValueError:
        raise ConfigError(f"--seeds: expected FIRST-LAST, e.g. 0-9 (got {value!r})") from None
    if not seeds or seeds.start < 0:
        raise ConfigError(f"--seeds: expected 0 <= FIRST <= LAST (got {value!r})")
    return seeds


def parse_setting(value: str) -> dict:
    """`key=value,key=value` as config overrides; values are TOML (bare words: strings)."""
    names = {f.name for f in fields(RunConfig)}
    changes = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in names:
            raise ConfigError(f"--setting: {item!r} is not KEY=VALUE with a config key "
                              f"(e.g. tournsize=8)")
        try:
            changes[key] = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            changes[key] = raw.strip()  # a bare word: a string such as an operator name
    return changes


def run(args) -> int:
    seeds = parse_seeds(args.seeds)
    arms = [(setting, parse_setting(setting)) for setting in args.settings or DEFAULT_SETTINGS]
    base = RunConfig(text=args.text, backend="serial")
    configs = [(label, base.replace(**changes)) for label, changes in arms]  # validated now
    print(f"bench sweep: {args.text!r}, seeds {seeds.start}-{seeds.stop - 1}, serial "
          "(unsolved runs count at their generation limit)")
    width = max(len("setting"), *(len(label) for label, _ in configs))
    print(f"{'setting':<{width}} {'solved':>7} {'median gens':>11} {'mean':>7} {'evals':>7} "
          f"{'wall s':>7}")
    for label, config in configs:
        runs = run_seeds(config, seeds)
        print(f"{label:<{width}} {runs.solved:>3}/{len(seeds):<3} "
              f"{statistics.median(runs.generations):>11g} "
              f"{statistics.mean(runs.generations):>7.1f} "
              f"{statistics.median(runs.evaluations):>7g} "
              f"{statistics.median(runs.seconds):>7.3f}", flush=True)
    return 0
