"""Camera pictures and GPX tracks from other projects' test suites, read as those projects read them.

Each file is listed with its source and licence in ``tests/data/README.md``;
the values asserted are the ones the source project asserts.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import piexif
import pyogrio
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from twin.cli import main
from twin.config import PanoramasConfig
from twin.errors import InputError
from twin.sources import PANORAMA_READERS
from twin.sources.panorama_gpx import read_track
from twin.sources.picture_tags import PictureError, read_picture

DATA = Path(__file__).resolve().parents[1] / "data"
#: Kaiserslautern, Stiftskirche.
LON, LAT = 7.7689, 49.4447


def _folder(tmp_path: Path, *names: str, gpx: str | None = None) -> Path:
    folder = tmp_path / "pictures"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(DATA / "pictures" / name, folder / name)
    if gpx is not None:
        shutil.copy(DATA / "gpx" / gpx, folder / gpx)
    return folder


def _read(folder: Path, fmt: str, crs: str, **keys: object) -> pd.DataFrame:
    return PANORAMA_READERS[fmt](PanoramasConfig(path=folder, format=fmt, **keys), target_crs=crs)


def _true_headings(frame: pd.DataFrame) -> np.ndarray:
    """The model's grid bearings turned back into headings from true north (pyproj's meridian convergence)."""
    wgs = frame.to_crs("EPSG:4326").geometry
    convergence = pyproj.Proj(frame.crs).get_factors(wgs.x.to_numpy(), wgs.y.to_numpy()).meridian_convergence
    return (frame["heading_deg"].to_numpy(dtype="float64") + np.asarray(convergence)) % 360.0


def _rational(value: float, scale: int = 1000) -> tuple[int, int]:
    return round(value * scale), scale


def _gopro_max(path: Path, *, lon: float | None, lat: float | None, camera: str, gps: datetime | None = None,
               direction: float | None = None, extra: dict[int, object] | None = None, xmp: str | None = None) -> None:
    """A tiny JPEG with the tags a GoPro MAX writes (tests/data/pictures/GS__8682.JPG), GPano pose 0.0 included."""
    exif: dict[str, dict[int, object]] = {
        "0th": {piexif.ImageIFD.Make: b"GoPro", piexif.ImageIFD.Model: b"GoPro Max"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: camera.encode(), **(extra or {})}, "GPS": {}}
    if lon is not None and lat is not None:
        exif["GPS"].update({
            piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: (_rational(lat, 10**7), (0, 1), (0, 1)),
            piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: (_rational(lon, 10**7), (0, 1), (0, 1)),
            piexif.GPSIFD.GPSAltitudeRef: 0, piexif.GPSIFD.GPSAltitude: _rational(235.2)})
    if gps is not None:
        exif["GPS"].update({piexif.GPSIFD.GPSDateStamp: f"{gps:%Y:%m:%d}".encode(),
                            piexif.GPSIFD.GPSTimeStamp: ((gps.hour, 1), (gps.minute, 1), (gps.second, 1))})
    if direction is not None:
        exif["GPS"].update({piexif.GPSIFD.GPSImgDirectionRef: b"T", piexif.GPSIFD.GPSImgDirection: _rational(direction)})
    packet = xmp or ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                     '<rdf:Description rdf:about="" xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" '
                     'GPano:ProjectionType="equirectangular" GPano:PoseHeadingDegrees="0.0" '
                     'GPano:PosePitchDegrees="0.0" GPano:PoseRollDegrees="0.0"/></rdf:RDF></x:xmpmeta>')
    Image.new("RGB", (32, 16), (90, 120, 150)).save(path, exif=piexif.dump(exif), xmp=packet.encode())


def _pipeline(tmp_path: Path, crs: str, panoramas: str) -> Path:
    path = tmp_path / "city.toml"
    path.write_text(f'[city]\nname = "Testort"\ncrs = "{crs}"\n\n[output]\npath = "{tmp_path / "out" / "cim.gpkg"}"\n\n'
                    f"[panoramas]\n{panoramas}\n", encoding="utf-8")
    return path


def _run(tmp_path: Path, crs: str, panoramas: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    assert main(["run", "-q", str(_pipeline(tmp_path, crs, panoramas))]) == 0
    output = tmp_path / "out" / "cim.gpkg"
    return pyogrio.read_dataframe(output, layer="panoramas"), pyogrio.read_dataframe(output, layer="qa_issues")


# --- mapillary_tools' camera pictures ---------------------------------------------------------------------------

def test_mapillary_tools_pictures_gps_time_first_and_gps_track_heading(tmp_path: Path) -> None:
    frame = _read(_folder(tmp_path, "DSC00001.JPG", "DSC00497.JPG"), "images", "EPSG:32610")
    # mapillary_tools: MAPCaptureTime 2018_06_08_20_24_11_000 (GPS time; DateTimeOriginal is 13:24:10-07:00)
    assert frame["captured_at"].tolist() == [pd.Timestamp("2018-06-08T20:24:11Z"), pd.Timestamp("2018-06-08T20:32:28Z")]
    wgs = frame.to_crs("EPSG:4326").geometry
    assert wgs.y.to_numpy() == pytest.approx([45.5169031, 45.5107231], abs=1e-7)
    assert wgs.x.to_numpy() == pytest.approx([-122.572765, -122.5760514], abs=1e-7)
    assert frame["altitude_m"].tolist() == pytest.approx([70.3, 77.5])
    # mapillary_tools: TrueHeading 270.89 and 271.27 (GPSTrack); twin stores grid bearings of the city's CRS
    assert _true_headings(frame) == pytest.approx([270.89, 271.27], abs=1e-5)
    assert frame["heading_source"].tolist() == ["gps_track", "gps_track"]


def test_time_offset_applies_to_pictures_with_their_own_position(tmp_path: Path) -> None:
    frame = _read(_folder(tmp_path, "DSC00001.JPG"), "images", "EPSG:32610", time_offset_s=-20.0)
    assert frame["captured_at"].tolist() == [pd.Timestamp("2018-06-08T20:23:51Z")]  # mapillary_tools, offset -20


def test_position_only_in_xmp_and_a_time_without_zone_is_named(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "adobe_coords.jpg")
    frame = _read(folder, "images", "EPSG:32736")
    wgs = frame.to_crs("EPSG:4326").geometry
    assert (wgs.y.iloc[0], wgs.x.iloc[0]) == pytest.approx((-0.0702668, 34.3819352), abs=1e-7)  # mapillary_tools
    assert _true_headings(frame) == pytest.approx([176.3], abs=1e-5)  # GPano PoseHeadingDegrees
    assert frame["heading_source"].tolist() == ["pose"]
    assert frame["captured_at"].tolist() == [pd.Timestamp("2019-07-16T10:26:11Z")]  # read as UTC, as documented ...
    issues = frame.attrs["qa_issues"]
    assert issues["check"].tolist() == ["time_zone_assumed"] and issues["feature_id"].tolist() == ["adobe_coords"]
    assert issues["message"].iloc[0].startswith("camera time 2019-07-16 10:26:11 has no zone")
    zoned = _read(folder, "images", "EPSG:32736", timezone="Africa/Nairobi")  # ... and in the zone when given
    assert zoned["captured_at"].tolist() == [pd.Timestamp("2019-07-16T07:26:11Z")]
    assert zoned.attrs["qa_issues"].empty


@pytest.mark.parametrize(("names", "crs", "times", "lat_lon", "headings", "sources", "checks"), [
    (("DSC00001.JPG", "DSC00497.JPG"), "EPSG:32610", ["2018-06-08T20:24:11Z", "2018-06-08T20:32:28Z"],
     [(45.5169031, -122.572765), (45.5107231, -122.5760514)], [270.89, 271.27], ["gps_track"] * 2, []),
    (("adobe_coords.jpg",), "EPSG:32736", ["2019-07-16T10:26:11Z"], [(-0.0702668, 34.3819352)], [176.3], ["pose"],
     ["time_zone_assumed"]),
    (("GS__8682.JPG",), "EPSG:32630", ["2021-12-19T17:11:53Z"], [(51.2723833, -0.8458806)], [np.nan], [None], []),
])
def test_twin_run_publishes_what_the_source_projects_assert(
        tmp_path: Path, names: tuple[str, ...], crs: str, times: list[str], lat_lon: list[tuple[float, float]],
        headings: list[float], sources: list[str | None], checks: list[str]) -> None:
    panoramas, issues = _run(tmp_path, crs, f'path = "{_folder(tmp_path, *names)}"\nformat = "images"')
    panoramas = panoramas.sort_values("image_name")
    assert panoramas["image_name"].tolist() == list(names)
    assert panoramas["captured_at"].tolist() == [pd.Timestamp(t) for t in times]
    wgs = panoramas.to_crs("EPSG:4326").geometry
    assert np.c_[wgs.y, wgs.x] == pytest.approx(np.array(lat_lon), abs=1e-7)
    assert _true_headings(panoramas) == pytest.approx(headings, abs=1e-5, nan_ok=True)
    assert panoramas["heading_source"].tolist() == sources
    assert issues.loc[issues["layer"] == "panoramas", "check"].tolist() == checks


# --- GoPro MAX ---------------------------------------------------------------------------------------------------

def test_gopro_max_gps_time_wins_over_a_wrong_camera_clock_and_its_zero_pose_is_no_heading(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "GS__8682.JPG")
    for timezone in (None, "Europe/London", "Europe/Paris"):
        frame = _read(folder, "images", "EPSG:32630", timezone=timezone)
        assert frame["captured_at"].tolist() == [pd.Timestamp("2021-12-19T17:11:53Z")]  # exiftool: GPSDateTime
    wgs = frame.to_crs("EPSG:4326").geometry
    assert (wgs.y.iloc[0], wgs.x.iloc[0]) == pytest.approx((51 + 16 / 60 + 20.58 / 3600, -(50 / 60 + 45.17 / 3600)))
    assert frame["altitude_m"].iloc[0] == pytest.approx(123.919)
    assert np.isnan(frame["heading_deg"].iloc[0]) and frame["heading_source"].isna().all()
    assert frame["pitch_deg"].iloc[0] == 0.0


def test_gopro_max_direction_in_gps_img_direction_not_the_placeholder_pose(tmp_path: Path) -> None:
    folder = tmp_path / "max"
    folder.mkdir()
    start = datetime(2026, 5, 4, 7, 56, 34, tzinfo=UTC)
    for i, direction in enumerate((349.0, 11.0, 1.0)):
        _gopro_max(folder / f"GS__{i:04d}.JPG", lon=LON + i * 1e-4, lat=LAT, camera=f"2026:05:04 09:56:3{4 + i}",
                   gps=start + timedelta(seconds=i), direction=direction)
    for timezone in (None, "Europe/Paris"):
        frame = _read(folder, "images", "EPSG:25832", timezone=timezone)
        assert _true_headings(frame) == pytest.approx([349.0, 11.0, 1.0], abs=1e-5)
        assert frame["heading_source"].tolist() == ["image_direction"] * 3
        # GPS time 07:56:34Z, no OffsetTimeOriginal: neither the camera clock read as UTC nor as time in Paris
        assert frame["captured_at"].tolist() == [pd.Timestamp("2026-05-04T07:56:34Z") + pd.Timedelta(seconds=i)
                                                 for i in range(3)]
        assert frame.attrs["qa_issues"].empty


# --- fractional seconds, bombs, entities -------------------------------------------------------------------------

def test_fractional_seconds_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "subsec"
    folder.mkdir()
    _gopro_max(folder / "a.jpg", lon=LON, lat=LAT, camera="2018:06:26 17:46:33.847",
               extra={piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"})
    _gopro_max(folder / "b.jpg", lon=LON + 1e-4, lat=LAT, camera="2018:06:26 17:46:34",
               extra={piexif.ExifIFD.SubSecTimeOriginal: b"25", piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"})
    frame = _read(folder, "images", "EPSG:25832")
    assert frame["captured_at"].tolist() == [pd.Timestamp("2018-06-26T15:46:33.847Z"),
                                             pd.Timestamp("2018-06-26T15:46:34.25Z")]


def _bomb(path: Path) -> None:
    """A valid tiny JPEG whose frame header claims 60000 × 60000 pixels."""
    _gopro_max(path, lon=LON, lat=LAT, camera="2026:05:04 09:56:34")
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = (60000).to_bytes(2, "big") * 2
    path.write_bytes(bytes(data))


def _laughs(path: Path) -> None:
    """A picture whose XMP packet declares nested entities (billion laughs)."""
    entities = "".join(f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10))
    packet = (f'<?xml version="1.0"?><!DOCTYPE x:xmpmeta [<!ENTITY l0 "ha">{entities}]>'
              '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" GPano:PoseHeadingDegrees="90">'
              "&l9;</rdf:Description></rdf:RDF></x:xmpmeta>")
    _gopro_max(path, lon=LON, lat=LAT, camera="2026:05:04 09:56:35", xmp=packet)


def test_an_image_bomb_and_an_entity_attack_are_qa_rows_and_the_run_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(3):
        _gopro_max(folder / f"ok_{i}.jpg", lon=LON + i * 1e-4, lat=LAT, camera=f"2026:05:04 09:56:3{i}",
                   extra={piexif.ExifIFD.OffsetTimeOriginal: b"+02:00"}, direction=90.0)
    _bomb(folder / "bomb.jpg")
    _laughs(folder / "laughs.jpg")
    with pytest.raises(PictureError, match="more pixels"):
        read_picture(folder / "bomb.jpg")
    with pytest.raises(PictureError, match="XMP packet has a DOCTYPE"):
        read_picture(folder / "laughs.jpg")
    panoramas, issues = _run(tmp_path, "EPSG:25832", f'path = "{folder}"\nformat = "images"')
    assert sorted(panoramas["image_name"]) == ["ok_0.jpg", "ok_1.jpg", "ok_2.jpg"]
    unreadable = issues[issues["check"] == "unreadable_image"].sort_values("feature_id")
    assert unreadable["feature_id"].tolist() == ["bomb.jpg", "laughs.jpg"]
    assert unreadable["message"].iloc[0].startswith(
        "skipped: its header claims more pixels than twin opens (Image size (3600000000 pixels) exceeds limit")
    assert unreadable["message"].iloc[1] == ("skipped: its XMP packet has a DOCTYPE (DTDForbidden), which twin "
                                             "refuses: XML entities can exhaust memory or read local files")


@pytest.mark.parametrize("body", [
    '<!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><gpx>&b;</gpx>',
    '<!DOCTYPE gpx [<!ENTITY e SYSTEM "file:///etc/passwd">]><gpx><trk><name>&e;</name></trk></gpx>',
])
def test_a_gpx_file_declaring_entities_is_refused_with_one_line(tmp_path: Path, body: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "fahrt"
    folder.mkdir()
    _gopro_max(folder / "a.jpg", lon=None, lat=None, camera="2026:05:04 09:56:34")
    (folder / "track.gpx").write_text(f'<?xml version="1.0"?>{body}', encoding="utf-8")
    assert main(["run", "-q", str(_pipeline(tmp_path, "EPSG:25832", f'path = "{folder}"\nformat = "gpx+images"'))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.endswith(f"{folder / 'track.gpx'}: has a DOCTYPE (DTDForbidden), which twin refuses: XML entities "
                        "can exhaust memory or read local files; export the track again without one")


# --- GPX tracks --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("offset", "lat", "lon", "ele", "times"), [
    (0.0, [1.2066435, 2.02], [0.01, 1.75561], [1.593, 3.746], ["2018-06-08T20:24:11Z", "2018-06-08T20:32:28Z"]),
    (-20.0, [0.5509488, 2.02], [0.01, 1.6816734], [1.265, 3.672], ["2018-06-08T20:23:51Z", "2018-06-08T20:32:08Z"]),
])
def test_mapillary_tools_pictures_on_their_gpx_track(tmp_path: Path, offset: float, lat: list[float],
                                                     lon: list[float], ele: list[float], times: list[str]) -> None:
    folder = _folder(tmp_path, "DSC00001.JPG", "DSC00497.JPG", gpx="mapillary_tools_process.gpx")
    frame = _read(folder, "gpx+images", "EPSG:32631", time_offset_s=offset)
    wgs = frame.to_crs("EPSG:4326").geometry
    assert wgs.y.to_numpy() == pytest.approx(lat, abs=1e-7)
    assert wgs.x.to_numpy() == pytest.approx(lon, abs=1e-7)
    assert frame["altitude_m"].to_numpy() == pytest.approx(ele, abs=1e-3)
    assert frame["captured_at"].tolist() == [pd.Timestamp(t) for t in times]


def test_gpx_tracks_of_gpxpy_and_mapillary_tools() -> None:
    aachen = read_track(DATA / "gpx" / "track-with-empty-segment.gpx")  # an empty second segment
    assert len(aachen) == 9
    assert (aachen["lat"].min(), aachen["lon"].min()) == (50.7772126, 6.0819695)  # gpxpy: bounds exist
    assert aachen["time"].iloc[0] == pd.Timestamp("2013-07-06T17:26:26Z")
    sf = read_track(DATA / "gpx" / "sf_30km_h.gpx")
    assert len(sf) == 49 and sf["ele"].notna().all()  # mapillary_tools: every point has <ele>
    assert sf["time"].is_monotonic_increasing and sf["time"].iloc[0] == pd.Timestamp("2025-03-14T07:00:00Z")


def test_twin_run_places_pictures_on_a_gpx_track_and_marks_derived_headings(tmp_path: Path) -> None:
    folder = tmp_path / "fahrt"
    folder.mkdir()
    shutil.copy(DATA / "gpx" / "track-with-empty-segment.gpx", folder / "track.gpx")
    # camera clock in local summer time without offset, 2 s fast; no heading written
    for i, second in enumerate((30, 34, 38, 42)):
        _gopro_max(folder / f"GS__{i:04d}.JPG", lon=None, lat=None, camera=f"2013:07:06 19:26:{second}",
                   xmp='<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    panoramas, issues = _run(tmp_path, "EPSG:25832",
                             f'path = "{folder}"\nformat = "gpx+images"\ntimezone = "Europe/Berlin"\ntime_offset_s = -2')
    panoramas = panoramas.sort_values("image_name")
    assert panoramas["captured_at"].iloc[0] == pd.Timestamp("2013-07-06T17:26:28Z")
    wgs = panoramas.to_crs("EPSG:4326").geometry
    track = read_track(folder / "track.gpx")
    expected = np.interp(2.0, [0.0, 4.0], track["lat"].iloc[:2])  # half way between the first two points
    assert wgs.y.iloc[0] == pytest.approx(expected, abs=1e-9)
    assert panoramas["heading_source"].tolist() == ["derived"] * 4
    xy = panoramas.get_coordinates().to_numpy()
    bearing = np.degrees(np.arctan2(*(xy[1] - xy[0]))) % 360.0
    assert panoramas["heading_deg"].iloc[0] == pytest.approx(bearing, abs=1e-4)
    assert not (issues["check"] == "time_zone_assumed").any()


# --- garbled input -----------------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2090), st.binary(min_size=1, max_size=64))
def test_garbled_pictures_raise_only_picture_errors(at: int, garbage: bytes) -> None:
    data = bytearray((DATA / "pictures" / "DSC00001.JPG").read_bytes())
    data[at:at + len(garbage)] = garbage
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.jpg"
        path.write_bytes(bytes(data))
        with contextlib.suppress(PictureError):
            record = read_picture(path)
            assert set(record) >= {"lat", "lon", "gps_time", "local_time", "heading_deg", "heading_source"}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1500), st.text(max_size=40))
def test_garbled_gpx_raises_only_input_errors(at: int, garbage: str) -> None:
    text = (DATA / "gpx" / "track-with-empty-segment.gpx").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.gpx"
        path.write_text(text[:at] + garbage + text[at + len(garbage):], encoding="utf-8")
        with contextlib.suppress(InputError):
            track = read_track(path)
            assert track["time"].is_monotonic_increasing


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(7.70, 7.85), st.floats(49.40, 49.48), st.floats(0.0, 359.99),
                          st.integers(0, 999)), min_size=1, max_size=4),
       st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2035, 1, 1)))
def test_picture_tags_written_are_read_back(rows: list[tuple[float, float, float, int]], start: datetime) -> None:
    start = start.replace(microsecond=0)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for i, (lon, lat, direction, ms) in enumerate(rows):
            when = start + timedelta(seconds=i)
            _gopro_max(folder / f"p{i}.jpg", lon=lon, lat=lat, camera=f"{when:%Y:%m:%d %H:%M:%S}.{ms:03d}",
                       direction=round(direction, 3), extra={piexif.ExifIFD.OffsetTimeOriginal: b"-03:30"})
        frame = _read(folder, "images", "EPSG:25832").sort_values("image_name")
    wgs = frame.to_crs("EPSG:4326").geometry
    assert wgs.x.to_numpy() == pytest.approx([round(r[0], 7) for r in rows], abs=1e-7)
    assert wgs.y.to_numpy() == pytest.approx([round(r[1], 7) for r in rows], abs=1e-7)
    turn = (_true_headings(frame) - np.array([round(r[2], 3) for r in rows]) + 180.0) % 360.0 - 180.0
    assert turn == pytest.approx(np.zeros(len(rows)), abs=1e-5)
    assert frame["captured_at"].tolist() == [
        pd.Timestamp(start + timedelta(seconds=i, milliseconds=r[3], hours=3, minutes=30), tz="UTC")
        for i, r in enumerate(rows)]
