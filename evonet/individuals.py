"""DEAP types for numpy genomes, created once at import so that workers can unpickle them.

An `Individual` is a float32 `numpy.ndarray` with a DEAP `fitness`, the number of
next characters it predicts exactly (`accuracy`) and, for self-adaptive
mutation, its own step size (`sigma`).
"""

from __future__ import annotations

import numpy as np
from deap import base, creator

if not hasattr(creator, "FitnessMax"):
    creator.create("FitnessMax", base.Fitness, weights=(1.0,))
if not hasattr(creator, "Individual"):
    creator.create("Individual", np.ndarray, fitness=creator.FitnessMax, accuracy=None,
                   sigma=None)

Individual = creator.Individual


def make_individual(genome: np.ndarray, sigma: float | None = None, *,
                    copy: bool = True) -> Individual:
    """A new Individual holding `genome` as float32, with an unset fitness.

    With `copy=False` a float32 row is wrapped without copying (the GA's children
    are views into their generation's genome matrix: one allocation, no second
    copy of the population). DEAP's own constructor goes through a Python list,
    far too slow for big genomes.
    """
    if copy or not (isinstance(genome, np.ndarray) and genome.dtype == np.float32):
        genome = np.array(genome, dtype=np.float32, copy=copy or None)
    ind = genome.view(Individual)
    # What creator's __init__ does for Individual (its one class attribute that is a
    # type, `fitness`, instantiated), without its generic loop: a generation makes
    # hundreds of these.
    ind.fitness = creator.FitnessMax()
    ind.sigma = sigma
    return ind


class Generation(list):
    """A generation's individuals that are, in order, the rows of one `(n, D)` float32
    matrix, `genomes` (each individual a view of its row): the loop reads that
    matrix for evaluation and diagnostics instead of stacking the rows again."""

    genomes: np.ndarray


def generation(genomes: np.ndarray, sigmas=None) -> Generation:
    """Individuals viewing the rows of the float32 matrix `genomes` (not copied), with
    unset fitness and step sizes `sigmas` (one per row; NaN or None: none)."""
    if genomes.dtype != np.float32:  # the individuals would be copies, not its rows
        raise TypeError(f"a generation's matrix must be float32 (got {genomes.dtype})")
    if sigmas is None:
        sigmas = [None] * len(genomes)
    individuals = Generation(
        make_individual(genome, None if sigma is None or np.isnan(sigma) else float(sigma),
                        copy=False)
        for genome, sigma in zip(genomes, sigmas))
    individuals.genomes = genomes
    return individuals


def rows_of(individuals, rows: list[int]) -> np.ndarray:
    """The genomes of `individuals[i] for i in rows` as one `(len(rows), D)` float32
    matrix, to read only: a view of the generation's matrix when `individuals` is a
    `Generation` and `rows` are consecutive (no copy of the population), else a copy."""
    genomes = getattr(individuals, "genomes", None)
    if genomes is None:
        return genome_matrix([individuals[i] for i in rows])
    if rows and list(rows) == list(range(rows[0], rows[0] + len(rows))):
        view = genomes[rows[0]:rows[0] + len(rows)]
        view.flags.writeable = False  # an evaluator writing into it would corrupt them
        return view
    return genomes[rows]


def genome_matrix(individuals) -> np.ndarray:
    """Stack individuals into a plain `(n, D)` float32 array (cheap to pickle, unlike them)."""
    if not individuals:
        return np.empty((0, 0), dtype=np.float32)
    return np.stack([np.asarray(ind).view(np.ndarray) for ind in individuals]).astype(
        np.float32, copy=False)


def diversity(individuals, chunk: int = 256) -> float:
    """Mean L2 distance of the genomes to their centroid, over the finite genomes
    (one NaN genome would otherwise make the centroid, and the log, NaN).

    Computed a chunk of rows at a time (no stacked copy of a large population),
    in float32 like the genomes: a diagnostic, not worth float64 temporaries.
    """
    if not individuals:
        return 0.0
    chunks = [slice(start, start + chunk) for start in range(0, len(individuals), chunk)]
    matrix = getattr(individuals, "genomes", None)  # a Generation's: no stacking needed
    if matrix is None and len(chunks) == 1:
        matrix = genome_matrix(individuals)

    def rows(part):
        genomes = matrix[part] if matrix is not None else genome_matrix(individuals[part])
        finite = np.isfinite(genomes).all(axis=1)
        return genomes if finite.all() else genomes[finite]  # no copy in the common case

    total = np.zeros(len(individuals[0]), dtype=np.float64)
    count = 0
    for part in chunks:
        genomes = rows(part)
        total += genomes.sum(axis=0, dtype=np.float64)
        count += len(genomes)
    if not count:
        return 0.0
    centroid = (total / count).astype(np.float32)
    distance = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for part in chunks:
            offsets = rows(part) - centroid  # a new array: the genomes stay untouched
            distance += float(np.sqrt(np.einsum("ij,ij->i", offsets, offsets)).sum())
    value = distance / count
    return value if np.isfinite(value) else 0.0


def fitness_array(individuals) -> np.ndarray:
    return np.array([ind.fitness.values[0] for ind in individuals], dtype=np.float64)
