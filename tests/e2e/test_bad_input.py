"""Bad input anywhere: one clear line on stderr, exit status 2, no traceback, and
nothing left half-written (no run folder for a bad run, an untouched folder for a
bad resume)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evonet.cli import main
from evonet.evolve import TIMING_FIELDS
from evonet.lock import acquire

SMALL = ["--text", "abcabd", "--population", "8", "--hidden", "4", "--generations", "6",
         "--backend", "serial", "--quiet"]


def fails_cleanly(capsys, argv: list[str]) -> str:
    """Run the CLI in process; assert exit 2 and one error line; return that line."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evonet: error: "), err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------------------- evonet run
@pytest.mark.parametrize("toml, expected", [
    ("population = ", ["malformed TOML"]),
    ("popsize = 3\ncolour = 'red'", ["unknown key", "colour", "popsize"]),
    ("[ga]\npopulation = 3", ["unknown key", "ga"]),
    ('population = "many"', ["population must be int", "'many'"]),
    ("hidden = 2.5", ["hidden must be int"]),
    ("elite = true", ["elite must be int"]),
    ("mutpb = -0.1", ["mutpb", "[0.0, 1.0]", "-0.1"]),
    ("population = 1", ["population must be >= 2", "got 1"]),
    ("sigma = inf", ["sigma must be a finite number"]),
    ("sigma = nan", ["sigma must be a finite number"]),
    ("checkpoint_every = 0", ["checkpoint_every must be >= 1"]),
    ("checkpoint_seconds = -1.0", ["checkpoint_seconds must be >= 0.0"]),
    ("cell = 'transformer'", ["unknown cell 'transformer'", "elman"]),
    ("workers = 'many'", ["workers must be a whole number >= 1 or auto"]),
    ("text = 'a'", ["at least 2 characters"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_config_file(tmp_path, capsys, toml, expected):
    config = tmp_path / "bad.toml"
    config.write_text(toml + "\n")
    runs = tmp_path / "runs"
    line = fails_cleanly(capsys, ["run", "--config", str(config), *SMALL, "--runs-dir",
                                  str(runs)])
    for part in expected:
        assert part in line
    assert str(config) in line  # errors in a config file name the file
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("flags, expected", [
    (["--population", "many"], "argument --population: invalid int value: 'many'"),
    (["--cxpb", "1.5"], "cxpb must be in [0.0, 1.0] (got 1.5)"),
    (["--sigma", "nan"], "sigma must be a finite number"),
    (["--elite", "8"], "elite must be < population (got elite 8, population 8)"),
    (["--workers", "0"], "workers must be a whole number >= 1 or auto (got '0')"),
    (["--mutation", "wobble"], "unknown mutation 'wobble'"),
    (["--text-file", "/nonexistent/target.txt"], "cannot read text file"),
    (["--config", "/nonexistent/run.toml"], "cannot read config"),
    # finite but absurd step sizes overflowed float32 into runs scored -1e9
    (["--sigma", "1e308"], "sigma must be in [0.0, 100.0] (got 1e+308)"),
    (["--crossover", "blend", "--alpha", "1e308"], "alpha must be in [0.0, 10.0]"),
    (["--algorithm", "es", "--learning-rate", "1e308"], "learning_rate must be in [0.0, 10.0]"),
    (["--algorithm", "cma", "--es-sigma", "1e308"], "es_sigma must be in [0.0, 100.0]"),
    # bytes that are not UTF-8 reach Python as lone surrogates
    (["--text", "\udced\udca0\udc80ab"], "the target text is not valid Unicode"),
    (["--hidden", "100000"], "of memory, more than this machine's"),
    # plugins that import but cannot be called as a fitness or an operator
    (["--fitness", "math:sqrt"], "fitness 'math:sqrt' fails on two test networks: TypeError"),
    (["--fitness", "statistics:fmean"], "fitness 'statistics:fmean' fails on two test"),
    (["--mutation", "os:getcwd"], "mutation 'os:getcwd' fails on test networks: TypeError"),
    (["--crossover", "json:loads"], "crossover 'json:loads' fails on test networks"),
])
def test_bad_flags(tmp_path, capsys, flags, expected):
    runs = tmp_path / "runs"
    line = fails_cleanly(capsys, ["run", *SMALL, *flags, "--runs-dir", str(runs)])
    assert expected in line
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("argv, expected", [
    (["bench", "parallel", "--workers", "0"], "--workers: must be a whole number >= 1"),
    (["bench", "parallel", "--workers", "-1"], "--workers: must be a whole number >= 1"),
    (["bench", "parallel", "--seeds", "0"], "--seeds: must be a whole number >= 1"),
    (["bench", "parallel", "--population", "1"], "population must be >= 2"),
    (["bench", "parallel", "--hidden", "0"], "hidden must be >= 1"),
    (["bench", "parallel", "--repeats", "0"], "--repeats must be >= 1"),
    (["bench", "hello", "--plain-generations", "0"], "--plain-generations: must be a whole"),
    (["bench", "kernel", "--shape", "1,2,3"], "--shape must be P,H,V,T"),
    (["bench", "nosuch"], "unknown benchmark 'nosuch'"),
    (["bench", "texts", "--time-limit", "0"], "--time-limit: must be a number of seconds > 0"),
    (["bench", "texts", "--time-limit", "nan"], "--time-limit: must be a number of seconds"),
    (["bench", "texts", "--time-limit", "-5"], "--time-limit: must be a number of seconds"),
    (["bench", "cma", "--hidden-sizes", "16,a"], "--hidden-sizes: must be comma-separated"),
    (["bench", "cma", "--hidden-sizes", "16,0"], "--hidden-sizes: must be comma-separated"),
])
def test_bad_benchmark_options_fail_before_measuring(capsys, argv, expected):
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("evonet: error: ") and expected in err, err
    assert out == ""  # refused before anything was measured or printed


def test_a_text_file_is_the_target_byte_for_byte(tmp_path, capsys):
    (tmp_path / "cr.txt").write_bytes(b"a\rb\r\nc")  # read_text made both "\n"
    assert main(["run", *SMALL[2:], "--text-file", str(tmp_path / "cr.txt"), "--runs-dir",
                 str(tmp_path), "--name", "cr"]) == 0
    assert json.loads((tmp_path / "cr" / "summary.json").read_text())["target"] == "a\rb\r\nc"


@pytest.mark.parametrize("make_output, expected", [
    (lambda tmp: tmp / "a-file" / "x.png", "a-file is a file, not a folder"),
    (lambda tmp: tmp / "nowhere" / "x.png", "does not exist"),
])
def test_plot_to_an_impossible_path(tmp_path, capsys, make_output, expected):
    assert main(["run", *SMALL, "--runs-dir", str(tmp_path), "--name", "r"]) == 0
    (tmp_path / "a-file").write_text("")
    line = fails_cleanly(capsys, ["plot", str(tmp_path / "r"), "-o",
                                  str(make_output(tmp_path))])
    assert expected in line


def test_plot_size_is_bounded(tmp_path, capsys):
    line = fails_cleanly(capsys, ["plot", str(tmp_path), "-o", "x.png", "--width", "100000"])
    assert "--width: must be at most 10000" in line


def test_unwritable_runs_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = fails_cleanly(capsys, ["run", *SMALL, "--runs-dir", str(blocker / "runs")])
    assert "cannot create runs folder" in line and str(blocker / "runs") in line


def test_existing_run_name_is_refused_and_left_alone(tmp_path, capsys):
    assert main(["run", *SMALL, "--runs-dir", str(tmp_path), "--name", "r"]) == 0
    before = snapshot(tmp_path / "r")
    line = fails_cleanly(capsys, ["run", *SMALL, "--runs-dir", str(tmp_path), "--name", "r"])
    assert "exists already" in line and "evonet resume" in line
    assert snapshot(tmp_path / "r") == before


# ---------------------------------------------------------------------------- evonet resume
@pytest.fixture
def finished(tmp_path) -> Path:
    assert main(["run", *SMALL, "--runs-dir", str(tmp_path), "--name", "r"]) == 0
    return tmp_path / "r"


def test_truncated_checkpoint(finished, capsys):
    path = finished / "checkpoint.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = snapshot(finished)
    line = fails_cleanly(capsys, ["resume", str(finished), "--generations", "20"])
    assert str(path) in line and "corrupt" in line
    assert snapshot(finished) == before  # config.toml not rewritten with the new limit


def test_garbage_checkpoint(finished, capsys):
    (finished / "checkpoint.npz").write_bytes(b"not a zip file at all")
    line = fails_cleanly(capsys, ["resume", str(finished)])
    assert str(finished / "checkpoint.npz") in line


def test_missing_checkpoint(finished, capsys):
    (finished / "checkpoint.npz").unlink()
    before = snapshot(finished)
    line = fails_cleanly(capsys, ["resume", str(finished)])
    assert str(finished / "checkpoint.npz") in line and "missing" in line
    assert snapshot(finished) == before


def test_config_edited_incompatibly(finished, capsys):
    config = finished / "config.toml"
    config.write_text(config.read_text().replace("hidden = 4", "hidden = 5"))
    before = snapshot(finished)
    line = fails_cleanly(capsys, ["resume", str(finished)])
    assert "config.toml" in line and "changes results" in line
    assert snapshot(finished) == before


def test_config_edited_compatibly_resumes(finished, capsys):
    config = finished / "config.toml"
    config.write_text(config.read_text().replace("generations = 6", "generations = 9"))
    assert main(["resume", str(finished)]) == 0
    assert len((finished / "log.jsonl").read_text().splitlines()) == 10


def test_config_edited_into_garbage(finished, capsys):
    (finished / "config.toml").write_text("hidden = = 4\n")
    line = fails_cleanly(capsys, ["resume", str(finished)])
    assert str(finished / "config.toml") in line and "malformed TOML" in line


def test_not_a_run_folder(tmp_path, capsys):
    line = fails_cleanly(capsys, ["resume", str(tmp_path)])
    assert "not a run folder" in line


@pytest.mark.parametrize("generations, expected", [
    ("3", "--generations must be >= 6"), ("0", "--generations must be >= 6"),
    ("x", "invalid int value")])
def test_bad_generations(finished, capsys, generations, expected):
    before = snapshot(finished)
    line = fails_cleanly(capsys, ["resume", str(finished), "--generations", generations])
    assert expected in line
    assert snapshot(finished) == before


def test_second_writer_is_refused(finished, capsys):
    with acquire(finished):
        before = snapshot(finished)
        line = fails_cleanly(capsys, ["resume", str(finished), "--generations", "9"])
        assert f"in use by process {os.getpid()}" in line
        assert snapshot(finished) == before
    assert main(["resume", str(finished), "--generations", "9"]) == 0


def test_real_entry_point_prints_one_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("population = \n")
    done = subprocess.run([sys.executable, "-m", "evonet", "run", "--config", str(config),
                           "--runs-dir", str(tmp_path / "runs")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "malformed TOML" in done.stderr
    assert not (tmp_path / "runs").exists()


def limit_file_size(limit: int):
    """preexec_fn: files may not grow past `limit` bytes, and writes past it fail with
    EFBIG instead of killing the process (SIGXFSZ ignored): a full disk, per file."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return apply


@pytest.mark.slow
def test_full_disk_mid_run_then_resume(tmp_path):
    # A long target makes long log lines: the log outgrows the limit in few generations.
    flags = ["run", "--text", "the quick brown fox jumps over the lazy dog " * 4,
             "--population", "8", "--hidden", "4", "--generations", "90", "--backend",
             "serial", "--quiet", "--checkpoint-every", "10", "--runs-dir", str(tmp_path)]
    command = [sys.executable, "-m", "evonet"]
    reference = subprocess.run([*command, *flags, "--name", "ref"], capture_output=True,
                               text=True, timeout=120)
    assert reference.returncode == 0, reference.stderr
    full = subprocess.run([*command, *flags, "--name", "r"], capture_output=True, text=True,
                          timeout=120, preexec_fn=limit_file_size(60_000))
    folder = tmp_path / "r"
    assert full.returncode == 2, full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"evonet: error: cannot write {folder}")
    assert "File too large" in lines[0] and f"evonet resume {folder})" in lines[0]
    assert not (folder / "lock").exists()
    with np.load(folder / "checkpoint.npz", allow_pickle=False) as data:  # intact
        generation = json.loads(str(data["meta"]))["generation"]
    assert 0 < generation < 90

    resumed = subprocess.run([*command, "resume", str(folder), "--quiet"],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr

    def reproducible(run):
        return [{k: v for k, v in json.loads(line).items() if k not in TIMING_FIELDS}
                for line in (run / "log.jsonl").read_text().splitlines()]

    assert reproducible(folder) == reproducible(tmp_path / "ref")
    assert (folder / "best.npz").read_bytes() == (tmp_path / "ref" / "best.npz").read_bytes()
