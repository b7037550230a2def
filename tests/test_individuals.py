import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.individuals import diversity, generation, genome_matrix, make_individual, rows_of


def test_individuals_are_float32_arrays_with_their_own_fitness():
    a = make_individual(np.arange(5), sigma=0.2)
    b = make_individual(np.arange(5))
    a.fitness.values = (1.5,)
    assert a.dtype == np.float32 and not b.fitness.valid and a.fitness is not b.fitness
    for clone in (copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert clone.fitness.values == (1.5,) and clone.sigma == 0.2
        np.testing.assert_array_equal(clone, a)


def test_make_individual_copies_unless_asked_not_to():
    row = np.zeros(4, dtype=np.float32)
    make_individual(row)[0] = 1
    assert row[0] == 0
    make_individual(row, copy=False)[0] = 1
    assert row[0] == 1


@given(rows=st.integers(1, 40), width=st.integers(1, 9), chunk=st.integers(1, 7),
       seed=st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_chunked_diversity_equals_the_formula_and_skips_non_finite_genomes(rows, width, chunk,
                                                                           seed):
    genomes = np.random.default_rng(seed).normal(size=(rows, width)).astype(np.float32)
    individuals = [make_individual(g) for g in genomes]
    expected = np.linalg.norm(genomes - genomes.mean(axis=0), axis=1).mean()
    np.testing.assert_allclose(diversity(individuals, chunk), expected, rtol=1e-5, atol=1e-6)
    individuals.append(make_individual(np.full(width, np.nan)))
    np.testing.assert_allclose(diversity(individuals, chunk), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(genome_matrix(individuals[:-1]), genomes)


@given(rows=st.integers(1, 12), width=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       picks=st.lists(st.integers(0, 11), max_size=12))
@settings(max_examples=60, deadline=None)
def test_rows_of_a_generation_equal_the_stacked_individuals(rows, width, seed, picks):
    genomes = np.random.default_rng(seed).normal(size=(rows, width)).astype(np.float32)
    individuals = generation(genomes, [0.5] * rows)
    assert all(ind.sigma == 0.5 and not ind.fitness.valid for ind in individuals)
    individuals[0][0] = 7.0  # individuals are views of the matrix, not copies
    assert genomes[0, 0] == 7.0
    chosen = sorted({p for p in picks if p < rows})
    expected = genome_matrix([individuals[i] for i in chosen]) if chosen else None
    for source in (individuals, list(individuals)):  # with and without the matrix
        got = rows_of(source, chosen)
        if chosen:
            np.testing.assert_array_equal(got, expected)
            assert got.dtype == np.float32
    np.testing.assert_allclose(diversity(individuals), diversity(list(individuals)), rtol=1e-6)


def test_rows_of_consecutive_rows_is_a_view_and_of_scattered_rows_a_copy():
    genomes = np.arange(12, dtype=np.float32).reshape(4, 3)
    individuals = generation(genomes)
    assert np.shares_memory(rows_of(individuals, [1, 2, 3]), genomes)
    assert not np.shares_memory(rows_of(individuals, [0, 2]), genomes)
    assert not np.shares_memory(rows_of(list(individuals), [1, 2, 3]), genomes)
    with pytest.raises(ValueError):  # the view is read-only: evaluators must not write
        rows_of(individuals, [1, 2])[0, 0] = 1.0
    # Unsorted or repeated rows that span a range are not that range.
    for rows in ([0, 2, 1, 3], [1, 2, 2], [3, 2, 1]):
        np.testing.assert_array_equal(rows_of(individuals, rows), genomes[rows])


def test_a_generation_needs_a_float32_matrix():
    with pytest.raises(TypeError, match="float32"):
        generation(np.zeros((2, 3)))
