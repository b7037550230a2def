"""The GA's ask/tell: elitism, re-evaluation of changed children, plugin operators."""

import random

import numpy as np
import pytest

from evonet.algorithms.ga import GeneticAlgorithm
from evonet.config import RunConfig
from evonet.evolve import build_problem
from evonet.fitness import evaluate


def evaluated_generation(config, seed=0, generations=1):
    _, spec, problem = build_problem(config)
    random.seed(seed)
    ga = GeneticAlgorithm(config, spec, np.random.default_rng(seed))
    for _ in range(generations):
        individuals = ga.ask()
        parents = {id(ind): ind.copy() for ind in ga.population}
        invalid = [ind for ind in individuals if not ind.fitness.valid]
        scores = evaluate(problem, np.stack(invalid)) if invalid else []
        for ind, (fit, acc) in zip(invalid, scores):
            ind.fitness.values, ind.accuracy = (fit,), acc
        diagnostics = ga.tell(individuals)
    return ga, problem, individuals, parents, diagnostics


def test_every_changed_child_is_re_evaluated_and_fitness_is_never_stale():
    config = RunConfig(population=20, hidden=4, mutpb=0.5, cxpb=0.5, backend="serial")
    ga, problem, individuals, _, _ = evaluated_generation(config, generations=3)
    truth = evaluate(problem, np.stack(individuals))
    np.testing.assert_array_equal([ind.fitness.values[0] for ind in individuals], truth[:, 0])
    # The accuracy too: a stale count could declare the run solved.
    np.testing.assert_array_equal([ind.accuracy for ind in individuals], truth[:, 1])


def test_the_best_individual_always_survives():
    config = RunConfig(population=16, hidden=4, elite=1, sigma=2.0, indpb=1.0,
                       backend="serial")
    _, spec, problem = build_problem(config)
    random.seed(1)
    ga = GeneticAlgorithm(config, spec, np.random.default_rng(1))
    best_so_far = -np.inf
    for _ in range(6):
        individuals = ga.ask()
        invalid = [ind for ind in individuals if not ind.fitness.valid]
        for ind, (fit, acc) in zip(invalid, evaluate(problem, np.stack(invalid))):
            ind.fitness.values, ind.accuracy = (fit,), acc
        ga.tell(individuals)
        best = max(ind.fitness.values[0] for ind in individuals)
        assert best >= best_so_far
        best_so_far = best


def returns_a_new_array(ind, rng):
    """The DEAP stale-fitness trap: a new array instead of an in-place change."""
    return (ind + rng.normal(0, 0.5, ind.shape).astype(np.float32),)


def test_a_plugin_that_returns_new_arrays_still_gets_its_children_evaluated():
    config = RunConfig(population=12, hidden=4, mutation=f"{__name__}:returns_a_new_array",
                       cxpb=0.0, backend="serial")
    ga, problem, individuals, _, diagnostics = evaluated_generation(config, generations=2)
    truth = evaluate(problem, np.stack(individuals))[:, 0]
    np.testing.assert_array_equal([ind.fitness.values[0] for ind in individuals], truth)
    assert diagnostics["mutated_fraction"] == 1.0


def test_untouched_children_keep_their_parents_fitness_without_evaluation():
    config = RunConfig(population=10, hidden=4, cxpb=0.0, mutpb=0.0, backend="serial")
    _, spec, problem = build_problem(config)
    ga = GeneticAlgorithm(config, spec, np.random.default_rng(0))
    first = ga.ask()
    for ind, (fit, acc) in zip(first, evaluate(problem, np.stack(first))):
        ind.fitness.values, ind.accuracy = (fit,), acc
    ga.tell(first)
    second = ga.ask()
    assert all(ind.fitness.valid for ind in second)


@pytest.mark.parametrize("operators", [{"crossover": "none", "cxpb": 1.0, "mutpb": 0.0},
                                       {"mutation": "none", "mutpb": 1.0, "cxpb": 0.0}])
def test_children_an_applied_operator_left_unchanged_are_not_evaluated_again(operators):
    # Applied to every child, but changing no gene: their parents' fitness still holds.
    config = RunConfig(population=10, hidden=4, backend="serial", **operators)
    ga, problem, individuals, _, _ = evaluated_generation(config, generations=1)
    second = ga.ask()
    assert all(ind.fitness.valid for ind in second)
    truth = evaluate(problem, np.stack(second))[:, 0]
    np.testing.assert_array_equal([ind.fitness.values[0] for ind in second], truth)


def test_crossing_two_copies_of_one_parent_is_not_evaluated_but_a_real_cross_is():
    config = RunConfig(population=9, hidden=4, elite=1, cxpb=1.0, mutpb=0.0,
                       backend="serial")
    ga, *_ = evaluated_generation(config, generations=1)
    twin = ga.population[0]
    ga.population = [twin] * 4 + ga.population[4:]  # parents 0-3 are one network
    ga.toolbox.register("select", lambda population, k: list(population[:k]))
    children = ga.ask()[1:]  # after the elite
    # Pairs (0, 1) and (2, 3) cross copies of one parent; (4, 5) and (6, 7) do not.
    assert [ind.fitness.valid for ind in children] == [True] * 4 + [False] * 4


@pytest.mark.parametrize("mutation", ["gaussian", "self_adaptive"])
def test_diagnostics_report_what_mutation_did(mutation):
    config = RunConfig(population=30, hidden=4, cxpb=0.0, mutpb=1.0, mutation=mutation,
                       backend="serial")
    *_, diagnostics = evaluated_generation(config, generations=2)
    assert diagnostics["mutated_fraction"] == 1.0
    assert diagnostics["mean_step"] > 0
    assert 0 <= diagnostics["mutation_success"] <= 1
    assert diagnostics["crossover_success"] is None
    off = config.replace(mutation="none")
    *_, diagnostics = evaluated_generation(off, generations=2)
    assert diagnostics["mutated_fraction"] == 0.0 and diagnostics["mean_step"] == 0.0
    # Applied to no child: no step to report, rather than a step of 0.
    *_, diagnostics = evaluated_generation(config.replace(mutpb=0.0), generations=2)
    assert diagnostics["mean_step"] is None and diagnostics["mutated_fraction"] == 0.0


@pytest.mark.parametrize("mutation", ["gaussian", "self_adaptive", "point"])
def test_a_generation_is_one_matrix_and_asking_leaves_the_parents_untouched(mutation):
    config = RunConfig(population=14, hidden=4, elite=3, mutation=mutation, backend="serial")
    ga, _, _, _, _ = evaluated_generation(config, generations=2)
    before = [ind.copy() for ind in ga.population]
    sigmas = [ind.sigma for ind in ga.population]
    children = ga.ask()
    for ind, copy, sigma in zip(ga.population, before, sigmas):
        np.testing.assert_array_equal(ind, copy)
        assert ind.sigma == sigma
    # The loop reads the generation's matrix instead of the rows: they must agree.
    np.testing.assert_array_equal(children.genomes, np.stack(children))
    children.genomes[:, 0] += 1.0
    assert all(ind[0] == row[0] for ind, row in zip(children, children.genomes))
