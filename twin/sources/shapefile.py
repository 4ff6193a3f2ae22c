"""Shapefiles as offices hand them over: checked for completeness, their text encoding found.

A Shapefile is several files (``.shp`` geometry, ``.shx`` index, ``.dbf``
attributes, ``.prj`` CRS, ``.cpg`` encoding), loose in a folder or packed in a
``.zip`` (as the state's download service delivers them). GDAL reads a file cut
short by an interrupted copy without complaint, up to where it ends: half the
city would vanish from the model. :func:`check_complete` compares the sizes the
headers declare with the bytes present; :func:`choose_encoding` finds the
encoding of the attributes where no ``.cpg`` names it (German offices mostly
write cp1252).
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from twin.errors import SourceError
from twin.sources.encodings import EncodingAmbiguityError, detect

__all__ = ["check_complete", "choose_encoding", "gdal_path", "has_cpg", "is_shapefile"]

log = logging.getLogger(__name__)

#: Largest ``.prj`` read (bytes): a CRS in WKT takes one or two kB; GDAL reads the whole file line by line.
MAX_PRJ_BYTES = 64 * 1024
#: Largest ``.cpg`` read (bytes): it names an encoding.
MAX_CPG_BYTES = 1024

_SINGLE_BYTE = {"cp1252", "latin-1", "iso8859-1", "iso8859-15", "iso8859-2", "cp850", "cp437"}


@dataclass(frozen=True)
class _Part:
    """One file of a Shapefile, loose or inside a zip archive."""

    name: str
    size: int
    archive: Path | None = None

    @contextlib.contextmanager
    def open(self, folder: Path) -> Iterator[IO[bytes]]:
        if self.archive is None:
            with (folder / self.name).open("rb") as handle:
                yield handle
        else:
            with zipfile.ZipFile(self.archive) as archive, archive.open(self.name) as handle:
                yield handle


def is_shapefile(path: Path) -> bool:
    """Whether `path` is a ``.shp`` or a zip archive holding one."""
    return path.suffix.lower() == ".shp" or (path.suffix.lower() == ".zip" and bool(_parts(path)))


def gdal_path(path: Path) -> str:
    """The path GDAL opens: a zip archive's Shapefile by its place inside (GDAL looks only at the top)."""
    parts = _parts(path) if path.suffix.lower() == ".zip" else {}
    if ".shp" not in parts:
        return str(path)
    return f"/vsizip/{path}/{parts['.shp'].name}"


def _parts(path: Path) -> dict[str, _Part]:
    """The files of the Shapefile `path` (its first ``.shp`` for a zip) by lower-case suffix."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
        except (OSError, zipfile.BadZipFile) as exc:
            raise SourceError(path.name, f"is not a readable zip archive ({exc})", fix="download or copy it again") from exc
        shp = sorted((i for i in infos if i.filename.lower().endswith(".shp")), key=lambda i: i.filename)
        if not shp:
            return {}
        stem = shp[0].filename[:-4].lower()
        return {i.filename[-4:].lower(): _Part(i.filename, i.file_size, path) for i in infos
                if i.filename[:-4].lower() == stem}
    if path.suffix.lower() != ".shp":
        return {}
    found = {}
    for sibling in path.parent.glob(f"{_glob_escape(path.stem)}.*"):
        if sibling.stem == path.stem and sibling.is_file():
            found[sibling.suffix.lower()] = _Part(sibling.name, sibling.stat().st_size)
    return found


def _glob_escape(text: str) -> str:
    """`text` with the characters glob patterns treat specially in brackets."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def check_complete(path: Path, *, section: str = "input") -> None:
    """Refuse a Shapefile whose ``.dbf`` or ``.shx`` is missing or whose files are cut short.

    Raises
    ------
    SourceError
        Naming the file, what is missing (``holds 180 of 366 records``) and the fix.
    """
    parts = _parts(path)
    if not parts:
        return
    folder = path.parent
    for suffix in (".dbf", ".shx"):
        if suffix not in parts:
            raise SourceError(f"{Path(parts['.shp'].name).stem}{suffix}", "missing beside the .shp",
                              fix="copy the whole Shapefile (.shp, .shx, .dbf, .prj, .cpg) together")
    for suffix, limit, names in ((".prj", MAX_PRJ_BYTES, "crs"), (".cpg", MAX_CPG_BYTES, "encoding")):
        if suffix in parts and parts[suffix].size > limit:
            raise SourceError(Path(parts[suffix].name).name,
                              f"holds {parts[suffix].size:,} bytes; a {suffix} file has at most {limit:,}",
                              fix=f"replace it with the {suffix} that came with the data (or delete it and set "
                                  f"[{section}] {names})")
    for suffix in (".shp", ".shx"):
        part = parts[suffix]
        with part.open(folder) as handle:
            head = handle.read(100)
        declared = int.from_bytes(head[24:28], "big") * 2 if len(head) >= 28 else None
        if declared is None or part.size < declared:
            raise SourceError(Path(part.name).name, f"holds {part.size:,} of {declared or 100:,} bytes (file truncated?)",
                              fix=f"copy the Shapefile again, then check [{section}]")
    dbf = parts[".dbf"]
    with dbf.open(folder) as handle:
        head = handle.read(12)
    if len(head) < 12:
        raise SourceError(Path(dbf.name).name, "has no complete header (file truncated?)", fix="copy the Shapefile again")
    records = int.from_bytes(head[4:8], "little")
    header, length = int.from_bytes(head[8:10], "little"), int.from_bytes(head[10:12], "little")
    present = (dbf.size - header) // length if length else records
    if present < records:
        raise SourceError(Path(dbf.name).name, f"holds {max(present, 0):,} of {records:,} records (file truncated?)",
                          fix="copy the Shapefile again")


