"""Process-pool evaluator: worker processes started once per run, one block of rows each.

The classic way to make parallel evolution slower than one core is to ship each
individual to a worker alone, pickling the task with it, while BLAS threads fight
the processes. Here instead:

- the pool is started once (on the first call) and reused every generation;
- each worker receives the `Problem` (text, network spec) once, from its
  initializer, and limits BLAS/OpenMP to one thread for its whole life;
- each generation, worker k gets the k-th contiguous block of genome rows and
  returns that block's fitness rows. The rows travel through one shared-memory
  segment that this process fills and workers read in place (`transport="shared"`),
  or pickled through the pool's pipe (`"pickle"`); `evonet bench parallel`
  measures both, and shared memory was faster for large genomes and never slower.

Workers are forked, not spawned, on Linux: a forked worker starts in milliseconds,
without importing numpy and evonet again, and the threads of this process at fork
time (the pool's own) are reinitialised by multiprocessing in the child. Elsewhere
(macOS, where fork is unsafe with system libraries; Windows, where it does not
exist) they are spawned; nothing else depends on the start method. Worker log records come back
with each block's scores and are logged here in block order (`worker_log.py`).

A worker killed mid-run breaks a `ProcessPoolExecutor` (`BrokenProcessPool`; a plain
`multiprocessing.Pool` would silently replace it and wait forever for the lost task):
the pool is then restarted and only the lost blocks are evaluated again. Evaluation
is deterministic, so the run is unchanged. After `MAX_DEATHS` failures in a row the
run stops with `WorkerDiedError`.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from .evaluation import evaluate_block, split_rows
from .fitness import Problem
from .shared_segment import NoSharedMemoryRoom, create_segment
from .worker_log import RecordKeeper, keep_worker_records, replay

log = logging.getLogger("evonet")

MAX_DEATHS = 3
START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
READY_TIMEOUT_S = 60
TRANSPORTS = ("shared", "pickle")

# Set in each worker by `_init_worker`.
_problem: Problem | None = None
_segment: SharedMemory | None = None
_records: RecordKeeper | None = None
_all_ready: threading.Barrier | None = None


class WorkerDiedError(RuntimeError):
    """Worker processes kept dying: the run cannot go on."""


# ---------------------------------------------------------------------------- in the workers
def count_death(deaths: int, workers: str, warning: str) -> int:
    """One more generation that lost blocks to dead `workers`: the new count, after
    logging `warning`; WorkerDiedError once MAX_DEATHS come in a row. One policy for
    every parallel evaluator."""
    deaths += 1
    if deaths >= MAX_DEATHS:
        raise WorkerDiedError(f"{workers} died {deaths} times in a row; stopping "
                              "(checkpoints written so far are intact)")
    log.warning("%s (failure %d of %d in a row)", warning, deaths, MAX_DEATHS)
    return deaths


def _die_with_parent() -> None:
    """Workers must not outlive the run: forked, they inherit the main process's
    stop-flag signal handlers (so SIGTERM would only set a flag nobody reads), and
    after a kill -9 of the main process they would run on forever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    if sys.platform.startswith("linux"):
        parent = os.getppid()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed when the parent dies
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)


def _init_worker(problem: Problem, log_level: int, all_ready) -> None:
    global _problem, _records, _all_ready
    from threadpoolctl import threadpool_limits

    _problem, _all_ready = problem, all_ready
    _die_with_parent()
    _records = keep_worker_records(log_level)
    # numpy is already loaded (fork, or evonet's imports), so environment variables would
    # come too late.
    threadpool_limits(1)
    multiprocessing.current_process().name = f"worker-{os.getpid()}"
    log.info("worker %d ready: 1 BLAS thread, network %s", os.getpid(), problem.spec)


def _ready() -> tuple[int, list]:
    # Waiting for every worker makes each one take exactly one of these tasks, so every
    # worker's start-up records come back now.
    _all_ready.wait(timeout=READY_TIMEOUT_S)
    return os.getpid(), _records.take()


def _evaluate_rows(genomes: np.ndarray) -> tuple[np.ndarray, list]:
    return evaluate_block(_problem, genomes), _records.take()


def _evaluate_shared(name: str, shape: tuple[int, int], start: int,
                     stop: int) -> tuple[np.ndarray, list]:
    global _segment
    if _segment is None or _segment.name != name:  # attach once per segment, not per call
        if _segment is not None:
            _segment.close()
        _segment = SharedMemory(name=name)
    genomes = np.ndarray(shape, dtype=np.float32, buffer=_segment.buf)[start:stop]
    return evaluate_block(_problem, genomes), _records.take()


