"""A GPX track plus a folder of images without GPS: positions interpolated by capture time.

``[panoramas] path`` is the image folder, ``[panoramas] gpx`` the track
(default: the first ``*.gpx`` in the folder), read with gpxpy after a check with
defusedxml (a GPX file with a DOCTYPE, where XML entities are declared, is refused). Each image's
capture time (as for ``format = "images"``: GPS time, else camera time with its
offset, else in ``[panoramas] timezone``; shifted by ``time_offset_s``, the
camera clock's error) is placed on the track with ``numpy.interp``; images
outside the track's time span get no position and are reported by the capture QA.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import defusedxml
import geopandas as gpd
import gpxpy
import gpxpy.gpx
import numpy as np
import pandas as pd
from defusedxml import ElementTree

from twin.config import PanoramasConfig
from twin.errors import RecordError, SourceError
from twin.model.qa import concat_issues
from twin.sources.panorama_images import bad_image_issues, capture_times, image_records, panorama_frame, zone_issues

log = logging.getLogger(__name__)


def read(config: PanoramasConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read the images of ``[panoramas] path`` placed on the GPX track."""
    gpx = config.gpx or _find_gpx(config.path)
    track = read_track(gpx)
    records, bad = image_records(config.path)
    table = pd.DataFrame.from_records(records)
    times, assumed = capture_times(table, timezone=config.timezone, time_offset_s=config.time_offset_s)
    lon, lat, ele = interpolate_track(track, times)
    _warn_outside(times, np.isnan(lon), track, gpx)
    frame = panorama_frame(table, times, lon, lat, ele, where=gpx.name, target_crs=target_crs)
    frame.attrs["qa_issues"] = concat_issues(
        [bad_image_issues(bad, crs=target_crs), zone_issues(table, assumed, frame.geometry)], target_crs)
    return frame


def _warn_outside(times: pd.Series, outside: np.ndarray, track: pd.DataFrame, gpx: Path) -> None:
    """Say when pictures were taken outside the track's time span (a camera clock in local time, mostly)."""
    off = outside & times.notna().to_numpy()
    if not off.any():
        return
    span = f"{track['time'].iloc[0]:%Y-%m-%d %H:%M:%S}–{track['time'].iloc[-1]:%H:%M:%S} UTC"
    log.warning("%s: %d of %d pictures were taken outside the track (%s), e.g. at %s UTC, and get no position; "
                "if the camera clock runs in local time set [panoramas] timezone, else time_offset_s",
                gpx.name, int(off.sum()), len(times), span, f"{times[off].iloc[0]:%Y-%m-%d %H:%M:%S}")


def _find_gpx(folder: Path) -> Path:
    found = sorted(folder.glob("*.gpx")) if folder.is_dir() else []
    if not found:
        raise SourceError(str(folder), "has no .gpx track", fix="set [panoramas] gpx")
    return found[0]


def read_track(path: Path) -> pd.DataFrame:
    """Track points (``time`` in UTC, ``lon``, ``lat``, ``ele``) of every track segment, in time order.

    Times without a zone are UTC, as the GPX schema defines them.
    """
    try:
        data = path.read_bytes()
        ElementTree.fromstring(data, forbid_dtd=True)  # before gpxpy's parser (lxml, where installed) sees the file
        declared = re.match(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", data)
        parsed = gpxpy.parse(data.decode(declared[1].decode() if declared else "utf-8-sig"))
    except defusedxml.DefusedXmlException as exc:
        raise SourceError(str(path), f"has a DOCTYPE ({type(exc).__name__}), which twin refuses: XML entities can "
                          "exhaust memory or read local files", fix="export the track again without one") from exc
    except (OSError, LookupError, UnicodeDecodeError, ElementTree.ParseError, gpxpy.gpx.GPXException) as exc:
        raise SourceError(str(path), f"is not a readable GPX file ({exc})", fix="export the track again") from exc
    rows = [(p.longitude, p.latitude, p.elevation, p.time)
            for t in parsed.tracks for segment in t.segments for p in segment.points]
    if len(rows) < 2:
        raise RecordError(path.name, "has fewer than two track points", fix="export the track with timestamps")
    table = pd.DataFrame(rows, columns=["lon", "lat", "ele", "time"], dtype="object")
    times = pd.Series([None if t is None else t.isoformat() for t in table["time"]], dtype="string")
    track = pd.DataFrame({
        "time": pd.to_datetime(times, format="ISO8601", utc=True, errors="coerce"),
        "lon": pd.to_numeric(table["lon"], errors="coerce"),
        "lat": pd.to_numeric(table["lat"], errors="coerce"),
        "ele": pd.to_numeric(table["ele"], errors="coerce"),
    }).dropna(subset=["time", "lon", "lat"])
    if len(track) < 2:
        raise RecordError(path.name, "has fewer than two track points with time and position",
                          fix="export the track with timestamps")
    return track.sort_values("time", kind="stable").reset_index(drop=True)


def interpolate_track(track: pd.DataFrame, times: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitude, latitude and elevation at `times`; NaN outside the track's time span."""
    epoch = pd.Timestamp(0, tz="UTC")
    t = (track["time"] - epoch).dt.total_seconds().to_numpy(dtype="float64")
    q = (times - epoch).dt.total_seconds().to_numpy(dtype="float64")
    outside = ~((q >= t[0]) & (q <= t[-1]))
    lon, lat, ele = (np.interp(q, t, track[c].to_numpy(dtype="float64")) for c in ("lon", "lat", "ele"))
    for values in (lon, lat, ele):
        values[outside] = np.nan
    return lon, lat, ele
