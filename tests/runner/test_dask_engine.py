"""The dask engine builds every stage on the workers and gives the same model as the local one, feature by feature."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import shapely.affinity
from geopandas.testing import assert_geodataframe_equal

import twin
from tests.conftest import pipeline_text
from twin.errors import ConfigError
from twin.model import conform
from twin.runner.dask_engine import dask_build, footprint_density, plan_windows
from twin.runner.parted import PartedLayer
from twin.runner.stages import build_layers, read_boundary
from twin.sample import write_sample

KEYS = {"buildings": "building_id", "fibre_nodes": "node_id", "fibre_connections": "node_id"}
RAW = Path(__file__).resolve().parents[2] / "data" / "raw"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A dask.distributed cluster of two in-process workers."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as connected:
        yield connected


#: The layers a dask build leaves in parts: the buildings' and the panorama stage's, never held by the client.
PARTED = ("buildings", "panorama_views", "panoramas", "capture_tracks", "capture_coverage", "street_coverage")


def _in_memory(layers: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The layers of a dask build with every layer in parts read from its parts."""
    out = dict(layers)
    for name in (name for name in PARTED if name in layers):  # street coverage: where streets are given
        parted = layers[name]
        assert isinstance(parted, PartedLayer), name
        assert all(path.exists() for path in parted.paths)
        frames = list(parted.frames())
        out[name] = pd.concat(frames, ignore_index=True)
        if name != "panorama_views":
            out[name] = gpd.GeoDataFrame(out[name], crs=parted.crs)
    return out


def _assert_same(local: dict[str, pd.DataFrame], other: dict[str, pd.DataFrame]) -> None:
    for name, key in KEYS.items():
        expected = local[name].sort_values(key, kind="stable").reset_index(drop=True)
        actual = other[name].sort_values(key, kind="stable").reset_index(drop=True)
        assert len(expected) > 0, name
        assert_geodataframe_equal(actual, expected, check_like=False)
    assert len(local["panorama_views"]) > 0
    pd.testing.assert_frame_equal(other["panorama_views"], local["panorama_views"])  # the same rows in the same order
    for name in (n for n in PARTED[2:] if n in local):  # written by a worker
        assert len(local[name]) > 0, name
        assert_geodataframe_equal(other[name], conform(local[name], name, other[name].crs), check_like=False)
    issues = ["layer", "feature_id", "check", "severity", "message"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(other["qa_issues"][issues]).sort_values(issues).reset_index(drop=True),
        pd.DataFrame(local["qa_issues"][issues]).sort_values(issues).reset_index(drop=True),
    )


def _pipeline(folder: Path, raw: Path) -> twin.Pipeline:
    path = folder / "pipeline.toml"
    path.write_text(pipeline_text(folder / "out" / "cim.gpkg", raw=raw), encoding="utf-8")
    return twin.read_pipeline(path)


def test_every_stage_on_the_workers_equals_local_on_the_sample(tmp_path: Path, client: Any) -> None:
    """Eight windows with a halo of 40 m: footprints on their edges are decided once, as locally."""
    pipeline = _pipeline(tmp_path, RAW)
    assert len(plan_windows(pipeline, read_boundary(pipeline), 300, halo_m=40.0)) == 8
    local = build_layers(pipeline)
    built = dask_build(pipeline, client=client, partition_size=300, halo_m=40.0)
    parted = built["buildings"]
    assert isinstance(parted, PartedLayer) and len(parted.paths) == 8
    views = built["panorama_views"]  # written by the workers beside their buildings, never gathered
    assert isinstance(views, PartedLayer) and len(views.paths) == 8 and views.folder == parted.folder
    assert len(views) == len(local["panorama_views"])
    assert len(parted) == len(local["buildings"]) == 2074  # the shipped sample's buildings, once each
    assert local["buildings"]["fibre_status"].eq("connected").sum() > 0
    assert local["buildings"]["panorama_count"].gt(0).sum() > 0
    _assert_same(local, _in_memory(built))
    parted.discard()
    assert not parted.folder.exists()


