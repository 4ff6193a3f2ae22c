"""Building footprints from any GeoPackage, GeoJSON or Shapefile layer, columns mapped in the pipeline file.

``[buildings.columns]`` maps canonical fields (``building_id``,
``function_code``, ``function_label``, ``storeys``, ``height_m``, ``street``,
``house_number``, ``postcode``) onto source columns; a source column already
named like the canonical field needs no mapping. Unmapped columns go to
``source_attributes``; a missing id is derived from the footprint.
"""

from __future__ import annotations

import logging

import geopandas as gpd

from twin.config import BuildingsConfig, ExtraBuildingsConfig
from twin.errors import SchemaError
from twin.sources.city_models import refuse_city_model
from twin.sources.footprints import FIELDS, canonical_buildings, column_mapping
from twin.sources.vector import read_vector

log = logging.getLogger(__name__)


def read(config: BuildingsConfig | ExtraBuildingsConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read a footprint layer with the ``[buildings.columns]`` mapping.

    Raises
    ------
    SchemaError
        When a mapped column is not in the layer (all of them named at once).
    """
    refuse_city_model(config.path)
    frame = read_vector(
        config.path, target_crs=target_crs, layer=config.layer, encoding=config.encoding,
        declared_crs=config.crs, section="buildings",
    )
    unknown = sorted(set(config.columns) - set(FIELDS))
    if unknown:
        raise SchemaError(
            config.path.name, f"[buildings.columns] names unknown fields {', '.join(unknown)}",
            fix=f"map only {', '.join(FIELDS)}",
        )
    missing = [col for col in config.columns.values() if col not in frame.columns]
    if missing:
        has = ", ".join(map(str, frame.columns.drop(frame.geometry.name, errors="ignore")[:12]))
        raise SchemaError(
            config.path.name, f"columns {', '.join(missing)} missing (has {has})", fix="fix [buildings.columns]"
        )
    mapping = column_mapping(frame, {name: name for name in FIELDS}, config.columns)
    out = canonical_buildings(frame, mapping, source="generic")
    log.info("%s: %d footprints", config.path.name, len(out))
    return out
