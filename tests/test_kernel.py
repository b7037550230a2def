"""The fast evaluation paths: row-blocked scoring and the exp-based tanh."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet import fitness
from evonet.fitness import Problem, accuracy, evaluate
from evonet.network import NetworkSpec, _tanh_of_half_minus, forward, init_genomes


def _problem(vocab=6, hidden=5, length=17, name="loglik", seed=0):
    rng = np.random.default_rng(seed)
    text = rng.integers(0, vocab, length)
    return Problem(NetworkSpec(vocab, hidden), text[:-1], text[1:], name)


@pytest.mark.parametrize("name", ["loglik", "mse", "accuracy"])
@pytest.mark.parametrize("block", [1, 7, 32, 1000])  # rows per block
def test_row_blocked_scoring_equals_scoring_the_whole_population(monkeypatch, name, block):
    """Blocks of any size (ragged last block included) give the bits of one big block."""
    problem = _problem(name=name)
    genomes = init_genomes(problem.spec, 45, np.random.default_rng(1)) * 2
    genomes[3, 0] = np.nan  # a broken row in the middle of a block
    logits = forward(problem.spec, genomes, problem.inputs)
    with np.errstate(all="ignore"):
        expected = np.asarray(problem.fitness_fn()(logits, problem.targets), dtype=np.float64)
    row_floats = len(problem.targets) * problem.spec.vocab_size
    monkeypatch.setattr(fitness, "BLOCK_FLOATS", block * row_floats)
    scores = evaluate(problem, genomes)
    finite = np.isfinite(logits).all(axis=(1, 2))
    np.testing.assert_array_equal(scores[finite, 0], expected[finite])
    np.testing.assert_array_equal(scores[finite, 1], accuracy(logits, problem.targets)[finite])
    assert scores[3, 0] == fitness.WORST_FITNESS and scores[3, 1] == 0


@given(values=st.lists(st.floats(-60, 60, width=32), min_size=1, max_size=50))
@settings(max_examples=100, deadline=None)
def test_exp_based_tanh_is_tanh(values):
    x = np.array(values, dtype=np.float32)
    z = x * np.float32(-2)
    with np.errstate(over="ignore"):
        got = _tanh_of_half_minus(z)
    assert got is z and got.dtype == np.float32
    np.testing.assert_allclose(got, np.tanh(x.astype(np.float64)), rtol=0, atol=3e-7)
    assert (np.abs(got) <= 1).all()


def test_exp_based_tanh_saturates_and_keeps_nan():
    z = np.array([np.inf, -np.inf, 1e30, -1e30, np.nan], dtype=np.float32)
    with np.errstate(over="ignore"):
        got = _tanh_of_half_minus(z)
    np.testing.assert_array_equal(got[:4], [-1, 1, -1, 1])
    assert np.isnan(got[4])


@given(p=st.integers(1, 4), t=st.integers(1, 9), v=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1), transposed=st.booleans())
@settings(max_examples=100, deadline=None)
def test_count_correct_is_argmax_accuracy_even_with_ties(p, t, v, seed, transposed):
    """Logits of a few integer values tie all the time: the first maximum must win."""
    rng = np.random.default_rng(seed)
    logits = rng.integers(0, 3, (p, t, v)).astype(np.float32)
    if transposed:  # the layout output_logits returns
        logits = np.ascontiguousarray(logits.transpose(0, 2, 1)).transpose(0, 2, 1)
    targets = rng.integers(0, v, t)
    np.testing.assert_array_equal(fitness._count_correct(logits, targets),
                                  accuracy(logits, targets))


def test_count_correct_gives_a_tie_to_the_first_maximum():
    logits = np.array([[[1, 5, 5], [5, 5, 1], [0, 0, 2]]], dtype=np.float32)
    assert fitness._count_correct(logits, np.array([2, 0, 2]))[0] == 2  # 5,5 at 1,2: 1 wins
