"""The fibre network as Open Fibre Data Standard (OFDS) 0.4 GeoJSON: a nodes and a spans FeatureCollection.

Mapping (close to the German funding delivery model GIS-NBest):

=====================  ==========================  =============================
twin                   OFDS 0.4                    GIS-NBest
=====================  ==========================  =============================
fibre_nodes hub        node, type ``pop``          PoP
fibre_nodes distrib.   node, type ``distribution`` Verteiler (Netzverteiler)
fibre_nodes site       node, type ``access``,      Abschlusspunkt (Standort)
                       ``accessPoint`` true
route junction         node without type           Muffe / Schacht
fibre_routes           span (start/end node ids)   Trasse
kind trench / duct     deployment ``belowGround``  Verlegeart Graben / Leerrohr
kind aerial            deployment ``aboveGround``  Verlegeart oberirdisch
status in_service      ``operational``             in Betrieb
status built           ``inactive``                gebaut, nicht in Betrieb
status planned         ``planned``                 geplant
node reaching the hub  node ``operational``        in Betrieb
  over built or in-service routes (``fibre_status`` connected)
node reaching it only  node ``planned``            geplant
  over planned routes (``fibre_status`` planned)
junction               ``operational`` where a built or in-service route meets it, else ``planned``
fibres                 ``fibreCount``              Faseranzahl
=====================  ==========================  =============================

Coordinates are WGS84 longitude/latitude (CRS84), as OFDS requires.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from twin.errors import CrsError, SourceError

log = logging.getLogger(__name__)

SCHEMA_URL = "https://standard.ofds.info/en/0__4__0/network-schema.json"
CRS84 = {"name": "urn:ogc:def:crs:OGC::CRS84", "uri": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
NODE_TYPES = {"hub": ["pop"], "distribution": ["distribution"], "site": ["access"]}
STATUS = {"in_service": "operational", "built": "inactive", "planned": "planned"}
DEPLOYMENT = {"trench": ["belowGround"], "duct": ["belowGround"], "aerial": ["aboveGround"]}
#: Node and route end closer than this are the same point (m), where the model does not record its
#: ``[fibre] snap_tolerance_m``.
MATCH_TOLERANCE_M = 0.5
#: A span shorter than this (m) has no length (as ``zero_length`` in the model's topology checks).
MIN_SPAN_M = 0.001


def write_ofds(model: Path, folder: Path, *, name: str | None = None) -> tuple[Path, Path]:
    """Write ``nodes.geojson`` and ``spans.geojson`` of the model's fibre network into `folder`.

    The network's name, its city and the snap tolerance come from the model's lineage
    (``[fibre] network_name``, ``[city] name``, ``[fibre] snap_tolerance_m`` of the run that made it);
    `name` replaces the recorded name.
    """
    try:
        routes = pyogrio.read_dataframe(model, layer="fibre_routes", use_arrow=True)
        nodes = pyogrio.read_dataframe(model, layer="fibre_nodes", use_arrow=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(model.name, "has no readable fibre_routes/fibre_nodes", fix="give a model written by twin run") from exc
    lineage = _lineage(model)
    name = name or lineage.get("network_name")
    city = lineage.get("city")
    if not isinstance(name, str) or not name or not isinstance(city, str) or not city:
        raise SourceError(model.name, "records no city and network name ([city] name, [fibre] network_name)",
                          fix="build it again with twin run")
    tolerance = lineage.get("snap_tolerance_m")
    node_features, span_features = ofds_features(
        routes, nodes, name=name, city=city,
        tolerance_m=float(tolerance) if isinstance(tolerance, int | float) else MATCH_TOLERANCE_M)
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "nodes.geojson", folder / "spans.geojson")
    for path, features in zip(paths, (node_features, span_features), strict=True):
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                             encoding="utf-8")
        os.replace(temporary, path)
    return paths


def _lineage(model: Path) -> dict[str, Any]:
    """The lineage record of the model (``gpkg_metadata``), empty where there is none."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{model}?mode=ro", uri=True)) as con:
            row = con.execute("SELECT metadata FROM gpkg_metadata WHERE id = 1").fetchone()
    except sqlite3.Error:
        return {}
    try:
        record = json.loads(row[0]) if row else {}
    except (TypeError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def network_id(city: str, name: str) -> str:
    """A stable id of the network, derived from its city and name (one city's network keeps its id).

    >>> network_id("Neustadt", "Glasfasernetz") == network_id("Trier", "Glasfasernetz")
    False
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin:{city}:{name}"))


def ofds_features(
    routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, *, name: str, city: str,
    tolerance_m: float = MATCH_TOLERANCE_M,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OFDS node and span features; every route end is a node (junctions get an id of their own).

    Every node of `nodes` is kept: on the nearest route end within `tolerance_m` (the nearest node
    where several are), else on its own position without spans. A route whose parts do not join
    becomes one span per part (``<route_id>/1``, ...); pieces without length become no span.
    """
    if routes.crs is None or nodes.crs is None:
        raise CrsError("fibre_routes, fibre_nodes", "need a CRS", fix="set the CRS of both with set_crs")
    routes = routes[~(routes.geometry.isna() | routes.geometry.is_empty)].reset_index(drop=True)
    parts, row_of = shapely.get_parts(shapely.line_merge(routes.geometry.to_numpy()), return_index=True)
    usable = shapely.length(parts) >= MIN_SPAN_M
    if (~usable).any():
        log.warning("OFDS export: %d route piece(s) without length left out", int((~usable).sum()))
    parts, row_of = parts[usable], row_of[usable]
    part_count = np.bincount(row_of, minlength=len(routes))
    part_number = np.arange(len(row_of)) - np.searchsorted(row_of, row_of)
    lines = parts
    start_xy = shapely.get_coordinates(shapely.get_point(lines, 0))
    end_xy = shapely.get_coordinates(shapely.get_point(lines, -1))
    ends = np.round(np.concatenate([start_xy, end_xy]), 2).reshape(-1, 2)
    vertices, label = np.unique(ends, axis=0, return_inverse=True)
    label = label.ravel()
    ids = np.array([f"J{k + 1:05d}" for k in range(len(vertices))], dtype=object)
    kinds = np.full(len(vertices), "", dtype=object)
    names = np.full(len(vertices), None, dtype=object)
    in_use = ~(routes["status"].astype("str") == "planned").to_numpy()[row_of] if "status" in routes else \
        np.ones(len(lines), dtype=bool)
    statuses = np.where(np.bincount(label, weights=np.tile(in_use, 2), minlength=len(vertices)) > 0,
                        "operational", "planned").astype(object)
    apart = _place_nodes(nodes.assign(_status=node_statuses(nodes)), vertices, ids, kinds, names, statuses,
                         tolerance_m)
    network = {"id": network_id(city, name), "name": name, "crs": CRS84,
               "links": [{"rel": "describedby", "href": SCHEMA_URL}]}
    to_wgs = pyproj_transform(routes.crs)
    node_xy = to_wgs(vertices) if len(vertices) else np.zeros((0, 2))
    node_features = [_node(ids[k], kinds[k], names[k], node_xy[k], network, statuses[k]) for k in range(len(vertices))]
    if len(apart):
        own_xy = to_wgs(shapely.get_coordinates(apart.geometry.to_numpy()))
        node_features += [_node(str(n["node_id"]), str(n["kind"]), n["name"], own_xy[k], network, n["_status"])
                          for k, (_, n) in enumerate(apart.iterrows())]
    span_features = []
    for k, line in enumerate(lines):
        route = routes.iloc[row_of[k]]
        span_id = str(route["route_id"]) if part_count[row_of[k]] == 1 else f"{route['route_id']}/{part_number[k] + 1}"
        coords = to_wgs(shapely.get_coordinates(line))
        length = route.get("length_m") if part_count[row_of[k]] == 1 else shapely.length(line)
        span_features.append(_span(route, span_id, ids[label[k]], ids[label[k + len(lines)]], coords, length,
                                   network))
    return node_features, span_features


def node_statuses(nodes: pd.DataFrame) -> np.ndarray:
    """The OFDS status of each node, as its ``fibre_status`` says of the building it serves: ``operational``
    where it reaches the hub over built or in-service routes, ``planned`` where only over planned routes,
    None (no status) where it does not reach the hub; ``operational`` for all in a model without a hub."""
    if "in_service_distance_m" not in nodes or not (nodes["kind"].astype("str") == "hub").any():
        return np.full(len(nodes), "operational", dtype=object)
    any_route = nodes["network_distance_m"].notna().to_numpy() if "network_distance_m" in nodes else \
        np.zeros(len(nodes), dtype=bool)
    out = np.full(len(nodes), None, dtype=object)
    out[any_route] = "planned"
    out[nodes["in_service_distance_m"].notna().to_numpy()] = "operational"
    return out


def _place_nodes(
    nodes: gpd.GeoDataFrame, vertices: np.ndarray, ids: np.ndarray, kinds: np.ndarray, names: np.ndarray,
    statuses: np.ndarray, tolerance_m: float,
) -> gpd.GeoDataFrame:
    """Put each node on its nearest route end (filling `ids`, `kinds`, `names` and `statuses` from the node's
    ``_status``); return the nodes left apart."""
    placed = np.zeros(len(nodes), dtype=bool)
    if len(nodes) and len(vertices):
        tree = shapely.STRtree(shapely.points(vertices))
        (n_idx, v_idx), distance = tree.query_nearest(nodes.geometry.to_numpy(), max_distance=tolerance_m,
                                                      return_distance=True, all_matches=False)
        order = np.lexsort((distance, v_idx))  # the nearest node of each route end takes it
        first = order[np.r_[True, v_idx[order][1:] != v_idx[order][:-1]]] if len(order) else order
        n_idx, v_idx = n_idx[first], v_idx[first]
        ids[v_idx] = nodes["node_id"].astype("str").to_numpy()[n_idx]
        kinds[v_idx] = nodes["kind"].astype("str").to_numpy()[n_idx]
        names[v_idx] = nodes["name"].to_numpy()[n_idx]
        statuses[v_idx] = nodes["_status"].to_numpy()[n_idx]
        placed[n_idx] = True
    if (~placed).any():
        log.warning("OFDS export: %d node(s) on no free route end within %g m are written apart, without spans",
                    int((~placed).sum()), tolerance_m)
    return nodes.loc[~placed]


def pyproj_transform(crs: Any) -> Any:
    """A vectorised transform of (n, 2) arrays from `crs` to WGS84 longitude/latitude."""
    import pyproj

    transformer = pyproj.Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)

    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.asarray(np.round(np.c_[lon, lat], 7), dtype=float)

    return transform


