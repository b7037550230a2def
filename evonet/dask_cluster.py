"""Dask evaluator: fitness blocks on a Dask distributed cluster, on one machine or many.

With a scheduler address the evaluator joins that cluster (reached at once, so a
wrong address fails before the run starts); without one it starts a `LocalCluster`
of single-threaded worker processes on 127.0.0.1 and stops it at the end. The
`Problem` is sent once, as the result of a task (so Dask can compute it again if
every worker holding it dies); each generation one contiguous block of rows per
worker thread is mapped over the cluster.

How the rows reach the workers (`transport`):

- `auto`: workers on this host read them from one shared-memory segment that this
  process fills each generation (the same idea as `process_pool.py`): a task carries
  only (segment name, token, shape, start, stop). Scattering the ~25 MB matrix of a
  large population over loopback TCP instead (serialise, send, deserialise) cost
  ~40-80 ms a generation and most of the speedup. Which workers can read the
  segment is found by a probe, not guessed from host names: at warm-up, and for
  each worker that joins later, the worker tries to map the segment and check its
  random token. Each shared-memory task is pinned to such a worker; the other
  workers (other hosts) get their blocks by scatter, so a multi-machine cluster
  works as before.
- `scatter`: every block is scattered, as a cluster of other machines needs.

On the LocalCluster the evaluator starts itself, each single-threaded worker that
reads the segment holds a `BlockEvaluator` actor, and a shared block is one call of
its method, sent straight to the worker (`direct_to_workers`): no task for the
scheduler to plan, 4-8 ms less per generation on a 2-core machine, close to the
process pool. A joined cluster gets pinned tasks as below: its workers may be
reachable only through the scheduler. An actor dies with its worker: its call fails
at once ("Unable to contact Actor's worker"), the block goes the task way, and that
worker's actor is never called again (a call to an actor whose worker is gone may
wait for the 30 s connect timeout); a replacement worker gets a new actor. An
exception of the evaluation itself is returned by the actor and raised here, as a
task's would be.

Shared-memory tasks are pinned loosely (`allow_other_workers=True`): if their worker
dies, Dask runs them elsewhere instead of waiting forever for a worker of that
address. A task that lands where the segment cannot be read returns None, and its
block is sent again by scatter; evaluation is deterministic, so nothing changes.

Workers map the segment without registering it with a resource tracker: before
Python 3.13 attaching a `SharedMemory` registers it with the attaching process's
tracker, which unlinks it when that process exits (bpo-38119), taking the segment
from under the run when a worker started by `dask worker` stops.

Dask replaces a dead worker itself and reschedules its task; a task whose workers
keep dying (`distributed.scheduler.allowed-failures`, 3 by default) fails with
`KilledWorker`, turned into `WorkerDiedError`. Scattered rows, though, die with
their worker and Dask cancels their task, and an actor's call dies with it: those
blocks are sent and evaluated again, and after `MAX_DEATHS` losses in a row the run
stops with `WorkerDiedError`.

Dask starts its workers with `MALLOC_TRIM_THRESHOLD_=65536`, which also freezes
glibc's mmap threshold at 128 KiB: every larger temporary array of an evaluation is
then mapped and unmapped anew, ~7,500 page faults and 20-110 ms of system time per
128-row block of the benchmark workload, where a forked process-pool worker has
none. `evaluate_block` raises both thresholds once per process (`allocator.py`),
dask workers included, so the temporaries are reused like in the main process.

Worker log records on the `evonet` logger are captured during each task and
returned with its result, then logged here in order (`worker_log.py`), so they
reach run.log. (`Client.forward_logging` delivers them asynchronously: a short
run could end, and close its client, before they arrive.)

Dask is an extra (`pip install 'evonet[dask]'`): it is imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import signal
import threading
from concurrent.futures import CancelledError
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from .config import ConfigError
from .evaluation import available_cpus, evaluate_block, split_rows
from .fitness import Problem
from .process_pool import WorkerDiedError, count_death
from .shared_segment import NoSharedMemoryRoom, create_segment
from .worker_log import replay, with_records

log = logging.getLogger("evonet")

CONNECT_TIMEOUT_S = 5
# Workers of our own cluster do not run Dask's statistical profiler, which feeds a
# dashboard nobody opens here and, sampling the evaluating thread's stack every 10 ms,
# made each block ~8% slower (worker-side medians of 15 blocks: 130-138 ms with it,
# 121-128 without, against 119-123 in the process pool). A joined cluster keeps its
# own configuration.
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
TRANSPORTS = ("auto", "scatter")
# Bytes before the genome rows in the shared segment: its token first; 64 keeps the
# rows as aligned as a fresh numpy array.
HEADER = 64
TOKEN_BYTES = 16


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


# ---------------------------------------------------------------------------- in the workers
# The segment this worker process has mapped: (name, owner, buffer). One per process,
# shared by its threads: mapped once per segment, not once per task.
_mapped: tuple[str, object, object] | None = None
_mapped_lock = threading.Lock()


def _map_segment(name: str) -> tuple[object, object]:
    """(owner, read-only buffer) of the shared segment `name`, registered with no
    resource tracker. Raises OSError if this host has no such segment."""
    try:
        import _posixshmem  # what SharedMemory itself uses on POSIX systems
    except ImportError:  # Windows: named mappings, and no resource tracker to fear
        segment = SharedMemory(name=name)
        return segment, segment.buf
    fd = _posixshmem.shm_open("/" + name, os.O_RDONLY, mode=0o600)
    try:
        return None, mmap.mmap(fd, os.fstat(fd).st_size, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)  # the mapping stays valid without it


def _shared_rows(name: str, token: bytes, shape: tuple[int, int], start: int,
                 stop: int) -> np.ndarray | None:
    """Rows start:stop of the genome matrix in segment `name`, read in place; None
    when this worker cannot see that segment (another host) or it is not ours."""
    global _mapped
    with _mapped_lock:
        if _mapped is None or _mapped[0] != name:
            try:
                # The previous mapping is dropped, not closed: another thread may
                # still read from it; it is unmapped when its last array goes.
                _mapped = (name, *_map_segment(name))
            except OSError:
                return None
        buffer = _mapped[2]
    count = shape[0] * shape[1]
    if len(buffer) < HEADER + 4 * count or bytes(buffer[:TOKEN_BYTES]) != token:
        return None
    return np.frombuffer(buffer, np.float32, count, offset=HEADER).reshape(shape)[start:stop]


def _probe(name: str, token: bytes) -> bool:
    """True if this worker can read the segment `name` holding `token`."""
    return _shared_rows(name, token, (0, 0), 0, 0) is not None


def _detach() -> None:
    global _mapped
    with _mapped_lock:
        _mapped = None


def _evaluate_task(level: int, problem: Problem, genomes: np.ndarray):
    return with_records(level, evaluate_block, problem, genomes)


def _evaluate_shared(level: int, problem: Problem, name: str, token: bytes,
                     shape: tuple[int, int], start: int, stop: int):
    genomes = _shared_rows(name, token, shape, start, stop)
    if genomes is None:
        return None  # ran where the segment is out of reach: the caller scatters the block
    return with_records(level, evaluate_block, problem, genomes)


class BlockEvaluator:
    """Lives in a worker of our own LocalCluster as a Dask actor and evaluates blocks
    read from this host's shared memory. An actor's method call goes from the client
    straight to its worker, without the scheduler's task bookkeeping: on this
    project's 2-core machine, with the profiler off in both, 134.6 against 142.6 ms
    per generation of the bench workload for pinned tasks (paired ratio 0.948 over 31
    generations; 0.961 in a second run), the process pool taking 130.4. Its worker
    runs actor calls one at a time, so each worker holds one actor and gets one block
    (workers of our LocalCluster have one thread)."""

    def __init__(self, problem: Problem):
        self.problem = problem

    def evaluate_shared(self, level: int, name: str, token: bytes, shape: tuple[int, int],
                        start: int, stop: int):
        # An exception of the evaluation (a user fitness's FileNotFoundError, say) comes
        # back as a value: raised by the call, an OSError would read as a dead worker.
        try:
            return _evaluate_shared(level, self.problem, name, token, shape, start, stop)
        except Exception as exc:  # noqa: BLE001 - raised again in the main process
            return _Raised(exc)


class _Raised:
    """An exception raised in an actor's evaluation, to raise again in the main process."""

    def __init__(self, exc: Exception):
        self.exc = exc


