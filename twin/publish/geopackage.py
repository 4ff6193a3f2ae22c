"""Write the model's layers into one GeoPackage (version 1.2, R-tree on every spatial layer).

GDAL 3.12 writes GeoPackage 1.4 by default; QGIS 3.22 and the validator of
GDAL 3.6 only partly accept it, and both accept 1.2, which has everything
the model uses (R-tree, schema and metadata extensions).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from twin.errors import PublishError
from twin.gdal_options import gdal_options
from twin.model import LAYERS, conform
from twin.publish.documentation import write_documentation
from twin.publish.qgis_project import write_project
from twin.publish.styles import write_styles

log = logging.getLogger(__name__)

GPKG_VERSION = "1.2"
_OGR_TYPES = {"PointZ": "Point Z", "Geometry": "Unknown"}

Progress = Callable[[str, int, int], None]


def write_geopackage(
    path: Path, layers: Mapping[str, pd.DataFrame | pa.RecordBatchReader], *, crs: str, progress: Progress | None = None,
    lineage: Mapping[str, object] | None = None, published_name: str | None = None, language: str = "de",
) -> None:
    """Write every layer of the model into a new GeoPackage at `path`.

    A layer may be given as a stream of Arrow batches already in its schema (see
    :func:`arrow_stream`): it is written batch by batch, never held whole.
    Layers missing from `layers` are written empty so that the file always
    has the full schema. `path` must not exist. `lineage` (run id, input
    hashes, software version) goes into ``gpkg_metadata``; `published_name`
    is the file name the stored QGIS project points at (`path`'s name when
    not given, e.g. when `path` is a temporary file that will be renamed);
    `language` (``de`` or ``en``) that of the titles, descriptions, legends and the project.
    """
    if path.exists():
        raise PublishError(str(path), "exists already", fix="write to a new temporary file")
    with gdal_options(UNSYNCED):
        _write_layers(path, layers, crs=crs, progress=progress)
    finalise(path, lineage=lineage, published_name=published_name, synchronous=False, language=language)


#: SQLite settings while a new file is written: no rollback journal and no flush at every commit.
#: The file is new and is published only after it has been checked and flushed to disk once
#: (:mod:`twin.runner.swap`), so a run killed while writing leaves a temporary that the next
#: run removes, as before. Saves about 10 ms per layer.
UNSYNCED = {"OGR_SQLITE_SYNCHRONOUS": "OFF", "OGR_SQLITE_JOURNAL": "OFF"}

#: GDAL settings while a layer given as a stream (the dask engine's layers in parts, whatever the region's
#: size) is written: GDAL's threaded bulk load of the R-tree holds about 35 bytes per feature until the
#: layer is done, the plain build about 20 (4 million buildings: 380 against 435 MB peak, 18.7 against
#: 16.6 s; benchmarks/README.md).
STREAMED = {"OGR_GPKG_ALLOW_THREADED_RTREE": "NO"}



def _write_layers(path: Path, layers: Mapping[str, pd.DataFrame | pa.RecordBatchReader], *, crs: str, progress: Progress | None) -> None:
    names = list(LAYERS)
    for number, name in enumerate(names):
        spec = LAYERS[name]
        kwargs: dict[str, object] = {}
        if number == 0:
            kwargs["dataset_options"] = {"VERSION": GPKG_VERSION}
        if spec.geometry_type is not None:
            kwargs["geometry_type"] = _OGR_TYPES.get(spec.geometry_type, spec.geometry_type)
            kwargs["geometry_name"] = "geom"
            kwargs["crs"] = crs
            kwargs["layer_options"] = {"SPATIAL_INDEX": "YES", "DESCRIPTION": spec.description}
        else:
            kwargs["layer_options"] = {"DESCRIPTION": spec.description}
        value = layers.get(name, pd.DataFrame())
        streamed = isinstance(value, pa.RecordBatchReader)
        stream = value if streamed else arrow_stream(value, name, crs)
        with gdal_options(STREAMED if streamed else {}):
            pyogrio.write_arrow(stream, path, layer=name, driver="GPKG", **kwargs)
        if progress:
            progress("write", number + 1, len(names))


#: Rows converted to Arrow at a time while writing: the whole layer is never held twice in memory.
WRITE_CHUNK = 100_000


def arrow_stream(frame: pd.DataFrame, layer: str, crs: str, *, chunk: int | None = None) -> pa.RecordBatchReader:
    """The rows of `frame` in the schema of `layer`, as a stream of Arrow batches (geometry as WKB in ``geom``).

    Each batch of `chunk` rows (default :data:`WRITE_CHUNK`) is conformed (:func:`twin.model.conform`)
    and converted when GDAL asks for it; the first one at once, as its types make the stream's schema.
    """
    spec = LAYERS[layer].with_columns(frame.columns)
    size = chunk or WRITE_CHUNK

    def table(part: pd.DataFrame) -> pa.Table:
        conformed = conform(part, spec, crs)
        if spec.geometry_type is None:
            return pa.Table.from_pandas(conformed, preserve_index=False)
        assert isinstance(conformed, gpd.GeoDataFrame)
        plain = pd.DataFrame(conformed.drop(columns=conformed.geometry.name))
        plain["geom"] = shapely.to_wkb(conformed.geometry.to_numpy())
        return pa.Table.from_pandas(plain, preserve_index=False)

    first = table(frame.iloc[:size]) if len(frame) else None
    key = (layer, tuple(spec.columns))
    schema = _SCHEMAS.get(key)
    if schema is None:  # from the first batch: an empty frame of the layer costs more to make than to convert
        schema = (first if first is not None else table(frame.iloc[:0])).schema
        if "geom" in schema.names:
            schema = schema.set(schema.get_field_index("geom"), pa.field("geom", pa.binary()))
        _SCHEMAS[key] = schema

    def batches() -> Iterator[pa.RecordBatch]:
        if first is None:
            return
        yield from first.cast(schema).to_batches()
        for start in range(size, len(frame), size):
            yield from table(frame.iloc[start:start + size]).cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


#: Arrow schema of every layer, made once per process (it depends on the layer and its family columns only).
_SCHEMAS: dict[tuple[str, tuple[str, ...]], pa.Schema] = {}


def finalise(
    path: Path, *, lineage: Mapping[str, object] | None = None, published_name: str | None = None,
    synchronous: bool = True, language: str = "de",
) -> None:
    """Make the written file ready for QGIS; may be called again on a published copy.

    Sets rollback-journal mode, writes the documentation tables
    (:mod:`twin.publish.documentation`), the default styles
    (:mod:`twin.publish.styles`) and the stored QGIS project
    (:mod:`twin.publish.qgis_project`). Without `synchronous`, SQLite does not
    flush the file at the commit: for a new file that is flushed before it is published.
    """
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA journal_mode=DELETE")
        if not synchronous:
            con.execute("PRAGMA synchronous=OFF")
        write_documentation(con, lineage=lineage, language=language)
        write_styles(con, language=language)
        write_project(path, con, published_name=published_name, language=language)
    con.close()


def append_rows(con: sqlite3.Connection, layer: str, rows: pd.DataFrame) -> None:
    """Append `rows` to the attribute table `layer` (no geometry) of an open GeoPackage with plain SQL.

    Values are stored as GDAL stores them: date-times as ISO 8601 text in UTC
    with milliseconds and ``Z``, missing values as NULL. Opening the file
    through GDAL to add one row to a large model costs about a second; this
    costs a few milliseconds.
    """
    spec = LAYERS[layer]
    if spec.geometry_type is not None:
        raise ValueError(f"{layer} has a geometry; write it with write_geopackage")
    frame = conform(rows, spec)
    names = [f.name for f in spec.fields]
    columns: list[list[object]] = []
    for field in spec.fields:
        values = frame[field.name]
        if field.dtype == "datetime":
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
            columns.append([None if pd.isna(v) else t for v, t in zip(values, text, strict=True)])
        else:
            columns.append([None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in values])
    placeholders = ", ".join("?" * len(names))
    quoted = ", ".join(f'"{n}"' for n in names)
    con.executemany(f'INSERT INTO "{layer}" ({quoted}) VALUES ({placeholders})', list(zip(*columns, strict=True)))
