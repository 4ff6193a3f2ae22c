"""Capture QA: duplicates, GNSS jumps, impossible positions and sequence cuts.

Thresholds follow mapillary_tools' defaults (duplicate distance 0.1 m and
angle 5°, max speed 400 km/h, cut at 60 s or 600 m; a deviation of 8 m off
the drive is twin's own) and are keyword-only arguments, configurable in
``[panoramas]``. Every check is vectorised over
arrays: consecutive pictures are compared with ``numpy.diff`` inside each
sequence, never row by row.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin.config import MAX_DEVIATION_M
from twin.model.qa import NULL_ISLAND_DEG, concat_issues, qa_issues

#: Pictures closer than this to the previous one (m) ...
DUPLICATE_DISTANCE_M = 0.1
#: ... and turned less than this (degrees) are duplicates.
DUPLICATE_ANGLE_DEG = 5.0
#: A step faster than this (km/h) is a GNSS jump.
MAX_SPEED_KMH = 400.0
#: A longer pause (s) starts a new sequence.
CUT_TIME_S = 60.0
#: A longer step (m) starts a new sequence.
CUT_DISTANCE_M = 600.0


def _ordered(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions (index labels, xy, seconds, same-sequence-as-previous) in sequence/time order.

    Pictures without a sequence (a picture list with no sequence field: NaN, which equals nothing,
    not even itself) form one group, which the time and distance cuts divide into drives.
    """
    seq = frame["sequence_id"].astype("string").fillna("") if "sequence_id" in frame \
        else pd.Series("", index=frame.index)
    epoch = pd.Timestamp(0, tz="UTC")
    t = (frame["captured_at"] - epoch).dt.total_seconds()
    key = pd.DataFrame({"s": seq.to_numpy(), "t": t.to_numpy(dtype="float64")}, index=frame.index)
    order = key.sort_values(["s", "t"], kind="stable")
    xy = shapely.get_coordinates(frame.geometry.loc[order.index].to_numpy())
    seconds = order["t"].to_numpy()
    s = order["s"].to_numpy()
    same = np.r_[False, s[1:] == s[:-1]] if len(s) else np.zeros(0, bool)
    return order.index.to_numpy(), xy, seconds, same


