"""Helpers shared by the end-to-end tests that stop runs and resume them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evonet.evolve import TIMING_FIELDS


def evonet(*args: str) -> subprocess.CompletedProcess:
    """`python -m evonet ARGS`, output captured."""
    return subprocess.run([sys.executable, "-m", "evonet", *args], capture_output=True,
                          text=True, timeout=120)


def reproducible(log: Path) -> list[dict]:
    """log.jsonl's records without the timing fields (which differ run to run)."""
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in records]


def reference_run(runs: Path, flags: list[str]) -> Path:
    """The folder of an undisturbed `evonet run FLAGS` under `runs`."""
    done = evonet("run", *flags, "--runs-dir", str(runs), "--name", "ref")
    assert done.returncode == 0, done.stderr
    return runs / "ref"
