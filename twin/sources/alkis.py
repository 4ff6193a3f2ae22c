"""ALKIS Hausumringe: the cadastre's building footprints as Rheinland-Pfalz publishes them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from twin.config import BuildingsConfig
from twin.errors import SchemaError
from twin.model.codes import function_codes, function_labels
from twin.sources.vector import read_vector

log = logging.getLogger(__name__)

#: Columns taken into the canonical schema; the rest go to source_attributes.
_KNOWN = {"OI", "GFK"}


def read(config: BuildingsConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read ALKIS footprints into the canonical buildings schema.

    The encoding comes from the ``.cpg`` beside a Shapefile, else from
    ``[buildings] encoding``, else it is detected (UTF-8 or cp1252).
    """
    encoding = config.encoding or detect_encoding(config.path)
    frame = read_vector(
        config.path, target_crs=target_crs, layer=config.layer, encoding=encoding,
        declared_crs=config.crs, section="buildings",
    )
    columns = {"building_id": "OI", "function_code": "GFK", **config.columns}
    missing = [col for col in columns.values() if col not in frame.columns]
    if missing:
        raise SchemaError(
            config.path.name, f"columns {', '.join(missing)} missing (has {', '.join(map(str, frame.columns.drop('geometry', errors='ignore')[:12]))})",
            fix="map them in [buildings.columns], e.g. building_id = \"OI\"",
        )
    codes = function_codes(frame[columns["function_code"]])
    extra = [c for c in frame.columns if c not in set(columns.values()) | {"geometry"}]
    out = gpd.GeoDataFrame(
        {
            "building_id": frame[columns["building_id"]].astype("str"),
            "source": "alkis",
            "function_code": codes,
            "function_label": function_labels(codes),
            "source_attributes": _attributes_json(frame[extra]),
        },
        geometry=frame.geometry,
        crs=frame.crs,
    )
    log.info("%s: %d footprints (encoding %s)", config.path.name, len(out), encoding or "declared")
    return out


def detect_encoding(path: Path) -> str | None:
    """Return None when the file declares its encoding, else ``'utf-8'`` or ``'cp1252'``.

    A Shapefile without a ``.cpg`` has its text decoded as UTF-8 when every
    byte sequence is valid UTF-8, else as cp1252 (a superset of the
    ISO-8859-1 that older ALKIS exports use).
    """
    if path.suffix.lower() != ".shp":
        return None
    if any(path.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    header_length = int.from_bytes(raw[8:10], "little")
    try:
        raw[header_length:].decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _attributes_json(frame: pd.DataFrame) -> pd.Series:
    if frame.columns.empty:
        return pd.Series([None] * len(frame), index=frame.index, dtype="str")
    records = frame.astype("object").where(frame.notna(), None).to_dict(orient="records")
    return pd.Series([json.dumps(r, ensure_ascii=False, default=str) for r in records], index=frame.index, dtype="str")