def _same(problem: Problem) -> Problem:
    return problem


def _announce(level: int):
    return with_records(level, log.info, "dask worker %d ready", os.getpid())


# ---------------------------------------------------------------------------- in the main process
class SharedGenomes:
    """The genome matrix in one shared-memory segment of this process, grown when a
    matrix outgrows it and reused otherwise; a fresh random token in its header tells
    a reader that this is the segment it was sent (not one of that name elsewhere)."""

    def __init__(self):
        self._segment: SharedMemory | None = None
        self.token = b""

    @property
    def name(self) -> str:
        return self._segment.name

    def reserve(self, nbytes: int) -> None:
        if self._segment is None or self._segment.size < HEADER + nbytes:
            self.close()
            self._segment = create_segment(HEADER + nbytes)
            self.token = os.urandom(TOKEN_BYTES)  # not the run's RNG: only names a segment
            self._segment.buf[:TOKEN_BYTES] = self.token

    def write(self, genomes: np.ndarray) -> None:
        self.reserve(genomes.nbytes)
        np.ndarray(genomes.shape, np.float32, self._segment.buf, HEADER)[:] = genomes

    def close(self) -> None:
        if self._segment is not None:
            self._segment.close()
            self._segment.unlink()
            self._segment = None


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


@contextlib.contextmanager
def _quiet_shutdown():
    """Dask's INFO lines on closing a client and cluster (clients removed, nannies
    closing, "Lost all workers") are routine: only warnings and errors get through."""
    logger = logging.getLogger("distributed")
    previous = logger.level
    logger.setLevel(max(previous, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(previous)


class DaskEvaluator:
    """Evaluate blocks of rows on a Dask cluster.

    Args:
        problem: sent to the workers once, as the result of a task.
        scheduler: `tcp://HOST:PORT` of an existing scheduler (given up after
            `CONNECT_TIMEOUT_S` seconds); empty starts a LocalCluster.
        workers: LocalCluster worker processes, and the number of blocks; None: one per
            CPU (LocalCluster) or per worker thread of the cluster joined.
        transport: `auto` (shared memory for workers on this host, scatter for the
            others) or `scatter` (every block scattered).

    Raises:
        ConfigError: dask is not installed, or the scheduler does not answer.
    """

    name = "dask"

    def __init__(self, problem: Problem, scheduler: str = "", workers: int | None = None,
                 transport: str = "auto"):
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; choose one of {TRANSPORTS}")
        self._distributed = _distributed()
        self.problem, self.scheduler, self._workers = problem, scheduler, workers
        self.transport = transport
        self._client = self._cluster = self._problem_future = None
        self._shared: SharedGenomes | None = None
        self.shared_workers: set[str] = set()  # addresses that passed the probe
        self._probed: set[str] = set()
        self._alive: set[str] = set()
        self.sent = {"shared": 0, "scatter": 0}  # blocks evaluated by each transport
        self.actor_calls = 0  # of the shared blocks, those evaluated by an actor
        # Our LocalCluster's workers each hold a BlockEvaluator actor: address -> (its
        # future, which keeps it alive and tells if it was lost, and its handle).
        self._actors: dict[str, tuple[object, object]] = {}
        self._actorless: set[str] = set()  # workers whose actor failed: tasks only
        self._deaths = 0  # generations in a row that lost blocks with a dead worker
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
        """Start the LocalCluster if needed, send the problem, and find the workers that
        can read this host's shared memory."""
        if self._client is None:
            # Ctrl-C in a terminal reaches the whole process group: the workers must
            # leave it to the main process, which finishes the generation and writes a
            # checkpoint. An ignored SIGINT is inherited by the processes started now.
            with _sigint_ignored():
                self._cluster = self._distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    # dask serves its HTTP endpoints even without a dashboard: on a free
                    # loopback port, not 8787 which another cluster may hold.
                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    # Given to each nanny, so a worker it starts after a death gets it
                    # too (a dask.config.set around this call would not last).
                    config=WORKER_CONFIG)
            # Direct: actor calls and results go between this process and the workers,
            # all on this host, not through the scheduler.
            self._client = self._distributed.Client(self._cluster, set_as_default=False,
                                                    direct_to_workers=True)
            log.info("dask LocalCluster of %d workers at %s", self.workers,
                     self._cluster.scheduler_address)
        if self._problem_future is None:
            for _, records in self._client.run(_announce, log.getEffectiveLevel()).values():
                replay(records)
            # A task's result rather than scattered data: if every worker holding it dies,
            # Dask computes it again instead of cancelling every task that needs it.
            self._problem_future = self._client.submit(_same, self.problem, pure=False)
            if self.transport == "auto":
                self._shared = SharedGenomes()
                try:
                    self._shared.reserve(0)
                except OSError as exc:  # no shared memory here (a locked-down container)
                    log.warning("no shared memory for dask workers (%s): scattering rows",
                                exc)
                    self._shared = None
                    return
                threads = self._client.nthreads()
                self._probe(threads)
                log.info("dask workers reading genomes from this host's shared memory: "
                         "%d of %d", len(self.shared_workers), len(threads))

    def _probe(self, threads: dict[str, int]) -> None:
        """Probe the workers not probed yet; remember those that can read the segment."""
        self._alive = set(threads)
        new = sorted(self._alive - self._probed)
        if not new:
            return
        # A worker that died since nthreads() answered returns its exception, which
        # counts as failing the probe, instead of stopping the run.
        answers = self._client.run(_probe, self._shared.name, self._shared.token,
                                   workers=new, on_error="return")
        self._probed.update(new)
        self.shared_workers.update(address for address, ok in answers.items() if ok is True)
        self._make_actors(threads)

    def _make_actors(self, threads: dict[str, int]) -> None:
        """A BlockEvaluator actor on each single-threaded worker of our own LocalCluster
        that reads shared memory and has none yet. Only our LocalCluster: its workers
        are on this host, so the client reaches them directly (`direct_to_workers`); a
        joined cluster's workers may be reachable only through the scheduler."""
        if self._cluster is None:
            return
        wanted = sorted(address for address in self.shared_workers
                        if address not in self._actors and address not in self._actorless
                        and threads.get(address) == 1)
        futures = {address: self._client.submit(BlockEvaluator, self._problem_future,
                                                actor=True, workers=[address], pure=False)
                   for address in wanted}
        for address, future in futures.items():
            try:
                # The handle binds to the current client: ours is not the default one.
                with self._client.as_current():
                    self._actors[address] = (future, future.result(timeout=CONNECT_TIMEOUT_S))
            except Exception as exc:  # noqa: BLE001 - the worker died or never answered
                future.cancel()
                self._actorless.add(address)
                log.info("no actor on dask worker %s (%s): it gets tasks", address,
                         type(exc).__name__)

    def _actor(self, address: str):
        """The live actor on `address`, or None (tasks then)."""
        held = self._actors.get(address)
        if held is None:
            return None
        if held[0].status != "finished":  # its worker died: the scheduler lost the actor
            self._drop_actor(address)
            return None
        return held[1]

    def _drop_actor(self, address: str) -> None:
        """Never call that worker's actor again: a call to an actor whose worker is
        gone fails, at once on a pooled connection, or only after the connect timeout
        (30 s) on a new one."""
        self._actors.pop(address, None)
        self._actorless.add(address)

    def _placement(self, indices: list[int]) -> list[str | None]:
        """For each block at `indices`, the worker that reads it from shared memory, or
        None: scatter. Blocks go round the threads of the live workers, so each gets its
        share."""
        if self._shared is None:
            return [None] * len(indices)
        threads = self._client.nthreads()
        gone = self._alive - set(threads)
        if gone:
            log.warning("dask workers left the cluster (died or retired): %s",
                        ", ".join(sorted(gone)))
            for address in gone & set(self._actors):
                self._drop_actor(address)
        self._probe(threads)
        slots = [address for address, count in sorted(threads.items()) for _ in range(count)]
        if not slots:  # no worker right now: Dask waits for one; scatter does too
            return [None] * len(indices)
        placed = [slots[index % len(slots)] for index in indices]
        return [address if address in self.shared_workers else None for address in placed]

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        genomes = np.ascontiguousarray(genomes, dtype=np.float32)
        if len(genomes) == 0:
            return np.zeros((0, 2))
        self.warm_up()
        blocks = split_rows(len(genomes), self.workers)
        level = log.getEffectiveLevel()
        results: dict[int, tuple] = {}
        pending, scatter_only = list(range(len(blocks))), set()
        while pending:
            futures = self._submit(genomes, blocks, pending, scatter_only, level)
            done, lost = self._collect(futures)
            for index, result in done.items():
                if result is None:  # a shared task that ran where the segment is out of reach
                    scatter_only.add(index)
                else:
                    results[index] = result
                    kind = futures[index][0]
                    self.sent["scatter" if kind == "scatter" else "shared"] += 1
                    self.actor_calls += kind == "actor"
            if scatter_only - set(results):
                log.info("%d dask blocks ran where shared memory is out of reach; "
                         "scattering them", len(scatter_only - set(results)))
            if lost:
                self._died(len(lost), len(blocks))
            pending = sorted(set(range(len(blocks))) - set(results))
        self._deaths = 0
        ordered = [results[index] for index in range(len(blocks))]
        for _, records in ordered:
            replay(records)
        return np.concatenate([scores for scores, _ in ordered])

    def _submit(self, genomes: np.ndarray, blocks: list[tuple[int, int]], indices: list[int],
                scatter_only: set[int], level: int) -> dict[int, tuple]:
        """(kind, future, worker address) of each block at `indices`; kind is `actor`,
        `shared` (a pinned task) or `scatter`."""
        placement = dict(zip(indices, self._placement(indices)))
        futures: dict[int, tuple] = {}
        shared = [index for index in indices
                  if placement[index] is not None and index not in scatter_only]
        if shared and not self._share(genomes):
            shared = []
        for index in shared:
            start, stop = blocks[index]
            address = placement[index]
            actor = self._actor(address)
            if actor is not None:
                futures[index] = ("actor", actor.evaluate_shared(
                    level, self._shared.name, self._shared.token, genomes.shape, start, stop),
                    address)
                continue
            futures[index] = ("shared", self._client.submit(
                _evaluate_shared, level, self._problem_future, self._shared.name,
                self._shared.token, genomes.shape, start, stop, workers=[address],
                allow_other_workers=True, pure=False), address)
        others = [index for index in indices if index not in futures]
        for index, future in self._scatter(genomes, blocks, others, level).items():
            futures[index] = ("scatter", future, None)
        return futures

    def _share(self, genomes: np.ndarray) -> bool:
        """Write the genomes into the shared segment; False, and scatter from now on, if
        /dev/shm has no room for them (a warning says so)."""
        try:
            try:
                self._shared.write(genomes)
            except NoSharedMemoryRoom:
                # The workers still map the segment just unlinked to grow it, so its
                # pages stay allocated until they let go: make them, and try once more.
                self._release_segment()
                self._shared.write(genomes)
            return True
        except OSError as exc:
            log.warning("%s: scattering genome rows to the dask workers instead", exc)
            self._release_segment()
            self._shared.close()
            self._shared = None
            self.shared_workers = set()  # scatter targets are then any live worker
            return False

    def _release_segment(self) -> None:
        """Workers drop their mapping of the segment (they map it again when sent one)."""
        if self.shared_workers:
            with contextlib.suppress(Exception):  # a worker that died holds nothing
                self._client.run(_detach, workers=sorted(self.shared_workers),
                                 on_error="ignore")

    def _scatter(self, genomes: np.ndarray, blocks: list[tuple[int, int]],
                 indices: list[int], level: int) -> dict[int, object]:
        """Futures of the blocks at `indices`, their rows scattered to the workers."""
        if not indices:
            return {}
        # To the workers shared memory cannot reach, if any; else (or with no shared
        # memory in use, when the live workers are not tracked) anywhere.
        targets = None if self._shared is None else (
            sorted(self._alive - self.shared_workers) or None)
        # Scattered blocks go straight to the workers (spread over them), not through the
        # scheduler inside the task graph; each task then runs where its block is.
        remote = self._client.scatter([genomes[slice(*blocks[index])] for index in indices],
                                      hash=False, workers=targets)
        futures = self._client.map(_evaluate_task, [level] * len(indices),
                                   [self._problem_future] * len(indices), remote, pure=False)
        return dict(zip(indices, futures))

    def _collect(self, futures: dict[int, tuple]) -> tuple[dict, list[int]]:
        """Results of the blocks that were evaluated, and the blocks that were lost: an
        actor's block when its worker dies, and scattered data, which dies with its
        worker (there is no recipe to compute it again; Dask then cancels the tasks that
        needed it)."""
        done, lost = {}, []
        for index, (kind, future, address) in futures.items():
            if kind == "actor":
                try:
                    result = future.result()
                except OSError:  # its worker died ("Unable to contact Actor's worker")
                    self._drop_actor(address)
                    lost.append(index)
                    continue
                if isinstance(result, _Raised):  # the evaluation's own error, as a task's
                    raise result.exc
                done[index] = result
        order = [index for index, (kind, *_) in futures.items() if kind != "actor"]
        try:
            with self._killed_worker_is_fatal():
                done.update(zip(order, self._client.gather([futures[i][1] for i in order])))
                return done, lost
        except CancelledError:
            pass  # one block at least was lost: sort them out one by one
        for index in order:
            try:
                with self._killed_worker_is_fatal():
                    done[index] = futures[index][1].result()
            except CancelledError:
                lost.append(index)
        return done, lost

    @contextlib.contextmanager
    def _killed_worker_is_fatal(self):
        try:
            yield
        except self._distributed.KilledWorker as exc:
            raise WorkerDiedError(f"dask workers kept dying on one block: {exc}") from None

    def _died(self, lost: int, blocks: int) -> None:
        self._deaths = count_death(
            self._deaths, "dask workers",
            f"a dask worker died with {lost} of {blocks} blocks (their scattered rows, or "
            "their evaluation under way); evaluating them again")

    def close(self) -> None:
        with _quiet_shutdown():
            if self._client is not None:
                if self._cluster is None:
                    # Workers of a cluster that outlives this run would keep the unlinked
                    # segment mapped until their next run: let it go now.
                    self._release_segment()
                self._client.close()
                self._client = None
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        self._problem_future = None
        self.shared_workers, self._probed, self._alive = set(), set(), set()
        self._actors, self._actorless = {}, set()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