def _node(node_id: str, kind: str, name: object, lonlat: np.ndarray, network: dict[str, Any],
          status: object) -> dict[str, Any]:
    props: dict[str, Any] = {"id": node_id}
    if isinstance(status, str):
        props["status"] = status
    if isinstance(name, str) and name:
        props["name"] = name
    if kind in NODE_TYPES:
        props["type"] = NODE_TYPES[kind]
    if kind == "site":
        props["accessPoint"] = True
    props.update({"network": network, "featureType": "node"})
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": lonlat.tolist()}, "properties": props}


def _span(route: pd.Series, span_id: str, start: str, end: str, coords: np.ndarray, length_m: object,
          network: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"id": span_id}
    route_name = route.get("name")
    if isinstance(route_name, str) and route_name.strip():
        props["name"] = route_name
    props.update({"start": start, "end": end, "directed": False})
    status = STATUS.get(str(route.get("status")))
    if status:
        props["status"] = status
    deployment = DEPLOYMENT.get(str(route.get("kind")))
    if deployment:
        props["deployment"] = deployment
    if pd.notna(route.get("fibres")):
        props["fibreCount"] = int(route["fibres"])
    if isinstance(length_m, int | float) and pd.notna(length_m):
        props["fibreLength"] = round(float(length_m) / 1000.0, 4)
    props.update({"network": network, "featureType": "span"})
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords.tolist()},
            "properties": props}
