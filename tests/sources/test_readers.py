"""Readers on real files written here: every format, bad inputs, round trips with hypothesis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import grid_of
from twin.config import BuildingsConfig, FibreConfig, PanoramasConfig
from twin.errors import ConfigError, CrsError, InputError, RecordError, SchemaError, SourceError
from twin.sources import alkis, cyclomedia, fibre, panorama_csv

CRS = "EPSG:25832"
HALL_LONLAT = (7.7690, 49.4447)


def _shapefile(folder: Path, *, cpg: bool, encoding: str = "cp1252") -> Path:
    frame = gpd.GeoDataFrame(
        {"OI": ["DERPLI0000000001", "DERPLI0000000002"], "GFK": ["31001_1000", "3012"],
         "STRASSE": ["Schillerstraße", "Königstraße"]},
        geometry=[shapely.box(410700, 5477600, 410720, 5477620), shapely.box(410730, 5477600, 410750, 5477630)],
        crs=CRS,
    )
    path = folder / "hausumringe.shp"
    frame.to_file(path, engine="pyogrio", encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink()
    return path


@pytest.mark.parametrize("cpg", [True, False])
def test_alkis_keeps_umlauts_with_and_without_cpg(tmp_path: Path, cpg: bool) -> None:
    path = _shapefile(tmp_path, cpg=cpg)
    assert b"Schillerstra\xdfe" in path.with_suffix(".dbf").read_bytes()
    frame = alkis.read(BuildingsConfig(path=path), target_crs=CRS)
    assert frame["building_id"].tolist() == ["DERPLI0000000001", "DERPLI0000000002"]
    assert frame["function_code"].tolist() == ["1000", "3012"]
    assert frame["function_label"].tolist() == ["Wohngebäude", "Rathaus"]
    assert frame["street"].iloc[0] == "Schillerstraße"


def test_alkis_utf8_without_cpg(tmp_path: Path) -> None:
    path = _shapefile(tmp_path, cpg=False, encoding="utf-8")
    frame = alkis.read(BuildingsConfig(path=path), target_crs=CRS)
    assert frame["street"].iloc[1] == "Königstraße"


def test_alkis_wrong_columns(tmp_path: Path) -> None:
    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"ID": ["x"]}, geometry=[shapely.box(410700, 5477600, 410710, 5477610)], crs=CRS).to_file(path)
    with pytest.raises(SchemaError, match=r"b.gpkg: columns OI, GFK missing \(has ID\); map them in \[buildings.columns\]"):
        alkis.read(BuildingsConfig(path=path), target_crs=CRS)


def test_no_crs_is_an_error_unless_declared(tmp_path: Path) -> None:
    path = _shapefile(tmp_path, cpg=True)
    path.with_suffix(".prj").unlink()
    with pytest.raises(CrsError, match=r"hausumringe.shp: has no CRS; .* set \[buildings\] crs"):
        alkis.read(BuildingsConfig(path=path), target_crs=CRS)
    frame = alkis.read(BuildingsConfig(path=path, crs=CRS), target_crs=CRS)
    assert frame.crs == CRS


def test_corrupt_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "b.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00garbage" * 100)
    with pytest.raises(SourceError, match=r"b.gpkg: cannot be read as a vector file"):
        alkis.read(BuildingsConfig(path=path), target_crs=CRS)


def _csv(path: Path, rows: list[dict[str, object]], sep: str = ",", decimal: str = ".") -> Path:
    pd.DataFrame(rows).to_csv(path, sep=sep, decimal=decimal, index=False)
    return path


def _cyclo_rows(n: int = 3, *, lon: float = HALL_LONLAT[0], lat: float = HALL_LONLAT[1]) -> list[dict[str, object]]:
    return [
        {"imageId": f"IMG{i}", "recordedAt": f"2023-05-16T08:00:0{i}.250Z", "X": lon + i * 1e-4, "Y": lat,
         "Z": 280.5, "srs": "EPSG:4326", "recorderDirection": 90.0, "orientation": 361.0 + i,
         "groundLevelOffset": 2.5, "latitudePrecision": 0.03, "longitudePrecision": 0.04, "heightPrecision": 0.05,
         "expiredAt": ""}
        for i in range(n)
    ]


def test_cyclomedia_reprojects_to_the_known_point(tmp_path: Path) -> None:
    path = _csv(tmp_path / "rec.csv", _cyclo_rows(1))
    frame = cyclomedia.read(PanoramasConfig(path=path, format="cyclomedia"), target_crs=CRS)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(*HALL_LONLAT)
    point = frame.geometry.iloc[0]
    assert abs(point.x - x) < 0.01 and abs(point.y - y) < 0.01
    assert abs(point.x - 410767) < 50 and abs(point.y - 5477621) < 50
    assert point.z == pytest.approx(280.5)
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2023-05-16T08:00:00.250Z")
    assert frame["gnss_accuracy_m"].iloc[0] == pytest.approx(0.05)


def test_expired_cyclomedia_recordings_are_kept_and_reported(tmp_path: Path) -> None:
    rows = _cyclo_rows(3)
    rows[1]["expiredAt"] = "2024-02-01T00:00:00Z"
    rows[2]["expiredAt"] = "2999-01-01T00:00:00Z"  # announced, not yet passed
    path = _csv(tmp_path / "rec.csv", rows)
    frame = cyclomedia.read(PanoramasConfig(path=path, format="cyclomedia"), target_crs=CRS)
    assert len(frame) == 3
    issues = frame.attrs["qa_issues"]
    assert issues["feature_id"].tolist() == ["IMG1"]
    assert issues["check"].tolist() == ["recording_expired"]
    assert "2024-02-01" in issues["message"].iloc[0]
    assert issues.geometry.iloc[0].distance(frame.geometry.iloc[1]) < 0.01


def test_cyclomedia_columns_in_another_case_read_alike(tmp_path: Path) -> None:
    rows = _cyclo_rows(3)
    rows[1]["expiredAt"] = "2024-02-01T00:00:00Z"
    expected = cyclomedia.read(PanoramasConfig(path=_csv(tmp_path / "a.csv", rows), format="cyclomedia"), target_crs=CRS)
    shouting = [{(k.upper() if k in ("srs", "imageId") else k[0].upper() + k[1:]): v for k, v in row.items()} for row in rows]
    assert "IMAGEID" in shouting[0] and "RecordedAt" in shouting[0] and "SRS" in shouting[0]
    frame = cyclomedia.read(PanoramasConfig(path=_csv(tmp_path / "b.csv", shouting), format="cyclomedia"), target_crs=CRS)
    assert_geodataframe_equal(frame, expected)
    assert frame.attrs["qa_issues"]["feature_id"].tolist() == ["IMG1"]


def test_german_csv_with_semicolon_and_decimal_comma(tmp_path: Path) -> None:
    rows = [{"Bild": f"b{i}.jpg", "Zeit": f"2023-05-16 10:00:0{i}", "Ost": 410767.25 + i, "Nord": 5477621.5,
             "Richtung": 45.5} for i in range(3)]
    path = _csv(tmp_path / "export.csv", rows, sep=";", decimal=",")
    assert "410767,25" in path.read_text()
    config = PanoramasConfig(path=path, crs=CRS, timezone="Europe/Berlin",
                             columns={"image_name": "Bild", "panorama_id": "Bild", "captured_at": "Zeit",
                                      "x": "Ost", "y": "Nord", "heading_deg": "Richtung"})
    frame = panorama_csv.read(config, target_crs=CRS)
    assert frame.geometry.iloc[0].x == pytest.approx(410767.25)
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2023-05-16T08:00:00Z")
    assert frame["heading_deg"].to_numpy() == pytest.approx(grid_of(frame, [45.5] * 3), abs=0.01)


def test_swapped_lat_lon_is_an_error(tmp_path: Path) -> None:
    path = _csv(tmp_path / "rec.csv", _cyclo_rows(2, lon=HALL_LONLAT[1], lat=HALL_LONLAT[0]))
    with pytest.raises(CrsError, match=r"rec.csv: coordinates .* do not fit EPSG:25832 \(latitude and longitude swapped\?\)"):
        cyclomedia.read(PanoramasConfig(path=path, format="cyclomedia"), target_crs=CRS)


def test_truncated_csv(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text('imageId,recordedAt,X,Y\nA,2023-05-16T08:00:00Z,7.77,49.44\nB,"2023-05-16T08:00', encoding="utf-8")
    with pytest.raises(RecordError, match=r"rec.csv: broken CSV .*truncated\?"):
        cyclomedia.read(PanoramasConfig(path=path, format="cyclomedia", crs="EPSG:4326"), target_crs=CRS)


def test_bad_time_names_row_and_column(tmp_path: Path) -> None:
    rows = _cyclo_rows(3)
    rows[1]["recordedAt"] = "31.02.2021 10:00"
    path = _csv(tmp_path / "rec.csv", rows)
    with pytest.raises(RecordError) as info:
        cyclomedia.read(PanoramasConfig(path=path, format="cyclomedia"), target_crs=CRS)
    assert str(info.value).startswith("rec.csv, column recordedAt: row 3: '31.02.2021 10:00' is not a date and time")


def test_routes_without_a_kind_column_load_as_unknown_with_one_info_row(tmp_path: Path) -> None:
    path = tmp_path / "routes.geojson"
    gpd.GeoDataFrame({"Art": ["Graben"]}, geometry=[shapely.LineString([(7.76, 49.44), (7.77, 49.44)])],
                     crs="EPSG:4326").to_file(path)
    unknown = fibre.read_routes(FibreConfig(routes=path), target_crs=CRS)  # a plan that names no kind still loads
    assert unknown["kind"].tolist() == ["unknown"]
    info = unknown.attrs["qa_issues"]
    assert info[["feature_id", "check", "severity"]].values.tolist() == [["routes.geojson", "kind_unknown", "info"]]
    assert "all 1 have kind unknown; map the column in [fibre.columns]" in info["message"].iloc[0]
    with pytest.raises(SchemaError, match=r"routes.geojson: columns Bauweise missing \(has Art\)"):
        fibre.read_routes(FibreConfig(routes=path, columns={"kind": "Bauweise"}), target_crs=CRS)  # mapped, absent
    frame = fibre.read_routes(FibreConfig(routes=path, columns={"kind": "Art"}), target_crs=CRS)
    assert frame["kind"].tolist() == ["trench"]  # "Graben", as German plans write it
    assert frame["route_id"].tolist() == ["R00001"]


def test_fibre_values_in_german_become_codes_and_unknown_ones_are_reported(tmp_path: Path) -> None:
    routes, nodes = tmp_path / "trassen.geojson", tmp_path / "knoten.geojson"
    line = shapely.LineString([(7.76, 49.44), (7.77, 49.44)])
    gpd.GeoDataFrame({"Art": ["Leerrohr", "Freileitung", "Tiefbau"], "Status": ["in Betrieb", "geplant", "GEBAUT"]},
                     geometry=[line] * 3, crs="EPSG:4326").to_file(routes)
    gpd.GeoDataFrame({"Typ": ["Zentrale", "KVZ", "Standort", "Ampel"], "name": ["Rathaus", "V1", "Schule", "X"]},
                     geometry=[shapely.Point(7.76, 49.44)] * 4, crs="EPSG:4326").to_file(nodes)
    config = FibreConfig(routes=routes, nodes=nodes, route_columns={"kind": "Art", "status": "Status"},
                         node_columns={"kind": "Typ"})
    read_routes = fibre.read_routes(config, target_crs=CRS)
    assert read_routes["kind"].tolist() == ["duct", "aerial", "trench"]
    assert read_routes["status"].tolist() == ["in_service", "planned", "built"]
    read_nodes = fibre.read_nodes(config, target_crs=CRS)
    assert read_nodes["kind"].tolist() == ["hub", "distribution", "site", "Ampel"]
    assert fibre.code_issues(read_routes, "fibre_routes", id_column="route_id").empty
    issues = fibre.code_issues(read_nodes, "fibre_nodes", id_column="node_id")
    assert issues[["feature_id", "check", "severity"]].values.tolist() == [["N00004", "unknown_code", "warning"]]
    assert issues["message"].iloc[0] == ("kind 'Ampel' on 1 feature(s) (N00004) is no code of the model "
                                         "(hub, distribution, site); kept as written; correct it in the source "
                                         "or map it in [fibre.values]")
    mapped = fibre.read_nodes(FibreConfig(routes=routes, nodes=nodes, node_columns={"kind": "Typ"},
                                          values={"Ampel": "distribution", "Standort": "hub"}), target_crs=CRS)
    assert mapped["kind"].tolist() == ["hub", "distribution", "hub", "distribution"]  # the pipeline's mapping first
    assert fibre.code_issues(mapped, "fibre_nodes", id_column="node_id").empty


def test_fibre_value_mapping_takes_only_codes(tmp_path: Path) -> None:
    from twin.config import FIBRE_CODES, read_pipeline
    from twin.model import LAYERS

    codes = {*LAYERS["fibre_routes"].field("kind").values, *LAYERS["fibre_routes"].field("status").values,
             *LAYERS["fibre_nodes"].field("kind").values}
    assert set(FIBRE_CODES) == codes
    routes = tmp_path / "routes.geojson"
    gpd.GeoDataFrame({"kind": ["trench"]}, geometry=[shapely.LineString([(7.76, 49.44), (7.77, 49.44)])],
                     crs="EPSG:4326").to_file(routes)
    toml = tmp_path / "city.toml"
    toml.write_text('[city]\nname = "X"\n[output]\npath = "out/x.gpkg"\n[fibre]\nroutes = "routes.geojson"\n'
                    '[fibre.values]\nAmpel = "verteiler"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[fibre\] values: Ampel = 'verteiler' \(choose trench, duct, aerial"):
        read_pipeline(toml)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lon=st.floats(6.0, 10.0), lat=st.floats(47.5, 55.0), heading=st.floats(-720, 720),
    seconds=st.integers(0, 10**9), tz_hours=st.integers(-12, 14),
)
def test_cyclomedia_round_trip(tmp_path: Path, lon: float, lat: float, heading: float, seconds: int, tz_hours: int) -> None:
    when = dt.datetime(1995, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    local = when.astimezone(dt.timezone(dt.timedelta(hours=tz_hours)))
    rows = _cyclo_rows(1, lon=lon, lat=lat)
    rows[0].update(recordedAt=local.isoformat(), orientation=heading)
    path = _csv(tmp_path / "rt.csv", rows)
    frame = cyclomedia.read(PanoramasConfig(path=path, format="cyclomedia"), target_crs="EPSG:4326")
    point = frame.geometry.iloc[0]
    assert point.x == pytest.approx(lon, abs=1e-9)
    assert point.y == pytest.approx(lat, abs=1e-9)
    assert frame["captured_at"].iloc[0] == pd.Timestamp(when)
    assert frame["heading_deg"].iloc[0] == pytest.approx(heading)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(min_size=0, max_size=400),
                 st.lists(st.sampled_from([b"imageId,recordedAt,X,Y\n", b"A,2023-05-16T08:00:00Z,7.7,49.4\n",
                                           b",", b";", b"\r", b"\x00", b'"', b"\xdf", b"nan", b"1e999"]),
                          max_size=12).map(b"".join)))
def test_garbled_csv_raises_only_input_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbled.csv"
    path.write_bytes(data)
    try:
        frame = cyclomedia.read(PanoramasConfig(path=path, format="cyclomedia", crs="EPSG:4326"), target_crs=CRS)
    except InputError:
        return
    assert isinstance(frame, gpd.GeoDataFrame)
    assert np.isfinite(shapely.get_coordinates(frame.geometry.to_numpy())).all()


def test_a_run_with_routes_without_kind_publishes_them_and_the_info_row(tmp_path: Path) -> None:
    from twin.cli import main

    line = shapely.LineString([(410000, 5480000), (410100, 5480000)])
    gpd.GeoDataFrame({"id": ["T1"]}, geometry=[line], crs=CRS).to_file(tmp_path / "trassen.geojson")
    gpd.GeoDataFrame({"kind": ["hub"], "name": ["Rathaus"]}, geometry=[shapely.Point(410000, 5480000)],
                     crs=CRS).to_file(tmp_path / "knoten.geojson")
    toml = tmp_path / "ort.toml"
    toml.write_text('[city]\nname = "Ort"\n[output]\npath = "out/ort.gpkg"\n[fibre]\nroutes = "trassen.geojson"\n'
                    'nodes = "knoten.geojson"\n', encoding="utf-8")
    assert main(["run", "--quiet", str(toml)]) == 0
    routes = pyogrio.read_dataframe(tmp_path / "out" / "ort.gpkg", layer="fibre_routes")
    issues = pyogrio.read_dataframe(tmp_path / "out" / "ort.gpkg", layer="qa_issues")
    assert routes["kind"].tolist() == ["unknown"]
    assert issues.loc[issues["check"] == "kind_unknown", "feature_id"].tolist() == ["trassen.geojson"]
    assert "unknown_code" not in set(issues["check"])  # unknown is a code of the model, not an unknown value
