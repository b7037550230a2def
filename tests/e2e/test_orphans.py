"""Worker processes never outlive their run, even when the run is killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_the_main_process_is_killed(tmp_path):
    run = subprocess.Popen(
        [sys.executable, "-m", "evonet", "run", "--text", "the rain in spain falls mainly",
         "--population", "64", "--hidden", "24", "--generations", "100000",
         "--backend", "process", "--workers", "2", "--runs-dir", str(tmp_path), "--name", "r",
         "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "r" / "log.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (log.exists() and log.read_text().count("\n") > 2):
        time.sleep(0.05)  # polling an observable event (log lines), bounded by the deadline
    workers = {pid for pid in children_of(run.pid)
               if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()}
    assert len(workers) >= 2, "the run should be evaluating on worker processes"
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.05)
    leftover = [pid for pid in workers if alive(pid)]
    for pid in leftover:  # do not leak them into the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert not leftover, f"workers outlived their run: {leftover}"
