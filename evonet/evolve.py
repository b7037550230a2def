"""The generation loop: ask the algorithm, evaluate, tell, record, checkpoint.

    algorithm.ask()  ->  evaluate the invalid individuals  ->  algorithm.tell()
      -> hall of fame, statistics, greedy regeneration of the best  ->  log.jsonl
      -> best.npz when the best improves, checkpoint.npz when due  ->  stop when solved

All randomness lives in this process: one `numpy.random.Generator` (operators,
initialisation) and Python's `random` (DEAP's selection), both seeded from
`config.seed` and both saved in checkpoints, so a resumed run continues exactly.

Surviving: a checkpoint is written after generation 0, every `checkpoint_every`
generations, every `checkpoint_seconds` of wall time and at the end. Ctrl-C or
SIGTERM stops the run between generations (`interrupts.py`) after a checkpoint.
Resuming trims log.jsonl back to the checkpoint, so a run killed at any moment
(kill -9 included) continues exactly as if it had never stopped; a run killed
before its first checkpoint starts over.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from deap import tools

from .algorithms import make_algorithm
from .allocator import tune_allocator
from .config import RunConfig
from .evaluation import make_evaluator
from .fitness import Problem
from .individuals import diversity, genome_matrix, make_individual, rows_of
from .interrupts import stop_requests
from .network import NetworkSpec, generate
from .runfolder import CHECKPOINT, RunFolder, RunFolderError, load_npz, save_npz
from .text import Task

log = logging.getLogger("evonet")

# Record fields that measure time: everything else in log.jsonl is reproducible.
TIMING_FIELDS = ("elapsed_s", "evals_per_s", "eval_s")
# Operator diagnostics: every algorithm logs every one (null where it has no such
# operator), so that runs of different algorithms load and plot the same way.
OPERATOR_FIELDS = ("sigma", "mutated_fraction", "mean_step", "mutation_success",
                   "mutation_neutral", "crossover_success")
# The fields of every record, in order (README "Log fields"); algorithms may add
# their own after them (`centre_fitness`, `cma_condition`, `grad_norm`).
LOG_FIELDS = ("gen", "nevals", "fitness_max", "fitness_avg", "fitness_min", "fitness_std",
              "accuracy_best", "solved", "best_text", "diversity", *OPERATOR_FIELDS,
              *TIMING_FIELDS)


class RunInterrupted(KeyboardInterrupt):
    """Raised, after a checkpoint was written, because SIGINT or SIGTERM stopped the run.

    `generation` is the last generation completed and checkpointed (-1: none yet).
    A KeyboardInterrupt, so that callers that do not expect it (`except Exception`)
    let it through to the command line's exit status 130, as for Ctrl-C anywhere.
    """

    def __init__(self, generation: int):
        super().__init__(f"interrupted at generation {generation}")
        self.generation = generation


@dataclass
class RunResult:
    """What `evolve` returns: the final state, the log and the best network."""

    config: RunConfig
    status: str  # solved | max_generations | interrupted
    generation: int
    best_genome: np.ndarray
    best_text: str
    best_fitness: float
    best_accuracy: float
    solved_at: int | None
    elapsed_s: float
    evaluations: int
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame
    population: list = field(repr=False, default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"status": self.status, "solved_at": self.solved_at,
                "generations": self.generation, "best_fitness": self.best_fitness,
                "best_accuracy": self.best_accuracy, "best_text": self.best_text,
                "target": self.config.text, "wall_time_s": round(self.elapsed_s, 3),
                "evaluations": self.evaluations}


def build_problem(config: RunConfig) -> tuple[Task, NetworkSpec, Problem]:
    task = Task(config.text, config.encoding)
    spec = NetworkSpec(task.vocab_size, config.hidden, config.cell, config.encoding)
    return task, spec, Problem(spec, task.inputs, task.targets, config.fitness)


def fitness_statistics() -> tools.Statistics:
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", np.max)
    stats.register("avg", np.mean)
    stats.register("min", np.min)
    stats.register("std", np.std)
    return stats


def _finite_or_none(value: Any) -> Any:
    """Diagnostics for the log: a non-finite float becomes null (JSON has no NaN)."""
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


# Networks regenerated per generation in search of one that solves the text.
MAX_SOLVER_TRIES = 3


def _copy_scored(ind):
    """A copy of `ind` with its fitness and accuracy (not a view of its generation)."""
    copy = make_individual(ind, ind.sigma)
    copy.fitness.values, copy.accuracy = ind.fitness.values, ind.accuracy
    return copy


class _Loop:
    """One run's mutable state, so checkpoint and resume see the same fields."""

    def __init__(self, config: RunConfig, folder: RunFolder | None):
        self.config, self.folder = config, folder
        self.task, self.spec, self.problem = build_problem(config)
        self.rng = np.random.default_rng(config.seed)
        self.py_random = random.Random(config.seed)
        self.algorithm = make_algorithm(config, self.spec, self.rng)
        self.hof = tools.HallOfFame(1, similar=np.array_equal)
        self.logbook = tools.Logbook()
        self.stats = fitness_statistics()
        self.generation = -1
        self.evaluations = 0
        self.elapsed_before = 0.0
        self.solved_at: int | None = None
        self.extend = False  # keep evolving after the solve (resume --generations)
        self.saved_generation = -1  # the generation in checkpoint.npz
        self.best_text = ""
        self._best_key: bytes | None = None
        self._candidate_key: bytes | None = None
        self._candidate_text = ""
        self.solver = None  # the fittest network found to regenerate the text, if any

    # ------------------------------------------------------------------ one generation
    def step(self, evaluator) -> dict[str, Any]:
        gen_start = time.perf_counter()
        self.generation += 1
        # DEAP draws from the module-level `random`: give it this run's state for the
        # generation, keep that state here for checkpoints, and give the caller's
        # state back (a notebook's own `random` is not ours to move).
        callers_state = random.getstate()
        random.setstate(self.py_random.getstate())
        try:
            individuals = self.algorithm.ask()
        finally:
            self.py_random.setstate(random.getstate())
            random.setstate(callers_state)

        invalid_rows = [i for i, ind in enumerate(individuals) if not ind.fitness.valid]
        invalid = [individuals[i] for i in invalid_rows]
        eval_start = time.perf_counter()
        scores = evaluator(rows_of(individuals, invalid_rows)) if invalid else np.zeros((0, 2))
        eval_s = time.perf_counter() - eval_start
        for ind, (fit, correct) in zip(invalid, scores):
            ind.fitness.values = (float(fit),)
            ind.accuracy = float(correct)
        self.evaluations += len(invalid)

        diagnostics = self.algorithm.tell(individuals)
        self.hof.update(individuals)
        candidate = self.candidate()
        key = candidate.tobytes()
        if key != self._candidate_key:  # regenerating costs T single-network steps
            self._candidate_key = key
            self._candidate_text = self.regenerate(candidate)
        if self._candidate_text == self.task.text:
            # Solved by the hall of fame's best (or the centre); in an extended run a
            # fitter network that also regenerates the text replaces the solver.
            if self.solver is None or candidate.fitness.values > self.solver.fitness.values:
                self.solver = _copy_scored(candidate)
        elif self.solver is None:
            self.solver = self.find_solver(individuals)
        best = self.best()
        self.best_text = self.task.text if self.solver is not None else self._candidate_text
        solved = self.solver is not None
        best_key = best.tobytes()
        improved, self._best_key = best_key != self._best_key, best_key
        if solved and self.solved_at is None:
            self.solved_at = self.generation

        stats = self.stats.compile(individuals)
        gen_s = time.perf_counter() - gen_start
        record = {
            "gen": self.generation, "nevals": len(invalid),
            "fitness_max": float(stats["max"]), "fitness_avg": float(stats["avg"]),
            "fitness_min": float(stats["min"]), "fitness_std": float(stats["std"]),
            "accuracy_best": best.accuracy / self.task.n_predictions,
            "solved": solved, "best_text": self.best_text,
            "diversity": diversity(individuals),
            **dict.fromkeys(OPERATOR_FIELDS),
            **{k: _finite_or_none(v) for k, v in diagnostics.items()},
            "elapsed_s": round(self.elapsed_before + self.clock(), 4),
            "evals_per_s": round(len(invalid) / max(gen_s, 1e-9), 1),
            "eval_s": round(eval_s, 6),
        }
        self.logbook.record(**record)
        if self.folder is not None:
            self.folder.append_record(record)
            if improved:
                self.folder.save_best(best, self.spec, self.task.text, self.task.vocab,
                                      self.generation, float(best.fitness.values[0]),
                                      record["accuracy_best"])
        return record

    def best(self):
        """The network logged, saved and regenerated as the best: once the text is
        regenerated, the solver (the fittest network found to regenerate it); until
        then the candidate."""
        return self.solver if self.solver is not None else self.candidate()

    def candidate(self):
        """The hall of fame's best, unless the algorithm names its own (ES: the centre,
        evaluated each generation)."""
        champion = getattr(self.algorithm, "champion", None)
        return champion() if champion is not None and champion() is not None else self.hof[0]

    def regenerate(self, network) -> str:
        """Greedy free-running text of `network` from the first character."""
        indices = generate(self.spec, network, self.task.indices[0], len(self.task.text))
        return self.task.decode(indices)

    def find_solver(self, individuals, tries: int = MAX_SOLVER_TRIES):
        """A copy of the first of `individuals` that regenerates the text, or None.

        The best network by fitness is not always the first to get every character
        right (a loglik-best network may still miss one; an ES perturbation gets
        there before the centre): the run is solved as soon as any network is.
        Only networks predicting every next character under teacher forcing can
        regenerate the text, so at most `tries` of them are regenerated."""
        n_predictions = self.task.n_predictions
        candidates = [ind for ind in individuals if ind.accuracy >= n_predictions][:tries]
        for candidate in candidates:
            if self.regenerate(candidate) == self.task.text:
                return _copy_scored(candidate)
        return None

    # ------------------------------------------------------------------ checkpoints
    def clock(self) -> float:
        return time.perf_counter() - self.start

    def save_checkpoint(self) -> None:
        arrays = {f"algo_{k}": v for k, v in self.algorithm.state().items()}
        hof = list(self.hof)
        arrays["hof_genome"] = genome_matrix(hof)
        arrays["hof_fitness"] = np.array([h.fitness.values[0] for h in hof])
        arrays["hof_accuracy"] = np.array([h.accuracy for h in hof], dtype=np.float64)
        if self.solver is not None:
            arrays["solver_genome"] = np.asarray(self.solver)
            arrays["solver_scores"] = np.array([self.solver.fitness.values[0],
                                                self.solver.accuracy])
        meta = {
            "generation": self.generation, "evaluations": self.evaluations,
            "elapsed_s": self.elapsed_before + self.clock(), "solved_at": self.solved_at,
            "extend": self.extend,
            "log_records": len(self.logbook), "config_hash": self.config.evolution_hash(),
            "numpy_rng": self.rng.bit_generator.state,
            "python_random": _random_state_to_json(self.py_random.getstate()),
        }
        self.folder.sync_records()
        save_npz(self.folder / CHECKPOINT, arrays, meta)
        self.saved_generation = self.generation

    def load_checkpoint(self) -> None:
        """Continue from the folder's checkpoint (or from the start if the run died before
        writing one), trimming log.jsonl back to it."""
        path = self.folder / CHECKPOINT
        loaded = read_checkpoint(self.folder, self.config)
        if loaded is None:
            self.folder.trim_records(0)
            return
        arrays, meta = loaded
        try:
            self.algorithm.load_state(
                {k[5:]: v for k, v in arrays.items() if k.startswith("algo_")})
            for genome, fit, acc in zip(arrays["hof_genome"], arrays["hof_fitness"],
                                        arrays["hof_accuracy"], strict=True):
                ind = make_individual(genome)
                ind.fitness.values = (float(fit),)
                ind.accuracy = float(acc)
                self.hof.insert(ind)
            if "solver_genome" in arrays:
                self.solver = make_individual(arrays["solver_genome"])
                fitness, accuracy = arrays["solver_scores"]
                self.solver.fitness.values = (float(fitness),)
                self.solver.accuracy = float(accuracy)
            self.rng.bit_generator.state = meta["numpy_rng"]
            self.py_random.setstate(_random_state_from_json(meta["python_random"]))
            self.generation = int(meta["generation"])
            self.evaluations = int(meta["evaluations"])
            self.elapsed_before = float(meta["elapsed_s"])
            self.solved_at = meta["solved_at"]
            self.extend = bool(meta.get("extend", False))
            log_records = int(meta["log_records"])
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise RunFolderError(f"{path}: corrupt checkpoint ({type(exc).__name__}: {exc})") \
                from None
        self.saved_generation = self.generation
        for record in self.folder.trim_records(log_records):
            self.logbook.record(**record)
        if self.hof:
            candidate = self.candidate()
            self._candidate_key = candidate.tobytes()
            self._candidate_text = self.regenerate(candidate)
            self._best_key = self.best().tobytes()
            self.best_text = self.task.text if self.solver is not None else \
                self._candidate_text

    def finished(self) -> bool:
        if self.generation >= self.config.generations:
            return True
        return self.solved_at is not None and not self.extend


