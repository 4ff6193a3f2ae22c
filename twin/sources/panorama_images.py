"""A folder of camera pictures (equirectangular 360° or not), geotagged from their EXIF and XMP tags.

Each picture's tags are read by :mod:`twin.sources.picture_tags` (exifread, and
defusedxml for the XMP packet). The capture time is, as mapillary_tools and
Panoramax take it: the GPS time (UTC) when the picture has one; else
``DateTimeOriginal`` with its ``OffsetTimeOriginal``; else ``DateTimeOriginal``
as a local time in ``[panoramas] timezone``; else it is read as UTC and a
``time_zone_assumed`` row in ``qa_issues`` names the picture. ``time_offset_s``
is added to every picture's time. Headings (degrees from true north in the
tags) are turned into grid bearings of the city's CRS; ``heading_source`` says
where each came from. A picture that cannot be read (not an image, a header
claiming more pixels than Pillow opens, an XMP packet with a DOCTYPE)
becomes an ``unreadable_image`` row in ``qa_issues`` (kept in
``frame.attrs["qa_issues"]``); it does not stop the run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.config import PanoramasConfig
from twin.errors import RecordError, SourceError
from twin.model.formats import IMAGE_SUFFIXES
from twin.model.qa import concat_issues, qa_issues
from twin.sources.headings import grid_headings
from twin.sources.picture_tags import PictureError, read_picture
from twin.sources.vector import to_crs

log = logging.getLogger(__name__)

#: Step along a heading used to measure its grid bearing (m).


def read(config: PanoramasConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read every JPEG of the folder ``[panoramas] path`` into the canonical panorama schema."""
    records, bad = image_records(config.path)
    table = pd.DataFrame.from_records(records)
    times, assumed = capture_times(table, timezone=config.timezone, time_offset_s=config.time_offset_s)
    lon, lat = table["lon"].to_numpy(dtype="float64"), table["lat"].to_numpy(dtype="float64")
    frame = panorama_frame(table, times, lon, lat, table["altitude_m"].to_numpy(dtype="float64"),
                           where=config.path.name, target_crs=target_crs)
    frame.attrs["qa_issues"] = concat_issues(
        [bad_image_issues(bad, crs=target_crs), zone_issues(table, assumed, frame.geometry)], target_crs)
    return frame


