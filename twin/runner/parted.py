"""A layer kept as GeoParquet parts on disk, as the dask engine's workers write it.

The client of a dask run never holds the buildings of the region: each worker
writes its partition's rows (already in the layer's schema, geometry as WKB in
``geom``) to one part, and the GeoPackage is assembled from the parts as a
stream of Arrow batches (:meth:`PartedLayer.arrow_stream`), one row group at a
time, decoded in one thread (each decoding thread's memory pool would keep its
own peak).

A table without geometry (``panorama_views``) is kept the same way. When its
rows must follow one order over the whole region (by building, then
panorama) while each worker wrote its partition's rows in that order, the
parts are merged as they are streamed (:attr:`PartedLayer.order`): a row group
of each part at a time, never the whole table.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyproj
import shapely

from twin.model import conform, empty_frame
from twin.model.layers import LAYERS
from twin.publish.geopackage import arrow_stream, write_geopackage
from twin.transforms.changes import fingerprints

__all__ = ["PartedLayer", "Writer", "write_model", "write_part"]

#: Rows per row group of a part: the unit the client streams.
ROW_GROUP = 25_000
#: Rows held in hand while the parts of a layer in order are merged (a slice of each part).
MERGE_ROWS = 100_000
#: Rows of the smallest slice read from one part while merging.
MIN_SLICE = 1_000


def write_part(frame: pd.DataFrame, layer: str, crs: str, path: Path) -> int:
    """Write `frame` in the schema of `layer` as one GeoParquet file (WKB in ``geom``; a table without geometry
    as plain Parquet); return its rows."""
    stream = arrow_stream(frame, layer, crs, chunk=ROW_GROUP)
    schema = stream.schema
    if LAYERS[layer].geometry_type is not None:
        geo = {"version": "1.0.0", "primary_column": "geom", "columns": {"geom": {
            "encoding": "WKB", "geometry_types": [], "crs": json.loads(pyproj.CRS.from_user_input(crs).to_json())}}}
        schema = schema.with_metadata({b"geo": json.dumps(geo).encode()})
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in stream:
            writer.write_batch(batch, row_group_size=ROW_GROUP)
            rows += batch.num_rows
    return rows


@dataclass(frozen=True)
class PartedLayer:
    """The rows of one layer in GeoParquet parts, in order; ``len()`` is the number of rows.

    With `order` (column names), each part holds its rows sorted by these columns and the layer's rows
    are all parts' rows merged in that order (ties: by part); else the parts' rows one part after another.
    """

    layer: str
    crs: str
    folder: Path
    paths: tuple[Path, ...]
    rows: tuple[int, ...]
    order: tuple[str, ...] = ()

    def __len__(self) -> int:
        return sum(self.rows)

    def arrow_stream(self) -> pa.RecordBatchReader:
        """Every row as Arrow batches in the layer's schema, one row group of one part at a time."""
        names = dict.fromkeys(name for path in self.paths for name in pq.read_schema(path).names if name != "geom")
        schema = arrow_stream(pd.DataFrame(columns=list(names)), self.layer, self.crs).schema  # with its family columns

        def batches() -> Iterator[pa.RecordBatch]:
            for path in self.paths:
                for table in _groups(path, schema):
                    yield from table.to_batches()

        if self.order and len(self.paths) > 1:
            return pa.RecordBatchReader.from_batches(schema, _merged(self.paths, schema, self.order))
        return pa.RecordBatchReader.from_batches(schema, batches())

    def frames(self) -> Iterator[gpd.GeoDataFrame]:
        """The rows as GeoDataFrames (a table without geometry: DataFrames), one row group at a time."""
        for batch in self.arrow_stream():
            table = pa.Table.from_batches([batch])
            if "geom" not in table.column_names:
                yield conform(table.to_pandas(), self.layer)
                continue
            plain = table.drop_columns(["geom"]).to_pandas()
            geoms = shapely.from_wkb(table.column("geom").to_numpy(zero_copy_only=False))
            yield gpd.GeoDataFrame(plain, geometry=gpd.GeoSeries(geoms, crs=self.crs), crs=self.crs)

    def map_frame(self, *, every: int, columns: tuple[str, ...] = ("fibre_status",)) -> gpd.GeoDataFrame:
        """Every `every`-th row (`columns` and geometry): what the report's overview map draws."""
        kept = []
        start = 0
        for path in self.paths:
            part = pq.ParquetFile(path)
            for group in range(part.num_row_groups):
                table = part.read_row_group(group, columns=[*columns, "geom"], use_threads=False)
                rows = np.arange(start, start + table.num_rows)
                take = np.flatnonzero(rows % every == 0)
                start += table.num_rows
                chosen = table.take(take)
                kept.append(gpd.GeoDataFrame(
                    {name: chosen.column(name).to_pandas() for name in columns},
                    geometry=gpd.GeoSeries(shapely.from_wkb(chosen.column("geom").to_numpy(zero_copy_only=False)),
                                           crs=self.crs), crs=self.crs))
        if not kept:
            return gpd.GeoDataFrame({name: [] for name in columns}, geometry=gpd.GeoSeries([], crs=self.crs),
                                    crs=self.crs)
        return gpd.GeoDataFrame(pd.concat(kept, ignore_index=True), crs=self.crs)

    def fingerprints(self) -> pd.DataFrame:
        """:func:`twin.transforms.changes.fingerprints` of every row, read a row group at a time."""
        parts = []
        start = 0
        for frame in self.frames():
            parts.append(fingerprints(frame, self.layer, self.crs,
                                      rows=np.arange(start, start + len(frame), dtype="int64")))
            start += len(frame)
        if not parts:
            return fingerprints(pd.DataFrame(), self.layer, self.crs)
        return pd.concat(parts, ignore_index=True).drop_duplicates(subset=parts[0].columns[0], keep="first")

    def shapes(self, rows: np.ndarray) -> np.ndarray:
        """Geometries of the rows `rows` (positions over all parts), in the order of `rows`."""
        wanted = np.asarray(rows, dtype="int64")
        out = np.full(len(wanted), None, dtype=object)
        start = 0
        for frame in self.frames():
            inside = (wanted >= start) & (wanted < start + len(frame))
            if inside.any():
                out[inside] = frame.geometry.to_numpy()[wanted[inside] - start]
            start += len(frame)
        return out

    def take(self, rows: np.ndarray) -> gpd.GeoDataFrame:
        """The rows `rows` (positions over all parts), in the order of `rows`."""
        wanted = np.asarray(rows, dtype="int64")
        pieces, positions = [], []
        start = 0
        for frame in self.frames():
            inside = np.flatnonzero((wanted >= start) & (wanted < start + len(frame)))
            if len(inside):
                pieces.append(frame.iloc[wanted[inside] - start])
                positions.append(inside)
            start += len(frame)
        if not pieces:
            return empty_frame(self.layer, self.crs)
        found = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=self.crs)
        return found.iloc[np.argsort(np.concatenate(positions), kind="stable")].reset_index(drop=True)

    def times(self, column: str, key: str, *, after: pd.Timestamp) -> gpd.GeoDataFrame:
        """Every row's time `column`, with its `key` and geometry only where the time is after `after` (missing
        elsewhere): what a check of the times needs, in a fraction of the layer's memory."""
        times, ids, shapes = [], [], []
        for path in self.paths:
            part = pq.ParquetFile(path)
            for group in range(part.num_row_groups):
                found = pd.to_datetime(part.read_row_group(group, columns=[column], use_threads=False).column(column).to_pandas(),
                                       utc=True)
                late = np.flatnonzero((found > after).to_numpy())
                key_values = np.full(len(found), None, dtype=object)
                geometries = np.full(len(found), None, dtype=object)
                if len(late):
                    rows = part.read_row_group(group, columns=[key, "geom"], use_threads=False).take(late)
                    key_values[late] = rows.column(key).to_numpy(zero_copy_only=False)
                    geometries[late] = shapely.from_wkb(rows.column("geom").to_numpy(zero_copy_only=False))
                times.append(found)
                ids.append(key_values)
                shapes.append(geometries)
        if not times:
            return empty_frame(self.layer, self.crs)
        return gpd.GeoDataFrame({column: pd.concat(times, ignore_index=True), key: np.concatenate(ids)},
                                geometry=gpd.GeoSeries(np.concatenate(shapes), crs=self.crs), crs=self.crs)

    def discard(self) -> None:
        """Remove the folder of the parts."""
        shutil.rmtree(self.folder, ignore_errors=True)


