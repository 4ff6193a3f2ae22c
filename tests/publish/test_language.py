"""``[output] language``: what a user of another city's model reads is in its language and names no other town.

The model of the EPSG:25833 example city (tests/test_second_city.py) is published in English and in
German; every text twin writes for its readers is collected from the file (``gpkg_contents``,
``gpkg_data_columns``, ``gpkg_data_column_constraints``, ``layer_styles``, ``qgis_projects``,
``gpkg_metadata``) and from the run report beside it.
"""

from __future__ import annotations

import io
import re
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

import twin
from twin.errors import ConfigError
from twin.model import LAYERS
from twin.model.layers import TEXTS
from twin.publish.qgis_project import GROUPS, group_title, project_name

#: Words of the town whose model twin was first built for, and of its region and network.
CITY_WORDS = ("Kaiserslautern", "RAINBOW", "Rheinland-Pfalz", "Rathaus")


def _german_texts() -> set[str]:
    """Every German title, description and value label of the model that differs from its English one."""
    pairs = list(TEXTS.values())
    for layer in LAYERS.values():
        pairs += [(layer.title, layer.title_en), (layer.description, layer.description_en)]
        for field in layer.fields:
            pairs += [(field.title, field.title_en), (field.description, field.description_en)]
            pairs += [(field.values[v], field.values_en[v]) for v in field.values]
            pairs += [(field.legend_label(v, "de"), field.legend_label(v, "en")) for v in field.values]
    return {german for german, english in pairs if german != english}


