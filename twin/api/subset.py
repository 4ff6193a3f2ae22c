"""A part of a city model: every layer cut down to an area or a district, and written as a complete GeoPackage.

Features are kept whole when they intersect the area (a street or a footprint on the edge is not cut, so its
length, area and the other values stay true). Tables without geometry keep the rows about kept features:
``runs`` whole, rows naming a ``layer`` and ``feature_id`` when that feature is kept, ``panorama_views`` when
both its panorama and its building are kept. Panoramas seeing a kept building are kept with the drives of all
kept panoramas, as a district's buildings are seen from the streets around it.

>>> parse_bbox("410000,5477000,410500,5477400")
(410000.0, 5477000.0, 410500.0, 5477400.0)
>>> parse_bbox("410500,5477000,410000,5477400")
Traceback (most recent call last):
...
twin.errors.ArgumentError: bbox '410500,5477000,410000,5477400': minx 410500.0 is not below maxx 410000.0; give minx,miny,maxx,maxy with minx < maxx and miny < maxy
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from twin.api.aggregate import district_areas
from twin.api.layers import Frame
from twin.errors import ArgumentError, NotFoundError, OutputError
from twin.model import LAYERS
from twin.runner.swap import temporary_path

__all__ = ["Area", "parse_bbox", "subset_frames", "write_subset"]

#: What an area may be: a shapely geometry, ``(minx, miny, maxx, maxy)`` in the model's CRS, or a GeoSeries /
#: GeoDataFrame (in any CRS; reprojected).
Area: TypeAlias = BaseGeometry | Sequence[float] | gpd.GeoSeries | gpd.GeoDataFrame


class _Model(Protocol):
    path: Path
    layer_names: list[str]

    @property
    def crs(self) -> str | None: ...

    @property
    def buildings(self) -> gpd.GeoDataFrame: ...

    def layer(self, name: str) -> Frame: ...


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"minx,miny,maxx,maxy"`` as four finite numbers with minx < maxx and miny < maxy."""
    parts = [p.strip() for p in str(text).split(",")]
    fix = "give minx,miny,maxx,maxy with minx < maxx and miny < maxy"
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ArgumentError(f"bbox {text!r}", "is not four numbers separated by commas", fix=fix) from None
    if len(numbers) != 4:
        raise ArgumentError(f"bbox {text!r}", f"has {len(numbers)} numbers, not 4", fix=fix)
    return _box_values(numbers, f"bbox {text!r}")


def _box_values(numbers: Sequence[object], place: str) -> tuple[float, float, float, float]:
    fix = "give minx,miny,maxx,maxy with minx < maxx and miny < maxy"
    try:
        minx, miny, maxx, maxy = (float(v) for v in numbers)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ArgumentError(place, "is not four numbers", fix=fix) from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise ArgumentError(place, "holds a number that is not finite", fix=fix)
    for low, high, axis in ((minx, maxx, "x"), (miny, maxy, "y")):
        if not low < high:
            raise ArgumentError(place, f"min{axis} {low} is not below max{axis} {high}", fix=fix)
    return minx, miny, maxx, maxy


def _area_geometry(area: Area, crs: str | None) -> BaseGeometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        shapes = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if shapes.crs is not None and crs is not None and not pyproj.CRS(shapes.crs).equals(pyproj.CRS(crs)):
            shapes = shapes.to_crs(crs)
        geometry = shapely.union_all(shapes.to_numpy())
    elif isinstance(area, BaseGeometry):
        geometry = area
    elif isinstance(area, Sequence) and not isinstance(area, str):
        geometry = shapely.box(*_box_values(area, f"area {tuple(area)!r}"))
    else:
        raise ArgumentError("subset, area", f"{type(area).__name__} is not an area",
                            fix="give a shapely geometry, (minx, miny, maxx, maxy) or a GeoDataFrame")
    if geometry is None or geometry.is_empty or shapely.area(geometry) <= 0:
        raise ArgumentError("subset, area", "is empty or has no surface", fix="give a polygon or a box")
    return geometry


