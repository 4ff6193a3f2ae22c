"""twin.open_model on a freshly built sample model: every helper against a direct geopandas computation."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point

import twin
from twin.api.layers import project_root, typed_layer
from twin.errors import LayerError, SourceError
from twin.model import LAYERS


@pytest.fixture(scope="module")
def model(built_model: Path) -> twin.api.CityModel:
    return twin.open_model(built_model)


def read(path: Path, layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(path, layer=layer)


# -- layers and dtypes ----------------------------------------------------------------------------------------------


def test_layers_are_read_lazily_and_cached(built_model: Path) -> None:
    model = twin.open_model(built_model)
    assert model._cache == {}
    first = model.buildings
    assert list(model._cache) == ["buildings"]
    assert model.buildings is first


def test_every_layer_has_the_declared_dtypes(model: twin.api.CityModel) -> None:
    for name, spec in LAYERS.items():
        frame = model.layer(name)
        for field in spec.fields:
            dtype = frame[field.name].dtype
            if field.values:
                assert isinstance(dtype, pd.CategoricalDtype), (name, field.name)
                assert list(dtype.categories) == list(field.values), (name, field.name)
            elif field.dtype == "datetime":
                assert str(dtype) == "datetime64[ms, UTC]", (name, field.name)
            elif field.dtype == "int32":
                assert dtype == "Int32", (name, field.name)
        if spec.geometry_type is not None:
            assert frame.crs.to_epsg() == 25832


def test_layers_hold_the_same_rows_as_the_file(model: twin.api.CityModel, built_model: Path) -> None:
    direct = read(built_model, "buildings")
    assert len(model.buildings) == len(direct) == model.counts["buildings"]
    assert model.buildings["building_id"].tolist() == direct["building_id"].tolist()
    assert model.buildings.geometry.geom_equals(direct.geometry).all()
    assert model.buildings["fibre_status"].astype("str").tolist() == direct["fibre_status"].astype("str").tolist()
    stamps = pd.to_datetime(direct["last_captured_at"], utc=True)
    assert (model.buildings["last_captured_at"].isna() == stamps.isna()).all()
    assert (model.buildings["last_captured_at"].dropna() == stamps.dropna()).all()


def test_counts_crs_and_last_run(model: twin.api.CityModel, built_model: Path) -> None:
    for name in model.layer_names:
        assert model.counts[name] == pyogrio.read_info(built_model, layer=name)["features"]
    assert model.crs == "EPSG:25832"
    assert model.last_run is not None
    assert model.last_run["run_id"] == read(built_model, "runs")["run_id"].iloc[-1]
    assert model.last_run["status"] == "ok"


def test_repr_and_html_summarise_layers_crs_and_run(model: twin.api.CityModel) -> None:
    text = repr(model)
    assert text.startswith("<CityModel kaiserslautern_cim.gpkg: EPSG:25832, last run ")
    assert f"buildings {model.counts['buildings']}" in text
    page = model._repr_html_()
    assert f"<td style='text-align:right'>{model.counts['buildings']:,}</td>" in page
    assert "Gebäude" in page
    assert str(model.last_run["run_id"]) in page


def test_schema_lists_every_field(model: twin.api.CityModel) -> None:
    table = model.schema("fibre_routes")
    assert table.index.tolist() == LAYERS["fibre_routes"].columns
    assert table.loc["status", "values"] == "planned, built, in_service"


def test_unknown_layer_is_a_key_error(model: twin.api.CityModel) -> None:
    with pytest.raises(KeyError, match="no layer 'houses'"):
        model.layer("houses")


# -- opening bad files ----------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        twin.open_model(tmp_path / "nothing.gpkg")
    assert str(caught.value) == f"{tmp_path / 'nothing.gpkg'}: no such file; build it with `twin run` or check the path"


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(SourceError, match=r"^broken.gpkg: not a GeoPackage or damaged; rebuild it with `twin run`$"):
        twin.open_model(path)


def test_geopackage_without_model_layers(tmp_path: Path) -> None:
    path = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs="EPSG:25832").to_file(path, layer="parks")
    with pytest.raises(LayerError, match=r"^other.gpkg: has none of the city model's layers"):
        twin.open_model(path)


def test_layers_missing_from_the_file_are_empty_with_their_schema(tmp_path: Path, built_model: Path) -> None:
    path = tmp_path / "partial.gpkg"
    buildings = read(built_model, "buildings")
    pyogrio.write_dataframe(buildings, path, layer="buildings", use_arrow=True)
    model = twin.open_model(path)
    assert model.layer_names == ["buildings"]
    assert model.panoramas.empty
    assert model.panoramas.columns.tolist() == [*LAYERS["panoramas"].columns, "geometry"]
    assert str(model.panoramas["captured_at"].dtype) == "datetime64[ms, UTC]"
    assert model.last_run is None
    assert "no run recorded" in repr(model)
    assert len(model.buildings_near_fibre(100)) == 0


def test_unknown_code_values_are_kept_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    frame = pd.DataFrame({"route_id": ["a", "b", "c"], "status": ["built", "abandoned", None]})
    with caplog.at_level(logging.WARNING, logger="twin.api.layers"):
        typed = typed_layer(frame, LAYERS["fibre_routes"])
    assert typed["status"].tolist()[:2] == ["built", "abandoned"]
    assert pd.isna(typed["status"].iloc[2])
    assert list(typed["status"].cat.categories) == ["planned", "built", "in_service", "abandoned"]
    assert "fibre_routes.status: values ['abandoned'] are not in the declared list" in caplog.text


def test_naive_timestamps_are_read_as_utc() -> None:
    frame = pd.DataFrame({"run_id": ["r"], "started_at": [pd.Timestamp("2024-03-31 01:30")]})
    typed = typed_layer(frame, LAYERS["runs"])
    assert typed["started_at"].iloc[0] == pd.Timestamp("2024-03-31 01:30", tz="UTC")


def test_project_root_is_found_from_a_subfolder() -> None:
    root = project_root()
    assert project_root(root / "twin" / "model") == root


# -- fibre helpers against geopandas ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("distance_m", "statuses"), [(0.0, None), (20.0, None), (50.0, ("built", "in_service"))])
def test_buildings_near_fibre_matches_geopandas(
    model: twin.api.CityModel, built_model: Path, distance_m: float, statuses: tuple[str, ...] | None
) -> None:
    buildings, routes = read(built_model, "buildings"), read(built_model, "fibre_routes")
    if statuses:
        routes = routes[routes["status"].isin(statuses)]
    network = routes.union_all()
    expected = buildings[buildings.geometry.dwithin(network, distance_m)]
    near = model.buildings_near_fibre(distance_m, statuses=statuses)
    assert near["building_id"].tolist() == expected["building_id"].tolist()
    assert len(near) > 0
    assert np.allclose(near["distance_to_fibre_m"], expected.geometry.distance(network), atol=0.01)


def test_public_buildings_within_reach_matches_geopandas(model: twin.api.CityModel, built_model: Path) -> None:
    buildings, routes = read(built_model, "buildings"), read(built_model, "fibre_routes")
    near = buildings[buildings.geometry.dwithin(routes.union_all(), 50.0)]
    connected = near["fibre_status"] == "connected"  # a drop whose way to the hub is only planned is not
    expected = near[near["function_code"].str.startswith("3") & ~connected]
    found = model.public_buildings_within_reach(50.0)
    assert sorted(found["building_id"]) == sorted(expected["building_id"])
    assert found["distance_to_fibre_m"].is_monotonic_increasing


def test_route_length_by_status_matches_geopandas(model: twin.api.CityModel, built_model: Path) -> None:
    routes = read(built_model, "fibre_routes")
    expected = routes.geometry.length.groupby(routes["status"]).sum() / 1000
    table = model.route_length_by_status()
    for status, km in expected.items():
        assert table.loc[status, "total"] == pytest.approx(km, abs=0.001)
    assert table.loc["total", "total"] == pytest.approx(routes.length.sum() / 1000, abs=0.001)
    trench = routes[routes["kind"] == "trench"].length.sum() / 1000
    assert table.loc["total", "trench"] == pytest.approx(trench, abs=0.001)


def _direct_graph(routes: gpd.GeoDataFrame) -> tuple[nx.Graph, gpd.GeoDataFrame]:
    """The network built the plain geopandas way: ends closer than 0.5 m share a dissolved 0.25 m buffer."""
    starts = routes.geometry.apply(lambda g: Point(shapely.get_coordinates(g)[0]))
    ends = routes.geometry.apply(lambda g: Point(shapely.get_coordinates(g)[-1]))
    blobs = gpd.GeoDataFrame(geometry=list(pd.concat([starts, ends]).buffer(0.25).union_all().geoms), crs=routes.crs)
    vertex = lambda points: gpd.sjoin(gpd.GeoDataFrame(geometry=points, crs=routes.crs), blobs,  # noqa: E731
                                      predicate="within")["index_right"]
    graph = nx.Graph()
    for u, v, geometry in zip(vertex(starts), vertex(ends), routes.geometry, strict=True):
        if not graph.has_edge(u, v) or graph.edges[u, v]["length"] > geometry.length:
            graph.add_edge(u, v, length=geometry.length)
    return graph, blobs


def test_network_distances_match_a_direct_graph(model: twin.api.CityModel, built_model: Path) -> None:
    routes, nodes = read(built_model, "fibre_routes"), read(built_model, "fibre_nodes")
    graph, blobs = _direct_graph(routes)
    hub = nodes.loc[nodes["kind"] == "hub"].geometry.iloc[0]
    node_blob = gpd.sjoin(nodes, blobs, predicate="within", how="left")["index_right"]
    hub_blob = node_blob[nodes["kind"] == "hub"].iloc[0]
    lengths = nx.single_source_dijkstra_path_length(graph, hub_blob, weight="length")
    expected = [lengths.get(b, np.nan) for b in node_blob]
    computed = model.network_distances()
    assert computed["node_id"].tolist() == nodes["node_id"].tolist()
    assert np.allclose(computed["network_distance_m"], expected, atol=0.05, equal_nan=True)
    assert computed["network_distance_m"].notna().sum() > 1
    straight = nodes.geometry.distance(hub)
    assert (computed["network_distance_m"].dropna() >= straight[computed["network_distance_m"].notna()] - 0.01).all()
    stored = nodes["network_distance_m"]
    if stored.notna().any():  # filled by the pipeline's topology stage: never shorter than over every route
        both = stored.notna() & computed["network_distance_m"].notna()
        assert (stored[both] >= computed.loc[both, "network_distance_m"] - 1.0).all()


def test_network_path_runs_from_the_hub_to_the_node(model: twin.api.CityModel) -> None:
    nodes = model.fibre_nodes
    hub = nodes.loc[nodes["kind"] == "hub"].geometry.iloc[0]
    distances = model.network_distances().set_index("node_id")["network_distance_m"]
    reachable = distances.dropna().index[distances.dropna() > 0]
    for node_id in reachable:
        path = model.network_path(str(node_id))
        target = nodes.loc[nodes["node_id"] == node_id].geometry.iloc[0]
        assert Point(path.line.coords[0]).distance(hub) < 0.5
        assert Point(path.line.coords[-1]).distance(target) < 0.5
        assert path.length_m == pytest.approx(distances[node_id], abs=0.05)
        assert path.segments["length_m"].sum() == pytest.approx(path.length_m, abs=0.1)
        assert path.line.length == pytest.approx(path.length_m, abs=0.5 * len(path.segments))
        assert path.segments["distance_from_hub_m"].iloc[-1] == pytest.approx(path.length_m, abs=0.05)
        assert path.segments["route_id"].is_unique


def test_network_path_by_name(model: twin.api.CityModel) -> None:
    assert model.network_path("Rathaus").length_m == 0
    by_name = model.network_path("Burggymnasium")
    node_id = model.fibre_nodes.loc[model.fibre_nodes["name"] == "Burggymnasium", "node_id"].iloc[0]
    assert by_name.route_ids == model.network_path(str(node_id)).route_ids
    assert repr(by_name).startswith(f"<NetworkPath to {node_id}: {len(by_name.segments)} segments, ")


def test_network_path_rejects_unknown_and_ambiguous_names(model: twin.api.CityModel) -> None:
    with pytest.raises(KeyError, match="no node with id or name 'Nirgendwo'"):
        model.network_path("Nirgendwo")
    names = model.fibre_nodes["name"].dropna()
    repeated = names[names.duplicated()]
    if not repeated.empty:
        with pytest.raises(ValueError, match=r"nodes are named .*; give the node_id"):
            model.network_path(str(repeated.iloc[0]))


def test_network_path_on_built_routes_only_avoids_planned_ones(model: twin.api.CityModel) -> None:
    live = ("built", "in_service")
    for node_id in model.network_distances(statuses=live).dropna(subset=["network_distance_m"])["node_id"]:
        path = model.network_path(str(node_id), statuses=live)
        assert set(path.segments["status"].astype("str")) <= set(live)


# -- capture, building stock and quality -----------------------------------------------------------------------------


@pytest.mark.parametrize("date", ["2021-01-01", "2023-05-16", "2023-05-17T12:00:00+02:00", "2030-01-01"])
def test_buildings_not_captured_since_matches_pandas(model: twin.api.CityModel, built_model: Path, date: str) -> None:
    buildings = read(built_model, "buildings")
    moment = pd.Timestamp(date)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    last = pd.to_datetime(buildings["last_captured_at"], utc=True)
    expected = buildings[last.isna() | (last < moment)]
    assert model.buildings_not_captured_since(date)["building_id"].tolist() == expected["building_id"].tolist()


def test_capture_timeline_matches_pandas(model: twin.api.CityModel, built_model: Path) -> None:
    panoramas = read(built_model, "panoramas")
    day = pd.to_datetime(panoramas["captured_at"], utc=True).dt.strftime("%Y-%m-%d")
    timeline = model.capture_timeline()
    assert timeline["panoramas"].to_dict() == day.value_counts().sort_index().to_dict()
    assert timeline["drives"].to_dict() == panoramas.groupby(day)["sequence_id"].nunique().to_dict()
    tracks = read(built_model, "capture_tracks")
    assert timeline["driven_km"].sum() == pytest.approx(tracks["length_m"].sum() / 1000, abs=0.01)


def test_capture_gaps_match_pandas(model: twin.api.CityModel, built_model: Path) -> None:
    panoramas = read(built_model, "panoramas")
    panoramas["captured_at"] = pd.to_datetime(panoramas["captured_at"], utc=True)
    panoramas = panoramas.sort_values(["sequence_id", "captured_at"])
    step = panoramas.geometry.distance(panoramas.geometry.shift(1))
    same = panoramas["sequence_id"] == panoramas["sequence_id"].shift(1)
    for threshold in (10.0, 25.0):
        expected = panoramas.loc[same & (step > threshold), "panorama_id"]
        gaps = model.capture_gaps(threshold)
        assert gaps["to_panorama_id"].tolist() == expected.tolist()
        assert np.allclose(gaps["gap_m"], gaps.length, atol=0.01)
    assert len(model.capture_gaps(-1.0)) == int(same.sum())


def test_buildings_by_function_matches_pandas(model: twin.api.CityModel, built_model: Path) -> None:
    buildings = read(built_model, "buildings")
    table = model.buildings_by_function().reset_index()
    assert dict(zip(table["function_code"], table["buildings"], strict=True)) == \
        buildings["function_code"].value_counts().to_dict()
    heights = buildings.groupby("function_code")["height_m"].mean().round(1)
    assert dict(zip(table["function_code"], table["mean_height_m"], strict=True)) == heights.to_dict()


def test_qa_summary_matches_pandas(model: twin.api.CityModel, built_model: Path) -> None:
    issues = read(built_model, "qa_issues")
    summary = model.qa_summary()
    expected = issues.groupby(["layer", "check", "severity"]).size()
    assert {(r.layer, r.check, r.severity): r.issues for r in summary.itertuples()} == expected.to_dict()
    assert summary["issues"].is_monotonic_decreasing


def test_helpers_survive_a_model_without_fibre_or_panorama_links(tmp_path: Path, built_model: Path) -> None:
    """Until every stage fills them, linked fields may be null: helpers still answer."""
    path = tmp_path / "bare.gpkg"
    buildings = read(built_model, "buildings")
    buildings[["fibre_status", "fibre_distance_m", "last_captured_at"]] = None
    buildings["panorama_count"] = pd.array([None] * len(buildings), dtype="Int32")
    pyogrio.write_dataframe(buildings, path, layer="buildings", use_arrow=True)
    for name in ("fibre_routes", "fibre_nodes"):
        pyogrio.write_dataframe(read(built_model, name), path, layer=name, use_arrow=True)
    model = twin.open_model(path)
    assert len(model.buildings_not_captured_since("2020-01-01")) == len(buildings)
    assert model.connected_building_ids() == set()
    assert len(model.public_buildings_within_reach(50)) >= 1
    assert model.capture_timeline().empty
    assert model.capture_gaps().empty
    assert model.qa_summary().empty


def test_synthetic_network_path_geometry() -> None:
    """A tiny file written here: the line is oriented from the hub even when routes are drawn the other way."""
    routes = gpd.GeoDataFrame(
        {"route_id": ["r1", "r2"], "status": ["built", "built"]},
        geometry=[LineString([(100, 0), (0, 0)]), LineString([(100, 80), (100, 0)])], crs="EPSG:25832",
    )
    nodes = gpd.GeoDataFrame({"node_id": ["H", "S"], "kind": ["hub", "site"], "name": ["Rathaus", "Schule"]},
                             geometry=[Point(0, 0), Point(100, 80)], crs="EPSG:25832")
    from twin.transforms.routing import RouteNetwork

    path = RouteNetwork(routes, nodes).path("S")
    assert list(path.line.coords) == [(0, 0), (100, 0), (100, 80)]
    assert path.segments["distance_from_hub_m"].tolist() == [100.0, 180.0]


def test_buildings_around_matches_geopandas(model: twin.api.CityModel, built_model: Path) -> None:
    buildings = read(built_model, "buildings")
    centre = buildings.geometry.iloc[0]
    expected = buildings[buildings.geometry.distance(centre) <= 80.0]
    assert model.buildings_around(str(buildings["building_id"].iloc[0]), 80.0)["building_id"].tolist() == \
        expected["building_id"].tolist()
    with pytest.raises(KeyError, match="no building 'X'"):
        model.buildings_around("X")


def test_streets_below_coverage(tmp_path: Path) -> None:
    path = tmp_path / "streets.gpkg"
    streets = gpd.GeoDataFrame(
        {"street_id": ["a", "b", "c"], "name": ["Marktstraße", "Burgstraße", "Pfaffplatz"],
         "covered_share": [0.9, 0.2, None]},
        geometry=[LineString([(0, 0), (10, 0)])] * 3, crs="EPSG:25832",
    )
    pyogrio.write_dataframe(streets, path, layer="street_coverage")
    found = twin.open_model(path).streets_below_coverage(0.5)
    assert found["street_id"].tolist() == ["c", "b"]


def test_lod1_faces_extrude_every_wall_and_roof() -> None:
    from twin.api.plots import lod1_faces

    square = shapely.box(0, 0, 10, 10)
    two = gpd.GeoDataFrame({"height_m": [6.0, 12.0]},
                           geometry=[shapely.MultiPolygon([square]), shapely.box(20, 0, 25, 5)], crs="EPSG:25832")
    faces, heights = lod1_faces(two)
    assert len(faces) == 4 + 4 + 2  # walls of two boxes and two roofs
    assert sorted(set(heights.tolist())) == [6.0, 12.0]
    assert all(face[:, 2].max() in {6.0, 12.0} for face in faces)
