"""The Mann-Whitney U test (two-sided), exact for small samples with ties,
normal approximation with tie correction beyond: what `evonet check --ablation`
uses to say whether an operator matters, without a SciPy dependency.
"""

from __future__ import annotations

import math

import numpy as np

EXACT_LIMIT = 60  # exact p-values up to this many runs in all (counts stay exact in float64)


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    for stop in range(1, len(values) + 1):
        if stop == len(values) or sorted_values[stop] != sorted_values[start]:
            ranks[order[start:stop]] = (start + stop + 1) / 2
            start = stop
    return ranks


def mann_whitney_u(x, y) -> tuple[float, float]:
    """Two-sided Mann-Whitney U test of `x` against `y`.

    Returns:
        `(U, p)`: U of `x` (how often an x beats a y, ties counting half) and the
        p-value: exact (all splits of the pooled ranks, ties included) when there
        are at most `EXACT_LIMIT` values, else the normal approximation with tie
        and continuity corrections.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks = _midranks(np.concatenate([x, y]))
    u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    if n1 + n2 <= EXACT_LIMIT:
        return u, _exact_p(ranks, n1, u)
    return u, _normal_p(ranks, n1, n2, u)


def _exact_p(ranks: np.ndarray, n1: int, u: float) -> float:
    """P(|U - mean| >= |u - mean|) over all C(n, n1) equally likely splits, by counting
    subsets of each size and (doubled, so integer) rank sum."""
    doubled = np.rint(2 * ranks).astype(np.int64)
    total = int(doubled.sum())
    counts = np.zeros((n1 + 1, total + 1))
    counts[0, 0] = 1.0
    for r in doubled:
        counts[1:, r:] += counts[:-1, : total + 1 - r].copy()
    sums = np.arange(total + 1) / 2.0 - n1 * (n1 + 1) / 2  # U for each rank sum
    mean = n1 * (len(ranks) - n1) / 2
    extreme = np.abs(sums - mean) >= abs(u - mean) - 1e-9
    return float(min(1.0, counts[n1, extreme].sum() / counts[n1].sum()))


def _normal_p(ranks: np.ndarray, n1: int, n2: int, u: float) -> float:
    n = n1 + n2
    _, ties = np.unique(ranks, return_counts=True)
    variance = n1 * n2 / 12 * ((n + 1) - (ties**3 - ties).sum() / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = max(abs(u - n1 * n2 / 2) - 0.5, 0.0) / math.sqrt(variance)
    return float(min(1.0, math.erfc(z / math.sqrt(2))))


def min_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value an exact test of n1 against n2 values can reach."""
    return min(1.0, 2 / math.comb(n1 + n2, n1))
