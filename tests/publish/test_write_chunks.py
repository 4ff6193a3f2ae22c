"""Layers are streamed to GDAL in chunks; the file is the same whatever the chunk size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

from twin.model import LAYERS
from twin.publish import geopackage


def test_small_chunks_write_the_same_layers(built_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layers = {name: pyogrio.read_dataframe(built_model, layer=name, use_arrow=True) for name in LAYERS}
    assert len(layers["buildings"]) > 1_000
    monkeypatch.setattr(geopackage, "WRITE_CHUNK", 333)
    copy = tmp_path / "chunked.gpkg"
    geopackage.write_geopackage(copy, layers, crs="EPSG:25832")
    for name, original in layers.items():
        written = pyogrio.read_dataframe(copy, layer=name, use_arrow=True)
        if "geometry" in original:
            assert_geodataframe_equal(written, original, check_like=False)
        else:
            pd.testing.assert_frame_equal(written, original)
    info = pyogrio.read_info(copy, layer="buildings")
    assert info["features"] == len(layers["buildings"])
    assert info["geometry_type"] == "MultiPolygon"
