"""OpenStreetMap buildings read through GDAL's OSM driver from a small .osm XML file written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from twin.config import BuildingsConfig
from twin.errors import SourceError
from twin.sources import osm

CRS = "EPSG:25832"

OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="twin tests">
  <node id="1" lat="49.4440" lon="7.7680"/><node id="2" lat="49.4440" lon="7.7690"/>
  <node id="3" lat="49.4446" lon="7.7690"/><node id="4" lat="49.4446" lon="7.7680"/>
  <node id="5" lat="49.4442" lon="7.7683"/><node id="6" lat="49.4442" lon="7.7686"/>
  <node id="7" lat="49.4444" lon="7.7686"/><node id="8" lat="49.4444" lon="7.7683"/>
  <node id="11" lat="49.4450" lon="7.7700"/><node id="12" lat="49.4450" lon="7.7702"/>
  <node id="13" lat="49.4452" lon="7.7702"/><node id="14" lat="49.4452" lon="7.7700"/>
  <node id="21" lat="49.4460" lon="7.7700"/><node id="22" lat="49.4460" lon="7.7702"/>
  <node id="23" lat="49.4462" lon="7.7702"/><node id="24" lat="49.4462" lon="7.7700"/>
  <node id="31" lat="49.4470" lon="7.7700"/><node id="32" lat="49.4470" lon="7.7702"/>
  <node id="33" lat="49.4472" lon="7.7702"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
  <way id="101"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/></way>
  <way id="200"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/>
    <tag k="building" v="house"/><tag k="building:levels" v="2"/><tag k="roof:levels" v="1"/>
    <tag k="addr:street" v="Schillerstraße"/><tag k="addr:housenumber" v="5a"/><tag k="addr:postcode" v="67655"/>
    <tag k="wheelchair" v="a &quot;quoted&quot; value"/></way>
  <way id="201"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="24"/><nd ref="21"/><tag k="building" v="no"/></way>
  <way id="202"><nd ref="31"/><nd ref="32"/><nd ref="33"/><nd ref="31"/><tag k="building" v="garage"/><tag k="height" v="40'"/></way>
  <relation id="300"><member type="way" ref="100" role="outer"/><member type="way" ref="101" role="inner"/>
    <tag k="type" v="multipolygon"/><tag k="building" v="apartments"/><tag k="building:levels" v="4"/>
    <tag k="height" v="14,5 m"/><tag k="name" v="Hof am Altenhof"/></relation>
</osm>
"""


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    path = tmp_path / "kaiserslautern.osm"
    path.write_text(OSM, encoding="utf-8")
    return path


def test_buildings_with_ids_tags_and_holes(extract: Path) -> None:
    frame = osm.read(BuildingsConfig(path=extract, format="osm"), target_crs=CRS).set_index("building_id")
    assert sorted(frame.index) == ["relation/300", "way/200", "way/202"]
    assert frame.crs == CRS
    court = frame.loc["relation/300"]
    polygon = shapely.get_parts(court.geometry)[0] if court.geometry.geom_type == "MultiPolygon" else court.geometry
    assert len(polygon.interiors) == 1
    assert court.geometry.area == pytest.approx(72.4 * 66.7 - 21.7 * 22.2, rel=0.02)
    assert court["storeys"] == 4 and court["height_m"] == 14.5
    assert court["function_code"] == "1000" and court["function_label"] == "Wohngebäude"
    assert json.loads(court["source_attributes"])["name"] == "Hof am Altenhof"
    house = frame.loc["way/200"]
    assert (house["storeys"], house["roof_storeys"]) == (2, 1)
    assert (house["street"], house["house_number"], house["postcode"]) == ("Schillerstraße", "5a", "67655")
    tags = json.loads(house["source_attributes"])
    assert tags["wheelchair"] == 'a "quoted" value' and tags["building"] == "house"
    garage = frame.loc["way/202"]
    assert garage["height_m"] == pytest.approx(12.192)
    assert garage["function_label"] == "Garage"
    assert (frame["source"] == "osm").all()


def test_not_an_osm_file(tmp_path: Path) -> None:
    path = tmp_path / "buildings.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"^buildings.csv: is not an OSM extract"):
        osm.read(BuildingsConfig(path=path, format="osm"), target_crs=CRS)


def test_truncated_extract_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.osm"
    path.write_text(OSM[: len(OSM) // 2], encoding="utf-8")
    try:
        frame = osm.read(BuildingsConfig(path=path, format="osm"), target_crs=CRS)
    except SourceError:
        return
    assert frame["building_id"].is_unique
