"""Picture metadata as JSON: Mapillary API lists and Panoramax/STAC items.

Accepted shapes: a list of pictures, a ``{"data": [...]}`` wrapper (Mapillary
Graph API) or a GeoJSON FeatureCollection (Panoramax/STAC items). Fields read:

- Mapillary: ``id``, ``captured_at`` (ms since 1970, UTC; seconds are recognised by
  their size), ``computed_geometry`` or else ``geometry`` (per picture),
  ``computed_compass_angle`` or ``compass_angle``,
  ``computed_altitude``/``altitude``, ``sequence``.
- mapillary_tools' image description file (``mapillary_image_description.json``):
  ``MAPLatitude``, ``MAPLongitude``, ``MAPCaptureTime``, ... (see :func:`_from_description`).
- Panoramax/STAC: ``id``, ``properties.datetime``, ``geometry``,
  ``properties["view:azimuth"]`` or ``properties["pers:yaw"]``,
  ``pers:pitch``/``pers:roll``, ``collection`` as sequence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.config import PanoramasConfig
from twin.errors import RecordError, SchemaError
from twin.sources.headings import to_grid_north
from twin.sources.text_limits import read_json
from twin.sources.vector import to_crs

#: Numeric capture times below this are seconds since 1970, not milliseconds.
EPOCH_SECONDS_BELOW = 1e11
#: Milliseconds since 1970 beyond this (the range of a 64-bit count) are no time at all.
_MS_LIMIT = 9e18


def read(config: PanoramasConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read a Mapillary- or Panoramax-like JSON file into the canonical panorama schema."""
    items = _items(config.path)
    frame = panoramas_from_items(items, path=config.path, crs=config.crs or "EPSG:4326", target_crs=target_crs)
    return to_grid_north(frame) if config.heading_north == "true" else frame


def _items(path: Path) -> list[dict[str, Any]]:
    doc = read_json(path, section="panoramas", what="picture list")
    if isinstance(doc, dict):
        doc = doc.get("features", doc.get("data"))
    if not isinstance(doc, list) or not all(isinstance(item, dict) for item in doc):
        raise SchemaError(path.name, "holds no list of pictures", fix="give a list, {\"data\": [...]} or a FeatureCollection")
    if not doc:
        raise RecordError(path.name, "has no pictures", fix="export the picture list again")
    return doc


def _first(items: pd.DataFrame, *names: str) -> pd.Series:
    out = pd.Series(None, index=items.index, dtype="object")
    for name in reversed(names):
        if name in items:
            out = items[name].where(items[name].notna(), out)
    return out


