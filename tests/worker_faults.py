"""Fitness plugins that kill the worker process evaluating them, for the worker-death tests.

Importable as `worker_faults:NAME` once this folder is on `sys.path`. They only ever
kill a child process (a pool worker), never the test process itself, and behave
like `loglik` otherwise, so a run that survives them matches an undisturbed run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

from evonet.fitness import loglik

# Path of a file: the first worker that removes it kills itself (only one can).
DIE_ONCE = "EVONET_TEST_DIE_ONCE"
# Path of a file: every worker dies while it exists.
DIE_WHILE = "EVONET_TEST_DIE_WHILE"
# Path of a file: the first worker that removes it writes its pid to PATH.pid and
# waits there, mid-block, for the test to kill it.
WAIT_FOR_KILL = "EVONET_TEST_WAIT_FOR_KILL"


def _in_worker() -> bool:
    return multiprocessing.parent_process() is not None


def _claim(path: str | None) -> bool:
    """True in the one worker process that removes the file at `path`."""
    if not path or not _in_worker():
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def loglik_or_die(logits, targets):
    once, always = os.environ.get(DIE_ONCE), os.environ.get(DIE_WHILE)
    if _claim(os.environ.get(WAIT_FOR_KILL)):
        path = os.environ[WAIT_FOR_KILL]
        with open(path + ".tmp", "w") as handle:
            handle.write(str(os.getpid()))
        os.replace(path + ".tmp", path + ".pid")  # appears whole, with the pid in it
        deadline = time.monotonic() + 60  # bounded: a test that never kills fails, not hangs
        while time.monotonic() < deadline:
            time.sleep(0.01)
    if _claim(once):
        os.kill(os.getpid(), signal.SIGKILL)
    if _in_worker() and always and os.path.exists(always):
        os.kill(os.getpid(), signal.SIGKILL)
    return loglik(logits, targets)


def kill_when_announced(pid_file: Path, timeout: float = 120) -> threading.Thread:
    """A thread that SIGKILLs the worker as soon as it writes its pid to `pid_file`
    (the worker then waits mid-block): synchronised on that file, not on a sleep."""

    def watch():
        deadline = time.monotonic() + timeout
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread
