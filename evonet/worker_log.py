"""Log records of worker processes, sent back with their results and logged here, in order.

A worker keeps the records it logs on the `evonet` logger (made picklable) and
returns them with each block's scores; the main process hands them to its own
handlers (run.log, console), block by block, so they arrive whole, in a fixed
order, and under the worker's process name.

Why not a queue shared by all workers (multiprocessing-logging)? Its pipe is
guarded by one lock shared across processes: a worker SIGKILLed while writing a
record leaves it held, and then every other process that logs, including the
main one, blocks on it forever (seen here as runs that hung at exit). Workers
must be killable at any instant (`process_pool.py`), so each one sends its
records only through its own result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("evonet")


class RecordKeeper(logging.Handler):
    """Keeps records, made picklable, until `take` hands them over."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


def keep_worker_records(level: int) -> RecordKeeper:
    """In a pool worker, for its whole life: the `evonet` logger keeps its records (at
    `level` and above) instead of writing to the handlers inherited from the parent."""
    keeper = RecordKeeper()
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.addHandler(keeper)
    log.setLevel(level)
    log.propagate = False
    return keeper


def with_records(level: int, func: Callable[..., Any], *args) -> tuple[Any, list]:
    """In a worker shared with others (dask): `func(*args)` and the `evonet` records it
    logged at `level` or above; the worker's logging is left as it was."""
    keeper = RecordKeeper()
    previous = log.level
    log.setLevel(level)  # a dask worker's root logger says WARNING
    log.addHandler(keeper)
    try:
        return func(*args), keeper.records
    finally:
        log.removeHandler(keeper)
        log.setLevel(previous)


def replay(records: list[logging.LogRecord]) -> None:
    """Hand records logged in a worker to this process's `evonet` handlers."""
    for record in records:
        if log.isEnabledFor(record.levelno):
            log.handle(record)
