"""The districts layer: read from any vector file, names from a named or recognised column, refused when unclear."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.conftest import PipelineFactory
from twin.cli import main
from twin.errors import CrsError, GeometryError, SchemaError
from twin.sources import districts

X0, Y0 = 410_000.0, 5_477_000.0


def _write(path: Path, columns: dict[str, list[object]], geometry: list[object], *, crs: str = "EPSG:25832") -> Path:
    frame = gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:25832").to_crs(crs)
    pyogrio.write_dataframe(frame, path)
    return path


def test_districts_are_read_reprojected_with_the_recognised_name_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "ortsbezirke.geojson",
                  {"nr": [1, 2, 3, 4], "Ortsbezirk": ["Hohenecken", "Erfenbach", None, "Siegelbach"]},
                  [shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100),
                   shapely.box(X0 + 200, Y0, X0 + 300, Y0 + 100), shapely.Point(X0, Y0)], crs="EPSG:4326")
    read = districts.read(path, target_crs="EPSG:25832")
    assert read.crs == "EPSG:25832"
    assert read["district"].tolist() == ["Hohenecken", "Erfenbach", None]  # the point is no district
    assert read.geometry.iloc[0].bounds == pytest.approx((X0, Y0, X0 + 100, Y0 + 100), abs=0.01)


def test_a_districts_layer_whose_name_column_cannot_be_told_is_refused(tmp_path: Path) -> None:
    two = _write(tmp_path / "stadtteile.gpkg", {"name": ["a"], "Stadtteil": ["b"]}, [shapely.box(X0, Y0, X0 + 9, Y0 + 9)])
    with pytest.raises(SchemaError) as caught:
        districts.read(two, target_crs="EPSG:25832")
    assert str(caught.value) == ("stadtteile.gpkg: has several name columns (name, Stadtteil); columns: name, Stadtteil; "
                                 "set [city] districts_name to the column that holds the district's name")
    none = _write(tmp_path / "bezirke.gpkg", {"STT_NR": ["01"]}, [shapely.box(X0, Y0, X0 + 9, Y0 + 9)])
    with pytest.raises(SchemaError, match=r"^bezirke\.gpkg: has no name column; columns: STT_NR; set"):
        districts.read(none, target_crs="EPSG:25832")
    assert districts.read(none, target_crs="EPSG:25832", name_column="STT_NR")["district"].tolist() == ["01"]
    numbered = _write(tmp_path / "nummern.gpkg", {"nr": [7.0, None]},
                      [shapely.box(X0, Y0, X0 + 9, Y0 + 9), shapely.box(X0 + 9, Y0, X0 + 19, Y0 + 9)])
    assert districts.read(numbered, target_crs="EPSG:25832", name_column="nr")["district"].tolist() == ["7", None]
    with pytest.raises(SchemaError) as caught:
        districts.read(none, target_crs="EPSG:25832", name_column="STT_NAME")
    assert str(caught.value) == ("bezirke.gpkg, column STT_NAME: not found (columns: STT_NR); "
                                 "set [city] districts_name to the column that holds the district's name")
    points = _write(tmp_path / "punkte.gpkg", {"name": ["a"]}, [shapely.Point(X0, Y0)])
    with pytest.raises(GeometryError, match=r"^punkte\.gpkg: holds no polygon; give the polygon layer"):
        districts.read(points, target_crs="EPSG:25832")


def test_run_with_an_unclear_districts_layer_exits_2_with_one_line_and_writes_nothing(
    make_pipeline: PipelineFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    parts = _write(tmp_path / "stadtteile.geojson", {"name": ["a"], "district": ["b"]},
                   [shapely.box(X0, Y0, X0 + 9, Y0 + 9)])
    raw = Path(__file__).resolve().parents[2] / "data" / "raw"
    path = make_pipeline(city=f'name = "Kaiserslautern"\nboundary = "{raw}/boundary.geojson"\ndistricts = "{parts}"')
    assert main(["run", "-q", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "stadtteile.geojson: has several name columns (name, district)" in err
    assert "set [city] districts_name" in err
    assert not (tmp_path / "out" / "cim.gpkg").exists()


def test_district_names_decoded_in_the_wrong_code_page_are_reported(
    make_pipeline: PipelineFactory, tmp_path: Path,
) -> None:
    import twin

    raw = Path(__file__).resolve().parents[2] / "data" / "raw"
    whole = gpd.read_file(raw / "boundary.geojson").to_crs("EPSG:25832").geometry.iloc[0]
    parts = _write(tmp_path / "stadtteile.shp", {"name": ["LÃ¤mmchesberg"]}, [whole])  # UTF-8 read as Latin-1
    path = make_pipeline(city=f'name = "Kaiserslautern"\nboundary = "{raw}/boundary.geojson"\ndistricts = "{parts}"',
                         panoramas="", fibre="")
    result = twin.run(twin.read_pipeline(path), report=False)
    issues = pyogrio.read_dataframe(result.output, layer="qa_issues", read_geometry=False)
    wrong = issues.loc[issues["check"] == "mis_decoded_text"]
    assert len(wrong) == result.counts["buildings"] > 0
    assert wrong["message"].str.startswith("district 'LÃ¤mmchesberg' looks decoded in the wrong code page").all()


def test_a_districts_file_without_crs_names_the_setting_that_declares_it(tmp_path: Path) -> None:
    """Not ``[city] crs``: that is the model's CRS, and setting it would not read the file right."""
    path = tmp_path / "bezirke.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):  # a file as some offices deliver it
        pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["Mitte"]}, geometry=[shapely.box(X0, Y0, X0 + 9, Y0 + 9)]),
                                path)
    with pytest.raises(CrsError) as caught:
        districts.read(path, target_crs="EPSG:25832")
    assert str(caught.value) == "bezirke.shp: has no CRS; add a .prj / CRS to the file or set [city] districts_crs"
    assert len(districts.read(path, target_crs="EPSG:25832", declared_crs="EPSG:25832")) == 1
