"""Whether two layers of a town lie together: a layer read with swapped axes or in a wrong CRS lands far off.

>>> import geopandas as gpd, shapely
>>> houses = gpd.GeoDataFrame(geometry=[shapely.box(575_000, 236_000, 575_100, 236_100)], crs="EPSG:2180")
>>> drive = gpd.GeoDataFrame(geometry=shapely.points([(236_050, 575_050)]), crs="EPSG:2180")
>>> round(gap_m(drive, houses) / 1000), gap_m(drive, houses, swapped=True)
(479, 0.0)
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["APART_M", "gap_m"]

#: How far (m) every feature of a layer may lie from the extent of the buildings before the two are taken as
#: placed apart: further than a town's outskirts, nearer than the shift of swapped axes or a wrong CRS.
APART_M = 5_000.0


def gap_m(frame: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, *, swapped: bool = False) -> float | None:
    """Distance in metres from the extent of `reference` to the nearest feature of `frame` (0 inside it).

    With `swapped`, the x and y of `frame`'s coordinates are exchanged first: a small gap then means that
    the layer's coordinate columns were mapped the wrong way round. None where either layer has no geometry.
    """
    if frame.crs != reference.crs:
        raise ValueError(f"layers in different CRSs: {frame.crs} and {reference.crs}")
    geometries = frame.geometry.to_numpy()
    geometries = geometries[~(shapely.is_missing(geometries) | shapely.is_empty(geometries))]
    kept = reference.geometry[~(reference.geometry.isna() | reference.geometry.is_empty)]
    if not len(geometries) or not len(kept):
        return None
    if swapped:
        geometries = shapely.transform(geometries, lambda xy: xy[:, ::-1])
    extent = shapely.box(*kept.total_bounds)
    return float(np.min(shapely.distance(extent, geometries)))
