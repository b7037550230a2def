"""One BLAS thread for the algorithms' own linear algebra, in the main process.

A multithreaded BLAS splits its sums by thread count, so a covariance
eigendecomposition or a search-gradient product gives different bits on
machines with different core counts, and a run would not be reproducible. One
thread also avoids BLAS threads busy-waiting against the evaluator's workers: on
a loaded 2-core machine `evonet run --algorithm cma --hidden 8` went from 17 s
to 0.7 s (eigh of 225 x 225: ~0.5 s per call with 2 threads).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

_controller = None


def single_thread() -> AbstractContextManager:
    """A context in which BLAS runs on one thread."""
    global _controller
    if _controller is None:  # finding the BLAS libraries costs ~1 ms: once per process
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1)
