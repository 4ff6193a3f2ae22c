"""The dask engine: every stage of a run on the workers of a dask cluster, the client plans and gathers summaries.

The client reads the headers of the footprint files; the workers count the
footprints' boxes on a fine grid over the region, a range of
``partition_size`` features each (geometry boxes only), and the client cuts
the region where the footprints are into spatial windows of at most about
``partition_size`` footprints (:mod:`twin.runner.windows`,
:class:`twin.runner.dask_parts.Window`). The workers then

0. read every footprint file once, in ranges of ``partition_size`` features,
   and file each footprint by the windows whose box grown by the halo it meets;

and, per window, call the same stage functions as the local engine
(:mod:`twin.runner.stages`):

1. clean and merge the window's footprints
   (:func:`~twin.runner.stages.merged_buildings`) and keep those whose
   representative point lies in the window: a footprint on an edge is decided
   once, by one partition, with all its possible duplicates at hand;
2. the workers find the ids that repeat over the region from one 64-bit hash
   per id (each worker one range of hash values), and the client renames them
   as :func:`twin.transforms.buildings.unique_building_ids` does over the whole
   region (it fetches only the footprints whose ids repeat);
3. heights and text checks (:func:`~twin.runner.stages.finished_buildings`);
4. the building each site serves: each partition names its candidates near the
   sites, the client links the sites to the candidates
   (:func:`~twin.runner.stages.link_sites`; the nearest of the candidates is
   the nearest of all buildings);
5. fibre status and panoramas in view (:func:`~twin.runner.stages.link_buildings`)
   with the routes whole and the panoramas near the partition, and the
   partition's buildings written as one GeoParquet part beside the output,
   its ``panorama_views`` rows as another (sorted by building, then panorama;
   the parts are merged in that order as they are streamed).

The panorama and fibre stages run as one task each on a worker. The worker of
the panorama stage writes its layers (panoramas, capture tracks and coverage,
street coverage) as parts too; the client holds the fibre layers (routes,
nodes) and the QA rows, but never the buildings, the panorama views or the
capture layers: :class:`twin.runner.parted.PartedLayer` streams the parts into
the GeoPackage as Arrow batches. The published features equal
the local engine's.

Against a scheduler (not the cluster in this process), the new GeoPackage is
written by one worker too (:func:`remote_writer`): the one with the least
memory in use once every worker has given back what it freed. It opens the
parts itself; the client sends the parts' names and the small layers it
holds, then checks and publishes the file as after a write of its own.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin import parallel
from twin.config import BuildingsConfig, ExtraBuildingsConfig, Pipeline
from twin.errors import ConfigError, SourceError
from twin.model import empty_frame
from twin.model.qa import concat_issues
from twin.runner import dask_parts as dp
from twin.runner.parted import PartedLayer, Writer, write_model
from twin.runner.placement import check_placement
from twin.runner.stages import STAGES, Layers, Progress, StageRunner, link_sites, read_boundary_issues
from twin.runner.windows import (
    Density,
    centre_extent,
    count_footprints,
    cut_windows,
    footprint_sources,
    grid_shape,
    source_layer,
)
from twin.sources.vector import layer_extent
from twin.transforms.buildings import unique_building_ids

__all__ = ["ENGINES", "HALO_M", "PARTITION_SIZE", "check_scheduler", "dask_build", "engine_cleanup",
           "footprint_density", "plan_windows", "remote_writer"]

log = logging.getLogger(__name__)

#: The engines a run can use.
ENGINES = ("local", "dask")
#: Buildings per partition (about 300 MB of working memory each on a worker).
PARTITION_SIZE = 250_000
#: Metres read around each window: a footprint and every footprint it could duplicate are read together.
HALO_M = 500.0


def dask_build(
    pipeline: Pipeline, *, progress: Progress | None = None, run_stage: StageRunner | None = None,
    scheduler: str | None = None, client: Any = None, partition_size: int = PARTITION_SIZE, halo_m: float = HALO_M,
) -> Layers:
    """Build the model's layers like :func:`twin.runner.stages.build_layers`, every stage on dask workers.

    Parameters
    ----------
    pipeline
        The pipeline of the run.
    progress, run_stage
        As for :func:`~twin.runner.stages.build_layers` (the panorama and fibre stages keep their stored results).
    scheduler
        Address of a ``dask.distributed`` scheduler (``tcp://host:8786``); a cluster in this process when None.
    client
        A ``dask.distributed.Client`` to use instead of `scheduler`.
    partition_size
        Buildings per partition.
    halo_m
        Metres each partition reads around its window: at least the size of the largest footprint.

    Returns
    -------
    Layers
        The layers; ``buildings`` and ``panorama_views`` are :class:`~twin.runner.parted.PartedLayer`
        (parts beside the output, removed with :meth:`~twin.runner.parted.PartedLayer.discard`).
    """
    with _client(scheduler, client) as connected:
        return _Build(pipeline, connected, (partition_size, halo_m), progress).layers(run_stage)


@contextlib.contextmanager
def _client(scheduler: str | None, client: Any) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    if scheduler is not None:
        own = _connect(scheduler)
        try:
            yield own
        finally:
            own.close()
        return
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=parallel.threads(), processes=False,  # type: ignore[no-untyped-call]
                      dashboard_address=":0") as cluster, Client(cluster) as own:  # type: ignore[no-untyped-call]
        yield own


def check_scheduler(scheduler: str) -> None:
    """Refuse a scheduler address that is no address (``tcp://host:8786`` or ``host:8786``), before any work."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        parse_host_port(parse_address(scheduler)[1])
    except ValueError as exc:
        raise ConfigError(f"--scheduler {scheduler}", f"is no scheduler address ({exc})",
                          fix="give it as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786") from exc


def _connect(scheduler: str) -> Any:
    from distributed import Client

    try:
        return Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"--scheduler {scheduler}", f"no dask scheduler answers ({exc})",
                          fix="start one with `dask scheduler` and workers, or run without --scheduler") from exc


def remote_writer(scheduler: str) -> Writer:
    """A :class:`~twin.runner.parted.Writer` that writes the GeoPackage as one task on a worker of the cluster
    at `scheduler` (:func:`write_on_worker`)."""
    return partial(write_on_worker, scheduler=scheduler)


def write_on_worker(
    path: Path, layers: Mapping[str, pd.DataFrame | PartedLayer], *, scheduler: str,
    progress: Progress | None = None, **options: Any,
) -> None:
    """:func:`~twin.runner.parted.write_model` of `layers` at `path` (`options` as it takes them), on one worker.

    Every worker first gives back the memory it has freed; the one with the least memory in use then writes,
    opening the parts of the layers in parts itself. An error of the write comes back as raised on the worker
    (the same class, place and fix); `progress` hears of the write as one step.
    """
    with _client(scheduler, None) as client:
        in_use: dict[str, int] = client.run(_memory_in_use)
        chosen = min(in_use, key=lambda address: in_use[address])
        if progress:
            progress("write", 0, 1)
        clock = time.monotonic()
        future = client.submit(_write_here, path, dict(layers), options, workers=[chosen], allow_other_workers=True,
                               pure=False)
        written = future.result()
    log.info("dask engine: %s written by the worker %s (process %d; %.0f MB in use before) in %.1f s", path.name,
             written["worker"], written["pid"], in_use.get(written["worker"], math.nan) / 2**20, time.monotonic() - clock,
             extra={"event": "written", "worker": written["worker"], "pid": written["pid"]})
    if progress:
        progress("write", 1, 1)


def _memory_in_use() -> int:
    """Bytes resident in this worker's process once it has given back the memory it freed."""
    import psutil

    parallel.release_memory()
    return int(psutil.Process().memory_info().rss)


def _write_here(path: Path, layers: Mapping[str, pd.DataFrame | PartedLayer], options: dict[str, Any]) -> dict[str, Any]:
    """On a worker: write the GeoPackage; the worker's address and process id."""
    from distributed import get_worker

    # a worker that died while writing leaves part of the file, and dask gives the task to another worker:
    # the file is this run's own temporary (its name holds the client's process id, under the run's lock)
    path.unlink(missing_ok=True)
    try:
        write_model(path, layers, **options)
    except Exception as exc:
        # dask sends an error back with the errors it was raised from, or else as a plain Exception: GDAL's own
        # (pyogrio._err, met while writing) do not unpickle, and the run would not know a full or read-only disk
        exc.__cause__ = exc.__context__ = None
        raise
    finally:
        parallel.release_memory()
    return {"worker": get_worker().address, "pid": os.getpid()}


class _Build:
    """One dask build: the client's side."""

    def __init__(self, pipeline: Pipeline, client: Any, size: tuple[int, float], progress: Progress | None) -> None:
        self.pipeline, self.client, self.progress = pipeline, client, progress
        self.partition_size, self.halo_m = size
        self.crs = pipeline.city.crs

    def remote(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` on a worker; its result."""
        return self.client.submit(func, *args, pure=False).result()

    def map_tasks(self, func: Callable[..., np.ndarray], calls: list[tuple[Any, ...]]) -> Iterator[np.ndarray]:
        """``func(*args)`` on the workers for each args in `calls`; the results as they come."""
        from distributed import as_completed

        for future in as_completed([self.client.submit(func, *args, pure=False) for args in calls]):  # type: ignore[no-untyped-call]
            yield future.result()

    def layers(self, run_stage: StageRunner | None) -> Layers:
        pipeline = self.pipeline
        folder = pipeline.output.path.with_name(f".{pipeline.output.path.name}.parts-{uuid.uuid4().hex[:8]}")
        folder.mkdir(parents=True)
        try:
            return self._layers(run_stage, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _layers(self, run_stage: StageRunner | None, folder: Path) -> Layers:
        pipeline = self.pipeline
        area, boundary_issues = self.remote(read_boundary_issues, pipeline)
        layers: Layers = {}
        issues = [boundary_issues]
        names = [name for name in STAGES if name != "buildings"]
        for number, name in enumerate(names):
            if name == "panoramas":  # its layers stay in parts, written by the worker
                build = partial(self.remote, dp.panorama_parts, pipeline, area, folder)
            else:
                build = partial(self.remote, STAGES[name], pipeline, area)
            produced = dict(run_stage(name, build, parts=folder) if run_stage else build())
            issues.append(produced.pop("qa_issues", empty_frame("qa_issues", self.crs)))
            layers.update(produced)
            self._progress(number + 1, len(names) + 3)
        buildings, building_issues = self.buildings(area, layers, folder, step=len(names))
        layers.update(buildings)
        issues.append(building_issues)
        layers["qa_issues"] = concat_issues(issues, self.crs)
        self._progress(len(names) + 3, len(names) + 3)
        return layers

    def _progress(self, done: int, total: int) -> None:
        if self.progress:
            self.progress("build", done, total)

    def buildings(self, area: BaseGeometry | None, layers: Layers, folder: Path, *,
                  step: int) -> tuple[Layers, gpd.GeoDataFrame]:
        """The buildings on the workers, in parts in `folder`; the linked nodes and connections; the QA rows."""
        windows = plan_windows(self.pipeline, area, self.partition_size, halo_m=self.halo_m, map_tasks=self.map_tasks)
        counts = [w.count for w in windows]
        log.info("dask engine: %d partitions of %d to %d footprints (partition size %d)", len(windows), min(counts),
                 max(counts), self.partition_size)
        return self._buildings(area, layers, windows, folder, step=step)

    def _buildings(self, area: BaseGeometry | None, layers: Layers, windows: list[dp.Window], folder: Path, *,
                   step: int) -> tuple[Layers, gpd.GeoDataFrame]:
        pipeline, crs, client = self.pipeline, self.crs, self.client
        pieces = self.bucket(windows, folder)
        log.info("dask engine: footprints read and filed by window")
        cleaned = [folder / f"cleaned-{w.number:05d}.pickle" for w in windows]
        finished = [folder / f"finished-{w.number:05d}.pickle" for w in windows]
        parts = [folder / f"buildings-{w.number:05d}.parquet" for w in windows]
        views = [folder / f"views-{w.number:05d}.parquet" for w in windows]
        shared_area = client.scatter(area, broadcast=True) if area is not None else None
        summaries = client.gather([client.submit(dp.clean_window, pipeline, shared_area, w, pieces[w.number], path,
                                                 pure=False)
                                   for w, path in zip(windows, cleaned, strict=True)])
        # on a worker: the check reads the panoramas' parts
        self.remote(check_placement, pipeline, {**layers, "buildings": _extent_frame(summaries, crs)})
        log.info("dask engine: partitions cleaned")
        renamed, rename_issues = self.unique_ids(cleaned, summaries)
        extents = [s["bounds"] for s in summaries]
        del summaries
        self._progress(step + 1, step + 3)
        nodes = layers["fibre_nodes"]
        sent_nodes = client.scatter(nodes, broadcast=True)
        found = client.gather([client.submit(dp.finish_window, pipeline, path, renamed, sent_nodes, done, pure=False)
                               for path, done in zip(cleaned, finished, strict=True)])
        log.info("dask engine: ids unique, heights given")
        out: Layers = {}
        issues = [rename_issues]
        if pipeline.fibre is not None:
            candidates = pd.concat(found).sort_values(dp.ORDER, kind="stable").drop(columns=dp.ORDER)
            nodes, connections, site_issues = link_sites(pipeline, nodes, gpd.GeoDataFrame(candidates, crs=crs))
            out["fibre_connections"] = connections
            issues.append(site_issues)
        del found
        self._progress(step + 2, step + 3)
        routes = client.scatter(layers["fibre_routes"], broadcast=True)
        sent_nodes = client.scatter(nodes, broadcast=True)
        panoramas = layers["panoramas"]  # in parts (a stage result stored by the local engine: in memory)
        written = client.gather([
            client.submit(dp.link_and_write, path, routes, sent_nodes,
                          panoramas if isinstance(panoramas, PartedLayer) else self._near(panoramas, extent), extent,
                          pipeline, part, view_part, pure=False)
            for extent, path, part, view_part in zip(extents, finished, parts, views, strict=True)
        ])
        log.info("dask engine: buildings linked and written")
        issues.extend(_unique_unplaced([w["qa_issues"] for w in written], crs))
        out["buildings"] = PartedLayer("buildings", crs, folder, tuple(parts), tuple(int(w["rows"]) for w in written))
        out["panorama_views"] = PartedLayer("panorama_views", crs, folder, tuple(views),
                                            tuple(int(w["view_rows"]) for w in written), order=dp.VIEWS_ORDER)
        out["fibre_nodes"] = nodes
        return out, concat_issues(issues, crs)

    def bucket(self, windows: list[dp.Window], folder: Path) -> dict[int, list[list[Path]]]:
        """Every footprint source read once, in ranges of features, and filed by window: each window's pieces by source."""
        cfg = self.pipeline.buildings
        assert cfg is not None
        sources: list[BuildingsConfig | ExtraBuildingsConfig] = [cfg, *cfg.extra]
        tasks = []
        for number, source in enumerate(sources):
            count, _ = layer_extent(source.path, target_crs=self.crs, layer=source_layer(source),
                                    declared_crs=source.crs, section="buildings")
            for first in range(0, count, self.partition_size):
                tasks.append((number, self.client.submit(dp.bucket_range, self.pipeline, number, first,
                                                         self.partition_size, windows, folder, pure=False)))
        found = self.client.gather([task for _, task in tasks])
        pieces: dict[int, list[list[Path]]] = {w.number: [[] for _ in sources] for w in windows}
        for (number, _), written in zip(tasks, found, strict=True):
            for window, path in written.items():
                pieces[window][number].append(path)
        return pieces

    def _near(self, panoramas: gpd.GeoDataFrame, extent: tuple[float, ...] | None) -> gpd.GeoDataFrame:
        """The panoramas the buildings in `extent` may see (the halo); one far away where none is near."""
        view = self.pipeline.panoramas
        if view is None or not len(panoramas) or extent is None:
            return panoramas.iloc[:0]
        near = dp.within_box(panoramas, np.asarray(extent), view.view_distance_m)
        # a partition with no panorama near gets one far away: the same zero counts, typed as everywhere else
        return panoramas.loc[near] if near.any() else panoramas.iloc[:1]

    def unique_ids(self, cleaned: list[Path], summaries: list[dict[str, Any]]) -> tuple[dict[int, str], gpd.GeoDataFrame]:
        """New ids of the footprints whose ids repeat over the region (by place in the inputs), and QA rows.

        The workers find the repeated id hashes, each in one range of hash values over every partition's
        sorted hashes; the client holds only the repeated ones and their footprints.
        """
        client = self.client
        files = [s["hashes"] for s in summaries]
        buckets = max(1, len(files))
        found = client.gather([client.submit(dp.repeated_hashes, files, bucket, buckets, pure=False)
                               for bucket in range(buckets)])
        wanted = np.concatenate(found) if found else np.array([], dtype="uint64")
        if not len(wanted):
            return {}, empty_frame("qa_issues", self.crs)
        subset = self._rows(cleaned, wanted)
        while True:  # a new id may be one another footprint uses: fetch those too, as the local engine sees them
            named, issues = unique_building_ids(subset.reset_index(drop=True))
            changed = named["building_id"].to_numpy() != subset["building_id"].astype("str").to_numpy()
            taken = dp.id_hashes(named["building_id"][changed])
            clash = np.setdiff1d(self.remote(dp.hashes_present, files, taken), dp.id_hashes(subset["building_id"]))
            if not len(clash):
                break
            subset = pd.concat([subset, self._rows(cleaned, clash)]).sort_values(dp.ORDER, kind="stable")
        renamed = dict(zip(subset[dp.ORDER].to_numpy()[changed].tolist(), named["building_id"][changed], strict=True))
        return renamed, issues

    def _rows(self, cleaned: list[Path], hashes: np.ndarray) -> gpd.GeoDataFrame:
        found = self.client.gather([self.client.submit(dp.rows_with_hashes, path, hashes, pure=False)
                                    for path in cleaned])
        return gpd.GeoDataFrame(pd.concat(found), crs=self.crs).sort_values(dp.ORDER, kind="stable")


def plan_windows(pipeline: Pipeline, area: BaseGeometry | None, partition_size: int, *, halo_m: float = HALO_M,
                 map_tasks: MapTasks | None = None) -> list[dp.Window]:
    """Spatial windows of at most about `partition_size` footprints each, cut where the footprints are.

    The footprints are counted on a grid first (:func:`footprint_density`), then the region is cut by
    recursive bisection (:func:`twin.runner.windows.cut_windows`): a window holds at most `partition_size`
    counted footprints, or one grid cell's. `map_tasks` runs the counting (on the workers); here when None.
    """
    density = footprint_density(pipeline, area, partition_size, map_tasks=map_tasks)
    if density is None:
        return [dp.Window(0, (-math.inf, -math.inf, math.inf, math.inf), (-1.0, -1.0, 1.0, 1.0), 0)]
    return cut_windows(density, partition_size, halo_m=halo_m, within=None if area is None else area.bounds)


#: Runs ``func(*args)`` for each args of a list (on the workers), yields the results in any order.
MapTasks = Callable[[Callable[..., np.ndarray], list[tuple[Any, ...]]], Iterable[np.ndarray]]


def footprint_density(pipeline: Pipeline, area: BaseGeometry | None, partition_size: int, *,
                      map_tasks: MapTasks | None = None) -> Density | None:
    """Every footprint source's boxes counted on a grid over the region, in ranges of `partition_size` features.

    The region is the extent of the sources (from their headers, or measured on the workers where a header
    has none), within the box of `area`; None when there is no footprint with a geometry.
    """
    boxes, calls, unbounded = [], [], []
    step = max(1, partition_size)
    for number, source in enumerate(footprint_sources(pipeline)):
        found, bounds = layer_extent(source.path, target_crs=pipeline.city.crs, layer=source_layer(source),
                                     declared_crs=source.crs, section="buildings")
        if number == 0 and found == 0:  # as the local engine refuses it (a city without buildings)
            raise SourceError(source.path.name, "holds no buildings",
                              fix="give the complete footprint file in [buildings] path (or remove the [buildings] section)")
        ranges = [(number, first) for first in range(0, found, step)]
        calls += ranges
        if bounds is not None:
            boxes.append(bounds)
        else:  # a format whose header has no extent (an OSM extract): measured on the workers
            unbounded += ranges
    run = map_tasks or _here
    if unbounded:
        found_boxes = run(centre_extent, [(pipeline, number, first, step) for number, first in unbounded])
        boxes += [(float(box[0]), float(box[1]), float(box[2]), float(box[3])) for box in found_boxes
                  if np.isfinite(box).all()]
    if not boxes:
        return None
    xmin, ymin = min(b[0] for b in boxes), min(b[1] for b in boxes)
    xmax, ymax = max(b[2] for b in boxes), max(b[3] for b in boxes)
    if area is not None:
        ax0, ay0, ax1, ay1 = area.bounds
        xmin, ymin, xmax, ymax = max(xmin, ax0), max(ymin, ay0), min(xmax, ax1), min(ymax, ay1)
        xmax, ymax = max(xmax, xmin), max(ymax, ymin)
    extent = (xmin, ymin, xmax, ymax)
    counts = np.zeros(grid_shape(extent)[::-1], dtype="int64")
    for found_counts in run(count_footprints, [(pipeline, n, first, step, extent) for n, first in calls]):
        counts += found_counts
    return Density(extent, counts)


def _here(func: Callable[..., np.ndarray], calls: list[tuple[Any, ...]]) -> Iterator[np.ndarray]:
    return (func(*args) for args in calls)


def _extent_frame(summaries: list[dict[str, Any]], crs: str) -> gpd.GeoDataFrame:
    """The extent of all partitions' footprints as one box (what the placement check measures against)."""
    boxes = [s["bounds"] for s in summaries if s["bounds"] is not None]
    if not boxes:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    extent = shapely.box(min(b[0] for b in boxes), min(b[1] for b in boxes),
                         max(b[2] for b in boxes), max(b[3] for b in boxes))
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries([extent], crs=crs), crs=crs)


def _unique_unplaced(frames: list[gpd.GeoDataFrame], crs: str) -> list[gpd.GeoDataFrame]:
    """The QA rows of the partitions; rows without a point (every partition has them) only once."""
    issues = concat_issues(frames, crs)
    unplaced = issues.geometry.isna() | issues.geometry.is_empty
    columns = ["layer", "feature_id", "check", "severity", "message"]
    return [issues.loc[~unplaced], issues.loc[unplaced].drop_duplicates(subset=columns)]


def engine_cleanup(layers: Layers) -> None:
    """Remove the parts a dask build left beside the output."""
    for value in layers.values():
        if isinstance(value, PartedLayer):
            value.discard()

