"""How ``twin init`` reads names: column names that suggest a model field, and words in file and layer names.

>>> pick(("Knoten-Nr", "Bezeichnung"), "node_id")
'Knoten-Nr'
"""

from __future__ import annotations

import itertools
import re

import pandas as pd

from twin.init.inspect import OSM_SUFFIXES, Source

__all__ = ["HINTS", "fibre_score", "has_xy", "is_osm", "is_street", "layer_words", "normal", "pick", "xy_by_values"]


#: Column names (lower case) that suggest a canonical field, best first.
HINTS: dict[str, tuple[str, ...]] = {
    "building_id": ("building_id", "oi", "gml_id", "id", "objectid", "object_id", "objekt_id", "uuid", "osm_id", "fid",
                    "kod_budovy", "id_budynku", "cleabs", "identifiant", "identificatie"),
    "function_code": ("function_code", "gfk", "funktion", "function", "building", "gebaeudefunktion", "type",
                      "usage1", "nature", "zpusob_vyu", "funkcja", "gebruiksdoel"),
    "height_m": ("height_m", "height", "hoehe", "höhe", "gebaeudehoehe", "hoh", "h", "hauteur", "vyska_budovy",
                 "wysokosc_budynku", "hoogte"),
    "storeys": ("storeys", "building:levels", "levels", "geschosse", "anzahl_geschosse", "anzahl_og", "aog", "floors",
                "stockwerke", "nb_etages", "pocet_podl", "pocet_podlazi", "kondygnacje", "kondygnacj", "liczba_kondygnacji",
                "bouwlagen", "aantal_bouwlagen"),
    "street": ("street", "addr:street", "strasse", "straße", "strassenname", "str", "ulice", "ulica", "rue", "nom_voie",
               "straat", "straatnaam"),
    "house_number": ("house_number", "addr:housenumber", "housenumber", "hausnummer", "hausnr", "hsnr", "hnr"),
    "postcode": ("postcode", "addr:postcode", "plz", "postleitzahl"),
    "panorama_id": ("panorama_id", "image_id", "imageid", "id", "uuid"),
    "image_name": ("image_name", "filename", "file", "image", "imagename", "name", "bild", "bildname", "dateiname",
                   "datei", "snimek", "snímek", "foto", "photo", "zdjecie", "imagen", "bestand", "kuva"),
    "captured_at": ("captured_at", "timestamp", "datetime", "gpstime", "recorded_at", "recordedat",
                    "aufnahmezeit", "zeitstempel", "time", "zeit", "date", "datum", "cas", "čas", "czas", "fecha",
                    "horodatage", "date_heure", "tijd", "tid", "aika", "aeg", "data", "datum_tijd"),
    "time_of_day": ("time_of_day", "uhrzeit", "time", "zeit", "cas", "čas", "godzina", "czas", "heure", "tijd"),
    "x": ("x", "lon", "longitude", "lng", "easting", "rechtswert", "ostwert", "east", "laenge", "länge", "laengengrad",
          "längengrad", "lengtegraad"),
    "y": ("y", "lat", "latitude", "northing", "hochwert", "nordwert", "north", "breite", "breitengrad", "breedtegraad"),
    "z": ("z", "alt", "altitude", "elevation", "hoehe", "höhe", "height", "vyska", "výška", "wysokosc", "wysokość",
          "hoogte"),
    "heading_deg": ("heading_deg", "heading", "yaw", "azimuth", "azimut", "orientation", "richtung", "direction",
                    "kurs", "course", "bearing", "cap", "kierunek", "smer", "směr", "richting"),
    "pitch_deg": ("pitch_deg", "pitch", "nick", "nickwinkel"),
    "roll_deg": ("roll_deg", "roll", "rollwinkel"),
    "gps_week": ("gps_week", "gpsweek", "week", "gps_woche", "woche"),
    "gps_seconds": ("gps_seconds", "gpsseconds", "gps_sec", "seconds_of_week", "sow", "sekunden"),
    "kind": ("kind", "type", "typ", "art", "deployment", "bauweise", "verlegeart", "verlegung", "bauart", "category",
             "kategorie", "druh", "rodzaj", "type_pose", "mode_pose", "ligging", "soort"),
    "status": ("status", "zustand", "bauzustand", "stav", "stan_budowy", "etat", "état", "statut", "toestand"),
    "route_id": ("route_id", "trasse", "trassen_id", "trasse_id", "abschnitt", "segment"),
    "ducts": ("ducts", "rohre", "anzahl_rohre", "leerrohre", "anz_rohre"),
    "fibres": ("fibres", "fibers", "fibrecount", "fasern", "anzahl_fasern", "anz_fasern", "pocet_vlaken",
               "liczba_wlokien", "nb_fibres", "capacite", "aantal_vezels", "vezels"),
    "node_id": ("node_id", "knoten_id", "knotenid", "knoten_nr", "knotennr", "nr"),
    "name": ("name", "bezeichnung", "bezeichnun", "label", "title", "knoten", "knotenname", "standort", "strassenname",
             "street_name", "nazev", "nazev_ulice", "nom", "nom_voie", "nombre", "naam", "nazwa", "nev", "navn",
             "nom_1_g", "nom_rue", "straatnaam"),
    "street_id": ("street_id", "strschl", "strassenschluessel", "osm_id", "kod_ulice", "id_ulicy", "id", "gml_id", "fid"),
}

