"""Field-level history rows: what counts as a change, how values are written, what the history keeps."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from twin.transforms.history import feature_history, field_changes, history_table

CRS = "EPSG:25832"
RUN_AT = dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC)


def _routes(**values: list[object]) -> gpd.GeoDataFrame:
    data: dict[str, list[object]] = {"route_id": ["R1", "R2"], "kind": ["trench", "duct"], "status": ["planned", "built"],
                                     "length_m": [0.1 + 0.2, 40.0], "fibres": [96, 48]}
    data.update(values)
    lines = [shapely.LineString([(410_000, 5_477_000), (410_030, 5_477_000)]),
             shapely.LineString([(410_030, 5_477_000), (410_030, 5_477_040)])]
    return gpd.GeoDataFrame(data, geometry=lines, crs=CRS)


def test_each_changed_field_is_one_row_with_exact_old_and_new_text() -> None:
    old = _routes()
    new = _routes(status=["built", "built"], length_m=[0.3, 40.0], fibres=[96, None])
    rows = field_changes(old, new, layer="fibre_routes", run_id="r2", run_at=RUN_AT, crs=CRS)
    got = rows[["feature_id", "field", "old_value", "new_value"]].astype(object).where(rows.notna(), None)
    assert got.to_numpy().tolist() == [
        ["R1", "length_m", "0.30000000000000004", "0.3"],  # no rounding hides a change the comparison saw
        ["R1", "status", "planned", "built"],
        ["R2", "fibres", "48", None],  # a value that is gone is empty, not "nan" or 0
    ]
    assert set(rows["change"]) == {"modified"} and set(rows["run_id"]) == {"r2"}
    assert (rows["run_at"] == pd.Timestamp(RUN_AT)).all()


def test_a_moved_geometry_is_recorded_as_wkt_and_a_redrawn_one_is_not() -> None:
    old = _routes()
    reversed_line = shapely.LineString([(410_030, 5_477_000), (410_000, 5_477_000)])  # R1 drawn the other way
    moved_line = shapely.LineString([(410_030, 5_477_000), (410_031, 5_477_040)])
    new = old.set_geometry([reversed_line, moved_line], crs=CRS)
    rows = field_changes(old, new, layer="fibre_routes", run_id="r2", run_at=RUN_AT, crs=CRS)
    assert rows["feature_id"].tolist() == ["R2"] and rows["field"].tolist() == ["geometry"]
    assert shapely.from_wkt(rows["new_value"].iloc[0]).equals(shapely.multilinestrings([moved_line]))


def test_old_and_new_rows_must_pair_up() -> None:
    with pytest.raises(ValueError, match="do not pair up"):
        field_changes(_routes(), _routes().iloc[:1], layer="fibre_routes", run_id="r", run_at=RUN_AT, crs=CRS)


def test_the_history_keeps_what_is_not_older_than_its_days() -> None:
    changes = pd.DataFrame({"layer": ["buildings"] * 3, "feature_id": ["a", "b", "c"],
                            "change": ["added", "removed", "modified"], "run_id": "r"})
    at = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 31, tzinfo=dt.UTC)]
    old, edge = (feature_history(changes, [], run_at=t) for t in at)
    assert old["feature_id"].tolist() == ["a", "b"]  # a modified feature comes with its fields, not as a bare row
    kept = history_table(old, edge, now=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), keep_days=30)  # back to Jan 31
    assert kept["run_at"].tolist() == [pd.Timestamp("2026-01-31", tz="UTC")] * 2
    with pytest.raises(ValueError, match="at least 1"):
        history_table(old, edge, now=RUN_AT, keep_days=0)


def test_a_geometry_moved_by_nanometres_is_not_a_change_and_one_moved_by_centimetres_is() -> None:
    # the shipped sample's routes, saved again through WGS84 as a re-exported plan comes back
    old = gpd.read_file(Path(__file__).parents[2] / "data" / "raw" / "fibre" / "routes.geojson").to_crs(CRS)
    new = old.to_crs("EPSG:4326").to_crs(CRS)
    new.loc[new.index[0], "geometry"] = shapely.affinity.translate(new.geometry.iloc[0], yoff=-0.01)
    rows = field_changes(old, new, layer="fibre_routes", run_id="r2", run_at=RUN_AT, crs=CRS)
    assert rows[["feature_id", "field"]].to_numpy().tolist() == [[str(old["route_id"].iloc[0]), "geometry"]]
