"""Bring frames into the exact schema of an output layer."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from twin import parallel
from twin.errors import CrsError
from twin.model.layers import DTYPES, LAYERS, Layer

_MULTI = {"MultiPolygon": "Polygon", "MultiLineString": "LineString", "MultiPoint": "Point"}


def empty_frame(layer: str | Layer, crs: Any) -> gpd.GeoDataFrame | pd.DataFrame:
    """Return a frame with no rows and the layer's columns and dtypes.

    >>> empty_frame("fibre_nodes", "EPSG:25832").dtypes["network_distance_m"]
    dtype('float64')
    """
    spec = LAYERS[layer] if isinstance(layer, str) else layer
    key = (spec.name, tuple(spec.columns), None if crs is None or spec.geometry_type is None else str(crs))
    template = _EMPTY.get(key)
    if template is None:
        if key[2] is not None:  # the layer's template without a CRS, given one (a tenth of the time)
            template = empty_frame(spec, None).set_crs(crs)
        else:
            data = {f.name: pd.Series([], dtype=DTYPES[f.dtype]) for f in spec.fields}
            template = pd.DataFrame(data) if spec.geometry_type is None else \
                gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([]))
        _EMPTY[key] = template
    return template.copy()


#: Empty frames by (layer, CRS), copied on every use: building one costs milliseconds, and runs need many.
_EMPTY: dict[tuple[str, tuple[str, ...], str | None], gpd.GeoDataFrame | pd.DataFrame] = {}


def conform(
    frame: pd.DataFrame, layer: str | Layer, crs: str | None = None, *, promote: bool = True
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Return a copy of `frame` with exactly the layer's columns, in order and typed.

    Missing fields are added as nulls, extra columns are dropped (but for those of a family of the layer,
    e.g. ``share_2023``, which follow the fixed fields in the order of their names), single
    geometries are promoted to multi where the layer is multi. The index is
    reset: output layers are keyed by their id fields, not by the index.

    Without `promote`, single geometries stay single: for a large frame that
    is only written later, as the writer promotes it chunk by chunk (promoting
    a million footprints at once holds every footprint twice, +450 MB).
    """
    spec = (LAYERS[layer] if isinstance(layer, str) else layer).with_columns(frame.columns)
    n = len(frame)
    if n == 0:
        frame_crs = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
        return empty_frame(spec, crs or (frame_crs.to_string() if frame_crs is not None else None))
    if _in_schema(frame, spec, crs, promote=promote):
        return frame.copy(deep=False)  # copy-on-write: the data is copied only where one of them is changed
    out: dict[str, pd.Series] = {}
    for f in spec.fields:
        dtype = DTYPES[f.dtype]
        if f.name in frame.columns:
            values = frame[f.name].reset_index(drop=True)
        else:
            values = pd.Series([None] * n, dtype="object")
        out[f.name] = _cast(values, dtype)
    if spec.geometry_type is None:
        return pd.DataFrame(out, index=pd.RangeIndex(n))
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = frame.geometry.to_numpy()
        crs = crs or (frame.crs.to_string() if frame.crs else None)
    else:
        geoms = np.full(n, None, dtype=object)
    if promote:
        geoms = _promote(geoms, spec.geometry_type)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def _in_schema(frame: pd.DataFrame, spec: Layer, crs: str | None, *, promote: bool = True) -> bool:
    """Whether `frame` is already what :func:`conform` would make of it (a frame conform made before)."""
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        return False
    columns, dtypes = _schema(spec)
    if list(frame.columns) != columns or not all(a == b for a, b in zip(frame.dtypes, dtypes, strict=True)):
        return False
    if spec.geometry_type is None:
        return not isinstance(frame, gpd.GeoDataFrame)
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name != "geometry" or frame.crs is None:
        return False
    if crs is not None and not frame.crs.equals(crs):
        return False
    part = _MULTI.get(spec.geometry_type)
    return part is None or not promote or not (shapely.get_type_id(frame.geometry.to_numpy()) == _TYPE_IDS[part]).any()


