"""ALKIS Hausumringe: the cadastre's building footprints as Rheinland-Pfalz publishes them.

Shapefiles in EPSG:25832 with ``OI`` (object identifier), ``GFK``
(Gebäudefunktion, ``31001_1000`` or ``1000``), ``AKTUALIT`` and more; every
column that is not mapped onto the canonical schema is kept as JSON in
``source_attributes``. ``STRASSE``, ``HAUSNR`` and ``AOG`` become ``street``,
``house_number`` and ``storeys`` where present. Column names are matched
case-insensitively and can be mapped in ``[buildings.columns]``.
"""

from __future__ import annotations

import logging

import geopandas as gpd

from twin.config import BuildingsConfig, ExtraBuildingsConfig
from twin.errors import SchemaError
from twin.sources.city_models import refuse_city_model
from twin.sources.footprints import canonical_buildings, column_mapping
from twin.sources.vector import read_vector

log = logging.getLogger(__name__)

#: Canonical field -> ALKIS column (required).
COLUMNS = {"building_id": "OI", "function_code": "GFK"}
#: Canonical field -> ALKIS column, used where the file has it: the address many
#: Hausumringe exports carry, and the storeys above ground (``AOG``).
OPTIONAL_COLUMNS = {"street": "STRASSE", "house_number": "HAUSNR", "storeys": "AOG"}


def read(config: BuildingsConfig | ExtraBuildingsConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read ALKIS footprints into the canonical buildings schema.

    The attribute encoding is ``[buildings] encoding`` when given, else the
    ``.cpg`` beside the Shapefile, else detected from the bytes (UTF-8 or
    cp1252 / ISO-8859-1); bytes that clearly disprove the declared encoding win
    (see :func:`twin.sources.shapefile.choose_encoding`).

    Raises
    ------
    SchemaError
        When ``OI`` or ``GFK`` (or their mapped columns) are missing.
    """
    refuse_city_model(config.path)
    frame = read_vector(
        config.path, target_crs=target_crs, layer=config.layer, encoding=config.encoding,
        declared_crs=config.crs, section="buildings",
    )
    mapping = column_mapping(frame, {**COLUMNS, **OPTIONAL_COLUMNS}, config.columns)
    missing = [mapping[n] for n in COLUMNS if mapping[n] not in frame.columns]
    if missing:
        has = ", ".join(map(str, frame.columns.drop(frame.geometry.name, errors="ignore")[:12]))
        raise SchemaError(
            config.path.name, f"columns {', '.join(missing)} missing (has {has})",
            fix='map them in [buildings.columns], e.g. building_id = "OI"',
        )
    out = canonical_buildings(frame, mapping, source="alkis")
    log.info("%s: %d footprints", config.path.name, len(out))
    return out
