"""RAINBOW: a star-shaped fibre network from the city hall to the public sites, along the streets."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from twin.sample.city import CRS, City

SITE_NAMES = {"3021": "Schule", "3034": "Museum", "3010": "Stadtverwaltung"}


@dataclass
class Network:
    """Routes and nodes in EPSG:25832, and the street segments."""

    routes: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame


def street_graph(city: City) -> tuple[nx.Graph, gpd.GeoDataFrame]:
    """The grid's intersections as nodes (i, j), street segments as edges."""
    xs, ys = city.xs, city.ys
    graph = nx.Graph()
    rows = []
    for i in range(len(xs)):
        for j in range(len(ys)):
            if i + 1 < len(xs):
                rows.append(((i, j), (i + 1, j), city.row_names[j]))
            if j + 1 < len(ys):
                rows.append(((i, j), (i, j + 1), city.col_names[i]))
    lines = [shapely.LineString([(xs[a[0]], ys[a[1]]), (xs[b[0]], ys[b[1]])]) for a, b, _ in rows]
    for (a, b, _), line in zip(rows, lines, strict=True):
        graph.add_edge(a, b, length=line.length)
    streets = gpd.GeoDataFrame(
        {"street_id": [f"S{k + 1:06d}" for k in range(len(rows))], "name": [r[2] for r in rows]},
        geometry=lines, crs=CRS,
    )
    return graph, streets


def _entry(city: City, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For buildings: the node point inside, the point on the street in front, the nearest intersection."""
    geoms = city.buildings.geometry.to_numpy()[index]
    inside = shapely.point_on_surface(geoms)
    xy = shapely.get_coordinates(inside)
    kind = city.buildings["street_kind"].to_numpy()[index]
    street = city.buildings["street"].to_numpy()[index]
    row_y = city.ys[np.minimum(street, len(city.ys) - 1)]
    col_x = city.xs[np.minimum(street, len(city.xs) - 1)]
    is_row = np.asarray(kind == "row")[:, None]
    front: np.ndarray = np.asarray(np.where(is_row, np.c_[xy[:, 0], row_y], np.c_[col_x, xy[:, 1]]), dtype=float)
    ii = np.abs(city.xs[None, :] - front[:, :1]).argmin(axis=1)
    jj = np.abs(city.ys[None, :] - front[:, 1:]).argmin(axis=1)
    ii = np.where(kind == "col", street, ii)
    jj = np.where(kind == "row", street, jj)
    return xy, front, np.c_[ii, jj]


def make_fibre(rng: np.random.Generator, city: City) -> Network:
    """Shortest-path tree from the hub to every site, one route per street segment, plus drops."""
    graph, streets = street_graph(city)
    served = np.r_[city.hall, city.sites]
    inside, front, corner = _entry(city, served)
    hub_corner = (int(corner[0, 0]), int(corner[0, 1]))
    paths = nx.single_source_dijkstra_path(graph, hub_corner, weight="length")
    edges: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    for c in corner[1:]:
        path = paths[(int(c[0]), int(c[1]))]
        edges.update((min(a, b), max(a, b)) for a, b in itertools.pairwise(path))
    tree = sorted(edges)
    xs, ys = city.xs, city.ys
    lines = [shapely.LineString([(xs[a[0]], ys[a[1]]), (xs[b[0]], ys[b[1]])]) for a, b in tree]
    drops = [
        shapely.LineString([(xs[c[0]], ys[c[1]]), tuple(f), tuple(p)])
        for c, f, p in zip(corner, front, inside, strict=True)
    ]
    degree = pd.Series([n for e in tree for n in e]).value_counts()
    junctions = [n for n, d in degree.items() if d >= 3]
    routes = _routes(rng, lines + drops, n_drops=len(drops))
    nodes = _nodes(city, served, inside, junctions)
    return Network(with_drawing_faults(routes), nodes, streets)


def _routes(rng: np.random.Generator, lines: list[shapely.LineString], *, n_drops: int) -> gpd.GeoDataFrame:
    n = len(lines)
    kind = rng.choice(["trench", "duct", "aerial"], size=n, p=[0.75, 0.2, 0.05])
    kind[n - n_drops:] = "trench"
    status = rng.choice(["in_service", "built", "planned"], size=n, p=[0.6, 0.25, 0.15])
    return gpd.GeoDataFrame(
        {"route_id": [f"R{k + 1:04d}" for k in range(n)], "kind": kind, "status": status,
         "ducts": rng.choice([1, 2, 4], size=n), "fibres": rng.choice([96, 144, 288], size=n)},
        geometry=lines, crs=CRS,
    )


def _nodes(city: City, served: np.ndarray, inside: np.ndarray, junctions: list[tuple[int, int]]) -> gpd.GeoDataFrame:
    codes = city.buildings["GFK"].to_numpy()[served]
    streets = city.buildings["STRASSE"].to_numpy()[served] if "STRASSE" in city.buildings else [""] * len(served)
    names = ["Rathaus"] + [f"{SITE_NAMES.get(c[-4:], 'Standort')} {s}" for c, s in zip(codes[1:], streets[1:], strict=True)]
    kinds = ["hub"] + ["site"] * (len(served) - 1)
    oi = list(city.buildings["OI"].to_numpy()[served]) if "OI" in city.buildings else [None] * len(served)
    points = list(shapely.points(inside))
    for k, (i, j) in enumerate(junctions):
        names.append(f"VP {k + 1:02d}")
        kinds.append("distribution")
        oi.append(None)
        points.append(shapely.Point(city.xs[i], city.ys[j]))
    return gpd.GeoDataFrame(
        {"node_id": [f"N{k + 1:03d}" for k in range(len(names))], "kind": kinds, "name": names, "building_oi": oi},
        geometry=points, crs=CRS,
    )


def with_drawing_faults(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A 0.3 m gap at one route start and a dangling 15 m stub, as drawings have."""
    out = routes.copy()
    coords = shapely.get_coordinates(out.geometry.iloc[0])
    coords[0] += np.array([0.3, 0.0]) if coords[1, 0] > coords[0, 0] else np.array([-0.3, 0.0])
    out.loc[0, "geometry"] = shapely.LineString(coords) if abs(coords[1, 0] - coords[0, 0]) > 0.5 else out.geometry.iloc[0]
    start = shapely.get_coordinates(out.geometry.iloc[min(1, len(out) - 1)])[0]
    stub = shapely.LineString([start, start + np.array([0.0, 15.0])])
    row = out.iloc[[0]].copy()
    row["route_id"] = f"R{len(out) + 1:04d}"
    row["status"] = "planned"
    row["geometry"] = [stub]
    return gpd.GeoDataFrame(pd.concat([out, row], ignore_index=True), crs=CRS)
