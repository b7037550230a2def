"""evonet: evolve recurrent neural networks that regenerate a target text.

For scripts and notebooks: `load_run(path)` reads a run folder back,
`list_runs(runs_dir)` reads every folder under one (see `evonet.runs`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evonet")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "list_runs", "load_run"]


def __getattr__(name: str):
    # Imported on first use (PEP 562), not with the package: the `evonet` command
    # starts inside `evonet.console`, whose Ctrl-C handling must be in place before
    # numpy and the rest load.
    if name in ("list_runs", "load_run"):
        from . import runs

        return getattr(runs, name)
    raise AttributeError(f"module 'evonet' has no attribute {name!r}")
