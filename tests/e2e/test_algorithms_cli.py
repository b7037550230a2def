"""Every algorithm and cell through the real CLI: the run solves, resumes, and
`evonet runs` and `evonet plot` compare the runs side by side."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evonet.algorithms import ALGORITHMS

# Small networks keep CMA's covariance small (hidden 8: 225 weights for "Hello world!").
FLAGS = {"cma": ["--es-sigma", "0.2"]}


def evonet(*args, cwd):
    return subprocess.run([sys.executable, "-m", "evonet", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_every_algorithm_solves_and_runs_and_plot_compare_them(tmp_path):
    names = sorted(ALGORITHMS)
    for name in names:
        done = evonet("run", "--text", "Hello world!", "--algorithm", name, "--hidden", "8",
                      "--backend", "serial", "--generations", "150", "--name", name,
                      "--quiet", *FLAGS.get(name, []), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "regenerated: 'Hello world!'" in done.stdout, (name, done.stdout)
        sample = evonet("sample", f"runs/{name}", cwd=tmp_path)
        assert sample.stdout == "Hello world!\n"
    table = json.loads(evonet("runs", "--json", cwd=tmp_path).stdout)
    assert {row["name"]: row["status"] for row in table} == dict.fromkeys(names, "solved")
    plot = evonet("plot", *[f"runs/{n}" for n in names], "-o", "all.png", cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "all.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_run_resume_and_sample(tmp_path, cell):
    common = ["--text", "abcabdabe", "--cell", cell, "--algorithm", "es", "--hidden", "4",
              "--backend", "serial", "--seed", "1", "--name", "r"]
    done = evonet("run", *common, "--generations", "3", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resumed = evonet("resume", "runs/r", "--generations", "6", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    records = [json.loads(line) for line in (tmp_path / "runs/r/log.jsonl").read_text()
               .splitlines()]
    assert [r["gen"] for r in records] == list(range(len(records)))
    assert len(records) == 7 or records[-1]["solved"]
    sample = evonet("sample", "runs/r", "--length", "9", cwd=tmp_path)
    assert sample.returncode == 0 and len(sample.stdout.strip("\n")) == 9


def test_cma_on_a_big_network_exits_2_before_writing_anything(tmp_path):
    done = evonet("run", "--algorithm", "cma", "--hidden", "64", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--algorithm es" in done.stderr
    assert not (tmp_path / "runs").exists()
