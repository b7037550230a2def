"""`run_new`/`run_resume`: summary.json says how each run ended, resume continues or
extends, and the folder lock is always given back."""

from __future__ import annotations

import json
import signal

import pytest

from evonet import evolve as evolve_module
from evonet import runner
from evonet.cli import main
from evonet.config import RunConfig
from evonet.evaluation import SerialEvaluator
from evonet.runfolder import RunFolder

SOLVABLE = dict(text="hello", population=16, hidden=4, generations=200, backend="serial",
                seed=2)
UNSOLVED = dict(text="the quick brown fox", population=10, hidden=4, generations=12,
                backend="serial", seed=5)


def summary(folder) -> dict:
    return json.loads((folder / "summary.json").read_text())


def test_solved_run_then_resume_without_and_with_more_generations(tmp_path, capsys):
    assert runner.run_new(RunConfig(**SOLVABLE), tmp_path, "r", quiet=True) == 0
    folder = tmp_path / "r"
    first = summary(folder)
    assert first["status"] == "solved" and first["generations"] == first["solved_at"]
    log = (folder / "log.jsonl").read_bytes()

    assert runner.run_resume(folder, quiet=True) == 0  # finished: nothing to do
    assert (folder / "log.jsonl").read_bytes() == log
    assert summary(folder)["status"] == "solved"

    more = first["solved_at"] + 4
    assert runner.run_resume(folder, generations=more, quiet=True) == 0
    extended = summary(folder)
    assert extended["status"] == "solved" and extended["solved_at"] == first["solved_at"]
    assert extended["generations"] == more
    assert RunFolder(folder).read_config().generations == more
    assert not (folder / "lock").exists()


def test_max_generations_and_a_resume_that_changes_only_the_backend(tmp_path):
    assert runner.run_new(RunConfig(**UNSOLVED), tmp_path, "r", quiet=True) == 0
    folder = tmp_path / "r"
    assert summary(folder)["status"] == "max_generations"
    assert runner.run_resume(folder, generations=15, quiet=True, backend="process",
                             workers="1") == 0
    config = RunFolder(folder).read_config()
    assert (config.backend, config.workers, config.generations) == ("process", "1", 15)
    assert summary(folder)["generations"] == 15


def test_interrupted_run(tmp_path, monkeypatch, capsys):
    def progress(quiet, total):
        def on_record(record):
            if record["gen"] == 3:
                signal.raise_signal(signal.SIGINT)
        on_record.close = lambda: None
        return on_record

    monkeypatch.setattr(runner, "make_progress", progress)
    assert runner.run_new(RunConfig(**UNSOLVED), tmp_path, "r", quiet=True) == 130
    folder = tmp_path / "r"
    assert capsys.readouterr().err.strip().splitlines() == [
        "evonet: stopping: finishing this generation and writing the checkpoint",
        f"interrupted at generation 3; resume with: evonet resume {folder}"]
    assert summary(folder) == {"status": "interrupted", "generations": 3,
                               "target": UNSOLVED["text"]}
    assert not (folder / "lock").exists()
    monkeypatch.undo()
    assert runner.run_resume(folder, quiet=True) == 0
    assert summary(folder)["status"] == "max_generations"


class Exploding(SerialEvaluator):
    calls = 0

    def __call__(self, genomes):
        Exploding.calls += 1
        if Exploding.calls == 3:
            raise MemoryError("worker ran out of memory")
        return super().__call__(genomes)


def test_failed_run_records_the_error_and_exits_1(tmp_path, monkeypatch, capsys):
    Exploding.calls = 0
    monkeypatch.setattr(evolve_module, "make_evaluator", lambda c, p: Exploding(p))
    status = main(["run", "--text", UNSOLVED["text"], "--population", "10", "--hidden", "4",
                   "--generations", "12", "--backend", "serial", "--runs-dir", str(tmp_path),
                   "--name", "r", "--quiet"])
    assert status == 1
    err = capsys.readouterr().err
    assert "MemoryError: worker ran out of memory" in err and "Traceback" not in err
    folder = tmp_path / "r"
    assert summary(folder) == {"status": "failed",
                               "error": "MemoryError: worker ran out of memory",
                               "target": UNSOLVED["text"]}
    assert not (folder / "lock").exists()
    monkeypatch.undo()
    assert runner.run_resume(folder, quiet=True) == 0  # from the generation-0 checkpoint


def test_resume_of_a_run_killed_before_its_first_record(tmp_path):
    folder = RunFolder.create(tmp_path, "r", RunConfig(**UNSOLVED))
    assert runner.run_resume(folder.path, quiet=True) == 0
    assert [r["gen"] for r in folder.read_records()] == list(range(13))


@pytest.mark.parametrize("generations", [None, 20])
def test_resume_validates_everything_before_touching_the_folder(tmp_path, generations):
    assert runner.run_new(RunConfig(**UNSOLVED), tmp_path, "r", quiet=True) == 0
    folder = tmp_path / "r"
    (folder / "checkpoint.npz").write_bytes(b"broken")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(runner.RunFolderError, match="checkpoint.npz"):
        runner.run_resume(folder, generations=generations, quiet=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
