"""The fitness figure: valid images of the requested size, readable labels, no torn files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from matplotlib.image import imread  # noqa: E402

from evonet.config import RunConfig  # noqa: E402
from evonet.plots import INSTALL_HINT, plot_runs, save_plot  # noqa: E402
from evonet.runs import Run  # noqa: E402


def synthetic_run(name: str, text: str = "hello world", generations: int = 30,
                  solved_at: int | None = None, seed: int = 0) -> Run:
    """A run as load_run would return it, with made-up curves (no evolution needed)."""
    rng = np.random.default_rng(seed)
    records = []
    best = -3.0
    for gen in range(generations + 1):
        best += abs(rng.normal(0.05, 0.02))
        records.append({
            "gen": gen, "nevals": 16, "fitness_max": best, "fitness_avg": best - 0.3,
            "fitness_min": best - 0.8, "fitness_std": 0.2,
            "accuracy_best": min(1.0, gen / generations), "solved": gen == solved_at,
            "best_text": text[: gen % len(text)], "sigma": 0.1 * 0.98 ** gen,
            "mutation_success": None if gen == 0 else float(rng.uniform(0, 0.5)),
            "elapsed_s": gen * 0.01, "evals_per_s": 1600.0})
    return Run(Path(name), RunConfig(text=text), records, None, "max_generations")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a fully decoded PNG: decoding fails on a torn or invalid file."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(path)
    assert pixels.std() > 0  # something was drawn
    return pixels.shape[1], pixels.shape[0]


@pytest.mark.parametrize("count", [1, 3])
def test_png_of_the_requested_pixel_size(tmp_path, count):
    runs = [synthetic_run(f"run-{i}", seed=i) for i in range(count)]
    path = save_plot(runs, tmp_path / "curves.png", size=(8.0, 5.0), dpi=50)
    assert png_size(path) == (400, 250)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary left over


def test_figure_names_every_run_the_units_and_the_target():
    runs = [synthetic_run("small-pop", solved_at=20), synthetic_run("big-pop", seed=1)]
    fig = plot_runs(runs)
    legend_texts = {t.get_text() for legend in fig.legends for t in legend.get_texts()}
    assert {"small-pop", "big-pop"} <= legend_texts
    labels = " ".join(ax.get_ylabel() + ax.get_xlabel() for ax in fig.axes)
    assert "generation" in labels and "nats" in labels and "sigma" in labels
    assert "accuracy" in labels and "mutation success" in labels
    assert "hello world" in fig.get_suptitle()


def test_curves_hold_the_logged_values_with_gaps_for_missing_diagnostics():
    run = synthetic_run("one")
    fig = plot_runs([run])
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    ydata = [np.asarray(line.get_ydata(), dtype=float) for line in lines]
    expected = run.history["mutation_success"]
    matches = [y for y in ydata if len(y) == len(expected)
               and np.array_equal(np.isnan(y), np.isnan(expected))
               and np.allclose(y[1:], expected[1:])]
    assert matches and np.isnan(matches[0][0])
    assert any(np.allclose(y, run.history["fitness_max"]) for y in ydata
               if len(y) == len(run.records))


def test_several_targets_are_all_in_the_title():
    fig = plot_runs([synthetic_run("a", text="first text"), synthetic_run("b", text="second")])
    title = fig.get_suptitle()
    assert "first text" in title and "second" in title


def test_nothing_to_plot_is_refused_and_nothing_written(tmp_path):
    empty = Run(Path("empty"), RunConfig(), [], None, "half-written")
    with pytest.raises(ValueError, match="no generations"):
        save_plot([empty], tmp_path / "x.png")
    with pytest.raises(ValueError, match="image format"):
        save_plot([synthetic_run("a")], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="does not exist"):
        save_plot([synthetic_run("a")], tmp_path / "missing" / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_matplotlib_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import raises ImportError
    with pytest.raises(ImportError) as info:
        plot_runs([synthetic_run("a")])
    assert str(info.value) == INSTALL_HINT
