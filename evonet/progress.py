"""What `evonet run` and `resume` print while they evolve.

Three displays behind one interface (called with each generation's log record,
then `close()`): a live tqdm bar with the current best regeneration on a second
line when stdout is a terminal; plain periodic lines when it is not (log files,
pipes, CI), so that a captured output stays readable; nothing with `--quiet`.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any, Protocol, TextIO


class Progress(Protocol):
    def __call__(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def make_progress(quiet: bool = False, total: int | None = None,
                  stream: TextIO | None = None) -> Progress:
    """The display that suits `stream` (default stdout): bar, lines or nothing.

    Args:
        quiet: show nothing (the caller still prints the final result).
        total: the generation limit, for the bar's length.
        stream: where to write; a terminal gets the bar.
    """
    stream = stream or sys.stdout
    if quiet:
        return NullProgress()
    if _isatty(stream):
        return BarProgress(stream, total)
    return LineProgress(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or file-like without isatty
        return False


def terminal_size(stream: TextIO) -> tuple[int, int]:
    """(columns, rows) for the terminal `stream` writes to: the COLUMNS and LINES
    environment variables when set (as `shutil.get_terminal_size` reads them), else
    the terminal's own size. A pseudo-terminal whose size was never set (`script`,
    `docker -t`, some CI runners) reports 0 x 0: each zero becomes the classic 80
    columns or 24 rows."""
    try:
        columns, rows = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):  # not a file descriptor's terminal
        columns, rows = shutil.get_terminal_size((0, 0))
    return _env_size("COLUMNS") or columns or 80, _env_size("LINES") or rows or 24


def _env_size(name: str) -> int:
    try:
        return max(int(os.environ.get(name, "")), 0)
    except ValueError:
        return 0


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` characters, with an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…" if width > 0 else ""


class NullProgress:
    """`--quiet`: nothing while evolving."""

    def __call__(self, record: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress:
    """One line at generation 0, every `every` generations or `seconds`, and at the
    first solved generation (a solved run extended by `resume` stays solved: one line
    per generation from then on would flood a log)."""

    def __init__(self, stream: TextIO | None = None, every: int = 10, seconds: float = 2.0):
        self.stream = stream or sys.stdout
        self.every, self.seconds = every, seconds
        self._last = float("-inf")
        self._solved_shown = False

    def __call__(self, record: dict[str, Any]) -> None:
        now = time.monotonic()
        newly_solved = record["solved"] and not self._solved_shown
        due = (record["gen"] % self.every == 0 or newly_solved
               or now - self._last >= self.seconds)
        if not due:
            return
        self._last = now
        self._solved_shown = self._solved_shown or record["solved"]
        print(f"gen {record['gen']:>5}  best {record['fitness_max']:.4f}  "
              f"acc {record['accuracy_best']:.3f}  {record['evals_per_s']:>9.0f} evals/s  "
              f"{record['elapsed_s']:7.2f}s  {record['best_text']!r}",
              file=self.stream, flush=True)

    def close(self) -> None:
        pass


class BarProgress:
    """A tqdm bar (generation, best fitness, accuracy, evals/s, elapsed) and, on the line
    below it, the best network's current regeneration of the text.

    Both lines are redrawn at most every `interval` seconds (and on the last record):
    a fast run makes hundreds of generations a second, and a terminal redraw per
    generation would cost more than the evolution.
    """

    def __init__(self, stream: TextIO, total: int | None, interval: float = 0.1,
                 width: int | None = None):
        from tqdm import tqdm

        columns, rows = terminal_size(stream)
        self.width = width or columns
        self.interval = interval
        self._last = float("-inf")
        self._record: dict[str, Any] | None = None
        # total is the generation limit; generations count from 0, so gen g means g of total
        # are done once g = total.
        # nrows given: tqdm hides a bar whose position is not above the screen height
        # it detects, which is 0 on a terminal that reports no size.
        self.bar = tqdm(total=total, file=stream, ncols=self.width, nrows=rows, leave=True,
                        position=0, bar_format="gen {n}/{total} {bar} {desc}", mininterval=0,
                        dynamic_ncols=False)
        self.text = tqdm(total=0, file=stream, ncols=self.width, nrows=rows, leave=True,
                         position=1, bar_format="{desc}", mininterval=0, dynamic_ncols=False)

    def __call__(self, record: dict[str, Any]) -> None:
        self._record = record
        now = time.monotonic()
        if now - self._last >= self.interval or record["solved"]:
            self._last = now
            self._draw(record)

    def _draw(self, record: dict[str, Any]) -> None:
        self.bar.n = record["gen"]
        elapsed = self.bar.format_interval(record["elapsed_s"])
        self.bar.set_description_str(
            f"best {record['fitness_max']:.4f} acc {record['accuracy_best']:.3f} "
            f"{record['evals_per_s']:.0f} evals/s {elapsed}", refresh=False)
        self.bar.refresh()
        self.text.set_description_str(clip(f"best: {record['best_text']!r}", self.width - 1),
                                      refresh=True)

    def close(self) -> None:
        if self._record is not None:
            self._draw(self._record)  # the final state, even if it came within `interval`
        self.bar.close()
        self.text.close()
