"""OpenStreetMap extracts (``.osm.pbf``, ``.osm`` XML and gzipped ``.osm.gz``) through GDAL's OSM driver.

Buildings are the closed ways and multipolygon relations tagged
``building=*`` (not ``building=no``) of the driver's ``multipolygons``
layer. ``height``, ``building:levels``, ``roof:levels`` and ``addr:*`` are
parsed from the driver's ``other_tags`` text (all rows at once); every tag is
kept as JSON in ``source_attributes``. The OSM id becomes ``building_id``:
``way/123`` or ``relation/456``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from xml.etree.ElementTree import ParseError

import geopandas as gpd
import pandas as pd
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml import ElementTree as DefusedET

from twin.config import BuildingsConfig, ExtraBuildingsConfig
from twin.errors import SourceError
from twin.model.codes import osm_function_codes
from twin.model.formats import FORMATS
from twin.sources.footprints import attributes_json, canonical_buildings
from twin.sources.vector import read_vector

log = logging.getLogger(__name__)

#: Canonical field -> OSM tag.
TAGS = {
    "height_m": "height",
    "storeys": "building:levels",
    "roof_storeys": "roof:levels",
    "street": "addr:street",
    "house_number": "addr:housenumber",
    "postcode": "addr:postcode",
}
_VALUE = r'((?:[^"\\]|\\.)*)'


def read(config: BuildingsConfig | ExtraBuildingsConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read the buildings of an OSM extract into the canonical buildings schema.

    Raises
    ------
    SourceError
        When the file is not an OSM extract GDAL can read.
    """
    if not (config.path.name.lower().endswith(FORMATS["buildings", "osm"].suffixes) or config.layer):
        raise SourceError(config.path.name, "is not an OSM extract (.osm.pbf, .osm or .osm.gz)",
                          fix="check [buildings] path and format")
    name = config.path.name.lower()
    if name.endswith(".osm"):
        check_xml(config.path)
    elif name.endswith(".pbf"):
        check_pbf(config.path)
    frame = read_vector(
        config.path, target_crs=target_crs, layer=config.layer or "multipolygons",
        declared_crs=config.crs or "EPSG:4326", section="buildings",
    )
    if "building" not in frame.columns:
        raise SourceError(config.path.name, "has no building tag in the multipolygons layer", fix="give an OSM extract with buildings")
    frame = frame.loc[frame["building"].notna() & (frame["building"].astype("str").str.lower() != "no")]
    tags = parse_other_tags(frame.get("other_tags", pd.Series(None, index=frame.index, dtype="object")))
    table = pd.DataFrame({name: tags.get(tag) for name, tag in TAGS.items() if tag in tags}, index=frame.index)
    way = pd.to_numeric(frame.get("osm_way_id"), errors="coerce")
    rel = pd.to_numeric(frame.get("osm_id"), errors="coerce")
    ids = ("way/" + way.astype("Int64").astype("str")).where(way.notna(), "relation/" + rel.astype("Int64").astype("str"))
    table["building_id"] = ids.where(way.notna() | rel.notna())
    own = [c for c in frame.columns if c not in {"osm_id", "osm_way_id", "other_tags", frame.geometry.name}]
    source = gpd.GeoDataFrame(table, geometry=frame.geometry, crs=frame.crs)
    source.attrs.update(frame.attrs)
    out = canonical_buildings(
        source, {name: name for name in table.columns}, source="osm", codes=osm_function_codes(frame["building"])
    )
    out["source_attributes"] = _merge_json(attributes_json(pd.DataFrame(frame[own]).dropna(axis=1, how="all")),
                                           _tags_json(frame.get("other_tags")))
    log.info("%s: %d buildings", config.path.name, len(out))
    return out


