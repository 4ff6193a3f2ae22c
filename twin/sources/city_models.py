"""3D city models (CityGML, CityJSON) given where footprints are expected: recognised and refused with advice.

A city model describes buildings as solids and surfaces, not as footprints.
GDAL reads CityGML with its GML driver as whatever geometry the file holds
(a building's solid, or none at all when the surfaces sit in ``boundedBy``),
and does not read CityJSON; a footprint taken from either would be a guess
(roof outlines include their overhang). So the buildings readers refuse them
and say what to give instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from twin.errors import SourceError

#: Bytes read from the start of a file to recognise it.
HEAD_BYTES = 4096
#: ``"type": "CityJSON"`` or the ``"CityObjects"`` member: a writer that sorts keys puts ``type`` last.
_CITYJSON = re.compile(rb'"type"\s*:\s*"CityJSON(?:Feature)?"|"CityObjects"\s*:')
_CITYGML = re.compile(rb"http://www\.opengis\.net/citygml/")


def city_model_kind(path: Path) -> str | None:
    """``"CityGML"`` or ``"CityJSON"`` when `path` is such a model (by its first bytes), else None.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     model = Path(folder) / "delft.json"
    ...     _ = model.write_text('{"type": "CityJSON", "version": "2.0", "CityObjects": {}}')
    ...     city_model_kind(model)
    'CityJSON'
    """
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if _CITYJSON.search(head):
        return "CityJSON"
    if head.lstrip().startswith(b"<") and _CITYGML.search(head):
        return "CityGML"
    return None


def refuse_city_model(path: Path, *, section: str = "buildings") -> None:
    """Raise a SourceError naming what to give instead when `path` is a CityGML or CityJSON model."""
    kind = city_model_kind(path)
    if kind is None:
        return
    raise SourceError(
        path.name, f"is a {kind} city model (3D buildings), not a layer of footprints",
        fix=f"give the footprints of these buildings in [{section}] path (ALKIS Hausumringe, an OpenStreetMap "
            "extract, or a GeoPackage, GeoJSON or Shapefile of polygons); measured heights go in [buildings.heights] "
            "as a table of building id and height",
    )
