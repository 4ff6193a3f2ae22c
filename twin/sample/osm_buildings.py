"""The inner city's OSM buildings as an ALKIS Hausumringe delivery, and the public sites of the fibre star."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.model.codes import OSM_FUNCTIONS
from twin.sample.ids import base34
from twin.sample.osm_extract import CRS, Extract

#: Amtlicher Gemeindeschlüssel of Kaiserslautern.
AGS = "07312000"
#: OSM ``amenity`` (and ``tourism``, ``office``) value -> Gebäudefunktion, before ``building=*``.
TAG_FUNCTIONS: dict[str, str] = {
    "townhall": "3012", "public_building": "3010", "government": "3010", "courthouse": "3015",
    "police": "3071", "fire_station": "3072", "post_office": "3013", "school": "3021", "college": "3022",
    "university": "3023", "kindergarten": "3065", "library": "3037", "theatre": "3032", "cinema": "3036",
    "arts_centre": "3030", "community_centre": "3060", "museum": "3034", "place_of_worship": "3040",
    "hospital": "3051", "social_facility": "3060", "retirement_home": "3052", "bank": "2030",
    "insurance": "2040", "restaurant": "2081", "cafe": "2081", "pub": "2081", "bar": "2081",
    "fast_food": "2081", "ice_cream": "2081", "hotel": "2071", "parking": "2461", "pharmacy": "2050",
}
#: Gebäudefunktion where neither tag says what a building is used for (AdV: not specifiable from the sources).
UNKNOWN_FUNCTION = "9998"
#: Site kinds of the fibre star and the function code each gets.
SITE_CODES = {"school": "3021", "museum": "3034", "administration": "3010"}
SITE_LABELS = {"school": "Schule", "museum": "Museum", "administration": "Verwaltung"}
_ADMINISTRATION = {"public_building", "courthouse", "government", "townhall"}


def inner_city(extract: Extract, *, radius_m: float) -> tuple[np.ndarray, shapely.Polygon]:
    """Positions of the buildings whose centre lies within `radius_m` of the city hall, and that circle."""
    centre = shapely.centroid(extract.buildings.geometry.to_numpy()[extract.hall])
    area = shapely.buffer(centre, radius_m, quad_segs=32)
    inside = shapely.contains(area, shapely.centroid(extract.buildings.geometry.to_numpy()))
    return np.flatnonzero(inside), area


def function_codes(buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Gebäudefunktion of each building from its ``amenity``, ``tourism``, ``office`` and ``building`` tags."""
    codes = buildings["building"].astype("str").str.lower().map(OSM_FUNCTIONS)
    for key in ("office", "tourism", "amenity"):  # later keys win: amenity says most about the use
        by_tag = buildings[key].astype("str").str.lower().map(TAG_FUNCTIONS)
        codes = by_tag.where(by_tag.notna(), codes)
    return codes.fillna(UNKNOWN_FUNCTION).to_numpy(dtype=object)


def object_ids(refs: pd.Series) -> np.ndarray:
    """ALKIS-like object identifiers (``DERPLI`` + 10 characters), stable for an OSM way or relation."""
    kind, number = refs.str.split("/", n=1, expand=True)[0], refs.str.split("/", n=1, expand=True)[1]
    value = number.astype("int64").to_numpy() * 2 + (kind == "relation").to_numpy()
    return np.char.add("DERPLI", base34(value * 7919 + 104729, 10))


def alkis_frame(extract: Extract, keep: np.ndarray) -> gpd.GeoDataFrame:
    """The kept buildings with the columns of a Hausumringe delivery (OI, AGS, GFK, STRASSE, HAUSNR, AOG)."""
    source = extract.buildings.iloc[keep]
    levels = pd.to_numeric(source["building:levels"], errors="coerce")
    levels = levels.where((levels == levels.round()) & (levels > 0))
    geoms = source.geometry.to_numpy()
    single = shapely.get_num_geometries(geoms) == 1
    geoms = np.where(single, shapely.get_geometry(geoms, 0), geoms)
    frame = gpd.GeoDataFrame({
        "OI": object_ids(source["osm_ref"]), "AGS": AGS, "GFK": np.char.add("31001_", function_codes(source).astype(str)),
        "STRASSE": source["addr:street"].to_numpy(), "HAUSNR": source["addr:housenumber"].to_numpy(),
        "AOG": levels.astype("Int64").array, "name": source["name"].to_numpy(),
    }, geometry=geoms, crs=CRS)
    hall = int(np.flatnonzero(keep == extract.hall)[0])
    frame.loc[hall, "GFK"] = "31001_3012"
    return frame