FIBRE_WORDS = re.compile(r"fib|glas|lwl|rainbow|route|trasse|kabel|duct|netz|network|node|knoten|"
                         r"optick|uzly|uzel|swiatlowod|światłowód|wezl|wezel|węzł|węzeł|noeud|nœud|knooppunt")

STREET_WORDS = re.compile(r"street|stra(ss|ß)e|road|weg|achse|highway|ulic|utca|улиц|calle|straat|gatv|iela|tänav|"
                          r"katu|cesta|straten|tron[cç]ons?_de_route|wegvak|wegdeel|(?<![a-z])(rues?|voies?|vias?|vie|gade|gata|ruas?|odos)(?![a-z])")
#: Columns of street centre lines (OpenStreetMap, street registers), never of a fibre plan.
STREET_COLUMNS = {"highway", "maxspeed", "lanes", "oneway", "surface", "strassenname", "strschl", "street_name",
                  "nazev_ulice", "ulice", "ulica", "nom_voie", "nombre_via", "widmung", "fahrbahn", "nom_1_g", "nom_1_d",
                  "nom_rue", "straatnaam", "wegnummer"}

FIBRE_COLUMNS = {"kind", "status", "ducts", "fibres", "route_id", "node_id", "bauweise", "rohre", "fasern"}


def normal(column: str) -> str:
    """A column name as the hints write them: lower case, punctuation and spaces as ``_`` (``Knoten-Nr`` → ``knoten_nr``)."""
    return re.sub(r"[^\w:]+", "_", column.lower()).strip("_")


def pick(columns: tuple[str, ...], field_name: str, *, taken: set[str] | None = None) -> str | None:
    """The column named like `field_name`: exactly a hint, else containing a long hint, else ``..._id`` for ids."""
    lower = {normal(c): c for c in columns if c not in (taken or set())}
    exact = next((lower[h] for h in HINTS[field_name] if h in lower), None)
    if exact is not None:
        return exact
    partial = next((lower[c] for h in HINTS[field_name] if len(h) >= 4 for c in lower if h in c), None)
    if partial is not None or not field_name.endswith("_id"):
        return partial
    return next((lower[c] for c in lower if c.endswith(("_id", "id"))), None)


def has_xy(source: Source) -> bool:
    """Whether a table has coordinate columns, by their names or by their values."""
    return (pick(source.columns, "x") is not None and pick(source.columns, "y") is not None) or \
        xy_by_values(source) is not None


def xy_by_values(source: Source, *, taken: set[str] | None = None) -> tuple[str, str] | None:
    """Two neighbouring columns of a table whose values are coordinates, when their names tell nothing.

    Degrees (one column within ±90, both within ±180, with decimals) or projected metres (both of
    more than four digits); the easting is the column of smaller magnitude (UTM, Gauss-Krüger and
    S-JTSK alike). Columns in `taken` (mapped to other fields by their names) are left out.
    """
    if source.sample is None or not len(source.sample):
        return None
    numbers = {}
    for column in source.columns:
        if column in (taken or set()) or pick((column,), "heading_deg") or pick((column,), "z"):
            continue
        text = source.sample[column].astype("str").str.strip().str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        if values.notna().all() and (values % 1 != 0).any():
            numbers[column] = values.abs()
    order = [c for c in source.columns if c in numbers]
    for first, second in itertools.pairwise(order):
        a, b = numbers[first], numbers[second]
        if max(a.max(), b.max()) <= 180 and min(a.max(), b.max()) <= 90:  # degrees: the latitude within ±90
            return (second, first) if b.max() > 90 else (first, second)  # both within ±90: table_crs decides
        if a.min() >= 1e4 and b.min() >= 1e4:
            return (first, second) if a.median() <= b.median() else (second, first)
    return None


def layer_words(source: Source) -> str:
    """The file's name and the layer's, lower case: what tells a layer's content by its name."""
    return f"{source.path.stem} {source.layer or ''}".lower()


def is_osm(source: Source) -> bool:
    """Whether `source` is an OpenStreetMap extract (never a fibre plan)."""
    return source.path.name.lower().endswith(OSM_SUFFIXES)  # .osm.gz: a double suffix


def is_street(source: Source) -> bool:
    """Whether a line layer is street centre lines: named so (in several languages), or with the columns of a
    street register or of OpenStreetMap (``highway``), and without the columns of a fibre plan."""
    columns = {normal(c) for c in source.columns}
    words = layer_words(source)
    fibre = bool(columns & FIBRE_COLUMNS) or bool(FIBRE_WORDS.search(STREET_WORDS.sub(" ", words)))  # "strasse"
    street_columns = bool(columns & STREET_COLUMNS)
    return (bool(STREET_WORDS.search(words)) or street_columns) and (street_columns or not fibre)


def fibre_score(source: Source) -> int:
    """How much a line or point layer looks like fibre network (name and columns)."""
    name = layer_words(source)
    columns = {c.lower() for c in source.columns}
    return 2 * bool(FIBRE_WORDS.search(name)) - 2 * bool(STREET_WORDS.search(name)) + len(columns & FIBRE_COLUMNS)
