"""Cleaning, merging and heights of building footprints: values, QA accounting and invariants."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.transforms.buildings import (
    building_heights,
    buildings_with_districts,
    clean_buildings,
    measured_heights,
    merge_sources,
)

CRS = "EPSG:25832"
X0, Y0 = 410000.0, 5477000.0
BOUNDARY = shapely.box(X0, Y0, X0 + 100, Y0 + 100)


def _frame(ids: list[str], geoms: list[object], **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"building_id": ids, **columns}, geometry=geoms, crs=CRS, index=range(10, 10 + len(ids)))


def test_repairs_drops_and_records_everything() -> None:
    bowtie = shapely.Polygon([(X0 + 10, Y0 + 10), (X0 + 20, Y0 + 20), (X0 + 20, Y0 + 10), (X0 + 10, Y0 + 20)])
    house = shapely.box(X0 + 30, Y0 + 30, X0 + 40, Y0 + 40)
    frame = _frame(
        ["bow", "house", "house-copy", "house-shift", "cross", "outside", "sliver", "empty", "line", "same"],
        [bowtie, house, shapely.Polygon(list(house.exterior.coords)[::-1]), shapely.box(X0 + 30.1, Y0 + 30, X0 + 40.1, Y0 + 40),
         shapely.box(X0 + 90, Y0 + 50, X0 + 110, Y0 + 60), shapely.box(X0 + 200, Y0, X0 + 210, Y0 + 10),
         shapely.box(X0 + 50, Y0 + 50, X0 + 50.5, Y0 + 50.5), shapely.Polygon(),
         shapely.Polygon([(X0, Y0), (X0 + 5, Y0), (X0 + 10, Y0), (X0, Y0)]), shapely.box(X0 + 60, Y0 + 60, X0 + 70, Y0 + 70)],
    )
    frame.loc[frame["building_id"] == "same", "building_id"] = "house"
    before = frame.copy()
    out, issues = clean_buildings(frame, boundary=BOUNDARY)
    pd.testing.assert_frame_equal(frame, before)
    assert out["building_id"].tolist() == ["bow", "house", "cross", "house-2"]
    assert out.index.tolist() == [10, 11, 14, 19]
    assert out.crs == CRS
    geoms = out.geometry.to_numpy()
    assert shapely.is_valid(geoms).all() and (shapely.get_type_id(geoms) % 3 == 0).all()
    assert shapely.covers(BOUNDARY.buffer(1e-6), geoms).all()
    assert out.set_index("building_id").loc["bow", "area_m2"] == pytest.approx(50.0)
    assert out.set_index("building_id").loc["cross", "area_m2"] == pytest.approx(100.0)
    checks = dict(zip(issues["feature_id"] + ":" + issues["check"], issues["message"], strict=True))
    assert set(checks) == {
        "bow:geometry_repaired", "empty:empty_geometry", "line:geometry_repaired", "line:geometry_collapsed",
        "outside:outside_boundary", "cross:clipped", "sliver:sliver", "house-copy:duplicate_geometry",
        "house-shift:near_duplicate", "house:duplicate_id",
    } - {"line:geometry_repaired"}
    assert checks["house-shift:near_duplicate"] == "dropped: same footprint as house (IoU 0.98)"
    assert checks["house:duplicate_id"] == "building_id already used by another footprint; renamed to house-2"
    assert issues["geometry"].notna().sum() == len(issues) - 1  # the empty one has no place


def test_tolerance_and_iou_are_configurable() -> None:
    a = shapely.box(X0, Y0, X0 + 3, Y0 + 3)
    b = shapely.box(X0 + 0.3, Y0, X0 + 3.3, Y0 + 3)  # IoU 0.82, outline 0.3 m apart
    frame = _frame(["a", "b"], [a, b])
    assert len(clean_buildings(frame)[0]) == 2
    assert len(clean_buildings(frame, duplicate_tolerance_m=0.5)[0]) == 1
    assert len(clean_buildings(frame, duplicate_iou=0.8)[0]) == 1
    assert len(clean_buildings(frame, min_area_m2=10)[0]) == 0


def test_terraced_houses_are_not_duplicates() -> None:
    row = [shapely.box(X0 + 6 * i, Y0, X0 + 6 * (i + 1), Y0 + 10) for i in range(5)]
    out, issues = clean_buildings(_frame([f"t{i}" for i in range(5)], row))
    assert len(out) == 5 and issues.empty


def test_height_order_measured_source_storeys_default() -> None:
    box = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    frame = _frame(["m", "s", "st", "d", "d2", "bad"], [box] * 6,
                   function_code=["1000", "1000", "1000", "2463", None, "3012"],
                   height_m=[5.0, 11.0, None, None, None, 0.0], storeys=[2, 3, 4, None, None, None],
                   roof_storeys=[None, None, 1, None, None, None])
    frame = measured_heights(frame, pd.DataFrame({"building_id": ["m", "x", "d"], "height_m": [13.25, 4.0, -1.0]}))
    out, issues = building_heights(frame, storey_height_m=2.5, fallback_height_m=7.0)
    assert out["height_m"].tolist() == [13.25, 11.0, 12.5, 3.0, 7.0, 18.0]
    assert out["height_source"].tolist() == ["measured", "source", "storeys", "default", "default", "default"]
    assert out["storeys"].tolist()[:3] == [2, 3, 4]
    assert out["storeys"].dtype == "Int32"
    assert issues["feature_id"].tolist() == ["bad"] and issues["check"].tolist() == ["height_implausible"]


def test_merge_fills_gaps_and_adds_new_buildings() -> None:
    alkis = _frame(["A1", "A2", "A3"], [shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10),
                                       shapely.box(X0 + 40, Y0, X0 + 50, Y0 + 10)],
                   source=["alkis"] * 3, height_m=[None, 9.0, None])
    osm = _frame(["way/1", "way/2", "way/3", "way/4"],
                 [shapely.box(X0 + 0.5, Y0, X0 + 10.5, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 20, Y0 + 10),
                  shapely.box(X0 + 60, Y0, X0 + 70, Y0 + 10), shapely.box(X0 + 46, Y0, X0 + 56, Y0 + 10)],
                 source=["osm"] * 4, height_m=[12.0, 30.0, 6.0, 5.0], street=["Marktstraße", None, None, None])
    filled, issues = merge_sources(alkis, osm)
    assert filled["building_id"].tolist() == ["A1", "A2", "A3"]
    assert filled["height_m"].tolist()[:2] == [12.0, 9.0]
    assert filled["street"].tolist()[0] == "Marktstraße"
    assert dict(zip(issues["feature_id"], issues["check"], strict=True)) == {
        "way/1": "merged", "way/2": "merged", "way/3": "not_added", "way/4": "not_added"}
    added, issues = merge_sources(alkis, osm, mode="add")
    assert added["building_id"].tolist() == ["A1", "A2", "A3", "way/3"]
    assert added["source"].tolist() == ["alkis", "alkis", "alkis", "osm"]
    assert set(issues["feature_id"]) == {"way/1", "way/2", "way/4"}


footprints = st.lists(
    st.tuples(st.floats(-20, 110), st.floats(-20, 110), st.floats(0.2, 30), st.floats(0.2, 30), st.booleans(),
              st.sampled_from(["a", "b", "c", "d", None])),
    min_size=1, max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(footprints)
def test_cleaning_properties(rows: list[tuple[float, float, float, float, bool, str | None]]) -> None:
    geoms = []
    for x, y, w, h, twisted, _ in rows:
        if twisted:  # a bowtie
            geoms.append(shapely.Polygon([(X0 + x, Y0 + y), (X0 + x + w, Y0 + y + h), (X0 + x + w, Y0 + y), (X0 + x, Y0 + y + h)]))
        else:
            geoms.append(shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h))
    ids = [f"{name}" if name else f"n{i}" for i, (*_, name) in enumerate(rows)]
    frame = _frame(ids, geoms)
    out, issues = clean_buildings(frame, boundary=BOUNDARY, min_area_m2=1.0)
    result = out.geometry.to_numpy()
    assert shapely.is_valid(result).all()
    assert not shapely.is_empty(result).any()
    assert np.isin(shapely.get_type_id(result), (3, 6)).all()
    assert shapely.covers(BOUNDARY.buffer(1e-6), result).all()
    assert (shapely.area(result) >= 1.0).all()
    assert out["building_id"].is_unique
    assert set(out.index) <= set(frame.index)
    assert out.crs == CRS
    accounted = set(out["building_id"]) | set(issues["feature_id"])
    assert set(frame["building_id"]) <= accounted
    dropped = len(frame) - len(out)
    assert issues["check"].isin(["empty_geometry", "geometry_collapsed", "outside_boundary", "sliver",
                                 "duplicate_geometry", "near_duplicate"]).sum() == dropped


def test_buildings_get_the_district_their_representative_point_lies_in() -> None:
    houses = gpd.GeoDataFrame(
        {"building_id": ["in_a", "l_shape", "outside", "in_both"]}, crs="EPSG:25832", index=[4, 9, 2, 7],
        geometry=[shapely.box(1, 1, 3, 3),
                  # an L whose centroid lies in its notch, in district b: the point on its surface lies in a
                  shapely.Polygon([(0, 20), (10, 20), (10, 22), (2, 22), (2, 30), (0, 30)]),
                  shapely.box(500, 500, 502, 502), shapely.box(31, 1, 33, 3)])
    parts = gpd.GeoDataFrame({"district": ["Innenstadt", "Betzenberg", "Lämmchesberg"]}, crs="EPSG:25832",
                             geometry=[shapely.box(-10, -10, 40, 40), shapely.box(3, 23, 9, 29), shapely.box(30, 0, 40, 40)])
    before = houses.copy()
    out = buildings_with_districts(houses, parts)
    assert out.index.tolist() == [4, 9, 2, 7]
    assert out["district"].tolist() == ["Innenstadt", "Innenstadt", None, "Innenstadt"]  # overlapping: the first
    assert shapely.contains(parts.geometry.iloc[1], houses.geometry.loc[9].centroid)
    assert_geodataframe_equal(houses, before)
