"""Features whose geometry GEOS cannot decode: repaired where a usable part is left, else marked for dropping.

Real extracts hold geometries that GDAL writes but GEOS refuses to build: an
OpenStreetMap way of one node repeated (a ring of two points), a way cut at
the extract's edge, a line of a single point. pyogrio decodes all geometries
of a layer at once and raises on the first of them, before any repair could
run. The readers read every layer with such geometries left missing;
:func:`with_undecodable_marked` then reads the raw WKB of a layer with missing
geometries, and decodes the failing ones one by one with geomet
(which builds GeoJSON without checking): rings and lines with too few
distinct points are left out (they have no area or length), the rest is
kept. A feature with nothing left keeps an empty geometry. Either way its row
is listed in ``frame.attrs[UNDECODABLE]`` (a dict: row label -> what GEOS said), and
the repair step records it in ``qa_issues`` under the reader's id.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import shapely.geometry
from geomet import wkb as geomet_wkb

from twin.errors import SourceError
from twin.model.qa import UNDECODABLE

log = logging.getLogger(__name__)

Geo = dict[str, Any]


def with_undecodable_marked(
    frame: gpd.GeoDataFrame, path: Path | str, *, layer: str | None, encoding: str | None
) -> gpd.GeoDataFrame:
    """`frame` (read with undecodable geometries left missing) with them repaired or empty and listed in ``attrs``.

    The layer's raw WKB is read once more (no attributes) to tell a geometry GEOS could not decode
    from a feature that has none in the file; the latter stays missing and unlisted.
    """
    meta, table = pyogrio.read_arrow(path, layer=layer, encoding=encoding, columns=[])
    column = table.column(meta["geometry_name"] or "wkb_geometry")
    raw = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    if len(raw) != len(frame):  # the two reads disagree: nothing can be matched by row
        raise SourceError(Path(str(path)).name, f"{len(frame)} features read, then {len(raw)}",
                          fix="replace it with a complete, valid file")
    failed = np.flatnonzero(shapely.is_missing(frame.geometry.to_numpy()) & pd.notna(raw))
    if not len(failed):
        return frame
    geoms, reasons = decode_geometries(raw[failed])
    frame.loc[frame.index[failed], frame.geometry.name] = geoms
    frame.attrs[UNDECODABLE] = dict(zip(frame.index[failed].tolist(), reasons, strict=True))  # plain: pandas compares attrs
    kept = int((~shapely.is_empty(geoms)).sum())
    log.warning("%s: %d geometries GEOS cannot decode (%d repaired, %d left empty); qa_issues lists those of "
                "the features used", Path(str(path)).name, len(failed), kept, len(failed) - kept)
    return frame


def decode_geometries(wkb: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Decode WKB that GEOS refuses, leaving out rings and lines with too few distinct points.

    Returns the geometries (empty where nothing usable is left) and what GEOS said of each.
    A loop over the failing features only, a handful in a real extract.

    >>> ring_of_two = bytes.fromhex("0103000000010000000200000000000000000000000000000000000000"
    ...                             "00000000000000000000000000000000")
    >>> geoms, reasons = decode_geometries(np.array([ring_of_two], dtype=object))
    >>> geoms[0].is_empty, reasons[0]
    (True, 'Invalid number of points in LinearRing found 2 - must be 0 or >= 3')
    """
    geoms = np.empty(len(wkb), dtype=object)
    reasons = []
    for number, data in enumerate(wkb):
        reasons.append(_geos_reason(data))
        try:
            usable = _usable(geomet_wkb.loads(bytes(data)))
            geoms[number] = shapely.geometry.shape(usable) if usable else shapely.Polygon()
        except (ValueError, TypeError, KeyError, IndexError, shapely.errors.GEOSException):  # truncated or garbled WKB
            geoms[number] = shapely.Polygon()
    return geoms, reasons


def _geos_reason(data: bytes) -> str:
    try:
        shapely.from_wkb(data)
    except shapely.errors.GEOSException as exc:
        return str(exc).removeprefix("IllegalArgumentException: ").removeprefix("ParseException: ")
    return "not decodable"


def _usable(geometry: Geo) -> Geo | None:
    """The parts of a GeoJSON geometry that GEOS can build, or None."""
    kind = geometry["type"]
    if kind == "GeometryCollection":
        parts = [p for p in map(_usable, geometry["geometries"]) if p]
        return {"type": kind, "geometries": parts} if parts else None
    coords = geometry["coordinates"]
    if kind == "LineString":
        return geometry if _distinct(coords) >= 2 else None
    if kind == "MultiLineString":
        lines = [line for line in coords if _distinct(line) >= 2]
        return {"type": kind, "coordinates": lines} if lines else None
    if kind == "Polygon":
        rings = _rings(coords)
        return {"type": kind, "coordinates": rings} if rings else None
    if kind == "MultiPolygon":
        polygons = [r for r in map(_rings, coords) if r]
        return {"type": kind, "coordinates": polygons} if polygons else None
    return geometry if coords else None


def _rings(polygon: list[list[list[float]]]) -> list[list[list[float]]]:
    """The rings of a polygon with at least three distinct points, closed; none when the shell has fewer."""
    if not polygon or _distinct(polygon[0]) < 3:
        return []
    return [ring if ring[0] == ring[-1] else [*ring, ring[0]] for ring in polygon if _distinct(ring) >= 3]


def _distinct(points: list[list[float]]) -> int:
    return len({tuple(p[:2]) for p in points})
