"""The worked-example notebooks run top to bottom on a freshly built model, draw readable maps and are stored
without outputs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT, pipeline_text
from twin.model import LAYERS

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"building_stock.ipynb", "capture_coverage.ipynb", "city_questions.ipynb", "fibre_network.ipynb"}


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
            monkeypatch: pytest.MonkeyPatch, *, cells: int | None = None,
            around: tuple[str, str] | None = None) -> nbformat.NotebookNode:
    """Run the notebook at `path` (or its first `cells` cells) in a fresh kernel; any cell error fails.

    `around` is code run before the notebook's cells and code run after them.
    """
    book = nbformat.read(path, as_version=4)
    if cells is not None:
        book.cells = book.cells[:cells]
    if around is not None:
        book.cells = [nbformat.v4.new_code_cell(around[0]), *book.cells, nbformat.v4.new_code_cell(around[1])]
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


#: Run after a notebook's own cells (its figures kept open): what each figure's axes show, as one JSON line.
#: A map is an axes that draws geometry collections (not a colour bar, not a chart of bars or lines).
DESCRIBE_FIGURES = """
import io, json
import matplotlib.pyplot as plt
from PIL import Image
ids = set(model.buildings["building_id"].dropna().astype(str)) | set(model.fibre_nodes["node_id"].dropna().astype(str))
found = []
for number in plt.get_fignums():
    figure = plt.figure(number)
    png = io.BytesIO()
    figure.savefig(png, format="png", bbox_inches="tight", dpi=100)
    size = Image.open(png).size
    bars = {id(p) for cax in figure.axes for p in getattr(cax, "_colorbar_info", {}).get("parents", [])}
    for ax in figure.axes:
        if hasattr(ax, "_colorbar") or not ax.collections:
            continue
        legend = ax.get_legend()
        found.append({
            "figure": number, "title": ax.get_title(), "size": size, "three_d": ax.name == "3d",
            "aspect": ax.get_aspect() if ax.name != "3d" else None,
            "scale_bar": any(type(a).__name__ == "ScaleBar" for a in ax.artists),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "colour_bar": id(ax) in bars,
            "ids_in_title": sorted(i for i in ids if i in ax.get_title()),
        })
print("FIGURES " + json.dumps(found))
"""

#: Codes of the model's coded fields that read differently from their German label: none may stand in a legend.
CODES = {code for layer in LAYERS.values() for f in layer.fields for code in f.values
         if f.legend_label(code, "de") != code}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_map_is_readable(path: Path, built_model: Path, kernel_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Each map: equal aspect, a scale bar, a legend or colour bar, German labels for codes, no strip, names in
    titles rather than ids."""
    book = execute(path, path.parent, {"TWIN_MODEL": str(built_model)}, kernel_path, monkeypatch,
                   around=("%config InlineBackend.close_figures = False", DESCRIBE_FIGURES))
    line = next(o.text for o in book.cells[-1].outputs if o.output_type == "stream" and o.text.startswith("FIGURES "))
    described = json.loads(line.removeprefix("FIGURES "))
    maps = [d for d in described if not d["three_d"]]
    assert maps, f"{path.name} draws no map"
    for d in described:
        where = f"{path.name}, figure {d['figure']} ({d['title']!r})"
        assert d["ids_in_title"] == [], f"{where}: the title names ids {d['ids_in_title']}, not names"
        if d["three_d"]:
            continue
        width, height = d["size"]
        assert min(width, height) >= 450 and max(width, height) <= 1600, f"{where}: {width}x{height} px"
        assert d["aspect"] == 1.0, f"{where}: aspect {d['aspect']}, not equal"
        assert d["scale_bar"], f"{where}: no scale bar"
        assert d["legend"] or d["colour_bar"], f"{where}: colours without a legend"
        assert not CODES & set(d["legend"]), f"{where}: codes in the legend {sorted(CODES & set(d['legend']))}"