def public_sites(extract: Extract, frame: gpd.GeoDataFrame, keep: np.ndarray) -> pd.DataFrame:
    """Schools, museums and administration buildings of the inner city: position in `frame`, kind, name.

    A building counts by its own tags, by a tagged point on it, or by a museum's area (``tourism=museum``
    or a name with "Museum") that it lies on or touches. One site per name; unnamed sites are named by kind and address.
    """
    buildings = extract.buildings.iloc[keep]
    kinds = pd.Series(_site_kind(buildings).to_numpy(), dtype="object")
    names = pd.Series(buildings["name"].to_numpy(), dtype="object")
    tree = shapely.STRtree(frame.geometry.to_numpy())
    for tagged in (extract.points, extract.features):
        kind = _site_kind(tagged)
        if tagged is extract.points:  # a tagged point on a building
            hit = tagged.loc[kind.notna()]
            where, building = tree.query(hit.geometry.to_numpy(), predicate="within")
        else:  # a museum mapped as an area of its own: the buildings on it or touching it
            hit = tagged.loc[kind == "museum"]
            where, building = tree.query(hit.geometry.to_numpy(), predicate="intersects")
        for k, i in zip(where, building, strict=True):  # a few dozen tagged places
            if pd.isna(kinds[i]):
                kinds[i] = kind.loc[hit.index[k]]
            if pd.isna(names[i]) and pd.notna(hit["name"].iloc[k]):
                names[i] = hit["name"].iloc[k]
    hall = int(np.flatnonzero(keep == extract.hall)[0])
    kinds[hall] = None
    sites = pd.DataFrame({"position": np.arange(len(frame)), "kind": kinds, "name": names,
                          "area": shapely.area(frame.geometry.to_numpy())}).dropna(subset=["kind"])
    address = frame["STRASSE"].fillna("").astype(str) + " " + frame["HAUSNR"].fillna("").astype(str)
    fallback = (sites["kind"].map(SITE_LABELS) + " " + address.iloc[sites["position"]].str.strip().to_numpy()).str.strip()
    sites["name"] = sites["name"].where(sites["name"].notna(), fallback)
    sites = sites.sort_values(["area", "position"], ascending=[False, True]).drop_duplicates("name")
    return sites.sort_values("position").reset_index(drop=True)[["position", "kind", "name"]]


def _site_kind(frame: pd.DataFrame) -> pd.Series:
    """``school``, ``museum``, ``administration`` or missing, from the tags and name of each row."""
    amenity = frame["amenity"].astype("str")
    school = (amenity == "school") | (frame["building"].astype("str") == "school")
    museum = (frame["tourism"].astype("str") == "museum") | frame["name"].astype("str").str.contains("Museum")
    admin = amenity.isin(_ADMINISTRATION) | (frame["office"].astype("str") == "government") | (
        frame["building"].astype("str").isin({"public", "government"}))
    kind = np.select([museum.to_numpy(), school.to_numpy(), admin.to_numpy()], ["museum", "school", "administration"], "")
    return pd.Series(kind, index=frame.index).replace("", None)


def with_faults(frame: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Three slivers (digitising leftovers of under 1 m² beside a building), as real deliveries have."""
    n = len(frame)
    picks = np.sort(rng.choice(n, size=3, replace=False))
    corner = shapely.get_coordinates(shapely.envelope(frame.geometry.to_numpy()[picks]))[0::5]
    x, y = corner[:, 0], corner[:, 1]
    slivers = shapely.polygons(np.stack([np.c_[x, y], np.c_[x + 3, y], np.c_[x + 3, y - 0.2], np.c_[x, y - 0.2], np.c_[x, y]], axis=1))
    rows = frame.iloc[picks].copy()
    rows["OI"] = np.char.add("DERPLISLV", np.char.zfill(np.arange(1, 4).astype(str), 7))
    rows["GFK"] = "31001_" + UNKNOWN_FUNCTION
    rows["HAUSNR"] = None
    rows["AOG"] = pd.NA
    rows["name"] = None
    rows = rows.set_geometry(list(slivers), crs=CRS)
    return gpd.GeoDataFrame(pd.concat([frame, rows], ignore_index=True), crs=CRS)
