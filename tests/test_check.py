"""`check_config`: the configured operators on individuals of a short real run,
and the re-evaluation check through the GA's real ask()."""

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from evonet.algorithms.ga import GeneticAlgorithm
from evonet.check import check_config, check_loop
from evonet.config import RunConfig
from evonet.evolve import evolve
from evonet.individuals import make_individual
from evonet.plugins import PluginError


def _import_broken():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).parent))
        return importlib.import_module("broken_operators")


_import_broken()
TINY = dict(text="hello world", population=16, hidden=6, backend="serial")


def check(**changes):
    return check_config(RunConfig(**TINY, **changes), warmup=3, samples=24)


def test_default_operators_are_effective_with_every_kind_of_evidence():
    report = check()
    assert report.all_effective
    assert [(r.kind, r.name) for r in report.operators] == [("crossover", "uniform"),
                                                             ("mutation", "gaussian")]
    cx, mut = report.operators
    assert set(mut.evidence["fitness"]) >= {"improved", "equal", "worse"}
    assert sum(mut.evidence["fitness"][k] for k in ("improved", "equal", "worse")) == 1.0
    assert 0.0 <= cx.evidence["better_than_best_parent"] <= 1.0
    for r in report.operators:
        loop = r.evidence["loop"]
        assert loop["changed"] > 0 and loop["reevaluated"] == loop["changed"]
        assert loop["stale"] == 0 and loop["parents_changed"] == 0
    assert "every checked operator is effective" in report.describe()


@pytest.mark.parametrize("mutation, finding", [
    ("broken_operators:mut_writes_old_value_back", "writes-old-value-back"),
    ("broken_operators:mut_returns_new_array", "stale-fitness"),
    ("broken_operators:mut_zero_step", "zero-step"),
    ("broken_operators:mut_raises", "raises"),
])
def test_broken_mutation_is_caught_even_though_the_loop_repairs_it(mutation, finding):
    report = check(mutation=mutation)
    assert not report.all_effective
    crossover, mut = report.operators
    assert crossover.effective
    assert mut.findings[0] == finding
    assert f"mutation {mutation} ({mut.verdict})" in report.describe()


def test_switched_off_operators_are_skipped_not_failed():
    report = check(crossover="none")
    assert report.skipped == ["crossover"] and report.all_effective
    assert [r.kind for r in report.operators] == ["mutation"]


@pytest.mark.parametrize("algorithm", ["es", "cma", "gradient"])
def test_algorithm_without_operators_is_told_so(algorithm):
    report = check(algorithm=algorithm)
    assert f"--algorithm {algorithm} does not use these operators" in report.describe()
    assert report.to_dict()["algorithm"] == algorithm
    assert report.all_effective  # checked on a GA warm-up, whatever the algorithm
    assert "does not use" not in check().describe()


def test_report_json_round_trips():
    data = json.loads(check(crossover="broken_operators:cx_swap_without_copy").to_json())
    assert data["all_effective"] is False
    verdicts = {op["kind"]: (op["verdict"], op["findings"]) for op in data["operators"]}
    assert verdicts == {"crossover": ("destructive", ["parent-genes-lost"]),
                        "mutation": ("effective", [])}


def test_unknown_plugin_is_a_plugin_error():
    with pytest.raises(PluginError):
        check(mutation="no_such_module:mut")


def test_same_config_same_report():
    assert check().to_dict() == check().to_dict()


# --------------------------------------------------------------------------- check_loop
def evaluated_population():
    return evolve(RunConfig(**TINY, generations=2)).population


def test_real_ga_leaves_every_changed_child_for_evaluation():
    config = RunConfig(**TINY)
    ga = GeneticAlgorithm(config, _spec(config), np.random.default_rng(0))
    loop = check_loop(ga, evaluated_population())
    assert loop["children"] == 16 and loop["changed"] == 14  # all but the 2 elites
    assert loop["reevaluated"] == 14 and loop["stale"] == 0 and loop["parents_changed"] == 0


class ForgetfulAlgorithm:
    """Changes its children but forgets to invalidate their fitness, and corrupts
    its population in place: what check_loop exists to catch."""

    population: list = []

    def ask(self):
        children = []
        for parent in self.population:
            child = make_individual(parent)
            child[0] += 1.0
            child.fitness.values = parent.fitness.values  # bug: should be left unset
            children.append(child)
        self.population[0][1] += 1.0
        return children


def test_check_loop_catches_stale_children_and_changed_parents():
    loop = check_loop(ForgetfulAlgorithm(), evaluated_population())
    assert loop["changed"] == 16 and loop["reevaluated"] == 0 and loop["stale"] == 16
    assert loop["parents_changed"] == 1


def _spec(config):
    from evonet.evolve import build_problem

    return build_problem(config)[1]
