"""CityJSON LoD1 export: valid against the official 2.0.2 schemas, loads in cjio, closed outward solids."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from jsonschema import Draft7Validator
from referencing import Registry, Resource

from tests.conftest import ROOT
from twin.cli import main
from twin.publish.cityjson import cityjson_document, write_cityjson

#: The official CityJSON 2.0.2 schemas (CC0 1.0), kept with the tests (tests/data/README.md).
SCHEMAS = ROOT / "tests" / "data" / "cityjson-schemas-2.0.2"
CRS = "EPSG:25832"
X0, Y0 = 410700.0, 5477600.0


def _frame() -> gpd.GeoDataFrame:
    courtyard = shapely.Polygon(
        [(X0, Y0), (X0 + 30, Y0), (X0 + 30, Y0 + 20), (X0, Y0 + 20)],
        [[(X0 + 10, Y0 + 5), (X0 + 20, Y0 + 5), (X0 + 20, Y0 + 15), (X0 + 10, Y0 + 15)]],
    )
    neighbour = shapely.box(X0 + 30, Y0, X0 + 40, Y0 + 10)  # shares a wall with the courtyard block
    two_parts = shapely.MultiPolygon([shapely.box(X0 + 50, Y0, X0 + 55, Y0 + 5), shapely.box(X0 + 60, Y0, X0 + 66, Y0 + 4)])
    l_shape = shapely.Polygon([(X0, Y0 + 30), (X0 + 12.345, Y0 + 30), (X0 + 12.345, Y0 + 35), (X0 + 5, Y0 + 35),
                               (X0 + 5, Y0 + 41.5), (X0, Y0 + 41.5)])
    clockwise = shapely.Polygon(list(shapely.box(X0 + 70, Y0, X0 + 75, Y0 + 5).exterior.coords)[::-1])
    return gpd.GeoDataFrame(
        {"building_id": ["DERPLI01", "DERPLI02", "way/7", "relation/9", "Schloß-1"],
         "function_code": ["1100", "2463", "3012", None, "3034"],
         "function_label": ["Gemischt genutztes Gebäude mit Wohnen", "Garage", "Rathaus", "unbekannt", "Museum"],
         "height_m": [15.5, 3.0, 18.0, 7.25, 9.0],
         "height_source": ["measured", "default", "source", "storeys", "default"],
         "storeys": [5, None, None, 2, None],
         "source": ["alkis", "alkis", "osm", "osm", "generic"]},
        geometry=[courtyard, neighbour, two_parts, l_shape, clockwise], crs=CRS,
    )


def _validator() -> Draft7Validator:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(schema)
        resources.append((schema["$id"], resource))
    registry = Registry().with_resources(resources)
    main_schema = json.loads((SCHEMAS / "cityjson.schema.json").read_text(encoding="utf-8"))
    return Draft7Validator(main_schema, registry=registry)


def _solids(document: dict[str, Any]) -> list[tuple[str, list[list[list[int]]]]]:
    """(id, shell) for every solid; a shell is a list of surfaces, a surface a list of rings."""
    found = []
    for oid, obj in document["CityObjects"].items():
        for geometry in obj.get("geometry", []):
            assert geometry["type"] == "Solid"
            found.extend((obj.get("parents", [oid])[0], shell) for shell in geometry["boundaries"])
    return found


def _signed_volume(vertices: np.ndarray, shell: list[list[list[int]]]) -> float:
    """Volume by the divergence theorem over fan triangles of every ring (holes subtract by orientation)."""
    total = 0.0
    for surface in shell:
        for ring in surface:
            p = vertices[ring]
            a, b, c = p[0], p[1:-1], p[2:]
            total += float(np.einsum("ij,ij->i", np.broadcast_to(a, b.shape), np.cross(b, c)).sum()) / 6.0
    return total


def test_schema_valid_and_solids_closed_outward(tmp_path: Path) -> None:
    frame = _frame()
    document = cityjson_document(frame)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, errors[0].message
    assert document["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/25832"
    assert all(isinstance(v, int) for vertex in document["vertices"] for v in vertex)
    scale = np.array(document["transform"]["scale"])
    vertices = np.array(document["vertices"]) * scale + np.array(document["transform"]["translate"])
    assert len({tuple(v) for v in document["vertices"]}) == len(document["vertices"]), "duplicate vertices"
    solids = _solids(document)
    assert len(solids) == 6  # two parts of way/7
    expected = dict(zip(frame["building_id"], frame.area * frame["height_m"], strict=True))
    volumes: Counter[str] = Counter()
    for oid, shell in solids:
        edges = Counter()
        for surface in shell:
            for ring in surface:
                assert len(set(ring)) == len(ring) >= 3
                edges.update(zip(ring, ring[1:] + ring[:1], strict=True))
        for (a, b), count in edges.items():
            assert count == 1 and edges[(b, a)] == 1, f"{oid}: edge {a}-{b} not closed"
        volume = _signed_volume(vertices, shell)
        assert volume > 0, f"{oid}: inward-facing solid"
        volumes[oid] += volume
    for oid, volume in volumes.items():
        assert volume == pytest.approx(expected[oid], rel=1e-5)
    courtyard = document["CityObjects"]["DERPLI01"]
    assert courtyard["attributes"] == {
        "function": "1100", "function_label": "Gemischt genutztes Gebäude mit Wohnen", "height_m": 15.5,
        "height_source": "measured", "source": "alkis", "storeysAboveGround": 5, "measuredHeight": 15.5,
    }
    assert document["CityObjects"]["way/7"]["children"] == ["way/7-part1", "way/7-part2"]
    assert document["CityObjects"]["DERPLI01"]["geometry"][0]["lod"] == "1"


def test_base_height_lifts_every_vertex() -> None:
    document = cityjson_document(_frame(), base_height_m=240.0)
    z = np.array(document["vertices"])[:, 2] * document["transform"]["scale"][2]
    assert z.min() == pytest.approx(240.0)
    assert z.max() == pytest.approx(240.0 + 18.0)


@pytest.mark.slow
def test_cli_export_loads_in_cjio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "cim.gpkg"
    _frame().to_file(model, layer="buildings", engine="pyogrio")
    target = tmp_path / "buildings.city.json"
    assert main(["export", "cityjson", str(model), str(target)]) == 0
    assert "5 buildings" in capsys.readouterr().out
    document = json.loads(target.read_text(encoding="utf-8"))
    assert not list(_validator().iter_errors(document))
    assert "Schloß-1" in document["CityObjects"]
    cjio = Path(sys.executable).parent / "cjio"
    result = subprocess.run([str(cjio), str(target), "info"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Building (5)" in result.stdout and "BuildingPart (2)" in result.stdout and "EPSG = 25832" in result.stdout
    before = target.read_bytes()
    assert main(["export", "cityjson", str(model), str(target)]) == 2
    assert "already exists; add --overwrite" in capsys.readouterr().err
    assert target.read_bytes() == before


def test_missing_buildings_layer_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(X0, Y0)], crs=CRS).to_file(model, layer="points")
    assert main(["export", "cityjson", str(model), str(tmp_path / "b.city.json")]) == 2
    assert "other.gpkg: has no readable buildings layer" in capsys.readouterr().err
    assert not (tmp_path / "b.city.json").exists()


def test_writes_atomically(tmp_path: Path) -> None:
    model = tmp_path / "cim.gpkg"
    _frame().to_file(model, layer="buildings", engine="pyogrio")
    target = tmp_path / "b.city.json"
    assert write_cityjson(model, target) == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_model_without_buildings_exports_a_valid_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A model whose city has no buildings (an internal error before): an empty, schema-valid CityJSON file."""
    model = tmp_path / "cim.gpkg"
    _frame().iloc[:0].to_file(model, layer="buildings", engine="pyogrio")
    target = tmp_path / "buildings.city.json"
    assert main(["export", "cityjson", str(model), str(target)]) == 0
    assert "0 buildings" in capsys.readouterr().out
    document = json.loads(target.read_text(encoding="utf-8"))
    assert not list(_validator().iter_errors(document))
    assert document["CityObjects"] == {} and document["vertices"] == []
    assert document["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/25832"
