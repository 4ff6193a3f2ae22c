"""GDAL configuration options set for the length of a block, and put back as they were after it.

GDAL's options are process-wide; twin sets them only around its own reads and writes.

>>> import pyogrio
>>> with gdal_options({"CPL_DEBUG": "OFF"}):
...     pyogrio.get_gdal_config_option("CPL_DEBUG")
False
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import pyogrio

__all__ = ["gdal_options"]


@contextlib.contextmanager
def gdal_options(options: Mapping[str, str]) -> Iterator[None]:
    """Set the GDAL configuration `options` while the block runs; the settings before are put back."""
    before = {key: pyogrio.get_gdal_config_option(key) for key in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)
