"""Log formatting (text or JSON lines) and progress that stays quiet without a terminal."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

Progress = Callable[[str, int, int], None]

#: Characters a terminal acts on instead of showing: C0 and C1 controls (escape sequences, newlines),
#: line and paragraph separators, and the marks that reorder text (bidirectional overrides and isolates).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    r"""`text` with every character a terminal would act on written as an escape, so it stays one line.

    >>> print(printable("trench\x1b[2J\nfibre: 999 km"))
    trench\x1b[2J\nfibre: 999 km
    >>> print(printable("Straße \u202egnilbaC"))
    Straße \u202egnilbaC
    """
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def json_line(entry: dict[str, Any]) -> str:
    """`entry` as one JSON line; characters a terminal acts on are JSON escapes (``\\u202e``), others stay."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """``LEVEL message``, with the message made :func:`printable` (a traceback under it stays as it is)."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - the logging API's name
        return printable(super().formatMessage(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for schedulers and log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("run_id", "event", "counts", "exit_code"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json_line(entry)


def setup_logging(*, verbosity: int = 0, quiet: bool = False, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger once, for the command line only."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setLevel(level)  # also for libraries that set their own loggers' level (dask's distributed: INFO)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)


class TerminalProgress:
    """A progress display on a terminal (rich), nothing otherwise.

    Use as a context manager; the instance is the ``progress(stage, done, total)`` callback.
    """

    def __init__(self, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled and (stream or sys.stderr).isatty()
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._stream = stream or sys.stderr

    def __enter__(self) -> TerminalProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                 TimeElapsedColumn(), console=Console(file=self._stream), transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)
