"""Refuse a model whose layers lie apart: panoramas or a network far from every building of the town."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from twin.config import Pipeline
from twin.errors import CrsError
from twin.runner.parted import PartedLayer
from twin.transforms.placement import APART_M, gap_m

__all__ = ["check_placement"]


def check_placement(pipeline: Pipeline, layers: dict[str, gpd.GeoDataFrame | PartedLayer]) -> None:
    """Raise :class:`CrsError` when no panorama, no fibre route or no fibre node lies near the buildings.

    Such a layer was read with its x and y columns exchanged or in a wrong CRS: its counts, coverage and
    distances would be published as zeros that look real.
    """
    buildings = layers.get("buildings")
    if buildings is None or pipeline.buildings is None:
        return
    assert not isinstance(buildings, PartedLayer)  # the dask engine gives the extent of its buildings
    inputs: list[tuple[str, Path | None, str, str | None]] = []  # layer, file, its CRS key, its x/y columns
    if pipeline.panoramas is not None:
        inputs.append(("panoramas", pipeline.panoramas.path, "[panoramas] crs", "[panoramas.columns]"))
    if pipeline.fibre is not None:
        inputs += [("fibre_routes", pipeline.fibre.routes, "[fibre] routes_crs", None),
                   ("fibre_nodes", pipeline.fibre.nodes, "[fibre] nodes_crs",
                    "[fibre.columns] (or [fibre.node_columns])")]
    for layer, path, crs_key, columns in inputs:
        frame = layers.get(layer)
        gap = _gap(frame, buildings) if frame is not None and path is not None else None
        if frame is None or path is None or gap is None or gap <= APART_M:
            continue
        swapped = _gap(frame, buildings, swapped=True) if columns else None
        fix = (f"its x and y look exchanged: swap the columns mapped to x and y in {columns}"
               if swapped is not None and swapped <= APART_M else f"check {crs_key} and the file's coordinates")
        raise CrsError(path.name, f"none of its {len(frame):,} {layer.replace('_', ' ')} lies within "
                                  f"{APART_M / 1000:g} km of the buildings (the nearest is {gap / 1000:,.0f} km away)",
                       fix=fix)


def _gap(frame: gpd.GeoDataFrame | PartedLayer, buildings: gpd.GeoDataFrame, *, swapped: bool = False) -> float | None:
    """:func:`gap_m`; of a layer in parts, the smallest over its row groups."""
    if not isinstance(frame, PartedLayer):
        return gap_m(frame, buildings, swapped=swapped)
    gaps = [gap for chunk in frame.frames() if (gap := gap_m(chunk, buildings, swapped=swapped)) is not None]
    return min(gaps) if gaps else None
