"""A town in a national CRS: headings from true north become grid bearings, so the model does not depend on the CRS.

In S-JTSK / Krovak East North (EPSG:5514) grid north lies about 7.8° east of true north in Prague; in
UTM zone 33 under half a degree. The same drive with a 60° field of view must count the same panoramas
for every building in both.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from twin.cli import main

#: A street in Prague's Old Town, driven eastwards.
LON, LAT = 14.4200, 50.0870


def _town(folder: Path) -> None:
    """Footprints beside a drive east along one street; the capture CSV in degrees with true headings."""
    rng = np.random.default_rng(5)
    utm = "EPSG:32633"
    start = gpd.GeoSeries(shapely.points([LON], [LAT]), crs="EPSG:4326").to_crs(utm).iloc[0]
    x = start.x + np.arange(40) * 6.0
    pictures = gpd.GeoSeries(shapely.points(x, np.full(40, start.y)), crs=utm).to_crs("EPSG:4326")
    true_east = 90.0 + 0.4  # due east along the UTM grid is 90.4° from true north here
    pd.DataFrame({
        "image": [f"{i:03d}.jpg" for i in range(40)],
        "time": [f"2024-05-01T10:00:{i:02d}Z" for i in range(40)],
        "lon": pictures.x.round(8), "lat": pictures.y.round(8), "heading": true_east,
    }).to_csv(folder / "drive.csv", index=False)
    centres = np.column_stack([rng.uniform(x[0] - 20, x[-1] + 20, 300), start.y + rng.uniform(-30, 30, 300)])
    boxes = shapely.box(centres[:, 0] - 2, centres[:, 1] - 2, centres[:, 0] + 2, centres[:, 1] + 2)
    keep = shapely.distance(boxes, shapely.linestrings(np.column_stack([x, np.full(40, start.y)]))) > 3
    footprints = gpd.GeoDataFrame({"id": [f"B{i:03d}" for i in range(keep.sum())]}, geometry=boxes[keep], crs=utm)
    pyogrio.write_dataframe(footprints.to_crs("EPSG:4326"), folder / "budovy.geojson")


def _pipeline(folder: Path, crs: str, north: str) -> Path:
    name = f"{crs.replace(':', '_')}_{north}"
    path = folder / f"{name}.toml"
    path.write_text(f"""[city]
name = "Praha"
crs = "{crs}"
[output]
path = "out/{name}.gpkg"
[buildings]
path = "budovy.geojson"
format = "generic"
[buildings.columns]
building_id = "id"
[panoramas]
path = "drive.csv"
crs = "EPSG:4326"
heading_north = "{north}"
view_distance_m = 40.0
view_fov_deg = 60.0
[panoramas.columns]
image_name = "image"
captured_at = "time"
x = "lon"
y = "lat"
heading_deg = "heading"
""", encoding="utf-8")
    return path


def _counts(folder: Path, crs: str, north: str = "true") -> pd.Series:
    path = _pipeline(folder, crs, north)
    assert main(["run", "--quiet", str(path)]) == 0
    model = pyogrio.read_dataframe(folder / "out" / f"{path.stem}.gpkg", layer="buildings")
    return model.set_index("building_id")["panorama_count"].sort_index()


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("praha")
    _town(folder)
    return folder


def test_the_same_drive_counts_the_same_panoramas_in_s_jtsk_and_in_utm(town: Path) -> None:
    krovak, utm = _counts(town, "EPSG:5514"), _counts(town, "EPSG:32633")
    assert len(krovak) > 200 and krovak.sum() > 0
    pd.testing.assert_series_equal(krovak, utm)


def test_read_as_grid_bearings_the_8_degrees_change_the_counts(town: Path) -> None:
    """The test above can fail: taken as grid bearings, the true headings turn the view 7.8° in S-JTSK."""
    krovak, utm = _counts(town, "EPSG:5514", "grid"), _counts(town, "EPSG:32633", "grid")
    assert (krovak != utm).sum() >= 5


def test_the_model_holds_grid_bearings_of_its_crs(town: Path) -> None:
    _counts(town, "EPSG:5514")
    panoramas = pyogrio.read_dataframe(town / "out" / "EPSG_5514_true.gpkg", layer="panoramas")
    assert panoramas["heading_deg"].between(97.9, 98.6).all()  # 90.4° true + 7.8° convergence
