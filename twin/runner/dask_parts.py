"""What the dask engine's workers do with one partition (a spatial window) of the buildings.

Each function runs on a worker and calls the same stage functions as the local
engine (:mod:`twin.runner.stages`); the client sees only what they return
(small summaries), except the frames it leaves on the workers between steps.

Between the steps a partition waits on disk, in the folder of the run's parts
beside the output (pickled frames, removed with the parts), not in a worker's
memory: a worker holds one partition at a time, whatever the size of the region.

A window has a *core* (half-open: ``xmin <= x < xmax``, the outer edges of the
region open to infinity) and a larger *read* box (the core grown by the halo).
The worker reads every footprint that meets the read box, so a footprint and
all footprints it could duplicate are read together; it keeps a footprint
when the core holds its representative point (``point_on_surface``), so one
partition and only one decides it, and each QA row when the core holds its
point.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin.config import BuildingsConfig, ExtraBuildingsConfig, Pipeline
from twin.model import empty_frame
from twin.model.qa import concat_issues
from twin.runner.parted import PartedLayer, write_part
from twin.runner.stages import finished_buildings, link_buildings, link_sites, merged_buildings, panoramas_stage
from twin.sources import BUILDING_READERS, reader_for
from twin.sources.vector import read_range

#: Column holding a footprint's place in the inputs (source number × 2⁴⁰ + FID) while it is on a worker.
ORDER = "_twin_order"

#: The order of the ``panorama_views`` rows, in each part and over the region (as the local engine's).
VIEWS_ORDER = ("building_id", "panorama_id")

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Window:
    """One partition: its number, its core (edges may be infinite), the box its worker reads and the number of
    footprints planned in it (counted by the first pass, see :mod:`twin.runner.windows`; -1: not counted)."""

    number: int
    core: Bounds
    read: Bounds
    count: int = -1


def bucket_range(pipeline: Pipeline, number: int, first: int, count: int, windows: list[Window],
                 folder: Path) -> dict[int, Path]:
    """Read features `first` .. `first + count` of footprint source `number` (0: ``[buildings]``) and file them
    by the windows whose read box they meet (a footprint without geometry: the first window).

    Every feature is read once, whatever the number of windows; returns the piece written for each window.
    """
    cfg = pipeline.buildings
    assert cfg is not None
    sources: list[BuildingsConfig | ExtraBuildingsConfig] = [cfg, *cfg.extra]
    source = sources[number]
    with read_range(first, count):
        frame = reader_for(BUILDING_READERS, source.format, "buildings")(source, target_crs=pipeline.city.crs)
    bounds = shapely.bounds(frame.geometry.to_numpy())
    absent = np.isnan(bounds).any(axis=1)
    pieces = {}
    for window in windows:
        xmin, ymin, xmax, ymax = window.read
        chosen = ((bounds[:, 2] >= xmin) & (bounds[:, 0] <= xmax) & (bounds[:, 3] >= ymin) & (bounds[:, 1] <= ymax))
        if window.number == 0:
            chosen |= absent
        if chosen.any():
            path = folder / f"piece-{window.number:05d}-{number:02d}-{first:012d}.pickle"
            _store(path, {"buildings": frame.loc[chosen]})
            pieces[window.number] = path
    return pieces


def clean_window(
    pipeline: Pipeline, area: BaseGeometry | None, window: Window, pieces: list[list[Path]], path: Path,
) -> dict[str, Any]:
    """Clean and merge the footprints of `window` (read from its `pieces`, by source), keep the core's at `path`.

    The ids are not yet unique. The sorted hashes of their ids go to a file beside `path`; returned are that
    file and the extent of the kept footprints.
    """
    def read(number: int) -> gpd.GeoDataFrame:
        frames = [_load(piece)["buildings"] for piece in pieces[number]]
        for piece in pieces[number]:
            piece.unlink()
        if not frames:
            return _empty_read(pipeline, number)
        return gpd.GeoDataFrame(pd.concat(frames), crs=frames[0].crs) if len(frames) > 1 else frames[0]

    merged, found = merged_buildings(pipeline, area, unique_ids=False, order=ORDER, reader=read)
    points = shapely.point_on_surface(merged.geometry.to_numpy())
    owned = merged.loc[_in_core(points, window.core)]
    issues = concat_issues(found, pipeline.city.crs)
    issues = issues.loc[_in_core(issues.geometry.to_numpy(), window.core, missing=True)]
    _store(path, {"buildings": owned, "qa_issues": issues})
    hashes = path.with_suffix(".hashes.npy")
    np.save(hashes, np.sort(id_hashes(owned["building_id"])))
    return {"hashes": hashes, "bounds": tuple(owned.total_bounds) if len(owned) else None}


def _empty_read(pipeline: Pipeline, number: int) -> gpd.GeoDataFrame:
    """No footprint of source `number` meets the window: read none of it (the reader's columns and types)."""
    cfg = pipeline.buildings
    assert cfg is not None
    sources: list[BuildingsConfig | ExtraBuildingsConfig] = [cfg, *cfg.extra]
    source = sources[number]
    with read_range(0, 1):
        return reader_for(BUILDING_READERS, source.format, "buildings")(source, target_crs=pipeline.city.crs).iloc[:0]


def id_hashes(ids: pd.Series) -> np.ndarray:
    """A 64-bit hash of each id (as text)."""
    return pd.util.hash_pandas_object(ids.astype("str"), index=False).to_numpy()


def repeated_hashes(files: list[Path], bucket: int, buckets: int) -> np.ndarray:
    """The id hashes of range `bucket` of `buckets` equal ranges of 64-bit values that occur more than once
    in all the sorted hash `files` together: each worker holds about one partition's hashes, whatever the region."""
    step = 2**64 // buckets
    low, high = bucket * step, None if bucket == buckets - 1 else (bucket + 1) * step
    pieces = []
    for file in files:
        hashes = np.load(file, mmap_mode="r")
        start = int(np.searchsorted(hashes, np.uint64(low), side="left"))
        stop = len(hashes) if high is None else int(np.searchsorted(hashes, np.uint64(high), side="left"))
        pieces.append(np.array(hashes[start:stop]))
    values, counts = np.unique(np.concatenate(pieces) if pieces else np.array([], dtype="uint64"), return_counts=True)
    return values[counts > 1]


def hashes_present(files: list[Path], wanted: np.ndarray) -> np.ndarray:
    """Those of the hashes `wanted` that occur in any of the sorted hash `files`."""
    wanted = np.asarray(wanted, dtype="uint64")
    found = np.zeros(len(wanted), dtype=bool)
    for file in files:
        hashes = np.load(file, mmap_mode="r")
        if not len(hashes):
            continue
        at = np.minimum(np.searchsorted(hashes, wanted), len(hashes) - 1)
        found |= np.asarray(hashes[at]) == wanted
    return wanted[found]


def rows_with_hashes(path: Path, hashes: np.ndarray) -> gpd.GeoDataFrame:
    """The footprints of a cleaned partition whose id hash is in `hashes` (id, place, geometry)."""
    buildings = _load(path)["buildings"]
    chosen = np.isin(id_hashes(buildings["building_id"]), hashes)
    return buildings.loc[chosen, ["building_id", ORDER, buildings.geometry.name]]


def finish_window(
    pipeline: Pipeline, path: Path, renamed: dict[int, str], nodes: gpd.GeoDataFrame, done: Path,
) -> gpd.GeoDataFrame:
    """Give the partition's footprints their unique ids, heights and text checks (:func:`finished_buildings`).

    The result goes to `done`; returned are the buildings the sites in `nodes` near it would link to.
    """
    part = _load(path)
    path.unlink()
    merged = part["buildings"]
    order = merged[ORDER].to_numpy(dtype="int64")
    if renamed:
        new = pd.Series(order).map(renamed)
        merged = merged.assign(building_id=np.where(new.notna(), new, merged["building_id"].astype("str")))
    finished = finished_buildings(pipeline, merged, [part["qa_issues"]])
    del part, merged
    buildings = finished["buildings"]
    buildings[ORDER] = order  # conform keeps the rows in their order
    _store(done, finished)
    if pipeline.fibre is None or not len(buildings) or not len(nodes):
        return buildings.iloc[:0]
    near = within_box(nodes, buildings.total_bounds, pipeline.fibre.connection_distance_m)
    linked, _, _ = link_sites(pipeline, nodes.loc[near], buildings.drop(columns=ORDER))
    return buildings.loc[buildings["building_id"].isin(linked["building_id"].dropna())]


def panorama_parts(pipeline: Pipeline, area: BaseGeometry | None, folder: Path) -> dict[str, Any]:
    """The panorama stage (:func:`panoramas_stage`) with each of its layers written to a part in `folder`:
    a :class:`PartedLayer` per layer, and the QA rows."""
    crs = pipeline.city.crs
    produced = panoramas_stage(pipeline, area)
    out: dict[str, Any] = {"qa_issues": produced.pop("qa_issues", empty_frame("qa_issues", crs))}
    for name, frame in produced.items():
        part = folder / f"{name}.parquet"
        out[name] = PartedLayer(name, crs, folder, (part,), (write_part(frame, name, crs, part),))
    return out


def near_panoramas(pipeline: Pipeline, panoramas: PartedLayer, extent: tuple[float, ...] | None) -> gpd.GeoDataFrame:
    """The panoramas the buildings in `extent` may see (the halo), read from their parts a row group at a time;
    the first panorama where none is near (the same zero counts, typed as everywhere else)."""
    view = pipeline.panoramas
    kept, first = [], None
    for frame in panoramas.frames():
        if first is None:
            first = frame.iloc[:1]
        if view is None or extent is None:
            break
        near = within_box(frame, np.asarray(extent), view.view_distance_m)
        if near.any():
            kept.append(frame.loc[near])
    if first is None:
        return empty_frame("panoramas", pipeline.city.crs)
    if view is None or extent is None:
        return first.iloc[:0]
    return gpd.GeoDataFrame(pd.concat(kept), crs=first.crs) if kept else first


def link_and_write(
    path: Path, routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, panoramas: gpd.GeoDataFrame | PartedLayer,
    extent: tuple[float, ...] | None, pipeline: Pipeline, part: Path, views_part: Path,
) -> dict[str, Any]:
    """Link the partition's buildings (:func:`link_buildings`) and write them to `part`, their ``panorama_views``
    rows (by building, then panorama) to `views_part`; the counts of both and the QA rows.

    `panoramas` are those near the partition (at least one: the counts are then zeros typed as everywhere), or
    all in parts (those near the partition's `extent` are read from them).
    """
    if isinstance(panoramas, PartedLayer):
        panoramas = near_panoramas(pipeline, panoramas, extent)
    finished = _load(path)
    path.unlink()
    buildings = finished["buildings"].drop(columns=ORDER)
    linked, views = link_buildings(pipeline, buildings, routes, nodes, panoramas)
    del buildings
    rows = write_part(linked, "buildings", pipeline.city.crs, part)
    del linked
    views = views.sort_values(list(VIEWS_ORDER), kind="stable", ignore_index=True)
    view_rows = write_part(views, "panorama_views", pipeline.city.crs, views_part)
    return {"rows": rows, "view_rows": view_rows, "qa_issues": finished["qa_issues"]}


def _store(path: Path, value: dict[str, Any]) -> None:
    with path.open("wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        value: dict[str, Any] = pickle.load(handle)  # written by this run's own workers
    return value


def within_box(frame: gpd.GeoDataFrame, bounds: np.ndarray, halo: float) -> np.ndarray:
    """Rows of `frame` whose bounding box comes within `halo` of `bounds` (a conservative halo)."""
    b = frame.geometry.bounds.to_numpy()
    xmin, ymin, xmax, ymax = bounds
    return np.asarray(
        (b[:, 2] >= xmin - halo) & (b[:, 0] <= xmax + halo) & (b[:, 3] >= ymin - halo) & (b[:, 1] <= ymax + halo)
    )


def _in_core(points: np.ndarray, core: Bounds, *, missing: bool = False) -> np.ndarray:
    """Which points lie in the half-open core; points that are missing or empty count as `missing`."""
    absent = shapely.is_missing(points) | shapely.is_empty(points)
    x = np.full(len(points), np.nan)
    y = np.full(len(points), np.nan)
    if (~absent).any():
        x[~absent] = shapely.get_x(points[~absent])
        y[~absent] = shapely.get_y(points[~absent])
    xmin, ymin, xmax, ymax = core
    inside = (x >= xmin) & (x < xmax) & (y >= ymin) & (y < ymax)
    return np.where(absent, missing, inside)
