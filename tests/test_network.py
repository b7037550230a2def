"""The network: flattening owned by NetworkSpec, batched forward vs a plain loop, generation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.network import NetworkSpec, forward, generate, init_genomes
from evonet.text import binary_codes

specs = st.builds(NetworkSpec, vocab_size=st.integers(1, 9), hidden=st.integers(1, 12),
                  encoding=st.sampled_from(["onehot", "binary"]))


def reference_logits(spec: NetworkSpec, genome: np.ndarray, inputs) -> np.ndarray:
    """min-char-rnn, one network, one step at a time, in float64."""
    p = {name: value[0].astype(np.float64) for name, value in
         spec.unflatten(genome[None, :]).items()}
    h = np.zeros(spec.hidden)
    codes = np.eye(spec.vocab_size) if spec.encoding == "onehot" else binary_codes(
        spec.vocab_size)
    out = []
    for x in inputs:
        h = np.tanh(p["Wxh"] @ codes[x] + p["Whh"] @ h + p["bh"])
        out.append(p["Why"] @ h + p["by"])
    return np.array(out)


@given(spec=specs, population=st.integers(1, 6), length=st.integers(1, 15),
       seed=st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_batched_forward_equals_plain_per_network_loop(spec, population, length, seed):
    rng = np.random.default_rng(seed)
    genomes = init_genomes(spec, population, rng) + rng.normal(
        0, 0.1, (population, spec.size)).astype(np.float32)
    inputs = rng.integers(0, spec.vocab_size, length)
    logits = forward(spec, genomes, inputs)
    assert logits.shape == (population, length, spec.vocab_size)
    assert logits.dtype == np.float32
    for row in range(population):
        np.testing.assert_allclose(logits[row], reference_logits(spec, genomes[row], inputs),
                                   rtol=1e-4, atol=1e-4)


@given(spec=specs, population=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_flatten_unflatten_round_trip(spec, population, seed):
    genomes = np.random.default_rng(seed).normal(size=(population, spec.size)).astype(
        np.float32)
    params = spec.unflatten(genomes)
    assert [name for name, _ in spec.shapes] == list(params)
    for name, shape in spec.shapes:
        assert params[name].shape == (population, *shape)
        assert np.shares_memory(params[name], genomes)  # views, not copies
    np.testing.assert_array_equal(spec.flatten(params), genomes)


def test_unflatten_rejects_wrong_width():
    spec = NetworkSpec(vocab_size=4, hidden=3)
    with pytest.raises(ValueError, match=str(spec.size)):
        spec.unflatten(np.zeros((2, spec.size + 1), dtype=np.float32))


def test_spec_rejects_bad_shapes():
    with pytest.raises(ValueError, match="hidden"):
        NetworkSpec(vocab_size=4, hidden=0)
    with pytest.raises(ValueError, match="cell"):
        NetworkSpec(vocab_size=4, hidden=2, cell="transformer")


def test_rows_do_not_depend_on_the_rest_of_the_block():
    """The basis of bit-identical parallel evaluation: a row's logits are the same
    whether it is evaluated alone, in a block, or in the whole population."""
    spec = NetworkSpec(vocab_size=7, hidden=10)
    genomes = init_genomes(spec, 9, np.random.default_rng(1))
    inputs = np.random.default_rng(2).integers(0, 7, 20)
    whole = forward(spec, genomes, inputs)
    for start, stop in [(0, 1), (3, 7), (8, 9)]:
        np.testing.assert_array_equal(forward(spec, genomes[start:stop], inputs),
                                      whole[start:stop])


def test_generate_follows_its_own_argmax_predictions():
    spec = NetworkSpec(vocab_size=5, hidden=6)
    genome = init_genomes(spec, 1, np.random.default_rng(3))[0] * 3
    out = generate(spec, genome, first=2, length=12)
    assert out[0] == 2 and len(out) == 12
    # Teacher forcing on the generated sequence predicts exactly that sequence.
    logits = forward(spec, genome[None, :], out[:-1])[0]
    np.testing.assert_array_equal(logits.argmax(axis=1), out[1:])


def test_generate_with_prime_feeds_the_prime_first():
    spec = NetworkSpec(vocab_size=5, hidden=6)
    genome = init_genomes(spec, 1, np.random.default_rng(4))[0] * 3
    prime = np.array([1, 4, 0])
    out = generate(spec, genome, first=0, length=10, prime=prime)
    np.testing.assert_array_equal(out[:3], prime)
    logits = forward(spec, genome[None, :], out[:-1])[0]
    np.testing.assert_array_equal(logits.argmax(axis=1)[2:], out[3:])


def test_init_scale_is_fan_in_and_zero_biases():
    spec = NetworkSpec(vocab_size=4, hidden=9)
    scale = spec.unflatten(spec.init_scale()[None, :])
    assert np.allclose(scale["Whh"], 1 / 3) and np.allclose(scale["Wxh"], 1 / 2)
    assert not scale["bh"].any() and not scale["by"].any()


def test_unit_of_gene_groups_incoming_bias_and_outgoing_weights():
    spec = NetworkSpec(vocab_size=3, hidden=4)
    owner = spec.unflatten(spec.unit_of_gene()[None, :].astype(np.float32))
    assert (owner["Wxh"][0, 2] == 2).all() and (owner["Whh"][0, 1] == 1).all()
    assert owner["bh"][0, 3] == 3 and (owner["Why"][0, :, 0] == 0).all()
    assert (owner["by"] == -1).all()
