"""OpenAI-style evolution strategy (Salimans, Ho, Chen, Sidor & Sutskever 2017).

One network, the centre, is perturbed by antithetic Gaussian noise
(`centre + sigma * eps` and `centre - sigma * eps`); the fitnesses of the
perturbations are replaced by their centered ranks (robust to outliers and to
the scale of the fitness), and the search-gradient estimate

    g = 1 / (n * sigma) * sum_i rank_i * eps_i

moves the centre through Adam (or RMSProp), with an optional L2 weight decay.
The centre itself is evaluated every generation (it is the first individual of
`ask()`), so the log shows the network the strategy actually holds.

A generation evaluates `population // 2` antithetic pairs plus the centre.

Perturbations are slices of one table of Gaussian noise drawn once per run (the
shared noise table of Salimans et al.): a generation draws `population // 2`
offsets instead of `population // 2 * D` normal deviates, which for the 342-character
text (D ~ 8,800, 256 pairs) took 29 ms of a ~170 ms generation. Slices at different
offsets often overlap, but shifted: their genes are different draws, so the
perturbations stay nearly orthogonal, as independent ones would be.
"""

from __future__ import annotations

import numpy as np

from ..individuals import fitness_array, generation, make_individual
from ..network import NetworkSpec, init_genomes
from .blas import single_thread
from .optimizers import Optimizer

# Noise table length, in floats: at least this many (1 MB), and at least
# NOISE_GENOMES genomes' worth, so that offsets rarely coincide.
NOISE_TABLE_MIN = 1 << 18
NOISE_GENOMES = 256


def noise_table(seed: int, size: int) -> np.ndarray:
    """The run's table of N(0, 1) float32 noise for genomes of `size` genes: a
    function of the seed alone, so a resumed run rebuilds the same table."""
    length = max(NOISE_TABLE_MIN, NOISE_GENOMES * size)
    # Its own stream (not the run's rng): building it must not shift the run's draws.
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    return rng.standard_normal(length, dtype=np.float32)


def centered_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of `values` scaled to [-0.5, 0.5] (ties broken by position, deterministically)."""
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[np.argsort(values, kind="stable")] = np.arange(len(values))
    return ranks / max(len(values) - 1, 1) - 0.5


class EvolutionStrategy:
    """Antithetic-sampling ES with rank shaping and an Adam step (ask/tell)."""

    def __init__(self, config, spec: NetworkSpec, rng: np.random.Generator):
        self.config, self.spec, self.rng = config, spec, rng
        self.pairs = max(config.population // 2, 1)
        self.sigma = config.es_sigma
        self.centre: np.ndarray | None = None
        self.optimizer = Optimizer(config.optimizer, spec.size, config.learning_rate,
                                   config.weight_decay,
                                   config.lr_half_life)
        self.population: list = []
        self._eps: np.ndarray | None = None
        self._centre_evaluated = None
        self._noise = np.lib.stride_tricks.sliding_window_view(
            noise_table(config.seed, spec.size), spec.size)  # row k: the slice at offset k

    def ask(self) -> list:
        if self.centre is None:
            self.centre = init_genomes(self.spec, 1, self.rng)[0].astype(np.float64)
        offsets = self.rng.integers(0, len(self._noise), size=self.pairs)
        self._eps = self._noise[offsets]  # fancy indexing copies the slices
        centre = self.centre.astype(np.float32)
        pairs = self.pairs
        genomes = np.empty((2 * pairs + 1, self.spec.size), dtype=np.float32)
        genomes[0] = centre
        # Built in place: the noise goes to the last rows, then each half is written
        # from it (centre + noise, centre - noise) without another temporary.
        noise = np.multiply(self._eps, np.float32(self.sigma), out=genomes[pairs + 1:])
        np.add(centre, noise, out=genomes[1:pairs + 1])
        np.subtract(centre, noise, out=noise)
        return generation(genomes)

    def champion(self):
        """The centre as last evaluated: what the loop logs and saves as the best
        network (the ES's product is its centre, not its luckiest perturbation)."""
        return self._centre_evaluated

    def tell(self, individuals: list) -> dict:
        self.population = individuals
        self._centre_evaluated = individuals[0]
        fitness = fitness_array(individuals)
        centre_fitness, perturbed = fitness[0], fitness[1:]
        ranks = centered_ranks(perturbed)
        weights = ranks[:self.pairs] - ranks[self.pairs:]  # antithetic pairs share one eps
        with single_thread():
            gradient = weights @ self._eps.astype(np.float64) / (2 * self.pairs * self.sigma)
        change = self.optimizer.step(gradient, self.centre)
        self.centre = self.centre + change
        self._eps = None
        return {
            "sigma": self.sigma,
            "centre_fitness": float(centre_fitness),
            "centre_correct": float(individuals[0].accuracy),  # next characters right
            # the ES analogue of a mutation's success: a perturbation beating the centre
            "mutation_success": float((perturbed > centre_fitness).mean()),
            "crossover_success": None,
            "mean_step": float(np.linalg.norm(change)),
        }

    def state(self) -> dict[str, np.ndarray]:
        arrays = {"centre": self.centre, **self.optimizer.state()}
        if self._centre_evaluated is not None:  # the logged best, restored on resume
            evaluated = self._centre_evaluated
            arrays["champion"] = np.asarray(evaluated)
            arrays["champion_scores"] = np.array([evaluated.fitness.values[0],
                                                  evaluated.accuracy])
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.centre = np.array(arrays["centre"], dtype=np.float64)
        self.optimizer.load_state(arrays)
        self.population = []
        self._centre_evaluated = None
        if "champion" in arrays:
            champion = make_individual(arrays["champion"])
            fitness, accuracy = arrays["champion_scores"]
            champion.fitness.values, champion.accuracy = (float(fitness),), float(accuracy)
            self._centre_evaluated = champion
