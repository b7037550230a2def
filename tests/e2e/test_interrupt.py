"""Ctrl-C and SIGTERM: a checkpoint, the resume hint, exit 130, and a run that resumes
to exactly the uninterrupted result."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runs import evonet, reference_run, reproducible

pytestmark = pytest.mark.slow

TEXT = "evolution is a tinkerer, not an engineer; it works with what it has"
RUN_FLAGS = ["--text", TEXT, "--population", "32", "--hidden", "16", "--generations", "60",
             "--backend", "serial", "--seed", "3", "--quiet", "--checkpoint-every", "1000",
             "--checkpoint-seconds", "3600"]


def interrupt_after(tmp_path: Path, lines: int, signals: list[int], while_running=None,
                    flags: tuple[str, ...] = ()):
    """Start a run, send `signals` once log.jsonl has `lines` lines (after calling
    `while_running(proc)`, if given); return (exit status, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "evonet", "run", *RUN_FLAGS, *flags,
                             "--runs-dir", str(tmp_path), "--name", "run"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    log = tmp_path / "run" / "log.jsonl"
    deadline = time.monotonic() + 60
    while not log.exists() or log.read_bytes().count(b"\n") < lines:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "timed out waiting for log lines"
        time.sleep(0.002)
    if while_running is not None:
        while_running(proc)
    for sig in signals:
        proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory.mktemp("reference"), RUN_FLAGS)


@pytest.mark.parametrize("signals", [[signal.SIGINT], [signal.SIGTERM],
                                     [signal.SIGINT, signal.SIGINT, signal.SIGINT]],
                         ids=["sigint", "sigterm", "sigint-thrice"])
def test_interrupt_checkpoints_exits_130_and_resumes_exactly(tmp_path, reference, signals):
    status, stderr = interrupt_after(tmp_path, 5, signals)
    folder = tmp_path / "run"
    assert status == 130, stderr
    records = reproducible(folder / "log.jsonl")
    last = records[-1]["gen"]
    assert f"interrupted at generation {last}; resume with: evonet resume {folder}" in stderr
    assert "Traceback" not in stderr
    # The checkpoint is of the last logged generation (--checkpoint-every would not have
    # written one), so nothing needs to be recomputed or trimmed.
    with np.load(folder / "checkpoint.npz", allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    assert meta["generation"] == last and meta["log_records"] == len(records)
    assert json.loads((folder / "summary.json").read_text())["status"] == "interrupted"
    assert not (folder / "lock").exists()

    done = evonet("resume", str(folder), "--quiet")
    assert done.returncode == 0, done.stderr
    assert reproducible(folder / "log.jsonl") == reproducible(reference / "log.jsonl")
    assert (folder / "best.npz").read_bytes() == (reference / "best.npz").read_bytes()
    assert json.loads((folder / "summary.json").read_text())["status"] == "max_generations"


def test_a_second_writer_is_refused_while_the_run_is_alive(tmp_path):
    folder = tmp_path / "run"

    def second_writer(proc):
        refused = evonet("resume", str(folder), "--generations", "100")
        assert refused.returncode == 2
        assert refused.stderr.strip() == (
            f"evonet: error: {folder} is in use by process {proc.pid} (lock file "
            f"{folder / 'lock'}); wait for it to finish or stop it first")
        assert proc.poll() is None  # the running one goes on undisturbed

    # Many generations, so that the run is still going when the second writer comes.
    status, stderr = interrupt_after(tmp_path, 3, [signal.SIGINT], second_writer,
                                     ("--generations", "100000"))
    assert status == 130, stderr
    assert "generations = 100000" in (folder / "config.toml").read_text()
