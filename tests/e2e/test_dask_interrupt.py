"""Ctrl-C in a terminal signals the whole process group, Dask's workers included."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("distributed")


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_on_dask_is_a_clean_interrupt(tmp_path):
    run = subprocess.Popen(
        [sys.executable, "-m", "evonet", "run", "--text", "the rain in spain falls mainly",
         "--population", "32", "--hidden", "8", "--generations", "100000", "--backend", "dask",
         "--workers", "2", "--runs-dir", str(tmp_path), "--name", "d", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    log = tmp_path / "d" / "log.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (log.exists()
                                                   and log.read_text().count("\n") >= 3):
            time.sleep(0.05)  # polling an observable event, bounded by the deadline
        assert log.exists(), "the run never logged a generation"
        os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["status"] == "interrupted"