def _coords(coords: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    xy = np.array([c[:2] if isinstance(c, list | tuple) and len(c) >= 2 else (np.nan, np.nan) for c in coords],
                  dtype="float64").reshape(-1, 2)
    return xy[:, 0], xy[:, 1]


def panoramas_from_items(
    items: list[dict[str, Any]], *, path: Path, crs: str, target_crs: str
) -> gpd.GeoDataFrame:
    """Map picture dicts (Mapillary or STAC) onto the canonical panorama fields."""
    flat = pd.json_normalize(items, max_level=1, sep=".")
    flat.columns = [c.removeprefix("properties.") for c in flat.columns]
    if "MAPLatitude" in flat:
        flat = _from_description(flat)
    # per picture: Mapillary's computed position where it has one, else the camera's; a picture not
    # yet processed by Mapillary has only ``geometry``
    nested = _first(flat, "computed_geometry", "geometry").map(lambda g: g.get("coordinates") if isinstance(g, dict) else None)
    x, y = _coords(_first(flat, "computed_geometry.coordinates", "geometry.coordinates").where(lambda c: c.notna(), nested))
    if np.isnan(x).all():
        raise SchemaError(path.name, "no picture has a geometry", fix="export pictures with geometry or computed_geometry")
    if _first(flat, "captured_at", "datetime").isna().all():
        raise SchemaError(path.name, "no picture has a capture time (captured_at, datetime)",
                          fix='for a point layer with other field names use format = "csv" with [panoramas.columns]')
    out = pd.DataFrame(index=flat.index)
    ids = _first(flat, "id")
    out["panorama_id"] = ids.astype("str").where(ids.notna(), pd.Series(range(1, len(flat) + 1), index=flat.index).astype("str"))
    out["image_name"] = flat["image_name"].astype("str") if "image_name" in flat else out["panorama_id"]
    out["captured_at"] = _times(flat, path)
    seq = _first(flat, "sequence", "sequence_id", "collection")
    out["sequence_id"] = seq.map(lambda s: s.get("id") if isinstance(s, dict) else s).astype("string")
    for name, keys in {
        "heading_deg": ("computed_compass_angle", "compass_angle", "view:azimuth", "pers:yaw"),
        "pitch_deg": ("pers:pitch",), "roll_deg": ("pers:roll",),
        "altitude_m": ("computed_altitude", "altitude"),
    }.items():
        out[name] = pd.to_numeric(_first(flat, *keys), errors="coerce").astype("float64")
    points = shapely.points(x, y, out["altitude_m"].fillna(0.0))
    points[np.isnan(x) | np.isnan(y)] = None  # no position: reported and dropped by the capture checks
    frame = gpd.GeoDataFrame(out, geometry=points)
    return to_crs(frame, target_crs=target_crs, declared_crs=crs, where=path.name, section="panoramas")


def _from_description(flat: pd.DataFrame) -> pd.DataFrame:
    """The fields of mapillary_tools' image description file under the names of the Mapillary API.

    ``MAPLatitude``/``MAPLongitude``/``MAPAltitude``, ``MAPCaptureTime`` (UTC,
    ``2026_05_04_09_14_03_000``), ``MAPCompassHeading.TrueHeading``,
    ``MAPSequenceUUID`` and ``filename`` (the image's path on the camera computer).
    """
    out = pd.DataFrame(index=flat.index)
    lon, lat = (pd.to_numeric(flat.get(c), errors="coerce") for c in ("MAPLongitude", "MAPLatitude"))
    out["geometry.coordinates"] = [None if pd.isna(a) or pd.isna(b) else [a, b] for a, b in zip(lon, lat, strict=True)]
    times = pd.to_datetime(flat.get("MAPCaptureTime"), format="%Y_%m_%d_%H_%M_%S_%f", errors="coerce", utc=True)
    out["captured_at"] = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").where(times.notna(), flat.get("MAPCaptureTime"))
    names = flat["filename"].astype("str").str.replace("\\", "/").str.rsplit("/", n=1).str[-1] if "filename" in flat \
        else pd.Series(flat.index.astype("str"), index=flat.index)
    out["image_name"] = names
    out["id"] = names.str.rsplit(".", n=1).str[0]
    out["compass_angle"] = flat.get("MAPCompassHeading.TrueHeading")
    out["altitude"] = flat.get("MAPAltitude")
    out["sequence"] = flat.get("MAPSequenceUUID")
    return out


def _times(flat: pd.DataFrame, path: Path) -> pd.Series:
    raw = _first(flat, "captured_at", "datetime")
    numeric = pd.to_numeric(raw, errors="coerce")
    # milliseconds since 1970 as Mapillary writes them; seconds as some converters do (below 1e11 s is
    # before the year 5000, below 1e11 ms before 1974)
    numeric = numeric.where(numeric.abs() >= EPOCH_SECONDS_BELOW, numeric * 1000.0)
    # in milliseconds, so a year such as 9999 stays a time (reported and dropped by the capture checks)
    fits = (numeric.abs() < _MS_LIMIT).to_numpy()
    stamps = np.full(len(numeric), np.datetime64("NaT"), dtype="datetime64[ms]")
    stamps[fits] = numeric[fits].round().astype("int64").to_numpy().astype("datetime64[ms]")
    text = raw.where(numeric.isna()).map(lambda v: v if isinstance(v, str) else None)
    from_text = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    texts = from_text.dt.tz_convert(None).to_numpy(dtype="datetime64[ms]")
    times = pd.Series(np.where(numeric.notna().to_numpy(), stamps, texts), index=raw.index).dt.tz_localize("UTC")
    bad = times.isna() & raw.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise RecordError(f"{path.name}, picture {row + 1}", f"{_short(raw[bad].iloc[0])} is not a time",
                          fix="give captured_at in ms or datetime in ISO 8601")
    return times.astype("datetime64[ms, UTC]")


def _short(value: object, *, limit: int = 60) -> str:
    """A value as written in a message: quoted text, a plain number, anything else cut to `limit` characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
