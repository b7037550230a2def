"""The genetic algorithm: selection with elitism, crossover, mutation (DEAP's varAnd).

Each generation keeps the `elite` best unchanged, selects parents for the rest,
crosses pairs with probability `cxpb`, mutates children with probability
`mutpb`, and leaves the fitness of every child an operator touched unset so
that it is evaluated again. Variation runs on the children's `(n, D)` genome
matrix, one operator call per generation for the built-in operators. It also
records, for free, what the operators did:
how many children mutation really changed, how far, and how often a child beat
its parents.
"""

from __future__ import annotations

import numpy as np
from deap import base, tools

from ..individuals import fitness_array, generation, genome_matrix, make_individual
from ..network import NetworkSpec, init_genomes
from ..operators import GenomeBatch, apply_operator, bind, crossover, mutation, operator_keywords

# Genes varied per operator call: whole small populations in one call (Python
# overhead per generation), a few rows at a time for large genomes (the
# operators' random masks stay a few MB).
VARIATION_GENES = 1 << 18


class GeneticAlgorithm:
    """Generational GA with elitism over float32 genomes."""

    def __init__(self, config, spec: NetworkSpec, rng: np.random.Generator):
        self.config, self.spec, self.rng = config, spec, rng
        self.population: list = []
        self._pending: dict = {}
        toolbox = base.Toolbox()
        available = operator_keywords(config, spec, rng)
        self._crossover = crossover(config.crossover)
        self._mutation = mutation(config.mutation)
        toolbox.register("mate", bind(self._crossover, available))
        toolbox.register("mutate", bind(self._mutation, available))
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
        cfg, toolbox = self.config, self.toolbox
        if not self.population:
            sigmas = [cfg.sigma if cfg.mutation == "self_adaptive" else None] * cfg.population
            return generation(init_genomes(self.spec, cfg.population, self.rng), sigmas)

        elites = tools.selBest(self.population, cfg.elite)
        # DEAP's selection draws from Python's `random`, seeded and checkpointed with the run.
        parents = toolbox.select(self.population, cfg.population - cfg.elite)
        # The whole next generation in one matrix, elites first: children are varied in
        # place in its rows, and the loop evaluates them without stacking them again.
        matrix = np.empty((len(elites) + len(parents), self.spec.size), dtype=np.float32)
        np.stack(elites + parents, out=matrix)  # a copy: the parents stay untouched
        genomes = matrix[len(elites):]
        n = len(parents)
        sigmas = np.array([np.nan if p.sigma is None else p.sigma for p in elites + parents])
        parent_fitness = fitness_array(parents)

        first = np.arange(0, n - 1, 2)
        first = first[self.rng.random(len(first)) < cfg.cxpb]
        second = first + 1
        # Success is measured on the children an operator really changed: counting
        # every child it was applied to would credit a no-op operator with the
        # other operator's successes (a do-nothing mutation would look successful).
        cx_changed = np.zeros(n, dtype=bool)
        self._cross(genomes, first, second, cx_changed)
        best_parent = parent_fitness.copy()
        best_parent[first] = best_parent[second] = np.maximum(parent_fitness[first],
                                                              parent_fitness[second])

        mutated = self.rng.random(n) < cfg.mutpb
        steps, mut_changed = np.zeros(n), np.zeros(n, dtype=bool)
        self._mutate(genomes, sigmas[len(elites):], np.flatnonzero(mutated), steps,
                     mut_changed)

        individuals = generation(matrix, sigmas)
        # Elites and children whose genes no operator changed keep their parent's
        # fitness: no re-evaluation. "Changed", not "applied": crossing two copies of one
        # parent, the `none` crossover or a mutation that moved nothing leaves the very
        # same genes, and evaluation is a function of the genes alone.
        kept = np.concatenate([np.ones(len(elites), dtype=bool), ~(cx_changed | mut_changed)])
        for ind, parent, keep in zip(individuals, elites + parents, kept):
            if keep:
                ind.fitness.values, ind.accuracy = parent.fitness.values, parent.accuracy
        self._pending = {"elites": len(elites), "mutated": mutated, "steps": steps,
                         "mut_changed": mut_changed, "cx_changed": cx_changed,
                         "best_parent": best_parent}
        return individuals

    def _cross(self, genomes: np.ndarray, first: np.ndarray, second: np.ndarray,
               changed: np.ndarray) -> None:
        """Cross rows `first[k]` and `second[k]` of `genomes` in place; flag in
        `changed` the rows that really differ afterwards."""
        if getattr(self._crossover, "batched", False):
            # A chunk of pairs per call: few Python calls, and temporaries (random
            # masks) stay small even for populations of large genomes.
            step = max(1, VARIATION_GENES // genomes.shape[1])
            for start in range(0, len(first), step):
                one, two = first[start:start + step], second[start:start + step]
                before_one, before_two = genomes[one], genomes[two]  # fancy indexing copies
                left, right = before_one.copy(), before_two.copy()
                self.toolbox.mate(left, right)
                changed[one] = (left != before_one).any(axis=1)
                changed[two] = (right != before_two).any(axis=1)
                genomes[one], genomes[two] = left, right
            return
        for i, j in zip(first, second):
            ind1, ind2 = make_individual(genomes[i]), make_individual(genomes[j])
            apply_operator(self.toolbox.mate, ind1, ind2)
            changed[i], changed[j] = (ind1 != genomes[i]).any(), (ind2 != genomes[j]).any()
            genomes[i], genomes[j] = ind1, ind2

    def _mutate(self, genomes: np.ndarray, sigmas: np.ndarray, rows: np.ndarray,
                steps: np.ndarray, changed: np.ndarray) -> None:
        """Mutate `rows` of `genomes` in place; self-adaptive step sizes land in
        `sigmas`, the L2 distance each row moved in `steps`, and whether it changed
        at all in `changed` (compared exactly: a NaN gene is a change, NaN > 0 is not)."""
        if getattr(self._mutation, "batched", False):
            step = max(1, VARIATION_GENES // genomes.shape[1])
            for start in range(0, len(rows), step):
                chunk = rows[start:start + step]
                before = genomes[chunk]  # fancy indexing copies: one copy, read three times
                batch = before.copy().view(GenomeBatch)
                batch.sigma = sigmas[chunk]
                self.toolbox.mutate(batch)
                steps[chunk] = np.linalg.norm(batch - before, axis=1)
                changed[chunk] = (batch != before).any(axis=1)
                genomes[chunk] = batch
                sigmas[chunk] = batch.sigma
            return
        for i in rows:
            ind = make_individual(genomes[i], None if np.isnan(sigmas[i]) else sigmas[i])
            apply_operator(self.toolbox.mutate, ind)
            steps[i] = np.linalg.norm(ind - genomes[i])
            changed[i] = (ind != genomes[i]).any()
            genomes[i] = ind
            sigmas[i] = np.nan if ind.sigma is None else ind.sigma

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
        mutated, steps = pending["mutated"], pending["steps"]
        changed, crossed = pending["mut_changed"], pending["cx_changed"]
        improved = child_fitness > pending["best_parent"]
        neutral = child_fitness == pending["best_parent"]
        return diagnostics | {
            "mutated_fraction": float(changed.mean()) if len(changed) else 0.0,
            "mean_step": float(steps[mutated].mean()) if mutated.any() else None,
            "mutation_success": float(improved[changed].mean()) if changed.any() else None,
            "mutation_neutral": float(neutral[changed].mean()) if changed.any() else None,
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

