"""The previously published model, as the runner reads it to find what changed.

The comparison itself is pure (:mod:`twin.transforms.changes`); reading the
old model a chunk at a time, and its removed features back by fid, is I/O and
belongs here, with the runner, which owns the previous model.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from twin.model import conform, empty_frame
from twin.runner.parted import PartedLayer
from twin.transforms import changes
from twin.transforms.changes import CHANGE_LAYERS, compare_fingerprints, fingerprints, layer_key, shapes_of

__all__ = ["published_changes"]


def published_changes(
    path: Path, current: Mapping[str, pd.DataFrame], *, run_id: str, crs: str, layers: tuple[str, ...] = CHANGE_LAYERS,
) -> gpd.GeoDataFrame:
    """:func:`feature_changes` against the model published at `path`, read a chunk at a time.

    Only the fingerprints of the old features are held (id, two hashes, fid); the geometries of
    removed features are read back by fid. Memory stays near that of the new model.
    """
    parts = []
    for name in layers:
        new = current.get(name, empty_frame(name, crs))
        before = _file_fingerprints(path, name, crs)
        new_shapes: Callable[[np.ndarray], np.ndarray]
        if isinstance(new, PartedLayer):  # the dask engine's buildings, read from their parts a row group at a time
            after, new_shapes = new.fingerprints(), new.shapes
        else:
            after, new_shapes = fingerprints(new, name, crs), shapes_of(new)
        parts.append(compare_fingerprints(
            before, after, layer=name, run_id=run_id, crs=crs,
            old_shapes=partial(_read_shapes, path, name), new_shapes=new_shapes,
        ))
    return conform(pd.concat(parts, ignore_index=True), "changes", crs) if parts else empty_frame("changes", crs)


def _file_fingerprints(path: Path, layer: str, crs: str) -> pd.DataFrame:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        low, high = con.execute(f'SELECT min(fid), max(fid) FROM "{layer}"').fetchone()
    con.close()
    parts = []
    if low is not None:
        for start in range(int(low), int(high) + 1, changes.CHUNK):
            chunk = pyogrio.read_dataframe(path, layer=layer, use_arrow=True, fid_as_index=True,
                                           where=f"fid >= {start} AND fid < {start + changes.CHUNK}")
            parts.append(fingerprints(chunk, layer, crs, rows=chunk.index.to_numpy(dtype="int64")))
    if not parts:
        return fingerprints(empty_frame(layer, crs), layer, crs)
    return pd.concat(parts, ignore_index=True).drop_duplicates(subset=layer_key(layer), keep="first")


def _read_shapes(path: Path, layer: str, fids: np.ndarray) -> np.ndarray:
    """Geometries of the features `fids` of a published layer, in the order of `fids`."""
    found = pyogrio.read_dataframe(path, layer=layer, fids=np.unique(fids), use_arrow=True, fid_as_index=True,
                                   columns=[])
    return np.asarray(found.geometry.reindex(fids).to_numpy(), dtype=object)
