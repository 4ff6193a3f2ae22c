"""What the value of a setting may be: numbers within their ranges, text encodings, time zones,
delimiters, ``strptime`` patterns, and CRSs (the model's projected and in metres).

Each check returns what is wrong, or ``''``; :mod:`twin.config` collects them into one error.

>>> not_metric(pyproj.CRS("EPSG:25832")) is None
True
"""

from __future__ import annotations

import codecs
import datetime
import math
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pyproj

__all__ = ["crs_problem", "not_metric", "value_problem"]


def crs_problem(value: str, meta: Any) -> str:
    """What is wrong with a CRS setting ('' when pyproj knows it and, for the model's CRS, it is projected in metres)."""
    try:
        crs = pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError:
        return "is not a CRS pyproj knows (write e.g. 'EPSG:25832')"
    if meta.get("projected") and (wrong := not_metric(crs)):
        return (f"{wrong}; use the town's projected CRS in metres, its ETRS89/UTM zone (EPSG:25832 for "
                "Rheinland-Pfalz) or national CRS (e.g. EPSG:5514, 2180, 2056)")
    return ""


def _out_of_range(value: float, meta: Any) -> str:
    """What is wrong with a number outside its setting's bounds ('' when it fits)."""
    if meta.get("within") is None:
        return ""
    low, high = meta["within"]
    unit = f" {meta['unit']}" if meta.get("unit") and meta["unit"] != "share" else ""
    bounds = f"{'above' if meta.get('above') else 'from'} {_number(low)} {'up to' if meta.get('above') else 'to'} {_number(high)}{unit}"
    if not math.isfinite(value):
        return f"give a finite number {bounds}"
    if value < low or value > high or (meta.get("above") and value == low):
        return f"out of range; give a number {bounds}"
    return ""


def _number(value: float) -> str:
    """A bound as people write it: ``0.5``, ``86,400``."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _bad_text(value: str, meta: Any) -> str:
    """What is wrong with a text setting checked by its kind (encoding, timezone, delimiter, pattern)."""
    check = meta.get("check")
    if check == "encoding":
        return _bad_encoding(value)
    if check == "timezone":
        return _bad_timezone(value)
    if check == "delimiter" and (len(value) != 1 or value.isalnum() or value in "\"\r\n.'"):
        return "the delimiter is one character such as ',', ';', '\\t' or '|'"
    if meta.get("pattern") and "%" in value:
        return _bad_pattern(value)
    return ""


def _bad_encoding(name: str) -> str:
    try:
        info = codecs.lookup(name)
    except LookupError:
        return "not a text encoding Python knows; write e.g. 'cp1252', 'latin-1' or 'utf-8'"
    if not info._is_text_encoding or "abc".encode(info.name, errors="strict") != b"abc":  # rot13, base64, utf-16
        return "not an encoding of attribute text; write e.g. 'cp1252', 'latin-1' or 'utf-8'"
    return ""


def _bad_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return "not a time zone of the IANA database; write e.g. 'Europe/Berlin' or 'UTC'"
    return ""


#: An instant every date pattern can write and read back (seconds and fractions distinct).
_PATTERN_PROBE = datetime.datetime(2023, 5, 16, 8, 12, 3, 250000, tzinfo=datetime.UTC)


def _bad_pattern(pattern: str) -> str:
    """'' when `pattern` writes a date and reads it back (strptime), else what to do."""
    fix = "not a valid strptime pattern; write e.g. '%d.%m.%Y %H:%M:%S'"
    try:
        written = _PATTERN_PROBE.strftime(pattern)
        read_back = datetime.datetime.strptime(written, pattern)
    except (ValueError, TypeError, OverflowError):
        return fix
    if read_back.year != _PATTERN_PROBE.year or read_back.month != 5 or read_back.day != 16:
        return "the pattern must hold the date (%Y, %m, %d or the like); write e.g. '%d.%m.%Y %H:%M:%S'"
    return ""


def not_metric(crs: pyproj.CRS) -> str | None:
    """Why `crs` cannot be the model's CRS (areas, lengths and distances in metres), or None when it can.

    >>> not_metric(pyproj.CRS("EPSG:25832")) is None
    True
    >>> not_metric(pyproj.CRS("EPSG:3857"))
    'is a Mercator projection (Web Mercator), whose metres grow away from the equator (areas 2.4 times too large at 50° N)'
    """
    if not crs.is_projected:
        return "is not projected (its coordinates are degrees)" if crs.is_geographic else "is not a projected CRS"
    units = {axis.unit_name for axis in crs.axis_info}
    if units - {"metre", "meter"}:
        return f"measures in {', '.join(sorted(units))}, not metres"
    method = crs.coordinate_operation.method_name.lower() if crs.coordinate_operation else ""
    if "mercator" in method and not {"transverse", "oblique"} & set(method.replace("(", " ").split()):
        return "is a Mercator projection (Web Mercator), whose metres grow away from the equator (areas 2.4 times " \
               "too large at 50° N)"
    return None


def value_problem(value: Any, meta: Any) -> str:
    """What is wrong with a number outside its bounds or a text setting of a checked kind ('' when it fits)."""
    return _out_of_range(value, meta) if isinstance(value, int | float) else _bad_text(value, meta)


#: Folder beside the pipeline file that holds the copies of inputs given as fsspec URLs (``s3://``, ``gs://``, ...).
REMOTE_FOLDER = ".twin-inputs"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")


def url_parts(text: str) -> tuple[str, str] | None:
    """The protocol and the rest of an fsspec URL (``("s3", "bucket/key")``), or None for a plain path."""
    found = _URL.match(text)
    if found is None or len(found.group(1)) < 2:  # "C://..." is a Windows drive, not a protocol
        return None
    return found.group(1).lower(), found.group(2)


def remote_copy(base: Path, protocol: str, rest: str) -> Path:
    """Where the copy of ``protocol://rest`` lives: ``<base>/.twin-inputs/<protocol>/<rest>``."""
    return base / REMOTE_FOLDER / protocol / rest.lstrip("/")


def copied_url(path: Path, base: Path) -> str | None:
    """The URL whose copy is `path` (see :func:`remote_copy`), or None when `path` is no such copy."""
    root = base / REMOTE_FOLDER
    if root not in path.parents:
        return None
    protocol, *rest = path.relative_to(root).parts
    return f"{protocol}://{'/'.join(rest)}"
