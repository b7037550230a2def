"""Process-pool evaluator: serial bits from any number of workers, and surviving worker death."""

from __future__ import annotations

import logging
import os
import signal
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import numpy as np
import pytest
from test_evaluation import LONG_TEXT, make_problem
from test_shared_segment import needs_fallocate, no_room

from evonet.evaluation import evaluate_block
from evonet.network import init_genomes
from evonet.process_pool import MAX_DEATHS, ProcessPoolEvaluator, WorkerDiedError

pytestmark = pytest.mark.timeout(120)  # a lost block must raise, never hang


@pytest.fixture
def fault_plugins(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    import worker_faults

    return worker_faults


@pytest.mark.parametrize("transport", ["shared", "pickle"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_parallel_scores_equal_serial_bit_for_bit(workers, transport):
    # A long text and 64 hidden units: the size at which several BLAS threads would
    # change the last bits (workers must run one, like the serial evaluation).
    problem = make_problem(LONG_TEXT[:300], hidden=64)
    rng = np.random.default_rng(workers)
    with ProcessPoolEvaluator(problem, workers, transport) as evaluator:
        for rows in (1, 2, 7, 20):  # fewer rows than workers too
            genomes = init_genomes(problem.spec, rows, rng)
            np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))


def test_spawned_workers_score_like_forked_ones(monkeypatch):
    # Spawn is the start method off Linux: the problem reaches workers by pickling.
    monkeypatch.setattr("evonet.process_pool.START_METHOD", "spawn")
    problem = make_problem(LONG_TEXT[:120], hidden=16, encoding="binary")
    genomes = init_genomes(problem.spec, 9, np.random.default_rng(9))
    with ProcessPoolEvaluator(problem, 2) as evaluator:
        np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))


def test_pool_is_started_once_and_reused():
    problem = make_problem()
    genomes = init_genomes(problem.spec, 9, np.random.default_rng(0))
    with ProcessPoolEvaluator(problem, 2) as evaluator:
        assert evaluator.pids() == []  # started on first use, not before
        evaluator(genomes)
        pids = evaluator.pids()
        for _ in range(3):
            evaluator(genomes)
        assert evaluator.pids() == pids and len(pids) == 2


def test_empty_population_needs_no_workers():
    with ProcessPoolEvaluator(make_problem(), 2) as evaluator:
        assert evaluator(np.zeros((0, 10), dtype=np.float32)).shape == (0, 2)
        assert evaluator.pids() == []


def test_close_removes_the_shared_segment():
    problem = make_problem()
    evaluator = ProcessPoolEvaluator(problem, 2, "shared")
    evaluator(init_genomes(problem.spec, 4, np.random.default_rng(0)))
    name = evaluator._shared.name
    evaluator.close()
    with pytest.raises(FileNotFoundError):
        SharedMemory(name=name)


@needs_fallocate
def test_no_room_in_shared_memory_sends_rows_through_the_pipes(monkeypatch, caplog):
    """A /dev/shm too small for the population (Docker's 64 MB): a warning, the same
    scores, and no SIGBUS from writing into a segment the file system cannot hold."""
    problem = make_problem(LONG_TEXT[:100], hidden=16)
    genomes = init_genomes(problem.spec, 11, np.random.default_rng(4))
    asked = no_room(monkeypatch)
    with ProcessPoolEvaluator(problem, 2, "shared") as evaluator, \
            caplog.at_level(logging.WARNING, logger="evonet"):
        for _ in range(2):
            np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))
        assert evaluator.transport == "pickle" and evaluator._shared is None
    assert len(asked) == 1  # tried once, not every generation
    assert [r.getMessage() for r in caplog.records if "no room" in r.getMessage()] == [
        f"no room for {genomes.nbytes / 1e6:.1f} MB of shared memory (No space left on device; "
        "on Docker, raise --shm-size): sending genome rows to the workers through their "
        "pipes instead"]


