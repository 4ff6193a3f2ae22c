"""Decide which inspected source is which, and which CRS the model takes: pure, no file is opened.

The sources come from :func:`twin.init.inspect.inspect_folder` (or are built in code by tests);
buildings are decided here, panoramas in :mod:`twin.init.panoramas`, the fibre plan in
:mod:`twin.init.fibre`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd
import pyproj

from twin.init.crs_search import crs_candidates
from twin.init.fibre import propose_fibre
from twin.init.hints import STREET_WORDS, fibre_score, has_xy, is_osm, is_street, layer_words, pick
from twin.init.inspect import Source
from twin.init.panoramas import panorama_score, propose_panoramas, propose_photos
from twin.init.proposal import DEFAULT_CRS, Guess, set_layer
from twin.model.formats import FORMATS
from twin.sources.alkis import OPTIONAL_COLUMNS
from twin.sources.districts import NAME_COLUMNS
from twin.transforms.placement import APART_M

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["guess_pipeline"]



#: Layer names of building footprints, and of polygons that are not (parcels, land use, boundaries).
_BUILDINGS = re.compile(r"geb(ae|ä)ude|building|hausumring|bauwerk|haus")

_NOT_BUILDINGS = re.compile(r"flurst|parcel|landuse|nutzung|gemeinde|grenze|boundary|admin|water|gewaesser")

#: Layer names of districts (Stadtteile, Ortsbezirke), proposed as ``[city] districts``.
_DISTRICTS = re.compile(r"stadtteil|ortsbezirk|ortsteil|stadtbezirk|district|quartier|wijk|dzielnic|\bbezirk")


def guess_pipeline(sources: list[Source], *, crs: str | None = None, skipped: dict[Path, str] | None = None) -> Guess:
    """Decide which source is which and how its columns map; every decision gets a note.

    `skipped` are the files of the folder that are no source, with why (:func:`twin.init.inspect.inspect_files`);
    they are listed in :attr:`Guess.files` beside every source's role.
    """
    guess = Guess()
    roles: dict[int, str] = {}
    _propose_city(guess, sources, crs, roles)
    tables = [s for s in sources if s.family == "table"]
    points = sorted((s for s in sources if s.family == "point"), key=lambda s: -s.features)
    located = [t for t in tables if has_xy(t)]
    panoramas = _propose_capture(guess, sources, located, points, roles)
    unplaced = next((s for s in sources if roles.get(id(s), "").startswith("buildings") and not s.crs), None)
    if crs is None and unplaced is not None:
        _crs_by_position(guess, unplaced, panoramas)
    if crs is None and "buildings" not in guess.sections:
        _crs_from_capture(guess, panoramas or next((s for s in sources if id(s) in roles and s.family == "images"), None))
    points = [p for p in points if p is not panoramas]
    lines = sorted((s for s in sources if s.family == "line"), key=lambda s: (-fibre_score(s), -s.features))
    streets = max((s for s in lines if is_street(s)), default=None,  # named like streets first, then the largest
                  key=lambda s: (bool(STREET_WORDS.search(layer_words(s))), s.features))
    if streets is not None and "panoramas" in guess.sections:
        roles[id(streets)] = "street centre lines ([panoramas] streets)"
        _propose_streets(guess, streets)
    # neither OSM lines nor street centre lines are a fibre plan
    routes = next((s for s in lines if s is not streets and not is_osm(s) and not is_street(s)), None)
    if routes is not None:
        node_tables = [t for t in located if t is not panoramas and fibre_score(t) > 0]
        nodes = sorted([*(s for s in points if not is_osm(s)), *node_tables], key=lambda s: (-fibre_score(s), -s.features))
        roles[id(routes)] = f"fibre routes ({routes.features:,} lines)"
        if nodes:
            roles[id(nodes[0])] = f"fibre nodes ({nodes[0].features:,})"
        propose_fibre(guess, routes, nodes[0] if nodes else None)
    for section in ("buildings", "panoramas", "fibre"):
        if section not in guess.sections:
            guess.note(section, f"no file in the folder looks like {section}; add the section by hand or leave it out")
    taken = {role.split(" (")[0]: source.label for source in sources if (role := roles.get(id(source)))}
    guess.files = {source.label: roles.get(id(source)) or _why_not(source, taken) for source in sources}
    guess.files.update({path.name: why for path, why in (skipped or {}).items()})
    return guess


def _propose_streets(guess: Guess, streets: Source) -> None:
    """``[panoramas] streets`` and the columns with the street's id and name where they are named otherwise."""
    section = guess.sections["panoramas"]
    section["streets"] = streets.path
    set_layer(section, "streets_layer", streets)
    guess.note("panoramas", f"streets: {streets.path.name} (street centre lines, for street coverage)")
    mapping: dict[str, str] = {}
    for field in ("street_id", "name"):
        column = pick(streets.columns, field, taken=set(mapping.values()))
        if column is not None and column != field:
            mapping[field] = column
    if mapping:
        guess.columns["panoramas.street_columns"] = mapping
        guess.note("panoramas", f"street_columns: {', '.join(f'{k} = {v}' for k, v in mapping.items())}; check them")


