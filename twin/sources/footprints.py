"""Building footprints in the canonical schema: shared by the alkis, osm and generic readers.

The helpers here turn a source frame into the columns of the ``buildings``
layer: ids (stable; from the source, else from the footprint itself), function
codes and labels, numbers parsed from text, and every other source column kept
as JSON in ``source_attributes``.
"""

from __future__ import annotations

import json
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from twin.model.codes import function_codes, function_labels, written_function_codes

log = logging.getLogger(__name__)

#: Canonical fields a reader fills from source columns.
FIELDS = (
    "building_id", "function_code", "function_label", "storeys", "roof_storeys", "height_m",
    "street", "house_number", "postcode",
)


def attributes_json(frame: pd.DataFrame) -> pd.Series:
    """Each row of `frame` as one JSON object (UTF-8 text, dates as ISO 8601), on the frame's index.

    Built column by column with Arrow's string kernels (no Python object per row); a missing value
    is ``null``.

    >>> attributes_json(pd.DataFrame({"AKTUALIT": ["2023-01-02"], "Straße": ["Königstr./Ecke"]})).tolist()
    ['{"AKTUALIT":"2023-01-02","Straße":"Königstr./Ecke"}']
    >>> attributes_json(pd.DataFrame({"n": [1.5, None], "ok": [True, False], "t": ['a"b', None]})).tolist()
    ['{"n":1.5,"ok":true,"t":"a\\\\"b"}', '{"n":null,"ok":false,"t":null}']
    """
    if frame.columns.empty or frame.empty:
        return pd.Series("{}", index=frame.index, dtype="str") if frame.columns.empty else pd.Series([], dtype="str")
    pieces = []
    for number, name in enumerate(frame.columns):
        key = ("{" if number == 0 else ",") + json.dumps(str(name), ensure_ascii=False) + ":"
        pieces.append(pc.binary_join_element_wise(key, _json_values(frame[name]), ""))
    pieces[-1] = pc.binary_join_element_wise(pieces[-1], "}", "")
    text = pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]
    return text.to_pandas(types_mapper={pa.string(): _STR}.get).set_axis(frame.index)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' "str"


def _json_values(column: pd.Series) -> pa.Array:
    """The JSON text of every value of `column` (``null`` where missing), as an Arrow string array."""
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column):
        column = column.dt.strftime("%Y-%m-%dT%H:%M:%S").str.replace("T00:00:00", "", regex=False)
    missing = column.isna().to_numpy().copy()
    if pd.api.types.is_bool_dtype(column):
        text = pa.array(np.where(column.fillna(False).to_numpy(dtype=bool), "true", "false"))
    elif pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        missing = missing | ~np.isfinite(values)
        numbers = column.astype("Int64") if pd.api.types.is_integer_dtype(column) else pd.Series(values)
        text = _arrow_text(numbers)
    else:
        text = _json_strings(_arrow_text(column))
    return pc.if_else(pa.array(missing), pa.scalar("null"), text)


def _arrow_text(column: pd.Series) -> pa.Array:
    """`column` as text in an Arrow string array (missing values null)."""
    text = pa.array(column.astype("str"))
    return (text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text).cast(pa.string())


def _json_strings(strings: pa.Array) -> pa.Array:
    """JSON string literals of Arrow strings: quoted, with backslash, quote and control characters escaped."""
    escaped = pc.replace_substring(pc.replace_substring(strings, "\\", "\\\\"), '"', '\\"')
    controls = pc.fill_null(pc.match_substring_regex(escaped, "[\\x00-\\x1f]"), False)
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    if not pc.any(controls).as_py():
        return quoted
    exact = np.asarray(quoted.to_numpy(zero_copy_only=False), dtype=object)
    rows = np.flatnonzero(controls.to_numpy(zero_copy_only=False))
    exact[rows] = [json.dumps(strings[int(i)].as_py(), ensure_ascii=False) for i in rows]
    return pa.array(exact, type=pa.string())


