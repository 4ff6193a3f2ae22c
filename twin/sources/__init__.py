"""Readers: one module per input format, each mapping vendor fields onto the canonical schema.

Every reader returns a GeoDataFrame in the city's CRS with the canonical
column names of :mod:`twin.model`; fatal problems raise an
:class:`~twin.errors.InputError` naming file, layer, row and fix.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd

from twin.errors import ConfigError
from twin.sources import (
    alkis,
    boundary,
    cyclomedia,
    fibre,
    generic,
    osm,
    panorama_csv,
    panorama_gpx,
    panorama_images,
    panorama_json,
)

__all__ = ["BUILDING_READERS", "PANORAMA_READERS", "READERS", "boundary", "fibre", "reader_for"]

Reader = Callable[..., gpd.GeoDataFrame]

#: The reader of every format declared in :mod:`twin.model.formats`, by section and ``format`` name:
#: ``reader(config, target_crs=...)``.
READERS: dict[str, dict[str, Reader]] = {
    "buildings": {"alkis": alkis.read, "osm": osm.read, "generic": generic.read},
    "panoramas": {
        "cyclomedia": cyclomedia.read, "csv": panorama_csv.read, "json": panorama_json.read,
        "images": panorama_images.read, "gpx+images": panorama_gpx.read,
    },
}
BUILDING_READERS = READERS["buildings"]
PANORAMA_READERS = READERS["panoramas"]


def reader_for(registry: dict[str, Reader], fmt: str, section: str) -> Reader:
    """Return the reader registered for `fmt`, or raise a ConfigError."""
    try:
        return registry[fmt]
    except KeyError:
        raise ConfigError(
            f"[{section}] format", f"{fmt!r} is not available", fix=f"choose one of {', '.join(registry)}"
        ) from None
