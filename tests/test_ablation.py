"""The ablation: a hand-written Mann-Whitney U test checked against brute force,
and small real ablations."""

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.ablation import Outcome, compare, evaluation_budget, run_ablation, summarise
from evonet.config import RunConfig
from evonet.stats import EXACT_LIMIT, _normal_p, mann_whitney_u, min_p


def brute_force_p(x, y):
    """Two-sided permutation p-value of U, enumerating every split of the pooled values."""
    pooled = np.concatenate([x, y]).astype(float)
    n1 = len(x)

    def u_of(sample, other):
        return sum((a > b) + 0.5 * (a == b) for a in sample for b in other)

    observed = u_of(x, y)
    mean = n1 * len(y) / 2
    hits = total = 0
    for chosen in itertools.combinations(range(len(pooled)), n1):
        rest = [i for i in range(len(pooled)) if i not in chosen]
        u = u_of(pooled[list(chosen)], pooled[rest])
        hits += abs(u - mean) >= abs(observed - mean) - 1e-9
        total += 1
    return observed, hits / total


small_samples = st.lists(st.integers(0, 5), min_size=1, max_size=6)


@given(x=small_samples, y=small_samples)
@settings(max_examples=60, deadline=None)
def test_exact_p_matches_brute_force_enumeration_with_ties(x, y):
    u, p = mann_whitney_u(x, y)
    expected_u, expected_p = brute_force_p(np.array(x), np.array(y))
    assert u == pytest.approx(expected_u)
    assert p == pytest.approx(expected_p)


def test_known_values():
    # Complete separation: only the 2 most extreme of C(n1+n2, n1) splits are as extreme.
    assert mann_whitney_u([1, 2, 3], [4, 5, 6]) == (0.0, pytest.approx(2 / 20))
    assert mann_whitney_u([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == (25.0, pytest.approx(2 / 252))
    assert mann_whitney_u([1, 1, 1], [1, 1]) == (3.0, 1.0)
    assert min_p(5, 5) == pytest.approx(2 / 252)


def test_normal_approximation_is_close_to_exact_for_larger_samples():
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.5, 1.0):
        x, y = rng.normal(shift, 1, 25), rng.normal(0, 1, 25)
        u, exact = mann_whitney_u(x, y)
        ranks = np.argsort(np.argsort(np.concatenate([x, y]))) + 1.0
        assert _normal_p(ranks, 25, 25, u) == pytest.approx(exact, abs=0.01)


def test_large_samples_use_the_normal_approximation_with_tie_correction():
    x = [0] * 30 + [1] * 10
    y = [0] * 10 + [1] * 30
    u, p = mann_whitney_u(x, y)
    assert len(x) + len(y) > EXACT_LIMIT
    # By hand: ranks 0s = 20.5 (40 tied), 1s = 60.5; U = 30*20.5 + 10*60.5 - 820 = 400.
    n, ties = 80, np.array([40, 40])
    var = 1600 / 12 * ((n + 1) - (ties**3 - ties).sum() / (n * (n - 1)))
    z = (abs(400 - 800) - 0.5) / math.sqrt(var)
    assert u == 400.0
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)))


def outcome(seed, solved_at=None, fitness=-1.0):
    return Outcome(seed, solved_at, fitness, 10, 100, [fitness])


def test_compare_ranks_solved_runs_above_unsolved_and_fewer_generations_higher():
    on = [outcome(i, solved_at=10 + i) for i in range(5)]
    off = [outcome(i, fitness=-0.5) for i in range(5)]  # unsolved, whatever the fitness
    result = compare("mutation", on, off)
    assert result.better == "on" and result.p == pytest.approx(2 / 252)
    assert result.verdict == "mutation matters: yes (p=0.00794)"
    assert compare("mutation", off, on).better == "off"
    assert "it hurts" in compare("mutation", off, on).verdict
    assert compare("mutation", on, on).verdict == "mutation matters: no (p=1)"


def test_summary_median_and_iqr():
    runs = [outcome(0, 10), outcome(1, 20), outcome(2, 30), outcome(3, fitness=-2.0)]
    s = summarise(runs)
    assert s["solved"] == 3 and s["generations_median"] == 20
    assert s["generations_iqr"] == [15.0, 25.0]


# --------------------------------------------------------------------------- real ablations
TINY = dict(text="abcabd", population=12, hidden=4, generations=15, backend="serial")


def test_small_ablation_runs_every_arm_within_the_same_budget():
    config = RunConfig(**TINY)
    seen = []
    report = run_ablation(config, 2, on_run=lambda arm, o: seen.append((arm, o.seed)))
    assert seen == [(arm, seed) for arm in ("both", "no mutation", "no crossover")
                    for seed in (0, 1)]
    budget = evaluation_budget(config)
    for runs in report.arms.values():
        for o in runs:
            # The last generation may overshoot by at most one population. An arm whose
            # children stopped changing (crossover alone, once the population is
            # uniform) evaluates nothing more and ends at the generation cap instead.
            assert (o.solved_at is not None or budget <= o.evaluations < budget + 12
                    or (o.evaluations < budget and o.generations == 10 * 15 + 10))
            assert len(o.curve) == o.generations + 1
            assert all(np.diff(o.curve) >= 0)  # best so far never drops
    assert [c.operator for c in report.comparisons] == ["mutation", "crossover"]
    data = json.loads(report.to_json())
    assert set(data["arms"]) == {"both", "no mutation", "no crossover"}
    assert "p cannot go below" in report.describe()  # 2 seeds per arm


def test_an_arm_that_changes_fewer_children_gets_more_generations_not_evaluations():
    config = RunConfig(**{**TINY, "text": "abcdefghij"}, mutpb=0.3, cxpb=0.3)
    report = run_ablation(config, 1)
    both, off = report.arms["both"][0], report.arms["no crossover"][0]
    assert both.solved_at is None and off.solved_at is None  # both use the whole budget
    # Without crossover only the ~30% of children mutation changes are evaluated.
    assert off.generations > both.generations
    assert abs(off.evaluations - both.evaluations) < config.population
    # Crossover alone soon breeds copies of one network: no child changes, nothing is
    # evaluated, and the arm ends at the generation cap with budget left, instead of
    # spending it on re-evaluating the same genes.
    stalled = report.arms["no mutation"][0]
    assert stalled.generations == 10 * config.generations + 10
    assert stalled.evaluations < evaluation_budget(config)


def test_operator_already_off_has_no_comparison():
    report = run_ablation(RunConfig(**TINY, crossover="none"), 1)
    assert set(report.arms) == {"both", "no mutation"}
    assert [c.operator for c in report.comparisons] == ["mutation"]


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    from evonet.ablation import plot_ablation

    report = run_ablation(RunConfig(**TINY), 1)
    path = tmp_path / "ablation.png"
    plot_ablation(report, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