def _rows(model: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(model) as con:
        rows = con.execute(sql).fetchall()
    con.close()
    return rows


def _project_documents(model: Path) -> dict[str, str]:
    """Name -> the ``.qgs`` XML of every project stored in `model`."""
    found = {}
    for name, content in _rows(model, "SELECT name, content FROM qgis_projects"):
        with zipfile.ZipFile(io.BytesIO(bytes.fromhex(str(content)))) as archive:
            found[str(name)] = "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".qgs"))
    return found


def _published_texts(model: Path) -> dict[str, str]:
    """All text a user reads in the model and its report, by where it is."""
    tables = {
        "gpkg_contents": "SELECT identifier, description FROM gpkg_contents",
        "gpkg_data_columns": "SELECT name, title, description FROM gpkg_data_columns",
        "gpkg_data_column_constraints": "SELECT value, description FROM gpkg_data_column_constraints",
        "layer_styles": "SELECT styleName, styleQML, description FROM layer_styles",
        "gpkg_metadata": "SELECT metadata FROM gpkg_metadata",
    }
    texts = {table: "\n".join(str(v) for row in _rows(model, sql) for v in row if v is not None)
             for table, sql in tables.items()}
    projects = _project_documents(model)
    texts["qgis_projects"] = "\n".join([*projects, *projects.values()])
    texts["report"] = model.with_name(f"{model.stem}.report.md").read_text(encoding="utf-8")
    return texts


def _found(words: set[str] | tuple[str, ...], texts: dict[str, str]) -> list[tuple[str, str]]:
    return sorted((where, word) for where, body in texts.items() for word in words
                  if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", body))


def test_english_model_of_another_city_has_no_german_text_and_no_other_town(english_city: Path) -> None:
    texts = _published_texts(english_city)
    assert all(texts.values()), [where for where, body in texts.items() if not body]
    assert _found(CITY_WORDS, texts) == []
    assert _found(_german_texts(), texts) == []
    umlauts = {where: sorted(set(re.findall(r"\w*[äöüÄÖÜß]\w*", body))) for where, body in texts.items()}
    assert {where: words for where, words in umlauts.items() if words} == {}


def test_english_model_reads_in_english(english_city: Path) -> None:
    contents = dict(_rows(english_city, "SELECT table_name, identifier FROM gpkg_contents"))
    assert {name: contents[name] for name in LAYERS} == {name: spec.title_en for name, spec in LAYERS.items()}
    assert contents["buildings"] == "Buildings"
    columns = {(t, c): (title, str(d)) for t, c, title, d in
               _rows(english_city, "SELECT table_name, column_name, title, description FROM gpkg_data_columns")}
    assert columns[("buildings", "height_m")] == ("Height", "Building height of the LoD1 model in metres.")
    assert columns[("buildings", "area_m2")] == ("Footprint area", "Area of the footprint in square metres. Unit: m2.")
    labels = dict(_rows(english_city, "SELECT value, description FROM gpkg_data_column_constraints "
                                      "WHERE constraint_name = 'fibre_nodes_kind'"))
    assert labels == {"hub": "hub: point of presence the network starts from", "distribution": "distribution point",
                      "site": "connected site"}
    styles = dict(_rows(english_city, "SELECT f_table_name, styleQML FROM layer_styles"))
    buildings = ET.fromstring(styles["buildings"].split("\n", 1)[1])
    assert [c.get("label") for c in buildings.iter("category")] == [
        "connected", "reachable", "planned", "not reachable", "not given"]
    assert {a.get("field"): a.get("name") for a in buildings.iter("alias")}["area_m2"] == "Footprint area [m²]"
    routes = ET.fromstring(styles["fibre_routes"].split("\n", 1)[1])
    assert [r.get("label") for r in routes.iter("rule")][:3] == ["trench, planned", "trench, built", "trench, in service"]
    ((name, document),) = _project_documents(english_city).items()
    assert name == "City model"
    root = ET.fromstring(document.split("\n", 1)[1])
    assert [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")] == [
        "Quality", "Fibre", "Panoramas", "Buildings"]
    assert sorted(p.get("name") for p in root.iter("visibility-preset")) == ["Buildings", "Fibre", "Panoramas", "Quality"]
    assert sorted(r.get("name") for r in root.iter("relation")) == [
        "Buildings of the panorama", "Connections of the building", "Connections of the node",
        "Panoramas of the building"]
    report = english_city.with_name(f"{english_city.stem}.report.md").read_text(encoding="utf-8")
    assert report.startswith(f"# Run report: {english_city.name}\n")
    assert "## Features per layer" in report


def test_german_model_of_another_city_reads_in_german_and_names_no_other_town(german_city: Path) -> None:
    texts = _published_texts(german_city)
    assert _found(CITY_WORDS, texts) == []
    contents = dict(_rows(german_city, "SELECT table_name, identifier FROM gpkg_contents"))
    assert {name: contents[name] for name in LAYERS} == {name: spec.title for name, spec in LAYERS.items()}
    assert contents["fibre_nodes"] == "Glasfaserknoten"
    title, description = _rows(german_city, "SELECT title, description FROM gpkg_data_columns "
                                             "WHERE table_name = 'panoramas' AND column_name = 'pitch_deg'")[0]
    assert (title, description) == ("Neigung", "Nickwinkel der Kamera in Grad. Einheit: deg.")
    styles = dict(_rows(german_city, "SELECT f_table_name, styleQML FROM layer_styles"))
    nodes = ET.fromstring(styles["fibre_nodes"].split("\n", 1)[1])
    assert [c.get("label") for c in nodes.iter("category")] == [
        "Zentrale", "Verteilerpunkt", "angeschlossener Standort", "sonstige"]
    ((name, document),) = _project_documents(german_city).items()
    assert name == project_name("de") == "Stadtmodell"
    root = ET.fromstring(document.split("\n", 1)[1])
    assert [g.get("name") for g in root.findall("layer-tree-group/layer-tree-group")] == [
        group_title(group, "de") for group in GROUPS] == ["Qualität", "Glasfaser", "Panoramen", "Gebäude"]
    assert "Gebäudegrundrisse (LoD1)" in texts["gpkg_contents"]
    assert '"language": "de"' in texts["gpkg_metadata"]
    assert texts["report"].startswith(f"# Laufbericht: {german_city.name}\n")
    assert "## Objekte je Ebene" in texts["report"]
    assert "![Übersichtskarte](" in texts["report"]


def test_a_language_without_texts_is_refused(tmp_path: Path) -> None:
    from tests.conftest import pipeline_text

    path = tmp_path / "city.toml"
    text = pipeline_text(tmp_path / "cim.gpkg").replace("[output]\n", '[output]\nlanguage = "fr"\n')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        twin.read_pipeline(path)
    assert str(raised.value) == "city.toml: [output] language: unknown format 'fr' (choose de, en); fix the pipeline file"


def test_a_new_language_publishes_the_model_anew(tmp_path: Path) -> None:
    """Unchanged inputs would keep the published file; a new language must not leave the old texts in it."""
    from tests.conftest import pipeline_text

    path = tmp_path / "city.toml"
    output = tmp_path / "out" / "cim.gpkg"
    for language in ("de", "en"):
        text = pipeline_text(output).replace("[output]\n", f'[output]\nlanguage = "{language}"\n')
        path.write_text(text, encoding="utf-8")
        result = twin.run(twin.read_pipeline(path), report=False)
    assert not result.unchanged
    assert result.stages["link"] == "built"
    assert dict(_rows(output, "SELECT table_name, identifier FROM gpkg_contents"))["buildings"] == "Buildings"
    assert list(_project_documents(output)) == ["City model"]
