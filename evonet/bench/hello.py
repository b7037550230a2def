"""`evonet bench hello`: evonet's default run against a plain DEAP program.

The plain program is written the way DEAP's tutorials write one: list
individuals, a Python loop over the text for each individual, `cxTwoPoint`,
`mutGaussian`, `selTournament` and an `eaSimple`-style loop (CXPB 0.5,
MUTPB 0.2). It evolves the same Elman network (same hidden size, same
population) on the same fitness (mean log-probability of the next character)
and stops at the same criterion (greedy regeneration by any network of the
generation equals the text). Both
run in this process, seed by seed, and the medians are compared.
"""

from __future__ import annotations

import random
import statistics
import time

import numpy as np
from deap import base, creator, tools

from ..config import RunConfig
from ..evolve import evolve

TEXT = "Hello world!"

if not hasattr(creator, "PlainFitness"):
    creator.create("PlainFitness", base.Fitness, weights=(1.0,))
    creator.create("PlainIndividual", list, fitness=creator.PlainFitness)


def add_arguments(parser) -> None:
    from ..cli import positive_int

    parser.add_argument("--plain-generations", type=positive_int, default=400,
                        help="generation budget of the plain DEAP program per seed")


def plain_deap(seed: int, population: int, hidden: int, max_generations: int) -> tuple[float, int,
                                                                                          bool]:
    """The tutorial-style program. Returns (seconds, generations, solved)."""
    random.seed(seed)
    vocab = sorted(set(TEXT))
    idx = [vocab.index(c) for c in TEXT]
    V, H = len(vocab), hidden
    sizes = [H * V, H * H, H, V * H, V]
    D = sum(sizes)

    def unpack(ind):
        w = np.array(ind, dtype=np.float32)
        parts, start = [], 0
        for size in sizes:
            parts.append(w[start:start + size])
            start += size
        wxh, whh, bh, why, by = parts
        return wxh.reshape(H, V), whh.reshape(H, H), bh, why.reshape(V, H), by

    def run(ind, feed_back: bool):
        wxh, whh, bh, why, by = unpack(ind)
        h = np.zeros(H, dtype=np.float32)
        x, logp, correct, out = idx[0], 0.0, 0, [idx[0]]
        for t in range(len(idx) - 1):
            h = np.tanh(wxh[:, x] + whh @ h + bh)
            y = why @ h + by
            y = y - y.max()
            p = np.exp(y) / np.exp(y).sum()
            logp += float(np.log(p[idx[t + 1]]))
            guess = int(np.argmax(y))
            correct += guess == idx[t + 1]
            out.append(guess)
            x = guess if feed_back else idx[t + 1]
        return logp / (len(idx) - 1), out

    def evaluate(ind):
        logp, guesses = run(ind, feed_back=False)
        # Kept for the stopping rule: evonet stops when any network regenerates the text.
        ind.all_correct = guesses[1:] == idx[1:]
        return (logp,)

    toolbox = base.Toolbox()
    toolbox.register("attr", random.gauss, 0.0, 1.0 / np.sqrt(H))
    toolbox.register("individual", tools.initRepeat, creator.PlainIndividual, toolbox.attr, D)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("evaluate", evaluate)
    toolbox.register("mate", tools.cxTwoPoint)
    toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=0.1, indpb=0.1)
    toolbox.register("select", tools.selTournament, tournsize=3)

    start = time.perf_counter()
    pop = toolbox.population(n=population)
    for ind, fit in zip(pop, map(toolbox.evaluate, pop)):
        ind.fitness.values = fit
    hof = tools.HallOfFame(1)
    hof.update(pop)
    for gen in range(1, max_generations + 1):
        offspring = [toolbox.clone(ind) for ind in toolbox.select(pop, len(pop))]
        for child1, child2 in zip(offspring[::2], offspring[1::2]):
            if random.random() < 0.5:
                toolbox.mate(child1, child2)
                del child1.fitness.values, child2.fitness.values
        for mutant in offspring:
            if random.random() < 0.2:
                toolbox.mutate(mutant)
                del mutant.fitness.values
        invalid = [ind for ind in offspring if not ind.fitness.valid]
        for ind, fit in zip(invalid, map(toolbox.evaluate, invalid)):
            ind.fitness.values = fit
        pop[:] = offspring
        hof.update(pop)
        # evonet's rule: solved when any network regenerates the text (only those that
        # predict every next character under teacher forcing can).
        candidates = [hof[0]] + [ind for ind in pop if getattr(ind, "all_correct", False)]
        if any(run(ind, feed_back=True)[1] == idx for ind in candidates):
            return time.perf_counter() - start, gen, True
    return time.perf_counter() - start, max_generations, False


def run(args) -> int:
    config = RunConfig(text=TEXT, backend="serial")
    repeats = args.repeats
    budget = getattr(args, "plain_generations", 400)
    print(f"bench hello: {TEXT!r}, {repeats} seeds, population {config.population}, "
          f"hidden {config.hidden}")
    ours, plain = [], []
    for seed in range(repeats):
        start = time.perf_counter()
        result = evolve(config.replace(seed=seed))
        ours.append((time.perf_counter() - start, result.generation, result.status == "solved"))
        plain.append(plain_deap(seed, config.population, config.hidden, budget))
        print(f"  seed {seed}: evonet {ours[-1][0]:7.3f} s {ours[-1][1]:4d} gen "
              f"{'solved' if ours[-1][2] else 'NOT solved'} | plain DEAP {plain[-1][0]:7.3f} s "
              f"{plain[-1][1]:4d} gen {'solved' if plain[-1][2] else 'NOT solved'}", flush=True)
    t_ours = statistics.median(r[0] for r in ours)
    t_plain = statistics.median(r[0] for r in plain)
    unsolved = sum(not r[2] for r in plain)
    bound = " (at least: the plain program hit its budget)" if unsolved > repeats // 2 else ""
    print(f"median seconds to solve: evonet {t_ours:.3f}, plain DEAP {t_plain:.3f}")
    print(f"median generations: evonet {statistics.median(r[1] for r in ours):.0f}, plain DEAP "
          f"{statistics.median(r[1] for r in plain):.0f}")
    print(f"speedup evonet / plain DEAP: {t_plain / t_ours:.1f}x{bound}")
    return 0
