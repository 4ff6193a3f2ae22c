"""Geometry repair: make_valid, keep the wanted geometry family, drop empties; all recorded."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin import parallel
from twin.model.qa import UNDECODABLE, concat_issues, qa_issues

_FAMILY = {"polygon": (3, 6), "line": (1, 5), "point": (0, 4)}


def repair_geometries(
    frame: gpd.GeoDataFrame, *, layer: str, id_column: str, family: str = "polygon"
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return `frame` with valid geometries of one family, and the QA rows of what was done.

    Invalid geometries are repaired with ``make_valid`` keeping only parts of
    the wanted `family` (``"polygon"``, ``"line"`` or ``"point"``); features
    whose geometry is missing or empty (before or after repair) are dropped.
    The index of the kept rows is preserved. Rows the reader listed in
    ``frame.attrs[UNDECODABLE]`` (geometries GEOS could not decode) are
    recorded as ``undecodable_geometry``: dropped when nothing was left of
    them, else kept with the parts that could be built.

    Examples
    --------
    >>> bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    >>> frame = gpd.GeoDataFrame({"id": ["b"]}, geometry=[bowtie], crs="EPSG:25832")
    >>> fixed, issues = repair_geometries(frame, layer="buildings", id_column="id")
    >>> bool(fixed.is_valid.all()), issues["check"].tolist()
    (True, ['geometry_repaired'])
    """
    geoms = frame.geometry.to_numpy()
    ids = frame[id_column].to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    undecodable = undecodable_issues(frame, layer=layer, ids=ids)
    missing_here = missing & ~frame.index.isin(_undecodable(frame).index)
    invalid = ~missing & ~parallel.elementwise(shapely.is_valid, geoms)
    repaired = geoms.copy()
    if invalid.any():
        repaired[invalid] = keep_family(shapely.make_valid(geoms[invalid]), family)
    wrong = ~missing & ~invalid & ~np.isin(shapely.get_type_id(geoms), _FAMILY[family])
    if wrong.any():
        repaired[wrong] = keep_family(geoms[wrong], family)
    lost = ~missing & (shapely.is_empty(repaired) | shapely.is_missing(repaired))
    fixed = (invalid | wrong) & ~lost
    reasons = shapely.is_valid_reason(geoms[invalid])
    crs = frame.crs
    issues = concat_issues(
        [
            undecodable,
            qa_issues(layer=layer, feature_ids=ids[missing_here], check="empty_geometry", severity="warning",
                      messages="dropped: the feature has no geometry", crs=crs),
            qa_issues(layer=layer, feature_ids=ids[invalid & ~lost], check="geometry_repaired", severity="info",
                      messages=[f"repaired with make_valid: {r}" for r, k in zip(reasons, ~lost[invalid], strict=True) if k],
                      geometry=geoms[invalid & ~lost], crs=crs),
            qa_issues(layer=layer, feature_ids=ids[wrong & ~lost], check="geometry_type", severity="info",
                      messages=f"kept only the {family} parts", geometry=geoms[wrong & ~lost], crs=crs),
            qa_issues(layer=layer, feature_ids=ids[lost], check="geometry_collapsed", severity="warning",
                      messages=f"dropped: no {family} is left after repair", geometry=geoms[lost], crs=crs),
        ],
        crs,
    )
    keep = ~(missing | lost)
    out = frame.copy(deep=False) if keep.all() else frame.loc[keep]  # copy-on-write: shares what is not changed
    if fixed.any():
        out.loc[fixed[keep], out.geometry.name] = repaired[keep][fixed[keep]]
    return out, issues


