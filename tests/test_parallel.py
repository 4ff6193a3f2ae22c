"""Threaded shapely work gives exactly the results of one call on the whole array."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from twin import parallel
from twin.transforms.buildings import clean_buildings


@pytest.fixture
def many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four threads on chunks of at least 100 elements, so small arrays are split too."""
    monkeypatch.setenv("TWIN_THREADS", "4")
    monkeypatch.setattr(parallel, "MIN_CHUNK", 100)


def _boxes(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 2_000, n), rng.uniform(0, 2_000, n)
    return shapely.box(x, y, x + rng.uniform(2, 30, n), y + rng.uniform(2, 30, n))


@pytest.mark.usefixtures("many_threads")
def test_query_and_nearest_match_one_call() -> None:
    boxes = _boxes(3_000)
    lines = shapely.linestrings(np.random.default_rng(2).uniform(0, 2_000, (60, 2, 2)))
    tree = shapely.STRtree(lines)
    assert len(parallel._bounds(len(boxes))) == 4
    np.testing.assert_array_equal(parallel.query(tree, boxes, predicate="dwithin", distance=40.0),
                                  tree.query(boxes, predicate="dwithin", distance=40.0))
    pairs, distances = parallel.query_nearest(tree, boxes, max_distance=150.0, all_matches=False)
    expected_pairs, expected_distances = tree.query_nearest(boxes, return_distance=True, max_distance=150.0,
                                                            all_matches=False)
    np.testing.assert_array_equal(pairs, expected_pairs)
    np.testing.assert_array_equal(distances, expected_distances)
    np.testing.assert_array_equal(parallel.elementwise(shapely.area, boxes), shapely.area(boxes))


def test_thread_count_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_THREADS", "3")
    assert parallel.threads() == 3
    monkeypatch.setenv("TWIN_THREADS", "1")
    monkeypatch.setattr(parallel, "MIN_CHUNK", 1)
    assert parallel._bounds(1_000) == [(0, 1_000)]


def test_cleaning_on_threads_equals_cleaning_in_one(monkeypatch: pytest.MonkeyPatch) -> None:
    boxes = _boxes(4_000, seed=3)
    boxes[::97] = shapely.Polygon([(0, 0), (4, 4), (4, 0), (0, 4)])  # bow-ties to repair
    frame = gpd.GeoDataFrame({"building_id": [f"B{i}" for i in range(len(boxes))]}, geometry=boxes,
                             crs="EPSG:25832")
    city = shapely.Point(1_000, 1_000).buffer(800)  # clips and drops across every chunk
    monkeypatch.setenv("TWIN_THREADS", "1")
    alone, alone_issues = clean_buildings(frame, boundary=city)
    monkeypatch.setenv("TWIN_THREADS", "4")
    monkeypatch.setattr(parallel, "MIN_CHUNK", 100)
    threaded, threaded_issues = clean_buildings(frame, boundary=city)
    assert 0 < len(threaded) < len(frame)
    assert_geodataframe_equal(threaded, alone)
    assert_geodataframe_equal(threaded_issues, alone_issues)


def test_a_shapefile_read_in_parts_equals_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.sources import vector

    boxes = _boxes(1_000, seed=4)
    boxes = shapely.transform(boxes, lambda xy: xy + np.array([410_000, 5_477_000]))
    frame = gpd.GeoDataFrame({"OI": [f"DERP{i:06d}" for i in range(len(boxes))],
                              "name": ["Schillerstraße"] * len(boxes)}, geometry=boxes, crs="EPSG:25832")
    path = tmp_path / "hausumringe.shp"
    frame.to_file(path, encoding="cp1252")
    monkeypatch.setenv("TWIN_THREADS", "1")
    whole = vector.read_vector(path, target_crs="EPSG:25832", encoding="cp1252")
    monkeypatch.setenv("TWIN_THREADS", "3")
    monkeypatch.setattr(vector, "READ_CHUNK", 100)
    parts = vector.read_vector(path, target_crs="EPSG:25832", encoding="cp1252")
    assert_geodataframe_equal(parts, whole)
    assert parts["name"].iloc[-1] == "Schillerstraße"
    assert len(parts) == len(boxes)
