"""Network topology of the fibre routes: snapping, checks, components and distances from the hub.

The graph is built by :class:`twin.transforms.routing.RouteNetwork` (arrays, a
sparse matrix); this module snaps the route geometries to it, splits routes at
nodes lying on them and records every topology problem in ``qa_issues``.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from twin.errors import RecordError
from twin.model import empty_frame
from twin.model.frames import require_same_crs
from twin.model.qa import concat_issues, qa_issues
from twin.transforms.overlaps import ZERO_LENGTH_M, duplicate_issues
from twin.transforms.routing import SNAP_TOLERANCE_M, RouteNetwork

#: Open ends closer than this (but beyond the snap tolerance) are reported as a likely drawing gap (m).
GAP_REPORT_M = 5.0
#: A drawing whose routes fall into more separate networks than this is refused: its ends do not meet.
MAX_NETWORK_PARTS = 10_000


def network_topology(
    routes: gpd.GeoDataFrame,
    nodes: gpd.GeoDataFrame,
    *,
    hub: str | None = None,
    snap_tolerance_m: float = SNAP_TOLERANCE_M,
    gap_report_m: float = GAP_REPORT_M,
    star: bool = True,
    max_network_parts: int = MAX_NETWORK_PARTS,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return snapped routes (with ``component``), nodes (with ``network_distance_m``) and QA rows.

    Parameters
    ----------
    routes, nodes
        ``fibre_routes`` and ``fibre_nodes`` in one projected CRS.
    hub
        Name of the hub node; the node of kind ``hub`` when not given.
    snap_tolerance_m
        Route ends (and nodes) closer than this are one point of the network.
    gap_report_m
        Open ends farther apart than the tolerance but closer than this are reported as gaps.
    star
        Report loops (cycles) as informational issues, for a star-shaped network.
    max_network_parts
        Refuse routes that fall into more separate networks than this: a drawing whose route ends
        do not meet is no network to measure from the hub (and would be one QA row per part).

    Raises
    ------
    twin.errors.RecordError
        With the place ``fibre_routes``, when the routes fall into more than `max_network_parts` parts.
    """
    require_same_crs(routes, nodes, names=('fibre_routes', 'fibre_nodes'))
    crs = routes.crs
    routes, zero = _drop_zero_length(split_into_parts(routes.reset_index(drop=True)))
    nodes, hub_issues = _mark_hub(nodes, hub)
    routes = split_at_nodes(routes, nodes, tolerance_m=snap_tolerance_m)
    routes = split_at_route_ends(routes, tolerance_m=snap_tolerance_m)
    network = RouteNetwork(routes, nodes, tolerance_m=snap_tolerance_m)
    _check_parts(network, max_network_parts)
    routes = _snap(routes, network)
    # a piece between two cuts closer than the tolerance (two nodes side by side on a trench) has both
    # ends on one point of the network once snapped: it is dropped and the network built without it
    routes, collapsed = _drop_zero_length(
        routes, message=f"dropped: a piece of the route between points closer than {snap_tolerance_m:g} m "
                        "(snap_tolerance_m), no length once they are joined")
    if len(collapsed):
        network = RouteNetwork(routes, nodes, tolerance_m=snap_tolerance_m)
        routes = _snap(routes, network)
    network = RouteNetwork(routes, nodes, tolerance_m=snap_tolerance_m)  # distances: sums of published length_m
    component = _components(network, nodes)
    out_routes = routes.copy()
    out_routes["component"] = pd.array(component, dtype="Int32")
    out_routes["length_m"] = shapely.length(out_routes.geometry.to_numpy()).round(2)
    out_nodes = nodes.copy()
    out_nodes["network_distance_m"] = network.distances().to_numpy() if _has_hub(nodes) else np.nan
    out_nodes["in_service_distance_m"] = _in_service_distances(out_routes, nodes, snap_tolerance_m)
    issues = [zero, collapsed, hub_issues, *_end_issues(network, out_routes, nodes, snap_tolerance_m, gap_report_m)]
    issues += [_component_issues(out_routes), _node_issues(network, out_nodes, snap_tolerance_m)]
    issues += [duplicate_issues(out_routes)]
    if star:
        issues.append(_loop_issues(network, out_routes))
    return out_routes, out_nodes, concat_issues(issues, crs)