def undecodable_issues(frame: gpd.GeoDataFrame, *, layer: str, ids: np.ndarray | pd.Series) -> gpd.GeoDataFrame:
    """QA rows of the features whose geometry the reader could not decode (``frame.attrs[UNDECODABLE]``).

    `ids` are the features' ids, one per row of `frame`. A feature with nothing left is dropped by the
    caller; one with usable parts left keeps them (rings and lines of too few points are left out).

    Examples
    --------
    >>> frame = gpd.GeoDataFrame({"id": ["way/7"]}, geometry=[shapely.Polygon()], crs="EPSG:25832")
    >>> frame.attrs[UNDECODABLE] = {0: "Invalid number of points in LinearRing found 2"}
    >>> undecodable_issues(frame, layer="buildings", ids=frame["id"])[["feature_id", "check"]].iloc[0].tolist()
    ['way/7', 'undecodable_geometry']
    """
    problems = _undecodable(frame)
    if problems.empty:
        return qa_issues(layer=layer, feature_ids=[], check="undecodable_geometry", severity="warning",
                         messages=[], crs=frame.crs)
    rows = frame.index.get_indexer(problems.index)
    problems = problems[rows >= 0]
    rows = rows[rows >= 0]
    geoms = frame.geometry.to_numpy()[rows]
    kept = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    done = np.where(kept, "repaired: parts with too few points left out", "dropped")
    messages = [f"{what}: its geometry in the file cannot be decoded ({why})"
                for what, why in zip(done, problems.astype("str"), strict=True)]
    return qa_issues(layer=layer, feature_ids=np.asarray(ids, dtype=object)[rows], check="undecodable_geometry",
                     severity="warning", messages=messages, geometry=geoms, crs=frame.crs)


def _undecodable(frame: gpd.GeoDataFrame) -> pd.Series:
    problems = frame.attrs.get(UNDECODABLE) or {}
    return pd.Series(list(problems.values()), index=list(problems), dtype="object")


def normal_wkb(geoms: np.ndarray) -> np.ndarray:
    """WKB of the normalised geometries: the same bytes for a shape digitised from another vertex or direction.

    >>> a, b = shapely.box(0, 0, 1, 1), shapely.Polygon([(1, 1), (0, 1), (0, 0), (1, 0)])
    >>> bool(normal_wkb(np.array([a]))[0] == normal_wkb(np.array([b]))[0])
    True
    """
    return np.asarray(shapely.to_wkb(shapely.normalize(geoms), output_dimension=3), dtype=object)


#: Two versions of a coordinate closer than this (metres, on a grid of this size) are the same place when
#: versions of the model are compared: a plan saved again through another CRS moves every vertex by
#: nanometres, and that is no change a council should see.
CHANGE_GRID_M = 0.001


def change_wkb(geoms: np.ndarray, *, grid_m: float = CHANGE_GRID_M) -> np.ndarray:
    """:func:`normal_wkb` of the geometries with their coordinates rounded to a grid of `grid_m`.

    >>> a = shapely.LineString([(0, 0), (10, 0)])
    >>> bool(change_wkb(np.array([a]))[0] == change_wkb(np.array([shapely.LineString([(0, 1e-9), (10, 0)])]))[0])
    True
    >>> bool(change_wkb(np.array([a]))[0] == change_wkb(np.array([shapely.LineString([(0, 0.01), (10, 0)])]))[0])
    False
    """
    return normal_wkb(shapely.set_precision(geoms, grid_m, mode="pointwise"))


def keep_family(geoms: np.ndarray, family: str) -> np.ndarray:
    """Reduce each geometry to the parts of `family`, as one (multi) geometry; empty when none.

    Collections are exploded (all rows at once), the wanted parts regrouped
    with ``shapely.multi*(..., indices=...)``; overlapping polygon parts are
    merged with a zero buffer.
    """
    types = shapely.get_type_id(geoms)
    empty = shapely.from_wkt("POLYGON EMPTY" if family == "polygon" else "LINESTRING EMPTY" if family == "line" else "POINT EMPTY")
    out = geoms.copy()
    other = ~np.isin(types, _FAMILY[family])
    out[other] = empty
    mixed = np.flatnonzero(types == 7)
    if not len(mixed):
        return out
    out[mixed] = empty
    parts, index = shapely.get_parts(geoms[mixed], return_index=True)
    while (nested := np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))).any():
        sub, sub_index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][sub_index]])
    keep = shapely.get_type_id(parts) == {"polygon": 3, "line": 1, "point": 0}[family]
    groups, local = np.unique(index[keep], return_inverse=True)
    if len(groups):
        maker = {"polygon": shapely.multipolygons, "line": shapely.multilinestrings, "point": shapely.multipoints}[family]
        merged = maker(parts[keep], indices=local)
        if family == "polygon":
            bad = ~shapely.is_valid(merged)
            merged[bad] = shapely.buffer(merged[bad], 0)
        out[mixed[groups]] = merged
    return out
