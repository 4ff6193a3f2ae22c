"""The buildings stage end to end: ALKIS master, OSM filling heights, LoD2 heights, QA accounting, CityJSON."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.conftest import PipelineFactory, pipeline_text
from tests.sources.test_osm import OSM
from twin.config import read_pipeline
from twin.errors import ConfigError
from twin.publish.cityjson import cityjson_document

CRS = "EPSG:25832"


def _inputs(folder: Path) -> dict[str, Path]:
    osm_path = folder / "extract.osm"
    osm_path.write_text(OSM, encoding="utf-8")
    osm = pyogrio.read_dataframe(osm_path, layer="multipolygons").to_crs(CRS)
    court = osm.loc[osm["osm_id"] == "300"].geometry.iloc[0]
    house = osm.loc[osm["osm_way_id"] == "200"].geometry.iloc[0]
    x, y = shapely.get_coordinates(court).min(axis=0)
    alkis = gpd.GeoDataFrame(
        {"OI": ["DERPLI01", "DERPLI02", "DERPLI03", "DERPLI03"], "GFK": ["31001_1100", "31001_1010", "2463", "2463"],
         "AKTUALIT": ["2022-01-01"] * 4, "LAGE": ["Schillerstraße 5", "Königstraße", "Hof", "Hof"]},
        geometry=[court.buffer(0.05), house, shapely.Polygon([(x - 30, y), (x - 20, y + 10), (x - 20, y), (x - 30, y + 10)]),
                  shapely.box(x - 60, y, x - 50, y + 10)],
        crs=CRS,
    )
    shp = folder / "hausumringe.shp"
    alkis.to_file(shp, encoding="cp1252", engine="pyogrio")
    shp.with_suffix(".cpg").unlink()
    lod2 = folder / "lod2.csv"
    pd.DataFrame({"OI": ["DERPLI02"], "measuredHeight": [8.75]}).to_csv(lod2, index=False)
    boundary = folder / "boundary.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(x - 55, y - 100, x + 300, y + 500)], crs=CRS).to_file(boundary)
    return {"osm": osm_path, "shp": shp, "lod2": lod2, "boundary": boundary}


def osm_added_pipeline(folder: Path, files: dict[str, Path], *, heights: bool = False) -> Path:
    """A pipeline file in `folder`: the ALKIS footprints of `files` (:func:`_inputs`) with the OSM extract's
    added, and with `heights` the LoD2 heights; no panoramas, no fibre."""
    heights_table = f'\n\n[buildings.heights]\npath = "{files["lod2"]}"' if heights else ""
    buildings = (f'path = "{files["shp"]}"\nformat = "alkis"{heights_table}\n\n'
                 f'[[buildings.extra]]\npath = "{files["osm"]}"\nformat = "osm"\nmode = "add"')
    path = folder / "pipeline.toml"
    path.write_text(pipeline_text(folder / "out" / "cim.gpkg", buildings=buildings, panoramas="", fibre="",
                                  city=f'name = "Test"\ncrs = "EPSG:25832"\nboundary = "{files["boundary"]}"'),
                    encoding="utf-8")
    return path


@pytest.mark.slow
def test_alkis_master_with_osm_and_lod2(tmp_path: Path, make_pipeline: PipelineFactory) -> None:
    files = _inputs(tmp_path)
    buildings = (f'path = "{files["shp"]}"\nformat = "alkis"\nstorey_height_m = 3.5\n\n'
                 f'[buildings.heights]\npath = "{files["lod2"]}"\n\n'
                 f'[[buildings.extra]]\npath = "{files["osm"]}"\nformat = "osm"\nmode = "add"')
    city = f'name = "Test"\ncrs = "EPSG:25832"\nboundary = "{files["boundary"]}"'
    pipeline = read_pipeline(make_pipeline(buildings=buildings, city=city, panoramas="", fibre=""))
    assert pipeline.buildings is not None and pipeline.buildings.extra[0].mode == "add"
    assert files["lod2"] in pipeline.input_files() and files["osm"] in pipeline.input_files()
    output = twin.run(pipeline).output
    frame = pyogrio.read_dataframe(output, layer="buildings").set_index("building_id")
    issues = pyogrio.read_dataframe(output, layer="qa_issues")
    assert sorted(frame.index) == ["DERPLI01", "DERPLI02", "DERPLI03", "DERPLI03-2", "way/202"]
    assert frame.loc["DERPLI01", ["height_m", "height_source", "storeys"]].tolist() == [14.5, "source", 4]
    assert frame.loc["DERPLI02", ["height_m", "height_source"]].tolist() == [8.75, "measured"]
    assert frame.loc["DERPLI02", "street"] == "Schillerstraße"
    assert frame.loc["way/202", "source"] == "osm"
    assert json.loads(frame.loc["DERPLI02", "source_attributes"])["LAGE"] == "Königstraße"
    assert frame["height_source"].notna().all() and (frame["height_m"] > 0).all()
    assert shapely.is_valid(frame.geometry.to_numpy()).all()
    found = set(zip(issues["feature_id"], issues["check"], strict=True))
    assert {("DERPLI03", "geometry_repaired"), ("DERPLI03", "duplicate_id"), ("DERPLI03", "clipped"),
            ("relation/300", "merged"), ("way/200", "merged")} <= found
    document = cityjson_document(pyogrio.read_dataframe(output, layer="buildings"))
    assert document["CityObjects"]["DERPLI02"]["attributes"]["measuredHeight"] == 8.75


def test_nested_tables_are_checked(tmp_path: Path, make_pipeline: PipelineFactory) -> None:
    files = _inputs(tmp_path)
    buildings = (f'path = "{files["shp"]}"\n\n[buildings.heights]\npath = "{files["lod2"]}"\nid_colum = "OI"\n\n'
                 f'[[buildings.extra]]\npath = "{tmp_path}/missing.osm.pbf"\nmode = "merge"')
    with pytest.raises(ConfigError) as info:
        read_pipeline(make_pipeline(buildings=buildings))
    text = str(info.value)
    assert "unknown key [buildings.heights] id_colum (did you mean 'id_column'?)" in text
    assert "[buildings.extra] path: file" in text and "missing.osm.pbf not found" in text
    assert "[buildings.extra] mode: unknown format 'merge'" in text
