"""`evonet bench parallel`: do parallel evaluators actually beat one core?

1. A workload where evaluation dominates (population 256, hidden 128, a text of
   ~350 characters): one generation's evaluation by `serial`, `process` with 2
   workers (rows through shared memory, and pickled through the pipe) and a Dask
   LocalCluster of 2 workers (rows through shared memory, and scattered over TCP as
   for workers on other machines), interleaved repeat by repeat so machine load hits
   them alike. Targets on 2 cores: process >= 1.8x serial, dask >= 1.6x.
   Each generation's time is split into overhead, transfer and scheduling (the
   same genome matrix scored on a 1-character text, so almost no computation),
   and evaluation (the rest). The workload's own ceiling is measured too: the
   blocks evaluated by as many processes at once against one block alone, which
   says how much of the shortfall from 2x is the machine and how much the
   evaluator.
2. Whole "Hello world!" runs with the defaults (`--workers auto`) against
   `--backend serial`, seed by seed, the two interleaved: the ratio of the total
   times must stay >= 0.95 (auto never slower).

Worker start-up is timed apart: it is paid once per run, not per generation.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from ..config import RunConfig
from ..evaluation import SerialEvaluator, evaluate_block, split_rows
from ..evolve import build_problem, evolve
from ..fitness import Problem
from ..network import init_genomes
from ..process_pool import ProcessPoolEvaluator

SENTENCE = "The quick brown fox jumps over the lazy dog, and the dog does not mind at all. "
TEXT = (SENTENCE * 5)[:350]


def add_arguments(parser) -> None:
    parser.add_argument("--workers", type=int, default=2, help="parallel workers [default: 2]")
    parser.add_argument("--population", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--skip-dask", action="store_true", help="leave the Dask cluster out")
    parser.add_argument("--skip-hello", action="store_true", help="leave the whole runs out")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the whole runs")


def _busy(steps: int) -> float:
    """Compute-bound numpy work that stays in cache; returns its own wall time."""
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    with threadpool_limits(1):
        a = np.random.default_rng(0).random((64, 64), dtype=np.float32)
        for _ in range(steps):
            a = np.tanh(a @ a * 0.01)
    return time.perf_counter() - start


def machine_parallelism(workers: int, steps: int = 5000) -> float:
    """How many times more compute-bound work `workers` processes do at once than one:
    `workers` on idle cores, less on a shared machine. Speedups can't beat it."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_busy, [10] * workers))  # started and warm
        alone = min(pool.submit(_busy, steps).result() for _ in range(3))
        together = statistics.median(pool.map(_busy, [steps] * workers))
    return workers * alone / together


def _timed_block(problem: Problem, genomes: np.ndarray) -> float:
    """Seconds to evaluate `genomes` here, with one BLAS thread as in a worker."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        evaluate_block(problem, genomes)  # first-call costs are not the workload's
        start = time.perf_counter()
        evaluate_block(problem, genomes)
        return time.perf_counter() - start


def workload_parallelism(problem: Problem, genomes: np.ndarray, workers: int,
                         repeats: int) -> float:
    """The ceiling of a static split for this very workload: `workers` processes each
    evaluating one block of `genomes` at the same time, against one process evaluating
    one block alone (`workers` x alone / slowest together). Unlike the compute-bound
    ceiling it includes what the blocks' evaluations cost each other (shared caches and
    memory bandwidth, the host's other tenants); no evaluator can beat it, and what an
    evaluator loses below it is its own overhead."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    blocks = [genomes[start:stop] for start, stop in split_rows(len(genomes), workers)]
    alone, together = [], []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in range(repeats):
            alone.append(pool.submit(_timed_block, problem, blocks[0]).result())
            together.append(max(pool.map(_timed_block, [problem] * len(blocks), blocks)))
    return len(blocks) * statistics.median(alone) / statistics.median(together)


def _evaluators(problem: Problem, workers: int, with_dask: bool) -> dict:
    """Every evaluator, started and warmed up, with its start-up time in seconds."""
    made = {"serial": (SerialEvaluator(problem), 0.0)}
    factories = {
        f"process x{workers} (shared memory)":
            lambda: ProcessPoolEvaluator(problem, workers, "shared"),
        f"process x{workers} (pickled rows)":
            lambda: ProcessPoolEvaluator(problem, workers, "pickle"),
    }
    if with_dask:
        from ..dask_cluster import DaskEvaluator

        # Rows through this host's shared memory (the default), and scattered over TCP as
        # they must be to workers on other machines.
        factories[f"dask LocalCluster x{workers} (shared memory)"] = \
            lambda: DaskEvaluator(problem, "", workers, "auto")
        factories[f"dask LocalCluster x{workers} (scatter)"] = \
            lambda: DaskEvaluator(problem, "", workers, "scatter")
    for name, factory in factories.items():
        start = time.perf_counter()
        evaluator = factory()
        evaluator.warm_up()
        made[name] = (evaluator, time.perf_counter() - start)
    return made


def _interleaved_medians(evaluators: dict, genomes: np.ndarray, repeats: int) -> dict:
    """Median seconds per evaluation of each evaluator, measured turn by turn."""
    times: dict[str, list[float]] = {name: [] for name in evaluators}
    reference = None
    for repeat in range(repeats + 1):  # the first round warms caches and is dropped
        for name, (evaluator, _) in evaluators.items():
            start = time.perf_counter()
            scores = evaluator(genomes)
            elapsed = time.perf_counter() - start
            if reference is None:
                reference = scores
            elif not np.array_equal(scores, reference):
                raise AssertionError(f"{name} scores differ from serial: bench is invalid")
            if repeat:
                times[name].append(elapsed)
    return {name: (statistics.median(t), t) for name, t in times.items()}


