"""The route graph on small networks built here: snapping, parallel routes, unreachable and off-network nodes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, MultiLineString, Point

from twin.transforms.routing import RouteNetwork

CRS = "EPSG:25832"


def network(lines: list[LineString | MultiLineString], points: dict[str, tuple[float, float]],
            **kwargs: float) -> RouteNetwork:
    routes = gpd.GeoDataFrame({"route_id": [f"r{i}" for i in range(len(lines))]}, geometry=lines, crs=CRS)
    kinds = ["hub" if name == "H" else "site" for name in points]
    nodes = gpd.GeoDataFrame({"node_id": list(points), "kind": kinds},
                             geometry=[Point(xy) for xy in points.values()], crs=CRS)
    return RouteNetwork(routes, nodes, **kwargs)


def test_ends_within_the_tolerance_are_joined() -> None:
    lines = [LineString([(0, 0), (100, 0)]), LineString([(100.3, 0), (100.3, 60)])]
    joined = network(lines, {"H": (0, 0), "S": (100.3, 60)})
    assert joined.graph.number_of_nodes() == 3
    assert joined.path("S").route_ids == ["r0", "r1"]
    apart = network(lines, {"H": (0, 0), "S": (100.3, 60)}, tolerance_m=0.2)
    assert apart.graph.number_of_nodes() == 4
    assert np.isnan(apart.distances().iloc[1])
    with pytest.raises(ValueError, match=r"^fibre_nodes, node S: not connected to the hub H by any route; see the unreachable and disconnected rows in qa_issues$"):
        apart.path("S")


def test_the_shorter_of_parallel_routes_is_used() -> None:
    lines = [LineString([(0, 0), (0, 50), (100, 50), (100, 0)]), LineString([(0, 0), (100, 0)])]
    found = network(lines, {"H": (0, 0), "S": (100, 0)})
    assert found.path("S").route_ids == ["r1"]
    assert found.distances().tolist() == [0.0, 100.0]


def test_multi_part_routes_and_reversed_drawing() -> None:
    lines = [MultiLineString([[(50, 0), (20, 0)], [(20, 0), (0, 0)]]), LineString([(50, 0), (50, 40)])]
    path = network(lines, {"H": (0, 0), "S": (50, 40)}).path("S")
    assert list(path.line.coords) == [(0, 0), (20, 0), (50, 0), (50, 40)]
    assert path.length_m == 90.0


def test_a_node_off_the_network_is_reported() -> None:
    found = network([LineString([(0, 0), (100, 0)])], {"H": (0, 0), "S": (50, 10)})
    assert np.isnan(found.distances().iloc[1])
    with pytest.raises(ValueError, match=r"^fibre_nodes, node S: no route end within 0.5 m; the node is not on"):
        found.path("S")
    with pytest.raises(KeyError, match="no node 'X'"):
        found.path("X")


def test_no_hub_and_no_routes() -> None:
    nodes_only = network([], {"S": (0, 0)})
    with pytest.raises(ValueError, match="has no node of kind 'hub'"):
        nodes_only.distances()
    assert network([], {"H": (0, 0)}).distances().isna().all()


def test_crs_must_match() -> None:
    routes = gpd.GeoDataFrame({"route_id": ["r"]}, geometry=[LineString([(0, 0), (1, 0)])], crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": ["H"], "kind": ["hub"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(ValueError, match="must share a CRS"):
        RouteNetwork(routes, nodes)
