"""How well each network regenerates the target text, under teacher forcing.

Each network reads the text one character at a time and is scored on its
predictions of the next character. Fitness functions are pure module-level
functions `f(logits (P, T, V) float32, targets (T,) int) -> (P,) float`, all to
be maximised; users can plug in their own as `package.module:function`.

Every evaluation also counts the next characters predicted exactly by argmax:
when all are, greedy free-running generation reproduces the text exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .network import NetworkSpec, forward
from .plugins import resolve

# Fitness given to a network whose weights or outputs are not finite: finite, so
# statistics and selection stay valid, and below anything a real network scores.
WORST_FITNESS = -1e9

FitnessFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def loglik(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean log-probability of each next character: smooth, the best guide for selection."""
    logp = log_softmax(logits)
    picked = np.take_along_axis(logp, targets[None, :, None], axis=-1)[..., 0]
    return picked.mean(axis=1, dtype=np.float64)


def accuracy(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Number of next characters predicted exactly by argmax (a plateau-prone step function)."""
    return (logits.argmax(axis=-1) == targets[None, :]).sum(axis=1).astype(np.float64)


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
    with np.errstate(all="ignore"):
        logits = forward(problem.spec, genomes, problem.inputs)
        scores = np.asarray(problem.fitness_fn()(logits, problem.targets), dtype=np.float64)
        correct = accuracy(logits, problem.targets)
    broken = ~np.isfinite(scores) | ~np.isfinite(logits).all(axis=(1, 2))
    scores[broken] = WORST_FITNESS
    correct[broken] = 0.0
    return np.stack([scores, correct], axis=1)
