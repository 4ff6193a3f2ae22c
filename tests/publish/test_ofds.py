"""The fibre network as Open Fibre Data Standard 0.4 GeoJSON, checked with the standard's own validator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely import LineString, Point

from twin.cli import main
from twin.publish.ofds import ofds_features

LIBCOVEOFDS = Path(sys.executable).with_name("libcoveofds")


def _cove(*args: str, cwd: Path) -> list[object]:
    done = subprocess.run([str(LIBCOVEOFDS), *args], cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout) if done.stdout.strip() else []


@pytest.mark.skipif(not LIBCOVEOFDS.exists(), reason="libcoveofds is not installed")
def test_export_passes_the_ofds_validator(built_model: Path, tmp_path: Path) -> None:
    assert main(["export", "ofds", str(built_model), str(tmp_path), "-q"]) == 0
    subprocess.run([str(LIBCOVEOFDS), "geojsontojson", "nodes.geojson", "spans.geojson", "network.json"],
                   cwd=tmp_path, check=True, capture_output=True)
    assert _cove("jsv", "network.json", cwd=tmp_path) == []
    assert _cove("pv", "network.json", cwd=tmp_path) == []
    network = json.loads((tmp_path / "network.json").read_text(encoding="utf-8"))["networks"][0]
    routes = pyogrio.read_dataframe(built_model, layer="fibre_routes")
    assert len(network["spans"]) == len(routes)
    node_ids = {n["id"] for n in network["nodes"]}
    assert all(s["start"] in node_ids and s["end"] in node_ids for s in network["spans"])
    hub = [n for n in network["nodes"] if n.get("type") == ["pop"]]
    assert [n["name"] for n in hub] == ["Rathaus"]


def test_junctions_become_nodes_and_codes_are_mapped() -> None:
    crs = "EPSG:25832"
    routes = gpd.GeoDataFrame(
        {"route_id": ["a", "b"], "kind": ["trench", "aerial"], "status": ["in_service", "built"],
         "fibres": [96, 144], "length_m": [100.0, 50.0]},
        geometry=[LineString([(410000, 5477000), (410100, 5477000)]),
                  LineString([(410100, 5477000), (410100, 5477050)])], crs=crs)
    nodes = gpd.GeoDataFrame({"node_id": ["H", "S"], "kind": ["hub", "site"], "name": ["Rathaus", "Schule"]},
                             geometry=[Point(410000, 5477000), Point(410100.2, 5477050)], crs=crs)
    node_features, span_features = ofds_features(routes, nodes)
    ids = [f["properties"]["id"] for f in node_features]
    assert sorted(ids) == ["H", "J00002", "S"]
    spans = {f["properties"]["id"]: f["properties"] for f in span_features}
    assert (spans["a"]["start"], spans["a"]["end"]) == ("H", "J00002")
    assert spans["a"]["deployment"] == ["belowGround"] and spans["b"]["deployment"] == ["aboveGround"]
    assert spans["a"]["status"] == "operational" and spans["b"]["status"] == "inactive"
    assert spans["b"]["fibreCount"] == 144
    lon, lat = node_features[0]["geometry"]["coordinates"]
    assert 7.0 < lon < 8.0 and 49.0 < lat < 50.0
