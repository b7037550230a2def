"""The generation loop's survival: checkpoint cadence, crash and interrupt at any
generation then resume (bit for bit), extension of a finished run, numerical faults."""

from __future__ import annotations

import errno
import json
import re
import signal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evonet import evolve as evolve_module
from evonet import runfolder
from evonet.algorithms import ALGORITHMS
from evonet.config import RunConfig
from evonet.evaluation import SerialEvaluator
from evonet.evolve import LOG_FIELDS, TIMING_FIELDS, RunInterrupted, _Loop, evolve, read_checkpoint
from evonet.fitness import WORST_FITNESS
from evonet.runfolder import RunFolder, RunFolderError, load_npz

UNSOLVED = dict(text="the quick brown fox", population=10, hidden=4, generations=24,
                backend="serial", seed=5, checkpoint_every=5, checkpoint_seconds=3600.0)


class Crash(Exception):
    """Stands for kill -9: the process stops right after a log line, nothing more runs."""


def new_folder(tmp_path, name, config) -> RunFolder:
    return RunFolder.create(tmp_path, name, config)


def reproducible(folder: RunFolder) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS}
            for r in folder.read_records()]


def checkpoint_generation(folder: RunFolder) -> int | None:
    path = folder / runfolder.CHECKPOINT
    return load_npz(path)[1]["generation"] if path.exists() else None


def at_generation(gen: int, action):
    def on_record(record):
        if record["gen"] == gen:
            action()
    return on_record


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> RunFolder:
    config = RunConfig(**UNSOLVED)
    folder = new_folder(tmp_path_factory.mktemp("ref"), "ref", config)
    evolve(config, folder)
    return folder


