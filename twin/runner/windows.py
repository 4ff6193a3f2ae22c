"""The dask engine's spatial windows, cut where the footprints are, not as if they were spread evenly.

A first pass counts the centres of the footprints' boxes on a fixed fine grid over the region
(:class:`Density`, summed over the ranges the workers read). The region is then cut by recursive
bisection, k-d style: a box of grid cells that should hold ``k`` windows of at most
``partition_size`` footprints is split along the longer side of its footprints' extent, at the
grid line that leaves about ``k_left / k`` of its count on one side, until every box holds at
most ``partition_size`` footprints or is one grid cell. Even footprints give about
``count / partition_size`` windows, as an even grid would; a dense city gets small windows, an
empty forest one large window.

The windows tile the plane: their cores meet on grid lines, the outer ones are open to infinity,
and every core is half-open (``xmin <= x < xmax``), so each footprint's representative point lies
in exactly one core, wherever the first pass counted it.

>>> density = Density((0.0, 0.0, 4.0, 1.0), np.array([[9, 1, 0, 0]], dtype="uint32"))
>>> [w.core for w in cut_windows(density, 5, halo_m=0.0)]
[(-inf, -inf, 1.0, inf), (1.0, -inf, inf, inf)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.config import BuildingsConfig, ExtraBuildingsConfig, Pipeline
from twin.runner.dask_parts import Bounds, Window
from twin.sources.vector import box_centres

__all__ = ["GRID_CELLS", "Density", "centre_extent", "count_footprints", "cut_windows", "footprint_sources", "grid_shape",
           "source_layer"]

#: Cells of the grid the footprints are counted on (about 256 × 256, square cells): fine enough that
#: one cell of a dense city holds a small share of a partition, small enough to send (256 kB).
GRID_CELLS = 1 << 16


def grid_shape(extent: Bounds, cells: int = GRID_CELLS) -> tuple[int, int]:
    """Columns and rows of a grid of about `cells` near-square cells over `extent`."""
    width, height = max(extent[2] - extent[0], 1.0), max(extent[3] - extent[1], 1.0)
    nx = max(1, min(cells, round(math.sqrt(cells * width / height))))
    return nx, max(1, cells // nx)


@dataclass(frozen=True)
class Density:
    """Footprints (their boxes' centres) counted on a grid over `extent`: ``counts[row, column]``, rows from south.

    Centres outside the extent count in its edge cells (the outer windows reach to infinity).
    """

    extent: Bounds
    counts: np.ndarray

    @classmethod
    def of(cls, extent: Bounds, centres: np.ndarray, cells: int = GRID_CELLS) -> Density:
        """Count `centres` (shape (n, 2)) on the grid of `cells` over `extent`."""
        nx, ny = grid_shape(extent, cells)
        column = _cell(centres[:, 0], extent[0], extent[2], nx)
        row = _cell(centres[:, 1], extent[1], extent[3], ny)
        counts = np.bincount(row * nx + column, minlength=nx * ny).reshape(ny, nx).astype("uint32")
        return cls(extent, counts)

    @property
    def total(self) -> int:
        """The footprints counted."""
        return int(self.counts.sum(dtype="int64"))

    @property
    def largest_cell(self) -> int:
        """The most footprints in one cell: by how much a window may exceed the partition size."""
        return int(self.counts.max(initial=0))


def _cell(values: np.ndarray, low: float, high: float, cells: int) -> np.ndarray:
    size = max(high - low, 1.0) / cells
    return np.clip(np.floor((values - low) / size), 0, cells - 1).astype("int64")


def cut_windows(density: Density, partition_size: int, *, halo_m: float, within: Bounds | None = None) -> list[Window]:
    """Windows of at most `partition_size` counted footprints (or one grid cell), tiling the plane.

    Each window's ``count`` is the number of footprints the first pass counted in it; its read box is
    its core grown by `halo_m`, the outer sides open, or at the box `within` (grown by `halo_m`) outside
    which nothing is kept (the boundary's): a footprint beyond the extent the headers gave is still read
    by the window whose core holds it.
    """
    counts = density.counts.astype("int64")
    ny, nx = counts.shape
    boxes: list[tuple[int, int, int, int]] = []  # column from, row from, column to, row to (exclusive)
    pending = [(0, 0, nx, ny)]
    size = max(1, partition_size)
    while pending:
        box = pending.pop()
        halves = _split(counts[box[1]:box[3], box[0]:box[2]], size)
        if halves is None:
            boxes.append(box)
            continue
        axis, line = halves
        if axis == 0:  # a column line
            pending += [(box[0] + line, box[1], box[2], box[3]), (box[0], box[1], box[0] + line, box[3])]
        else:
            pending += [(box[0], box[1] + line, box[2], box[3]), (box[0], box[1], box[2], box[1] + line)]
    xmin, ymin, xmax, ymax = density.extent
    xs = np.linspace(xmin, xmax, nx + 1)
    ys = np.linspace(ymin, ymax, ny + 1)
    xs[0], xs[-1], ys[0], ys[-1] = -math.inf, math.inf, -math.inf, math.inf
    lx0, ly0, lx1, ly1 = within if within is not None else (-math.inf, -math.inf, math.inf, math.inf)
    windows: list[Window] = []
    for c0, r0, c1, r1 in sorted(boxes, key=lambda b: (b[1], b[0])):  # south to north, west to east
        core = (float(xs[c0]), float(ys[r0]), float(xs[c1]), float(ys[r1]))
        read = (max(core[0], lx0) - halo_m, max(core[1], ly0) - halo_m,
                min(core[2], lx1) + halo_m, min(core[3], ly1) + halo_m)
        windows.append(Window(len(windows), core, read, int(counts[r0:r1, c0:c1].sum())))
    return windows


def _split(counts: np.ndarray, size: int) -> tuple[int, int] | None:
    """Where to cut a box of cells (axis 0: at a column line, 1: at a row line; the line's offset), or None.

    A box holding at most `size` footprints, or all of them in one cell, stays whole. Otherwise it is cut
    along the longer side of the cells that hold footprints, strictly between the first and last of them
    (both halves hold some), at the line that best leaves ``k_left / k`` of the count on the first side,
    ``k = ceil(count / size)``, preferring a line where each half fits its share of windows.
    """
    total = int(counts.sum())
    if total <= size:
        return None
    columns, rows = counts.sum(axis=0), counts.sum(axis=1)
    used_columns, used_rows = np.flatnonzero(columns), np.flatnonzero(rows)
    spans = (used_columns[-1] - used_columns[0] + 1, used_rows[-1] - used_rows[0] + 1)
    if spans == (1, 1):
        return None
    axis = 0 if spans[0] >= spans[1] else 1
    line_counts, used = (columns, used_columns) if axis == 0 else (rows, used_rows)
    windows = math.ceil(total / size)
    first = windows // 2
    lines = np.arange(used[0] + 1, used[-1] + 1)  # a line at offset i has cells 0..i-1 on the first side
    before = np.cumsum(line_counts)[lines - 1]
    fits = (before <= first * size) & (total - before <= (windows - first) * size)
    candidates = lines[fits] if fits.any() else lines
    chosen = before[fits] if fits.any() else before
    return axis, int(candidates[np.argmin(np.abs(chosen - total * first / windows))])


def count_footprints(pipeline: Pipeline, number: int, first: int, count: int, extent: Bounds) -> np.ndarray:
    """On a worker: footprints `first` .. `first + count` of source `number` (0: ``[buildings]``, then each
    ``[[buildings.extra]]``), counted on the grid over `extent` (:attr:`Density.counts`); only their boxes are read."""
    source = footprint_sources(pipeline)[number]
    centres = box_centres(source.path, target_crs=pipeline.city.crs, layer=source_layer(source), declared_crs=source.crs,
                          section="buildings", first=first, count=count)
    return Density.of(extent, centres).counts


def centre_extent(pipeline: Pipeline, number: int, first: int, count: int) -> np.ndarray:
    """On a worker: the extent (xmin, ymin, xmax, ymax) of the boxes' centres of footprints `first` ..
    `first + count` of source `number`, for a file whose header gives none; NaN when none has a geometry."""
    source = footprint_sources(pipeline)[number]
    centres = box_centres(source.path, target_crs=pipeline.city.crs, layer=source_layer(source),
                          declared_crs=source.crs, section="buildings", first=first, count=count)
    if not len(centres):
        return np.full(4, np.nan)
    return np.concatenate([centres.min(axis=0), centres.max(axis=0)])


def footprint_sources(pipeline: Pipeline) -> list[BuildingsConfig | ExtraBuildingsConfig]:
    """``[buildings]`` and each ``[[buildings.extra]]``, numbered as the engine numbers them."""
    cfg = pipeline.buildings
    assert cfg is not None
    return [cfg, *cfg.extra]


def source_layer(source: BuildingsConfig | ExtraBuildingsConfig) -> str | None:
    """The layer the source's reader reads (an OSM extract's footprints: its multipolygons, not its first layer)."""
    return source.layer or ("multipolygons" if source.format == "osm" else None)
