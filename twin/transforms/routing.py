"""Routes through the fibre network: a graph of the route segments, paths and distances from the hub.

Route segments meet at their end points; ends closer than `tolerance_m` are
one vertex. Nodes (hub, distribution points, sites) are placed on the vertex
nearest to them. Edge weights are segment lengths in metres. The edges are
arrays, and degrees, components and distances from the hub are computed on a
sparse matrix (scipy), so a network of 100,000 routes takes about a second;
the networkx graph of the same edges is built only when asked for (`graph`,
`path`).

>>> import geopandas as gpd
>>> from shapely import LineString, Point
>>> routes = gpd.GeoDataFrame({"route_id": ["a", "b"]},
...     geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0.2), (100, 50)])], crs="EPSG:25832")
>>> nodes = gpd.GeoDataFrame({"node_id": ["hub", "s"], "kind": ["hub", "site"]},
...     geometry=[Point(0, 0), Point(100, 50)], crs="EPSG:25832")
>>> network = RouteNetwork(routes, nodes)
>>> path = network.path("s")
>>> path.route_ids, round(path.length_m, 1)
(['a', 'b'], 149.8)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from twin.errors import NotFoundError, RecordError
from twin.model.frames import require_same_crs

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["SNAP_TOLERANCE_M", "Edges", "NetworkPath", "RouteNetwork"]

#: Route ends (and nodes) closer than this are the same vertex of the network (m).
SNAP_TOLERANCE_M = 0.5


@dataclass(frozen=True)
class Edges:
    """The edges of the route graph as arrays: one per pair of vertices a route joins.

    Of parallel routes (the same two vertices) the shortest is the edge; a route whose
    ends are one vertex is none. Edges are in the order of their routes by length,
    longest first, the order in which `RouteNetwork.graph` adds them.
    """

    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return len(self.u)


@dataclass(frozen=True)
class NetworkPath:
    """The way along the fibre network from the hub to one node.

    Attributes
    ----------
    node_id
        The node the path leads to.
    segments
        The route segments in order from the hub, with ``distance_from_hub_m``
        (along the network, at the far end of each segment).
    line
        The whole path as one LineString, oriented from the hub to the node.
    """

    node_id: str
    segments: gpd.GeoDataFrame
    line: LineString

    @property
    def length_m(self) -> float:
        """Length along the network in metres (the sum of the segments' lengths)."""
        if self.segments.empty:
            return 0.0
        return float(self.segments["distance_from_hub_m"].iloc[-1])

    @property
    def route_ids(self) -> list[str]:
        """The ``route_id`` of every segment, from the hub outwards."""
        return [str(v) for v in self.segments["route_id"]]

    def __repr__(self) -> str:
        return f"<NetworkPath to {self.node_id}: {len(self.segments)} segments, {self.length_m:.0f} m>"


class RouteNetwork:
    """The fibre routes as a graph with the nodes placed on it (a networkx graph on demand).

    Parameters
    ----------
    routes
        ``fibre_routes`` rows (``route_id`` and line geometry).
    nodes
        ``fibre_nodes`` rows (``node_id``, ``kind``; one with kind ``hub``).
    tolerance_m
        Route ends and nodes closer than this are one vertex.
    """

    def __init__(self, routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, *,
                 tolerance_m: float = SNAP_TOLERANCE_M) -> None:
        require_same_crs(routes, nodes, names=("fibre_routes", "fibre_nodes"))
        self.routes = routes.reset_index(drop=True)
        self.nodes = nodes
        self.tolerance_m = tolerance_m
        self._vertex_xy, start, end = _route_ends(self.routes, tolerance_m)
        self._start, self._end = start, end
        self.edges = _edges(self.routes, start, end)
        self.node_vertex = self._place_nodes()

    @cached_property
    def graph(self) -> nx.Graph:
        """The network as an undirected networkx graph: vertices 0 .. n - 1, edges with ``length_m`` and ``row``."""
        graph = nx.Graph()
        graph.add_nodes_from(range(self.vertex_count))
        edges = self.edges
        graph.add_edges_from(
            (int(a), int(b), {"length_m": float(w), "row": int(r)})
            for a, b, w, r in zip(edges.u, edges.v, edges.length_m, edges.row, strict=True))
        return graph

    @property
    def vertex_count(self) -> int:
        """Number of vertices (route ends joined within the tolerance)."""
        return len(self._vertex_xy)

    def degree(self) -> np.ndarray:
        """Number of other vertices each vertex is joined to (parallel routes count once)."""
        count = self.vertex_count
        return np.bincount(self.edges.u, minlength=count) + np.bincount(self.edges.v, minlength=count)

    def components(self) -> np.ndarray:
        """Connected part of every vertex, numbered in the order of each part's first vertex."""
        from scipy.sparse import csgraph  # imported when first needed: scipy's BLAS threads reserve memory

        _, label = csgraph.connected_components(self._matrix(), directed=False)
        _, first, renumbered = np.unique(label, return_index=True, return_inverse=True)
        return np.argsort(np.argsort(first))[renumbered.reshape(-1)]

    def _matrix(self) -> sparse.csr_array:
        from scipy import sparse

        count = self.vertex_count
        edges = self.edges
        return sparse.csr_array((edges.length_m, (edges.u, edges.v)), shape=(count, count))

    def _place_nodes(self) -> pd.Series:
        """Vertex of each node (by ``node_id``), -1 where no route end is within the tolerance."""
        vertex = np.full(len(self.nodes), -1, dtype=np.int64)
        if len(self._vertex_xy) and len(self.nodes):
            tree = shapely.STRtree(shapely.points(self._vertex_xy))
            (n_idx, v_idx), _ = tree.query_nearest(self.nodes.geometry.to_numpy(), max_distance=self.tolerance_m,
                                                   return_distance=True, all_matches=False)
            vertex[n_idx] = v_idx
        return pd.Series(vertex, index=self.nodes["node_id"].astype("str").to_numpy())

    @property
    def vertex_xy(self) -> np.ndarray:
        """Coordinates of the graph's vertices (route ends joined within the tolerance), shape (n, 2)."""
        return self._vertex_xy

    @property
    def start_vertex(self) -> np.ndarray:
        """Vertex of the first point of every route, in the order of `routes`."""
        return self._start

    @property
    def end_vertex(self) -> np.ndarray:
        """Vertex of the last point of every route, in the order of `routes`."""
        return self._end

    @property
    def hub_id(self) -> str:
        """``node_id`` of the hub."""
        hubs = self.nodes.loc[self.nodes["kind"].astype("str") == "hub", "node_id"]
        if hubs.empty:
            raise RecordError("fibre_nodes", "has no node of kind 'hub'; the network has no start",
                              fix="set [fibre] hub to the name of the central node")
        return str(hubs.iloc[0])

    def distances(self) -> pd.Series:
        """Distance along the network from the hub to every node (m), NaN where unreachable.

        Returns
        -------
        pandas.Series
            Named ``network_distance_m``, on the index of `nodes`.
        """
        hub_vertex = int(self.node_vertex[self.hub_id])
        vertex = self.node_vertex.to_numpy()
        values = np.full(len(vertex), np.nan)
        if hub_vertex >= 0:
            from scipy.sparse import csgraph

            reached = csgraph.dijkstra(self._matrix(), directed=False, indices=hub_vertex)
            placed = vertex >= 0
            values[placed] = reached[vertex[placed]]
            values[np.isinf(values)] = np.nan
        return pd.Series(np.round(values, 2), index=self.nodes.index, name="network_distance_m", dtype="float64")

    def path(self, node_id: str) -> NetworkPath:
        """The shortest path along the routes from the hub to `node_id`.

        Raises
        ------
        twin.errors.NotFoundError
            When `node_id` is not a node (a KeyError).
        twin.errors.RecordError
            When the node is not at a route end or not connected to the hub (a ValueError).
        """
        if node_id not in self.node_vertex.index:
            raise NotFoundError("fibre_nodes", f"no node {node_id!r}", fix="give a node_id of the fibre_nodes layer")
        hub, target = int(self.node_vertex[self.hub_id]), int(self.node_vertex[node_id])
        for name, vertex in ((self.hub_id, hub), (node_id, target)):
            if vertex < 0:
                raise RecordError(f"fibre_nodes, node {name}", f"no route end within {self.tolerance_m} m; "
                                  "the node is not on the network", fix="see the node_off_network rows in qa_issues")
        try:
            vertices = nx.shortest_path(self.graph, hub, target, weight="length_m")
        except nx.NetworkXNoPath:
            raise RecordError(f"fibre_nodes, node {node_id}", f"not connected to the hub {self.hub_id} by any route",
                              fix="see the unreachable and disconnected rows in qa_issues") from None
        return self._path_from_vertices(node_id, vertices)

    def _path_from_vertices(self, node_id: str, vertices: list[int]) -> NetworkPath:
        rows = [int(self.graph.edges[u, v]["row"]) for u, v in itertools.pairwise(vertices)]
        segments = self.routes.iloc[rows].copy()
        lengths = shapely.length(segments.geometry.to_numpy())
        segments["distance_from_hub_m"] = np.round(np.cumsum(lengths), 2)
        parts: list[np.ndarray] = []
        for row, here in zip(rows, vertices[:-1], strict=True):
            coords = shapely.get_coordinates(shapely.line_merge(self.routes.geometry.iloc[row]))
            coords = coords if self._start[row] == here else coords[::-1]
            parts.append(coords[1:] if parts and np.allclose(parts[-1][-1], coords[0]) else coords)
        if parts:
            line = LineString(np.concatenate(parts))
        else:
            xy = self._vertex_xy[vertices[0]]
            line = LineString([xy, xy])
        return NetworkPath(node_id=node_id, segments=segments, line=line)


def _route_ends(routes: gpd.GeoDataFrame, tolerance_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertex coordinates and the start and end vertex of every route (ends within tolerance joined)."""
    n = len(routes)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return np.empty((0, 2)), empty, empty
    coords, index = shapely.get_coordinates(routes.geometry.to_numpy(), return_index=True)
    first = np.searchsorted(index, np.arange(n), side="left")
    last = np.searchsorted(index, np.arange(n), side="right") - 1
    ends = np.concatenate([coords[first], coords[last]])
    # ends at the very same place (many routes meeting at one point) are joined before the spatial
    # query, which then sees each place once: the pairs it returns stay near-linear in the routes
    places, at_place = np.unique(ends, axis=0, return_inverse=True)
    at_place = at_place.reshape(-1)
    points = shapely.points(places)
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=tolerance_m)
    from scipy import sparse
    from scipy.sparse import csgraph

    near = sparse.coo_array((np.ones(len(left), dtype=np.int8), (left, right)), shape=(len(places), len(places)))
    _, label = csgraph.connected_components(near, directed=False)
    # vertices numbered in the order of the routes' ends, as they come
    _, first_seen, by_end = np.unique(label[at_place], return_index=True, return_inverse=True)
    label = np.argsort(np.argsort(first_seen))[by_end.reshape(-1)]
    vertex_xy = np.zeros((int(label.max()) + 1, 2))
    vertex_xy[label] = ends
    return vertex_xy, label[:n], label[n:]


def _edges(routes: gpd.GeoDataFrame, start: np.ndarray, end: np.ndarray) -> Edges:
    """One edge per pair of vertices joined by a route (the shortest of parallel routes), longest first."""
    lengths = shapely.length(routes.geometry.to_numpy())
    order = np.argsort(-lengths, kind="stable")
    order = order[start[order] != end[order]]
    a, b = start[order], end[order]
    key = np.minimum(a, b) * (int(max(start.max(initial=0), end.max(initial=0))) + 1) + np.maximum(a, b)
    # an edge stands where its pair first comes and carries the last (shortest) route of the pair
    _, first = np.unique(key, return_index=True)
    _, last_reversed = np.unique(key[::-1], return_index=True)
    last = len(key) - 1 - last_reversed
    keep = np.argsort(first, kind="stable")
    first, last = first[keep], last[keep]
    row = order[last]
    return Edges(u=a[first].astype(np.int64), v=b[first].astype(np.int64), length_m=lengths[row].astype(np.float64),
                 row=row.astype(np.int64))
