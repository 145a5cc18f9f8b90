"""notebooks/backprop_tour.ipynb runs from top to bottom (on a small subset of the data), so it never
goes stale: every cell executes without error, and its own asserts hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "backprop_tour.ipynb"


@pytest.mark.slow
def test_the_backprop_tour_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIDL_NOTEBOOK_SAMPLES", "1000")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the notebook draws inline, as in Jupyter
    if not os.environ.get("MINIDL_NOTMNIST") and not (Path.home() / ".cache/minidl/notMNIST.npz").exists():
        pytest.skip("needs notMNIST.npz (MINIDL_NOTMNIST)")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "the optimiser's step == the step by hand: True" in outputs
    assert "dL/dkernel by hand == backward's: True" in outputs
    assert "test accuracy" in outputs
    images = sum(
        1 for cell in notebook.cells for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    )
    assert images >= 5  # the model, the history, the confusion matrix, the mistakes, the gradients
