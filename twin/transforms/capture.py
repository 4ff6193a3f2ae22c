"""Panorama capture: QA, drive sequences, tracks, coverage and links to buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from twin import parallel
from twin.model.frames import arrow_text, require_same_crs, text_series
from twin.model.qa import concat_issues, qa_issues

#: A longer pause between two pictures starts a new sequence (s).
MAX_GAP_S = 60.0
#: Radius of street space seen around a panorama (m).
COVERAGE_RADIUS_M = 15.0
#: Panoramas within this distance of a building count for it (m).
BUILDING_VIEW_DISTANCE_M = 30.0
#: Field of view around the heading in which a building counts (degrees; 360 = all around).
BUILDING_VIEW_FOV_DEG = 360.0
#: Capture times before this are no capture with a satellite position (the start of GPS time).
EARLIEST_CAPTURE = pd.Timestamp("1980-01-06T00:00:00Z")
#: Capture times from this on are a wrong clock or a typing error, not a capture.
LATEST_CAPTURE = pd.Timestamp("2100-01-01T00:00:00Z")


def normalise_headings(headings: pd.Series) -> pd.Series:
    """Headings in degrees mapped into [0, 360), missing values kept.

    >>> normalise_headings(pd.Series([361.5, -2.0, 90.0])).tolist()
    [1.5, 358.0, 90.0]
    """
    return (headings.astype("float64") % 360.0).round(6) % 360.0


def clean_panoramas(
    frame: gpd.GeoDataFrame, *, earliest: pd.Timestamp = EARLIEST_CAPTURE, latest: pd.Timestamp = LATEST_CAPTURE
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Drop panoramas without time or position, with a time outside [`earliest`, `latest`) (the
    year 0001 or 9999 of a reset clock) and repeated ids, normalise headings."""
    crs = frame.crs
    geoms = frame.geometry.to_numpy()
    no_position = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    no_time = frame["captured_at"].isna().to_numpy() if "captured_at" in frame else np.ones(len(frame), bool)
    odd_time = _outside(frame, earliest, latest) & ~no_time & ~no_position
    ids = frame["panorama_id"]
    repeated = _repeated(ids.to_numpy(), frame.get("captured_at"),
                         ~no_position & ~no_time & ~odd_time)
    issues = concat_issues(
        [
            qa_issues(layer="panoramas", feature_ids=ids[no_position], check="missing_position", severity="warning",
                      messages="dropped: the panorama has no position", crs=crs),
            qa_issues(layer="panoramas", feature_ids=ids[no_time & ~no_position], check="missing_time",
                      severity="warning", messages="dropped: the panorama has no capture time",
                      geometry=geoms[no_time & ~no_position], crs=crs),
            qa_issues(layer="panoramas", feature_ids=ids[repeated], check="duplicate_image", severity="warning",
                      messages="dropped: same image id as a panorama captured earlier", geometry=geoms[repeated], crs=crs),
            _odd_time_issues(frame, odd_time, earliest, latest),
        ],
        crs,
    )
    out = frame.loc[~(no_position | no_time | odd_time | repeated)].copy()
    if "heading_deg" in out:
        out["heading_deg"] = normalise_headings(out["heading_deg"])
    return out, issues


def _outside(frame: pd.DataFrame, earliest: pd.Timestamp, latest: pd.Timestamp) -> np.ndarray:
    """Where ``captured_at`` lies before `earliest` or from `latest` on (compared in ms, not ns: the
    year 9999 fits)."""
    if "captured_at" not in frame:
        return np.zeros(len(frame), bool)
    values = frame["captured_at"].to_numpy(dtype="datetime64[ms]")
    low, high = np.datetime64(earliest.tz_localize(None), "ms"), np.datetime64(latest.tz_localize(None), "ms")
    with np.errstate(invalid="ignore"):
        return ~np.isnat(values) & ((values < low) | (values >= high))


