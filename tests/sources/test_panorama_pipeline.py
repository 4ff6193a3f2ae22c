"""A whole run on a capture the sample does not hold: vendor CSV with noise, duplicates, a jump and a pause."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

import twin
from tests.conftest import RAW, PipelineFactory


def _drive_csv(path: Path) -> int:
    """Write a drive along the sample's longest street; return the number of unique panoramas."""
    streets = gpd.read_file(RAW / "streets" / "streets.geojson").to_crs("EPSG:25832")
    street = streets.geometry.iloc[int(np.argmax(streets.length.to_numpy()))]
    rng = np.random.default_rng(7)
    distances = np.arange(5.0, street.length - 5.0, 5.0)  # the sample's streets end at its boundary: start inside
    pts = shapely.line_interpolate_point(street, distances)
    xy = shapely.get_coordinates(pts) + rng.normal(0, 0.3, (len(pts), 2))
    along = (xy[9] - xy[7]) / np.hypot(*(xy[9] - xy[7]))
    xy[8] += 12.0 * np.array([-along[1], along[0]])  # multipath: 12 m off the street and back, at 18 km/h
    times = pd.Timestamp("2024-04-03T09:00:00Z") + pd.to_timedelta(np.arange(len(pts)) * 1.0, unit="s")
    half = len(pts) // 2
    times = times.where(np.arange(len(pts)) < half, times + pd.Timedelta(minutes=10))  # a pause: two drives
    lonlat = gpd.GeoSeries(shapely.points(xy), crs="EPSG:25832").to_crs("EPSG:4326").get_coordinates()
    table = pd.DataFrame({"Name": [f"IMG_{i:04d}.jpg" for i in range(len(pts))],
                          "Time": times.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                          "Lon": lonlat["x"].round(8), "Lat": lonlat["y"].round(8),
                          "Heading": np.full(len(pts), 95.0)})
    centre = gpd.read_file(RAW / "boundary.geojson").geometry.iloc[0].centroid
    east = 1.0 if table.loc[5, "Lon"] < centre.x else -1.0  # towards the middle of the city: the jump lands inside it
    table.loc[5, ["Lon", "Lat"]] = table.loc[5, ["Lon", "Lat"]] + [east * 0.003, 0.0]  # a GNSS jump of ~220 m in 1 s
    dupes = table.iloc[[10, 20]].copy()  # the export repeats two rows
    pd.concat([table, dupes]).to_csv(path, index=False)
    return len(pts) - 1


def test_run_on_an_unseen_capture(tmp_path: Path, make_pipeline: PipelineFactory) -> None:
    csv = tmp_path / "drive.csv"
    unique = _drive_csv(csv)
    panoramas = (f'path = "{csv}"\nformat = "csv"\ncrs = "EPSG:4326"\nstreets = "{RAW}/streets/streets.geojson"\n'
                 '[panoramas.columns]\nimage_name = "Name"\npanorama_id = "Name"\ncaptured_at = "Time"\n'
                 'x = "Lon"\ny = "Lat"\nheading_deg = "Heading"').replace("streets =", "max_deviation_m = 8.0\nstreets =")
    output = twin.run(twin.read_pipeline(make_pipeline(panoramas=panoramas))).output
    pics = pyogrio.read_dataframe(output, layer="panoramas")
    issues = pyogrio.read_dataframe(output, layer="qa_issues")
    tracks = pyogrio.read_dataframe(output, layer="capture_tracks")
    cover = pyogrio.read_dataframe(output, layer="capture_coverage")
    streets = pyogrio.read_dataframe(output, layer="street_coverage")
    buildings = pyogrio.read_dataframe(output, layer="buildings")
    pano_issues = issues[issues["layer"] == "panoramas"]
    assert len(pics) == unique and pics["panorama_id"].is_unique
    assert sorted(pano_issues.loc[pano_issues["check"] == "duplicate_image", "feature_id"]) == [
        "IMG_0010.jpg", "IMG_0020.jpg"]
    jumps = pano_issues.loc[pano_issues["check"] == "gnss_jump"]
    assert jumps["feature_id"].tolist() == ["IMG_0005.jpg", "IMG_0008.jpg"]
    off = re.search(r"position ([0-9.]+) m off the line through its neighbours", jumps["message"].iloc[1])
    assert off is not None and abs(float(off.group(1)) - 12.0) < 1.5  # the street bends and the positions are noisy
    assert pics.loc[pics["gnss_jump"].astype(bool), "panorama_id"].tolist() == ["IMG_0008.jpg"]
    assert len(tracks) == 2 and tracks["image_count"].sum() == unique - 1
    assert cover.is_valid.all() and (cover["area_m2"] > 0).all()
    assert streets["covered_share"].max() > 0.9
    assert 0 < (buildings["panorama_count"] > 0).sum() < len(buildings)
