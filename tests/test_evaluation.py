"""Evaluators: block splitting, bit-identical scores, and the `--workers auto` decision."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.config import RunConfig
from evonet.evaluation import (
    AutoEvaluator,
    SerialEvaluator,
    evaluate_block,
    make_evaluator,
    split_rows,
)
from evonet.fitness import Problem
from evonet.network import NetworkSpec, init_genomes
from evonet.text import Task

LONG_TEXT = ("The quick brown fox jumps over the lazy dog while the cat sleeps. " * 6)[:350]


def make_problem(text: str = "Hello world!", hidden: int = 8, encoding: str = "onehot",
                 fitness: str = "loglik") -> Problem:
    task = Task(text, encoding)
    spec = NetworkSpec(task.vocab_size, hidden, "elman", encoding)
    return Problem(spec, task.inputs, task.targets, fitness)


@given(count=st.integers(0, 300), blocks=st.integers(1, 20))
def test_split_rows_covers_every_row_once_in_near_equal_blocks(count, blocks):
    bounds = split_rows(count, blocks)
    rows = [r for start, stop in bounds for r in range(start, stop)]
    assert rows == list(range(count))
    assert len(bounds) == min(blocks, count)
    sizes = [stop - start for start, stop in bounds]
    assert not sizes or max(sizes) - min(sizes) <= 1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 40), blocks=st.integers(1, 6),
       hidden=st.sampled_from([3, 16, 130]), encoding=st.sampled_from(["onehot", "binary"]),
       fitness=st.sampled_from(["loglik", "mse", "accuracy"]))
def test_scores_of_a_row_do_not_depend_on_the_block_it_is_in(seed, rows, blocks, hidden,
                                                             encoding, fitness):
    problem = make_problem("the cat sat on the mat", hidden, encoding, fitness)
    genomes = init_genomes(problem.spec, rows, np.random.default_rng(seed))
    whole = evaluate_block(problem, genomes)
    parts = [evaluate_block(problem, genomes[a:b]) for a, b in split_rows(rows, blocks)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert whole.shape == (rows, 2) and whole.dtype == np.float64


@pytest.mark.parametrize("chunk_bytes", [1, 5000, 10**9])
def test_evaluating_in_cache_sized_chunks_changes_no_bits(monkeypatch, chunk_bytes):
    from threadpoolctl import threadpool_limits

    from evonet.fitness import evaluate

    problem = make_problem("the cat sat on the mat", hidden=12)
    monkeypatch.setattr("evonet.evaluation.CHUNK_BYTES", chunk_bytes)
    genomes = init_genomes(problem.spec, 23, np.random.default_rng(4))
    with threadpool_limits(1):
        whole = evaluate(problem, genomes)
    np.testing.assert_array_equal(evaluate_block(problem, genomes), whole)


def test_scores_do_not_depend_on_the_callers_blas_threads():
    # With several threads OpenBLAS splits the (T, H) x (H, V) output products of a
    # long text differently, and the last bits change: workers run one thread.
    from threadpoolctl import threadpool_limits

    problem = make_problem(LONG_TEXT, hidden=64)
    genomes = init_genomes(problem.spec, 4, np.random.default_rng(0))
    with threadpool_limits(2):
        many = evaluate_block(problem, genomes)
    with threadpool_limits(1):
        one = evaluate_block(problem, genomes)
    np.testing.assert_array_equal(many, one)


def test_misaligned_block_scores_like_an_aligned_one():
    # dask hands workers arrays at odd addresses (and numpy multiplies those without
    # BLAS, 5-10x slower): any layout must score the same.
    problem = make_problem(LONG_TEXT, hidden=64)
    genomes = init_genomes(problem.spec, 6, np.random.default_rng(1))
    raw = np.empty(genomes.nbytes + 1, dtype=np.uint8)
    misaligned = raw[1:].view(np.float32).reshape(genomes.shape)
    misaligned[:] = genomes
    assert not misaligned.flags.aligned
    np.testing.assert_array_equal(evaluate_block(problem, misaligned),
                                  evaluate_block(problem, genomes))


def test_serial_evaluator_is_a_context_manager_scoring_the_population():
    problem = make_problem()
    genomes = init_genomes(problem.spec, 5, np.random.default_rng(0))
    with make_evaluator(RunConfig(backend="serial"), problem) as evaluator:
        assert (evaluator.name, evaluator.workers) == ("serial", 1)
        np.testing.assert_array_equal(evaluator(genomes), evaluate_block(problem, genomes))


class FakeParallel:
    """Stands in for a pool: records what it was asked and scores serially."""

    name, workers = "fake", 2

    def __init__(self, problem):
        self.problem, self.calls, self.warmed, self.closed = problem, 0, False, False

    def warm_up(self):
        self.warmed = True

    def __call__(self, genomes):
        self.calls += 1
        return evaluate_block(self.problem, genomes)

    def close(self):
        self.closed = True


class ScriptedClock:
    """A clock that advances by the given steps, one per reading after each start."""

    def __init__(self, durations):
        self.durations, self.now, self.reads = list(durations), 0.0, 0

    def __call__(self):
        self.reads += 1
        if self.reads % 2 == 0:  # an end reading: advance by the scripted duration
            self.now += self.durations.pop(0)
        return self.now


def run_auto(durations, generations=6, min_parallel_s=0.02):
    """Evaluate `generations` populations through AutoEvaluator, each evaluation taking
    the next of `durations` seconds by its clock; every score must be serial's."""
    problem = make_problem()
    fake = FakeParallel(problem)
    auto = AutoEvaluator(problem, fake, min_parallel_s, clock=ScriptedClock(durations))
    rng = np.random.default_rng(0)
    for _ in range(generations):
        genomes = init_genomes(problem.spec, 10, rng)
        np.testing.assert_array_equal(auto(genomes), evaluate_block(problem, genomes))
    return auto, fake