#: Bytes of text around non-ASCII characters given to the encoding detector.
_SAMPLE_BYTES = 256 * 1024


def choose_encoding(path: Path, configured: str | None) -> str | None:
    """The attribute encoding of a Shapefile: the pipeline's, else its ``.cpg``, else detected.

    The bytes of the ``.dbf`` are the final judge of UTF-8: text that is valid, non-ASCII UTF-8
    is read as UTF-8, with a warning when a single-byte encoding was declared. Text that is not
    UTF-8 is read in the declared code page, else in the one :func:`twin.sources.encodings.detect`
    finds (cp1252, cp1250, cp1251, ...), with a warning where UTF-8 was declared. Other formats
    declare their encoding and get `configured` back unchanged.
    """
    parts = _parts(path)
    if not parts:
        return configured
    declared = _codec(configured or _cpg(path, parts))
    evidence, sample = _dbf_evidence(path, parts)
    if evidence == "ascii" or evidence is None:
        return declared or "utf-8"
    name = (declared or "").strip().lower()
    if evidence == "utf-8" and (not declared or name in _SINGLE_BYTE):
        if declared:
            log.warning("%s: the text is UTF-8, not %s as declared; reading it as UTF-8", path.name, declared)
        return "utf-8"
    if evidence != "utf-8" and (not declared or name in ("utf-8", "utf8")):
        try:
            found = detect(sample)
        except EncodingAmbiguityError as exc:
            raise SourceError(path.name, str(exc), fix=f"name it with encoding in the pipeline file, e.g. "
                              f"encoding = \"{exc.encodings[0]}\"") from exc
        if found is None or found == "utf-8":
            raise SourceError(path.name, "text in no code page twin knows",
                              fix="name it with encoding in the pipeline file (e.g. cp1250)")
        if declared:
            log.warning("%s: the text is not UTF-8 as declared; reading it as %s", path.name, found)
        else:
            log.info("%s: no encoding declared; the text reads as %s", path.name, found)
        return found
    return declared


def has_cpg(path: Path) -> bool:
    """Whether the Shapefile `path` names its encoding in a ``.cpg``."""
    return ".cpg" in _parts(path)


def _codec(name: str | None) -> str | None:
    """The Python codec of an encoding name as ``.cpg`` files write it (``1252``, ``88591``, ``ANSI 1252``)."""
    if not name:
        return None
    text = name.strip().lower().replace("ansi ", "")
    text = {"88591": "latin1", "885915": "iso-8859-15"}.get(text, text)
    if text.isdigit():
        text = f"cp{text}"
    try:
        return codecs.lookup(text).name
    except LookupError:
        log.warning("encoding %r is not known; detecting it from the file", name)
        return None


def _cpg(path: Path, parts: dict[str, _Part]) -> str | None:
    if ".cpg" not in parts:
        return None
    with parts[".cpg"].open(path.parent) as handle:
        text = handle.read(256).decode("ascii", errors="replace").strip()
    return text or None


def _dbf_evidence(path: Path, parts: dict[str, _Part], *, chunk: int = 1 << 22) -> tuple[str | None, bytes]:
    """``'ascii'``, ``'utf-8'`` or ``'other'`` judged from the bytes of the ``.dbf``, and its text around
    the first non-ASCII characters (for the detector)."""
    if ".dbf" not in parts:
        return None, b""
    decoder = codecs.getincrementaldecoder("utf-8")()
    non_ascii = False
    sample = bytearray()
    with parts[".dbf"].open(path.parent) as handle:
        head = handle.read(32)
        skip = int.from_bytes(head[8:10], "little") - len(head) if len(head) >= 10 else 0
        handle.read(max(skip, 0))
        utf8 = True
        while block := handle.read(chunk):
            data = np.frombuffer(block, dtype=np.uint8)
            high = np.flatnonzero(data > 127)
            if not len(high):
                continue
            non_ascii = True
            if len(sample) < _SAMPLE_BYTES:  # the text around the first non-ASCII bytes, for the detector
                for start in high[np.r_[True, np.diff(high) > 64]][:2000]:
                    sample += block[max(start - 48, 0):start + 48] + b" "
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if not non_ascii:
        return "ascii", b""
    return ("utf-8" if utf8 else "other"), bytes(sample)
