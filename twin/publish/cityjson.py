"""CityJSON 2.0 LoD1 export of the buildings layer: footprints extruded to ``height_m``.

Each building becomes a ``Building`` with a ``Solid`` (one ``BuildingPart``
with a ``Solid`` per part when its footprint has several): the floor at the base height, the
roof at base + ``height_m``, one wall per footprint edge, every ring oriented
so that the surfaces face outwards. Vertices are integers with a
``transform`` (millimetres by default), shared between buildings and never
repeated. The vertex arithmetic runs on whole numpy arrays; only the nested
boundary lists are assembled per building.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from twin.errors import PublishError, SourceError

log = logging.getLogger(__name__)

#: Size of one integer vertex step in metres.
SCALE_M = 0.001


def write_cityjson(gpkg: Path, target: Path, *, base_height_m: float = 0.0, scale_m: float = SCALE_M) -> int:
    """Read the ``buildings`` layer of `gpkg` and write it to `target` as CityJSON 2.0 LoD1.

    The file is written beside `target` first and moved into place, so a
    failed export leaves an earlier file intact. Returns the number of buildings.

    Raises
    ------
    SourceError
        When `gpkg` has no readable ``buildings`` layer.
    """
    try:
        frame = pyogrio.read_dataframe(gpkg, layer="buildings", use_arrow=True)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(gpkg.name, "has no readable buildings layer", fix="give a GeoPackage written by twin run") from exc
    document = cityjson_document(frame, base_height_m=base_height_m, scale_m=scale_m)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, target)
    except OSError as exc:
        raise PublishError(str(target), f"cannot be written ({exc.strerror})", fix="check the folder and free space") from exc
    finally:
        temporary.unlink(missing_ok=True)
    count = sum(obj["type"] == "Building" for obj in document["CityObjects"].values())
    if not count:
        log.warning("%s: the model has no buildings; the CityJSON file holds none", target.name)
    log.info("%s: %d buildings as CityJSON LoD1", target.name, count)
    return count


def cityjson_document(frame: gpd.GeoDataFrame, *, base_height_m: float = 0.0, scale_m: float = SCALE_M) -> dict[str, Any]:
    """The CityJSON 2.0 document (a dict) of the buildings in `frame` (projected CRS, metres).

    Examples
    --------
    >>> frame = gpd.GeoDataFrame({"building_id": ["a"], "height_m": [6.0], "function_code": ["1000"]},
    ...                          geometry=[shapely.box(0, 0, 4, 3)], crs="EPSG:25832")
    >>> doc = cityjson_document(frame)
    >>> doc["metadata"]["referenceSystem"], len(doc["vertices"]), len(doc["CityObjects"]["a"]["geometry"][0]["boundaries"][0])
    ('https://www.opengis.net/def/crs/EPSG/0/25832', 8, 6)
    """
    geoms = shapely.orient_polygons(shapely.set_precision(frame.geometry.to_numpy(), scale_m), exterior_cw=False)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    usable = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    parts, owner = parts[usable], owner[usable]
    heights = pd.to_numeric(frame["height_m"], errors="coerce").fillna(0.0).to_numpy()
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[ring_of[1:] != ring_of[:-1], True] if len(ring_of) else np.zeros(0, dtype=bool)
    coords, ring_of = coords[~last], ring_of[~last]
    translate = np.floor(coords.min(axis=0)) if len(coords) else np.zeros(2)
    xy = np.rint((coords - translate) / scale_m).astype(np.int64)
    top = np.rint((base_height_m + heights[owner[ring_part[ring_of]]]) / scale_m).astype(np.int64)
    bottom = np.full(len(xy), round(base_height_m / scale_m), dtype=np.int64)
    stacked = np.vstack([np.column_stack([xy, bottom]), np.column_stack([xy, top])])
    vertices, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    low, high = inverse[: len(xy)], inverse[len(xy):]
    nxt = _next_in_ring(ring_of)
    walls = np.column_stack([low, low[nxt], high[nxt], high])
    objects = _city_objects(frame, owner, ring_part, ring_of, low, high, walls) if len(ring_of) else {}
    crs = pyproj.CRS.from_user_input(frame.crs) if frame.crs is not None else None
    epsg = crs.to_epsg() if crs is not None else None
    extent = [*(translate + vertices[:, :2].min(axis=0) * scale_m), float(vertices[:, 2].min() * scale_m),
              *(translate + vertices[:, :2].max(axis=0) * scale_m), float(vertices[:, 2].max() * scale_m)] if len(vertices) else []
    metadata: dict[str, Any] = {"title": "LoD1 buildings"}
    if epsg is not None:
        metadata["referenceSystem"] = f"https://www.opengis.net/def/crs/EPSG/0/{epsg}"
    if extent:
        metadata["geographicalExtent"] = [float(v) for v in extent]
    return {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [scale_m, scale_m, scale_m], "translate": [float(translate[0]), float(translate[1]), 0.0]},
        "metadata": metadata,
        "CityObjects": objects,
        "vertices": vertices.tolist(),
    }


def _next_in_ring(ring_of: np.ndarray) -> np.ndarray:
    """Position of the next vertex of the same ring (wrapping to the ring's first)."""
    n = len(ring_of)
    index = np.arange(n)
    starts = np.r_[0, np.flatnonzero(ring_of[1:] != ring_of[:-1]) + 1] if n else np.zeros(0, dtype=np.int64)
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    nxt = index + 1
    is_last = np.r_[ring_of[1:] != ring_of[:-1], True] if n else np.zeros(0, dtype=bool)
    nxt[is_last] = first[is_last]
    return nxt


def _city_objects(
    frame: gpd.GeoDataFrame, owner: np.ndarray, ring_part: np.ndarray, ring_of: np.ndarray,
    low: np.ndarray, high: np.ndarray, walls: np.ndarray,
) -> dict[str, Any]:
    """Nested boundary lists per part, then one Building per row that kept a part."""
    cuts = np.flatnonzero(ring_of[1:] != ring_of[:-1]) + 1
    low_rings = np.split(low, cuts)
    high_rings = np.split(high, cuts)
    wall_rings = np.split(walls.reshape(-1, 1, 4), cuts)  # each wall a surface of one ring
    ring_parts = ring_part[np.unique(ring_of)] if len(ring_of) else ring_part[:0]
    solids: dict[int, list[Any]] = {}
    for part, down, up, sides in zip(ring_parts.tolist(), low_rings, high_rings, wall_rings, strict=True):
        shell = solids.setdefault(part, [[], [], []])
        shell[0].append(down[::-1].tolist())
        shell[1].append(up.tolist())
        shell[2].extend(sides.tolist())
    by_building: dict[int, list[Any]] = {}
    for part, (floor, roof, sides) in solids.items():
        by_building.setdefault(int(owner[part]), []).append([[floor, roof, *sides]])
    columns = {name: frame[name].astype("object").where(frame[name].notna(), None).tolist()
               for name in ("building_id", *_ATTRIBUTES.values(), "storeys") if name in frame.columns}
    objects: dict[str, Any] = {}
    for row, shells in by_building.items():
        oid = str(columns["building_id"][row])
        objects.update(_building(oid, {k: v[row] for k, v in columns.items()}, shells))
    return objects


#: CityJSON attribute -> buildings field.
_ATTRIBUTES = {"function": "function_code", "function_label": "function_label", "height_m": "height_m",
               "height_source": "height_source", "source": "source"}


def _building(oid: str, row: dict[str, Any], shells: list[Any]) -> dict[str, Any]:
    """One Building with a Solid; a footprint of several parts gives a Building with one BuildingPart each."""
    attributes: dict[str, Any] = {}
    for key, name in _ATTRIBUTES.items():
        if row.get(name) is not None and row[name] != "":
            attributes[key] = float(row[name]) if key == "height_m" else str(row[name])
    if row.get("storeys") is not None:
        attributes["storeysAboveGround"] = int(row["storeys"])
    if attributes.get("height_source") == "measured":
        attributes["measuredHeight"] = attributes["height_m"]
    if len(shells) == 1:
        return {oid: {"type": "Building", "attributes": attributes,
                      "geometry": [{"type": "Solid", "lod": "1", "boundaries": shells[0]}]}}
    parts = [f"{oid}-part{n + 1}" for n in range(len(shells))]
    objects: dict[str, Any] = {oid: {"type": "Building", "attributes": attributes, "children": parts}}
    for part, shell in zip(parts, shells, strict=True):
        objects[part] = {"type": "BuildingPart", "parents": [oid],
                         "geometry": [{"type": "Solid", "lod": "1", "boundaries": shell}]}
    return objects
