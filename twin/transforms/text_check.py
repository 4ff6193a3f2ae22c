"""Text that looks decoded in the wrong code page: what a wrong ``encoding`` leaves in names and addresses.

UTF-8 read as cp1252 leaves ``Ã¤`` for ``ä`` and ``â€“`` for ``–``; bytes no code page
defines leave ``\ufffd`` or C1 control characters; Cyrillic read as Latin, or the other way
round, leaves words that mix the two scripts (``Gдrtnerweg``). Each feature with such text
becomes one ``mis_decoded_text`` row naming the column and the value, so ``twin validate``
and the model show it before anyone reads a wrong street name.

>>> import geopandas as gpd, shapely
>>> frame = gpd.GeoDataFrame({"building_id": ["a", "b"], "street": ["Hauptstraße", "HauptstraÃŸe"]},
...                          geometry=shapely.points([[0, 0], [1, 1]]), crs="EPSG:25832")
>>> mis_decoded_text(frame, layer="buildings", id_column="building_id")["feature_id"].tolist()
['b']
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.compute as pc

from twin.model.frames import arrow_text
from twin.model.qa import concat_issues, qa_issues

__all__ = ["MIS_DECODED", "mis_decoded_text"]

#: Traces of a wrong decoding: UTF-8 read as a single-byte code page, undefined bytes, C1 controls,
#: and words mixing Latin and Cyrillic letters.
MIS_DECODED = (r"Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
               r"|Â[\u00a0-\u00bf]|â€|\ufffd|[\u0080-\u009f]"
               r"|[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]")


#: :data:`MIS_DECODED` in the syntax of RE2, the regular expressions of Arrow.
_MIS_DECODED_RE2 = re.sub(r"\\u([0-9a-f]{4})", r"\\x{\1}", MIS_DECODED)


def _hits(values: pd.Series) -> np.ndarray | None:
    """Which values hold traces of a wrong decoding (None: the column holds no text).

    Texts held in Arrow are searched there: pandas would make a Python string of each first.
    """
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        found = pc.match_substring_regex(arrow_text(values), pattern=_MIS_DECODED_RE2)
        return np.asarray(found.fill_null(False), dtype=bool)
    try:
        return values.str.contains(MIS_DECODED, regex=True, na=False).to_numpy(dtype=bool)
    except AttributeError:
        return None


def mis_decoded_text(frame: pd.DataFrame, *, layer: str, id_column: str,
                     columns: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    """One ``mis_decoded_text`` warning per feature of `frame` with text that looks wrongly decoded.

    `columns` are the text columns looked at (default: every text column but the id).
    """
    crs = frame.crs if isinstance(frame, gpd.GeoDataFrame) else None
    names = columns if columns is not None else tuple(
        c for c in frame.columns if c != id_column and pd.api.types.is_string_dtype(frame[c].dtype))
    found = np.zeros(len(frame), dtype=bool)
    first = pd.Series(None, index=range(len(frame)), dtype=object)
    for column in (c for c in names if c in frame.columns):
        hit = _hits(frame[column])
        if hit is None:  # no text in the column
            continue
        new = hit & ~found
        first[new] = [f"{column} {value!r}" for value in frame[column][new]]
        found |= hit
    if not found.any():
        return concat_issues([], crs)
    rows = np.flatnonzero(found)
    geometry = frame.geometry.to_numpy()[rows] if isinstance(frame, gpd.GeoDataFrame) else None
    return qa_issues(
        layer=layer, feature_ids=frame[id_column].to_numpy()[rows], check="mis_decoded_text", severity="warning",
        messages=[f"{text} looks decoded in the wrong code page; check the source's encoding"
                  for text in first.to_numpy()[rows]],
        geometry=geometry, crs=crs,
    )
