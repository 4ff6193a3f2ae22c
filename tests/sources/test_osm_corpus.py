"""`twin run` on real OpenStreetMap extracts: files of other projects' test suites and, where present, Kaiserslautern.

The files and their sources are listed in ``tests/data/README.md``; each test asserts what its
source project asserts of the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.publish.test_cityjson import _validator as cityjson_validator
from twin.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "osm"
#: The real extract of the city, beside the repository in development and CI; absent in a fresh clone.
KAISERSLAUTERN = ROOT.parent / "shared" / "data" / "kaiserslautern-osm.osm.gz"


def _run(tmp_path: Path, extract: Path, *, name: str, crs: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """`twin run` on a pipeline of the extract's buildings alone; the buildings and qa_issues it published."""
    output = tmp_path / "out" / "cim.gpkg"
    pipeline = tmp_path / "city.toml"
    pipeline.write_text(
        f'[city]\nname = "{name}"\ncrs = "{crs}"\n\n[output]\npath = "{output}"\n\n'
        f'[buildings]\npath = "{extract}"\nformat = "osm"\n',
        encoding="utf-8",
    )
    assert main(["run", "-q", str(pipeline)]) == 0
    return pyogrio.read_dataframe(output, layer="buildings"), pyogrio.read_dataframe(output, layer="qa_issues")


