"""The run folder: the files a run leaves behind, and the only code that writes them.

    config.toml      the fully resolved config (rerun with `evonet run --config`)
    log.jsonl        one JSON record per generation, flushed every generation
    best.npz         the best genome so far with its spec and vocabulary
    checkpoint.npz   everything needed to continue exactly (arrays and JSON, no pickle)
    run.log          human log
    summary.json     how the run ended
    lock             the PID of the one process writing the folder (see `lock.py`)

Files other than the log are replaced atomically (temporary file, fsync,
rename), so a crash leaves the previous version intact, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .network import NetworkSpec

CONFIG, LOG, BEST, CHECKPOINT, RUNLOG, SUMMARY, LOCK = (
    "config.toml", "log.jsonl", "best.npz", "checkpoint.npz", "run.log", "summary.json", "lock")


class RunFolderError(ValueError):
    """A run folder that is missing, unreadable or not a run."""


class RunFolderWriteError(RunFolderError):
    """A file of the run folder could not be written (full disk, no permission)."""


class RunLogHandler(logging.FileHandler):
    """run.log. It is a diary, not a result: when it cannot be written (a full disk)
    the run says so once on stderr and goes on, where logging's default would print a
    traceback for every record and the error on closing would hide how the run ended
    (summary.json, the final report). log.jsonl and the checkpoints, which are results,
    stop the run with their own one-line error instead."""

    failed = False

    def handleError(self, record: logging.LogRecord | None) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):  # a bad record (say, wrong %-arguments): only it
            if record is not None:
                super().handleError(record)
            return
        if self.failed:
            return
        self.failed = True
        reason = getattr(exc, "strerror", None) or exc
        print(f"evonet: warning: cannot write {self.baseFilename}: {reason}; run.log "
              "stops here, the run goes on", file=sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def flush(self) -> None:
        try:
            super().flush()
        except OSError:
            self.handleError(None)

    def close(self) -> None:
        try:
            super().close()
        except OSError:  # the stream's own flush on closing
            self.handleError(None)


def default_name(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:24].strip("-") or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}"


@contextlib.contextmanager
def _writing(path: Path):
    """Turn an OSError while writing `path` (full disk, no permission) into one clear line."""
    try:
        yield
    except OSError as exc:
        raise RunFolderWriteError(f"cannot write {path}: {exc.strerror or exc}") from None


def _file_mode() -> int:
    """The mode `open()` would give a new file: mkstemp's are private (0600), and run
    folders are meant to be shared. Read once: changing the umask is process-wide."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def atomic_write(path: Path, write) -> None:
    """Write through `write(file)` into a temporary file, fsync it, rename it over `path`.

    A crash, a kill or a full disk at any moment leaves either the old file or the
    new one, never a torn one. Failures raise RunFolderError naming `path`.
    """
    with _writing(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# A fixed zip timestamp: the same arrays give the same bytes (best.npz of a resumed run
# is byte-identical to the uninterrupted one's; np.savez stamps the current time).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _write_npz(handle, payload: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for key, value in payload.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def save_npz(path: Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """Atomically save arrays plus a JSON `meta` string (loadable with allow_pickle=False)."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload["meta"] = np.array(json.dumps(meta))
    atomic_write(path, lambda handle: _write_npz(handle, payload))


def load_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and the JSON meta of an npz written by `save_npz`, never unpickling anything."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
        if not isinstance(meta, dict):
            raise ValueError("meta is not a JSON object")
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
        if name is not None and (not name or name in (".", "..") or "/" in name
                                 or "\\" in name or name.startswith(".")):
            raise RunFolderError(f"--name must be a plain folder name inside the runs folder "
                                 f"(got {name!r})")
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
        try:
            folder.write_config(config)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)  # nothing half-written left behind
            raise
        return folder

    def remove_temporaries(self) -> None:
        """Delete the temporary files of atomic writes cut short by a kill (only while
        holding the folder's lock: otherwise they may be another writer's)."""
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------------ config
    def write_config(self, config: RunConfig) -> None:
        atomic_write(self / CONFIG, lambda h: h.write(config.to_toml().encode("utf-8")))

    def read_config(self) -> RunConfig:
        path = self / CONFIG
        if not path.is_file():
            raise RunFolderError(f"{self.path} is not a run folder (no {CONFIG})")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"cannot read {path}: {exc}") from None
        return RunConfig.from_toml(text, source=str(path))

    # ------------------------------------------------------------------ log.jsonl
    def append_record(self, record: dict[str, Any]) -> None:
        """Append one record and flush it (a kill mid-write leaves a torn last line,
        which readers skip and resume trims)."""
        line = json.dumps(record, allow_nan=False) + "\n"
        with _writing(self / LOG), open(self / LOG, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()

    def sync_records(self) -> None:
        """fsync log.jsonl: called before each checkpoint, so that after an OS crash or a
        power cut the log still holds every record the checkpoint counts."""
        path = self / LOG
        if not path.exists():
            return
        with _writing(path):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _complete_lines(self) -> list[bytes]:
        """The lines of log.jsonl up to the first torn or unparsable one, newline included."""
        path = self / LOG
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RunFolderError(f"cannot read {path}: {exc.strerror or exc}") from None
        lines = []
        for line in data.splitlines(keepends=True):
            try:
                if not line.endswith(b"\n"):
                    break
                json.loads(line)
            except ValueError:  # JSONDecodeError and UnicodeDecodeError
                break
            lines.append(line)
        return lines

    def read_records(self) -> list[dict[str, Any]]:
        """Every complete record of log.jsonl (a torn last line is skipped)."""
        return [json.loads(line) for line in self._complete_lines()]

    def trim_records(self, count: int) -> list[dict[str, Any]]:
        """Keep the first `count` records of log.jsonl byte for byte and drop the rest
        (lines written after the checkpoint being resumed, or a torn last line).

        Returns the records kept. Raises RunFolderError if fewer than `count` are there.
        """
        lines = self._complete_lines()
        if len(lines) < count:
            raise RunFolderError(f"{self / LOG}: {len(lines)} complete records, but the "
                                 f"checkpoint was written after {count}")
        path, kept = self / LOG, b"".join(lines[:count])
        if path.exists() and path.stat().st_size != len(kept):
            atomic_write(path, lambda handle: handle.write(kept))
        return [json.loads(line) for line in lines[:count]]

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
        with _writing(self / RUNLOG):
            handler = RunLogHandler(self / RUNLOG, encoding="utf-8")
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(processName)s %(levelname)s %(message)s"))
        return handler
