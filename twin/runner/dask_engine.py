"""The dask engine: the link stage of a run on spatial partitions of the buildings.

Reading and cleaning stay as in the local engine; the link stage, whose cost
grows with the number of buildings, runs per partition on dask (a local
thread pool, or a ``dask.distributed`` cluster given by its scheduler
address). The buildings are put in Hilbert order and cut into contiguous
partitions (the Hilbert curve of :mod:`dask_geopandas`), so each partition covers a compact area.
Every partition calls the same link functions as the local engine
(:func:`twin.runner.stages.link_sites`, :func:`twin.runner.stages.link_buildings`):

1. :func:`twin.transforms.network.site_buildings` with the sites that lie
   within ``connection_distance_m`` of the partition (the halo): each
   partition names the building nearest to each of its sites. The candidates
   of all partitions are few; one more call of the same function on all sites
   and only the candidate buildings gives the global result (the nearest of
   the candidates is the nearest of all buildings);
2. :func:`twin.transforms.network.buildings_with_fibre` with the routes and
   the linked nodes whole (the nearest route may lie anywhere);
3. :func:`twin.transforms.capture.panorama_links` with the
   panoramas within the view distance of the partition (the halo).

The result equals the local engine's feature by feature, in the same order.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.config import Pipeline
from twin.errors import ConfigError
from twin.model import conform, empty_frame
from twin.model.qa import concat_issues
from twin.runner.stages import link_buildings, link_sites

__all__ = ["ENGINES", "PARTITION_SIZE", "dask_link_stage"]

log = logging.getLogger(__name__)

#: The engines a run can use.
ENGINES = ("local", "dask")
#: Buildings per partition (about 100 MB of working memory each).
PARTITION_SIZE = 250_000
_ORDER = "_twin_order"

Layers = dict[str, pd.DataFrame]


def dask_link_stage(
    pipeline: Pipeline,
    layers: Layers,
    *,
    scheduler: str | None = None,
    client: Any = None,
    partition_size: int = PARTITION_SIZE,
) -> Layers:
    """Link buildings to panoramas and fibre like :func:`twin.runner.stages.link_stage`, on dask partitions.

    Parameters
    ----------
    pipeline
        The pipeline of the run.
    layers
        The built layers (``buildings``, ``panoramas``, ``fibre_routes``, ``fibre_nodes``).
    scheduler
        Address of a ``dask.distributed`` scheduler (``tcp://host:8786``); the local thread pool when None.
    client
        A ``dask.distributed.Client`` to use instead of `scheduler`.
    partition_size
        Buildings per partition.

    Returns
    -------
    Layers
        ``buildings``, ``fibre_nodes``, ``qa_issues`` and, with a fibre section, ``fibre_connections``.
    """
    own = None
    if client is None and scheduler is not None:
        own = _connect(scheduler)
        client = own
    try:
        return _link(pipeline, layers, client=client, partition_size=partition_size)
    finally:
        if own is not None:
            own.close()


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


def _link(pipeline: Pipeline, layers: Layers, *, client: Any, partition_size: int) -> Layers:
    crs = pipeline.city.crs
    buildings = layers["buildings"]
    nodes = layers["fibre_nodes"]
    out: Layers = {}
    issues = []
    if not len(buildings):
        return {"buildings": buildings, "panorama_views": empty_frame("panorama_views", None), "fibre_nodes": nodes,
                "qa_issues": concat_issues([], crs)}
    pool = _Pool(client, _partitions(buildings, partition_size))  # on a cluster, only the workers keep the parts
    log.info("dask engine: %d buildings in %d partitions", len(buildings), len(pool.parts))
    if pipeline.fibre is not None:
        found = pool.map(_candidates, nodes, pipeline)
        chosen = np.unique(np.concatenate([np.asarray(f, dtype="int64") for f in found]))
        candidates = buildings.iloc[chosen]
        nodes, connections, site_issues = link_sites(pipeline, nodes, candidates)
        out["fibre_connections"] = connections
        issues.append(site_issues)
    linked = pool.map(_link_partition, layers["fibre_routes"], nodes, layers["panoramas"], pipeline)
    del pool
    result = _concat([part for part, _ in linked])
    views = pd.concat([seen for _, seen in linked], ignore_index=True)
    del linked
    result = result.sort_values(_ORDER, kind="stable").drop(columns=_ORDER)
    views = conform(views.sort_values(["building_id", "panorama_id"], kind="stable", ignore_index=True), "panorama_views")
    out.update({"buildings": gpd.GeoDataFrame(result, crs=buildings.crs), "panorama_views": views,
                "fibre_nodes": nodes, "qa_issues": concat_issues(issues, crs)})
    return out


class _Pool:
    """Runs a function over every partition: on a dask.distributed cluster, else on dask's thread pool."""

    def __init__(self, client: Any, parts: list[gpd.GeoDataFrame]) -> None:
        self.client = client
        self.parts: list[Any] = client.scatter(parts) if client is not None else parts

    def map(self, func: Any, *shared: Any) -> list[Any]:
        """``[func(part, *shared) for part in parts]``, in parallel; the shared frames are sent once."""
        import dask

        if self.client is None:
            tasks = [dask.delayed(func)(part, *shared) for part in self.parts]  # type: ignore[attr-defined]
            return list(dask.compute(*tasks, scheduler="threads"))  # type: ignore[attr-defined,no-untyped-call]
        sent = [self.client.scatter(value, broadcast=True) if isinstance(value, pd.DataFrame) else value
                for value in shared]
        futures = [self.client.submit(func, part, *sent, pure=False) for part in self.parts]
        return list(self.client.gather(futures))


def _concat(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Concatenate partitions; a column all null in one partition takes the type it has where it holds values."""
    typed: dict[str, Any] = {}
    for part in parts:
        for name in part.columns:
            if name != part.geometry.name and part[name].notna().any():
                typed.setdefault(str(name), part[name].dtype)
    fixed = []
    for part in parts:
        loose = {name: dtype for name, dtype in typed.items()
                 if name in part and part[name].dtype != dtype and part[name].isna().all()}
        fixed.append(part.assign(**{name: pd.Series(None, index=part.index, dtype=dtype) for name, dtype in loose.items()}))
    return pd.concat(fixed)


def _partitions(buildings: gpd.GeoDataFrame, partition_size: int) -> list[gpd.GeoDataFrame]:
    """Spatial partitions: contiguous runs of the buildings in Hilbert order, each in the original order inside.

    The same Hilbert curve as ``dask_geopandas``' ``spatial_shuffle(by="hilbert")``, cut without a
    shuffle because the frame is already in memory.
    """
    count = max(1, math.ceil(len(buildings) / partition_size))
    frame = buildings.assign(**{_ORDER: np.arange(len(buildings), dtype="int64")})
    if count == 1:
        return [frame]
    distance = frame.geometry.hilbert_distance(total_bounds=frame.total_bounds, level=16).to_numpy()
    order = np.argsort(distance, kind="stable")
    return [frame.iloc[np.sort(chunk)] for chunk in np.array_split(order, count) if len(chunk)]


def _candidates(part: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, pipeline: Pipeline) -> np.ndarray:
    """Positions (in the whole buildings frame) of the buildings the sites near `part` link to."""
    if not len(part) or not len(nodes):
        return np.array([], dtype="int64")
    assert pipeline.fibre is not None
    near = _within_box(nodes, part.total_bounds, pipeline.fibre.connection_distance_m)
    linked, _, _ = link_sites(pipeline, nodes.loc[near], part)
    ids = linked["building_id"].dropna()
    return part.loc[part["building_id"].isin(ids), _ORDER].to_numpy(dtype="int64")


def _link_partition(
    part: gpd.GeoDataFrame, routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame,
    panoramas: gpd.GeoDataFrame, pipeline: Pipeline,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The per-building links of one partition and its rows of ``panorama_views``, as in the local link stage."""
    if pipeline.panoramas is not None and len(part) and len(panoramas):
        near = _within_box(panoramas, part.total_bounds, pipeline.panoramas.view_distance_m)
        # a partition with no panorama near gets them all: the same zero counts, typed as everywhere else
        panoramas = panoramas.loc[near] if near.any() else panoramas
    return link_buildings(pipeline, part, routes, nodes, panoramas)


def _within_box(frame: gpd.GeoDataFrame, bounds: np.ndarray, halo: float) -> np.ndarray:
    """Rows of `frame` whose bounding box comes within `halo` of `bounds` (a conservative halo)."""
    b = frame.geometry.bounds.to_numpy()
    xmin, ymin, xmax, ymax = bounds
    return np.asarray(
        (b[:, 2] >= xmin - halo) & (b[:, 0] <= xmax + halo) & (b[:, 3] >= ymin - halo) & (b[:, 1] <= ymax + halo)
    )
