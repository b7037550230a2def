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


def make_individual(genome: np.ndarray, sigma: float | None = None) -> Individual:
    """A new Individual holding a float32 copy of `genome`, with an unset fitness.

    (DEAP's own constructor goes through a Python list, far too slow for big genomes.)
    """
    ind = np.array(genome, dtype=np.float32, copy=True).view(Individual)
    ind.__init__()  # gives the view its own Fitness instance
    ind.sigma = sigma
    return ind


def genome_matrix(individuals) -> np.ndarray:
    """Stack individuals into a plain `(n, D)` float32 array (cheap to pickle, unlike them)."""
    if not individuals:
        return np.empty((0, 0), dtype=np.float32)
    return np.stack([np.asarray(ind).view(np.ndarray) for ind in individuals]).astype(
        np.float32, copy=False)


def fitness_array(individuals) -> np.ndarray:
    return np.array([ind.fitness.values[0] for ind in individuals], dtype=np.float64)
