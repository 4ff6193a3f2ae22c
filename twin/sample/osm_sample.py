"""The shipped sample made from a real OpenStreetMap extract: the inner city around the city hall.

Buildings become an ALKIS Hausumringe delivery (cp1252 Shapefile), highways the street layer, two
camera-car campaigns drive the real streets, and RAINBOW runs from the city hall to the schools,
museums and administration buildings along them. Same extract and seed, same bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from twin.errors import SourceError
from twin.sample.files import write_files
from twin.sample.osm_buildings import AGS, alkis_frame, inner_city, public_sites, with_faults
from twin.sample.osm_drive import make_drives
from twin.sample.osm_extract import CRS, read_extract
from twin.sample.osm_fibre import make_star
from twin.sample.osm_streets import DRIVEN, inner_streets, largest_part, street_graph

log = logging.getLogger(__name__)

#: Share of the inner city's drivable street length each campaign drives (2021, 2023).
DRIVE_SHARES = (0.5, 0.7)
#: The made-up districts cover this share of the radius; the ring outside them lies in none.
DISTRICT_SHARE = 0.9
#: Names of the made-up districts, the quadrants around the city hall from north-east clockwise.
DISTRICTS = ("Innenstadt-Nordost", "Innenstadt-Südost", "Innenstadt-Südwest", "Innenstadt-Nordwest")
#: Fewest buildings a sample is made of.
MIN_BUILDINGS = 10


def write_osm_sample(osm: Path, out: Path, *, radius_m: float = 650.0, seed: int = 42) -> dict[str, Path]:
    """Write the sample of the buildings within `radius_m` of the city hall of extract `osm` into `out`.

    Parameters
    ----------
    osm
        OpenStreetMap extract (``.osm``, ``.osm.gz`` or ``.osm.pbf``) holding a building tagged as city hall.
    out
        Folder to write into (created if missing).
    radius_m
        Radius of the inner city around the city hall (m); the sample's boundary is this circle.
    seed
        Seed of the random generator (image ids, lane noise, route kinds, the faults).

    Raises
    ------
    twin.errors.SourceError
        When the extract cannot be read, holds no city hall, or too few buildings or streets around it.
    """
    rng = np.random.default_rng(seed)
    extract = read_extract(Path(osm))
    keep, area = inner_city(extract, radius_m=radius_m)
    if len(keep) < MIN_BUILDINGS:
        raise SourceError(Path(osm).name, f"has {len(keep)} buildings within {radius_m:g} m of the city hall, "
                                          f"fewer than the {MIN_BUILDINGS} a sample needs", fix="give a larger extract or radius")
    buildings = alkis_frame(extract, keep)
    hall = int(np.flatnonzero(keep == extract.hall)[0])
    sites = public_sites(extract, buildings, keep)
    streets = inner_streets(extract, area)
    drivable = streets.loc[streets["highway"].isin(DRIVEN)]
    if drivable.empty:
        raise SourceError(Path(osm).name, f"has no named or drivable highway within {radius_m:g} m of the city hall",
                          fix="give an extract with the streets around the city hall")
    driven = largest_part(street_graph(drivable))
    total = driven.size(weight="length")
    roads = largest_part(street_graph(streets))
    hall_point = shapely.point_on_surface(buildings.geometry.iloc[hall])
    drive = make_drives(rng, driven, hall_point, lengths_m=(DRIVE_SHARES[0] * total, DRIVE_SHARES[1] * total))
    network = make_star(rng, roads, buildings, sites, hall=hall, streets=streets[["street_id", "name", "geometry"]])
    boundary = gpd.GeoDataFrame({"name": ["Kaiserslautern, Innenstadt"], "ags": [AGS]}, geometry=[area], crs=CRS)
    districts = quadrants(hall_point, DISTRICT_SHARE * radius_m)
    written = write_files(Path(out), with_faults(buildings, rng), drive, network, boundary, districts)
    log.info("sample of %d buildings, %d panoramas, %d fibre sites from %s written to %s",
             len(buildings), len(drive), len(sites), Path(osm).name, out)
    return written


def quadrants(centre: shapely.Point, radius_m: float) -> gpd.GeoDataFrame:
    """Four made-up districts: the quarters of a circle of `radius_m` around `centre`, named :data:`DISTRICTS`.

    >>> [round(a / 1e4, 2) for a in quadrants(shapely.Point(0, 0), 100.0).area]
    [0.79, 0.79, 0.79, 0.79]
    """
    x, y, far = centre.x, centre.y, 2 * radius_m
    circle = centre.buffer(radius_m, quad_segs=32)
    boxes = [shapely.box(x, y, x + far, y + far), shapely.box(x, y - far, x + far, y),
             shapely.box(x - far, y - far, x, y), shapely.box(x - far, y, x, y + far)]
    shapes = [shapely.set_precision(circle.intersection(box), 0.01) for box in boxes]
    return gpd.GeoDataFrame({"nummer": ["01", "02", "03", "04"], "name": list(DISTRICTS)}, geometry=shapes, crs=CRS)