class Writer(Protocol):
    """Writes the model's layers into a new GeoPackage at `path`: :func:`write_model` in this process, or the
    dask engine's writer on a worker (:func:`twin.runner.dask_engine.remote_writer`)."""

    def __call__(self, path: Path, layers: Mapping[str, pd.DataFrame | PartedLayer], *, crs: str,
                 progress: Callable[[str, int, int], None] | None, lineage: Mapping[str, object],
                 published_name: str, language: str) -> None: ...


def write_model(path: Path, layers: Mapping[str, pd.DataFrame | PartedLayer], *, crs: str,
                progress: Callable[[str, int, int], None] | None = None, lineage: Mapping[str, object] | None = None,
                published_name: str | None = None, language: str = "de") -> None:
    """:func:`~twin.publish.geopackage.write_geopackage` of `layers`, each layer in parts streamed from its parts
    (opened here, where the file is written)."""
    streams = {name: value.arrow_stream() if isinstance(value, PartedLayer) else value for name, value in layers.items()}
    write_geopackage(path, streams, crs=crs, progress=progress, lineage=lineage, published_name=published_name,
                     language=language)


def _groups(path: Path, schema: pa.Schema) -> Iterator[pa.Table]:
    """The row groups of one part, each in `schema`."""
    part = pq.ParquetFile(path)
    for group in range(part.num_row_groups):
        yield part.read_row_group(group, use_threads=False).replace_schema_metadata(None).cast(schema)


