"""Every registered algorithm through the same checks: it solves "Hello world!"
within a budget, a resumed run is bit-for-bit the uninterrupted one, and serial
and parallel evaluation give the same run. Then what is particular to each."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from evonet.algorithms import ALGORITHMS
from evonet.algorithms.cma import MAX_GENES
from evonet.algorithms.es import centered_ranks
from evonet.config import ConfigError, RunConfig
from evonet.evolve import LOG_FIELDS, TIMING_FIELDS, build_problem, evolve
from evonet.network import generate
from evonet.runfolder import RunFolder

CELLS = ("elman", "lstm", "gru")

# Settings under which each algorithm solves "Hello world!" (measured over seeds 0-4:
# solved in at most ~70 generations, most in far fewer); an algorithm added to the
# registry is tried with the defaults.
SOLVE = {"cma": {"es_sigma": 0.2}}
BUDGET = 150

SMALL = dict(text="the quick brown fox", population=10, hidden=3, backend="serial", seed=3,
             checkpoint_every=2, checkpoint_seconds=3600.0)


def reproducible(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in records]


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_solves_hello_world_within_budget(algorithm):
    config = RunConfig(text="Hello world!", algorithm=algorithm, hidden=8, seed=0,
                       generations=BUDGET, backend="serial", **SOLVE.get(algorithm, {}))
    result = evolve(config)
    assert result.status == "solved", (algorithm, result.best_text)
    task, spec, _ = build_problem(config)
    regenerated = generate(spec, result.best_genome, task.indices[0], len(task.text))
    assert task.decode(regenerated) == "Hello world!"


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_record_has_every_documented_field(algorithm):
    # Runs of different algorithms load, compare and plot alike: a field an algorithm
    # has no use for is null, not missing.
    records = []
    evolve(RunConfig(**SMALL, algorithm=algorithm, generations=2), on_record=records.append)
    for record in records:
        assert set(LOG_FIELDS) <= set(record), set(LOG_FIELDS) - set(record)
        assert list(record)[:len(LOG_FIELDS) - len(TIMING_FIELDS)] == list(
            LOG_FIELDS[:-len(TIMING_FIELDS)])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_resume_is_bit_for_bit(tmp_path, algorithm, cell):
    config = RunConfig(**SMALL, algorithm=algorithm, cell=cell, generations=7)
    reference = RunFolder.create(tmp_path, "ref", config)
    expected = evolve(config, reference)
    folder = RunFolder.create(tmp_path, "part", config)
    evolve(config.replace(generations=3), folder)
    resumed = evolve(config, folder, resume=True)
    assert reproducible(folder.read_records()) == reproducible(reference.read_records())
    assert len(folder.read_records()) == 8
    np.testing.assert_array_equal(resumed.best_genome, expected.best_genome)
    assert (folder / "best.npz").read_bytes() == (reference / "best.npz").read_bytes()


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_serial_and_process_evaluators_agree(algorithm):
    config = RunConfig(**SMALL, algorithm=algorithm, generations=4)
    serial = evolve(config)
    parallel = evolve(config.replace(backend="process", workers="2"))
    assert reproducible(parallel.logbook) == reproducible(serial.logbook)
    np.testing.assert_array_equal(parallel.best_genome, serial.best_genome)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_numpy_global_random_state_does_not_matter(algorithm):
    """Randomness comes from the run's seeded Generator only (deap.cma draws from
    numpy's global one unless told otherwise)."""
    config = RunConfig(**SMALL, algorithm=algorithm, generations=3)
    runs = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        runs.append(reproducible(evolve(config).logbook))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_blas_thread_count_does_not_matter(algorithm):
    """Same bits whatever BLAS threads the machine offers (cma's eigendecomposition
    with 2 threads gave a different run than with 1)."""
    config = RunConfig(**{**SMALL, "hidden": 8, "text": "Hello world!"}, algorithm=algorithm,
                       generations=6)
    runs = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            runs.append(reproducible(evolve(config).logbook))
    assert runs[0] == runs[1]


# ---------------------------------------------------------------------------- es
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50))
def test_centered_ranks_are_centred_ordered_and_bounded(values):
    values = np.array(values)
    ranks = centered_ranks(values)
    assert ranks.min() == -0.5 and ranks.max() == 0.5
    assert abs(ranks.sum()) < 1e-9
    order = np.argsort(values, kind="stable")
    assert (np.diff(ranks[order]) > 0).all()


def test_es_evaluates_the_centre_and_antithetic_pairs():
    config = RunConfig(**{**SMALL, "population": 8}, algorithm="es")
    _, spec, _ = build_problem(config)
    es = ALGORITHMS["es"](config, spec, np.random.default_rng(0))
    individuals = es.ask()
    genomes = np.array(individuals, dtype=np.float64)
    assert len(individuals) == 1 + 8
    centre = genomes[0]
    np.testing.assert_allclose(genomes[1:5] - centre, centre - genomes[5:], atol=1e-6)
    assert np.linalg.norm(genomes[1:5] - centre, axis=1).min() > 0


