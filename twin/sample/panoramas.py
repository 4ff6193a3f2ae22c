"""Panorama drives: a serpentine through the grid, one picture every 5 m, three days (of at most 10 hours each;
a longer drive goes on a week later)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from twin.sample.city import City
from twin.sample.ids import base34
from twin.sources.headings import true_headings

SPACING_M = 5.0
SPEED_MS = 30 / 3.6
DAYS = ("2021-06-10T07:42:10", "2023-05-16T08:05:31", "2023-05-17T12:30:02")
#: Hours a car drives a day; a longer drive (a large region) goes on a week later, so no two drives overlap in time.
SHIFT_H = 10


def drive_line(city: City) -> shapely.LineString:
    """A serpentine along the row streets, joined by the outer column streets."""
    xs, ys = city.xs, city.ys
    points = []
    for j, y in enumerate(ys):
        row = [(xs[0], y), (xs[-1], y)]
        points.extend(row if j % 2 == 0 else row[::-1])
    return shapely.LineString(points)


def make_panoramas(rng: np.random.Generator, city: City, *, count: int) -> pd.DataFrame:
    """Panorama rows in EPSG:25832 (x, y, z) with time, heading, precision, id; defects included."""
    line = drive_line(city)
    count = min(count, int(line.length // SPACING_M))
    distance = np.arange(count) * SPACING_M
    points = shapely.line_interpolate_point(line, distance)
    ahead = shapely.line_interpolate_point(line, distance + 1.0)
    xy = shapely.get_coordinates(points)
    dxy = shapely.get_coordinates(ahead) - xy
    # along the street on the map, written from true north as a vehicle's GNSS/IMU gives it
    heading = true_headings(np.degrees(np.arctan2(dxy[:, 0], dxy[:, 1])) % 360, xy[:, 0], xy[:, 1], "EPSG:25832").round(2)
    xy = xy + rng.normal(0, 0.05, xy.shape) + np.array([0.0, -2.0])  # right-hand lane
    sequence = np.minimum(np.arange(count) * len(DAYS) // max(count, 1), len(DAYS) - 1)
    first = np.searchsorted(sequence, np.arange(len(DAYS)))
    step = np.arange(count) - first[sequence]
    start = pd.to_datetime(np.array(DAYS)[sequence], utc=True)
    seconds = step * SPACING_M / SPEED_MS
    shift, within = np.divmod(seconds, SHIFT_H * 3600.0)
    when = start + pd.to_timedelta(shift * 7 * 86400 + within + rng.uniform(0, 0.05, count), unit="s")
    frame = pd.DataFrame({
        "imageId": image_ids(rng, count), "recordedAt": when, "x": xy[:, 0], "y": xy[:, 1],
        **instrument_columns(rng, xy, heading, ground_m=280.0, relief_m=6.0),
    })
    return with_defects(rng, frame)


def image_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct 8-character image ids as the vendor writes them."""
    return base34(rng.choice(34**8 - 1, size=n, replace=False) if n < 10_000 else _unique(rng, n), 8)


def _unique(rng: np.random.Generator, n: int) -> np.ndarray:
    values = np.unique(rng.integers(0, 34**8, size=int(n * 1.1) + 10))
    return rng.permutation(values)[:n]


def with_defects(rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with the faults real exports have: wrapped headings, poor fixes, a GNSS jump, duplicates."""
    n = len(frame)
    out = frame.copy()
    # headings slightly outside [0, 360) as some exports write them
    wrap = rng.choice(n, size=max(2, n // 200), replace=False)
    out.loc[wrap, "orientation"] = out.loc[wrap, "orientation"] + np.where(out.loc[wrap, "orientation"] < 180, 360, -360)
    worse = rng.choice(n, size=max(2, n // 300), replace=False)
    out.loc[worse, ["latitudePrecision", "longitudePrecision"]] = rng.uniform(1.2, 3.0, (len(worse), 2)).round(3)
    jump = n // 2
    out.loc[jump, ["x", "y"]] = out.loc[jump, ["x", "y"]].to_numpy() + np.array([240.0, 180.0])
    repeated = out.iloc[rng.choice(n, size=3, replace=False)]
    near = out.iloc[rng.choice(n, size=2, replace=False)].copy()
    near["imageId"] = [f"D{i:07d}" for i in range(len(near))]
    near["recordedAt"] = near["recordedAt"] + pd.Timedelta(milliseconds=300)
    out = pd.concat([out, repeated, near], ignore_index=True)
    return out.sort_values("recordedAt", kind="stable").reset_index(drop=True)


def instrument_columns(rng: np.random.Generator, xy: np.ndarray, heading: np.ndarray, *, ground_m: float,
                       relief_m: float) -> dict[str, np.ndarray]:
    """Camera height, heading, orientation and precisions of a recording export, for pictures at `xy`.

    The height follows a gentle relief of `relief_m` around `ground_m`; the rest is instrument noise.
    """
    count = len(xy)
    return {
        "Z": (ground_m + relief_m * np.sin(xy[:, 0] / 400) + rng.normal(0, 0.1, count)).round(3),
        "recorderDirection": heading, "orientation": (heading + rng.normal(0, 0.4, count)).round(2),
        "groundLevelOffset": rng.normal(2.5, 0.02, count).round(3),
        "latitudePrecision": rng.uniform(0.02, 0.3, count).round(3),
        "longitudePrecision": rng.uniform(0.02, 0.3, count).round(3),
        "heightPrecision": rng.uniform(0.03, 0.4, count).round(3),
    }
