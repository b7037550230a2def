"""`evonet bench memory`: peak memory of a GA on 1,024 genomes of ~100,000 weights.

The run happens in a fresh Python process (peak RSS counts from process start,
so a process that ran other benchmarks would report their peak), which prints
its own `ru_maxrss`. The target is a peak under 2 GB: the population itself
is 0.4 GB of float32, so the loop may hold only a few copies of it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

# 40 distinct characters, so hidden 280 gives 101,120 weights per network.
TEXT = "The quick brown fox jumps over a lazy dog: 0123456789, WHY?"

CHILD = """
import json, resource, sys, time
from evonet.config import RunConfig
from evonet.evolve import evolve
config = RunConfig(**json.loads(sys.argv[1]))
start = time.perf_counter()
result = evolve(config)
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - start, "generations": result.generation}))
"""


def add_arguments(parser) -> None:
    parser.add_argument("--population", type=int, default=1024)
    parser.add_argument("--hidden", type=int, default=280)
    parser.add_argument("--generations", type=int, default=3)


def run(args) -> int:
    from ..config import RunConfig
    from ..evolve import build_problem

    config = RunConfig(text=TEXT, population=args.population, hidden=args.hidden,
                       generations=args.generations, backend="serial")
    _, spec, _ = build_problem(config)
    population_mib = config.population * spec.size * 4 / 2**20
    repeats = min(args.repeats, 3)  # each repeat is a whole run in a fresh process
    print(f"bench memory: population {config.population} x {spec.size} weights "
          f"(float32 population {population_mib:.0f} MiB), {config.generations} generations, "
          f"serial, {repeats} fresh processes")
    peaks = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config.to_dict())],
                              capture_output=True, text=True, check=True)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        peaks.append(report["peak_mib"])
        print(f"  peak RSS {report['peak_mib']:.0f} MiB in {report['seconds']:.1f} s "
              f"({report['generations']} generations)", flush=True)
    peak = statistics.median(peaks)
    verdict = "ok" if peak < 2048 else "ABOVE TARGET"
    print(f"median peak RSS {peak:.0f} MiB = {peak / population_mib:.1f}x the population "
          f"(target < 2048 MiB): {verdict}")
    return 0
