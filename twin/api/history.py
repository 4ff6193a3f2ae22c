"""What changed in the model over time: the ``history`` layer, filtered by time, layer and feature."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any, Protocol

import pandas as pd

from twin.errors import ArgumentError, NotFoundError
from twin.model import LAYERS
from twin.transforms.changes import CHANGE_LAYERS

__all__ = ["history", "since_time"]

#: What ``since`` accepts, as the refusal names it.
ACCEPTED = ("a datetime.date, a datetime.datetime or an ISO 8601 text such as '2026-03-01' or "
            "'2026-03-01T08:00:00+01:00' (without a zone: UTC)")


class _Model(Protocol):
    """What :func:`history` needs of a :class:`~twin.api.CityModel`."""

    def layer(self, name: str) -> Any: ...


def history(
    model: _Model, since: dt.date | dt.datetime | str | None = None, layer: str | None = None,
    feature: str | None = None,
) -> pd.DataFrame:
    """Every change the runs recorded, oldest first, with old and new value of each changed field.

    Parameters
    ----------
    since
        Only changes found by runs that started at or after this time: a ``datetime.date`` (its
        midnight, UTC), a ``datetime.datetime`` or an ISO 8601 text; without a time zone, UTC.
        None: the whole history the model keeps (``[output] history_days``).
    layer
        Only changes of this layer (``buildings``, ``fibre_routes``, ``fibre_nodes``, ``panoramas``).
    feature
        Only changes of the feature with this id (``building_id``, ``route_id``, ...).

    Returns
    -------
    pandas.DataFrame
        Rows of the ``history`` layer: ``run_id``, ``run_at`` (UTC), ``layer``, ``feature_id``,
        ``change`` (added, removed, modified), and for a modified feature one row per changed
        ``field`` with ``old_value`` and ``new_value`` as text (a geometry as WKT).

    Raises
    ------
    twin.errors.ArgumentError
        When `since` is none of the accepted kinds, or `layer` is not a layer whose changes are kept.
    twin.errors.NotFoundError
        When `feature` is in neither the history nor the model (of `layer`): a mistyped id.

    Examples
    --------
    >>> import twin
    >>> from twin.api import sample_model_path
    >>> model = twin.open_model(sample_model_path())
    >>> model.history(since="2026-03-01", layer="buildings").columns.tolist()
    ['run_id', 'run_at', 'layer', 'feature_id', 'change', 'field', 'old_value', 'new_value']
    >>> len(model.history(since="2026-03-01")) <= len(model.history())
    True
    >>> model.history(since=2026)
    Traceback (most recent call last):
    ...
    twin.errors.ArgumentError: history: since=2026 is not a time; give a datetime.date, a datetime.datetime or an ISO 8601 text such as '2026-03-01' or '2026-03-01T08:00:00+01:00' (without a zone: UTC)
    """
    if layer is not None and layer not in CHANGE_LAYERS:
        raise ArgumentError("history", f"layer={layer!r} keeps no history", fix=f"choose one of {', '.join(CHANGE_LAYERS)}")
    table = model.layer("history")
    keep = pd.Series(True, index=table.index)
    if since is not None:
        keep &= table["run_at"] >= since_time(since)
    if layer is not None:
        keep &= table["layer"].astype("str") == layer
    if feature is not None:
        named = (table["feature_id"].astype("str") == str(feature)).to_numpy()
        of_layer = True if layer is None else (table["layer"].astype("str") == layer).to_numpy()
        if not (named & of_layer).any():  # at any time: a feature removed long ago is known to the history
            _known_feature(model, str(feature), [layer] if layer is not None else list(CHANGE_LAYERS))
        keep &= named
    return table.loc[keep.to_numpy()].sort_values("run_at", kind="stable").reset_index(drop=True)


def _known_feature(model: _Model, feature: str, layers: list[str]) -> None:
    """NotFoundError naming close ids when no layer of `layers` has a feature `feature` (a mistyped id)."""
    ids: list[str] = []
    for name in layers:
        values = model.layer(name)[LAYERS[name].id_field].dropna().astype("str")
        if (values == feature).any():
            return
        ids += values.tolist()
    close = difflib.get_close_matches(feature, ids, n=3, cutoff=0.8)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"give an id of {', '.join(layers)}"
    raise NotFoundError("history", f"no feature {feature!r} in the model or its history", fix=hint)


def since_time(since: object) -> pd.Timestamp:
    """`since` as a UTC time stamp (see :func:`history`).

    >>> since_time("2026-03-01T09:00:00+01:00")
    Timestamp('2026-03-01 08:00:00+0000', tz='UTC')
    >>> since_time(dt.date(2026, 3, 1))
    Timestamp('2026-03-01 00:00:00+0000', tz='UTC')
    """
    if isinstance(since, bool) or not isinstance(since, dt.date | str):
        raise ArgumentError("history", f"since={since!r} is not a time", fix=f"give {ACCEPTED}")
    if isinstance(since, str):
        try:
            since = dt.datetime.fromisoformat(since.strip())
        except ValueError:
            raise ArgumentError("history", f"since={since!r} is not an ISO 8601 time", fix=f"give {ACCEPTED}") from None
    if not isinstance(since, dt.datetime):
        since = dt.datetime(since.year, since.month, since.day)
    stamp = pd.Timestamp(since)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