# ---------------------------------------------------------------------------- cadence
@pytest.mark.parametrize("every, seconds, expected", [
    (100, 3600.0, lambda g: 0),                  # generation 0 is always checkpointed
    (3, 3600.0, lambda g: (g - 1) // 3 * 3),     # then every N generations
    (100, 0.0, lambda g: g - 1),                 # or every S seconds
])
def test_checkpoint_cadence(tmp_path, every, seconds, expected):
    config = RunConfig(**{**UNSOLVED, "checkpoint_every": every,
                          "checkpoint_seconds": seconds, "generations": 10})
    folder = new_folder(tmp_path, "r", config)
    seen = {}

    def on_record(record):  # called after the record is logged, before its checkpoint
        seen[record["gen"]] = checkpoint_generation(folder)

    evolve(config, folder, on_record=on_record)
    assert seen[0] is None
    assert {g: seen[g] for g in range(1, 11)} == {g: expected(g) for g in range(1, 11)}
    assert checkpoint_generation(folder) == 10  # and at the end


# ---------------------------------------------------------------------------- crash, resume
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(crashes=st.lists(st.integers(0, 24), min_size=1, max_size=3),
       every=st.integers(2, 9))  # every 1: tests/e2e
def test_crash_anywhere_then_resume_is_bit_identical(tmp_path_factory, reference, crashes,
                                                     every):
    config = RunConfig(**{**UNSOLVED, "checkpoint_every": every})
    folder = new_folder(tmp_path_factory.mktemp("crash"), "r", config)
    resume = False
    for gen in crashes:
        def crash():
            raise Crash

        try:
            evolve(config, folder, resume=resume, on_record=at_generation(gen, crash))
        except Crash:
            pass
        resume = True
    result = evolve(config, folder, resume=True)
    assert reproducible(folder) == reproducible(reference)
    assert (folder / "best.npz").read_bytes() == (reference / "best.npz").read_bytes()
    assert result.generation == UNSOLVED["generations"]


def test_resume_without_checkpoint(tmp_path, reference):
    config = RunConfig(**UNSOLVED)
    folder = new_folder(tmp_path, "r", config)
    assert read_checkpoint(folder, config) is None  # nothing run yet: starts over
    (folder / "log.jsonl").write_text('{"gen": 0}\n{"gen": 1}\n')
    with pytest.raises(RunFolderError, match="checkpoint.npz: checkpoint missing"):
        read_checkpoint(folder, config)
    (folder / "log.jsonl").write_text('{"gen": 0}\n{"ge')
    evolve(config, folder, resume=True)
    assert reproducible(folder) == reproducible(reference)


def test_resume_refuses_a_config_that_changes_results(tmp_path):
    config = RunConfig(**{**UNSOLVED, "generations": 3})
    folder = new_folder(tmp_path, "r", config)
    evolve(config, folder)
    assert read_checkpoint(folder, config.replace(generations=9, backend="process",
                                                  checkpoint_every=2)) is not None
    for change in [{"hidden": 5}, {"seed": 6}, {"sigma": 0.2}, {"text": "the quick brown"}]:
        with pytest.raises(RunFolderError, match="changes results"):
            evolve(config.replace(**change), folder, resume=True)


# ---------------------------------------------------------------------------- interrupts
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_after_the_generation_with_its_checkpoint(tmp_path, reference,
                                                               monkeypatch, sig):
    config = RunConfig(**UNSOLVED)
    folder = new_folder(tmp_path, "r", config)
    real_save = evolve_module.save_npz
    saves = []

    def impatient_save(path, arrays, meta):  # a second signal during the checkpoint write
        saves.append(meta["generation"])
        if meta["generation"] == 7:
            signal.raise_signal(sig)
        real_save(path, arrays, meta)

    monkeypatch.setattr(evolve_module, "save_npz", impatient_save)
    with pytest.raises(RunInterrupted) as stopped:
        evolve(config, folder, on_record=at_generation(7, lambda: signal.raise_signal(sig)))
    assert stopped.value.generation == 7 and saves == [0, 5, 7]
    assert checkpoint_generation(folder) == 7
    assert len(folder.read_records()) == 8
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    monkeypatch.undo()
    evolve(config, folder, resume=True)
    assert reproducible(folder) == reproducible(reference)


def test_signal_before_the_first_generation(tmp_path, reference, monkeypatch):
    config = RunConfig(**UNSOLVED)
    folder = new_folder(tmp_path, "r", config)

    def make_evaluator(config, problem):
        signal.raise_signal(signal.SIGINT)
        return SerialEvaluator(problem)

    monkeypatch.setattr(evolve_module, "make_evaluator", make_evaluator)
    with pytest.raises(RunInterrupted) as stopped:
        evolve(config, folder)
    assert stopped.value.generation == -1
    assert not (folder / "checkpoint.npz").exists() and folder.read_records() == []
    monkeypatch.undo()
    evolve(config, folder, resume=True)
    assert reproducible(folder) == reproducible(reference)


# ---------------------------------------------------------------------------- full disk
def test_full_disk_keeps_the_last_good_checkpoint(tmp_path, reference, monkeypatch):
    config = RunConfig(**UNSOLVED)
    folder = new_folder(tmp_path, "r", config)
    real_mkstemp = runfolder.tempfile.mkstemp

    def mkstemp(*args, prefix="", **kwargs):
        if prefix.startswith(".checkpoint") and checkpoint_generation(folder) == 10:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(runfolder.tempfile, "mkstemp", mkstemp)
    with pytest.raises(RunFolderError, match="checkpoint.npz: No space left on device"):
        evolve(config, folder)
    assert checkpoint_generation(folder) == 10
    assert [p.name for p in folder.path.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.undo()
    evolve(config, folder, resume=True)
    assert reproducible(folder) == reproducible(reference)


# ---------------------------------------------------------------------------- extension
SOLVABLE = dict(text="hello", population=16, hidden=4, generations=200, backend="serial",
                seed=2, checkpoint_every=1000, checkpoint_seconds=3600.0)


def test_a_solved_run_stops_unless_extended_and_remembers_the_extension(tmp_path):
    config = RunConfig(**SOLVABLE)
    folder = new_folder(tmp_path, "r", config)
    first = evolve(config, folder)
    solved_at = first.solved_at
    assert first.status == "solved" and first.generation == solved_at < 200

    again = evolve(config, folder, resume=True)  # nothing left to do
    assert again.generation == solved_at and len(folder.read_records()) == solved_at + 1

    longer = config.replace(generations=solved_at + 6)
    with pytest.raises(RunInterrupted):
        evolve(longer, folder, resume=True, extend=True,
               on_record=at_generation(solved_at + 3,
                                       lambda: signal.raise_signal(signal.SIGINT)))
    done = evolve(longer, folder, resume=True)  # the extension is in the checkpoint
    assert done.status == "solved" and done.solved_at == solved_at
    assert done.generation == solved_at + 6
    assert [r["gen"] for r in folder.read_records()] == list(range(solved_at + 7))


@pytest.mark.parametrize("algorithm", ["ga", "es"])
def test_an_extended_solved_run_keeps_a_best_network_that_regenerates_the_text(tmp_path,
                                                                                 algorithm):
    from evonet.network import generate
    from evonet.text import Task

    config = RunConfig(text="Hello world!", algorithm=algorithm, backend="serial", seed=0,
                       checkpoint_every=1000, checkpoint_seconds=3600.0)
    folder = new_folder(tmp_path, "r", config)
    first = evolve(config, folder)
    assert first.status == "solved"
    task = Task(config.text, config.encoding)
    records = []
    longer = evolve(config.replace(generations=first.generation + 40), folder, resume=True,
                    extend=True, on_record=records.append)
    assert all(r["solved"] and r["best_text"] == config.text for r in records)
    genome, spec, saved = folder.load_best()  # what `evonet sample` regenerates
    assert task.decode(generate(spec, genome, task.indices[0], len(task.text))) == config.text
    # Extending may only replace the solver by a fitter network that also solves.
    assert saved["fitness"] == longer.best_fitness >= first.best_fitness
    np.testing.assert_array_equal(genome, longer.best_genome)


# ---------------------------------------------------------------------------- NaN genomes
def test_a_nan_genome_gets_the_worst_fitness_and_the_log_stays_finite(tmp_path):
    config = RunConfig(**{**UNSOLVED, "generations": 6})
    folder = new_folder(tmp_path, "r", config)
    loop = _Loop(config, folder)
    loop.start = 0.0
    ask = loop.algorithm.ask

    def poisoned_ask():
        individuals = ask()
        victim = individuals[-1]
        victim[: len(victim) // 2] = np.nan
        victim[len(victim) // 2] = np.inf
        del victim.fitness.values
        return individuals

    loop.algorithm.ask = poisoned_ask
    evaluator = SerialEvaluator(loop.problem)
    for _ in range(6):
        record = loop.step(evaluator)
        assert record["fitness_min"] == WORST_FITNESS
        assert np.isfinite(record["fitness_max"]) and record["fitness_max"] > WORST_FITNESS
        assert np.isfinite([record["fitness_avg"], record["fitness_std"],
                            record["diversity"]]).all()
        assert np.isfinite(np.asarray(loop.hof[0])).all()
        assert all(v is None or np.isfinite(v) for v in record.values()
                   if isinstance(v, float))
    lines = (folder / "log.jsonl").read_text().splitlines()
    assert len(lines) == 6
    for line in lines:
        json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in log.jsonl"))
    loop.save_checkpoint()  # a population holding NaN genomes checkpoints and reloads
    resumed = _Loop(config, folder)
    resumed.load_checkpoint()
    np.testing.assert_array_equal(resumed.algorithm.state()["population"],
                                  loop.algorithm.state()["population"])


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_algorithm_resumes_bit_identically(tmp_path, algorithm):
    """The checkpoint holds each algorithm's whole state (`state()`/`load_state()`)."""
    config = RunConfig(**{**UNSOLVED, "algorithm": algorithm, "generations": 14,
                          "checkpoint_every": 4, "text": "abcadbacd", "hidden": 3})
    reference = new_folder(tmp_path, "ref", config)
    evolve(config, reference)
    folder = new_folder(tmp_path, "r", config)
    for gen, resume in [(6, False), (10, True)]:
        def crash():
            raise Crash

        with pytest.raises(Crash):
            evolve(config, folder, resume=resume, on_record=at_generation(gen, crash))
    evolve(config, folder, resume=True)
    assert reproducible(folder) == reproducible(reference)
    assert (folder / "best.npz").read_bytes() == (reference / "best.npz").read_bytes()


def test_the_log_is_on_disk_before_each_checkpoint_that_counts_it(tmp_path, monkeypatch):
    config = RunConfig(**{**UNSOLVED, "generations": 6, "checkpoint_every": 2})
    folder = new_folder(tmp_path, "r", config)
    events = []
    real_save = evolve_module.save_npz
    monkeypatch.setattr(RunFolder, "sync_records",
                        lambda self: events.append(("sync", len(self.read_records()))))

    def save(path, arrays, meta):
        events.append(("save", meta["log_records"]))
        real_save(path, arrays, meta)

    monkeypatch.setattr(evolve_module, "save_npz", save)
    evolve(config, folder)
    assert events == [(kind, n) for n in (1, 3, 5, 7) for kind in ("sync", "save")]


class _TwoNetworks:
    """A stub algorithm whose every generation is the same two networks."""

    def __init__(self, genomes):
        from evonet.individuals import generation

        self.genomes, self.generation, self.population = genomes, generation, []

    def ask(self):
        return self.generation(self.genomes.copy())

    def tell(self, individuals):
        self.population = individuals
        return {}

    def state(self):
        return {"population": self.genomes}

    def load_state(self, arrays):
        self.genomes = arrays["population"]


def test_the_run_is_solved_by_any_network_that_regenerates_the_text_and_keeps_it(tmp_path):
    from evonet.network import init_genomes

    config = RunConfig(text="Hello world!", seed=0, backend="serial")
    solution = evolve(config).best_genome  # a network that regenerates the text
    loop = _Loop(config, new_folder(tmp_path, "r", config))
    other = init_genomes(loop.spec, 1, np.random.default_rng(9))[0]
    loop.algorithm = _TwoNetworks(np.stack([other, solution]))
    loop.start = 0.0  # evolve() sets the clock
    evaluator = SerialEvaluator(loop.problem)

    def scores_favouring_the_other(genomes):
        scores = evaluator(genomes)  # real accuracies, but the other network ranks first
        scores[:, 0] = [0.0, -1.0]
        return scores

    record = loop.step(scores_favouring_the_other)
    assert loop.hof[0].fitness.values == (0.0,)  # the hall of fame holds the other one
    assert record["solved"] and record["best_text"] == config.text and loop.solved_at == 0
    assert record["accuracy_best"] == 1.0
    np.testing.assert_array_equal(loop.best(), solution)
    genome, _, _ = loop.folder.load_best()  # what `evonet sample` regenerates
    np.testing.assert_array_equal(genome, solution)
    loop.save_checkpoint()
    resumed = _Loop(config, loop.folder)
    resumed.algorithm = _TwoNetworks(np.stack([other, other]))
    resumed.load_checkpoint()
    np.testing.assert_array_equal(resumed.best(), solution)
    assert resumed.best_text == config.text


def test_a_network_that_misses_a_character_is_not_regenerated_in_search_of_a_solver():
    config = RunConfig(text="Hello world!", seed=0, backend="serial")
    solution = evolve(config).best_genome
    loop = _Loop(config, None)
    individuals = _TwoNetworks(np.stack([solution, solution])).ask()
    for ind, accuracy in zip(individuals, (loop.task.n_predictions - 1, 0)):
        ind.fitness.values, ind.accuracy = (0.0,), float(accuracy)
    assert loop.find_solver(individuals) is None  # accuracies say neither can solve
    individuals[1].accuracy = float(loop.task.n_predictions)
    np.testing.assert_array_equal(loop.find_solver(individuals), solution)


def test_the_readme_documents_exactly_the_logged_fields():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("### Log fields")[1].split("\n\n")[1]
    documented = [name for row in table.splitlines()[2:]
                  for name in re.findall(r"`(\w+)`", row.split("|")[1])]
    assert documented == list(LOG_FIELDS)
