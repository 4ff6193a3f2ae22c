"""Fibre plans as planning offices draw them: drops off the middle of a trench, hubs named otherwise,
planned next to built routes; written as real files and read back."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point

from twin.config import FibreConfig
from twin.sources import fibre
from twin.transforms.network import buildings_with_fibre, site_buildings
from twin.transforms.topology import network_topology

CRS = "EPSG:25832"
X0, Y0 = 410000.0, 5477000.0


def _xy(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def _plan(folder: Path, *, hub: str = "Rathaus", hub_kind: str = "Zentrale", drop_status: str = "in Betrieb") -> tuple[
        gpd.GeoDataFrame, gpd.GeoDataFrame, FibreConfig]:
    """A trench east from the hub, a drop off its middle (a T, not at a node) to a school, written as GeoJSON."""
    routes = gpd.GeoDataFrame(
        {"route_id": ["T1", "D1"], "kind": ["Graben", "Graben"], "status": ["in Betrieb", drop_status]},
        geometry=[LineString([_xy(0, 0), _xy(100, 0)]), LineString([_xy(50, 0.2), _xy(50, 15)])], crs=CRS)
    nodes = gpd.GeoDataFrame(
        {"node_id": ["H", "S"], "kind": [hub_kind, "Standort"], "name": ["Rathaus", "Schule"]},
        geometry=[Point(_xy(0, 0)), Point(_xy(50, 15))], crs=CRS)
    routes.to_file(folder / "routes.geojson")
    nodes.to_file(folder / "nodes.geojson")
    config = FibreConfig(routes=folder / "routes.geojson", nodes=folder / "nodes.geojson", hub=hub)
    return fibre.read_routes(config, target_crs=CRS), fibre.read_nodes(config, target_crs=CRS), config


def test_a_drop_branching_off_a_trench_joins_it(tmp_path: Path) -> None:
    routes, nodes, _ = _plan(tmp_path)
    out_routes, out_nodes, issues = network_topology(routes, nodes, hub="Rathaus")
    assert sorted(out_routes["route_id"]) == ["D1", "T1/1", "T1/2"]
    assert out_nodes.set_index("node_id")["network_distance_m"]["S"] == pytest.approx(50 + 15, abs=0.3)
    assert set(out_routes["component"]) == {0}
    assert "disconnected" not in set(issues["check"]) and "unreachable" not in set(issues["check"])


def test_routes_that_only_cross_are_not_joined(tmp_path: Path) -> None:
    routes = gpd.GeoDataFrame({"route_id": ["A", "B"], "kind": ["trench", "trench"]},
                              geometry=[LineString([_xy(0, 0), _xy(100, 0)]), LineString([_xy(50, -20), _xy(50, 20)])],
                              crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": ["H"], "kind": ["hub"], "name": ["Rathaus"]}, geometry=[Point(_xy(0, 0))], crs=CRS)
    out_routes, _, _ = network_topology(routes, nodes, hub="Rathaus")
    assert sorted(out_routes["route_id"]) == ["A", "B"] and set(out_routes["component"]) == {0, 1}


def test_a_hub_name_that_finds_no_node_is_reported(tmp_path: Path) -> None:
    routes, nodes, _ = _plan(tmp_path)
    _, out_nodes, issues = network_topology(routes, nodes, hub="Rathaus Otterbach")
    found = issues[issues["check"] == "hub_not_found"]
    assert found["severity"].tolist() == ["warning"] and found["feature_id"].tolist() == ["H"]
    assert "no node is named 'Rathaus Otterbach'; the node of kind hub 'Rathaus' is taken" in found["message"].iloc[0]
    assert out_nodes["network_distance_m"].notna().all()

    routes, nodes, _ = _plan(tmp_path, hub_kind="Technikstandort")
    _, out_nodes, issues = network_topology(routes, nodes, hub="Rathaus Otterbach")
    found = issues[issues["check"] == "hub_not_found"]
    assert found["severity"].tolist() == ["error"] and "'Rathaus', 'Schule'" in found["message"].iloc[0]
    assert out_nodes["network_distance_m"].isna().all()


def _buildings() -> gpd.GeoDataFrame:
    """The school (holding site S), a house 8 m off the drop (14 m off the trench), a house 20 m off the trench, one far away."""
    return gpd.GeoDataFrame(
        {"building_id": ["school", "by_drop", "by_trench", "far"]},
        geometry=[shapely.box(*_xy(45, 12), *_xy(55, 22)), shapely.box(*_xy(58, 14), *_xy(64, 20)),
                  shapely.box(*_xy(80, -28), *_xy(90, -20)), shapely.box(*_xy(300, 300), *_xy(310, 310))],
        crs=CRS)


def _status(tmp_path: Path, **plan: str) -> dict[str, str]:
    routes, nodes, _ = _plan(tmp_path, **plan)
    routes, nodes, _ = network_topology(routes, nodes, hub=plan.get("hub", "Rathaus"))
    buildings = _buildings()
    nodes, _, _ = site_buildings(nodes, buildings)
    out = buildings_with_fibre(buildings, routes, nodes, reachable_distance_m=10.0)
    return dict(zip(out["building_id"], out["fibre_status"], strict=True))


def test_fibre_status_counts_built_routes_and_sites_that_reach_the_hub(tmp_path: Path) -> None:
    assert _status(tmp_path) == {"school": "connected", "by_drop": "reachable", "by_trench": "none", "far": "none"}
    # the drop only planned: the house beside it has only a planned route in reach, and the school's site
    # reaches the hub only along the plan: a council reads "connected" as fibre in service, so it is planned
    planned = _status(tmp_path, drop_status="geplant")
    assert planned["by_drop"] == "planned" and planned["school"] == "planned"


def test_a_site_cut_off_from_the_hub_is_not_connected(tmp_path: Path) -> None:
    routes, nodes, _ = _plan(tmp_path)
    routes = routes[routes["route_id"] == "D1"].copy()  # the trench to the hub is missing
    routes, nodes, _ = network_topology(routes, nodes, hub="Rathaus")
    buildings = _buildings()
    nodes, _, _ = site_buildings(nodes, buildings)
    out = buildings_with_fibre(buildings, routes, nodes, reachable_distance_m=10.0).set_index("building_id")
    assert out.loc["school", "fibre_status"] == "reachable"


def test_nodes_without_id_get_their_row_and_values_map_per_field(tmp_path: Path) -> None:
    routes = gpd.GeoDataFrame({"kind": ["Bestand", "Spülbohrung"], "status": ["Bestand", "im Bau"]},
                              geometry=[LineString([_xy(0, 0), _xy(50, 0)]), LineString([_xy(50, 0), _xy(90, 0)])], crs=CRS)
    nodes = gpd.GeoDataFrame({"Nr": ["K1", None, ""], "kind": ["Technikzentrale", "NVt", "HÜP"], "name": ["POP", "M1", "M2"]},
                             geometry=[Point(_xy(0, 0)), Point(_xy(50, 0)), Point(_xy(90, 0))], crs=CRS)
    routes.to_file(tmp_path / "routes.geojson")
    nodes.to_file(tmp_path / "nodes.geojson")
    config = FibreConfig(routes=tmp_path / "routes.geojson", nodes=tmp_path / "nodes.geojson", hub="POP",
                         node_columns={"node_id": "Nr"}, values={"Bestand": "in_service"})
    read_routes = fibre.read_routes(config, target_crs=CRS)
    assert read_routes["kind"].tolist() == ["duct", "trench"]  # "Bestand" = "in_service" is no kind
    assert read_routes["status"].tolist() == ["in_service", "planned"]
    read_nodes = fibre.read_nodes(config, target_crs=CRS)
    assert read_nodes["node_id"].tolist() == ["K1", "N00002", "N00003"]
    assert read_nodes["kind"].tolist() == ["hub", "distribution", "site"]


def test_a_hub_in_the_street_serves_no_neighbour(tmp_path: Path) -> None:
    nodes = gpd.GeoDataFrame({"node_id": ["H", "S"], "kind": ["hub", "site"], "name": ["POP", "Schule"]},
                             geometry=[Point(_xy(0, -8)), Point(_xy(50, -8))], crs=CRS)
    buildings = gpd.GeoDataFrame({"building_id": ["garage", "school"]},
                                 geometry=[shapely.box(*_xy(-5, 0), *_xy(5, 6)), shapely.box(*_xy(45, 0), *_xy(55, 6))],
                                 crs=CRS)
    out, connections, issues = site_buildings(nodes, buildings, max_distance_m=30.0)
    linked = out.set_index("node_id")["building_id"]
    assert pd.isna(linked["H"]) and linked["S"] == "school"
    assert connections["node_id"].tolist() == ["S"] and issues.empty


def test_a_site_between_two_buildings_links_the_same_one_whatever_buildings_are_searched() -> None:
    """Ties go to the smallest building id: the dask engine searches each site's candidates only."""
    n = 300  # a row of terraced houses, a site on every shared wall
    houses = gpd.GeoDataFrame({"building_id": [f"B{i:03d}" for i in range(n)]},
                              geometry=[shapely.box(*_xy(10 * i, 0), *_xy(10 * i + 10, 10)) for i in range(n)], crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": [f"S{i:03d}" for i in range(1, n)], "kind": "site", "name": "Wand"},
                             geometry=[Point(_xy(10 * i, 5)) for i in range(1, n)], crs=CRS)
    expected = [f"B{i - 1:03d}" for i in range(1, n)]
    for subset in (houses, houses.iloc[::-1], houses.sample(frac=1.0, random_state=7)):
        linked, _, _ = site_buildings(nodes, subset)
        assert linked["building_id"].tolist() == expected


