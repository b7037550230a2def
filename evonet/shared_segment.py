"""Shared-memory segments whose pages are reserved when they are made.

POSIX shared memory lives in a tmpfs (`/dev/shm` on Linux) that can be far smaller
than RAM: Docker gives a container 64 MB unless told otherwise (`--shm-size`).
Creating a segment larger than the free space succeeds, because the file is sparse,
and the first write past the limit kills the whole process with SIGBUS, taking the
current generation with it. `create_segment` reserves the pages at once
(posix_fallocate), so a segment that does not fit fails there with an OSError that
says so, and the evaluators fall back to sending the rows another way.
"""

from __future__ import annotations

import errno
import os
from multiprocessing.shared_memory import SharedMemory

# posix_fallocate's answers that mean "not enough room", as opposed to "this file
# system cannot reserve pages" (then the segment is used unreserved, as before).
NO_ROOM = {errno.ENOSPC, errno.ENOMEM, errno.EFBIG}


class NoSharedMemoryRoom(OSError):
    """The shared-memory file system cannot hold a segment of the size asked for."""

    def __str__(self) -> str:
        # The message alone, without OSError's "[Errno 28]".
        return self.strerror or super().__str__()


def create_segment(nbytes: int) -> SharedMemory:
    """A new shared segment of at least `nbytes` bytes, every page reserved.

    Raises:
        NoSharedMemoryRoom: the shared-memory file system has no room for it.
        OSError: shared memory cannot be created here at all.
    """
    segment = SharedMemory(create=True, size=max(int(nbytes), 1))
    # `_fd` is private but present on POSIX since Python 3.8 (-1 on Windows, where
    # segments are paging-file mappings that fail on creation instead); macOS has no
    # posix_fallocate.
    fd = getattr(segment, "_fd", -1)
    if fd < 0 or not hasattr(os, "posix_fallocate"):
        return segment
    try:
        os.posix_fallocate(fd, 0, segment.size)
    except OSError as exc:
        if exc.errno not in NO_ROOM:
            return segment
        size = segment.size
        segment.close()
        segment.unlink()
        raise NoSharedMemoryRoom(
            exc.errno, f"no room for {size / 1e6:.1f} MB of shared memory "
            f"({os.strerror(exc.errno)}; on Docker, raise --shm-size)") from None
    return segment
