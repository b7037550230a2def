"""The gradient baseline: BPTT against finite differences, its fitness against the
evaluator's, clipping, and its log records (population fields null)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.algorithms.gradient import POPULATION_FIELDS, clip_norm, fitness_and_gradient
from evonet.config import ConfigError, RunConfig
from evonet.evolve import evolve
from evonet.fitness import Problem, evaluate
from evonet.network import NetworkSpec, init_genomes
from evonet.text import Task


def _case(cell: str, encoding: str, hidden: int, text: str, seed: int):
    task = Task(text, encoding)
    spec = NetworkSpec(task.vocab_size, hidden, cell, encoding)
    rng = np.random.default_rng(seed)
    genome = init_genomes(spec, 1, rng)[0].astype(np.float64) * 1.5
    genome += rng.normal(0.0, 0.3, spec.size)  # non-zero biases: every term of the gradient
    return task, spec, genome


@settings(max_examples=25, deadline=None)
@given(cell=st.sampled_from(["elman", "lstm", "gru"]),
       encoding=st.sampled_from(["onehot", "binary"]), hidden=st.integers(1, 4),
       text=st.text(alphabet="abcd ", min_size=2, max_size=9), seed=st.integers(0, 10**6))
def test_gradient_matches_central_finite_differences(cell, encoding, hidden, text, seed):
    task, spec, genome = _case(cell, encoding, hidden, text, seed)
    _, gradient = fitness_and_gradient(spec, genome, task.inputs, task.targets)
    eps = 1e-6
    numeric = np.empty(spec.size)
    for i in range(spec.size):
        step = np.zeros(spec.size)
        step[i] = eps
        up = fitness_and_gradient(spec, genome + step, task.inputs, task.targets)[0]
        down = fitness_and_gradient(spec, genome - step, task.inputs, task.targets)[0]
        numeric[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(gradient, numeric, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("encoding", ["onehot", "binary"])
def test_fitness_is_the_evaluators_loglik(cell, encoding):
    """The function differentiated is the fitness the evolved runs are scored with."""
    task, spec, genome = _case(cell, encoding, 5, "hello world", 3)
    fitness, _ = fitness_and_gradient(spec, genome, task.inputs, task.targets)
    scores = evaluate(Problem(spec, task.inputs, task.targets), genome[None].astype(np.float32))
    assert fitness == pytest.approx(scores[0, 0], abs=1e-5)


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=20), st.floats(0.01, 50))
def test_clip_norm_bounds_the_norm_and_keeps_the_direction(values, limit):
    gradient = np.array(values)
    clipped, norm = clip_norm(gradient, limit)
    assert norm == pytest.approx(np.linalg.norm(gradient))
    assert np.linalg.norm(clipped) <= limit * (1 + 1e-9)
    if norm <= limit:
        np.testing.assert_array_equal(clipped, gradient)
    else:
        np.testing.assert_allclose(clipped * norm / limit, gradient, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(clip_norm(gradient, 0.0)[0], gradient)


def test_records_have_one_evaluation_and_null_population_fields():
    config = RunConfig(text="abcabd", algorithm="gradient", hidden=4, generations=3,
                       backend="serial", learning_rate=0.01)
    result = evolve(config)
    fitness = [r["fitness_max"] for r in result.logbook]
    assert all(r["nevals"] == 1 for r in result.logbook)
    assert all(r[field] is None for r in result.logbook for field in POPULATION_FIELDS)
    assert fitness[-1] > fitness[0]  # small ascent steps on an exact gradient climb
    assert all(r["grad_norm"] > 0 for r in result.logbook)


def test_needs_a_differentiable_fitness():
    with pytest.raises(ConfigError, match="loglik"):
        RunConfig(algorithm="gradient", fitness="accuracy")
