"""Evaluators: score a `(P, D)` genome matrix, in process or in parallel.

Every evaluator is a context manager and a callable `evaluator(genomes) ->
(P, 2)` array (see `fitness.evaluate`). Because each row's score does not depend
on the other rows, all evaluators return bit-identical results.
"""

from __future__ import annotations

import logging

import numpy as np

from .fitness import Problem, evaluate

log = logging.getLogger("evonet")


class SerialEvaluator:
    """Batched evaluation of the whole population in this process."""

    name = "serial"
    workers = 1

    def __init__(self, problem: Problem):
        self.problem = problem

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        return evaluate(self.problem, genomes)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_evaluator(config, problem: Problem):
    """The evaluator for `config.backend` and `config.workers`."""
    return SerialEvaluator(problem)