def _propose_city(guess: Guess, sources: list[Source], crs: str | None, roles: dict[int, str]) -> None:
    """The model's CRS, the boundary (a layer of one polygon) and the buildings (the most footprint-like layer)."""
    polygons = sorted((s for s in sources if s.family == "polygon"), key=lambda s: (-_building_score(s), -s.features))
    boundary = next((s for s in polygons if s.features == 1), None)
    districts = next((s for s in polygons if s is not boundary and _building_score(s) <= 0
                      and _DISTRICTS.search(layer_words(s))), None)
    buildings = next((s for s in polygons if s is not boundary and s is not districts), None)
    chosen, why = _output_crs(buildings)
    guess.crs = crs or chosen
    guess.sections["city"] = {"crs": guess.crs}
    if crs is None and buildings is not None and not buildings.crs:
        guess.note("city", f"crs: the buildings name no CRS; {guess.crs} assumed, set the town's projected CRS")
    elif crs is None and why is None and buildings is not None:
        guess.note("city", f"crs: the buildings' CRS, {guess.crs}")
    elif crs is None:
        guess.note("city", f"crs: the buildings' {why}; the model uses {guess.crs}, the UTM zone where they lie "
                           "(EPSG:25832 for Rheinland-Pfalz and the west, EPSG:25833 for eastern states), and "
                           "reprojects them")
    if boundary is not None:
        roles[id(boundary)] = "city boundary ([city] boundary)"
        guess.sections["city"]["boundary"] = boundary.path
        set_layer(guess.sections["city"], "boundary_layer", boundary)
        guess.note("city", f"boundary: {boundary.path.name} has one polygon")
    if districts is not None:
        _propose_districts(guess, districts, roles)
    if buildings is not None:
        roles[id(buildings)] = f"buildings ({buildings.features:,} footprints)"
        if buildings.crs is not None and buildings.crs == guess.crs:
            guess.extent = buildings.bounds
        propose_buildings(guess, buildings)


def _propose_districts(guess: Guess, districts: Source, roles: dict[int, str]) -> None:
    """``[city] districts``: a polygon layer named like districts, with the column holding their names."""
    named = [c for c in districts.columns if c.lower() in NAME_COLUMNS] or \
        [c for c in districts.columns if "name" in c.lower()]
    if len(named) != 1:
        guess.note("city", f"districts: {districts.path.name} looks like districts, but no one column holds their "
                           "names; add [city] districts and districts_name by hand")
        return
    roles[id(districts)] = f"districts ([city] districts, {districts.features:,} polygons)"
    city = guess.sections["city"]
    city["districts"] = districts.path
    set_layer(city, "districts_layer", districts)
    city["districts_name"] = named[0]
    guess.note("city", f"districts: {districts.path.name}, names from column {named[0]}; gives buildings.district")


