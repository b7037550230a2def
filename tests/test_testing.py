"""The public testing API: built-ins pass, each classic bug fails with a message
that says what is wrong."""

import re

# tests/broken_operators.py: tests/ is on sys.path (pytest puts a test file's folder there)
import broken_operators as broken
import numpy as np
import pytest

from evonet.operators import CROSSOVERS, MUTATIONS
from evonet.testing import (
    DEFAULT_SPEC,
    assert_crossover_effective,
    assert_crossover_preserves_parents,
    assert_mutation_effective,
)


@pytest.mark.parametrize("name", sorted(set(MUTATIONS) - {"none"}))
def test_builtin_mutations_pass(name):
    report = assert_mutation_effective(name)
    assert report.name == name and report.effective


@pytest.mark.parametrize("name", sorted(CROSSOVERS))
def test_builtin_crossovers_preserve_parents(name):
    assert_crossover_preserves_parents(name)


@pytest.mark.parametrize("name", sorted(set(CROSSOVERS) - {"none"}))
def test_builtin_crossovers_are_effective(name):
    assert_crossover_effective(CROSSOVERS[name])


def test_no_op_operators_fail_the_effectiveness_asserts():
    with pytest.raises(AssertionError, match="mutation none is not an effective mutation; "
                       "it is no-op"):
        assert_mutation_effective("none")
    with pytest.raises(AssertionError, match="never changes its arguments"):
        assert_crossover_effective("none")


@pytest.mark.parametrize("op, message", [
    (broken.mut_writes_old_value_back, "writes the old values back"),
    (broken.mut_returns_new_array, r"stale-fitness trap: returns a new array .* leaves the "
                                   r"individual it was given unchanged"),
    (broken.mut_zero_step, "zero step: it assigns genes"),
    ("broken_operators:mut_nan", "produces non-finite genes"),
    ("broken_operators:mut_no_tuple", "returns its argument itself instead of a 1-tuple"),
])
def test_broken_mutations_fail_with_their_reason(op, message):
    with pytest.raises(AssertionError, match=message) as info:
        assert_mutation_effective(op)
    first_line = str(info.value).splitlines()[0]
    assert re.search(r"mutation \S+ is not an effective mutation; it is (no-op|destructive):",
                     first_line)


def test_swap_without_copy_fails_with_parent_corruption():
    with pytest.raises(AssertionError, match=r"does not preserve its parents; it is "
                       r"destructive:\n  - corrupts a parent: in 64 of 64 crossings"):
        assert_crossover_preserves_parents(broken.cx_swap_without_copy)


def test_crossover_returning_new_arrays_fails_preservation_too():
    with pytest.raises(AssertionError, match="stale-fitness trap"):
        assert_crossover_preserves_parents("broken_operators:cx_returns_new_arrays")


def test_keywords_reach_the_operator_and_the_report_measures_them():
    report = assert_mutation_effective("gaussian", indpb=0.3, trials=128)
    assert report.evidence["genes_changed"] == pytest.approx(0.3, abs=0.02)
    small = assert_mutation_effective("gaussian", sigma=0.01)
    large = assert_mutation_effective("gaussian", sigma=1.0)
    assert large.evidence["step"]["median"] == pytest.approx(
        100 * small.evidence["step"]["median"], rel=0.01)


def test_evaluate_turns_always_worse_mutants_into_a_failure():
    def sphere(g):
        return -(np.asarray(g, dtype=np.float64) ** 2).sum(axis=1)

    near_optimum = np.random.default_rng(0).normal(0, 0.01, (16, DEFAULT_SPEC.size))
    assert_mutation_effective(broken.mut_huge_step, genomes=near_optimum)  # no fitness: passes
    with pytest.raises(AssertionError, match="none of 16 mutants improved"):
        assert_mutation_effective(broken.mut_huge_step, genomes=near_optimum, evaluate=sphere)


def test_unknown_operator_name_is_a_clear_error():
    from evonet.plugins import PluginError

    with pytest.raises(PluginError, match="unknown mutation 'gausian'"):
        assert_mutation_effective("gausian")
