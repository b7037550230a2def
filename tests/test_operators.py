"""Every built-in operator: in place, shape/dtype/finite, changes what it should,
leaves what it must alone; batches of rows behave like single genomes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.individuals import make_individual
from evonet.network import NetworkSpec
from evonet.operators import CROSSOVERS, MUTATIONS, GenomeBatch, bind

SPEC = NetworkSpec(vocab_size=5, hidden=4)
AVAILABLE = {"sigma": 0.3, "indpb": 0.2, "cx_indpb": 0.5, "alpha": 0.5,
             "unit_of_gene": SPEC.unit_of_gene()}


def op(table, name, seed):
    return bind(table[name], {**AVAILABLE, "rng": np.random.default_rng(seed)})


def distinct_parents(seed, rows=None):
    rng = np.random.default_rng(seed)
    shape = (SPEC.size,) if rows is None else (rows, SPEC.size)
    return (rng.normal(size=shape).astype(np.float32),
            (rng.normal(size=shape) + 5).astype(np.float32))


@pytest.mark.parametrize("name", sorted(MUTATIONS))
@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_mutation_changes_in_place_and_keeps_shape_dtype_finite(name, seed):
    genome = distinct_parents(seed)[0]
    ind = make_individual(genome)
    (out,) = op(MUTATIONS, name, seed)(ind)
    assert out is ind
    assert ind.shape == genome.shape and ind.dtype == np.float32
    assert np.isfinite(ind).all()
    changed = np.count_nonzero(ind != genome)
    if name == "none":
        assert changed == 0
    elif name == "point":
        assert changed == 1
    elif name in ("swap", "insert"):  # permutations: same values, different places
        assert changed >= 2
        np.testing.assert_array_equal(np.sort(ind), np.sort(genome))
    else:
        assert changed >= 1


@pytest.mark.parametrize("name", sorted(CROSSOVERS))
@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_crossover_mixes_parents_without_corrupting_them(name, seed):
    p1, p2 = distinct_parents(seed)
    c1, c2 = make_individual(p1), make_individual(p2)
    out = op(CROSSOVERS, name, seed)(c1, c2)
    assert out[0] is c1 and out[1] is c2
    for child in (c1, c2):
        assert child.shape == p1.shape and child.dtype == np.float32
        assert np.isfinite(child).all()
    if name == "blend":  # each child gene lies within alpha of the parents' interval
        low, high = np.minimum(p1, p2), np.maximum(p1, p2)
        margin = AVAILABLE["alpha"] * (high - low) + 1e-5
        for child in (c1, c2):
            assert ((child >= low - margin) & (child <= high + margin)).all()
        np.testing.assert_allclose(c1 + c2, p1 + p2, rtol=1e-4, atol=1e-4)
    else:  # genes are exchanged, never invented or lost
        from_p1 = c1 == p1
        assert (from_p1 | (c1 == p2)).all()
        np.testing.assert_array_equal(np.where(from_p1, c2, c1), p2)
        if name == "none":
            assert from_p1.all()


@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_neuron_crossover_moves_whole_units(seed):
    p1, p2 = distinct_parents(seed)
    c1, c2 = make_individual(p1), make_individual(p2)
    op(CROSSOVERS, "neuron", seed)(c1, c2)
    owner = SPEC.unit_of_gene()
    for unit in range(-1, SPEC.hidden):
        genes = c1[owner == unit]
        assert (genes == p1[owner == unit]).all() or (genes == p2[owner == unit]).all()


@pytest.mark.parametrize("name", sorted(set(MUTATIONS) - {"none"}))
def test_mutation_of_a_batch_changes_every_row_independently(name):
    genomes = distinct_parents(7, rows=6)[0]
    batch = genomes.copy().view(GenomeBatch)
    op(MUTATIONS, name, 7)(batch)
    assert batch.shape == genomes.shape and batch.dtype == np.float32
    changed_rows = (batch != genomes).any(axis=1)
    assert changed_rows.all()
    diffs = {tuple(np.flatnonzero(row)) for row in (np.asarray(batch) != genomes)}
    assert len(diffs) > 1  # rows are not all mutated at the same places


@pytest.mark.parametrize("name", sorted(set(CROSSOVERS) - {"none"}))
def test_crossover_of_a_batch_crosses_each_pair(name):
    p1, p2 = distinct_parents(8, rows=5)
    c1, c2 = p1.copy(), p2.copy()
    op(CROSSOVERS, name, 8)(c1, c2)
    assert ((c1 != p1).any(axis=1)).all()
    np.testing.assert_allclose(c1 + c2, p1 + p2, rtol=1e-4, atol=1e-4)


def test_self_adaptive_mutation_evolves_its_own_step_size():
    ind = make_individual(np.zeros(SPEC.size), sigma=0.3)
    op(MUTATIONS, "self_adaptive", 3)(ind)
    assert ind.sigma != 0.3 and 1e-6 <= ind.sigma <= 10
    batch = np.zeros((4, SPEC.size), np.float32).view(GenomeBatch)
    batch.sigma = np.array([0.1, 0.2, np.nan, 0.4])
    op(MUTATIONS, "self_adaptive", 3)(batch)
    assert batch.sigma.shape == (4,) and np.isfinite(batch.sigma).all()
    assert len(set(batch.sigma)) == 4


def test_gaussian_step_size_follows_sigma():
    genomes = np.zeros((200, SPEC.size), np.float32)
    bind(MUTATIONS["gaussian"], {"rng": np.random.default_rng(0), "sigma": 0.5,
                                 "indpb": 1.0})(genomes)
    assert abs(genomes.std() - 0.5) < 0.02 and abs(genomes.mean()) < 0.02


def test_bind_passes_only_the_keywords_a_user_operator_names():
    seen = {}

    def my_mutation(ind, rng, sigma):
        seen.update(rng=rng, sigma=sigma)
        return (ind,)

    bind(my_mutation, {**AVAILABLE, "rng": "R"})(np.zeros(3))
    assert seen == {"rng": "R", "sigma": 0.3}


@pytest.mark.parametrize("sigma", [0.3, np.array([0.1, 1.0, 3.0])])
def test_gaussian_mutation_of_a_strided_view_lands_in_the_array_it_views(sigma):
    # A non-contiguous batch (every other column) cannot be flattened into a view:
    # the mutation must still write into the caller's array, at the same genes and with
    # the same values as on a contiguous copy drawn from the same random stream.
    whole = np.random.default_rng(0).normal(size=(3, 2 * SPEC.size)).astype(np.float32)
    strided = whole[:, ::2]
    contiguous = strided.copy()
    mutate = MUTATIONS["gaussian"]
    mutate(strided, rng=np.random.default_rng(5), sigma=sigma, indpb=0.5)
    mutate(contiguous, rng=np.random.default_rng(5), sigma=sigma, indpb=0.5)
    np.testing.assert_array_equal(whole[:, ::2], contiguous)
    assert np.count_nonzero(contiguous != np.random.default_rng(0).normal(
        size=(3, 2 * SPEC.size)).astype(np.float32)[:, ::2]) > 0
