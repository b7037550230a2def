"""The generation loop: ask the algorithm, evaluate, tell, record, checkpoint.

    algorithm.ask()  ->  evaluate the invalid individuals  ->  algorithm.tell()
      -> hall of fame, statistics, greedy regeneration of the best  ->  log.jsonl
      -> best.npz when the best improves, checkpoint.npz when due  ->  stop when solved

All randomness lives in this process: one `numpy.random.Generator` (operators,
initialisation) and Python's `random` (DEAP's selection), both seeded from
`config.seed` and both saved in checkpoints, so a resumed run continues exactly.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from deap import tools

from .algorithms import make_algorithm
from .config import RunConfig
from .evaluation import make_evaluator
from .fitness import Problem
from .individuals import genome_matrix, make_individual
from .network import NetworkSpec, generate
from .runfolder import CHECKPOINT, RunFolder, RunFolderError, load_npz, save_npz
from .text import Task

log = logging.getLogger("evonet")

# Record fields that measure time: everything else in log.jsonl is reproducible.
TIMING_FIELDS = ("elapsed_s", "evals_per_s", "eval_s")


class RunInterrupted(Exception):
    """Raised after a checkpoint was written because the user interrupted the run."""

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


def diversity(genomes: np.ndarray) -> float:
    """Mean L2 distance of the genomes to their centroid."""
    return float(np.linalg.norm(genomes - genomes.mean(axis=0), axis=1).mean())


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
        self.best_text = ""
        self._best_key: bytes | None = None

    # ------------------------------------------------------------------ one generation
    def step(self, evaluator) -> dict[str, Any]:
        gen_start = time.perf_counter()
        self.generation += 1
        # DEAP draws from the module-level `random`: give it this run's state for the
        # generation, and keep that state here for checkpoints.
        random.setstate(self.py_random.getstate())
        individuals = self.algorithm.ask()
        self.py_random.setstate(random.getstate())

        invalid = [ind for ind in individuals if not ind.fitness.valid]
        eval_start = time.perf_counter()
        scores = evaluator(genome_matrix(invalid)) if invalid else np.zeros((0, 2))
        eval_s = time.perf_counter() - eval_start
        for ind, (fit, correct) in zip(invalid, scores):
            ind.fitness.values = (float(fit),)
            ind.accuracy = float(correct)
        self.evaluations += len(invalid)

        diagnostics = self.algorithm.tell(individuals)
        self.hof.update(individuals)
        best = self.hof[0]
        key = best.tobytes()
        improved = key != self._best_key
        if improved:  # regenerating costs T single-network steps: only when the best changes
            self._best_key = key
            indices = generate(self.spec, best, self.task.indices[0], len(self.task.text))
            self.best_text = self.task.decode(indices)
        solved = self.best_text == self.task.text
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
            "diversity": diversity(genome_matrix(individuals)),
            **diagnostics,
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

    # ------------------------------------------------------------------ checkpoints
    def clock(self) -> float:
        return time.perf_counter() - self.start

    def save_checkpoint(self) -> None:
        arrays = {f"algo_{k}": v for k, v in self.algorithm.state().items()}
        hof = list(self.hof)
        arrays["hof_genome"] = genome_matrix(hof)
        arrays["hof_fitness"] = np.array([h.fitness.values[0] for h in hof])
        arrays["hof_accuracy"] = np.array([h.accuracy for h in hof], dtype=np.float64)
        meta = {
            "generation": self.generation, "evaluations": self.evaluations,
            "elapsed_s": self.elapsed_before + self.clock(), "solved_at": self.solved_at,
            "log_records": len(self.logbook), "config_hash": self.config.evolution_hash(),
            "numpy_rng": self.rng.bit_generator.state,
            "python_random": _random_state_to_json(self.py_random.getstate()),
        }
        save_npz(self.folder / CHECKPOINT, arrays, meta)

    def load_checkpoint(self) -> None:
        arrays, meta = load_npz(self.folder / CHECKPOINT)
        if meta.get("config_hash") != self.config.evolution_hash():
            raise RunFolderError(
                f"{self.folder / CHECKPOINT}: the config was changed in a way that changes "
                "results since this checkpoint was written; start a new run instead")
        self.algorithm.load_state({k[5:]: v for k, v in arrays.items() if k.startswith("algo_")})
        for genome, fit, acc in zip(arrays["hof_genome"], arrays["hof_fitness"],
                                    arrays["hof_accuracy"]):
            ind = make_individual(genome)
            ind.fitness.values = (float(fit),)
            ind.accuracy = float(acc)
            self.hof.insert(ind)
        self.rng.bit_generator.state = meta["numpy_rng"]
        self.py_random.setstate(_random_state_from_json(meta["python_random"]))
        self.generation = meta["generation"]
        self.evaluations = meta["evaluations"]
        self.elapsed_before = meta["elapsed_s"]
        self.solved_at = meta["solved_at"]
        records = self.folder.read_records()[: meta["log_records"]]
        if len(records) < meta["log_records"]:
            raise RunFolderError(f"{self.folder / 'log.jsonl'}: shorter than its checkpoint")
        self.folder.rewrite_records(records)
        for record in records:
            self.logbook.record(**record)
        if self.hof:
            best = self.hof[0]
            self._best_key = best.tobytes()
            indices = generate(self.spec, best, self.task.indices[0], len(self.task.text))
            self.best_text = self.task.decode(indices)


def _random_state_to_json(state) -> list:
    version, internal, gauss_next = state
    return [version, list(internal), gauss_next]


def _random_state_from_json(data) -> tuple:
    version, internal, gauss_next = data
    return (version, tuple(internal), gauss_next)


def evolve(config: RunConfig, folder: RunFolder | None = None, *, resume: bool = False,
           evaluator=None, on_record: Callable[[dict], None] | None = None) -> RunResult:
    """Evolve networks until one regenerates `config.text` or generations run out.

    Args:
        config: the run settings.
        folder: where to write the run files (None: keep everything in memory).
        resume: continue from `folder`'s checkpoint instead of starting afresh.
        evaluator: a callable `(P, D) -> (P, 2)`; default from the config's backend.
        on_record: called with each generation's log record (progress display).

    Returns:
        The final state, the logbook and the hall of fame.

    Raises:
        RunInterrupted: after writing a checkpoint, on Ctrl-C.
    """
    loop = _Loop(config, folder)
    loop.start = time.perf_counter()
    if resume:
        loop.load_checkpoint()
        loop.start = time.perf_counter()
    owns_evaluator = evaluator is None
    if owns_evaluator:
        evaluator = make_evaluator(config, loop.problem)
    last_checkpoint = time.perf_counter()
    status = "max_generations"
    try:
        while loop.solved_at is None and loop.generation < config.generations:
            record = loop.step(evaluator)
            if on_record is not None:
                on_record(record)
            due = (loop.generation % config.checkpoint_every == 0
                   or time.perf_counter() - last_checkpoint >= config.checkpoint_seconds)
            if folder is not None and due:
                loop.save_checkpoint()
                last_checkpoint = time.perf_counter()
        if loop.solved_at is not None:
            status = "solved"
    except KeyboardInterrupt:
        if folder is not None and loop.generation >= 0:
            loop.save_checkpoint()
        raise RunInterrupted(loop.generation) from None
    finally:
        if owns_evaluator:
            evaluator.close()
    if folder is not None:
        loop.save_checkpoint()
    best = loop.hof[0]
    return RunResult(
        config=config, status=status, generation=loop.generation,
        best_genome=np.array(best, dtype=np.float32), best_text=loop.best_text,
        best_fitness=float(best.fitness.values[0]),
        best_accuracy=best.accuracy / loop.task.n_predictions, solved_at=loop.solved_at,
        elapsed_s=loop.elapsed_before + loop.clock(), evaluations=loop.evaluations,
        logbook=loop.logbook, hall_of_fame=loop.hof, population=loop.algorithm.population)
