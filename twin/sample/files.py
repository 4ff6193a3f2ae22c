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


def write_files(out: Path, city: City, drive: pd.DataFrame, network: Network) -> dict[str, Path]:
    """Write buildings, panoramas, fibre, streets, boundary and districts into `out`."""
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
    _buildings(city, paths["buildings"])
    _panoramas(drive, paths["panoramas"])
    _geojson(network.routes, paths["routes"])
    _geojson(network.nodes, paths["nodes"])
    _geojson(network.streets, paths["streets"])
    _geojson(_boundary(city), paths["boundary"])
    _geojson(_districts(city), paths["districts"])
    return paths


def _buildings(city: City, path: Path) -> None:
    frame = city.buildings[["OI", "AGS", "GFK", "AKTUALIT", "STRASSE", "HAUSNR", "geometry"]].copy()
    n = len(frame)
    rectangles = np.flatnonzero(shapely.get_num_coordinates(frame.geometry.to_numpy()) == 5)
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
    pyogrio.write_dataframe(frame, path, encoding="cp1252", geometry_type="Polygon")


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


def _boundary(city: City) -> gpd.GeoDataFrame:
    """The grid with margin; its eastern edge runs through the last column of blocks."""
    east = city.xs[-1] - 14.0
    shape = shapely.box(city.xs[0] - 40, city.ys[0] - 40, east, city.ys[-1] + 40)
    return gpd.GeoDataFrame({"name": ["Kaiserslautern"], "ags": ["07312000"]}, geometry=[shape], crs=CRS)


#: Districts of the sample, clockwise from the north-west quarter around the city hall (made up: the grid is).
DISTRICTS = ("Innenstadt-Nord", "Innenstadt-Ost", "Betzenberg", "Innenstadt-West")


def _districts(city: City) -> gpd.GeoDataFrame:
    """Four districts meeting at the city hall, over the boundary's extent; its southern margin lies in none."""
    xmin, ymin, xmax, ymax = city.xs[0] - 40, city.ys[0] - 40, city.xs[-1] - 14.0, city.ys[-1] + 40
    south = ymin + 60.0  # the southernmost strip stays outside every district
    shapes = [shapely.box(xmin, HALL_Y, HALL_X, ymax), shapely.box(HALL_X, HALL_Y, xmax, ymax),
              shapely.box(HALL_X, south, xmax, HALL_Y), shapely.box(xmin, south, HALL_X, HALL_Y)]
    return gpd.GeoDataFrame({"nummer": ["01", "02", "03", "04"], "name": list(DISTRICTS)}, geometry=shapes, crs=CRS)
