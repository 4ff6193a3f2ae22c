"""Street coverage of the panorama capture, and the comparison of two campaigns.

A campaign is a capture year (``"2021"``, ``"2023"``). A street segment is
covered by a campaign when at least `min_share` of its length lies within
`radius_m` of that campaign's panoramas.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin import parallel
from twin.model.frames import require_same_crs
from twin.model.qa import concat_issues, qa_issues
from twin.transforms.capture import COVERAGE_RADIUS_M, positioned

#: Share of a segment's length that must be seen for a campaign to cover it.
CAMPAIGN_MIN_SHARE = 0.5


#: Street segments are measured at points this far apart (m): the covered share is exact to about one step.
SAMPLE_STEP_M = 2.0


def campaigns_of(panoramas: gpd.GeoDataFrame) -> pd.Series:
    """The campaign (capture year, UTC) of each panorama, on its index."""
    return panoramas["captured_at"].dt.strftime("%Y").rename("campaign")


def street_coverage(
    streets: gpd.GeoDataFrame,
    panoramas: gpd.GeoDataFrame,
    *,
    radius_m: float = COVERAGE_RADIUS_M,
    min_share: float = CAMPAIGN_MIN_SHARE,
) -> gpd.GeoDataFrame:
    """Per street segment: covered share, last capture and covering campaigns.

    Parameters
    ----------
    streets
        Line layer with optional ``street_id`` and ``name``; MultiLineStrings are
        measured whole.
    panoramas
        Points with ``captured_at``, in the same CRS; those flagged ``gnss_jump`` are left out.
    radius_m
        Street space seen around a panorama (m).
    min_share
        Share of a segment a campaign must see to be listed in ``campaigns``.

    Returns
    -------
    GeoDataFrame
        On the streets' index: ``street_id``, ``name``, ``covered_share`` (0 to 1),
        ``last_captured_at``, ``campaigns`` (comma-separated years) and, per campaign,
        ``share_<year>`` (the share of the segment that campaign sees, 0 to 1).
    """
    require_same_crs(streets, panoramas, names=("streets", "panoramas"))
    panoramas = positioned(panoramas)
    lines = streets.geometry.to_numpy()
    campaign = campaigns_of(panoramas).to_numpy()
    points = panoramas.geometry.to_numpy()
    tree = shapely.STRtree(points)
    empty = np.empty((2, 0), dtype=np.int64)
    reach = parallel.query(tree, lines, predicate="dwithin", distance=radius_m) if len(points) else empty
    near = np.unique(reach[0])  # only segments with a panorama in reach are measured; the rest are not covered
    years = np.unique(campaign)
    seen, total = _seen_samples(lines, near, tree, np.searchsorted(years, campaign), len(years), radius_m=radius_m)

    def share(seen: np.ndarray) -> np.ndarray:
        return np.asarray(np.divide(seen, total, out=np.zeros(len(lines)), where=total > 0), dtype=float)

    shares = {year: share(seen[number]) for number, year in enumerate(years)}
    out = gpd.GeoDataFrame(index=streets.index, geometry=streets.geometry.copy(), crs=streets.crs)
    out["street_id"] = streets["street_id"].astype("str") if "street_id" in streets else streets.index.astype("str")
    out["name"] = streets["name"] if "name" in streets else pd.Series(None, index=streets.index, dtype="object")
    out["covered_share"] = share(seen[-1]).round(3)
    out["last_captured_at"] = _last_capture(reach, panoramas, len(lines), streets.index)
    table = pd.DataFrame({year: part >= min_share for year, part in shares.items()}, index=streets.index)
    out["campaigns"] = _join_years(table)
    for year, part in shares.items():  # one column per campaign (few), after the fixed ones
        out[f"share_{year}"] = part.round(3)
    return out


#: Sample points measured at a time (about 100 MB with their pairs): a region's millions never exist at once.
SAMPLE_CHUNK = 250_000


def _seen_samples(
    lines: np.ndarray, near: np.ndarray, tree: shapely.STRtree, year_of: np.ndarray, years: int, *, radius_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample points of each line in `near` seen by each campaign and by any (last row), and all sample points.

    `tree` holds the panoramas, `year_of` the campaign number of each. The lines are sampled in
    runs of about :data:`SAMPLE_CHUNK` points.
    """
    seen = np.zeros((years + 1, len(lines)))
    total = np.zeros(len(lines))
    counts = _sample_counts(lines[near], step_m=SAMPLE_STEP_M)
    points = np.cumsum(counts)
    edges = [0, *np.searchsorted(points, np.arange(SAMPLE_CHUNK, points[-1] if len(points) else 0, SAMPLE_CHUNK)),
             len(near)]
    for start, stop in itertools.pairwise(edges):
        chunk = near[start:stop]
        part, samples = _samples(lines[chunk], counts[start:stop])
        line_idx = chunk[part]
        sample_idx, point_idx = parallel.query(tree, samples, predicate="dwithin", distance=radius_m)
        total += np.bincount(line_idx, minlength=len(lines))
        for row, pairs in enumerate([*(year_of[point_idx] == year for year in range(years)), None]):
            hit = np.zeros(len(samples), dtype=bool)
            hit[sample_idx if pairs is None else sample_idx[pairs]] = True
            seen[row] += np.bincount(line_idx, weights=hit, minlength=len(lines))
    return seen, total


