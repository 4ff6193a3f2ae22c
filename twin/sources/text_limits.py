"""Reading limits for text tables: one file must not take the machine's memory or the night.

A delimited text file is checked as a stream before a parser sees it: it must
be a regular file (not a device such as ``/dev/zero``, a pipe or a socket), no
line may be longer than :data:`MAX_LINE_BYTES` and the header may have at most
:data:`MAX_COLUMNS` columns. Parsers hold a whole line, and a table's columns,
in memory many times over: a header of 100,000 columns would take gigabytes.
"""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import RecordError, SourceError

__all__ = ["MAX_COLUMNS", "MAX_JSON_BYTES", "MAX_LINE_BYTES", "check_lines", "header_width", "read_head", "read_json"]

#: Longest line of a text table (bytes); capture metadata has lines of a few hundred bytes.
MAX_LINE_BYTES = 1024**2
#: Most columns a text table may have; vendor exports have a few dozen.
MAX_COLUMNS = 2_000
#: Largest JSON document read (bytes): parsed, JSON takes about ten times its size in memory.
MAX_JSON_BYTES = 256 * 1024**2
#: Bytes read at a time while checking lines.
_BLOCK = 4 * 1024**2


def _regular(path: Path, section: str) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise SourceError(str(path), f"cannot be read ({exc.strerror})", fix=f"check [{section}] path") from exc
    if not stat.S_ISREG(mode):
        raise SourceError(str(path), "is not a regular file (a device, pipe or socket)",
                          fix=f"give a file in [{section}] path")


def read_head(path: Path, size: int = 65536, *, section: str = "input") -> bytes:
    """The first `size` bytes of the regular file `path` (only those are read)."""
    _regular(path, section)
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise SourceError(str(path), f"cannot be read ({exc.strerror})", fix=f"check [{section}] path") from exc


def check_lines(path: Path, *, limit: int = MAX_LINE_BYTES, section: str = "input") -> None:
    """Refuse a file with a line longer than `limit` bytes, reading it as a stream (constant memory).

    Raises
    ------
    SourceError
        Naming the file, the line and its length, and the fix.
    """
    _regular(path, section)
    line, run = 1, 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            breaks = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A)
            starts = np.r_[0, breaks + 1]
            lengths = np.r_[breaks, len(block)] - starts
            lengths[0] += run
            longest = int(np.argmax(lengths))
            if lengths[longest] > limit:
                raise SourceError(f"{path.name}, line {line + longest:,}",
                                  f"is longer than {limit:,} bytes (a text table has lines of a few hundred)",
                                  fix="give the table with one row per line, not a binary or garbled file")
            line += len(breaks)
            run = int(lengths[-1])


def header_width(path: Path, *, skip: int, encoding: str, delimiter: str, limit: int = MAX_COLUMNS) -> int:
    """The number of columns of the header (line `skip` + 1); more than `limit` is refused.

    Call :func:`check_lines` first: lines are then known to be short enough to read.
    """
    with path.open("rb") as handle:
        for _ in range(skip):
            handle.readline(MAX_LINE_BYTES + 1)
        header = handle.readline(MAX_LINE_BYTES + 1).decode(encoding, errors="replace")
    try:
        width = len(next(csv.reader([header.rstrip("\r\n")], delimiter=delimiter), []))
    except csv.Error:
        width = header.count(delimiter) + 1
    if width > limit:
        raise SourceError(f"{path.name}, line {skip + 1}", f"has {width:,} columns, more than the {limit:,} a table may have",
                          fix="export only the columns the pipeline maps, or check [panoramas] delimiter")
    return width


def read_json(path: Path, *, limit: int = MAX_JSON_BYTES, section: str = "input", what: str = "document") -> Any:
    """The parsed JSON of the regular file `path`, at most `limit` bytes and not nested too deep.

    Raises
    ------
    SourceError
        When the file is not a regular file, cannot be read or is larger than `limit`.
    RecordError
        When it is not valid JSON (the parser's message names line and column).
    """
    _regular(path, section)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise SourceError(str(path), f"cannot be read ({exc.strerror})", fix=f"check [{section}] path") from exc
    if len(data) > limit:
        raise SourceError(path.name, f"is larger than {limit // 1024**2} MB, the most a JSON {what} may hold",
                          fix="split it into several files or export it as CSV")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(path.name, f"is not valid JSON ({exc})", fix=f"export the {what} again") from exc
    except RecursionError as exc:
        raise RecordError(path.name, f"is not a {what} (arrays or objects nested too deep)",
                          fix=f"export the {what} again") from exc
