"""Documentation inside the GeoPackage and the stored QGIS project, read back with sqlite3."""

from __future__ import annotations

import io
import json
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from tests.publish.test_styles import small_model  # noqa: F401  (fixture)
from twin.model import LAYERS
from twin.publish.documentation import RELATIONS
from twin.publish.qgis_project import GROUPS, PROJECT_NAME, group_title, layer_id


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _project(path: Path) -> tuple[ET.Element, dict[str, str]]:
    ((metadata, content),) = _rows(path, f"SELECT metadata, content FROM qgis_projects WHERE name = '{PROJECT_NAME}'")
    assert isinstance(content, str)
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(content))) as archive:
        (name,) = archive.namelist()
        assert name.endswith(".qgs")
        text = archive.read(name).decode("utf-8")
    return ET.fromstring(text.split("\n", 1)[1]), json.loads(str(metadata))


def test_layers_have_titles_and_descriptions(small_model: Path) -> None:  # noqa: F811
    rows = {r[0]: (r[1], r[2]) for r in _rows(small_model, "SELECT table_name, identifier, description FROM gpkg_contents")}
    for name, spec in LAYERS.items():
        assert rows[name] == (spec.title, spec.description)


def test_every_field_is_documented_with_value_lists(small_model: Path) -> None:  # noqa: F811
    columns = {(r[0], r[1]): r[2:] for r in _rows(
        small_model, "SELECT table_name, column_name, title, description, constraint_name FROM gpkg_data_columns")}
    for name, spec in LAYERS.items():
        for field in spec.fields:
            title, description, constraint = columns[(name, field.name)]
            assert title == field.title
            assert str(description).startswith(field.description)
            assert (constraint is not None) == bool(field.values)
    enum = _rows(small_model, "SELECT value, description FROM gpkg_data_column_constraints "
                              "WHERE constraint_name = 'buildings_fibre_status' AND constraint_type = 'enum'")
    assert dict(enum) == LAYERS["buildings"].field("fibre_status").values  # type: ignore[comparison-overlap]
    extensions = {(r[0], r[1]) for r in _rows(small_model, "SELECT table_name, extension_name FROM gpkg_extensions")}
    assert {("gpkg_data_columns", "gpkg_schema"), ("gpkg_data_column_constraints", "gpkg_schema"),
            ("gpkg_metadata", "gpkg_metadata"), ("gpkgext_relations", "related_tables")} <= extensions


def test_related_tables_link_building_connection_node(small_model: Path) -> None:  # noqa: F811
    relations = _rows(small_model, "SELECT base_table_name, related_table_name, relation_name, mapping_table_name "
                                   "FROM gpkgext_relations ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in relations] == [
        ("buildings", "fibre_connections", "features"), ("fibre_nodes", "fibre_connections", "features"),
        ("buildings", "panorama_views", "attributes"), ("panoramas", "panorama_views", "attributes")]
    linked = _rows(small_model, 'SELECT b.building_id, c.node_id FROM buildings_fibre_connections m '
                                "JOIN buildings b ON b.fid = m.base_id JOIN fibre_connections c ON c.fid = m.related_id")
    assert linked == [("B1", "N1")]
    (count,) = _rows(small_model, "SELECT count(*) FROM fibre_nodes_fibre_connections")[0]
    assert count == 1
    contents = {str(r[0]) for r in _rows(small_model, "SELECT table_name FROM gpkg_contents")}
    assert not {r.mapping_table for r in RELATIONS} & contents
    assert {r.mapping_table for r in RELATIONS} <= {str(r[0]) for r in _rows(
        small_model, "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'related_tables'")}


def test_lineage_is_recorded(small_model: Path) -> None:  # noqa: F811
    ((scope, mime, text),) = _rows(small_model, "SELECT md_scope, mime_type, metadata FROM gpkg_metadata")
    assert (scope, mime) == ("dataset", "application/json")
    lineage = json.loads(str(text))
    assert lineage["run_id"] == "R1"
    assert lineage["software_version"] == "9.9"
    assert lineage["inputs"] == {"a.shp": "ab" * 32}
    assert _rows(small_model, "SELECT reference_scope, md_file_id FROM gpkg_metadata_reference") == [("geopackage", 1)]


