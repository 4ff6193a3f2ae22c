"""The inner city's streets from the OSM highways, and the street graph drives and trenches follow."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from twin.sample.osm_extract import CRS, Extract

#: Highways a camera car drives (and the street layer holds, with pedestrian zones).
DRIVEN = ("primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link",
          "unclassified", "residential", "living_street")
#: Highways of the street layer and of the fibre trenches: the driven ones, pedestrian zones, named service roads.
STREETS = (*DRIVEN, "pedestrian", "service")
#: Vertices closer than this (m) are one junction.
_SNAP_M = 0.01


def inner_streets(extract: Extract, area: shapely.Polygon) -> gpd.GeoDataFrame:
    """Highways of :data:`STREETS` (service roads only where named) clipped to `area`, one row per part.

    Columns ``street_id`` (``S000001`` ...), ``name`` and ``highway``.
    """
    ways = extract.highways
    wanted = ways["highway"].isin(STREETS) & ((ways["highway"] != "service") | ways["name"].notna())
    ways = ways.loc[wanted]
    clipped = shapely.intersection(ways.geometry.to_numpy(), area)
    parts, index = shapely.get_parts(shapely.line_merge(clipped), return_index=True)
    lines = shapely.get_type_id(parts) == 1
    parts, index = parts[lines], index[lines]
    return gpd.GeoDataFrame({
        "street_id": [f"S{k + 1:06d}" for k in range(len(parts))],
        "name": ways["name"].to_numpy()[index], "highway": ways["highway"].to_numpy()[index],
    }, geometry=parts, crs=CRS)


def street_graph(streets: gpd.GeoDataFrame) -> nx.Graph:
    """Junction-to-junction edges (``length``, ``line``) of `streets`, joined where ways share a vertex.

    OSM ways meet in shared nodes; a vertex used by two ways (or a way's end) is a junction, and
    every way is cut there. Nodes are ``(x, y)`` rounded to :data:`_SNAP_M`.
    """
    coords, owner = shapely.get_coordinates(streets.geometry.to_numpy(), return_index=True)
    keys = np.round(coords / _SNAP_M).astype(np.int64)
    table = pd.DataFrame({"kx": keys[:, 0], "ky": keys[:, 1], "owner": owner})
    ways_at = table.drop_duplicates().groupby(["kx", "ky"])["owner"].transform("size")
    first = np.r_[True, owner[1:] != owner[:-1]]
    last = np.r_[owner[1:] != owner[:-1], True]
    junction = (ways_at.to_numpy() >= 2) | first | last
    graph = nx.Graph()
    starts = np.flatnonzero(first)
    ends = np.flatnonzero(last)
    for start, end in zip(starts, ends, strict=True):  # a few hundred ways of the inner city
        cuts = start + np.flatnonzero(junction[start:end + 1])
        for a, b in itertools.pairwise(cuts):
            line = shapely.LineString(coords[a:b + 1])
            u, v = (int(keys[a, 0]), int(keys[a, 1])), (int(keys[b, 0]), int(keys[b, 1]))
            if u == v or (graph.has_edge(u, v) and graph.edges[u, v]["length"] <= line.length):
                continue
            graph.add_edge(u, v, length=float(line.length), line=line, name=streets["name"].iloc[owner[a]])
    return graph


def largest_part(graph: nx.Graph) -> nx.Graph:
    """The connected part of `graph` with the most street length."""
    parts = sorted(nx.connected_components(graph), key=lambda nodes: (-graph.subgraph(nodes).size(weight="length"), min(nodes)))
    return graph.subgraph(parts[0]).copy()


def nearest_nodes(graph: nx.Graph, points: np.ndarray) -> list[tuple[int, int]]:
    """The graph node nearest to each point (shapely points)."""
    nodes = sorted(graph.nodes)
    xy = np.array(nodes, dtype=float) * _SNAP_M
    tree = shapely.STRtree(shapely.points(xy))
    found = tree.query_nearest(points, all_matches=False, return_distance=False)
    return [nodes[int(i)] for i in found[1][np.argsort(found[0], kind="stable")]]


def node_point(node: tuple[int, int]) -> tuple[float, float]:
    """Coordinates of a graph node."""
    return node[0] * _SNAP_M, node[1] * _SNAP_M


def oriented(graph: nx.Graph, a: tuple[int, int], b: tuple[int, int]) -> shapely.LineString:
    """The geometry of edge a-b running from a to b."""
    line: shapely.LineString = graph.edges[a, b]["line"]
    start = shapely.get_coordinates(line)[0]
    if np.allclose(start, node_point(a), rtol=0.0, atol=_SNAP_M):
        return line
    return shapely.reverse(line)


def drive_route(graph: nx.Graph, start: tuple[int, int], *, length_m: float,
                after: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """A camera car's route from `start`: each next street is the nearest one not yet driven.

    Walks on along an undriven street where the junction has one (the first in the graph's order),
    else takes the shortest way to the nearest undriven street; stops after about `length_m`.
    Streets of the route `after` (an earlier campaign) count as driven: they are passed, not sought.
    """
    driven = {frozenset(pair) for pair in itertools.pairwise(after or [])}
    route, here, total = [start], start, 0.0
    while total < length_m and len(driven) < graph.number_of_edges():
        ahead = [n for n in sorted(graph.neighbors(here)) if frozenset((here, n)) not in driven]
        if ahead:
            path = [here, ahead[0]]
        else:
            dist, paths = nx.single_source_dijkstra(graph, here, weight="length")
            target = min((d, n) for n, d in dist.items()
                         if any(frozenset((n, m)) not in driven for m in graph.neighbors(n)))[1]
            path = paths[target]
        for a, b in itertools.pairwise(path):
            driven.add(frozenset((a, b)))
            total += graph.edges[a, b]["length"]
        route.extend(path[1:])
        here = path[-1]
    return route


def route_line(graph: nx.Graph, route: list[tuple[int, int]]) -> shapely.LineString:
    """The route's streets as one line, in the direction driven."""
    parts = [shapely.get_coordinates(oriented(graph, a, b)) for a, b in itertools.pairwise(route)]
    coords = np.concatenate([parts[0], *[p[1:] for p in parts[1:]]])
    return shapely.LineString(coords)
