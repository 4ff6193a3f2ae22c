"""Default styles in layer_styles, as QGIS looks them up."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from twin.model import LAYERS
from twin.publish.geopackage import write_geopackage
from twin.publish.styles import STYLE_NAME, alias, style_qml

CRS = "EPSG:25832"


@pytest.fixture
def small_model(tmp_path: Path) -> Path:
    """A tiny model written by the writer: three buildings, two tracks on two days, one drop."""
    buildings = gpd.GeoDataFrame(
        {"building_id": ["B1", "B2", "B3"], "height_m": [9.0, 12.5, 3.0],
         "fibre_status": ["connected", "reachable", "none"]},
        geometry=[box(410000, 5477000, 410010, 5477010), box(410020, 5477000, 410030, 5477010),
                  box(410040, 5477000, 410050, 5477010)], crs=CRS)
    tracks = gpd.GeoDataFrame(
        {"sequence_id": ["s1", "s2"],
         "started_at": pd.to_datetime(["2023-05-16T08:00:00Z", "2021-06-10T09:00:00Z"])},
        geometry=[LineString([(410000, 5476990), (410050, 5476990)]),
                  LineString([(410000, 5476980), (410050, 5476980)])], crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": ["N1"], "kind": ["site"], "building_id": ["B1"]},
                             geometry=gpd.points_from_xy([410005], [5477005]), crs=CRS)
    connections = gpd.GeoDataFrame({"building_id": ["B1"], "node_id": ["N1"], "length_m": [1.0]},
                                   geometry=[LineString([(410005, 5477005), (410005, 5477001)])], crs=CRS)
    path = tmp_path / "small.gpkg"
    write_geopackage(path, {"buildings": buildings, "capture_tracks": tracks, "fibre_nodes": nodes,
                            "fibre_connections": connections}, crs=CRS,
                     lineage={"run_id": "R1", "software_version": "9.9", "inputs": {"a.shp": "ab" * 32}},
                     published_name="stadt.gpkg")
    return path


def test_one_default_style_per_spatial_layer_matching_qgis_lookup(small_model: Path) -> None:
    with sqlite3.connect(small_model) as con:
        rows = con.execute("SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                           "useAsDefault, styleQML FROM layer_styles").fetchall()
        geometry_columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        registered = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
    con.close()
    spatial = [name for name, spec in LAYERS.items() if spec.geometry_type is not None]
    assert sorted(row[2] for row in rows) == sorted(spatial)
    for catalog, schema, table, column, name, default, qml in rows:
        assert schema == ""
        assert catalog == ""
        assert column == geometry_columns[table] == "geom"
        assert name == STYLE_NAME
        assert default == 1
        assert ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2") is not None
    assert registered == ("attributes",)


def test_buildings_style_has_fibre_classes_and_3d_extrusion_by_height() -> None:
    root = ET.fromstring(style_qml("buildings").split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("attr") == "fibre_status"
    values = [c.get("value") for c in renderer.iter("category")]
    assert set(LAYERS["buildings"].field("fibre_status").values) <= set(values)
    renderer3d = root.find("renderer-3d")
    assert renderer3d is not None and renderer3d.find("symbol").get("type") == "polygon"  # type: ignore[union-attr]
    extrusion = [o for o in renderer3d.iter("Option") if o.get("name") == "extrusionHeight"]
    assert [c.get("value") for c in extrusion[0] if c.get("name") == "field"] == ["height_m"]


@pytest.mark.parametrize("layer", [n for n, s in LAYERS.items() if s.geometry_type is not None])
def test_aliases_are_the_model_titles(layer: str) -> None:
    root = ET.fromstring(style_qml(layer).split("\n", 1)[1])
    aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
    assert aliases == {f.name: alias(f) for f in LAYERS[layer].fields}


def test_capture_track_classes_are_the_capture_days(small_model: Path) -> None:
    with sqlite3.connect(small_model) as con:
        (qml,) = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'capture_tracks'").fetchone()
    con.close()
    root = ET.fromstring(qml.split("\n", 1)[1])
    assert [c.get("value") for c in root.iter("category")] == ["2021-06-10", "2023-05-16"]
    symbols = root.find("renderer-v2/symbols")
    assert symbols is not None and len(symbols) == 2
    colours = {o.get("value") for o in symbols.iter("Option") if o.get("name") == "line_color"}
    assert len(colours) == 2


def test_styles_are_rewritten_not_duplicated(small_model: Path) -> None:
    from twin.publish.geopackage import finalise

    finalise(small_model, published_name="stadt.gpkg")
    with sqlite3.connect(small_model) as con:
        (count,) = con.execute("SELECT count(*) FROM layer_styles").fetchone()
    con.close()
    assert count == sum(1 for s in LAYERS.values() if s.geometry_type is not None)
