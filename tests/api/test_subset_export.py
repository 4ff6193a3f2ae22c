"""subset() and ``twin export gpkg``: every layer cut to a box or a district, written as a complete GeoPackage that
GDAL's validator accepts, with styles, field titles, relations and the stored QGIS project."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.api.conftest import views_of
from twin.cli import main
from twin.errors import ArgumentError, NotFoundError
from twin.model import LAYERS

BOX = (410000.0, 5477000.0, 410500.0, 5477400.0)
BBOX = ",".join(str(v) for v in BOX)


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute(sql).fetchall()


def test_a_box_keeps_the_features_intersecting_it_whole(built_model: Path) -> None:
    part = twin.open_model(built_model).subset(BOX)
    area = shapely.box(*BOX)
    for name, spec in LAYERS.items():
        if spec.geometry_type is None or name == "qa_issues":
            continue
        direct = gpd.read_file(built_model, layer=name)
        keep = direct.intersects(area)
        if name == "panoramas":  # and those seeing a kept building
            views = pyogrio.read_dataframe(built_model, layer="panorama_views")
            kept = gpd.read_file(built_model, layer="buildings").loc[lambda b: b.intersects(area), "building_id"]
            keep |= direct["panorama_id"].isin(views.loc[views["building_id"].isin(kept), "panorama_id"])
        if name == "capture_tracks":  # and the drives of the kept panoramas
            keep |= direct["sequence_id"].isin(part.panoramas["sequence_id"])
        expected = direct.loc[keep]
        got = part.layer(name)
        assert len(got) == len(expected) == part.counts[name], name
        assert got.geometry.geom_equals(expected.geometry.reset_index(drop=True).set_axis(got.index)).all(), name
    buildings = part.buildings
    assert 0 < len(buildings) < twin.open_model(built_model).counts["buildings"]
    assert buildings["area_m2"].to_numpy() == pytest.approx(buildings.area.to_numpy(), abs=0.5)  # not cut
    assert part.runs["run_id"].tolist() == gpd.read_file(built_model, layer="runs")["run_id"].tolist()
    assert repr(part).startswith("<CityModel kaiserslautern_cim.gpkg (subset): EPSG:25832")


def test_a_subset_keeps_qa_rows_inside_and_about_its_features(built_model: Path) -> None:
    part = twin.open_model(built_model).subset(BOX)
    issues = gpd.read_file(built_model, layer="qa_issues")
    kept = set(part.buildings["building_id"])
    about = issues.loc[(issues["layer"] == "buildings") & issues["feature_id"].isin(kept)]
    inside = issues.loc[issues.intersects(shapely.box(*BOX))]
    assert len(about) > 0
    assert set(part.qa_issues["message"]) == set(inside["message"]) | set(about["message"])


def test_the_helpers_answer_on_a_subset(built_model: Path) -> None:
    model = twin.open_model(built_model)
    part = model.subset(gpd.GeoSeries([shapely.box(*BOX)], crs="EPSG:25832").to_crs("EPSG:4326"))
    assert set(part.buildings["building_id"]) == set(model.subset(BOX).buildings["building_id"])
    near = part.buildings_near_fibre(30)
    assert set(near["building_id"]) <= set(part.buildings["building_id"])
    assert int(part.aggregate("buildings", by="grid", cell_m=100)["count"].sum()) == len(part.buildings)


def test_a_district_subset(richer_model: Path) -> None:
    part = twin.open_model(richer_model).subset(district="west")
    buildings = gpd.read_file(richer_model, layer="buildings")
    west = buildings.loc[buildings["district"] == "West"]
    assert sorted(part.buildings["building_id"]) == sorted(west["building_id"])
    hull = west.geometry.union_all().convex_hull
    panoramas = gpd.read_file(richer_model, layer="panoramas")
    seeing = set(views_of(richer_model).query("building_id in @west.building_id")["panorama_id"])
    expected = panoramas.loc[panoramas.intersects(hull) | panoramas["panorama_id"].isin(seeing), "panorama_id"]
    assert len(expected) >= len(seeing) > 0
    assert sorted(part.panoramas["panorama_id"]) == sorted(expected)
    tracks = set(part.capture_tracks["sequence_id"])
    assert set(part.panoramas["sequence_id"]) <= tracks
    views = part.layer("panorama_views")
    assert len(views) > 0
    assert set(views["building_id"]) <= set(part.buildings["building_id"])
    assert set(views["panorama_id"]) <= set(part.panoramas["panorama_id"])


def test_subset_refuses_what_is_not_an_area_or_district(built_model: Path, richer_model: Path) -> None:
    model = twin.open_model(built_model)
    with pytest.raises(ArgumentError, match="needs either area or district"):
        model.subset()
    with pytest.raises(ArgumentError, match=r"minx 5\.0 is not below maxx 1\.0"):
        model.subset((5, 0, 1, 10))
    with pytest.raises(ArgumentError, match="the model's buildings name no district"):
        model.subset(district="West")
    with pytest.raises(NotFoundError) as caught:
        twin.open_model(richer_model).subset(district="Wset")
    assert str(caught.value) == "buildings: no district 'Wset'; did you mean 'West'?"


# -- twin export gpkg -----------------------------------------------------------------------------------------------


def test_export_gpkg_of_a_box_is_a_complete_model(built_model: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "ausschnitt.gpkg"
    assert main(["export", "gpkg", str(built_model), str(target), "--bbox", BBOX]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {target} (buildings ")
    expected = twin.open_model(built_model).subset(BOX)
    written = twin.open_model(target)
    assert written.layer_names == list(LAYERS)
    for name in LAYERS:
        assert written.counts[name] == expected.counts.get(name, len(expected.layer(name))), name
    assert sorted(written.buildings["building_id"]) == sorted(expected.buildings["building_id"])
    assert written.runs["run_id"].tolist() == expected.runs["run_id"].tolist()  # no 'to_file' on the runs table
    source_styles = _rows(built_model, "SELECT f_table_name, styleName FROM layer_styles ORDER BY 1")
    assert _rows(target, "SELECT f_table_name, styleName FROM layer_styles ORDER BY 1") == source_styles
    titles = "SELECT table_name, column_name, title FROM gpkg_data_columns ORDER BY 1, 2"
    assert _rows(target, titles) == _rows(built_model, titles)
    relations = "SELECT base_table_name, related_table_name, mapping_table_name FROM gpkgext_relations ORDER BY 3"
    assert _rows(target, relations) == _rows(built_model, relations)
    links = _rows(target, "SELECT count(*) FROM buildings_fibre_connections")[0][0]
    assert links == len(written.fibre_connections.loc[written.fibre_connections["building_id"].isin(
        written.buildings["building_id"])])
    project = _rows(target, "SELECT name, length(content) FROM qgis_projects")
    assert len(project) == 1 and project[0][1] > 1000
    lineage = _rows(target, "SELECT metadata FROM gpkg_metadata")[0][0]
    assert '"exported_from": "' + built_model.name + '"' in lineage
    assert not list(tmp_path.glob(".*"))  # no temporary left beside it


def test_export_gpkg_passes_gdals_validator(built_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "ausschnitt.gpkg"
    assert main(["export", "gpkg", str(built_model), str(target), "--bbox", "7.76,49.44,7.78,49.45",
                 "--crs", "EPSG:4326", "-q"]) == 0
    try:
        import osgeo_utils.samples.validate_gpkg  # noqa: F401
    except ImportError:
        pytest.skip("gdal-utils is not installed in this environment; run make .venv/.installed")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", "-k", "--extra",
                           "--warning-as-error", str(target)], capture_output=True, text=True, timeout=300,
                          check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""
    box = gpd.GeoSeries([shapely.box(7.76, 49.44, 7.78, 49.45)], crs="EPSG:4326").to_crs("EPSG:25832").iloc[0]
    direct = gpd.read_file(built_model, layer="buildings")
    assert pyogrio.read_info(target, layer="buildings")["features"] == int(direct.intersects(box).sum()) > 0


@pytest.mark.parametrize(("arguments", "message"), [
    (["--bbox", "410500,5477000,410000,5477400"],
     "twin: error: bbox '410500,5477000,410000,5477400': minx 410500.0 is not below maxx 410000.0; "
     "give minx,miny,maxx,maxy with minx < maxx and miny < maxy"),
    (["--bbox", "410000,5477000,410500"],
     "twin: error: bbox '410000,5477000,410500': has 3 numbers, not 4; give minx,miny,maxx,maxy with minx < maxx "
     "and miny < maxy"),
    (["--bbox", "a,b,c,d"],
     "twin: error: bbox 'a,b,c,d': is not four numbers separated by commas; give minx,miny,maxx,maxy with "
     "minx < maxx and miny < maxy"),
    (["--district", "Mitte"],
     "twin: error: subset, district: the model's buildings name no district; give [city] districts in the "
     "pipeline file and run it again, or give an area"),
    ([], "twin: error: twin export gpkg: needs the part to export; give --district NAME or --bbox MINX,MINY,MAXX,MAXY"),
    (["--bbox", BBOX, "--crs", "EPSG:99999"],
     "twin: error: --crs 'EPSG:99999': is not a CRS pyproj knows; give e.g. EPSG:4326 or EPSG:25832"),
])
def test_export_gpkg_refuses_a_bad_part_in_one_line(built_model: Path, tmp_path: Path, arguments: list[str],
                                                    message: str, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.gpkg"
    assert main(["export", "gpkg", str(built_model), str(target), *arguments]) == 2
    assert capsys.readouterr().err == message + "\n"
    assert not target.exists()
    assert not list(tmp_path.iterdir())


def test_export_gpkg_refuses_a_box_outside_the_model(built_model: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # degrees given without --crs lie near 0,0 of the model's metres: not an empty part, a mistake
    target = tmp_path / "out.gpkg"
    assert main(["export", "gpkg", str(built_model), str(target), "--bbox", "7.76,49.44,7.78,49.45"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twin: error: subset, area: (7.76, 49.44, 7.78, 49.45) lies outside the model, whose "
                          "features lie within (4") and err.count("\n") == 1
    assert "EPSG:25832" in err and "--crs" in err
    assert not target.exists() and not list(tmp_path.iterdir())
    model = twin.open_model(built_model)
    with pytest.raises(ArgumentError, match="lies outside the model"):
        model.subset((0.0, 0.0, 1000.0, 1000.0))
    assert main(["export", "gpkg", str(built_model), str(target), "--bbox", "7.76,49.44,7.78,49.45",
                 "--crs", "EPSG:4326", "-q"]) == 0
    assert pyogrio.read_info(target, layer="buildings")["features"] > 0


def test_export_gpkg_of_an_unknown_district(richer_model: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "gpkg", str(richer_model), str(tmp_path / "o.gpkg"), "--district", "Nord"]) == 2
    assert capsys.readouterr().err == "twin: error: buildings: no district 'Nord'; districts are Ost, West\n"
    assert main(["export", "gpkg", str(richer_model), str(tmp_path / "o.gpkg"), "--district", "ost", "-q"]) == 0
    written = pd.DataFrame(pyogrio.read_dataframe(tmp_path / "o.gpkg", layer="buildings", read_geometry=False))
    direct = gpd.read_file(richer_model, layer="buildings")
    assert sorted(written["building_id"]) == sorted(direct.loc[direct["district"] == "Ost", "building_id"])


def test_export_gpkg_does_not_overwrite_without_being_asked(built_model: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.gpkg"
    target.write_bytes(b"keep")
    assert main(["export", "gpkg", str(built_model), str(target), "--bbox", BBOX]) == 2
    assert target.read_bytes() == b"keep"
    assert main(["export", "gpkg", str(built_model), str(target), "--bbox", BBOX, "--overwrite", "-q"]) == 0
    assert twin.open_model(target).counts["buildings"] > 0
    assert main(["export", "cityjson", str(built_model), str(tmp_path / "b.json"), "--bbox", BBOX]) == 2
    assert "choose a part for gpkg only" in capsys.readouterr().err