def _steps(xy: np.ndarray, seconds: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) and time (s) from the previous picture of the same sequence (NaN at starts)."""
    if not len(xy):
        return np.zeros(0), np.zeros(0)
    dist = np.r_[np.nan, np.hypot(*np.diff(xy, axis=0).T)]
    dt = np.r_[np.nan, np.diff(seconds)]
    dist[~same] = np.nan
    dt[~same] = np.nan
    return dist, dt


def gnss_jumps(frame: gpd.GeoDataFrame, *, max_speed_kmh: float = MAX_SPEED_KMH) -> pd.Series:
    """True for single positions that jump away and back faster than `max_speed_kmh`.

    A picture is a jump when reaching it from the previous picture and leaving
    it for the next both need more than the speed cap while going straight
    from the previous to the next does not: the outlier is dropped, the
    sequence stays whole.
    """
    labels, xy, seconds, same = _ordered(frame)
    dist, dt = _steps(xy, seconds, same)
    cap = max_speed_kmh / 3.6
    with np.errstate(divide="ignore", invalid="ignore"):
        speed_in = np.where(dt > 0, dist / dt, np.where(dist > 0, np.inf, 0.0))
        speed_out = np.r_[speed_in[1:], np.nan]
        skip = np.full(len(xy), np.nan)
        if len(xy) > 2:
            skip[1:-1] = np.hypot(*(xy[2:] - xy[:-2]).T) / np.maximum(seconds[2:] - seconds[:-2], 1e-3)
    has_next = np.r_[same[1:], False] if len(same) else same
    jump = same & has_next & (speed_in > cap) & (speed_out > cap) & ~(skip > cap)
    return pd.Series(jump, index=labels).reindex(frame.index)


def gnss_deviations(frame: gpd.GeoDataFrame) -> pd.Series:
    """Distance (m) of each position off the line through its neighbours where the drive returns from it.

    The distance is measured to the line through the previous and the next
    picture of the sequence. The drive returns from a position that also lies
    off the line along which it arrived (through the two pictures before) and
    the one along which it leaves (through the two after), by at least half
    that distance: a jump away and back, multipath between buildings. At a
    corner the drive arrives or leaves along a line through the corner's
    picture, so a real turn measures 0 m. NaN where the picture has no
    neighbour on each side in its sequence, or neither a line before nor one
    after it. A line whose two pictures coincide is their point.

    Examples
    --------
    >>> frame = gpd.GeoDataFrame(
    ...     {"captured_at": pd.date_range("2023-05-16 08:00", periods=7, freq="s", tz="UTC")},
    ...     geometry=shapely.points([0, 11, 22, 33, 44, 55, 66], [0, 0, 0, 12, 0, 0, 0]), crs="EPSG:25832")
    >>> gnss_deviations(frame).round(1).tolist()
    [nan, 0.0, 0.0, 12.0, 0.0, 0.0, nan]
    """
    labels, xy, _, same = _ordered(frame)
    n = len(xy)
    out = np.full(n, np.nan)
    if n >= 3:
        has_next = np.r_[same[1:], False]
        has_prev2 = same & np.r_[False, same[:-1]]
        has_next2 = has_next & np.r_[has_next[1:], False]
        prev1, next1 = np.roll(xy, 1, axis=0), np.roll(xy, -1, axis=0)
        prev2, next2 = np.roll(xy, 2, axis=0), np.roll(xy, -2, axis=0)
        chord = np.where(same & has_next, _off_line(xy, prev1, next1), np.nan)
        arriving = np.where(has_prev2, _off_line(xy, prev2, prev1), np.nan)
        leaving = np.where(has_next2, _off_line(xy, next1, next2), np.nan)
        sides = np.fmin(arriving, leaving)  # NaN only where neither line exists
        # the lines before and after reach the position from farther away, so GNSS noise tilts them
        # more: half the distance is asked of them, and the distance itself is the chord's
        out = np.where(np.isnan(sides) | np.isnan(chord), np.nan, np.where(sides >= chord / 2.0, chord, 0.0))
    return pd.Series(out, index=labels, dtype="float64").reindex(frame.index)


def _farthest(frame: gpd.GeoDataFrame, deviation: np.ndarray) -> pd.Series:
    """True where `deviation` is not below that of the pictures before and after in the sequence.

    A jump pulls the line through its neighbours' neighbours off the drive as well (at a
    sequence's second picture, which has no line before it); only the jump itself is farthest.
    """
    labels, _, _, same = _ordered(frame)
    dev = pd.Series(deviation, index=frame.index).loc[labels].to_numpy(dtype="float64")
    filled = np.nan_to_num(dev, nan=-np.inf)
    before = np.where(same, np.roll(filled, 1), -np.inf)
    after = np.where(np.r_[same[1:], False], np.roll(filled, -1), -np.inf)
    return pd.Series((filled >= before) & (filled >= after), index=labels)


def _off_line(xy: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each point of `xy` from the line through `a` and `b` (from `a` where they coincide)."""
    direction = b - a
    length = np.hypot(direction[:, 0], direction[:, 1])
    rel = xy - a
    cross = np.abs(direction[:, 0] * rel[:, 1] - direction[:, 1] * rel[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(length > 1e-9, cross / length, np.hypot(rel[:, 0], rel[:, 1]))


def duplicate_pictures(
    frame: gpd.GeoDataFrame,
    *,
    distance_m: float = DUPLICATE_DISTANCE_M,
    angle_deg: float = DUPLICATE_ANGLE_DEG,
) -> pd.Series:
    """True for a picture with the name of an earlier one, or within `distance_m` and `angle_deg` of the previous.

    A missing heading counts as the same heading.
    """
    labels, xy, seconds, same = _ordered(frame)
    dist, _ = _steps(xy, seconds, same)
    heading = frame["heading_deg"] if "heading_deg" in frame else pd.Series(np.nan, index=frame.index)
    h = heading.loc[labels].to_numpy(dtype="float64")
    turn = np.abs((np.r_[np.nan, np.diff(h)] + 180.0) % 360.0 - 180.0)
    close = same & (dist <= distance_m) & ~(turn >= angle_deg)
    by_place = pd.Series(close, index=labels).reindex(frame.index)
    names = frame["image_name"] if "image_name" in frame else frame.get("panorama_id")
    by_name = names.duplicated() & names.notna() if names is not None else False
    return by_place | by_name


def split_sequences(
    frame: gpd.GeoDataFrame, *, cut_time_s: float = CUT_TIME_S, cut_distance_m: float = CUT_DISTANCE_M
) -> gpd.GeoDataFrame:
    """Return a copy with ``sequence_id`` cut at pauses over `cut_time_s` and steps over `cut_distance_m`.

    A source's own sequences are kept and only cut further. Each sequence is
    named after its UTC start (``2023-05-16T08:12:03Z``), with the source's
    name in front when it had one.
    """
    out = frame.copy()
    if not len(out):
        out["sequence_id"] = pd.Series(dtype="str")
        return out
    labels, xy, seconds, same = _ordered(out)
    dist, dt = _steps(xy, seconds, same)
    start = ~same | (dt > cut_time_s) | (dist > cut_distance_m)
    number = np.cumsum(start) - 1
    first_time = out["captured_at"].loc[labels].to_numpy()[np.flatnonzero(start)][number]
    name = pd.Series(pd.to_datetime(first_time, utc=True)).dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy()
    if "sequence_id" in out and out["sequence_id"].notna().any():
        source = out["sequence_id"].loc[labels].fillna("").astype("str").to_numpy()
        name = np.where(source != "", np.char.add(np.char.add(source.astype("str"), "/"), name.astype("str")), name)
    out["sequence_id"] = pd.Series(name, index=labels).reindex(out.index).astype("str")
    return out


def check_capture(
    frame: gpd.GeoDataFrame,
    *,
    boundary: BaseGeometry | None = None,
    duplicate_distance_m: float = DUPLICATE_DISTANCE_M,
    duplicate_angle_deg: float = DUPLICATE_ANGLE_DEG,
    max_speed_kmh: float = MAX_SPEED_KMH,
    max_deviation_m: float = MAX_DEVIATION_M,
    max_accuracy_m: float | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Drop implausible pictures, flag GNSS jumps and return ``(kept, qa_issues)``.

    Checks, each with its ``qa_issues`` code: ``null_island`` (position at
    0°, 0°), ``outside_boundary``, ``poor_accuracy`` (``gnss_accuracy_m`` over
    `max_accuracy_m`), ``gnss_jump`` (faster than `max_speed_kmh`, see
    :func:`gnss_jumps`: dropped; or more than `max_deviation_m` off the drive,
    see :func:`gnss_deviations`: kept with ``gnss_jump`` true, which tracks,
    coverage and counts leave out) and ``duplicate_image`` (see
    :func:`duplicate_pictures`).
    """
    crs = frame.crs
    geoms = frame.geometry
    lonlat = shapely.get_coordinates(geoms.to_crs("EPSG:4326").to_numpy()) if len(frame) else np.zeros((0, 2))
    checks: list[tuple[str, np.ndarray, str]] = [
        ("null_island", np.all(np.abs(lonlat) < NULL_ISLAND_DEG, axis=1), "dropped: position at 0°, 0° (no GNSS fix)"),
    ]
    if boundary is not None:
        inside = shapely.covers(boundary, geoms.to_numpy())
        checks.append(("outside_boundary", ~inside, "dropped: outside the city boundary"))
    if max_accuracy_m is not None and "gnss_accuracy_m" in frame:
        poor = (frame["gnss_accuracy_m"] > max_accuracy_m).fillna(False).to_numpy(dtype=bool)
        checks.append(("poor_accuracy", poor, f"dropped: GNSS accuracy worse than {max_accuracy_m:g} m"))
    issues, keep = [], np.ones(len(frame), bool)
    ids = frame["panorama_id"] if "panorama_id" in frame else frame.index.to_series().astype("str")
    for code, found_mask, message in checks:
        mask = found_mask & keep
        issues.append(_issues(ids, mask, code, message, geoms, crs))
        keep &= ~mask
    jumps = gnss_jumps(frame.loc[keep], max_speed_kmh=max_speed_kmh).reindex(frame.index, fill_value=False)
    found = jumps.to_numpy(dtype=bool)
    issues.append(_issues(ids, found, "gnss_jump",
                          f"dropped: position implies more than {max_speed_kmh:g} km/h (GNSS jump)", geoms, crs))
    keep &= ~found
    deviation = gnss_deviations(frame.loc[keep]).reindex(frame.index).to_numpy(dtype="float64")
    off = keep & (deviation > max_deviation_m) & _farthest(frame.loc[keep], deviation[keep]).reindex(
        frame.index, fill_value=False).to_numpy(dtype=bool)
    issues.append(_issues(
        ids, off, "gnss_jump",
        [f"kept, flagged gnss_jump: position {d:.1f} m off the line through its neighbours (over {max_deviation_m:g} m), "
         "left out of tracks, coverage and counts" for d in deviation[off]],
        geoms, crs))
    dups = duplicate_pictures(frame.loc[keep], distance_m=duplicate_distance_m, angle_deg=duplicate_angle_deg)
    found = dups.reindex(frame.index, fill_value=False).to_numpy(dtype=bool)
    issues.append(_issues(
        ids, found, "duplicate_image",
        f"dropped: same name, or within {duplicate_distance_m:g} m and {duplicate_angle_deg:g}° of the previous",
        geoms, crs))
    keep &= ~found
    kept = frame.loc[keep].copy()
    kept["gnss_jump"] = pd.array(off[keep], dtype="boolean")
    return kept, concat_issues(issues, crs)


def _issues(ids: pd.Series, mask: np.ndarray, code: str, message: str | list[str], geoms: gpd.GeoSeries, crs: object) -> gpd.GeoDataFrame:
    return qa_issues(layer="panoramas", feature_ids=ids[mask], check=code, severity="warning",
                     messages=message, geometry=geoms.to_numpy()[mask], crs=crs)