def _crs_by_position(guess: Guess, buildings: Source, capture: Source | None) -> None:
    """Buildings without a CRS: the projected CRS in which the place of the panoramas (in degrees) lies among them."""
    columns = guess.columns.get("panoramas", {})
    if capture is None or capture.sample is None or buildings.bounds is None or \
            guess.sections.get("panoramas", {}).get("crs") != "EPSG:4326" or not {"x", "y"} <= set(columns):
        return
    lon, lat = (float(pd.to_numeric(capture.sample[columns[k]].astype("str").str.replace(",", ".", regex=False),
                                    errors="coerce").median()) for k in ("x", "y"))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return
    found = crs_candidates(lon, lat, buildings.bounds, tolerance_m=APART_M)
    if not found:
        return
    guess.crs = found[0]
    guess.extent = buildings.bounds
    guess.sections["city"]["crs"] = guess.sections["buildings"]["crs"] = found[0]
    others = f" (also {', '.join(found[1:])})" if len(found) > 1 else ""
    text = (f"crs: the file names no CRS; its coordinates fit {found[0]}{others} where the panoramas lie, "
            "check it")
    guess.notes["buildings"] = [text if n.startswith("crs: the file names no CRS") else n for n in guess.notes["buildings"]]
    guess.notes["city"] = [f"crs: {found[0]}, the CRS the buildings' coordinates fit where the panoramas lie"
                           if n.startswith("crs: the buildings name no CRS") else n for n in guess.notes["city"]]


def _crs_from_capture(guess: Guess, capture: Source | None) -> None:
    """Without buildings: the UTM zone where the panoramas lie (from positions in degrees), else a note."""
    lonlat = None
    if capture is not None and capture.position is not None:
        lonlat = capture.position
    elif capture is not None and capture.sample is not None and guess.sections.get("panoramas", {}).get("crs") == \
            "EPSG:4326":
        columns = guess.columns.get("panoramas", {})
        xy = [pd.to_numeric(capture.sample[columns[k]].astype("str").str.replace(",", ".", regex=False),
                            errors="coerce").median() for k in ("x", "y")]
        lonlat = (float(xy[0]), float(xy[1]))
    zone = _utm_zone("EPSG:4326", (*lonlat, *lonlat)) if lonlat is not None else None
    if zone is None:
        guess.note("city", f"crs: no buildings and no positions in degrees to tell where the town lies; {guess.crs} "
                           "assumed, set the town's projected CRS")
        return
    guess.crs = zone
    guess.sections["city"]["crs"] = zone
    guess.note("city", f"crs: {zone}, the UTM zone where the panoramas lie (no buildings to take it from)")


def _propose_capture(guess: Guess, sources: list[Source], located: list[Source], points: list[Source],
                     roles: dict[int, str]) -> Source | None:
    """The panoramas: the table or picture list with capture times (and headings, image names), else photos."""
    # a table named like the network holds its nodes, not panoramas
    candidates = [*located, *(p for p in points if not is_osm(p) and p.path.suffix.lower() in (".json", ".geojson"))]
    panoramas = max((t for t in candidates if panorama_score(t) > 0),
                    key=lambda t: (panorama_score(t), t.features), default=None)
    if panoramas is not None:
        roles[id(panoramas)] = f"panoramas ({panoramas.features:,} rows)"
        propose_panoramas(guess, panoramas)
        return panoramas
    photos = next((s for s in sources if s.family == "images" and s.features > 1), None)
    if photos is not None:
        roles[id(photos)] = f"panoramas ({photos.features:,} photos)"
        propose_photos(guess, photos)
    return None


