"""Shared segments reserve their pages: no room fails at once, not with SIGBUS later."""

from __future__ import annotations

import errno
import os

import pytest

from evonet import shared_segment
from evonet.shared_segment import NoSharedMemoryRoom, create_segment

needs_fallocate = pytest.mark.skipif(
    not (hasattr(os, "posix_fallocate") and os.path.isdir("/proc/self/fd")),
    reason="posix_fallocate and /proc (Linux)")


def no_room(monkeypatch, error=errno.ENOSPC) -> list[str]:
    """Make posix_fallocate fail like a full /dev/shm; returns the paths it was asked for."""
    asked = []

    def fallocate(fd, offset, length):
        asked.append(os.readlink(f"/proc/self/fd/{fd}"))
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(shared_segment.os, "posix_fallocate", fallocate)
    return asked


@needs_fallocate
def test_a_new_segment_has_every_page_reserved():
    # A plain SharedMemory is a sparse file: no blocks until written, so a full tmpfs
    # only shows when a write faults (SIGBUS). Reserved blocks are counted in st_blocks.
    size = 3 << 20
    segment = create_segment(size)
    try:
        assert segment.size >= size
        assert os.fstat(segment._fd).st_blocks * 512 >= size
    finally:
        segment.close()
        segment.unlink()


@needs_fallocate
def test_no_room_is_a_clear_error_and_leaves_no_segment(monkeypatch):
    asked = no_room(monkeypatch)
    with pytest.raises(NoSharedMemoryRoom, match=r"no room for 5\.0 MB of shared memory.*"
                                                 r"--shm-size"):
        create_segment(5_000_000)
    assert len(asked) == 1 and not os.path.exists(asked[0])


@needs_fallocate
def test_a_file_system_that_cannot_reserve_still_gets_its_segment(monkeypatch):
    no_room(monkeypatch, errno.EOPNOTSUPP)
    segment = create_segment(4096)
    try:
        segment.buf[:4] = b"rows"
        assert bytes(segment.buf[:4]) == b"rows"
    finally:
        segment.close()
        segment.unlink()
