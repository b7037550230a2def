"""What `evonet check` does for a run configuration: take the individuals of a
short real run, check the configured crossover and mutation on them
(`diagnostics`), and check them once more through the GA's real `ask()`.

An operator named `none` is switched off on purpose and is not checked.
"""

from __future__ import annotations

import contextlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .algorithms.ga import GeneticAlgorithm
from .config import RunConfig
from .diagnostics import DESTRUCTIVE, OperatorReport, check_crossover, check_mutation
from .evaluation import make_evaluator
from .evolve import build_problem, evolve
from .individuals import fitness_array, genome_matrix, make_individual
from .operators import crossover, mutation, operator_keywords


@dataclass
class CheckReport:
    """Every checked operator's report, and how the individuals were obtained."""

    config: RunConfig
    genes: int
    warmup: dict[str, Any]
    operators: list[OperatorReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def all_effective(self) -> bool:
        return all(report.effective for report in self.operators)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.config.text, "algorithm": self.config.algorithm,
                "genes": self.genes, "warmup": self.warmup,
                "operators": [r.to_dict() for r in self.operators], "skipped": self.skipped,
                "all_effective": self.all_effective}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def describe(self) -> str:
        cfg, warm = self.config, self.warmup
        lines = [f"evonet check: target {cfg.text!r}, population {cfg.population}, hidden "
                 f"{cfg.hidden} ({self.genes} genes), sigma {cfg.sigma}, indpb {cfg.indpb}",
                 f"individuals from a {warm['generations']}-generation GA run with the built-in "
                 f"operators (best fitness "
                 f"{warm['best_fitness']:.4g}); {warm['samples']} samples per operator", ""]
        if cfg.algorithm != "ga":
            lines[-1:] = [f"(--algorithm {cfg.algorithm} does not use these operators: they are "
                          "checked as the GA would use them)", ""]
        lines += [report.describe() for report in self.operators]
        lines += [f"{name}: none, switched off, not checked" for name in self.skipped]
        bad = [f"{r.kind} {r.name} ({r.verdict})" for r in self.operators if not r.effective]
        lines += ["", "not effective: " + ", ".join(bad) if bad
                  else "every checked operator is effective"]
        return "\n".join(lines)


def check_config(config: RunConfig, *, warmup: int = 20, samples: int = 128,
                 evaluator=None) -> CheckReport:
    """Check the configured crossover and mutation on individuals of a short run.

    Args:
        config: the run settings (operators, sigma, network, text, ...).
        warmup: generations of the short run that supplies the individuals.
        samples: mutants made, and pairs crossed, per operator.
        evaluator: a `(P, D) -> (P, 2)` evaluator (default: the config's backend).

    Raises:
        PluginError: an operator that cannot be imported.
    """
    cx_func, mut_func = crossover(config.crossover), mutation(config.mutation)
    _, spec, problem = build_problem(config)
    owns = evaluator is None
    evaluator = make_evaluator(config, problem) if owns else evaluator
    try:
        # The warm-up is a GA with the built-in operators: an operator under test
        # that is broken must not spoil (or crash) the run that supplies the
        # individuals, and only the GA has a population for the operators to work on.
        run = evolve(config.replace(generations=max(1, warmup), algorithm="ga",
                                    crossover="uniform", mutation="gaussian"),
                     evaluator=evaluator)
        population = run.population
        rng = np.random.default_rng([config.seed, 4])
        report = CheckReport(config, spec.size, {
            "generations": run.generation, "best_fitness": run.best_fitness,
            "samples": samples, "solved": run.solved_at is not None})
        genomes, fitness = genome_matrix(population), fitness_array(population)
        rows = rng.integers(len(population), size=samples)
        for kind, name, func, check in (("crossover", config.crossover, cx_func, check_crossover),
                                        ("mutation", config.mutation, mut_func, check_mutation)):
            if name == "none":
                report.skipped.append(kind)
                continue
            picked = rows if kind == "mutation" else _distinct_pairs(genomes, rng, samples)
            op_report = check(func, genomes[picked], name=name, evaluate=evaluator,
                              fitness=fitness[picked],
                              keywords=operator_keywords(config, spec, rng))
            if "raises" not in op_report.findings:
                _loop_findings(op_report, _loop_config(config, kind), spec, population)
            report.operators.append(op_report)
    finally:
        if owns:
            evaluator.close()
    return report


