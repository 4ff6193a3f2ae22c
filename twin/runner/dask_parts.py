"""What the dask engine's workers do with one partition (a spatial window) of the buildings.

Each function runs on a worker and calls the same stage functions as the local
engine (:mod:`twin.runner.stages`); the client sees only what they return
(small summaries), except the frames it leaves on the workers between steps.

A window has a *core* (half-open: ``xmin <= x < xmax``, the outer edges of the
region open to infinity) and a larger *read* box (the core grown by the halo).
The worker reads every footprint that meets the read box, so a footprint and
all footprints it could duplicate are read together; it keeps a footprint
when the core holds its representative point (``point_on_surface``), so one
partition and only one decides it, and each QA row when the core holds its
point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin.config import Pipeline
from twin.model.qa import concat_issues
from twin.runner.parted import write_part
from twin.runner.stages import finished_buildings, link_buildings, link_sites, merged_buildings
from twin.sources.vector import read_window

#: Column holding a footprint's place in the inputs (source number × 2⁴⁰ + FID) while it is on a worker.
ORDER = "_twin_order"

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Window:
    """One partition: its number, its core (edges may be infinite) and the box its worker reads."""

    number: int
    core: Bounds
    read: Bounds


def clean_window(pipeline: Pipeline, area: BaseGeometry | None, window: Window) -> dict[str, Any]:
    """Read, clean and merge the footprints of `window`; the core's footprints and QA rows, ids not yet unique."""
    with read_window(window.read, pipeline.city.crs):
        merged, found = merged_buildings(pipeline, area, unique_ids=False, order=ORDER)
    points = shapely.point_on_surface(merged.geometry.to_numpy())
    owned = merged.loc[_in_core(points, window.core)]
    issues = concat_issues(found, pipeline.city.crs)
    issues = issues.loc[_in_core(issues.geometry.to_numpy(), window.core, missing=True)]
    return {"buildings": owned, "qa_issues": issues}


def id_summary(part: dict[str, Any]) -> dict[str, Any]:
    """Hashes of the ids, their places in the inputs and the extent of a cleaned partition."""
    buildings = part["buildings"]
    bounds = tuple(buildings.total_bounds) if len(buildings) else None
    return {"hashes": id_hashes(buildings["building_id"]), "order": buildings[ORDER].to_numpy(dtype="int64"),
            "bounds": bounds}


def id_hashes(ids: pd.Series) -> np.ndarray:
    """A 64-bit hash of each id (as text)."""
    return pd.util.hash_pandas_object(ids.astype("str"), index=False).to_numpy()


def rows_with_hashes(part: dict[str, Any], hashes: np.ndarray) -> gpd.GeoDataFrame:
    """The footprints of a cleaned partition whose id hash is in `hashes` (id, place, geometry)."""
    buildings = part["buildings"]
    chosen = np.isin(id_hashes(buildings["building_id"]), hashes)
    return buildings.loc[chosen, ["building_id", ORDER, buildings.geometry.name]]


def finish_window(pipeline: Pipeline, part: dict[str, Any], renamed: dict[int, str]) -> dict[str, Any]:
    """Give the partition's footprints their unique ids, heights and text checks (:func:`finished_buildings`)."""
    merged = part["buildings"]
    order = merged[ORDER].to_numpy(dtype="int64")
    if renamed:
        new = pd.Series(order).map(renamed)
        merged = merged.assign(building_id=np.where(new.notna(), new, merged["building_id"].astype("str")))
    finished = finished_buildings(pipeline, merged, [part["qa_issues"]])
    finished["buildings"][ORDER] = order  # conform keeps the rows in their order
    return finished


def site_candidates(part: dict[str, Any], nodes: gpd.GeoDataFrame, pipeline: Pipeline) -> gpd.GeoDataFrame:
    """The partition's buildings that the sites near it link to (with their place in the inputs)."""
    buildings = part["buildings"]
    if not len(buildings) or not len(nodes):
        return buildings.iloc[:0]
    assert pipeline.fibre is not None
    near = within_box(nodes, buildings.total_bounds, pipeline.fibre.connection_distance_m)
    linked, _, _ = link_sites(pipeline, nodes.loc[near], buildings.drop(columns=ORDER))
    return buildings.loc[buildings["building_id"].isin(linked["building_id"].dropna())]


def link_and_write(
    part: dict[str, Any], routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, panoramas: gpd.GeoDataFrame,
    pipeline: Pipeline, path: Path,
) -> dict[str, Any]:
    """Link the partition's buildings (:func:`link_buildings`), write them to `path`; their count and QA rows."""
    buildings = part["buildings"].drop(columns=ORDER)
    if pipeline.panoramas is not None and len(buildings) and len(panoramas):
        near = within_box(panoramas, buildings.total_bounds, pipeline.panoramas.view_distance_m)
        # a partition with no panorama near gets them all: the same zero counts, typed as everywhere else
        panoramas = panoramas.loc[near] if near.any() else panoramas
    linked = link_buildings(pipeline, buildings, routes, nodes, panoramas)
    rows = write_part(linked, "buildings", pipeline.city.crs, path)
    return {"rows": rows, "qa_issues": part["qa_issues"]}


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
