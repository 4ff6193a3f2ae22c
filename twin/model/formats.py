"""The input formats twin reads, declared once.

Each :class:`Format` is what ``format = "<name>"`` selects in a pipeline
section, and what ``twin init`` looks for to propose it: the file suffixes it
reads and the columns that tell it apart. The pipeline file's choices
(:mod:`twin.config`), the readers (:mod:`twin.sources`) and ``twin init``
(:mod:`twin.init`) all take the formats from here; a test fails when a
reader or ``twin init`` does not know a declared format.

>>> names("buildings")
('alkis', 'osm', 'generic')
>>> FORMATS["panoramas", "cyclomedia"].matches(["ImageId", "RecordedAt", "X", "Y", "Height"])
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "FORMATS", "IMAGE_SUFFIXES", "TABLE_SUFFIXES", "VECTOR_SUFFIXES", "Format", "names", "suffixes",
]

#: Vector files read through GDAL (a ``.zip`` holding a Shapefile counts too).
VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".gml", ".kml", ".pbf", ".osm", ".dxf")
#: Text tables (delimiter, decimal mark and encoding are found from the bytes).
TABLE_SUFFIXES = (".csv", ".txt", ".tsv")
#: Photos (equirectangular JPEGs with EXIF/XMP).
IMAGE_SUFFIXES = (".jpg", ".jpeg")


@dataclass(frozen=True)
class Format:
    """One input format of a pipeline section.

    Attributes
    ----------
    section
        ``buildings`` or ``panoramas`` (the sections with a ``format`` key).
    name
        The value of ``format``.
    title
        What it is, for messages and ``twin init``'s notes.
    suffixes
        File suffixes it reads (lower case).
    columns
        Columns (compared without case) that identify it; empty when its columns are mapped.
    any_column
        True: one of `columns` identifies it; False: all of them must be there.
    """

    section: str
    name: str
    title: str
    suffixes: tuple[str, ...]
    columns: tuple[str, ...] = ()
    any_column: bool = False

    def matches(self, columns: Iterable[str]) -> bool:
        """Whether a layer with `columns` is of this format by its columns (never, for formats without any)."""
        if not self.columns:
            return False
        have = {str(c).lower() for c in columns}
        wanted = {c.lower() for c in self.columns}
        return bool(have & wanted) if self.any_column else have >= wanted


_DECLARED = (
    Format("buildings", "alkis", "ALKIS Hausumringe", (".shp", ".zip", ".gpkg", ".geojson", ".fgb", ".gml"),
           columns=("OI", "GFK")),
    Format("buildings", "osm", "OpenStreetMap extract", (".osm", ".pbf", ".osm.gz")),
    Format("buildings", "generic", "footprints with mapped columns", VECTOR_SUFFIXES),
    Format("panoramas", "cyclomedia", "CycloMedia recording metadata", (*TABLE_SUFFIXES, ".geojson", ".json"),
           columns=("imageId", "recordedAt")),
    Format("panoramas", "csv", "table or point layer with mapped columns", (*TABLE_SUFFIXES, *VECTOR_SUFFIXES)),
    Format("panoramas", "json", "picture list (Mapillary API, mapillary_tools, Panoramax/STAC)", (".json", ".geojson"),
           columns=("computed_geometry", "MAPLatitude", "datetime", "collection", "view:azimuth", "pers:yaw", "assets",
                    "stac_version"), any_column=True),
    Format("panoramas", "images", "folder of geotagged photos (EXIF GPS, GPano XMP)", IMAGE_SUFFIXES),
    Format("panoramas", "gpx+images", "folder of photos placed on a GPX track by time", (".gpx", *IMAGE_SUFFIXES)),
)

#: Every format by ``(section, name)``, in the order of preference within a section.
FORMATS: dict[tuple[str, str], Format] = {(f.section, f.name): f for f in _DECLARED}


def names(section: str) -> tuple[str, ...]:
    """The format names of a pipeline section, in the order of :data:`FORMATS`."""
    return tuple(name for sec, name in FORMATS if sec == section)


def suffixes() -> tuple[str, ...]:
    """Every file suffix some reader reads."""
    return tuple(dict.fromkeys(s for f in _DECLARED for s in f.suffixes))
