"""The lasting history of the model: every change of every run, field by field.

:mod:`twin.transforms.changes` finds which features were added, removed or
modified by one run; here a modified feature becomes one row per changed field
with its old and new value as text, and the rows of each run are appended to
the history carried from the previous model, which keeps them for
``[output] history_days``. Values are compared as the text the history stores,
one column at a time over all features (no row loops); the geometry counts as
the field ``geometry``, written as WKT, changed when it moved by a millimetre or more
(a vertex rounded to another point of a 1 mm grid).

>>> import datetime as dt, pandas as pd
>>> old = pd.DataFrame({"run_id": ["r1"], "started_at": [pd.Timestamp("2026-01-05", tz="UTC")], "status": ["ok"]})
>>> new = old.assign(status="failed")
>>> rows = field_changes(old, new, layer="runs", run_id="r2", run_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
>>> rows[["feature_id", "field", "old_value", "new_value"]].to_numpy().tolist()
[['r1', 'status', 'ok', 'failed']]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.model import LAYERS, conform, empty_frame
from twin.transforms.repair import change_wkb

__all__ = ["GEOMETRY_FIELD", "HISTORY_DAYS", "feature_history", "field_changes", "history_table", "value_text"]

#: Days a change stays in the history (``[output] history_days``).
HISTORY_DAYS = 400
#: The name under which a changed geometry appears in ``history.field``.
GEOMETRY_FIELD = "geometry"


def value_text(values: pd.Series, dtype: str) -> np.ndarray:
    """The values of one field as the history stores them: text, None where the value is missing.

    Numbers in their shortest exact form, date-times in ISO 8601 UTC with milliseconds and ``Z``,
    booleans as ``true``/``false``.

    >>> value_text(pd.Series([1.5, float("nan")]), "float64").tolist()
    ['1.5', None]
    >>> value_text(pd.Series([pd.Timestamp("2026-03-01 08:00", tz="UTC")]), "datetime").tolist()
    ['2026-03-01T08:00:00.000Z']
    """
    missing = values.isna().to_numpy()
    if dtype == "datetime":
        text = (values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z").to_numpy(dtype=object)
    elif dtype == "bool":
        text = np.where(values.fillna(False).to_numpy(dtype=bool), "true", "false").astype(object)
    else:
        text = values.astype("object").astype(str).to_numpy(dtype=object)
    text[missing] = None
    return np.asarray(text, dtype=object)


def field_changes(
    old: pd.DataFrame, new: pd.DataFrame, *, layer: str, run_id: str, run_at: dt.datetime, crs: str | None = None,
) -> pd.DataFrame:
    """``history`` rows of modified features: one per field whose value differs.

    Parameters
    ----------
    old, new
        The same features before and after, row for row (row *i* of both is one feature), in any
        column order; brought into the schema of `layer` before they are compared.
    layer
        The layer of the features; its id field names them.
    run_id, run_at
        The run that found the changes and its start (UTC).
    crs
        CRS of the geometries (for the schema; geometries are compared as they are).
    """
    if len(old) != len(new):
        raise ValueError(f"{layer}: {len(old)} old and {len(new)} new rows do not pair up")
    spec = LAYERS[layer]
    key = spec.id_field
    if key is None:
        raise ValueError(f"layer {layer} has no id field")
    before, after = conform(old, spec, crs), conform(new, spec, crs)
    ids = after[key].astype(str).to_numpy(dtype=object)
    parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]] = []
    for f in spec.fields:
        if f.name == key:
            continue
        was, now = value_text(before[f.name], f.dtype), value_text(after[f.name], f.dtype)
        parts.append((_differs(was, now), f.name, was, now))
    if isinstance(before, gpd.GeoDataFrame) and isinstance(after, gpd.GeoDataFrame):
        geoms_old, geoms_new = before.geometry.to_numpy(), after.geometry.to_numpy()
        moved = change_wkb(geoms_old) != change_wkb(geoms_new)
        parts.append((moved, GEOMETRY_FIELD, _wkt(geoms_old, moved), _wkt(geoms_new, moved)))
    frames = [pd.DataFrame({"feature_id": ids[mask], "field": name, "old_value": was[mask], "new_value": now[mask]})
              for mask, name, was, now in parts if mask.any()]
    if not frames:
        return empty_frame("history", None)
    rows = pd.concat(frames, ignore_index=True).assign(run_id=run_id, run_at=pd.Timestamp(run_at),
                                                       layer=layer, change="modified")
    return conform(_in_order(rows), "history")


def feature_history(
    changes: pd.DataFrame, fields: Sequence[pd.DataFrame], *, run_at: dt.datetime,
) -> pd.DataFrame:
    """The ``history`` rows of one run: its added and removed features from `changes` (the ``changes``
    layer), and the field rows of its modified features (from :func:`field_changes`)."""
    whole = changes.loc[changes["change"].isin(["added", "removed"]).to_numpy()]
    rows = pd.DataFrame({"run_id": whole["run_id"].to_numpy(), "run_at": pd.Timestamp(run_at),
                         "layer": whole["layer"].to_numpy(), "feature_id": whole["feature_id"].to_numpy(),
                         "change": whole["change"].to_numpy()})
    parts = [conform(rows, "history"), *(conform(f, "history") for f in fields)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_frame("history", None)
    return conform(_in_order(pd.concat(parts, ignore_index=True)), "history")


def history_table(
    previous: pd.DataFrame, rows: pd.DataFrame, *, now: dt.datetime, keep_days: int = HISTORY_DAYS,
) -> pd.DataFrame:
    """The ``history`` layer: the `previous` history and this run's `rows`, without what is older than
    `keep_days` days before `now` (the run's start)."""
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, not {keep_days}")
    parts = [conform(p, "history") for p in (previous, rows) if len(p)]
    if not parts:
        return empty_frame("history", None)
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    kept = table.loc[(table["run_at"] >= history_cutoff(now, keep_days)).to_numpy()]
    return conform(kept, "history")


def history_cutoff(now: dt.datetime, keep_days: int) -> pd.Timestamp:
    """The oldest time a change kept for `keep_days` days before `now` may have."""
    return pd.Timestamp(now).tz_convert("UTC") - pd.Timedelta(days=keep_days)


def _differs(was: np.ndarray, now: np.ndarray) -> np.ndarray:
    both_missing = pd.isna(was) & pd.isna(now)
    return np.asarray((was != now) & ~both_missing, dtype=bool)


def _wkt(geoms: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full(len(geoms), None, dtype=object)
    if mask.any():
        present = mask & ~shapely.is_missing(geoms)
        out[present] = shapely.to_wkt(geoms[present], rounding_precision=-1)
    return out


def _in_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows by layer, feature and field, so that both engines and every run write them alike."""
    return rows.sort_values(["layer", "feature_id", "change", "field"], kind="stable", na_position="first")
