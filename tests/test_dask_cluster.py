"""Dask evaluator: the extra missing, bad addresses, lazy start; and on a LocalCluster of its
own, serial bits through shared memory and through scatter, the fallback to scatter for
workers that cannot read this host's shared memory, and no leaked or vanished segments.

(Whole runs on a LocalCluster are in tests/e2e/test_backends.py.)
"""

from __future__ import annotations

import logging
import os
import platform
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_evaluation import LONG_TEXT, make_problem
from test_shared_segment import needs_fallocate, no_room

from evonet.config import ConfigError, RunConfig
from evonet.dask_cluster import HEADER, DaskEvaluator, SharedGenomes, check_dask
from evonet.evaluation import evaluate_block, make_evaluator
from evonet.network import init_genomes
from evonet.process_pool import WorkerDiedError

pytestmark = pytest.mark.timeout(120)  # a lost block must fail, never hang

needs_dev_shm = pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="POSIX shm in /dev/shm")


def test_missing_dask_extra_is_a_config_error_saying_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    with pytest.raises(ConfigError, match=r"pip install 'evonet\[dask\]'"):
        make_evaluator(RunConfig(backend="dask"), make_problem())
    with pytest.raises(ConfigError, match="dask extra"):
        check_dask("")


@pytest.mark.parametrize("address", ["nonsense", "http://host:8786", "tcp://host:port"])
def test_malformed_scheduler_address_is_a_config_error(address):
    with pytest.raises(ConfigError, match="bad dask scheduler address"):
        check_dask(address)


def test_local_cluster_is_started_only_when_first_needed():
    evaluator = DaskEvaluator(make_problem(), "", workers=2)
    assert evaluator._cluster is None and evaluator._client is None
    assert evaluator.workers == 2
    evaluator.close()


def test_unknown_transport_is_refused():
    with pytest.raises(ValueError, match="unknown transport"):
        DaskEvaluator(make_problem(), "", workers=2, transport="carrier pigeon")


# ---------------------------------------------------------------------------- shared segment
def segment_exists(name: str) -> bool:
    # Not SharedMemory(name=...): before Python 3.13 that registers the segment with this
    # process's resource tracker, which would then unlink it at exit.
    return os.path.exists(f"/dev/shm/{name}")


@needs_dev_shm
def test_shared_genomes_grow_when_needed_reuse_otherwise_and_unlink_on_close():
    shared = SharedGenomes()
    shared.reserve(0)
    first, token = shared.name, shared.token
    genomes = np.arange(12, dtype=np.float32).reshape(3, 4)
    shared.write(genomes)  # 48 bytes more than reserved: a new segment, a new token
    grown = shared.name
    assert grown != first and shared.token != token and not segment_exists(first)
    shared.write(genomes[:2] + 1)  # fits: the same segment
    assert shared.name == grown
    view = np.ndarray((2, 4), np.float32, shared._segment.buf, HEADER)
    np.testing.assert_array_equal(view, genomes[:2] + 1)
    del view
    shared.close()
    assert not segment_exists(grown)


@needs_dev_shm
def test_a_reader_process_that_exits_leaves_the_segment_alone():
    # A process of its own, with its own resource tracker, like a worker started by
    # `dask worker`: before Python 3.13, attaching with SharedMemory(name=...) would have
    # that tracker unlink the segment when the process exits.
    shared = SharedGenomes()
    genomes = np.arange(8, dtype=np.float32).reshape(2, 4)
    shared.write(genomes)
    reader = textwrap.dedent(f"""
        from evonet.dask_cluster import _shared_rows
        rows = _shared_rows({shared.name!r}, {shared.token!r}, (2, 4), 1, 2)
        print(rows.tolist())
    """)
    try:
        out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True,
                             check=True, timeout=60)
        assert out.stdout.strip() == str(genomes[1:].tolist())
        assert segment_exists(shared.name)
        assert "leaked" not in out.stderr  # a tracker would also warn about it
    finally:
        shared.close()


