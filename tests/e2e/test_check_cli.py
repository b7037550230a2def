"""`evonet check` end to end through the real CLI: exit 0 when every operator is
effective, 1 when one is not (with the reason), 2 on bad input; --json,
--ablation and --plot."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]  # broken_operators.py lives there
TINY = ["--text", "hello world", "--population", "16", "--hidden", "6", "--backend", "serial",
        "--warmup", "3", "--samples", "24"]


def evonet(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "evonet", "check", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_builtin_operators_pass(tmp_path):
    done = evonet(*TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "crossover uniform: effective" in done.stdout
    assert "mutation gaussian: effective" in done.stdout
    assert "every checked operator is effective" in done.stdout


@pytest.mark.parametrize("flag, operator, reason", [
    ("--mutation", "broken_operators:mut_writes_old_value_back", "writes the old values back"),
    ("--mutation", "broken_operators:mut_returns_new_array", "stale-fitness trap"),
    ("--mutation", "broken_operators:mut_zero_step", "zero step"),
    ("--crossover", "broken_operators:cx_swap_without_copy", "corrupts a parent"),
])
def test_classic_bugs_exit_1_with_their_reason(tmp_path, flag, operator, reason):
    done = evonet(*TINY, flag, operator, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    kind = flag.lstrip("-")
    assert f"{kind} {operator}: " in done.stdout and reason in done.stdout
    assert f"not effective: {kind} {operator}" in done.stdout
    assert done.stderr == ""


def test_json_for_scripts(tmp_path):
    done = evonet(*TINY, "--mutation", "broken_operators:mut_zero_step", "--json", cwd=tmp_path)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["ablation"] is None
    ops = {op["kind"]: op for op in data["check"]["operators"]}
    assert ops["mutation"]["verdict"] == "no-op" and ops["mutation"]["findings"] == ["zero-step"]
    assert ops["crossover"]["verdict"] == "effective"


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "--seeds"),
    (["--plot", "curves.png"], "add --ablation"),
    (["--ablation", "--plot", "curves.gif"], "unknown image format"),
    (["--mutation", "no_such_module:mut"], "cannot import"),
    (["--sigma", "-1"], "sigma"),
    (["--config", "missing.toml"], "cannot read config"),
    (["--algorithm", "es", "--ablation"], "use --algorithm ga"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    done = evonet(*TINY, *args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.slow
def test_ablation_table_json_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    args = [*TINY, "--text", "abcabd", "--generations", "15", "--ablation", "--seeds", "2"]
    done = evonet(*args, "--plot", "curves.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for line in ("both", "no mutation", "no crossover", "mutation matters: ",
                 "crossover matters: ", "ablation plot: curves.png"):
        assert line in done.stdout
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads(evonet(*args, "--json", cwd=tmp_path).stdout)
    comparisons = data["ablation"]["comparisons"]
    assert [c["operator"] for c in comparisons] == ["mutation", "crossover"]
    assert all(0.0 <= c["p"] <= 1.0 for c in comparisons)
    assert data["ablation"]["evaluation_budget"] == 16 + 15 * (16 - 2)