def _samples(lines: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`count` points along each line (at the middle of equal steps), with the line's position."""
    line_idx = np.repeat(np.arange(len(lines)), count)
    within = np.arange(len(line_idx)) - np.repeat(np.cumsum(count) - count, count)
    where = (within + 0.5) / np.repeat(count, count)
    return line_idx, shapely.line_interpolate_point(lines[line_idx], where, normalized=True)


def _sample_counts(lines: np.ndarray, *, step_m: float) -> np.ndarray:
    return np.maximum(np.ceil(shapely.length(lines) / step_m).astype(np.int64), 1)


def _last_capture(reach: np.ndarray, panoramas: gpd.GeoDataFrame, n: int, index: pd.Index) -> pd.Series:
    """The newest capture time of the panoramas within reach of each line (`reach`: line and panorama pairs)."""
    line_idx, point_idx = reach
    at = pd.Series(panoramas["captured_at"].array[point_idx]).groupby(line_idx).max()
    last = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ms, UTC]")
    last.iloc[at.index.to_numpy()] = at.array
    return pd.Series(last.array, index=index)


def _join_years(table: pd.DataFrame) -> pd.Series:
    if table.empty or not len(table.columns):
        return pd.Series("", index=table.index, dtype="object")
    joined = pd.Series("", index=table.index, dtype="object")
    for year in sorted(table.columns):
        joined = joined + np.where(table[year].to_numpy(), f"{year},", "")
    return joined.str.rstrip(",").astype("object")


def campaign_differences(
    coverage: gpd.GeoDataFrame, *, earlier: str | None = None, later: str | None = None
) -> gpd.GeoDataFrame:
    """QA rows for street segments covered by only one of two campaigns.

    `coverage` is the result of :func:`street_coverage`. Without `earlier` and
    `later` the two latest campaigns found are compared. Codes:
    ``not_recaptured`` (seen by `earlier`, not by `later`: the imagery there is
    outdated) and ``newly_captured`` (seen only by `later`), both ``info``.
    """
    padded = "," + coverage["campaigns"].fillna("").astype("str") + ","
    years = sorted(set(",".join(coverage["campaigns"].fillna("")).split(",")) - {""})
    if earlier is None or later is None:
        if len(years) < 2:
            return qa_issues(layer="street_coverage", feature_ids=[], check="not_recaptured", severity="info",
                             messages=[], crs=coverage.crs)
        earlier, later = years[-2], years[-1]
    has_earlier = padded.str.contains(f",{earlier},", regex=False).to_numpy(dtype=bool)
    has_later = padded.str.contains(f",{later},", regex=False).to_numpy(dtype=bool)
    frames = []
    for code, mask, text in (
        ("not_recaptured", has_earlier & ~has_later, f"captured in {earlier}, not in {later}"),
        ("newly_captured", has_later & ~has_earlier, f"captured in {later}, not in {earlier}"),
    ):
        frames.append(qa_issues(
            layer="street_coverage", feature_ids=coverage["street_id"][mask], check=code, severity="info",
            messages=text, geometry=coverage.geometry.to_numpy()[mask], crs=coverage.crs))
    return concat_issues(frames, coverage.crs)
