"""``twin export gpkg``: a district or a box of a built model as a complete GeoPackage of its own."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pyproj
import shapely

from twin.api.city_model import open_model
from twin.api.subset import parse_bbox
from twin.errors import ArgumentError

__all__ = ["export_gpkg"]

#: A box given in another CRS is reprojected with this many points per side, so its edges bend as they should.
BOX_POINTS_PER_SIDE = 64


def _box_area(bbox: str, crs: str | None) -> gpd.GeoSeries | tuple[float, float, float, float]:
    box = parse_bbox(bbox)
    if crs is None:
        return box
    try:
        source = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise ArgumentError(f"--crs {crs!r}", "is not a CRS pyproj knows", fix="give e.g. EPSG:4326 or EPSG:25832") from None
    shape = shapely.box(*box)
    step = min(box[2] - box[0], box[3] - box[1]) / BOX_POINTS_PER_SIDE
    return gpd.GeoSeries([shapely.segmentize(shape, step)], crs=source)


def export_gpkg(model_path: str | os.PathLike[str], target: str | os.PathLike[str], *, district: str | None = None,
                bbox: str | None = None, crs: str | None = None, overwrite: bool = False) -> tuple[Path, dict[str, int]]:
    """Write the part of the model at `model_path` in `district` or in `bbox` (``"minx,miny,maxx,maxy"``, in `crs`
    or the model's CRS) to `target`; the path written and the features per layer."""
    if district is None and bbox is None:
        raise ArgumentError("twin export gpkg", "needs the part to export", fix="give --district NAME or --bbox "
                            "MINX,MINY,MAXX,MAXY")
    if crs is not None and bbox is None:
        raise ArgumentError("twin export gpkg", "--crs is the CRS of --bbox", fix="give --bbox or leave out --crs")
    model = open_model(model_path)
    part = model.subset(district=district) if district is not None else model.subset(_box_area(str(bbox), crs))
    written = part.to_geopackage(target, overwrite=overwrite)
    return written, part.counts
