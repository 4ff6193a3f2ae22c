"""A layer in parts: a table without geometry, its parts each ordered, streamed in one global order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.model import conform
from twin.runner import parted
from twin.runner.parted import PartedLayer, write_part

CRS = "EPSG:25832"
ORDER = ["building_id", "panorama_id"]


def _views(buildings: list[str], panoramas: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(b, f"P{p:03d}") for b in buildings for p in rng.choice(300, size=panoramas, replace=False)]
    frame = pd.DataFrame(rows, columns=ORDER)
    frame["distance_m"] = rng.uniform(1.0, 50.0, len(frame)).round(2)
    frame["bearing_deg"] = rng.uniform(0.0, 360.0, len(frame)).round(1)
    return conform(frame.sort_values(ORDER, kind="stable", ignore_index=True), "panorama_views")


def test_parts_of_a_table_stream_in_one_global_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three parts whose buildings interleave (as spatial partitions' ids do), written in row groups of 7 rows
    and merged in slices of 5 rows per part: never more than 20 rows in hand, however long the parts."""
    monkeypatch.setattr(parted, "ROW_GROUP", 7)
    monkeypatch.setattr(parted, "MERGE_ROWS", 20)
    monkeypatch.setattr(parted, "MIN_SLICE", 2)
    ids = [f"DERP{n:05d}" for n in range(60)]
    frames = [_views(ids[i::3], panoramas=4, seed=i) for i in range(3)]
    frames.append(_views([], panoramas=0, seed=9))  # a partition without any view
    paths = tuple(tmp_path / f"views-{n}.parquet" for n in range(len(frames)))
    rows = tuple(write_part(frame, "panorama_views", CRS, path) for frame, path in zip(frames, paths, strict=True))
    assert pq.ParquetFile(paths[0]).num_row_groups > 10 and rows[-1] == 0
    layer = PartedLayer("panorama_views", CRS, tmp_path, paths, rows, order=tuple(ORDER))
    expected = conform(pd.concat(frames).sort_values(ORDER, kind="stable", ignore_index=True), "panorama_views")
    assert len(layer) == len(expected) == 240
    actual = pd.concat(layer.frames(), ignore_index=True)
    pd.testing.assert_frame_equal(actual, expected)
    assert "geom" not in layer.arrow_stream().schema.names
    assert max(batch.num_rows for batch in layer.arrow_stream()) <= 20


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([0, 2**63, 2**64 - 1, 12345]), max_size=40),
                min_size=1, max_size=5),
       st.integers(1, 7))
def test_repeated_id_hashes_found_by_range_are_those_of_the_whole_region(
    tmp_path_factory: pytest.TempPathFactory, parts: list[list[int]], buckets: int,
) -> None:
    """Each worker looks at one range of hash values over every partition's sorted hashes; together they find
    exactly the hashes that repeat over the region, and which of some hashes occur at all."""
    from twin.runner.dask_parts import hashes_present, repeated_hashes

    folder = tmp_path_factory.mktemp("hashes")
    files = []
    for number, values in enumerate(parts):
        files.append(folder / f"{number}.npy")
        np.save(files[-1], np.sort(np.array(values, dtype="uint64")))
    whole = np.array([v for values in parts for v in values], dtype="uint64")
    values, counts = np.unique(whole, return_counts=True)
    found = np.concatenate([repeated_hashes(files, bucket, buckets) for bucket in range(buckets)])
    assert found.tolist() == values[counts > 1].tolist()
    asked = np.array([0, 1, 2**63, 2**64 - 1, 12345, *whole[:3].tolist()], dtype="uint64")
    assert hashes_present(files, asked).tolist() == [v for v in asked.tolist() if v in set(whole.tolist())]
