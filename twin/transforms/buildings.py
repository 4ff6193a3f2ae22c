"""Building footprints: clean, clip, deduplicate, merge sources and give them LoD1 heights.

Every function returns new frames (inputs are not changed) and the
``qa_issues`` rows of every repair and drop, keyed by ``building_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin import parallel
from twin.model import empty_frame
from twin.model.codes import default_heights
from twin.model.frames import require_same_crs
from twin.model.qa import concat_issues, qa_issues
from twin.transforms.repair import keep_family, normal_wkb, repair_geometries

#: Height of one storey in metres when only the number of storeys is known.
STOREY_HEIGHT_M = 3.0
#: Height where neither a height, storeys nor a default of the function is known, in metres.
FALLBACK_HEIGHT_M = 8.0
#: Footprints smaller than this (m²) are slivers and are dropped.
MIN_AREA_M2 = 1.0
#: Two footprints overlapping by at least this intersection-over-union are duplicates.
DUPLICATE_IOU = 0.9
#: Two footprints whose outlines are at most this far apart (Hausdorff, m) are duplicates.
DUPLICATE_TOLERANCE_M = 0.2
#: Heights outside (0, MAX_HEIGHT_M] are not plausible and are ignored.
MAX_HEIGHT_M = 1000.0
#: An extra footprint matches a master one when it covers this share of it.
MATCH_OVERLAP = 0.5
#: An extra footprint is added as a new building only when masters cover less than this share of it.
ADD_MAX_OVERLAP = 0.1
#: Attributes an extra source may fill in master buildings.
FILLED = ("height_m", "storeys", "roof_storeys", "street", "house_number", "postcode")


def clean_buildings(
    frame: gpd.GeoDataFrame,
    *,
    boundary: BaseGeometry | None = None,
    min_area_m2: float = MIN_AREA_M2,
    duplicate_iou: float = DUPLICATE_IOU,
    duplicate_tolerance_m: float = DUPLICATE_TOLERANCE_M,
    unique_ids: bool = True,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return valid, clipped, unique footprints and the QA rows of every change.

    Steps: ``make_valid`` keeping polygonal parts; clip to `boundary`
    (outside: dropped); drop slivers below `min_area_m2`; drop exact
    duplicates and near-duplicates (IoU ≥ `duplicate_iou` or outlines within
    `duplicate_tolerance_m`; the first is kept); make repeated ids unique
    (``OI-2``; not with ``unique_ids=False``, for a caller that sees only part of
    the region and makes them unique over all of it); derive ``area_m2``.

    Examples
    --------
    >>> frame = gpd.GeoDataFrame({"building_id": ["a", "b", "c"]}, crs="EPSG:25832",
    ...     geometry=[shapely.box(0, 0, 10, 10), shapely.box(0.05, 0, 10.05, 10), shapely.box(20, 0, 20.5, 0.5)])
    >>> out, issues = clean_buildings(frame)
    >>> out["building_id"].tolist(), sorted(issues["check"])
    (['a'], ['near_duplicate', 'sliver'])
    """
    crs = frame.crs
    full, repaired = repair_geometries(frame, layer="buildings", id_column="building_id")
    found = [repaired]
    # the steps that drop rows see the ids and footprints only, and the other columns are taken once at
    # the end: every take copies the text columns (about 750 MB at four million footprints)
    out = full[["building_id", full.geometry.name]].set_axis(pd.RangeIndex(len(full)))
    if boundary is not None:
        out, clipped = _clip(out, boundary)
        found.append(clipped)
    sliver = shapely.area(out.geometry.to_numpy()) < min_area_m2
    found.append(_issues(out, sliver, "sliver", "warning", f"dropped: footprint smaller than {min_area_m2} m²"))
    out = out.loc[~sliver]
    same = _exact_duplicates(out.geometry.to_numpy())
    found.append(_issues(out, same, "duplicate_geometry", "warning", "dropped: same footprint as an earlier building"))
    out = out.loc[~same]
    near, messages = _near_duplicates(out, iou=duplicate_iou, tolerance_m=duplicate_tolerance_m)
    found.append(_issues(out, near, "near_duplicate", "warning", messages))
    out = out.loc[~near]
    if unique_ids:
        out, renamed = unique_building_ids(out)
        found.append(renamed)
    kept = full.iloc[out.index.to_numpy()] if len(out) < len(full) else full.copy(deep=False)
    kept["building_id"] = out["building_id"].array
    kept[kept.geometry.name] = out.geometry.to_numpy()
    kept["area_m2"] = shapely.area(out.geometry.to_numpy()).round(2)
    return kept, concat_issues(found, crs)


