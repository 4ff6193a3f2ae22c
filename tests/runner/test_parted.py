"""A layer in parts: a table without geometry, its parts each ordered, streamed in one global order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

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
    """Three parts whose buildings interleave (as spatial partitions' ids do), read in row groups of 7 rows."""
    monkeypatch.setattr(parted, "ROW_GROUP", 7)
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