def test_es_climbs_a_linear_fitness():
    """With fitness = a fixed direction . genome, the centre must move along it."""
    config = RunConfig(**{**SMALL, "population": 100}, algorithm="es")
    _, spec, _ = build_problem(config)
    es = ALGORITHMS["es"](config, spec, np.random.default_rng(0))
    direction = np.random.default_rng(1).normal(size=spec.size)
    start = None
    for _ in range(10):
        individuals = es.ask()
        start = es.centre.copy() if start is None else start
        for ind in individuals:
            ind.fitness.values = (float(np.asarray(ind, dtype=np.float64) @ direction),)
            ind.accuracy = 0.0
        es.tell(individuals)
    moved = es.centre - start
    cosine = moved @ direction / (np.linalg.norm(moved) * np.linalg.norm(direction))
    assert cosine > 0.5


def test_es_log_reports_the_centre():
    result = evolve(RunConfig(**SMALL, algorithm="es", generations=2))
    for record in result.logbook:
        assert record["fitness_min"] <= record["centre_fitness"] <= record["fitness_max"]
        assert 0.0 <= record["mutation_success"] <= 1.0


# ---------------------------------------------------------------------------- cma
def test_cma_refuses_big_genomes_and_recommends_es():
    with pytest.raises(ConfigError, match="--algorithm es"):
        RunConfig(algorithm="cma", hidden=64)
    _, spec, _ = build_problem(RunConfig(algorithm="es", hidden=64))
    assert spec.size > MAX_GENES
    RunConfig(algorithm="cma", hidden=16)  # 569 parameters: accepted


def test_cma_state_round_trips():
    config = RunConfig(**SMALL, algorithm="cma")
    _, spec, _ = build_problem(config)
    cma = ALGORITHMS["cma"](config, spec, np.random.default_rng(0))
    individuals = cma.ask()
    for i, ind in enumerate(individuals):
        ind.fitness.values = (float(-i),)
        ind.accuracy = 0.0
    cma.tell(individuals)
    state = cma.state()
    copy = ALGORITHMS["cma"](config, spec, np.random.default_rng(0))
    copy.load_state(state)
    for name, value in copy.state().items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    assert state["update_count"] == 1 and state["sigma"] != config.es_sigma


def test_es_logs_and_saves_its_centre_as_the_best_network(tmp_path):
    """Issue 7: the logged best of `es` is the centre, evaluated each generation."""
    from evonet.runfolder import RunFolder

    config = RunConfig(text="abcabd", algorithm="es", population=10, hidden=4, generations=6,
                       backend="serial", seed=2)
    folder = RunFolder.create(tmp_path, "es", config)
    result = evolve(config, folder)
    for record in result.logbook:
        assert record["accuracy_best"] * 5 == record["centre_correct"]
    genome, _, meta = folder.load_best()
    assert meta["fitness"] == result.logbook[-1]["centre_fitness"]
    np.testing.assert_array_equal(genome, result.best_genome)


def test_resuming_a_finished_es_run_keeps_its_centre_as_the_best(tmp_path):
    from evonet.runfolder import RunFolder

    config = RunConfig(text="abcabd", algorithm="es", population=10, hidden=4, generations=5,
                       backend="serial", seed=4)
    folder = RunFolder.create(tmp_path, "es", config)
    finished = evolve(config, folder)
    again = evolve(config, folder, resume=True)
    assert again.generation == finished.generation
    assert (again.best_fitness, again.best_text, again.best_accuracy) == (
        finished.best_fitness, finished.best_text, finished.best_accuracy)
    np.testing.assert_array_equal(again.best_genome, finished.best_genome)


def test_es_noise_table_is_a_function_of_the_seed_and_its_slices_are_the_perturbations():
    from evonet.algorithms.es import EvolutionStrategy, noise_table

    config = RunConfig(text="Hello world!", algorithm="es", population=8, seed=4)
    _, spec, _ = build_problem(config)
    table = noise_table(4, spec.size)
    np.testing.assert_array_equal(table, noise_table(4, spec.size))
    assert not np.array_equal(table[:100], noise_table(5, spec.size)[:100])
    assert len(table) >= 256 * spec.size and table.dtype == np.float32
    assert abs(table.mean()) < 0.01 and abs(table.std() - 1) < 0.01
    es = EvolutionStrategy(config, spec, np.random.default_rng(0))
    genomes = es.ask().genomes
    centre = genomes[0]
    for row in range(1, 5):  # each perturbation is sigma times a window of the table
        eps = (genomes[row] - centre) / config.es_sigma
        windows = np.lib.stride_tricks.sliding_window_view(table, 3)
        candidates = np.flatnonzero(np.abs(windows - eps[:3]).max(axis=1) < 1e-3)
        assert any(np.allclose(table[k:k + spec.size], eps, atol=1e-3) for k in candidates)


@pytest.mark.parametrize("algorithm", ["es", "gradient"])
def test_lr_half_life_reaches_the_optimizer(algorithm):
    config = RunConfig(text="Hello world!", algorithm=algorithm, backend="serial",
                       generations=8, learning_rate=0.05)
    steps = {}
    for half_life in (0.0, 2.0):
        result = evolve(config.replace(lr_half_life=half_life))
        steps[half_life] = [r["mean_step"] for r in result.logbook]
    # Same first step; then the decaying run's steps shrink relative to the constant one.
    assert steps[2.0][0] == pytest.approx(steps[0.0][0])
    assert steps[2.0][-1] < 0.5 * steps[0.0][-1]
