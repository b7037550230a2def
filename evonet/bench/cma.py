"""`evonet bench cma`: how CMA-ES's cost per generation grows with the genome size N.

For networks of growing hidden size on "Hello world!", one generation of
CMA-ES (sample, update the N x N covariance, eigendecompose it) is timed side
by side with one generation of the evolution strategy (O(N) per generation)
and with evaluating the same population, the cost every algorithm pays. Where
the CMA bookkeeping outgrows the evaluation many times over, it stops being
worth it: that decided `evonet.algorithms.cma.MAX_GENES`.
"""

from __future__ import annotations

import math

import numpy as np

from ..algorithms.cma import CovarianceMatrixAdaptation
from ..algorithms.es import EvolutionStrategy
from ..config import RunConfig
from ..evolve import build_problem
from ..fitness import evaluate
from . import median_time

HIDDEN = (16, 32, 48, 64)


class _Unlimited(CovarianceMatrixAdaptation):
    """CMA-ES without the size limit, to measure beyond it."""

    max_genes = math.inf


def add_arguments(parser) -> None:
    from ..cli import positive_int_list

    parser.add_argument("--hidden-sizes", type=positive_int_list, default=list(HIDDEN),
                        help="comma-separated hidden sizes to measure")


def _generation(algorithm, scores: np.ndarray):
    """One ask/tell with precomputed scores: the algorithm's own cost only."""
    def once():
        individuals = algorithm.ask()
        for ind, (fit, correct) in zip(individuals, scores):
            ind.fitness.values = (float(fit),)
            ind.accuracy = float(correct)
        algorithm.tell(individuals)
    return once


def run(args) -> int:
    repeats = args.repeats
    sizes = getattr(args, "hidden_sizes", list(HIDDEN))
    print("medians of", repeats, "repeats, one process (a shared machine: numbers are noisy)")
    print(f"{'hidden':>6} {'N':>6} {'evaluate s':>11} {'es s':>9} {'cma s':>9} "
          f"{'cma/evaluate':>13} {'cma/es':>8}")
    for hidden in sizes:
        config = RunConfig(hidden=hidden, backend="serial")
        _, spec, problem = build_problem(config)
        rng = np.random.default_rng(0)
        genomes = rng.standard_normal((config.population + 1, spec.size)).astype(np.float32)
        scores = evaluate(problem, genomes)
        population = genomes[:config.population]
        t_eval, _ = median_time(lambda p=problem, g=population: evaluate(p, g), repeats)
        es = EvolutionStrategy(config, spec, rng)
        t_es, _ = median_time(_generation(es, scores), repeats)
        cma = _Unlimited(config, spec, rng)
        t_cma, _ = median_time(_generation(cma, scores), repeats)
        print(f"{hidden:>6} {spec.size:>6} {t_eval:>11.4f} {t_es:>9.4f} {t_cma:>9.4f} "
              f"{t_cma / t_eval:>13.1f} {t_cma / t_es:>8.1f}", flush=True)
    return 0
