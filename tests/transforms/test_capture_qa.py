"""Capture QA on crafted drives: jumps, duplicates, gaps, null island, headings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given
from hypothesis import strategies as st

from twin.transforms.capture import buildings_with_panoramas, capture_tracks, normalise_headings
from twin.transforms.capture_qa import check_capture, split_sequences

CRS = "EPSG:25832"
X0, Y0 = 410_000.0, 5_477_000.0


def drive(xs: list[float], seconds: list[float], headings: list[float] | None = None) -> gpd.GeoDataFrame:
    """Pictures along y = Y0 at x = X0 + xs, taken `seconds` after 08:00 UTC."""
    n = len(xs)
    return gpd.GeoDataFrame(
        {"panorama_id": [f"p{i}" for i in range(n)], "image_name": [f"p{i}.jpg" for i in range(n)],
         "captured_at": pd.Timestamp("2023-05-16T08:00:00Z") + pd.to_timedelta(seconds, unit="s"),
         "heading_deg": headings if headings is not None else [90.0] * n},
        geometry=shapely.points(np.add(xs, X0), np.full(n, Y0)), crs=CRS, index=pd.RangeIndex(10, 10 + n),
    )


def test_gnss_jump_is_dropped_without_splitting() -> None:
    frame = drive([0, 10, 20, 2000, 40, 50], [0, 1, 2, 3, 4, 5])
    kept, issues = check_capture(frame)
    assert kept["panorama_id"].tolist() == ["p0", "p1", "p2", "p4", "p5"]
    assert issues["check"].tolist() == ["gnss_jump"] and issues["feature_id"].tolist() == ["p3"]
    sequences = split_sequences(kept)
    assert set(sequences["sequence_id"]) == {"2023-05-16T08:00:00Z"}


def test_lower_speed_cap_for_city_streets() -> None:
    frame = drive([0, 10, 80, 30], [0, 1, 2, 3])  # 70 m in 1 s = 252 km/h
    assert check_capture(frame)[1].empty
    _, issues = check_capture(frame, max_speed_kmh=120)
    assert issues["feature_id"].tolist() == ["p2"]


def test_duplicates_by_place_and_heading_and_by_name() -> None:
    frame = drive([0, 0.05, 0.08, 10, 20], [0, 1, 2, 3, 4], headings=[90, 92, 180, 90, 90])
    frame.loc[14, "image_name"] = "p3.jpg"
    kept, issues = check_capture(frame)
    # p1 is 5 cm from p0 and turned 2°; p2 is close but turned 88°: a new view
    assert kept["panorama_id"].tolist() == ["p0", "p2", "p3"]
    assert sorted(issues["feature_id"]) == ["p1", "p4"]
    assert set(issues["check"]) == {"duplicate_image"}


def test_sequences_cut_at_time_gap_and_distance_jump() -> None:
    frame = drive([0, 10, 20, 30, 1000, 1010], [0, 1, 2, 300, 400, 401])
    out = split_sequences(frame, cut_time_s=60, cut_distance_m=600)
    assert out.index.equals(frame.index)
    assert out["sequence_id"].tolist() == [
        "2023-05-16T08:00:00Z"] * 3 + ["2023-05-16T08:05:00Z", "2023-05-16T08:06:40Z", "2023-05-16T08:06:40Z"]
    tracks = capture_tracks(out)
    assert tracks["image_count"].tolist() == [3, 1, 2]


def test_null_island_boundary_and_accuracy() -> None:
    frame = drive([0, 10, 20, 30], [0, 1, 2, 3])
    zero = gpd.GeoSeries.from_xy([0.0], [0.0], crs="EPSG:4326").to_crs(CRS).iloc[0]
    frame.loc[11, "geometry"] = zero
    frame["gnss_accuracy_m"] = [0.5, 0.5, 0.5, 8.0]
    area = shapely.box(X0 - 5, Y0 - 5, X0 + 15, Y0 + 5) | shapely.box(X0 + 25, Y0 - 5, X0 + 35, Y0 + 5)
    kept, issues = check_capture(frame, boundary=area, max_accuracy_m=2.0)
    assert kept["panorama_id"].tolist() == ["p0"]
    assert dict(zip(issues["feature_id"], issues["check"], strict=True)) == {
        "p1": "null_island", "p2": "outside_boundary", "p3": "poor_accuracy"}


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_headings_normalised_into_0_360(value: float) -> None:
    got = normalise_headings(pd.Series([value])).iloc[0]
    assert 0.0 <= got < 360.0
    assert abs(((got - value) + 180.0) % 360.0 - 180.0) < 1e-5


def test_panorama_count_respects_field_of_view() -> None:
    building = gpd.GeoDataFrame({"building_id": ["b"]}, geometry=[shapely.box(X0 + 5, Y0 - 5, X0 + 15, Y0 + 5)],
                                crs=CRS, index=[7])
    pics = drive([0, -2, -4], [0, 1, 2], headings=[90.0, 270.0, float("nan")])  # east, west, unknown
    all_around = buildings_with_panoramas(building, pics)
    facing = buildings_with_panoramas(building, pics, fov_deg=120.0)
    assert all_around["panorama_count"].tolist() == [3]
    assert facing["panorama_count"].tolist() == [2]
    assert facing.index.tolist() == [7]
    assert facing["last_captured_at"].iloc[0] == pd.Timestamp("2023-05-16T08:00:02Z")
