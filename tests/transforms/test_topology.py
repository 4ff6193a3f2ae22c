"""Fibre topology on networks written as real files: snapping, gaps, parts, loops, distances."""

from __future__ import annotations

import re
from pathlib import Path

import ezdxf
import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point
from shapely.ops import substring

from twin.config import FibreConfig
from twin.errors import CrsError, SchemaError
from twin.sources import fibre
from twin.transforms.topology import fibre_summary, network_topology

CRS = "EPSG:25832"
X0, Y0 = 410000.0, 5477000.0


def _xy(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def _write_network(folder: Path) -> FibreConfig:
    """Hub at (0,0); trunk east 100 m; branch north 50 m (joined with a 0.3 m gap); a site behind a 2 m gap;
    a dangling stub; an island; a loop of three segments."""
    routes = gpd.GeoDataFrame(
        {"route_id": ["trunk", "north", "east2", "stub", "island", "l1", "l2", "l3"],
         "kind": ["trench"] * 8, "status": ["built"] * 8},
        geometry=[
            LineString([_xy(0, 0), _xy(100, 0)]),
            LineString([_xy(100.3, 0), _xy(100.3, 50)]),           # 0.3 m gap: snapped
            LineString([_xy(102, 0), _xy(160, 0)]),                # 2 m gap after the trunk: reported
            LineString([_xy(50, 0), _xy(50, -15)]),                # starts mid-trunk at the distribution node
            LineString([_xy(500, 500), _xy(560, 500)]),            # disconnected island
            LineString([_xy(100.3, 50), _xy(140, 50)]),
            LineString([_xy(140, 50), _xy(140, 90)]),
            LineString([_xy(140, 90), _xy(100.3, 50)]),            # l1-l2-l3 form a loop
        ],
        crs=CRS,
    )
    nodes = gpd.GeoDataFrame(
        {"node_id": ["H", "D", "S1", "S2", "S3"], "kind": ["hub", "distribution", "site", "site", "site"],
         "name": ["Rathaus", "VP 01", "Schule Nord", "Schule Ost", "Museum"]},
        geometry=[Point(_xy(0, 0)), Point(_xy(50, 0)), Point(_xy(140, 90)), Point(_xy(160, 0)), Point(_xy(560, 500))],
        crs=CRS,
    )
    routes.to_crs("EPSG:4326").to_file(folder / "routes.geojson")
    nodes.to_crs("EPSG:4326").to_file(folder / "nodes.geojson")
    return FibreConfig(routes=folder / "routes.geojson", nodes=folder / "nodes.geojson", hub="Rathaus")


@pytest.fixture
def network(tmp_path: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    config = _write_network(tmp_path)
    routes = fibre.read_routes(config, target_crs=CRS)
    nodes = fibre.read_nodes(config, target_crs=CRS)
    return network_topology(routes, nodes, hub="Rathaus", snap_tolerance_m=0.5, gap_report_m=5.0)


def test_distances_along_the_network(network: tuple[gpd.GeoDataFrame, ...]) -> None:
    _, nodes, _ = network
    distance = nodes.set_index("node_id")["network_distance_m"]
    assert distance["H"] == pytest.approx(0.0, abs=0.01)
    assert distance["D"] == pytest.approx(50.0, abs=0.01)
    # trunk 100 (+0.3 snapped) + north 50 + l3 56.4, shorter than the way round the loop (+ l1 39.7 + l2 40)
    direct = 100 + 50 + float(shapely.length(LineString([(140, 90), (100.3, 50)])))
    assert distance["S1"] == pytest.approx(direct, abs=0.35)
    assert pd_isna(distance["S2"])  # behind a 2 m gap
    assert pd_isna(distance["S3"])  # on the island


def pd_isna(value: object) -> bool:
    return bool(pd.isna(value))


def test_network_distance_is_never_shorter_than_the_straight_line(network: tuple[gpd.GeoDataFrame, ...]) -> None:
    _, nodes, _ = network
    hub = nodes[nodes["kind"] == "hub"].geometry.iloc[0]
    reached = nodes[nodes["network_distance_m"].notna()]
    assert (reached["network_distance_m"] + 0.01 >= reached.distance(hub)).all()


def test_the_trunk_is_split_at_the_distribution_node(network: tuple[gpd.GeoDataFrame, ...]) -> None:
    routes, _, _ = network
    assert {"trunk/1", "trunk/2"} <= set(routes["route_id"])
    assert "trunk" not in set(routes["route_id"])


def test_small_gap_snapped_large_gap_reported(network: tuple[gpd.GeoDataFrame, ...]) -> None:
    routes, _, issues = network
    north = routes.set_index("route_id").geometry["north"]
    trunk_end = routes.set_index("route_id").geometry["trunk/2"]
    assert shapely.distance(shapely.get_point(north, 0), shapely.get_point(trunk_end, -1)) < 1e-6
    gaps = issues[issues["check"] == "gap"]
    assert len(gaps) == 1
    assert re.match(r"gap of (1.70|2.00) m to route north", gaps["message"].iloc[0])
    assert gaps.geometry.iloc[0] is not None


def test_checks_found(network: tuple[gpd.GeoDataFrame, ...]) -> None:
    routes, _, issues = network
    checks = issues.groupby("check")["feature_id"].apply(set).to_dict()
    assert checks["dangling_end"] >= {"stub"}
    assert checks["disconnected"]
    assert len(issues[issues["check"] == "loop"]) == 1
    assert set(issues[issues["check"] == "unreachable"]["feature_id"]) == {"S2", "S3"}
    assert routes.set_index("route_id")["component"]["trunk/1"] == 0
    assert routes["component"].nunique() == 3  # hub part, the east part behind the gap, the island


def test_overlap_and_zero_length(tmp_path: Path) -> None:
    routes = gpd.GeoDataFrame(
        {"route_id": ["a", "b", "z"], "kind": ["trench"] * 3, "status": ["built"] * 3},
        geometry=[LineString([_xy(0, 0), _xy(10, 0)]), LineString([_xy(10, 0), _xy(0, 0)]),
                  LineString([_xy(5, 5), _xy(5, 5)])], crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": ["H"], "kind": ["hub"], "name": ["Rathaus"]},
                             geometry=[Point(_xy(0, 0))], crs=CRS)
    out, _, issues = network_topology(routes, nodes)
    assert "z" not in set(out["route_id"])
    assert set(issues[issues["check"] == "zero_length"]["feature_id"]) == {"z"}
    assert set(issues[issues["check"] == "overlapping"]["feature_id"]) == {"b"}


def test_distances_match_networkx_on_a_random_grid() -> None:
    lines, ids = [], []
    for i in range(4):
        for j in range(4):
            if i < 3:
                lines.append(LineString([_xy(i * 10, j * 12), _xy(i * 10 + 10, j * 12)]))
            if j < 3:
                lines.append(LineString([_xy(i * 10, j * 12), _xy(i * 10, j * 12 + 12)]))
    ids = [f"r{k}" for k in range(len(lines))]
    routes = gpd.GeoDataFrame({"route_id": ids, "kind": "trench", "status": "built"}, geometry=lines, crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": ["H", "S"], "kind": ["hub", "site"], "name": ["Rathaus", "x"]},
                             geometry=[Point(_xy(0, 0)), Point(_xy(30, 36))], crs=CRS)
    _, out, _ = network_topology(routes, nodes, star=False)
    graph = nx.grid_2d_graph(4, 4)
    for (a, b) in graph.edges:
        graph.edges[a, b]["w"] = 10.0 if a[1] == b[1] else 12.0
    expected = nx.shortest_path_length(graph, (0, 0), (3, 3), weight="w")
    assert out.set_index("node_id")["network_distance_m"]["S"] == pytest.approx(expected)


def test_summary(network: tuple[gpd.GeoDataFrame, ...]) -> None:
    routes, nodes, issues = network
    summary = fibre_summary(routes, nodes, issues)
    assert summary["sites"] == 3
    assert summary["sites_connected"] == 1
    assert summary["components"] == 3
    assert summary["qa"]["gap"] == 1
    assert summary["length_m"] == pytest.approx(routes["length_m"].sum(), abs=0.1)


def _dxf(path: Path) -> Path:
    doc = ezdxf.new()
    space = doc.modelspace()
    space.add_line(_xy(0, 0), _xy(100, 0), dxfattribs={"layer": "GF_TRASSE"})
    space.add_lwpolyline([_xy(100, 0), _xy(100, 40), _xy(130, 40)], dxfattribs={"layer": "GF_LEERROHR"})
    space.add_line(_xy(0, 10), _xy(100, 10), dxfattribs={"layer": "STRASSE"})
    space.add_text("Rathaus", dxfattribs={"layer": "GF_TRASSE"}).set_placement(_xy(0, 0))
    doc.saveas(path)
    return path


def test_dxf_routes_by_cad_layer(tmp_path: Path) -> None:
    path = _dxf(tmp_path / "rainbow.dxf")
    config = FibreConfig(routes=path, crs=CRS, dxf_layers={"GF_TRASSE": "trench", "GF_LEERROHR": "duct"})
    routes = fibre.read_routes(config, target_crs=CRS)
    assert sorted(routes["kind"]) == ["duct", "trench"]
    assert sorted(routes.length.round(1)) == [70.0, 100.0]
    assert routes["route_id"].str.startswith("DXF-").all()


def test_dxf_needs_crs_and_layers(tmp_path: Path) -> None:
    path = _dxf(tmp_path / "rainbow.dxf")
    with pytest.raises(CrsError, match=r"rainbow.dxf: has no CRS"):
        fibre.read_routes(FibreConfig(routes=path, dxf_layers={"GF_TRASSE": "trench"}), target_crs=CRS)
    with pytest.raises(SchemaError, match=r"needs its CAD layers mapped \(it has GF_LEERROHR, GF_TRASSE, STRASSE\)"):
        fibre.read_routes(FibreConfig(routes=path, crs=CRS), target_crs=CRS)


def test_nodes_from_a_german_csv(tmp_path: Path) -> None:
    path = tmp_path / "knoten.csv"
    path.write_text("ID;Art;Bezeichnung;Rechtswert;Hochwert\nN1;hub;Rathaus;410767,5;5477621,25\n", encoding="utf-8")
    config = FibreConfig(routes=tmp_path / "r.geojson", nodes=path, crs=CRS,
                         columns={"node_id": "ID", "kind": "Art", "name": "Bezeichnung", "x": "Rechtswert", "y": "Hochwert"})
    nodes = fibre.read_nodes(config, target_crs=CRS)
    assert nodes["node_id"].tolist() == ["N1"]
    assert (nodes.geometry.iloc[0].x, nodes.geometry.iloc[0].y) == (410767.5, 5477621.25)


def _sample_network() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The shipped sample's RAINBOW routes and nodes, as a run reads them (EPSG:25832)."""
    raw = Path(__file__).parents[2] / "data" / "raw" / "fibre"
    return gpd.read_file(raw / "routes.geojson").to_crs(CRS), gpd.read_file(raw / "nodes.geojson").to_crs(CRS)


def test_a_route_drawn_as_parts_with_a_gap_does_not_bridge_the_gap() -> None:
    # one route of the sample, saved as two parts with 3 m of it missing: the site behind the gap does not
    # reach the hub along that route, and no distance along the network is shorter than the straight line
    routes, nodes = _sample_network()
    _, before, _ = network_topology(routes, nodes, hub="Rathaus")
    served = before.loc[before["in_service_distance_m"].notna() & (before["kind"] == "site")]
    site = served.sort_values("in_service_distance_m").iloc[-1]
    last = routes.loc[routes.distance(site.geometry) < 0.5].sort_values("route_id").iloc[0]
    line = last.geometry
    gap_from, gap_to = line.length / 2 - 1.5, line.length / 2 + 1.5
    parts = shapely.MultiLineString([substring(line, 0, gap_from), substring(line, gap_to, line.length)])
    cut = routes.copy()
    cut.loc[cut["route_id"] == last["route_id"], "geometry"] = parts
    out_routes, out_nodes, issues = network_topology(cut, nodes, hub="Rathaus")
    after = out_nodes.set_index("node_id")
    assert pd.isna(after.loc[site["node_id"], "in_service_distance_m"])
    hub = nodes.loc[nodes["name"] == "Rathaus"].geometry.iloc[0]
    straight = after.geometry.distance(hub)
    assert (after["network_distance_m"].dropna() >= straight[after["network_distance_m"].notna()] - 0.5).all()
    pieces = out_routes.loc[out_routes["route_id"].str.startswith(str(last["route_id"]))]
    assert round(float(pieces["length_m"].sum()), 1) == round(parts.length, 1)
    assert shapely.get_num_geometries(pieces.geometry.to_numpy()).max() == 1
    gaps = issues.loc[issues["check"] == "gap"]
    assert gaps["feature_id"].astype(str).str.startswith(str(last["route_id"])).any()


def _path_lengths(routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, hub: Point) -> pd.Series:
    """Shortest distance from `hub` to every node over the routes' own ``length_m`` (ends joined as drawn)."""
    graph = nx.Graph()
    for line, length in zip(routes.geometry, routes["length_m"], strict=True):
        ends = shapely.get_coordinates(line)[[0, -1]].round(6)
        graph.add_edge(tuple(ends[0]), tuple(ends[1]), length=min(float(length), graph.get_edge_data(
            tuple(ends[0]), tuple(ends[1]), {"length": float("inf")})["length"]))
    points = list(graph.nodes)
    tree = shapely.STRtree(shapely.points(points))

    def vertex(p: Point) -> tuple[float, float] | None:
        i = tree.nearest(p)
        return points[i] if shapely.distance(p, shapely.points(points[i])) <= 0.5 else None

    reach = nx.single_source_dijkstra_path_length(graph, vertex(hub), weight="length")
    return pd.Series([reach.get(vertex(p), float("nan")) for p in nodes.geometry], index=nodes["node_id"])


def test_distances_from_the_hub_are_the_sums_of_the_published_route_lengths() -> None:
    # the sample's routes with the ends of every third one drawn 0.3 m off (within the snap tolerance),
    # as a CAD drawing leaves them: each node's distance is the length of its path in fibre_routes (to the
    # rounding of length_m to centimetres)
    routes, nodes = _sample_network()
    shifted = routes.copy()
    moved = shifted.index[::3]
    shifted.loc[moved, "geometry"] = shapely.transform(shifted.geometry.loc[moved].to_numpy(), lambda xy: xy + 0.21)
    out_routes, out_nodes, _ = network_topology(shifted, nodes, hub="Rathaus")
    hub = out_nodes.loc[out_nodes["kind"] == "hub"].geometry.iloc[0]
    expected = _path_lengths(out_routes, out_nodes, hub)
    published = out_nodes.set_index("node_id")["network_distance_m"]
    assert published.notna().sum() > 5
    assert np.allclose(published.to_numpy(dtype=float), expected.to_numpy(), atol=0.1, equal_nan=True), \
        (published - expected).abs().sort_values().tail(3)
    live = out_routes.loc[out_routes["status"] != "planned"]
    in_service = out_nodes.set_index("node_id")["in_service_distance_m"]
    assert np.allclose(in_service.to_numpy(dtype=float), _path_lengths(live, out_nodes, hub).to_numpy(), atol=0.1,
                       equal_nan=True)
    both = in_service.notna()
    assert (published[both] <= in_service[both] + 1e-9).all()  # more routes never make a path longer
