"""Panorama exports as vendors and cameras really write them: local dates, partial JSON, cameras without zone."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import piexif
import pyproj
import pytest
import shapely
from PIL import Image

from tests.conftest import grid_of
from twin.config import PanoramasConfig
from twin.errors import ConfigError, CrsError, RecordError, SchemaError
from twin.sources import PANORAMA_READERS
from twin.transforms.capture_qa import check_capture

CRS = "EPSG:25832"
#: Speyer, cathedral square.
LON, LAT = 8.4420, 49.3170


def _read(path: Path, fmt: str, **keys: object) -> pd.DataFrame:
    return PANORAMA_READERS[fmt](PanoramasConfig(path=path, format=fmt, **keys), target_crs=CRS)


def _csv(tmp_path: Path, text: str, name: str = "aufnahmen.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GERMAN = {"image_name": "Bild", "captured_at": "Zeit", "x": "Laenge", "y": "Breite"}


def test_german_dates_are_day_first_even_when_the_day_could_be_a_month(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Bild;Zeit;Laenge;Breite\n"
                          "a.jpg;04.05.2026 11:14:03;8,4420;49,3170\n"
                          "b.jpg;23.05.2026 15:02:00;8,4421;49,3170\n")
    frame = _read(path, "csv", crs="EPSG:4326", timezone="Europe/Berlin", columns=GERMAN)
    assert frame["captured_at"].tolist() == [pd.Timestamp("2026-05-04T09:14:03Z"), pd.Timestamp("2026-05-23T13:02:00Z")]


@pytest.mark.parametrize(("rows", "expected"), [
    (["04/05/2026 11:14:03", "23/05/2026 11:14:05"], "2026-05-04T11:14:03Z"),  # a day over 12: day first
    (["05/04/2026 11:14:03", "05/23/2026 11:14:05"], "2026-05-04T11:14:03Z"),  # a second part over 12: month first
])
def test_slashed_dates_follow_what_the_column_shows(tmp_path: Path, rows: list[str], expected: str) -> None:
    path = _csv(tmp_path, "Bild,Zeit,Laenge,Breite\n" + "".join(f"{i}.jpg,{t},{LON},{LAT}\n" for i, t in enumerate(rows)))
    frame = _read(path, "csv", crs="EPSG:4326", columns=GERMAN)
    assert frame["captured_at"].iloc[0] == pd.Timestamp(expected)


def test_slashed_dates_that_tell_nothing_are_refused_until_a_pattern_is_given(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Bild,Zeit,Laenge,Breite\na.jpg,04/05/2026 11:14,{LON},{LAT}\nb.jpg,04/05/2026 11:15,{LON},{LAT}\n")
    with pytest.raises(RecordError, match=r"aufnahmen.csv, column Zeit: dates such as '04/05/2026 11:14' .*time_format"):
        _read(path, "csv", crs="EPSG:4326", columns=GERMAN)
    frame = _read(path, "csv", crs="EPSG:4326", columns=GERMAN, time_format="%m/%d/%Y %H:%M")
    assert frame["captured_at"].iloc[1] == pd.Timestamp("2026-04-05T11:15:00Z")


def test_a_pattern_that_does_not_fit_names_the_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Bild,Zeit,Laenge,Breite\na.jpg,2026-05-04 11:14,{LON},{LAT}\n")
    with pytest.raises(RecordError, match=r"column Zeit: row 2: '2026-05-04 11:14' is not a date and time; .*time_format"):
        _read(path, "csv", crs="EPSG:4326", columns=GERMAN, time_format="%d.%m.%Y %H:%M")


def test_date_and_time_of_day_in_two_columns_and_headings_in_gon(tmp_path: Path) -> None:
    path = tmp_path / "befahrung.csv"
    path.write_bytes("Bild;Datum;Uhrzeit;Rechtswert;Hochwert;Richtung [gon]\r\n"
                     "0.jpg;23.05.2026;11:14:03;459000,00;5462850,00;100,000\r\n"
                     "1.jpg;23.05.2026;11:14:05;459010,00;5462850,00;300,000\r\n".encode("cp1252"))
    frame = _read(path, "csv", crs=CRS, timezone="Europe/Berlin", heading_unit="gon", columns={
        "image_name": "Bild", "captured_at": "Datum", "time_of_day": "Uhrzeit", "x": "Rechtswert", "y": "Hochwert",
        "heading_deg": "Richtung [gon]"})
    assert frame["captured_at"].tolist() == [pd.Timestamp("2026-05-23T09:14:03Z"), pd.Timestamp("2026-05-23T09:14:05Z")]
    assert frame["heading_deg"].to_numpy() == pytest.approx(grid_of(frame, [90.0, 270.0]), abs=0.01)


def test_dates_without_a_time_of_day_are_pointed_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _csv(tmp_path, f"Bild;Zeit;Laenge;Breite\na.jpg;23.05.2026;{LON};{LAT}\n")
    with caplog.at_level(logging.WARNING):
        _read(path, "csv", crs="EPSG:4326", columns=GERMAN)
    assert "without a time of day" in caplog.text and "time_of_day" in caplog.text


def test_a_local_time_repeated_when_clocks_go_back_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Bild,Zeit,Laenge,Breite\na.jpg,2026-10-25 01:59:58,{LON},{LAT}\nb.jpg,2026-10-25 02:29:58,{LON},{LAT}\n")
    with pytest.raises(RecordError, match=r"row 3: '2026-10-25 02:29:58' is not one instant in Europe/Berlin .*UTC offset"):
        _read(path, "csv", crs="EPSG:4326", timezone="Europe/Berlin", columns=GERMAN)


def test_a_csv_without_id_column_takes_the_image_name_or_the_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Bild,Zeit,Laenge,Breite\na.jpg,2026-05-04T09:14:03Z,{LON},{LAT}\n")
    assert _read(path, "csv", crs="EPSG:4326", columns=GERMAN)["panorama_id"].tolist() == ["a.jpg"]
    no_image = {k: v for k, v in GERMAN.items() if k != "image_name"}
    assert _read(path, "csv", crs="EPSG:4326", columns=no_image)["panorama_id"].tolist() == ["1"]
    with pytest.raises(ConfigError, match=r"\[panoramas.columns\] heading: is no panorama field"):
        _read(path, "csv", crs="EPSG:4326", columns={**GERMAN, "heading": "Richtung"})


def test_null_island_rows_reach_the_capture_checks_and_few_strays_are_named(tmp_path: Path) -> None:
    rows = "".join(f"{i}.jpg,2026-05-04T09:14:0{i}Z,{LON + i * 1e-4},{LAT}\n" for i in range(3))
    path = _csv(tmp_path, "Bild,Zeit,Laenge,Breite\n" + rows + "3.jpg,2026-05-04T09:14:05Z,0.0,0.0\n")
    frame = _read(path, "csv", crs="EPSG:4326", columns=GERMAN)
    kept, issues = check_capture(frame)
    assert len(kept) == 3 and issues["check"].tolist() == ["null_island"] and issues["feature_id"].tolist() == ["3.jpg"]
    stray = _csv(tmp_path, "Bild,Zeit,Laenge,Breite\n" + rows + "3.jpg,2026-05-04T09:14:05Z,8.442,91.5\n", "stray.csv")
    with pytest.raises(CrsError, match=r"stray.csv: feature 4 of 4: coordinates \(8.442, 91.5\) .* correct or remove"):
        _read(stray, "csv", crs="EPSG:4326", columns=GERMAN)
    swapped = _csv(tmp_path, "Bild,Zeit,Laenge,Breite\n" + rows.replace(f",{LAT}", ",7.0"), "swapped.csv")
    with pytest.raises(CrsError, match=r"swapped.csv: coordinates .* do not fit"):
        _read(swapped, "csv", crs="EPSG:4326", columns={**GERMAN, "x": "Breite", "y": "Laenge"})


def test_mapillary_pictures_fall_back_to_their_camera_position_and_seconds_are_seconds(tmp_path: Path) -> None:
    start = int(datetime(2026, 5, 4, 9, 14, 3, tzinfo=UTC).timestamp())
    items = [
        {"id": "100", "captured_at": start, "geometry": {"type": "Point", "coordinates": [LON, LAT]}},
        {"id": "101", "captured_at": start + 2, "geometry": {"type": "Point", "coordinates": [LON + 1e-4, LAT]},
         "computed_geometry": {"type": "Point", "coordinates": [LON + 2e-4, LAT]}},
        {"id": "102", "captured_at": start + 4},
    ]
    path = tmp_path / "mapillary.json"
    path.write_text(json.dumps(items))
    frame = _read(path, "json")
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2026-05-04T09:14:03Z")
    wgs = frame.to_crs("EPSG:4326").geometry
    assert wgs.iloc[0].x == pytest.approx(LON) and wgs.iloc[1].x == pytest.approx(LON + 2e-4)
    assert frame.geometry.iloc[2] is None  # no position: the capture checks report it
    assert not shapely.is_empty(frame.geometry.iloc[:2]).any()


def _camera_jpeg(path: Path, *, when: datetime, gps: tuple[float, float] | None, direction: float | None = None) -> None:
    exif: dict[str, dict[int, object]] = {"0th": {}, "Exif": {piexif.ExifIFD.DateTimeOriginal: when.strftime("%Y:%m:%d %H:%M:%S").encode()}}
    if gps is not None:
        lon, lat = gps
        exif["GPS"] = {
            piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((int(lat * 1e6), 1_000_000), (0, 1), (0, 1)),
            piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((int(lon * 1e6), 1_000_000), (0, 1), (0, 1)),
        }
        if direction is not None:
            exif["GPS"][piexif.GPSIFD.GPSImgDirectionRef] = b"T"
            exif["GPS"][piexif.GPSIFD.GPSImgDirection] = (int(direction * 100), 100)
    Image.new("RGB", (64, 32), (90, 120, 150)).save(path, exif=piexif.dump(exif))


def test_camera_times_without_offset_are_local_in_the_timezone(tmp_path: Path) -> None:
    folder = tmp_path / "fotos"
    folder.mkdir()
    local = datetime(2026, 5, 4, 11, 14, 3)
    for i in range(2):
        _camera_jpeg(folder / f"R{i}.JPG", when=local + timedelta(seconds=2 * i), gps=(LON + i * 1e-4, LAT), direction=87.5)
    assert _read(folder, "images")["captured_at"].iloc[0] == pd.Timestamp("2026-05-04T11:14:03Z")  # no zone: UTC
    frame = _read(folder, "images", timezone="Europe/Berlin")
    assert frame["captured_at"].tolist() == [pd.Timestamp("2026-05-04T09:14:03Z"), pd.Timestamp("2026-05-04T09:14:05Z")]
    # EXIF GPSImgDirection (true north) where GPano gives no pose, as a grid bearing of EPSG:25832
    convergence = pyproj.Proj(CRS).get_factors(LON, LAT).meridian_convergence
    assert frame["heading_deg"].to_numpy() == pytest.approx([87.5 - convergence] * 2, abs=0.01)
    assert frame["heading_source"].tolist() == ["image_direction"] * 2


def test_gpx_track_with_a_camera_in_local_time(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "fahrt"
    folder.mkdir()
    start = datetime(2026, 5, 4, 9, 14, 0, tzinfo=UTC)
    points = "".join(f'<trkpt lat="{LAT}" lon="{LON + i * 1e-3}"><time>{(start + timedelta(seconds=10 * i)):%Y-%m-%dT%H:%M:%SZ}</time></trkpt>'
                     for i in range(3))
    (folder / "track.gpx").write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                                      f"<trk><trkseg>{points}</trkseg></trk></gpx>")
    _camera_jpeg(folder / "a.jpg", when=datetime(2026, 5, 4, 11, 14, 5), gps=None)
    with caplog.at_level(logging.WARNING):
        assert _read(folder, "gpx+images").geometry.iloc[0] is None
    assert "1 of 1 pictures were taken outside the track (2026-05-04 09:14:00–09:14:20 UTC)" in caplog.text
    assert "timezone" in caplog.text
    placed = _read(folder, "gpx+images", timezone="Europe/Berlin").to_crs("EPSG:4326")
    assert placed.geometry.iloc[0].x == pytest.approx(LON + 0.5e-3, abs=1e-7)


def test_cyclomedia_height_and_heading_columns_and_a_bad_srs(tmp_path: Path) -> None:
    path = _csv(tmp_path, "ImageId,RecordedAt,X,Y,Height,Heading,SRS\n"
                          "5D000000,2026-05-04T09:14:03Z,459000.0,5462850.0,104.2,90.0,EPSG:25832\n"
                          "5D000001,2026-05-04T09:14:05Z,459010.0,5462850.0,104.3,91.0,EPSG 25832\n", "recordings.csv")
    with pytest.raises(RecordError, match=r"recordings.csv, column srs: row 3: 'EPSG 25832' is not a CRS"):
        _read(path, "cyclomedia")
    path.write_text(path.read_text().replace("EPSG 25832", "EPSG:25832"))
    frame = _read(path, "cyclomedia")
    assert frame["heading_deg"].to_numpy() == pytest.approx(grid_of(frame, [90.0, 91.0]), abs=0.01)
    assert frame["altitude_m"].tolist() == [104.2, 104.3]



def test_a_title_line_above_the_header_is_skipped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "befahrung.csv"
    path.write_bytes(("Befahrung Speyer, Stand 05/2026;;;\r\n"
                      f"Bild;Zeit;Laenge;Breite\r\na.jpg;04.05.2026 11:14:03;{LON};{LAT}\r\n"
                      f"b.jpg;gestern;{LON};{LAT}\r\n").encode("cp1252"))
    with pytest.raises(RecordError, match=r"befahrung.csv, column Zeit: row 4: 'gestern'"):
        _read(path, "csv", crs="EPSG:4326", columns=GERMAN)
    path.write_bytes(path.read_bytes().replace(b"gestern", b"04.05.2026 11:14:05"))
    assert _read(path, "csv", crs="EPSG:4326", columns=GERMAN)["image_name"].tolist() == ["a.jpg", "b.jpg"]


def test_a_pattern_with_offset_needs_no_timezone(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Bild,Zeit,Laenge,Breite\na.jpg,04/05/2026 11:14 +0200,{LON},{LAT}\n")
    frame = _read(path, "csv", crs="EPSG:4326", columns=GERMAN, timezone="Europe/Berlin", time_format="%d/%m/%Y %H:%M %z")
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2026-05-04T09:14:00Z")


def test_a_repeated_image_keeps_its_earliest_capture_and_tool_descriptions_are_read(tmp_path: Path) -> None:
    from twin.transforms.capture import clean_panoramas

    rows = [
        {"filename": "C:\\Befahrung\\GSAA0001.JPG", "MAPLatitude": LAT, "MAPLongitude": LON + 1e-4,
         "MAPCaptureTime": "2026_05_04_09_14_09_000", "MAPCompassHeading": {"TrueHeading": 91.0}, "MAPAltitude": 150.2},
        {"filename": "/home/gis/befahrung/GSAA0001.JPG", "MAPLatitude": LAT, "MAPLongitude": LON,
         "MAPCaptureTime": "2026_05_04_09_14_03_500", "MAPCompassHeading": {"TrueHeading": 90.0}, "MAPSequenceUUID": "s1"},
    ]
    path = tmp_path / "mapillary_image_description.json"
    path.write_text(json.dumps(rows))
    frame = _read(path, "json")
    assert frame["image_name"].tolist() == ["GSAA0001.JPG", "GSAA0001.JPG"]
    assert frame["captured_at"].tolist() == [pd.Timestamp("2026-05-04T09:14:09Z"), pd.Timestamp("2026-05-04T09:14:03.5Z")]
    kept, issues = clean_panoramas(frame)
    assert kept["heading_deg"].to_numpy() == pytest.approx(grid_of(kept, [90.0]), abs=0.01)  # the earlier capture
    assert issues["check"].tolist() == ["duplicate_image"]


def test_excel_rows_of_bare_delimiters_are_no_panoramas_and_a_missing_time_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "aufnahmen.csv"
    path.write_text(f"Bild;Zeit;Laenge;Breite\r\na.jpg;2026-05-04T09:14:03Z;{LON};{LAT}\r\n;;;\r\n;;;\r\n", encoding="utf-8")
    assert _read(path, "csv", crs="EPSG:4326", columns=GERMAN)["image_name"].tolist() == ["a.jpg"]
    with pytest.raises(SchemaError, match=r"aufnahmen.csv: no column Aufnahme with the capture times .* gps_week"):
        _read(path, "csv", crs="EPSG:4326", columns={**GERMAN, "captured_at": "Aufnahme"})


def test_a_point_layer_of_panoramas_with_its_own_field_names(tmp_path: Path) -> None:
    path = tmp_path / "aufnahmepunkte.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT, 305.5]},
         "properties": {"Bildname": "EB_1.jpg", "Zeitstempel": "2026-05-04T11:14:03+02:00", "Kurs": 90.0}}]}))
    frame = _read(path, "csv", columns={"image_name": "Bildname", "captured_at": "Zeitstempel", "heading_deg": "Kurs"})
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2026-05-04T09:14:03Z")
    assert frame["altitude_m"].iloc[0] == 305.5
    assert frame["heading_deg"].to_numpy() == pytest.approx(grid_of(frame, [90.0]), abs=0.01)
    assert frame.to_crs("EPSG:4326").geometry.iloc[0].x == pytest.approx(LON)
    with pytest.raises(SchemaError, match=r"no picture has a capture time .*format = \"csv\""):
        _read(path, "json")


@pytest.mark.parametrize("header", ["Bild;Zeit;Laenge;Breite", "Bild;time;Laenge;Breite"])
def test_a_time_of_day_without_a_date_is_refused_not_dated_today(tmp_path: Path, header: str) -> None:
    """``08:56:34`` alone would be dated the day of the run: two campaigns would become one day of today."""
    path = _csv(tmp_path, f"{header}\na.jpg;08:56:34;{LON};{LAT}\nb.jpg;08:56:36;{LON};{LAT}\n")
    column = header.split(";")[1]
    with pytest.raises(RecordError, match=rf"aufnahmen.csv, column {column}: 2 rows, e.g. 2, 3: '08:56:34' is not a "
                                          r"date and time: a time of day without a date .* as time_of_day"):
        _read(path, "csv", crs="EPSG:4326", columns={**GERMAN, "captured_at": column})


def test_a_time_pattern_without_a_date_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Bild;Zeit;Laenge;Breite\na.jpg;08:56:34;{LON};{LAT}\n")
    with pytest.raises(ConfigError, match=r"time_format = '%H:%M:%S'.*names no date .*1 January 1900"):
        _read(path, "csv", crs="EPSG:4326", columns=GERMAN, time_format="%H:%M:%S")
