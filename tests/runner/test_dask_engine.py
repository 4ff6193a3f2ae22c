"""The dask engine gives the same model as the local one, feature by feature."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

import twin
from tests.conftest import pipeline_text
from twin.errors import ConfigError
from twin.runner.dask_engine import dask_link_stage
from twin.runner.stages import build_layers
from twin.sample import write_sample

KEYS = {"buildings": "building_id", "fibre_nodes": "node_id", "fibre_connections": "node_id"}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A dask.distributed cluster of two in-process workers."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as connected:
        yield connected


def _assert_same(local: dict[str, pd.DataFrame], other: dict[str, pd.DataFrame]) -> None:
    for name, key in KEYS.items():
        expected = local[name].sort_values(key, kind="stable").reset_index(drop=True)
        actual = other[name].sort_values(key, kind="stable").reset_index(drop=True)
        assert len(expected) > 0, name
        assert_geodataframe_equal(actual, expected, check_like=False)
    assert len(local["panorama_views"]) > 0
    pd.testing.assert_frame_equal(other["panorama_views"], local["panorama_views"])  # the same rows in the same order
    issues = ["layer", "feature_id", "check", "severity", "message"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(other["qa_issues"][issues]).sort_values(issues).reset_index(drop=True),
        pd.DataFrame(local["qa_issues"][issues]).sort_values(issues).reset_index(drop=True),
    )


def _pipeline(folder: Path, raw: Path) -> twin.Pipeline:
    path = folder / "pipeline.toml"
    path.write_text(pipeline_text(folder / "out" / "cim.gpkg", raw=raw), encoding="utf-8")
    return twin.read_pipeline(path)


def test_dask_link_equals_local_on_the_sample(tmp_path: Path, client: Any) -> None:
    pipeline = _pipeline(tmp_path, Path(__file__).resolve().parents[2] / "data" / "raw")
    local = build_layers(pipeline)
    linked = build_layers(pipeline, link=partial(dask_link_stage, client=client, partition_size=300))
    assert local["buildings"]["fibre_status"].eq("connected").sum() > 0
    assert local["buildings"]["panorama_count"].gt(0).sum() > 0
    _assert_same(local, linked)


def test_dask_link_follows_the_pipelines_view_settings(tmp_path: Path) -> None:
    raw = Path(__file__).resolve().parents[2] / "data" / "raw"
    path = tmp_path / "pipeline.toml"
    path.write_text(pipeline_text(tmp_path / "out" / "cim.gpkg", raw=raw, panoramas=(
        f'path = "{raw}/panoramas/recordings.csv"\nformat = "cyclomedia"\nview_distance_m = 80.0\nview_fov_deg = 120.0'
    )), encoding="utf-8")
    pipeline = twin.read_pipeline(path)
    local = build_layers(pipeline)
    default = build_layers(twin.read_pipeline(_pipeline_path(tmp_path / "default", raw)))
    assert not local["buildings"]["panorama_count"].equals(default["buildings"]["panorama_count"])
    _assert_same(local, build_layers(pipeline, link=partial(dask_link_stage, partition_size=500)))


def _pipeline_path(folder: Path, raw: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipeline.toml"
    path.write_text(pipeline_text(folder / "out" / "cim.gpkg", raw=raw), encoding="utf-8")
    return path


def test_dask_link_without_cluster_uses_threads(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, Path(__file__).resolve().parents[2] / "data" / "raw")
    _assert_same(build_layers(pipeline), build_layers(pipeline, link=partial(dask_link_stage, partition_size=700)))


def test_run_with_dask_engine_publishes_the_same_geopackage(tmp_path: Path) -> None:
    raw = Path(__file__).resolve().parents[2] / "data" / "raw"
    local = twin.run(_pipeline(tmp_path / "local", raw) if (tmp_path / "local").mkdir() is None else None, report=False)
    dask = twin.run(_pipeline(tmp_path / "dask", raw) if (tmp_path / "dask").mkdir() is None else None,
                    report=False, engine="dask")
    assert dask.counts == local.counts
    for name, key in KEYS.items():
        expected = pyogrio.read_dataframe(local.output, layer=name).sort_values(key).reset_index(drop=True)
        actual = pyogrio.read_dataframe(dask.output, layer=name).sort_values(key).reset_index(drop=True)
        assert_geodataframe_equal(actual, expected)
    local_views, dask_views = (pyogrio.read_dataframe(r.output, layer="panorama_views") for r in (local, dask))
    assert len(local_views) == local.counts["panorama_views"] > 0
    pd.testing.assert_frame_equal(dask_views, local_views)


def test_unknown_engine_and_scheduler_without_dask_are_config_errors(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, Path(__file__).resolve().parents[2] / "data" / "raw")
    with pytest.raises(ConfigError, match="engine 'spark': is not known"):
        twin.run(pipeline, engine="spark", report=False)
    with pytest.raises(ConfigError, match="needs the dask engine"):
        twin.run(pipeline, scheduler="tcp://127.0.0.1:1", report=False)
    assert not pipeline.output.path.exists()


@pytest.mark.slow
def test_dask_link_equals_local_on_an_unseen_region(tmp_path_factory: pytest.TempPathFactory, client: Any) -> None:
    """A region of 100,000 buildings from another seed, in seven partitions on two workers."""
    raw = tmp_path_factory.mktemp("region")
    write_sample(raw, scale=100_000, seed=7)
    pipeline = _pipeline(tmp_path_factory.mktemp("run"), raw)
    local = build_layers(pipeline)
    linked = build_layers(pipeline, link=partial(dask_link_stage, client=client, partition_size=15_000))
    assert len(local["buildings"]) > 80_000
    assert isinstance(linked["buildings"], gpd.GeoDataFrame)
    _assert_same(local, linked)
