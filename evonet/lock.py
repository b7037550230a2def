"""One writer per run folder: a lock file holding the owner's PID.

The lock is an advisory `flock` on `RUN_DIR/lock`, which the kernel releases
when its owner dies however it dies (kill -9 included), so a stale lock is
simply one nobody holds and is taken over. The PID written inside is for the
message that refuses a second writer, and for one corner: a lock still held by
the orphaned worker processes of a dead owner (they inherit the descriptor on
fork) counts as stale too.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from .runfolder import LOCK, RunFolderError


class RunLocked(RunFolderError):
    """Another live process is writing this run folder."""


class FolderLock:
    """The held lock of one run folder; `release()` (or leaving the `with`) frees it."""

    def __init__(self, path: Path, fd: int):
        self.path, self._fd = path, fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Unlink while still holding it: whoever opens the path next gets a new file,
        # and `acquire` checks that the file it locked is still the one at the path.
        _unlink_if_same(self.path, self._fd)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(folder: Path | str) -> FolderLock:
    """Lock `folder` for writing by this process.

    Raises:
        RunLocked: a live process holds it (the message names its PID).
        RunFolderError: the lock file cannot be created.
    """
    path = Path(folder) / LOCK
    for _ in range(10):  # retries only when another process raced us to the same file
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RunFolderError(f"cannot create lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                os.close(fd)
                raise RunFolderError(f"cannot lock {path}: {exc.strerror}") from None
            owner = _read_pid(fd)
            if owner is not None and not pid_alive(owner):
                _unlink_if_same(path, fd)  # held only by orphans of a dead owner
                os.close(fd)
                continue
            os.close(fd)
            who = f"process {owner}" if owner is not None else "another process"
            raise RunLocked(f"{Path(folder)} is in use by {who} (lock file {path}); "
                            "wait for it to finish or stop it first") from None
        if not _same_file(path, fd):  # unlinked by its releasing owner meanwhile: retry
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return FolderLock(path, fd)
    raise RunLocked(f"{path}: could not take the lock (too much contention)")


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (signal 0 probes without signalling)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _unlink_if_same(path: Path, fd: int) -> None:
    if _same_file(path, fd):
        path.unlink(missing_ok=True)
