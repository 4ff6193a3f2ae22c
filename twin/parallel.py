"""Spread shapely's array work over the machine's cores.

Shapely 2 releases the GIL inside its array functions and spatial-index
queries, so cutting a large array into one contiguous chunk per core and
running the chunks in threads uses every core without copying data between
processes. Results are put back together in the order of the input, so they
are identical to one call on the whole array.

The functions given to :func:`elementwise` must not share a prepared
geometry between threads (GEOS builds a prepared geometry's index on first
use); give each call its own, as :func:`twin.transforms.buildings.clean_buildings`
does with the city boundary. A tree is queried once before the threads start,
so that GEOS builds it in one thread.

``TWIN_THREADS`` sets the number of threads (default: the CPUs this process
may use); ``TWIN_THREADS=1`` runs everything in the calling thread.

Memory that a step has freed stays with the C allocator (glibc keeps one
heap per thread) and still counts as the process's memory until it is given
back; :func:`release_memory` gives it back between the steps of a run (at one
million buildings this lowers the peak by about 200 MB).
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

__all__ = ["elementwise", "query", "query_nearest", "release_memory", "threads"]

#: Arrays shorter than this per thread are not worth a thread.
MIN_CHUNK = 20_000


def threads() -> int:
    """Threads to use: ``TWIN_THREADS``, else the CPUs available to this process."""
    configured = os.environ.get("TWIN_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def release_memory() -> None:
    """Give memory freed by the allocators back to the operating system (Arrow's memory pool, and glibc's
    ``malloc_trim``).

    Costs well under a millisecond when there is nothing to give back; the C library's part does nothing
    where it has no ``malloc_trim`` (macOS, Windows).
    """
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def _bounds(n: int) -> list[tuple[int, int]]:
    parts = max(1, min(threads(), n // MIN_CHUNK))
    edges = np.linspace(0, n, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _map(work: Callable[[int, int], Any], n: int) -> list[Any]:
    bounds = _bounds(n)
    if len(bounds) == 1:
        return [work(*bounds[0])]
    with ThreadPoolExecutor(max_workers=len(bounds)) as pool:
        return list(pool.map(lambda bound: work(*bound), bounds))


def _build(tree: shapely.STRtree) -> None:
    """Make GEOS build the tree now, in this thread (it may defer that to the first query)."""
    tree.query(shapely.Point(0, 0))


def elementwise(function: Callable[..., np.ndarray], geometries: np.ndarray, **kwargs: Any) -> np.ndarray:
    """``function(geometries, **kwargs)`` for an element-wise shapely function, in chunks on all cores.

    >>> elementwise(shapely.area, shapely.box(0, 0, [1, 2], [1, 2])).tolist()
    [1.0, 4.0]
    """
    parts = _map(lambda a, b: function(geometries[a:b], **kwargs), len(geometries))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def query(tree: shapely.STRtree, geometries: np.ndarray, *, predicate: str | None = None,
          distance: float | None = None) -> np.ndarray:
    """``tree.query(geometries, predicate=..., distance=...)`` in chunks on all cores; the same pairs in the same order.

    >>> tree = shapely.STRtree(shapely.points([0, 10], [0, 0]))
    >>> query(tree, shapely.points([1, 9], [0, 0]), predicate="dwithin", distance=2).tolist()
    [[0, 1], [0, 1]]
    """
    _build(tree)

    def work(a: int, b: int) -> np.ndarray:
        pairs = tree.query(geometries[a:b], predicate=predicate, distance=distance)
        pairs[0] += a
        return pairs

    parts = _map(work, len(geometries))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def query_nearest(tree: shapely.STRtree, geometries: np.ndarray, *, max_distance: float | None = None,
                  all_matches: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``tree.query_nearest(geometries, return_distance=True, ...)`` in chunks on all cores.

    Returns the ``(2, n)`` index pairs and the distances, as one call on the whole array would.
    """
    _build(tree)

    def work(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        pairs, distances = tree.query_nearest(geometries[a:b], return_distance=True, max_distance=max_distance,
                                              all_matches=all_matches)
        pairs[0] += a
        return pairs, distances

    parts = _map(work, len(geometries))
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p for p, _ in parts], axis=1), np.concatenate([d for _, d in parts])
