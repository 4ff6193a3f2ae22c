"""The city's districts (Stadtteile, Ortsbezirke): named polygons that give each building its district."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from twin.errors import GeometryError, SchemaError
from twin.sources.vector import read_vector

#: Columns taken as the district's name when ``[city] districts_name`` is not given (compared case-blind).
NAME_COLUMNS = ("name", "stadtteil", "ortsbezirk", "bezirk", "district")


def read(
    path: Path, *, target_crs: str, name_column: str | None = None, layer: str | None = None,
    declared_crs: str | None = None, encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """The district polygons of `path` in `target_crs`: ``district`` (the name, text) and the geometry, in file order.

    The name comes from `name_column`, or else from the one column called as in :data:`NAME_COLUMNS`;
    a file with none or several of them is refused rather than guessed. Features that are not
    polygons are left out; a file with no polygon is refused. A district without a name keeps an
    empty name (its buildings get no district).

    Raises
    ------
    SchemaError
        The name column is missing or cannot be told.
    GeometryError
        The layer holds no polygon.
    """
    frame = read_vector(path, target_crs=target_crs, declared_crs=declared_crs, section="city", crs_key="districts_crs", layer=layer,
                        encoding=encoding)
    where = path.name if layer is None else f"{path.name}, layer {layer}"
    column = _name_column(frame, name_column, where)
    geoms = frame.geometry.to_numpy()
    types = shapely.get_type_id(geoms)
    polygonal = (types == 3) | (types == 6)  # Polygon, MultiPolygon
    if not polygonal.any():
        raise GeometryError(where, "holds no polygon", fix="give the polygon layer of the districts in [city] districts")
    values = frame[column]
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")  # whole numbers read as floats (a column with gaps) stay 7, not 7.0
    names = values.astype("string").str.strip()
    names = names.where(names != "")
    kept = names.to_numpy(dtype=object)[polygonal]
    return gpd.GeoDataFrame({"district": pd.Series([None if pd.isna(n) else str(n) for n in kept], dtype="object")},
                            geometry=shapely.make_valid(geoms[polygonal]), crs=frame.crs)


def _name_column(frame: gpd.GeoDataFrame, given: str | None, where: str) -> str:
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    if given is not None:
        if given not in columns:
            raise SchemaError(f"{where}, column {given}", f"not found (columns: {', '.join(columns) or 'none'})",
                              fix="set [city] districts_name to the column that holds the district's name")
        return given
    found = [c for c in columns if c.lower() in NAME_COLUMNS]
    if len(found) != 1:
        problem = "has no name column" if not found else f"has several name columns ({', '.join(found)})"
        raise SchemaError(where, f"{problem}; columns: {', '.join(columns) or 'none'}",
                          fix="set [city] districts_name to the column that holds the district's name")
    return found[0]
