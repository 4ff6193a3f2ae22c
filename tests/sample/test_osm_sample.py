"""The sample made from a real OpenStreetMap extract: Kaiserslautern's centre (tests/data/osm), and the shipped one."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.conftest import RAW, ROOT
from tests.sample.conftest import digest
from twin.cli import main
from twin.errors import SourceError
from twin.sample.osm_sample import write_osm_sample
from twin.sources.headings import true_headings

DATA = ROOT / "tests" / "data" / "osm"
CENTRE = DATA / "kaiserslautern-centre.osm.gz"
FULL = ROOT.parent / "shared" / "data" / "kaiserslautern-osm.osm.gz"
#: The Rathaus of Kaiserslautern (way 30651076): Willy-Brandt-Platz 1, 25 storeys.
RATHAUS_OI = "DERPLI00988ET5LV"


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_osm_sample(CENTRE, tmp_path_factory.mktemp("centre"), radius_m=250)


def _points(table: pd.DataFrame) -> gpd.GeoSeries:
    return gpd.GeoSeries(gpd.points_from_xy(table["X"], table["Y"]), crs="EPSG:4326").to_crs("EPSG:25832")


def test_same_extract_same_bytes(centre: dict[str, Path], tmp_path: Path) -> None:
    again = write_osm_sample(CENTRE, tmp_path, radius_m=250)
    assert digest(again) == digest(centre)
    other = write_osm_sample(CENTRE, tmp_path / "seed", radius_m=250, seed=7)
    assert digest(other)["recordings.csv"] != digest(centre)["recordings.csv"]


def test_buildings_are_a_hausumringe_delivery_of_the_real_centre(centre: dict[str, Path]) -> None:
    path = centre["buildings"]
    assert path.with_suffix(".cpg").read_text().strip().upper() in {"1252", "CP1252"}
    assert b"M\xfchlstra\xdfe" in path.with_suffix(".dbf").read_bytes()  # cp1252, as the cadastre writes it
    frame = pyogrio.read_dataframe(path)
    assert frame.crs == "EPSG:25832"
    assert list(frame.columns[:-1]) == ["OI", "AGS", "GFK", "STRASSE", "HAUSNR", "AOG"]
    assert frame["OI"].str.fullmatch(r"DERPLI[0-9A-Z]{10}").all()
    assert set(frame["AGS"]) == {"07312000"}
    hall = frame[frame["GFK"] == "31001_3012"]
    assert hall[["OI", "STRASSE", "HAUSNR", "AOG"]].values.tolist() == [[RATHAUS_OI, "Willy-Brandt-Platz", "1", 25]]
    assert {"Burgstraße", "Maxstraße", "Lauterstraße", "Fruchthallstraße"} <= set(frame["STRASSE"].dropna())
    assert (frame["GFK"] == "31001_3021").sum() >= 3  # the Burggymnasium, Albert-Schweitzer-Gymnasium, ...


def test_buildings_have_bowties_duplicates_and_slivers(centre: dict[str, Path]) -> None:
    frame = pyogrio.read_dataframe(centre["buildings"])
    assert (~frame.is_valid).sum() >= 3
    wkb = shapely.to_wkb(shapely.normalize(frame.geometry.to_numpy()))
    assert pd.Series(wkb).duplicated().sum() >= 5
    assert frame["OI"].duplicated().sum() >= 1
    assert (frame.area < 1.0).sum() == 3


def test_streets_are_the_named_highways_within_the_circle(centre: dict[str, Path]) -> None:
    streets = pyogrio.read_dataframe(centre["streets"]).to_crs("EPSG:25832")
    boundary = pyogrio.read_dataframe(centre["boundary"]).to_crs("EPSG:25832").geometry.iloc[0]
    assert {"Willy-Brandt-Platz", "Burgstraße", "Maxstraße", "Martin-Luther-Straße"} <= set(streets["name"])
    assert streets["street_id"].is_unique
    assert streets.within(boundary.buffer(0.05)).all()  # GeoJSON keeps 7 decimals of a degree: about 1 cm


def test_panoramas_every_5_m_along_the_streets_in_two_campaigns(centre: dict[str, Path]) -> None:
    table = pd.read_csv(centre["panoramas"])
    assert list(table.columns[:6]) == ["imageId", "recordedAt", "X", "Y", "Z", "srs"]
    when = pd.to_datetime(table["recordedAt"], utc=True)
    assert sorted(when.dt.date.astype(str).unique()) == ["2021-06-10", "2023-05-16", "2023-05-17"]
    assert table["imageId"].duplicated().sum() >= 3
    points = _points(table)
    step = points.distance(points.shift(1))
    assert step.median() == pytest.approx(5.0, abs=0.3)
    assert 1 <= (step > 150).sum() <= 4  # the GNSS jump (there and back)
    pause = when.diff().dt.total_seconds()
    assert ((pause > 120) & (pause < 600) & (when.dt.date.astype(str) == "2023-05-16")).sum() == 1
    streets = pyogrio.read_dataframe(centre["streets"]).to_crs("EPSG:25832")
    distance = points.distance(shapely.union_all(streets.geometry.to_numpy()))
    assert (distance > 2.0).sum() <= 1  # on the right-hand lane, 1.5 m from the centre line; but the GNSS jump


def test_headings_run_along_the_street_as_true_bearings(centre: dict[str, Path]) -> None:
    table = pd.read_csv(centre["panoramas"]).drop_duplicates("imageId")
    points = _points(table)
    streets = pyogrio.read_dataframe(centre["streets"]).to_crs("EPSG:25832")
    lines = streets.geometry.to_numpy()
    near = shapely.STRtree(lines).query_nearest(points.to_numpy(), all_matches=False)
    line = lines[near[1]]
    at = shapely.line_locate_point(line, points.to_numpy()[near[0]])
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(line, at + 1.0))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(line, at - 1.0))
    street_deg = np.degrees(np.arctan2(ahead[:, 0] - behind[:, 0], ahead[:, 1] - behind[:, 1])) % 360
    xy = shapely.get_coordinates(points.to_numpy()[near[0]])
    heading = table["recorderDirection"].to_numpy()[near[0]]
    grid_north = true_headings(np.zeros(len(xy)), xy[:, 0], xy[:, 1], "EPSG:25832")
    # true bearings: the street's grid bearing plus the angle between grid and true north
    off = (heading - grid_north - street_deg) % 180
    along = np.minimum(off, 180 - off) < 5
    assert along.mean() > 0.9
    assert np.abs(grid_north).max() > 0.5  # Kaiserslautern lies west of 9° E: true and grid north differ


def test_fibre_star_from_the_real_rathaus_to_real_schools_and_offices(centre: dict[str, Path]) -> None:
    nodes = pyogrio.read_dataframe(centre["nodes"]).to_crs("EPSG:25832")
    buildings = pyogrio.read_dataframe(centre["buildings"]).drop_duplicates("OI").set_index("OI")
    hub = nodes[nodes["kind"] == "hub"]
    assert hub[["name", "building_oi"]].values.tolist() == [["Rathaus", RATHAUS_OI]]
    sites = nodes[nodes["kind"] == "site"]
    assert {"Burggymnasium", "Albert-Schweitzer-Gymnasium", "Rathaus West", "Rathaus Nord A"} <= set(sites["name"])
    assert all(buildings.geometry[oi].contains(p) for oi, p in zip(sites["building_oi"], sites.geometry, strict=True))
    routes = pyogrio.read_dataframe(centre["routes"]).to_crs("EPSG:25832")
    assert set(routes["status"]) == {"planned", "built", "in_service"}
    streets = shapely.union_all(pyogrio.read_dataframe(centre["streets"]).to_crs("EPSG:25832").geometry.to_numpy())
    trenches = routes.iloc[: len(routes) - len(sites) - 2]  # the street segments, before the drops and the stub
    assert (trenches.distance(streets) < 0.5).all()
    assert trenches.geometry.apply(lambda line: line.hausdorff_distance(streets.intersection(line.buffer(0.5)))).max() < 1.0


def test_boundary_is_the_circle_around_the_rathaus(centre: dict[str, Path]) -> None:
    boundary = pyogrio.read_dataframe(centre["boundary"]).to_crs("EPSG:25832").geometry.iloc[0]
    buildings = pyogrio.read_dataframe(centre["buildings"])
    hall = buildings[buildings["OI"] == RATHAUS_OI].geometry.iloc[0]
    assert boundary.centroid.distance(hall.centroid) < 1.0
    assert boundary.area == pytest.approx(np.pi * 250**2, rel=0.01)
    assert buildings.intersects(boundary.boundary).sum() >= 1
    assert buildings.intersects(boundary).all()


def test_the_model_of_the_centre_connects_plans_and_reaches(centre: dict[str, Path], tmp_path: Path) -> None:
    raw = centre["boundary"].parent
    pipeline = tmp_path / "centre.toml"
    pipeline.write_text(
        f'[city]\nname = "Kaiserslautern"\nboundary = "{raw}/boundary.geojson"\n\n'
        f'[output]\npath = "{tmp_path}/cim.gpkg"\n\n'
        f'[buildings]\npath = "{raw}/buildings/hausumringe.shp"\n\n'
        f'[panoramas]\npath = "{raw}/panoramas/recordings.csv"\nformat = "cyclomedia"\nstreets = "{raw}/streets/streets.geojson"\n\n'
        f'[fibre]\nroutes = "{raw}/fibre/routes.geojson"\nnodes = "{raw}/fibre/nodes.geojson"\nhub = "Rathaus"\n',
        encoding="utf-8")
    model = twin.open_model(twin.run(twin.read_pipeline(pipeline)).output)
    status = model.buildings.set_index("building_id")["fibre_status"]
    assert status[RATHAUS_OI] == "connected"
    assert {"connected", "planned", "reachable", "none"} <= set(status.astype(str))
    assert set(model.capture_tracks["sequence_id"].str[:4]) == {"2021", "2023"}


def _extract_without_hall(path: Path) -> Path:
    """A school and a street in Kaiserslautern, and no city hall."""
    square = [(7.7680, 49.4450), (7.7683, 49.4450), (7.7683, 49.4452), (7.7680, 49.4452)]
    nodes = "".join(f'<node id="{k + 1}" lat="{lat}" lon="{lon}"/>' for k, (lon, lat) in enumerate(square))
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">{nodes}'
        '<node id="5" lat="49.4449" lon="7.7670"/><node id="6" lat="49.4449" lon="7.7690"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'
        '<tag k="building" v="school"/><tag k="name" v="Schule"/></way>'
        '<way id="11"><nd ref="5"/><nd ref="6"/><tag k="highway" v="residential"/><tag k="name" v="Burgstraße"/></way>'
        "</osm>", encoding="utf-8")
    return path


def test_an_extract_without_a_city_hall_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    osm = _extract_without_hall(tmp_path / "no-hall.osm")
    with pytest.raises(SourceError, match="townhall"):
        write_osm_sample(osm, tmp_path)
    assert main(["sample", "--from-osm", str(osm), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "twin: error: no-hall.osm: has no building tagged amenity=townhall or building=townhall; "
        "give an extract that holds the city hall")
    assert not (tmp_path / "out").exists()


def test_an_extract_of_another_country_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pbf = DATA / "pyrosm-test.osm.pbf"  # Kouvola, Finland: outside EPSG:25832, the sample's CRS
    assert main(["sample", "--from-osm", str(pbf), "--out", str(tmp_path / "out")]) == 2
    assert "do not fit EPSG:25832" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_extract_and_a_scale_are_not_given_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["sample", "--from-osm", str(CENTRE), "--scale", "500", "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "argument --scale: not allowed with argument --from-osm" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_missing_extract_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--from-osm", str(tmp_path / "none.osm.pbf"), "--out", str(tmp_path / "out")]) == 2
    assert "none.osm.pbf: file not found" in capsys.readouterr().err


def test_the_shipped_model_carries_the_osm_attribution(tmp_path: Path) -> None:
    text = (ROOT / "pipelines" / "kaiserslautern.toml").read_text(encoding="utf-8")
    text = text.replace('"../data/raw/', f'"{RAW}/').replace('"../data/processed/', f'"{tmp_path}/')
    pipeline = tmp_path / "kaiserslautern.toml"
    pipeline.write_text(text, encoding="utf-8")
    output = twin.run(twin.read_pipeline(pipeline)).output
    with sqlite3.connect(output) as con:
        record = json.loads(con.execute("SELECT metadata FROM gpkg_metadata WHERE id = 1").fetchone()[0])
    assert "© OpenStreetMap contributors" in record["attribution"]
    assert "ODbL" in record["attribution"]
    assert "OpenStreetMap" in (RAW / "README.md").read_text(encoding="utf-8")
    assert "ODbL" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_shipped_sample_is_the_real_inner_city() -> None:
    buildings = pyogrio.read_dataframe(RAW / "buildings" / "hausumringe.shp")
    assert len(buildings) >= 1500
    assert sum(f.stat().st_size for f in RAW.rglob("*") if f.is_file()) < 5 * 1024**2
    hall = buildings[buildings["OI"] == RATHAUS_OI]
    assert hall["GFK"].tolist() == ["31001_3012"]
    nodes = pyogrio.read_dataframe(RAW / "fibre" / "nodes.geojson").to_crs("EPSG:25832")
    assert hall.geometry.iloc[0].contains(nodes[nodes["name"] == "Rathaus"].geometry.iloc[0])
    assert {"Theodor-Zink-Museum", "Pfalzgalerie", "Burggymnasium"} <= set(nodes["name"])


@pytest.mark.skipif(not FULL.exists(), reason="the full Kaiserslautern extract (../shared/data) is not here")
def test_the_shipped_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    written = write_osm_sample(FULL, tmp_path)
    shipped = {name: hashlib.sha256(next(RAW.rglob(name)).read_bytes()).hexdigest() for name in digest(written)}
    assert digest(written) == shipped