def read_checkpoint(folder: RunFolder, config: RunConfig
                    ) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The arrays and meta of `folder`'s checkpoint, checked against `config`.

    Returns None when there is none because the run died before writing its first
    one (log.jsonl holds at most generation 0): resuming it starts it over.

    Raises:
        RunFolderError: the checkpoint is missing, unreadable, or was written under a
            config that gives different results.
    """
    path = folder / CHECKPOINT
    if not path.exists():
        records = len(folder.read_records())
        if records <= 1:  # generation 0's checkpoint follows its record: none lost
            return None
        raise RunFolderError(f"{path}: checkpoint missing (log.jsonl has {records} "
                             "generations); cannot resume this run")
    arrays, meta = load_npz(path)
    if not isinstance(meta.get("generation"), int):
        raise RunFolderError(f"{path}: corrupt checkpoint (no generation number)")
    if meta.get("config_hash") != config.evolution_hash():
        raise RunFolderError(
            f"{path}: {folder / 'config.toml'} was changed in a way that changes results "
            "since this checkpoint was written (only generations, backend, workers, "
            "scheduler and checkpoint settings may change); start a new run instead")
    return arrays, meta


def _random_state_to_json(state) -> list:
    version, internal, gauss_next = state
    return [version, list(internal), gauss_next]


def _random_state_from_json(data) -> tuple:
    version, internal, gauss_next = data
    return (version, tuple(internal), gauss_next)


def evolve(config: RunConfig, folder: RunFolder | None = None, *, resume: bool = False,
           extend: bool = False, evaluator=None,
           on_record: Callable[[dict], None] | None = None) -> RunResult:
    """Evolve networks until one regenerates `config.text` or generations run out.

    Args:
        config: the run settings.
        folder: where to write the run files (None: keep everything in memory).
        resume: continue from `folder`'s checkpoint instead of starting afresh.
        extend: if the run is solved already (resuming it), keep evolving up to
            `config.generations` instead of stopping; its checkpoints remember it.
        evaluator: a callable `(P, D) -> (P, 2)`; default from the config's backend.
        on_record: called with each generation's log record (progress display).

    Returns:
        The final state, the logbook and the hall of fame.

    Raises:
        RunInterrupted: on SIGINT or SIGTERM, after the generation under way and a
            checkpoint were completed.
    """
    tune_allocator()
    loop = _Loop(config, folder)
    loop.start = time.perf_counter()
    owns_evaluator = evaluator is None
    with stop_requests() as stop:
        if resume:
            loop.load_checkpoint()
            loop.start = time.perf_counter()
        loop.extend = loop.extend or (extend and loop.solved_at is not None)
        if owns_evaluator:
            evaluator = make_evaluator(config, loop.problem)
        last_checkpoint = time.perf_counter()
        try:
            # ---- the loop: one generation at a time; signals are only looked at in between
            while not loop.finished() and not stop.requested:
                record = loop.step(evaluator)
                if on_record is not None:
                    on_record(record)
                due = (loop.generation % config.checkpoint_every == 0
                       or time.perf_counter() - last_checkpoint >= config.checkpoint_seconds)
                if folder is not None and due:
                    loop.save_checkpoint()
                    last_checkpoint = time.perf_counter()
        finally:
            if owns_evaluator:
                evaluator.close()
        # ---- the way out: always through a checkpoint of the last complete generation
        if folder is not None and loop.generation > loop.saved_generation:
            loop.save_checkpoint()
        if stop.requested and not loop.finished():
            raise RunInterrupted(loop.generation)
    best = loop.best()
    return RunResult(
        config=config, status="solved" if loop.solved_at is not None else "max_generations",
        generation=loop.generation,
        best_genome=np.array(best, dtype=np.float32), best_text=loop.best_text,
        best_fitness=float(best.fitness.values[0]),
        best_accuracy=best.accuracy / loop.task.n_predictions, solved_at=loop.solved_at,
        elapsed_s=loop.elapsed_before + loop.clock(), evaluations=loop.evaluations,
        logbook=loop.logbook, hall_of_fame=loop.hof, population=loop.algorithm.population)
