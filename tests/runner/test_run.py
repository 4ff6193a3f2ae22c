"""The whole pipeline from the TOML to the published GeoPackage, read back with pyogrio and fiona."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import fiona
import pyogrio
import pytest

from twin.model import LAYERS

SPATIAL = [name for name, spec in LAYERS.items() if spec.geometry_type is not None]
WITH_DATA = ["buildings", "panoramas", "capture_tracks", "capture_coverage", "fibre_routes", "fibre_nodes",
             "fibre_connections", "qa_issues", "runs"]


def test_every_layer_is_written(built_model: Path) -> None:
    assert {str(name) for name, _ in pyogrio.list_layers(built_model)} >= set(LAYERS)


@pytest.mark.parametrize("layer", SPATIAL)
def test_spatial_layers_are_in_the_city_crs_with_rtree(built_model: Path, layer: str) -> None:
    info = pyogrio.read_info(built_model, layer=layer)
    assert info["crs"] == "EPSG:25832"
    with sqlite3.connect(built_model) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert f"rtree_{layer}_geom" in tables


@pytest.mark.parametrize("layer", WITH_DATA)
def test_layers_with_sample_data_are_not_empty(built_model: Path, layer: str) -> None:
    assert pyogrio.read_info(built_model, layer=layer)["features"] > 0


@pytest.mark.parametrize("layer", list(LAYERS))
def test_field_names_and_types_follow_the_model(built_model: Path, layer: str) -> None:
    ogr_type = {"string": "str", "json": "str", "date": "str", "int32": "int32", "int64": "int64",
                "float64": "float", "datetime": "datetime", "bool": "bool"}
    with fiona.open(built_model, layer=layer) as src:
        properties = dict(src.schema["properties"])
        geometry = src.schema["geometry"]
    spec = LAYERS[layer].with_columns(properties)  # with the family columns written (street_coverage: share_2021)
    assert list(properties) == spec.columns
    for field in spec.fields:
        assert properties[field.name].split(":")[0] == ogr_type[field.dtype], field.name
    expected_geometry = {"PointZ": "3D Point", "Geometry": "Unknown", None: "None"}.get(spec.geometry_type,
                                                                                      spec.geometry_type)
    assert geometry == expected_geometry


def test_buildings_are_valid_and_unique(built_model: Path) -> None:
    frame = pyogrio.read_dataframe(built_model, layer="buildings", use_arrow=True)
    assert frame.is_valid.all()
    assert not frame.is_empty.any()
    assert frame["building_id"].is_unique
    assert frame["height_m"].notna().all()
    assert frame["height_source"].notna().all()


def test_umlauts_survive_from_cp1252_shapefile(built_model: Path) -> None:
    frame = pyogrio.read_dataframe(built_model, layer="buildings", columns=["street", "source_attributes"],
                                   read_geometry=False)
    text = " ".join(frame["street"].dropna()) + " ".join(frame["source_attributes"])
    assert "straße" in text
    assert "Ã" not in text


def test_repairs_are_recorded(built_model: Path) -> None:
    issues = pyogrio.read_dataframe(built_model, layer="qa_issues", use_arrow=True)
    checks = set(issues["check"])
    assert "geometry_repaired" in checks
    assert "duplicate_geometry" in checks or "duplicate_id" in checks


def test_sample_hub_is_in_the_town_hall(built_model: Path) -> None:
    nodes = pyogrio.read_dataframe(built_model, layer="fibre_nodes", use_arrow=True)
    buildings = pyogrio.read_dataframe(built_model, layer="buildings", use_arrow=True)
    hub = nodes[nodes["kind"] == "hub"].iloc[0]
    hall = buildings.set_index("building_id").loc[hub["building_id"]]
    assert hall["function_code"] == "3012"


def test_geopackage_version_is_1_2(built_model: Path) -> None:
    with sqlite3.connect(built_model) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_panorama_views_are_where_panorama_count_comes_from_and_the_view_settings_are_recorded(built_model: Path) -> None:
    views = pyogrio.read_dataframe(built_model, layer="panorama_views")
    buildings = pyogrio.read_dataframe(built_model, layer="buildings", read_geometry=False)
    panoramas = pyogrio.read_dataframe(built_model, layer="panoramas", read_geometry=False)
    assert list(views.columns) == ["panorama_id", "building_id", "distance_m", "bearing_deg"]
    per_building = views.groupby("building_id").size()
    counts = buildings.set_index("building_id")["panorama_count"]
    assert len(views) == counts.sum() > 0
    assert per_building.reindex(counts.index, fill_value=0).tolist() == counts.tolist()
    assert set(views["panorama_id"]) <= set(panoramas["panorama_id"])
    assert not views.duplicated(["panorama_id", "building_id"]).any()
    assert views["distance_m"].between(0, 30).all()
    bearing = views["bearing_deg"].dropna()
    assert ((bearing >= 0) & (bearing < 360)).all() and len(bearing) == (views["distance_m"] > 0).sum()
    counts_json = json.loads(pyogrio.read_dataframe(built_model, layer="runs")["counts"].iloc[-1])
    assert counts_json["settings"] == {"view_distance_m": 30.0, "view_fov_deg": 360.0}
    assert counts_json["panorama_views"] == len(views)


def test_without_a_districts_layer_every_building_has_an_empty_district(built_model: Path) -> None:
    buildings = pyogrio.read_dataframe(built_model, layer="buildings", read_geometry=False)
    assert len(buildings) > 0
    assert buildings["district"].isna().all()


def test_a_buildings_panoramas_are_looked_up_by_index(built_model: Path) -> None:
    with sqlite3.connect(built_model) as con:
        plans = [" ".join(str(part) for part in row) for key in ("building_id", "panorama_id") for row in con.execute(
            f'EXPLAIN QUERY PLAN SELECT * FROM panorama_views WHERE "{key}" = ?', ("x",))]
    con.close()
    assert all("USING INDEX panorama_views_" in plan for plan in plans), plans
