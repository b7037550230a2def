"""The run folder: the files a run leaves behind, and the only code that writes them.

    config.toml      the fully resolved config (rerun with `evonet run --config`)
    log.jsonl        one JSON record per generation, flushed every generation
    best.npz         the best genome so far with its spec and vocabulary
    checkpoint.npz   everything needed to continue exactly (arrays and JSON, no pickle)
    run.log          human log
    summary.json     how the run ended

Files other than the log are replaced atomically (temporary file, fsync,
rename), so a crash leaves the previous version intact, never a torn one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .network import NetworkSpec

CONFIG, LOG, BEST, CHECKPOINT, RUNLOG, SUMMARY = (
    "config.toml", "log.jsonl", "best.npz", "checkpoint.npz", "run.log", "summary.json")


class RunFolderError(ValueError):
    """A run folder that is missing, unreadable or not a run."""


def default_name(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:24].strip("-") or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}"


def atomic_write(path: Path, write) -> None:
    """Write through `write(file)` into a temporary file, fsync it, rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_npz(path: Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """Atomically save arrays plus a JSON `meta` string (loadable with allow_pickle=False)."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload["meta"] = np.array(json.dumps(meta))
    atomic_write(path, lambda handle: np.savez(handle, **payload))


def load_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and the JSON meta of an npz written by `save_npz`, never unpickling anything."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: file not found") from None
    except Exception as exc:  # zip, npy or JSON damage: one clear line naming the file
        raise RunFolderError(f"{path}: unreadable or corrupt ({type(exc).__name__}: {exc})") \
            from None
    return arrays, meta


class RunFolder:
    """Paths and writers of one run folder."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @classmethod
    def create(cls, runs_dir: Path | str, name: str | None, config: RunConfig) -> RunFolder:
        """Make a new run folder holding `config.toml`; never reuses an existing one."""
        runs_dir = Path(runs_dir)
        try:
            runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunFolderError(f"cannot create runs folder {runs_dir}: {exc.strerror}") from None
        base = name or default_name(config.text)
        path, suffix = runs_dir / base, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                if name:
                    raise RunFolderError(
                        f"run folder {path} exists already (resume it with: evonet resume {path})"
                    ) from None
                suffix += 1
                path = runs_dir / f"{base}-{suffix}"
            except OSError as exc:
                raise RunFolderError(f"cannot create run folder {path}: {exc.strerror}") from None
        folder = cls(path)
        folder.write_config(config)
        return folder

    # ------------------------------------------------------------------ config
    def write_config(self, config: RunConfig) -> None:
        atomic_write(self / CONFIG, lambda h: h.write(config.to_toml().encode("utf-8")))

    def read_config(self) -> RunConfig:
        path = self / CONFIG
        if not path.is_file():
            raise RunFolderError(f"{self.path} is not a run folder (no {CONFIG})")
        return RunConfig.from_toml(path.read_text(encoding="utf-8"), source=str(path))

    # ------------------------------------------------------------------ log.jsonl
    def append_record(self, record: dict[str, Any]) -> None:
        with open(self / LOG, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, allow_nan=False) + "\n")
            handle.flush()

    def read_records(self) -> list[dict[str, Any]]:
        """Every complete record of log.jsonl (a torn last line is skipped)."""
        path = self / LOG
        if not path.is_file():
            return []
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return records

    def rewrite_records(self, records: list[dict[str, Any]]) -> None:
        """Replace log.jsonl with `records` (drops lines written after a checkpoint)."""
        text = "".join(json.dumps(r, allow_nan=False) + "\n" for r in records)
        atomic_write(self / LOG, lambda h: h.write(text.encode("utf-8")))

    # ------------------------------------------------------------------ best.npz
    def save_best(self, genome: np.ndarray, spec: NetworkSpec, text: str, vocab: str,
                  generation: int, fitness: float, accuracy: float) -> None:
        meta = {"spec": spec.to_dict(), "text": text, "vocab": vocab,
                "generation": generation, "fitness": fitness, "accuracy": accuracy}
        save_npz(self / BEST, {"genome": np.asarray(genome, dtype=np.float32)}, meta)

    def load_best(self) -> tuple[np.ndarray, NetworkSpec, dict[str, Any]]:
        arrays, meta = load_npz(self / BEST)
        return arrays["genome"], NetworkSpec.from_dict(meta["spec"]), meta

    # ------------------------------------------------------------------ summary.json
    def write_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps(summary, indent=2, allow_nan=False) + "\n"
        atomic_write(self / SUMMARY, lambda h: h.write(text.encode("utf-8")))

    def read_summary(self) -> dict[str, Any] | None:
        path = self / SUMMARY
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None

    # ------------------------------------------------------------------ run.log
    def log_handler(self) -> logging.Handler:
        handler = logging.FileHandler(self / RUNLOG, encoding="utf-8")
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(processName)s %(levelname)s %(message)s"))
        return handler
