"""A folder of equirectangular JPEGs, geotagged from their EXIF and GPano XMP tags.

Read per image: GPS latitude/longitude/altitude, ``DateTimeOriginal`` with
``OffsetTimeOriginal`` (local time of the camera plus its UTC offset; without
one, the time is local in ``[panoramas] timezone``, else UTC), and the GPano
tags ``ProjectionType``, ``PoseHeadingDegrees`` (else EXIF ``GPSImgDirection``),
``PosePitchDegrees``, ``PoseRollDegrees``. An image that cannot be read becomes a
``unreadable_image`` row in ``qa_issues`` (kept in ``frame.attrs["qa_issues"]``);
it does not stop the run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.config import PanoramasConfig
from twin.errors import RecordError, SourceError
from twin.model.qa import qa_issues
from twin.sources.vector import to_crs

_GPS_IFD, _EXIF_IFD = 0x8825, 0x8769
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL = 36867, 36881
_GPS_IMG_DIRECTION = 17
_GPANO = ("ProjectionType", "PoseHeadingDegrees", "PosePitchDegrees", "PoseRollDegrees")
_SUFFIXES = {".jpg", ".jpeg"}


def read(config: PanoramasConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read every JPEG of the folder ``[panoramas] path`` into the canonical panorama schema."""
    records, bad = image_records(config.path)
    frame = panoramas_from_records(records, where=config.path.name, target_crs=target_crs, timezone=config.timezone)
    frame.attrs["qa_issues"] = bad_image_issues(bad, crs=target_crs)
    return frame


