"""Argument checks of the API helpers, the route network as an OSMnx-style graph, and why a path is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

import twin
from twin.errors import ArgumentError, RecordError
from twin.model.value_labels import ROUTE_STATUS


@pytest.fixture(scope="module")
def model(built_model: Path) -> twin.api.CityModel:
    return twin.open_model(built_model)


# -- statuses and kinds by code or label ----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["in_service", "in service", "In Betrieb", "IN_SERVICE", "in-service"])
def test_statuses_accept_codes_and_labels(model: twin.api.CityModel, built_model: Path, spelling: str) -> None:
    routes = gpd.read_file(built_model, layer="fibre_routes")
    in_service = routes.loc[routes["status"] == "in_service"]
    buildings = gpd.read_file(built_model, layer="buildings")
    distance = buildings.geometry.apply(lambda g: in_service.distance(g).min())
    expected = buildings.loc[distance <= 30, "building_id"]
    assert len(expected) > 0
    assert sorted(model.buildings_near_fibre(30, statuses=(spelling,))["building_id"]) == sorted(expected)
    assert sorted(model.buildings_near_fibre(30, statuses=spelling)["building_id"]) == sorted(expected)


def test_kinds_accept_codes_and_labels(model: twin.api.CityModel, built_model: Path) -> None:
    routes = gpd.read_file(built_model, layer="fibre_routes")
    ducts = routes.loc[routes["kind"] == "duct"]
    buildings = gpd.read_file(built_model, layer="buildings")
    expected = buildings.loc[buildings.geometry.apply(lambda g: ducts.distance(g).min()) <= 20, "building_id"]
    for spelling in ("duct", "LEERROHR", "Leerrohr: vorhandenes Leerrohr"):
        assert sorted(model.buildings_near_fibre(20, kinds=(spelling,))["building_id"]) == sorted(expected)


def test_an_unknown_status_names_the_valid_ones(model: twin.api.CityModel) -> None:
    with pytest.raises(ArgumentError) as caught:
        model.buildings_near_fibre(50, statuses=("in Betrieb", "active"))
    assert str(caught.value) == (
        "buildings_near_fibre, statuses: 'active' is not a valid value; give any of planned (planned, geplant), "
        "built (built, gebaut), in_service (in service, in Betrieb)")
    for call in (lambda: model.network_path("Rathaus", statuses=("done",)),
                 lambda: model.network_distances(statuses=("done",)),
                 lambda: model.public_buildings_within_reach(statuses=("done",)),
                 lambda: model.route_graph(statuses=("done",))):
        with pytest.raises(ValueError, match="'done' is not a valid value"):
            call()


def test_a_status_that_is_not_text_is_an_argument_error(model: twin.api.CityModel) -> None:
    for wrong in (5, 2.5, True):
        with pytest.raises(ArgumentError) as caught:
            model.buildings_near_fibre(50, statuses=wrong)  # type: ignore[arg-type]
        assert str(caught.value).startswith(f"buildings_near_fibre, statuses: {wrong!r} is not a valid value; give any of")
    with pytest.raises(ArgumentError, match="kinds: 3 is not a valid value"):
        model.buildings_near_fibre(50, kinds=("duct", 3))  # type: ignore[arg-type]


def test_every_label_of_every_status_is_accepted() -> None:
    for code, (german, english) in ROUTE_STATUS.items():
        assert twin.api.arguments.codes((code, german, english.upper()), ROUTE_STATUS, "s") == (code,)


# -- shares and distances -------------------------------------------------------------------------------------------


def test_a_percentage_is_refused_where_a_share_is_asked(model: twin.api.CityModel) -> None:
    with pytest.raises(ArgumentError) as caught:
        model.streets_below_coverage(50)
    assert str(caught.value) == ("streets_below_coverage, share: 50 is not a share; give a share from 0 to 1 "
                                 "(0.5 for 50 %)")
    for wrong in (-0.1, 1.5, float("nan"), "0.5", True):
        with pytest.raises(ArgumentError, match="streets_below_coverage, share"):
            model.streets_below_coverage(wrong)  # type: ignore[arg-type]
    covered = model.street_coverage["covered_share"]
    assert len(model.streets_below_coverage(1)) == int((covered.isna() | (covered < 1)).sum()) > 0


def test_a_distance_must_be_a_number(model: twin.api.CityModel) -> None:
    with pytest.raises(ArgumentError) as caught:
        model.buildings_near_fibre("50")  # type: ignore[arg-type]
    assert str(caught.value) == "buildings_near_fibre, distance_m: '50' is not a number; give a number of metres"
    for wrong in (-1, float("inf"), None):
        with pytest.raises(ArgumentError, match="buildings_near_fibre, distance_m"):
            model.buildings_near_fibre(wrong)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="buildings_around, radius_m"):
        model.buildings_around(model.buildings["building_id"].iloc[0], "150")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="buildings_not_captured_since, date: 'yesterday' is not a date"):
        model.buildings_not_captured_since("yesterday")
    assert len(model.buildings_near_fibre(np.float64(25))) == len(model.buildings_near_fibre(25))


# -- the route graph ------------------------------------------------------------------------------------------------


def test_route_graph_has_coordinates_lengths_and_crs(model: twin.api.CityModel, built_model: Path) -> None:
    graph = model.route_graph()
    routes = gpd.read_file(built_model, layer="fibre_routes")
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.graph["crs"] == "EPSG:25832"
    assert graph.number_of_edges() == 2 * len(routes)
    assert all({"x", "y"} <= set(data) for _, data in graph.nodes(data=True))
    lengths = {data["route_id"]: data["length"] for _, _, data in graph.edges(data=True)}
    assert np.allclose([lengths[r] for r in routes["route_id"]], routes.length.to_numpy(), atol=0.01)
    for u, v, data in graph.edges(data=True):
        start, end = data["geometry"].coords[0], data["geometry"].coords[-1]
        assert np.allclose(start, (graph.nodes[u]["x"], graph.nodes[u]["y"]), atol=0.5)
        assert np.allclose(end, (graph.nodes[v]["x"], graph.nodes[v]["y"]), atol=0.5)


def test_route_graph_distances_match_the_published_network_distances(model: twin.api.CityModel,
                                                                      built_model: Path) -> None:
    graph = model.route_graph()
    nodes = gpd.read_file(built_model, layer="fibre_nodes")
    vertex = {data["node_id"]: n for n, data in graph.nodes(data=True) if data.get("node_id")}
    hub = vertex[nodes.loc[nodes["kind"] == "hub", "node_id"].iloc[0]]
    reached = nx.single_source_dijkstra_path_length(graph, hub, weight="length")
    placed = nodes.loc[nodes["network_distance_m"].notna() & nodes["node_id"].isin(vertex)]
    assert len(placed) > 10
    computed = model.network_distances().set_index("node_id")["network_distance_m"]
    for node_id, published in zip(placed["node_id"], placed["network_distance_m"], strict=True):
        assert reached[vertex[node_id]] == pytest.approx(computed.loc[node_id], abs=0.01)
        # the run joins route ends within the snap tolerance (0.5 m) as the API does, once per path at most here
        assert reached[vertex[node_id]] == pytest.approx(published, abs=0.5)
    in_service = model.route_graph(statuses=("gebaut", "in Betrieb"))
    assert {d["status"] for _, _, d in in_service.edges(data=True)} == {"built", "in_service"}


def test_osmnx_turns_the_route_graph_into_frames(model: twin.api.CityModel, built_model: Path) -> None:
    ox = pytest.importorskip("osmnx")
    nodes, edges = ox.graph_to_gdfs(model.route_graph())
    routes = gpd.read_file(built_model, layer="fibre_routes")
    assert nodes.crs.to_epsg() == edges.crs.to_epsg() == 25832
    assert len(edges) == 2 * len(routes)
    assert np.allclose(edges.length.to_numpy(), edges["length"].to_numpy(), atol=0.01)
    back = ox.graph_from_gdfs(nodes, edges)
    assert back.number_of_edges() == 2 * len(routes)


def test_network_path_says_when_only_planned_routes_lead_there(model: twin.api.CityModel, built_model: Path) -> None:
    nodes = gpd.read_file(built_model, layer="fibre_nodes")
    planned_only = nodes.loc[nodes["network_distance_m"].notna() & nodes["in_service_distance_m"].isna()]
    assert len(planned_only) > 0
    node = planned_only.iloc[0]
    with pytest.raises(RecordError) as caught:
        model.network_path(node["name"], statuses=("built", "in service"))
    assert str(caught.value) == (f"fibre_nodes, node {node['node_id']}: no route of status built, in_service leads "
                                 "there; only planned routes lead there; leave out statuses to follow every route")
    assert model.network_path(node["name"]).length_m == pytest.approx(node["network_distance_m"], abs=0.5)


# -- the package ----------------------------------------------------------------------------------------------------


def test_dir_of_a_fresh_twin_lists_the_api() -> None:
    done = subprocess.run([sys.executable, "-c", "import twin; print(' '.join(dir(twin)))"], capture_output=True,
                          text=True, check=True, timeout=120)
    assert {"open_model", "read_pipeline", "run", "__version__"} <= set(done.stdout.split())
    methods = set(dir(twin.api.CityModel))
    assert {"building", "find_address", "panoramas_seeing", "coverage_by_campaign", "aggregate", "subset",
            "route_graph", "to_geopackage"} <= methods
