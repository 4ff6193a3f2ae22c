"""The built model opened in real QGIS (Debian's PyQGIS, offscreen, in a subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from twin.model import LAYERS
from twin.publish.qgis_project import GROUPS, PROJECT_NAME, write_project
from twin.publish.styles import alias

pytestmark = pytest.mark.qgis

SYSTEM_PYTHON = Path("/usr/bin/python3")
SCRIPT = Path(__file__).resolve().parent.parent / "qgis_scripts" / "check_model.py"


def _pyqgis_missing() -> str | None:
    if not SYSTEM_PYTHON.exists():
        return "/usr/bin/python3 is absent; install Debian's python3-qgis (make system-packages)"
    probe = subprocess.run([str(SYSTEM_PYTHON), "-c", "import qgis.core"], capture_output=True, check=False,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120)
    if probe.returncode != 0:
        return "PyQGIS is not installed for /usr/bin/python3; install Debian's python3-qgis (make system-packages)"
    return None


def qgis_sees(model: Path, png: Path, project: str = PROJECT_NAME) -> dict[str, Any]:
    """Run the PyQGIS script on `model` and return its JSON."""
    reason = _pyqgis_missing()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(png.parent)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(SYSTEM_PYTHON), str(SCRIPT), str(model), str(png), project], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON from QGIS (exit {done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert "exception" not in result, result["exception"]
    return result


@pytest.fixture(scope="module")
def seen(built_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What QGIS sees in a copy of the built model, moved to another folder."""
    folder = tmp_path_factory.mktemp("qgis") / "elsewhere"
    folder.mkdir()
    copy = folder / built_model.name
    shutil.copyfile(built_model, copy)
    return qgis_sees(copy, folder / "map.png")


def _expected_count(model: Path, layer: str) -> int:
    import pyogrio

    return int(pyogrio.read_info(model, layer=layer)["features"])


def test_every_layer_is_valid_with_crs_and_count(seen: dict[str, Any], built_model: Path) -> None:
    layers = seen["layers"]
    assert set(LAYERS) <= set(layers)
    for name, spec in LAYERS.items():
        info = layers[name]
        assert info["valid"], name
        assert info["features"] == _expected_count(built_model, name), name
        if spec.geometry_type is not None and info["features"]:
            assert info["crs"] == "EPSG:25832", name


def test_default_styles_are_applied(seen: dict[str, Any]) -> None:
    layers = seen["layers"]
    buildings = layers["buildings"]
    assert buildings["renderer"]["type"] == "categorizedSymbol"
    assert buildings["renderer"]["field"] == "fibre_status"
    assert {"connected", "reachable", "none"} <= set(buildings["renderer"]["classes"])
    assert "angeschlossen" in buildings["renderer"]["labels"]
    assert buildings["renderer3d"] == "vector"
    assert buildings["extrusion_field"] == "height_m"
    panoramas = layers["panoramas"]["renderer"]
    assert panoramas["type"] == "singleSymbol"
    assert panoramas["shape"] == "arrow"
    assert panoramas["angle_field"] == "heading_deg"
    tracks = layers["capture_tracks"]["renderer"]
    assert tracks["type"] == "categorizedSymbol"
    assert tracks["classes"] and all(len(day) == 10 for day in tracks["classes"])
    assert layers["capture_coverage"]["opacity"] < 1
    routes = layers["fibre_routes"]["renderer"]
    assert routes["type"] == "RuleRenderer"
    assert any("kind" in rule and "status" in rule for rule in routes["classes"])
    nodes = layers["fibre_nodes"]
    assert nodes["renderer"]["field"] == "kind"
    assert {"hub", "distribution", "site"} <= set(nodes["renderer"]["classes"])
    assert nodes["labels"]
    issues = layers["qa_issues"]["renderer"]
    assert issues["field"] == "severity"
    assert issues["labels"] == ["Fehler", "Warnung", "Hinweis"]


def test_field_aliases_come_from_the_model(seen: dict[str, Any]) -> None:
    aliases = seen["layers"]["buildings"]["aliases"]
    for field in LAYERS["buildings"].fields:
        assert aliases[field.name] == alias(field)
    assert aliases["height_m"] == "Höhe [m]"


def test_stored_project_loads_with_every_layer_valid(seen: dict[str, Any], built_model: Path) -> None:
    project = seen["project"]
    assert project["read"], project["error"]
    assert project["crs"] == "EPSG:25832"
    layers = project["layers"]
    assert len(layers) == len(LAYERS)
    assert all(info["valid"] for info in layers.values()), layers
    buildings = layers[LAYERS["buildings"].title]
    assert buildings["features"] == _expected_count(built_model, "buildings")
    assert buildings["renderer3d"] == "vector"
    assert buildings["source"].endswith(f"elsewhere/{built_model.name}|layername=buildings")
    assert project["groups"] == list(GROUPS)
    assert sorted(project["themes"]) == sorted(GROUPS)
    assert len(project["relations"]) == 2


def test_project_opens_on_the_city_and_renders_a_map(seen: dict[str, Any], built_model: Path) -> None:
    import pyogrio

    project = seen["project"]
    xmin, ymin, xmax, ymax = pyogrio.read_info(built_model, layer="buildings")["total_bounds"]
    exmin, eymin, exmax, eymax = project["extent"]
    assert exmin <= xmin and eymin <= ymin and exmax >= xmax and eymax >= ymax
    assert (exmax - exmin) < 2 * (xmax - xmin)
    png = Path(project["png"])
    assert png.stat().st_size > 10_000
    assert project["colours"] > 20


@pytest.mark.slow
def test_renamed_file_is_repointed_by_rewriting_its_project(built_model: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "kl_stadtmodell_kopie.gpkg"
    shutil.copyfile(built_model, renamed)
    before = qgis_sees(renamed, tmp_path / "before.png")
    assert not all(info["valid"] for info in before["project"]["layers"].values())
    write_project(renamed)
    after = qgis_sees(renamed, tmp_path / "after.png")
    assert all(info["valid"] for info in after["project"]["layers"].values())
    assert after["project"]["colours"] > 20
