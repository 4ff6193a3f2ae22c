"""`twin init` on deliveries as offices make them: an ALKIS GeoPackage in Gauss-Krüger, picture lists
as JSON, date and time in two columns, a zipped Shapefile, an earlier model lying in the folder."""

from __future__ import annotations

import json
import tomllib
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from twin.init import init_city, inspect_folder
from twin.runner.validate import validate
from twin.sources.vector import read_vector_raw

#: Otterbach (Pfalz) in Gauss-Krüger zone 3 (EPSG:31467) and in WGS84.
GK_X, GK_Y = 3_410_000.0, 5_485_000.0
LON, LAT = 7.7345, 49.4840


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _alkis_geopackage(folder: Path) -> Path:
    """Parcels (more of them than buildings), buildings with written functions, the municipality."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "alkis_auszug.gpkg"
    parcels = [shapely.box(GK_X + 30 * i, GK_Y, GK_X + 30 * i + 29, GK_Y + 40) for i in range(60)]
    pyogrio.write_dataframe(gpd.GeoDataFrame({"flurstueckskennzeichen": [f"F{i}" for i in range(60)]},
                                             geometry=parcels, crs="EPSG:31467"), path, layer="ax_flurstueck")
    houses = [shapely.box(GK_X + 30 * i + 5, GK_Y + 5, GK_X + 30 * i + 17, GK_Y + 15) for i in range(40)]
    functions = ["Wohnhaus", "Garage", "Scheune", "Gartenlaube am See"] * 10
    pyogrio.write_dataframe(gpd.GeoDataFrame({"gml_id": [f"DERPALK{i:06d}" for i in range(40)], "funktion": functions},
                                             geometry=houses, crs="EPSG:31467"), path, layer="ax_gebaeude")
    pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["Otterbach"]}, geometry=[shapely.box(GK_X - 100, GK_Y - 100,
                                             GK_X + 2000, GK_Y + 200)], crs="EPSG:31467"), path, layer="ax_gemeinde")
    return path


def test_buildings_layer_by_name_and_a_legacy_crs_replaced(tmp_path: Path) -> None:
    _alkis_geopackage(tmp_path / "inputs")
    path, guess = init_city("Otterbach", tmp_path / "inputs", pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["buildings"]["layer"] == "ax_gebaeude"  # not the parcels, though they are more
    assert config["city"]["crs"] == "EPSG:25832" and config["city"]["boundary_layer"] == "ax_gemeinde"
    assert any("EPSG:31467 is an older German CRS; the model uses EPSG:25832" in note for note in guess.notes["city"])
    buildings = twin.run(twin.read_pipeline(path), report=False).output
    frame = pyogrio.read_dataframe(buildings, layer="buildings").sort_values("building_id")
    # written functions become codes (the word stays as label where none fits) and give their default heights
    assert frame["function_code"].tolist()[:3] == ["1010", "2463", "2721"] and pd.isna(frame["function_code"].iloc[3])
    assert frame["function_label"].tolist()[:4] == ["Wohnhaus", "Garage", "Scheune", "Gartenlaube am See"]
    assert frame["height_m"].iloc[1] < frame["height_m"].iloc[0]


def _picture_folder(folder: Path) -> None:
    """A Mapillary picture list beside a fibre plan, and an earlier model of the town in data/."""
    folder.mkdir(parents=True, exist_ok=True)
    start = int(datetime(2026, 5, 4, 9, 14, 3, tzinfo=UTC).timestamp() * 1000)
    items = [{"id": str(100 + i), "captured_at": start + 2000 * i, "compass_angle": 90.0, "sequence": "s1",
              "computed_geometry": {"type": "Point", "coordinates": [LON + i * 1e-4, LAT]}} for i in range(6)]
    (folder / "mapillary_images.json").write_text(json.dumps({"data": items}))
    gpd.GeoDataFrame({"TYP": ["Zentrale", "Standort"], "BEZEICHNUN": ["Rathaus", "Schule"]},
                     geometry=shapely.points([(LON, LAT), (LON + 1e-3, LAT)]), crs="EPSG:4326").to_file(
        folder / "glasfaser_knoten.geojson")
    gpd.GeoDataFrame({"ART": ["Graben"], "ANZAHL_ROHRE": [2], "FASERN": [96]},
                     geometry=[shapely.LineString([(LON, LAT), (LON + 1e-3, LAT)])], crs="EPSG:4326").to_file(
        folder / "glasfaser_trassen.geojson")
    old = folder / "data" / "otterbach_cim.gpkg"
    old.parent.mkdir()
    for layer in ("buildings", "qa_issues", "runs", "changes", "fibre_routes"):
        pyogrio.write_dataframe(gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.LineString([(0, 0), (1, 1)])],
                                                 crs="EPSG:25832"), old, layer=layer)


def test_a_picture_list_is_proposed_and_an_earlier_model_is_no_input(tmp_path: Path) -> None:
    _picture_folder(tmp_path / "inputs")
    assert all(s.path.suffix != ".gpkg" for s in inspect_folder(tmp_path / "inputs"))
    path, _ = init_city("Otterbach", tmp_path / "inputs", pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["panoramas"] == {"path": "../inputs/mapillary_images.json", "format": "json"}
    assert config["fibre"]["routes"] == "../inputs/glasfaser_trassen.geojson"
    assert config["fibre"]["columns"]["name"] == "BEZEICHNUN"  # a Shapefile-cut name still found
    assert {"ducts": "ANZAHL_ROHRE", "fibres": "FASERN"}.items() <= config["fibre"]["columns"].items()
    assert config["fibre"]["hub"] == "Rathaus"


def test_dates_and_times_in_two_columns_and_headings_in_gon(tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    rows = ["Bild;Datum;Uhrzeit;Rechtswert;Hochwert;Höhe;Richtung [gon]"]
    rows += [f"{i:05d}.jpg;04.05.2026;11:14:{3 + 2 * i:02d};410000,{i}0;5485000,00;240,5;100,000" for i in range(9)]
    (folder / "befahrung.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    path, guess = init_city("Otterbach", folder, pipelines=tmp_path / "pipelines")
    config = _toml(path)["panoramas"]
    assert config["heading_unit"] == "gon"
    assert {"captured_at": "Datum", "time_of_day": "Uhrzeit", "z": "Höhe"}.items() <= config["columns"].items()
    assert any("befahrung.csv: 9 rows" in note for note in guess.notes["panoramas"])


def test_a_gpx_track_beside_the_photo_folder_and_a_zipped_shapefile(tmp_path: Path) -> None:
    from tests.sources.test_panorama_exports import _camera_jpeg

    folder = tmp_path / "inputs"
    (folder / "fotos").mkdir(parents=True)
    for i in range(2):
        _camera_jpeg(folder / "fotos" / f"R{i}.JPG", when=datetime(2026, 5, 4, 11, 14, 3) + timedelta(seconds=2 * i),
                     gps=None)
    (folder / "track.gpx").write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                                      '<trk><trkseg><trkpt lat="49.48" lon="7.73"><time>2026-05-04T09:14:00Z</time></trkpt>'
                                      '<trkpt lat="49.48" lon="7.74"><time>2026-05-04T09:15:00Z</time></trkpt>'
                                      "</trkseg></trk></gpx>")
    shp = tmp_path / "raw" / "hausumringe.shp"
    shp.parent.mkdir()
    gpd.GeoDataFrame({"OI": ["DERP1", "DERP2"], "GFK": ["1000", "2463"], "HNR": ["3", "3a"]},
                     geometry=[shapely.box(410000, 5485000, 410010, 5485010), shapely.box(410020, 5485000, 410030, 5485010)],
                     crs="EPSG:25832").to_file(shp, encoding="cp1252")
    with zipfile.ZipFile(folder / "hausumringe_rp.zip", "w") as packed:
        for part in shp.parent.iterdir():
            packed.write(part, f"HU_RP/{part.name}")  # as the download service packs it: in a folder
    path, _ = init_city("Otterbach", folder, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["panoramas"] == {"path": "../inputs/fotos", "format": "gpx+images", "gpx": "../inputs/track.gpx"}
    assert config["buildings"]["path"] == "../inputs/hausumringe_rp.zip" and config["buildings"]["format"] == "alkis"
    assert config["buildings"]["columns"] == {"house_number": "HNR"}
    assert validate(twin.read_pipeline(path)).counts["buildings"] == 2
    assert read_vector_raw(folder / "hausumringe_rp.zip")["HNR"].tolist() == ["3", "3a"]


def test_buildings_in_degrees_or_web_mercator_get_the_utm_zone_where_they_lie(tmp_path: Path) -> None:
    for name, crs, lon in (("sachsen", "EPSG:4326", 13.74), ("web", "EPSG:3857", 13.74), ("pfalz", "EPSG:4326", 7.77)):
        folder = tmp_path / name
        folder.mkdir()
        houses = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[shapely.box(lon, 51.05, lon + 1e-4, 51.0501),
                                                           shapely.box(lon + 2e-4, 51.05, lon + 3e-4, 51.0501)],
                                  crs="EPSG:4326").to_crs(crs)
        houses.to_file(folder / "gebaeude.geojson")
        path, guess = init_city(name, folder, pipelines=tmp_path / "pipelines")
        expected = "EPSG:25832" if lon < 12 else "EPSG:25833"
        assert _toml(path)["city"]["crs"] == expected, name
        assert any(f"the buildings' {crs} is" in note and expected in note for note in guess.notes["city"])


def test_column_names_with_punctuation_eastings_and_gps_weeks(tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "bilder.txt").write_text("Image\tGPSWeek\tGPSSeconds\tOstwert\tNordwert\tKurs\tPitch\tRoll\n"
                                       "a.jpg\t2304\t208818.5\t381000.0\t5664001.2\t90\t1.5\t-0.5\n"
                                       "b.jpg\t2304\t208819.5\t381006.0\t5664001.2\t90\t1.5\t-0.5\n")
    gpd.GeoDataFrame({"Verlegeart": ["offene Bauweise"]}, geometry=[shapely.LineString([(381000, 5664000), (381100, 5664000)])],
                     crs="EPSG:25833").to_file(folder / "glasfaser_trassen.geojson")
    (folder / "glasfaser_knoten.csv").write_text("Knoten-Nr;Typ;Bezeichnung;Rechtswert;Hochwert\n"
                                                 "K-1;POP;Technikzentrale;381000,0;5664000,0\n")
    path, _ = init_city("Ort", folder, pipelines=tmp_path / "pipelines", crs="EPSG:25833")
    config = _toml(path)
    panoramas = config["panoramas"]
    assert panoramas["time_format"] == "gps"
    assert {"gps_week": "GPSWeek", "gps_seconds": "GPSSeconds", "x": "Ostwert", "y": "Nordwert", "heading_deg": "Kurs",
            "pitch_deg": "Pitch", "roll_deg": "Roll"}.items() <= panoramas["columns"].items()
    assert "captured_at" not in panoramas["columns"]
    assert config["fibre"]["hub"] == "Technikzentrale"
    assert config["fibre"]["columns"]["node_id"] == "Knoten-Nr" and config["fibre"]["route_columns"]["kind"] == "Verlegeart"
    frame = twin.sources.PANORAMA_READERS["csv"](twin.read_pipeline(path).panoramas, target_crs="EPSG:25833")
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2024-03-05T10:00:00.5Z")  # week 2304 began on Sunday 3 March


@pytest.mark.parametrize(("date", "time"), [("datum", "zeit"), ("date", "time"), ("Tag", "Uhrzeit")])
def test_a_time_column_is_paired_with_its_date_column_and_runs_to_the_right_days(
    tmp_path: Path, date: str, time: str,
) -> None:
    """The name hints take ``zeit``/``time`` for the capture time; its values are times only, so the dates are
    mapped beside them (before, every picture was dated the day of the run)."""
    from twin.cli import main

    folder = tmp_path / "inputs"
    folder.mkdir()
    rows = [f"bild;{date};{time};laenge;breite"]
    rows += [f"{i}.jpg;2021-06-0{1 + i // 5};10:00:{10 * (i % 5):02d};{7.7686 + i * 1e-4:.4f};49.4432" for i in range(10)]
    (folder / "fahrt.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    path, _ = init_city("Otterbach", folder, pipelines=tmp_path / "pipelines")
    config = _toml(path)["panoramas"]
    assert {"captured_at": date, "time_of_day": time}.items() <= config["columns"].items()
    assert main(["run", "--quiet", str(path)]) == 0
    out = tmp_path / "data" / "processed" / "otterbach_cim.gpkg"
    times = pd.to_datetime(pyogrio.read_dataframe(out, layer="panoramas")["captured_at"], utc=True)
    assert sorted(times.dt.strftime("%Y-%m-%d").unique()) == ["2021-06-01", "2021-06-02"]
