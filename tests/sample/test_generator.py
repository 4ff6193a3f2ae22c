"""The synthetic sample: deterministic, realistic in shape, with the defects real data has."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from tests.sample.conftest import digest
from twin.sample import write_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_sample(tmp_path_factory.mktemp("sample"), scale=2000, seed=7)


def test_same_seed_same_bytes(sample: dict[str, Path], tmp_path: Path) -> None:
    again = write_sample(tmp_path, scale=2000, seed=7)
    assert digest(again) == digest(sample)


def test_other_seed_other_data(sample: dict[str, Path], tmp_path: Path) -> None:
    other = write_sample(tmp_path, scale=2000, seed=8)
    assert digest(other) != digest(sample)


def test_buildings_near_scale_cp1252_with_umlauts(sample: dict[str, Path]) -> None:
    path = sample["buildings"]
    assert path.with_suffix(".cpg").read_text().strip().upper() in {"1252", "CP1252"}
    assert b"stra\xdfe" in path.with_suffix(".dbf").read_bytes()
    frame = pyogrio.read_dataframe(path)
    assert frame.crs == "EPSG:25832"
    assert 1800 <= len(frame) <= 2200
    assert frame["STRASSE"].str.contains("ß").any()
    assert frame["OI"].str.fullmatch(r"DERPLI[0-9A-Z]{10}").all()
    assert set(frame["AGS"]) == {"07312000"}
    assert (frame["GFK"] == "31001_3012").sum() == 1
    assert (frame["GFK"] == "31001_3021").sum() >= 10
    assert (frame["GFK"] == "31001_3034").sum() >= 2


def test_buildings_have_bowties_and_duplicates(sample: dict[str, Path]) -> None:
    frame = pyogrio.read_dataframe(sample["buildings"])
    assert (~frame.is_valid).sum() >= 3
    wkb = shapely.to_wkb(shapely.normalize(frame.geometry.to_numpy()))
    assert pd.Series(wkb).duplicated().sum() >= 5
    assert frame["OI"].duplicated().sum() >= 1


def test_town_hall_near_the_real_one(sample: dict[str, Path]) -> None:
    frame = pyogrio.read_dataframe(sample["buildings"])
    hall = frame[frame["GFK"] == "31001_3012"].geometry.iloc[0]
    assert hall.distance(shapely.Point(410767, 5477621)) < 60


def test_panoramas_every_5_m_on_three_days_with_defects(sample: dict[str, Path]) -> None:
    table = pd.read_csv(sample["panoramas"])
    assert list(table.columns[:6]) == ["imageId", "recordedAt", "X", "Y", "Z", "srs"]
    assert set(table["srs"]) == {"EPSG:4326"}
    days = pd.to_datetime(table["recordedAt"], utc=True).dt.date.unique()
    assert len(days) >= 3
    assert table["imageId"].duplicated().sum() >= 3
    assert ((table["orientation"] >= 360) | (table["orientation"] < 0)).any()
    points = gpd.GeoSeries(gpd.points_from_xy(table["X"], table["Y"]), crs="EPSG:4326").to_crs("EPSG:25832")
    step = points.iloc[:50].distance(points.shift(1).iloc[:50]).dropna()
    assert step.median() == pytest.approx(5.0, abs=0.5)
    jumps = points.distance(points.shift(1)) > 150
    assert 1 <= jumps.sum() <= 6


def test_panoramas_lie_on_streets(sample: dict[str, Path]) -> None:
    table = pd.read_csv(sample["panoramas"])
    points = gpd.GeoSeries(gpd.points_from_xy(table["X"], table["Y"]), crs="EPSG:4326").to_crs("EPSG:25832")
    streets = pyogrio.read_dataframe(sample["streets"]).to_crs("EPSG:25832")
    distance = points.distance(shapely.union_all(streets.geometry.to_numpy()))
    assert (distance < 15).mean() > 0.99


def test_fibre_star_from_the_town_hall(sample: dict[str, Path]) -> None:
    nodes = pyogrio.read_dataframe(sample["nodes"]).to_crs("EPSG:25832")
    buildings = pyogrio.read_dataframe(sample["buildings"])
    hub = nodes[nodes["kind"] == "hub"]
    assert hub["name"].tolist() == ["Rathaus"]
    hall = buildings[buildings["GFK"] == "31001_3012"].geometry.iloc[0]
    assert hall.contains(hub.geometry.iloc[0])
    sites = nodes[nodes["kind"] == "site"]
    assert len(sites) >= 15
    by_oi = buildings.drop_duplicates("OI").set_index("OI").geometry
    assert all(by_oi[oi].contains(point) for oi, point in zip(sites["building_oi"], sites.geometry, strict=True))
    routes = pyogrio.read_dataframe(sample["routes"])
    assert routes.crs == "EPSG:4326"
    assert set(routes["kind"]) <= {"trench", "duct", "aerial"}
    assert set(routes["status"]) <= {"planned", "built", "in_service"}


def test_boundary_cuts_some_buildings(sample: dict[str, Path]) -> None:
    boundary = pyogrio.read_dataframe(sample["boundary"]).to_crs("EPSG:25832").geometry.iloc[0]
    buildings = pyogrio.read_dataframe(sample["buildings"])
    crossing = buildings.intersects(boundary.boundary)
    assert crossing.sum() >= 1
    assert buildings.intersects(boundary).mean() > 0.9


def test_districts_meet_at_the_city_hall_and_leave_a_margin_of_the_boundary_outside(sample: dict[str, Path]) -> None:
    districts = pyogrio.read_dataframe(sample["districts"]).to_crs("EPSG:25832")
    boundary = pyogrio.read_dataframe(sample["boundary"]).to_crs("EPSG:25832").geometry.iloc[0]
    assert districts["name"].tolist() == ["Innenstadt-Nord", "Innenstadt-Ost", "Betzenberg", "Innenstadt-West"]
    assert (districts.geom_type == "Polygon").all()
    hall = shapely.Point(410767.0, 5477621.0)
    assert (districts.distance(hall) < 0.01).all()
    union = districts.union_all()
    assert union.difference(boundary.buffer(0.01)).is_empty  # inside the town
    assert 0 < boundary.difference(union).area < 0.2 * boundary.area  # a strip of it lies in no district
    overlaps = districts.geometry.iloc[0].intersection(districts.geometry.iloc[1]).area
    assert overlaps == pytest.approx(0.0, abs=1e-3)


def test_long_drives_go_on_another_day_and_never_overlap_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A drive longer than a working day (a large region) goes on a week later: sorted by time, the pictures
    of the three drives never alternate, so consecutive pictures lie a few metres apart within a drive."""
    import numpy as np

    from twin.sample import panoramas
    from twin.sample.city import make_city

    monkeypatch.setattr(panoramas, "SHIFT_H", 0.1)  # 6 minutes a day: about 600 pictures
    rng = np.random.default_rng(7)
    drive = panoramas.make_panoramas(rng, make_city(rng, scale=3000), count=6000)
    times = pd.to_datetime(drive["recordedAt"], utc=True)
    assert times.is_monotonic_increasing
    gap = times.diff().dt.total_seconds().to_numpy()[1:]
    step = np.hypot(np.diff(drive["x"].to_numpy()), np.diff(drive["y"].to_numpy()))
    assert (gap > 6 * 3600).sum() >= 6  # days apart
    within = (gap < 60) & (gap > 0.1)
    assert np.median(step[within]) == pytest.approx(5.0, abs=0.3)
    assert (step[within] > 100).sum() <= 2  # the one GNSS jump, there and back
