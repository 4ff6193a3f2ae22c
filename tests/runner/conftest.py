"""A small city written in code for the runner tests: buildings, panoramas, fibre, boundary."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

CRS = "EPSG:25832"
X0, Y0 = 410_000.0, 5_478_000.0

CityFactory = Callable[..., Path]


def write_drive(raw: Path, side: int) -> None:
    """A drive along the first row of the city's blocks: a panorama every 5 m, every 2 s, heading east."""
    shots = np.arange(0, side * 30, 5.0)
    times = pd.date_range("2024-05-16T08:00:00Z", periods=len(shots), freq="2s")
    pd.DataFrame({"panorama_id": [f"P{n:05d}" for n in range(len(shots))],
                  "image_name": [f"P{n:05d}.jpg" for n in range(len(shots))],
                  "captured_at": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "x": X0 + shots, "y": Y0 + 20.0,
                  "z": 240.0, "heading_deg": 90.0}).to_csv(raw / "panoramas.csv", index=False)


def write_city(folder: Path, *, buildings: int = 60) -> Path:
    """Write the inputs of a small city into `folder` and return its pipeline file."""
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    side = int(np.ceil(np.sqrt(buildings)))
    i = np.arange(buildings)
    x, y = X0 + (i % side) * 30.0, Y0 + (i // side) * 30.0
    footprints = gpd.GeoDataFrame(
        {"OI": [f"DERP{n:08d}" for n in i], "GFK": np.where(i == 0, "3012", "1000"),
         "name": [f"Haus {n} Straße" for n in i]},
        geometry=shapely.box(x, y, x + 12.0, y + 10.0), crs=CRS,
    )
    write_buildings(raw, footprints)
    extent = shapely.box(X0 - 100, Y0 - 100, X0 + side * 30 + 100, Y0 + side * 30 + 100)
    gpd.GeoDataFrame({"name": ["city"]}, geometry=[extent], crs=CRS).to_file(raw / "boundary.geojson")
    write_drive(raw, side)
    lines = [shapely.linestrings([[X0 - 5, Y0 + 20], [X0 + side * 30, Y0 + 20]]),
             shapely.linestrings([[X0 + 15, Y0 + 20], [X0 + 15, Y0 + side * 30]])]
    gpd.GeoDataFrame({"route_id": ["R1", "R2"], "kind": ["trench", "duct"], "status": ["built", "planned"],
                      "ducts": [2, 1], "fibres": [96, 48]}, geometry=lines, crs=CRS).to_file(raw / "routes.geojson")
    gpd.GeoDataFrame({"node_id": ["N1", "N2"], "kind": ["hub", "distribution"], "name": ["Rathaus", "VP 1"]},
                     geometry=shapely.points([[X0 + 6, Y0 + 5], [X0 + 15, Y0 + 60]]), crs=CRS
                     ).to_file(raw / "nodes.geojson")
    pipeline = folder / "city.toml"
    pipeline.write_text(
        f'[city]\nname = "Testdorf"\ncrs = "{CRS}"\nboundary = "raw/boundary.geojson"\n\n'
        f'[output]\npath = "out/cim.gpkg"\nkeep = 2\n\n'
        f'[buildings]\npath = "raw/buildings.gpkg"\nformat = "alkis"\n\n'
        f'[panoramas]\npath = "raw/panoramas.csv"\nformat = "csv"\ncrs = "{CRS}"\n\n'
        f'[fibre]\nroutes = "raw/routes.geojson"\nnodes = "raw/nodes.geojson"\nhub = "Rathaus"\n',
        encoding="utf-8",
    )
    return pipeline


def write_buildings(raw: Path, footprints: gpd.GeoDataFrame) -> None:
    """(Re)write the buildings input of a city."""
    path = raw / "buildings.gpkg"
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(footprints, path, layer="hausumringe", driver="GPKG")


def read_buildings(raw: Path) -> gpd.GeoDataFrame:
    """The buildings input of a city."""
    return pyogrio.read_dataframe(raw / "buildings.gpkg")


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """The pipeline file of a small city in tmp_path (output: out/cim.gpkg, keep = 2)."""
    return write_city(tmp_path)


@contextlib.contextmanager
def closed_to_new_files(folder: Path) -> Iterator[str]:
    """`folder` takes no new files while the block runs (its files stay writable); yields the system's words."""
    if os.geteuid() != 0:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            yield "Permission denied"
        finally:
            folder.chmod(stat.S_IRWXU)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True,
                                                        check=False).returncode != 0:
        pytest.skip("this file system cannot make a folder immutable (chattr +i)")
    try:
        yield "Operation not permitted"
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
