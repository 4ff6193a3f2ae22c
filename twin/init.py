"""Set up a new city: inspect a folder of input files and write a commented pipeline file.

``twin init "Neustadt an der Weinstraße" --inputs data/neustadt`` looks at every
file in the folder without reading it whole (layers, geometry types, CRS,
columns, encodings; the header and first rows of CSV files), guesses which
file is which source and how its columns map onto the model, and writes
``pipelines/neustadt_an_der_weinstrasse.toml`` with a comment on every guess.
The user checks it; ``twin validate`` then tells what is still missing.

>>> slug("Neustadt an der Weinstraße")
'neustadt_an_der_weinstrasse'
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from twin.errors import ConfigError, SourceError
from twin.sources.panorama_csv import TIME_OF_DAY, WITH_ZONE, table_layout
from twin.sources.shapefile import choose_encoding, gdal_path, has_cpg, is_shapefile

__all__ = ["Guess", "Source", "guess_pipeline", "init_city", "inspect_folder", "slug"]

log = logging.getLogger(__name__)

#: File suffixes looked at; side files of Shapefiles are skipped.
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".gml", ".kml", ".pbf", ".osm", ".dxf")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv")
#: Photo suffixes; the folder with the most photos may be the panoramas (format ``images``).
IMAGE_SUFFIXES = (".jpg", ".jpeg")
#: The geometry of a :class:`Source` that is a folder of photos.
IMAGES = "Images"
#: The output CRS when no projected input names one.
DEFAULT_CRS = "EPSG:25832"
#: Column names (lower case) that suggest a canonical field, best first.
HINTS: dict[str, tuple[str, ...]] = {
    "building_id": ("building_id", "oi", "gml_id", "id", "objectid", "object_id", "objekt_id", "uuid", "osm_id", "fid"),
    "function_code": ("function_code", "gfk", "funktion", "function", "building", "gebaeudefunktion", "type"),
    "height_m": ("height_m", "height", "hoehe", "höhe", "gebaeudehoehe", "hoh", "h"),
    "storeys": ("storeys", "building:levels", "levels", "geschosse", "anzahl_geschosse", "anzahl_og", "aog", "floors",
                "stockwerke"),
    "street": ("street", "addr:street", "strasse", "straße", "strassenname", "str"),
    "house_number": ("house_number", "addr:housenumber", "housenumber", "hausnummer", "hausnr", "hsnr", "hnr"),
    "postcode": ("postcode", "addr:postcode", "plz", "postleitzahl"),
    "panorama_id": ("panorama_id", "image_id", "imageid", "id", "uuid"),
    "image_name": ("image_name", "filename", "file", "image", "imagename", "name", "bild", "bildname", "dateiname",
                   "datei"),
    "captured_at": ("captured_at", "timestamp", "datetime", "gpstime", "recorded_at", "recordedat",
                    "aufnahmezeit", "zeitstempel", "time", "zeit", "date", "datum"),
    "time_of_day": ("time_of_day", "uhrzeit", "time", "zeit"),
    "x": ("x", "lon", "longitude", "lng", "easting", "rechtswert", "ostwert", "east", "laenge", "länge", "laengengrad",
          "längengrad"),
    "y": ("y", "lat", "latitude", "northing", "hochwert", "nordwert", "north", "breite", "breitengrad"),
    "z": ("z", "alt", "altitude", "elevation", "hoehe", "höhe", "height"),
    "heading_deg": ("heading_deg", "heading", "yaw", "azimuth", "azimut", "orientation", "richtung", "direction",
                    "kurs", "course", "bearing"),
    "pitch_deg": ("pitch_deg", "pitch", "nick", "nickwinkel"),
    "roll_deg": ("roll_deg", "roll", "rollwinkel"),
    "gps_week": ("gps_week", "gpsweek", "week", "gps_woche", "woche"),
    "gps_seconds": ("gps_seconds", "gpsseconds", "gps_sec", "seconds_of_week", "sow", "sekunden"),
    "kind": ("kind", "type", "typ", "art", "deployment", "bauweise", "verlegeart", "verlegung", "bauart", "category", "kategorie"),
    "status": ("status", "zustand", "bauzustand"),
    "route_id": ("route_id", "trasse", "trassen_id", "trasse_id", "abschnitt", "segment"),
    "ducts": ("ducts", "rohre", "anzahl_rohre", "leerrohre", "anz_rohre"),
    "fibres": ("fibres", "fibers", "fibrecount", "fasern", "anzahl_fasern", "anz_fasern"),
    "node_id": ("node_id", "knoten_id", "knotenid", "knoten_nr", "knotennr", "nr"),
    "name": ("name", "bezeichnung", "bezeichnun", "label", "title", "knoten", "knotenname", "standort"),
}
_CYCLOMEDIA = {"imageId", "recordedAt", "X", "Y"}
#: Fields of Panoramax/STAC picture items (a GeoJSON read by GDAL names its layer).
_STAC = {"datetime", "collection", "view:azimuth", "pers:yaw", "assets", "stac_version"}
_FIBRE = re.compile(r"fib|glas|lwl|rainbow|route|trasse|kabel|duct|netz|network|node|knoten")
_STREETS = re.compile(r"street|stra(ss|ß)e|road|weg|achse")
_FIBRE_COLUMNS = {"kind", "status", "ducts", "fibres", "route_id", "node_id", "bauweise", "rohre", "fasern"}
_ALKIS = {"OI", "GFK"}
#: Layer names of building footprints, and of polygons that are not (parcels, land use, boundaries).
_BUILDINGS = re.compile(r"geb(ae|ä)ude|building|hausumring|bauwerk|haus")
_NOT_BUILDINGS = re.compile(r"flurst|parcel|landuse|nutzung|gemeinde|grenze|boundary|admin|water|gewaesser")


@dataclass(frozen=True)
class Source:
    """One layer of an input file, as inspected (nothing read in bulk)."""

    path: Path
    layer: str | None
    geometry: str | None
    crs: str | None
    columns: tuple[str, ...]
    features: int
    encoding: str | None = None
    sample: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    #: Of a CAD drawing (DXF): the CAD layers that hold lines.
    cad_layers: tuple[str, ...] = ()
    #: Of a polygon layer: its extent (xmin, ymin, xmax, ymax) in its CRS, where known.
    bounds: tuple[float, float, float, float] | None = None

    @property
    def dataset(self) -> str:
        """What GDAL opens: the path, or for a zipped Shapefile the Shapefile inside the archive."""
        return gdal_path(self.path)

    @property
    def family(self) -> str:
        """``polygon``, ``line``, ``point``, ``table`` or ``images`` (a folder of photos)."""
        if self.geometry == IMAGES:
            return "images"
        kind = (self.geometry or "").lower()
        for name in ("polygon", "line", "point"):
            if name in kind:
                return name
        return "table"


@dataclass
class Guess:
    """What ``twin init`` concluded: sources, formats, column mappings and notes for the user."""

    crs: str = DEFAULT_CRS
    sections: dict[str, dict[str, object]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def note(self, section: str, text: str) -> None:
        """Add a comment shown above `section` in the pipeline file."""
        self.notes.setdefault(section, []).append(text)


def slug(name: str) -> str:
    """File name of a city: lower case ASCII, umlauts spelled out, words joined by ``_``."""
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        name = name.replace(umlaut, spelled).replace(umlaut.upper(), spelled.capitalize())
    text = name.lower()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "city"


def inspect_folder(folder: Path) -> list[Source]:
    """Every layer of every vector file and every table in `folder` (recursively), without reading them whole."""
    if not folder.is_dir():
        raise SourceError(str(folder), "is not a folder", fix="give the folder holding the city's input files")
    found: list[Source] = []
    photos: dict[Path, int] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            photos[path.parent] = photos.get(path.parent, 0) + 1
        try:
            if suffix in TABLE_SUFFIXES:
                found.append(_inspect_table(path))
            elif suffix == ".json" and (pictures := _inspect_picture_list(path)) is not None:
                found.append(pictures)
            elif suffix in VECTOR_SUFFIXES or (suffix == ".zip" and is_shapefile(path)):
                found.extend(_inspect_vector(path))
        except (DataSourceError, DataLayerError, OSError, UnicodeDecodeError, csv.Error, pd.errors.ParserError) as exc:
            log.warning("%s: skipped, not readable (%s)", path.name, str(exc).splitlines()[0] if str(exc) else exc)
    if photos:
        most = max(photos, key=lambda f: (photos[f], str(f)))
        found.append(Source(most, None, IMAGES, "EPSG:4326", (), photos[most]))
    return found


#: Layers every city model of twin has: a GeoPackage with them is an earlier output, not an input.
_MODEL_LAYERS = {"buildings", "qa_issues", "runs", "changes"}


def _inspect_vector(path: Path) -> list[Source]:
    if path.suffix.lower() == ".dxf":
        return [_inspect_drawing(path)]
    sources = []
    shapefile = is_shapefile(path)
    opened = gdal_path(path)
    layers = pyogrio.list_layers(opened)
    if path.suffix.lower() == ".gpkg" and {str(name) for name in layers[:, 0]} >= _MODEL_LAYERS:
        log.info("%s: skipped, a city model written by twin", path.name)
        return []
    for name, geometry in layers:
        polygons = "polygon" in str(geometry).lower()
        info = pyogrio.read_info(opened, layer=str(name), force_total_bounds=polygons)
        encoding = None
        if shapefile:
            encoding = None if has_cpg(path) else choose_encoding(path, None)
        box = info.get("total_bounds")
        if polygons and box is None:  # drivers that cannot tell (OSM): the extent of the first features
            box = pyogrio.read_dataframe(opened, layer=str(name), columns=[], max_features=500).total_bounds
        sources.append(Source(path, str(name), None if geometry is None else str(geometry), info["crs"],
                              tuple(str(f) for f in info["fields"]), int(info["features"]), encoding,
                              bounds=(float(box[0]), float(box[1]), float(box[2]), float(box[3]))
                              if polygons and box is not None else None))
    return sources


def _inspect_picture_list(path: Path) -> Source | None:
    """A JSON list of pictures as the Mapillary API writes it (GDAL reads no such file); None for anything else."""
    if path.stat().st_size > 256 * 2**20:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    items = doc.get("data") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items[:50]):
        return None
    columns = tuple(dict.fromkeys(k for item in items[:50] for k in item))
    if not {"geometry", "computed_geometry", "MAPLatitude"} & set(columns):
        return None
    return Source(path, None, "Point", "EPSG:4326", columns, len(items))


def _inspect_drawing(path: Path) -> Source:
    """A CAD drawing as one line source; which CAD layers hold lines is all that tells its content."""
    frame = pyogrio.read_dataframe(path, columns=["Layer"])
    lines = frame.geometry.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    cad = tuple(sorted(str(name) for name in frame.loc[lines, "Layer"].unique()))
    return Source(path, None, "LineString" if lines.any() else None, None, ("Layer",), int(lines.sum()), cad_layers=cad)


def _inspect_table(path: Path) -> Source:
    encoding, delimiter, skipped = table_layout(path.read_bytes()[:65536])
    sample = pd.read_csv(path, sep=delimiter, dtype="str", nrows=200, encoding=encoding, skiprows=skipped)
    return Source(path, None, None, None, tuple(map(str, sample.columns)), _data_rows(path) - skipped,
                  None if encoding == "utf-8-sig" else encoding, sample)


def _data_rows(path: Path) -> int:
    """Rows below the header line of a text table (a last line without line break counts)."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines + (last != b"\n") - 1, 0)


