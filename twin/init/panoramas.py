"""Propose the ``[panoramas]`` section: a vendor export, a picture list, a table or a folder of photos."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from pyproj import Transformer

from twin.init.hints import fibre_score, pick, xy_by_values
from twin.init.inspect import Source
from twin.init.proposal import Guess
from twin.model.formats import FORMATS
from twin.sources.panorama_csv import TIME_OF_DAY, TIME_ONLY, WITH_ZONE, zone_where
from twin.transforms.placement import APART_M

__all__ = ["panorama_score", "propose_panoramas", "propose_photos", "table_crs"]




def panorama_score(source: Source) -> int:
    """How much a table with coordinates looks like panoramas: capture times, headings, images; not the network."""
    times, heading, image = (pick(source.columns, name) is not None for name in ("captured_at", "heading_deg", "image_name"))
    if source.family == "point" and not times:
        return 0  # a point layer without capture times is no picture list
    return 3 * times + heading + image - 3 * (fibre_score(source) > 0)


def propose_panoramas(guess: Guess, source: Source) -> None:
    section: dict[str, object] = {"path": source.path}
    columns = {c.lower() for c in source.columns}
    positioned = source.family != "table" or columns >= {"x", "y"}  # GeoJSON: X/Y in the geometry
    if FORMATS["panoramas", "cyclomedia"].matches(source.columns) and positioned:
        section["format"] = "cyclomedia"
        guess.note("panoramas", f"{source.path.name}: CycloMedia recording metadata (imageId, recordedAt, X, Y)")
        _zone_note(guess, source, next(c for c in source.columns if c.lower() == "recordedat"))
        guess.sections["panoramas"] = section
        return
    picture_list = source.geometry == "Point" and source.layer is None  # read by twin, not GDAL (Mapillary JSON)
    if source.family == "point" and (picture_list or FORMATS["panoramas", "json"].matches(source.columns)):
        section["format"] = "json"
        guess.note("panoramas", f"{source.path.name}: {source.features} pictures (Mapillary or Panoramax/STAC list)")
        guess.sections["panoramas"] = section
        return
    section["format"] = "csv"  # a table, or a point layer whose positions are its geometry
    mapping: dict[str, str] = {}
    for name in ("panorama_id", "image_name", "captured_at", "x", "y", "z", "heading_deg", "pitch_deg", "roll_deg"):
        column = pick(source.columns, name, taken=set(mapping.values()) - {mapping.get("panorama_id", "")})
        if column is not None:
            mapping[name] = column
    week, seconds = pick(source.columns, "gps_week"), pick(source.columns, "gps_seconds")
    if week is not None and seconds is not None and mapping.get("captured_at") in (None, week, seconds):
        mapping.pop("captured_at", None)
        mapping.update(gps_week=week, gps_seconds=seconds)
        section["time_format"] = "gps"
        guess.note("panoramas", f"time_format: GPS week ({week}) and seconds of the week ({seconds}); "
                                "leap_seconds = 18 since 2017")
    elif "captured_at" not in mapping:
        guess.note("panoramas", "captured_at: no column looks like the capture times; map it in [panoramas.columns]")
    if source.family == "table" and not {"x", "y"} <= set(mapping) and (found := xy_by_values(
            source, taken=set(mapping.values()) - {mapping.get("x"), mapping.get("y")})) is not None:
        mapping["x"], mapping["y"] = found
        guess.note("panoramas", f"x/y: {found[0]} and {found[1]} hold coordinates by their values (their names "
                                "tell nothing); check them")
    if "panorama_id" not in mapping and "image_name" in mapping:
        mapping = {"panorama_id": mapping["image_name"], **mapping}
        guess.note("panoramas", f"panorama_id: no id column; the image name {mapping['image_name']} identifies a panorama")
    if source.family == "table":
        section["crs"] = table_crs(guess, source, mapping)
    elif not source.crs:
        section["crs"] = "EPSG:4326"
        guess.note("panoramas", "crs: the layer names none; EPSG:4326 assumed (GeoJSON), check it")
    if "captured_at" in mapping:
        _time_of_day(guess, source, mapping)
        _zone_note(guess, source, mapping["captured_at"], where=_sample_points(source, mapping, section.get("crs")))
    if "gon" in mapping.get("heading_deg", "").lower():
        section["heading_unit"] = "gon"
        guess.note("panoramas", f"heading_unit: {mapping['heading_deg']} is in gon (400 a turn)")
    guess.columns["panoramas"] = mapping
    guess.note("panoramas", f"{source.path.name}: {source.features} rows; columns guessed by name, check them")
    guess.sections["panoramas"] = section


def _zone_note(guess: Guess, source: Source, column: str, *, where: gpd.GeoDataFrame | None = None) -> None:
    """Say that times without a zone are read as UTC, and name the local zone where the sample's pictures lie."""
    if source.sample is None or column not in source.sample:
        return
    times = source.sample[column].dropna().astype("str").str.strip()
    if len(times) and not times.str.contains(WITH_ZONE, regex=True).any():
        zone = zone_where(where) if where is not None else None
        guess.note("panoramas", f"{column}: the times name no zone and are read as UTC; if they are local times, "
                   + (f'add timezone = "{zone}" (the zone where the pictures lie)' if zone else
                      'add timezone with the IANA zone where the pictures were taken (e.g. "Europe/Berlin")'))


def _sample_points(source: Source, mapping: dict[str, str], crs: object) -> gpd.GeoDataFrame | None:
    """The sample rows of a table as points in their CRS (decimal commas read), or None without coordinates."""
    if source.sample is None or not {"x", "y"} <= set(mapping) or not isinstance(crs, str):
        return None
    x, y = (pd.to_numeric(source.sample[mapping[axis]].astype("str").str.replace(",", ".", regex=False),
                          errors="coerce") for axis in ("x", "y"))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=crs)
    return points[x.notna().to_numpy() & y.notna().to_numpy()]