def test_auto_stays_serial_and_starts_no_workers_when_evaluation_is_short(caplog):
    with caplog.at_level(logging.INFO, logger="evonet"):
        auto, fake = run_auto([0.005])
    assert fake.calls == 0 and not fake.warmed
    assert (auto.name, auto.workers) == ("serial", 1)
    assert "workers auto: serial (one evaluation takes 5.0 ms" in caplog.text


def test_auto_is_not_fooled_by_one_slow_measurement():
    auto, fake = run_auto([0.1, 0.1, 0.005])
    assert fake.calls == 0 and not fake.warmed and auto.name == "serial"


def test_auto_keeps_parallel_workers_that_measured_faster(caplog):
    # The pool's first generation is slow (first calls in the workers): the second counts.
    with caplog.at_level(logging.INFO, logger="evonet"):
        auto, fake = run_auto([0.1, 0.12, 0.1, 0.15, 0.06])
    assert fake.calls == 3 and fake.warmed and not fake.closed  # generations 3, 4, 5
    assert (auto.name, auto.workers) == ("fake", 2)
    assert "workers auto: fake with 2 workers (6.000 ms per individual vs 10.000 ms" \
        in caplog.text
    auto.close()
    assert fake.closed


def test_auto_drops_parallel_workers_that_measured_slower(caplog):
    # Slower than the fastest serial generation, though faster than the slowest one.
    with caplog.at_level(logging.INFO, logger="evonet"):
        auto, fake = run_auto([0.1, 0.12, 0.1, 0.11, 0.105])
    assert fake.calls == 2 and fake.closed
    assert auto.name == "serial"
    assert "2 fake workers took" in caplog.text


def test_workers_auto_on_one_cpu_is_serial(monkeypatch):
    monkeypatch.setattr("evonet.evaluation.available_cpus", lambda: 1)
    evaluator = make_evaluator(RunConfig(backend="process", workers="auto"), make_problem())
    assert isinstance(evaluator, SerialEvaluator)


@pytest.mark.parametrize("backend", ["process", "dask"])
def test_explicit_worker_count_is_used_as_given(backend):
    with make_evaluator(RunConfig(backend=backend, workers="3"), make_problem()) as evaluator:
        assert (evaluator.name, evaluator.workers) == (backend, 3)