def test_a_scheduler_address_without_port_is_refused_before_any_work() -> None:
    from twin.errors import ConfigError
    from twin.runner.dask_engine import check_scheduler

    check_scheduler("tcp://10.0.0.5:8786")
    with pytest.raises(ConfigError, match=r"--scheduler not a url: is no scheduler address .*tcp://HOST:PORT"):
        check_scheduler("not a url")


def test_a_second_hub_is_reported_not_silently_made_a_distribution_point() -> None:
    routes = gpd.GeoDataFrame({"route_id": ["A", "B"], "kind": ["trench", "trench"], "status": ["built", "built"]},
                              geometry=[LineString([_xy(0, 0), _xy(100, 0)]), LineString([_xy(100, 0), _xy(100, 80)])],
                              crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": ["H", "P2", "S"], "kind": ["hub", "hub", "site"],
                              "name": ["Rathaus", "PoP Bahnhof", "Schule"]},
                             geometry=[Point(_xy(0, 0)), Point(_xy(100, 0)), Point(_xy(100, 80))], crs=CRS)
    _, out_nodes, issues = network_topology(routes, nodes, hub="Rathaus")
    assert out_nodes["kind"].tolist() == ["hub", "distribution", "site"]
    found = issues[issues["check"] == "second_hub"]
    assert found["feature_id"].tolist() == ["P2"] and found["severity"].tolist() == ["warning"]
    assert found["message"].iloc[0] == ("node 'PoP Bahnhof' is of kind hub, but the network is measured from the hub "
                                        "'Rathaus': it counts as a distribution point; set [fibre] hub or correct its kind")
    _, _, issues = network_topology(routes, nodes, hub="Rathaus Otterbach")  # no node of that name: the first hub
    assert issues.loc[issues["check"] == "second_hub", "feature_id"].tolist() == ["P2"]
    # no hub named in the pipeline (no town's default): the node of kind hub, the first of two, and the other named
    _, out_nodes, issues = network_topology(routes, nodes)
    assert out_nodes["kind"].tolist() == ["hub", "distribution", "site"]
    assert issues["check"].tolist() == ["second_hub"] and issues["feature_id"].tolist() == ["P2"]
    assert out_nodes["network_distance_m"].tolist() == pytest.approx([0.0, 100.0, 180.0], abs=0.01)
    alone = nodes.assign(kind=["hub", "distribution", "site"])
    assert network_topology(routes, alone)[2].empty  # one hub, no name needed, nothing to report
    _, _, none = network_topology(routes, nodes.assign(kind=["distribution", "distribution", "site"]))
    assert none["check"].tolist() == ["hub_not_found"] and none["severity"].tolist() == ["error"]
    assert none["message"].iloc[0].startswith("no node is of kind hub: distances from the hub")


