"""`evonet bench kernel`: the population evaluation against the machine's own matmul.

For each shape `(P, H, V, T)` it times, side by side in this process with BLAS
pinned to one thread (one worker's view), interleaved repeat by repeat:

- `evaluate`: `fitness.evaluate` of P random networks on a random text of T
  characters (recurrence, output layer, log-likelihood, argmax, checks);
- `reference`: a plain batched `np.matmul` of `(P, H, H) x (P, H, 1)`, run T-1
  times: the recurrence's matrix products and nothing else.

Achieved GFLOP/s counts `2 P (T-1) (H H + V H)` for the Elman cell (recurrent
and output products); the reference counts `2 P (T-1) H H`. Their ratio says how
close the whole evaluation runs to what numpy's matmul alone reaches on these
shapes (target >= 0.7). The recurrence alone (`hidden_states`) is reported too.
The machine may be shared: medians of interleaved repeats, and they are noisy.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ..fitness import Problem, evaluate
from ..network import NetworkSpec, hidden_states, init_genomes

# (population, hidden, vocabulary, text length): the shape and a larger one.
SHAPES = ((256, 64, 40, 130), (256, 128, 48, 350))


def add_arguments(parser) -> None:
    parser.add_argument("--shape", action="append", metavar="P,H,V,T",
                        help="a shape to measure instead of the defaults (repeatable)")


def _parse_shape(text: str) -> tuple[int, int, int, int]:
    from ..cli import UsageError

    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1 or shape[3] < 2:
        raise UsageError(f"--shape must be P,H,V,T with positive integers and T >= 2 "
                         f"(got {text!r})")
    return shape


def measure(population: int, hidden: int, vocab: int, length: int, repeats: int,
            seed: int = 0) -> dict[str, float]:
    """Median seconds of `evaluate`, `hidden_states` and the reference, and GFLOP/s."""
    rng = np.random.default_rng(seed)
    spec = NetworkSpec(vocab, hidden)
    genomes = init_genomes(spec, population, rng)
    text = rng.integers(0, vocab, length)
    problem = Problem(spec, text[:-1], text[1:])
    whh = np.ascontiguousarray(spec.unflatten(genomes)["Whh"])
    h = rng.standard_normal((population, hidden, 1), dtype=np.float32)
    out = np.empty_like(h)

    def reference() -> None:
        for _ in range(length - 1):
            np.matmul(whh, h, out=out)

    jobs = {"evaluate": lambda: evaluate(problem, genomes),
            "recurrence": lambda: hidden_states(spec, genomes, problem.inputs),
            "reference": reference}
    times: dict[str, list[float]] = {name: [] for name in jobs}
    with threadpool_limits(limits=1):
        for job in jobs.values():  # warm-up: first-call costs are not the kernel's
            job()
        for _ in range(repeats):
            for name, job in jobs.items():
                start = time.perf_counter()
                job()
                times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in times.items()}
    steps = population * (length - 1)
    flops = 2 * steps * (hidden * hidden + vocab * hidden)
    ref_flops = 2 * steps * hidden * hidden
    return {**{f"{name}_s": value for name, value in median.items()},
            "gflops": flops / median["evaluate"] / 1e9,
            "recurrence_gflops": ref_flops / median["recurrence"] / 1e9,
            "reference_gflops": ref_flops / median["reference"] / 1e9}


def run(args) -> int:
    shapes = [_parse_shape(s) for s in args.shape] if args.shape else list(SHAPES)
    print(f"bench kernel: population evaluation vs plain batched np.matmul, 1 BLAS thread, "
          f"median of {args.repeats} interleaved repeats (a shared machine is noisy)")
    for population, hidden, vocab, length in shapes:
        r = measure(population, hidden, vocab, length, args.repeats)
        print(f"  P={population} H={hidden} V={vocab} T={length}:")
        print(f"    evaluate    {r['evaluate_s'] * 1e3:9.2f} ms  {r['gflops']:6.2f} GFLOP/s "
              "(2P(T-1)(HH+VH))")
        print(f"    recurrence  {r['recurrence_s'] * 1e3:9.2f} ms  "
              f"{r['recurrence_gflops']:6.2f} GFLOP/s (2P(T-1)HH)")
        print(f"    reference   {r['reference_s'] * 1e3:9.2f} ms  "
              f"{r['reference_gflops']:6.2f} GFLOP/s (np.matmul (P,H,H)x(P,H,1), T-1 times)")
        print(f"    ratio evaluate / reference: {r['gflops'] / r['reference_gflops']:.2f} "
              "(target >= 0.7)")
    return 0
