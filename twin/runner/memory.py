"""Hand memory freed by the libraries back to the system before the client's largest step.

A process's resident memory keeps the peak of earlier steps: Arrow's memory pool
and the C library's allocator keep freed memory for reuse. Before the dask
engine's client streams the region into the GeoPackage, the memory its earlier
steps freed is returned, so that the peak of the write does not come on top of it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

import pyarrow as pa

__all__ = ["release_memory"]


def release_memory() -> None:
    """Collect garbage, and return the unused memory of Arrow's pool and of the C allocator (glibc) to the system."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return
    trim(0)
