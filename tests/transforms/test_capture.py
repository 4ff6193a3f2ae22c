"""Headings along the sequence: derived where none was measured, and marked as derived."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from twin.transforms.capture import buildings_with_panoramas, derive_headings, panorama_links


def _frame(xy: list[tuple[float, float]], sequences: list[str], headings: list[float],
           sources: list[str | None] | None = None) -> gpd.GeoDataFrame:
    data: dict[str, object] = {
        "panorama_id": [f"p{i}" for i in range(len(xy))], "sequence_id": sequences,
        "captured_at": pd.Timestamp("2026-05-04T09:14:00Z") + pd.to_timedelta(np.arange(len(xy)), unit="s"),
        "heading_deg": headings}
    if sources is not None:
        data["heading_source"] = sources
    return gpd.GeoDataFrame(data, geometry=shapely.points(xy), crs="EPSG:25832", index=[10 + i for i in range(len(xy))])


def test_missing_headings_are_derived_within_their_sequence_and_marked() -> None:
    frame = _frame([(0, 0), (10, 0), (10, 10), (500, 500), (500, 500), (900, 900)],
                   ["a", "a", "a", "b", "b", "c"], [np.nan, np.nan, np.nan, np.nan, np.nan, np.nan])
    before = frame.copy()
    out = derive_headings(frame)
    # east, north, and the last of "a" keeps the step that led to it; "b" did not move; "c" is alone
    assert out["heading_deg"].iloc[:3].tolist() == [90.0, 0.0, 0.0]
    assert out["heading_source"].tolist() == ["derived"] * 3 + [None] * 3
    assert out["heading_deg"].iloc[3:].isna().all()
    assert out.index.tolist() == frame.index.tolist() and out.crs == frame.crs
    pd.testing.assert_frame_equal(frame, before)  # the input is not changed


def test_measured_headings_keep_their_value_and_source() -> None:
    frame = _frame([(0, 0), (0, 10), (0, 20)], ["a"] * 3, [45.0, np.nan, 200.0], ["image_direction", None, None])
    out = derive_headings(frame)
    assert out["heading_deg"].tolist() == [45.0, 0.0, 200.0]
    # a reader that gave a heading without naming where it came from: the input's heading column
    assert out["heading_source"].tolist() == ["image_direction", "derived", "source"]


@given(st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)), min_size=2, max_size=8, unique=True))
def test_a_derived_heading_points_to_the_next_panorama(points: list[tuple[float, float]]) -> None:
    out = derive_headings(_frame(points, ["s"] * len(points), [np.nan] * len(points)))
    xy = np.array(points)
    for i in range(len(points) - 1):
        dx, dy = xy[i + 1] - xy[i]
        if np.hypot(dx, dy) > 0:
            turn = (out["heading_deg"].iloc[i] - np.degrees(np.arctan2(dx, dy)) + 180.0) % 360.0 - 180.0
            assert turn == pytest.approx(0.0, abs=1e-5)
            assert out["heading_source"].iloc[i] == "derived"
    assert out["heading_deg"].dropna().between(0.0, 360.0, inclusive="left").all()


def _pictures(xy: list[tuple[float, float]], *, jump: list[bool] | None = None,
              headings: list[float] | None = None) -> gpd.GeoDataFrame:
    frame = _frame(xy, ["a"] * len(xy), headings if headings is not None else [np.nan] * len(xy))
    frame["gnss_jump"] = jump if jump is not None else [False] * len(xy)
    return frame


def test_panorama_views_give_distance_and_grid_bearing_and_the_count_comes_from_them() -> None:
    houses = gpd.GeoDataFrame({"building_id": ["h2", "h1"]}, crs="EPSG:25832", index=[5, 3],
                              geometry=[shapely.box(10, -5, 20, 5), shapely.box(100, 0, 110, 10)])
    pictures = _pictures([(0, 0), (15, 20), (25, 10), (15, 0), (-25, 0), (0, 1), (95, 5)],
                         jump=[False, False, False, False, False, True, False])
    counted, views = panorama_links(houses, pictures)
    # p0 west of h2, p1 north of it, p2 north-east of its corner, p3 inside it, p4 too far, p5 a GNSS jump
    assert views.to_dict("list") == {
        "panorama_id": ["p6", "p0", "p1", "p2", "p3"],
        "building_id": ["h1", "h2", "h2", "h2", "h2"],
        "distance_m": [5.0, 10.0, 15.0, round(float(np.hypot(5, 5)), 2), 0.0],
        "bearing_deg": [90.0, 90.0, 180.0, 225.0, pytest.approx(np.nan, nan_ok=True)],
    }
    assert np.isnan(views["bearing_deg"].iloc[-1])  # no direction inside the footprint, never a made-up 0°
    assert counted.index.tolist() == [5, 3]
    assert counted["panorama_count"].tolist() == [4, 1]
    assert counted["panorama_count"].tolist() == [int((views["building_id"] == b).sum()) for b in ("h2", "h1")]
    assert buildings_with_panoramas(houses, pictures)["panorama_count"].tolist() == [4, 1]


def test_panorama_views_keep_only_panoramas_facing_the_building_within_the_field_of_view() -> None:
    house = gpd.GeoDataFrame({"building_id": ["h"]}, geometry=[shapely.box(10, -5, 20, 5)], crs="EPSG:25832")
    pictures = _pictures([(0, 0), (0, 1), (0, 2)], headings=[90.0, 270.0, np.nan])  # east, west, unknown
    counted, views = panorama_links(house, pictures, fov_deg=120.0, distance_m=12.0)
    assert views["panorama_id"].tolist() == ["p0", "p2"]
    assert views["distance_m"].tolist() == [10.0, 10.0]
    assert views["bearing_deg"].tolist() == [90.0, 90.0]  # to the nearest point of the wall, (10, 2) for p2
    assert counted["panorama_count"].tolist() == [2]
    assert panorama_links(house, pictures, distance_m=9.9)[1].empty


def test_views_made_in_blocks_of_pairs_equal_those_made_at_once(
    built_model: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connecting lines are made a block of pairs at a time (bounded memory): the same counts and views."""
    import pyogrio

    from twin.transforms import capture

    buildings = pyogrio.read_dataframe(built_model, layer="buildings", use_arrow=True).iloc[:600]
    panoramas = pyogrio.read_dataframe(built_model, layer="panoramas", use_arrow=True)
    whole, whole_views = capture.panorama_links(buildings, panoramas)
    monkeypatch.setattr(capture, "PAIR_BLOCK", 7)
    blocked, blocked_views = capture.panorama_links(buildings, panoramas)
    assert len(whole_views) > 100
    pd.testing.assert_frame_equal(blocked_views, whole_views)
    by_text = whole_views.sort_values(["building_id", "panorama_id"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(whole_views, by_text)  # ordered by the ids as texts
    pd.testing.assert_series_equal(blocked["panorama_count"], whole["panorama_count"])


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.one_of(st.none(), st.integers(0, 10**6))),
                min_size=1, max_size=25),
       st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=12))
