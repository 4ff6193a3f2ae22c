"""Picture tag readers on the test corpus: twin's (exifread + defusedxml) against geopic-tag-reader.

``python benchmarks/picture_tags.py`` reads every picture of ``tests/data/pictures``
and an 8K equirectangular JPEG written here with the tags of the GoPro MAX
picture, 100 times each, with both readers, and prints the time per 100
pictures and what each read against the values the source projects assert
(``tests/data/README.md``). geopic-tag-reader (the reader behind Panoramax) is
no dependency of twin: install it beside twin to compare
(``pip install geopic-tag-reader``).
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from twin.sources.picture_tags import PictureError, read_picture

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "pictures"
Tags = tuple[str | None, float, float, float | None, float]
#: name -> (UTC time, latitude, longitude, heading from true north or None, altitude), as the sources assert them
EXPECTED: dict[str, Tags] = {
    "DSC00001.JPG": ("2018-06-08T20:24:11", 45.5169031, -122.572765, 270.89, 70.3),
    "DSC00497.JPG": ("2018-06-08T20:32:28", 45.5107231, -122.5760514, 271.27, 77.5),
    "GS__8682.JPG": ("2021-12-19T17:11:53", 51.2723833, -0.8458806, None, 123.919),
    "adobe_coords.jpg": ("2019-07-16T10:26:11", -0.0702668, 34.3819352, 176.3, 1361.69),
}
REPEAT = 100


def _twin(path: Path) -> Tags:
    try:
        tags = read_picture(path)
    except PictureError as exc:
        return f"refused: {exc}", float("nan"), float("nan"), None, float("nan")
    when = tags["gps_time"] or tags["local_time"]  # twin's frame applies the offset or zone; UTC in this corpus
    heading = tags["heading_deg"]
    return (str(when)[:19].replace(" ", "T"), tags["lat"], tags["lon"],
            None if math.isnan(heading) else heading, tags["altitude_m"])


def _geopic(path: Path) -> Tags:
    from geopic_tag_reader import reader  # not a dependency of twin

    try:
        tags = reader.readPictureMetadata(path.read_bytes())
    except (reader.PartialExifException, reader.InvalidExifException) as exc:
        return f"refused: {exc}", float("nan"), float("nan"), None, float("nan")
    when = tags.ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") if tags.ts else None
    heading = None if tags.heading is None else float(tags.heading)
    return when, tags.lat, tags.lon, heading, float("nan") if tags.altitude is None else float(tags.altitude)


def _large(folder: Path) -> Path:
    """An 8K equirectangular JPEG (7680 x 3840, a gradient with noise, about 6 MB) with the GoPro MAX picture's tags."""
    source = Image.open(CORPUS / "GS__8682.JPG")
    gradient = np.linspace(0, 200, 7680, dtype=np.float32)[None, :, None]
    noise = np.random.default_rng(1).integers(0, 40, (3840, 7680, 3)).astype(np.float32)
    noise = (gradient + noise).astype(np.uint8)
    path = folder / "GS__8682_8k.JPG"
    Image.fromarray(noise).save(path, exif=source.info["exif"], xmp=source.info["xmp"], quality=85)
    return path


def _time(read: Callable[[Path], Any], path: Path) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(REPEAT):
            read(path)
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def _verdict(got: Tags, want: Tags) -> str:
    if got[0] and got[0].startswith("refused"):
        return got[0][:70]
    wrong = []
    if got[0] != want[0]:
        wrong.append(f"time {got[0]}")
    if not (abs(got[1] - want[1]) < 1e-6 and abs(got[2] - want[2]) < 1e-6):
        wrong.append("position")
    if (got[3] is None) != (want[3] is None) or (got[3] is not None and abs(got[3] - want[3]) > 1e-6):  # type: ignore[operator]
        wrong.append(f"heading {got[3]}")
    if not abs(got[4] - want[4]) < 1e-6:
        wrong.append(f"altitude {got[4]}")
    return "all right" if not wrong else "wrong: " + ", ".join(wrong)


def main() -> None:
    """Print a Markdown table: ms per 100 pictures and what each reader read, per picture."""
    readers: dict[str, Callable[[Path], Any]] = {"twin (exifread)": _twin}
    try:
        import geopic_tag_reader  # noqa: F401
    except ImportError:
        print("geopic-tag-reader is not installed: twin's reader only")
    else:
        readers["geopic-tag-reader"] = _geopic
    with tempfile.TemporaryDirectory() as folder:
        large = _large(Path(folder))
        paths = [*sorted(CORPUS.glob("*")), large]
        print("| picture | size | " + " | ".join(f"{name}: ms / 100, read" for name in readers) + " |")
        print("|---|---|" + "---|" * len(readers))
        for path in paths:
            want = EXPECTED.get(path.name.replace("_8k", ""))
            cells = []
            for read in readers.values():
                verdict = _verdict(read(path), want) if want else ""
                cells.append(f"{_time(read, path):.0f}, {verdict}")
            print(f"| {path.name} | {path.stat().st_size / 1e3:.0f} kB | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
