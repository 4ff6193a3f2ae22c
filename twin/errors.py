"""The one exception hierarchy of twin.

Every error a user can cause derives from :class:`InputError` and makes the
command line exit with code 2; an error message is one line naming the place
(file, layer, row, column), what is wrong and what to do.

>>> str(SchemaError("capture.csv", "column 'GPSTime' is missing", fix="map it in [panoramas.columns]"))
"capture.csv: column 'GPSTime' is missing; map it in [panoramas.columns]"
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ArgumentError",
    "ConfigError",
    "CrsError",
    "GeometryError",
    "InputError",
    "LayerError",
    "LockError",
    "NotFoundError",
    "OutputError",
    "PublishError",
    "RecordError",
    "SchemaError",
    "SourceError",
    "TwinError",
]


class TwinError(Exception):
    """Base class of every error raised by twin on purpose.

    Parameters
    ----------
    place
        Where the problem is: a file name, optionally followed by layer,
        row and column (``"capture.csv, row 12, column GPSTime"``).
    problem
        What is wrong.
    fix
        What the user can do about it.
    """

    exit_code = 1

    def __init__(self, place: str, problem: str = "", *, fix: str = "") -> None:
        self.place = place
        self.problem = problem
        self.fix = fix
        text = f"{place}: {problem}" if problem else place
        if fix:
            text = f"{text}; {fix}"
        super().__init__(" ".join(text.split()))


class InputError(TwinError):
    """Bad input or configuration (exit code 2)."""

    exit_code = 2


class ConfigError(InputError, ValueError):
    """The pipeline file is wrong: unknown key, bad value, missing file."""


class SourceError(InputError, OSError):
    """An input file is missing, unreadable or corrupt."""


class LayerError(SourceError):
    """A layer of an input file cannot be used."""


class CrsError(LayerError, ValueError):
    """A layer has no CRS, an unknown CRS, or coordinates that do not fit it."""


class SchemaError(LayerError, KeyError):
    """Columns are missing or have the wrong type."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class GeometryError(LayerError, ValueError):
    """Geometries cannot be used at all (not merely repaired)."""


class RecordError(LayerError, ValueError):
    """Values in one or more rows cannot be read."""


class ArgumentError(InputError, ValueError):
    """A value given to the analyst's API cannot be used (a wrong unit, an ambiguous name)."""


class NotFoundError(InputError, KeyError):
    """A layer, feature or node named in a call is not in the model."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class OutputError(InputError, OSError):
    """The output cannot be written where it is: the path names an input, a folder or a file twin keeps
    for another output; the folder is read-only or full; another program has the model open for editing."""


class PublishError(TwinError):
    """The output could not be written or failed its checks."""


class LockError(TwinError):
    """Another run holds the lock on the output (exit code 3)."""

    exit_code = 3


def row_examples(rows: Sequence[object], *, total: int | None = None, limit: int = 5, noun: str = "row") -> str:
    """Describe offending rows as ``"3 rows, e.g. 4, 7, 9"``.

    >>> row_examples([4, 7, 9, 12, 15, 20, 31])
    '7 rows, e.g. 4, 7, 9, 12, 15'
    >>> row_examples([2], noun="feature")
    'feature 2'
    """
    count = len(rows) if total is None else total
    if count == 1:
        return f"{noun} {rows[0]}"
    shown = ", ".join(str(r) for r in list(rows)[:limit])
    return f"{count} {noun}s, e.g. {shown}"