def test_repeated_ids_in_different_partitions_are_renamed_as_locally(tmp_path: Path, client: Any) -> None:
    """An id used in three windows far apart, the suffix the first rename would take already used, no geometry."""
    raw = tmp_path / "raw"
    (raw / "buildings").mkdir(parents=True)
    for name in ("boundary.geojson", "fibre", "panoramas", "streets"):
        source = RAW / name
        (raw / name).symlink_to(source, target_is_directory=source.is_dir())
    frame = pyogrio.read_dataframe(RAW / "buildings" / "hausumringe.shp", encoding="cp1252")
    west, east = frame.geometry.centroid.x.idxmin(), frame.geometry.centroid.x.idxmax()
    north = frame.geometry.centroid.y.idxmax()
    frame.loc[[west, east, north], "OI"] = "DERP0001"
    frame.loc[frame.index[0], "OI"] = "DERP0001-2"
    frame.loc[frame.index[5], "geometry"] = None
    pyogrio.write_dataframe(frame, raw / "buildings" / "hausumringe.shp", encoding="cp1252")
    pipeline = _pipeline(tmp_path, raw)
    local = build_layers(pipeline)
    ids = set(local["buildings"]["building_id"])
    assert {"DERP0001", "DERP0001-2", "DERP0001-3", "DERP0001-4"} <= ids
    assert frame.loc[frame.index[5], "OI"] in set(local["qa_issues"]["feature_id"])
    _assert_same(local, _in_memory(dask_build(pipeline, client=client, partition_size=300, halo_m=40.0)))


