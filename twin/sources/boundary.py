"""The city boundary: one (multi)polygon that everything is clipped to."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from twin.errors import GeometryError
from twin.sources.vector import read_vector


def read(path: Path, *, target_crs: str, declared_crs: str | None = None, layer: str | None = None,
         encoding: str | None = None) -> BaseGeometry:
    """Return the union of the polygons in `path` (its `layer`), in `target_crs`, repaired if needed."""
    return read_frame(path, target_crs=target_crs, declared_crs=declared_crs, layer=layer, encoding=encoding)[0]


def read_frame(
    path: Path, *, target_crs: str, declared_crs: str | None = None, layer: str | None = None,
    encoding: str | None = None,
) -> tuple[BaseGeometry, gpd.GeoDataFrame]:
    """The boundary as :func:`read` returns it, and the layer it was made of (its ``attrs`` name the
    features whose geometry could not be decoded; only rings of too few points, without area, are lost)."""
    frame = read_vector(path, target_crs=target_crs, declared_crs=declared_crs, section="city", crs_key="boundary_crs", layer=layer,
                        encoding=encoding)
    geoms = shapely.make_valid(frame.geometry.to_numpy())
    polygonal = shapely.get_type_id(geoms) >= 3
    area = shapely.area(geoms) if len(geoms) else []
    if not polygonal.any() or float(sum(area)) <= 0:
        raise GeometryError(path.name, "has no polygon with an area", fix="give a polygon layer in [city] boundary")
    return shapely.union_all(geoms[polygonal]), frame
