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


@given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([1.0, 40.0]),
       gather=st.booleans(), transposed=st.booleans())
@settings(max_examples=60, deadline=None)
def test_fused_count_is_argmax_accuracy_on_either_tie_check(seed, spread, gather, transposed):
    """The fused path checks for ties only where sum(exp(logit - max)) >= 2, by a gather
    of the suspects or by one pass over all logits: both must equal argmax, ties included.

    A spread of 40 makes every non-maximal exp vanish, so the sum counts the maxima
    exactly and few positions are suspects; a spread of 1 makes most of them suspects.
    """
    rng = np.random.default_rng(seed)
    logits = (rng.integers(0, 12, (6, 40, 5)) * spread).astype(np.float32)
    targets = rng.integers(0, 5, 40)
    # Force ties with the target at a few steps: an earlier copy of the max takes the
    # step away from the target, a later one does not.
    for step in rng.choice(40, 6, replace=False):
        row, other = rng.integers(0, 6), rng.integers(0, 5)
        logits[row, step, targets[step]] = logits[row, step, other] = 99 * spread
    if transposed:  # the layout output_logits returns, where the flat gather applies
        logits = np.ascontiguousarray(logits.transpose(0, 2, 1)).transpose(0, 2, 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fitness, "GATHER_FRACTION", 1.0 if gather else 0.0)
        _, correct = fitness._loglik_and_correct(logits, targets)
    np.testing.assert_array_equal(correct, accuracy(logits, targets))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32])
def test_narrow_target_dtypes_pick_the_right_logits(dtype):
    """Flat indices `target * T + t` must not overflow the targets' own dtype (T=130)."""
    rng = np.random.default_rng(5)
    logits = np.ascontiguousarray(rng.normal(size=(3, 40, 130)).astype(np.float32))
    logits = logits.transpose(0, 2, 1)  # output_logits' layout, where the flat take applies
    targets = rng.integers(0, 40, 130)
    expected = fitness._loglik_and_correct(logits, targets)
    got = fitness._loglik_and_correct(logits, targets.astype(dtype))
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize("vocab", [255, 256, 300])
def test_tie_counts_do_not_wrap_around_for_large_vocabularies(vocab):
    """All logits equal (a degenerate network): the count of maxima is the vocabulary."""
    logits = np.zeros((2, 3, vocab), dtype=np.float32)
    counts = fitness._max_counts(logits, logits.max(axis=-1, keepdims=True))
    np.testing.assert_array_equal(counts, np.full((2, 3), vocab))


def test_count_correct_gives_a_tie_to_the_first_maximum():
    logits = np.array([[[1, 5, 5], [5, 5, 1], [0, 0, 2]]], dtype=np.float32)
    assert fitness._count_correct(logits, np.array([2, 0, 2]))[0] == 2  # 5,5 at 1,2: 1 wins
