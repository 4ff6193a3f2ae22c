"""Capture QA on crafted drives: jumps, duplicates, gaps, null island, headings."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from twin.config import PanoramasConfig
from twin.sources import PANORAMA_READERS
from twin.transforms.capture import buildings_with_panoramas, capture_coverage, capture_tracks, normalise_headings
from twin.transforms.capture_qa import check_capture, split_sequences
from twin.transforms.coverage import street_coverage

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


def city_drive(kmh: float, n: int = 12, *, turn_at: int | None = None) -> gpd.GeoDataFrame:
    """One picture a second at `kmh` eastwards along y = Y0; from picture `turn_at` on northwards (a corner)."""
    step = kmh / 3.6
    k = np.arange(n, dtype=float)
    x, y = k * step, np.zeros(n)
    if turn_at is not None:
        x, y = np.minimum(k, turn_at) * step, np.maximum(k - turn_at, 0) * step
    frame = drive(list(x), list(k))
    frame["geometry"] = shapely.points(X0 + x, Y0 + y)
    return frame


@pytest.mark.parametrize("kmh", [30.0, 40.0, 50.0])
@pytest.mark.parametrize(("jump_m", "angle_deg"), [(10.0, 90.0), (12.5, -90.0), (15.0, 60.0)])
def test_gnss_jump_off_the_street_at_city_speed_is_flagged_and_kept(kmh: float, jump_m: float, angle_deg: float) -> None:
    frame = city_drive(kmh)
    angle = np.radians(angle_deg)
    frame.loc[16, "geometry"] = shapely.Point(X0 + 6 * kmh / 3.6 + jump_m * np.cos(angle), Y0 + jump_m * np.sin(angle))
    kept, issues = check_capture(frame)  # well under 400 km/h: the speed check does not see it
    assert len(kept) == len(frame)
    assert kept.index.equals(frame.index)
    assert kept.loc[kept["gnss_jump"].to_numpy(dtype=bool), "panorama_id"].tolist() == ["p6"]
    assert issues["check"].tolist() == ["gnss_jump"] and issues["feature_id"].tolist() == ["p6"]
    off = jump_m * abs(np.sin(angle))
    assert f"position {off:.1f} m off the line through its neighbours" in issues["message"].iloc[0]
    assert issues["severity"].tolist() == ["warning"]


@pytest.mark.parametrize("kmh", [15.0, 30.0, 50.0])
def test_a_real_turn_at_a_corner_is_no_jump(kmh: float) -> None:
    for corner in (1, 2, 5, 10):
        kept, issues = check_capture(city_drive(kmh, turn_at=corner))
        assert issues.empty, (kmh, corner, issues["message"].tolist())
        assert not kept["gnss_jump"].any()


def test_bends_u_turns_and_noise_are_no_jumps() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(40, dtype=float)
    bend = city_drive(40.0, n=40)  # a bend of 60 m radius at 40 km/h, then along a street with 1 m GNSS noise
    theta = t * (40 / 3.6) / 60.0
    bend["geometry"] = shapely.points(X0 + 60 * np.sin(theta) + rng.normal(0, 1, 40), Y0 + 60 * (1 - np.cos(theta)))
    assert check_capture(bend)[1].empty
    u_turn = city_drive(15.0, n=9)  # out and back on the other lane, 4 m beside
    xy = [(0, 0), (4, 0), (8, 0), (12, 0), (14, 2), (12, 4), (8, 4), (4, 4), (0, 4)]
    u_turn["geometry"] = shapely.points(np.add([p[0] for p in xy], X0), np.add([p[1] for p in xy], Y0))
    assert check_capture(u_turn)[1].empty


def test_deviation_threshold_is_configurable_and_only_the_jump_is_flagged() -> None:
    frame = city_drive(40.0, n=8)
    frame.loc[11, "geometry"] = shapely.Point(X0 + 40 / 3.6, Y0 + 20.0)  # at the sequence's second picture
    frame.loc[15, "geometry"] = shapely.Point(X0 + 5 * 40 / 3.6, Y0 - 6.0)
    _, issues = check_capture(frame)
    assert issues["feature_id"].tolist() == ["p1"]  # p2, measured against p1's line, is not flagged
    _, issues = check_capture(frame, max_deviation_m=5.0)
    assert issues["feature_id"].tolist() == ["p1", "p5"]


def test_flagged_jump_is_left_out_of_tracks_coverage_and_counts() -> None:
    frame = city_drive(36.0, n=7)  # 10 m a second
    frame.loc[13, "geometry"] = shapely.Point(X0 + 30, Y0 + 14.0)
    kept, _ = check_capture(frame)
    panoramas = split_sequences(kept)
    assert panoramas["gnss_jump"].tolist() == [False, False, False, True, False, False, False]
    track = capture_tracks(panoramas)
    assert track["image_count"].tolist() == [6]
    assert track["length_m"].tolist() == [60.0]
    assert shapely.get_coordinates(track.geometry.iloc[0])[:, 1].max() == Y0
    coverage = capture_coverage(panoramas, radius_m=5.0)
    assert not coverage.geometry.iloc[0].intersects(shapely.Point(X0 + 30, Y0 + 14.0).buffer(1.0))
    house = gpd.GeoDataFrame({"building_id": ["b"]}, geometry=[shapely.box(X0 + 25, Y0 + 16, X0 + 35, Y0 + 26)], crs=CRS)
    counted = buildings_with_panoramas(house, panoramas, distance_m=5.0)
    assert counted["panorama_count"].tolist() == [0]
    street = gpd.GeoDataFrame({"street_id": ["s"]}, geometry=[shapely.LineString([(X0 + 20, Y0 + 14), (X0 + 40, Y0 + 14)])],
                              crs=CRS)
    assert street_coverage(street, panoramas, radius_m=5.0)["covered_share"].tolist() == [0.0]


def _pictures_along_street(n: int, pause_after: int) -> tuple[list[float], list[float], list[str]]:
    """Longitudes, latitudes and UTC times of `n` pictures 1 s and about 7 m apart, with a pause of 5 min."""
    start = pd.Timestamp("2024-04-03T09:00:00Z")
    times = [start + pd.Timedelta(seconds=k + (300 if k >= pause_after else 0)) for k in range(n)]
    return [7.7689 + 1e-4 * k for k in range(n)], [49.4447] * n, [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]


def _tracks_of(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    kept, _ = check_capture(frame)
    return capture_tracks(split_sequences(kept))


def test_json_pictures_without_sequence_are_cut_by_time_not_one_track_each(tmp_path: Path) -> None:
    lon, lat, times = _pictures_along_street(9, pause_after=6)
    items = [{"id": str(k), "captured_at": times[k], "geometry": {"type": "Point", "coordinates": [lon[k], lat[k]]}}
             for k in range(9)]
    path = tmp_path / "pictures.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    frame = PANORAMA_READERS["json"](PanoramasConfig(path=path, format="json"), target_crs=CRS)
    tracks = _tracks_of(frame)
    assert tracks["image_count"].tolist() == [6, 3]
    assert tracks["sequence_id"].tolist() == ["2024-04-03T09:00:00Z", "2024-04-03T09:05:06Z"]
    assert tracks.geometry.notna().all()


def test_csv_rows_without_sequence_form_tracks_beside_the_named_ones(tmp_path: Path) -> None:
    lon, lat, times = _pictures_along_street(8, pause_after=8)
    sequence = ["A", "A", "A", "A", "", "", "", ""]
    rows = "\n".join(f"{k}.jpg,{times[k]},{lon[k]},{lat[k]},{sequence[k]}" for k in range(8))
    path = tmp_path / "capture.csv"
    path.write_text(f"Name,Time,Lon,Lat,Drive\n{rows}\n", encoding="utf-8")
    frame = PANORAMA_READERS["csv"](PanoramasConfig(
        path=path, format="csv", crs="EPSG:4326",
        columns={"image_name": "Name", "captured_at": "Time", "x": "Lon", "y": "Lat", "sequence_id": "Drive"}),
        target_crs=CRS)
    tracks = _tracks_of(frame)
    assert dict(zip(tracks["sequence_id"], tracks["image_count"], strict=True)) == {
        "2024-04-03T09:00:04Z": 4, "A/2024-04-03T09:00:00Z": 4}


def test_jumps_in_a_noisy_drive_are_all_caught_and_nothing_else() -> None:
    rng = np.random.default_rng(16)
    n = 1000
    frame = city_drive(40.0, n=n)  # 11 m a picture, with 0.8 m GNSS noise each way
    k = np.arange(n)
    x = X0 + k * 40 / 3.6 + rng.normal(0, 0.8, n)
    y = Y0 + rng.normal(0, 0.8, n)
    jumps = np.arange(10, n - 10, 20)
    y[jumps] += rng.choice([-1.0, 1.0], len(jumps)) * rng.uniform(10.0, 15.0, len(jumps))
    frame["geometry"] = shapely.points(x, y)
    kept, issues = check_capture(frame)
    assert sorted(issues["feature_id"], key=lambda i: int(i[1:])) == [f"p{j}" for j in jumps]
    assert int(kept["gnss_jump"].sum()) == len(jumps)
