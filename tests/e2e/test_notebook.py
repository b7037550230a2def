"""notebooks/inspect_runs.ipynb executes headless, top to bottom, against runs made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from evonet import runner
from evonet.config import RunConfig

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "inspect_runs.ipynb"


def outputs_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
def test_notebook_runs_without_error_on_small_runs(tmp_path, monkeypatch):
    runs_dir = tmp_path / "runs"
    for name, population in (("pop16", 16), ("pop32", 32)):
        config = RunConfig(text="hello hello", population=population, generations=60,
                           hidden=8, backend="serial", seed=1)
        assert runner.run_new(config, runs_dir, name=name, quiet=True) == 0
    (runs_dir / "half").mkdir()  # a folder the notebook must skip, not trip on
    (runs_dir / "half" / "config.toml").write_text(RunConfig().to_toml())

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"
    monkeypatch.setenv("EVONET_RUNS_DIR", str(runs_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    text = outputs_text(notebook)
    assert "2 runs with logged generations" in text
    assert "pop16" in text and "pop32" in text and "half-written" in text
    images = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if "image/png" in output.get("data", {})]
    assert len(images) == 3  # the two-panel comparison, work spent, diversity
