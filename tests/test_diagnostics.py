"""Operator contract checks: every built-in operator passes, each classic bug is
flagged with its own reason; and the GA's per-generation diagnostics measure
what the operators really did."""

# tests/broken_operators.py: tests/ is on sys.path (pytest puts a test file's folder there)
import broken_operators as broken  # in sys.modules: `broken_operators:NAME` resolves too
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.config import RunConfig
from evonet.diagnostics import (
    DESTRUCTIVE,
    EFFECTIVE,
    FINDINGS,
    NO_OP,
    check_crossover,
    check_mutation,
)
from evonet.evolve import evolve
from evonet.network import NetworkSpec, init_genomes
from evonet.operators import CROSSOVERS, MUTATIONS

SPEC = NetworkSpec(vocab_size=6, hidden=5)


def keywords(seed=0, **changes):
    return {"rng": np.random.default_rng(seed), "sigma": 0.1, "indpb": 0.1, "cx_indpb": 0.5,
            "alpha": 0.5, "unit_of_gene": SPEC.unit_of_gene(), **changes}


def genomes(count=32, seed=1):
    rng = np.random.default_rng(seed)
    return init_genomes(SPEC, count, rng) + rng.normal(0, 0.01, (count, SPEC.size)).astype(
        np.float32)


def sphere(g):
    """Fitness with its optimum at the origin."""
    return -(np.asarray(g, dtype=np.float64) ** 2).sum(axis=1)


# --------------------------------------------------------------------------- built-ins pass
@pytest.mark.parametrize("name", sorted(set(MUTATIONS) - {"none"}))
def test_every_builtin_mutation_is_effective(name):
    report = check_mutation(MUTATIONS[name], genomes(), keywords=keywords(), name=name)
    assert report.verdict == EFFECTIVE, report.describe()
    assert report.reasons == [] and report.findings == []
    assert report.evidence["changed_fraction"] > 0


@pytest.mark.parametrize("name", sorted(set(CROSSOVERS) - {"none"}))
def test_every_builtin_crossover_is_effective(name):
    report = check_crossover(CROSSOVERS[name], genomes(), keywords=keywords(), name=name)
    assert report.verdict == EFFECTIVE, report.describe()
    assert report.evidence["genes_lost"] == 0


def test_none_operators_are_no_ops():
    mut = check_mutation(MUTATIONS["none"], genomes(), keywords=keywords())
    cx = check_crossover(CROSSOVERS["none"], genomes(), keywords=keywords())
    assert (mut.verdict, mut.findings) == (NO_OP, ["unchanged"])
    assert (cx.verdict, cx.findings) == (NO_OP, ["unchanged"])


# --------------------------------------------------------------------------- the classic bugs
@pytest.mark.parametrize("func, verdict, finding, words", [
    (broken.mut_writes_old_value_back, NO_OP, "writes-old-value-back", "writes the old values"),
    (broken.mut_returns_new_array, NO_OP, "stale-fitness", "stale-fitness trap"),
    (broken.mut_zero_step, NO_OP, "zero-step", "zero step"),
    (broken.mut_nan, DESTRUCTIVE, "non-finite", "NaN or inf"),
    (broken.mut_no_tuple, DESTRUCTIVE, "return-convention", "1-tuple"),
    (broken.mut_raises, DESTRUCTIVE, "raises", "missing 1 required"),
])
def test_broken_mutations_are_flagged_with_their_reason(func, verdict, finding, words):
    report = check_mutation(func, genomes(), keywords=keywords())
    assert report.verdict == verdict
    assert report.findings == [finding]
    assert words in report.reasons[0]
    assert finding in FINDINGS


@pytest.mark.parametrize("func, verdict, finding, words", [
    (broken.cx_swap_without_copy, DESTRUCTIVE, "parent-genes-lost", "corrupts a parent"),
    (broken.cx_returns_new_arrays, NO_OP, "stale-fitness", "stale-fitness trap"),
])
def test_broken_crossovers_are_flagged_with_their_reason(func, verdict, finding, words):
    report = check_crossover(func, genomes(), keywords=keywords())
    assert report.verdict == verdict
    assert report.findings == [finding]
    assert words in report.reasons[0]


def test_stale_trap_that_also_changes_in_place_is_destructive():
    def mutate_and_return_copy(ind, rng, sigma):
        ind[:] += np.float32(sigma)
        return (ind.copy(),)

    report = check_mutation(mutate_and_return_copy, genomes(), keywords=keywords())
    assert (report.verdict, report.findings) == (DESTRUCTIVE, ["stale-fitness"])
    assert "also changes the individual" in report.reasons[0]


def test_crossover_returning_one_child_twice_is_flagged():
    def cx_one_child_twice(ind1, ind2):
        ind1[:] = (ind1 + ind2) / 2
        return ind1, ind1

    report = check_crossover(cx_one_child_twice, genomes(), keywords=keywords())
    assert report.verdict == DESTRUCTIVE
    assert "stale-fitness" in report.findings  # the second child is not its argument


