"""Fitness curves of one or several runs, overlaid for comparing settings.

Top panel: the population's fitness band (min to max, mean as a line) and the
best network's accuracy on a second axis. Bottom panel: the mutation strength
sigma (log scale) and the fraction of mutated children that beat their parent
(the 1/5 success rule of evolution strategies reads straight off it). Each run
has one colour, named in the legend; line styles tell the quantities apart.

matplotlib is optional (the `plot` extra) and imported only here, through its
object-oriented API with the Agg canvas: no pyplot global state, no display.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .runfolder import atomic_write
from .runs import Run
from .views import shorten

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INSTALL_HINT = "plotting needs matplotlib: pip install 'evonet[plot]'"
FORMATS = ("png", "svg", "pdf")


def check_image_path(path: Path | str) -> Path:
    """`path` as a Path if an image can be written there, else ValueError in one line
    (before any drawing or evolving is spent on it)."""
    path = Path(path)
    if path.suffix.lower().lstrip(".") not in FORMATS:
        raise ValueError(f"{path}: unknown image format {path.suffix!r}; use .png, .svg or .pdf")
    if not path.parent.exists():
        raise ValueError(f"{path}: folder {path.parent} does not exist")
    if not path.parent.is_dir():
        raise ValueError(f"{path}: {path.parent} is a file, not a folder")
    return path


FITNESS_UNITS = {"loglik": "mean log-prob. per character (nats)",
                 "accuracy": "characters predicted exactly",
                 "mse": "minus mean squared error"}


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return Figure


def plot_runs(runs: list[Run], size: tuple[float, float] = (10.0, 7.0),
              dpi: float = 100.0) -> Figure:
    """A two-panel figure of `runs` (each with at least one logged generation).

    Args:
        runs: the runs to overlay.
        size: figure size in inches; the image is `size * dpi` pixels.
        dpi: pixels per inch.

    Raises:
        ImportError: matplotlib is missing (the message is an install hint).
        ValueError: no runs, or a run without logged generations.
    """
    if not runs:
        raise ValueError("nothing to plot: no runs given")
    for run in runs:
        if not run.records:
            raise ValueError(f"{run.path}: no generations logged yet, nothing to plot")
    fig = _figure_class()(figsize=size, dpi=dpi, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    top_acc, bottom_ok = top.twinx(), bottom.twinx()
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for run, colour in zip(runs, colours):
        h = run.history
        gen = h["gen"]
        top.fill_between(gen, h["fitness_min"], h["fitness_max"], color=colour, alpha=0.15,
                         linewidth=0)
        top.plot(gen, h["fitness_max"], color=colour, linewidth=1.5, label=run.name)
        top.plot(gen, h["fitness_avg"], color=colour, linewidth=1, linestyle=":")
        top_acc.plot(gen, h["accuracy_best"], color=colour, linewidth=1, linestyle="--")
        if "sigma" in h:
            bottom.plot(gen, h["sigma"], color=colour, linewidth=1.5)
        if "mutation_success" in h:
            bottom_ok.plot(gen, h["mutation_success"], color=colour, linewidth=1,
                           linestyle="--", alpha=0.8)
        if run.solved_at is not None:
            for axes in (top, bottom):
                axes.axvline(run.solved_at, color=colour, linewidth=0.8, alpha=0.6)

    fitness_names = {run.config.fitness for run in runs if run.config is not None}
    unit = FITNESS_UNITS.get(next(iter(fitness_names))) if len(fitness_names) == 1 else None
    top.set_ylabel(f"fitness: {unit}" if unit else "fitness (higher is better)")
    top_acc.set_ylabel("accuracy of the best (fraction)")
    top_acc.set_ylim(-0.02, 1.02)
    sigmas = np.concatenate([r.history["sigma"] for r in runs if "sigma" in r.history] or [[]])
    log_scale = bool(np.all(sigmas[np.isfinite(sigmas)] > 0))
    if log_scale:  # sigma adapts by factors: equal ratios read as equal steps
        bottom.set_yscale("log")
    bottom.set_ylabel("sigma, mean" + (" (log scale)" if log_scale else ""))
    bottom_ok.set_ylabel("mutation success (fraction)")
    bottom_ok.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("generation")
    from matplotlib.ticker import MaxNLocator

    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))  # no generation 2.5

    from matplotlib.lines import Line2D

    # Legends go under the panels, where they hide no curve: colours name the runs,
    # grey samples name the line styles.
    fig.legend(handles=[Line2D([], [], color=c, linewidth=2, label=run.name)
                        for run, c in zip(runs, colours)],
               title="run", loc="outside lower left", ncols=min(len(runs), 4),
               fontsize="small")
    styles = [("-", 1.5, "fitness max (band: min to max)"), (":", 1, "fitness mean"),
              ("--", 1, "accuracy (top) / mutation success (bottom)"),
              ("-", 0.8, "solved (vertical)")]
    fig.legend(handles=[Line2D([], [], color="grey", linestyle=ls, linewidth=w, label=label)
                        for ls, w, label in styles],
               loc="outside lower right", ncols=2, fontsize="small")
    fig.suptitle(_title(runs))
    return fig


def _title(runs: list[Run]) -> str:
    targets = list(dict.fromkeys(run.target for run in runs))
    if len(targets) == 1:
        return f"evolving an RNN to regenerate '{shorten(targets[0], 60)}'"
    return "targets: " + ", ".join(f"'{shorten(t, 20)}'" for t in targets[:3]) + \
        (", ..." if len(targets) > 3 else "")


def save_plot(runs: list[Run], path: Path | str, size: tuple[float, float] = (10.0, 7.0),
              dpi: float = 100.0) -> Path:
    """Draw `plot_runs(runs)` into `path` (png, svg or pdf, from its suffix), atomically.

    Raises:
        ImportError: matplotlib is missing (the message is an install hint).
        ValueError: an unknown suffix, a missing folder, or nothing to plot.
    """
    path = check_image_path(path)
    fmt = path.suffix.lower().lstrip(".")
    fig = plot_runs(runs, size=size, dpi=dpi)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    atomic_write(path, lambda handle: fig.savefig(handle, format=fmt, dpi=dpi))
    return path
