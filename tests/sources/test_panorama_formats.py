"""Panorama readers on real files written here: German CSV, GPS time, JSON, JPEGs, GPX."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import piexif
import pyproj
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import grid_of
from twin.config import PanoramasConfig
from twin.sources import PANORAMA_READERS
from twin.sources.panorama_csv import gps_to_utc
from twin.sources.panorama_images import exif_times

CRS = "EPSG:25832"
#: Kaiserslautern, Stiftskirche.
LON, LAT = 7.7689, 49.4447


def _read(path: Path, fmt: str, **keys: object) -> pd.DataFrame:
    return PANORAMA_READERS[fmt](PanoramasConfig(path=path, format=fmt, **keys), target_crs=CRS)


def test_german_csv_with_decimal_comma_and_gps_time(tmp_path: Path) -> None:
    path = tmp_path / "befahrung.csv"
    path.write_text(
        "Bild;Woche;Sekunden;Laenge;Breite;Richtung\n"
        "a.jpg;2262;288000,5;7,7689;49,4447;370,0\n"
        "b.jpg;2262;288002,5;7,7690;49,4448;-10,0\n",
        encoding="cp1252",
    )
    frame = _read(path, "csv", crs="EPSG:4326", time_format="gps", columns={
        "image_name": "Bild", "gps_week": "Woche", "gps_seconds": "Sekunden", "x": "Laenge", "y": "Breite",
        "heading_deg": "Richtung"})
    assert frame.crs == CRS
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2023-05-17T07:59:42.500Z")
    assert 4.1e5 < frame.geometry.x.iloc[0] < 4.2e5 and 5.47e6 < frame.geometry.y.iloc[0] < 5.48e6
    # 370° and -10° are 10° and 350° from true north, as grid bearings of EPSG:25832 within [0, 360)
    assert frame["heading_deg"].to_numpy() == pytest.approx(grid_of(frame, [10.0, 350.0]), abs=0.01)


@given(st.integers(1000, 3000), st.floats(0, 604799.999, allow_nan=False))
def test_gps_time_round_trips_to_utc(week: int, seconds: float) -> None:
    utc = gps_to_utc(pd.Series([float(week)]), pd.Series([seconds])).iloc[0]
    back = (utc - pd.Timestamp("1980-01-06T00:00:00Z")).total_seconds() + 18.0
    assert back == pytest.approx(week * 604800 + seconds, abs=1e-3)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.integers(-12 * 60, 14 * 60))
def test_exif_local_time_with_offset_is_utc(local: datetime, offset_min: int) -> None:
    local = local.replace(microsecond=local.microsecond // 1000 * 1000)  # milliseconds, as cameras write them
    sign = "-" if offset_min < 0 else "+"
    offset = f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
    got, no_zone = exif_times(pd.Series([local.strftime("%Y:%m:%d %H:%M:%S.%f")[:-3]]), pd.Series([offset]))
    assert got.iloc[0] == pd.Timestamp(local - timedelta(minutes=offset_min), tz="UTC")
    assert not no_zone.iloc[0]


def test_mapillary_json(tmp_path: Path) -> None:
    path = tmp_path / "mapillary.json"
    path.write_text(json.dumps({"data": [
        {"id": "101", "captured_at": 1684224723000, "compass_angle": 90.0, "computed_compass_angle": 92.5,
         "computed_geometry": {"type": "Point", "coordinates": [LON, LAT]}, "sequence": "seqA"},
        {"id": "102", "captured_at": 1684224725000, "compass_angle": 91.0,
         "geometry": {"type": "Point", "coordinates": [LON + 1e-4, LAT]}, "sequence": "seqA"},
    ]}))
    frame = _read(path, "json")
    assert frame["panorama_id"].tolist() == ["101", "102"]
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2023-05-16T08:12:03Z")
    assert frame["heading_deg"].to_numpy() == pytest.approx(grid_of(frame, [92.5, 91.0]), abs=0.01)
    assert frame["sequence_id"].tolist() == ["seqA", "seqA"]
    assert frame.crs == CRS


def test_panoramax_feature_collection(tmp_path: Path) -> None:
    path = tmp_path / "items.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "p1", "collection": "c1", "geometry": {"type": "Point", "coordinates": [LON, LAT]},
         "properties": {"datetime": "2023-05-16T10:12:03+02:00", "view:azimuth": 45}},
        {"type": "Feature", "id": "p2", "collection": "c1", "geometry": {"type": "Point", "coordinates": [LON, LAT]},
         "properties": {"datetime": "2023-05-16T08:12:05Z", "pers:yaw": 46.5, "pers:pitch": 1.0}},
    ]}))
    frame = _read(path, "json")
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2023-05-16T08:12:03Z")
    assert frame["heading_deg"].to_numpy() == pytest.approx(grid_of(frame, [45.0, 46.5]), abs=0.01)
    assert frame["sequence_id"].tolist() == ["c1", "c1"]
    assert frame["pitch_deg"].iloc[1] == 1.0


def _rational(value: float) -> tuple[int, int]:
    return round(value * 1_000_000), 1_000_000


def _jpeg(path: Path, *, lon: float | None, lat: float | None, when: str, heading: float) -> None:
    exif: dict[str, dict[int, object]] = {"0th": {}, "Exif": {
        piexif.ExifIFD.DateTimeOriginal: when.encode(), piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}}
    if lon is not None and lat is not None:
        exif["GPS"] = {
            piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: (_rational(lat), (0, 1), (0, 1)),
            piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: (_rational(lon), (0, 1), (0, 1)),
            piexif.GPSIFD.GPSAltitudeRef: 0, piexif.GPSIFD.GPSAltitude: (23512, 100),
        }
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" '
           f'GPano:ProjectionType="equirectangular" GPano:PoseHeadingDegrees="{heading}" '
           'GPano:PosePitchDegrees="1.5" GPano:PoseRollDegrees="-0.5"/></rdf:RDF></x:xmpmeta>')
    Image.new("RGB", (64, 32), (90, 120, 150)).save(path, exif=piexif.dump(exif), xmp=xmp.encode())


def test_folder_of_equirectangular_jpegs(tmp_path: Path) -> None:
    folder = tmp_path / "bilder"
    folder.mkdir()
    for i in range(3):
        _jpeg(folder / f"pano_{i}.jpg", lon=LON + i * 1e-4, lat=LAT, when=f"2023:05:16 10:12:0{i}", heading=90 + i)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    frame = _read(folder, "images")
    assert frame["image_name"].tolist() == ["pano_0.jpg", "pano_1.jpg", "pano_2.jpg"]
    assert frame["captured_at"].iloc[0] == pd.Timestamp("2023-05-16T08:12:00Z")
    # GPano headings are from true north; the model holds grid bearings of EPSG:25832
    convergence = pyproj.Proj(CRS).get_factors(LON, LAT).meridian_convergence
    assert frame["heading_deg"].to_numpy() == pytest.approx(np.array([90.0, 91.0, 92.0]) - convergence, abs=0.01)
    assert frame["heading_source"].tolist() == ["pose"] * 3
    assert frame["pitch_deg"].iloc[0] == 1.5 and frame["roll_deg"].iloc[0] == -0.5
    assert frame["altitude_m"].iloc[0] == pytest.approx(235.12)
    assert np.all(np.diff(frame.geometry.x) > 5)  # ~7 m per 1e-4° of longitude
    issues = frame.attrs["qa_issues"]
    assert issues["feature_id"].tolist() == ["broken.jpg"] and issues["check"].tolist() == ["unreadable_image"]


def test_gpx_track_with_images_interpolated_by_time(tmp_path: Path) -> None:
    folder = tmp_path / "fahrt"
    folder.mkdir()
    start = datetime(2023, 5, 16, 8, 0, 0, tzinfo=UTC)
    points = "".join(
        f'<trkpt lat="{LAT}" lon="{LON + i * 1e-3}"><ele>{230 + i}</ele>'
        f"<time>{(start + timedelta(seconds=10 * i)).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
        for i in range(3)
    )
    (folder / "track.gpx").write_text(
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{points}</trkseg></trk></gpx>")
    # camera clock 3 s fast: 10:00:08 local is 08:00:05 UTC, half way between the first two points
    for name, when in (("a.jpg", "2023:05:16 10:00:08"), ("b.jpg", "2023:05:16 10:00:18"), ("late.jpg", "2023:05:16 11:00:00")):
        _jpeg(folder / name, lon=None, lat=None, when=when, heading=0)
    frame = _read(folder, "gpx+images", time_offset_s=-3.0)
    wgs = frame.to_crs("EPSG:4326")
    assert wgs.geometry.x.iloc[0] == pytest.approx(LON + 0.5e-3, abs=1e-7)
    assert wgs.geometry.x.iloc[1] == pytest.approx(LON + 1.5e-3, abs=1e-7)
    assert frame["altitude_m"].iloc[0] == pytest.approx(230.5)
    assert frame.geometry.iloc[2] is None  # outside the track's time span: reported by the QA


def test_init_proposes_a_photo_folder_with_or_without_a_track(tmp_path: Path) -> None:
    from twin.init import guess_pipeline, inspect_folder

    located = tmp_path / "a" / "kamera"
    located.mkdir(parents=True)
    for i in range(3):
        _jpeg(located / f"pano_{i}.jpg", lon=LON + i * 1e-4, lat=LAT, when=f"2023:05:16 10:12:0{i}", heading=90)
    guess = guess_pipeline(inspect_folder(tmp_path / "a"))
    assert guess.sections["panoramas"] == {"path": located, "format": "images"}
    unlocated = tmp_path / "b" / "fahrt"
    unlocated.mkdir(parents=True)
    for i in range(3):
        _jpeg(unlocated / f"p{i}.jpg", lon=None, lat=None, when=f"2023:05:16 10:12:0{i}", heading=90)
    (unlocated / "track.gpx").write_text('<?xml version="1.0"?><gpx version="1.1"></gpx>')
    guess = guess_pipeline(inspect_folder(tmp_path / "b"))
    assert guess.sections["panoramas"] == {"path": unlocated, "format": "gpx+images", "gpx": unlocated / "track.gpx"}
    (unlocated / "track.gpx").unlink()
    guess = guess_pipeline(inspect_folder(tmp_path / "b"))
    assert guess.sections["panoramas"]["format"] == "images"
    assert any("p0.jpg has none: add a GPX track" in note for note in guess.notes["panoramas"])


def test_cyclomedia_geojson_with_preset_fields(tmp_path: Path) -> None:
    path = tmp_path / "recordings.geojson"
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON + i * 1e-4, LAT, 284.2]},
              "properties": {"imageId": f"2TT{i}", "recordedAt": f"2021-06-10T07:42:1{i}.013Z", "orientation": 89.5,
                             "recorderDirection": 90.0, "groundLevelOffset": 2.5, "latitudePrecision": 0.3,
                             "longitudePrecision": 0.4, "heightPrecision": 0.1, "expiredAt": None}}
             for i in range(2)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    frame = _read(path, "cyclomedia")
    assert frame["panorama_id"].tolist() == ["2TT0", "2TT1"]
    assert frame["captured_at"].iloc[1] == pd.Timestamp("2021-06-10T07:42:11.013Z")
    assert frame["gnss_accuracy_m"].iloc[0] == pytest.approx(0.5)
    assert frame["altitude_m"].iloc[0] == pytest.approx(284.2)
    assert frame.crs == CRS and 4.1e5 < frame.geometry.x.iloc[0] < 4.2e5


@given(st.lists(st.tuples(st.floats(7.70, 7.85), st.floats(49.40, 49.48), st.floats(-720, 720)),
                min_size=1, max_size=5))
def test_german_csv_round_trip(rows: list[tuple[float, float, float]]) -> None:
    import tempfile

    lines = ["Bild;Zeit;Laenge;Breite;Richtung"] + [
        f"p{i};2023-05-16T08:12:0{i}Z;{lon:.7f};{lat:.7f};{h:.3f}".replace(".", ",").replace(f"p{i},", f"p{i}.")
        for i, (lon, lat, h) in enumerate(rows)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_text("\n".join(lines) + "\n", encoding="cp1252")
        frame = _read(path, "csv", crs="EPSG:4326", columns={
            "image_name": "Bild", "captured_at": "Zeit", "x": "Laenge", "y": "Breite", "heading_deg": "Richtung"})
    back = frame.to_crs("EPSG:4326")
    assert np.allclose(back.geometry.x, [round(r[0], 7) for r in rows], atol=1e-7)
    assert np.allclose(frame["heading_deg"], grid_of(frame, [round(r[2], 3) for r in rows]), atol=0.01)


@given(st.text(max_size=200))
def test_garbled_json_raises_only_input_errors(text: str) -> None:
    import tempfile

    from twin.errors import InputError

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pictures.json"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(InputError):
            _read(path, "json")
