"""Routes drawn twice: the same geometry, or a straight stretch shared with an earlier route.

Found by sorting straight segments along the infinite lines they lie on, not by testing route
pairs, so the check stays near-linear however densely the routes cross.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.model.qa import qa_issues
from twin.transforms.repair import normal_wkb

__all__ = ["ZERO_LENGTH_M", "duplicate_issues", "overlapping_routes"]

#: Shared stretches shorter than this are no overlap (m); segments shorter than this are zero-length.
ZERO_LENGTH_M = 0.001


def duplicate_issues(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Routes drawn twice: the same geometry, or a stretch shared with an earlier route (the later one is reported)."""
    geoms = routes.geometry.to_numpy()
    dup = pd.Series(normal_wkb(geoms)).duplicated().to_numpy()
    rows = np.unique(np.r_[overlapping_routes(geoms), np.flatnonzero(dup)])
    return qa_issues(layer="fibre_routes", feature_ids=routes["route_id"].iloc[rows], check="overlapping",
                     severity="warning", messages="duplicate or overlapping segment: the same trench drawn twice?",
                     geometry=geoms[rows], crs=routes.crs)


#: Directions (rad) and offsets (m) of straight segments are compared at this resolution.
_ANGLE_STEP, _OFFSET_STEP = 1e-7, 1e-3


def overlapping_routes(lines: np.ndarray, *, min_length_m: float = ZERO_LENGTH_M) -> np.ndarray:
    """Positions of lines that share a straight stretch longer than `min_length_m` with an earlier line.

    Every segment is placed on its infinite line (direction and offset, rounded to a tenth of a
    microradian and a millimetre) and its extent along it; segments on the same line are sorted by
    where they start, and one starting before an earlier one ends overlaps it. Sorting instead of
    testing pairs keeps the check near-linear, however densely the routes cross.

    >>> lines = shapely.linestrings([[(0, 0), (10, 0)], [(4, 0), (20, 0)], [(0, 1), (10, 1)], [(5, -5), (5, 5)]])
    >>> overlapping_routes(lines).tolist()
    [1]
    """
    parts, owner = shapely.get_parts(lines, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    pair = np.flatnonzero(part[1:] == part[:-1])
    if not len(pair):
        return np.empty(0, dtype=np.int64)
    origin = coords.min(axis=0)
    p, q = coords[pair] - origin, coords[pair + 1] - origin
    angle = np.arctan2(q[:, 1] - p[:, 1], q[:, 0] - p[:, 0]) % np.pi
    angle[angle >= np.pi - _ANGLE_STEP / 2] = 0.0  # a line pointing north is the one pointing south
    ux, uy = np.cos(angle), np.sin(angle)
    offset = uy * p[:, 0] - ux * p[:, 1]
    t0, t1 = ux * p[:, 0] + uy * p[:, 1], ux * q[:, 0] + uy * q[:, 1]
    table = pd.DataFrame({
        "angle": np.round(angle / _ANGLE_STEP).astype(np.int64), "offset": np.round(offset / _OFFSET_STEP).astype(np.int64),
        "start": np.minimum(t0, t1), "end": np.maximum(t0, t1), "route": owner[part[pair]],
    }).sort_values(["angle", "offset", "start", "route"], kind="stable")
    line = table.groupby(["angle", "offset"], sort=False)
    reach = line["end"].cummax()
    # the route whose segment reaches farthest so far on the same line, and how far it reaches
    holder = table["route"].where(table["end"] == reach).groupby([table["angle"], table["offset"]]).ffill()
    prior_reach = reach.groupby([table["angle"], table["offset"]]).shift()
    prior_holder = holder.groupby([table["angle"], table["offset"]]).shift()
    other = prior_holder.fillna(-1).astype(np.int64)
    shared = (prior_reach - table["start"] > min_length_m) & (other >= 0) & (other != table["route"])
    later = np.maximum(table["route"].to_numpy(), other.to_numpy())[shared.to_numpy()]
    return np.unique(later)


