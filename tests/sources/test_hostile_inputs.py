"""Broken and hostile inputs, as a careless or hostile user would hand them over.

Each case is a small file written here. A run on it ends with exit 2 and one line naming the
file (or key), what is wrong and the fix, within bounded memory (the child's peak resident size)
and time, and leaves the previously published model byte-identical; or, where
one row is bad, the run publishes the rest and records the row in ``qa_issues``. The children run
under an address-space limit of 2 GB, so a reader that would take gigabytes fails here instead of
taking the machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import ezdxf
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.runner.conftest import write_drive
from twin import cli
from twin.sources.osm import check_pbf

CRS = "EPSG:25832"
X0, Y0 = 410_000.0, 5_478_000.0
#: Buildings of the test city: as many as in the damaged GeoPackage of the attack.
BUILDINGS = 2_006
#: The most a refusal may take: peak resident memory (MB) and wall time (s).
MAX_RSS_MB = 500
MAX_SECONDS = 30
#: Address space a child may map: beyond it, allocation fails (a MemoryError is exit 1, a failed test).
ADDRESS_SPACE = 2 * 1024**3


@dataclass(frozen=True)
class Outcome:
    code: int
    stderr: str
    rss_mb: float
    seconds: float


#: Marks the child's peak memory on its last line of stderr.
PEAK = "@@peak-kb "
#: Runs ``python -m twin ARGS`` in a child that first limits its own address space and at exit writes
#: its peak resident size (VmHWM: of this program alone; ``ru_maxrss`` would count the forking pytest).
_CHILD = ("import atexit, os, resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, ({0}, {0})); "
          "atexit.register(lambda: os.write(2, ('{1}' + [line.split()[1] for line in open('/proc/self/status') "
          "if line.startswith('VmHWM:')][0] + '\\n').encode())); "
          "sys.argv[0] = 'twin'; runpy.run_module('twin', run_name='__main__', alter_sys=True)")


def twin_cli(*args: str, timeout: float = 120.0) -> Outcome:
    """Run ``python -m twin ARGS`` and measure its peak resident memory and time."""
    started = time.monotonic()
    with open(os.devnull, "wb") as null, subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(ADDRESS_SPACE, PEAK), *args], stdout=null, stderr=subprocess.PIPE
    ) as child:
        try:
            _, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            raise
    seconds = time.monotonic() - started
    text, _, peak = stderr.decode("utf-8", "replace").rpartition(PEAK)
    assert peak.strip().isdigit(), text
    return Outcome(child.returncode, text, int(peak) / 1024, seconds)


def _write_city(folder: Path) -> Path:
    raw = folder / "raw"
    raw.mkdir(parents=True)
    side = int(np.ceil(np.sqrt(BUILDINGS)))
    i = np.arange(BUILDINGS)
    x, y = X0 + (i % side) * 30.0, Y0 + (i // side) * 30.0
    footprints = gpd.GeoDataFrame(
        {"OI": [f"DERP{n:08d}" for n in i], "GFK": "1000", "name": [f"Haus {n} in der Straße" for n in i]},
        geometry=shapely.box(x, y, x + 12.0, y + 10.0), crs=CRS)
    pyogrio.write_dataframe(footprints, raw / "buildings.gpkg", layer="hausumringe", driver="GPKG")
    write_drive(raw, side)
    lines = [shapely.linestrings([[X0 - 5, Y0 + 20], [X0 + side * 30, Y0 + 20]]),
             shapely.linestrings([[X0 + 15, Y0 + 20], [X0 + 15, Y0 + side * 30]])]
    gpd.GeoDataFrame({"route_id": ["R1", "R2"], "kind": ["trench", "duct"], "status": ["built", "planned"]},
                     geometry=lines, crs=CRS).to_file(raw / "routes.geojson")
    gpd.GeoDataFrame({"node_id": ["N1"], "kind": ["hub"], "name": ["Rathaus"]},
                     geometry=shapely.points([[X0 - 5, Y0 + 20]]), crs=CRS).to_file(raw / "nodes.geojson")
    pipeline = folder / "city.toml"
    pipeline.write_text(
        f'[city]\nname = "Testdorf"\ncrs = "{CRS}"\n\n[output]\npath = "out/cim.gpkg"\n\n'
        '[buildings]\npath = "raw/buildings.gpkg"\nformat = "alkis"\n\n'
        f'[panoramas]\npath = "raw/panoramas.csv"\nformat = "csv"\ncrs = "{CRS}"\n\n'
        '[fibre]\nroutes = "raw/routes.geojson"\nnodes = "raw/nodes.geojson"\nhub = "Rathaus"\n',
        encoding="utf-8")
    return pipeline


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small city with its model published once."""
    pipeline = _write_city(tmp_path_factory.mktemp("published"))
    twin.run(twin.read_pipeline(pipeline))
    return pipeline.parent


