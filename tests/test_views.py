"""Text views: the runs table, its sorting and JSON, and the `show` report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evonet.config import RunConfig
from evonet.runs import COLUMNS, Run
from evonet.views import log_tail, runs_json, runs_table, shorten, show_report, sort_runs


def run(name: str, gens: int | None, fitness: float | None, status: str = "solved",
        text: str = "hello") -> Run:
    records = [] if gens is None else [
        {"gen": g, "nevals": 10, "fitness_max": (fitness or 0) - (gens - g), "solved": False,
         "accuracy_best": 0.5, "elapsed_s": g / 10, "best_text": text,
         "mutation_success": None if g == 0 else 0.25}
        for g in range(gens + 1)]
    config = None if status == "not a run" else RunConfig(text=text)
    return Run(Path("runs", name), config, records, None, status)


def test_table_has_a_header_and_one_aligned_line_per_run():
    runs = [run("alpha", 5, -1.5), run("beta", None, None, "half-written"),
            run("gamma", None, None, "not a run")]
    lines = runs_table(runs).splitlines()
    assert lines[0].split()[:3] == ["name", "target", "status"]
    assert [line.split()[0] for line in lines[1:]] == ["alpha", "beta", "gamma"]
    assert "half-written" in lines[2] and "not a run" in lines[3]
    alpha = lines[1].split()
    assert alpha[3:5] == ["5", "-1.5000"] and alpha[-1] == "60"  # 6 records of 10 evals
    # right-aligned numbers end in the same column as their header
    assert lines[0].index("evals") + len("evals") == len(lines[1])


def test_json_rows_hold_every_column_and_parse():
    rows = json.loads(runs_json([run("alpha", 3, -0.5), run("photos", None, None, "not a run")]))
    assert [set(COLUMNS) <= set(row) for row in rows] == [True, True]
    assert rows[0]["generations"] == 3 and rows[0]["best_fitness"] == -0.5
    assert rows[1]["status"] == "not a run" and rows[1]["best_fitness"] is None


fitness_values = st.one_of(st.none(), st.floats(-10, 0, allow_nan=False))


@settings(deadline=None)  # a shared, loaded machine: slowness is not a bug
@given(st.lists(fitness_values, max_size=8), st.booleans())
def test_sort_orders_by_the_column_with_missing_values_last(values, reverse):
    runs = [run(f"r{i}", None if v is None else 2, v) for i, v in enumerate(values)]
    ordered = sort_runs(runs, "best_fitness", reverse=reverse)
    assert sorted(r.name for r in ordered) == sorted(r.name for r in runs)
    present = [r.best_fitness for r in ordered if r.best_fitness is not None]
    assert present == sorted(present, reverse=reverse)
    first_missing = next((i for i, r in enumerate(ordered) if r.best_fitness is None), None)
    if first_missing is not None:
        assert all(r.best_fitness is None for r in ordered[first_missing:])


def test_sort_refuses_an_unknown_column():
    with pytest.raises(ValueError, match="cannot sort by 'speed'"):
        sort_runs([], "speed")


@settings(deadline=None)  # a shared, loaded machine: slowness is not a bug
@given(st.text(max_size=60), st.integers(min_value=2, max_value=40))
def test_shorten_gives_one_line_within_the_width(text, width):
    short = shorten(text, width)
    assert "\n" not in short and "\r" not in short and len(short) <= width
    if len(json.dumps(text, ensure_ascii=False)) - 2 <= width:
        assert json.loads(f'"{short}"') == text  # nothing lost when it fits


def test_log_tail_shows_the_last_records_and_dashes_for_missing_values():
    records = run("a", 20, -1.0).records
    lines = log_tail(records, last=3).splitlines()
    assert len(lines) == 4 and lines[0].split()[0] == "gen"
    assert [int(line.split()[0]) for line in lines[1:]] == [18, 19, 20]
    first = log_tail(records[:1], last=5).splitlines()[1].split()
    assert first[0] == "0" and "-" in first  # sigma and mutation success unknown


def test_show_report_has_config_summary_log_and_regeneration():
    shown = run("alpha", 4, -0.25, text="hi there")
    shown.summary = {"status": "solved", "wall_time_s": 1.5}
    report = show_report(shown, last=2, sample="hi there")
    assert 'text = "hi there"' in report and "population = " in report
    assert "wall_time_s: 1.5" in report
    assert "log (5 generations; last 2):" in report
    assert report.rstrip().endswith("'hi there'")
    missing = show_report(run("beta", None, None, "half-written"), sample=None)
    assert "no summary.json yet" in missing and "(no best network yet)" in missing