def image_files(folder: Path) -> list[Path]:
    """The JPEGs in `folder` (and below), sorted by name."""
    if not folder.is_dir():
        raise SourceError(str(folder), "is not a folder of images", fix="set [panoramas] path to the image folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _SUFFIXES)
    if not files:
        raise RecordError(folder.name, "holds no .jpg images", fix="check [panoramas] path")
    return files


def image_records(folder: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Metadata of each image; unreadable ones as ``(name, reason)`` pairs."""
    records, bad = [], []
    for path in image_files(folder):
        try:
            records.append(read_image(path))
        except (OSError, ValueError, SyntaxError) as exc:  # Pillow's UnidentifiedImageError is an OSError
            bad.append((path.name, str(exc) or type(exc).__name__))
    if not records:
        raise RecordError(folder.name, f"no image could be read (first: {bad[0][0]}: {bad[0][1]})",
                          fix="check that the folder holds JPEGs")
    return records, bad


def read_image(path: Path) -> dict[str, Any]:
    """EXIF GPS, capture time and GPano pose of one image."""
    from PIL import Image  # only runs with image folders load Pillow

    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        exif = image.getexif()
        gps = exif.get_ifd(_GPS_IFD)
        sub = exif.get_ifd(_EXIF_IFD)
    xmp = _xmp(path.read_bytes())
    return {
        "image_name": path.name,
        "lat": _dms(gps.get(2), gps.get(1), "S"),
        "lon": _dms(gps.get(4), gps.get(3), "W"),
        "altitude_m": _altitude(gps.get(6), gps.get(5)),
        "local_time": sub.get(_DATETIME_ORIGINAL),
        "offset": sub.get(_OFFSET_ORIGINAL),
        "projection": xmp.get("ProjectionType"),
        # GPano's pose first; else the direction the GPS receiver wrote (phones, mapillary_tools)
        "heading_deg": _float(xmp.get("PoseHeadingDegrees", gps.get(_GPS_IMG_DIRECTION))),
        "pitch_deg": _float(xmp.get("PosePitchDegrees")),
        "roll_deg": _float(xmp.get("PoseRollDegrees")),
    }


def panoramas_from_records(records: list[dict[str, Any]], *, where: str, target_crs: str,
                           timezone: str | None = None) -> gpd.GeoDataFrame:
    """Canonical panorama frame from image records (lat/lon in WGS84; times without offset in `timezone`)."""
    table = pd.DataFrame.from_records(records)
    out = table[["image_name"]].copy()
    out["panorama_id"] = table["image_name"].str.rsplit(".", n=1).str[0]
    if "captured_at" in table:
        out["captured_at"] = table["captured_at"]
    else:
        out["captured_at"] = exif_times(table["local_time"], table["offset"], timezone=timezone)
    for name in ("heading_deg", "pitch_deg", "roll_deg", "altitude_m"):
        out[name] = pd.to_numeric(table.get(name), errors="coerce").astype("float64")
    geometry = shapely.points(table["lon"].astype("float64"), table["lat"].astype("float64"),
                              out["altitude_m"].fillna(0.0))
    frame = gpd.GeoDataFrame(out, geometry=geometry)
    frame.loc[table["lat"].isna().to_numpy() | table["lon"].isna().to_numpy(), "geometry"] = None
    return to_crs(frame, target_crs=target_crs, declared_crs="EPSG:4326", where=where, section="panoramas")


def exif_times(local: pd.Series, offset: pd.Series, *, timezone: str | None = None) -> pd.Series:
    """UTC times from EXIF ``YYYY:MM:DD HH:MM:SS`` and ``+HH:MM`` offsets.

    Many cameras write no offset: their times are local times in `timezone` (UTC when None);
    a time the zone skips or repeats (clocks changing) becomes NaT.

    >>> exif_times(pd.Series(["2023:05:16 10:12:03"]), pd.Series(["+02:00"])).iloc[0]
    Timestamp('2023-05-16 08:12:03+0000', tz='UTC')
    >>> exif_times(pd.Series(["2023:05:16 10:12:03"]), pd.Series([None]), timezone="Europe/Berlin").iloc[0]
    Timestamp('2023-05-16 08:12:03+0000', tz='UTC')
    """
    stamp = pd.to_datetime(local.astype("string"), format="%Y:%m:%d %H:%M:%S", errors="coerce")
    text = offset.astype("string").str.strip()
    match = text.str.extract(r"^([+-])(\d{2}):?(\d{2})$")
    sign = np.where((match[0] == "-").fillna(False).to_numpy(dtype=bool), -1.0, 1.0)
    minutes = sign * (pd.to_numeric(match[1]).fillna(0) * 60 + pd.to_numeric(match[2]).fillna(0))
    utc = (stamp - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC")
    if timezone is not None:
        zoned = stamp.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        utc = utc.where(match[0].notna(), zoned)
    return utc.astype("datetime64[ms, UTC]")


def bad_image_issues(bad: list[tuple[str, str]], *, crs: str) -> gpd.GeoDataFrame:
    """One ``unreadable_image`` QA row per image that could not be read."""
    return qa_issues(layer="panoramas", feature_ids=[name for name, _ in bad], check="unreadable_image",
                     severity="warning", messages=[f"skipped: {reason}" for _, reason in bad], crs=crs)


def _xmp(data: bytes) -> dict[str, str]:
    start = data.find(b"<x:xmpmeta")
    end = data.find(b"</x:xmpmeta>", start)
    if start < 0 or end < 0:
        return {}
    text = data[start:end].decode("utf-8", errors="replace")
    out = {}
    for tag in _GPANO:
        found = re.search(rf'GPano:{tag}\s*=\s*"([^"]*)"', text) or re.search(
            rf"<GPano:{tag}>([^<]*)</GPano:{tag}>", text)
        if found:
            out[tag] = found.group(1).strip()
    return out


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _dms(value: Any, ref: Any, negative: str) -> float:
    if not value or len(value) != 3:
        return float("nan")
    deg = float(value[0]) + float(value[1]) / 60.0 + float(value[2]) / 3600.0
    return -deg if str(ref or "").upper().startswith(negative) else deg


def _altitude(value: Any, ref: Any) -> float:
    if value is None:
        return float("nan")
    below = ref in (1, b"\x01")
    return -float(value) if below else float(value)
