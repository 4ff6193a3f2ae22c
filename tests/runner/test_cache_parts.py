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
    loaded = store.load("buildings", crs=buildings.crs.to_string())
    assert loaded is not None
    assert_geodataframe_equal(loaded["buildings"], buildings)
    pd.testing.assert_frame_equal(loaded["runs"], runs)
    assert loaded["nothing"].empty
    assert list(loaded["nothing"].columns) == list(empty.columns)


def test_a_layer_in_parts_is_stored_and_reused_as_its_files(built_model: Path, tmp_path: Path) -> None:
    """The dask engine's layers in parts go into the store as links of their files, not through memory, and
    come back as parts for a dask run (linked into its folder) or as frames for a local one."""
    from twin.runner.parted import PartedLayer, write_part

    panoramas = pyogrio.read_dataframe(built_model, layer="panoramas", use_arrow=True)
    crs = panoramas.crs.to_string()
    run = tmp_path / ".cim.gpkg.parts-1"
    run.mkdir()
    paths = (run / "a.parquet", run / "b.parquet")
    rows = (write_part(panoramas.iloc[:1000], "panoramas", crs, paths[0]),
            write_part(panoramas.iloc[1000:], "panoramas", crs, paths[1]))
    layer = PartedLayer("panoramas", crs, run, paths, rows)
    store = StageCache(tmp_path / "cim.gpkg", {"panoramas": "k" * 30})
    store.store("panoramas", {"panoramas": layer})
    stored = sorted(next(store.folder.iterdir()).glob("panoramas@*.parquet"))
    assert [path.stat().st_ino for path in stored] == [path.stat().st_ino for path in paths]  # the same files
    layer.discard()
    assert all(path.exists() for path in stored)

    later = tmp_path / ".cim.gpkg.parts-2"
    later.mkdir()
    reused = store.load("panoramas", parts=later, crs=crs)
    assert reused is not None and isinstance(reused["panoramas"], PartedLayer)
    assert reused["panoramas"].rows == rows and all(path.parent == later for path in reused["panoramas"].paths)
    whole = pd.concat(list(reused["panoramas"].frames()), ignore_index=True)
    reused["panoramas"].discard()
    assert all(path.exists() for path in stored)  # the store keeps its own links
    local = store.load("panoramas", crs=crs)
    assert local is not None
    assert_geodataframe_equal(local["panoramas"].reset_index(drop=True), whole)
    assert len(whole) == len(panoramas)
    assert (whole["panorama_id"].to_numpy() == panoramas["panorama_id"].to_numpy()).all()
