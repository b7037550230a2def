"""The genetic algorithm: selection with elitism, crossover, mutation (DEAP's varAnd).

Each generation keeps the `elite` best unchanged, selects parents for the rest,
crosses pairs with probability `cxpb`, mutates children with probability
`mutpb`, and invalidates the fitness of every child an operator touched so that
it is evaluated again. It also records, for free, what the operators did:
how many children mutation really changed, how far, and how often a child beat
its parents.
"""

from __future__ import annotations

import numpy as np
from deap import base, tools

from ..individuals import fitness_array, genome_matrix, make_individual
from ..network import NetworkSpec, init_genomes
from ..operators import bind, crossover, mutation


def _apply(operator, *individuals):
    """Call a DEAP operator and keep our individuals: if it returned new arrays
    instead of changing its arguments in place (the stale-fitness trap), copy
    their values back so the change is neither lost nor left unevaluated."""
    returned = operator(*individuals)
    for ind, new in zip(individuals, returned):
        if new is not ind:
            ind[:] = np.asarray(new, dtype=np.float32)
            if getattr(new, "sigma", None) is not None:
                ind.sigma = new.sigma


class GeneticAlgorithm:
    """Generational GA with elitism over float32 genomes."""

    def __init__(self, config, spec: NetworkSpec, rng: np.random.Generator):
        self.config, self.spec, self.rng = config, spec, rng
        self.population: list = []
        self._pending: dict = {}
        toolbox = base.Toolbox()
        available = {"rng": rng, "sigma": config.sigma, "indpb": config.indpb,
                     "cx_indpb": config.cx_indpb, "alpha": config.alpha,
                     "unit_of_gene": spec.unit_of_gene()}
        toolbox.register("mate", bind(crossover(config.crossover), available))
        toolbox.register("mutate", bind(mutation(config.mutation), available))
        if config.selection == "tournament":
            toolbox.register("select", tools.selTournament, tournsize=config.tournsize)
        else:
            toolbox.register("select", tools.selBest)
        toolbox.register("clone", self._clone)
        self.toolbox = toolbox

    @staticmethod
    def _clone(ind):
        child = make_individual(ind, ind.sigma)
        if ind.fitness.valid:
            child.fitness.values = ind.fitness.values
            child.accuracy = ind.accuracy
        return child

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> list:
        if not self.population:
            sigma = self.config.sigma if self.config.mutation == "self_adaptive" else None
            genomes = init_genomes(self.spec, self.config.population, self.rng)
            return [make_individual(g, sigma) for g in genomes]

        cfg, toolbox = self.config, self.toolbox
        elites = [toolbox.clone(ind) for ind in tools.selBest(self.population, cfg.elite)]
        # DEAP's selection draws from Python's `random`, seeded and checkpointed with the run.
        parents = toolbox.select(self.population, cfg.population - cfg.elite)
        children = [toolbox.clone(p) for p in parents]
        n = len(children)
        parent_fitness = fitness_array(parents)
        best_parent = parent_fitness.copy()
        crossed = np.zeros(n, dtype=bool)
        for i in range(1, n, 2):
            if self.rng.random() < cfg.cxpb:
                _apply(toolbox.mate, children[i - 1], children[i])
                crossed[i - 1] = crossed[i] = True
                best_parent[i - 1] = best_parent[i] = max(parent_fitness[i - 1],
                                                          parent_fitness[i])
        before = genome_matrix(children)
        mutated = self.rng.random(n) < cfg.mutpb
        for i in np.flatnonzero(mutated):
            _apply(toolbox.mutate, children[i])
        for i in np.flatnonzero(crossed | mutated):
            del children[i].fitness.values
        steps = np.linalg.norm(genome_matrix(children) - before, axis=1) if n else np.zeros(0)
        self._pending = {"elites": len(elites), "crossed": crossed, "mutated": mutated,
                         "best_parent": best_parent, "steps": steps}
        return elites + children

    def tell(self, individuals: list) -> dict:
        self.population = individuals
        pending, self._pending = self._pending, {}
        sigmas = [ind.sigma for ind in individuals if ind.sigma is not None]
        diagnostics = {"sigma": float(np.mean(sigmas)) if sigmas else self.config.sigma}
        if not pending:  # the initial population: no operator has run yet
            return diagnostics | {"mutated_fraction": None, "mean_step": None,
                                  "mutation_success": None, "mutation_neutral": None,
                                  "crossover_success": None}
        child_fitness = fitness_array(individuals[pending["elites"]:])
        mutated, crossed, steps = pending["mutated"], pending["crossed"], pending["steps"]
        changed = mutated & (steps > 0)
        improved = child_fitness > pending["best_parent"]
        neutral = child_fitness == pending["best_parent"]
        return diagnostics | {
            "mutated_fraction": float(changed.mean()) if len(changed) else 0.0,
            "mean_step": float(steps[mutated].mean()) if mutated.any() else 0.0,
            "mutation_success": float(improved[mutated].mean()) if mutated.any() else None,
            "mutation_neutral": float(neutral[mutated].mean()) if mutated.any() else None,
            "crossover_success": float(improved[crossed].mean()) if crossed.any() else None,
        }

    # ------------------------------------------------------------------ checkpoint state
    def state(self) -> dict[str, np.ndarray]:
        pop = self.population
        return {
            "population": genome_matrix(pop),
            "fitness": fitness_array(pop),
            "accuracy": np.array([ind.accuracy for ind in pop], dtype=np.float64),
            "sigma": np.array([np.nan if ind.sigma is None else ind.sigma for ind in pop]),
        }

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.population = []
        for genome, fit, acc, sigma in zip(arrays["population"], arrays["fitness"],
                                           arrays["accuracy"], arrays["sigma"]):
            ind = make_individual(genome, None if np.isnan(sigma) else float(sigma))
            ind.fitness.values = (float(fit),)
            ind.accuracy = float(acc)
            self.population.append(ind)

