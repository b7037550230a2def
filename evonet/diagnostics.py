"""Is an operator doing anything? Contract checks for crossover and mutation operators.

The classic failure of evolutionary code is silent: a mutation that writes the
old value back, or returns a new array that DEAP never evaluates (the
stale-fitness trap), and evolution runs on crossover alone without anyone
noticing. Each check here calls the operator the way DEAP does, on copies of
real genomes, and looks at what it actually did:

- did it change the individual it was given, how many genes and how far;
- shape, dtype and finite values kept; DEAP's return convention (the very
  arguments, as a tuple) followed;
- crossover: are both parents' genes still present in the two children (a
  slice swapped without `.copy()` loses one parent's genes);
- with an evaluator: how many mutants improve, stay equal or get worse.

(`evonet.check` adds the check through the GA's real `ask()`: is every changed
child left unevaluated, so that the loop evaluates it again. `evonet.probe`
makes the instrumented calls.)

The verdict is `effective`, `no-op` or `destructive`, with the evidence that
decided it. `evonet check` prints these; `evonet.testing` turns them into
assertions for users' own test suites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .operators import bind
from .probe import Calls, call, tracked

EFFECTIVE, NO_OP, DESTRUCTIVE = "effective", "no-op", "destructive"

FINDINGS = {
    "unchanged": "no gene of its arguments ever changes",
    "zero-step": "it writes genes, but every value written equals the old one",
    "writes-old-value-back": "genes change during the call, then the old values are restored",
    "stale-fitness": "returns new arrays instead of its arguments (DEAP's stale-fitness trap)",
    "return-convention": "does not return its arguments as a tuple",
    "shape-dtype": "changes a genome's shape or dtype",
    "non-finite": "writes NaN or inf",
    "raises": "raises an exception",
    "always-worse": "no mutant improves and nearly all get worse",
    "parent-genes-lost": "crossover: both children carry one parent's gene, the other's is lost",
    "identical-children": "crossover: the two children are identical",
    "no-distinct-parents": "crossover: no pair of different parents to test on",
    "loop-stale-fitness": "in the GA's ask(), a changed child keeps a valid fitness",
    "loop-parents-changed": "in the GA's ask(), variation changed the population",
}

# A mutation is called destructive on fitness evidence when none of its mutants
# improved and at least this fraction got worse: its steps are too big to help.
WORSE_LIMIT = 0.9

Evaluate = Callable[[np.ndarray], np.ndarray]


@dataclass
class OperatorReport:
    """The verdict on one operator and the evidence behind it.

    Attributes:
        kind: `mutation` or `crossover`.
        name: the configured name (`gaussian`, `package.module:function`, ...).
        verdict: `effective`, `no-op` or `destructive`.
        reasons: why it is not effective (empty when it is), one sentence each.
        findings: a short code per reason (`FINDINGS`), for scripts and tests.
        evidence: the measurements, as JSON-ready numbers.
        notes: human-readable evidence lines.
    """

    kind: str
    name: str
    verdict: str = EFFECTIVE
    reasons: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def effective(self) -> bool:
        return self.verdict == EFFECTIVE

    def flag(self, verdict: str, code: str, reason: str) -> None:
        """Record a finding (`code` names it for scripts and tests; `reason` says it
        for people); a destructive finding outranks a no-op one."""
        if self.verdict != DESTRUCTIVE:
            self.verdict = verdict
        self.findings.append(code)
        self.reasons.append(reason)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "verdict": self.verdict,
                "findings": self.findings, "reasons": self.reasons, "evidence": self.evidence}

    def describe(self) -> str:
        lines = [f"{self.kind} {self.name}: {self.verdict}"]
        lines += [f"  ! {reason}" for reason in self.reasons]
        lines += [f"    {note}" for note in self.notes]
        return "\n".join(lines)


def _unchanged_reason(calls: int, writes: int, changing_writes: int, kind: str) -> str:
    """Why nothing changed, told apart by what the operator wrote."""
    what = "individual is" if kind == "mutation" else "children are"
    if changing_writes:
        return (f"writes the old values back: genes change during the call, but after each "
                f"of {calls} calls the {what} bit-identical to before")
    if writes:
        return (f"zero step: it assigns genes {writes} times in {calls} calls, but every "
                "value written equals the value already there (a step of 0 or below float32 "
                "resolution, or the old value written back)")
    return f"never changes its arguments: no gene differs after any of {calls} calls"


def _stale_reason(count: int, calls: int, changed_in_place: bool) -> str:
    also = ("and also changes the individual it was given" if changed_in_place
            else "and leaves the individual it was given unchanged")
    return (f"stale-fitness trap: returns a new array instead of its argument in {count} of "
            f"{calls} calls, {also}; DEAP keeps the returned array, whose fitness still "
            "looks valid, so the change is never evaluated (change genes in place, "
            "`ind[:] = ...`, and return the argument)")


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"min": 0.0, "median": 0.0, "max": 0.0}
    return {"min": float(values.min()), "median": float(np.median(values)),
            "max": float(values.max())}


def _score(evaluate: Evaluate, genomes: np.ndarray) -> np.ndarray:
    scores = np.asarray(evaluate(np.ascontiguousarray(genomes, dtype=np.float32)))
    return scores[:, 0] if scores.ndim == 2 else scores


def _contract_findings(report: OperatorReport, calls: Calls, kind: str) -> bool:
    """Flag the broken contracts; True when the operator could be measured further."""
    report.evidence["calls"] = calls.calls
    if calls.error:
        report.flag(DESTRUCTIVE, "raises", calls.error)
        return False
    if calls.bad_return:
        report.flag(DESTRUCTIVE, "return-convention", calls.bad_return)
        return False
    if calls.bad_array:
        report.flag(DESTRUCTIVE, "shape-dtype", calls.bad_array)
        return False
    if calls.returned_new:
        in_place = calls.changed_in_place > 0
        report.flag(DESTRUCTIVE if in_place else NO_OP, "stale-fitness",
                    _stale_reason(calls.returned_new, calls.calls, in_place))
    elif calls.changed_in_place == 0:
        code = ("writes-old-value-back" if calls.changing_writes
                else "zero-step" if calls.writes else "unchanged")
        report.flag(NO_OP, code, _unchanged_reason(calls.calls, calls.writes,
                                                   calls.changing_writes, kind))
    return True


def _nonfinite_finding(report: OperatorReport, results: np.ndarray, sources: np.ndarray) -> None:
    bad = ~np.isfinite(results).all(axis=1) & np.isfinite(sources).all(axis=1)
    report.evidence["nonfinite"] = int(bad.sum())
    if bad.any():
        report.flag(DESTRUCTIVE, "non-finite",
                    f"produces non-finite genes (NaN or inf) in {int(bad.sum())} "
                    f"of {len(results)} results")


def _change_evidence(report: OperatorReport, before: np.ndarray, after: np.ndarray,
                     unit: str) -> None:
    changed = after != before
    finite = np.isfinite(after).all(axis=1)  # non-finite results are reported on their own
    with np.errstate(all="ignore"):
        steps = np.linalg.norm(after[finite] - before[finite], axis=1)
        norms = np.linalg.norm(before[finite], axis=1)
    relative = steps / np.where(norms > 0, norms, 1.0)
    report.evidence.update({
        "changed_fraction": float(changed.any(axis=1).mean()),
        "genes_changed": float(changed.mean()),
        "step": _quantiles(steps),
        "relative_step_median": float(np.median(relative)) if len(relative) else 0.0,
    })
    q, rel = report.evidence["step"], report.evidence["relative_step_median"]
    report.notes.append(
        f"changes {changed.any(axis=1).sum()} of {len(before)} {unit}, "
        f"{100 * changed.mean():.1f}% of genes; step L2 median {q['median']:.3g} "
        f"[min {q['min']:.3g}, max {q['max']:.3g}], {100 * rel:.1f}% of the genome's norm")


# --------------------------------------------------------------------------- mutation
def check_mutation(func: Callable, genomes: np.ndarray, *, keywords: dict[str, Any],
                   name: str | None = None, evaluate: Evaluate | None = None,
                   fitness: np.ndarray | None = None) -> OperatorReport:
    """Call a mutation once on a copy of each genome and judge what it did.

    Args:
        func: the mutation, DEAP signature `func(ind, **keywords) -> (ind,)`.
        genomes: `(n, D)` genomes to mutate (copies are mutated, these stay as they are).
        keywords: what `bind` may pass (rng, sigma, indpb, ...).
        name: the name shown in the report (default: the function's name).
        evaluate: optional `(n, D) -> (n,)` or `(n, k)` fitness (column 0, maximised);
            with it, the fractions of mutants that improve, stay equal and worsen.
        fitness: the genomes' fitness (evaluated with `evaluate` when omitted).

    Returns:
        The report; `verdict` is `effective`, `no-op` or `destructive`.
    """
    genomes = np.asarray(genomes, dtype=np.float32)
    report = OperatorReport("mutation", name or getattr(func, "__name__", repr(func)))
    op, calls = bind(func, keywords), Calls()
    mutants = []
    for genome in genomes:
        kept = call(op, [tracked(genome)], calls)
        if kept is None:
            break
        mutants.append(kept[0])
    if not _contract_findings(report, calls, "mutation"):
        return report
    mutants = np.stack(mutants)
    _change_evidence(report, genomes, mutants, "mutants")
    _nonfinite_finding(report, mutants, genomes)
    if evaluate is not None and report.verdict == EFFECTIVE:
        _fitness_effect(report, evaluate, genomes, mutants, fitness)
    return report


def _fitness_effect(report: OperatorReport, evaluate: Evaluate, genomes: np.ndarray,
                    mutants: np.ndarray, fitness: np.ndarray | None) -> None:
    before = _score(evaluate, genomes) if fitness is None else np.asarray(fitness, float)
    after = _score(evaluate, mutants)
    delta = after - before
    fractions = {"improved": float((delta > 0).mean()), "equal": float((delta == 0).mean()),
                 "worse": float((delta < 0).mean())}
    report.evidence["fitness"] = fractions | {"median_change": float(np.median(delta))}
    report.notes.append(
        f"of {len(delta)} mutants {100 * fractions['improved']:.0f}% improve, "
        f"{100 * fractions['equal']:.0f}% stay equal, {100 * fractions['worse']:.0f}% get "
        f"worse (median fitness change {np.median(delta):+.3g})")
    if fractions["improved"] == 0 and fractions["worse"] >= WORSE_LIMIT:
        report.flag(DESTRUCTIVE, "always-worse",
                    f"none of {len(delta)} mutants improved and "
                    f"{100 * fractions['worse']:.0f}% got worse: the steps are too large "
                    "to help (lower sigma or indpb?)")


# --------------------------------------------------------------------------- crossover
def check_crossover(func: Callable, genomes: np.ndarray, *, keywords: dict[str, Any],
                    name: str | None = None, evaluate: Evaluate | None = None,
                    fitness: np.ndarray | None = None) -> OperatorReport:
    """Cross copies of consecutive pairs of `genomes` and judge what the crossover did.

    Besides the contract checks of `check_mutation`, a crossover must keep both
    parents' genes: where both children hold parents' values, they must hold
    one of each (not the same parent's value twice), and the two children must
    not be identical.

    Args:
        func: the crossover, DEAP signature `func(ind1, ind2, **keywords) -> (ind1, ind2)`.
        genomes: `(2m, D)` genomes; rows 2k and 2k+1 are crossed (pairs of identical
            parents tell nothing and are skipped).
        keywords, name, evaluate, fitness: as for `check_mutation`.

    Returns:
        The report.
    """
    genomes = np.asarray(genomes, dtype=np.float32)
    report = OperatorReport("crossover", name or getattr(func, "__name__", repr(func)))
    pairs = [(i, i + 1) for i in range(0, len(genomes) - 1, 2)
             if not np.array_equal(genomes[i], genomes[i + 1])]
    op, calls = bind(func, keywords), Calls()
    parents, children = [], []
    for i, j in pairs:
        args = [tracked(genomes[i]), tracked(genomes[j])]
        kept = call(op, args, calls)
        if kept is None:
            break
        parents.append(genomes[[i, j]])
        children.append(np.stack(kept))
    if not pairs:
        report.flag(NO_OP, "no-distinct-parents", "no pair of distinct parents to cross")
        return report
    if not _contract_findings(report, calls, "crossover"):
        return report
    parents, children = np.stack(parents), np.stack(children)  # (m, 2, D)
    before = parents.reshape(-1, parents.shape[-1])
    after = children.reshape(before.shape)
    _change_evidence(report, before, after, "children")
    _nonfinite_finding(report, after, before)
    _parent_findings(report, parents, children)
    if evaluate is not None:
        if fitness is None:
            own = _score(evaluate, before).reshape(-1, 2)
        else:
            own = np.asarray(fitness, dtype=float)[np.array(pairs[: len(parents)])]
        scores = _score(evaluate, after).reshape(-1, 2)
        better = float((scores > own.max(axis=1, keepdims=True)).mean())
        report.evidence["better_than_best_parent"] = better
        report.notes.append(f"{100 * better:.0f}% of children beat their best parent")
    return report


def _parent_findings(report: OperatorReport, parents: np.ndarray,
                     children: np.ndarray) -> None:
    p1, p2 = parents[:, 0], parents[:, 1]
    c1, c2 = children[:, 0], children[:, 1]
    differ = p1 != p2
    # Discrete recombination (every gene of both children copied from a parent):
    # the two children must hold one value of each parent; the same parent's value
    # twice means the other parent's gene was overwritten before it was copied.
    # Blending crossovers are left out: rounding can land both children on a parent's
    # value where the parents differ by a few ulps.
    from_parents = ((c1 == p1) | (c1 == p2)) & ((c2 == p1) | (c2 == p2))
    discrete = (from_parents | ~differ).all(axis=1, keepdims=True)
    lost = discrete & differ & (c1 == c2)
    identical = ((c1 == c2).all(axis=1) & differ.any(axis=1))
    n_lost, n_differ = int(lost.sum()), int(differ.sum())
    report.evidence.update({"genes_lost": n_lost, "genes_lost_fraction":
                            n_lost / max(n_differ, 1), "identical_children": int(identical.sum())})
    if n_lost > 0.001 * n_differ:
        crossings = int(lost.any(axis=1).sum())
        report.flag(DESTRUCTIVE, "parent-genes-lost",
                    f"corrupts a parent: in {crossings} of {len(p1)} crossings "
                    f"both children carry the same parent's value at {n_lost} genes in all, so "
                    "the other parent's genes are lost (slices swapped without .copy()? numpy "
                    "slices are views)")
    elif identical.any():
        report.flag(DESTRUCTIVE, "identical-children",
                    f"the two children are identical in {int(identical.sum())} of "
                    f"{len(p1)} crossings of different parents")
    elif discrete.all():
        report.notes.append(f"both parents' genes kept in all {len(p1)} crossings")
    else:
        report.notes.append(f"children blend their parents' genes in {int((~discrete).sum())} "
                            f"of {len(p1)} crossings (no gene copied to be kept or lost)")
