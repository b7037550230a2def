"""Crossover and mutation operators on flat float32 genomes, with DEAP's signatures.

Every operator changes its individuals in place and returns them as a tuple
(`(child1, child2)` for crossover, `(mutant,)` for mutation), as DEAP expects.
Slices of numpy individuals are views, so anything swapped is copied first, and
no operator returns a fresh array: a new array would carry a stale fitness.

Randomness comes from the `rng` (a `numpy.random.Generator`) passed in by the
loop; other keyword arguments (`sigma`, `indpb`, `alpha`, `unit_of_gene`, ...)
are bound from the run config. A user operator receives only the keywords its
signature names (see `bind`).
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Callable

import numpy as np

from .plugins import resolve

# --------------------------------------------------------------------------- crossover


def cx_uniform(ind1, ind2, *, rng: np.random.Generator, cx_indpb: float = 0.5):
    """Each gene comes from either parent with probability `cx_indpb`."""
    mask = rng.random(len(ind1)) < cx_indpb
    swapped = ind1[mask]  # boolean indexing copies
    ind1[mask] = ind2[mask]
    ind2[mask] = swapped
    return ind1, ind2


def cx_one_point(ind1, ind2, *, rng: np.random.Generator):
    """Swap the tails after one random cut point."""
    point = int(rng.integers(1, len(ind1))) if len(ind1) > 1 else 0
    tail = ind1[point:].copy()  # a view otherwise: the next line would overwrite it
    ind1[point:] = ind2[point:]
    ind2[point:] = tail
    return ind1, ind2


def cx_blend(ind1, ind2, *, rng: np.random.Generator, alpha: float = 0.5):
    """BLX-alpha: each gene drawn between (and up to alpha beyond) the parents' values."""
    gamma = ((1.0 + 2.0 * alpha) * rng.random(len(ind1)) - alpha).astype(np.float32)
    x1, x2 = ind1.copy(), ind2.copy()
    ind1[:] = (1.0 - gamma) * x1 + gamma * x2
    ind2[:] = gamma * x1 + (1.0 - gamma) * x2
    return ind1, ind2


def cx_neuron(ind1, ind2, *, rng: np.random.Generator, unit_of_gene: np.ndarray):
    """Whole hidden units travel together: a unit's incoming weights, bias and
    outgoing weights come from the same parent (genes of no unit: coin flip)."""
    n_units = int(unit_of_gene.max()) + 1
    take = rng.random(n_units + 1) < 0.5  # last entry decides the genes owned by no unit (-1)
    mask = take[unit_of_gene]
    swapped = ind1[mask]
    ind1[mask] = ind2[mask]
    ind2[mask] = swapped
    return ind1, ind2


def cx_none(ind1, ind2):
    """No crossover: children are copies of their parents."""
    return ind1, ind2


# --------------------------------------------------------------------------- mutation


def mut_gaussian(ind, *, rng: np.random.Generator, sigma: float, indpb: float):
    """Add N(0, sigma^2) noise to each gene with probability `indpb`."""
    mask = rng.random(len(ind)) < indpb
    ind[mask] += (sigma * rng.standard_normal(int(mask.sum()))).astype(np.float32)
    return (ind,)


def mut_self_adaptive(ind, *, rng: np.random.Generator, sigma: float, indpb: float):
    """Log-normal self-adaptation (Schwefel): the individual's own step size
    `ind.sigma` mutates first, then drives a Gaussian mutation of the genes."""
    own = getattr(ind, "sigma", None)
    own = sigma if own is None or not np.isfinite(own) else float(own)
    tau = 1.0 / math.sqrt(2.0 * math.sqrt(max(len(ind), 1)))
    own = float(np.clip(own * math.exp(tau * rng.standard_normal()), 1e-6, 10.0))
    ind.sigma = own
    return mut_gaussian(ind, rng=rng, sigma=own, indpb=indpb)


def mut_point(ind, *, rng: np.random.Generator, sigma: float):
    """Classic point mutation: one random gene gets a fresh N(0, sigma^2) value."""
    ind[int(rng.integers(len(ind)))] = np.float32(sigma * rng.standard_normal())
    return (ind,)


def mut_swap(ind, *, rng: np.random.Generator):
    """Exchange the values of two distinct random genes."""
    if len(ind) > 1:
        i, j = rng.choice(len(ind), size=2, replace=False)
        ind[i], ind[j] = ind[j], ind[i]  # numpy scalars are copies, so this swap is safe
    return (ind,)


def mut_insert(ind, *, rng: np.random.Generator):
    """Take one gene out and reinsert it elsewhere, shifting the genes between."""
    if len(ind) > 1:
        i, j = sorted(rng.choice(len(ind), size=2, replace=False))
        ind[i:j + 1] = np.roll(ind[i:j + 1].copy(), 1)
    return (ind,)


def mut_none(ind):
    """No mutation."""
    return (ind,)


CROSSOVERS: dict[str, Callable] = {
    "uniform": cx_uniform,
    "one_point": cx_one_point,
    "blend": cx_blend,
    "neuron": cx_neuron,
    "none": cx_none,
}
MUTATIONS: dict[str, Callable] = {
    "gaussian": mut_gaussian,
    "self_adaptive": mut_self_adaptive,
    "point": mut_point,
    "swap": mut_swap,
    "insert": mut_insert,
    "none": mut_none,
}


def bind(func: Callable, available: dict[str, Any]) -> Callable:
    """Partially apply the keywords among `available` that `func` accepts.

    A user operator `def my_mutation(ind, rng, sigma)` gets `rng` and `sigma`;
    one that takes `**kwargs` gets everything.
    """
    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return functools.partial(func, **available)
    wanted = {name: available[name] for name in params if name in available}
    return functools.partial(func, **wanted)


def crossover(name: str) -> Callable:
    return resolve(name, CROSSOVERS, "crossover")


def mutation(name: str) -> Callable:
    return resolve(name, MUTATIONS, "mutation")