def _in_service_distances(routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, tolerance_m: float) -> np.ndarray:
    """Distance from the hub along built and in-service routes only (NaN where only planned routes reach)."""
    if not _has_hub(nodes):
        return np.full(len(nodes), np.nan)
    status = routes["status"].astype("str") if "status" in routes else pd.Series("", index=routes.index)
    usable = routes.loc[(status != "planned").to_numpy()]
    if not len(usable):
        return np.where((nodes["kind"].astype("str") == "hub").to_numpy(), 0.0, np.nan)
    return RouteNetwork(usable, nodes, tolerance_m=tolerance_m).distances().to_numpy()


def _check_parts(network: RouteNetwork, max_parts: int) -> None:
    parts = len(np.unique(network.components()[network.start_vertex]))
    if parts > max_parts:
        raise RecordError(
            "fibre_routes", f"the {len(network.start_vertex):,} route pieces fall into {parts:,} separate networks, "
            f"more than the {max_parts:,} of [fibre] max_network_parts: their ends do not meet within the snap "
            f"tolerance of {network.tolerance_m:g} m, so distances from the hub cannot be measured",
            fix="join the route ends in the drawing, or raise [fibre] snap_tolerance_m or max_network_parts")


def split_into_parts(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One route per line of a route whose parts do not join into one line (ids ``<id>/1``, ``<id>/2``, ...).

    Else the network would join its first point to its last across the gap. Parts that join become one line.

    >>> routes = gpd.GeoDataFrame({"route_id": ["M"]}, geometry=[shapely.MultiLineString([[(0, 0), (10, 0)],
    ...                                                                                  [(13, 0), (20, 0)]])])
    >>> split_into_parts(routes)["route_id"].tolist()
    ['M/1', 'M/2']
    """
    lines = routes.geometry.to_numpy()
    several = shapely.get_num_geometries(lines) > 1
    if not several.any():
        return routes
    out = routes.copy()
    merged = shapely.line_merge(lines[several])
    rows = np.flatnonzero(several)
    joined = shapely.get_num_geometries(merged) == 1
    out.loc[out.index[rows[joined]], out.geometry.name] = merged[joined]
    if joined.all():
        return out
    parts, part_of = shapely.get_parts(merged[~joined], return_index=True)
    pieces = out.iloc[rows[~joined][part_of]].copy()
    number = pd.Series(part_of).groupby(part_of).cumcount().to_numpy() + 1
    pieces["route_id"] = pieces["route_id"].astype("str").to_numpy() + "/" + number.astype("str")
    pieces[out.geometry.name] = parts
    kept = out.drop(index=out.index[rows[~joined]])
    return gpd.GeoDataFrame(pd.concat([kept, pieces], ignore_index=True), crs=routes.crs)


def split_at_nodes(routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, *, tolerance_m: float) -> gpd.GeoDataFrame:
    """Split every route at the nodes lying on its interior (within `tolerance_m`, away from its ends)."""
    if routes.empty or nodes.empty:
        return routes
    return _split_at(routes, nodes.geometry.to_numpy(), tolerance_m=tolerance_m)


def split_at_route_ends(routes: gpd.GeoDataFrame, *, tolerance_m: float) -> gpd.GeoDataFrame:
    """Split every route where another route ends on its interior: a drop branching off a trench (a T).

    Routes that merely cross are not joined (cables crossing in different trenches do not meet).

    >>> routes = gpd.GeoDataFrame({"route_id": ["T", "D"]}, geometry=[
    ...     shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(50, 0.2), (50, 12)])])
    >>> split_at_route_ends(routes, tolerance_m=0.5)["route_id"].tolist()
    ['D', 'T/1', 'T/2']
    """
    if len(routes) < 2:
        return routes
    ends = shapely.get_parts(shapely.boundary(routes.geometry.to_numpy()))
    return _split_at(routes, ends, tolerance_m=tolerance_m)


def _split_at(routes: gpd.GeoDataFrame, points: np.ndarray, *, tolerance_m: float) -> gpd.GeoDataFrame:
    """Split every route at the `points` lying on its interior (within `tolerance_m`, away from its ends).

    All routes are cut at once with shapely arrays (no loop over routes), so the time grows with the
    number of pieces, not with routes times cuts.
    """
    lines = routes.geometry.to_numpy()
    node_idx, route_idx = shapely.STRtree(lines).query(points, predicate="dwithin", distance=tolerance_m)
    interior = _away_from_ends(points[node_idx], lines, route_idx, tolerance_m)
    node_idx, route_idx = node_idx[interior], route_idx[interior]
    if not len(route_idx):
        return routes
    rows = np.unique(route_idx)
    merged = shapely.line_merge(lines[rows])
    simple = shapely.get_type_id(merged) == 1
    # a route of parts that do not join stays whole (its open ends are reported as gaps or dangling ends)
    keep = np.isin(route_idx, rows[simple])
    node_idx, route_idx, rows, merged = node_idx[keep], route_idx[keep], rows[simple], merged[simple]
    if not len(rows):
        return routes
    position = np.searchsorted(rows, route_idx)
    at = shapely.line_locate_point(merged[position], points[node_idx])
    pieces, piece_row = _cut_lines(merged, position, at)
    piece_frame = routes.iloc[rows[piece_row]].copy()
    number = pd.Series(piece_row).groupby(piece_row).cumcount().to_numpy() + 1
    piece_frame["route_id"] = piece_frame["route_id"].astype("str").to_numpy() + "/" + number.astype("str")
    piece_frame[routes.geometry.name] = pieces
    kept = routes.drop(index=routes.index[rows])
    return gpd.GeoDataFrame(pd.concat([kept, piece_frame], ignore_index=True), crs=routes.crs)


def _away_from_ends(points: np.ndarray, lines: np.ndarray, which: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Whether each of `points` lies farther than `tolerance_m` from the ends of its line `lines[which]`.

    The ends of a LineString are compared as coordinates (no geometry per pair); the boundary of
    another line (a MultiLineString's open ends) as geometry.
    """
    simple = shapely.get_type_id(lines) == 1
    first, last = shapely.get_point(lines, 0), shapely.get_point(lines, -1)
    fx, fy, lx, ly = shapely.get_x(first), shapely.get_y(first), shapely.get_x(last), shapely.get_y(last)
    px, py = shapely.get_x(points), shapely.get_y(points)
    near = np.minimum(np.hypot(px - fx[which], py - fy[which]), np.hypot(px - lx[which], py - ly[which]))
    away = near > tolerance_m
    other = ~simple[which]
    if other.any():
        away[other] = shapely.distance(points[other], shapely.boundary(lines[which[other]])) > tolerance_m
    return np.asarray(away, dtype=bool)