def _slices(path: Path, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """The rows of one part in slices of `rows`, each in `schema`."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, use_threads=False):
        yield pa.Table.from_batches([batch]).replace_schema_metadata(None).cast(schema)


def _merged(paths: tuple[Path, ...], schema: pa.Schema, order: tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    """The rows of parts each sorted by `order`, merged into one sorted stream a slice per part at a time.

    Every round reads a slice where a part has none left in hand, and passes on every row in hand up to
    the smallest of the last keys in hand of the parts not yet read to the end: no row still unread sorts before it.
    The slices are cut so that about :data:`MERGE_ROWS` rows are in hand, however many parts there are.
    """
    rows = max(MIN_SLICE, MERGE_ROWS // max(1, len(paths)))
    sources = [_slices(path, schema, rows) for path in paths]
    held = [schema.empty_table() for _ in paths]
    unread = [True] * len(paths)
    keys = [(name, "ascending") for name in order]
    while True:
        for number, source in enumerate(sources):
            while unread[number] and held[number].num_rows == 0:
                table = next(source, None)
                if table is None:
                    unread[number] = False
                else:
                    held[number] = table
        waiting = [number for number in range(len(paths)) if unread[number]]
        if not waiting and not any(table.num_rows for table in held):
            return
        chosen, first, bound = [], -1, ()
        if waiting:
            lasts = {number: tuple(held[number].column(name)[-1].as_py() for name in order) for number in waiting}
            first = min(waiting, key=lambda number: tuple((v is None, v) for v in lasts[number]))
            bound = lasts[first]
        for number, table in enumerate(held):
            if not waiting or number == first:  # all in hand; the part holding the bound: all its rows (progress)
                take = pa.array(np.ones(table.num_rows, dtype=bool))
            else:
                take = pc.fill_null(_up_to(table, order, bound), False)
            chosen.append(table.filter(take))
            held[number] = table.filter(pc.invert(take))
        yield from pa.concat_tables(chosen).sort_by(keys).to_batches()


def _up_to(table: pa.Table, order: tuple[str, ...], bound: tuple[object, ...]) -> pa.ChunkedArray:
    """Which rows of `table` sort at or before `bound` by the columns `order` (lexicographically)."""
    column, value = table.column(order[-1]), bound[-1]  # a missing value sorts last
    result = pc.less_equal(column, value) if value is not None else pa.array(np.ones(table.num_rows, dtype=bool))
    for name, value in zip(order[-2::-1], bound[-2::-1], strict=True):
        column = table.column(name)
        if value is None:
            result = pc.or_kleene(pc.is_valid(column), pc.and_kleene(pc.is_null(column), result))
        else:
            result = pc.or_kleene(pc.less(column, value), pc.and_kleene(pc.equal(column, value), result))
    return result
