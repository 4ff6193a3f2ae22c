"""The worked-example notebooks run top to bottom on a freshly built model and are stored without outputs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT, pipeline_text

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"building_stock.ipynb", "capture_coverage.ipynb", "fibre_network.ipynb"}


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A jupyter data folder whose ``python3`` kernel is this interpreter (the venv's python)."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (twin)", "language": "python",
    }), encoding="utf-8")
    return folder


def execute(path: Path, cwd: Path, env: dict[str, str | None], kernel_path: Path,
            monkeypatch: pytest.MonkeyPatch, *, cells: int | None = None) -> nbformat.NotebookNode:
    """Run the notebook at `path` (or its first `cells` cells) in a fresh kernel; any cell error fails."""
    book = nbformat.read(path, as_version=4)
    if cells is not None:
        book.cells = book.cells[:cells]
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    client = NotebookClient(book, timeout=120, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return book


def test_every_notebook_is_here() -> None:
    assert {p.name for p in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for number, cell in enumerate(book.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}, cell {number}: has outputs; run `make strip-notebooks`"
            assert cell.execution_count is None, f"{path.name}, cell {number}: has an execution count"
    assert book.metadata.kernelspec.name == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_built_model(path: Path, built_model: Path, kernel_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.perf_counter()
    book = execute(path, path.parent, {"TWIN_MODEL": str(built_model)}, kernel_path, monkeypatch)
    seconds = time.perf_counter() - started
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert stderr == [], f"{path.name} wrote to stderr (a warning?): {stderr}"
    assert str(built_model) in json.dumps(book.cells[1].outputs), "the notebook did not open TWIN_MODEL"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} draws no figure"
    assert seconds < 40, f"{path.name} took {seconds:.0f} s"


@pytest.mark.slow
def test_first_cell_builds_the_sample_when_twin_model_is_unset(tmp_path: Path, kernel_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh clone: no TWIN_MODEL, no data/processed; the notebook finds the project and builds the model."""
    clone = tmp_path / "clone"
    (clone / "pipelines").mkdir(parents=True)
    (clone / "notebooks").mkdir()
    target = clone / "data" / "processed" / "kaiserslautern_cim.gpkg"
    (clone / "pipelines" / "kaiserslautern.toml").write_text(pipeline_text(target), encoding="utf-8")
    notebook = clone / "notebooks" / "fibre_network.ipynb"
    notebook.write_bytes((ROOT / "notebooks" / "fibre_network.ipynb").read_bytes())
    assert not target.exists()
    book = execute(notebook, clone / "notebooks", {"TWIN_MODEL": None}, kernel_path, monkeypatch, cells=2)
    assert target.is_file()
    shown = json.dumps(book.cells[1].outputs)
    assert "kaiserslautern_cim.gpkg" in shown
    assert "last run" in shown
