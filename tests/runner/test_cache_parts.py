"""Stage results are stored in parts and read back whole, equal to what was stored."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

from twin.runner import cache
from twin.runner.cache import StageCache


def test_layers_round_trip_through_parts(built_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    buildings = pyogrio.read_dataframe(built_model, layer="buildings", use_arrow=True)
    buildings.index = buildings.index + 10  # not a plain 0..n index
    runs = pyogrio.read_dataframe(built_model, layer="runs", read_geometry=False, use_arrow=True)
    empty = buildings.iloc[:0]
    monkeypatch.setattr(cache, "STORE_CHUNK", 250)
    store = StageCache(tmp_path / "cim.gpkg", {"buildings": "k" * 30})
    store.store("buildings", {"buildings": buildings, "runs": runs, "nothing": empty})
    entry = next(store.folder.iterdir())
    assert len(list(entry.glob("buildings@*.parquet"))) == -(-len(buildings) // 250) > 2
    loaded = store.load("buildings")
    assert loaded is not None
    assert_geodataframe_equal(loaded["buildings"], buildings)
    pd.testing.assert_frame_equal(loaded["runs"], runs)
    assert loaded["nothing"].empty
    assert list(loaded["nothing"].columns) == list(empty.columns)