def check_xml(path: Path) -> None:
    """Refuse an OSM XML file that is not complete, well-formed XML with an ``<osm>`` root.

    GDAL's OSM driver stops without an error where the XML breaks (a file cut short, a DTD with
    entities) and returns the buildings read so far, often none. The file is parsed here first as a
    stream (constant memory, no DTD, no entities) up to its closing ``</osm>``.

    Raises
    ------
    SourceError
        Naming the file, the line where the XML breaks and the fix.
    """
    depth, elements = 0, 0
    try:
        for event, element in DefusedET.iterparse(path, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if depth == 0 and element.tag != "osm":
                    raise SourceError(path.name, f"is no OSM XML (its root is <{element.tag}>)",
                                      fix="give an OSM extract (.osm or .osm.pbf)")
                depth += 1
                continue
            depth -= 1
            elements += 1
            if depth == 1:
                element.clear()  # a node, way or relation read: keep memory constant
    except (ParseError, DefusedXmlException) as exc:
        raise SourceError(path.name, f"is not complete, plain OSM XML after {elements:,} elements ({_xml_problem(exc)})",
                          fix="download or export the extract again (without a DTD or entities)") from exc


#: Limits of the PBF format: a blob header up to 64 kB, a blob up to 32 MB.
_PBF_HEADER_MAX, _PBF_BLOB_MAX = 64 * 1024, 32 * 1024**2


def check_pbf(path: Path) -> None:
    """Refuse an ``.osm.pbf`` whose blocks do not run exactly to its end (a download cut short).

    A PBF file is a chain of blocks, each a 4-byte length, a header naming the size of its data, and
    the data. GDAL's OSM driver stops without an error where the chain breaks; here the chain is
    walked from header to header (reading only the headers) and must end where the file ends.

    Raises
    ------
    SourceError
        Naming the file, the block where the chain breaks and the fix.
    """
    size = path.stat().st_size
    offset, blocks = 0, 0
    with path.open("rb") as handle:
        while offset < size:
            handle.seek(offset)
            length = int.from_bytes(handle.read(4), "big")
            header = handle.read(length) if 0 < length <= _PBF_HEADER_MAX else b""
            kind, data = _blob_header(header) if len(header) == length else ("", -1)
            end = offset + 4 + length + data
            if not kind or data < 0 or data > _PBF_BLOB_MAX or end > size or (blocks == 0 and kind != "OSMHeader"):
                raise SourceError(path.name, f"is not a complete OSM PBF file: block {blocks + 1} at byte {offset:,} "
                                             f"of {size:,} is cut short or damaged",
                                  fix="download the extract again")
            offset, blocks = end, blocks + 1
    if blocks == 0:
        raise SourceError(path.name, "is empty", fix="download the extract again")


def _blob_header(data: bytes) -> tuple[str, int]:
    """``type`` and ``datasize`` of a PBF BlobHeader (protobuf fields 1 and 3; ``("", -1)`` when unreadable)."""
    kind, size, at = "", -1, 0
    while at < len(data):
        key, at = _varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            if field == 3:
                size = value
        elif wire == 2:
            length, at = _varint(data, at)
            if field == 1:
                kind = data[at:at + length].decode("ascii", errors="replace")
            at += length
        else:
            return "", -1
    return kind, size if at == len(data) else -1


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while at < len(data) and shift < 64:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at
    return -1, len(data) + 1


def _xml_problem(exc: Exception) -> str:
    if isinstance(exc, DTDForbidden | EntitiesForbidden):
        return "it declares a DTD or entities"
    return " ".join(str(exc).split())


def parse_other_tags(other_tags: pd.Series) -> dict[str, pd.Series]:
    """The values of the tags the reader needs, from GDAL's ``other_tags`` hstore text.

    >>> tags = parse_other_tags(pd.Series(['"building:levels"=>"3","height"=>"12 m"', None]))
    >>> tags["building:levels"].tolist(), tags["height"].tolist()
    (['3', nan], ['12 m', nan])
    """
    text = other_tags.astype("str").where(other_tags.notna(), "")
    found: dict[str, pd.Series] = {}
    for tag in TAGS.values():  # a handful of tags, each extracted for all rows at once
        key = tag.replace(":", r"\:")
        value = text.str.extract(rf'(?:^|,)"{key}"=>"{_VALUE}"', expand=False)
        found[tag] = value.str.replace(r'\\(["\\])', r"\1", regex=True)
    return found


def _tags_json(other_tags: pd.Series | None) -> pd.Series | None:
    """GDAL's hstore text (``"k"=>"v","k2"=>"v2"``) as JSON object text, vectorised."""
    if other_tags is None:
        return None
    body = other_tags.astype("str").str.replace('"=>"', '":"', regex=False)
    body = body.str.replace(r"[\x00-\x1f]", " ", regex=True)
    return ("{" + body + "}").where(other_tags.notna(), "{}")


def _merge_json(left: pd.Series, right: pd.Series | None) -> pd.Series:
    """Merge two Series of JSON object texts into one object per row (keys of `left` first)."""
    if right is None:
        return left
    inner_left = left.str.slice(1, -1)
    inner_right = right.str.slice(1, -1)
    comma = pd.Series(",", index=left.index).where((inner_left != "") & (inner_right != ""), "")
    return "{" + inner_left + comma + inner_right + "}"