def _cut_lines(lines: np.ndarray, which: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut the LineStrings `lines[which[k]]` at distances `at[k]` along them (vectorised).

    Returns the pieces (in the order of `lines`, then along each line) and the index into `lines`
    of each piece. A piece runs from its start cut to its end cut through the vertices between.
    """
    length = shapely.length(lines)
    cuts = pd.DataFrame({"line": np.r_[which, np.arange(len(lines)), np.arange(len(lines))],
                         "at": np.r_[at, np.zeros(len(lines)), length]})
    cuts = cuts.drop_duplicates().sort_values(["line", "at"], kind="stable")
    line, a = cuts["line"].to_numpy(), cuts["at"].to_numpy()
    same = line[1:] == line[:-1]
    start, stop, piece_line = a[:-1][same], a[1:][same], line[:-1][same]
    real = stop - start > 0
    start, stop, piece_line = start[real], stop[real], piece_line[real]
    has_z = bool(shapely.has_z(lines).any())
    first = shapely.get_coordinates(shapely.line_interpolate_point(lines[piece_line], start), include_z=has_z)
    last = shapely.get_coordinates(shapely.line_interpolate_point(lines[piece_line], stop), include_z=has_z)
    coords, owner = shapely.get_coordinates(lines, include_z=has_z, return_index=True)
    step = np.r_[0.0, np.hypot(*np.diff(coords[:, :2], axis=0).T)]
    step[np.r_[True, owner[1:] != owner[:-1]]] = 0.0
    along = pd.Series(step).groupby(owner).cumsum().to_numpy()
    # the piece of every vertex: the last piece of its line starting before it
    scale = np.maximum(length, 1e-9) * (1 + 1e-9)
    piece = np.searchsorted(piece_line + start / scale[piece_line], owner + along / scale[owner], side="right") - 1
    inside = (piece >= 0) & (piece_line[np.clip(piece, 0, None)] == owner)
    slack = 1e-9 * np.maximum(length[owner], 1.0)  # a vertex at a cut (or the end) is the cut's own point
    inside &= (along > start[np.clip(piece, 0, None)] + slack) & (along < stop[np.clip(piece, 0, None)] - slack)
    count = len(start)
    ids = np.r_[np.arange(count), piece[inside], np.arange(count)]
    order = np.r_[np.zeros(count), 1 + np.flatnonzero(inside), np.full(count, len(coords) + 1)]
    xyz = np.concatenate([first, coords[inside], last])
    sort = np.lexsort((order, ids))
    return shapely.linestrings(xyz[sort], indices=ids[sort]), piece_line


def _mark_hub(nodes: gpd.GeoDataFrame, hub: str | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The nodes with the one hub marked, and a ``hub_not_found`` QA row when the name finds none.

    The node named `hub` is the hub (other nodes of kind hub become distribution points). When no
    node has that name, the first node of kind hub is taken (reported as a warning); without a name,
    the node of kind hub is (further ones reported as ``second_hub``); with none, distances and
    reachability cannot be computed (reported as an error).
    """
    crs = nodes.crs
    if nodes.empty:
        return nodes, empty_frame("qa_issues", crs)
    kinds = (nodes["kind"].astype("str") == "hub").to_numpy()
    if hub is None:  # no name given: the node of kind hub, the first of several
        if kinds.sum() == 1:
            return nodes, empty_frame("qa_issues", crs)
        if kinds.any():
            first = nodes.loc[kinds].iloc[0]
            extra = kinds & (np.cumsum(kinds) > 1)
            out = nodes.copy()
            out.loc[extra, "kind"] = "distribution"
            return out, _second_hubs(nodes, extra, str(first["name"]))
    named = nodes["name"].astype("str") == hub if hub is not None else np.zeros(len(nodes), dtype=bool)
    named = np.asarray(named, dtype=bool)
    if hub is not None and named.any():
        chosen = named & (np.cumsum(named) == 1)
        out = nodes.copy()
        out.loc[kinds & ~chosen, "kind"] = "distribution"
        out.loc[chosen, "kind"] = "hub"
        return out, _second_hubs(nodes, kinds & ~chosen, hub)
    if hub is not None and kinds.any():
        first = nodes.loc[kinds].iloc[0]
        others = nodes.loc[kinds, "name"].astype("str").tolist()
        out = nodes.copy()
        extra = kinds & (np.cumsum(kinds) > 1)
        out.loc[extra, "kind"] = "distribution"
        message = (f"no node is named {hub!r}; the node of kind hub {first['name']!r} is taken as the hub"
                   + (f" (also of kind hub: {', '.join(map(repr, others[1:]))})" if len(others) > 1 else "")
                   + "; set [fibre] hub to the hub's name")
        return out, concat_issues([
            qa_issues(layer="fibre_nodes", feature_ids=[str(first["node_id"])], check="hub_not_found",
                      severity="warning", messages=message, geometry=[first.geometry], crs=crs),
            _second_hubs(nodes, extra, str(first["name"])),
        ], crs)
    names = ", ".join(repr(n) for n in nodes["name"].dropna().astype("str").head(5))
    named_as = f"no node is named {hub!r} and none" if hub is not None else "no node"
    return nodes, qa_issues(layer="fibre_nodes", feature_ids=[""], check="hub_not_found", severity="error",
                            messages=f"{named_as} is of kind hub: distances from the hub "
                                     f"and reachability are not computed; set [fibre] hub to one of the names "
                                     f"({names}, ...)", crs=crs)


def _second_hubs(nodes: gpd.GeoDataFrame, extra: np.ndarray, hub: str) -> gpd.GeoDataFrame:
    """``second_hub`` rows for nodes of kind hub beside the hub: the network has one, they count as distribution."""
    return qa_issues(layer="fibre_nodes", feature_ids=nodes["node_id"][extra], check="second_hub", severity="warning",
                     messages=[f"node {name!r} is of kind hub, but the network is measured from the hub {hub!r}: "
                               "it counts as a distribution point; set [fibre] hub or correct its kind"
                               for name in nodes["name"][extra].astype("str")],
                     geometry=nodes.geometry[extra], crs=nodes.crs)


def _has_hub(nodes: gpd.GeoDataFrame) -> bool:
    return bool((nodes["kind"].astype("str") == "hub").any()) if len(nodes) else False


def _drop_zero_length(
    routes: gpd.GeoDataFrame, *, message: str = "dropped: the segment has no length"
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    short = shapely.length(routes.geometry.to_numpy()) < ZERO_LENGTH_M
    issues = qa_issues(layer="fibre_routes", feature_ids=routes["route_id"][short], check="zero_length",
                       severity="warning", messages=message,
                       geometry=routes.geometry[short], crs=routes.crs)
    return routes.loc[~short].reset_index(drop=True), issues


def _snap(routes: gpd.GeoDataFrame, network: RouteNetwork) -> gpd.GeoDataFrame:
    """Move the first and last vertex of every route onto its network vertex."""
    geoms = shapely.line_merge(routes.geometry.to_numpy())
    simple = shapely.get_type_id(geoms) == 1
    coords, index = shapely.get_coordinates(geoms[simple], return_index=True)
    rows = np.flatnonzero(simple)
    first = np.searchsorted(index, np.arange(len(rows)), side="left")
    last = np.searchsorted(index, np.arange(len(rows)), side="right") - 1
    xy = network.vertex_xy
    coords[first] = xy[network.start_vertex[rows]]
    coords[last] = xy[network.end_vertex[rows]]
    geoms = geoms.copy()
    geoms[simple] = shapely.set_coordinates(geoms[simple].copy(), coords)
    out = routes.copy()
    out[routes.geometry.name] = geoms
    return out


def _components(network: RouteNetwork, nodes: gpd.GeoDataFrame) -> np.ndarray:
    """Component number per route: 0 for the hub's, then 1, 2, ... by size (vertices), ties by first vertex."""
    part = network.components()
    size = np.bincount(part)
    hub_vertex = int(network.node_vertex[network.hub_id]) if _has_hub(nodes) else -1
    away = np.ones(len(size), dtype=bool)
    if hub_vertex >= 0:
        away[part[hub_vertex]] = False
    number = np.empty(len(size), dtype=np.int64)
    number[np.lexsort((np.arange(len(size)), -size, away))] = np.arange(len(size))
    return number[part][network.start_vertex]


def _end_issues(
    network: RouteNetwork, routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, tolerance_m: float, gap_m: float
) -> list[gpd.GeoDataFrame]:
    """Open ends (degree 1, no node): a gap when another route is within `gap_m`, else a dangling end."""
    degree = network.degree()
    placed = network.node_vertex[network.node_vertex >= 0].to_numpy(dtype=np.int64)
    ends = np.flatnonzero(degree == 1)
    open_ends = ends[~np.isin(ends, placed)].astype(np.int64)
    crs = routes.crs
    points = shapely.points(network.vertex_xy[open_ends]) if len(open_ends) else np.empty(0, dtype=object)
    own = _route_at_vertex(network, open_ends, routes)
    ids = routes["route_id"].astype("str").to_numpy()
    lines = routes.geometry.to_numpy()
    end_idx, line_idx = shapely.STRtree(lines).query(points, predicate="dwithin", distance=gap_m)
    width = shapely.distance(points[end_idx], lines[line_idx])
    other = (ids[line_idx] != own[end_idx]) & (width > tolerance_m)
    near = pd.DataFrame({"end": end_idx[other], "line": line_idx[other], "width": width[other]})
    near = near.sort_values("width").drop_duplicates("end")
    mine, theirs = own[near["end"].to_numpy()].astype(str), ids[near["line"].to_numpy()].astype(str)
    first = mine <= theirs
    pair = pd.DataFrame({"a": np.where(first, mine, theirs), "b": np.where(first, theirs, mine)}, index=near.index)
    near = near[~pair.duplicated().to_numpy()]
    is_gap = np.zeros(len(points), bool)
    is_gap[near["end"].to_numpy()] = True
    gap_lines = shapely.shortest_line(points[near["end"].to_numpy()], lines[near["line"].to_numpy()])
    return [
        qa_issues(layer="fibre_routes", feature_ids=own[near["end"].to_numpy()], check="gap", severity="warning",
                  messages=[f"gap of {w:.2f} m to route {ids[k]} (beyond the snap tolerance of {tolerance_m} m);"
                            " join the ends in the drawing" for w, k in zip(near["width"], near["line"], strict=True)],
                  geometry=gap_lines, crs=crs),
        qa_issues(layer="fibre_routes", feature_ids=own[~is_gap], check="dangling_end", severity="warning",
                  messages="open route end: no other route and no node within the snap tolerance",
                  geometry=points[~is_gap], crs=crs),
    ]


def _route_at_vertex(network: RouteNetwork, vertices: np.ndarray, routes: gpd.GeoDataFrame) -> np.ndarray:
    ids = routes["route_id"].astype("str").to_numpy()
    start, end = network.start_vertex, network.end_vertex
    lookup = pd.Series(np.r_[ids, ids], index=np.r_[start, end])
    lookup = lookup[~lookup.index.duplicated()]
    return lookup.reindex(vertices).fillna("").to_numpy(dtype=object)


def _component_issues(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One ``disconnected`` row per part of the network away from the hub, with the union of its routes."""
    component = routes["component"].to_numpy(dtype=np.int64, na_value=-1)
    away = np.flatnonzero(component > 0)
    if not len(away):
        return qa_issues(layer="fibre_routes", feature_ids=[], check="disconnected", severity="warning",
                         messages=[], crs=routes.crs)
    order = away[np.argsort(component[away], kind="stable")]
    parts, first = np.unique(component[order], return_index=True)
    sizes = np.diff(np.r_[first, len(order)])
    lengths = routes[component > 0].groupby("component")["length_m"].sum()
    # the union of every part at once: one collection per part, each dissolved on its own
    collections = shapely.geometrycollections(routes.geometry.to_numpy()[order],
                                              indices=np.repeat(np.arange(len(parts)), sizes))
    shapes = shapely.union_all(collections[:, None], axis=1)
    ids = routes["route_id"].to_numpy()[order[first]]
    return qa_issues(layer="fibre_routes", feature_ids=ids, check="disconnected", severity="warning",
                     messages=[f"network part {c} ({n} segments, {m:.0f} m) is not connected to the hub"
                               for c, n, m in zip(parts, sizes, lengths.to_numpy(), strict=True)],
                     geometry=shapes, crs=routes.crs)


def _node_issues(network: RouteNetwork, nodes: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    vertex = network.node_vertex.to_numpy()
    off = vertex < 0
    unreachable = ~off & nodes["network_distance_m"].isna().to_numpy() & _has_hub(nodes)
    ids = pd.Series(nodes["node_id"].astype("str").to_numpy())
    shared = ~off & pd.Series(vertex).duplicated().to_numpy()
    first = ids.groupby(vertex).transform("first").to_numpy()
    return concat_issues([
        qa_issues(layer="fibre_nodes", feature_ids=ids[shared], check="shared_network_point", severity="warning",
                  messages=[f"on the same point of the network as node {other!r} (within {tolerance_m} m): the "
                            "OFDS export joins the nearer of them to the routes and writes the other apart"
                            for other in first[shared]],
                  geometry=nodes.geometry[shared], crs=nodes.crs),
        qa_issues(layer="fibre_nodes", feature_ids=nodes["node_id"][off], check="node_off_network",
                  severity="warning", messages=f"no route ends within {tolerance_m} m of this node",
                  geometry=nodes.geometry[off], crs=nodes.crs),
        qa_issues(layer="fibre_nodes", feature_ids=nodes["node_id"][unreachable], check="unreachable",
                  severity="warning", messages="on the network but not connected to the hub",
                  geometry=nodes.geometry[unreachable], crs=nodes.crs),
    ], nodes.crs)


def _loop_issues(network: RouteNetwork, routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One ``loop`` row per cycle of a cycle basis, sought only in the parts of the network that have one.

    A part of the network has edges - vertices + 1 independent cycles; a tree (most parts of a
    star-shaped plan) has none and is skipped without walking it.
    """
    part = network.components()
    edges = network.edges
    spare = np.bincount(part[edges.u], minlength=part.max(initial=-1) + 1) - np.bincount(part) + 1
    looped = spare[part] > 0
    if looped.any():
        # the parts with loops, numbered in the same order, with the edges in the same order, give networkx's
        # cycle basis of the whole graph
        vertices = np.flatnonzero(looped)
        renumber = np.full(len(part), -1, dtype=np.int64)
        renumber[vertices] = np.arange(len(vertices))
        inside = looped[edges.u]
        graph = nx.Graph()
        graph.add_nodes_from(range(len(vertices)))
        graph.add_edges_from(zip(renumber[edges.u[inside]].tolist(), renumber[edges.v[inside]].tolist(), strict=True))
        cycles = [vertices[c].tolist() for c in nx.cycle_basis(graph) if len(c) >= 3]
    else:
        cycles = []
    xy = network.vertex_xy
    rings = [shapely.LineString(xy[c + c[:1]]) for c in cycles]
    return qa_issues(layer="fibre_routes", feature_ids=[f"loop {k + 1}" for k in range(len(rings))], check="loop",
                     severity="info", messages=[f"loop through {len(c)} junctions in a star-shaped network"
                                                for c in cycles],
                     geometry=np.array(rings, dtype=object), crs=routes.crs)


def fibre_summary(routes: pd.DataFrame, nodes: pd.DataFrame, issues: pd.DataFrame) -> dict[str, object]:
    """Route length by kind and status, connected sites, components and QA counts.

    >>> routes = pd.DataFrame({"kind": ["trench", "duct"], "status": ["built", "built"],
    ...                        "length_m": [10.0, 5.5], "component": [0, 1]})
    >>> nodes = pd.DataFrame({"kind": ["hub", "site"], "network_distance_m": [0.0, 12.0]})
    >>> fibre_summary(routes, nodes, pd.DataFrame({"layer": [], "check": []}))["length_m_by_kind"]
    {'duct': 5.5, 'trench': 10.0}
    """
    sites = nodes[nodes["kind"].astype("str") == "site"]
    fibre_qa = issues[issues["layer"].isin(["fibre_routes", "fibre_nodes"])] if len(issues) else issues
    return {
        "length_m": round(float(routes["length_m"].sum()), 1),
        "length_m_by_kind": {str(k): round(float(v), 1) for k, v in routes.groupby("kind")["length_m"].sum().items()},
        "length_m_by_status": {str(k): round(float(v), 1)
                               for k, v in routes.groupby("status")["length_m"].sum().items()},
        "sites": len(sites),
        "sites_connected": int(sites["network_distance_m"].notna().sum()),
        "components": int(pd.Series(routes["component"]).nunique()),
        "qa": {str(k): int(v) for k, v in fibre_qa.groupby("check").size().items()} if len(fibre_qa) else {},
    }
