"""``[output] split_by = "municipality"``: one complete model per municipality beside the region's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.conftest import pipeline_text
from twin.errors import SchemaError

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"
WEST, EAST = "07312000", "07335001"


def _raw(folder: Path, *, changed: str | None = None) -> Path:
    """The sample with the eastern half of the footprints in a second municipality (AGS); `changed` gets a new GFK."""
    raw = folder / "raw"
    (raw / "buildings").mkdir(parents=True, exist_ok=True)
    for name in ("boundary.geojson", "fibre", "panoramas", "streets"):
        if not (raw / name).exists():
            (raw / name).symlink_to(RAW / name, target_is_directory=(RAW / name).is_dir())
    frame = pyogrio.read_dataframe(RAW / "buildings" / "hausumringe.shp", encoding="cp1252")
    east = frame.geometry.representative_point().x > frame.geometry.representative_point().x.median()
    frame.loc[east, "AGS"] = EAST
    if changed is not None:
        frame.loc[frame["OI"] == changed, "GFK"] = "31001_2463"
    pyogrio.write_dataframe(frame, raw / "buildings" / "hausumringe.shp", encoding="cp1252")
    return raw


def _pipeline(folder: Path, raw: Path, **output: str) -> twin.Pipeline:
    extra = "".join(f"\n{key} = {value}" for key, value in output.items())
    target = folder / "out" / "cim.gpkg"
    text = pipeline_text(target, raw=raw).replace(f'path = "{target}"',
                                                  f'path = "{target}"\nsplit_by = "municipality"{extra}', 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    return twin.read_pipeline(path)


def _ags(buildings: pd.DataFrame) -> pd.Series:
    return buildings["source_attributes"].str.extract(r'"AGS":"(\d+)"', expand=False)


def test_one_complete_model_per_municipality_and_only_changed_ones_rebuilt(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    pipeline = _pipeline(tmp_path, raw)
    region = twin.run(pipeline)
    folder = tmp_path / "out" / "cim_municipalities"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{WEST}.gpkg", f"{EAST}.gpkg", f"{WEST}.report.md", f"{EAST}.report.md"])
    whole = pyogrio.read_dataframe(region.output, layer="buildings")
    parts = {key: pyogrio.read_dataframe(folder / f"{key}.gpkg", layer="buildings") for key in (WEST, EAST)}
    for key, part in parts.items():
        assert set(_ags(part)) == {key}
        expected = whole.loc[_ags(whole) == key].sort_values("building_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(pd.DataFrame(part.sort_values("building_id").reset_index(drop=True)),
                                      pd.DataFrame(expected))
        with sqlite3.connect(folder / f"{key}.gpkg") as con:
            assert con.execute("SELECT count(*) FROM layer_styles").fetchone()[0] > 0
            assert con.execute("SELECT count(*) FROM qgis_projects").fetchone()[0] == 1
            assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        con.close()
        routes = pyogrio.read_dataframe(folder / f"{key}.gpkg", layer="fibre_routes")
        hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(part.geometry.to_numpy())))
        assert len(routes) > 0 and shapely.intersects(routes.geometry.to_numpy(), hull).all()
    assert len(parts[WEST]) + len(parts[EAST]) == len(whole)

    east_file = (folder / f"{EAST}.gpkg").read_bytes()
    one = parts[WEST]["building_id"].iloc[0]
    _raw(tmp_path, changed=one)
    twin.run(twin.read_pipeline(pipeline.path))
    assert (folder / f"{EAST}.gpkg").read_bytes() == east_file  # unchanged inputs: not rebuilt
    west = pyogrio.read_dataframe(folder / f"{WEST}.gpkg", layer="buildings")
    assert west.loc[west["building_id"] == one, "function_code"].tolist() == ["2463"]
    changes = pyogrio.read_dataframe(folder / f"{WEST}.gpkg", layer="changes")
    assert changes[["layer", "feature_id", "change"]].values.tolist() == [["buildings", one, "modified"]]
    runs = pyogrio.read_dataframe(folder / f"{WEST}.gpkg", layer="runs", read_geometry=False)
    assert len(runs) == 2


def test_municipalities_from_a_boundaries_layer_with_key_and_name(tmp_path: Path) -> None:
    buildings = pyogrio.read_dataframe(RAW / "buildings" / "hausumringe.shp", encoding="cp1252").to_crs("EPSG:25832")
    x0, y0, x1, y1 = buildings.total_bounds
    middle = (x0 + x1) / 2
    areas = gpd.GeoDataFrame({"ars": ["073120001", "073120002"], "gen": ["Kaiserslautern-West", "Kaiserslautern-Ost"]},
                             geometry=[shapely.box(x0 - 10, y0 - 10, middle, y1 + 10),
                                       shapely.box(middle, y0 - 10, x1 + 10, y1 + 10)], crs="EPSG:25832")
    areas.to_file(tmp_path / "gemeinden.geojson", engine="pyogrio")
    pipeline = _pipeline(tmp_path, RAW, municipalities=f'"{tmp_path / "gemeinden.geojson"}"',
                         municipality_key='"ars"', municipality_name='"gen"')
    region = twin.run(pipeline, report=False)
    folder = tmp_path / "out" / "cim_municipalities"
    counts = {}
    for key, name in zip(areas["ars"], areas["gen"], strict=True):
        part = pyogrio.read_dataframe(folder / f"{key}.gpkg", layer="buildings")
        points = part.geometry.representative_point()
        assert points.within(areas.loc[areas["ars"] == key].geometry.iloc[0]).all()
        counts[key] = len(part)
        with sqlite3.connect(folder / f"{key}.gpkg") as con:
            assert name in con.execute("SELECT metadata FROM gpkg_metadata").fetchone()[0]
        con.close()
    assert sum(counts.values()) == region.counts["buildings"] and min(counts.values()) > 0


def test_a_dask_run_splits_like_a_local_one(tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    local = _pipeline(tmp_path / "local", raw)
    dask = _pipeline(tmp_path / "dask", raw)
    twin.run(local, report=False)
    twin.run(dask, report=False, engine="dask")
    for key in (WEST, EAST):
        expected, actual = (
            pyogrio.read_dataframe(p.output.path.parent / "cim_municipalities" / f"{key}.gpkg", layer="buildings")
            .sort_values("building_id").reset_index(drop=True) for p in (local, dask))
        pd.testing.assert_frame_equal(pd.DataFrame(actual), pd.DataFrame(expected))
        expected, actual = (
            pyogrio.read_dataframe(p.output.path.parent / "cim_municipalities" / f"{key}.gpkg", layer="panorama_views")
            for p in (local, dask))
        assert len(expected) > 0
        pd.testing.assert_frame_equal(actual, expected)  # its own buildings' views, in the same order


def test_a_municipalities_layer_without_the_key_column_is_refused(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.box(410_000, 5_477_000, 411_000, 5_478_000)], crs="EPSG:25832").to_file(
        tmp_path / "gemeinden.geojson", engine="pyogrio")
    pipeline = _pipeline(tmp_path, RAW, municipalities=f'"{tmp_path / "gemeinden.geojson"}"')
    with pytest.raises(SchemaError, match=r"^gemeinden.geojson: columns AGS missing; name the key and name columns"):
        twin.run(pipeline, report=False)
    assert not pipeline.output.path.exists()


def test_an_edited_municipalities_layer_rebuilds_the_municipalities_models(tmp_path: Path) -> None:
    """The layer is an input: moving a border or renaming a municipality is no "inputs unchanged" night."""
    buildings = pyogrio.read_dataframe(RAW / "buildings" / "hausumringe.shp", encoding="cp1252").to_crs("EPSG:25832")
    x0, y0, x1, y1 = buildings.total_bounds

    def write(border: float, east_name: str) -> None:
        areas = gpd.GeoDataFrame({"ars": ["073120001", "073120002"], "gen": ["Kaiserslautern-West", east_name]},
                                 geometry=[shapely.box(x0 - 10, y0 - 10, border, y1 + 10),
                                           shapely.box(border, y0 - 10, x1 + 10, y1 + 10)], crs="EPSG:25832")
        areas.to_file(tmp_path / "gemeinden.geojson", engine="pyogrio")

    write((x0 + x1) / 2, "Kaiserslautern-Ost")
    pipeline = _pipeline(tmp_path, RAW, municipalities=f'"{tmp_path / "gemeinden.geojson"}"',
                         municipality_key='"ars"', municipality_name='"gen"')
    twin.run(pipeline, report=False)
    folder = tmp_path / "out" / "cim_municipalities"
    before = {key: len(pyogrio.read_dataframe(folder / f"{key}.gpkg", layer="buildings"))
              for key in ("073120001", "073120002")}

    border = x0 + (x1 - x0) / 4
    write(border, "Kaiserslautern-Ost")
    moved = twin.run(twin.read_pipeline(pipeline.path), report=False)
    assert set(moved.stages.values()) != {"unchanged"}
    west = pyogrio.read_dataframe(folder / "073120001.gpkg", layer="buildings")
    east = pyogrio.read_dataframe(folder / "073120002.gpkg", layer="buildings")
    assert (west.geometry.representative_point().x < border).all()
    assert (east.geometry.representative_point().x >= border).all()
    assert len(west) < before["073120001"] and len(east) > before["073120002"]
    assert len(west) + len(east) == sum(before.values())

    write(border, "Kaiserslautern-Ost (Stadtteile)")
    renamed = twin.run(twin.read_pipeline(pipeline.path), report=False)
    assert set(renamed.stages.values()) != {"unchanged"}
    with sqlite3.connect(folder / "073120002.gpkg") as con:
        assert "Kaiserslautern-Ost (Stadtteile)" in con.execute("SELECT metadata FROM gpkg_metadata").fetchone()[0]
    con.close()
