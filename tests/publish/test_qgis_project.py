"""The QGIS project stored in a model names the file it reads; pointing it at a copied or renamed file.

What QGIS itself makes of these sources is checked in ``test_qgis.py`` (real PyQGIS).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from twin.cli import main
from twin.errors import SourceError
from twin.publish.qgis_project import PROJECT_NAME, point_project_at, project_sources


def _qgs(path: Path) -> ET.Element:
    with sqlite3.connect(path) as con:
        (content,) = con.execute("SELECT content FROM qgis_projects WHERE name = ?", (PROJECT_NAME,)).fetchone()
    con.close()
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(content))) as archive:
        text = archive.read(f"{PROJECT_NAME}.qgs").decode("utf-8")
    return ET.fromstring(text.split("\n", 1)[1] if text.startswith("<!DOCTYPE") else text)


def _sources(path: Path) -> list[str]:
    return [node.text or "" for node in _qgs(path).iter("datasource")]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_published_project_reads_the_file_it_is_published_as(built_model: Path) -> None:
    assert project_sources(built_model) == {PROJECT_NAME: {"./kaiserslautern_cim.gpkg"}}
    assert all(source.startswith("./kaiserslautern_cim.gpkg|layername=") for source in _sources(built_model))


def test_a_renamed_copy_is_pointed_at_itself_and_only_once(built_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "stand 2026-12-05 (Kopie).gpkg"
    shutil.copyfile(built_model, copy)
    assert point_project_at(copy)
    assert project_sources(copy) == {PROJECT_NAME: {"./stand 2026-12-05 (Kopie).gpkg"}}
    layers = sorted(source.split("layername=")[1] for source in _sources(copy))
    assert layers == sorted(source.split("layername=")[1] for source in _sources(built_model))
    before = _digest(copy)
    assert not point_project_at(copy)
    assert _digest(copy) == before


def test_everything_but_the_file_name_stays_as_it_was(built_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kopie.gpkg"
    shutil.copyfile(built_model, copy)
    point_project_at(copy)
    old, new = _qgs(built_model), _qgs(copy)
    for node in old.iter("datasource"):
        node.text = (node.text or "").replace("./kaiserslautern_cim.gpkg|", "./kopie.gpkg|")
    assert ET.tostring(new) == ET.tostring(old)


def test_a_layer_a_user_added_from_another_file_keeps_its_source(built_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kopie.gpkg"
    shutil.copyfile(built_model, copy)
    root = _qgs(copy)
    layers = root.find("projectlayers")
    assert layers is not None
    extra = ET.SubElement(layers, "maplayer", {"type": "vector"})
    ET.SubElement(extra, "id").text = "flurstuecke_1"
    ET.SubElement(extra, "datasource").text = "../kataster/flurstuecke.gpkg|layername=flurstuecke"
    # as QGIS saves a project: sources also on the layer tree, and (when the user chose so) absolute paths
    for node in root.iter("layer-tree-layer"):
        node.set("source", f"./kaiserslautern_cim.gpkg|layername={node.get('id', '').removeprefix('twin_layer_')}")
    absolute = root.find("properties/Paths/Absolute")
    assert absolute is not None
    absolute.text = "true"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{PROJECT_NAME}.qgs", ET.tostring(root, encoding="unicode"))
        archive.writestr(f"{PROJECT_NAME}.qgd", b"auxiliary storage")
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE qgis_projects SET content = ? WHERE name = ?", (buffer.getvalue().hex(), PROJECT_NAME))
    con.close()
    assert point_project_at(copy)
    sources = _sources(copy)
    assert "../kataster/flurstuecke.gpkg|layername=flurstuecke" in sources
    assert sum(source.startswith("./kopie.gpkg|") for source in sources) == len(sources) - 1
    saved = _qgs(copy)
    tree = [node.get("source") for node in saved.iter("layer-tree-layer")]
    assert tree and all(source.startswith("./kopie.gpkg|layername=") for source in tree)
    assert saved.findtext("properties/Paths/Absolute") == "false"
    with sqlite3.connect(copy) as con:
        (content,) = con.execute("SELECT content FROM qgis_projects").fetchone()
    con.close()
    with zipfile.ZipFile(io.BytesIO(bytes.fromhex(content))) as archive:
        assert archive.read(f"{PROJECT_NAME}.qgd") == b"auxiliary storage"


def test_a_missing_file_or_one_that_is_no_geopackage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as missing:
        point_project_at(tmp_path / "fehlt.gpkg")
    assert str(missing.value) == f"{tmp_path / 'fehlt.gpkg'}: file not found; give the GeoPackage written by twin run"
    assert not (tmp_path / "fehlt.gpkg").exists()
    text = tmp_path / "notiz.gpkg"
    text.write_text("keine Datenbank\n" * 100, encoding="utf-8")
    with pytest.raises(SourceError, match=r"notiz\.gpkg: cannot be read or written as a GeoPackage"):
        point_project_at(text)


def test_a_project_that_is_not_a_qgz_is_refused(built_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "kopie.gpkg"
    shutil.copyfile(built_model, copy)
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE qgis_projects SET content = ?", (b"no zip".hex(),))
    con.close()
    with pytest.raises(SourceError, match=r"kopie\.gpkg, table qgis_projects: holds a project that is not a readable"):
        point_project_at(copy)


def test_command_points_copies_at_themselves(built_model: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    copies = [tmp_path / "a.gpkg", tmp_path / "b.gpkg"]
    for copy in copies:
        shutil.copyfile(built_model, copy)
    assert main(["qgis-project", *map(str, copies)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{copy}: QGIS project now reads ./{copy.name}" for copy in copies]
    assert main(["qgis-project", str(copies[0])]) == 0
    assert capsys.readouterr().out == f"{copies[0]}: QGIS project reads ./a.gpkg\n"


def test_command_refuses_a_file_without_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "leer.gpkg"
    sqlite3.connect(empty).close()
    assert main(["qgis-project", str(empty)]) == 2
    assert capsys.readouterr().err == f"twin: error: {empty}: holds no QGIS project written by twin; run twin run to write one\n"


def test_a_project_written_by_an_earlier_version_is_pointed_at_itself_too(built_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "alt.gpkg"
    shutil.copyfile(built_model, copy)
    root = _qgs(copy)
    for node in root.iter("id"):  # ids as earlier versions wrote them: buildings_twin, runs_twin, ...
        node.text = f"{(node.text or '').removeprefix('twin_layer_')}_twin"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{PROJECT_NAME}.qgs", ET.tostring(root, encoding="unicode"))
    with sqlite3.connect(copy) as con:
        con.execute("UPDATE qgis_projects SET content = ?", (buffer.getvalue().hex(),))
    con.close()
    assert point_project_at(copy)
    assert all(source.startswith("./alt.gpkg|layername=") for source in _sources(copy))
