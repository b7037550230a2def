"""Assertions for your own test suite: is my operator doing anything?

    from evonet.testing import assert_mutation_effective, assert_crossover_preserves_parents

    def test_my_mutation():
        assert_mutation_effective("mypackage.ops:my_mutation", sigma=0.05)

    def test_my_crossover():
        assert_crossover_preserves_parents(my_crossover)

Each call runs the operator the way DEAP does on copies of random network
genomes (the checks of `evonet.diagnostics`) and raises `AssertionError` with
a message that says what is wrong and how it was seen: a mutation that writes
the old values back, takes a zero step or returns a new array (the
stale-fitness trap); a crossover that loses a parent's genes because it swapped
slices without copying them. Pass `evaluate` to also require that some mutants
improve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from .config import RunConfig
from .diagnostics import DESTRUCTIVE, Evaluate, OperatorReport, check_crossover, check_mutation
from .network import NetworkSpec, init_genomes
from .operators import crossover, mutation

# A small Elman network (8 characters, 8 hidden units): 208 genes.
DEFAULT_SPEC = NetworkSpec(vocab_size=8, hidden=8)

Operator = Callable[..., Any] | str


def _defaults() -> dict[str, Any]:
    """The operator keywords' defaults of a run config (sigma, indpb, cx_indpb, alpha)."""
    fields = {f.name: f.default for f in dataclasses.fields(RunConfig)}
    return {name: fields[name] for name in ("sigma", "indpb", "cx_indpb", "alpha")}


def _prepare(op: Operator, resolver, spec: NetworkSpec | None, genomes, count: int, seed: int,
             keywords: dict[str, Any]) -> tuple[Callable, str, np.ndarray, dict[str, Any]]:
    func = resolver(op) if isinstance(op, str) else op
    name = op if isinstance(op, str) else getattr(op, "__qualname__", repr(op))
    spec = spec or DEFAULT_SPEC
    rng = np.random.default_rng(seed)
    if genomes is None:
        # Fan-in scaled weights, plus a little noise so that no gene (the zero biases)
        # is the same in every genome: parents then differ at every position.
        genomes = init_genomes(spec, count, rng)
        genomes += rng.normal(0.0, 0.01, genomes.shape).astype(np.float32)
    available = {"rng": rng, "unit_of_gene": spec.unit_of_gene(), **_defaults(), **keywords}
    return func, name, np.asarray(genomes, dtype=np.float32), available


def _message(report: OperatorReport, wanted: str) -> str:
    lines = [f"{report.kind} {report.name} {wanted}; it is {report.verdict}:"]
    lines += [f"  - {reason}" for reason in report.reasons]
    lines += [f"  evidence: {note}" for note in report.notes]
    return "\n".join(lines)


def assert_mutation_effective(op: Operator, *, spec: NetworkSpec | None = None,
                              genomes: np.ndarray | None = None, trials: int = 64,
                              seed: int = 0, evaluate: Evaluate | None = None,
                              **keywords: Any) -> OperatorReport:
    """Assert that a mutation changes the individual it is given, in place, by a
    finite non-zero step, and returns it DEAP style as `(ind,)`.

    Args:
        op: the mutation: a function, a built-in name or `package.module:function`.
        spec: the network whose genomes are mutated (default `DEFAULT_SPEC`).
        genomes: `(n, D)` genomes to mutate instead of `trials` random ones.
        trials: how many random genomes to mutate.
        seed: seeds the genomes and the operator's `rng`.
        evaluate: optional `(n, D) -> (n,)` fitness (maximised): then a mutation of
            which no mutant improves and nearly all get worse fails too.
        **keywords: operator keywords (sigma, indpb, ...) overriding the config defaults.

    Returns:
        The report (verdict, evidence), for further assertions.

    Raises:
        AssertionError: saying what is wrong, with the evidence.
    """
    func, name, genomes, available = _prepare(op, mutation, spec, genomes, trials, seed,
                                              keywords)
    report = check_mutation(func, genomes, keywords=available, name=name, evaluate=evaluate)
    if not report.effective:
        raise AssertionError(_message(report, "is not an effective mutation"))
    return report


def assert_crossover_preserves_parents(op: Operator, *, spec: NetworkSpec | None = None,
                                       genomes: np.ndarray | None = None, trials: int = 64,
                                       seed: int = 0, **keywords: Any) -> OperatorReport:
    """Assert that a crossover keeps both parents' genes and DEAP's contract: it
    changes its two arguments in place and returns them; where the children copy
    genes, they hold one of each parent's (none lost to a slice swapped without
    `.copy()`); the children are not identical, share no memory and stay finite.

    A crossover that does nothing (like `none`) passes: it loses no gene. Use
    `assert_crossover_effective` to require that it also recombines.

    Args:
        op: the crossover: a function, a built-in name or `package.module:function`.
        spec, genomes, seed, **keywords: as for `assert_mutation_effective`.
        trials: how many pairs to cross.

    Returns:
        The report.

    Raises:
        AssertionError: saying what is wrong, with the evidence.
    """
    report = _crossover_report(op, spec, genomes, trials, seed, keywords)
    if report.verdict == DESTRUCTIVE or "stale-fitness" in report.findings:
        raise AssertionError(_message(report, "does not preserve its parents"))
    return report


def assert_crossover_effective(op: Operator, *, spec: NetworkSpec | None = None,
                               genomes: np.ndarray | None = None, trials: int = 64,
                               seed: int = 0, **keywords: Any) -> OperatorReport:
    """`assert_crossover_preserves_parents`, and the children must differ from their parents."""
    report = _crossover_report(op, spec, genomes, trials, seed, keywords)
    if not report.effective:
        raise AssertionError(_message(report, "is not an effective crossover"))
    return report


def _crossover_report(op, spec, genomes, trials, seed, keywords) -> OperatorReport:
    func, name, genomes, available = _prepare(op, crossover, spec, genomes, 2 * trials, seed,
                                              keywords)
    return check_crossover(func, genomes, keywords=available, name=name)