@needs_dev_shm
def test_a_segment_with_another_token_or_too_small_is_not_read():
    from evonet.dask_cluster import _shared_rows

    shared = SharedGenomes()
    shared.write(np.ones((2, 4), dtype=np.float32))
    try:
        assert _shared_rows(shared.name, shared.token, (2, 4), 0, 2) is not None
        assert _shared_rows(shared.name, b"x" * len(shared.token), (2, 4), 0, 2) is None
        assert _shared_rows(shared.name, shared.token, (3, 4), 0, 3) is None
        assert _shared_rows("evonet_no_such_segment", shared.token, (2, 4), 0, 2) is None
    finally:
        shared.close()


# ---------------------------------------------------------------------------- on a cluster
@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on loopback, shared by this module's tests."""
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0") as local:
        yield local


@pytest.fixture(scope="module")
def problem():
    # Long enough that each block is several BLAS calls deep: the bits must still match.
    return make_problem(LONG_TEXT[:200], hidden=32)


@pytest.fixture(scope="module")
def evaluators(cluster, problem):
    """One evaluator per transport, joined to the module's cluster."""
    made = {transport: DaskEvaluator(problem, cluster.scheduler_address, 2, transport)
            for transport in ("auto", "scatter")}
    yield made
    for evaluator in made.values():
        evaluator.close()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       transport=st.sampled_from(["auto", "scatter"]))
def test_scores_equal_serial_bit_for_bit_through_either_transport(evaluators, problem, rows,
                                                                  seed, transport):
    evaluator = evaluators[transport]
    before = dict(evaluator.sent)
    genomes = init_genomes(problem.spec, rows, np.random.default_rng(seed))
    np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))
    blocks = min(rows, 2)
    used = "shared" if transport == "auto" else "scatter"
    unused = {"shared": "scatter", "scatter": "shared"}[used]
    assert evaluator.sent[used] - before[used] == blocks
    assert evaluator.sent[unused] == before[unused]


def test_every_local_worker_passes_the_probe(evaluators, cluster):
    evaluators["auto"].warm_up()
    assert evaluators["auto"].shared_workers == set(cluster.scheduler.workers)
    evaluators["scatter"].warm_up()
    assert evaluators["scatter"].shared_workers == set()


def _refuse_shared_memory() -> None:
    """Run in a worker: from now on it cannot map shared segments, like one on another host."""
    from evonet import dask_cluster

    def refuse(name):
        raise FileNotFoundError(name)

    dask_cluster._map_segment, refuse.original = refuse, dask_cluster._map_segment
    dask_cluster._mapped = None


def _allow_shared_memory() -> None:
    from evonet import dask_cluster

    dask_cluster._map_segment = dask_cluster._map_segment.original


@pytest.fixture
def one_worker_far_away(cluster):
    """One worker of the module's cluster unable to map shared memory, until the test ends."""
    import distributed

    with distributed.Client(cluster, set_as_default=False) as client:
        far = sorted(client.nthreads())[0]
        client.run(_refuse_shared_memory, workers=[far])
        try:
            yield far
        finally:
            client.run(_allow_shared_memory, workers=[far])


def test_a_worker_that_cannot_map_the_segment_gets_its_block_by_scatter(
        cluster, problem, one_worker_far_away):
    genomes = init_genomes(problem.spec, 11, np.random.default_rng(5))
    with DaskEvaluator(problem, cluster.scheduler_address, 2) as evaluator:
        evaluator.warm_up()
        assert evaluator.shared_workers == set(cluster.scheduler.workers) - {
            one_worker_far_away}
        for _ in range(2):
            np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))
        assert evaluator.sent == {"shared": 2, "scatter": 2}


