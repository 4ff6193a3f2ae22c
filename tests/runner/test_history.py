"""The model's lasting history: runs with edits and unchanged runs between them, asked what changed since a date."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
import twin.runner.state
from tests.runner.conftest import read_buildings, write_buildings, write_city
from twin.config import read_pipeline
from twin.errors import ArgumentError, ConfigError, NotFoundError

UTC = dt.UTC


def _run(pipeline: Path, day: str, **kwargs: object) -> twin.runner.RunResult:
    now = dt.datetime.fromisoformat(day).replace(tzinfo=UTC)
    return twin.run(read_pipeline(pipeline), report=False, now=now, **kwargs)  # type: ignore[arg-type]


def _edit_routes(raw: Path, route_id: str, status: str) -> None:
    routes = gpd.read_file(raw / "routes.geojson")
    routes.loc[routes["route_id"] == route_id, "status"] = status
    (raw / "routes.geojson").unlink()
    routes.to_file(raw / "routes.geojson")


def _three_runs(city: Path, engine: str = "local") -> tuple[list[twin.runner.RunResult], gpd.GeoDataFrame]:
    """Build (Jan 10), edit buildings (Feb 10), unchanged (Feb 20), move a building and build a route
    (Mar 5), unchanged (Mar 10). Returns the results and the first buildings input."""
    raw = city.parent / "raw"
    original = read_buildings(raw)
    results = [_run(city, engine=engine, day="2026-01-10T02:00")]
    edited = original.copy()
    edited.loc[edited["OI"] == "DERP00000001", "GFK"] = "2000"
    edited = edited.loc[edited["OI"] != "DERP00000002"]
    extra = edited.iloc[[0]].assign(OI="DERP99999999", geometry=shapely.box(409_900, 5_478_300, 409_912, 5_478_310))
    write_buildings(raw, gpd.GeoDataFrame(pd.concat([edited, extra], ignore_index=True), crs=original.crs))
    results.append(_run(city, engine=engine, day="2026-02-10T02:00"))
    results.append(_run(city, engine=engine, day="2026-02-20T02:00"))
    moved = read_buildings(raw)
    row = moved["OI"] == "DERP00000005"
    moved.loc[row, "geometry"] = moved.loc[row].geometry.translate(xoff=2.0)
    write_buildings(raw, moved)
    _edit_routes(raw, "R2", "built")
    results.append(_run(city, engine=engine, day="2026-03-05T02:00"))
    results.append(_run(city, engine=engine, day="2026-03-10T02:00"))
    return results, original


def test_what_changed_since_a_date_is_answered_after_unchanged_runs(city: Path) -> None:
    results, original = _three_runs(city)
    assert [r.unchanged for r in results] == [False, False, True, False, True]
    model = twin.open_model(results[-1].output)
    assert model.changes.empty  # the last run changed nothing; the history keeps what earlier runs found

    february = model.history(since=dt.date(2026, 2, 1))
    assert set(february["run_id"]) == {results[1].run_id, results[3].run_id}
    assert (february["run_at"] >= pd.Timestamp("2026-02-01", tz="UTC")).all()
    first = february.loc[february["run_id"] == results[1].run_id]
    whole = first.loc[first["change"].isin(["added", "removed"])]
    assert sorted(zip(whole["feature_id"], whole["change"], strict=True)) == [
        ("DERP00000002", "removed"), ("DERP99999999", "added")]
    assert whole[["field", "old_value", "new_value"]].isna().all().all()
    code = first.loc[(first["feature_id"] == "DERP00000001") & (first["field"] == "function_code")]
    assert code[["change", "old_value", "new_value"]].to_numpy().tolist() == [["modified", "1000", "2000"]]
    label = first.loc[(first["feature_id"] == "DERP00000001") & (first["field"] == "function_label")]
    assert len(label) == 1 and label["old_value"].iloc[0] != label["new_value"].iloc[0]

    march = model.history(since="2026-03-01T00:00:00+01:00")
    assert set(march["run_id"]) == {results[3].run_id}
    shape = model.history(since="2026-03-01", layer="buildings", feature="DERP00000005")
    assert shape["field"].tolist() == ["geometry"]
    before = original.loc[original["OI"] == "DERP00000005"].geometry.iloc[0]
    old, new = shapely.from_wkt(shape["old_value"].iloc[0]), shapely.from_wkt(shape["new_value"].iloc[0])
    assert old.equals(before) and new.equals(shapely.affinity.translate(before, xoff=2.0))
    status = model.history(since="2026-03-01", layer="fibre_routes", feature="R2/1")  # R2, cut at the node on it
    assert status.loc[status["field"] == "status", ["old_value", "new_value"]].to_numpy().tolist() == [
        ["planned", "built"]]

    everything = model.history()
    assert len(everything) == len(february)  # the first build is no change
    stored = pyogrio.read_dataframe(results[-1].output, layer="history", read_geometry=False, use_arrow=True)
    assert len(stored) == len(everything)


def test_the_history_keeps_history_days(city: Path) -> None:
    results, _ = _three_runs(city)
    text = city.read_text(encoding="utf-8").replace("keep = 2\n", "keep = 2\nhistory_days = 30\n")
    city.write_text(text, encoding="utf-8")
    later = _run(city, "2026-03-20T02:00")  # 30 days back is Feb 18: the Feb 10 run's rows go
    assert later.unchanged
    model = twin.open_model(later.output)
    assert set(model.history()["run_id"]) == {results[3].run_id}
    assert later.counts["history"] == len(model.history()) == model.counts["history"]
    rebuilt = _run(city, "2026-04-10T02:00", force=True)  # Mar 11 and later: nothing is left
    assert twin.open_model(rebuilt.output).history().empty


def test_both_engines_write_the_same_history(tmp_path: Path) -> None:
    pytest.importorskip("dask_geopandas")
    local, _ = _three_runs(write_city(tmp_path / "local"))
    dask, _ = _three_runs(write_city(tmp_path / "dask"), engine="dask")
    a, b = (twin.open_model(r[-1].output).history().drop(columns="run_id") for r in (local, dask))
    assert len(a) > 10
    pd.testing.assert_frame_equal(a, b)


def test_qa_rows_name_the_run_that_found_them(built_model: Path) -> None:
    model = twin.open_model(built_model)
    assert len(model.qa_issues)
    assert set(model.qa_issues["run_id"]) == {model.runs["run_id"].iloc[-1]}


@pytest.mark.parametrize("since", [20260301, 3.5, ["2026-03-01"], "first of March", True])
def test_history_refuses_a_since_that_is_no_time_naming_what_it_accepts(built_model: Path, since: object) -> None:
    with pytest.raises(ArgumentError, match=re.escape("give a datetime.date, a datetime.datetime or an ISO 8601 text")):
        twin.open_model(built_model).history(since=since)  # type: ignore[arg-type]


def test_history_refuses_a_layer_without_history(built_model: Path) -> None:
    with pytest.raises(ArgumentError, match="choose one of buildings, fibre_routes, fibre_nodes, panoramas"):
        twin.open_model(built_model).history(layer="qa_issues")


def test_history_of_a_feature_the_model_never_had_is_not_an_empty_answer(built_model: Path) -> None:
    # a mistyped id must not read as "nothing changed on this building"
    model = twin.open_model(built_model)
    first = str(model.buildings["building_id"].iloc[0])
    assert model.history(feature=first).empty  # a building without changes: an empty answer is the truth
    with pytest.raises(NotFoundError, match=re.escape(f"no feature '{first}x' in the model or its history; "
                                                      f"did you mean '{first}'")):
        model.history(feature=f"{first}x")
    route = str(model.fibre_routes["route_id"].iloc[0])
    assert model.history(layer="fibre_routes", feature=route).empty
    with pytest.raises(NotFoundError, match="no feature"):
        model.history(layer="fibre_nodes", feature=route)  # a route is no node


def test_history_days_must_be_a_positive_number_of_days(city: Path) -> None:
    city.write_text(city.read_text(encoding="utf-8").replace("keep = 2\n", "keep = 2\nhistory_days = 0\n"),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="history_days"):
        read_pipeline(city)


def test_a_model_published_before_the_history_existed_is_rebuilt_and_its_history_starts(
        city: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:  # the software that wrote the first model had other layers
        patch.setattr(twin.runner.state, "SCHEMA_KEY", "layers of an earlier version")
        first = _run(city, "2026-01-10T02:00")
    with sqlite3.connect(first.output) as con:
        con.execute('DROP TABLE "history"')
        for table in ("gpkg_contents", "gpkg_ogr_contents", "gpkg_data_columns"):
            con.execute(f"DELETE FROM {table} WHERE table_name = 'history'")
    con.close()
    assert "history" not in {name for name, _ in pyogrio.list_layers(first.output)}
    second = _run(city, "2026-01-11T02:00")
    assert not second.unchanged and set(second.stages.values()) == {"built"}
    model = twin.open_model(second.output)
    assert model.history().empty and model.changes.empty


def test_a_history_row_edited_to_no_time_is_not_carried_on_and_is_reported(city: Path) -> None:
    raw = city.parent / "raw"
    _run(city, "2026-01-10T02:00")
    edited = read_buildings(raw)
    edited.loc[edited["OI"] == "DERP00000001", "GFK"] = "2000"
    write_buildings(raw, edited)
    second = _run(city, "2026-02-10T02:00")
    with sqlite3.connect(second.output) as con:  # as a hand edit in QGIS leaves it
        con.execute("UPDATE history SET run_at = 'gestern' WHERE field = 'function_code'")
    con.close()
    edited.loc[edited["OI"] == "DERP00000003", "GFK"] = "2000"
    write_buildings(raw, edited)
    third = _run(city, "2026-03-10T02:00")
    model = twin.open_model(third.output)
    history = model.history()
    assert history["run_at"].notna().all()
    assert "function_code" not in set(history.loc[history["feature_id"] == "DERP00000001", "field"])
    assert set(history.loc[history["feature_id"] == "DERP00000003", "run_id"]) == {third.run_id}
    lost = model.qa_issues.loc[model.qa_issues["check"] == "history_row_undated"]
    assert lost["feature_id"].tolist() == [second.run_id] and lost["layer"].tolist() == ["history"]
    assert set(lost["run_id"]) == {third.run_id}
