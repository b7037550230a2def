"""How well each network regenerates the target text, under teacher forcing.

Each network reads the text one character at a time and is scored on its
predictions of the next character. Fitness functions are pure module-level
functions `f(logits (P, T, V) float32, targets (T,) int) -> (P,) float`, all to
be maximised; users can plug in their own as `package.module:function`.

Every evaluation also counts the next characters predicted exactly by argmax:
when all are, greedy free-running generation reproduces the text exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .network import NetworkSpec, hidden_states, output_logits
from .plugins import resolve

# Fitness given to a network whose weights or outputs are not finite: finite, so
# statistics and selection stay valid, and below anything a real network scores.
WORST_FITNESS = -1e9

FitnessFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

# Above this fraction of (network, step) pairs to check for a tie, one comparison
# pass over all the logits is cheaper than gathering the suspects' rows.
GATHER_FRACTION = 0.05

# Logits scored together after the recurrence, in floats (1 MiB): measured on an
# idle machine, blocks of 2**18 to 2**19 floats beat the whole population by ~5% and
# 2**16 (L2-sized, but twice the per-block Python calls) by ~20%; `evonet bench kernel`.
BLOCK_FLOATS = 1 << 18


def _shifted_exp_sum(logits: np.ndarray, top: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """`(max, sum(exp(logits - max)))` over the last axis, with one `(P, T, V)`
    temporary (exponentiated in place); `top`: the max, if known already."""
    if top is None:
        top = logits.max(axis=-1, keepdims=True)
    shifted = np.subtract(logits, top)
    np.exp(shifted, out=shifted)
    return top, shifted.sum(axis=-1, keepdims=True)


def _shifted_logsumexp(logits: np.ndarray, top: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """`(max, log(sum(exp(logits - max))))` over the last axis."""
    top, total = _shifted_exp_sum(logits, top)
    return top, np.log(total)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    top, lse = _shifted_logsumexp(logits)
    out = np.subtract(logits, top)
    out -= lse
    return out


def loglik(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean log-probability of each next character: smooth, the best guide for selection."""
    # Only the target's log-probability is needed: log p = logit - max - logsumexp,
    # computed on (P, T) values instead of a full (P, T, V) log-softmax.
    top, lse = _shifted_logsumexp(logits)
    picked = _target_logits(logits, targets)
    return (picked - top[..., 0] - lse[..., 0]).mean(axis=1, dtype=np.float64)


