"""Does mutation (crossover) matter? An ablation: the same config with the operator
on and off, over several seeds, under the same evaluation budget.

Three arms share seeds: the config as given (`both`), `mutation none` and
`crossover none`. Each run stops when solved or when it has used the budget of
evaluations the full config would use in `generations` generations. A run's
outcome ranks solved runs above unsolved ones, solved runs by generations to
solve (fewer is better) and unsolved ones by their final best fitness; the two
arms of each comparison are compared with a two-sided Mann-Whitney U test
(exact permutation distribution for small samples, ties included; normal
approximation with tie correction beyond), written out here so that no SciPy
is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .evaluation import make_evaluator
from .evolve import build_problem, evolve
from .plots import check_image_path
from .runfolder import atomic_write
from .stats import mann_whitney_u, min_p

ALPHA = 0.05
ARMS = {"both": {}, "no mutation": {"mutation": "none"}, "no crossover": {"crossover": "none"}}


# --------------------------------------------------------------------------- runs
class _BudgetSpent(Exception):
    pass


@dataclass
class Outcome:
    """One run of one arm."""

    seed: int
    solved_at: int | None
    final_fitness: float
    generations: int
    evaluations: int
    curve: list[float] = field(repr=False)  # best fitness per generation

    def rank_key(self) -> tuple[int, float]:
        """Bigger is better: solved beats unsolved, then fewer generations / higher fitness."""
        if self.solved_at is not None:
            return (1, -float(self.solved_at))
        return (0, self.final_fitness)


def evaluation_budget(config: RunConfig) -> int:
    """Evaluations the full config uses in `config.generations` generations (elites
    are never evaluated again)."""
    return config.population + config.generations * (config.population - config.elite)


def run_arm(config: RunConfig, seed: int, budget: int, evaluator) -> Outcome:
    """One run, stopped when solved or when `budget` evaluations are spent."""
    records: list[dict] = []
    spent = 0

    def on_record(record: dict) -> None:
        nonlocal spent
        records.append(record)
        spent += record["nevals"]
        if spent >= budget:
            raise _BudgetSpent

    # An arm that evaluates fewer children per generation (unchanged children keep
    # their fitness) gets more generations for the same budget.
    generous = config.replace(seed=seed, generations=10 * config.generations + 10)
    try:
        evolve(generous, evaluator=evaluator, on_record=on_record)
    except _BudgetSpent:
        pass
    curve = list(np.maximum.accumulate([r["fitness_max"] for r in records]))
    solved = next((r["gen"] for r in records if r["solved"]), None)
    return Outcome(seed=seed, solved_at=solved, final_fitness=float(curve[-1]),
                   generations=records[-1]["gen"], evaluations=spent, curve=curve)


@dataclass
class Comparison:
    """Operator on (the `both` arm) against off."""

    operator: str
    u: float
    p: float
    better: str  # on | off | neither

    @property
    def verdict(self) -> str:
        if self.better == "on":
            return f"{self.operator} matters: yes (p={self.p:.3g})"
        if self.better == "off":
            return f"{self.operator} matters: yes, it hurts: better without it (p={self.p:.3g})"
        return f"{self.operator} matters: no (p={self.p:.3g})"


@dataclass
class AblationReport:
    config: RunConfig
    seeds: list[int]
    budget: int
    arms: dict[str, list[Outcome]]
    comparisons: list[Comparison]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.config.text, "seeds": self.seeds, "evaluation_budget": self.budget,
            "arms": {name: {"summary": summarise(runs), "runs": [
                {"seed": o.seed, "solved_at": o.solved_at, "final_fitness": o.final_fitness,
                 "generations": o.generations, "evaluations": o.evaluations}
                for o in runs]} for name, runs in self.arms.items()},
            "comparisons": [{"operator": c.operator, "u": c.u, "p": c.p, "better": c.better,
                             "verdict": c.verdict} for c in self.comparisons],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def describe(self) -> str:
        lines = [f"ablation: {len(self.seeds)} seeds per arm, budget {self.budget} "
                 f"evaluations per run", "",
                 f"{'arm':<14}{'solved':>8}  {'generations to solve':<24}final fitness"]
        for name, runs in self.arms.items():
            s = summarise(runs)
            gens = ("-" if s["generations_median"] is None else
                    f"{s['generations_median']:g} [IQR {s['generations_iqr'][0]:g}-"
                    f"{s['generations_iqr'][1]:g}]")
            fit = (f"{s['fitness_median']:.4g} [IQR {s['fitness_iqr'][0]:.4g} to "
                   f"{s['fitness_iqr'][1]:.4g}]")
            lines.append(f"{name:<14}{s['solved']:>5}/{len(runs):<2}  {gens:<24}{fit}")
        lines.append("")
        lines += [c.verdict for c in self.comparisons]
        floor = min_p(len(self.seeds), len(self.seeds))
        if floor > ALPHA:
            lines.append(f"(with {len(self.seeds)} seeds per arm p cannot go below {floor:.2g}: "
                         "use --seeds 4 or more for a verdict at p < 0.05)")
        return "\n".join(lines)


def summarise(runs: list[Outcome]) -> dict[str, Any]:
    """Solved count; generations to solve (solved runs) and final fitness (all runs) as
    median and interquartile range."""
    gens = [o.solved_at for o in runs if o.solved_at is not None]
    fits = [o.final_fitness for o in runs]

    def iqr(values):
        return [float(np.percentile(values, 25)), float(np.percentile(values, 75))]

    return {"solved": len(gens),
            "generations_median": float(np.median(gens)) if gens else None,
            "generations_iqr": iqr(gens) if gens else None,
            "fitness_median": float(np.median(fits)), "fitness_iqr": iqr(fits)}


def compare(operator: str, on: list[Outcome], off: list[Outcome]) -> Comparison:
    """Mann-Whitney U on the runs' rank keys (their order is all the test uses)."""
    keys = sorted({o.rank_key() for o in on + off})
    position = {key: i for i, key in enumerate(keys)}
    x = [position[o.rank_key()] for o in on]
    y = [position[o.rank_key()] for o in off]
    u, p = mann_whitney_u(x, y)
    better = "neither"
    if p < ALPHA:
        better = "on" if u > len(x) * len(y) / 2 else "off"
    return Comparison(operator, u, p, better)