def unique_building_ids(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Give repeated ids a suffix (``DEBW123-2``, ``-3``, in row order) and record each rename.

    >>> frame = gpd.GeoDataFrame({"building_id": ["a", "a", "a-2"]}, geometry=[shapely.box(0, 0, 1, 1)] * 3)
    >>> unique_building_ids(frame)[0]["building_id"].tolist()
    ['a', 'a-3', 'a-2']
    """
    base = frame["building_id"].astype("str").reset_index(drop=True)
    if base.is_unique:
        if frame["building_id"].dtype != base.dtype:
            frame = frame.assign(building_id=base.set_axis(frame.index))
        return frame, empty_frame("qa_issues", frame.crs)
    count = base.groupby(base).cumcount()
    renamed = (count > 0).to_numpy()
    ids = base.where(~renamed, base + "-" + (count + 1).astype("str"))
    order = np.argsort(renamed, kind="stable")  # originals first: only renamed ids are bumped
    while (clash := ids.iloc[order].duplicated().to_numpy()).any():  # rarely more than one round
        count.iloc[order[clash]] += 1
        ids = base.where(~renamed, base + "-" + (count + 1).astype("str"))
    out = frame.copy()
    ids.index = frame.index
    out["building_id"] = ids
    messages = [f"building_id already used by another footprint; renamed to {new}" for new in ids[renamed]]
    issues = qa_issues(layer="buildings", feature_ids=frame["building_id"][renamed], check="duplicate_id",
                       severity="warning", messages=messages, geometry=frame.geometry[renamed], crs=frame.crs)
    return out, issues


def merge_sources(
    master: gpd.GeoDataFrame,
    extra: gpd.GeoDataFrame,
    *,
    mode: str = "fill",
    min_overlap: float = MATCH_OVERLAP,
    add_max_overlap: float = ADD_MAX_OVERLAP,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Fill heights, storeys and addresses of `master` from an `extra` source; with ``mode="add"`` add its new buildings.

    A master footprint takes the values it lacks from the extra footprint
    covering the largest share of it (at least `min_overlap`). In ``"add"``
    mode, extra footprints that masters cover by less than `add_max_overlap`
    join as buildings of their own source. Every extra footprint that does not
    become a building is recorded (``merged`` or ``not_added``).
    """
    require_same_crs(master, extra, names=('master footprints', 'extra footprints'))
    m_geoms, e_geoms = master.geometry.to_numpy(), extra.geometry.to_numpy()
    pairs = _overlaps(m_geoms, e_geoms)
    best = pairs.loc[pairs["share"] >= min_overlap].sort_values(["m", "share"], ascending=[True, False])
    best = best.drop_duplicates("m")
    out = master.copy()
    rows = best["m"].to_numpy()
    for name in FILLED:
        if name not in extra.columns:
            continue
        values = extra[name].to_numpy()[best["e"].to_numpy()]
        current = out[name] if name in out.columns else pd.Series(None, index=out.index, dtype="object")
        filled = current.to_numpy(dtype=object).copy()
        gap = pd.isna(filled[rows])
        filled[rows[gap]] = values[gap]
        out[name] = pd.Series(filled, index=out.index).infer_objects()
    covered = pairs.groupby("e")["shared"].sum().reindex(range(len(extra)), fill_value=0.0).to_numpy()
    covered = covered / np.maximum(shapely.area(e_geoms), 1e-12)
    used = np.isin(np.arange(len(extra)), best["e"].to_numpy())
    add = (covered < add_max_overlap) if mode == "add" else np.zeros(len(extra), dtype=bool)
    first = best.drop_duplicates("e").set_index("e")["m"]
    merged_into = master["building_id"].to_numpy()[first.reindex(np.flatnonzero(used)).to_numpy()]
    issues = [
        _issues(extra, used & ~add, "merged", "info",
                [f"not a building of its own: its values filled gaps of building {m}" for m, a in
                 zip(merged_into, add[used], strict=True) if not a]),
        _issues(extra, ~used & ~add, "not_added", "info",
                "not a building of its own: overlaps master footprints" if mode == "add" else
                "not a building of its own: the source only fills gaps (mode = \"fill\") and matches no master footprint"),
    ]
    if add.any():
        out = pd.concat([out, extra.loc[add]], ignore_index=True)
        out = gpd.GeoDataFrame(out, geometry=master.geometry.name, crs=master.crs)
    return out, concat_issues(issues, master.crs)


def measured_heights(frame: gpd.GeoDataFrame, heights: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return a copy whose ``height_m`` is the measured height where `heights` has one for the building.

    `heights` has ``building_id`` and ``height_m`` (e.g. LoD2 ``measuredHeight``
    by ALKIS ``OI``); the first plausible value per id wins. The buildings
    taking it get ``height_source = "measured"``.
    """
    table = heights.assign(height_m=pd.to_numeric(heights["height_m"], errors="coerce"))
    table = table.loc[(table["height_m"] > 0) & (table["height_m"] <= MAX_HEIGHT_M)]
    lookup = table.drop_duplicates("building_id").set_index("building_id")["height_m"]
    value = frame["building_id"].astype("str").map(lookup)
    out = frame.copy()
    current = out["height_m"] if "height_m" in out else pd.Series(np.nan, index=out.index)
    source = out["height_source"] if "height_source" in out else pd.Series(None, index=out.index, dtype="object")
    out["height_m"] = value.where(value.notna(), current).astype("float64")
    out["height_source"] = pd.Series("measured", index=out.index, dtype="object").where(value.notna(), source)
    return out


def building_heights(
    frame: gpd.GeoDataFrame,
    *,
    storey_height_m: float = STOREY_HEIGHT_M,
    fallback_height_m: float = FALLBACK_HEIGHT_M,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return a copy with ``height_m``, ``height_source`` and ``storeys`` for every building, and QA rows.

    Order: a ``measured`` height; a plausible height from the source
    (``source``); (``storeys`` + ``roof_storeys``) × `storey_height_m`
    (``storeys``); the default of the function, else `fallback_height_m`
    (``default``). Heights outside (0, 1000] m are ignored and recorded.

    Examples
    --------
    >>> frame = gpd.GeoDataFrame({"building_id": ["a", "b", "c"], "function_code": ["1000", "2463", None],
    ...     "height_m": [12.0, None, -4.0], "storeys": [None, 2, None]}, geometry=[shapely.box(0, 0, 5, 5)] * 3)
    >>> out, issues = building_heights(frame)
    >>> out["height_m"].tolist(), out["height_source"].tolist(), issues["check"].tolist()
    ([12.0, 6.0, 8.0], ['source', 'storeys', 'default'], ['height_implausible'])
    """
    out = frame.copy()
    nan = pd.Series(np.nan, index=out.index, dtype="float64")
    height = pd.to_numeric(out["height_m"], errors="coerce") if "height_m" in out else nan
    source = out["height_source"] if "height_source" in out else pd.Series(None, index=out.index, dtype="object")
    bad = height.notna() & ~((height > 0) & (height <= MAX_HEIGHT_M))
    issues = _issues(out, bad.to_numpy(), "height_implausible", "warning",
                     [f"height {h:g} m ignored: not in (0, {MAX_HEIGHT_M:g}] m" for h in height[bad]])
    height = height.where(~bad)
    source = source.where(height.notna() & (source == "measured"), pd.Series("source", index=out.index).where(height.notna()))
    storeys = pd.to_numeric(out["storeys"], errors="coerce") if "storeys" in out else nan
    storeys = storeys.where((storeys > 0) & (storeys < 200)).round()
    roof = (pd.to_numeric(out["roof_storeys"], errors="coerce") if "roof_storeys" in out else nan).clip(0, 20).fillna(0)
    by_storeys = height.isna() & storeys.notna()
    height = height.where(~by_storeys, (storeys + roof) * storey_height_m)
    source = source.where(~by_storeys, "storeys")
    codes = out["function_code"] if "function_code" in out else pd.Series(None, index=out.index, dtype="object")
    by_default = height.isna()
    out["height_m"] = height.where(~by_default, default_heights(codes, fallback_m=fallback_height_m)).astype("float64")
    out["height_source"] = source.where(~by_default, "default").astype("str")
    out["storeys"] = storeys.astype("Int32")
    return out, issues


def _overlaps(m_geoms: np.ndarray, e_geoms: np.ndarray) -> pd.DataFrame:
    """Pairs (m, e) of footprints sharing area: the area shared and its share of the m footprint."""
    mi, ej = shapely.STRtree(e_geoms).query(m_geoms, predicate="intersects")
    box_m, box_e = shapely.bounds(m_geoms)[mi], shapely.bounds(e_geoms)[ej]
    wide = np.clip(np.minimum(box_m[:, 2], box_e[:, 2]) - np.maximum(box_m[:, 0], box_e[:, 0]), 0, None)
    high = np.clip(np.minimum(box_m[:, 3], box_e[:, 3]) - np.maximum(box_m[:, 1], box_e[:, 1]), 0, None)
    real = wide * high > 0  # neighbours sharing only a wall are no overlap
    mi, ej = mi[real], ej[real]
    shared = shapely.area(shapely.intersection(m_geoms[mi], e_geoms[ej]))
    return pd.DataFrame({"m": mi, "e": ej, "share": shared / shapely.area(m_geoms)[mi], "shared": shared})


def _exact_duplicates(geoms: np.ndarray) -> np.ndarray:
    """Rows whose footprint repeats an earlier row's exactly (in any vertex order).

    Only footprints sharing their bounding box with another are compared, by normalised WKB.
    """
    bounds = pd.DataFrame(shapely.bounds(geoms))
    candidate = bounds.duplicated(keep=False).to_numpy()
    same = np.zeros(len(geoms), dtype=bool)
    if candidate.any():
        wkb = pd.Series(normal_wkb(geoms[candidate]))
        same[np.flatnonzero(candidate)[wkb.duplicated().to_numpy()]] = True
    return same


def _issues(frame: gpd.GeoDataFrame, mask: np.ndarray, check: str, severity: str, messages: str | list[str]) -> gpd.GeoDataFrame:
    mask = np.asarray(mask, dtype=bool)
    return qa_issues(layer="buildings", feature_ids=frame["building_id"][mask].to_numpy(), check=check,
                     severity=severity, messages=messages, geometry=frame.geometry.to_numpy()[mask], crs=frame.crs)


def _near_duplicates(frame: gpd.GeoDataFrame, *, iou: float, tolerance_m: float) -> tuple[np.ndarray, list[str]]:
    """Rows whose footprint repeats an earlier one within the IoU or outline tolerance, and why."""
    geoms = frame.geometry.to_numpy()
    i, j = parallel.query(shapely.STRtree(geoms), geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    bounds = shapely.bounds(geoms)
    area = shapely.area(geoms)
    bi, bj = bounds[i], bounds[j]
    wide = np.clip(np.minimum(bi[:, 2], bj[:, 2]) - np.maximum(bi[:, 0], bj[:, 0]), 0, None)
    high = np.clip(np.minimum(bi[:, 3], bj[:, 3]) - np.maximum(bi[:, 1], bj[:, 1]), 0, None)
    close = (np.abs(bi - bj) <= tolerance_m).all(axis=1)
    candidate = (wide * high >= iou * np.maximum(area[i], area[j])) | close
    i, j, close = i[candidate], j[candidate], close[candidate]
    shared = shapely.area(shapely.intersection(geoms[i], geoms[j]))
    ratio = shared / np.maximum(area[i] + area[j] - shared, 1e-12)
    outline = np.full(len(i), np.inf)
    outline[close] = shapely.hausdorff_distance(geoms[i[close]], geoms[j[close]])
    dup = (ratio >= iou) | (outline <= tolerance_m)
    pairs = pd.DataFrame({"i": i[dup], "j": j[dup], "iou": ratio[dup]}).sort_values(["j", "i"])
    pairs = pairs.loc[~pairs["i"].isin(pairs["j"])].drop_duplicates("j")
    mask = np.zeros(len(geoms), dtype=bool)
    mask[pairs["j"].to_numpy()] = True
    ids = frame["building_id"].to_numpy()
    by_row = dict(zip(pairs["j"], zip(pairs["i"], pairs["iou"], strict=True), strict=True))
    messages = [f"dropped: same footprint as {ids[by_row[k][0]]} (IoU {by_row[k][1]:.2f})" for k in np.flatnonzero(mask)]
    return mask, messages


def _clip(frame: gpd.GeoDataFrame, boundary: BaseGeometry) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    geoms = frame.geometry.to_numpy()

    def relate(predicate: Callable[[object, np.ndarray], np.ndarray], part: np.ndarray) -> np.ndarray:
        own = shapely.from_wkb(shapely.to_wkb(boundary))  # a prepared geometry per thread: GEOS's is not shared safely
        shapely.prepare(own)
        return predicate(own, part)

    inside = parallel.elementwise(partial(relate, shapely.contains_properly), geoms)
    crossing = ~inside & parallel.elementwise(partial(relate, shapely.intersects), geoms)
    outside = ~inside & ~crossing
    clipped = geoms.copy()
    clipped[crossing] = keep_family(shapely.intersection(geoms[crossing], boundary), "polygon")
    collapsed = crossing & (shapely.is_empty(clipped) | (shapely.area(clipped) <= 0))
    issues = concat_issues(
        [
            _issues(frame, outside, "outside_boundary", "info", "dropped: outside the city boundary"),
            _issues(frame, collapsed, "outside_boundary", "info", "dropped: only touches the city boundary"),
            _issues(frame, crossing & ~collapsed, "clipped", "info", "clipped to the city boundary"),
        ],
        frame.crs,
    )
    keep = ~outside & ~collapsed
    out = frame.loc[keep].copy()
    out[out.geometry.name] = clipped[keep]
    return out, issues


def buildings_with_districts(buildings: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy of `buildings` with ``district``: the name of the district holding its representative point.

    A point on the border of two districts, or in two overlapping ones, takes the first in the
    districts' order; a building outside every district (or in one without a name) gets none.

    Examples
    --------
    >>> houses = gpd.GeoDataFrame({"building_id": ["a", "b"]}, crs="EPSG:25832",
    ...     geometry=[shapely.box(1, 1, 3, 3), shapely.box(50, 50, 52, 52)])
    >>> parts = gpd.GeoDataFrame({"district": ["Innenstadt"]}, geometry=[shapely.box(0, 0, 10, 10)], crs="EPSG:25832")
    >>> buildings_with_districts(houses, parts)["district"].tolist()
    ['Innenstadt', None]
    """
    require_same_crs(buildings, districts, names=("buildings", "districts"))
    points = shapely.point_on_surface(buildings.geometry.to_numpy())
    point_idx, district_idx = shapely.STRtree(districts.geometry.to_numpy()).query(points, predicate="intersects")
    first = pd.Series(district_idx).groupby(point_idx).min()
    names = np.full(len(buildings), None, dtype=object)
    names[first.index.to_numpy()] = districts["district"].to_numpy(dtype=object)[first.to_numpy()]
    out = buildings.copy()
    out["district"] = pd.Series(names, index=buildings.index, dtype="object")
    return out
