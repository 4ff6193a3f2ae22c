"""Counts and sums of a layer per district or per square grid cell: pure functions of layer frames.

>>> import geopandas as gpd, shapely
>>> buildings = gpd.GeoDataFrame({"building_id": ["a", "b", "c"], "area_m2": [100.0, 50.0, 80.0],
...     "storeys": [2, 3, 1]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 25, 10),
...     shapely.box(120, 0, 128, 10)], crs="EPSG:25832")
>>> by_grid(buildings, "buildings", cell_m=100)[["cell_id", "count", "area_m2", "floor_area_m2"]]
  cell_id  count  area_m2  floor_area_m2
0     0_0      2    150.0          350.0
1     1_0      1     80.0           80.0
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.errors import ArgumentError

__all__ = ["by_district", "by_grid", "district_areas", "representative_points"]


def representative_points(frame: gpd.GeoDataFrame) -> np.ndarray:
    """One point per feature: a point itself, a line's middle, a polygon's centroid (about 50 times faster than a
    point on its surface; a concave footprint may count in the cell its centroid lies in, beside it)."""
    geometry = frame.geometry.to_numpy()
    kind = shapely.get_type_id(geometry)
    lines = np.isin(kind, (1, 2, 5))
    out = shapely.centroid(geometry)
    out[lines] = shapely.line_interpolate_point(geometry[lines], 0.5, normalized=True)
    return np.asarray(out)


def _sums(frame: gpd.GeoDataFrame, layer: str, key: pd.Series) -> pd.DataFrame:
    """Count and the sums that fit the layer's geometry, per value of `key`."""
    geometry = frame.geometry.to_numpy()
    kind = shapely.get_type_id(geometry)
    columns: dict[str, pd.Series] = {"count": pd.Series(1, index=frame.index)}
    if np.isin(kind, (3, 6)).any():
        area = frame["area_m2"] if "area_m2" in frame else pd.Series(shapely.area(geometry), index=frame.index)
        columns["area_m2"] = area.astype("float64")
    if np.isin(kind, (1, 2, 5)).any():
        columns["length_m"] = pd.Series(shapely.length(geometry), index=frame.index)
    table = pd.DataFrame(columns).groupby(key.to_numpy(), sort=True).sum(min_count=1)
    if layer == "buildings":
        storeys = frame["storeys"].astype("Float64")
        floor = (frame["area_m2"].astype("Float64") * storeys).astype("float64")
        known = storeys.notna().astype("int64")
        grouped = pd.DataFrame({"floor": floor, "known": known}).groupby(key.to_numpy(), sort=True)
        table["storeys_known"] = grouped["known"].sum()
        # a group's floor area only where every building's storeys are known: a partial sum would read as the whole
        table["floor_area_m2"] = grouped["floor"].sum(min_count=1).where(table["storeys_known"] == table["count"])
    return table


def by_grid(frame: gpd.GeoDataFrame, layer: str, *, cell_m: float) -> gpd.GeoDataFrame:
    """Count and sums per square cell of `cell_m` metres (cells aligned on the CRS origin) holding a feature.

    Each feature counts in the cell of its :func:`representative_points`. Columns ``cell_id`` (``"column_row"``
    of cell numbers), ``count``, ``area_m2`` (areas), ``length_m`` (lines), for buildings ``storeys_known`` and
    ``floor_area_m2`` (area × storeys; empty unless every building of the cell has storeys); geometry the cell.
    """
    points = representative_points(frame)
    column = np.floor(shapely.get_x(points) / cell_m).astype("int64")
    row = np.floor(shapely.get_y(points) / cell_m).astype("int64")
    key = pd.Series(column.astype("str"), index=frame.index).str.cat(pd.Series(row.astype("str"), index=frame.index),
                                                                      sep="_")
    table = _sums(frame, layer, key)
    corner = pd.DataFrame({"c": column, "r": row}, index=key.to_numpy()).groupby(level=0).first().loc[table.index]
    c, r = corner["c"].to_numpy(), corner["r"].to_numpy()
    cells = shapely.box(c * cell_m, r * cell_m, (c + 1) * cell_m, (r + 1) * cell_m)
    return gpd.GeoDataFrame(table.rename_axis("cell_id").reset_index(), geometry=cells, crs=frame.crs)


def district_areas(buildings: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Per district named on the buildings, the convex hull of its buildings' footprints (index: the name)."""
    named = _districts(buildings)
    hulls = buildings.geometry.groupby(named.to_numpy()).agg(lambda g: shapely.convex_hull(shapely.union_all(g)))
    return gpd.GeoSeries(hulls, crs=buildings.crs).rename_axis("district")


def _districts(buildings: gpd.GeoDataFrame) -> pd.Series:
    district = buildings["district"] if "district" in buildings else pd.Series(None, index=buildings.index)
    district = district.astype("object").where(district.notna() & (district.astype("str") != ""), None)
    if district.isna().all():
        raise ArgumentError("aggregate, by='district'", "the model's buildings name no district",
                            fix="give [city] districts in the pipeline file and run it again, or use by='grid'")
    return district.dropna()


def by_district(frame: gpd.GeoDataFrame, layer: str, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Count and sums (as :func:`by_grid`) per district; geometry the district's :func:`district_areas`.

    Buildings count in their ``district``; features of another layer in the district of the building nearest
    to their :func:`representative_points`. Buildings without a district are left out.
    """
    named = _districts(buildings)
    if layer == "buildings":
        rows, key = frame.loc[named.index], named
    else:
        located = buildings.loc[named.index]
        tree = shapely.STRtree(located.geometry.to_numpy())
        (f_idx, b_idx) = tree.query_nearest(representative_points(frame), all_matches=False)
        rows = frame.iloc[f_idx]
        key = pd.Series(named.to_numpy()[b_idx], index=rows.index)
    table = _sums(rows, layer, key)
    areas = district_areas(buildings)
    return gpd.GeoDataFrame(table.rename_axis("district").reset_index(), geometry=areas.loc[table.index].to_numpy(),
                           crs=frame.crs)
