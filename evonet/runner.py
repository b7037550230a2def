"""Running a configured evolution inside a run folder: what `evonet run`,
`resume` and `sample` do, as importable functions."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np

from .config import ConfigError, RunConfig
from .evolve import RunInterrupted, RunResult, build_problem, evolve, read_checkpoint
from .fitness import evaluate
from .individuals import make_individual
from .lock import acquire
from .network import generate, init_genomes
from .operators import apply_operator, bind, crossover, mutation, operator_keywords
from .progress import make_progress
from .runfolder import RunFolder, RunFolderError, RunFolderWriteError
from .text import Task

log = logging.getLogger("evonet")


GRADIENT_BYTES_PER_WEIGHT = 80  # see memory_needed


def preflight(config: RunConfig) -> None:
    """Fail on bad input before anything is written: the text, the network, its
    memory, the plugins (looked up, then tried once on two random networks)."""
    _, spec, problem = build_problem(config)
    check_memory(config, spec.size)
    problem.fitness_fn()
    crossover(config.crossover)
    mutation(config.mutation)
    _try_plugins(config, spec, problem)
    if config.backend == "dask":
        from .dask_cluster import check_dask

        check_dask(config.scheduler)


def memory_needed(config: RunConfig, genes: int) -> int:
    """Bytes a run holds at its peak, roughly. Population methods: float32 genomes of
    `genes` weights, 2.5 populations' worth (`evonet bench memory` measured 2.3x at
    1,024 genomes of 100,000 weights), plus the ES noise table (NOISE_GENOMES
    genomes) or the GA's int64 gene-to-unit map (two genomes' worth). The gradient
    algorithm holds one network, in float64 with its gradient and optimizer state:
    80 bytes per weight measured (222 MB at 2.27 million weights)."""
    from .algorithms.es import NOISE_GENOMES

    if config.algorithm == "gradient":
        return genes * GRADIENT_BYTES_PER_WEIGHT
    extra = NOISE_GENOMES if config.algorithm == "es" else 2
    return int(genes * 4 * (2.5 * config.population + extra))


def physical_memory() -> int | None:
    """This machine's RAM in bytes, None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(config: RunConfig, genes: int) -> None:
    """ConfigError when the run clearly cannot fit in this machine's RAM: say so before
    a run folder is made, not with a MemoryError after."""
    needed, available = memory_needed(config, genes), physical_memory()
    if available and needed > available:
        what = (f"a network of {genes:,} weights" if config.algorithm == "gradient" else
                f"population {config.population} of networks with {genes:,} weights")
        lower = "--hidden" if config.algorithm == "gradient" else "--population or --hidden"
        raise ConfigError(
            f"{what} needs about {needed / 2**30:,.1f} GiB of memory, more than this "
            f"machine's {available / 2**30:,.1f} GiB: lower {lower}")


def _try_plugins(config: RunConfig, spec, problem) -> None:
    """Call user functions once on two random networks: a wrong signature or return
    value is bad input (exit 2), found before a run folder is made."""
    rng = np.random.default_rng(0)
    genomes = init_genomes(spec, 2, rng)
    if ":" in config.fitness:
        try:
            evaluate(problem, genomes)
        except Exception as exc:
            raise ConfigError(f"fitness {config.fitness!r} fails on two test networks: "
                              f"{type(exc).__name__}: {exc}") from None
    if config.algorithm != "ga":
        return  # the other algorithms use no crossover or mutation
    keywords = operator_keywords(config, spec, rng)
    for kind, name, lookup, count in (("crossover", config.crossover, crossover, 2),
                                      ("mutation", config.mutation, mutation, 1)):
        if ":" not in name:
            continue
        individuals = [make_individual(row.copy()) for row in genomes[:count]]
        try:
            apply_operator(bind(lookup(name), keywords), *individuals)
        except Exception as exc:
            raise ConfigError(f"{kind} {name!r} fails on test networks: "
                              f"{type(exc).__name__}: {exc}") from None


def _attach_log(folder: RunFolder) -> list[logging.Handler]:
    """run.log gets every record, the console (stderr) warnings and errors, those of
    worker processes included (they come back with their results: `worker_log.py`)."""
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("evonet: %(processName)s: %(levelname)s: "
                                           "%(message)s"))
    handlers = [folder.log_handler(), console]
    for handler in handlers:
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handlers