@dataclass(frozen=True)
class City:
    folder: Path
    pipeline: Path
    output: Path
    output_digest: str

    @property
    def raw(self) -> Path:
        return self.folder / "raw"

    def setting(self, section: str, line: str) -> None:
        """Add `line` at the top of `[section]` of the pipeline file."""
        text = self.pipeline.read_text(encoding="utf-8")
        self.pipeline.write_text(text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1), encoding="utf-8")

    def unchanged(self) -> bool:
        return _digest(self.output) == self.output_digest


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def city(published: Path, tmp_path: Path) -> City:
    """A copy of the published city to spoil."""
    folder = tmp_path / "city"
    shutil.copytree(published, folder)
    output = folder / "out" / "cim.gpkg"
    return City(folder, folder / "city.toml", output, _digest(output))


def assert_refused(city: City, *phrases: str) -> Outcome:
    """`twin run` and `twin validate` both exit 2 with one line holding `phrases`; the model is untouched."""
    ran = twin_cli("run", "-q", "--force", str(city.pipeline))
    lines = ran.stderr.strip().splitlines()
    assert ran.code == 2, ran.stderr
    assert len(lines) == 1 and lines[0].startswith("twin: error: "), ran.stderr
    for phrase in phrases:
        assert phrase in lines[0]
    assert ran.rss_mb < MAX_RSS_MB
    assert ran.seconds < MAX_SECONDS
    assert city.unchanged()
    checked = twin_cli("validate", "-q", str(city.pipeline))
    assert (checked.code, checked.stderr) == (2, ran.stderr)
    assert checked.rss_mb < MAX_RSS_MB
    return ran


