"""Building footprints: clean, clip, deduplicate and give them LoD1 heights."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin.transforms.qa import concat_issues, qa_issues
from twin.transforms.repair import repair_geometries

#: Height of one storey in metres when only the number of storeys is known.
STOREY_HEIGHT_M = 3.0
#: Height by building function where nothing better is known, in metres.
DEFAULT_HEIGHT_M = {"1000": 9.0, "1010": 9.0, "1100": 12.0, "2000": 10.0, "2463": 3.0, "3012": 18.0, "3021": 12.0}
FALLBACK_HEIGHT_M = 8.0
#: Footprints smaller than this (m²) are slivers and are dropped.
MIN_AREA_M2 = 1.0


def clean_buildings(
    frame: gpd.GeoDataFrame, *, boundary: BaseGeometry | None = None, min_area_m2: float = MIN_AREA_M2
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return valid, clipped, unique footprints and the QA rows of every change.

    Steps: ``make_valid`` keeping polygonal parts; clip to `boundary`
    (outside: dropped); drop slivers below `min_area_m2`; drop exact
    duplicate footprints and repeated ids (the first is kept).
    """
    crs = frame.crs
    out, issues = repair_geometries(frame, layer="buildings", id_column="building_id")
    found = [issues]
    if boundary is not None:
        out, clipped = _clip(out, boundary)
        found.append(clipped)
    area = shapely.area(out.geometry.to_numpy())
    sliver = area < min_area_m2
    found.append(qa_issues(layer="buildings", feature_ids=out["building_id"][sliver], check="sliver",
                           severity="warning", messages=f"dropped: footprint smaller than {min_area_m2} m²",
                           geometry=out.geometry[sliver], crs=crs))
    out = out.loc[~sliver]
    wkb = pd.Series(shapely.to_wkb(shapely.normalize(out.geometry.to_numpy())), index=out.index)
    same_shape = wkb.duplicated()
    same_id = out["building_id"].duplicated() & ~same_shape
    found.append(qa_issues(layer="buildings", feature_ids=out["building_id"][same_shape], check="duplicate_geometry",
                           severity="warning", messages="dropped: same footprint as an earlier building",
                           geometry=out.geometry[same_shape], crs=crs))
    found.append(qa_issues(layer="buildings", feature_ids=out["building_id"][same_id], check="duplicate_id",
                           severity="warning", messages="dropped: building_id already used by another footprint",
                           geometry=out.geometry[same_id], crs=crs))
    out = out.loc[~(same_shape | same_id)].copy()
    out["area_m2"] = shapely.area(out.geometry.to_numpy()).round(2)
    return out, concat_issues(found, crs)


def building_heights(frame: gpd.GeoDataFrame, *, storey_height_m: float = STOREY_HEIGHT_M) -> gpd.GeoDataFrame:
    """Return a copy with ``height_m`` and ``height_source`` filled for every building.

    Order: an existing ``height_m`` (``height_source`` kept or ``"source"``),
    then ``storeys`` × `storey_height_m`, then the default of the function.
    """
    out = frame.copy()
    height = pd.to_numeric(out.get("height_m", pd.Series(np.nan, index=out.index)), errors="coerce")
    source = out.get("height_source", pd.Series(None, index=out.index, dtype="str"))
    source = source.where(height.notna() & source.notna(), pd.Series("source", index=out.index).where(height.notna()))
    storeys = pd.to_numeric(out.get("storeys", pd.Series(np.nan, index=out.index)), errors="coerce")
    by_storeys = height.isna() & (storeys > 0)
    height = height.where(~by_storeys, storeys * storey_height_m)
    source = source.where(~by_storeys, "storeys")
    default = out["function_code"].map(DEFAULT_HEIGHT_M).astype("float64").fillna(FALLBACK_HEIGHT_M)
    by_default = height.isna()
    out["height_m"] = height.where(~by_default, default).astype("float64")
    out["height_source"] = source.where(~by_default, "default").astype("str")
    return out


def _clip(frame: gpd.GeoDataFrame, boundary: BaseGeometry) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    geoms = frame.geometry.to_numpy()
    shapely.prepare(boundary)
    inside = shapely.contains_properly(boundary, geoms)
    crossing = ~inside & shapely.intersects(boundary, geoms)
    outside = ~inside & ~crossing
    clipped = geoms.copy()
    clipped[crossing] = shapely.intersection(geoms[crossing], boundary)
    collapsed = crossing & (shapely.area(clipped) <= 0)
    crs = frame.crs
    issues = concat_issues(
        [
            qa_issues(layer="buildings", feature_ids=frame["building_id"][outside], check="outside_boundary",
                      severity="info", messages="dropped: outside the city boundary", geometry=geoms[outside], crs=crs),
            qa_issues(layer="buildings", feature_ids=frame["building_id"][crossing & ~collapsed], check="clipped",
                      severity="info", messages="clipped to the city boundary",
                      geometry=geoms[crossing & ~collapsed], crs=crs),
        ],
        crs,
    )
    keep = ~outside & ~collapsed
    out = frame.loc[keep].copy()
    out[out.geometry.name] = clipped[keep]
    return out, issues
