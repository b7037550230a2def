"""Crossover and mutation operators on flat float32 genomes, with DEAP's signatures.

Every operator changes its individuals in place and returns them as a tuple
(`(child1, child2)` for crossover, `(mutant,)` for mutation), as DEAP expects.
Slices of numpy individuals are views, so anything swapped is copied first, and
no operator returns a fresh array: a new array would carry a stale fitness.

The built-in operators work on the last axis, so the GA calls each of them once
on a whole batch of rows (`(n, D)` for n individuals, pairs as two `(n, D)`
batches) instead of once per individual: the Python overhead is per generation,
not per child. A user operator (`package.module:function`) is called once per
individual, DEAP style.

Randomness comes from the `rng` (a `numpy.random.Generator`) passed in by the
loop; other keyword arguments (`sigma`, `indpb`, `alpha`, `unit_of_gene`, ...)
are bound from the run config. A user operator receives only the keywords its
signature names (see `bind`).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .plugins import resolve


def batched(func: Callable) -> Callable:
    """Mark an operator that accepts `(n, D)` batches as well as single genomes."""
    func.batched = True
    return func


class GenomeBatch(np.ndarray):
    """Rows of genomes with their own step sizes (`sigma`, shape `(n,)`), for
    self-adaptive mutation of a whole batch at once."""

    sigma = None


def _per_row(value, genomes: np.ndarray) -> np.ndarray:
    """A scalar or per-row value, broadcast to every gene of `genomes`."""
    value = np.asarray(value, dtype=np.float32)
    return np.broadcast_to(value[..., None] if value.ndim else value, genomes.shape)


def _swap(ind1, ind2, mask) -> None:
    # np.where over whole rows, not boolean indexing: a gather and two scatters
    # cost ~7x more on a generation's (n, D) batch.
    swapped = np.where(mask, ind2, ind1)
    ind2[...] = np.where(mask, ind1, ind2)
    ind1[...] = swapped


# --------------------------------------------------------------------------- crossover


@batched
def cx_uniform(ind1, ind2, *, rng: np.random.Generator, cx_indpb: float = 0.5):
    """Each gene comes from either parent with probability `cx_indpb`."""
    _swap(ind1, ind2, rng.random(ind1.shape) < cx_indpb)
    return ind1, ind2


@batched
def cx_one_point(ind1, ind2, *, rng: np.random.Generator):
    """Swap the tails after one random cut point (one per pair)."""
    size = ind1.shape[-1]
    points = rng.integers(1, size, size=ind1.shape[:-1] + (1,)) if size > 1 else 0
    _swap(ind1, ind2, np.arange(size) >= points)
    return ind1, ind2


@batched
def cx_blend(ind1, ind2, *, rng: np.random.Generator, alpha: float = 0.5):
    """BLX-alpha: each gene drawn between (and up to alpha beyond) the parents' values."""
    gamma = ((1.0 + 2.0 * alpha) * rng.random(ind1.shape) - alpha).astype(np.float32)
    x1, x2 = ind1.copy(), ind2.copy()  # the in-place writes below would otherwise mix them
    ind1[...] = (1.0 - gamma) * x1 + gamma * x2
    ind2[...] = gamma * x1 + (1.0 - gamma) * x2
    return ind1, ind2


@batched
def cx_neuron(ind1, ind2, *, rng: np.random.Generator, unit_of_gene: np.ndarray):
    """Whole hidden units travel together: a unit's incoming weights, bias and
    outgoing weights come from the same parent (genes of no unit: coin flip)."""
    n_units = int(unit_of_gene.max()) + 1
    # The last column decides the genes owned by no unit (index -1).
    take = rng.random(ind1.shape[:-1] + (n_units + 1,)) < 0.5
    _swap(ind1, ind2, take[..., unit_of_gene])
    return ind1, ind2


@batched
def cx_none(ind1, ind2):
    """No crossover: children are copies of their parents."""
    return ind1, ind2


# --------------------------------------------------------------------------- mutation