def accuracy(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Number of next characters predicted exactly by argmax (a plateau-prone step function)."""
    return (logits.argmax(axis=-1) == targets[None, :]).sum(axis=1).astype(np.float64)


def _target_logits(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """`(P, T)` logit of each target character, `logits[p, t, targets[t]]`.

    On the `(P, V, T)` memory layout of `output_logits` this is one `take` of flat
    indices, ~4x cheaper than `take_along_axis`, which builds broadcast index arrays.
    """
    stored = logits.transpose(0, 2, 1)
    if stored.flags.c_contiguous:
        rows, vocab, steps = stored.shape
        flat = targets.astype(np.intp, copy=False) * steps + np.arange(steps)  # no overflow
        return stored.reshape(rows, vocab * steps).take(flat, axis=1)
    return np.take_along_axis(logits, targets[None, :, None], axis=-1)[..., 0]


def _max_counts(logits: np.ndarray, top: np.ndarray) -> np.ndarray:
    """`(P, T)` number of logits equal to the maximum `top`.

    Summed as bytes, not as booleans: numpy casts a boolean sum to int64 element by
    element, which took ~3x as long as the comparison itself.
    """
    vocab = logits.shape[-1]
    dtype = np.uint8 if vocab < 2**8 else np.uint16 if vocab < 2**16 else np.int64
    return np.add.reduce((logits == top).view(np.uint8), axis=-1, dtype=dtype)


def _count_correct(logits: np.ndarray, targets: np.ndarray, top: np.ndarray | None = None,
                   untied: np.ndarray | None = None) -> np.ndarray:
    """`accuracy` without argmax, which copies the logits when V is not their contiguous
    axis (`output_logits`): a target is right when its logit is the maximum, unless
    a tie puts an earlier maximum first (argmax takes the first). `top`: the max over
    the last axis, if known already; `untied`: `(P, T)` True where a tie for the
    maximum is known to be impossible, so only the other hits are checked for one."""
    if top is None:
        top = logits.max(axis=-1, keepdims=True)
    hit = _target_logits(logits, targets) == top[..., 0]
    suspects = hit if untied is None else hit & ~untied
    if untied is None or np.count_nonzero(suspects) > GATHER_FRACTION * suspects.size:
        tied = suspects & (_max_counts(logits, top) > 1)
    else:
        rows, steps = np.nonzero(suspects)
        tied = np.zeros_like(hit)
        tied[rows, steps] = (logits[rows, steps] == top[rows, steps]).sum(axis=-1) > 1
    if tied.any():  # rare: exact float ties
        rows, steps = np.nonzero(tied)
        hit[rows, steps] = logits[rows, steps].argmax(axis=-1) == targets[steps]
    return hit.sum(axis=1).astype(np.float64)


def _loglik_and_correct(logits: np.ndarray, targets: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """`loglik` and `_count_correct` sharing one max over the vocabulary: the same
    bits as calling both, one pass over the logits fewer (~0.6 of ~28 ms for 256
    networks of 64 units on 130 characters).

    The sum of `exp(logit - max)` also rules ties out cheaply: each logit equal to
    the max adds exactly exp(0) = 1, so where the sum is below 2 the maximum is
    unique, and the tie check is left to the few other positions.
    """
    top = logits.max(axis=-1, keepdims=True)
    top, total = _shifted_exp_sum(logits, top)
    picked = _target_logits(logits, targets)
    scores = (picked - top[..., 0] - np.log(total[..., 0])).mean(axis=1, dtype=np.float64)
    return scores, _count_correct(logits, targets, top, untied=total[..., 0] < 2)


def mse(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Minus the mean squared error of the softmax output against the one-hot target."""
    probs = np.exp(log_softmax(logits))
    onehot = np.zeros_like(probs)
    np.put_along_axis(onehot, targets[None, :, None], 1.0, axis=-1)
    return -((probs - onehot) ** 2).sum(axis=-1).mean(axis=1, dtype=np.float64)


FITNESS_FUNCTIONS: dict[str, FitnessFn] = {"loglik": loglik, "accuracy": accuracy, "mse": mse}


@dataclass(frozen=True)
class Problem:
    """Everything a worker needs to score genomes; sent to each worker once.

    Attributes:
        spec: network shape.
        inputs: character indices fed in (all but the last of the text).
        targets: character indices to predict (all but the first).
        fitness: a built-in fitness name or `package.module:function`.
    """

    spec: NetworkSpec
    inputs: np.ndarray
    targets: np.ndarray
    fitness: str = "loglik"

    def fitness_fn(self) -> FitnessFn:
        return resolve(self.fitness, FITNESS_FUNCTIONS, "fitness")


def evaluate(problem: Problem, genomes: np.ndarray) -> np.ndarray:
    """Score a block of genomes.

    Args:
        problem: the task and network shape.
        genomes: `(n, D)` float32 genome rows.

    Returns:
        `(n, 2)` float64: column 0 the fitness (to maximise), column 1 the number
        of next characters predicted exactly. Non-finite networks get
        `WORST_FITNESS` and 0.
    """
    genomes = np.ascontiguousarray(genomes, dtype=np.float32)
    spec, targets, fitness_fn = problem.spec, problem.targets, problem.fitness_fn()
    result = np.empty((len(genomes), 2), dtype=np.float64)
    with np.errstate(all="ignore"):
        # The recurrence runs for all rows at once (its Python overhead is per step);
        # the output layer and the fitness, which make several passes over the
        # (n, T, V) logits, run on row blocks small enough to stay in cache.
        states = hidden_states(spec, genomes, problem.inputs)
        block = max(1, BLOCK_FLOATS // (len(targets) * spec.vocab_size))
        for start in range(0, len(genomes), block):
            rows = slice(start, start + block)
            logits = output_logits(spec, genomes[rows], states[:, rows])
            if fitness_fn is loglik:
                scores, correct = _loglik_and_correct(logits, targets)
            else:
                scores = np.asarray(fitness_fn(logits, targets), dtype=np.float64)
                if scores.shape != (len(logits),):  # a scalar would broadcast silently
                    raise ValueError(f"fitness {problem.fitness!r} returned shape "
                                     f"{scores.shape} for {len(logits)} networks; expected "
                                     f"({len(logits)},): one score per network")
                correct = _count_correct(logits, targets)
            broken = ~np.isfinite(scores) | ~np.isfinite(logits).all(axis=(1, 2))
            result[rows, 0] = np.where(broken, WORST_FITNESS, scores)
            result[rows, 1] = np.where(broken, 0.0, correct)
    return result
