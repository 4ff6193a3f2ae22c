"""3D city models (CityGML, CityJSON) where footprints are expected: a one-line refusal that says what to give."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from twin.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
CITYGML = DATA / "citygml" / "citygml4j-LOD2_Building_v100.gml"
CITYJSON = DATA / "cityjson" / "cjio-cube.json"
ADVICE = ("give the footprints of these buildings in [buildings] path (ALKIS Hausumringe, an OpenStreetMap extract, "
          "or a GeoPackage, GeoJSON or Shapefile of polygons); measured heights go in [buildings.heights] as a table "
          "of building id and height")


def _pipeline(tmp_path: Path, buildings: Path, fmt: str) -> Path:
    path = tmp_path / "city.toml"
    path.write_text(
        f'[city]\nname = "Karlsruhe"\ncrs = "EPSG:25832"\n\n[output]\npath = "{tmp_path / "out" / "cim.gpkg"}"\n\n'
        f'[buildings]\npath = "{buildings}"\nformat = "{fmt}"\ncrs = "EPSG:25832"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("fmt", ["generic", "alkis"])
@pytest.mark.parametrize(("model", "kind"), [(CITYGML, "CityGML"), (CITYJSON, "CityJSON")])
def test_city_model_as_buildings_is_refused_with_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, kind: str, fmt: str
) -> None:
    assert main(["run", "-q", str(_pipeline(tmp_path, model, fmt))]) == 2
    err = capsys.readouterr().err
    assert err == f"twin: error: {model.name}: is a {kind} city model (3D buildings), not a layer of footprints; {ADVICE}\n"
    assert not (tmp_path / "out" / "cim.gpkg").exists()


def test_gdal_reads_the_citygml_building_without_a_footprint() -> None:
    """Why it is refused: GDAL's GML driver gives citygml4j's one Building (its surfaces are in boundedBy) no geometry."""
    info = pyogrio.read_info(CITYGML, WRITE_GFS="NO")  # no .gfs schema file beside the shipped one
    assert (info["layer_name"], info["features"], info["geometry_type"]) == ("Building", 1, None)


def test_layer_without_geometry_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "gebaeude.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"building_id": ["a", "b"], "height": [9.0, 12.0]}), table, layer="gebaeude")
    assert main(["run", "-q", str(_pipeline(tmp_path, table, "generic"))]) == 2
    assert capsys.readouterr().err == (
        "twin: error: gebaeude.gpkg: has no geometry; give a layer of points, lines or polygons in [buildings]\n")


@pytest.mark.parametrize(("model", "kind"), [(CITYGML, "CityGML"), (CITYJSON, "CityJSON")])
def test_init_names_a_city_model_it_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, kind: str
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / model.name).write_bytes(model.read_bytes())
    assert main(["init", "--inputs", str(inputs), "--pipelines", str(tmp_path / "pipelines"), "Karlsruhe"]) == 2
    err = capsys.readouterr().err
    assert (f"{model.name}: skipped, a {kind} city model (3D buildings), not footprints; put the footprints of its "
            "buildings into the folder") in err
