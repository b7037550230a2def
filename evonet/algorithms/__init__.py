"""Search algorithms behind one ask/tell interface, so one loop, one log format,
one checkpoint format and every evaluator serve them all (the pattern of
`deap.cma.Strategy`'s generate/update).

An algorithm object has:
- `ask() -> list[Individual]`: the individuals of this generation; those whose
  fitness is already valid are not evaluated again;
- `tell(individuals) -> dict`: take the evaluated individuals, return the
  algorithm's diagnostics for the log record;
- `state() -> dict[str, numpy.ndarray]` and `load_state(arrays)`: everything
  needed to continue exactly, as plain arrays (checkpoints hold no pickle).
"""

from __future__ import annotations

from .cma import CovarianceMatrixAdaptation
from .es import EvolutionStrategy
from .ga import GeneticAlgorithm
from .gradient import GradientAscent

ALGORITHMS = {"ga": GeneticAlgorithm, "es": EvolutionStrategy,
              "cma": CovarianceMatrixAdaptation, "gradient": GradientAscent}


def make_algorithm(config, spec, rng):
    """Build the algorithm named by `config.algorithm`."""
    return ALGORITHMS[config.algorithm](config, spec, rng)