def _crowded(tmp_path: Path) -> Path:
    """The sample's footprints in one corner of a region 8 km wide, a tenth as many again spread over the rest."""
    raw = tmp_path / "raw"
    (raw / "buildings").mkdir(parents=True)
    for name in ("fibre", "panoramas", "streets"):
        (raw / name).symlink_to(RAW / name, target_is_directory=True)
    frame = pyogrio.read_dataframe(RAW / "buildings" / "hausumringe.shp", encoding="cp1252")
    spread = frame.iloc[::9].copy()  # about 230 footprints on a grid of 500 m steps to the north-east
    steps = np.arange(len(spread))
    offsets = np.column_stack([2_000 + 500 * (steps % 15), 2_000 + 500 * (steps // 15)])
    spread["geometry"] = [shapely.affinity.translate(g, x, y) for g, (x, y) in zip(spread.geometry, offsets, strict=True)]
    spread["OI"] = spread["OI"] + "-far"
    crowded = gpd.GeoDataFrame(pd.concat([frame, spread], ignore_index=True), crs=frame.crs)
    pyogrio.write_dataframe(crowded, raw / "buildings" / "hausumringe.shp", encoding="cp1252")
    return raw


def test_windows_follow_the_density_of_the_footprints(tmp_path: Path, client: Any) -> None:
    """Nine tenths of the footprints in one corner: no window holds more than a partition and one grid cell,
    and the model equals the local engine's."""
    raw = _crowded(tmp_path)
    path = tmp_path / "pipeline.toml"
    path.write_text(pipeline_text(tmp_path / "out" / "cim.gpkg", raw=raw, city='name = "Kaiserslautern"\ncrs = "EPSG:25832"'),
                    encoding="utf-8")
    pipeline = twin.read_pipeline(path)
    size = 150
    density = footprint_density(pipeline, None, size)
    written = pyogrio.read_info(raw / "buildings" / "hausumringe.shp")["features"]
    assert density is not None and density.total == written > 2300
    local = build_layers(pipeline)
    built = dask_build(pipeline, client=client, partition_size=size, halo_m=40.0)
    parted = built["buildings"]
    assert isinstance(parted, PartedLayer) and len(parted) == len(local["buildings"]) > 2200
    assert max(parted.rows) <= size + density.largest_cell, parted.rows
    assert len(parted.rows) <= math.ceil(density.total / size) + 3
    planned = plan_windows(pipeline, None, size, halo_m=40.0)
    assert [w.count for w in planned] == [w.count for w in planned if w.count <= size]
    _assert_same(local, _in_memory(built))


def test_footprints_added_from_an_osm_extract_are_read_by_the_workers(tmp_path: Path, client: Any) -> None:
    """The ranges of an OSM extract are those of its multipolygons, not of its first layer (points, here none)."""
    from tests.transforms.test_buildings_pipeline import _inputs, osm_added_pipeline

    files = _inputs(tmp_path)
    assert pyogrio.read_info(files["osm"], layer="points", force_feature_count=True)["features"] == 0
    pipeline = twin.read_pipeline(osm_added_pipeline(tmp_path, files))
    local = build_layers(pipeline)["buildings"]
    parted = dask_build(pipeline, client=client, partition_size=2, halo_m=40.0)["buildings"]
    assert isinstance(parted, PartedLayer) and len(parted.paths) > 1
    built = gpd.GeoDataFrame(pd.concat(list(parted.frames()), ignore_index=True), crs=parted.crs)
    assert "way/202" in set(local["building_id"])
    built, local = (f.sort_values("building_id").reset_index(drop=True) for f in (built, local))
    # the OSM reader leaves out the tag columns empty in all it reads at once, so a range read alone names fewer
    # empty tags: the same tags with values
    assert [_tags(text) for text in built["source_attributes"]] == [_tags(text) for text in local["source_attributes"]]
    assert_geodataframe_equal(built.drop(columns="source_attributes"), local.drop(columns="source_attributes"))


def _tags(text: str) -> dict[str, object]:
    return {key: value for key, value in json.loads(text).items() if value is not None}


def test_dask_build_follows_the_pipelines_view_settings(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_text(pipeline_text(tmp_path / "out" / "cim.gpkg", raw=RAW, panoramas=(
        f'path = "{RAW}/panoramas/recordings.csv"\nformat = "cyclomedia"\nview_distance_m = 80.0\nview_fov_deg = 120.0'
    )), encoding="utf-8")
    pipeline = twin.read_pipeline(path)
    local = build_layers(pipeline)
    default = build_layers(twin.read_pipeline(_pipeline_path(tmp_path / "default", RAW)))
    assert not local["buildings"]["panorama_count"].equals(default["buildings"]["panorama_count"])
    _assert_same(local, _in_memory(dask_build(pipeline, partition_size=500, halo_m=60.0)))


def _pipeline_path(folder: Path, raw: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipeline.toml"
    path.write_text(pipeline_text(folder / "out" / "cim.gpkg", raw=raw), encoding="utf-8")
    return path


def test_run_with_dask_engine_publishes_the_same_geopackage(tmp_path: Path) -> None:
    raw = Path(__file__).resolve().parents[2] / "data" / "raw"
    now = dt.datetime(2023, 5, 16, 12, tzinfo=dt.UTC)  # the captures of the next day lie in the future
    local = twin.run(_pipeline(tmp_path / "local", raw) if (tmp_path / "local").mkdir() is None else None, report=False,
                     now=now)
    dask = twin.run(_pipeline(tmp_path / "dask", raw) if (tmp_path / "dask").mkdir() is None else None,
                    report=False, engine="dask", now=now)
    assert dask.counts == local.counts
    for name, key in KEYS.items():
        expected = pyogrio.read_dataframe(local.output, layer=name).sort_values(key).reset_index(drop=True)
        actual = pyogrio.read_dataframe(dask.output, layer=name).sort_values(key).reset_index(drop=True)
        assert_geodataframe_equal(actual, expected)
    local_views, dask_views = (pyogrio.read_dataframe(r.output, layer="panorama_views") for r in (local, dask))
    assert len(local_views) == local.counts["panorama_views"] > 0
    pd.testing.assert_frame_equal(dask_views, local_views)
    for name in ("panoramas", "capture_tracks", "capture_coverage", "street_coverage", "qa_issues"):
        expected, actual = (pyogrio.read_dataframe(r.output, layer=name) for r in (local, dask))
        if name == "qa_issues":  # the same rows; their order and run ids differ
            columns = ["layer", "feature_id", "check", "severity", "message"]
            expected, actual = (pd.DataFrame(f[columns]).sort_values(columns).reset_index(drop=True)
                                for f in (expected, actual))
            assert expected["check"].eq("captured_in_future").sum() > 1800
        assert len(expected) > 0, name
        pd.testing.assert_frame_equal(pd.DataFrame(actual), pd.DataFrame(expected))
    assert sorted(p.name for p in dask.output.parent.iterdir()) == sorted(p.name for p in local.output.parent.iterdir())


def test_a_dask_run_after_a_local_one_finds_no_changes_and_then_finds_one(tmp_path: Path) -> None:
    """The buildings compared from their parts: same fingerprints as the local engine's; removed ones found."""
    pipeline = _pipeline(tmp_path, RAW)
    twin.run(pipeline, report=False)
    same = twin.run(pipeline, report=False, engine="dask", force=True)
    assert same.counts["changes"] == 0
    assert same.stages == {"buildings": "built", "panoramas": "built", "fibre": "built", "link": "built"}
    toml = pipeline.path.read_text(encoding="utf-8").replace('format = "alkis"', 'format = "alkis"\nmin_area_m2 = 80.0')
    pipeline.path.write_text(toml, encoding="utf-8")
    changed = twin.run(twin.read_pipeline(pipeline.path), report=False, engine="dask")
    changes = pyogrio.read_dataframe(changed.output, layer="changes")
    published = pyogrio.read_dataframe(changed.output, layer="buildings")
    removed = changes.loc[changes["layer"].eq("buildings") & changes["change"].eq("removed")]
    assert len(removed) == same.counts["buildings"] - len(published) > 0
    assert not set(removed["feature_id"]) & set(published["building_id"])


def test_unknown_engine_and_scheduler_without_dask_are_config_errors(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, Path(__file__).resolve().parents[2] / "data" / "raw")
    with pytest.raises(ConfigError, match="engine 'spark': is not known"):
        twin.run(pipeline, engine="spark", report=False)
    with pytest.raises(ConfigError, match="needs the dask engine"):
        twin.run(pipeline, scheduler="tcp://127.0.0.1:1", report=False)
    assert not pipeline.output.path.exists()


@pytest.mark.slow
def test_every_stage_on_the_workers_equals_local_on_an_unseen_region(
    tmp_path_factory: pytest.TempPathFactory, client: Any,
) -> None:
    """A region of 100,000 buildings from another seed, in windows of about 15,000 on two workers."""
    raw = tmp_path_factory.mktemp("region")
    write_sample(raw, scale=100_000, seed=7)
    pipeline = _pipeline(tmp_path_factory.mktemp("run"), raw)
    local = build_layers(pipeline)
    built = dask_build(pipeline, client=client, partition_size=15_000, halo_m=100.0)
    assert len(built["buildings"].paths) >= 6
    assert len(local["buildings"]) > 80_000
    _assert_same(local, _in_memory(built))


def test_a_dask_run_records_modified_buildings_in_the_history_as_a_local_run_does(tmp_path: Path) -> None:
    """The old and new value of every changed field, the new ones read back from the buildings' parts."""
    found = {}
    for engine in ("local", "dask"):
        raw = tmp_path / engine / "raw"
        (raw / "buildings").mkdir(parents=True)
        for name in ("boundary.geojson", "fibre", "panoramas", "streets"):
            source = RAW / name
            (raw / name).symlink_to(source, target_is_directory=source.is_dir())
        frame = pyogrio.read_dataframe(RAW / "buildings" / "hausumringe.shp", encoding="cp1252")
        pyogrio.write_dataframe(frame, raw / "buildings" / "hausumringe.shp", encoding="cp1252")
        pipeline = _pipeline(tmp_path / engine, raw)
        twin.run(pipeline, report=False)
        frame.loc[frame.index[::50], "GFK"] = "31001_2463"  # garages now: other function, other default height
        pyogrio.write_dataframe(frame, raw / "buildings" / "hausumringe.shp", encoding="cp1252")
        done = twin.run(twin.read_pipeline(pipeline.path), report=False, engine=engine)
        history = pyogrio.read_dataframe(done.output, layer="history")
        found[engine] = (pd.DataFrame(history.drop(columns=["run_id", "run_at"]))
                         .sort_values(["feature_id", "field"]).reset_index(drop=True))
    codes = found["dask"].loc[found["dask"]["field"] == "function_code"]
    assert len(codes) > 20 and set(codes["new_value"]) == {"2463"}
    pd.testing.assert_frame_equal(found["dask"], found["local"])


def test_a_dask_run_stores_the_capture_layers_from_their_parts_and_reuses_them(tmp_path: Path) -> None:
    """The panorama stage's parts stored for the next run, which reuses them (in memory) and publishes the same
    layers; the report's map draws the panoramas from their parts."""
    path = _pipeline_path(tmp_path, RAW)
    path.write_text(path.read_text(encoding="utf-8").replace("[output]\n", "[output]\nreport_map = true\n"),
                    encoding="utf-8")
    first = twin.run(twin.read_pipeline(path), engine="dask")
    stored = sorted(p.name for p in first.output.with_name(".cim.stages").glob("panoramas-*/*.parquet"))
    assert {name.split("@")[0] for name in stored} == {"panoramas", "capture_tracks", "capture_coverage",
                                                       "street_coverage", "qa_issues"}
    assert first.output.with_suffix(".report.png").stat().st_size > 10_000
    before = {name: pyogrio.read_dataframe(first.output, layer=name) for name in PARTED[1:]}
    toml = path.read_text(encoding="utf-8").replace('format = "alkis"', 'format = "alkis"\nmin_area_m2 = 80.0')
    path.write_text(toml, encoding="utf-8")
    second = twin.run(twin.read_pipeline(path), engine="dask")
    assert second.stages["panoramas"] == "reused" and second.counts["buildings"] < first.counts["buildings"]
    for name in ("panoramas", "capture_tracks", "capture_coverage", "street_coverage"):
        pd.testing.assert_frame_equal(pd.DataFrame(pyogrio.read_dataframe(second.output, layer=name)),
                                      pd.DataFrame(before[name]))
    views = pyogrio.read_dataframe(second.output, layer="panorama_views")
    assert 0 < len(views) < len(before["panorama_views"])


def test_a_quiet_dask_run_prints_nothing(tmp_path: Path) -> None:
    """Under cron: not a line of the in-process cluster's own logging (dask logs at INFO by default)."""
    import subprocess
    import sys

    path = _pipeline(tmp_path, RAW).path
    done = subprocess.run([sys.executable, "-m", "twin", "run", str(path), "--engine", "dask", "-q"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert (tmp_path / "out" / "cim.gpkg").is_file()


def test_panoramas_far_from_the_buildings_are_refused_by_the_dask_engine_as_by_the_local_one(
    tmp_path: Path, client: Any,
) -> None:
    """The placement check runs on a worker (it reads the panoramas' parts) and refuses with the same error."""
    from twin.errors import CrsError

    raw = tmp_path / "raw"
    (raw / "panoramas").mkdir(parents=True)
    for name in ("boundary.geojson", "fibre", "buildings", "streets"):
        source = RAW / name
        (raw / name).symlink_to(source, target_is_directory=source.is_dir())
    frame = pd.read_csv(RAW / "panoramas" / "recordings.csv", dtype=str, keep_default_na=False)
    frame["X"] = (frame["X"].astype(float) + 1.5).map("{:.8f}".format)  # about 110 km east
    frame.to_csv(raw / "panoramas" / "recordings.csv", index=False)
    path = tmp_path / "pipeline.toml"  # no boundary: the panoramas are not cut away before the check
    path.write_text(pipeline_text(tmp_path / "out" / "cim.gpkg", raw=raw,
                                  city='name = "Kaiserslautern"\ncrs = "EPSG:25832"'), encoding="utf-8")
    pipeline = twin.read_pipeline(path)
    with pytest.raises(CrsError) as local:
        build_layers(pipeline)
    with pytest.raises(CrsError) as remote:
        dask_build(pipeline, client=client, partition_size=1_000, halo_m=100.0)
    assert str(remote.value) == str(local.value) and "recordings.csv" in str(remote.value)
    assert remote.value.fix == local.value.fix