# --- every setting checked -------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "line", "message"), [
    ("fibre", "snap_tolerance_m = nan", "[fibre] snap_tolerance_m = nan: give a finite number from 0 to 1,000 m"),
    ("fibre", "snap_tolerance_m = -1", "[fibre] snap_tolerance_m = -1.0: out of range; give a number from 0 to 1,000 m"),
    ("panoramas", "max_gap_s = -inf", "[panoramas] max_gap_s = -inf: give a finite number above 0 up to 86,400 s"),
    ("panoramas", "coverage_radius_m = 1e12", "[panoramas] coverage_radius_m = 1000000000000.0: out of range; "
                                              "give a number above 0 up to 1,000 m"),
    ("panoramas", "coverage_radius_m = -5", "[panoramas] coverage_radius_m = -5.0: out of range"),
    ("panoramas", "duplicate_distance_m = inf", "[panoramas] duplicate_distance_m = inf: give a finite number"),
    ("output", "keep = -5", "[output] keep = -5: out of range; give a number from 0 to 100"),
    ("output", "keep = 1000000000000", "[output] keep = 1000000000000: out of range; give a number from 0 to 100"),
    ("buildings", 'encoding = "rot13"', "[buildings] encoding = 'rot13': not an encoding of attribute text"),
    ("panoramas", 'timezone = "Mars/Phobos"', "[panoramas] timezone = 'Mars/Phobos': not a time zone of the IANA"),
    ("panoramas", 'time_format = "%"', "[panoramas] time_format = '%': not a valid strptime pattern"),
    ("panoramas", 'delimiter = "xyz"', "[panoramas] delimiter = 'xyz': the delimiter is one character"),
    ("panoramas", "time_offset_s = 1e300", "[panoramas] time_offset_s = 1e+300: out of range; "
                                           "give a number from -315,360,000 to 315,360,000 s"),
])
def test_setting_out_of_range_is_refused(city: City, section: str, line: str, message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    city.setting(section, line)
    ran = assert_refused(city, f"twin: error: city.toml: {message}", "; fix the pipeline file")
    assert ran.seconds < 10
    assert cli.main(["validate", "-q", str(city.pipeline)]) == 2  # the notebook path: the same ConfigError
    assert capsys.readouterr().err == ran.stderr


def test_toml_nested_thousands_deep_is_refused(city: City) -> None:
    city.setting("fibre", "values = " + "[" * 5000 + "]" * 5000)
    assert_refused(city, "city.toml: not valid TOML (nested too deep); fix the syntax")


# --- complete reads or none ------------------------------------------------------------------------


def test_damaged_geopackage_page_is_refused_not_published_short(city: City) -> None:
    path = city.raw / "buildings.gpkg"
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(int(size * 0.3))
        handle.write(b"\xff" * 16384)
    assert_refused(city, "buildings.gpkg: read ", " of the 2,006 features it declares (GDAL: ",
                   "malformed", "copy or export it again")


def _osm(city: City, text: str) -> None:
    (city.raw / "extract.osm").write_text(text, encoding="utf-8")
    text = city.pipeline.read_text(encoding="utf-8")
    city.pipeline.write_text(text.replace('path = "raw/buildings.gpkg"\nformat = "alkis"',
                                          'path = "raw/extract.osm"\nformat = "osm"'), encoding="utf-8")


_NODES = "".join(f'<node id="{k}" lat="{49.444 + (k // 2) * 1e-4}" lon="{7.768 + (k % 2) * 1e-4}"/>' for k in range(40))
_WAYS = "".join(f'<way id="{100 + k}"><nd ref="{4 * k}"/><nd ref="{4 * k + 1}"/><nd ref="{4 * k + 3}"/>'
                f'<nd ref="{4 * k + 2}"/><nd ref="{4 * k}"/><tag k="building" v="house"/></way>\n' for k in range(10))
OSM = f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{_NODES}\n{_WAYS}</osm>\n'


def test_osm_extract_cut_short_is_refused(city: City) -> None:
    _osm(city, OSM[: OSM.index('<way id="105"')])
    assert_refused(city, "extract.osm: is not complete, plain OSM XML after ", "no element found",
                   "download or export the extract again")


def test_osm_extract_with_entities_is_refused(city: City) -> None:
    tricked = OSM.replace('<osm version', '<!DOCTYPE osm [<!ENTITY b "building">]>\n<osm version')
    _osm(city, tricked.replace('k="building"', 'k="&b;"'))
    assert_refused(city, "extract.osm: ", "it declares a DTD or entities")


#: A small OSM PBF extract that pyogrio ships with its tests (OpenStreetMap data, ODbL).
SAMPLE_PBF = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "sample.osm.pbf"


@pytest.mark.skipif(not SAMPLE_PBF.exists(), reason="pyogrio installed without its test fixtures")
def test_osm_pbf_cut_short_is_refused(city: City) -> None:
    data = SAMPLE_PBF.read_bytes()
    check_pbf(SAMPLE_PBF)  # the whole file passes
    (city.raw / "extract.osm.pbf").write_bytes(data[: int(len(data) * 0.9)])
    text = city.pipeline.read_text(encoding="utf-8")
    city.pipeline.write_text(text.replace('path = "raw/buildings.gpkg"\nformat = "alkis"',
                                          'path = "raw/extract.osm.pbf"\nformat = "osm"'), encoding="utf-8")
    assert_refused(city, "extract.osm.pbf: is not a complete OSM PBF file: block 4 at byte 8,555 of 8,687 is cut short")


def test_complete_osm_extract_still_publishes(city: City) -> None:
    _osm(city, OSM)
    assert twin_cli("run", "-q", "--force", str(city.pipeline)).code == 0
    assert len(pyogrio.read_dataframe(city.output, layer="buildings")) == 10


def test_empty_buildings_source_is_refused_and_named(city: City) -> None:
    path = city.raw / "buildings.gpkg"
    empty = pyogrio.read_dataframe(path, max_features=1).iloc[:0]
    path.unlink()
    pyogrio.write_dataframe(empty, path, layer="hausumringe", geometry_type="Polygon")
    assert_refused(city, "buildings.gpkg: holds no buildings; give the complete footprint file in [buildings] path")
    loud = twin_cli("validate", str(city.pipeline))
    assert "buildings.gpkg: holds no features; [buildings] adds nothing to the model from it" in loud.stderr


def test_drawing_cut_short_is_refused(city: City) -> None:
    drawing = ezdxf.new()
    for k in range(400):
        drawing.modelspace().add_line((X0 + 10 * k, Y0), (X0 + 10 * k + 10, Y0), dxfattribs={"layer": "GF_TRASSE"})
    drawing.saveas(city.raw / "routes.dxf")
    data = (city.raw / "routes.dxf").read_bytes()
    (city.raw / "routes.dxf").write_bytes(data[: len(data) * 2 // 3])
    _use_drawing(city)
    assert_refused(city, "routes.dxf: does not end with the DXF end mark (0 EOF): the drawing is cut short")


def _use_drawing(city: City) -> None:
    text = city.pipeline.read_text(encoding="utf-8")
    city.pipeline.write_text(text.replace('routes = "raw/routes.geojson"', f'routes = "raw/routes.dxf"\ncrs = "{CRS}"')
                             + '\n[fibre.dxf_layers]\nGF_TRASSE = "trench"\n', encoding="utf-8")


def test_empty_route_file_is_refused(city: City) -> None:
    routes = gpd.read_file(city.raw / "routes.geojson").iloc[:0]
    (city.raw / "routes.geojson").unlink()
    routes.to_file(city.raw / "routes.geojson")
    assert_refused(city, "routes.geojson: holds no routes; give the complete route file in [fibre] routes")


# --- bounded memory and time -----------------------------------------------------------------------


def test_csv_header_of_100000_columns_is_refused(city: City) -> None:
    header = ",".join(f"c{k:05d}" for k in range(100_000))  # 700 kB
    (city.raw / "panoramas.csv").write_text(f"{header}\n{','.join(['1'] * 100_000)}\n", encoding="utf-8")
    assert_refused(city, "panoramas.csv, line 1: has 100,000 columns, more than the 2,000 a table may have")


def test_csv_line_of_8_mb_is_refused(city: City) -> None:
    path = city.raw / "panoramas.csv"
    line = path.read_bytes().count(b"\n") + 1
    with path.open("a", encoding="utf-8") as handle:
        handle.write("P9," + "9" * 8 * 1024**2 + "\n")
    assert_refused(city, f"panoramas.csv, line {line}: is longer than 1,048,576 bytes")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_device_as_panoramas_is_refused(city: City, device: str) -> None:
    text = city.pipeline.read_text(encoding="utf-8")
    city.pipeline.write_text(text.replace('path = "raw/panoramas.csv"', f'path = "{device}"'), encoding="utf-8")
    assert_refused(city, f"{device}: is a character device, not a file; give a regular file (copy the data into one)")


def test_prj_of_newlines_is_refused(city: City) -> None:
    frame = pyogrio.read_dataframe(city.raw / "buildings.gpkg")
    pyogrio.write_dataframe(frame, city.raw / "hausumringe.shp")
    (city.raw / "hausumringe.prj").write_bytes(b"\n" * 4 * 1024**2)
    text = city.pipeline.read_text(encoding="utf-8")
    city.pipeline.write_text(text.replace("raw/buildings.gpkg", "raw/hausumringe.shp"), encoding="utf-8")
    assert_refused(city, "hausumringe.prj: holds 4,194,304 bytes; a .prj file has at most 65,536")


def test_json_nested_deep_is_refused(city: City) -> None:
    (city.raw / "pictures.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    text = city.pipeline.read_text(encoding="utf-8")
    city.pipeline.write_text(text.replace('path = "raw/panoramas.csv"\nformat = "csv"',
                                          'path = "raw/pictures.json"\nformat = "json"'), encoding="utf-8")
    assert_refused(city, "pictures.json: is not a picture list (arrays or objects nested too deep)")


def test_dense_drawing_of_overlapping_routes_is_fast(city: City) -> None:
    drawing = ezdxf.new()
    space = drawing.modelspace()
    rng = np.random.default_rng(7)
    start = rng.uniform(0.0, 600.0, 600)
    for s, length in zip(start, rng.uniform(5.0, 50.0, 600), strict=True):  # one street drawn over and over
        space.add_line((X0 + s, Y0 + 20.0), (X0 + s + length, Y0 + 20.0), dxfattribs={"layer": "GF_TRASSE"})
    drawing.saveas(city.raw / "routes.dxf")
    _use_drawing(city)
    ran = twin_cli("run", "-q", "--force", str(city.pipeline))
    assert ran.code == 0, ran.stderr
    assert ran.seconds < MAX_SECONDS
    assert ran.rss_mb < MAX_RSS_MB
    issues = pyogrio.read_dataframe(city.output, layer="qa_issues")
    assert (issues["check"] == "overlapping").sum() > 500


def _scattered_strokes(city: City, count: int) -> None:
    """A drawing of `count` short routes on a grid, 20 m apart: no two ends meet."""
    drawing = ezdxf.new()
    space = drawing.modelspace()
    side = int(np.ceil(np.sqrt(count)))
    for k in range(count):
        x, y = X0 + 20.0 * (k % side), Y0 + 20.0 * (k // side)
        space.add_line((x, y), (x + 5.0, y + 5.0), dxfattribs={"layer": "GF_TRASSE"})
    drawing.saveas(city.raw / "routes.dxf")
    _use_drawing(city)


def test_drawing_of_routes_that_never_meet_is_refused(city: City) -> None:
    _scattered_strokes(city, 10_050)
    ran = assert_refused(city, f"{city.raw / 'routes.dxf'}: the 10,050 route pieces fall into 10,050 separate "
                               "networks, more than the 10,000 of [fibre] max_network_parts: their ends do not meet "
                               "within the snap tolerance of 0.5 m",
                         "; join the route ends in the drawing, or raise [fibre] snap_tolerance_m or max_network_parts")
    assert ran.seconds < 10


def test_the_bound_on_separate_networks_is_a_setting(city: City) -> None:
    _scattered_strokes(city, 60)
    city.setting("fibre", "max_network_parts = 50")
    assert_refused(city, "the 60 route pieces fall into 60 separate networks, more than the 50 of [fibre] "
                         "max_network_parts")
    city.pipeline.write_text(city.pipeline.read_text(encoding="utf-8").replace("max_network_parts = 50",
                                                                               "max_network_parts = 60"),
                             encoding="utf-8")
    ran = twin_cli("run", "-q", "--force", str(city.pipeline))
    assert ran.code == 0, ran.stderr
    issues = pyogrio.read_dataframe(city.output, layer="qa_issues")
    assert (issues["check"] == "disconnected").sum() == 59


# --- one bad row is a qa_issues row ------------------------------------------------------------------


def test_capture_times_in_year_9999_and_0001_are_qa_rows(city: City) -> None:
    table = pd.read_csv(city.raw / "panoramas.csv", dtype="str")
    table.loc[3, "captured_at"] = "9999-12-31T23:59:59Z"
    table.loc[5, "captured_at"] = "0001-01-01T00:00:00Z"
    table.to_csv(city.raw / "panoramas.csv", index=False)
    ran = twin_cli("run", "-q", "--force", str(city.pipeline))
    assert ran.code == 0, ran.stderr
    issues = pyogrio.read_dataframe(city.output, layer="qa_issues").set_index("feature_id")
    odd = issues[issues["check"] == "time_out_of_range"]
    assert sorted(odd.index) == ["P00003", "P00005"]
    assert odd.loc["P00003", "message"] == ("dropped: capture time 9999-12-31 23:59:59 lies outside 1980–2100; "
                                            "set the camera clock or correct the row")
    panoramas = pyogrio.read_dataframe(city.output, layer="panoramas")
    assert {"P00003", "P00005"}.isdisjoint(panoramas["panorama_id"])
    assert len(panoramas) == len(table) - 2


def test_json_capture_time_in_year_10000_is_a_qa_row(city: City) -> None:
    pictures = [{"id": f"J{k}", "captured_at": 1715846400000 + 2000 * k,
                 "geometry": {"type": "Point", "coordinates": [7.768 + k * 1e-4, 49.444]}} for k in range(6)]
    pictures[2]["captured_at"] = 253402300800000  # 10000-01-01
    (city.raw / "pictures.json").write_text(pd.Series(pictures).to_json(orient="values"), encoding="utf-8")
    text = city.pipeline.read_text(encoding="utf-8")
    city.pipeline.write_text(text.replace(f'path = "raw/panoramas.csv"\nformat = "csv"\ncrs = "{CRS}"',
                                          'path = "raw/pictures.json"\nformat = "json"'), encoding="utf-8")
    ran = twin_cli("run", "-q", "--force", str(city.pipeline))
    assert ran.code == 0, ran.stderr
    issues = pyogrio.read_dataframe(city.output, layer="qa_issues")
    assert issues.loc[issues["check"] == "time_out_of_range", "feature_id"].tolist() == ["J2"]
    assert sorted(pyogrio.read_dataframe(city.output, layer="panoramas")["panorama_id"]) == ["J0", "J1", "J3", "J4", "J5"]
