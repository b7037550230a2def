"""kill -9 at random generations, resume, and get the uninterrupted run bit for bit."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runs import evonet, reference_run, reproducible

pytestmark = pytest.mark.slow

# Long enough a text not to be solved in GENERATIONS, so every kill lands mid-run.
TEXT = "evolution is a tinkerer, not an engineer; it works with what it has"
GENERATIONS = 80
RUN_FLAGS = ["--text", TEXT, "--population", "32", "--hidden", "16", "--generations",
             str(GENERATIONS), "--backend", "serial", "--seed", "7", "--quiet"]


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "evonet", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def line_count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_after(proc: subprocess.Popen, log: Path, lines: int) -> None:
    """SIGKILL `proc` as soon as log.jsonl holds `lines` lines (polling, bounded)."""
    deadline = time.monotonic() + 60
    while line_count(log) < lines:
        assert proc.poll() is None, f"run ended before {lines} log lines: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "timed out waiting for log lines"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory.mktemp("reference"), RUN_FLAGS)


@pytest.mark.parametrize("every", [1, 7])
def test_killed_at_random_generations_then_resumed_is_bit_identical(tmp_path, reference,
                                                                     every):
    rng = random.Random()
    kills = sorted(rng.sample(range(2, GENERATIONS - 5), 3))
    folder = tmp_path / "run"
    log = folder / "log.jsonl"
    flags = [*RUN_FLAGS, "--checkpoint-every", str(every), "--checkpoint-seconds", "3600"]
    proc = start("run", *flags, "--runs-dir", str(tmp_path), "--name", "run")
    for n, lines in enumerate(kills):
        kill_after(proc, log, lines)
        assert not (folder / "summary.json").exists(), "a killed run wrote a summary"
        # A stale lock is left behind, naming the dead process: the resume takes it over.
        assert (folder / "lock").read_text().strip() == str(proc.pid)
        if n + 1 < len(kills):
            proc = start("resume", str(folder), "--quiet")
    done = evonet("resume", str(folder), "--quiet")
    assert done.returncode == 0, f"kills after {kills} lines: {done.stderr}"
    assert reproducible(log) == reproducible(reference / "log.jsonl"), f"kills: {kills}"
    assert (folder / "best.npz").read_bytes() == (reference / "best.npz").read_bytes()
    assert json.loads((folder / "summary.json").read_text())["status"] == "max_generations"
    assert not (folder / "lock").exists()
    assert not list(folder.glob(".*.tmp"))  # temporaries of writes cut short are gone


def test_kill_before_the_first_checkpoint_starts_over(tmp_path, reference):
    folder = tmp_path / "run"
    proc = start("run", *RUN_FLAGS, "--runs-dir", str(tmp_path), "--name", "run")
    kill_after(proc, folder / "log.jsonl", 1)
    # Make it the worst moment: generation 0's line written (and a torn line after it),
    # its checkpoint not yet.
    (folder / "checkpoint.npz").unlink(missing_ok=True)
    first = (folder / "log.jsonl").read_text().splitlines()[0]
    (folder / "log.jsonl").write_text(first + '\n{"gen": 1, "torn')
    done = evonet("resume", str(folder), "--quiet")
    assert done.returncode == 0, done.stderr
    assert reproducible(folder / "log.jsonl") == reproducible(reference / "log.jsonl")


def test_extending_a_finished_run_on_another_backend_matches_one_long_run(tmp_path, reference):
    short = [*RUN_FLAGS]
    short[short.index("--generations") + 1] = "40"
    done = evonet("run", *short, "--runs-dir", str(tmp_path), "--name", "run")
    assert done.returncode == 0, done.stderr
    # Resuming on another backend must not change a bit either.
    extended = evonet("resume", str(tmp_path / "run"), "--generations", str(GENERATIONS),
                      "--backend", "process", "--workers", "2", "--quiet")
    assert extended.returncode == 0, extended.stderr
    log = tmp_path / "run" / "log.jsonl"
    assert reproducible(log) == reproducible(reference / "log.jsonl")
    assert (tmp_path / "run" / "best.npz").read_bytes() == \
        (reference / "best.npz").read_bytes()
    assert f"generations = {GENERATIONS}" in (tmp_path / "run" / "config.toml").read_text()
