"""RAINBOW on the real streets: a star from the city hall to the inner city's schools, museums and offices.

Routes follow the shortest ways through the street graph; the network grows outwards: the nearer
half of the sites is in service, the next quarter built, the farthest quarter planned. Every street
segment takes the most advanced status of the sites it serves.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from twin.sample.fibre import Network, with_drawing_faults
from twin.sample.osm_extract import CRS
from twin.sample.osm_streets import nearest_nodes, node_point, oriented

#: Status by rank: lower is further along.
_STATUS = ("in_service", "built", "planned")


def make_star(rng: np.random.Generator, graph: nx.Graph, buildings: gpd.GeoDataFrame, sites: pd.DataFrame,
              *, hall: int, streets: gpd.GeoDataFrame) -> Network:
    """Routes, nodes (hub ``Rathaus``, sites, distribution points) and the street segments they follow."""
    served = np.r_[hall, sites["position"].to_numpy()]
    inside = shapely.point_on_surface(buildings.geometry.to_numpy()[served])
    entry = nearest_nodes(graph, inside)
    distance, paths = nx.single_source_dijkstra(graph, entry[0], weight="length")
    reach = np.array([entry[k] in distance for k in range(1, len(served))])
    order = np.argsort([distance.get(entry[k], np.inf) for k in range(1, len(served))], kind="stable")
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.minimum(np.arange(len(order)) * 4 // max(len(order), 1), 3)
    site_status = np.array([0, 0, 1, 2])[rank]
    best: dict[frozenset[tuple[int, int]], int] = {}
    for k in np.flatnonzero(reach):  # a few dozen sites
        path = paths[entry[k + 1]]
        for a, b in itertools.pairwise(path):
            key = frozenset((a, b))
            best[key] = min(best.get(key, 2), int(site_status[k]))
    tree = sorted(best, key=sorted)
    lines = [oriented(graph, *sorted(e)) for e in tree]
    drops = [shapely.LineString([node_point(entry[k]), shapely.get_coordinates(inside[k])[0]])
             for k in range(len(served)) if k == 0 or reach[k - 1]]
    drop_status = [0] + [int(s) for s, r in zip(site_status, reach, strict=True) if r]
    status = np.array(_STATUS)[np.r_[[best[e] for e in tree], drop_status].astype(int)]
    routes = _routes(rng, lines + drops, status, n_drops=len(drops))
    degree = pd.Series([n for e in tree for n in sorted(e)]).value_counts(sort=False)
    junctions = sorted(n for n, d in degree.items() if d >= 3)
    kept = np.r_[True, reach]
    nodes = _nodes(buildings, served[kept], inside[kept], sites["name"].to_numpy()[reach], junctions)
    return Network(with_drawing_faults(routes), nodes, streets)


def _routes(rng: np.random.Generator, lines: list[shapely.LineString], status: np.ndarray, *, n_drops: int) -> gpd.GeoDataFrame:
    n = len(lines)
    kind = rng.choice(["trench", "duct", "aerial"], size=n, p=[0.75, 0.2, 0.05])
    kind[n - n_drops:] = "trench"
    return gpd.GeoDataFrame(
        {"route_id": [f"R{k + 1:04d}" for k in range(n)], "kind": kind, "status": status,
         "ducts": rng.choice([1, 2, 4], size=n), "fibres": rng.choice([96, 144, 288], size=n)},
        geometry=lines, crs=CRS,
    )


def _nodes(buildings: gpd.GeoDataFrame, served: np.ndarray, inside: np.ndarray, names: np.ndarray,
           junctions: list[tuple[int, int]]) -> gpd.GeoDataFrame:
    labels = ["Rathaus", *names.tolist(), *[f"VP {k + 1:02d}" for k in range(len(junctions))]]
    kinds = ["hub"] + ["site"] * len(names) + ["distribution"] * len(junctions)
    oi = [*buildings["OI"].to_numpy()[served].tolist(), *[None] * len(junctions)]
    points = [*inside.tolist(), *[shapely.Point(node_point(n)) for n in junctions]]
    return gpd.GeoDataFrame(
        {"node_id": [f"N{k + 1:03d}" for k in range(len(labels))], "kind": kinds, "name": labels, "building_oi": oi},
        geometry=points, crs=CRS,
    )
