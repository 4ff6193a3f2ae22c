"""ALKIS Hausumringe and generic footprints read from real Shapefiles and GeoPackages written here."""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.config import BuildingsConfig, HeightsConfig
from twin.errors import SchemaError, SourceError
from twin.model.codes import BUILDING_FUNCTIONS
from twin.sources import alkis, generic, heights

CRS = "EPSG:25832"
STREETS = ["Schillerstraße", "Königstraße", "Rue de la Forêt", "Äußere Öde"]


def _hausumringe(folder: Path, *, encoding: str, cpg: str | None, streets: list[str] | None = None) -> Path:
    names = streets or STREETS
    n = len(names)
    frame = gpd.GeoDataFrame(
        {"OI": [f"DERPLI{i:010d}" for i in range(n)],
         "GFK": (["31001_1000", "3012", "31001_2463", "4711"] * n)[:n],
         "AKTUALIT": [dt.date(2023, 5, 1)] * n,
         "STRASSE": names},
        geometry=[shapely.box(410700 + 30 * i, 5477600, 410720 + 30 * i, 5477620) for i in range(n)],
        crs=CRS,
    )
    path = folder / "hausumringe.shp"
    frame.to_file(path, engine="pyogrio", encoding=encoding)
    if cpg is None:
        path.with_suffix(".cpg").unlink()
    else:
        path.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    return path


@pytest.mark.parametrize(("encoding", "cpg"), [("cp1252", "1252"), ("cp1252", None), ("utf-8", None), ("utf-8", "UTF-8"),
                                                ("latin1", None), ("cp1252", "UTF-8"), ("utf-8", "ISO-8859-1")])
def test_umlauts_survive_every_encoding_and_cpg(tmp_path: Path, encoding: str, cpg: str | None) -> None:
    path = _hausumringe(tmp_path, encoding=encoding, cpg=cpg)
    raw = path.with_suffix(".dbf").read_bytes()
    assert "Schillerstraße".encode(encoding) in raw
    frame = alkis.read(BuildingsConfig(path=path), target_crs=CRS)
    attributes = [json.loads(a) for a in frame["source_attributes"]]
    assert frame["street"].tolist() == STREETS
    assert attributes[0]["AKTUALIT"] == "2023-05-01"
    assert set(attributes[0]) == {"AKTUALIT"}


def test_pipeline_encoding_overrides_a_wrong_cpg(tmp_path: Path) -> None:
    path = _hausumringe(tmp_path, encoding="cp1252", cpg="UTF-8")
    frame = alkis.read(BuildingsConfig(path=path, encoding="cp1252"), target_crs=CRS)
    assert frame["street"].iloc[0] == "Schillerstraße"


def test_function_codes_and_labels(tmp_path: Path) -> None:
    frame = alkis.read(BuildingsConfig(path=_hausumringe(tmp_path, encoding="cp1252", cpg="1252")), target_crs=CRS)
    assert frame["building_id"].tolist() == [f"DERPLI{i:010d}" for i in range(4)]
    assert frame["function_code"].tolist() == ["1000", "3012", "2463", "4711"]
    assert frame["function_label"].tolist() == ["Wohngebäude", "Rathaus", "Garage", "unbekannt"]
    assert frame["function_label_en"].tolist() == ["residential building", "town hall", "garage", "unknown"]
    assert (frame["source"] == "alkis").all()


def test_code_list_covers_the_main_groups() -> None:
    for code in ("1000", "1010", "1100", "2000", "2463", "3000", "3010", "3012", "3020", "3021", "3034", "9998"):
        german, english = BUILDING_FUNCTIONS[code]
        assert german and english


def test_lower_case_columns_and_missing_ids(tmp_path: Path) -> None:
    path = tmp_path / "hu.gpkg"
    gpd.GeoDataFrame({"oi": ["A1", None], "gfk": [1010, 2463]},
                     geometry=[shapely.box(410700, 5477600, 410710, 5477610), shapely.box(410720, 5477600, 410730, 5477610)],
                     crs=CRS).to_file(path)
    first = alkis.read(BuildingsConfig(path=path), target_crs=CRS)
    again = alkis.read(BuildingsConfig(path=path), target_crs=CRS)
    assert first["function_code"].tolist() == ["1010", "2463"]
    assert first["building_id"].iloc[0] == "A1"
    assert first["building_id"].iloc[1].startswith("alkis:")
    assert first["building_id"].tolist() == again["building_id"].tolist()


def test_missing_columns_named(tmp_path: Path) -> None:
    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"ID": ["x"]}, geometry=[shapely.box(410700, 5477600, 410710, 5477610)], crs=CRS).to_file(path)
    with pytest.raises(SchemaError, match=r"^b.gpkg: columns OI, GFK missing \(has ID\); map them in \[buildings.columns\]"):
        alkis.read(BuildingsConfig(path=path), target_crs=CRS)


