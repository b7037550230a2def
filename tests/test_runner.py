"""Pre-run checks of `evonet.runner`: the memory a run will need."""

from __future__ import annotations

import pytest

from evonet import runner
from evonet.config import ConfigError, RunConfig


def test_population_methods_need_memory_in_proportion_to_the_population():
    small, large = (runner.memory_needed(RunConfig(population=p), 1_000_000) for p in (8, 80))
    assert large > 9 * small
    # ES keeps a noise table of many genomes besides its population.
    assert runner.memory_needed(RunConfig(algorithm="es", population=8), 1_000_000) > small


def test_the_gradient_algorithm_needs_memory_for_one_network_whatever_the_population():
    one, many = (runner.memory_needed(RunConfig(algorithm="gradient", population=p),
                                      1_000_000) for p in (3, 500))
    assert one == many == 1_000_000 * runner.GRADIENT_BYTES_PER_WEIGHT


def test_a_run_that_cannot_fit_is_refused_with_what_to_lower(monkeypatch):
    monkeypatch.setattr(runner, "physical_memory", lambda: 2**30)
    with pytest.raises(ConfigError, match="needs about .* GiB .* lower --population or "
                                          "--hidden"):
        runner.check_memory(RunConfig(population=64), 10_000_000)
    with pytest.raises(ConfigError, match="a network of 20,000,000 weights .* lower --hidden$"):
        runner.check_memory(RunConfig(algorithm="gradient"), 20_000_000)
    runner.check_memory(RunConfig(algorithm="gradient"), 1_000_000)  # 80 MB: fits
    monkeypatch.setattr(runner, "physical_memory", lambda: None)  # unknown: no refusal
    runner.check_memory(RunConfig(population=64), 10**12)
