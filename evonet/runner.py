"""Running a configured evolution inside a run folder: what `evonet run`,
`resume` and `sample` do, as importable functions."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from .config import RunConfig
from .evolve import RunInterrupted, RunResult, build_problem, evolve, read_checkpoint
from .lock import acquire
from .network import generate
from .operators import crossover, mutation
from .progress import make_progress
from .runfolder import RunFolder, RunFolderError, RunFolderWriteError
from .text import Task

log = logging.getLogger("evonet")


def preflight(config: RunConfig) -> None:
    """Fail on bad input before anything is written: the text, the network, the plugins."""
    _, _, problem = build_problem(config)
    problem.fitness_fn()
    crossover(config.crossover)
    mutation(config.mutation)
    if config.backend == "dask":
        from .dask_cluster import check_dask

        check_dask(config.scheduler)


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