def test_generic_layer_with_mapping(tmp_path: Path) -> None:
    path = tmp_path / "gebaeude.geojson"
    gpd.GeoDataFrame(
        {"gid": ["g1", "g2"], "nutzung": ["31001_3021", "1000"], "geschosse": ["3", "2,5"], "hoehe": [None, "11.5"],
         "strasse": ["Fruchthallstraße", "Marktstraße"], "baujahr": [1905, 1970]},
        geometry=[shapely.box(7.768, 49.444, 7.7685, 49.4445), shapely.box(7.769, 49.444, 7.7695, 49.4445)],
        crs="EPSG:4326",
    ).to_file(path)
    config = BuildingsConfig(path=path, format="generic", columns={
        "building_id": "gid", "function_code": "nutzung", "storeys": "geschosse", "height_m": "hoehe", "street": "strasse"})
    frame = generic.read(config, target_crs=CRS)
    assert frame.crs == CRS
    assert frame["building_id"].tolist() == ["g1", "g2"]
    assert frame["function_label"].tolist() == ["Allgemein bildende Schule", "Wohngebäude"]
    assert frame["storeys"].tolist() == [3.0, 2.0]
    assert frame["height_m"].isna().tolist() == [True, False]
    assert frame["street"].tolist() == ["Fruchthallstraße", "Marktstraße"]
    assert json.loads(frame["source_attributes"].iloc[0]) == {"baujahr": 1905}
    bad = BuildingsConfig(path=path, format="generic", columns={"building_id": "GID"})
    with pytest.raises(SchemaError, match=r"gebaeude.geojson: columns GID missing"):
        generic.read(bad, target_crs=CRS)


def test_measured_heights_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "lod2.csv"
    pd.DataFrame({"OI": ["A", "B"], "measuredHeight": ["12,5", "x"]}).to_csv(path, sep=";", index=False)
    table = heights.read(HeightsConfig(path=path))
    assert table["building_id"].tolist() == ["A", "B"]
    assert table["height_m"].iloc[0] == 12.5 and pd.isna(table["height_m"].iloc[1])
    with pytest.raises(SchemaError, match=r"lod2.csv: columns gml_id missing"):
        heights.read(HeightsConfig(path=path, id_column="gml_id"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # as street names are written: every word holds a plain letter beside its umlauts and accents
    streets=st.lists(st.text(alphabet="abcdeßäöüÄÖÜéèçñ -.", min_size=1, max_size=20).map(str.strip).filter(bool)
                     .filter(lambda s: all(set(w) & set("abcde") for w in re.split(r"[ .-]+", s) if w)),
                     min_size=1, max_size=5),
    encoding=st.sampled_from(["cp1252", "utf-8"]),
    cpg=st.booleans(),
)
def test_round_trip_of_any_western_text(tmp_path: Path, streets: list[str], encoding: str, cpg: bool) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = _hausumringe(folder, encoding=encoding, cpg={"cp1252": "1252", "utf-8": "UTF-8"}[encoding] if cpg else None,
                        streets=streets)
    try:
        frame, refused = alkis.read(BuildingsConfig(path=path), target_crs=CRS), ""
    except SourceError as exc:  # a few letters that read as words in another code page too: refused, never misread
        frame, refused = None, str(exc)
    if refused:
        assert encoding == "cp1252" and not cpg and "or cp1252" in refused and "name it with encoding" in refused
        return
    assert frame is not None and frame["street"].tolist() == streets


def test_address_and_storeys_become_fields_where_the_file_has_them(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"OI": ["DERPLI1", "DERPLI2"], "GFK": ["31001_1000", "31001_2000"], "strasse": ["Fröbelweg", None],
         "HausNr": ["12a", "3"], "AOG": [3, None], "AKTUALIT": ["2023-05-01"] * 2},
        geometry=[shapely.box(410700, 5477600, 410720, 5477620), shapely.box(410730, 5477600, 410750, 5477630)],
        crs=CRS,
    )
    path = tmp_path / "hausumringe.shp"
    frame.to_file(path, engine="pyogrio", encoding="cp1252")
    out = alkis.read(BuildingsConfig(path=path), target_crs=CRS)
    assert out["street"].tolist()[0] == "Fröbelweg"
    assert pd.isna(out["street"].iloc[1])
    assert out["house_number"].tolist() == ["12a", "3"]
    assert out["storeys"].iloc[0] == 3
    assert pd.isna(out["storeys"].iloc[1])
    assert set(json.loads(out["source_attributes"].iloc[0])) == {"AKTUALIT"}
