"""Look at a folder of a city's input files without reading them whole: layers, geometry, CRS, columns.

This is the only part of ``twin init`` that opens files; what it finds is a list of
:class:`Source` records, from which :mod:`twin.init.guess` decides, without I/O, what is what.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from twin.errors import SourceError
from twin.model.formats import FORMATS, IMAGE_SUFFIXES, TABLE_SUFFIXES, VECTOR_SUFFIXES
from twin.sources.city_models import city_model_kind
from twin.sources.panorama_csv import table_layout
from twin.sources.shapefile import choose_encoding, gdal_path, has_cpg, is_shapefile

__all__ = ["IMAGES", "OSM_SUFFIXES", "Source", "inspect_files", "inspect_folder"]

log = logging.getLogger(__name__)

#: The geometry of a :class:`Source` that is a folder of photos.
IMAGES = "Images"

#: OpenStreetMap extracts: never a fibre plan, and too large to read values from.
OSM_SUFFIXES = FORMATS["buildings", "osm"].suffixes

#: Side files of a Shapefile or of GIS software, part of another file.
SIDE_SUFFIXES = (".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".qml", ".sld", ".xml", ".aux", ".lock")
#: Line and point layers up to this many features have their attribute values read (routes, nodes).
MAX_VALUE_ROWS = 100_000


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
    #: How many layers the file holds (a pipeline names the layer when there are several).
    layer_count: int = 1
    #: Of a small line or point layer (routes, nodes): its attribute table, to tell codes and the hub.
    values: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    #: Of a folder of photos: its first photo, whether that carries a GPS position, and GPX tracks in or beside it.
    first_photo: str | None = None
    geotagged: bool = False
    tracks: tuple[Path, ...] = ()
    #: Of a folder of photos: longitude and latitude of the first photo, where it has them.
    position: tuple[float, float] | None = None

    @property
    def dataset(self) -> str:
        """What GDAL opens: the path, or for a zipped Shapefile the Shapefile inside the archive."""
        return _dataset(self.path)

    @property
    def label(self) -> str:
        """The file's name, and the layer's where the file holds several."""
        return f"{self.path.name}, layer {self.layer}" if self.layer and self.layer_count > 1 else self.path.name

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


def inspect_folder(folder: Path) -> list[Source]:
    """Every layer of every vector file and every table in `folder` (recursively), without reading them whole."""
    return inspect_files(folder)[0]


def inspect_files(folder: Path) -> tuple[list[Source], dict[Path, str]]:
    """The sources in `folder` (as :func:`inspect_folder`), and every other file with why it is none."""
    if not folder.is_dir():
        raise SourceError(str(folder), "is not a folder", fix="give the folder holding the city's input files")
    found: list[Source] = []
    skipped: dict[Path, str] = {}
    photos: dict[Path, int] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            photos[path.parent] = photos.get(path.parent, 0) + 1
            continue
        if suffix in (".json", ".gml", ".xml") and (model := city_model_kind(path)) is not None:
            log.warning("%s: skipped, a %s city model (3D buildings), not footprints; put the footprints of its "
                        "buildings into the folder", path.name, model)
            skipped[path] = f"a {model} city model (3D buildings), not footprints"
            continue
        try:
            if suffix in TABLE_SUFFIXES:
                found.append(_inspect_table(path))
            elif suffix == ".json" and (pictures := _inspect_picture_list(path)) is not None:
                found.append(pictures)
            elif suffix in VECTOR_SUFFIXES or path.name.lower().endswith(OSM_SUFFIXES) or (
                    suffix == ".zip" and is_shapefile(path)):
                layers = _inspect_vector(path)
                found.extend(layers)
                if not layers:
                    skipped[path] = "a city model written by twin (an output, not an input)"
            elif suffix not in SIDE_SUFFIXES and suffix != ".gpx":
                skipped[path] = f"not a format twin reads ({suffix or 'no suffix'})"
        except (DataSourceError, DataLayerError, OSError, UnicodeDecodeError, csv.Error, pd.errors.ParserError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("%s: skipped, not readable (%s)", path.name, reason)
            skipped[path] = f"not readable ({reason[:120]})"
    if photos:
        most = max(photos, key=lambda f: (photos[f], str(f)))
        found.append(_inspect_photos(most, photos[most]))
        for other in sorted(set(photos) - {most}):
            skipped[other] = f"{photos[other]} photos; the panoramas are taken from {most.name} ({photos[most]} photos)"
    return found, skipped


#: Layers every city model of twin has: a GeoPackage with them is an earlier output, not an input.
_MODEL_LAYERS = {"buildings", "qa_issues", "runs", "changes"}


def _dataset(path: Path) -> str:
    """What GDAL opens for `path`: a gzipped file (an OSM extract ``.osm.gz``) through ``/vsigzip/``."""
    return f"/vsigzip/{path}" if path.suffix.lower() == ".gz" else gdal_path(path)


def _inspect_vector(path: Path) -> list[Source]:
    if path.suffix.lower() == ".dxf":
        return [_inspect_drawing(path)]
    sources = []
    shapefile = is_shapefile(path)
    opened = _dataset(path)
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
        values = None
        if not polygons and not path.name.lower().endswith(OSM_SUFFIXES) and int(info["features"]) <= MAX_VALUE_ROWS:
            values = pyogrio.read_dataframe(opened, layer=str(name), read_geometry=False)
        sources.append(Source(path, str(name), None if geometry is None else str(geometry), info["crs"],
                              tuple(str(f) for f in info["fields"]), int(info["features"]), encoding,
                              bounds=(float(box[0]), float(box[1]), float(box[2]), float(box[3]))
                              if polygons and box is not None else None,
                              layer_count=len(layers), values=values))
    return sources


def _inspect_photos(folder: Path, count: int) -> Source:
    """A folder of photos: is the first geotagged, and which GPX tracks lie in or beside it."""
    from twin.sources.panorama_images import read_image

    first = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[0]
    try:
        record = read_image(first)
        position = (float(record["lon"]), float(record["lat"])) if pd.notna(record["lat"]) else None
    except (OSError, ValueError, SyntaxError, TypeError, KeyError):
        position = None
    tracks = sorted(folder.glob("*.gpx")) or sorted(folder.parent.glob("*.gpx"))
    return Source(folder, None, IMAGES, "EPSG:4326", (), count, first_photo=first.name, geotagged=position is not None,
                  position=position,
                  tracks=tuple(tracks))


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