@batched
def mut_gaussian(ind, *, rng: np.random.Generator, sigma, indpb: float):
    """Add N(0, sigma^2) noise to each gene with probability `indpb` (`sigma`
    may be one value per row)."""
    mask = rng.random(ind.shape, dtype=np.float32) < indpb
    noise = rng.standard_normal(np.count_nonzero(mask), dtype=np.float32)
    if np.ndim(sigma) != 0:
        noise *= _per_row(sigma, ind)[mask]
    elif sigma != 1.0:  # the common case: skip broadcasting sigma to every gene
        noise *= np.float32(sigma)
    if ind.flags.c_contiguous:
        # Flat indices of the ~indpb genes hit: ~4x cheaper than a boolean-mask
        # gather and scatter over the whole batch.
        ind.reshape(-1)[np.flatnonzero(mask)] += noise
    else:
        ind[mask] += noise
    return (ind,)


@batched
def mut_self_adaptive(ind, *, rng: np.random.Generator, sigma: float, indpb: float):
    """Log-normal self-adaptation (Schwefel): each individual's own step size
    (`ind.sigma`) mutates first, then drives a Gaussian mutation of its genes."""
    rows = ind.shape[:-1]
    own = getattr(ind, "sigma", None)
    own = np.full(rows, sigma, dtype=np.float64) if own is None else np.asarray(
        own, dtype=np.float64).copy()
    own[~np.isfinite(own)] = sigma
    tau = 1.0 / math.sqrt(2.0 * math.sqrt(max(ind.shape[-1], 1)))
    own = np.clip(own * np.exp(tau * rng.standard_normal(rows)), 1e-6, 10.0)
    ind.sigma = own if rows else float(own)
    return mut_gaussian(ind, rng=rng, sigma=own, indpb=indpb)


@batched
def mut_point(ind, *, rng: np.random.Generator, sigma: float):
    """Classic point mutation: one random gene gets a fresh N(0, sigma^2) value."""
    flat = ind.reshape(-1, ind.shape[-1])  # a view: writes land in `ind`
    genes = rng.integers(ind.shape[-1], size=len(flat))
    flat[np.arange(len(flat)), genes] = sigma * rng.standard_normal(len(flat), np.float32)
    return (ind,)


def _two_genes(rng: np.random.Generator, rows: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct gene positions per row, the first the smaller."""
    first = rng.integers(size, size=rows)
    second = (first + rng.integers(1, size, size=rows)) % size
    return np.minimum(first, second), np.maximum(first, second)


@batched
def mut_swap(ind, *, rng: np.random.Generator):
    """Exchange the values of two distinct random genes."""
    if ind.shape[-1] > 1:
        flat = ind.reshape(-1, ind.shape[-1])
        rows = np.arange(len(flat))
        i, j = _two_genes(rng, len(flat), ind.shape[-1])
        flat[rows, i], flat[rows, j] = flat[rows, j], flat[rows, i]  # fancy reads copy
    return (ind,)


@batched
def mut_insert(ind, *, rng: np.random.Generator):
    """Take one gene out and reinsert it elsewhere, shifting the genes between."""
    if ind.shape[-1] > 1:
        flat = ind.reshape(-1, ind.shape[-1])
        i, j = _two_genes(rng, len(flat), ind.shape[-1])
        for row, start, stop in zip(flat, i, j):
            row[start:stop + 1] = np.roll(row[start:stop + 1].copy(), 1)
    return (ind,)


@batched
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


def operator_keywords(config, spec, rng: np.random.Generator) -> dict[str, Any]:
    """The keywords an operator may take (`bind` passes those it names), from the run's
    config and network spec."""
    return {"rng": rng, "sigma": config.sigma, "indpb": config.indpb,
            "cx_indpb": config.cx_indpb, "alpha": config.alpha,
            "unit_of_gene": spec.unit_of_gene()}


def apply_operator(operator: Callable, *individuals) -> None:
    """Call a DEAP operator and keep our individuals: if it returned new arrays
    instead of changing its arguments in place (the stale-fitness trap), copy
    their values back so the change is neither lost nor left unevaluated."""
    returned = operator(*individuals)
    for ind, new in zip(individuals, returned):
        if new is not ind:
            ind[:] = np.asarray(new, dtype=np.float32)
            if getattr(new, "sigma", None) is not None:
                ind.sigma = new.sigma


def crossover(name: str) -> Callable:
    return resolve(name, CROSSOVERS, "crossover")


def mutation(name: str) -> Callable:
    return resolve(name, MUTATIONS, "mutation")
