"""A worker process SIGKILLed mid-run: the run notices, replaces it, and ends exactly like an
undisturbed run; workers that keep dying stop the run with a clear error, resumable.

Faults come from the `worker_faults` fitness plugin (tests/worker_faults.py), which
only ever kills pool workers and otherwise scores like `loglik`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_backends import assert_same_outcome

from evonet.cli import main
from evonet.config import RunConfig
from evonet.evolve import evolve
from evonet.process_pool import WorkerDiedError
from evonet.runfolder import RunFolder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SETTINGS = dict(text="the rain in spain", population=20, generations=8, hidden=8, seed=11,
                checkpoint_every=2, fitness="worker_faults:loglik_or_die")


@pytest.fixture
def faults(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    import worker_faults

    return worker_faults


@pytest.fixture
def undisturbed(tmp_path, faults):
    config = RunConfig(**SETTINGS, backend="serial")
    folder = RunFolder.create(tmp_path, "undisturbed", config)
    evolve(config, folder)
    return folder


def touch_at(generation: int, path: Path):
    """An on_record callback creating `path` once `generation` is complete."""
    def on_record(record):
        if record["gen"] == generation:
            path.touch()
    return on_record


def test_worker_sigkilled_mid_generation_ends_like_an_undisturbed_run(
        tmp_path, faults, undisturbed, monkeypatch, caplog):
    trigger = tmp_path / "wait-for-kill"
    monkeypatch.setenv(faults.WAIT_FOR_KILL, str(trigger))
    config = RunConfig(**SETTINGS, backend="process", workers="2")
    folder = RunFolder.create(tmp_path, "killed", config)
    watcher = faults.kill_when_announced(tmp_path / "wait-for-kill.pid")
    with caplog.at_level("WARNING", logger="evonet"):
        evolve(config, folder, on_record=touch_at(3, trigger))
    watcher.join()
    assert (tmp_path / "wait-for-kill.pid").exists()  # a worker took the block and was killed
    assert "a worker process died" in caplog.text
    assert_same_outcome(folder, undisturbed)


def test_cli_run_logs_the_death_to_run_log_and_console(tmp_path, faults, undisturbed,
                                                       monkeypatch, capsys):
    trigger = tmp_path / "die-once"
    trigger.touch()
    monkeypatch.setenv(faults.DIE_ONCE, str(trigger))
    status = main(["run", "--config", str(undisturbed / "config.toml"), "--backend", "process",
                   "--workers", "2", "--runs-dir", str(tmp_path), "--name", "cli", "--quiet"])
    assert status == 0 and not trigger.exists()
    err = capsys.readouterr().err
    assert "evonet: MainProcess: WARNING: a worker process died" in err
    folder = RunFolder(tmp_path / "cli")
    assert " MainProcess WARNING a worker process died" in (folder / "run.log").read_text()
    assert_same_outcome(folder, undisturbed)


def test_workers_that_keep_dying_stop_the_run_and_its_checkpoint_resumes_it(
        tmp_path, faults, undisturbed, monkeypatch):
    trigger = tmp_path / "die-while"
    monkeypatch.setenv(faults.DIE_WHILE, str(trigger))
    config = RunConfig(**SETTINGS, backend="process", workers="2")
    folder = RunFolder.create(tmp_path, "dying", config)
    with pytest.raises(WorkerDiedError, match="died 3 times in a row"):
        evolve(config, folder, on_record=touch_at(4, trigger))
    trigger.unlink()  # the cause is fixed: the run continues from its checkpoint
    evolve(config, folder, resume=True)
    assert_same_outcome(folder, undisturbed)


def test_cli_exits_1_naming_the_dying_workers(tmp_path, faults, monkeypatch, capsys):
    trigger = tmp_path / "die-while"
    trigger.touch()
    monkeypatch.setenv(faults.DIE_WHILE, str(trigger))
    status = main(["run", "--text", SETTINGS["text"], "--fitness", SETTINGS["fitness"],
                   "--population", "8", "--hidden", "4", "--backend", "process", "--workers",
                   "2", "--runs-dir", str(tmp_path), "--name", "x", "--quiet"])
    assert status == 1
    assert "WorkerDiedError: worker processes died 3 times in a row" in capsys.readouterr().err