def run_ablation(config: RunConfig, seeds: int, *, evaluator=None,
                 on_run: Callable[[str, Outcome], None] | None = None) -> AblationReport:
    """Run every arm on seeds `config.seed .. config.seed + seeds - 1`.

    An operator already switched off in `config` has no "off" arm to compare.

    Args:
        config: the full configuration (the `both` arm).
        seeds: runs per arm.
        evaluator: shared by every run (the arms differ only in their operators).
        on_run: called after each run with the arm's name and its outcome (progress).
    """
    arms = {name: changes for name, changes in ARMS.items()
            if all(getattr(config, key) != value for key, value in changes.items())}
    seed_list = [config.seed + i for i in range(seeds)]
    budget = evaluation_budget(config)
    owns = evaluator is None
    evaluator = make_evaluator(config, build_problem(config)[2]) if owns else evaluator
    results: dict[str, list[Outcome]] = {}
    try:
        for name, changes in arms.items():
            results[name] = []
            for seed in seed_list:
                outcome = run_arm(config.replace(**changes), seed, budget, evaluator)
                results[name].append(outcome)
                if on_run is not None:
                    on_run(name, outcome)
    finally:
        if owns:
            evaluator.close()
    comparisons = [compare(operator, results["both"], results[f"no {operator}"])
                   for operator in ("mutation", "crossover") if f"no {operator}" in results]
    return AblationReport(config, seed_list, budget, results, comparisons)


# --------------------------------------------------------------------------- plot
INSTALL_HINT = "--plot needs matplotlib: pip install 'evonet[plot]'"


def validate_plot_path(path: Path | str) -> None:
    """Fail before any run when the plot could not be written.

    Raises:
        ImportError: matplotlib is missing (the message is an install hint).
        ValueError: an unknown image suffix, or no folder to write it in.
    """
    check_image_path(path)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(INSTALL_HINT) from None


def plot_ablation(report: AblationReport, path: Path | str) -> None:
    """Best-fitness curves of every arm (median over seeds, interquartile band), one
    panel per comparison, saved to `path` (format from its suffix)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [c.operator for c in report.comparisons] or ["mutation"]
    fig = Figure(figsize=(6 * len(panels), 4), layout="constrained")
    FigureCanvasAgg(fig)
    for ax, operator in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
        for name, label in (("both", f"{operator} on"), (f"no {operator}", f"{operator} off")):
            runs = report.arms.get(name)
            if not runs:
                continue
            length = max(len(o.curve) for o in runs)
            # A run that stopped early (solved) keeps its final value to the end.
            curves = np.array([o.curve + [o.curve[-1]] * (length - len(o.curve)) for o in runs])
            gens = np.arange(length)
            line, = ax.plot(gens, np.median(curves, axis=0), label=label)
            ax.fill_between(gens, np.percentile(curves, 25, axis=0),
                            np.percentile(curves, 75, axis=0), alpha=0.25,
                            color=line.get_color())
        comparison = next((c for c in report.comparisons if c.operator == operator), None)
        ax.set_title(comparison.verdict if comparison else operator)
        ax.set_xlabel("generation")
        ax.set_ylabel(f"best fitness ({report.config.fitness}), median and IQR")
        ax.legend()
    fig.suptitle(f"ablation on {report.config.text[:40]!r}, {len(report.seeds)} seeds per arm")
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    atomic_write(path, lambda handle: fig.savefig(handle, format=fmt))
