"""Dask evaluator: fitness blocks on a Dask distributed cluster, on one machine or many.

With a scheduler address the evaluator joins that cluster (reached at once, so a
wrong address fails before the run starts); without one it starts a `LocalCluster`
of single-threaded worker processes on 127.0.0.1 and stops it at the end. The
`Problem` is scattered to every worker once (`broadcast=True`); each generation
one contiguous block of rows per worker thread is mapped over the cluster.

Dask replaces a dead worker itself and reschedules its task; a task whose workers
keep dying (`distributed.scheduler.allowed-failures`, 3 by default) fails with
`KilledWorker`, turned into `WorkerDiedError`.

Worker log records on the `evonet` logger are captured during each task and
returned with its result, then logged here in order (`worker_log.py`), so they
reach run.log. (`Client.forward_logging` delivers them asynchronously: a short
run could end, and close its client, before they arrive.)

Dask is an extra (`pip install 'evonet[dask]'`): it is imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading

import numpy as np

from .config import ConfigError
from .evaluation import available_cpus, evaluate_block, split_rows
from .fitness import Problem
from .process_pool import WorkerDiedError
from .worker_log import replay, with_records

log = logging.getLogger("evonet")

CONNECT_TIMEOUT_S = 5


def _distributed():
    try:
        import distributed
        import distributed.comm
    except ImportError:
        raise ConfigError("the dask backend needs the dask extra: "
                          "pip install 'evonet[dask]'") from None
    return distributed


def check_dask(scheduler: str) -> None:
    """Raise ConfigError unless dask is installed and `scheduler` (if given) answers."""
    distributed = _distributed()
    if scheduler:
        _connect(distributed, scheduler).close()


def _connect(distributed, address: str):
    try:
        # A malformed address is rejected here: a Client that failed on one would
        # still try to close itself at exit, for 10 s, with a traceback.
        distributed.comm.get_address_host_port(address)
    except ValueError as exc:
        raise ConfigError(f"bad dask scheduler address {address!r} ({exc}); expected "
                          "tcp://HOST:PORT") from None
    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"cannot reach dask scheduler {address}: {reason}") from None


def _evaluate_task(level: int, problem: Problem, genomes: np.ndarray):
    return with_records(level, evaluate_block, problem, genomes)


def _announce(level: int):
    return with_records(level, log.info, "dask worker %d ready", os.getpid())


@contextlib.contextmanager
def _sigint_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class DaskEvaluator:
    """Evaluate blocks of rows on a Dask cluster.

    Args:
        problem: scattered once to every worker.
        scheduler: `tcp://HOST:PORT` of an existing scheduler (given up after
            `CONNECT_TIMEOUT_S` seconds); empty starts a LocalCluster.
        workers: LocalCluster worker processes, and the number of blocks; None: one per
            CPU (LocalCluster) or per worker thread of the cluster joined.

    Raises:
        ConfigError: dask is not installed, or the scheduler does not answer.
    """

    name = "dask"

    def __init__(self, problem: Problem, scheduler: str = "", workers: int | None = None):
        self._distributed = _distributed()
        self.problem, self.scheduler, self._workers = problem, scheduler, workers
        self._client = self._cluster = self._problem_future = None
        if scheduler:
            self._client = _connect(self._distributed, scheduler)

    @property
    def workers(self) -> int:
        if self._workers is not None:
            return self._workers
        if self._client is not None and self._cluster is None:
            threads = self._client.nthreads()
            return max(1, sum(threads.values()))
        return available_cpus()

    def warm_up(self) -> None:
        """Start the LocalCluster if needed and send the problem to every worker."""
        if self._client is None:
            # Ctrl-C in a terminal reaches the whole process group: the workers must
            # leave it to the main process, which finishes the generation and writes a
            # checkpoint. An ignored SIGINT is inherited by the processes started now.
            with _sigint_ignored():
                self._cluster = self._distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    # dask serves its HTTP endpoints even without a dashboard: on a free
                    # loopback port, not 8787 which another cluster may hold.
                    host="127.0.0.1", dashboard_address="127.0.0.1:0")
            self._client = self._distributed.Client(self._cluster, set_as_default=False)
            log.info("dask LocalCluster of %d workers at %s", self.workers,
                     self._cluster.scheduler_address)
        if self._problem_future is None:
            for _, records in self._client.run(_announce, log.getEffectiveLevel()).values():
                replay(records)
            self._problem_future = self._client.scatter(self.problem, broadcast=True)

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        genomes = np.ascontiguousarray(genomes, dtype=np.float32)
        if len(genomes) == 0:
            return np.zeros((0, 2))
        self.warm_up()
        blocks = [genomes[start:stop] for start, stop in split_rows(len(genomes), self.workers)]
        # Scattered blocks go straight to the workers (spread over them), not through the
        # scheduler inside the task graph; each task then runs where its block is.
        remote = self._client.scatter(blocks, hash=False)
        futures = self._client.map(_evaluate_task, [log.getEffectiveLevel()] * len(blocks),
                                   [self._problem_future] * len(blocks), remote, pure=False)
        try:
            results = self._client.gather(futures)
        except self._distributed.KilledWorker as exc:
            raise WorkerDiedError(f"dask workers kept dying on one block: {exc}") from None
        for _, records in results:
            replay(records)
        return np.concatenate([scores for scores, _ in results])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self._problem_future = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
