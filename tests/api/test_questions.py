"""building(), find_address(), panoramas_seeing(), coverage_by_campaign() and aggregate() on the built sample
model, each against a direct geopandas computation."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import twin
from tests.api.conftest import district_of, views_of
from twin.errors import ArgumentError, NotFoundError


@pytest.fixture(scope="module")
def model(built_model: Path) -> twin.api.CityModel:
    return twin.open_model(built_model)


@pytest.fixture(scope="module")
def richer(richer_model: Path) -> twin.api.CityModel:
    return twin.open_model(richer_model)


# -- addresses ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("street", ["Pariser Straße", "pariser strasse", "PARISER STR.", "Pariser Str", "pariserstr.",
                                    "  Pariser   Straße ", "Pariser-Straße"])
def test_find_address_is_tolerant_of_spelling(model: twin.api.CityModel, built_model: Path, street: str) -> None:
    direct = gpd.read_file(built_model, layer="buildings")
    expected = direct.loc[(direct["street"] == "Pariser Straße") & (direct["house_number"] == "2"), "building_id"]
    assert len(expected) > 0
    for number in ("2", 2, " 2 "):
        assert model.find_address(street, number)["building_id"].tolist() == expected.tolist()


def test_find_address_with_a_letter_suffix_and_sharp_s(built_model: Path, tmp_path: Path) -> None:
    buildings = gpd.read_file(built_model, layer="buildings").head(3)
    buildings["street"] = ["Große Gasse", "Große Gasse", "Hauptstraße"]
    buildings["house_number"] = ["12a", "12", "7 B"]
    found = twin.api.questions.find_address(buildings, "grosse gasse", "12 A")
    assert found["building_id"].tolist() == [buildings["building_id"].iloc[0]]
    assert twin.api.questions.find_address(buildings, "Hauptstr.", "7b")["building_id"].tolist() == \
        [buildings["building_id"].iloc[2]]


def test_an_unknown_street_names_close_matches(model: twin.api.CityModel) -> None:
    with pytest.raises(NotFoundError) as caught:
        model.find_address("Parisr Straße", 3)
    assert str(caught.value) == "buildings: no street 'Parisr Straße'; did you mean 'Pariser Straße'?"
    with pytest.raises(KeyError):  # NotFoundError is a KeyError for notebook code
        model.find_address("Zzzyx", 1)


def test_an_unknown_number_names_the_numbers_of_the_street(model: twin.api.CityModel, built_model: Path) -> None:
    direct = gpd.read_file(built_model, layer="buildings")
    numbers = sorted(set(direct.loc[direct["street"] == "Pariser Straße", "house_number"]),
                     key=lambda n: (int(re.match(r"\d+", n).group()), n))  # 23 before 23a before 24
    with pytest.raises(NotFoundError) as caught:
        model.find_address("Pariser Str.", "999")
    shown = ", ".join(numbers[:12]) + (f", ... ({len(numbers)} in all)" if len(numbers) > 12 else "")
    assert str(caught.value) == f"buildings, Pariser Straße: no house number '999'; numbers there: {shown}"


def test_find_address_refuses_what_is_not_an_address(model: twin.api.CityModel) -> None:
    with pytest.raises(ArgumentError, match="is not an address"):
        model.find_address("Pariser Straße", None)  # type: ignore[arg-type]


# -- one building ---------------------------------------------------------------------------------------------------


def test_building_gathers_everything_known_about_it(richer: twin.api.CityModel, richer_model: Path) -> None:
    nodes = gpd.read_file(richer_model, layer="fibre_nodes")
    site = nodes.loc[nodes["building_id"].notna() & (nodes["kind"] == "site")].iloc[0]
    facts = richer.building(site["building_id"])
    buildings = gpd.read_file(richer_model, layer="buildings").set_index("building_id")
    row = buildings.loc[site["building_id"]]
    assert facts.building_id == site["building_id"]
    assert facts.fibre_status == row["fibre_status"]
    assert facts.attributes["fibre_distance_m"] == pytest.approx(row["fibre_distance_m"])
    assert facts.attributes["district"] == row["district"]
    assert facts.attributes.geometry.equals(row.geometry)
    assert facts.fibre_nodes["node_id"].tolist() == nodes.loc[nodes["building_id"] == site["building_id"],
                                                               "node_id"].tolist()
    connections = gpd.read_file(richer_model, layer="fibre_connections")
    assert facts.fibre_connections["node_id"].tolist() == connections.loc[
        connections["building_id"] == site["building_id"], "node_id"].tolist()
    views = views_of(richer_model)
    assert sorted(facts.panoramas["panorama_id"]) == sorted(views.loc[views["building_id"] == site["building_id"],
                                                                      "panorama_id"])
    assert f"fibre {row['fibre_status']}" in repr(facts)


def test_building_lists_the_qa_rows_about_it(model: twin.api.CityModel, built_model: Path) -> None:
    issues = gpd.read_file(built_model, layer="qa_issues")
    about = issues.loc[issues["layer"] == "buildings"]
    assert len(about) > 0
    target = about["feature_id"].value_counts().index[0]
    facts = model.building(target)
    assert facts.qa_issues["check"].tolist() == about.loc[about["feature_id"] == target, "check"].tolist()


@pytest.mark.parametrize("question", ["building", "panoramas_seeing"])
def test_an_unknown_building_is_not_found(model: twin.api.CityModel, question: str) -> None:
    # a mistyped id must not read as an empty answer ("no panorama sees this building")
    first = model.buildings["building_id"].iloc[0]
    with pytest.raises(NotFoundError, match=f"no building '{first}x'; did you mean '{first}'"):
        getattr(model, question)(f"{first}x")
    with pytest.raises(ArgumentError, match="is not a building_id"):
        getattr(model, question)(17)


# -- panoramas seeing a building -------------------------------------------------------------------------------------


def test_panoramas_seeing_reads_the_views_table(richer: twin.api.CityModel, richer_model: Path) -> None:
    views = views_of(richer_model)
    target = views["building_id"].value_counts().index[0]
    expected = views.loc[views["building_id"] == target].sort_values(["distance_m", "panorama_id"])
    seen = richer.panoramas_seeing(target)
    assert len(seen) >= 2
    assert seen["panorama_id"].tolist() == expected["panorama_id"].tolist()
    assert np.allclose(seen["distance_m"], expected["distance_m"])
    assert np.allclose(seen["bearing_deg"], expected["bearing_deg"])
    panoramas = gpd.read_file(richer_model, layer="panoramas").set_index("panorama_id")
    assert seen.geometry.geom_equals(panoramas.geometry.loc[seen["panorama_id"]].reset_index(drop=True)).all()
    assert seen.crs == panoramas.crs
    assert str(seen["captured_at"].dtype) == "datetime64[ms, UTC]"


def test_panoramas_seeing_follows_the_published_views(model: twin.api.CityModel) -> None:
    buildings = model.buildings
    unseen = buildings.loc[buildings["panorama_count"] == 0, "building_id"].iloc[0]
    seen = model.panoramas_seeing(unseen)
    assert seen.empty
    assert {"panorama_id", "distance_m", "bearing_deg"} <= set(seen.columns)
    most = buildings.sort_values("panorama_count").iloc[-1]
    assert len(model.panoramas_seeing(most["building_id"])) == most["panorama_count"] > 0


# -- coverage per campaign -------------------------------------------------------------------------------------------


def test_coverage_by_campaign_reads_the_share_columns(campaign_model: Path) -> None:
    streets = gpd.read_file(campaign_model, layer="street_coverage")
    table = twin.open_model(campaign_model).coverage_by_campaign()
    assert list(table.columns) == ["street_id", "name", "campaign", "share", "length_m"]
    assert len(table) == 2 * len(streets)
    for campaign in ("2021", "2023"):
        part = table.loc[table["campaign"] == campaign].set_index("street_id")
        direct = streets.set_index("street_id")[f"share_{campaign}"]
        assert part["share"].loc[direct.index].equals(direct.astype("float64").rename("share"))
    assert table["share"].isna().sum() == streets["share_2023"].isna().sum() > 0


def test_coverage_by_campaign_without_share_columns_agrees_with_the_covered_share(model: twin.api.CityModel) -> None:
    table = model.coverage_by_campaign()
    streets = model.street_coverage.set_index("street_id")
    wide = table.pivot_table(index="street_id", columns="campaign", values="share", dropna=False).loc[streets.index]
    assert list(wide.columns) == sorted(model.panoramas["captured_at"].dt.strftime("%Y").unique())
    assert wide.notna().all().all() and ((wide >= 0) & (wide <= 1)).all().all()
    # the pipeline measures covered_share by sampling points every 2 m: a campaign's share never exceeds it by more
    assert (wide.max(axis=1) <= streets["covered_share"] + 0.02).all()
    single = (wide > 0).sum(axis=1) == 1  # where one campaign saw the street, its share is the covered share
    assert single.sum() > 5
    assert np.allclose(wide.loc[single].max(axis=1), streets.loc[single, "covered_share"], atol=0.02)
    assert np.allclose(table["length_m"], shapely.length(model.street_coverage.set_index("street_id").geometry
                                                         .loc[table["street_id"]].to_numpy()), atol=0.01)


# -- aggregates ------------------------------------------------------------------------------------------------------


def test_aggregate_buildings_by_grid(model: twin.api.CityModel, built_model: Path) -> None:
    direct = gpd.read_file(built_model, layer="buildings")
    point = direct.geometry.centroid
    cell = (np.floor(point.x / 300).astype(int).astype(str) + "_" + np.floor(point.y / 300).astype(int).astype(str))
    expected = direct.groupby(cell.to_numpy()).agg(count=("building_id", "size"), area_m2=("area_m2", "sum"))
    cells = model.aggregate("buildings", by="grid", cell_m=300).set_index("cell_id")
    assert cells.index.tolist() == sorted(expected.index)
    assert cells["count"].tolist() == expected.loc[cells.index, "count"].tolist()
    assert np.allclose(cells["area_m2"], expected.loc[cells.index, "area_m2"])
    assert cells.crs == direct.crs
    # every cell is a 300 m square holding the points counted in it
    assert np.allclose(cells.area, 300 * 300)
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=point, crs=direct.crs), cells.reset_index(), predicate="within")
    assert joined.groupby("cell_id").size().loc[cells.index].tolist() == cells["count"].tolist()
    # floor area only where every building of the cell has storeys: never a partial sum
    known = direct["storeys"].notna().groupby(cell.to_numpy()).sum()
    assert cells["storeys_known"].tolist() == known.loc[cells.index].tolist()
    partial = cells["storeys_known"] < cells["count"]
    assert partial.any() and cells.loc[partial, "floor_area_m2"].isna().all()


def test_aggregate_floor_area_only_where_every_building_has_storeys() -> None:
    buildings = gpd.GeoDataFrame({"building_id": ["a", "b", "c"], "area_m2": [100.0, 50.0, 80.0],
                                  "storeys": pd.array([2, None, 3], dtype="Int32")},
                                 geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 5),
                                           shapely.box(120, 0, 130, 8)], crs="EPSG:25832")
    cells = twin.api.aggregate.by_grid(buildings, "buildings", cell_m=100).set_index("cell_id")
    assert cells.loc["0_0", "storeys_known"] == 1 and np.isnan(cells.loc["0_0", "floor_area_m2"])
    assert cells.loc["1_0", "floor_area_m2"] == 240.0


def test_aggregate_by_district(richer: twin.api.CityModel, richer_model: Path) -> None:
    direct = gpd.read_file(richer_model, layer="buildings")
    districts = richer.aggregate("buildings", by="district").set_index("district")
    assert districts["count"].to_dict() == direct["district"].value_counts().to_dict()
    assert np.allclose(districts["area_m2"], direct.groupby("district")["area_m2"].sum().loc[districts.index])
    assert districts.index.tolist() == ["Ost", "West"]
    hull = direct.loc[direct["district"] == "West"].geometry.union_all().convex_hull
    assert districts.geometry.loc["West"].equals_exact(hull, 1e-6)
    routes = gpd.read_file(richer_model, layer="fibre_routes")
    by_route = richer.aggregate("fibre_routes", by="district")
    assert int(by_route["count"].sum()) == len(routes)
    assert by_route["length_m"].sum() == pytest.approx(routes.length.sum())
    assert district_of(direct).nunique() == 2


def test_aggregate_checks_its_arguments(model: twin.api.CityModel) -> None:
    with pytest.raises(ArgumentError) as caught:
        model.aggregate("buildings", by="district")
    assert str(caught.value) == ("aggregate, by='district': the model's buildings name no district; give [city] "
                                 "districts in the pipeline file and run it again, or use by='grid'")
    with pytest.raises(ArgumentError, match="'ward' is not one of them; give one of district, grid"):
        model.aggregate("buildings", by="ward")
    with pytest.raises(ArgumentError, match="'runs' is not one of them; give one of buildings, panoramas"):
        model.aggregate("runs", by="grid")
    for cell in (0, -5, "100"):
        with pytest.raises(ArgumentError, match="aggregate, cell_m"):
            model.aggregate("buildings", by="grid", cell_m=cell)  # type: ignore[arg-type]
