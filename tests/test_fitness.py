"""Fitness functions against plain-numpy references, and the evaluate() contract."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.fitness import WORST_FITNESS, Problem, accuracy, evaluate, loglik, mse
from evonet.network import NetworkSpec, forward, init_genomes
from evonet.plugins import PluginError
from evonet.text import Task


def reference(logits, targets):
    """Per network, per position, the textbook formulas in float64."""
    out = []
    for net in logits.astype(np.float64):
        probs = np.exp(net) / np.exp(net).sum(axis=1, keepdims=True)
        ll = np.mean([np.log(probs[t, y]) for t, y in enumerate(targets)])
        acc = sum(int(np.argmax(net[t]) == y) for t, y in enumerate(targets))
        onehot = np.eye(net.shape[1])[targets]
        out.append((ll, acc, -np.mean(((probs - onehot) ** 2).sum(axis=1))))
    return np.array(out)


@given(p=st.integers(1, 5), t=st.integers(1, 12), v=st.integers(2, 7),
       seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 20))
@settings(max_examples=60, deadline=None)
def test_fitness_functions_match_textbook_formulas(p, t, v, seed, scale):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(p, t, v)) * scale).astype(np.float32)
    targets = rng.integers(0, v, t)
    ref = reference(logits, targets)
    np.testing.assert_allclose(loglik(logits, targets), ref[:, 0], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(accuracy(logits, targets), ref[:, 1])
    np.testing.assert_allclose(mse(logits, targets), ref[:, 2], rtol=1e-4, atol=1e-5)


def make_problem(text="Hello world!", fitness="loglik", hidden=8):
    task = Task(text)
    spec = NetworkSpec(task.vocab_size, hidden)
    return Problem(spec, task.inputs, task.targets, fitness), task


@pytest.mark.parametrize("name", ["loglik", "accuracy", "mse"])
def test_evaluate_returns_fitness_and_exact_prediction_count(name):
    problem, task = make_problem(fitness=name)
    genomes = init_genomes(problem.spec, 6, np.random.default_rng(0))
    scores = evaluate(problem, genomes)
    logits = forward(problem.spec, genomes, task.inputs)
    assert scores.shape == (6, 2) and scores.dtype == np.float64
    np.testing.assert_array_equal(scores[:, 0], problem.fitness_fn()(logits, task.targets))
    np.testing.assert_array_equal(scores[:, 1], accuracy(logits, task.targets))


def test_non_finite_networks_get_the_worst_fitness_and_do_not_poison_others():
    problem, _ = make_problem()
    genomes = init_genomes(problem.spec, 4, np.random.default_rng(1))
    clean = evaluate(problem, genomes)
    genomes[1, 5] = np.nan
    genomes[2, :] = np.inf
    scores = evaluate(problem, genomes)
    assert np.isfinite(scores).all()
    assert scores[1, 0] == WORST_FITNESS and scores[2, 0] == WORST_FITNESS
    assert scores[1, 1] == 0 and scores[2, 1] == 0
    np.testing.assert_array_equal(scores[[0, 3]], clean[[0, 3]])


def test_user_fitness_function_by_module_path():
    problem, _ = make_problem(fitness="numpy:linalg.norm")
    with pytest.raises(PluginError, match="no function"):
        problem.fitness_fn()
    problem, _ = make_problem(fitness="evonet.fitness:mse")
    assert problem.fitness_fn() is mse


def one_score_for_all(logits, targets):
    return float(loglik(logits, targets).mean())


def test_a_user_fitness_must_score_each_network():
    # A scalar would broadcast: every network the same score, evolution blind.
    problem, _ = make_problem(fitness=f"{__name__}:one_score_for_all")
    genomes = init_genomes(problem.spec, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"returned shape \(\) for 3 networks; expected \(3,\)"):
        evaluate(problem, genomes)


@given(seed=st.integers(0, 2**32 - 1), ties=st.booleans())
@settings(max_examples=40, deadline=None)
def test_fused_loglik_and_count_equal_the_separate_functions(seed, ties):
    from evonet.fitness import _count_correct, _loglik_and_correct, loglik

    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(5, 7, 4)).astype(np.float32)
    if ties:  # exact float ties, where argmax takes the first maximum
        logits = np.round(logits)
    targets = rng.integers(0, 4, 7)
    scores, correct = _loglik_and_correct(logits, targets)
    np.testing.assert_array_equal(scores, loglik(logits, targets))
    np.testing.assert_array_equal(correct, _count_correct(logits, targets))
    np.testing.assert_array_equal(correct, (logits.argmax(-1) == targets).sum(1))