def test_identical_children_are_flagged():
    def cx_average(ind1, ind2):
        mean = (np.asarray(ind1) + np.asarray(ind2)) / 2
        ind1[:] = mean
        ind2[:] = mean
        return ind1, ind2

    report = check_crossover(cx_average, genomes(), keywords=keywords())
    assert (report.verdict, report.findings) == (DESTRUCTIVE, ["identical-children"])


# --------------------------------------------------------------------------- fitness evidence
def test_mutation_whose_every_mutant_is_worse_is_destructive():
    near_optimum = np.random.default_rng(0).normal(0, 0.01, (32, 50)).astype(np.float32)
    report = check_mutation(broken.mut_huge_step, near_optimum, keywords=keywords(),
                            evaluate=sphere)
    assert (report.verdict, report.findings) == (DESTRUCTIVE, ["always-worse"])
    assert report.evidence["fitness"]["improved"] == 0


def test_fitness_fractions_of_a_helpful_mutation():
    far = np.full((40, 50), 3.0, dtype=np.float32)

    def shrink(ind):  # always moves towards the sphere's optimum
        ind[:] *= np.float32(0.5)
        return (ind,)

    report = check_mutation(shrink, far, keywords=keywords(), evaluate=sphere)
    assert report.verdict == EFFECTIVE
    assert report.evidence["fitness"]["improved"] == 1.0
    assert report.evidence["step"]["median"] == pytest.approx(1.5 * np.sqrt(50), rel=1e-5)


def test_given_fitness_is_used_instead_of_evaluating_the_parents():
    g = genomes(8)
    report = check_mutation(MUTATIONS["gaussian"], g, keywords=keywords(), evaluate=sphere,
                            fitness=np.full(8, np.inf))
    assert report.evidence["fitness"]["worse"] == 1.0


# --------------------------------------------------------------------------- measurements
@given(indpb=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_genes_changed_measures_the_per_gene_probability(indpb, seed):
    report = check_mutation(MUTATIONS["gaussian"], genomes(64, seed), keywords=keywords(
        seed, indpb=indpb))
    # 64 x 245 Bernoulli(indpb) genes: the standard error is below 0.004.
    assert report.evidence["genes_changed"] == pytest.approx(indpb, abs=0.025)


def test_point_mutation_changes_exactly_one_gene_per_call():
    report = check_mutation(MUTATIONS["point"], genomes(), keywords=keywords())
    assert report.evidence["genes_changed"] == pytest.approx(1 / SPEC.size)


@given(cx_indpb=st.floats(0.01, 0.99), size=st.integers(2, 40), seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_parent_gene_check_never_blames_a_correct_swap_and_always_the_view_swap(
        cx_indpb, size, seed):
    rng = np.random.default_rng(seed)
    parents = rng.normal(size=(16, size)).astype(np.float32)
    good = check_crossover(CROSSOVERS["uniform"], parents,
                           keywords=keywords(seed, cx_indpb=cx_indpb))
    assert "parent-genes-lost" not in good.findings
    bad = check_crossover(broken.cx_swap_without_copy, parents, keywords=keywords(seed))
    assert bad.findings == ["parent-genes-lost"]


def test_operator_never_touches_the_genomes_it_is_checked_on():
    g = genomes()
    before = g.copy()
    check_mutation(broken.mut_writes_old_value_back, g, keywords=keywords())
    check_crossover(broken.cx_swap_without_copy, g, keywords=keywords())
    np.testing.assert_array_equal(g, before)


def test_report_to_dict_is_json_ready():
    import json

    report = check_mutation(MUTATIONS["gaussian"], genomes(), keywords=keywords(),
                            evaluate=sphere)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["verdict"] == EFFECTIVE and data["evidence"]["calls"] == 32


# --------------------------------------------------------------------------- GA log diagnostics
TINY = dict(text="hello", population=16, hidden=4, generations=4, backend="serial")


def records(**changes):
    return list(evolve(RunConfig(**TINY, **changes)).logbook)[1:]  # gen 0 has no operators


def test_log_no_op_mutation_reports_no_mutation_success():
    # Before the fix, mutation_success averaged over every child *chosen* for mutation,
    # so a no-op mutation reported crossover's successes.
    for rec in records(mutation="none", cxpb=1.0):
        assert rec["mutated_fraction"] == 0.0 and rec["mean_step"] == 0.0
        assert rec["mutation_success"] is None and rec["mutation_neutral"] is None
        assert rec["crossover_success"] is not None


def test_log_write_back_mutation_is_seen_as_changing_nothing():
    for rec in records(mutation="broken_operators:mut_writes_old_value_back"):
        assert rec["mutated_fraction"] == 0.0 and rec["mutation_success"] is None


def test_log_no_crossover_reports_no_crossover_success():
    for rec in records(crossover="none", cxpb=1.0):
        assert rec["crossover_success"] is None
        assert rec["mutated_fraction"] == 1.0 and rec["mean_step"] > 0
        assert 0.0 <= rec["mutation_success"] <= 1.0


def test_log_mutpb_sets_the_mutated_fraction():
    for rec in records(mutpb=0.0, crossover="none"):
        assert rec["mutated_fraction"] == 0.0 and rec["mutation_success"] is None