def _schema(spec: Layer) -> tuple[list[str], list[Any]]:
    """Column names and pandas dtypes of a conformed frame of `spec` (the geometry column last)."""
    known = _SCHEMAS.get(id(spec))
    if known is None or known[0] is not spec:
        columns = [f.name for f in spec.fields]
        dtypes = [pd.api.types.pandas_dtype(DTYPES[f.dtype]) for f in spec.fields]
        if spec.geometry_type is not None:
            columns.append("geometry")
            dtypes.append(gpd.array.GeometryDtype())
        known = _SCHEMAS[id(spec)] = (spec, columns, dtypes)
    return known[1], known[2]


#: Columns and dtypes by layer (keyed by identity: a layer holds dicts and has no hash).
_SCHEMAS: dict[int, tuple[Layer, list[str], list[Any]]] = {}


_TYPE_IDS = {"Polygon": 3, "LineString": 1, "Point": 0}


def _cast(values: pd.Series, dtype: str) -> pd.Series:
    if dtype.startswith("datetime64"):
        if values.empty or values.isna().all():
            return pd.Series(pd.NaT, index=values.index, dtype=dtype)
        return pd.to_datetime(values, utc=True).astype(dtype)
    if dtype == "str":
        return values.astype("str")
    if values.dtype == "object" and dtype in {"Int32", "Int64", "float64"}:
        values = pd.to_numeric(values)
    return values.astype(dtype)


def _promote(geoms: np.ndarray, geometry_type: str) -> np.ndarray:
    part = _MULTI.get(geometry_type)
    if part is None:
        return geoms
    arr = geoms
    types = shapely.get_type_id(arr)
    single = types == _TYPE_IDS[part]
    if single.any():
        arr = arr.copy()
        maker = {"Polygon": shapely.multipolygons, "LineString": shapely.multilinestrings, "Point": shapely.multipoints}[part]
        arr[single] = parallel.elementwise(lambda part: maker(part.reshape(-1, 1)), arr[single])
    return arr


def arrow_text(values: pd.Series) -> pa.Array:
    """The texts of `values` as one Arrow array: without a Python string per row where pandas holds them in
    Arrow (a column of four million ids as Python strings takes about 300 MB more)."""
    out = pa.array(values.array, type=pa.large_string(), from_pandas=True)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def text_series(values: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """An Arrow array of texts as a pandas text column, sharing its memory (with `index` when given)."""
    series = values.to_pandas()
    return series if index is None else series.set_axis(index)


def positions(values: pd.Series, among: pd.Series) -> np.ndarray:
    """For each text of `values`, the position of its first occurrence in `among` (-1 where it has none).

    Looked up in Arrow: a pandas index over millions of ids would make a Python string of each first.
    """
    found = pc.index_in(arrow_text(values), value_set=arrow_text(among))
    return np.asarray(found.fill_null(-1), dtype=np.intp)


def labels(codes: np.ndarray, names: tuple[str, ...], index: pd.Index | None = None) -> pd.Series:
    """The text column whose row i is ``names[codes[i]]``, made in Arrow (no Python string per row)."""
    return text_series(pa.array(names, type=pa.large_string()).take(pa.array(codes)), index)


def json_object(text: object) -> dict[str, Any]:
    """The value of a JSON field of the model (``runs.counts``, ...) as a dict; ``{}`` when unreadable.

    >>> json_object('{"buildings": 3}'), json_object(None)
    ({'buildings': 3}, {})
    """
    try:
        value = json.loads(str(text))
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def require_same_crs(first: gpd.GeoDataFrame, second: gpd.GeoDataFrame, *, names: tuple[str, str]) -> None:
    """Raise :class:`~twin.errors.CrsError` unless both frames have one and the same CRS.

    >>> import geopandas as gpd
    >>> a, b = gpd.GeoDataFrame(geometry=[], crs="EPSG:25832"), gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    >>> require_same_crs(a, b, names=("streets", "panoramas"))
    Traceback (most recent call last):
    ...
    twin.errors.CrsError: streets (EPSG:25832) and panoramas (EPSG:4326): must share a CRS; reproject one with to_crs
    """
    if first.crs is None or second.crs is None or first.crs != second.crs:
        shown = [frame.crs.to_string() if frame.crs is not None else "no CRS" for frame in (first, second)]
        raise CrsError(f"{names[0]} ({shown[0]}) and {names[1]} ({shown[1]})", "must share a CRS",
                       fix="reproject one with to_crs" if None not in (first.crs, second.crs) else "set the CRS with set_crs")
