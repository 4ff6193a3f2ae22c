"""Documentation inside the GeoPackage, generated from :mod:`twin.model`.

- ``gpkg_contents``: identifier (title) and description of every layer;
- ``gpkg_data_columns`` (schema extension): title and description of every field,
  with ``gpkg_data_column_constraints`` enum rows for coded fields;
- related tables extension (``gpkgext_relations`` and mapping tables):
  building ↔ fibre connection ↔ fibre node, building ↔ panorama view ↔ panorama;
- ``gpkg_metadata`` / ``gpkg_metadata_reference`` (metadata extension): the
  lineage of the run (run id, input files and their SHA-256, software version).

The texts come in the model's language (``[output] language``: German or
English). Every table is rewritten as a whole, so calling :func:`write_documentation`
again on a file (a run that only re-records the model) leaves no stale rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from twin.model import LAYERS, text

__all__ = ["RELATIONS", "Relation", "family_columns", "write_documentation", "write_lineage"]

_SCHEMA = "http://www.geopackage.org/spec120/#extension_schema"
_METADATA = "http://www.geopackage.org/spec120/#extension_metadata"
_RELATED = "http://www.geopackage.org/18-000.html"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


@dataclass(frozen=True)
class Relation:
    """A link between two layers through a shared key column."""

    base: str
    related: str
    key: str
    text_key: str

    def name(self, language: str) -> str:
        """The name QGIS shows for the link, in `language`."""
        return text(self.text_key, language)

    @property
    def kind(self) -> str:
        """``relation_name`` of the related tables extension: ``features``, or ``attributes`` for a table."""
        return "features" if LAYERS[self.related].geometry_type is not None else "attributes"

    @property
    def mapping_table(self) -> str:
        """Name of the mapping table of the related tables extension."""
        return f"{self.base}_{self.related}"


#: The links QGIS can follow: a building to its drops and its panoramas, a drop to its node, a panorama to
#: the buildings it shows.
RELATIONS = (
    Relation("buildings", "fibre_connections", "building_id", "relation_building_connections"),
    Relation("fibre_nodes", "fibre_connections", "node_id", "relation_node_connections"),
    Relation("buildings", "panorama_views", "building_id", "relation_building_views"),
    Relation("panoramas", "panorama_views", "panorama_id", "relation_panorama_views"),
)

_TABLES = (
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, "
    "definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, "
    "title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
    "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
    "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, "
    "max_is_inclusive BOOLEAN, description TEXT, CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))",
    "CREATE TABLE IF NOT EXISTS gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL, "
    "md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL, "
    "mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (reference_scope TEXT NOT NULL, table_name TEXT, "
    "column_name TEXT, row_id_value INTEGER, timestamp DATETIME NOT NULL DEFAULT "
    "(strftime('%Y-%m-%dT%H:%M:%fZ','now')), md_file_id INTEGER NOT NULL, md_parent_id INTEGER, "
    "CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id), "
    "CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id))",
    "CREATE TABLE IF NOT EXISTS gpkgext_relations (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "base_table_name TEXT NOT NULL, base_primary_column TEXT NOT NULL DEFAULT 'id', "
    "related_table_name TEXT NOT NULL, related_primary_column TEXT NOT NULL DEFAULT 'id', "
    "relation_name TEXT NOT NULL, mapping_table_name TEXT NOT NULL UNIQUE)",
)


def write_documentation(con: sqlite3.Connection, *, lineage: Mapping[str, object] | None = None,
                        language: str = "de") -> None:
    """Write layer and field documentation, related tables and (when given) lineage into an open GeoPackage.

    Parameters
    ----------
    con
        Open connection to the GeoPackage (committed by the caller).
    lineage
        JSON-able description of the run: ``run_id``, ``software_version``,
        ``inputs`` (path -> SHA-256) and anything else worth keeping.
    language
        ``de`` or ``en``: the language of titles, descriptions and value labels.
    """
    for statement in _TABLES:
        con.execute(statement)
    _layers(con, language)
    _data_columns(con, language)
    _relations(con)
    write_lineage(con, lineage or {}, language=language)
    _extensions(con)


def _layers(con: sqlite3.Connection, language: str) -> None:
    for name, spec in LAYERS.items():
        con.execute("UPDATE gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
                    (spec.title_in(language), spec.description_in(language), name))


def family_columns(con: sqlite3.Connection, layer: str) -> tuple[str, ...]:
    """The columns of the written table `layer` that belong to a family of its fields (``share_2023``)."""
    if not LAYERS[layer].families:
        return ()
    names = [str(row[1]) for row in con.execute(f'PRAGMA table_info("{layer}")')]
    return LAYERS[layer].family_columns(names)


def _data_columns(con: sqlite3.Connection, language: str) -> None:
    con.execute("DELETE FROM gpkg_data_columns")
    con.execute("DELETE FROM gpkg_data_column_constraints")
    for table, spec in LAYERS.items():
        for field in spec.with_columns(family_columns(con, table)).fields:
            constraint = f"{table}_{field.name}" if field.values else None
            description = field.description_in(language)
            unit = f" {text('unit', language)}: {field.unit}." if field.unit and field.unit not in description else ""
            con.execute(
                "INSERT INTO gpkg_data_columns (table_name, column_name, name, title, description, mime_type, "
                "constraint_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (table, field.name, field.name, field.title_in(language), description + unit,
                 None, constraint),
            )
            for value, meaning in field.values_in(language).items():
                con.execute(
                    "INSERT INTO gpkg_data_column_constraints (constraint_name, constraint_type, value, description) "
                    "VALUES (?, 'enum', ?, ?)", (constraint, value, meaning),
                )


def _relations(con: sqlite3.Connection) -> None:
    for relation in RELATIONS:
        mapping = relation.mapping_table
        # the related table indexed by the key: the mapping is a join on it, and QGIS looks a feature's rows up by it
        con.execute(f'CREATE INDEX IF NOT EXISTS "{relation.related}_{relation.key}" '
                    f'ON "{relation.related}" ("{relation.key}")')
        con.execute(f'DROP TABLE IF EXISTS "{mapping}"')
        con.execute(f'CREATE TABLE "{mapping}" (base_id INTEGER NOT NULL, related_id INTEGER NOT NULL)')
        con.execute(
            f'INSERT INTO "{mapping}" (base_id, related_id) SELECT b.fid, r.fid FROM "{relation.base}" b '
            f'JOIN "{relation.related}" r ON b."{relation.key}" = r."{relation.key}" ORDER BY b.fid, r.fid'
        )
        con.execute("DELETE FROM gpkgext_relations WHERE mapping_table_name = ?", (mapping,))
        con.execute(
            "INSERT INTO gpkgext_relations (base_table_name, base_primary_column, related_table_name, "
            "related_primary_column, relation_name, mapping_table_name) VALUES (?, 'fid', ?, 'fid', ?, ?)",
            (relation.base, relation.related, relation.kind, mapping),
        )
        con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (mapping,))


def write_lineage(con: sqlite3.Connection, lineage: Mapping[str, object], *, language: str = "de") -> None:
    """(Re)write the lineage record of the file (``gpkg_metadata``, scope geopackage), layer titles in `language`."""
    con.execute("DELETE FROM gpkg_metadata_reference")
    con.execute("DELETE FROM gpkg_metadata")
    record = {"software": "twin", "language": language,
              "layers": {n: spec.title_in(language) for n, spec in LAYERS.items()}, **lineage}
    con.execute(
        "INSERT INTO gpkg_metadata (id, md_scope, md_standard_uri, mime_type, metadata) "
        "VALUES (1, 'dataset', 'https://www.w3.org/TR/prov-overview/', 'application/json', ?)",
        (json.dumps(record, sort_keys=True, ensure_ascii=False, default=str),),
    )
    con.execute(f"INSERT INTO gpkg_metadata_reference (reference_scope, timestamp, md_file_id) "
                f"VALUES ('geopackage', {_NOW}, 1)")


def _extensions(con: sqlite3.Connection) -> None:
    rows = [
        ("gpkg_data_columns", None, "gpkg_schema", _SCHEMA, "read-write"),
        ("gpkg_data_column_constraints", None, "gpkg_schema", _SCHEMA, "read-write"),
        ("gpkg_metadata", None, "gpkg_metadata", _METADATA, "read-write"),
        ("gpkg_metadata_reference", None, "gpkg_metadata", _METADATA, "read-write"),
        ("gpkgext_relations", None, "related_tables", _RELATED, "read-write"),
        *((r.mapping_table, None, "related_tables", _RELATED, "read-write") for r in RELATIONS),
    ]
    for row in rows:
        con.execute("DELETE FROM gpkg_extensions WHERE table_name = ? AND extension_name = ?", (row[0], row[2]))
        con.execute("INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                    "VALUES (?, ?, ?, ?, ?)", row)
