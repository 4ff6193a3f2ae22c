"""CycloMedia recording metadata (the city's panorama vendor), as CSV or GeoJSON export.

The preset maps the fields CycloMedia recordings carry, so the pipeline file
needs only the path: ``imageId``, ``recordedAt``, ``X``/``Y``/``Z`` in the
CRS named per row by ``srs``, ``orientation`` (yaw of the panorama),
``recorderDirection`` (driving direction), ``latitudePrecision`` and
``longitudePrecision`` (m); recordings whose ``expiredAt`` has passed are
reported as ``recording_expired`` in ``qa_issues``. In GeoJSON the fields are the features'
properties; X/Y/Z default to the point geometry and ``srs`` to the file's
``crs`` member (else WGS84, as GeoJSON prescribes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.config import PanoramasConfig
from twin.errors import SchemaError
from twin.model import empty_frame
from twin.model.qa import concat_issues, qa_issues
from twin.sources.panorama_csv import panoramas_from_table, read_table
from twin.sources.text_limits import read_json

PRESET = {
    "panorama_id": "imageId",
    "image_name": "imageId",
    "captured_at": "recordedAt",
    "x": "X",
    "y": "Y",
    "z": "Z",
    "heading_deg": "orientation",
}


def read(config: PanoramasConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read a CycloMedia recordings CSV into the canonical panorama schema."""
    if config.path.suffix.lower() in (".geojson", ".json"):
        table = geojson_table(config.path)
    else:
        table = read_table(config.path, delimiter=config.delimiter, decimal=config.decimal, encoding=config.encoding)
    table = vendor_spelling(table, keep=set(config.columns.values()))
    columns = {**PRESET, **config.columns}
    out = panoramas_from_table(
        table, columns, path=config.path, crs=config.crs, target_crs=target_crs,
        timezone=config.timezone, srs_column="srs", time_format=config.time_format, heading_unit=config.heading_unit,
        heading_north=config.heading_north,
    )
    lat = _column(table, "latitudePrecision")
    lon = _column(table, "longitudePrecision")
    if lat is not None and lon is not None:
        out["gnss_accuracy_m"] = np.hypot(lat, lon)
    if "heading_deg" not in out and "recorderDirection" in table:
        out["heading_deg"] = _column(table, "recorderDirection")
    expired = expired_recordings(table, out, now=dt.datetime.now(dt.UTC))
    out.attrs["qa_issues"] = concat_issues([out.attrs.get("qa_issues", expired.iloc[:0]), expired], target_crs)
    return out


#: The vendor's column names, as the preset and the readers use them.
VENDOR_COLUMNS = ("imageId", "recordedAt", "X", "Y", "Z", "orientation", "srs", "latitudePrecision",
                  "longitudePrecision", "recorderDirection", "expiredAt")
#: Other names exports give the same columns (lower case), read where the file lacks the vendor's name.
ALIASES = {"height": "Z", "altitude": "Z", "heading": "orientation", "yaw": "orientation"}


def vendor_spelling(table: pd.DataFrame, *, keep: Collection[str] = ()) -> pd.DataFrame:
    """`table` with the vendor's columns spelled as the preset expects, whatever their case in the file.

    Exports differ in case (``ImageId``, ``RECORDEDAT``, ``SRS``) and some name the height and
    heading ``Height`` and ``Heading`` (:data:`ALIASES`); a column named in `keep` (mapped in the
    pipeline file by its own spelling) is left as it is.

    >>> list(vendor_spelling(pd.DataFrame(columns=["ImageId", "RecordedAt", "x", "y", "SRS", "Height"])).columns)
    ['imageId', 'recordedAt', 'X', 'Y', 'srs', 'Z']
    """
    wanted = {**ALIASES, **{name.lower(): name for name in VENDOR_COLUMNS}}
    present = set(table.columns)
    renames: dict[str, str] = {}
    for column in table.columns:
        name = wanted.get(str(column).lower())
        if name is not None and column not in keep and name not in present and name not in renames.values():
            renames[column] = name
    if not renames:
        return table
    out = table.rename(columns=renames)
    out.attrs = dict(table.attrs)
    return out


def expired_recordings(table: pd.DataFrame, panoramas: gpd.GeoDataFrame, *, now: dt.datetime) -> gpd.GeoDataFrame:
    """``recording_expired`` QA rows for the recordings whose ``expiredAt`` has passed.

    CycloMedia marks recordings it has withdrawn or replaced with ``expiredAt``;
    they stay in the model (their position and time are still facts) and are
    reported, so the city can ask for the images that replace them.
    """
    crs = panoramas.crs
    if "expiredAt" not in table.columns or "panorama_id" not in panoramas:
        return empty_frame("qa_issues", crs)
    expired_at = pd.to_datetime(table["expiredAt"].reindex(panoramas.index), utc=True, errors="coerce",
                                format="ISO8601")
    passed = (expired_at <= pd.Timestamp(now)).to_numpy(dtype=bool)
    return qa_issues(
        layer="panoramas", feature_ids=panoramas["panorama_id"].to_numpy()[passed], check="recording_expired",
        severity="warning", crs=crs, geometry=panoramas.geometry.to_numpy()[passed],
        messages=[f"the vendor expired this recording on {at:%Y-%m-%d}; ask for the recording that replaces it"
                  for at in expired_at[passed]],
    )


def _column(table: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in table.columns:
        return None
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype="float64")


def geojson_table(path: Path) -> pd.DataFrame:
    """The features' properties as a table of strings, X/Y/Z and srs filled from geometry and file CRS."""
    doc = read_json(path, section="panoramas", what="recordings file")
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not features:
        raise SchemaError(path.name, "has no features", fix="export the recordings as a FeatureCollection")
    table = pd.DataFrame([f.get("properties") or {} for f in features])
    coords = [((f.get("geometry") or {}).get("coordinates") or []) + [None] * 3 for f in features]
    for axis, name in enumerate(("X", "Y", "Z")):
        from_geometry = pd.Series([c[axis] for c in coords], dtype="object")
        table[name] = table[name].where(table[name].notna(), from_geometry) if name in table else from_geometry
    named = ((doc.get("crs") or {}).get("properties") or {}).get("name", "EPSG:4326")
    table["srs"] = table["srs"].fillna(named) if "srs" in table else named
    table = table.astype("object").where(table.notna(), None)
    out = table.map(lambda v: None if v is None else str(v)).astype("object")
    out.attrs["decimal"] = "."
    return out
