"""`evonet runs`, `show`, `plot` and the progress output, end to end through the real CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evonet.cli import main

pytestmark = pytest.mark.slow

TINY = ("--population", "24", "--hidden", "8", "--backend", "serial")

# A fitness plugin that presses Ctrl-C (a real SIGINT to its own process) on its 5th call:
# an interrupted run made by the real CLI, with no timing involved.
INTERRUPTER = '''
import os, signal
from evonet.fitness import loglik
calls = 0
def fitness(logits, targets):
    global calls
    calls += 1
    if calls == 5:
        os.kill(os.getpid(), signal.SIGINT)
    return loglik(logits, targets)
'''


def evonet(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evonet", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(cwd)})


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """runs/: solved, interrupted, short (max_generations, --quiet), half, photos."""
    cwd = tmp_path_factory.mktemp("inspect")
    (cwd / "interrupter.py").write_text(INTERRUPTER)
    made = {
        "solved": evonet("run", "--text", "hello hello", "--name", "solved", "--seed", "1",
                         "--generations", "300", *TINY, cwd=cwd),
        "interrupted": evonet("run", "--text", "abcabd", "--name", "interrupted",
                              "--fitness", "interrupter:fitness", *TINY, cwd=cwd),
        "short": evonet("run", "--text", "a longer target text", "--name", "short",
                        "--generations", "3", "--quiet", *TINY, cwd=cwd),
    }
    assert [made[k].returncode for k in made] == [0, 130, 0], [p.stderr for p in made.values()]
    (cwd / "made.json").write_text(json.dumps({k: p.stdout for k, p in made.items()}))
    half = cwd / "runs" / "half"
    half.mkdir()
    (half / "config.toml").write_text((cwd / "runs" / "short" / "config.toml").read_text())
    (cwd / "runs" / "photos").mkdir()
    (cwd / "runs" / "photos" / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    return cwd


def test_progress_lines_when_piped_and_only_the_result_when_quiet(work):
    stdout = json.loads((work / "made.json").read_text())
    assert any(line.startswith("gen     0  best") for line in stdout["solved"].splitlines())
    assert stdout["short"].splitlines()[0] == f"run folder: {Path('runs') / 'short'}"
    assert not any(line.startswith("gen ") for line in stdout["short"].splitlines())


def table(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    return {line.split()[0]: line for line in lines[1:]}


def test_runs_table_lists_every_folder_with_its_status(work):
    done = evonet("runs", cwd=work)
    assert done.returncode == 0 and done.stderr == ""
    rows = table(done.stdout)
    assert sorted(rows) == ["half", "interrupted", "photos", "short", "solved"]
    assert " solved " in rows["solved"] and " interrupted " in rows["interrupted"]
    assert " max_generations " in rows["short"]
    assert " half-written " in rows["half"] and " not a run " in rows["photos"]
    solved = json.loads((work / "runs" / "solved" / "summary.json").read_text())
    assert f" {solved['solved_at']} " in rows["solved"]
    assert rows["solved"].rstrip().endswith(f" {solved['evaluations']}")


def test_runs_json_and_sort(work):
    done = evonet("runs", "runs", "--json", "--sort", "generations", "--reverse", cwd=work)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    gens = [row["generations"] for row in rows]
    present = [g for g in gens if g is not None]
    assert present == sorted(present, reverse=True) and gens[len(present):] == [None, None]
    by_name = {row["name"]: row for row in rows}
    assert by_name["interrupted"]["status"] == "interrupted"
    records = (work / "runs" / "interrupted" / "log.jsonl").read_text().splitlines()
    assert by_name["interrupted"]["generations"] == json.loads(records[-1])["gen"]
    assert by_name["short"]["target"] == "a longer target text"


def test_runs_bad_input_is_one_line_and_status_2(work):
    for args in (["runs", "--sort", "speed"], ["runs", "nowhere"]):
        done = evonet(*args, cwd=work)
        assert done.returncode == 2 and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("evonet: error:")


def test_show_prints_config_summary_log_and_a_fresh_regeneration(work):
    done = evonet("show", "runs/solved", "--last", "4", cwd=work)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert 'text = "hello hello"' in out and "status: 'solved'" in out
    assert "last 4):" in out
    assert out.rstrip().endswith("'hello hello'")
    missing = evonet("show", "runs/photos", cwd=work)
    assert missing.returncode == 2 and "no config.toml" in missing.stderr


def png_size(path: Path) -> tuple[int, int]:
    from matplotlib.image import imread

    pixels = imread(path)  # decodes the whole file: fails on a torn or invalid PNG
    return pixels.shape[1], pixels.shape[0]


def test_plot_one_and_three_runs_to_png_of_the_requested_size(work):
    one = evonet("plot", "runs/solved", "-o", "one.png", cwd=work)
    assert one.returncode == 0, one.stderr
    assert png_size(work / "one.png") == (1000, 700)
    three = evonet("plot", "runs/solved", "runs/interrupted", "runs/short", "-o", "three.png",
                   "--width", "640", "--height", "480", cwd=work)
    assert three.returncode == 0, three.stderr
    assert png_size(work / "three.png") == (640, 480)


def test_plot_refuses_folders_without_curves_and_writes_nothing(work):
    for folder in ("runs/half", "runs/photos"):
        done = evonet("plot", "runs/solved", folder, "-o", "bad.png", cwd=work)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert not (work / "bad.png").exists()


def test_plot_without_matplotlib_prints_the_install_hint(work, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    status = main(["plot", str(work / "runs" / "solved"), "-o", str(work / "none.png")])
    err = capsys.readouterr().err
    assert status == 2 and err == "evonet: error: plotting needs matplotlib: " \
                                  "pip install 'evonet[plot]'\n"
    assert not (work / "none.png").exists()


def test_a_terminal_gets_the_bar_and_the_current_regeneration(tmp_path):
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 90, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "evonet", "run", "--text", "hello hello", "--name", "tty",
         "--seed", "1", "--generations", "300", *TINY],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:  # read until the child closes the terminal (EIO), so no timing is involved
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert child.wait(timeout=300) == 0
    out = b"".join(chunks).decode()
    screen = [line for line in re.split(r"[\r\n]|\x1b\[A", out) if line]
    bars = [line for line in screen if re.match(r"gen \d+/300 .* best -?\d\.\d{4} acc \d\.\d{3} "
                                                 r"\d+ evals/s \d\d:\d\d", line)]
    assert bars and all(len(line) <= 90 for line in bars)
    assert "best: 'hello hello'" in screen
    assert not any(line.startswith("gen     0  best") for line in screen)  # not line mode
    assert "regenerated: 'hello hello'" in out
