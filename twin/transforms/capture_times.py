"""Plausibility of capture times: what a date filled in by mistake, or a wrong clock, looks like.

A capture after the run started cannot be; every capture on the very day of
the run suggests dates that were filled in rather than read; captures spread
over more than twenty years suggest a wrong clock or a mixed-up column. Each
finding is a ``qa_issues`` row; the run's start comes in as ``now`` (a
transform reads no clock).

>>> import geopandas as gpd, pandas as pd, shapely
>>> frame = gpd.GeoDataFrame({"panorama_id": ["a", "b"],
...     "captured_at": pd.to_datetime(["2026-12-06T08:00:00Z", "2026-12-06T08:00:02Z"])},
...     geometry=shapely.points([[0, 0], [1, 0]]), crs="EPSG:25832")
>>> implausible_capture_times(frame, now=pd.Timestamp("2026-12-06T22:00Z"))["check"].tolist()
['captured_on_run_day']
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.model.qa import concat_issues, qa_issues

__all__ = ["MAX_SPAN_YEARS", "implausible_capture_times"]

#: Captures spread over more years than this are reported.
MAX_SPAN_YEARS = 20.0
#: Captures later than the run's start by more than this are in the future (clock drift allowed).
FUTURE_TOLERANCE = pd.Timedelta(minutes=5)


def implausible_capture_times(
    panoramas: gpd.GeoDataFrame, *, now: dt.datetime | pd.Timestamp, max_span_years: float = MAX_SPAN_YEARS,
) -> gpd.GeoDataFrame:
    """QA rows for captures in the future, a whole capture dated the run's day, or a span over `max_span_years`."""
    crs = panoramas.crs
    times = pd.to_datetime(panoramas["captured_at"], utc=True) if len(panoramas) else pd.Series([], dtype=object)
    given = times.notna().to_numpy()
    if not given.any():
        return concat_issues([], crs)
    start = pd.Timestamp(now).tz_convert("UTC") if pd.Timestamp(now).tzinfo else pd.Timestamp(now).tz_localize("UTC")
    future = given & (times > start + FUTURE_TOLERANCE).to_numpy()
    found = [qa_issues(
        layer="panoramas", feature_ids=panoramas["panorama_id"].to_numpy()[future], check="captured_in_future",
        severity="error", geometry=panoramas.geometry.to_numpy()[future], crs=crs,
        messages=[f"captured at {t:%Y-%m-%d %H:%M:%S}Z, after the run started ({start:%Y-%m-%d %H:%M}Z): a wrong "
                  "clock or date column" for t in times[future]],
    )]
    days = times[given].dt.normalize().unique()
    if len(days) == 1 and days[0] == start.normalize() and given.sum() > 1:
        found.append(qa_issues(
            layer="panoramas", feature_ids=[""], check="captured_on_run_day", severity="warning", crs=crs,
            messages=f"all {int(given.sum())} pictures are dated the day of the run ({start:%Y-%m-%d}); check that "
                     "the dates come from the data (map the date column as captured_at)"))
    span = (times[given].max() - times[given].min()) / np.timedelta64(1, "D") / 365.25
    if span > max_span_years:
        found.append(qa_issues(
            layer="panoramas", feature_ids=[""], check="capture_span", severity="warning", crs=crs,
            messages=f"captures spread over {span:.0f} years ({times[given].min():%Y-%m-%d} to "
                     f"{times[given].max():%Y-%m-%d}); check the camera clock and the date column"))
    return concat_issues(found, crs)
