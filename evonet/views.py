"""Text views of run folders: the `evonet runs` table and the `evonet show` report.

Pure functions from `runs.Run` objects to strings, so the CLI only prints them
and tests can read them without a terminal.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .runs import COLUMNS, Run

HEADERS = {"name": "name", "target": "target", "status": "status", "generations": "gens",
           "best_fitness": "best fitness", "best_accuracy": "best acc",
           "solved_at": "solved at", "wall_time_s": "wall time", "evaluations": "evals"}
NUMERIC = {"generations", "best_fitness", "best_accuracy", "solved_at", "wall_time_s",
           "evaluations"}


def shorten(text: str | None, width: int = 24) -> str:
    """`text` on one line (escapes shown) and at most `width` characters."""
    if text is None:
        return "-"
    flat = json.dumps(text, ensure_ascii=False)[1:-1]
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def sort_runs(runs: list[Run], key: str, reverse: bool = False) -> list[Run]:
    """`runs` ordered by a table column; runs without a value go last either way."""
    if key not in COLUMNS:
        raise ValueError(f"cannot sort by {key!r}; choose one of {', '.join(COLUMNS)}")

    def value(run: Run) -> Any:
        v = getattr(run, key)
        return "" if v is None else v

    present = [r for r in runs if getattr(r, key) is not None]
    missing = [r for r in runs if getattr(r, key) is None]
    return sorted(present, key=value, reverse=reverse) + missing


def _cell(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key == "target":
        return shorten(value)
    if key == "best_fitness":
        return f"{value:.4f}"
    if key == "best_accuracy":
        return f"{value:.3f}"
    if key == "wall_time_s":
        return f"{value:.1f} s"
    return str(value)


def runs_table(runs: list[Run]) -> str:
    """An aligned plain-text table, one line per run folder."""
    rows = [[_cell(key, getattr(run, key)) for key in COLUMNS] for run in runs]
    header = [HEADERS[key] for key in COLUMNS]
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(COLUMNS))]
    lines = []
    for cells in [header, *rows]:
        parts = [c.rjust(w) if key in NUMERIC else c.ljust(w)
                 for key, c, w in zip(COLUMNS, cells, widths)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def runs_json(runs: list[Run]) -> str:
    """The table as a JSON list of objects (plus path and problem), for scripts."""
    return json.dumps([run.row() for run in runs], indent=2, ensure_ascii=False)


# ---------------------------------------------------------------------------- show
LOG_COLUMNS = (("gen", "gen", "d"), ("fitness_max", "max", ".4f"), ("fitness_avg", "avg", ".4f"),
               ("fitness_min", "min", ".4f"), ("accuracy_best", "acc", ".3f"),
               ("sigma", "sigma", ".4g"), ("mutation_success", "mut ok", ".3f"),
               ("diversity", "diversity", ".3g"), ("evals_per_s", "evals/s", ".0f"))


def log_tail(records: list[dict[str, Any]], last: int = 10) -> str:
    """The last `last` log records as a table, with the best regeneration of each."""
    rows = [[_format(r.get(key), spec) for key, _, spec in LOG_COLUMNS] + [repr(r.get("best_text"))]
            for r in records[-last:]] if last > 0 else []
    header = [title for _, title, _ in LOG_COLUMNS] + ["best text"]
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) if i < len(LOG_COLUMNS) else c
                               for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
                     for cells in [header, *rows])


def _format(value: Any, spec: str) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return format(value, spec)


def show_report(run: Run, last: int = 10, sample: str | None = None,
                missing: str = "no best network yet") -> str:
    """Config, summary, the last generations of the log and a regeneration of the text."""
    parts = [f"run {run.name}  ({run.path})", f"status: {run.status}"
             + (f" ({run.problem})" if run.problem else "")]
    parts += ["", "config:"]
    parts += [f"  {line}" for line in run.config.to_toml().splitlines()[1:]] \
        if run.config else ["  -"]
    parts += ["", "summary:"]
    parts += [f"  {k}: {v!r}" if isinstance(v, str) else f"  {k}: {v}"
              for k, v in run.summary.items()] if run.summary else ["  - (no summary.json yet)"]
    parts += ["", f"log ({len(run.records)} generations; last {min(last, len(run.records))}):"]
    parts += [f"  {line}" for line in log_tail(run.records, last).splitlines()]
    parts += ["", "regenerated now from best.npz:",
              f"  {sample!r}" if sample is not None else f"  - ({missing})"]
    return "\n".join(parts)