def guess_pipeline(sources: list[Source], *, crs: str | None = None) -> Guess:
    """Decide which source is which and how its columns map; every decision gets a note."""
    guess = Guess()
    polygons = sorted((s for s in sources if s.family == "polygon"), key=lambda s: (-_building_score(s), -s.features))
    boundary = next((s for s in polygons if s.features == 1), None)
    buildings = next((s for s in polygons if s is not boundary), None)
    chosen, why = _output_crs(buildings)
    guess.crs = crs or chosen
    guess.sections["city"] = {"crs": guess.crs}
    if crs is None and why is None:
        guess.note("city", "crs: from the buildings' CRS; EPSG:25832 for Rheinland-Pfalz, EPSG:25833 for eastern states")
    elif crs is None:
        guess.note("city", f"crs: the buildings' {why}; the model uses {guess.crs}, the UTM zone where they lie "
                           "(EPSG:25832 for Rheinland-Pfalz and the west, EPSG:25833 for eastern states), and "
                           "reprojects them")
    if boundary is not None:
        guess.sections["city"]["boundary"] = boundary.path
        _set_layer(guess.sections["city"], "boundary_layer", boundary)
        guess.note("city", f"boundary: {boundary.path.name} has one polygon")
    if buildings is not None:
        _buildings(guess, buildings)
    tables = [s for s in sources if s.family == "table"]
    points = sorted((s for s in sources if s.family == "point"), key=lambda s: -s.features)
    located = [t for t in tables if _has_xy(t)]
    # the panorama table (or GeoJSON/JSON picture list) has times (and headings, image names); a table named
    # like the network holds its nodes
    candidates = [*located, *(p for p in points if not _is_osm(p) and p.path.suffix.lower() in (".json", ".geojson"))]
    panoramas = max((t for t in candidates if _panorama_score(t) > 0),
                    key=lambda t: (_panorama_score(t), t.features), default=None)
    points = [p for p in points if p is not panoramas]
    if panoramas is not None:
        _panoramas(guess, panoramas)
    else:
        photos = next((s for s in sources if s.family == "images" and s.features > 1), None)
        if photos is not None:
            _photos(guess, photos)
    lines = sorted((s for s in sources if s.family == "line"), key=lambda s: (-_fibre_score(s), -s.features))
    streets = next((s for s in lines if _STREETS.search(_name(s))), None)
    if streets is not None and panoramas is not None:
        guess.sections["panoramas"]["streets"] = streets.path
        _set_layer(guess.sections["panoramas"], "streets_layer", streets)
        guess.note("panoramas", f"streets: {streets.path.name} (street centre lines, for street coverage)")
    routes = next((s for s in lines if s is not streets and not _is_osm(s)), None)  # OSM lines are no fibre plan
    if routes is not None:
        node_tables = [t for t in located if t is not panoramas and _fibre_score(t) > 0]
        nodes = sorted([*(s for s in points if not _is_osm(s)), *node_tables], key=lambda s: (-_fibre_score(s), -s.features))
        _fibre(guess, routes, nodes[0] if nodes else None)
    for section in ("buildings", "panoramas", "fibre"):
        if section not in guess.sections:
            guess.note(section, f"no file in the folder looks like {section}; add the section by hand or leave it out")
    return guess


