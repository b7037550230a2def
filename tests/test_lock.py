"""One writer per run folder: refused while a live process holds the lock, taken over
when its owner is dead."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from evonet.lock import RunLocked, acquire

HOLD = ("import sys; from evonet.lock import acquire; lock = acquire(sys.argv[1]); "
        "print('held', flush=True); sys.stdin.read()")


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


@pytest.fixture
def holder(tmp_path):
    """A child process holding tmp_path's lock until its stdin closes."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_lock_writes_pid_and_release_removes_it(tmp_path):
    with acquire(tmp_path) as lock:
        assert (tmp_path / "lock").read_text().strip() == str(os.getpid())
        with pytest.raises(RunLocked, match=f"in use by process {os.getpid()}"):
            acquire(tmp_path)
    assert not lock.path.exists()
    acquire(tmp_path).release()  # free again


def test_a_live_holder_is_refused_with_its_pid(tmp_path, holder):
    with pytest.raises(RunLocked, match=f"in use by process {holder.pid} "):
        acquire(tmp_path)


def test_holder_killed_with_sigkill_leaves_a_stale_lock_that_is_taken_over(tmp_path, holder):
    holder.kill()
    holder.wait()
    assert (tmp_path / "lock").read_text().strip() == str(holder.pid)  # left behind
    with acquire(tmp_path):
        assert (tmp_path / "lock").read_text().strip() == str(os.getpid())


def test_a_lock_file_naming_a_dead_pid_is_taken_over(tmp_path):
    (tmp_path / "lock").write_text(f"{dead_pid()}\n")
    with acquire(tmp_path):
        assert (tmp_path / "lock").read_text().strip() == str(os.getpid())


def test_held_only_by_orphans_of_a_dead_owner_is_taken_over(tmp_path, holder):
    # The holder stands for a forked worker that inherited the lock; its owner is dead.
    (tmp_path / "lock").write_text(f"{dead_pid()}\n")
    with acquire(tmp_path):
        assert (tmp_path / "lock").read_text().strip() == str(os.getpid())
        with pytest.raises(RunLocked):
            acquire(tmp_path)


def test_unreadable_lock_content_held_by_someone_is_still_refused(tmp_path, holder):
    (tmp_path / "lock").write_text("garbage")
    with pytest.raises(RunLocked, match="in use by another process"):
        acquire(tmp_path)
