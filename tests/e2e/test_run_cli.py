"""`evonet run` and `evonet sample` end to end, through the real CLI in a temp folder."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

LOG_FIELDS = {"gen", "nevals", "fitness_max", "fitness_avg", "fitness_min", "fitness_std",
              "accuracy_best", "solved", "best_text", "sigma", "mutation_success",
              "crossover_success", "diversity", "elapsed_s", "evals_per_s",
              "mutated_fraction", "mean_step", "mutation_neutral"}


def evonet(*args, cwd):
    return subprocess.run([sys.executable, "-m", "evonet", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_hello_world_is_solved_and_sample_regenerates_it(tmp_path):
    done = evonet("run", "--text", "Hello world!", "--runs-dir", "runs", "--name", "hello",
                  "--backend", "serial", "--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "regenerated: 'Hello world!'" in done.stdout
    assert "solved at generation" in done.stdout
    folder = tmp_path / "runs" / "hello"
    assert {p.name for p in folder.iterdir()} >= {"config.toml", "log.jsonl", "best.npz",
                                                  "checkpoint.npz", "run.log", "summary.json"}
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert [r["gen"] for r in records] == list(range(len(records)))
    for record in records:
        assert LOG_FIELDS <= set(record)
    assert records[-1]["solved"] and records[-1]["best_text"] == "Hello world!"
    assert not any(r["solved"] for r in records[:-1])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "solved" and summary["solved_at"] == records[-1]["gen"]
    with np.load(folder / "best.npz", allow_pickle=False) as best:
        assert best["genome"].dtype == np.float32

    sample = evonet("sample", str(folder), cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr
    assert sample.stdout == "Hello world!\n"
    longer = evonet("sample", str(folder), "--length", "20", "--prime", "Hel", cwd=tmp_path)
    assert longer.returncode == 0 and longer.stdout.startswith("Hello world!")


def test_config_file_and_flags_combine_and_the_run_is_reproducible(tmp_path):
    (tmp_path / "c.toml").write_text('text = "abcabd"\npopulation = 16\nhidden = 4\n'
                                     'generations = 5\nbackend = "serial"\n')
    logs = []
    for name in ("a", "b"):
        done = evonet("run", "--config", "c.toml", "--seed", "9", "--runs-dir", "r",
                      "--name", name, "--quiet", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        records = [json.loads(x) for x in (tmp_path / "r" / name / "log.jsonl").open()]
        logs.append([{k: v for k, v in r.items() if k not in ("elapsed_s", "evals_per_s",
                                                              "eval_s")} for r in records])
    assert logs[0] == logs[1]
    saved = (tmp_path / "r" / "a" / "config.toml").read_text()
    assert 'text = "abcabd"' in saved and "seed = 9" in saved and "population = 16" in saved


BAD = [
    (["--text", ""], "empty"),
    (["--text", "x"], "at least 2"),
    (["--text-file", "missing.txt"], "missing.txt"),
    (["--text-file", "latin1.txt"], "UTF-8"),
    (["--population", "1"], "population"),
    (["--hidden", "0"], "hidden"),
    (["--generations", "0"], "generations"),
    (["--sigma", "0"], "sigma"),
    (["--sigma", "-1"], "sigma"),
    (["--crossover", "zigzag"], "crossover"),
    (["--mutation", "zigzag"], "mutation"),
    (["--cell", "zigzag"], "cell"),
    (["--encoding", "zigzag"], "encoding"),
    (["--fitness", "zigzag"], "fitness"),
    (["--mutation", "no_such_module:f"], "no_such_module"),
    (["--fitness", "evonet.fitness:no_such_function"], "no_such_function"),
    (["--population", "many"], "population"),
]


@pytest.mark.parametrize("args,needle", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_no_run_folder(tmp_path, args, needle):
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    done = evonet("run", *args, "--runs-dir", "runs", "--backend", "serial", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evonet: error:"), done.stderr
    assert needle in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_an_unexpected_failure_is_one_line_exit_1_with_the_traceback_in_run_log(tmp_path):
    # It passes the pre-run trial call (bad input, exit 2), then fails mid-run.
    (tmp_path / "failing_fitness.py").write_text(
        "calls = 0\n\n"
        "def boom(logits, targets):\n"
        "    global calls\n"
        "    calls += 1\n"
        "    if calls > 2:\n"
        "        raise RuntimeError('kaboom')\n"
        "    return logits.max(axis=-1).mean(axis=1)\n")
    done = subprocess.run(
        [sys.executable, "-m", "evonet", "run", "--fitness", "failing_fitness:boom",
         "--backend", "serial", "--runs-dir", "runs", "--name", "f"], cwd=tmp_path,
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": "."})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "evonet: failed: RuntimeError: kaboom (rerun with --debug for the traceback)"]
    folder = tmp_path / "runs" / "f"
    assert json.loads((folder / "summary.json").read_text())["status"] == "failed"
    assert "Traceback" in (folder / "run.log").read_text()


def test_resume_with_bad_input_leaves_the_run_folder_untouched(tmp_path, monkeypatch):
    from evonet.cli import main

    (tmp_path / "my_fitness.py").write_text(
        "from evonet.fitness import loglik\n\ndef f(logits, targets):\n"
        "    return loglik(logits, targets)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", "--fitness", "my_fitness:f", "--text", "abcabd", "--population", "8",
                 "--hidden", "3", "--generations", "3", "--backend", "serial", "--quiet",
                 "--runs-dir", str(tmp_path / "runs"), "--name", "p"]) == 0
    folder = tmp_path / "runs" / "p"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.delitem(sys.modules, "my_fitness")
    (tmp_path / "my_fitness.py").unlink()
    assert main(["resume", str(folder), "--generations", "10"]) == 2
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_debug_flag_works_after_the_subcommand_and_names_cannot_escape(tmp_path):
    done = evonet("run", "--population", "1", "--debug", cwd=tmp_path)
    assert done.returncode == 2 and "population" in done.stderr
    escape = evonet("run", "--name", "../outside", "--runs-dir", "runs", "--backend", "serial",
                    cwd=tmp_path)
    assert escape.returncode == 2 and "--name" in escape.stderr
    assert not (tmp_path / "outside").exists()