def _execute(config: RunConfig, folder: RunFolder, *, resume: bool, quiet: bool,
             extend: bool = False) -> int:
    handlers = _attach_log(folder)
    progress = make_progress(quiet=quiet, total=config.generations)
    log.info("%s %s: %s", "resuming" if resume else "starting", folder.path, config.to_dict())
    try:
        result = evolve(config, folder, resume=resume, extend=extend, on_record=progress)
    except RunInterrupted as exc:
        progress.close()
        folder.write_summary({"status": "interrupted", "generations": exc.generation,
                              "target": config.text})
        where = (f"at generation {exc.generation}" if exc.generation >= 0
                 else "before generation 0 was complete")
        print(f"interrupted {where}; resume with: evonet resume {folder.path}",
              file=sys.stderr)
        return 130
    except RunFolderWriteError as exc:
        _try_summary(folder, {"status": "failed", "error": str(exc), "target": config.text})
        raise RunFolderWriteError(f"{exc} (the last checkpoint is intact: once the folder "
                                  f"is writable, evonet resume {folder.path})") from None
    except Exception as exc:
        # The traceback goes to run.log only: the terminal gets one line from the CLI.
        handlers[0].handle(log.makeRecord(log.name, logging.ERROR, __file__, 0, "run failed",
                                          None, sys.exc_info()))
        progress.close()
        _try_summary(folder, {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                              "target": config.text})
        raise
    finally:
        for handler in handlers:
            log.removeHandler(handler)
            handler.close()
    progress.close()
    folder.write_summary(result.summary())
    report(result, folder)
    return 0


def _try_summary(folder: RunFolder, summary: dict) -> None:
    """Record a failure if the folder still takes writes (not when the disk is full)."""
    try:
        folder.write_summary(summary)
    except RunFolderError as exc:
        log.info("summary.json not written: %s", exc)


def report(result: RunResult, folder: RunFolder) -> None:
    print(f"run folder: {folder.path}")
    print(f"regenerated: {result.best_text!r}")
    if result.solved_at is not None:
        print(f"solved at generation {result.solved_at} in {result.elapsed_s:.2f} s "
              f"({result.evaluations} evaluations)")
    else:
        print(f"not solved in {result.generation} generations: best accuracy "
              f"{result.best_accuracy:.3f} ({result.elapsed_s:.2f} s)")


def run_new(config: RunConfig, runs_dir: Path, name: str | None = None,
            quiet: bool = False) -> int:
    """Start a run in a new folder under `runs_dir`; returns the exit status."""
    preflight(config)
    folder = RunFolder.create(runs_dir, name, config)
    with acquire(folder.path):
        return _execute(config, folder, resume=False, quiet=quiet)


def run_resume(run_dir: Path, generations: int | None = None, quiet: bool = False,
               backend: str | None = None, workers: str | None = None) -> int:
    """Continue `run_dir` from its checkpoint, optionally with a new generation limit
    (which also extends a run that is finished, solved or not); returns the exit status.

    Everything is checked (the lock, the checkpoint, the config) before anything in
    the folder changes.
    """
    folder = RunFolder(run_dir)
    config = folder.read_config()
    with acquire(folder.path):
        folder.remove_temporaries()
        checkpoint = read_checkpoint(folder, config)
        done = -1 if checkpoint is None else int(checkpoint[1].get("generation", -1))
        if generations is not None and generations < done:
            raise RunFolderError(f"--generations must be >= {done}, the generation of "
                                 f"{folder.path}'s checkpoint (got {generations})")
        changes = {k: v for k, v in {"generations": generations, "backend": backend,
                                     "workers": workers}.items() if v is not None}
        config = config.replace(**changes)
        preflight(config)  # plugins import, dask answers: before the folder changes
        if changes:
            folder.write_config(config)
        return _execute(config, folder, resume=True, quiet=quiet,
                        extend=generations is not None)


def sample_text(run_dir: Path, length: int | None = None, prime: str | None = None) -> str:
    """Greedy regeneration from the best network of a run folder."""
    folder = RunFolder(run_dir)
    genome, spec, meta = folder.load_best()
    task = Task(meta["text"], spec.encoding)
    length = len(task.text) if length is None else length
    if length < 1:
        raise RunFolderError(f"--length must be >= 1 (got {length})")
    try:
        prime_indices = task.encode(prime) if prime else None
    except ValueError as exc:
        raise RunFolderError(f"--prime: {exc}") from None
    if prime_indices is not None and len(prime_indices) == 0:
        prime_indices = None
    indices = generate(spec, genome, int(task.indices[0]), max(length, 1), prime_indices)
    return task.decode(np.asarray(indices))
