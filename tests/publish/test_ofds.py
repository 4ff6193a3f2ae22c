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
from twin.publish.ofds import network_id, ofds_features
from twin.transforms.topology import network_topology

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
    assert network["name"] == "Kaiserslautern fibre network"  # the test pipeline names no network
    assert network["id"] == network_id("Kaiserslautern", "Kaiserslautern fibre network")
    assert not any(s.get("name", "").startswith("Trasse") for s in network["spans"])
    model_nodes = pyogrio.read_dataframe(built_model, layer="fibre_nodes")
    assert set(model_nodes["node_id"]) <= node_ids  # every node of the model is a node of the network


def test_junctions_become_nodes_and_codes_are_mapped() -> None:
    crs = "EPSG:25832"
    routes = gpd.GeoDataFrame(
        {"route_id": ["a", "b"], "kind": ["trench", "aerial"], "status": ["in_service", "built"],
         "fibres": [96, 144], "length_m": [100.0, 50.0]},
        geometry=[LineString([(410000, 5477000), (410100, 5477000)]),
                  LineString([(410100, 5477000), (410100, 5477050)])], crs=crs)
    nodes = gpd.GeoDataFrame({"node_id": ["H", "S"], "kind": ["hub", "site"], "name": ["Rathaus", "Schule"]},
                             geometry=[Point(410000, 5477000), Point(410100.2, 5477050)], crs=crs)
    node_features, span_features = ofds_features(routes, nodes, name="RAINBOW", city="Kaiserslautern")
    ids = [f["properties"]["id"] for f in node_features]
    assert sorted(ids) == ["H", "J00002", "S"]
    spans = {f["properties"]["id"]: f["properties"] for f in span_features}
    assert (spans["a"]["start"], spans["a"]["end"]) == ("H", "J00002")
    assert spans["a"]["deployment"] == ["belowGround"] and spans["b"]["deployment"] == ["aboveGround"]
    assert spans["a"]["status"] == "operational" and spans["b"]["status"] == "inactive"
    assert spans["b"]["fibreCount"] == 144
    lon, lat = node_features[0]["geometry"]["coordinates"]
    assert 7.0 < lon < 8.0 and 49.0 < lat < 50.0


CRS = "EPSG:25832"
X, Y = 410_000.0, 5_477_000.0