def test_a_shared_block_that_lands_where_the_segment_is_out_of_reach_is_scattered(
        cluster, problem, caplog):
    import distributed

    genomes = init_genomes(problem.spec, 6, np.random.default_rng(6))
    with DaskEvaluator(problem, cluster.scheduler_address, 2) as evaluator, \
            distributed.Client(cluster, set_as_default=False) as client:
        evaluator.warm_up()
        assert len(evaluator.shared_workers) == 2
        far = sorted(client.nthreads())[1]
        client.run(_refuse_shared_memory, workers=[far])  # after it passed the probe
        try:
            with caplog.at_level("INFO", logger="evonet"):
                scores = evaluator(genomes)
        finally:
            client.run(_allow_shared_memory, workers=[far])
    np.testing.assert_array_equal(scores, evaluate_block(problem, genomes))
    assert evaluator.sent == {"shared": 1, "scatter": 1}
    assert "out of reach; scattering them" in caplog.text


def test_no_shared_memory_on_this_host_means_scatter(cluster, problem, monkeypatch, caplog):
    def refuse(self, nbytes):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SharedGenomes, "reserve", refuse)
    genomes = init_genomes(problem.spec, 5, np.random.default_rng(7))
    with DaskEvaluator(problem, cluster.scheduler_address, 2) as evaluator, \
            caplog.at_level("WARNING", logger="evonet"):
        np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))
        assert evaluator.sent == {"shared": 0, "scatter": 2}
    assert "no shared memory for dask workers" in caplog.text


@needs_fallocate
def test_a_population_that_outgrows_shared_memory_is_scattered(cluster, problem, monkeypatch,
                                                                 caplog):
    """The first generation fits in /dev/shm, a larger one does not: its rows are
    scattered, with a warning, and the scores are still serial's."""
    small, large = (init_genomes(problem.spec, rows, np.random.default_rng(rows))
                    for rows in (4, 30))
    with DaskEvaluator(problem, cluster.scheduler_address, 2) as evaluator:
        np.testing.assert_array_equal(evaluator(small), evaluate_block(problem, small))
        assert evaluator.sent == {"shared": 2, "scatter": 0}
        no_room(monkeypatch)
        with caplog.at_level(logging.WARNING, logger="evonet"):
            for _ in range(2):
                np.testing.assert_array_equal(evaluator(large), evaluate_block(problem, large))
        assert evaluator.sent == {"shared": 2, "scatter": 4}
        assert evaluator._shared is None and evaluator.shared_workers == set()
    assert sum("scattering genome rows" in r.getMessage() for r in caplog.records) == 1


def test_growing_the_segment_retries_once_after_the_workers_let_the_old_one_go(
        cluster, problem, monkeypatch, caplog):
    """Workers that still map the unlinked segment keep its pages allocated: when the
    grown segment is refused, they drop their mapping and it is tried once more."""
    from evonet import dask_cluster
    from evonet.shared_segment import NoSharedMemoryRoom

    small, large = (init_genomes(problem.spec, rows, np.random.default_rng(rows))
                    for rows in (4, 30))
    create, refusals, detached = dask_cluster.create_segment, [], []

    def create_once_refused(nbytes):
        if not refusals:
            refusals.append(nbytes)
            raise NoSharedMemoryRoom(28, "no room (simulated)")
        return create(nbytes)

    with DaskEvaluator(problem, cluster.scheduler_address, 2) as evaluator, \
            caplog.at_level(logging.WARNING, logger="evonet"):
        evaluator(small)
        monkeypatch.setattr(dask_cluster, "create_segment", create_once_refused)
        release = evaluator._release_segment
        monkeypatch.setattr(evaluator, "_release_segment",
                            lambda: (detached.append(True), release()))
        np.testing.assert_array_equal(evaluator(large), evaluate_block(problem, large))
        assert refusals and detached == [True]
        assert evaluator.sent == {"shared": 4, "scatter": 0}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@needs_dev_shm
def test_close_unlinks_the_segment_and_workers_let_it_go(cluster, problem):
    with DaskEvaluator(problem, cluster.scheduler_address, 2) as evaluator:
        evaluator(init_genomes(problem.spec, 4, np.random.default_rng(0)))
        name = evaluator._shared.name
        assert segment_exists(name)
    assert not segment_exists(name)
    import distributed

    from evonet import dask_cluster

    with distributed.Client(cluster, set_as_default=False) as client:
        released = client.run(lambda: dask_cluster._mapped is None)
    assert released and all(released.values())


