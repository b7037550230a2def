"""Deliberately broken operators, each one classic bug, for the diagnostics tests.

Importable as `broken_operators:NAME` once this folder is on `sys.path` (the tests
put it there), so they also go through the `package.module:function` plugin path.
"""

from __future__ import annotations

import numpy as np


def mut_writes_old_value_back(ind, rng, sigma, indpb):
    """Meant to undo steps that leave [-5, 5]; the inverted test undoes every step."""
    old = ind.copy()
    mask = rng.random(len(ind)) < indpb
    ind[mask] += (sigma * rng.standard_normal(int(mask.sum()))).astype(np.float32)
    inside = np.abs(ind) <= 5.0  # bug: should select the genes *outside* the bounds
    ind[inside] = old[inside]
    return (ind,)


def mut_returns_new_array(ind, rng, sigma):
    """DEAP's stale-fitness trap: a numpy expression makes a new Individual whose
    fitness still looks valid; the individual passed in is never changed."""
    noise = (sigma * rng.standard_normal(len(ind))).astype(np.float32)
    return (ind + noise,)


def mut_zero_step(ind, rng, sigma, indpb):
    """The step is cast to int before it is added: every step rounds to 0."""
    mask = rng.random(len(ind)) < indpb
    ind[mask] += (sigma * rng.standard_normal(int(mask.sum()))).astype(np.int32)
    return (ind,)


def mut_nan(ind, rng):
    """Divides by a gene that can be 0: writes NaN and inf."""
    i = int(rng.integers(len(ind)))
    ind[i] = np.float32(np.inf)
    return (ind,)


def mut_huge_step(ind, rng):
    """A step a hundred times the weights' scale: every mutant is much worse."""
    ind[:] += (100.0 * rng.standard_normal(len(ind))).astype(np.float32)
    return (ind,)


def mut_no_tuple(ind, rng, sigma):
    """Returns the individual itself instead of DEAP's 1-tuple `(ind,)`."""
    ind[0] += np.float32(sigma)
    return ind


def mut_raises(ind, rng, scale):
    """Needs a keyword (`scale`) that no config provides."""
    ind[:] *= scale
    return (ind,)


def cx_swap_without_copy(ind1, ind2, rng):
    """One-point crossover that swaps views: `tail` still looks into ind1, so after
    ind1's tail is overwritten both children carry ind2's tail."""
    point = int(rng.integers(1, len(ind1)))
    tail = ind1[point:]  # bug: a view, not a copy
    ind1[point:] = ind2[point:]
    ind2[point:] = tail
    return ind1, ind2


def cx_returns_new_arrays(ind1, ind2, rng):
    """Arithmetic crossover that builds new arrays instead of changing its arguments."""
    return (ind1 + ind2) / 2, (ind1 - ind2) / 2
