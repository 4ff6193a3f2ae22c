"""Rows of the ``qa_issues`` layer: every repair, drop and topology problem."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.model import conform, empty_frame

SEVERITIES = ("error", "warning", "info")

#: Positions within this many degrees of (0, 0) are GNSS failures (readers and capture checks alike).
NULL_ISLAND_DEG = 1e-6

#: Key of ``frame.attrs`` where a reader lists the rows whose geometry could not be decoded
#: (a dict: row label -> what GEOS said); the repair step records them in ``qa_issues``.
UNDECODABLE = "undecodable_geometries"


def qa_issues(
    *,
    layer: str,
    feature_ids: Sequence[object] | pd.Series | np.ndarray,
    check: str,
    severity: str,
    messages: str | Sequence[str] | pd.Series,
    geometry: Sequence[object] | np.ndarray | gpd.GeoSeries | None = None,
    crs: object = None,
) -> gpd.GeoDataFrame:
    """Build QA rows for many features at once.

    Parameters
    ----------
    layer
        Output layer the features belong to.
    feature_ids
        Stable ids of the affected features.
    check
        Stable code of the check (``"geometry_repaired"``).
    severity
        ``"error"``, ``"warning"`` or ``"info"``.
    messages
        One message for all, or one per feature.
    geometry
        Any geometries; each is reduced to a point on its surface.
    crs
        CRS of `geometry`.

    Examples
    --------
    >>> issues = qa_issues(layer="buildings", feature_ids=["a"], check="empty_geometry",
    ...                    severity="warning", messages="dropped: empty geometry")
    >>> issues[["layer", "check"]].iloc[0].tolist()
    ['buildings', 'empty_geometry']
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    ids = pd.Series(np.asarray(feature_ids, dtype=object)).astype("str")
    n = len(ids)
    if n == 0:
        return empty_frame("qa_issues", crs)
    if geometry is None:
        points = np.full(n, None, dtype=object)
    else:
        geoms = np.asarray(geometry.to_numpy() if isinstance(geometry, gpd.GeoSeries) else geometry, dtype=object)
        points = _points(geoms)
    texts = [messages] * n if isinstance(messages, str) else list(messages)
    frame = gpd.GeoDataFrame(
        {"layer": layer, "feature_id": ids, "check": check, "severity": severity, "message": texts},
        geometry=gpd.GeoSeries(points, crs=crs),
    )
    return conform(frame, "qa_issues")


def concat_issues(frames: Sequence[gpd.GeoDataFrame], crs: object) -> gpd.GeoDataFrame:
    """Concatenate QA frames (possibly none) into one ``qa_issues`` frame."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_frame("qa_issues", str(crs))
    if len(frames) == 1:
        return conform(frames[0].set_crs(crs, allow_override=True), "qa_issues")
    out = pd.concat([f.set_crs(crs, allow_override=True) for f in frames], ignore_index=True)
    return conform(gpd.GeoDataFrame(out, geometry="geometry", crs=crs), "qa_issues")


def _points(geoms: np.ndarray) -> np.ndarray:
    out = np.full(len(geoms), None, dtype=object)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if usable.any():
        valid = shapely.make_valid(geoms[usable])
        out[usable] = shapely.point_on_surface(valid)
    return out