def _odd_time_issues(frame: gpd.GeoDataFrame, odd: np.ndarray, earliest: pd.Timestamp,
                     latest: pd.Timestamp) -> gpd.GeoDataFrame:
    written = pd.Series(frame["captured_at"].to_numpy(dtype="datetime64[ms]")[odd]).astype("str")
    return qa_issues(layer="panoramas", feature_ids=frame["panorama_id"][odd], check="time_out_of_range",
                     severity="warning",
                     messages=("dropped: capture time " + written + f" lies outside {earliest:%Y}–{latest:%Y}; "
                               "set the camera clock or correct the row").tolist(),
                     geometry=frame.geometry.to_numpy()[odd], crs=frame.crs)


def _repeated(ids: np.ndarray, times: pd.Series | None, valid: np.ndarray) -> np.ndarray:
    """Valid pictures whose id an earlier capture of a valid picture has (the earliest one is kept)."""
    rows = np.flatnonzero(valid)
    if times is not None:
        rows = rows[np.argsort(times.to_numpy(dtype="datetime64[ms]")[rows], kind="stable")]
    out = np.zeros(len(ids), bool)
    out[rows[pd.Series(ids[rows]).duplicated().to_numpy()]] = True
    return out


def positioned(panoramas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The panoramas whose position counts: all but those flagged ``gnss_jump`` (off the drive).

    Tracks, coverage and building counts use these; ``panoramas`` keeps every one.
    """
    if "gnss_jump" not in panoramas:
        return panoramas
    return panoramas.loc[~panoramas["gnss_jump"].fillna(False).to_numpy(dtype=bool)]


def assign_sequences(frame: gpd.GeoDataFrame, *, max_gap_s: float = MAX_GAP_S) -> gpd.GeoDataFrame:
    """Return a copy with ``sequence_id``: a new sequence after every pause longer than `max_gap_s`.

    Sequences are named after their UTC start, ``"2023-05-16T08:12:03Z"``.
    """
    out = frame.copy()
    order = out["captured_at"].sort_values(kind="stable")
    gap = order.diff().dt.total_seconds().to_numpy()
    start = np.r_[True, gap[1:] > max_gap_s] if len(order) else np.array([], bool)
    first = order.where(pd.Series(start, index=order.index)).ffill()
    out["sequence_id"] = first.reindex(out.index).dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("str")
    return out


def derive_headings(panoramas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy in which panoramas without a heading get the bearing along their sequence.

    The bearing is the grid bearing to the next panorama of the same sequence
    (for the last one, from the one before), as mapillary_tools and Panoramax
    fall back to; it is marked ``heading_source = "derived"``, never passed off
    as measured. A heading the input gave keeps its source, ``"source"`` where
    the reader named none. A panorama alone in its sequence, or at the same
    place as its neighbours, keeps no heading; neither does a position flagged ``gnss_jump``, which is
    left out of the bearings of its neighbours too.

    >>> frame = gpd.GeoDataFrame({"sequence_id": ["s", "s"], "captured_at": [1, 2], "heading_deg": [np.nan, 10.0]},
    ...                          geometry=shapely.points([0, 0], [0, 5]), crs="EPSG:25832")
    >>> derive_headings(frame)[["heading_deg", "heading_source"]].values.tolist()
    [[0.0, 'derived'], [10.0, 'source']]
    """
    out = panoramas.copy()
    heading = out["heading_deg"].astype("float64") if "heading_deg" in out else pd.Series(np.nan, index=out.index)
    given = out["heading_source"] if "heading_source" in out else pd.Series(None, index=out.index, dtype="object")
    source = given.where(given.notna() | heading.isna(), "source").where(heading.notna(), None)
    keys = [c for c in ("sequence_id", "captured_at") if c in out]
    steady = positioned(out)  # a position flagged gnss_jump gives no bearing, and gets none
    ordered = steady.sort_values(keys, kind="stable") if keys else steady
    xy = shapely.get_coordinates(ordered.geometry.to_numpy())
    if len(xy) != len(ordered):  # a panorama without a point: nothing to derive from
        out["heading_deg"], out["heading_source"] = heading, source.astype("object")
        return out
    seq = ordered["sequence_id"].to_numpy() if "sequence_id" in ordered else np.zeros(len(ordered))
    step = np.diff(xy, axis=0)
    same = seq[1:] == seq[:-1]
    forward = np.full((len(xy), 2), np.nan)
    forward[:-1][same] = step[same]
    backward = np.full((len(xy), 2), np.nan)
    backward[1:][same] = step[same]
    use = np.where(np.isnan(forward[:, :1]) | (np.hypot(*forward.T)[:, None] == 0), backward, forward)
    moved = np.hypot(*use.T) > 0
    bearing = np.where(moved, np.degrees(np.arctan2(use[:, 0], use[:, 1])) % 360.0, np.nan)
    derived = pd.Series(bearing, index=ordered.index).reindex(out.index)
    fill = heading.isna() & derived.notna()
    out["heading_deg"] = heading.where(~fill, derived.round(6) % 360.0)
    out["heading_source"] = source.where(~fill, "derived").astype("object")
    return out


def capture_tracks(panoramas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One line per sequence through its panoramas in time order (flagged GNSS jumps left out)."""
    ordered = positioned(panoramas).sort_values(["sequence_id", "captured_at"], kind="stable")
    xy = shapely.get_coordinates(ordered.geometry.to_numpy())
    seq = ordered["sequence_id"].to_numpy()
    same = np.r_[False, seq[1:] == seq[:-1]]
    step = np.where(same, np.hypot(*np.diff(xy, axis=0, prepend=xy[:1]).T), 0.0)
    groups = pd.DataFrame({"sequence_id": seq, "step": step, "at": ordered["captured_at"].array})
    stats = groups.groupby("sequence_id", sort=True).agg(
        started_at=("at", "min"), ended_at=("at", "max"), image_count=("at", "size"),
        length_m=("step", "sum"), max_gap_m=("step", "max"),
    )
    _, index = np.unique(seq, return_inverse=True)
    multi = stats["image_count"].to_numpy() >= 2
    lines = np.full(len(stats), None, dtype=object)
    rows = multi[index] if len(xy) else np.zeros(0, bool)
    if rows.any():
        _, dense = np.unique(index[rows], return_inverse=True)
        lines[multi] = shapely.linestrings(xy[rows], indices=dense)
    out = gpd.GeoDataFrame(stats.reset_index(), geometry=gpd.GeoSeries(lines, crs=panoramas.crs))
    out["length_m"] = out["length_m"].round(2)
    out["max_gap_m"] = out["max_gap_m"].round(2)
    return out


def capture_coverage(panoramas: gpd.GeoDataFrame, *, radius_m: float = COVERAGE_RADIUS_M) -> gpd.GeoDataFrame:
    """Street space seen per capture day: everything within `radius_m` of the drive.

    Consecutive panoramas of a sequence closer than twice the radius are
    joined into one line, so each continuous stretch of driving is buffered
    once (fast, and it contains every panorama's disc); isolated panoramas
    are buffered as points. The pieces are united per UTC capture day.
    Panoramas flagged ``gnss_jump`` are left out.
    """
    panoramas = positioned(panoramas)
    if panoramas.empty:
        return gpd.GeoDataFrame({"capture_date": pd.Series([], dtype="str"), "area_m2": pd.Series([], dtype="float64")},
                                geometry=gpd.GeoSeries([], crs=panoramas.crs), crs=panoramas.crs)
    keys = [c for c in ("sequence_id", "captured_at") if c in panoramas]
    ordered = panoramas.sort_values(keys, kind="stable")
    xy = shapely.get_coordinates(ordered.geometry.to_numpy())
    # no sequence (NaN, equal to nothing) is one group, not one per panorama
    seq = ordered["sequence_id"].astype("string").fillna("").to_numpy(dtype=object) if "sequence_id" in ordered \
        else np.zeros(len(ordered), str)
    step = np.hypot(*np.diff(xy, axis=0, prepend=xy[:1]).T)
    new_run = np.r_[True, (seq[1:] != seq[:-1]) | (step[1:] > 2 * radius_m)]
    run = np.cumsum(new_run) - 1
    size = np.bincount(run)
    first = np.flatnonzero(new_run)
    pieces = np.empty(len(size), dtype=object)
    long_run = size[run] >= 2
    if long_run.any():
        _, inverse = np.unique(run[long_run], return_inverse=True)
        pieces[size >= 2] = shapely.linestrings(xy[long_run], indices=inverse)
    pieces[size == 1] = shapely.points(xy[first[size == 1]])
    day = ordered["captured_at"].dt.strftime("%Y-%m-%d").to_numpy()[first]
    buffers = gpd.GeoDataFrame({"capture_date": day}, geometry=shapely.buffer(pieces, radius_m, quad_segs=8),
                               crs=panoramas.crs)
    out = buffers.dissolve("capture_date", as_index=False)
    out["area_m2"] = out.area.round(1)
    return out


def buildings_with_panoramas(
    buildings: gpd.GeoDataFrame,
    panoramas: gpd.GeoDataFrame,
    *,
    distance_m: float = BUILDING_VIEW_DISTANCE_M,
    fov_deg: float = BUILDING_VIEW_FOV_DEG,
) -> gpd.GeoDataFrame:
    """Return a copy of `buildings` with ``panorama_count`` and ``last_captured_at`` (see :func:`panorama_links`)."""
    return panorama_links(buildings, panoramas, distance_m=distance_m, fov_deg=fov_deg)[0]


def panorama_links(
    buildings: gpd.GeoDataFrame,
    panoramas: gpd.GeoDataFrame,
    *,
    distance_m: float = BUILDING_VIEW_DISTANCE_M,
    fov_deg: float = BUILDING_VIEW_FOV_DEG,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Which panorama sees which building: the buildings with their counts, and one row per pair.

    A panorama sees a building within `distance_m` when the bearing from
    the panorama to the building's nearest point lies within `fov_deg` / 2 of
    its heading; with ``fov_deg >= 360`` or no heading (a full 360° panorama
    sees all around) every panorama within distance sees it. Panoramas flagged
    ``gnss_jump`` see nothing.

    Returns
    -------
    tuple of GeoDataFrame and DataFrame
        A copy of `buildings` with ``panorama_count`` (the number of its pairs) and
        ``last_captured_at`` (its newest panorama); and the pairs, ``panorama_views``:
        ``panorama_id``, ``building_id``, ``distance_m`` (from the panorama to the
        building's nearest point) and ``bearing_deg`` (grid bearing of that point from the
        panorama, clockwise from grid north in [0, 360); empty for a panorama inside
        the footprint, where there is no direction), ordered by building and panorama.

    Examples
    --------
    >>> house = gpd.GeoDataFrame({"building_id": ["h"]}, geometry=[shapely.box(10, -5, 20, 5)], crs="EPSG:25832")
    >>> pictures = gpd.GeoDataFrame({"panorama_id": ["p"], "captured_at": pd.to_datetime(["2023-05-02T10:00Z"])},
    ...     geometry=[shapely.Point(0, 0)], crs="EPSG:25832")
    >>> counted, views = panorama_links(house, pictures)
    >>> counted["panorama_count"].tolist(), views[["panorama_id", "distance_m", "bearing_deg"]].values.tolist()
    ([1], [['p', 10.0, 90.0]])
    """
    require_same_crs(buildings, panoramas, names=("buildings", "panoramas"))
    panoramas = positioned(panoramas)
    out = buildings.copy(deep=False)  # copy-on-write: the new columns only
    tree = shapely.STRtree(panoramas.geometry.to_numpy())
    b_idx, p_idx = parallel.query(tree, buildings.geometry.to_numpy(), predicate="dwithin", distance=distance_m)
    dx, dy = _towards(buildings, panoramas, b_idx, p_idx)
    if fov_deg < 360.0 and "heading_deg" in panoramas and len(b_idx):
        keep = _facing(panoramas, p_idx, dx, dy, fov_deg)
        b_idx, p_idx, dx, dy = b_idx[keep], p_idx[keep], dx[keep], dy[keep]
    out["panorama_count"] = pd.array(np.bincount(b_idx, minlength=len(out)).astype("int32"), dtype="Int32")
    out["last_captured_at"] = _newest(panoramas["captured_at"], b_idx, p_idx, len(out)).array
    distance = np.hypot(dx, dy)
    bearing = np.where(distance > 0.0, np.degrees(np.arctan2(dx, dy)) % 360.0, np.nan)
    del dx, dy
    # ordered by building, then panorama: by the ids' ranks (integers), not by millions of pairs of texts;
    # the ids stay in Arrow (four million of them as Python strings would take about 300 MB more)
    b_ids, p_ids = arrow_text(buildings["building_id"]), arrow_text(panoramas["panorama_id"])
    order = np.lexsort((_ranks(p_ids)[p_idx], _ranks(b_ids)[b_idx]))
    b_idx, p_idx, distance, bearing = b_idx[order], p_idx[order], distance[order], bearing[order]
    del order
    views = pd.DataFrame({
        "panorama_id": text_series(p_ids.take(pa.array(p_idx))),
        "building_id": text_series(b_ids.take(pa.array(b_idx))),
        "distance_m": distance.round(2),
        "bearing_deg": np.round(bearing, 1) % 360.0,
    })
    return out, views


def _newest(times: pd.Series, rows: np.ndarray, of: np.ndarray, n: int) -> pd.Series:
    """For each row 0 … n-1, the newest of ``times[of]`` over its pairs (`rows`, `of`); NaT where it has none."""
    stamps = times.astype("datetime64[ms, UTC]").array.asi8
    newest = np.full(n, np.iinfo(np.int64).min)  # the integer of NaT, smaller than every time
    np.maximum.at(newest, rows, stamps[of])
    return pd.Series(newest.view("M8[ms]")).dt.tz_localize("UTC")


def _ranks(texts: pa.Array) -> np.ndarray:
    """Each text's place in the sorted distinct texts (equal texts, equal places)."""
    return np.asarray(pc.rank(texts, sort_keys="ascending", tiebreaker="dense"))


#: Building-panorama pairs whose connecting lines are made at a time.
PAIR_BLOCK = 250_000


def _towards(
    buildings: gpd.GeoDataFrame, panoramas: gpd.GeoDataFrame, b_idx: np.ndarray, p_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The step (dx, dy) from each panorama to the nearest point of its building (0, 0 inside it).

    Computed :data:`PAIR_BLOCK` pairs at a time: the connecting lines of millions of pairs would take
    gigabytes, their steps take 16 bytes a pair.
    """
    step = np.zeros((len(b_idx), 2))
    points, shapes = panoramas.geometry.to_numpy(), buildings.geometry.to_numpy()

    def steps(rows: np.ndarray) -> np.ndarray:
        xy = shapely.get_coordinates(shapely.shortest_line(points[p_idx[rows]], shapes[b_idx[rows]])).reshape(-1, 2, 2)
        return xy[:, 1, :] - xy[:, 0, :]

    for start in range(0, len(b_idx), PAIR_BLOCK):
        rows = np.arange(start, min(start + PAIR_BLOCK, len(b_idx)))
        step[rows] = parallel.elementwise(steps, rows)
    return step[:, 0], step[:, 1]


def _facing(panoramas: gpd.GeoDataFrame, p_idx: np.ndarray, dx: np.ndarray, dy: np.ndarray, fov_deg: float) -> np.ndarray:
    """Which (building, panorama) pairs have the building within the view cone."""
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    heading = panoramas["heading_deg"].to_numpy(dtype="float64")[p_idx]
    rel = np.abs((bearing - heading + 180.0) % 360.0 - 180.0)
    inside = np.hypot(dx, dy) == 0.0
    return np.asarray(np.isnan(heading) | inside | (rel <= fov_deg / 2.0))
