"""LSTM and GRU cells: the batched forward pass against a plain per-network loop,
independence from how the population is split, and agreement with generation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.cells import GATES, sigmoid
from evonet.network import NetworkSpec, forward, generate, hidden_states, init_genomes
from evonet.text import binary_codes

GATED = ("lstm", "gru")


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_logits(spec: NetworkSpec, genome: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """One network, one step at a time, in float64, straight from the textbook formulas."""
    p = {k: v[0].astype(np.float64) for k, v in spec.unflatten(genome[None]).items()}
    hid = spec.hidden
    h, c = np.zeros(hid), np.zeros(hid)
    logits = []
    for ch in inputs:
        x = np.eye(spec.vocab_size)[ch] if spec.encoding == "onehot" else \
            binary_codes(spec.vocab_size)[ch].astype(np.float64)
        W, U, b = p["Wxh"], p["Whh"], p["bh"]
        blocks = [slice(k * hid, (k + 1) * hid) for k in range(GATES[spec.cell])]
        if spec.cell == "lstm":
            i, f, o, g = blocks
            gi = _sig(W[i] @ x + U[i] @ h + b[i])
            gf = _sig(W[f] @ x + U[f] @ h + b[f])
            go = _sig(W[o] @ x + U[o] @ h + b[o])
            gg = np.tanh(W[g] @ x + U[g] @ h + b[g])
            c = gf * c + gi * gg
            h = go * np.tanh(c)
        else:
            r_, z_, n_ = blocks
            r = _sig(W[r_] @ x + U[r_] @ h + b[r_])
            z = _sig(W[z_] @ x + U[z_] @ h + b[z_])
            n = np.tanh(W[n_] @ x + b[n_] + r * (U[n_] @ h))
            h = (1 - z) * n + z * h
        logits.append(p["Why"] @ h + p["by"])
    return np.array(logits)


specs = st.builds(NetworkSpec, vocab_size=st.integers(2, 6), hidden=st.integers(1, 5),
                  cell=st.sampled_from(GATED), encoding=st.sampled_from(["onehot", "binary"]))


def _population(spec: NetworkSpec, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # larger than the initial weights, so that gates saturate and the cell state grows
    return init_genomes(spec, count, rng) * 2 + rng.normal(0, 0.5, (count, spec.size)).astype(
        np.float32)


@settings(max_examples=60, deadline=None)
@given(spec=specs, count=st.integers(1, 4), length=st.integers(1, 7), seed=st.integers(0, 10**6))
def test_batched_forward_equals_plain_loop(spec, count, length, seed):
    genomes = _population(spec, count, seed)
    inputs = np.random.default_rng(seed + 1).integers(0, spec.vocab_size, length)
    logits = forward(spec, genomes, inputs)
    assert logits.shape == (count, length, spec.vocab_size)
    for k in range(count):
        np.testing.assert_allclose(logits[k], reference_logits(spec, genomes[k], inputs),
                                   rtol=1e-4, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(spec=specs, count=st.integers(2, 7), split=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_rows_do_not_depend_on_the_split(spec, count, split, seed):
    """Bit for bit: what makes serial and parallel evaluation agree."""
    split = min(split, count - 1)
    genomes = _population(spec, count, seed)
    inputs = np.random.default_rng(seed).integers(0, spec.vocab_size, 9)
    whole = hidden_states(spec, genomes, inputs)
    parts = np.concatenate([hidden_states(spec, genomes[:split], inputs),
                            hidden_states(spec, genomes[split:], inputs)], axis=1)
    np.testing.assert_array_equal(whole, parts)


@pytest.mark.parametrize("cell", GATED)
@pytest.mark.parametrize("seed", range(4))
def test_generation_follows_the_teacher_forced_argmax(cell, seed):
    """Free-running generation fed its own output predicts what the batched pass predicts."""
    spec = NetworkSpec(vocab_size=5, hidden=4, cell=cell)
    genome = _population(spec, 1, seed)[0]
    text = generate(spec, genome, first=seed % 5, length=12)
    logits = forward(spec, genome[None], text[:-1])[0]
    np.testing.assert_array_equal(logits.argmax(axis=1), text[1:])


@pytest.mark.parametrize("cell", GATED)
def test_generation_after_a_prime_continues_its_state(cell):
    spec = NetworkSpec(vocab_size=4, hidden=3, cell=cell)
    genome = _population(spec, 1, 7)[0]
    prime = np.array([0, 3, 1, 2, 2])
    out = generate(spec, genome, first=0, length=6, prime=prime)
    np.testing.assert_array_equal(out[:5], prime)
    assert out[5] == forward(spec, genome[None], prime)[0, -1].argmax()


@pytest.mark.parametrize("cell", GATED)
def test_gates_are_stacked_rows_owned_by_their_unit(cell):
    spec = NetworkSpec(vocab_size=6, hidden=5, cell=cell)
    gates = GATES[cell]
    elman = NetworkSpec(vocab_size=6, hidden=5)
    recurrent = 5 * 6 + 5 * 5 + 5
    assert spec.size == elman.size + (gates - 1) * recurrent
    owners = spec.unit_of_gene()
    counts = np.bincount(owners[owners >= 0], minlength=5)
    # every unit owns all its gates' incoming weights and biases, and its output weights
    assert (counts == gates * (6 + 5 + 1) + 6).all()


def test_sigmoid_matches_the_logistic_function_without_overflow():
    x = np.linspace(-200, 200, 4001, dtype=np.float32)
    with np.errstate(over="raise"):
        y = sigmoid(x)
    np.testing.assert_allclose(y, _sig(x.astype(np.float64)), atol=1e-6)
    assert y.dtype == np.float32 and y[0] == 0.0 and y[-1] == 1.0
