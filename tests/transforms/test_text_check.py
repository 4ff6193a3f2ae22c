"""The check for text decoded in the wrong code page finds the same values in Arrow as in Python."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.transforms.text_check import MIS_DECODED, mis_decoded_text

#: Letters around the ranges the check looks for, so that the examples hit and miss them often.
_LETTERS = st.sampled_from(list("aZß äöüÃÂâ€\u0085\u009f\u00a0\u00bf\u00c0\u0152\u02dc\u2013\u203a\u203b\u2122"
                                "\ufffd\u0400\u04ff\u0500дМ1 -"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(_LETTERS, max_size=8)), min_size=1, max_size=20))
def test_texts_held_in_arrow_are_flagged_as_python_flags_them(texts: list[str | None]) -> None:
    expected = [t is not None and re.search(MIS_DECODED, t) is not None for t in texts]
    frame = gpd.GeoDataFrame({"building_id": [f"b{i}" for i in range(len(texts))],
                              "street": pd.Series(texts, dtype="str")},
                             geometry=shapely.points([[i, 0] for i in range(len(texts))]), crs="EPSG:25832")
    issues = mis_decoded_text(frame, layer="buildings", id_column="building_id", columns=("street",))
    assert sorted(issues["feature_id"]) == sorted(f"b{i}" for i, hit in enumerate(expected) if hit)
    assert all(m.startswith("street '") for m in issues["message"])
