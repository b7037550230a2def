"""Evaluators: score a `(P, D)` genome matrix, in process or in parallel.

Every evaluator is a context manager and a callable `evaluator(genomes) -> (P, 2)`
array (see `fitness.evaluate`) with `.name`, `.workers` and `.close()`:

- `serial`: the batched evaluation of the whole population in this process;
- `process`: a pool of worker processes started once per run (`process_pool.py`);
- `dask`: a Dask distributed cluster, local or remote (`dask_cluster.py`).

Parallel evaluators split the population into one contiguous block of rows per
worker. Each row's score depends on that row alone *provided* BLAS runs one thread:
OpenBLAS splits a matrix product's sums differently with more threads, which
changes the last bits. So every evaluation, serial included, runs with one BLAS
thread (`evaluate_block`), and results are bit-identical whatever the backend.

`--workers auto` (`AutoEvaluator`) times the first generations serially and only
tries parallel workers when evaluation is long enough to gain; it keeps the
parallel evaluator only if it measured faster per row.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from .allocator import tune_allocator
from .fitness import Problem, evaluate

log = logging.getLogger("evonet")

# Below this serial time per generation, starting workers hardly pays: a pool round
# trip costs a millisecond or more per generation and starting the pool 0.1-0.3 s
# (see `evonet bench parallel`).
MIN_PARALLEL_S = 0.02
# Working-set size of one chunk of rows in `evaluate_block` (see `chunk_rows`).
CHUNK_BYTES = 16 * 2**20
# Serial generations timed before parallel workers are tried.
SERIAL_SAMPLES = 3
# Parallel generations timed before the choice: a pool's first generation pays for
# the workers' first calls (library look-ups, the shared segment, first-touch page
# faults): on the 342-character text it measured 0.351 ms per network against
# 0.316 serial, and auto wrongly stayed serial; later generations take ~0.2.
PARALLEL_SAMPLES = 2

_controller = None


class Evaluator(Protocol):
    name: str
    workers: int

    def __call__(self, genomes: np.ndarray) -> np.ndarray: ...

    def close(self) -> None: ...


class ParallelEvaluator(Evaluator, Protocol):
    def warm_up(self) -> None:
        """Start the workers now and wait until they are ready."""


def evaluate_block(problem: Problem, genomes: np.ndarray) -> np.ndarray:
    """`fitness.evaluate` with one BLAS thread on an aligned C-contiguous block, so a
    row's bits do not depend on the backend, the worker count or how the population
    was split (on one kind of CPU: numpy's float32 `exp` may use other SIMD code on
    another, so a Dask cluster of mixed CPUs can differ in the last bits)."""
    global _controller
    if _controller is None:  # finding the BLAS libraries costs ~1 ms: once per process
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
        tune_allocator()  # in worker processes too: evaluation's temporaries are the biggest
    # Arrays deserialised by dask can be misaligned, and numpy multiplies misaligned
    # matrices with its own loop instead of BLAS: 5-10x slower in a dask worker.
    genomes = np.require(genomes, dtype=np.float32, requirements=["C", "A"])
    rows = chunk_rows(problem)
    with _controller.limit(limits=1):
        if len(genomes) <= rows:
            return evaluate(problem, genomes)
        return np.concatenate([evaluate(problem, genomes[start:start + rows])
                               for start in range(0, len(genomes), rows)])


def chunk_rows(problem: Problem) -> int:
    """Rows evaluated together: as many as keep one chunk's hidden states and logits
    within `CHUNK_BYTES`. Bigger chunks fall out of the CPU caches (256 networks of 128
    units on 350 characters: 230 ms whole, 181 ms in chunks of 76, on a 32 MB L3);
    smaller ones pay numpy's per-step overhead more often (256 networks of 32 units:
    39 ms whole, 42 ms in 2 chunks). Rows are independent: chunks change no bits."""
    per_row = len(problem.inputs) * (problem.spec.hidden + problem.spec.vocab_size) * 4
    return max(1, CHUNK_BYTES // max(per_row, 1))


def split_rows(count: int, blocks: int) -> list[tuple[int, int]]:
    """`(start, stop)` of at most `blocks` contiguous, non-empty, near-equal row blocks."""
    blocks = max(1, min(blocks, count))
    bounds = [count * i // blocks for i in range(blocks + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def available_cpus() -> int:
    """CPUs this process may run on (respects taskset/cgroup affinity where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


class _ContextManager:
    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialEvaluator(_ContextManager):
    """Batched evaluation of the whole population in this process."""

    name = "serial"
    workers = 1

    def __init__(self, problem: Problem):
        self.problem = problem

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        return evaluate_block(self.problem, genomes)


class AutoEvaluator(_ContextManager):
    """`--workers auto`: serial unless parallel workers measurably pay.

    The first generations are evaluated serially and timed. As soon as one takes
    less than `min_parallel_s` the run stays serial. If `SERIAL_SAMPLES` of them in
    a row take longer (so not one load spike on a shared machine), the next
    `PARALLEL_SAMPLES` generations are evaluated by `parallel` (which starts its
    workers then) and timed; it is kept only if its fastest was faster per row than
    the fastest serial generation, so parallel is never the slower choice (up to the
    noise of the measurements).
    Results are the same either way (module docstring).
    """

    def __init__(self, problem: Problem, parallel: ParallelEvaluator,
                 min_parallel_s: float | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.serial = SerialEvaluator(problem)
        self.parallel = parallel
        self._min_parallel_s = MIN_PARALLEL_S if min_parallel_s is None else min_parallel_s
        self._clock = clock
        self._current: Evaluator | None = None  # None while deciding
        self._serial_per_row: list[float] = []
        self._parallel_per_row: list[float] = []

    @property
    def name(self) -> str:
        return self._current.name if self._current is not None else "serial"

    @property
    def workers(self) -> int:
        return self._current.workers if self._current is not None else 1

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        if self._current is not None:
            return self._current(genomes)
        if len(genomes) == 0:
            return self.serial(genomes)
        if len(self._serial_per_row) < SERIAL_SAMPLES:
            if not self._serial_per_row:
                self.serial(genomes[:1])  # first-call costs (library look-ups) are not per row
            start = self._clock()
            scores = self.serial(genomes)
            serial_s = self._clock() - start
            self._serial_per_row.append(serial_s / len(genomes))
            if serial_s < self._min_parallel_s:
                self._choose_serial(f"one evaluation takes {serial_s * 1e3:.1f} ms < "
                                    f"{self._min_parallel_s * 1e3:.0f} ms: too little work "
                                    "to gain from parallel workers")
            return scores
        self.parallel.warm_up()  # worker start-up is not part of the per-generation cost
        start = self._clock()
        scores = self.parallel(genomes)
        self._parallel_per_row.append((self._clock() - start) / len(genomes))
        if len(self._parallel_per_row) < PARALLEL_SAMPLES:
            return scores
        per_row = min(self._parallel_per_row)
        serial_per_row = min(self._serial_per_row)
        comparison = (f"{per_row * 1e3:.3f} ms per individual vs "
                      f"{serial_per_row * 1e3:.3f} ms serial")
        if per_row < serial_per_row:
            log.info("workers auto: %s with %d workers (%s)", self.parallel.name,
                     self.parallel.workers, comparison)
            self._current = self.parallel
        else:
            self._choose_serial(f"{self.parallel.workers} {self.parallel.name} workers took "
                                + comparison)
        return scores

    def _choose_serial(self, reason: str) -> None:
        log.info("workers auto: serial (%s)", reason)
        self.parallel.close()
        self._current = self.serial

    def close(self) -> None:
        self.parallel.close()


def make_evaluator(config, problem: Problem) -> Evaluator:
    """The evaluator for `config.backend`, `config.workers` and `config.scheduler`.

    Parallel evaluators start their workers on their first call (so that `auto`
    starts none when it stays serial), but a dask scheduler is reached at once.

    Raises:
        ConfigError: dask is not installed, or its scheduler does not answer.
    """
    workers = config.worker_count()
    if config.backend == "serial":
        return SerialEvaluator(problem)
    if config.backend == "dask":
        from .dask_cluster import DaskEvaluator

        parallel = DaskEvaluator(problem, config.scheduler, workers)
    else:
        from .process_pool import ProcessPoolEvaluator

        if workers is None and available_cpus() < 2:
            log.info("workers auto: serial (one CPU available)")
            return SerialEvaluator(problem)
        parallel = ProcessPoolEvaluator(problem, workers or available_cpus())
    return parallel if workers is not None else AutoEvaluator(problem, parallel)
