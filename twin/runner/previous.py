"""The previously published model, as the runner reads it to find what changed.

The comparison itself is pure (:mod:`twin.transforms.changes`, field by field
:mod:`twin.transforms.history`); reading the old model a chunk at a time, its
removed and modified features back by fid, and its history, is I/O and belongs
here, with the runner, which owns the previous model.
"""

from __future__ import annotations

import datetime as dt
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
from twin.transforms.history import feature_history, field_changes

__all__ = ["published_changes", "published_differences", "published_history"]


def published_changes(
    path: Path, current: Mapping[str, pd.DataFrame], *, run_id: str, crs: str, layers: tuple[str, ...] = CHANGE_LAYERS,
) -> gpd.GeoDataFrame:
    """:func:`feature_changes` against the model published at `path`, read a chunk at a time.

    Only the fingerprints of the old features are held (id, two hashes, fid); the geometries of
    removed features are read back by fid. Memory stays near that of the new model.
    """
    return _compare(path, current, run_id=run_id, crs=crs, layers=layers, run_at=None)[0]


def published_differences(
    path: Path, current: Mapping[str, pd.DataFrame], *, run_id: str, run_at: dt.datetime, crs: str,
    layers: tuple[str, ...] = CHANGE_LAYERS,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The ``changes`` layer as :func:`published_changes` finds it, and the run's ``history`` rows: its
    added and removed features and, per modified feature, each changed field with old and new value
    (the old rows of modified features are read back by fid)."""
    found, history = _compare(path, current, run_id=run_id, crs=crs, layers=layers, run_at=run_at)
    assert history is not None
    return found, history


def published_history(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``history`` layer of the model at `path` (empty when the model was written before it had one),
    and apart its rows whose ``run_at`` is not a readable time (edited by hand), which cannot be kept by age."""
    names = {str(name) for name, _ in pyogrio.list_layers(path)}
    if "history" not in names:
        return empty_frame("history", None), empty_frame("history", None)
    raw = pyogrio.read_dataframe(path, layer="history", read_geometry=False, use_arrow=True, datetime_as_string=True)
    run_at = pd.to_datetime(raw["run_at"], utc=True, errors="coerce", format="ISO8601")
    dated = run_at.notna().to_numpy()
    return (conform(raw.loc[dated].assign(run_at=run_at[dated]), "history"),
            conform(raw.loc[~dated].assign(run_at=pd.NaT), "history"))


def _compare(
    path: Path, current: Mapping[str, pd.DataFrame], *, run_id: str, crs: str, layers: tuple[str, ...],
    run_at: dt.datetime | None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None]:
    parts, fields = [], []
    for name in layers:
        new = current.get(name, empty_frame(name, crs))
        before = _file_fingerprints(path, name, crs)
        new_shapes: Callable[[np.ndarray], np.ndarray]
        if isinstance(new, PartedLayer):  # the dask engine's buildings, read from their parts a row group at a time
            after, new_shapes = new.fingerprints(), new.shapes
        else:
            after, new_shapes = fingerprints(new, name, crs), shapes_of(new)
        found = compare_fingerprints(
            before, after, layer=name, run_id=run_id, crs=crs,
            old_shapes=partial(_read_shapes, path, name), new_shapes=new_shapes,
        )
        parts.append(found)
        if run_at is not None:
            fields.append(_modified_fields(path, name, new, before, after, found, run_id=run_id, run_at=run_at, crs=crs))
    found = conform(pd.concat(parts, ignore_index=True), "changes", crs) if parts else empty_frame("changes", crs)
    return found, None if run_at is None else feature_history(found, fields, run_at=run_at)


def _modified_fields(
    path: Path, layer: str, new: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame, found: pd.DataFrame,
    *, run_id: str, run_at: dt.datetime, crs: str,
) -> pd.DataFrame:
    """History rows of the modified features of `layer`: the old rows read back by fid, the new ones by position."""
    key = layer_key(layer)
    ids = found.loc[(found["change"] == "modified").to_numpy(), "feature_id"].astype(str)
    if not len(ids):
        return empty_frame("history", None)
    fids = before.set_index(key)["row"].reindex(ids).to_numpy(dtype="int64")
    rows = after.set_index(key)["row"].reindex(ids).to_numpy(dtype="int64")
    old = pyogrio.read_dataframe(path, layer=layer, fids=np.unique(fids), use_arrow=True, fid_as_index=True)
    changed = new.take(rows) if isinstance(new, PartedLayer) else new.iloc[rows]
    return field_changes(old.loc[fids], changed, layer=layer, run_id=run_id, run_at=run_at, crs=crs)


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
