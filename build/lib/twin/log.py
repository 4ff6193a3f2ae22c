"""Log formatting (text or JSON lines) and progress that stays quiet without a terminal."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

Progress = Callable[[str, int, int], None]


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
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(*, verbosity: int = 0, quiet: bool = False, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger once, for the command line only."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(levelname)s %(message)s"))
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