def _distinct_pairs(genomes: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Row indices `[a0, b0, a1, b1, ...]` of `count` pairs, different genomes where the
    population has them (an evolved population holds many copies of its elites)."""
    rows = np.empty(2 * count, dtype=np.int64)
    for k in range(count):
        a, b = rng.choice(len(genomes), size=2, replace=False)
        for _ in range(8):
            if not np.array_equal(genomes[a], genomes[b]):
                break
            b = rng.integers(len(genomes))
        rows[2 * k], rows[2 * k + 1] = a, b
    return rows


def _loop_config(config: RunConfig, kind: str) -> RunConfig:
    """The config whose GA applies only the operator under test, to every child."""
    if kind == "mutation":
        return config.replace(crossover="none", mutpb=1.0)
    return config.replace(mutation="none", cxpb=1.0)


def _loop_findings(report: OperatorReport, config: RunConfig, spec, population: list) -> None:
    algorithm = GeneticAlgorithm(config, spec, np.random.default_rng([config.seed, 5]))
    try:
        with _seeded_python_random(config.seed):
            loop = check_loop(algorithm, _clone_population(population))
    except Exception as exc:  # the operator under test failing is a finding
        report.flag(DESTRUCTIVE, "raises",
                    f"raises in the GA loop: {type(exc).__name__}: {exc}")
        return
    report.evidence["loop"] = loop
    if loop["stale"]:
        report.flag(DESTRUCTIVE, "loop-stale-fitness",
                    f"in the GA loop {loop['stale']} changed children keep a "
                    "stale fitness and are never evaluated")
    if loop["parents_changed"]:
        report.flag(DESTRUCTIVE, "loop-parents-changed",
                    f"in the GA loop {loop['parents_changed']} parents in the "
                    "population were changed by variation")
    repaired = (" (evonet's GA copies returned arrays back; plain DEAP does not)"
                if "stale-fitness" in report.findings else "")
    report.notes.append(f"in the GA loop: {loop['reevaluated']} of {loop['changed']} changed "
                        f"children left for evaluation, {loop['parents_changed']} parents "
                        f"changed{repaired}")


def check_loop(algorithm, population: list) -> dict[str, Any]:
    """Run one real `algorithm.ask()` on an evaluated population and check that
    every changed child is left for evaluation and the parents stay untouched.

    A child may keep a valid fitness only if its genome is bit-identical to a
    parent holding that same fitness; any other valid fitness is stale.

    Returns:
        counts: `children`, `changed`, `reevaluated` (changed and left unevaluated),
        `stale` (a valid fitness that belongs to no parent with that genome) and
        `parents_changed`.
    """
    algorithm.population = population
    before = genome_matrix(population)
    known = {_key(ind): ind.fitness.values for ind in population}
    children = algorithm.ask()
    changed = [c for c in children if _key(c) not in known]
    stale = sum(1 for c in children
                if c.fitness.valid and known.get(_key(c)) != c.fitness.values)
    reevaluated = sum(1 for c in changed if not c.fitness.valid)
    parents_changed = int((genome_matrix(population) != before).any(axis=1).sum())
    return {"children": len(children), "changed": len(changed), "reevaluated": reevaluated,
            "stale": stale, "parents_changed": parents_changed}


def _key(genome) -> bytes:
    """The genome's values as bytes; adding 0.0 turns -0.0 into 0.0, an equal value."""
    return (np.asarray(genome).view(np.ndarray) + np.float32(0.0)).tobytes()


def _clone_population(population: list) -> list:
    copies = []
    for ind in population:
        copy = make_individual(ind, ind.sigma)
        copy.fitness.values, copy.accuracy = ind.fitness.values, ind.accuracy
        copies.append(copy)
    return copies


@contextlib.contextmanager
def _seeded_python_random(seed: int):
    """DEAP's selection draws from the global `random`: seed it, then restore it."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)