def _why_not(source: Source, taken: dict[str, str]) -> str:
    """Why `source` got no role, for the list of files at the top of the pipeline file."""
    family = source.family
    if is_osm(source) and family != "polygon":
        return "OpenStreetMap lines or points: never taken as a fibre plan"
    if family == "polygon":
        return f"polygons, not taken: the buildings are {taken.get('buildings', 'another layer')}"
    if family == "line":
        if is_street(source):
            return "street centre lines, unused: street coverage needs panoramas"
        return f"lines, not taken: the fibre routes are {taken.get('fibre routes', 'none (no plan found)')}"
    if family == "point":
        return f"points, not taken: the fibre nodes are {taken.get('fibre nodes', 'none')}" if "fibre routes" in taken \
            else "points without capture times, and no fibre routes to attach them to"
    if family == "images":
        return f"photos, not taken: the panoramas are {taken.get('panoramas', 'none')}"
    if not has_xy(source):
        return f"a table without coordinate columns twin knows (columns {', '.join(source.columns[:8])})"
    return "a table with coordinates but neither capture times nor network columns"


def _building_score(source: Source) -> float:
    """How much a polygon layer's name says footprints (``ax_gebaeude``) rather than parcels or land use; the
    polygons of an OpenStreetMap extract (read as its ``building=*``) rank above a layer whose name says nothing."""
    name = layer_words(source)
    return bool(_BUILDINGS.search(name)) - bool(_NOT_BUILDINGS.search(name)) + (0.5 if is_osm(source) else 0.0)


def _output_crs(buildings: Source | None) -> tuple[str, str | None]:
    """The model's CRS and, where it is not the buildings' own, why.

    The buildings' projected CRS, unless it distorts distances (Web Mercator) or is an older German
    one (Gauss-Krüger, DHDN), or the buildings are in degrees: then the ETRS89/UTM zone of where they
    lie (EPSG:25832 for Rheinland-Pfalz and the west of Germany, EPSG:25833 for the east).
    """
    if buildings is None or not buildings.crs:
        return DEFAULT_CRS, None

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


def propose_buildings(guess: Guess, source: Source) -> None:
    """``[buildings]``: ALKIS by its columns, OpenStreetMap by its suffix, else footprints with mapped columns."""
    section: dict[str, object] = {"path": source.path}
    if FORMATS["buildings", "alkis"].matches(source.columns):  # the reader matches the columns in any case too
        section["format"] = "alkis"
        guess.note("buildings", f"{source.path.name}: ALKIS Hausumringe (columns OI and GFK)")
        mapping: dict[str, str] = {}
        for name in ("street", "house_number", "storeys", "height_m"):  # where the file names them otherwise
            column = pick(source.columns, name, taken={"OI", "GFK", *mapping.values()})
            if column is not None and column.upper() != OPTIONAL_COLUMNS.get(name, "").upper():
                mapping[name] = column
        if mapping:
            guess.columns["buildings"] = mapping
    elif source.path.name.lower().endswith(FORMATS["buildings", "osm"].suffixes):
        section["format"] = "osm"
        guess.note("buildings", f"{source.path.name}: OpenStreetMap extract")
    else:
        _generic_buildings(guess, source, section)
    set_layer(section, "layer", source)
    if source.encoding not in (None, "utf-8"):
        section["encoding"] = source.encoding
        guess.note("buildings", f"encoding: the attributes are not UTF-8; they read as {source.encoding} (found from "
                                "their text), check names with accents or umlauts")
    if not source.crs:
        section["crs"] = guess.crs
        guess.note("buildings", f"crs: the file names no CRS; {guess.crs} assumed, check it")
    guess.sections["buildings"] = section


def _generic_buildings(guess: Guess, source: Source, section: dict[str, object]) -> None:
    section["format"] = "generic"
    wanted = ("building_id", "function_code", "height_m", "storeys")
    mapping: dict[str, str] = {}
    for name in wanted:
        column = pick(source.columns, name, taken=set(mapping.values()))
        if column is not None:
            mapping[name] = column
        else:
            guess.note("buildings", f"{name}: no column looks like it; map it in [buildings.columns] if the file has one")
    for name in ("street", "house_number", "postcode"):  # the address, where the file has one
        column = pick(source.columns, name, taken=set(mapping.values()))
        if column is not None:
            mapping[name] = column
    guess.columns["buildings"] = mapping
    guess.note("buildings", f"{source.path.name}: {source.features} footprints with columns {', '.join(source.columns)};"
                            " columns guessed by name, check them")
