"""Features whose geometry GEOS cannot decode: repaired or dropped, recorded in qa_issues, and the run goes on."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RAW, PipelineFactory
from twin.cli import main
from twin.config import BuildingsConfig
from twin.errors import InputError
from twin.sources import generic, osm
from twin.sources.decoding import decode_geometries
from twin.transforms.buildings import clean_buildings

#: A closed way of one node twice, as in the real Kaiserslautern extract (way 186911831), beside a good one.
ONE_NODE_TWICE = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="twin tests">
  <node id="1" lat="49.4440" lon="7.7680"/><node id="2" lat="49.4440" lon="7.7690"/>
  <node id="3" lat="49.4446" lon="7.7690"/><node id="4" lat="49.4446" lon="7.7680"/>
  <node id="9" lat="49.4450" lon="7.7700"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="yes"/></way>
  <way id="186911831"><nd ref="9"/><nd ref="9"/><tag k="building" v="yes"/>
    <tag k="addr:street" v="Homburger Straße"/><tag k="addr:housenumber" v="37"/></way>
</osm>
"""


def test_osm_way_of_one_node_twice_is_dropped_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "clipped.osm"
    path.write_text(ONE_NODE_TWICE, encoding="utf-8")
    frame = osm.read(BuildingsConfig(path=path, format="osm"), target_crs="EPSG:25832")
    assert sorted(frame["building_id"]) == ["way/10", "way/186911831"]  # every row read, none lost unseen
    clean, issues = clean_buildings(frame)
    assert clean["building_id"].tolist() == ["way/10"]
    row = issues.loc[issues["check"] == "undecodable_geometry"].iloc[0]
    assert (row["layer"], row["feature_id"], row["severity"]) == ("buildings", "way/186911831", "warning")
    assert row["message"] == ("dropped: its geometry in the file cannot be decoded "
                              "(Invalid number of points in LinearRing found 2 - must be 0 or >= 3)")


def _line(coords: list[list[float]], **properties: object) -> dict[str, object]:
    return {"type": "Feature", "properties": properties, "geometry": {"type": "LineString", "coordinates": coords}}


def _with(path: Path, target: Path, *features: dict[str, object]) -> Path:
    collection = json.loads(path.read_text(encoding="utf-8"))
    collection["features"].extend(features)
    target.write_text(json.dumps(collection), encoding="utf-8")
    return target


def test_lines_of_one_point_in_routes_streets_and_boundary_do_not_stop_the_run(
    make_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    """GeoJSON lines of one position and rings of two: GDAL reads them, GEOS refuses them (exit 1 before)."""
    routes = _with(RAW / "fibre" / "routes.geojson", tmp_path / "routes.geojson",
                   _line([[7.7600, 49.4400]], route_id="R9001", kind="trench", status="planned"),
                   {"type": "Feature", "properties": {"route_id": "R9002", "kind": "duct", "status": "built"},
                    "geometry": {"type": "MultiLineString",
                                 "coordinates": [[[7.7601, 49.4401], [7.7611, 49.4401]], [[7.7620, 49.4401]]]}})
    streets = _with(RAW / "streets" / "streets.geojson", tmp_path / "streets.geojson",
                    _line([[7.7650, 49.4450]], street_id="S999999", name="Stummelweg"))
    boundary = _with(RAW / "boundary.geojson", tmp_path / "boundary.geojson",
                     {"type": "Feature", "properties": {"name": "Splitter"},
                      "geometry": {"type": "Polygon", "coordinates": [[[7.70, 49.40], [7.70, 49.40]]]}})
    pipeline = make_pipeline(
        city=f'name = "Kaiserslautern"\ncrs = "EPSG:25832"\nboundary = "{boundary}"',
        panoramas=f'path = "{RAW}/panoramas/recordings.csv"\nformat = "cyclomedia"\nstreets = "{streets}"',
        fibre=f'routes = "{routes}"\nnodes = "{RAW}/fibre/nodes.geojson"\nhub = "Rathaus"',
    )
    assert main(["run", "-q", str(pipeline)]) == 0
    output = tmp_path / "out" / "cim.gpkg"
    issues = pyogrio.read_dataframe(output, layer="qa_issues")
    found = issues.loc[issues["check"] == "undecodable_geometry"].set_index("feature_id")
    assert sorted(found.index) == ["2", "R9001", "R9002", "S999999"]
    assert (found.loc[["R9001", "R9002", "S999999"], "layer"].tolist()
            == ["fibre_routes", "fibre_routes", "street_coverage"])
    assert found.loc["2", "layer"] == "boundary"  # the second feature of the boundary file
    assert found.loc["R9001", "message"].startswith("dropped: ")
    assert found.loc["R9002", "message"].startswith("repaired: parts with too few points left out")
    routes_out = pyogrio.read_dataframe(output, layer="fibre_routes")
    assert "R9001" not in set(routes_out["route_id"])
    kept = routes_out.loc[routes_out["route_id"].str.startswith("R9002")]
    assert kept.length.sum() == pytest.approx(72.5, abs=1.0)  # the part of two points, about 0.001° of longitude
    assert "S999999" not in set(pyogrio.read_dataframe(output, layer="street_coverage")["street_id"])


def _polygon_wkb(rings: list[list[tuple[float, float]]]) -> bytes:
    """Little-endian WKB of a polygon, written without GEOS (which refuses a ring of two points)."""
    body = b"".join(struct.pack("<I", len(r)) + b"".join(struct.pack("<dd", *p) for p in r) for r in rings)
    return struct.pack("<BII", 1, 3, len(rings)) + body


def test_decoding_leaves_out_only_the_degenerate_parts() -> None:
    good = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[[(1, 1), (2, 1), (2, 2), (1, 1)]])
    with_spike = _polygon_wkb([list(good.exterior.coords), list(good.interiors[0].coords), [(3, 3), (3, 3)]])
    with pytest.raises(shapely.errors.GEOSException):
        shapely.from_wkb(with_spike)
    shell_of_two = _polygon_wkb([[(5, 5), (5, 5)]])  # one node twice
    geoms, reasons = decode_geometries(np.array([with_spike, shell_of_two], dtype=object))
    assert geoms[0].equals(good)  # the hole of two points is left out, the rest is kept exactly
    assert geoms[1].is_empty
    assert reasons == ["Invalid number of points in LinearRing found 2 - must be 0 or >= 3"] * 2


_POINT = st.tuples(st.integers(0, 3), st.integers(0, 3)).map(lambda p: [7.76 + p[0] * 1e-4, 49.44 + p[1] * 1e-4])
_RING = st.lists(_POINT, min_size=1, max_size=5)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(polygons=st.lists(st.lists(_RING, min_size=1, max_size=3), min_size=1, max_size=6))
def test_any_degenerate_footprints_are_kept_or_recorded(tmp_path: Path, polygons: list[list[list[list[float]]]]) -> None:
    """Rings of one to five points, repeated or not: nothing ends in an internal error, every footprint is
    published or named in qa_issues."""
    features = [{"type": "Feature", "properties": {"building_id": f"B{n}"},
                 "geometry": {"type": "Polygon", "coordinates": rings}} for n, rings in enumerate(polygons)]
    path = tmp_path / "footprints.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    try:
        frame = generic.read(BuildingsConfig(path=path, format="generic"), target_crs="EPSG:25832")
    except InputError:
        return
    clean, issues = clean_buildings(frame)
    assert set(clean["building_id"]) | set(issues["feature_id"]) >= set(frame["building_id"])
    assert clean.geometry.is_valid.all() and not clean.geometry.is_empty.any()
