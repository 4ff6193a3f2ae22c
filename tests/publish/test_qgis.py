"""The built model opened in real QGIS (Debian's PyQGIS, offscreen, in a subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from twin.cli import main
from twin.model import LAYERS
from twin.publish.qgis_project import GROUPS, PROJECT_NAME, group_title, project_name
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
    assert project["groups"] == [group_title(group, "de") for group in GROUPS]
    assert sorted(project["themes"]) == sorted(project["groups"])
    assert len(project["relations"]) == 4


def test_the_project_relation_gives_a_buildings_panoramas(seen: dict[str, Any], built_model: Path) -> None:
    """QGIS follows the relation from a building to the panoramas that show it, and from a panorama back."""
    import pyogrio

    found = seen["project"]["building_panoramas"]
    assert found["valid"]
    views = pyogrio.read_dataframe(built_model, layer="panorama_views")
    counts = pyogrio.read_dataframe(built_model, layer="buildings", columns=["building_id", "panorama_count"],
                                    read_geometry=False)
    building = counts.loc[counts["panorama_count"] > 0, "building_id"].min()
    expected = sorted(views.loc[views["building_id"] == building, "panorama_id"])
    assert found["building_id"] == building
    assert len(expected) >= 2
    assert found["panorama_ids"] == expected
    assert found["panorama_count"] == len(expected)
    first = min(expected)
    assert found["buildings_of_first_panorama"] == sorted(views.loc[views["panorama_id"] == first, "building_id"])
    assert building in found["buildings_of_first_panorama"]


def test_campaign_share_columns_have_titles_and_the_legend_stays(seen: dict[str, Any], built_model: Path) -> None:
    import pyogrio

    columns = [c for c in pyogrio.read_info(built_model, layer="street_coverage")["fields"] if c.startswith("share_")]
    assert columns == ["share_2021", "share_2023"]
    street = seen["layers"]["street_coverage"]
    assert {c: street["aliases"][c] for c in columns} == {"share_2021": "Abdeckung 2021", "share_2023": "Abdeckung 2023"}
    assert street["renderer"]["type"] == "graduatedSymbol" and street["renderer"]["field"] == "covered_share"
    assert len(street["renderer"]["classes"]) == 4


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
    assert main(["qgis-project", "-q", str(renamed)]) == 0
    after = qgis_sees(renamed, tmp_path / "after.png")
    assert all(info["valid"] for info in after["project"]["layers"].values())
    assert after["project"]["colours"] > 20


@pytest.fixture(scope="module")
def generations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Today's model and the previous generation ``[output] keep`` left beside it, of two different runs.

    The first run is clipped to the western half of the city (and has no changes: nothing came
    before it); the second covers the whole city, so its buildings and changes differ.
    """
    import geopandas as gpd
    import shapely

    import twin
    from tests.conftest import RAW, pipeline_text

    folder = tmp_path_factory.mktemp("generations")
    boundary = gpd.read_file(RAW / "boundary.geojson")
    xmin, ymin, xmax, ymax = boundary.total_bounds
    west = boundary.assign(geometry=boundary.intersection(shapely.box(xmin, ymin, (xmin + xmax) / 2, ymax)))
    west.to_file(folder / "west.geojson", driver="GeoJSON")
    target = folder / "published" / "kaiserslautern_cim.gpkg"
    pipeline = folder / "pipeline.toml"
    for area in (folder / "west.geojson", RAW / "boundary.geojson"):
        city = f'name = "Kaiserslautern"\ncrs = "EPSG:25832"\nboundary = "{area}"'
        pipeline.write_text(pipeline_text(target, city=city), encoding="utf-8")  # [output] keep = 1: the default
        twin.run(twin.read_pipeline(pipeline), report=False)
    previous = target.with_name("kaiserslautern_cim.previous.gpkg")
    assert _expected_count(previous, "buildings") < _expected_count(target, "buildings")
    return target, previous


def _run_ids(model: Path) -> list[str]:
    import pyogrio

    return sorted(pyogrio.read_dataframe(model, layer="runs", read_geometry=False)["run_id"])


def _assert_project_reads(seen: dict[str, Any], model: Path) -> None:
    """Every layer of the stored project is valid and reads `model` itself: its source, counts and run ids."""
    project = seen["project"]
    assert project["read"], project["error"]
    layers = {info["source"].split("|layername=")[1]: info for info in project["layers"].values()}
    assert all(info["id"] == f"twin_layer_{name}" for name, info in layers.items())
    assert sorted(project["tree"]) == sorted(info["id"] for info in layers.values())  # every layer in the tree
    assert set(layers) == set(LAYERS)
    for name, info in layers.items():
        assert info["valid"], (name, info["source"])
        assert info["source"] == f"{model}|layername={name}", name
        assert info["features"] == _expected_count(model, name), name
    assert layers["runs"]["run_ids"] == _run_ids(model)


