"""`evonet bench parallel`: do parallel evaluators actually beat one core?

1. A workload where evaluation dominates (population 256, hidden 128, a text of
   ~350 characters): one generation's evaluation by `serial`, `process` with 2
   workers (rows through shared memory, and pickled through the pipe) and a Dask
   LocalCluster of 2 workers (rows through shared memory, and scattered over TCP as
   for workers on other machines). Each kind is measured alone (the others' workers
   closed), interleaved repeat by repeat with serial runs of its own so machine
   load hits both alike. Targets on 2 cores: process >= 1.8x serial, dask >= 1.6x.
   Each generation's time is split into overhead, transfer and scheduling (the
   same genome matrix scored on a 1-character text, so almost no computation),
   and evaluation (the rest). The workload's own ceiling is measured too: the
   blocks evaluated by as many processes at once against one block alone, between
   the process pools' repeats, which says how much of the shortfall from 2x is the
   machine and how much the evaluator.
2. Whole "Hello world!" runs with the defaults (`--workers auto`) against
   `--backend serial`, seed by seed, each pair back to back: the median of the
   paired speed ratios must stay >= 0.95 (auto never slower).

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
    from ..cli import positive_int

    parser.add_argument("--workers", type=positive_int, default=2,
                        help="parallel workers [default: 2]")
    parser.add_argument("--population", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--skip-dask", action="store_true", help="leave the Dask cluster out")
    parser.add_argument("--skip-hello", action="store_true", help="leave the whole runs out")
    parser.add_argument("--seeds", type=positive_int, default=5, help="seeds of the whole runs")


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


class WorkloadCeiling:
    """The ceiling of a static split for this very workload: `workers` processes each
    evaluating one block of `genomes` at the same time, against one process evaluating
    one block alone (`workers` x alone / slowest together). Unlike the compute-bound
    ceiling it includes what the blocks' evaluations cost each other (shared caches and
    memory bandwidth, the host's other tenants); no evaluator can beat it by more than
    the noise, and what an evaluator loses below it is its own overhead. Measured once
    per repeat, between the evaluators' turns, so that it sees the same load."""

    def __init__(self, problem: Problem, genomes: np.ndarray, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.problem = problem
        self.blocks = [genomes[a:b] for a, b in split_rows(len(genomes), workers)]
        self.alone: list[float] = []
        self.together: list[float] = []
        self._pool = ProcessPoolExecutor(workers,
                                         mp_context=multiprocessing.get_context("spawn"))

    def measure(self) -> None:
        self.alone.append(self._pool.submit(_timed_block, self.problem, self.blocks[0]).result())
        self.together.append(max(self._pool.map(
            _timed_block, [self.problem] * len(self.blocks), self.blocks)))

    def ratio(self) -> float:
        return len(self.blocks) * statistics.median(self.alone) / statistics.median(
            self.together)

    def close(self) -> None:
        self._pool.shutdown()


def _evaluator_groups(workers: int, with_dask: bool) -> list[dict]:
    """Factories `problem -> evaluator`, in groups measured one after the other, each
    beside its own serial runs, with only that group's workers alive: idle Dask
    clusters keep ticking (heartbeats, the workers' profilers and memory monitors:
    two idle LocalClusters of 2 workers used 16% of a core), which would tax whatever
    is measured beside them."""
    groups = [{
        f"process x{workers} (shared memory)":
            lambda problem: ProcessPoolEvaluator(problem, workers, "shared"),
        f"process x{workers} (pickled rows)":
            lambda problem: ProcessPoolEvaluator(problem, workers, "pickle"),
    }]
    if with_dask:
        from ..dask_cluster import DaskEvaluator

        # Rows through this host's shared memory (the default), and scattered over TCP as
        # they must be to workers on other machines.
        groups.append({f"dask LocalCluster x{workers} (shared memory)":
                       lambda problem: DaskEvaluator(problem, "", workers, "auto")})
        groups.append({f"dask LocalCluster x{workers} (scatter)":
                       lambda problem: DaskEvaluator(problem, "", workers, "scatter")})
    return groups


def _started(problem: Problem, factories: dict) -> dict:
    """Serial and each of `factories`' evaluators, started and warmed up, with their
    start-up times in seconds."""
    made = {"serial": (SerialEvaluator(problem), 0.0)}
    try:
        for name, factory in factories.items():
            start = time.perf_counter()
            evaluator = factory(problem)
            made[name] = (evaluator, None)
            evaluator.warm_up()
            made[name] = (evaluator, time.perf_counter() - start)
    except BaseException:
        _close(made)
        raise
    return made


def _close(made: dict) -> None:
    for evaluator, _ in made.values():
        evaluator.close()


def _interleaved_medians(evaluators: dict, genomes: np.ndarray, repeats: int,
                         ceiling: WorkloadCeiling | None = None) -> dict:
    """Median seconds per evaluation of each evaluator, measured turn by turn (and the
    workload's ceiling once per repeat, if given)."""
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
        if ceiling is not None and repeat:
            ceiling.measure()
    return {name: (statistics.median(t), t) for name, t in times.items()}


def _spread(times: list[float]) -> str:
    return f"[{min(times):.3f} .. {max(times):.3f}]"


def _measure_group(problem: Problem, tiny: Problem, genomes: np.ndarray, factories: dict,
                   repeats: int, ceiling: WorkloadCeiling | None) -> dict:
    """For serial and each evaluator of one group: (median s, times, start-up s, overhead
    s), all timed turn by turn with that group's own serial runs."""
    made = _started(problem, factories)
    try:
        full = _interleaved_medians(made, genomes, repeats, ceiling)
    finally:
        _close(made)
    made_tiny = _started(tiny, factories)
    try:
        empty = _interleaved_medians(made_tiny, genomes, repeats)
    finally:
        _close(made_tiny)
    return {name: (median, times, made[name][1],
                   0.0 if name == "serial" else max(empty[name][0] - empty["serial"][0], 0.0))
            for name, (median, times) in full.items()}


def bench_evaluation(args, with_dask: bool) -> None:
    config = RunConfig(text=TEXT, population=args.population, hidden=args.hidden)
    _, spec, problem = build_problem(config)
    genomes = init_genomes(spec, args.population, np.random.default_rng(0))
    print(f"1. one evaluation: population {args.population}, hidden {args.hidden}, text "
          f"{len(TEXT)} characters, genome {spec.size} floats ({genomes.nbytes / 1e6:.1f} MB), "
          f"median of {args.repeats} (min .. max); each kind of evaluator alone with its "
          "own serial runs, turn by turn")
    # The same genomes on a 1-character text: the transfer and scheduling without the work.
    tiny = Problem(spec, problem.inputs[:1], problem.targets[:1], problem.fitness)
    workload = WorkloadCeiling(problem, genomes, args.workers)
    rows, serial_times = {}, []
    try:
        for index, factories in enumerate(_evaluator_groups(args.workers, with_dask)):
            group = _measure_group(problem, tiny, genomes, factories, args.repeats,
                                   workload if index == 0 else None)
            serial = group.pop("serial")
            serial_times += serial[1]
            rows.update({name: (*row, serial[0]) for name, row in group.items()})
    finally:
        workload.close()
    ceiling = workload.ratio()
    print(f"   this workload's ceiling, measured between the process pools' repeats: "
          f"{args.workers} processes evaluating a block each at once do {ceiling:.2f}x the "
          "work of one alone (caches, memory and host shared)")
    print(f"   {'evaluator':36} {'seconds':>8} {'speedup':>8} {'start-up':>9}  "
          f"{'overhead':>9} {'evaluating':>10}  spread")
    print(f"   {'serial':36} {statistics.median(serial_times):8.3f} {'1.00x':>8} {'0.00s':>9}"
          f"  {'0.0000s':>9} {statistics.median(serial_times):9.3f}s  {_spread(serial_times)}")
    for name, (median, times, startup, overhead, serial) in rows.items():
        print(f"   {name:36} {median:8.3f} {serial / median:7.2f}x {startup:8.2f}s"
              f"  {overhead:8.4f}s {median - overhead:9.3f}s  {_spread(times)}")
    targets = {"process": 1.8, "dask": 1.6}
    for name, (median, _, _, _, serial) in rows.items():
        kind = name.split()[0]
        verdict = "ok" if serial / median >= targets[kind] else "BELOW TARGET"
        print(f"   {name}: {serial / median:.2f}x (target >= {targets[kind]}x) {verdict}; "
              f"{serial / median / ceiling:.0%} of the workload's ceiling")
    print("   speedup: against the serial runs timed in the same turns; overhead: the same "
          "genome matrix through the evaluator on a 1-character text (transfer + scheduling, "
          "minus serial's own cost); evaluating: the rest")


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
    # Bad sizes are refused before anything is measured (ConfigError: exit status 2).
    RunConfig(text=TEXT, population=args.population, hidden=args.hidden)
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
