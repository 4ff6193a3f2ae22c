"""A building's distance to the hub along the network, from its sites, as the published model states it.

The fibre plan is written as GeoJSON into a small city; the expected distances are the lengths of
the route geometries the test wrote, summed along the only way from the hub to each site.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

import twin
from tests.runner.conftest import CRS, X0, Y0
from twin.config import read_pipeline

#: The hub lies in the first building, the sites S and S2 in the building at (30, 30) of the city's grid.
HUB, SITE, SITE_2 = (6.0, 5.0), (36.0, 35.0), (40.0, 38.0)


def _plan(raw: Path, *, feeder_status: str) -> gpd.GeoDataFrame:
    """In-service trunk from the hub to a corner, a feeder (`feeder_status`) on to the site, a planned
    branch on to the building's second site; written as the city's fibre inputs."""
    def line(*points: tuple[float, float]) -> shapely.LineString:
        return shapely.LineString([(X0 + x, Y0 + y) for x, y in points])

    routes = gpd.GeoDataFrame(
        {"route_id": ["TRUNK", "FEEDER", "BRANCH"], "kind": ["trench", "duct", "duct"],
         "status": ["in_service", feeder_status, "planned"], "ducts": [2, 1, 1], "fibres": [96, 24, 24]},
        geometry=[line(HUB, (6, 20), (36, 20)), line((36, 20), SITE), line(SITE, SITE_2)], crs=CRS)
    nodes = gpd.GeoDataFrame(
        {"node_id": ["H", "S", "S2"], "kind": ["hub", "site", "site"], "name": ["Rathaus", "Schule", "Schule Anbau"]},
        geometry=shapely.points([[X0 + x, Y0 + y] for x, y in (HUB, SITE, SITE_2)]), crs=CRS)
    for name in ("routes.geojson", "nodes.geojson"):
        (raw / name).unlink()
    routes.to_file(raw / "routes.geojson")
    nodes.to_file(raw / "nodes.geojson")
    return routes


def _school(city: Path) -> gpd.GeoSeries:
    output = twin.run(read_pipeline(city), report=False).output
    buildings = pyogrio.read_dataframe(output, layer="buildings", use_arrow=True)
    nodes = pyogrio.read_dataframe(output, layer="fibre_nodes", use_arrow=True).set_index("node_id")
    served = buildings.set_index("building_id").loc[nodes.loc["S", "building_id"]]
    assert nodes.loc["S2", "building_id"] == served.name  # both sites serve the one building
    return served


def test_a_site_reached_only_over_a_planned_route_is_planned_until_the_route_is_built(city: Path) -> None:
    raw = city.parent / "raw"
    routes = _plan(raw, feeder_status="planned")
    length = routes.set_index("route_id").length
    to_site = length["TRUNK"] + length["FEEDER"]
    assert to_site < to_site + length["BRANCH"]  # S is the nearer of the building's two sites

    planned = _school(city)
    assert planned["fibre_status"] == "planned"
    assert np.isnan(planned["network_distance_m"])
    assert planned["planned_network_distance_m"] == pytest.approx(to_site, abs=0.01)

    _plan(raw, feeder_status="built")
    built = _school(city)
    assert built["fibre_status"] == "connected"
    assert built["network_distance_m"] == pytest.approx(to_site, abs=0.01)
    assert built["planned_network_distance_m"] == pytest.approx(to_site, abs=0.01)


def test_buildings_without_a_site_have_no_network_distance(city: Path) -> None:
    _plan(city.parent / "raw", feeder_status="built")
    output = twin.run(read_pipeline(city), report=False).output
    buildings = pyogrio.read_dataframe(output, layer="buildings", use_arrow=True)
    sited = set(pyogrio.read_dataframe(output, layer="fibre_nodes", use_arrow=True)["building_id"].dropna())
    others = buildings.loc[~buildings["building_id"].isin(sited)]
    assert len(others) and others["network_distance_m"].isna().all()
    assert others["planned_network_distance_m"].isna().all()
    assert set(others["fibre_status"]) <= {"reachable", "planned", "none"}