def _assert_changes_drawn(seen: dict[str, Any], *, empty: bool) -> None:
    own = seen["layers"]["changes"]
    info = next(i for i in seen["project"]["layers"].values() if i["id"] == "twin_layer_changes")
    for layer in (own, info):
        assert layer["valid"]
        assert layer["renderer"]["type"] == "categorizedSymbol"
        assert layer["renderer"]["field"] == "change"
        assert layer["renderer"]["classes"] == ["added", "removed", "modified"]
        assert layer["renderer"]["labels"] == ["neu", "entfernt", "geändert"]
    assert info["wkb"] == "Point"
    assert (info["features"] == 0) is empty
    assert (seen["project"]["changes_drawn"] == 0) is empty


def test_each_generation_copied_elsewhere_opens_its_own_model(generations: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    today, previous = generations
    folder = tmp_path / "archiv"
    folder.mkdir()
    copies = [Path(shutil.copy2(model, folder / model.name)) for model in (today, previous)]
    seen = [qgis_sees(copy, tmp_path / f"{copy.stem}.png") for copy in copies]
    for result, copy in zip(seen, copies, strict=True):
        _assert_project_reads(result, copy)
    assert len(_run_ids(copies[0])) == 2 and len(_run_ids(copies[1])) == 1
    assert seen[0]["project"]["layers"]["Läufe"]["run_ids"] != seen[1]["project"]["layers"]["Läufe"]["run_ids"]
    _assert_changes_drawn(seen[0], empty=False)
    _assert_changes_drawn(seen[1], empty=True)


def test_renamed_copies_open_their_own_model_once_pointed_at_themselves(generations: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    today, previous = generations
    folder = tmp_path / "stand"
    folder.mkdir()
    copies = [Path(shutil.copy2(today, folder / "stadtmodell_2026-12-06.gpkg")),
              Path(shutil.copy2(previous, folder / "stadtmodell_2026-12-05.gpkg"))]
    assert main(["qgis-project", "-q", *map(str, copies)]) == 0
    for copy in copies:
        _assert_project_reads(qgis_sees(copy, tmp_path / f"{copy.stem}.png"), copy)


def test_a_project_saved_back_by_qgis_is_pointed_at_a_renamed_copy(built_model: Path, tmp_path: Path) -> None:
    saved = tmp_path / built_model.name
    shutil.copyfile(built_model, saved)
    if _pyqgis_missing():
        pytest.skip(_pyqgis_missing() or "")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(SYSTEM_PYTHON), str(SCRIPT.with_name("save_project.py")), str(saved)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr[-2000:]
    assert json.loads(lines[-1]) == {"read": True, "valid": True, "written": True, "error": ""}
    renamed = tmp_path / "elsewhere" / "stadtmodell_kopie.gpkg"
    renamed.parent.mkdir()
    shutil.copyfile(saved, renamed)
    assert main(["qgis-project", "-q", str(renamed)]) == 0
    _assert_project_reads(qgis_sees(renamed, tmp_path / "renamed.png"), renamed)


def test_english_model_shows_english_titles_in_qgis(english_city: Path, tmp_path: Path) -> None:
    """Another city's model published with ``language = "en"``: QGIS shows its layers, groups and legends in English."""
    seen = qgis_sees(english_city, tmp_path / "map.png", project=project_name("en"))
    project = seen["project"]
    assert project["read"], project["error"]
    assert sorted(project["layers"]) == sorted(spec.title_en for spec in LAYERS.values())
    assert all(info["valid"] for info in project["layers"].values())
    assert project["groups"] == ["Quality", "Fibre", "Panoramas", "Buildings"]
    assert sorted(project["themes"]) == sorted(project["groups"])
    assert project["relations"] == ["Buildings of the panorama", "Connections of the building",
                                    "Connections of the node", "Panoramas of the building"]
    buildings = seen["layers"]["buildings"]
    assert buildings["renderer"]["labels"] == ["connected", "reachable", "planned", "not reachable", "not given"]
    assert buildings["aliases"]["height_m"] == "Height [m]"
    assert seen["layers"]["qa_issues"]["renderer"]["labels"] == ["error", "warning", "note"]
    assert seen["layers"]["fibre_nodes"]["renderer"]["labels"][0] == "hub"