def _time_of_day(guess: Guess, source: Source, mapping: dict[str, str]) -> None:
    """Pair a date column with a time-of-day column: whichever of them the name hints took for ``captured_at``."""
    if source.sample is None:
        return
    sample = source.sample.astype("str").apply(lambda column: column.str.strip()).where(source.sample.notna())
    capture = sample[mapping["captured_at"]].dropna()
    if not len(capture):
        return
    if capture.str.fullmatch(TIME_ONLY).all():  # the time of day only: find the date beside it
        dates = next((c for c in source.columns if c not in mapping.values() and _only_dates(sample[c])), None)
        if dates is None:
            guess.note("panoramas", f"{mapping['captured_at']}: times of day without a date; map the column with "
                                    "the date as captured_at and this one as time_of_day (twin run refuses "
                                    "times without a date)")
            return
        mapping["time_of_day"], mapping["captured_at"] = mapping["captured_at"], dates
        guess.note("panoramas", f"time_of_day: {dates} holds the dates, {mapping['time_of_day']} the time of day")
        return
    if capture.str.contains(TIME_OF_DAY, regex=True).any():
        return
    for column in source.columns:
        values = sample[column].dropna()
        if column not in mapping.values() and len(values) and values.str.fullmatch(TIME_ONLY).all():
            mapping["time_of_day"] = column
            guess.note("panoramas", f"time_of_day: {mapping['captured_at']} holds dates, {column} the time of day")
            return
    guess.note("panoramas", f"{mapping['captured_at']}: dates without a time of day; map the column with the time "
                            "as time_of_day")


def _only_dates(values: pd.Series) -> bool:
    """Whether a column holds dates without times (``2023-05-16``, ``16.05.2023``, ``05/16/2023``)."""
    given = values.dropna()
    return bool(len(given)) and bool(given.str.fullmatch(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}").all())


def propose_photos(guess: Guess, source: Source) -> None:
    """A folder of panorama photos: positions from their EXIF GPS, else from a GPX track beside them."""
    section: dict[str, object] = {"path": source.path}
    if source.geotagged or not source.tracks:
        section["format"] = "images"
        guess.note("panoramas", f"{source.path.name}: {source.features} photos, positions from their EXIF GPS"
                   + ("" if source.geotagged else f"; {source.first_photo} has none: add a GPX track and use format gpx+images"))
    else:
        section["format"] = "gpx+images"
        section["gpx"] = source.tracks[0]
        guess.note("panoramas", f"{source.path.name}: {source.features} photos without GPS, placed on the track "
                                f"{source.tracks[0].name} by capture time; set time_offset_s if the camera clock was off")
    guess.sections["panoramas"] = section


def table_crs(guess: Guess, source: Source, mapping: dict[str, str], *, section: str = "panoramas") -> str:
    """EPSG:4326 when the coordinates look like degrees (swapped columns fixed), else the city's CRS."""
    assert source.sample is not None
    x = pd.to_numeric(source.sample[mapping["x"]].str.replace(",", ".", regex=False), errors="coerce")
    y = pd.to_numeric(source.sample[mapping["y"]].str.replace(",", ".", regex=False), errors="coerce")
    if x.abs().max() <= 180 and y.abs().max() <= 90:
        if x.abs().min() > y.abs().max():  # Central Europe: latitude (47..55) above longitude (5..15)
            mapping["x"], mapping["y"] = mapping["y"], mapping["x"]
            guess.note(section, f"x/y: {mapping['y']} holds latitudes and {mapping['x']} longitudes; swapped")
        guess.note(section, "crs: the coordinates look like degrees (WGS84)")
        return "EPSG:4326"
    if guess.extent is None or not _outside(guess.extent, x, y):
        guess.note(section, f"crs: projected coordinates; {guess.crs} assumed, check it")
        return guess.crs
    customary = CUSTOMARY.get(guess.crs)
    if customary is not None:  # written as the surveyors of the country write them
        for east, north, columns in ((x, y, (mapping["x"], mapping["y"])), (y, x, (mapping["y"], mapping["x"]))):
            moved = Transformer.from_crs(customary, guess.crs, always_xy=True).transform(east.to_numpy(), north.to_numpy())
            if not _outside(guess.extent, pd.Series(moved[0]), pd.Series(moved[1])):
                mapping["x"], mapping["y"] = columns
                guess.note(section, f"crs: {customary}: {columns[0]} and {columns[1]} are positive coordinates as "
                                    f"surveyors write them, not {guess.crs}'s; with them the points lie among the buildings")
                return customary
    guess.note(section, f"crs: projected coordinates; {guess.crs} assumed, check it")
    if not _outside(guess.extent, y, x):
        mapping["x"], mapping["y"] = mapping["y"], mapping["x"]
        guess.note(section, f"x/y: {mapping['x']} holds the eastings and {mapping['y']} the northings (they lie "
                            "among the buildings so, not the other way round); swapped")
    return guess.crs


#: The CRS whose positive coordinates a country's surveyors write beside the one a GIS uses: S-JTSK's
#: southing X and westing Y (EPSG:5513) for EPSG:5514's negative eastings and northings.
CUSTOMARY = {"EPSG:5514": "EPSG:5513"}


def _outside(extent: tuple[float, float, float, float], x: pd.Series, y: pd.Series) -> bool:
    """Whether the middle of the points (`x`, `y`) lies further than :data:`APART_M` from `extent`."""
    mx, my = float(x.median()), float(y.median())
    return not (extent[0] - APART_M <= mx <= extent[2] + APART_M and extent[1] - APART_M <= my <= extent[3] + APART_M)
