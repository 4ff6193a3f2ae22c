"""Checks of the values given to the analyst's API: codes by code or label, shares, distances, layer names.

A wrong value raises :class:`twin.errors.ArgumentError` (a ``ValueError``) naming the valid values, instead
of returning an empty or a full answer that looks real.

>>> from twin.model.value_labels import ROUTE_STATUS
>>> codes(("in service", "Gebaut", "planned"), ROUTE_STATUS, "statuses")
('in_service', 'built', 'planned')
>>> share(0.5, "share")
0.5
>>> share(50, "share")
Traceback (most recent call last):
...
twin.errors.ArgumentError: share: 50 is not a share; give a share from 0 to 1 (0.5 for 50 %)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping

from twin.errors import ArgumentError
from twin.model.value_labels import Text

__all__ = ["codes", "distance", "number", "one_of", "share"]


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").casefold().split())


def _accepted(labels: Mapping[str, Text]) -> dict[str, str]:
    """Every accepted spelling (code, German and English label, short or long) -> code."""
    accepted: dict[str, str] = {}
    for code, texts in labels.items():
        for spelling in (code, *texts, *(t.split(": ", 1)[0] for t in texts)):
            accepted.setdefault(_key(spelling), code)
    return accepted


def codes(values: str | Iterable[str] | None, labels: Mapping[str, Text], what: str) -> tuple[str, ...] | None:
    """The codes of `values`, each given as its code or its German or English label (any case, ``_`` or space).

    One string counts as one value, and so does any other single value (refused as not a code);
    None stays None (no filter).

    Raises
    ------
    twin.errors.ArgumentError
        Naming every value that is none of them, and the valid codes with their labels.
    """
    if values is None:
        return None
    given = list(values) if isinstance(values, Iterable) and not isinstance(values, str) else [values]
    accepted = _accepted(labels)
    unknown = [v for v in given if not isinstance(v, str) or _key(v) not in accepted]
    if unknown:
        valid = ", ".join(f"{code} ({texts[1].split(': ', 1)[0]}, {texts[0].split(': ', 1)[0]})"
                          for code, texts in labels.items())
        raise ArgumentError(what, f"{', '.join(repr(v) for v in unknown)} is not a valid value",
                            fix=f"give any of {valid}")
    return tuple(dict.fromkeys(accepted[_key(v)] for v in given))


def number(value: object, what: str) -> float:
    """`value` as a float: a real number, not text, a bool or NaN."""
    return _number(value, what, "")


def _number(value: object, what: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise ArgumentError(what, f"{value!r} is not a number", fix=f"give a number{unit}")
    return float(value)


def share(value: object, what: str) -> float:
    """`value` as a share from 0 to 1; a percentage, text or NaN is refused."""
    number = _number(value, what, " from 0 to 1 (0.5 for 50 %)")
    if not 0.0 <= number <= 1.0:
        raise ArgumentError(what, f"{value!r} is not a share", fix="give a share from 0 to 1 (0.5 for 50 %)")
    return number


def distance(value: object, what: str, *, positive: bool = False) -> float:
    """`value` as a distance in metres: a finite number, not negative (above zero with `positive`)."""
    number = _number(value, what, " of metres")
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "above 0" if positive else "0 or more"
        raise ArgumentError(what, f"{value!r} m is not a usable distance", fix=f"give a finite number of metres {bound}")
    return number


def one_of(value: object, valid: Iterable[str], what: str) -> str:
    """`value` when it is one of `valid`; else an error naming them."""
    names = list(valid)
    if not isinstance(value, str) or value not in names:
        raise ArgumentError(what, f"{value!r} is not one of them", fix=f"give one of {', '.join(names)}")
    return value
