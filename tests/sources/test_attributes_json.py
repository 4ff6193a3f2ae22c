"""source_attributes: every row of any attribute table becomes JSON that reads back to the same values."""

from __future__ import annotations

import json
import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.sources.footprints import attributes_json

texts = st.one_of(st.none(), st.text(max_size=12))
numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64))
integers = st.integers(-(2**53), 2**53)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(texts, numbers, integers, st.booleans()), min_size=1, max_size=30))
def test_rows_read_back_as_the_same_values(rows: list[tuple[str | None, float | None, int, bool]]) -> None:
    frame = pd.DataFrame(rows, columns=["Straße \"Name\"", "Höhe", "n", "ok"], index=range(10, 10 + len(rows)))
    frame["Straße \"Name\""] = frame["Straße \"Name\""].astype("object")
    out = attributes_json(frame)
    assert out.index.equals(frame.index)
    for (text, number, integer, flag), line in zip(rows, out, strict=True):
        record = json.loads(line)
        assert list(record) == ["Straße \"Name\"", "Höhe", "n", "ok"]
        assert record["Straße \"Name\""] == text
        if number is None or not math.isfinite(number):
            assert record["Höhe"] is None
        else:
            assert record["Höhe"] == number
        assert record["n"] == integer
        assert record["ok"] is flag


def test_dates_and_slashes_are_plain_text() -> None:
    frame = pd.DataFrame({"AKTUALIT": pd.to_datetime(["2023-01-02", None]), "s": ["a/b\\/c", "\x07"]})
    assert attributes_json(frame).tolist() == ['{"AKTUALIT":"2023-01-02","s":"a/b\\\\/c"}',
                                               '{"AKTUALIT":null,"s":"\\u0007"}']