def _network(*nodes: tuple[str, str, str, float, float]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A trench of 100 m eastwards and the given nodes (id, kind, name, x, y relative to its start)."""
    routes = gpd.GeoDataFrame(
        {"route_id": ["T"], "kind": ["trench"], "status": ["built"], "ducts": [None], "fibres": [None],
         "name": [None]}, geometry=[LineString([(X, Y), (X + 100, Y)])], crs=CRS)
    frame = gpd.GeoDataFrame({"node_id": [n[0] for n in nodes], "kind": [n[1] for n in nodes],
                              "name": [n[2] for n in nodes], "building_ref": [None] * len(nodes)},
                             geometry=[Point(X + n[3], Y + n[4]) for n in nodes], crs=CRS)
    return routes, frame


def test_zero_length_pieces_are_dropped_reported_and_never_spans(tmp_path: Path) -> None:
    from twin.transforms.topology import network_topology

    # a cabinet and a splice 0.3 m apart on the trench: splitting there made a piece of no length
    routes, nodes = _network(("H", "hub", "Rathaus", 0, 0), ("V", "distribution", "V1", 50, 0),
                             ("M", "distribution", "M1", 50.3, 0))
    out_routes, out_nodes, issues = network_topology(routes, nodes, hub="Rathaus")
    assert (out_routes["length_m"] > 0).all()
    assert out_routes["length_m"].sum() == pytest.approx(100.0)
    zero = issues[issues["check"] == "zero_length"]
    assert zero["feature_id"].tolist() == ["T/2"]
    shared = issues[issues["check"] == "shared_network_point"]
    assert shared["feature_id"].tolist() == ["M"] and "as node 'V'" in shared["message"].iloc[0]
    node_features, span_features = ofds_features(out_routes, out_nodes, name="RAINBOW", city="Kaiserslautern")
    assert len(span_features) == 2
    assert all(f["properties"]["start"] != f["properties"]["end"] for f in span_features)
    assert {"H", "V", "M"} <= {f["properties"]["id"] for f in node_features}


def test_export_of_a_model_with_a_zero_length_route_exits_0(tmp_path: Path) -> None:
    routes, nodes = _network(("H", "hub", "Rathaus", 0, 0), ("S", "site", "Schule", 100, 0))
    routes = gpd.GeoDataFrame(
        {"route_id": ["T", "Z"], "kind": ["trench", "trench"], "status": ["built", "built"], "length_m": [100.0, 0.0]},
        geometry=[LineString([(X, Y), (X + 100, Y)]), LineString([(X + 100, Y), (X + 100, Y)])], crs=CRS)
    model = tmp_path / "model.gpkg"
    pyogrio.write_dataframe(routes, model, layer="fibre_routes")
    pyogrio.write_dataframe(nodes, model, layer="fibre_nodes", append=True)
    import sqlite3

    with sqlite3.connect(model) as con:
        con.execute("CREATE TABLE gpkg_metadata (id INTEGER PRIMARY KEY, metadata TEXT)")
        con.execute("INSERT INTO gpkg_metadata VALUES (1, ?)",
                    (json.dumps({"city": "Kaiserslautern", "network_name": "RAINBOW"}),))
    assert main(["export", "ofds", str(model), str(tmp_path / "ofds"), "-q"]) == 0
    spans = json.loads((tmp_path / "ofds" / "spans.geojson").read_text(encoding="utf-8"))["features"]
    assert [s["properties"]["id"] for s in spans] == ["T"]


def test_network_identity_follows_city_and_name() -> None:
    routes, nodes = _network(("H", "hub", "Rathaus", 0, 0))
    kl = ofds_features(routes, nodes, name="RAINBOW", city="Kaiserslautern")[0][0]["properties"]["network"]
    other = ofds_features(routes, nodes, name="Glasfasernetz Trier", city="Trier")[0][0]["properties"]["network"]
    assert kl["name"] == "RAINBOW" and other["name"] == "Glasfasernetz Trier"
    assert kl["id"] != other["id"]
    assert kl["id"] == ofds_features(routes, nodes, name="RAINBOW", city="Kaiserslautern")[0][0]["properties"]["network"]["id"]


def test_every_named_node_is_kept_and_spans_are_named_from_the_data() -> None:
    routes, nodes = _network(("P1", "hub", "PoP Nord", 1.5, 0.0), ("P2", "distribution", "PoP Süd", 100.2, 0.0),
                             ("K", "distribution", "Kasten", 100.4, 0.1), ("F", "site", "Hof", 60.0, 40.0))
    routes["name"] = ["Accra to Kumasi"]
    node_features, span_features = ofds_features(routes, nodes, name="RAINBOW", city="Kaiserslautern",
                                                 tolerance_m=2.0)
    by_id = {f["properties"]["id"]: f["properties"] for f in node_features}
    assert set(by_id) == {"P1", "P2", "K", "F"}  # no J00001: both route ends are named nodes
    assert by_id["P1"]["name"] == "PoP Nord" and by_id["P1"]["type"] == ["pop"]
    assert (span_features[0]["properties"]["start"], span_features[0]["properties"]["end"]) == ("P1", "P2")
    assert span_features[0]["properties"]["name"] == "Accra to Kumasi"
    routes["name"] = [None]
    assert "name" not in ofds_features(routes, nodes, name="RAINBOW", city="Kaiserslautern")[1][0]["properties"]


def test_a_model_that_records_no_network_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    routes, nodes = _network(("H", "hub", "Rathaus", 0, 0))
    model = tmp_path / "model.gpkg"
    pyogrio.write_dataframe(routes, model, layer="fibre_routes")
    pyogrio.write_dataframe(nodes, model, layer="fibre_nodes", append=True)
    assert main(["export", "ofds", str(model), str(tmp_path / "ofds")]) == 2
    assert "model.gpkg: records no city and network name" in capsys.readouterr().err
    assert not (tmp_path / "ofds" / "nodes.geojson").exists()


def test_a_site_reached_only_over_a_planned_route_is_a_planned_node_until_the_route_is_built() -> None:
    crs = "EPSG:25832"
    nodes = gpd.GeoDataFrame({"node_id": ["H", "S"], "kind": ["hub", "site"], "name": ["Rathaus", "Schule"]},
                             geometry=[Point(410000, 5477000), Point(410100, 5477050)], crs=crs)

    def exported(feeder: str) -> dict[str, dict[str, object]]:
        routes = gpd.GeoDataFrame(
            {"route_id": ["T", "F"], "kind": ["trench", "duct"], "status": ["in_service", feeder]},
            geometry=[LineString([(410000, 5477000), (410100, 5477000)]),
                      LineString([(410100, 5477000), (410100, 5477050)])], crs=crs)
        out_routes, out_nodes, _ = network_topology(routes, nodes, hub="Rathaus")
        node_features, _ = ofds_features(out_routes, out_nodes, name="RAINBOW", city="Kaiserslautern")
        return {str(f["properties"]["id"]): f["properties"] for f in node_features}

    planned = exported("planned")
    assert planned["S"]["status"] == "planned" and planned["H"]["status"] == "operational"
    assert exported("built")["S"]["status"] == "operational"
