"""Execute every notebook top to bottom with smoke parameters injected after its parameters cell."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SMOKE_PARAMETERS = {
    "01_build_model.ipynb": "SMOKE = True",
    "02_train.ipynb": "ARCH = 'fast'\nEPOCHS = 1\nTRAIN_SUBSET = 2000\nAUGMENT = True\nREGISTER = False\n"
                      "SWEEP_EPOCHS = 1\nSWEEP_TRAIN_SUBSET = 500\nSWEEP_TEST_SUBSET = 200\n"
                      "SWEEP_SEEDS = [0]",  # 2 trials in CI (the notebook's own sweep has 4)
    "03_evaluate.ipynb": "SMOKE = True",
}


def inject_parameters(notebook, source: str) -> None:
    """Insert a cell with the overrides right after the cell tagged 'parameters'."""
    for index, cell in enumerate(notebook.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
            return
    raise ValueError("notebook has no cell tagged 'parameters'")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMOKE_PARAMETERS))
def test_notebook_runs_with_smoke_parameters(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    inject_parameters(notebook, SMOKE_PARAMETERS[name])
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == []
    images = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
    assert images, f"{name} drew no plots"


def test_every_notebook_has_smoke_parameters():
    names = {path.name for path in NOTEBOOKS.glob("0[1-3]_*.ipynb")}
    assert names == set(SMOKE_PARAMETERS)
