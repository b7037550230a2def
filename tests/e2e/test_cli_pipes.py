"""The CLI as part of a shell pipeline."""

import subprocess
import sys


def test_a_reader_that_leaves_early_is_not_a_failure(tmp_path):
    for name in "abc":
        (tmp_path / "runs" / name).mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-m", "evonet", "runs", "runs"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `| head -0`: nobody reads the table
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
