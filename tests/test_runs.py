"""Reading run folders back: load_run, list_runs, statuses, per-field arrays."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import evonet
from evonet import runner
from evonet.config import RunConfig
from evonet.runfolder import RunFolder, RunFolderError
from evonet.runs import LOCK, columns, list_runs, load_run, read_folder


def config(**changes) -> RunConfig:
    values = {"text": "hello hello", "population": 24, "generations": 200, "hidden": 8,
              "backend": "serial", "seed": 1} | changes
    return RunConfig(**values)


class InterruptAt:
    """A progress display that presses Ctrl-C (a real SIGINT) at one generation."""

    def __init__(self, gen: int):
        self.gen = gen

    def __call__(self, record: dict) -> None:
        if record["gen"] == self.gen:
            os.kill(os.getpid(), signal.SIGINT)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    """A solved run, an interrupted run, a half-written folder and an unrelated one."""
    root = tmp_path_factory.mktemp("runs")
    assert runner.run_new(config(), root, name="solved", quiet=True) == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "make_progress", lambda **_: InterruptAt(4))
        assert runner.run_new(config(seed=2), root, name="interrupted", quiet=True) == 130
    half = root / "half"
    half.mkdir()
    (half / "config.toml").write_text(config().to_toml(), encoding="utf-8")
    (root / "photos").mkdir()
    (root / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    (root / "example.toml").write_text(config().to_toml(), encoding="utf-8")
    return root


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "log.jsonl").read_text().splitlines()]


def test_load_run_returns_what_the_files_hold(runs_dir):
    run = evonet.load_run(runs_dir / "solved")
    logged = log_lines(runs_dir / "solved")
    assert run.records == logged
    assert run.config == RunConfig.from_toml((runs_dir / "solved" / "config.toml").read_text())
    assert run.summary == json.loads((runs_dir / "solved" / "summary.json").read_text())
    assert run.status == "solved" and run.is_run and run.problem is None
    for key in ("gen", "nevals", "fitness_max", "fitness_avg", "accuracy_best", "elapsed_s"):
        assert run.history[key].tolist() == [r[key] for r in logged]
    assert run.history["solved"].dtype == bool
    assert run.history["best_text"].tolist() == [r["best_text"] for r in logged]


def test_diagnostics_that_are_none_become_nan(runs_dir):
    run = load_run(runs_dir / "solved")
    success = run.history["mutation_success"]
    raw = [r["mutation_success"] for r in run.records]
    assert raw[0] is None  # nothing was mutated before generation 0
    assert success.dtype == np.float64
    assert [math.isnan(v) for v in success] == [v is None for v in raw]


def test_headline_figures_agree_with_the_log_and_summary(runs_dir):
    run = load_run(runs_dir / "solved")
    logged = log_lines(runs_dir / "solved")
    assert run.generations == logged[-1]["gen"] == run.summary["generations"]
    assert run.solved_at == run.summary["solved_at"] == logged[-1]["gen"]
    # The best network is the one saved in best.npz: the first to regenerate the text,
    # which is not always the fittest ever logged.
    _, _, saved = RunFolder(runs_dir / "solved").load_best()
    assert run.best_fitness == saved["fitness"] <= max(r["fitness_max"] for r in logged)
    assert run.best_accuracy == run.summary["best_accuracy"] == 1.0
    assert run.evaluations == run.summary["evaluations"] == sum(r["nevals"] for r in logged)
    assert run.wall_time_s == run.summary["wall_time_s"]


def test_sample_regenerates_the_target_of_a_solved_run(runs_dir):
    run = load_run(runs_dir / "solved")
    assert run.sample() == "hello hello"
    assert run.sample(length=3) == "hel"


def test_interrupted_run(runs_dir):
    run = load_run(runs_dir / "interrupted")
    assert run.status == "interrupted"
    assert run.generations == 4 and run.solved_at is None
    _, _, best = RunFolder(run.path).load_best()
    assert run.best_accuracy == best["accuracy"]  # that of the network in best.npz
    assert run.best_fitness == max(r["fitness_max"] for r in run.records)
    assert run.wall_time_s == run.records[-1]["elapsed_s"]  # its summary has no wall time


def test_list_runs_names_every_folder_and_skips_files(runs_dir):
    runs = {run.name: run for run in list_runs(runs_dir)}
    assert sorted(runs) == ["half", "interrupted", "photos", "solved"]
    assert runs["half"].status == "half-written" and runs["half"].records == []
    assert runs["half"].target == "hello hello"
    assert [runs["half"].generations, runs["half"].best_fitness, runs["half"].evaluations,
            runs["half"].wall_time_s, runs["half"].solved_at] == [None] * 5  # unknown, not 0
    assert runs["photos"].status == "not a run" and runs["photos"].config is None
    assert [r.name for r in list_runs(runs_dir) if r.is_run] == ["interrupted", "solved"]


def test_load_run_refuses_a_folder_that_is_not_a_run(runs_dir, tmp_path):
    with pytest.raises(RunFolderError, match="no config.toml"):
        load_run(runs_dir / "photos")
    with pytest.raises(RunFolderError, match="not a folder"):
        load_run(tmp_path / "missing")
    with pytest.raises(RunFolderError, match="no such folder"):
        list_runs(tmp_path / "missing")


def copy_run(source: Path, target: Path, drop: tuple[str, ...] = ()) -> Path:
    target.mkdir()
    for path in source.iterdir():
        if path.name not in drop:
            (target / path.name).write_bytes(path.read_bytes())
    return target


def test_a_torn_last_log_line_is_left_out(runs_dir, tmp_path):
    run_dir = copy_run(runs_dir / "solved", tmp_path / "torn", drop=("summary.json",))
    with open(run_dir / "log.jsonl", "a") as handle:
        handle.write('{"gen": 99, "fitn')
    run = load_run(run_dir)
    assert run.records == log_lines(runs_dir / "solved")
    assert run.status == "unfinished"  # no summary and nobody holds the lock: it died


def test_damaged_config_is_half_written_not_a_crash(runs_dir, tmp_path):
    run_dir = copy_run(runs_dir / "solved", tmp_path / "bad")
    (run_dir / "config.toml").write_text("population = [", encoding="utf-8")
    run = read_folder(run_dir)
    assert run.status == "half-written" and "config.toml" in run.problem
    assert run.config is None and len(run.records) == len(log_lines(runs_dir / "solved"))


def test_lock_of_a_live_process_means_running_even_with_an_old_summary(runs_dir, tmp_path):
    run_dir = copy_run(runs_dir / "interrupted", tmp_path / "resuming")
    (run_dir / LOCK).write_text(f"{os.getpid()}\n")
    assert read_folder(run_dir).status == "running"


def test_lock_of_a_dead_process_without_summary_means_unfinished(runs_dir, tmp_path):
    run_dir = copy_run(runs_dir / "interrupted", tmp_path / "killed", drop=("summary.json",))
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    (run_dir / LOCK).write_text(child.stdout)
    run = read_folder(run_dir)
    assert run.status == "unfinished" and "killed" in run.problem


optional_float = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False))


@settings(deadline=None)  # a shared, loaded machine: slowness is not a bug
@given(st.lists(st.fixed_dictionaries({
    "gen": st.integers(0, 10**6), "x": optional_float, "flag": st.booleans(),
    "text": st.text(max_size=5), "maybe_flag": st.one_of(st.none(), st.booleans())}),
    max_size=20))
def test_columns_hold_every_record_with_nan_for_none(records):
    arrays = columns(records)
    if not records:
        assert arrays == {}
        return
    assert set(arrays) == {"gen", "x", "flag", "text", "maybe_flag"}
    assert all(len(a) == len(records) for a in arrays.values())
    assert arrays["gen"].dtype == np.int64 and arrays["gen"].tolist() == [r["gen"] for r in records]
    assert arrays["flag"].dtype == bool and arrays["flag"].tolist() == [r["flag"] for r in records]
    assert arrays["text"].tolist() == [r["text"] for r in records]
    for key in ("x", "maybe_flag"):
        for value, raw in zip(arrays[key], (r[key] for r in records)):
            assert math.isnan(value) if raw is None else value == raw


def test_columns_fill_fields_that_only_later_records_have():
    arrays = columns([{"gen": 0}, {"gen": 1, "new": 2.5}, {"gen": 2, "new": 3}])
    assert np.isnan(arrays["new"][0]) and arrays["new"][1:].tolist() == [2.5, 3.0]
