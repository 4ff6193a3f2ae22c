"""What the OSM sample takes from an extract: buildings with their tags, highways, points of interest.

Read with the project's vector reader (GDAL's OSM driver, ``.osm``, ``.osm.gz`` or ``.osm.pbf``),
so a broken way of the extract (a ring of two points) is left empty there, not a crash.
The city hall is found by its tags (``amenity=townhall`` or ``building=townhall``), not by
coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.errors import SourceError
from twin.sources.osm import check_pbf, check_xml
from twin.sources.vector import read_vector

CRS = "EPSG:25832"
#: The tags the sample reads from GDAL's ``other_tags`` text.
TAGS = ("addr:street", "addr:housenumber", "building:levels", "tourism", "amenity", "office", "building")
_VALUE = r'((?:[^"\\]|\\.)*)'


@dataclass
class Extract:
    """Buildings (with ``osm_ref``, ``name`` and the tags of :data:`TAGS`), highways and tagged points."""

    buildings: gpd.GeoDataFrame
    highways: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    hall: int


def tag_values(other_tags: pd.Series, key: str) -> pd.Series:
    """The value of one tag in GDAL's ``other_tags`` hstore text, for all rows at once.

    >>> tag_values(pd.Series(['"addr:street"=>"Marktstraße","tourism"=>"museum"', None]), "tourism").tolist()
    ['museum', nan]
    """
    text = other_tags.astype("str").where(other_tags.notna(), "")
    escaped = key.replace(":", r"\:")
    value = text.str.extract(rf'(?:^|,)"{escaped}"=>"{_VALUE}"', expand=False)
    return value.str.replace(r'\\(["\\])', r"\1", regex=True)


def _with_tags(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    other = out["other_tags"] if "other_tags" in out else pd.Series(None, index=out.index, dtype="object")
    for key in TAGS:
        parsed = tag_values(other, key)
        out[key] = out[key].where(out[key].notna(), parsed) if key in out else parsed
    if "name" not in out:
        out["name"] = None
    return out


def read_extract(path: Path) -> Extract:
    """Read the layers of an OSM extract the sample needs, in EPSG:25832.

    Raises
    ------
    SourceError
        When the file is no complete OSM extract, or has no city hall.
    """
    if not path.is_file():
        raise SourceError(str(path), "file not found", fix="give the path of an OpenStreetMap extract to --from-osm")
    name = path.name.lower()
    if name.endswith(".osm"):
        check_xml(path)
    elif name.endswith(".pbf"):
        check_pbf(path)

    def layer(which: str) -> gpd.GeoDataFrame:
        return read_vector(path, target_crs=CRS, layer=which, declared_crs="EPSG:4326", section="sample")

    polygons = _with_tags(layer("multipolygons"))
    polygons = polygons.loc[~shapely.is_missing(polygons.geometry.to_numpy()) & ~shapely.is_empty(polygons.geometry.to_numpy())]
    way = pd.to_numeric(polygons["osm_way_id"], errors="coerce").astype("Int64")
    rel = pd.to_numeric(polygons["osm_id"], errors="coerce").astype("Int64")
    polygons = polygons.assign(osm_ref=("way/" + way.astype("str")).where(way.notna(), "relation/" + rel.astype("str")))
    is_building = polygons["building"].notna() & (polygons["building"].astype("str").str.lower() != "no")
    buildings = polygons.loc[is_building].sort_values("osm_ref", kind="stable").reset_index(drop=True)
    features = polygons.loc[~is_building].reset_index(drop=True)
    lines = _with_tags(layer("lines"))
    highways = lines.loc[lines["highway"].notna()].reset_index(drop=True)
    points = _with_tags(layer("points"))
    hall = _city_hall(buildings, path)
    return Extract(buildings, highways, points, features, hall)


def _city_hall(buildings: gpd.GeoDataFrame, path: Path) -> int:
    """Position of the city hall: tagged ``townhall``; of several, the largest."""
    tagged = (buildings["amenity"] == "townhall") | (buildings["building"] == "townhall")
    if not tagged.any():
        raise SourceError(path.name, "has no building tagged amenity=townhall or building=townhall",
                          fix="give an extract that holds the city hall")
    area = shapely.area(buildings.geometry.to_numpy())
    return int(np.flatnonzero(tagged)[np.argmax(area[tagged.to_numpy()])])
