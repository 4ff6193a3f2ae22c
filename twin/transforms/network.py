"""The fibre network: route facts and its links to buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin import parallel
from twin.model.frames import labels, positions, require_same_crs
from twin.model.qa import qa_issues

#: Buildings this close to a route can be connected (m).
REACHABLE_DISTANCE_M = 50.0
#: The nearest route is looked for up to this distance; farther buildings get no fibre_distance_m (m).
DISTANCE_CAP_M = 500.0
#: A site node outside every building is linked to the nearest one within this (m).
CONNECTION_DISTANCE_M = 30.0


def site_buildings(
    nodes: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, max_distance_m: float = CONNECTION_DISTANCE_M
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Link every site node to the building containing it, else the nearest within reach; the hub only
    to the building containing it (a PoP cabinet in the street serves no neighbour).

    Returns the nodes with ``building_id``, the ``fibre_connections`` lines
    and QA rows for sites that serve no building.
    """
    require_same_crs(nodes, buildings, names=('fibre_nodes', 'buildings'))
    served = nodes["kind"].isin(["hub", "site"]).to_numpy()
    sites = nodes.loc[served, ["node_id", "geometry"]]
    near = gpd.sjoin_nearest(sites, buildings[["building_id", "geometry"]], how="left",
                             max_distance=max_distance_m, distance_col="distance_m")
    # of buildings at the same distance the one with the smallest id: the same choice whichever
    # buildings the search saw (the dask engine searches each site's candidates only)
    near = near.assign(_order=np.arange(len(near))).sort_values(["distance_m", "building_id", "_order"],
                                                                kind="stable", na_position="last")
    near = near[~near.index.duplicated(keep="first")].sort_values("_order").drop(columns="_order")
    hubs = (nodes.loc[near.index, "kind"] == "hub").to_numpy()
    near.loc[hubs & (near["distance_m"] > 0).to_numpy(), "building_id"] = None
    out = nodes.copy()
    out["building_id"] = pd.Series(None, index=out.index, dtype="str")
    out.loc[near.index, "building_id"] = near["building_id"].astype("str")
    found = near[near["building_id"].notna()]
    targets = buildings.geometry.to_numpy()[positions(found["building_id"], buildings["building_id"])]
    lines = shapely.shortest_line(found.geometry.to_numpy(), shapely.point_on_surface(targets))
    connections = gpd.GeoDataFrame(
        {"building_id": found["building_id"].to_numpy(), "node_id": found["node_id"].to_numpy(),
         "length_m": shapely.length(lines).round(2)},
        geometry=gpd.GeoSeries(lines, crs=nodes.crs),
    )
    lost = near[near["building_id"].isna().to_numpy() & ~hubs]
    issues = qa_issues(layer="fibre_nodes", feature_ids=lost["node_id"], check="site_without_building",
                       severity="warning", geometry=lost.geometry, crs=nodes.crs,
                       messages=f"no building contains this site or lies within {max_distance_m} m")
    return out, connections, issues


def buildings_with_fibre(
    buildings: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    nodes: gpd.GeoDataFrame,
    *,
    reachable_distance_m: float = REACHABLE_DISTANCE_M,
    distance_cap_m: float = DISTANCE_CAP_M,
) -> gpd.GeoDataFrame:
    """Return a copy with ``fibre_status``, ``fibre_distance_m`` (to the nearest route of any status),
    ``network_distance_m`` and ``planned_network_distance_m``.

    ``connected``: a site in the building reaches the hub along built or in-service routes (any site,
    when the network has no hub to reach); ``planned``: a site reaches it only over planned routes, or
    only planned routes lie within `reachable_distance_m`; ``reachable``: a route that is not only
    planned lies within it; ``none``: no route does. The nearest
    route is searched up to `distance_cap_m` (a bounded search is several times faster on large
    regions); farther buildings get no distance.

    ``network_distance_m`` is the distance of the building's site from the hub along built and in-service
    routes (the nodes' ``in_service_distance_m``), ``planned_network_distance_m`` the same when planned
    routes count too (the nodes' ``network_distance_m``); of several sites in one building, the nearest.
    Both are empty where no such way leads to the hub.
    """
    require_same_crs(buildings, routes, names=('buildings', 'fibre_routes'))
    out = buildings.copy(deep=False)  # copy-on-write: the new columns only
    geoms = out.geometry.to_numpy()
    distance = np.full(len(out), np.nan)
    nearest = np.zeros(len(out), dtype=np.intp)
    if len(routes):
        tree = shapely.STRtree(routes.geometry.to_numpy())
        (b_idx, r_idx), dist = parallel.query_nearest(tree, geoms, all_matches=False,
                                                      max_distance=max(distance_cap_m, reachable_distance_m))
        distance[b_idx], nearest[b_idx] = dist, r_idx
    near = distance <= reachable_distance_m
    only_planned = _only_planned(geoms, routes, near, nearest, reachable_distance_m)
    linked = _connected(out, nodes, "network_distance_m")  # over any routes, planned ones included
    status = np.select([_connected(out, nodes, "in_service_distance_m"), linked | only_planned, near],
                       [0, 1, 2], 3).astype(np.int8)
    out["fibre_status"] = labels(status, FIBRE_STATUSES, out.index)
    out["fibre_distance_m"] = np.round(distance, 2)
    out["network_distance_m"] = _site_distance(out, nodes, "in_service_distance_m")
    out["planned_network_distance_m"] = _site_distance(out, nodes, "network_distance_m")
    return out


#: The values of ``fibre_status``, from the best served.
FIBRE_STATUSES = ("connected", "planned", "reachable", "none")


def _site_distance(buildings: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, distance: str) -> np.ndarray:
    """Per building, the smallest `distance` of the nodes linked to it (NaN where none has one)."""
    if distance not in nodes or "building_id" not in nodes:
        return np.full(len(buildings), np.nan)
    nearest = nodes[["building_id", distance]].dropna().groupby("building_id")[distance].min()
    at = positions(buildings["building_id"], nearest.index.to_series())
    return np.append(nearest.to_numpy(dtype="float64"), np.nan)[at]  # -1: none, the NaN at the end


def _connected(buildings: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, distance: str) -> np.ndarray:
    """Buildings holding a site (or the hub) that reaches the hub by the `distance` column of the nodes
    (``in_service_distance_m``: over built and in-service routes); any site when there is no hub."""
    served = nodes
    if (nodes["kind"].astype("str") == "hub").any():
        column = distance if distance in nodes else "network_distance_m"
        served = nodes.loc[nodes[column].notna()] if column in nodes else nodes
    return buildings["building_id"].isin(served["building_id"].dropna()).to_numpy()


def _only_planned(geoms: np.ndarray, routes: gpd.GeoDataFrame, near: np.ndarray, nearest: np.ndarray,
                  distance_m: float) -> np.ndarray:
    """Buildings whose routes within `distance_m` are all planned (looked up only where the nearest is)."""
    planned = (routes["status"].astype("str") == "planned").to_numpy() if "status" in routes else np.zeros(len(routes), bool)
    out = np.zeros(len(geoms), bool)
    check = np.flatnonzero(near & planned[nearest]) if planned.any() else np.array([], dtype=np.intp)
    if not len(check):
        return out
    out[check] = True
    if (~planned).any():
        other = shapely.STRtree(routes.geometry.to_numpy()[~planned])
        hits, _ = other.query(geoms[check], predicate="dwithin", distance=distance_m)
        out[check[np.unique(hits)]] = False
    return out