def stable_ids(ids: pd.Series, geometry: np.ndarray, *, prefix: str) -> pd.Series:
    """Source ids as text; where missing, an id derived from the footprint (the same every run).

    >>> stable_ids(pd.Series(["DERP1", None]), np.array([None, shapely.box(0, 0, 1, 1)]), prefix="alkis").tolist()[0]
    'DERP1'
    """
    text = ids.astype("str").str.strip()
    missing = ids.isna() | (text == "") | text.str.lower().isin(["nan", "none"])
    if not missing.any():
        return text
    wkb = pd.Series(shapely.to_wkb(shapely.normalize(geometry[missing.to_numpy()]), hex=True), dtype="object")
    digest = pd.util.hash_pandas_object(wkb.fillna(""), index=False).to_numpy()
    made = pd.Series([f"{prefix}:{d:016x}" for d in digest], index=text.index[missing], dtype="str")
    return text.where(~missing, made)


def parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers from text such as ``'12'``, ``'12.5 m'``, ``'12,5'``, ``"40'"`` (feet), ``'3;4'`` (first).

    >>> parse_numbers(pd.Series(["12", "12,5 m", "40'", "3;4", "x", None])).round(2).tolist()
    [12.0, 12.5, 12.19, 3.0, nan, nan]
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.astype("str").str.strip().str.replace(",", ".", regex=False)
    parts = text.str.extract(r"^\s*(-?\d+(?:\.\d+)?)\s*(m|ft|'|feet)?", expand=True)
    number = pd.to_numeric(parts[0], errors="coerce")
    feet = parts[1].isin(["ft", "'", "feet"])
    return number.where(~feet, number * 0.3048).where(values.notna()).astype("float64")


def canonical_buildings(
    frame: gpd.GeoDataFrame, mapping: dict[str, str], *, source: str, codes: pd.Series | None = None
) -> gpd.GeoDataFrame:
    """Map source columns onto the canonical building fields; the rest goes to ``source_attributes``.

    Parameters
    ----------
    frame
        The source layer, already in the output CRS.
    mapping
        Canonical field -> source column, for the columns present.
    source
        Value of the ``source`` field (``"alkis"``, ``"osm"``, ``"generic"``).
    codes
        Function codes when the caller derived them (OSM); else from the mapped column.
    """
    geoms = frame.geometry.to_numpy()
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)  # footprints are 2D; heights come as attributes
    get = {name: frame[col] for name, col in mapping.items() if col in frame.columns}
    ids = stable_ids(get.get("building_id", pd.Series(None, index=frame.index, dtype="object")), geoms, prefix=source)
    written = None
    if codes is None:
        codes = function_codes(get["function_code"]) if "function_code" in get else pd.Series(
            None, index=frame.index, dtype="object")
        words = codes.notna() & ~codes.astype("str").str.fullmatch(r"\d+")
        if words.any():  # functions written as words ("Wohnhaus", "garage"): their code, the word kept as label
            written = codes.where(words)
            codes = codes.mask(words, written_function_codes(written))
    label = function_labels(codes)
    if written is not None:
        label = written.where(written.notna() & codes.isna(), label)
    if "function_label" in get:
        label = get["function_label"].astype("str").where(get["function_label"].notna() & codes.isna(), label)
    data: dict[str, object] = {
        "building_id": ids,
        "source": source,
        "function_code": codes,
        "function_label": label,
        "function_label_en": function_labels(codes, english=True),
    }
    for name in ("storeys", "roof_storeys", "height_m"):
        if name in get:
            data[name] = parse_numbers(get[name])
    for name in ("street", "house_number", "postcode"):
        if name in get:
            data[name] = get[name].astype("str").where(get[name].notna())
    used = {mapping[n] for n in get} | {frame.geometry.name}
    extra = [c for c in frame.columns if c not in used]
    data["source_attributes"] = attributes_json(pd.DataFrame(frame[extra]))
    out = gpd.GeoDataFrame(data, geometry=geoms, crs=frame.crs, index=frame.index)
    out.attrs.update(frame.attrs)  # what the reader noted (geometries it could not decode) goes to the repair step
    if "storeys" in out:
        out["storeys"] = out["storeys"].where(out["storeys"] > 0).round()
    return out


def column_mapping(frame: pd.DataFrame, defaults: dict[str, str], configured: dict[str, str]) -> dict[str, str]:
    """Canonical field -> actual column: the pipeline's mapping, else the defaults matched case-insensitively."""
    by_lower = {str(c).lower(): str(c) for c in frame.columns}
    mapping = {name: by_lower.get(col.lower(), col) for name, col in defaults.items()}
    mapping.update(configured)
    return mapping
