"""`evonet bench parallel` end to end on a tiny workload: it runs, checks every
evaluator's scores against serial (the bench refuses to time wrong answers), and
reports the workload's own ceiling next to each speedup. Timings are not asserted:
a benchmark is not a timed test."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_parallel_reports_speedups_against_the_workload_ceiling():
    done = subprocess.run(
        [sys.executable, "-m", "evonet", "bench", "parallel", "--repeats", "1",
         "--population", "12", "--hidden", "4", "--skip-dask", "--skip-hello"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ceiling = re.search(r"this workload's ceiling, measured between the process pools' repeats: 2 "
                        r"processes evaluating a block each at once do (\d+\.\d+)x the work of "
                        r"one alone", done.stdout)
    assert ceiling and float(ceiling.group(1)) > 0, done.stdout
    verdicts = re.findall(r"process x2 \((shared memory|pickled rows)\): \d+\.\d+x \(target "
                          r">= 1\.8x\) (?:ok|BELOW TARGET); \d+% of the workload's ceiling",
                          done.stdout)
    assert sorted(verdicts) == ["pickled rows", "shared memory"], done.stdout