def _init_and_run(tmp_path: Path, extract: Path, *, name: str) -> tuple[str, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """`twin init` on a folder holding only the extract, then `twin run` on the pipeline it wrote."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / extract.name).symlink_to(extract)
    assert main(["init", "-q", "--inputs", str(inputs), "--pipelines", str(tmp_path / "pipelines"), name]) == 0
    pipeline = next((tmp_path / "pipelines").glob("*.toml"))
    text = pipeline.read_text(encoding="utf-8")
    assert 'format = "osm"' in text and 'layer = "multipolygons"' in text
    assert main(["run", "-q", str(pipeline)]) == 0
    output = next(tmp_path.glob("data/processed/*.gpkg"))
    crs = text.split('crs = "', 1)[1].split('"', 1)[0]
    return crs, pyogrio.read_dataframe(output, layer="buildings"), pyogrio.read_dataframe(output, layer="qa_issues")


def _dropped(issues: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return issues.loc[(issues["layer"] == "buildings") & issues["message"].str.startswith("dropped")]


def test_pyrosm_extract_cut_at_its_edge_runs_and_accounts_for_every_building(tmp_path: Path) -> None:
    """pyrosm's test.osm.pbf (Kouvola) has ways cut at the extract's edge: rings of two points GEOS cannot build."""
    buildings, issues = _run(tmp_path, DATA / "pyrosm-test.osm.pbf", name="Kouvola", crs="EPSG:3067")
    undecodable = issues.loc[issues["check"] == "undecodable_geometry"]
    assert sorted(undecodable["feature_id"]) == ["way/369849815", "way/424097719", "way/424108275", "way/424111969"]
    assert undecodable["message"].str.contains("LinearRing found 2").all()
    # pyrosm's test_parsing_building_elements: 2219 ways tagged building; each is published or dropped with a QA row
    assert len(buildings) + len(_dropped(issues)) == 2219
    assert buildings["building_id"].is_unique and buildings["building_id"].str.startswith("way/").all()
    assert buildings.crs == "EPSG:3067" and buildings.geometry.is_valid.all()
    target = tmp_path / "kouvola.city.json"
    assert main(["export", "cityjson", str(tmp_path / "out" / "cim.gpkg"), str(target)]) == 0
    document = json.loads(target.read_text(encoding="utf-8"))
    assert sum(o["type"] == "Building" for o in document["CityObjects"].values()) == len(buildings)
    sample = dict(list(document["CityObjects"].items())[:100])  # the schemas take a minute for all 2193
    assert not list(cityjson_validator().iter_errors({**document, "CityObjects": sample}))
    assert document["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/3067"


def test_osm_testdata_multipolygon_buildings_have_the_expected_footprints(tmp_path: Path) -> None:
    """osm-testdata grid tests 900-950: the buildings tagged on their relation, with the areas osmium expects."""
    buildings, issues = _run(tmp_path, DATA / "osm-testdata-grid-9.osm", name="Testgrid", crs="EPSG:32632")
    tests = json.loads((DATA / "osm-testdata-grid-9-tests.json").read_text(encoding="utf-8"))
    root = ElementTree.parse(DATA / "osm-testdata-grid-9.osm").getroot()
    # osmium also builds old-style multipolygons (tags on the outer way: tests 911, 912, 921); GDAL, like OSM
    # since 2017, takes the tags of the relation only
    on_relation = {f"relation/{r.get('id')}" for r in root.iter("relation")
                   if any(t.get("k") == "building" for t in r.iter("tag"))}
    expected = {
        f"{area['from_type']}/{area['from_id']}": shapely.from_wkt(area["wkt"])
        for test in tests for area in test["areas"]["default"]
        if area.get("tags", {}).get("building") and f"{area['from_type']}/{area['from_id']}" in on_relation
    }
    assert sorted(expected) == ["relation/910900", "relation/920900"]
    assert sorted(buildings["building_id"]) == sorted(expected)
    wanted = gpd.GeoSeries(list(expected.values()), index=list(expected), crs="EPSG:4326").to_crs("EPSG:32632")
    got = buildings.set_index("building_id").geometry
    for building_id, footprint in wanted.items():
        assert got[building_id].symmetric_difference(footprint).area < 1e-6 * footprint.area
    assert len(shapely.get_interior_ring(shapely.get_geometry(got["relation/920900"], 0), 0).coords) == 5  # the hole
    assert issues.empty


def test_init_reads_the_pyrosm_extract_as_osm_buildings_in_its_utm_zone(tmp_path: Path) -> None:
    crs, buildings, issues = _init_and_run(tmp_path, DATA / "pyrosm-test.osm.pbf", name="Kouvola")
    assert crs == "EPSG:25835"  # ETRS89 / UTM 35N: Kouvola lies at 26.9° E
    assert len(buildings) + len(_dropped(issues)) == 2219
    assert (issues["check"] == "undecodable_geometry").sum() == 4


@pytest.mark.skipif(not KAISERSLAUTERN.exists(), reason="the real Kaiserslautern extract is not beside the repository")
def test_real_kaiserslautern_extract(tmp_path: Path) -> None:
    """The city's own extract (bbbike, .osm.gz), through twin init and twin run: about 15,100 buildings,
    ways of one node twice among them."""
    crs, buildings, issues = _init_and_run(tmp_path, KAISERSLAUTERN, name="Kaiserslautern")
    assert crs == "EPSG:25832"
    undecodable = issues.loc[issues["check"] == "undecodable_geometry"]
    assert sorted(undecodable["feature_id"]) == ["way/114084609", "way/186911831"]
    assert 15_000 <= len(buildings) <= 15_200
    rathaus = buildings.set_index("building_id").loc["way/30651076"]
    assert rathaus["source"] == "osm" and rathaus["area_m2"] > 1000


def test_init_takes_the_extracts_buildings_over_a_small_polygon_layer_beside_it(tmp_path: Path) -> None:
    # the extract beside four districts of Kouvola in a Finnish-named Shapefile (ISO-8859-1): the 2,219
    # OSM buildings are the footprints, not the four district polygons
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    extract = DATA / "pyrosm-test.osm.pbf"
    (inputs / extract.name).symlink_to(extract)
    west, south, east, north = 26.93, 60.52, 26.97, 60.54
    quarters = [shapely.box(x, y, x + (east - west) / 2, y + (north - south) / 2)
                for x in (west, (west + east) / 2) for y in (south, (south + north) / 2)]
    gpd.GeoDataFrame({"nimi": ["Keskusta", "Käpylä", "Työväenkylä", "Ääniemi"]}, geometry=quarters,
                     crs="EPSG:4326").to_file(inputs / "kaupunginosat.shp", encoding="ISO-8859-1")
    assert main(["init", "-q", "--inputs", str(inputs), "--pipelines", str(tmp_path / "pipelines"), "Kouvola"]) == 0
    text = next((tmp_path / "pipelines").glob("*.toml")).read_text(encoding="utf-8")
    buildings = text.split("[buildings]", 1)[1].split("\n[", 1)[0]
    assert 'pyrosm-test.osm.pbf"' in buildings and 'format = "osm"' in buildings
    assert 'crs = "EPSG:25835"' in text