def test_project_points_at_the_published_name_with_groups_and_themes(small_model: Path) -> None:  # noqa: F811
    root, metadata = _project(small_model)
    assert set(metadata) == {"last_modified_time", "last_modified_user"}
    sources = {layer.findtext("id"): layer.findtext("datasource") for layer in root.iter("maplayer")}
    assert sources == {layer_id(name): f"./stadt.gpkg|layername={name}" for name in LAYERS}
    groups = [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")]
    assert groups == [group_title(group, "de") for group in GROUPS] == ["Qualität", "Glasfaser", "Panoramen", "Gebäude"]
    assert sorted(t.get("name") for t in root.iter("visibility-preset")) == sorted(groups)
    assert root.findtext("properties/Paths/Absolute") == "false"
    buildings = next(layer for layer in root.iter("maplayer") if layer.findtext("id") == layer_id("buildings"))
    assert buildings.find("renderer-v2") is not None and buildings.find("renderer-3d") is not None
    extent = root.find("ProjectViewSettings/DefaultViewExtent")
    assert extent is not None
    assert float(extent.get("xmin", "0")) < 410000 < float(extent.get("xmax", "0"))


def test_runner_writes_the_target_name_and_lineage(built_model: Path) -> None:
    root, _ = _project(built_model)
    source = root.find("projectlayers/maplayer/datasource")
    assert source is not None and source.text == f"./{built_model.name}|layername=buildings"
    ((text,),) = _rows(built_model, "SELECT metadata FROM gpkg_metadata")
    lineage = json.loads(str(text))
    (run_id,) = _rows(built_model, "SELECT run_id FROM runs ORDER BY fid DESC LIMIT 1")[0]
    assert lineage["run_id"] == run_id
    assert any(path.endswith("hausumringe.shp") for path in lineage["inputs"])
    assert all(len(digest) == 64 for digest in lineage["inputs"].values())


def test_share_columns_of_the_campaigns_are_written_titled_and_styled(tmp_path: Path) -> None:
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import LineString

    from twin.publish.geopackage import write_geopackage

    coverage = gpd.GeoDataFrame(
        {"street_id": ["S1", "S2"], "name": ["Marktstraße", "Am Altenhof"], "covered_share": [1.0, 0.25],
         "campaigns": ["2021,2023", "2023"], "share_2023": [0.8, 0.25], "share_2021": [1.0, 0.0],
         "share_of_something": ["x", "y"]},
        geometry=[LineString([(410000, 5477000), (410100, 5477000)]),
                  LineString([(410000, 5477200), (410100, 5477200)])], crs="EPSG:25832")
    for language, titles in (("de", ("Abdeckung 2021", "Abdeckung 2023")), ("en", ("Coverage 2021", "Coverage 2023"))):
        path = tmp_path / f"{language}.gpkg"
        write_geopackage(path, {"street_coverage": coverage}, crs="EPSG:25832", language=language)
        written = pyogrio.read_dataframe(path, layer="street_coverage")
        assert list(written.columns) == [*LAYERS["street_coverage"].columns, "share_2021", "share_2023", "geometry"]
        assert written["share_2021"].tolist() == [1.0, 0.0] and written["share_2023"].tolist() == [0.8, 0.25]
        documented = dict(_rows(path, "SELECT column_name, title FROM gpkg_data_columns "
                                      "WHERE table_name = 'street_coverage' AND column_name LIKE 'share%'"))
        assert documented == {"share_2021": titles[0], "share_2023": titles[1]}
        ((qml,),) = _rows(path, "SELECT styleQML FROM layer_styles WHERE f_table_name = 'street_coverage'")
        style = ET.fromstring(str(qml).split("\n", 1)[1])
        aliases = {a.get("field"): (a.get("name"), a.get("index")) for a in style.iter("alias")}
        assert aliases["share_2021"] == (titles[0], str(len(LAYERS["street_coverage"].fields) + 1))
        assert aliases["share_2023"][0] == titles[1]
        renderer = style.find("renderer-v2")
        assert renderer is not None and renderer.get("attr") == "covered_share"
        assert len(list(renderer.iter("range"))) == 4
        root = ET.fromstring(_project_document(path))
        layer = next(m for m in root.iter("maplayer") if m.findtext("id") == layer_id("street_coverage"))
        assert {a.get("field"): a.get("name") for a in layer.iter("alias")}["share_2023"] == titles[1]


def _project_document(path: Path) -> str:
    ((content,),) = _rows(path, "SELECT content FROM qgis_projects")
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(str(content)))) as archive:
        return archive.read(archive.namelist()[0]).decode("utf-8").split("\n", 1)[1]
