"""evonet: evolve recurrent neural networks that regenerate a target text.

For scripts and notebooks: `load_run(path)` reads a run folder back,
`list_runs(runs_dir)` reads every folder under one (see `evonet.runs`).
"""

from importlib.metadata import PackageNotFoundError, version

from .runs import list_runs, load_run

try:
    __version__ = version("evonet")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "list_runs", "load_run"]