def _page_faults_of_fresh_arrays(megabytes: int, times: int) -> int:
    """In a worker: minor page faults of this thread while it allocates, fills and frees
    an array `times` over."""
    import resource

    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(times):
        np.ones(megabytes << 18, dtype=np.float32)
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or os.environ.get("EVONET_MALLOC") == "0",
                    reason="glibc's allocator, tuned (allocator.py)")
def test_workers_reuse_freed_large_arrays_after_an_evonet_task(evaluators, problem, cluster):
    # Dask's MALLOC_TRIM_THRESHOLD_ makes glibc map each array of >= 128 KiB afresh:
    # 256 faults per 1 MiB array. After an evonet task (evaluate_block tunes the
    # allocator, allocator.py) the memory must be reused in dask workers too.
    evaluators["auto"](init_genomes(problem.spec, 4, np.random.default_rng(1)))
    import distributed

    with distributed.Client(cluster, set_as_default=False) as client:
        for address in client.nthreads():
            faults = client.submit(_page_faults_of_fresh_arrays, 1, 100, workers=[address],
                                   pure=False).result()
            assert faults < 1000, (address, faults)  # frozen thresholds: ~25,600


# ---------------------------------------------------------------------------- worker death
@pytest.fixture
def fault_plugins(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    import worker_faults

    return worker_faults


@needs_dev_shm
@pytest.mark.slow
@pytest.mark.parametrize("transport", ["auto", "scatter"])
def test_a_worker_sigkilled_mid_block_changes_nothing(tmp_path, fault_plugins, monkeypatch,
                                                      caplog, transport):
    # The worker is killed while its task runs. Shared memory: Dask must run the pinned
    # task elsewhere (not wait for a worker of that address), and the segment must
    # outlive the worker. Scatter: the block's rows die with the worker and must be
    # sent again.
    trigger = tmp_path / "wait-for-kill"
    trigger.touch()
    monkeypatch.setenv(fault_plugins.WAIT_FOR_KILL, str(trigger))  # before the workers start
    problem = make_problem(LONG_TEXT[:100], hidden=16, fitness="worker_faults:loglik_or_die")
    genomes = init_genomes(problem.spec, 10, np.random.default_rng(8))
    expected = evaluate_block(problem, genomes)
    with DaskEvaluator(problem, "", 2, transport) as evaluator, \
            caplog.at_level("WARNING", "evonet"):
        evaluator.warm_up()
        watcher = fault_plugins.kill_when_announced(tmp_path / "wait-for-kill.pid")
        np.testing.assert_array_equal(evaluator(genomes), expected)
        watcher.join()
        assert (tmp_path / "wait-for-kill.pid").exists()  # a worker took a block and died
        # Either way the block is lost with its worker: the actor's evaluation under
        # way, or the scattered rows.
        assert "a dask worker died with 1 of 2 blocks" in caplog.text
        if transport == "auto":
            assert segment_exists(evaluator._shared.name)
            assert evaluator.sent["scatter"] == 0 and evaluator.actor_calls >= 1
        np.testing.assert_array_equal(evaluator(genomes), expected)
    if transport == "auto":
        assert "dask workers left the cluster" in caplog.text


@needs_dev_shm
@pytest.mark.slow
def test_our_local_cluster_evaluates_shared_blocks_through_actors_bit_for_bit(problem):
    with DaskEvaluator(problem, "", 2) as evaluator:
        for seed in range(3):
            genomes = init_genomes(problem.spec, 9 + seed, np.random.default_rng(seed))
            np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))
        assert evaluator.sent == {"shared": 6, "scatter": 0}
        assert evaluator.actor_calls == 6 and len(evaluator._actors) == 2


def _profiler_enabled() -> bool:
    import dask

    return dask.config.get("distributed.worker.profile.enabled")


