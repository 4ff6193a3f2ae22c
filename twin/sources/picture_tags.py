"""The geotags of one camera picture: EXIF through exifread, XMP through a hardened XML parser.

What is read, per picture, and where from (first found wins):

- position: EXIF ``GPSLatitude``/``GPSLongitude`` (+ ``GPSAltitude``), else the same
  tags in the XMP packet (``exif:GPSLatitude="49,26.682N"``, as 360° cameras and
  photo editors write them);
- GPS time (UTC): EXIF ``GPSDateStamp`` + ``GPSTimeStamp``, else XMP ``exif:GPSTimeStamp``;
- camera time: EXIF ``DateTimeOriginal`` with ``SubSecTimeOriginal`` (or a fraction
  written in the time itself) and ``OffsetTimeOriginal``, else XMP ``exif:DateTimeOriginal``;
- heading (degrees from true north) and where it comes from: GPano ``PoseHeadingDegrees``
  unless it is 0 (GoPro MAX and other 360° cameras write 0 as a placeholder), else
  ``GPSImgDirection``, else ``GPSTrack`` (EXIF, else XMP); a magnetic reference (``M``)
  is not used, as the declination is unknown;
- GPano ``PosePitchDegrees``, ``PoseRollDegrees``, ``ProjectionType``.

Pillow opens the picture only to check its header (a header that claims more pixels
than Pillow's decompression-bomb limit is refused) and to find the XMP packet; no
pixel is decoded. The XMP packet is parsed with defusedxml: a packet with a DOCTYPE
(where entities are declared: billion laughs, external entities) is refused.
"""

from __future__ import annotations

import math
import re
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import defusedxml
import exifread
from defusedxml import ElementTree
from PIL import Image, UnidentifiedImageError

NS = {
    "GPano": "http://ns.google.com/photos/1.0/panorama/",
    "exif": "http://ns.adobe.com/exif/1.0/",
}
#: Where a heading comes from: ``[panoramas]`` model field ``heading_source``.
POSE, IMAGE_DIRECTION, GPS_TRACK = "pose", "image_direction", "gps_track"

_XMP_COORD = re.compile(r"^\s*(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$", re.IGNORECASE)
_EXIF_TIME = re.compile(r"^\s*(\d{4}):(\d\d):(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?\s*$")
_OFFSET = re.compile(r"^\s*([+-]\d\d):?(\d\d)\s*$")


class PictureError(ValueError):
    """A picture that cannot be read: the message says why."""


def read_picture(path: Path) -> dict[str, Any]:
    """Position, times, heading and pose of one picture (see the module text); raises PictureError.

    Times are kept as text for the frame to parse at once: ``gps_time`` in UTC
    (``2018-06-08T20:24:11Z``), ``local_time`` as written by the camera
    (``2018-06-08 13:24:10.5``) with its ``offset`` (``-07:00``) when the camera wrote one.
    """
    xmp_bytes = _open(path)
    tags = _exif(path)
    xmp = _xmp(xmp_bytes) if xmp_bytes else {}
    lat, lon = _position(tags, "GPS GPSLatitude", "GPS GPSLongitude")
    if lat is None or lon is None:
        lat, lon = _xmp_coord(xmp.get("exif:GPSLatitude")), _xmp_coord(xmp.get("exif:GPSLongitude"))
    heading, source = _heading(tags, xmp)
    local, offset = _camera_time(tags, xmp)
    return {
        "image_name": path.name,
        "lat": float("nan") if lat is None else lat,
        "lon": float("nan") if lon is None else lon,
        "altitude_m": _altitude(tags, xmp),
        "gps_time": _gps_time(tags, xmp),
        "local_time": local,
        "offset": offset,
        "heading_deg": heading,
        "heading_source": source,
        "pitch_deg": _number(xmp.get("GPano:PosePitchDegrees")),
        "roll_deg": _number(xmp.get("GPano:PoseRollDegrees")),
        "projection": xmp.get("GPano:ProjectionType"),
    }


