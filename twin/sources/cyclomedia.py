"""CycloMedia recording metadata (the city's panorama vendor), as CSV export.

The preset maps the fields CycloMedia recordings carry, so the pipeline file
needs only the path: ``imageId``, ``recordedAt``, ``X``/``Y``/``Z`` in the
CRS named per row by ``srs``, ``orientation`` (yaw of the panorama),
``recorderDirection`` (driving direction), ``latitudePrecision`` and
``longitudePrecision`` (m).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.config import PanoramasConfig
from twin.sources.panorama_csv import panoramas_from_table, read_table

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
    table = read_table(config.path, delimiter=config.delimiter, decimal=config.decimal)
    columns = {**PRESET, **config.columns}
    out = panoramas_from_table(
        table, columns, path=config.path, crs=config.crs, target_crs=target_crs,
        timezone=config.timezone, srs_column="srs",
    )
    lat = _column(table, "latitudePrecision")
    lon = _column(table, "longitudePrecision")
    if lat is not None and lon is not None:
        out["gnss_accuracy_m"] = np.hypot(lat, lon)
    if "heading_deg" not in out and "recorderDirection" in table:
        out["heading_deg"] = _column(table, "recorderDirection")
    return out


def _column(table: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in table.columns:
        return None
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype="float64")