def _spread(times: list[float]) -> str:
    return f"[{min(times):.3f} .. {max(times):.3f}]"


def bench_evaluation(args, with_dask: bool) -> None:
    config = RunConfig(text=TEXT, population=args.population, hidden=args.hidden)
    _, spec, problem = build_problem(config)
    genomes = init_genomes(spec, args.population, np.random.default_rng(0))
    print(f"1. one evaluation: population {args.population}, hidden {args.hidden}, text "
          f"{len(TEXT)} characters, genome {spec.size} floats ({genomes.nbytes / 1e6:.1f} MB), "
          f"median of {args.repeats} (min .. max)")
    # The same genomes on a 1-character text: the transfer and scheduling without the work.
    tiny = Problem(spec, problem.inputs[:1], problem.targets[:1], problem.fitness)
    evaluators = _evaluators(problem, args.workers, with_dask)
    tiny_evaluators = _evaluators(tiny, args.workers, with_dask)
    try:
        full = _interleaved_medians(evaluators, genomes, args.repeats)
        empty = _interleaved_medians(tiny_evaluators, genomes, args.repeats)
    finally:
        for evaluator, _ in [*evaluators.values(), *tiny_evaluators.values()]:
            evaluator.close()
    ceiling = workload_parallelism(problem, genomes, args.workers, args.repeats)
    print(f"   this workload's ceiling now: {args.workers} processes evaluating a block each at "
          f"once do {ceiling:.2f}x the work of one alone (caches, memory and host shared)")
    serial = full["serial"][0]
    print(f"   {'evaluator':36} {'seconds':>8} {'speedup':>8} {'start-up':>9}  "
          f"{'overhead':>9} {'evaluating':>10}  spread")
    for name, (median, times) in full.items():
        overhead = 0.0 if name == "serial" else max(empty[name][0] - empty["serial"][0], 0.0)
        print(f"   {name:36} {median:8.3f} {serial / median:7.2f}x {evaluators[name][1]:8.2f}s"
              f"  {overhead:8.4f}s {median - overhead:9.3f}s  {_spread(times)}")
    targets = {"process": 1.8, "dask": 1.6}
    for name, (median, _) in full.items():
        kind = name.split()[0]
        if kind in targets:
            verdict = "ok" if serial / median >= targets[kind] else "BELOW TARGET"
            print(f"   {name}: {serial / median:.2f}x (target >= {targets[kind]}x) {verdict}; "
                  f"{serial / median / ceiling:.0%} of the workload's ceiling")
    print("   overhead: the same genome matrix through the evaluator on a 1-character text "
          "(transfer + scheduling, minus serial's own cost); evaluating: the rest")


def bench_hello(args) -> None:
    config = RunConfig(text="Hello world!")
    seeds = range(args.seeds)
    print(f"2. whole 'Hello world!' runs with the defaults (backend {config.backend}, workers "
          f"{config.workers}) vs --backend serial: seeds {seeds.start}-{seeds.stop - 1} "
          f"run by each, {args.repeats} times (seconds for all seeds)")
    totals: dict[str, list[float]] = {"auto": [], "serial": []}
    paired: list[float] = []  # serial / auto of one seed's two runs, side by side
    for repeat in range(args.repeats):
        spent = {"auto": 0.0, "serial": 0.0}
        for seed in seeds:
            runs = [("auto", config.replace(seed=seed)),
                    ("serial", config.replace(seed=seed, backend="serial"))]
            if (repeat + seed) % 2:  # alternate which goes first: drifting load hits both
                runs.reverse()
            took = {}
            for name, run_config in runs:
                start = time.perf_counter()
                evolve(run_config)
                took[name] = time.perf_counter() - start
                spent[name] += took[name]
            paired.append(took["serial"] / took["auto"])
        for name, seconds in spent.items():
            totals[name].append(seconds)
    serial, auto = (statistics.median(totals[name]) for name in ("serial", "auto"))
    print(f"   serial {serial:.3f}s {_spread(totals['serial'])}   workers auto {auto:.3f}s "
          f"{_spread(totals['auto'])} (ratio of these medians {serial / auto:.2f})")
    # The verdict uses the runs paired seed by seed, each pair run back to back: a
    # shared machine's load drifts within a repeat, which the totals' medians absorb
    # badly with 100 ms runs (0.93-1.06 for the same code in one afternoon).
    ratio = statistics.median(paired)
    verdict = "ok" if ratio >= 0.95 else "BELOW TARGET"
    print(f"   speed of auto relative to serial: {ratio:.2f}, median of {len(paired)} "
          f"side-by-side pairs (target >= 0.95) {verdict}")


def run(args) -> int:
    with_dask = not args.skip_dask
    if with_dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("dask is not installed (pip install 'evonet[dask]'): leaving it out")
            with_dask = False
    print("bench parallel (one process; the machine may be shared, so read the spread)")
    print(f"0. this machine now: {args.workers} processes of compute-bound numpy do "
          f"{machine_parallelism(args.workers):.2f}x the work of one ({args.workers}x on idle "
          "cores; no speedup below can exceed this)")
    bench_evaluation(args, with_dask)
    if not args.skip_hello:
        bench_hello(args)
    return 0
