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
fibres                 ``fibreCount``              Faseranzahl
=====================  ==========================  =============================

Coordinates are WGS84 longitude/latitude (CRS84), as OFDS requires.
"""

from __future__ import annotations

import json
import logging
import os
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
#: Node and route end closer than this are the same point (m).
MATCH_TOLERANCE_M = 0.5


def write_ofds(model: Path, folder: Path, *, name: str = "RAINBOW") -> tuple[Path, Path]:
    """Write ``nodes.geojson`` and ``spans.geojson`` of the model's fibre network into `folder`."""
    try:
        routes = pyogrio.read_dataframe(model, layer="fibre_routes", use_arrow=True)
        nodes = pyogrio.read_dataframe(model, layer="fibre_nodes", use_arrow=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise SourceError(model.name, "has no readable fibre_routes/fibre_nodes", fix="give a model written by twin run") from exc
    node_features, span_features = ofds_features(routes, nodes, name=name)
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "nodes.geojson", folder / "spans.geojson")
    for path, features in zip(paths, (node_features, span_features), strict=True):
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                             encoding="utf-8")
        os.replace(temporary, path)
    return paths


def ofds_features(
    routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, *, name: str = "RAINBOW"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OFDS node and span features; every route end is a node (junctions get an id of their own)."""
    if routes.crs is None or nodes.crs is None:
        raise CrsError("fibre_routes, fibre_nodes", "need a CRS", fix="set the CRS of both with set_crs")
    routes = routes[~(routes.geometry.isna() | routes.geometry.is_empty)].reset_index(drop=True)
    lines = shapely.line_merge(routes.geometry.to_numpy())
    start_xy = shapely.get_coordinates(shapely.get_point(lines, 0))
    end_xy = shapely.get_coordinates(shapely.get_point(lines, -1))
    ends = np.round(np.concatenate([start_xy, end_xy]), 2)
    vertices, label = np.unique(ends, axis=0, return_inverse=True)
    label = label.ravel()
    ids = np.array([f"J{k + 1:05d}" for k in range(len(vertices))], dtype=object)
    kinds = np.full(len(vertices), "", dtype=object)
    names = np.full(len(vertices), None, dtype=object)
    if len(nodes) and len(vertices):
        tree = shapely.STRtree(shapely.points(vertices))
        (n_idx, v_idx), _ = tree.query_nearest(nodes.geometry.to_numpy(), max_distance=MATCH_TOLERANCE_M,
                                               return_distance=True, all_matches=False)
        ids[v_idx] = nodes["node_id"].astype("str").to_numpy()[n_idx]
        kinds[v_idx] = nodes["kind"].astype("str").to_numpy()[n_idx]
        names[v_idx] = nodes["name"].to_numpy()[n_idx]
        left_out = len(nodes) - len(np.unique(n_idx))
        if left_out:
            log.warning("OFDS export: %d node(s) lie on no route end and are left out", left_out)
    network = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin:{name}")), "name": name, "crs": CRS84,
               "links": [{"rel": "describedby", "href": SCHEMA_URL}]}
    to_wgs = pyproj_transform(routes.crs)
    node_xy = to_wgs(vertices)
    node_features = [_node(ids[k], kinds[k], names[k], node_xy[k], network) for k in range(len(vertices))]
    span_features = []
    for row, line in enumerate(lines):
        coords = to_wgs(shapely.get_coordinates(line))
        span_features.append(_span(routes.iloc[row], ids[label[row]], ids[label[row + len(lines)]], coords, network))
    return node_features, span_features


def pyproj_transform(crs: Any) -> Any:
    """A vectorised transform of (n, 2) arrays from `crs` to WGS84 longitude/latitude."""
    import pyproj

    transformer = pyproj.Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)

    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.asarray(np.round(np.c_[lon, lat], 7), dtype=float)

    return transform


def _node(node_id: str, kind: str, name: object, lonlat: np.ndarray, network: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"id": node_id, "status": "operational"}
    if isinstance(name, str) and name:
        props["name"] = name
    if kind in NODE_TYPES:
        props["type"] = NODE_TYPES[kind]
    if kind == "site":
        props["accessPoint"] = True
    props.update({"network": network, "featureType": "node"})
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": lonlat.tolist()}, "properties": props}


def _span(route: pd.Series, start: str, end: str, coords: np.ndarray, network: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {"id": str(route["route_id"]), "name": f"Trasse {route['route_id']}",
                             "start": start, "end": end, "directed": False}
    status = STATUS.get(str(route.get("status")))
    if status:
        props["status"] = status
    deployment = DEPLOYMENT.get(str(route.get("kind")))
    if deployment:
        props["deployment"] = deployment
    if pd.notna(route.get("fibres")):
        props["fibreCount"] = int(route["fibres"])
    if pd.notna(route.get("length_m")):
        props["fibreLength"] = round(float(route["length_m"]) / 1000.0, 4)
    props.update({"network": network, "featureType": "span"})
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords.tolist()},
            "properties": props}
