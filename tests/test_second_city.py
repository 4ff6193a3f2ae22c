"""A second city, in EPSG:25833 and from other vendors' formats, runs with a pipeline file only."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import pytest

import twin
from twin.sample import write_sample

ROOT = Path(__file__).resolve().parent.parent
#: Where the example city lies: near Cottbus, in EPSG:25833 (E, N).
PLACE_25833 = (455_000.0, 5_735_000.0)


def _moved(frame: gpd.GeoDataFrame, centre: tuple[float, float]) -> gpd.GeoDataFrame:
    """The sample's frame, in EPSG:25832, shifted to PLACE_25833 and labelled EPSG:25833."""
    local = frame.to_crs("EPSG:25832")
    moved = local.translate(PLACE_25833[0] - centre[0], PLACE_25833[1] - centre[1])
    return gpd.GeoDataFrame(local.drop(columns=local.geometry.name), geometry=moved.to_numpy(), crs="EPSG:25833")


def write_eastern_city(folder: Path, *, scale: int = 600, seed: int = 3) -> Path:
    """Write a small city in EPSG:25833 into `folder`, in formats and column names Kaiserslautern does not use."""
    raw = folder / "_sample"
    files = write_sample(raw, scale=scale, seed=seed)
    buildings = gpd.read_file(files["buildings"])
    centre = tuple(buildings.to_crs("EPSG:25832").total_bounds.reshape(2, 2).mean(axis=0))
    out = _moved(buildings, centre).rename(columns={"OI": "gebaeude_id", "GFK": "funktion"})
    pyogrio.write_dataframe(out, folder / "gebaeude.geojson", driver="GeoJSON")
    pyogrio.write_dataframe(_moved(gpd.read_file(files["boundary"]), centre), folder / "gemeindegrenze.geojson")
    routes = _moved(gpd.read_file(files["routes"]), centre).rename(columns={"kind": "Bauweise"})
    pyogrio.write_dataframe(routes, folder / "glasfaser_trassen.shp", encoding="UTF-8")
    nodes = _moved(gpd.read_file(files["nodes"]), centre).rename(columns={"kind": "Bauweise", "name": "Bezeichnung"})
    pyogrio.write_dataframe(nodes, folder / "netzknoten.gpkg", layer="netzknoten", driver="GPKG")
    table = pd.read_csv(files["panoramas"], dtype="str")
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["X"].astype(float), table["Y"].astype(float)),
                              crs="EPSG:4326")
    moved = _moved(points, centre)
    csv = pd.DataFrame({
        "Bildname": table["imageId"], "Zeit": table["recordedAt"],
        "Rechtswert": moved.geometry.x.map(lambda v: f"{v:.3f}".replace(".", ",")),
        "Hochwert": moved.geometry.y.map(lambda v: f"{v:.3f}".replace(".", ",")),
        "Hoehe": table["Z"].str.replace(".", ",", regex=False), "Blickrichtung": table["orientation"].str.replace(".", ",", regex=False),
    })
    csv.to_csv(folder / "panoramen.csv", sep=";", index=False)
    shutil.rmtree(raw)
    return folder


@pytest.fixture(scope="module")
def eastern_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout-like folder: pipelines/example_25833.toml and its data in data/example_25833."""
    root = tmp_path_factory.mktemp("spreeau")
    write_eastern_city(root / "data" / "example_25833")
    (root / "pipelines").mkdir()
    shutil.copy(ROOT / "pipelines" / "example_25833.toml", root / "pipelines")
    return root


def test_shipped_example_runs_in_epsg_25833(eastern_city: Path) -> None:
    pipeline = twin.read_pipeline(eastern_city / "pipelines" / "example_25833.toml")
    result = twin.run(pipeline, report=False)
    assert result.output == eastern_city / "data" / "processed" / "spreeau_cim.gpkg"
    for name, _ in pyogrio.list_layers(result.output):
        info = pyogrio.read_info(result.output, layer=name)
        if info["geometry_type"]:
            assert pyproj.CRS.from_user_input(info["crs"]).to_epsg() == 25833, name
    buildings = pyogrio.read_dataframe(result.output, layer="buildings")
    assert len(buildings) > 400
    assert set(buildings["fibre_status"]) >= {"connected", "reachable"}
    assert buildings["panorama_count"].gt(0).sum() > 10
    xmin, ymin, xmax, ymax = buildings.total_bounds
    assert 440_000 < xmin < xmax < 470_000 and 5_720_000 < ymin < ymax < 5_750_000
    panoramas = pyogrio.read_dataframe(result.output, layer="panoramas")
    assert len(panoramas) > 50 and panoramas["captured_at"].notna().all()
    nodes = pyogrio.read_dataframe(result.output, layer="fibre_nodes")
    assert nodes.loc[nodes["kind"] == "hub", "name"].tolist() == ["Rathaus"]
    assert len(pyogrio.read_dataframe(result.output, layer="fibre_connections")) > 0


def test_no_module_names_a_city() -> None:
    """Outside the sample generator, the sample city appears only as the default pipeline and its doctest output."""
    shipped = ("pipelines/kaiserslautern.toml", '"kaiserslautern.toml"', "'Kaiserslautern'", "'kaiserslautern_cim.gpkg'")
    lines = [f"{path.relative_to(ROOT)}: {line.strip()}" for path in (ROOT / "twin").rglob("*.py")
             if path.parent.name != "sample"
             for line in path.read_text(encoding="utf-8").splitlines()
             if "kaiserslautern" in line.lower() and not any(s in line for s in shipped)]
    assert lines == []