def test_growing_the_segment_retries_once_after_the_workers_let_the_old_one_go(monkeypatch,
                                                                               caplog):
    """The workers' mapping keeps an unlinked segment's pages allocated: a full /dev/shm
    may refuse the grown segment until they are restarted, and then accept it."""
    from evonet import process_pool
    from evonet.shared_segment import NoSharedMemoryRoom

    problem = make_problem(LONG_TEXT[:100], hidden=16)
    small, large = (init_genomes(problem.spec, rows, np.random.default_rng(rows))
                    for rows in (3, 12))
    create, refusals = process_pool.create_segment, []

    def create_once_refused(nbytes):
        if not refusals:
            refusals.append(nbytes)
            raise NoSharedMemoryRoom(28, "no room (simulated)")
        return create(nbytes)

    with ProcessPoolEvaluator(problem, 2, "shared") as evaluator, \
            caplog.at_level(logging.WARNING, logger="evonet"):
        evaluator(small)
        pids = evaluator.pids()
        monkeypatch.setattr(process_pool, "create_segment", create_once_refused)
        np.testing.assert_array_equal(evaluator(large), evaluate_block(problem, large))
        assert refusals == [large.nbytes] and evaluator.transport == "shared"
        assert evaluator._shared.size >= large.nbytes
        assert set(evaluator.pids()).isdisjoint(pids)  # restarted to let the old one go
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_worker_killed_between_generations_does_not_change_scores():
    problem = make_problem()
    rng = np.random.default_rng(3)
    with ProcessPoolEvaluator(problem, 2) as evaluator:
        evaluator(init_genomes(problem.spec, 8, rng))
        os.kill(evaluator.pids()[0], signal.SIGKILL)
        for _ in range(3):  # the pool notices when it next looks: any of these calls
            genomes = init_genomes(problem.spec, 8, rng)
            np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))


def test_a_worker_killed_mid_block_is_replaced_and_its_block_evaluated_again(
        fault_plugins, monkeypatch, tmp_path, caplog):
    trigger = tmp_path / "wait-for-kill"
    monkeypatch.setenv(fault_plugins.WAIT_FOR_KILL, str(trigger))
    problem = make_problem(fitness="worker_faults:loglik_or_die")
    genomes = init_genomes(problem.spec, 12, np.random.default_rng(4))
    with ProcessPoolEvaluator(problem, 2) as evaluator:
        evaluator.warm_up()
        before = evaluator.pids()
        trigger.touch()
        watcher = fault_plugins.kill_when_announced(tmp_path / "wait-for-kill.pid")
        with caplog.at_level(logging.WARNING, logger="evonet"):
            scores = evaluator(genomes)
        watcher.join()
        victim = int((tmp_path / "wait-for-kill.pid").read_text())
        assert victim in before and victim not in evaluator.pids()
        assert len(evaluator.pids()) == 2
    assert "a worker process died" in caplog.text
    np.testing.assert_array_equal(scores, evaluate_block(make_problem(), genomes))


def test_a_worker_dying_mid_block_has_its_block_evaluated_again(fault_plugins, monkeypatch,
                                                                tmp_path, caplog):
    trigger = tmp_path / "die-once"
    monkeypatch.setenv(fault_plugins.DIE_ONCE, str(trigger))
    problem = make_problem(fitness="worker_faults:loglik_or_die")
    genomes = init_genomes(problem.spec, 12, np.random.default_rng(5))
    expected = evaluate_block(make_problem(), genomes)  # same scores as plain loglik
    with ProcessPoolEvaluator(problem, 3) as evaluator:
        evaluator.warm_up()
        trigger.touch()
        with caplog.at_level(logging.WARNING, logger="evonet"):
            scores = evaluator(genomes)
    assert not trigger.exists()  # a worker did take it, and died
    assert "failure 1 of 3 in a row" in caplog.text
    np.testing.assert_array_equal(scores, expected)


def test_workers_that_keep_dying_stop_with_an_error(fault_plugins, monkeypatch, tmp_path):
    trigger = tmp_path / "die-while"
    trigger.touch()
    monkeypatch.setenv(fault_plugins.DIE_WHILE, str(trigger))
    problem = make_problem(fitness="worker_faults:loglik_or_die")
    evaluator = ProcessPoolEvaluator(problem, 2)
    with pytest.raises(WorkerDiedError, match=f"died {MAX_DEATHS} times in a row"):
        evaluator(init_genomes(problem.spec, 4, np.random.default_rng(0)))
    assert evaluator.pids() == []  # the pool is gone, nothing left running
    evaluator.close()