@pytest.mark.slow
def test_our_local_cluster_runs_no_profiler_and_leaves_our_config_alone(problem):
    import dask

    with DaskEvaluator(problem, "", 2) as evaluator:
        evaluator.warm_up()
        client = evaluator._client
        assert set(client.run(_profiler_enabled).values()) == {False}
        # A worker the nanny starts after a death gets the same configuration.
        victim, pid = sorted(client.run(os.getpid).items())[0]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while victim in client.nthreads():  # poll until the scheduler has seen the death
            assert time.monotonic() < deadline, "the scheduler never noticed the kill"
            time.sleep(0.05)
        client.wait_for_workers(2, timeout=60)
        answers = client.run(_profiler_enabled)
        assert victim not in answers and set(answers.values()) == {False}
    assert dask.config.get("distributed.worker.profile.enabled") is True


def fitness_missing_file(logits, targets):
    raise FileNotFoundError("no such reference file: ref.txt")


@needs_dev_shm
@pytest.mark.slow
def test_an_os_error_of_the_fitness_is_raised_not_taken_for_a_dead_worker(caplog):
    # An OSError raised by an actor call means its worker is gone: one raised by the
    # evaluation must not read as that (a false death, the block evaluated again, and
    # every actor dropped for the rest of the run).
    problem = make_problem(fitness=f"{__name__}:fitness_missing_file")
    genomes = init_genomes(problem.spec, 6, np.random.default_rng(0))
    with DaskEvaluator(problem, "", 2) as evaluator, caplog.at_level("WARNING", "evonet"):
        evaluator.warm_up()
        with pytest.raises(FileNotFoundError, match="no such reference file"):
            evaluator(genomes)
        assert len(evaluator._actors) == 2 and not evaluator._actorless
        assert evaluator._deaths == 0
    assert "died" not in caplog.text


def test_a_joined_cluster_gets_pinned_tasks_not_actors(evaluators, problem):
    # Its workers may be reachable only through the scheduler.
    evaluator = evaluators["auto"]
    genomes = init_genomes(problem.spec, 7, np.random.default_rng(7))
    np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))
    assert evaluator.actor_calls == 0 and not evaluator._actors


@needs_dev_shm
@pytest.mark.slow
def test_a_worker_killed_between_generations_is_replaced_and_its_actor_not_called(problem,
                                                                                 caplog):
    # A call to the actor of a dead worker fails, or on a new connection waits 30 s for
    # the connect timeout: it must be dropped, and the replacement get its own.
    genomes = init_genomes(problem.spec, 10, np.random.default_rng(4))
    expected = evaluate_block(problem, genomes)
    with DaskEvaluator(problem, "", 2) as evaluator, caplog.at_level("WARNING", "evonet"):
        np.testing.assert_array_equal(evaluator(genomes), expected)
        client = evaluator._client
        victim, pid = sorted(client.run(os.getpid).items())[0]
        os.kill(pid, signal.SIGKILL)
        # At once: the call races the scheduler's noticing; either way, the same scores.
        np.testing.assert_array_equal(evaluator(genomes), expected)
        client.wait_for_workers(2, timeout=60)  # the nanny's replacement
        np.testing.assert_array_equal(evaluator(genomes), expected)
        assert victim not in evaluator._actors and len(evaluator._actors) == 2
    assert "dask workers left the cluster" in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["auto", "scatter"])
def test_workers_that_keep_dying_raise_worker_died_error_not_a_hang(tmp_path, fault_plugins,
                                                                    monkeypatch, transport):
    trigger = tmp_path / "die-while"
    trigger.touch()
    monkeypatch.setenv(fault_plugins.DIE_WHILE, str(trigger))  # before the workers start
    problem = make_problem(fitness="worker_faults:loglik_or_die")
    genomes = init_genomes(problem.spec, 6, np.random.default_rng(3))
    with DaskEvaluator(problem, "", 2, transport) as evaluator:
        with pytest.raises(WorkerDiedError, match="dask workers (kept dying|died 3 times)"):
            evaluator(genomes)