def _building_score(source: Source) -> int:
    """How much a polygon layer's name says footprints (``ax_gebaeude``) rather than parcels or land use."""
    name = _name(source)
    return bool(_BUILDINGS.search(name)) - bool(_NOT_BUILDINGS.search(name))


def _set_layer(section: dict[str, object], key: str, source: Source) -> None:
    """Name the layer when the file holds several (one GeoPackage with all of a city's layers)."""
    if source.layer and source.family != "table" and pyogrio.list_layers(source.dataset).shape[0] > 1:
        section[key] = source.layer


def _output_crs(buildings: Source | None) -> tuple[str, str | None]:
    """The model's CRS and, where it is not the buildings' own, why.

    The buildings' projected CRS, unless it distorts distances (Web Mercator) or is an older German
    one (Gauss-Krüger, DHDN), or the buildings are in degrees: then the ETRS89/UTM zone of where they
    lie (EPSG:25832 for Rheinland-Pfalz and the west of Germany, EPSG:25833 for the east).
    """
    if buildings is None or not buildings.crs:
        return DEFAULT_CRS, None
    import pyproj

    found = pyproj.CRS.from_user_input(buildings.crs)
    code = found.to_epsg()
    if found.is_projected and code and "Mercator" in found.name and "Transverse" not in found.name:
        why = "Web Mercator, whose metres grow away from the equator (areas and distances would be wrong)"
    elif found.is_projected and code and ("DHDN" in found.name or "Gauss-Kruger" in found.name):
        why = "an older German CRS"
    elif found.is_geographic:
        why = "degrees"
    elif found.is_projected and code:
        return f"EPSG:{code}", None
    else:
        return DEFAULT_CRS, None
    zone = _utm_zone(found, buildings.bounds)
    return zone or DEFAULT_CRS, f"{buildings.crs} is {why}"


