"""Reading run folders back: the API behind `evonet runs`, `show`, `plot` and notebooks.

    run = evonet.load_run("runs/my-run")
    run.history["fitness_max"]     # numpy array, one value per generation
    run.records[-1]                # the last log.jsonl record, as a dict
    run.summary, run.config, run.sample()

Everything is read from the files the run wrote (see `runfolder`), never from a
live process, so a run can be inspected while it is still going. A folder that
is not a run, or is half-written, is described (`status`, `problem`) rather than
raising, so that one bad folder never hides the others in a listing.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, RunConfig
from .lock import pid_alive
from .runfolder import CONFIG, LOCK, RunFolder, RunFolderError

# Statuses written to summary.json by the runner, then the ones only a reader can tell.
FINISHED = ("solved", "max_generations", "interrupted", "failed")
RUNNING, UNFINISHED, HALF_WRITTEN, NOT_A_RUN = "running", "unfinished", "half-written", "not a run"

# The columns of the runs table, in order.
COLUMNS = ("name", "target", "status", "generations", "best_fitness", "best_accuracy",
           "solved_at", "wall_time_s", "evaluations")


class Run:
    """One run folder as read from disk.

    Attributes:
        path: the folder.
        config: the run's config, or None when config.toml is missing or invalid.
        records: every complete log.jsonl record, oldest first (read on first use:
            a finished run's table row needs only its summary, and logs grow long).
        summary: summary.json, or None while running (or after a crash).
        status: solved, max_generations, interrupted, failed (from summary.json);
            running (the lock is held by a live process: a resume keeps the previous
            summary.json until it ends); unfinished (no live lock and no summary: the
            process was killed); half-written (config.toml unreadable, or nothing
            logged yet); not a run (no config.toml).
        problem: why the folder is half-written, not a run or damaged, else None.
    """

    def __init__(self, path: Path, config: RunConfig | None,
                 records: list[dict[str, Any]] | None, summary: dict[str, Any] | None,
                 status: str, problem: str | None = None):
        self.path, self.config, self.summary = Path(path), config, summary
        self.status, self.problem = status, problem
        self._records = records

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, status={self.status!r})"

    @property
    def records(self) -> list[dict[str, Any]]:
        if self._records is None:
            self._records, problem = _read_records(RunFolder(self.path))
            self.problem = self.problem or problem
        return self._records

    def _finished(self, key: str) -> Any:
        """`key` of summary.json when the run has finished and the summary holds it."""
        if self.status in FINISHED and self.summary and self.summary.get(key) is not None:
            return self.summary[key]
        return None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_run(self) -> bool:
        """A folder with a valid config and at least one logged generation."""
        return self.config is not None and bool(self.records)

    @property
    def target(self) -> str | None:
        if self.config is not None:
            return self.config.text
        return (self.summary or {}).get("target")

    @cached_property
    def history(self) -> dict[str, np.ndarray]:
        """The log as one numpy array per field (see `columns`)."""
        return columns(self.records)

    # ------------------------------------------------------------------ headline figures
    # A finished run's summary.json holds them all; the log is read only for the rest.
    @property
    def generations(self) -> int | None:
        """The last generation logged (generations count from 0)."""
        if self._finished("generations") is not None:
            return self.summary["generations"]
        return int(self.records[-1]["gen"]) if self.records else None

    @property
    def best_fitness(self) -> float | None:
        if self._finished("best_fitness") is not None:
            return self.summary["best_fitness"]
        values = [r["fitness_max"] for r in self.records
                  if isinstance(r.get("fitness_max"), (int, float))]
        return max(values) if values else None

    @property
    def best_accuracy(self) -> float | None:
        """The accuracy of the best network so far (the one in best.npz): the last record's.
        Not the highest value logged: the fittest network is not always the most accurate."""
        if self._finished("best_accuracy") is not None:
            return self.summary["best_accuracy"]
        return self.records[-1].get("accuracy_best") if self.records else None

    @property
    def solved_at(self) -> int | None:
        if self.status in FINISHED and self.summary and "solved_at" in self.summary:
            return self.summary["solved_at"]
        return next((r["gen"] for r in self.records if r.get("solved")), None)

    @property
    def wall_time_s(self) -> float | None:
        if self._finished("wall_time_s") is not None:
            return self.summary["wall_time_s"]
        return self.records[-1].get("elapsed_s") if self.records else None

    @property
    def evaluations(self) -> int | None:
        if self._finished("evaluations") is not None:
            return self.summary["evaluations"]
        if not self.records:
            return None
        return int(sum(r.get("nevals") or 0 for r in self.records))

    def row(self) -> dict[str, Any]:
        """The runs-table row: `COLUMNS` plus the path and the problem, JSON-ready."""
        row = {name: getattr(self, name) for name in COLUMNS}
        return {**row, "path": str(self.path), "problem": self.problem}

    # ------------------------------------------------------------------ the network
    def sample(self, length: int | None = None, prime: str | None = None) -> str:
        """A fresh greedy regeneration from the run's best network (best.npz).

        Args:
            length: characters to generate (default: the target's length).
            prime: text fed in first (default: the target's first character).

        Raises:
            RunFolderError: no best.npz yet, or it is unreadable.
        """
        from .runner import sample_text

        return sample_text(self.path, length=length, prime=prime)


def columns(records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """One array per field over `records`, in field order of first appearance.

    Integer fields stay int64 and booleans bool while every record has them;
    otherwise numbers become float64 with NaN for missing or None values (the
    operator diagnostics are None at generation 0). Text fields are object arrays.
    """
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    arrays = {}
    for key in keys:
        values = [record.get(key) for record in records]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, bool) for v in present):
            dtype = bool if len(present) == len(values) else np.float64
        elif present and all(isinstance(v, int) for v in present) and \
                len(present) == len(values):
            dtype = np.int64
        elif all(isinstance(v, (int, float)) for v in present):
            dtype = np.float64
        else:
            arrays[key] = np.array(values, dtype=object)
            continue
        if dtype is np.float64:
            values = [math.nan if v is None else float(v) for v in values]
        arrays[key] = np.array(values, dtype=dtype)
    return arrays


def load_run(path: Path | str) -> Run:
    """Read a run folder.

    Args:
        path: the run folder.

    Returns:
        The run; for a half-written folder, one with `status` "half-written", the
        `problem` named, and whatever could be read.

    Raises:
        RunFolderError: `path` is not a folder or holds no config.toml.
    """
    run = read_folder(Path(path))
    if run.status == NOT_A_RUN:
        raise RunFolderError(f"{path}: {run.problem}")
    return run


def read_folder(path: Path) -> Run:
    """Like `load_run`, but describes a folder that is not a run instead of raising."""
    folder = RunFolder(path)
    if not path.is_dir():
        return Run(path, None, [], None, NOT_A_RUN, "not a folder")
    if not (folder / CONFIG).is_file():
        return Run(path, None, [], None, NOT_A_RUN, f"no {CONFIG}")
    try:
        summary = folder.read_summary()
    except OSError:  # unreadable (permissions): described by the status below, not raised
        summary = None
    try:
        config, problem = folder.read_config(), None
    except (ConfigError, RunFolderError, OSError, UnicodeDecodeError) as exc:
        config, problem = None, f"unreadable {CONFIG}: {exc}"
    alive = lock_alive(path / LOCK)
    if config is not None and not alive and summary is not None and \
            summary.get("status") in FINISHED:
        return Run(path, config, None, summary, summary["status"])  # the log read lazily
    records, damage = _read_records(folder)
    problem = problem or damage
    if config is None:
        status = HALF_WRITTEN
    elif alive:  # a resumed run still holds the previous ending's summary.json
        status = RUNNING
    elif not records:
        status = HALF_WRITTEN
        problem = problem or "no generation logged"
    else:  # every run holds the lock while it writes: no live lock, no summary, it died
        status, problem = UNFINISHED, "stopped without writing summary.json (killed?)"
    return Run(path, config, records, summary, status, problem)


def _read_records(folder: RunFolder) -> tuple[list[dict[str, Any]], str | None]:
    try:
        records = folder.read_records()
    except (OSError, UnicodeDecodeError) as exc:
        return [], f"unreadable log: {exc}"
    # A record that is valid JSON but not an object with a generation is damage, not data.
    good = []
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("gen"), int):
            return good, "damaged log line"
        good.append(record)
    return good, None


def lock_alive(path: Path) -> bool | None:
    """Whether the process named in a lock file is alive; None without a readable lock.

    The lock holds the owner's PID (the first whole number in the file, so that a
    plain PID and a small JSON object both work).
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    digits = "".join(c if c.isdigit() else " " for c in text).split()
    if not digits:
        return None
    pid = int(digits[0])
    # PID, not flock: probing the lock could make a run starting this instant fail.
    return pid_alive(pid) if pid > 0 else None


def list_runs(runs_dir: Path | str = "runs") -> list[Run]:
    """Every folder under `runs_dir`, read with `read_folder`, sorted by name.

    Folders that are not runs are included (status "not a run") so a listing can
    say so; keep `[r for r in list_runs(d) if r.is_run]` for the real ones. Files
    (the example configs) and hidden entries are skipped.

    Raises:
        RunFolderError: `runs_dir` is not a folder.
    """
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise RunFolderError(f"{runs_dir}: no such folder")
    try:
        entries = sorted(p for p in runs_dir.iterdir()
                         if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise RunFolderError(f"{runs_dir}: cannot list ({exc.strerror})") from None
    return [read_folder(p) for p in entries]