# ---------------------------------------------------------------------------- in the main process
class ProcessPoolEvaluator:
    """Evaluate contiguous blocks of rows in `workers` worker processes.

    Args:
        problem: sent once to each worker.
        workers: number of worker processes (>= 1).
        transport: how genome rows reach the workers: `shared` or `pickle`.
    """

    name = "process"

    def __init__(self, problem: Problem, workers: int, transport: str = "shared"):
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; choose one of {TRANSPORTS}")
        self.problem, self.workers, self.transport = problem, int(workers), transport
        self._executor: ProcessPoolExecutor | None = None
        self._shared: SharedMemory | None = None
        self._deaths = 0

    # ------------------------------------------------------------------ pool life
    def warm_up(self) -> None:
        """Start the workers if needed and wait until every one answers.

        Raises:
            BrokenProcessPool: a worker died while starting.
        """
        if self._executor is None:
            context = multiprocessing.get_context(START_METHOD)
            # Workers must share this process's resource tracker: one they started
            # themselves would unlink the shared segment when they exit.
            resource_tracker.ensure_running()
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker,
                initargs=(self.problem, log.getEffectiveLevel(), context.Barrier(self.workers)))
        for future in [self._executor.submit(_ready) for _ in range(self.workers)]:
            replay(future.result()[1])

    def pids(self) -> list[int]:
        """Process ids of the current workers (for tests and diagnostics)."""
        if self._executor is None:
            return []
        return sorted(self._executor._processes)  # no public accessor in the stdlib

    def _died(self, lost: int, blocks: int) -> None:
        """A worker died: drop the pool (the next call starts a new one), or give up."""
        self._release_workers()
        try:
            self._deaths = count_death(
                self._deaths, "worker processes",
                f"a worker process died; restarting the pool and evaluating {lost} of "
                f"{blocks} blocks again")
        except WorkerDiedError:
            self.close()
            raise

    def _release_workers(self) -> None:
        """Stop the workers (the next call starts new ones), which unmaps whatever
        segment they had attached."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        self._release_workers()
        if self._shared is not None:
            self._shared.close()
            self._shared.unlink()
            self._shared = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ evaluation
    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        genomes = np.ascontiguousarray(genomes, dtype=np.float32)
        if len(genomes) == 0:
            return np.zeros((0, 2))
        if self.transport == "shared":
            try:
                self._share(genomes)
            except OSError as exc:  # no room in /dev/shm, or no shared memory at all
                log.warning("%s: sending genome rows to the workers through their pipes "
                            "instead", exc)
                self.transport = "pickle"
                self._release_workers()  # they may still map a segment that is gone
        blocks = split_rows(len(genomes), self.workers)
        results: list[tuple[np.ndarray, list] | None] = [None] * len(blocks)
        pending = list(range(len(blocks)))
        while pending:
            try:
                if self._executor is None:
                    self.warm_up()
                futures = self._submit(genomes, blocks, pending)
            except (BrokenProcessPool, threading.BrokenBarrierError):
                futures = [(index, None) for index in pending]
            lost = []
            for index, future in futures:
                try:
                    results[index] = future.result() if future is not None else None
                except BrokenProcessPool:
                    results[index] = None
                if results[index] is None:
                    lost.append(index)
            if lost:
                self._died(len(lost), len(blocks))
            pending = lost
        self._deaths = 0
        for _, records in results:
            replay(records)
        return np.concatenate([scores for scores, _ in results])

    def _submit(self, genomes, blocks, indices) -> list[tuple[int, Future | None]]:
        """One future per block; None for blocks that could not be submitted because the
        pool broke already (a worker died between generations)."""
        futures: list[tuple[int, Future | None]] = []
        for index in indices:
            start, stop = blocks[index]
            try:
                if self.transport == "shared":
                    future = self._executor.submit(_evaluate_shared, self._shared.name,
                                                   genomes.shape, start, stop)
                else:
                    future = self._executor.submit(_evaluate_rows, genomes[start:stop])
            except BrokenProcessPool:
                future = None
            futures.append((index, future))
        return futures

    def _share(self, genomes: np.ndarray) -> None:
        """Copy the genomes into the shared segment, growing it when the matrix outgrows it.

        Raises:
            OSError: the segment cannot be made (`shared_segment.NoSharedMemoryRoom`:
                not enough room in the shared-memory file system).
        """
        if self._shared is None or self._shared.size < genomes.nbytes:
            if self._shared is not None:
                self._shared.close()
                self._shared.unlink()
                self._shared = None
            try:
                self._shared = create_segment(genomes.nbytes)
            except NoSharedMemoryRoom:
                if self._executor is None:
                    raise
                # The workers still map the segment just unlinked, so its pages stay
                # allocated until they let go: restart them and try once more.
                self._release_workers()
                self._shared = create_segment(genomes.nbytes)
        np.ndarray(genomes.shape, dtype=np.float32, buffer=self._shared.buf)[:] = genomes
