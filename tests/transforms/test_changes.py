"""The changes layer: added, removed and modified features by stable id."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

import twin
from tests.runner.conftest import read_buildings, write_buildings, write_city
from twin.cli import main
from twin.model import conform
from twin.model.runs import summary_line
from twin.transforms.changes import change_summary, feature_changes, layer_changes

CRS = "EPSG:25832"


def _routes() -> gpd.GeoDataFrame:
    lines = shapely.linestrings([[[0, 0], [10, 0]], [[0, 5], [10, 5]], [[0, 9], [10, 9]]])
    return gpd.GeoDataFrame({"route_id": ["R1", "R2", "R3"], "kind": "duct", "status": "built", "ducts": [1, 2, 3]},
                            geometry=lines, crs=CRS)


def test_each_kind_of_change_is_found_once() -> None:
    old = _routes()
    new = old.copy()
    new.loc[0, "ducts"] = 9
    new.loc[1, "geometry"] = shapely.linestrings([[0, 5], [11, 5]])
    new = pd.concat([new.drop(index=2), _routes().iloc[[2]].assign(route_id="R4")], ignore_index=True)
    found = layer_changes(old, new, layer="fibre_routes", run_id="r", crs=CRS)
    assert list(zip(found["feature_id"], found["change"], strict=True)) == [
        ("R1", "modified"), ("R2", "modified"), ("R3", "removed"), ("R4", "added")]
    assert set(found["run_id"]) == {"r"}
    # one point per change, on the feature: where it was when removed, where it is now otherwise
    assert set(found.geom_type) == {"Point"}
    assert old.geometry.iloc[2].distance(found.geometry.iloc[2]) < 1e-9
    assert new.geometry.iloc[1].distance(found.geometry.iloc[1]) < 1e-9


def test_same_features_in_another_order_and_vertex_start_are_unchanged() -> None:
    old = _routes()
    new = old.iloc[::-1].copy()
    new["geometry"] = shapely.reverse(new.geometry.to_numpy())
    assert len(layer_changes(old, new, layer="fibre_routes", run_id="r", crs=CRS)) == 0


def test_a_round_trip_through_a_geopackage_changes_nothing(tmp_path: Path) -> None:
    routes = conform(_routes(), "fibre_routes", CRS)
    pyogrio.write_dataframe(routes, tmp_path / "r.gpkg", layer="fibre_routes")
    back = pyogrio.read_dataframe(tmp_path / "r.gpkg", layer="fibre_routes", use_arrow=True)
    assert feature_changes({"fibre_routes": back}, {"fibre_routes": routes}, run_id="r", crs=CRS).empty


def test_summary_line_leaves_quiet_layers_out() -> None:
    found = layer_changes(_routes(), _routes().iloc[:2], layer="fibre_routes", run_id="r", crs=CRS)
    summary = change_summary(found)
    assert summary["buildings"] == {"added": 0, "removed": 0, "modified": 0}
    assert summary_line(summary) == "changes: fibre_routes +0 −1 ~0"
    assert summary_line(change_summary(found.iloc[:0])) == "changes: none"


def test_edited_inputs_are_reported_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    city = write_city(tmp_path)
    assert main(["run", "-q", str(city)]) == 0
    raw = city.parent / "raw"
    frame = read_buildings(raw)
    ids = frame["OI"]
    frame.loc[4, "geometry"] = shapely.affinity.translate(frame.loc[4, "geometry"], 0.5, 0)
    frame.loc[8, "name"] = "Neubau"
    frame = frame.drop(index=12)
    extra = frame.iloc[[0]].assign(OI="DERPNEU00001", geometry=shapely.box(409_900, 5_477_950, 409_910, 5_477_960))
    write_buildings(raw, pd.concat([frame, extra], ignore_index=True))
    nodes = gpd.read_file(raw / "nodes.geojson")
    nodes.loc[1, "name"] = "VP 1a"
    nodes.to_file(raw / "nodes.geojson")
    assert main(["run", str(city)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "changes: buildings +1 −1 ~2, fibre_nodes +0 −0 ~1"
    published = city.parent / "out" / "cim.gpkg"
    changes = pyogrio.read_dataframe(published, layer="changes", use_arrow=True)
    runs = pyogrio.read_dataframe(published, layer="runs", use_arrow=True)
    assert set(changes["run_id"]) == {runs["run_id"].iloc[-1]}
    assert sorted(zip(changes["layer"], changes["feature_id"], changes["change"], strict=True)) == sorted([
        ("buildings", ids[12], "removed"), ("buildings", ids[4], "modified"), ("buildings", ids[8], "modified"),
        ("buildings", "DERPNEU00001", "added"), ("fibre_nodes", "N2", "modified")])
    assert json.loads(runs["counts"].iloc[-1])["changes"]["buildings"] == {"added": 1, "removed": 1, "modified": 2}
    assert twin.run(twin.read_pipeline(city), report=False).summary == "changes: none"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["keep", "remove", "move", "retag"]), min_size=1, max_size=25), st.integers(0, 5))
def test_changes_are_exactly_the_edits(edits: list[str], added: int) -> None:
    n = len(edits)
    old = gpd.GeoDataFrame({"panorama_id": [f"P{i}" for i in range(n)], "image_name": [f"{i}.jpg" for i in range(n)]},
                           geometry=shapely.points(np.c_[np.arange(n), np.zeros(n)]), crs=CRS)
    action = np.array(edits)
    new = old[action != "remove"].copy()
    moved, retagged = (action[action != "remove"] == kind for kind in ("move", "retag"))
    new.loc[moved, "geometry"] = shapely.points(np.c_[np.arange(n)[action != "remove"][moved], np.ones(moved.sum())])
    new.loc[retagged, "image_name"] = "new.jpg"
    fresh = gpd.GeoDataFrame({"panorama_id": [f"N{i}" for i in range(added)], "image_name": "n.jpg"},
                             geometry=shapely.points(np.c_[np.arange(added), np.full(added, 5.0)]), crs=CRS)
    new = pd.concat([fresh, new.sample(frac=1.0, random_state=1)], ignore_index=True)
    found = layer_changes(old, new, layer="panoramas", run_id="r", crs=CRS)
    expected = {**{f"P{i}": "removed" for i in np.flatnonzero(action == "remove")},
                **{f"P{i}": "modified" for i in np.flatnonzero((action == "move") | (action == "retag"))},
                **{f"N{i}": "added" for i in range(added)}}
    assert dict(zip(found["feature_id"], found["change"], strict=True)) == expected


def test_changes_against_a_published_file_equal_those_in_memory(built_model: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.transforms import changes

    old = {name: pyogrio.read_dataframe(built_model, layer=name, use_arrow=True) for name in changes.CHANGE_LAYERS}
    new = {name: frame.copy() for name, frame in old.items()}
    buildings = new["buildings"]
    buildings = buildings.drop(index=[3, 700, 1500])  # removed, in different chunks
    buildings.loc[10, "height_m"] = 99.0  # attribute modified
    buildings.loc[1200, "geometry"] = buildings.loc[1200, "geometry"].buffer(1.0)  # geometry modified
    added = buildings.iloc[[5]].assign(building_id="NEW-1")
    new["buildings"] = gpd.GeoDataFrame(pd.concat([buildings, added]), crs=buildings.crs)
    new["panoramas"] = new["panoramas"].iloc[1:]
    monkeypatch.setattr(changes, "CHUNK", 250)
    from twin.runner.previous import published_changes

    from_file = published_changes(built_model, new, run_id="r", crs=CRS)
    in_memory = changes.feature_changes(old, new, run_id="r", crs=CRS)
    assert_geodataframe_equal(from_file, in_memory)
    summary = change_summary(from_file)
    assert summary["buildings"] == {"added": 1, "removed": 3, "modified": 2}
    assert summary["panoramas"]["removed"] == 1
    removed = from_file.loc[from_file["change"] == "removed"].set_index("feature_id")
    for row in (3, 700, 1500):
        expected = old["buildings"].loc[row]
        assert expected.geometry.contains(removed.loc[expected["building_id"], "geometry"])
    assert set(from_file.geom_type) == {"Point"}
    modified = from_file.loc[from_file["feature_id"] == old["buildings"].loc[1200, "building_id"], "geometry"].iloc[0]
    assert buildings.loc[1200, "geometry"].contains(modified)


def _sample_routes() -> gpd.GeoDataFrame:
    """The shipped sample's RAINBOW routes, as a run reads them (EPSG:25832)."""
    return gpd.read_file(Path(__file__).parents[2] / "data" / "raw" / "fibre" / "routes.geojson").to_crs(CRS)


def test_a_plan_saved_again_through_another_crs_is_unchanged_but_for_its_edit() -> None:
    # A plan re-exported by a CAD or GIS tool comes back through WGS84: every vertex moves by
    # nanometres. Only the route the planners edited may count as modified, not every route.
    old = _sample_routes()
    new = old.to_crs("EPSG:4326").to_crs(CRS)
    moved = shapely.get_coordinates(old.geometry.to_numpy()) - shapely.get_coordinates(new.geometry.to_numpy())
    assert 0 < np.abs(moved).max() < 1e-6  # the round trip does move vertices, by less than a micrometre
    edited = old["route_id"].iloc[3]
    new.loc[new.index[3], "geometry"] = shapely.affinity.translate(new.geometry.iloc[3], xoff=0.02)  # 2 cm: real
    found = layer_changes(old, new, layer="fibre_routes", run_id="r", crs=CRS)
    assert list(zip(found["feature_id"], found["change"], strict=True)) == [(edited, "modified")]
