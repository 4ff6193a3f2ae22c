"""Headings as the model keeps them: bearings from grid north of the model's CRS.

Cameras, GNSS receivers and picture services (Mapillary ``compass_angle``,
Panoramax ``view:azimuth``) give headings from true north. Grid north of a
projected CRS differs from it by the meridian convergence: under a degree in a
UTM zone near its central meridian, about 8° in S-JTSK (EPSG:5514) in Prague.
A field of view and the arrows in QGIS are drawn on the map's grid, so every
reader turns true headings into grid bearings of the model's CRS here.

>>> import numpy as np
>>> round(float(grid_headings(np.array([0.0]), np.array([14.42]), np.array([50.08]), "EPSG:5514")[0]), 1)
7.8
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj

__all__ = ["STEP_M", "grid_headings", "to_grid_north", "true_headings"]

#: Length of the step along a heading that is projected to measure its grid bearing (m).
STEP_M = 10.0


def grid_headings(true_deg: np.ndarray, lon: np.ndarray, lat: np.ndarray, crs: str) -> np.ndarray:
    """Headings from true north turned into bearings from grid north of `crs` at each position.

    Measured, not looked up: a step of 10 m along the heading on the ellipsoid,
    projected, gives the grid bearing (at 7.77° E, 49.44° N in EPSG:25832 about
    0.9° more than the true heading). Without a position the heading stays as it is.
    """
    out = np.array(true_deg, dtype="float64")
    ok = np.isfinite(out) & np.isfinite(lon) & np.isfinite(lat)
    target = pyproj.CRS.from_user_input(crs)
    if not ok.any() or target.is_geographic:
        return out
    lon2, lat2, _ = pyproj.Geod(ellps="WGS84").fwd(lon[ok], lat[ok], out[ok], np.full(ok.sum(), STEP_M))
    to_grid = pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True)
    x1, y1 = to_grid.transform(lon[ok], lat[ok])
    x2, y2 = to_grid.transform(lon2, lat2)
    out[ok] = np.degrees(np.arctan2(np.asarray(x2) - x1, np.asarray(y2) - y1)) % 360.0
    return out


def to_grid_north(frame: gpd.GeoDataFrame, *, column: str = "heading_deg") -> gpd.GeoDataFrame:
    """A copy of `frame` (points in a projected CRS) whose headings from true north are grid bearings of its CRS."""
    if column not in frame or frame.crs is None or not len(frame):
        return frame
    out = frame.copy()
    points = frame.geometry.to_crs("EPSG:4326")
    empty = points.isna() | points.is_empty
    lon = np.where(empty, np.nan, points.x.where(~empty))
    lat = np.where(empty, np.nan, points.y.where(~empty))
    out[column] = grid_headings(frame[column].to_numpy(dtype="float64"), lon.astype("float64"),
                                lat.astype("float64"), frame.crs.to_string())
    return out


def true_headings(grid_deg: np.ndarray, x: np.ndarray, y: np.ndarray, crs: str) -> np.ndarray:
    """Bearings from grid north of `crs` at points (x, y) turned into headings from true north (the inverse).

    >>> h = true_headings(np.array([7.836]), *pyproj.Transformer.from_crs("EPSG:4326", "EPSG:5514",
    ...                   always_xy=True).transform([14.42], [50.08]), "EPSG:5514")
    >>> round(float(h[0]), 1) % 360
    0.0
    """
    grid = np.asarray(grid_deg, dtype="float64")
    radians = np.radians(grid)
    to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon1, lat1 = to_lonlat.transform(x, y)
    lon2, lat2 = to_lonlat.transform(np.asarray(x) + STEP_M * np.sin(radians), np.asarray(y) + STEP_M * np.cos(radians))
    azimuth, _, _ = pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    return np.asarray(azimuth, dtype="float64") % 360.0