def _district_rows(buildings: gpd.GeoDataFrame, district: str) -> np.ndarray:
    if "district" not in buildings or buildings["district"].isna().all():
        raise ArgumentError("subset, district", "the model's buildings name no district",
                            fix="give [city] districts in the pipeline file and run it again, or give an area")
    names = buildings["district"].astype("object").where(buildings["district"].notna(), "").astype("str")
    chosen = (names.str.casefold() == str(district).casefold()).to_numpy()
    if not chosen.any():
        known = sorted(set(names) - {""})
        close = difflib.get_close_matches(str(district), known, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"districts are {', '.join(known)}"
        raise NotFoundError("buildings", f"no district {district!r}", fix=hint)
    return chosen


def subset_frames(model: _Model, *, area: Area | None = None,
                  district: str | None = None) -> tuple[dict[str, pd.DataFrame], BaseGeometry]:
    """Every layer and related table of `model` cut down to `area` or to `district`, and the area used.

    A district's area is the convex hull of its buildings; its buildings are those naming it in ``district``.
    """
    if (area is None) == (district is None):
        raise ArgumentError("subset", "needs either area or district, not both and not neither",
                            fix="give area=(minx, miny, maxx, maxy) or district='name'")
    buildings = model.buildings
    if district is not None:
        chosen = _district_rows(buildings, district)
        name = str(buildings.loc[chosen, "district"].iloc[0])
        shape: BaseGeometry = district_areas(buildings.loc[chosen]).loc[name]
    else:
        assert area is not None
        shape = _area_geometry(area, model.crs)
    views = model.layer("panorama_views")
    frames: dict[str, pd.DataFrame] = {}
    extents = []
    for name in LAYERS:
        if LAYERS[name].geometry_type is None:
            continue
        frame = model.layer(name)
        extents.append(frame.geometry.to_numpy())
        keep = np.asarray(shapely.intersects(frame.geometry.to_numpy(), shape), dtype=bool)
        if name == "buildings" and district is not None:
            keep = chosen
        if name == "panoramas":  # and those seeing a kept building, though they stand in the street outside
            seeing = views.loc[views["building_id"].isin(frames["buildings"]["building_id"]).to_numpy(), "panorama_id"]
            keep |= frame["panorama_id"].isin(seeing).to_numpy()
        if name == "capture_tracks":  # and the drives of the kept panoramas
            keep |= frame["sequence_id"].isin(frames["panoramas"]["sequence_id"].dropna()).to_numpy()
        frames[name] = frame.loc[keep]
    if district is None and not any(len(frames[name]) for name in frames):
        _refuse_outside(shape, np.concatenate(extents), model.crs)
    kept = {name: set(frames[name][spec.id_field].dropna().astype("str"))
            for name, spec in LAYERS.items() if name in frames and spec.id_field}
    for name, spec in LAYERS.items():
        if spec.geometry_type is None:
            frames[name] = _about_kept(model.layer(name), kept)
    if "qa_issues" in frames:
        frames["qa_issues"] = _with_rows_about(frames["qa_issues"], model.layer("qa_issues"), kept)
    frames["panorama_views"] = views.loc[(views["building_id"].isin(kept.get("buildings", set()))
                                          & views["panorama_id"].isin(kept.get("panoramas", set()))).to_numpy()]
    return frames, shape


def _refuse_outside(area: BaseGeometry, geometries: np.ndarray, crs: str | None) -> None:
    """An ArgumentError when `area` misses the extent of every feature: an area given in another CRS (degrees
    for metres) or with a typo, which would otherwise give an empty part that looks like an answer."""
    extent = shapely.total_bounds(geometries)
    if np.isnan(extent).any() or shapely.intersects(area, shapely.box(*extent)):
        return
    bounds = ", ".join(f"{v:.0f}" for v in extent)
    given = ", ".join(f"{v:g}" for v in area.bounds)
    raise ArgumentError("subset, area", f"({given}) lies outside the model, whose features lie within ({bounds}) "
                        f"in {crs}", fix="give the area in the model's CRS, or name the CRS it is in "
                        "(--crs EPSG:4326 on the command line; a GeoDataFrame with its CRS in Python)")


def _refers(frame: pd.DataFrame, kept: Mapping[str, set[str]]) -> np.ndarray:
    """Rows of `frame` (with ``layer`` and ``feature_id``) about a kept feature."""
    about = np.zeros(len(frame), dtype=bool)
    layer, feature = frame["layer"].astype("str").to_numpy(), frame["feature_id"].astype("str").to_numpy()
    for name, ids in kept.items():
        about |= (layer == name) & np.isin(feature, list(ids))
    return about


def _about_kept(frame: Frame, kept: Mapping[str, set[str]]) -> pd.DataFrame:
    if {"layer", "feature_id"} <= set(frame.columns):
        return frame.loc[_refers(frame, kept)]
    if "building_id" in frame.columns:
        return frame.loc[frame["building_id"].isin(kept.get("buildings", set())).to_numpy()]
    return frame


def _with_rows_about(inside: pd.DataFrame, everything: pd.DataFrame, kept: Mapping[str, set[str]]) -> pd.DataFrame:
    """`inside` and the rows of `everything` about a kept feature (a QA point may lie beside its feature)."""
    about = everything.loc[_refers(everything, kept)]
    return everything.loc[everything.index.isin(inside.index) | everything.index.isin(about.index)]


def _source_lineage(path: Path) -> dict[str, object]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        try:
            row = con.execute("SELECT metadata FROM gpkg_metadata WHERE id = 1").fetchone()
        except sqlite3.DatabaseError:
            row = None
    record = json.loads(row[0]) if row else {}
    return record if isinstance(record, dict) else {}


def write_subset(model: _Model, frames: Mapping[str, pd.DataFrame], area: BaseGeometry | None, target: Path, *,
                 overwrite: bool = False, description: str = "") -> Path:
    """Write `frames` (from :func:`subset_frames`) as a complete model GeoPackage at `target`.

    Styles, field titles, relations and the stored QGIS project are written as a run writes them, in the
    language of `model`; the lineage records the source model, its run and `description`. The file is
    written beside `target` and then moved into place, so a failed export leaves no half-written file.
    """
    from twin.publish.geopackage import write_geopackage

    target = Path(target)
    if target.exists() and not overwrite:
        raise OutputError(str(target), "already exists", fix="add --overwrite (overwrite=True) to replace it")
    if target.exists() and target.resolve() == model.path.resolve():
        raise OutputError(str(target), "is the model being exported", fix="give another file to write")
    if target.suffix.casefold() != ".gpkg":
        raise OutputError(str(target), "is not a GeoPackage file name", fix="give a file name ending in .gpkg")
    if not target.parent.is_dir():
        raise OutputError(str(target), "its folder does not exist", fix="create the folder or give another path")
    lineage = _source_lineage(model.path)
    language = str(lineage.pop("language", "de"))
    for key in ("software", "layers"):
        lineage.pop(key, None)
    lineage.update({"exported_from": model.path.name, "subset": description,
                    "subset_area_wkt": None if area is None else area.wkt})
    temporary = temporary_path(target)
    temporary.unlink(missing_ok=True)
    try:
        layers = {name: frame for name, frame in frames.items() if name in LAYERS}
        write_geopackage(temporary, layers, crs=str(model.crs), lineage=lineage, published_name=target.name,
                         language=language)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target