def image_files(folder: Path) -> list[Path]:
    """The JPEGs in `folder` (and below), sorted by name."""
    if not folder.is_dir():
        raise SourceError(str(folder), "is not a folder of images", fix="set [panoramas] path to the image folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise RecordError(folder.name, "holds no .jpg images", fix="check [panoramas] path")
    return files


def image_records(folder: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Tags of each picture; unreadable ones as ``(name, reason)`` pairs."""
    records, bad = [], []
    for path in image_files(folder):
        try:
            records.append(read_picture(path))
        except PictureError as exc:
            bad.append((path.name, str(exc)))
    if not records:
        raise RecordError(folder.name, f"no image could be read (first: {bad[0][0]}: {bad[0][1]})",
                          fix="check that the folder holds JPEGs")
    return records, bad


def read_image(path: Path) -> dict[str, Any]:
    """Tags of one picture (see :func:`twin.sources.picture_tags.read_picture`); raises a ValueError."""
    return read_picture(path)


def capture_times(table: pd.DataFrame, *, timezone: str | None = None,
                  time_offset_s: float = 0.0) -> tuple[pd.Series, np.ndarray]:
    """UTC capture times of picture records, and which of them had no zone at all (read as UTC).

    GPS time first; else the camera time with its offset; else the camera time in
    `timezone`; else the camera time as UTC. `time_offset_s` is added to every time.

    >>> t = pd.DataFrame({"gps_time": [None, "2023-05-16T08:12:03Z"], "offset": ["+02:00", None],
    ...                   "local_time": ["2023-05-16 10:12:03.25", "2023-05-16 10:12:04"]})
    >>> [str(x) for x in capture_times(t, timezone="Europe/Berlin")[0]]
    ['2023-05-16 08:12:03.250000+00:00', '2023-05-16 08:12:03+00:00']
    """
    gps = pd.to_datetime(table["gps_time"].astype("string"), format="ISO8601", utc=True, errors="coerce")
    camera, no_zone = exif_times(table["local_time"], table["offset"], timezone=timezone)
    utc = gps.where(gps.notna(), camera)
    assumed = (gps.isna() & no_zone & camera.notna()).to_numpy(dtype=bool)
    shifted = utc + pd.Timedelta(seconds=time_offset_s)
    return shifted.astype("datetime64[ms, UTC]"), assumed


def exif_times(local: pd.Series, offset: pd.Series, *, timezone: str | None = None) -> tuple[pd.Series, pd.Series]:
    """UTC times from camera times (``YYYY-MM-DD HH:MM:SS[.f]`` or EXIF's ``YYYY:MM:DD``) and ``+HH:MM`` offsets.

    Without an offset the time is local in `timezone`; without either it is read as
    UTC and flagged in the second series. A time the zone skips or repeats (clocks
    changing) becomes NaT.

    >>> exif_times(pd.Series(["2023:05:16 10:12:03"]), pd.Series(["+02:00"]))[0].iloc[0]
    Timestamp('2023-05-16 08:12:03+0000', tz='UTC')
    >>> exif_times(pd.Series(["2023-05-16 10:12:03.5"]), pd.Series([None]), timezone="Europe/Berlin")[0].iloc[0]
    Timestamp('2023-05-16 08:12:03.500000+0000', tz='UTC')
    """
    text = local.astype("string").str.replace(r"^(\d{4}):(\d\d):(\d\d)", r"\1-\2-\3", regex=True)
    stamp = pd.to_datetime(text, format="ISO8601", errors="coerce")
    match = offset.astype("string").str.strip().str.extract(r"^([+-])(\d{2}):?(\d{2})$")
    sign = np.where((match[0] == "-").fillna(False).to_numpy(dtype=bool), -1.0, 1.0)
    minutes = sign * (pd.to_numeric(match[1]).fillna(0) * 60 + pd.to_numeric(match[2]).fillna(0))
    utc = (stamp - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC")
    has_offset = match[0].notna()
    if timezone is not None:
        zoned = stamp.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        utc = utc.where(has_offset, zoned)
    no_zone = ~has_offset if timezone is None else pd.Series(False, index=local.index)
    return utc.astype("datetime64[ms, UTC]"), no_zone


def panorama_frame(table: pd.DataFrame, times: pd.Series, lon: np.ndarray, lat: np.ndarray, altitude: np.ndarray,
                   *, where: str, target_crs: str) -> gpd.GeoDataFrame:
    """Canonical panorama frame of picture records placed at `lon`/`lat` (WGS84), headings as grid bearings."""
    out = pd.DataFrame({"image_name": table["image_name"],
                        "panorama_id": table["image_name"].str.rsplit(".", n=1).str[0],
                        "captured_at": times})
    for name in ("pitch_deg", "roll_deg"):
        out[name] = pd.to_numeric(table[name], errors="coerce").astype("float64")
    out["altitude_m"] = altitude
    out["heading_deg"] = grid_headings(table["heading_deg"].to_numpy(dtype="float64"), lon, lat, target_crs)
    out["heading_source"] = table["heading_source"].where(np.isfinite(out["heading_deg"]), None).astype("object")
    frame = gpd.GeoDataFrame(out, geometry=shapely.points(lon, lat, np.nan_to_num(altitude)))
    frame.loc[np.isnan(lon) | np.isnan(lat), "geometry"] = None
    return to_crs(frame, target_crs=target_crs, declared_crs="EPSG:4326", where=where, section="panoramas")


def bad_image_issues(bad: list[tuple[str, str]], *, crs: str) -> gpd.GeoDataFrame:
    """One ``unreadable_image`` QA row per image that could not be read."""
    return qa_issues(layer="panoramas", feature_ids=[name for name, _ in bad], check="unreadable_image",
                     severity="warning", messages=[f"skipped: {reason}" for _, reason in bad], crs=crs)


def zone_issues(table: pd.DataFrame, assumed: np.ndarray, geometry: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """One ``time_zone_assumed`` QA row per picture whose camera time had no zone anywhere (read as UTC)."""
    if assumed.any():
        log.warning("%d of %d pictures have a camera time without zone and no GPS time (e.g. %s): read as UTC; "
                    "set [panoramas] timezone if the camera clock ran on local time",
                    int(assumed.sum()), len(table), table["image_name"][assumed].iloc[0])
    messages = [f"camera time {t} has no zone (no GPS time, no OffsetTimeOriginal, no [panoramas] timezone): "
                "read as UTC; set [panoramas] timezone if the camera ran on local time"
                for t in table["local_time"][assumed]]
    ids = table["image_name"].str.rsplit(".", n=1).str[0][assumed]
    return qa_issues(layer="panoramas", feature_ids=ids, check="time_zone_assumed",
                     severity="warning", messages=messages, geometry=geometry.to_numpy()[assumed], crs=geometry.crs)