def _open(path: Path) -> bytes | None:
    """Check the picture's header with Pillow and return its XMP packet (None without one)."""
    try:
        with warnings.catch_warnings():
            # no pixel is decoded, so a large panorama under the hard limit is no danger; Pillow's warnings
            # about the EXIF block it parses on the side do not matter either: exifread reads the tags
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                xmp = image.info.get("xmp")
                image.verify()
    except Image.DecompressionBombError as exc:
        raise PictureError(f"its header claims more pixels than twin opens ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise PictureError("is not an image Pillow can identify") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PictureError(f"cannot be decoded ({exc or type(exc).__name__})") from exc
    return xmp if isinstance(xmp, bytes) and xmp else None


def _exif(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return dict(exifread.process_file(fh, details=False, extract_thumbnail=False))
    except (OSError, ValueError, KeyError, IndexError, TypeError, ZeroDivisionError) as exc:
        raise PictureError(f"has EXIF tags exifread cannot read ({exc or type(exc).__name__})") from exc


def _xmp(packet: bytes) -> dict[str, str]:
    """``prefix:name`` -> value of the GPano and exif properties, as attributes or elements."""
    try:
        root = ElementTree.fromstring(packet.strip(b"\x00 \r\n\t"), forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise PictureError(f"its XMP packet has a DOCTYPE ({type(exc).__name__}), which twin refuses: XML entities "
                           "can exhaust memory or read local files") from exc
    except ElementTree.ParseError as exc:
        raise PictureError(f"its XMP packet is not well-formed XML ({exc})") from exc
    wanted = {f"{{{uri}}}": prefix for prefix, uri in NS.items()}
    out: dict[str, str] = {}
    for element in root.iter():
        for key, value in [(element.tag, element.text), *element.attrib.items()]:
            if not isinstance(key, str) or value is None or "}" not in key:
                continue
            uri, name = key.split("}", 1)
            prefix = wanted.get(uri + "}")
            if prefix is not None and value.strip():
                out.setdefault(f"{prefix}:{name}", value.strip())
    return out


def _ratio(value: Any) -> float | None:
    try:
        return float(Fraction(str(value))) if not isinstance(value, (int, float)) else float(value)
    except (ValueError, ZeroDivisionError):
        return None


def _values(tags: dict[str, Any], key: str) -> list[Any]:
    tag = tags.get(key)
    values = getattr(tag, "values", None)
    return list(values) if isinstance(values, (list, tuple)) else ([] if values is None else [values])


def _text(tags: dict[str, Any], key: str) -> str | None:
    tag = tags.get(key)
    text = None if tag is None else str(tag.values if isinstance(tag.values, str) else tag).strip().strip("\x00")
    return text or None


def _position(tags: dict[str, Any], lat_key: str, lon_key: str) -> tuple[float | None, float | None]:
    def dms(key: str, negative: str) -> float | None:
        parts = [_ratio(v) for v in _values(tags, key)]
        if len(parts) != 3 or any(p is None for p in parts):
            return None
        deg = parts[0] + parts[1] / 60.0 + parts[2] / 3600.0  # type: ignore[operator]
        return -deg if (_text(tags, key + "Ref") or "").upper().startswith(negative) else deg

    return dms(lat_key, "S"), dms(lon_key, "W")


def _xmp_coord(text: str | None) -> float | None:
    """XMP GPSCoordinate ``DDD,MM,SSk`` or ``DDD,MM.mmk``."""
    found = _XMP_COORD.match(text or "")
    if not found:
        return None
    deg = float(found[1]) + float(found[2]) / 60.0 + float(found[3] or 0) / 3600.0
    return -deg if found[4].upper() in "SW" else deg


def _altitude(tags: dict[str, Any], xmp: dict[str, str]) -> float:
    values = _values(tags, "GPS GPSAltitude")
    value = _ratio(values[0]) if values else _ratio(xmp.get("exif:GPSAltitude")) if xmp.get("exif:GPSAltitude") else None
    if value is None:
        return float("nan")
    ref = _values(tags, "GPS GPSAltitudeRef") or [xmp.get("exif:GPSAltitudeRef", "0")]
    return -value if str(ref[0]).strip() in ("1", "b'\\x01'") else value


def _gps_time(tags: dict[str, Any], xmp: dict[str, str]) -> str | None:
    """GPS date and time of day as ISO 8601 UTC, seconds with their fraction."""
    date = _text(tags, "GPS GPSDate") or _text(tags, "GPS GPSDateStamp")
    hms = [_ratio(v) for v in _values(tags, "GPS GPSTimeStamp")]
    found = re.fullmatch(r"(\d{4})[:-](\d\d)[:-](\d\d)", date or "")
    if found and len(hms) == 3 and None not in hms:
        h, m, s = hms
        if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):  # type: ignore[operator]
            return None
        return f"{found[1]}-{found[2]}-{found[3]}T{int(h):02d}:{int(m):02d}:{s:09.6f}Z"  # type: ignore[arg-type]
    text = xmp.get("exif:GPSTimeStamp")
    return text if text and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", text) and text.endswith(("Z", "+00:00")) else None


def _camera_time(tags: dict[str, Any], xmp: dict[str, str]) -> tuple[str | None, str | None]:
    """``DateTimeOriginal`` (with its sub-seconds) as ``YYYY-MM-DD HH:MM:SS[.f]``, and its UTC offset."""
    text = _text(tags, "EXIF DateTimeOriginal")
    found = _EXIF_TIME.match(text or "")
    if found:
        fraction = found[7] or ""
        sub = re.sub(r"\D", "", _text(tags, "EXIF SubSecTimeOriginal") or "")
        if not fraction and sub:
            fraction = "." + sub
        offset = _OFFSET.match(_text(tags, "EXIF OffsetTimeOriginal") or "")
        local = f"{found[1]}-{found[2]}-{found[3]} {found[4]}:{found[5]}:{found[6]}{fraction}"
        return local, f"{offset[1]}:{offset[2]}" if offset else None
    iso = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:?\d\d)?$", xmp.get("exif:DateTimeOriginal", ""))
    if iso:
        zone = iso[3]
        return f"{iso[1]} {iso[2]}", ("+00:00" if zone == "Z" else zone) if zone else None
    return None, None


def _heading(tags: dict[str, Any], xmp: dict[str, str]) -> tuple[float, str | None]:
    """Heading from true north and its source; GPano's pose 0 is taken as a placeholder."""
    pose = _number(xmp.get("GPano:PoseHeadingDegrees"))
    if math.isfinite(pose) and pose != 0.0:
        return pose, POSE
    for name, source in (("GPSImgDirection", IMAGE_DIRECTION), ("GPSTrack", GPS_TRACK)):
        values = _values(tags, f"GPS {name}")
        value = _ratio(values[0]) if values else _ratio(xmp[f"exif:{name}"]) if f"exif:{name}" in xmp else None
        ref = (_text(tags, f"GPS {name}Ref") or xmp.get(f"exif:{name}Ref") or "T").upper()
        if value is not None and ref.startswith("T") and 0.0 <= value <= 360.0:
            return value, source
    return float("nan"), None


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
