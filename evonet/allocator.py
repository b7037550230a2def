"""Keep freed numpy temporaries in the heap instead of returning them to the kernel.

Each generation allocates and frees the same few arrays of a few hundred KB to
a few MB (children, random masks, differences, logits). With glibc's defaults,
arrays that size are mmapped or sit at the top of the heap, and freeing them
hands the pages back to the kernel (the mmap and trim thresholds), so the next
generation page-faults them in again. On the 43-character text this cost ~15-25%
of the GA's generation time (three alternating runs, 10-14 ms against 10-12 ms per
generation); one line in a profile shows it: a (126, 1000) float32 norm took 1.2 ms
instead of 0.1 ms when three other such arrays were alive.

`tune_allocator()` raises both thresholds with mallopt(3): arrays under
`MMAP_THRESHOLD` come from the heap and up to `TRIM_THRESHOLD` of free heap is
kept. Process-wide and for the rest of the process (a notebook that ran
`evolve`, every evaluating worker): up to `TRIM_THRESHOLD` of freed heap may stay
with the process instead of going back to the system. So it is called by the loop
(`evolve`) and by `evaluate_block`, not at import. Anywhere but glibc it does
nothing. Set EVONET_MALLOC=0 to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# mallopt(3) parameter numbers (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum for this setting on 64-bit
TRIM_THRESHOLD = 256 << 20

_tuned = False


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True if they were set."""
    global _tuned
    if _tuned or os.environ.get("EVONET_MALLOC", "1") == "0":
        return _tuned
    try:
        # The parameter numbers are glibc's: another C library's mallopt may differ.
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError, ValueError):  # no confstr name, no libc, no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _tuned