def _utm_zone(crs: object, bounds: tuple[float, float, float, float] | None) -> str | None:
    """The UTM zone (ETRS89 in Europe, else WGS 84) of the centre of `bounds` in `crs`."""
    import pyproj

    if bounds is None:
        return None
    x, y = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    zone = int((lon + 180) // 6) + 1
    if 28 <= zone <= 38 and 34 <= lat <= 72:
        return f"EPSG:{25800 + zone}"
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _normal(column: str) -> str:
    """A column name as the hints write them: lower case, punctuation and spaces as ``_`` (``Knoten-Nr`` → ``knoten_nr``)."""
    return re.sub(r"[^\w:]+", "_", column.lower()).strip("_")


def _pick(columns: tuple[str, ...], field_name: str, *, taken: set[str] | None = None) -> str | None:
    """The column named like `field_name`: exactly a hint, else containing a long hint, else ``..._id`` for ids."""
    lower = {_normal(c): c for c in columns if c not in (taken or set())}
    exact = next((lower[h] for h in HINTS[field_name] if h in lower), None)
    if exact is not None:
        return exact
    partial = next((lower[c] for h in HINTS[field_name] if len(h) >= 4 for c in lower if h in c), None)
    if partial is not None or not field_name.endswith("_id"):
        return partial
    return next((lower[c] for c in lower if c.endswith(("_id", "id"))), None)


def _buildings(guess: Guess, source: Source) -> None:
    from twin.sources import BUILDING_READERS

    section: dict[str, object] = {"path": source.path}
    suffix = source.path.suffix.lower()
    if {c.upper() for c in source.columns} >= _ALKIS:  # the reader matches the columns in any case too
        from twin.sources.alkis import OPTIONAL_COLUMNS

        section["format"] = "alkis"
        guess.note("buildings", f"{source.path.name}: ALKIS Hausumringe (columns OI and GFK)")
        mapping: dict[str, str] = {}
        for name in ("street", "house_number", "storeys", "height_m"):  # where the file names them otherwise
            column = _pick(source.columns, name, taken={"OI", "GFK", *mapping.values()})
            if column is not None and column.upper() != OPTIONAL_COLUMNS.get(name, "").upper():
                mapping[name] = column
        if mapping:
            guess.columns["buildings"] = mapping
    elif suffix in (".pbf", ".osm") and "osm" in BUILDING_READERS:
        section["format"] = "osm"
        guess.note("buildings", f"{source.path.name}: OpenStreetMap extract")
    else:
        _generic_buildings(guess, source, section)
    _set_layer(section, "layer", source)
    if source.encoding == "cp1252":
        section["encoding"] = "cp1252"
        guess.note("buildings", "encoding: the attributes are not UTF-8; cp1252 assumed (umlauts of older exports)")
    if not source.crs:
        section["crs"] = guess.crs
        guess.note("buildings", f"crs: the file names no CRS; {guess.crs} assumed, check it")
    guess.sections["buildings"] = section


def _generic_buildings(guess: Guess, source: Source, section: dict[str, object]) -> None:
    from twin.sources import BUILDING_READERS

    generic = "generic" in BUILDING_READERS
    section["format"] = "generic" if generic else "alkis"
    wanted = ("building_id", "function_code", "height_m", "storeys") if generic else ("building_id", "function_code")
    mapping: dict[str, str] = {}
    for name in wanted:
        column = _pick(source.columns, name, taken=set(mapping.values()))
        if column is not None:
            mapping[name] = column
        else:
            guess.note("buildings", f"{name}: no column looks like it; map it in [buildings.columns] if the file has one")
    for name in ("street", "house_number", "postcode") if generic else ():  # the address, where the file has one
        column = _pick(source.columns, name, taken=set(mapping.values()))
        if column is not None:
            mapping[name] = column
    guess.columns["buildings"] = mapping
    guess.note("buildings", f"{source.path.name}: {source.features} footprints with columns {', '.join(source.columns)};"
                            " columns guessed by name, check them")


def _panorama_score(source: Source) -> int:
    """How much a table with coordinates looks like panoramas: capture times, headings, images; not the network."""
    times, heading, image = (_pick(source.columns, name) is not None for name in ("captured_at", "heading_deg", "image_name"))
    if source.family == "point" and not times:
        return 0  # a point layer without capture times is no picture list
    return 3 * times + heading + image - 3 * (_fibre_score(source) > 0)


def _has_xy(source: Source) -> bool:
    return _pick(source.columns, "x") is not None and _pick(source.columns, "y") is not None


def _panoramas(guess: Guess, source: Source) -> None:
    section: dict[str, object] = {"path": source.path}
    columns = {c.lower() for c in source.columns}
    vendor = _CYCLOMEDIA if source.family == "table" else _CYCLOMEDIA - {"X", "Y"}  # GeoJSON: X/Y in the geometry
    if columns >= {c.lower() for c in vendor}:
        section["format"] = "cyclomedia"
        guess.note("panoramas", f"{source.path.name}: CycloMedia recording metadata (imageId, recordedAt, X, Y)")
        _zone_note(guess, source, next(c for c in source.columns if c.lower() == "recordedat"))
        guess.sections["panoramas"] = section
        return
    if source.family == "point" and ((source.geometry == "Point" and source.layer is None) or columns & _STAC):
        section["format"] = "json"
        guess.note("panoramas", f"{source.path.name}: {source.features} pictures (Mapillary or Panoramax/STAC list)")
        guess.sections["panoramas"] = section
        return
    section["format"] = "csv"  # a table, or a point layer whose positions are its geometry
    mapping: dict[str, str] = {}
    for name in ("panorama_id", "image_name", "captured_at", "x", "y", "z", "heading_deg", "pitch_deg", "roll_deg"):
        column = _pick(source.columns, name, taken=set(mapping.values()) - {mapping.get("panorama_id", "")})
        if column is not None:
            mapping[name] = column
    week, seconds = _pick(source.columns, "gps_week"), _pick(source.columns, "gps_seconds")
    if week is not None and seconds is not None and mapping.get("captured_at") in (None, week, seconds):
        mapping.pop("captured_at", None)
        mapping.update(gps_week=week, gps_seconds=seconds)
        section["time_format"] = "gps"
        guess.note("panoramas", f"time_format: GPS week ({week}) and seconds of the week ({seconds}); "
                                "leap_seconds = 18 since 2017")
    elif "captured_at" not in mapping:
        guess.note("panoramas", "captured_at: no column looks like the capture times; map it in [panoramas.columns]")
    if "panorama_id" not in mapping and "image_name" in mapping:
        mapping = {"panorama_id": mapping["image_name"], **mapping}
        guess.note("panoramas", f"panorama_id: no id column; the image name {mapping['image_name']} identifies a panorama")
    if source.family == "table":
        section["crs"] = _table_crs(guess, source, mapping)
    elif not source.crs:
        section["crs"] = "EPSG:4326"
        guess.note("panoramas", "crs: the layer names none; EPSG:4326 assumed (GeoJSON), check it")
    if "captured_at" in mapping:
        _time_of_day(guess, source, mapping)
        _zone_note(guess, source, mapping["captured_at"])
    if "gon" in mapping.get("heading_deg", "").lower():
        section["heading_unit"] = "gon"
        guess.note("panoramas", f"heading_unit: {mapping['heading_deg']} is in gon (400 a turn)")
    guess.columns["panoramas"] = mapping
    guess.note("panoramas", f"{source.path.name}: {source.features} rows; columns guessed by name, check them")
    guess.sections["panoramas"] = section


def _zone_note(guess: Guess, source: Source, column: str) -> None:
    """Say that times without a zone are read as UTC, and how to name the local zone."""
    if source.sample is None or column not in source.sample:
        return
    times = source.sample[column].dropna().astype("str").str.strip()
    if len(times) and not times.str.contains(WITH_ZONE, regex=True).any():
        guess.note("panoramas", f"{column}: the times name no zone and are read as UTC; if they are "
                                'local times, add timezone = "Europe/Berlin"')


def _time_of_day(guess: Guess, source: Source, mapping: dict[str, str]) -> None:
    """Map the column with the time of day when the capture column holds dates only."""
    if source.sample is None:
        return
    dates = source.sample[mapping["captured_at"]].dropna().astype("str")
    if not len(dates) or dates.str.contains(TIME_OF_DAY, regex=True).any():
        return
    for column in source.columns:
        values = source.sample[column].dropna().astype("str").str.strip()
        if column not in mapping.values() and len(values) and values.str.fullmatch(r"\d{1,2}:\d\d(:\d\d(\.\d+)?)?").all():
            mapping["time_of_day"] = column
            guess.note("panoramas", f"time_of_day: {mapping['captured_at']} holds dates, {column} the time of day")
            return
    guess.note("panoramas", f"{mapping['captured_at']}: dates without a time of day; map the column with the time "
                            "as time_of_day")


def _photos(guess: Guess, source: Source) -> None:
    """A folder of panorama photos: positions from their EXIF GPS, else from a GPX track beside them."""
    from twin.sources.panorama_images import read_image

    first = sorted(p for p in source.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[0]
    try:
        located = bool(pd.notna(read_image(first)["lat"]))
    except (OSError, ValueError, SyntaxError):
        located = False
    tracks = sorted(source.path.glob("*.gpx")) or sorted(source.path.parent.glob("*.gpx"))  # in or beside the folder
    section: dict[str, object] = {"path": source.path}
    if located or not tracks:
        section["format"] = "images"
        guess.note("panoramas", f"{source.path.name}: {source.features} photos, positions from their EXIF GPS"
                   + ("" if located else f"; {first.name} has none: add a GPX track and use format gpx+images"))
    else:
        section["format"] = "gpx+images"
        section["gpx"] = tracks[0]
        guess.note("panoramas", f"{source.path.name}: {source.features} photos without GPS, placed on the track "
                                f"{tracks[0].name} by capture time; set time_offset_s if the camera clock was off")
    guess.sections["panoramas"] = section


def _table_crs(guess: Guess, source: Source, mapping: dict[str, str], *, section: str = "panoramas") -> str:
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
    guess.note(section, f"crs: projected coordinates; {guess.crs} assumed, check it")
    return guess.crs


def _name(source: Source) -> str:
    """The file's name and the layer's, lower case: what tells a layer's content by its name."""
    return f"{source.path.stem} {source.layer or ''}".lower()


def _is_osm(source: Source) -> bool:
    return source.path.suffix.lower() in (".pbf", ".osm")


def _fibre_score(source: Source) -> int:
    """How much a line or point layer looks like fibre network (name and columns)."""
    name = _name(source)
    columns = {c.lower() for c in source.columns}
    return 2 * bool(_FIBRE.search(name)) - 2 * bool(_STREETS.search(name)) + len(columns & _FIBRE_COLUMNS)


def _fibre(guess: Guess, routes: Source, nodes: Source | None) -> None:
    from twin.sources.fibre import NODE_FIELDS

    section: dict[str, object] = {"routes": routes.path}
    _set_layer(section, "routes_layer", routes)
    guess.note("fibre", f"routes: {routes.path.name} ({routes.features} lines)")
    route_fields = ("kind", "route_id", "status", "ducts", "fibres")
    route_map = {} if routes.cad_layers else _fibre_columns(routes, route_fields)
    if routes.cad_layers:
        _drawing(guess, routes, section)
    node_map: dict[str, str] = {}
    node_values = None
    if nodes is not None:
        section["nodes"] = nodes.path
        _set_layer(section, "nodes_layer", nodes)
        guess.note("fibre", f"nodes: {nodes.path.name} ({nodes.features} points)")
        node_map = _fibre_columns(nodes, ("kind", "name", "node_id", *(("x", "y") if nodes.family == "table" else ())))
        node_values = _columns_of(nodes, [node_map.get("kind", "kind"), node_map.get("name", "name")])
        hub = _hub_name(node_values, node_map.get("kind", "kind"), node_map.get("name", "name"))
        if hub is not None:
            section["hub"] = hub
        if nodes.family == "table":  # a CSV names no CRS: the one its coordinates look like
            xy = {"x": node_map.get("x", "x"), "y": node_map.get("y", "y")}
            section["nodes_crs"] = _table_crs(guess, nodes, xy, section="fibre")
            node_map.update({k: v for k, v in xy.items() if v != k})
    if not routes.crs and "crs" not in section:
        section["crs"] = guess.crs
        guess.note("fibre", f"crs: the routes name no CRS; {guess.crs} assumed, check it")
    # a field both files have (kind) goes into [fibre.columns] when both name it alike, else into
    # [fibre.route_columns] and [fibre.node_columns]; a field of one file only into [fibre.columns]
    shared = set(route_fields) & set(NODE_FIELDS)
    columns: dict[str, str] = {}
    for name in dict.fromkeys([*route_map, *node_map]):
        if name not in shared or route_map.get(name, name) == node_map.get(name, name):
            columns[name] = route_map.get(name) or node_map[name]
        else:
            for table, mapping in (("route_columns", route_map), ("node_columns", node_map)):
                if name in mapping:
                    guess.columns.setdefault(f"fibre.{table}", {})[name] = mapping[name]
    guess.columns["fibre"] = columns
    guess.sections["fibre"] = section
    route_values = None if routes.cad_layers else \
        _columns_of(routes, [route_map.get("kind", "kind"), route_map.get("status", "status")])
    unknown = [*_unknown_values(route_values, route_map, "fibre_routes", ("kind", "status")),
               *_unknown_values(node_values, node_map, "fibre_nodes", ("kind",))]
    if unknown:
        guess.note("fibre", f"values twin does not know: {', '.join(repr(v) for v in unknown)}; give each its code "
                            'in [fibre.values], e.g. "Ampel" = "distribution"')


def _unknown_values(frame: pd.DataFrame | None, mapping: dict[str, str], layer: str,
                    fields: tuple[str, ...]) -> list[str]:
    """Values of the coded fields of a route or node file that are neither a code nor a known synonym."""
    from twin.model import LAYERS
    from twin.sources.fibre import as_written, coded

    found: list[str] = []
    for name in fields:
        column = mapping.get(name, name)
        if frame is None or column not in frame.columns:
            continue
        written = as_written(frame[column].dropna()).astype("str")
        written = written[written.str.strip() != ""]
        unknown = ~coded(written, layer, name).isin(list(LAYERS[layer].field(name).values))
        found.extend(v for v in written[unknown].unique() if v not in found)
    return found


def _columns_of(source: Source, columns: list[str]) -> pd.DataFrame | None:
    """The `columns` of a small route or node file (its first rows for a table); None for a large one."""
    present = [c for c in dict.fromkeys(columns) if c in source.columns]
    if not present or source.features > 100_000:
        return None
    if source.sample is not None:
        return source.sample[present]
    return pyogrio.read_dataframe(source.dataset, layer=source.layer, columns=present, read_geometry=False)


#: Words in a CAD layer's name that tell the kind of the routes drawn on it, checked in this order.
_CAD_KINDS = (("aerial", ("aerial", "frei", "luft", "overhead")), ("duct", ("rohr", "duct", "bestand")),
              ("trench", ("trench", "graben", "tiefbau", "trasse", "erd", "fibre", "glas", "lwl")))


def _drawing(guess: Guess, routes: Source, section: dict[str, object]) -> None:
    """``[fibre.dxf_layers]`` from the names of the CAD layers, and the CRS a drawing does not name."""
    kinds: dict[str, str] = {}
    for layer in routes.cad_layers:
        name = layer.lower()
        if _STREETS.search(name) and not _FIBRE.search(name.replace("strasse", "")):  # the street plan, not a trench
            continue
        kind = next((k for k, words in _CAD_KINDS if any(w in name for w in words)), None)
        if kind is not None:
            kinds[layer] = kind
    left = [layer for layer in routes.cad_layers if layer not in kinds]
    guess.columns["fibre.dxf_layers"] = kinds
    guess.note("fibre", f"dxf_layers: route kind by CAD layer name ({len(kinds)} layers); check them"
                        + (f"; lines on {', '.join(left)} are left out" if left else ""))
    section["crs"] = guess.crs
    guess.note("fibre", f"crs: a drawing names no CRS; {guess.crs} assumed, check it")


def _fibre_columns(source: Source, fields: tuple[str, ...]) -> dict[str, str]:
    """The columns of a route or node file for `fields`, where they are not named like the field."""
    mapping: dict[str, str] = {}
    for name in fields:
        column = _pick(source.columns, name, taken=set(mapping.values()))
        if column is not None and column != name:
            mapping[name] = column
    return mapping


def _hub_name(frame: pd.DataFrame | None, kind: str, name: str) -> str | None:
    from twin.sources.fibre import as_written, coded

    if frame is None or name not in frame.columns or kind not in frame.columns:
        return None
    hubs = frame.loc[coded(as_written(frame[kind]), "fibre_nodes", "kind") == "hub", name]
    return str(hubs.iloc[0]) if len(hubs) else None


def render(name: str, guess: Guess, *, pipeline: Path, output: Path) -> str:
    """The pipeline file's text; paths relative to its folder."""
    base = pipeline.parent

    def value(v: object) -> str:
        if isinstance(v, Path):
            relative = Path(os.path.relpath(v.resolve(), base.resolve())).as_posix()
            v = v.resolve().as_posix() if relative.startswith("../../") else relative
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"# twin pipeline for {name}, written by `twin init`. Check every guess marked below,",
             f"# then run `twin validate {pipeline.name}` and `twin run {pipeline.name}`.",
             "# Relative paths resolve against this file's folder. Unknown keys are errors."]
    city = {"name": name, **guess.sections.get("city", {})}
    sections = {"city": city, "output": {"path": output, "keep": 1}, **{
        k: v for k, v in guess.sections.items() if k != "city"}}
    for section in ("city", "output", "buildings", "panoramas", "fibre"):
        lines.append("")
        lines.extend(f"# {text}" for text in guess.notes.get(section, []))
        body = sections.get(section)
        prefix = "" if body is not None else "# "
        lines.append(f"{prefix}[{section}]")
        for key, v in (body or {}).items():
            lines.append(f"{key} = {v}" if isinstance(v, int) else f"{key} = {value(v)}")
        for table, comment in (("columns", "model field = column in the file"),
                               ("route_columns", "model field = column of the routes file"),
                               ("node_columns", "model field = column of the nodes file"),
                               ("dxf_layers", "CAD layer = route kind (trench, duct, aerial)")):
            columns = guess.columns.get(section if table == "columns" else f"{section}.{table}")
            if body is not None and columns:
                lines.append(f"[{section}.{table}]                # {comment}")
                lines.extend(f"{_key(key)} = {value(v)}" for key, v in columns.items())
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """A TOML key: bare where it can be, else quoted (CAD layer names have spaces and umlauts)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_city(
    name: str, inputs: Path, *, pipelines: Path = Path("pipelines"), crs: str | None = None, overwrite: bool = False
) -> tuple[Path, Guess]:
    """Inspect `inputs` and write ``<pipelines>/<slug>.toml``; return its path and the guesses.

    Raises
    ------
    ConfigError
        When the pipeline file exists and `overwrite` is false, or the folder holds nothing usable.
    """
    target = pipelines / f"{slug(name)}.toml"
    sources = inspect_folder(inputs)
    if target.exists() and not overwrite:
        raise ConfigError(str(target), "exists already", fix="give --overwrite to replace it, or another city name")
    if not sources:
        raise ConfigError(str(inputs), "holds no vector file or table twin can read",
                          fix="put the buildings, panorama and fibre files into the folder")
    guess = guess_pipeline(sources, crs=crs)
    output = pipelines.parent / "data" / "processed" / f"{slug(name)}_cim.gpkg"
    pipelines.mkdir(parents=True, exist_ok=True)
    target.write_text(render(name, guess, pipeline=target, output=output), encoding="utf-8")
    return target, guess
