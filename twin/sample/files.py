"""Write the generated city as the files a city really receives."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from twin.sample.city import CRS, HALL_X, HALL_Y, City
from twin.sample.fibre import Network

GEOJSON = {"RFC7946": "YES", "COORDINATE_PRECISION": 7, "WRITE_NAME": "NO"}


def write_files(out: Path, buildings: gpd.GeoDataFrame, drive: pd.DataFrame, network: Network,
                boundary: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> dict[str, Path]:
    """Write buildings (ALKIS columns), panoramas, fibre, streets, boundary and districts into `out`."""
    for sub in ("buildings", "panoramas", "fibre", "streets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    paths = {
        "buildings": out / "buildings" / "hausumringe.shp",
        "panoramas": out / "panoramas" / "recordings.csv",
        "routes": out / "fibre" / "routes.geojson",
        "nodes": out / "fibre" / "nodes.geojson",
        "streets": out / "streets" / "streets.geojson",
        "boundary": out / "boundary.geojson",
        "districts": out / "districts.geojson",
    }
    _buildings(buildings, paths["buildings"])
    _panoramas(drive, paths["panoramas"])
    _geojson(network.routes, paths["routes"])
    _geojson(network.nodes, paths["nodes"])
    _geojson(network.streets, paths["streets"])
    _geojson(boundary, paths["boundary"])
    _geojson(districts, paths["districts"])
    return paths


#: The columns of a Hausumringe delivery, in their order.
ALKIS_COLUMNS = ("OI", "AGS", "GFK", "AKTUALIT", "STRASSE", "HAUSNR", "AOG")


def _buildings(buildings: gpd.GeoDataFrame, path: Path) -> None:
    frame = buildings[[c for c in ALKIS_COLUMNS if c in buildings.columns] + ["geometry"]].copy()
    n = len(frame)
    geoms = frame.geometry.to_numpy()
    rectangles = np.flatnonzero((shapely.get_num_coordinates(geoms) == 5) & (shapely.area(geoms) > 10.0))
    wanted = max(3, n // 500)
    bowties = rectangles[:: max(1, len(rectangles) // wanted)][:wanted]
    coords = shapely.get_coordinates(frame.geometry.to_numpy()[bowties]).reshape(len(bowties), 5, 2)
    coords[:, [1, 2]] = coords[:, [2, 1]]
    frame.loc[frame.index[bowties], "geometry"] = shapely.polygons(coords)
    dup = np.arange(5, n, max(1, n // max(5, n * 3 // 1000)))[: max(5, n * 3 // 1000)]
    copies = frame.iloc[dup].copy()
    copies.loc[copies.index[1:], "OI"] = np.char.add("DERPLIDUP", np.char.zfill(np.arange(1, len(copies)).astype(str), 7))
    frame = gpd.GeoDataFrame(pd.concat([frame, copies], ignore_index=True), crs=CRS)
    if path.exists():
        for sidecar in path.parent.glob(path.stem + ".*"):
            sidecar.unlink()
    pyogrio.write_dataframe(frame, path, encoding="cp1252", geometry_type="Polygon", use_arrow=True)  # Arrow: integers with gaps stay integers
    _stamp_dbf(path.with_suffix(".dbf"), DBF_DATE)


#: The last-update date in the DBF header of the sample's buildings; GDAL writes the day of writing,
#: which would make the same inputs give other bytes on another day.
DBF_DATE = (2024, 1, 31)


def _stamp_dbf(path: Path, date: tuple[int, int, int]) -> None:
    """Set the last-update date of a dBASE header (bytes 1–3: years since 1900, month, day)."""
    with path.open("r+b") as dbf:
        dbf.seek(1)
        dbf.write(bytes((date[0] - 1900, date[1], date[2])))


def _panoramas(drive: pd.DataFrame, path: Path) -> None:
    lonlat = gpd.GeoSeries(shapely.points(drive["x"], drive["y"]), crs=CRS).to_crs("EPSG:4326")
    xy = shapely.get_coordinates(lonlat.to_numpy())
    table = pd.DataFrame({
        "imageId": drive["imageId"],
        "recordedAt": drive["recordedAt"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z",
        "X": np.char.mod("%.8f", xy[:, 0]), "Y": np.char.mod("%.8f", xy[:, 1]), "Z": drive["Z"],
        "srs": "EPSG:4326", "recorderDirection": drive["recorderDirection"], "orientation": drive["orientation"],
        "groundLevelOffset": drive["groundLevelOffset"], "latitudePrecision": drive["latitudePrecision"],
        "longitudePrecision": drive["longitudePrecision"], "heightPrecision": drive["heightPrecision"],
        "expiredAt": "",
    })
    table.to_csv(path, index=False, lineterminator="\n")


def _geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(frame.to_crs("EPSG:4326"), path, driver="GeoJSON", layer_options=GEOJSON)


def boundary_of(city: City) -> gpd.GeoDataFrame:
    """The grid with margin; its eastern edge runs through the last column of blocks."""
    east = city.xs[-1] - 14.0
    shape = shapely.box(city.xs[0] - 40, city.ys[0] - 40, east, city.ys[-1] + 40)
    return gpd.GeoDataFrame({"name": ["Kaiserslautern"], "ags": ["07312000"]}, geometry=[shape], crs=CRS)


#: Districts of the sample, clockwise from the north-west quarter around the city hall (made up: the grid is).
DISTRICTS = ("Innenstadt-Nord", "Innenstadt-Ost", "Betzenberg", "Innenstadt-West")


def districts_of(city: City) -> gpd.GeoDataFrame:
    """Four districts meeting at the city hall, over the boundary's extent; its southern margin lies in none."""
    xmin, ymin, xmax, ymax = city.xs[0] - 40, city.ys[0] - 40, city.xs[-1] - 14.0, city.ys[-1] + 40
    south = ymin + 60.0  # the southernmost strip stays outside every district
    shapes = [shapely.box(xmin, HALL_Y, HALL_X, ymax), shapely.box(HALL_X, HALL_Y, xmax, ymax),
              shapely.box(HALL_X, south, xmax, HALL_Y), shapely.box(xmin, south, HALL_X, HALL_Y)]
    return gpd.GeoDataFrame({"nummer": ["01", "02", "03", "04"], "name": list(DISTRICTS)}, geometry=shapes, crs=CRS)