def test_counts_newest_capture_and_views_equal_a_pair_by_pair_reckoning(
    pictures: list[tuple[int, int, int | None]], corners: list[tuple[int, int]],
) -> None:
    """Against every building-panorama pair measured one by one: the count, the newest capture (none where no
    time is known) and the views, ordered by the ids as texts ("b10" before "b2")."""
    houses = gpd.GeoDataFrame({"building_id": [f"b{i}" for i in range(len(corners))]},
                              geometry=[shapely.box(x, y, x + 4, y + 3) for x, y in corners], crs="EPSG:25832")
    times = [None if s is None else pd.Timestamp("2024-01-01T00:00Z") + pd.Timedelta(seconds=s) for _, _, s in pictures]
    shots = gpd.GeoDataFrame({"panorama_id": [f"p{i}" for i in range(len(pictures))],
                              "captured_at": pd.Series(times, dtype="datetime64[ms, UTC]")},
                             geometry=shapely.points([(x, y) for x, y, _ in pictures]), crs="EPSG:25832")
    counted, views = panorama_links(houses, shots, distance_m=12.0)
    pairs = [(b, p) for b in range(len(corners)) for p in range(len(pictures))
             if shapely.distance(houses.geometry.iloc[b], shots.geometry.iloc[p]) <= 12.0]
    assert counted["panorama_count"].tolist() == [sum(b == k for b, _ in pairs) for k in range(len(corners))]
    for k in range(len(corners)):
        known = [times[p] for b, p in pairs if b == k and times[p] is not None]
        assert counted["last_captured_at"].iloc[k] == max(known) if known else pd.isna(counted["last_captured_at"].iloc[k])
    expected = sorted((f"b{b}", f"p{p}") for b, p in pairs)
    assert list(zip(views["building_id"], views["panorama_id"], strict=True)) == expected
