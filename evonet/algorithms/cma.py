"""CMA-ES (Hansen & Ostermeier 2001) through `deap.cma.Strategy`, for small genomes.

CMA-ES adapts a full N x N covariance matrix of its search distribution, and
eigendecomposes it every generation: O(N^2) memory and O(N^3) time per
generation. Above `MAX_GENES` parameters that dominates everything else (see
`evonet bench cma`), so the configuration is refused with a pointer to `es`,
which needs O(N) per generation.

DEAP's strategy samples from numpy's global generator; here sampling draws from
the run's seeded `Generator` instead, and the whole strategy state (centroid,
step size, covariance, its eigendecomposition, evolution paths) is
checkpointed as arrays, so runs are reproducible and resume exactly.
"""

from __future__ import annotations

import numpy as np
from deap import cma

from ..config import ConfigError
from ..individuals import make_individual
from ..network import NetworkSpec, init_genomes
from .blas import single_thread

# `evonet bench cma` (one BLAS thread, population 64, medians on a loaded 2-core machine):
# one generation took 0.08 s at N=569, 1.4 s at 1641, 11 s at 3225, 43 s at 5321, against
# milliseconds for es. Past ~2000 parameters (~2.5 s) a 500-generation run takes hours.
MAX_GENES = 2000

# Every array of the strategy that changes during a run (the rest derives from the config).
_STATE = ("centroid", "pc", "ps", "C", "diagD", "B", "BD")


def check_genome_size(size: int, limit: float = MAX_GENES) -> None:
    """Refuse genomes too large for a full covariance matrix."""
    if size > limit:
        raise ConfigError(
            f"cma: the network has {size} parameters; CMA-ES is practical up to {limit} "
            "(N x N covariance); use --algorithm es, or a smaller --hidden")


class _SeededStrategy(cma.Strategy):
    """`deap.cma.Strategy` that samples from a given `numpy.random.Generator`."""

    def __init__(self, centroid, sigma, rng: np.random.Generator, **params):
        super().__init__(centroid, sigma, **params)
        self.rng = rng

    def generate(self, ind_init):
        z = self.rng.standard_normal((self.lambda_, self.dim))
        samples = self.centroid + self.sigma * np.dot(z, self.BD.T)
        return [ind_init(s) for s in samples]


class CovarianceMatrixAdaptation:
    """CMA-ES with lambda = `population` samples per generation (ask/tell)."""

    max_genes: float = MAX_GENES

    def __init__(self, config, spec: NetworkSpec, rng: np.random.Generator):
        check_genome_size(spec.size, self.max_genes)
        self.config, self.spec, self.rng = config, spec, rng
        self.strategy: _SeededStrategy | None = None
        self.population: list = []

    def _new_strategy(self, centroid: np.ndarray) -> _SeededStrategy:
        return _SeededStrategy(centroid, self.config.es_sigma, self.rng,
                               lambda_=self.config.population)

    def ask(self) -> list:
        with single_thread():
            if self.strategy is None:
                centroid = init_genomes(self.spec, 1, self.rng)[0].astype(np.float64)
                self.strategy = self._new_strategy(centroid)
            return self.strategy.generate(make_individual)

    def tell(self, individuals: list) -> dict:
        self.population = individuals
        # deap sorts the list it is given: hand it a copy, keep the loop's order intact.
        with single_thread():
            self.strategy.update(list(individuals))
        return {"sigma": float(self.strategy.sigma), "cma_condition": float(self.strategy.cond),
                "mutation_success": None, "crossover_success": None}

    def state(self) -> dict[str, np.ndarray]:
        s = self.strategy
        arrays = {name: np.asarray(getattr(s, name)) for name in _STATE}
        arrays["sigma"] = np.array(s.sigma, dtype=np.float64)
        arrays["cond"] = np.array(s.cond, dtype=np.float64)
        arrays["update_count"] = np.array(s.update_count, dtype=np.int64)
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        s = self._new_strategy(np.array(arrays["centroid"], dtype=np.float64))
        for name in _STATE:
            setattr(s, name, np.array(arrays[name], dtype=np.float64))
        s.sigma = float(arrays["sigma"])
        s.cond = float(arrays["cond"])
        s.update_count = int(arrays["update_count"])
        self.strategy = s
        self.population = []