def test_in_service_distance_counts_only_built_and_in_service_routes() -> None:
    """A school whose way to the hub ends in a planned trench is planned, not connected (a council counts on it)."""
    routes = gpd.GeoDataFrame({"route_id": ["A", "B"], "kind": ["trench", "trench"], "status": ["in_service", "planned"]},
                              geometry=[LineString([_xy(0, 0), _xy(100, 0)]), LineString([_xy(100, 0), _xy(150, 0)])],
                              crs=CRS)
    nodes = gpd.GeoDataFrame({"node_id": ["H", "S1", "S2"], "kind": ["hub", "site", "site"],
                              "name": ["Zentrale", "Rathaus", "Schule"]},
                             geometry=[Point(_xy(0, 0)), Point(_xy(100, 0)), Point(_xy(150, 0))], crs=CRS)
    _, out, _ = network_topology(routes, nodes)
    assert out["network_distance_m"].tolist() == pytest.approx([0.0, 100.0, 150.0])
    assert out["in_service_distance_m"].iloc[:2].tolist() == pytest.approx([0.0, 100.0])
    assert np.isnan(out["in_service_distance_m"].iloc[2])
    buildings = gpd.GeoDataFrame({"building_id": ["town_hall", "school"]},
                                 geometry=[Point(_xy(100, 0)).buffer(5), Point(_xy(150, 0)).buffer(5)], crs=CRS)
    linked, _, _ = site_buildings(out, buildings)
    status = buildings_with_fibre(buildings, routes, linked).set_index("building_id")["fibre_status"]
    assert status.to_dict() == {"town_hall": "connected", "school": "planned"}
