"""The fibre network as a graph the way OSMnx builds street graphs, and paths that say why they are missing.

>>> import geopandas as gpd
>>> from shapely import LineString, Point
>>> from twin.transforms.routing import RouteNetwork
>>> routes = gpd.GeoDataFrame({"route_id": ["a"], "kind": ["trench"], "status": ["built"]},
...     geometry=[LineString([(0, 0), (100, 0)])], crs="EPSG:25832")
>>> nodes = gpd.GeoDataFrame({"node_id": ["hub"], "kind": ["hub"], "name": ["Rathaus"]},
...     geometry=[Point(0, 0)], crs="EPSG:25832")
>>> graph = osmnx_graph(RouteNetwork(routes, nodes))
>>> graph.graph["crs"], graph.nodes[0]["x"], graph.edges[0, 1, 0]["length"]
('EPSG:25832', 0.0, 100.0)
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from twin.errors import RecordError
from twin.transforms.routing import NetworkPath, RouteNetwork

__all__ = ["osmnx_graph", "path_with_reason"]

#: Route fields copied onto each edge.
EDGE_FIELDS = ("route_id", "name", "kind", "status", "ducts", "fibres")
#: Node fields copied onto the vertex a fibre node sits on.
NODE_FIELDS = ("node_id", "kind", "name", "building_id")


def _plain(value: object) -> object:
    """A value as networkx users expect it: a Python scalar, None where missing."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def osmnx_graph(network: RouteNetwork) -> nx.MultiDiGraph:
    """`network` as a networkx MultiDiGraph as OSMnx makes them.

    Vertices (route ends joined within the tolerance) are numbered from 0 with ``x`` and ``y`` in the CRS
    of the routes, plus ``node_id``, ``kind``, ``name`` and ``building_id`` where a fibre node sits on them.
    Every route is an edge in both directions (fibre has no one-way routes) with ``length`` (metres),
    the route's fields and its ``geometry`` oriented from ``u`` to ``v``. ``graph["crs"]`` is the CRS.
    """
    crs = network.routes.crs
    graph = nx.MultiDiGraph(crs=None if crs is None else crs.to_string(), name="fibre routes")
    xy = network.vertex_xy
    graph.add_nodes_from((int(i), {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(xy))
    placed = network.node_vertex.to_numpy() >= 0
    nodes = network.nodes.loc[placed]
    for vertex, (_, node) in zip(network.node_vertex.to_numpy()[placed], nodes.iterrows(), strict=True):
        attributes = graph.nodes[int(vertex)]
        if "node_id" not in attributes:  # two nodes on one vertex: the first names it
            attributes.update({f: _plain(node.get(f)) for f in NODE_FIELDS})
    routes = network.routes
    lines = shapely.line_merge(routes.geometry.to_numpy())
    lengths = shapely.length(lines)
    records = routes[[f for f in EDGE_FIELDS if f in routes.columns]].to_dict("records")
    for row, (u, v) in enumerate(zip(network.start_vertex, network.end_vertex, strict=True)):
        fields = {k: _plain(value) for k, value in records[row].items()}
        line = lines[row]
        graph.add_edge(int(u), int(v), length=float(lengths[row]), geometry=line, **fields)
        graph.add_edge(int(v), int(u), length=float(lengths[row]), geometry=shapely.reverse(line), **fields)
    return graph


def path_with_reason(network: RouteNetwork, everything: RouteNetwork, node_id: str, *,
                     statuses: tuple[str, ...] | None) -> NetworkPath:
    """The path to `node_id` on `network` (routes of `statuses`); when there is none but `everything` (all
    routes) has one, say which statuses lead there instead of "not on the network"."""
    try:
        return network.path(node_id)
    except RecordError as missing:
        if statuses is None:
            raise
        try:
            other = everything.path(node_id)
        except RecordError:
            raise missing from None
        others = sorted(set(other.segments["status"].astype("str")) - set(statuses))
        only = " and ".join(others)
        raise RecordError(f"fibre_nodes, node {node_id}",
                          f"no route of status {', '.join(statuses)} leads there; only {only} routes lead there",
                          fix="leave out statuses to follow every route") from None
