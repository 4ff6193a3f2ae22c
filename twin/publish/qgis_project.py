"""A ready QGIS project stored inside the GeoPackage (``qgis_projects`` table).

QGIS keeps projects in a GeoPackage as rows ``(name, metadata, content)``:
``content`` is the ``.qgz`` (a zip holding the ``.qgs`` XML) as hex text and
``metadata`` a small JSON (``last_modified_time``, ``last_modified_user``).
Users open it with *Project > Open From > GeoPackage*.

Layer sources are relative: ``./city_cim.gpkg|layername=buildings``.
QGIS resolves relative sources of a project stored in a GeoPackage against
the folder of that GeoPackage (its project storage gives the GeoPackage's
own path as the project's file path; ``QgsPathResolver`` then joins
``./city_cim.gpkg`` to that folder). There is no notation for "the file this
project is stored in": the file name is part of every source. So the
project is written for the name the file is published under (never the
temporary name it is written to), and :func:`point_project_at` rewrites the
sources whenever a file gets another name: twin calls it for every previous
generation it keeps (``city_cim.previous.gpkg`` shows yesterday's model,
not today's), and a user who renames or copies the file by hand calls it
through ``twin qgis-project FILE``. The file can be moved to any folder
under its name without that.

The ``.qgs`` XML is generated here with :mod:`xml.etree`; each layer carries
its default style (from :mod:`twin.publish.styles`), the layers are grouped
(Gebäude, Panoramen, Glasfaser, Qualität; in English Buildings, Panoramas,
Fibre, Quality), there is a map theme per group and the view opens on the
city. Names and titles come from :mod:`twin.model` in the model's language. The links building ↔ connection ↔ node and
building ↔ panorama view ↔ panorama are project relations, so the attribute form of a building lists its drops
and the panoramas that show it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyproj
from defusedxml.ElementTree import fromstring as parse_xml

from twin.errors import SourceError
from twin.model import LAYERS, text
from twin.publish.documentation import RELATIONS, family_columns
from twin.publish.styles import capture_days, style_qml

__all__ = ["GROUPS", "PROJECT_NAME", "group_title", "point_project_at", "project_name", "project_sources",
           "project_xml", "write_project"]

#: Name of the project inside a GeoPackage published in German (the default language).
PROJECT_NAME = text("project", "de")
#: QGIS version the project is written for (the oldest one the city supports).
QGIS_VERSION = "3.22.16-Białowieża"

#: Layer groups of the project by key, top to bottom (the first is drawn on top).
GROUPS: dict[str, tuple[str, ...]] = {
    "quality": ("qa_issues", "changes", "history", "runs"),
    "fibre": ("fibre_nodes", "fibre_connections", "fibre_routes"),
    "panoramas": ("panoramas", "panorama_views", "capture_tracks", "street_coverage", "capture_coverage"),
    "buildings": ("buildings",),
}


def project_name(language: str) -> str:
    """The name of the stored project in `language`.

    >>> project_name("de"), project_name("en")
    ('Stadtmodell', 'City model')
    """
    return text("project", language)


def group_title(group: str, language: str) -> str:
    """The name QGIS shows for the layer group (and map theme) `group` of :data:`GROUPS`.

    >>> group_title("fibre", "de"), group_title("fibre", "en")
    ('Glasfaser', 'Fibre')
    """
    return text(f"group_{group}", language)
#: Layers not shown when the project opens (still in the project, one click away).
_HIDDEN = {"changes", "street_coverage"}
_WKB = {"MultiPolygon": ("Polygon", "MultiPolygon"), "PointZ": ("Point", "PointZ"), "LineString": ("Line", "LineString"),
        "MultiLineString": ("Line", "MultiLineString"), "Point": ("Point", "Point"), "Geometry": ("Unknown", "Unknown"),
        None: ("No geometry", "NoGeometry")}


@dataclass(frozen=True)
class _Context:
    file_name: str
    crs: pyproj.CRS
    extent: tuple[float, float, float, float]
    days: tuple[str, ...]
    language: str
    columns: Mapping[str, tuple[str, ...]]


def layer_id(name: str) -> str:
    """The stable id of a layer in the project.

    QGIS keeps an id from a project file only when it is longer than ten characters (a shorter one
    is replaced by a random id, and the layer tree, themes and relations then miss the layer).

    >>> layer_id("runs")
    'twin_layer_runs'
    """
    return f"twin_layer_{name}"


#: Ids of twin's layers in projects written before (``<name>_twin``), still recognised as twin's own.
_OLD_IDS = {f"{name}_twin" for name in LAYERS}


def project_xml(file_name: str, *, crs: str, extent: tuple[float, float, float, float],
                capture_days: tuple[str, ...] = (), language: str = "de",
                columns: Mapping[str, tuple[str, ...]] | None = None) -> ET.Element:
    """The ``.qgs`` document of the project for a GeoPackage called `file_name`, its texts in `language`.

    `columns` names the family columns of each layer (``street_coverage``: ``share_2023``), titled too.

    >>> root = project_xml("cim.gpkg", crs="EPSG:25832", extent=(0.0, 0.0, 10.0, 10.0))
    >>> root.find("projectlayers/maplayer/datasource").text
    './cim.gpkg|layername=buildings'
    """
    ctx = _Context(file_name, pyproj.CRS.from_user_input(crs), extent, capture_days, language, columns or {})
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    name = project_name(language)
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": name, "saveDateTime": now,
                               "saveUser": "twin", "saveUserFull": "twin"})
    ET.SubElement(root, "homePath", {"path": ""})
    ET.SubElement(root, "title").text = name
    ET.SubElement(root, "projectCrs").append(_srs(ctx.crs))
    root.append(_layer_tree(language))
    root.append(_relations(language))
    root.append(_canvas(ctx))
    root.append(_view_settings(ctx))
    layers = ET.SubElement(root, "projectlayers")
    for name in LAYERS:
        layers.append(_map_layer(name, ctx))
    order = ET.SubElement(root, "layerorder")
    for names in GROUPS.values():
        for name in names:
            ET.SubElement(order, "layer", {"id": layer_id(name)})
    root.append(_properties())
    root.append(_themes(language))
    return root


def _srs(crs: pyproj.CRS) -> ET.Element:
    srs = ET.Element("spatialrefsys")
    epsg = crs.to_epsg() or 0
    for tag, value in (("wkt", crs.to_wkt()), ("srid", str(epsg)),
                      ("authid", f"EPSG:{epsg}"), ("description", crs.name), ("projectionacronym", "utm"),
                      ("geographicflag", "true" if crs.is_geographic else "false")):
        ET.SubElement(srs, tag).text = value
    return srs


def _layer_tree(language: str) -> ET.Element:
    tree = ET.Element("layer-tree-group")
    for group, names in GROUPS.items():
        node = ET.SubElement(tree, "layer-tree-group", {"name": group_title(group, language), "checked": "Qt::Checked",
                                                        "expanded": "1"})
        for name in names:
            checked = "Qt::Unchecked" if name in _HIDDEN else "Qt::Checked"
            ET.SubElement(node, "layer-tree-layer", {
                "id": layer_id(name), "name": LAYERS[name].title_in(language), "providerKey": "ogr", "checked": checked,
                "expanded": "1" if name in {"buildings", "fibre_routes", "fibre_nodes"} else "0"})
    return tree


def _relations(language: str) -> ET.Element:
    relations = ET.Element("relations")
    for relation in RELATIONS:
        node = ET.SubElement(relations, "relation", {
            "id": relation.mapping_table, "name": relation.name(language), "strength": "Association",
            "referencedLayer": layer_id(relation.base), "referencingLayer": layer_id(relation.related)})
        ET.SubElement(node, "fieldRef", {"referencedField": relation.key, "referencingField": relation.key})
    return relations


def _extent(parent: ET.Element, tag: str, extent: tuple[float, float, float, float]) -> ET.Element:
    node = ET.SubElement(parent, tag)
    for key, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
        ET.SubElement(node, key).text = repr(float(value))
    return node


def _canvas(ctx: _Context) -> ET.Element:
    canvas = ET.Element("mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"})
    ET.SubElement(canvas, "units").text = "meters"
    _extent(canvas, "extent", ctx.extent)
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(canvas, "destinationsrs").append(_srs(ctx.crs))
    ET.SubElement(canvas, "rendermaptile").text = "0"
    return canvas


def _view_settings(ctx: _Context) -> ET.Element:
    view = ET.Element("ProjectViewSettings", {"UseProjectScales": "0", "rotation": "0"})
    ET.SubElement(view, "Scales")
    xmin, ymin, xmax, ymax = ctx.extent
    default = ET.SubElement(view, "DefaultViewExtent", {"xmin": repr(xmin), "ymin": repr(ymin),
                                                        "xmax": repr(xmax), "ymax": repr(ymax)})
    default.append(_srs(ctx.crs))
    return view


def _map_layer(name: str, ctx: _Context) -> ET.Element:
    spec = LAYERS[name]
    geometry, wkb = _WKB[spec.geometry_type]
    if spec.geometry_type is None:
        style = ET.Element("qgis")
    else:
        style = parse_xml(style_qml(name, capture_days=ctx.days, language=ctx.language,
                                    columns=ctx.columns.get(name, ())).split("\n", 1)[1])
    attrs = {k: v for k, v in style.attrib.items() if k not in {"version", "styleCategories"}}
    layer = ET.Element("maplayer", {**attrs, "type": "vector", "geometry": geometry, "wkbType": wkb,
                                    "autoRefreshEnabled": "0", "refreshOnNotifyEnabled": "0"})
    ET.SubElement(layer, "id").text = layer_id(name)
    ET.SubElement(layer, "datasource").text = f"./{ctx.file_name}|layername={name}"
    ET.SubElement(layer, "layername").text = spec.title_in(ctx.language)
    ET.SubElement(layer, "srs").append(_srs(ctx.crs))
    metadata = ET.SubElement(layer, "resourceMetadata")
    ET.SubElement(metadata, "type").text = "dataset"
    ET.SubElement(metadata, "title").text = spec.title_in(ctx.language)
    ET.SubElement(metadata, "abstract").text = spec.description_in(ctx.language)
    ET.SubElement(layer, "provider", {"encoding": "UTF-8"}).text = "ogr"
    manager = ET.SubElement(layer, "map-layer-style-manager", {"current": "default"})
    ET.SubElement(manager, "map-layer-style", {"name": "default"})
    for child in style:
        layer.append(child)
    return layer


def _properties() -> ET.Element:
    properties = ET.Element("properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", {"type": "bool"}).text = "false"
    srs = ET.SubElement(properties, "SpatialRefSys")
    ET.SubElement(srs, "ProjectionsEnabled", {"type": "int"}).text = "1"
    measure = ET.SubElement(properties, "Measure")
    ET.SubElement(measure, "Ellipsoid", {"type": "QString"}).text = "EPSG:7019"
    return properties


def _themes(language: str) -> ET.Element:
    themes = ET.Element("visibility-presets")
    for group, names in GROUPS.items():
        title = group_title(group, language)
        theme = ET.SubElement(themes, "visibility-preset", {
            "name": title, "has-expanded-info": "1", "has-checked-group-info": "1"})
        shown = [n for n in names if n not in _HIDDEN or group == "quality"]
        if group != "buildings":  # every theme keeps the buildings as the base map
            shown.append("buildings")
        for name in shown:
            ET.SubElement(theme, "layer", {"id": layer_id(name), "visible": "1", "style": "default",
                                           "expanded": "1"})
        checked = ET.SubElement(theme, "checked-group-nodes")
        for shown_group in dict.fromkeys((title, group_title("buildings", language))):
            ET.SubElement(checked, "checked-group-node", {"id": shown_group})
        ET.SubElement(theme, "expanded-group-nodes").append(ET.Element("expanded-group-node", {"id": title}))
    return themes


_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"


def project_content(root: ET.Element) -> bytes:
    """The ``.qgz`` of a project document: a zip holding ``<name>.qgs``."""
    document = _DOCTYPE + ET.tostring(root, encoding="unicode")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{root.get('projectname', PROJECT_NAME)}.qgs", document.encode("utf-8"))
    return buffer.getvalue()


def _city_extent(con: sqlite3.Connection) -> tuple[float, float, float, float]:
    rows = con.execute(
        "SELECT min(min_x), min(min_y), max(max_x), max(max_y) FROM gpkg_contents WHERE data_type = 'features' "
        "AND table_name IN ('buildings', 'panoramas', 'fibre_routes', 'fibre_nodes') AND min_x IS NOT NULL"
    ).fetchone()
    if rows is None or rows[0] is None:
        return (0.0, 0.0, 1.0, 1.0)
    xmin, ymin, xmax, ymax = (float(v) for v in rows)
    margin = max(xmax - xmin, ymax - ymin) * 0.03
    return (xmin - margin, ymin - margin, xmax + margin, ymax + margin)


def write_project(path: Path, con: sqlite3.Connection | None = None, *, published_name: str | None = None,
                  language: str = "de") -> None:
    """(Re)write the project (``Stadtmodell``, in English ``City model``) into the GeoPackage at `path`.

    Parameters
    ----------
    path
        The GeoPackage.
    con
        An open connection to it (the caller commits); one is opened when not given.
    published_name
        The file name the GeoPackage will have when published (layer sources
        point at it); `path`'s own name when not given.
    language
        ``de`` or ``en``: the project's name, group, theme and layer names. A project stored
        under the other language's name is removed, so the file holds one project.
    """
    own = con is None
    connection = sqlite3.connect(path) if con is None else con
    try:
        srs_id = connection.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'buildings'").fetchone()
        root = project_xml(published_name or path.name, crs=f"EPSG:{srs_id[0] if srs_id else 25832}",
                           extent=_city_extent(connection), capture_days=tuple(capture_days(connection)),
                           language=language, columns={name: family_columns(connection, name) for name in LAYERS})
        content = project_content(root)
        metadata = {"last_modified_time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "last_modified_user": "twin"}
        connection.execute("CREATE TABLE IF NOT EXISTS qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, content BLOB)")
        connection.execute("DELETE FROM qgis_projects WHERE name IN (?, ?)", (project_name("de"), project_name("en")))
        connection.execute("INSERT INTO qgis_projects (name, metadata, content) VALUES (?, ?, ?)",
                           (project_name(language), json.dumps(metadata), content.hex()))
        if own:
            connection.commit()
    finally:
        if own:
            connection.close()


def _qgs_root(data: bytes) -> ET.Element:
    document = data.decode("utf-8")
    return ET.fromstring(document.split("\n", 1)[1] if document.startswith("<!DOCTYPE") else document)


def _own_sources(root: ET.Element) -> set[str]:
    """The file part of the sources of twin's own layers (``./city_cim.gpkg``), as the project names them."""
    own = {layer_id(name) for name in LAYERS} | _OLD_IDS
    found = set()
    for layer in root.iter("maplayer"):
        source = layer.findtext("datasource")
        if layer.findtext("id") in own and source:
            found.add(source.split("|", 1)[0])
    return found


def _repointed(root: ET.Element, file_name: str) -> bool:
    """Point every source of the file twin's layers read at ``./<file_name>``; whether anything changed.

    Sources in other files (layers a user added and saved into the project) are left as they are;
    those are written relative to the GeoPackage's folder from now on, as QGIS does by default.
    """
    old = _own_sources(root) - {f"./{file_name}"}
    if not old:
        return False
    for node in root.iter("datasource"):
        path, sep, rest = (node.text or "").partition("|")
        if path in old:
            node.text = f"./{file_name}{sep}{rest}"
    for node in root.iter():
        path, sep, rest = node.get("source", "").partition("|")
        if path in old:
            node.set("source", f"./{file_name}{sep}{rest}")
    absolute = root.find("properties/Paths/Absolute")
    if absolute is not None:  # with absolute paths set, QGIS would resolve ./ against its working folder
        absolute.text = "false"
    return True


def _rewritten(content: bytes, file_name: str) -> bytes | None:
    """The ``.qgz`` `content` with its sources pointed at `file_name`, or None when they already are."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    changed = False
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            root = _qgs_root(data) if info.filename.endswith(".qgs") else None
            if root is not None and _repointed(root, file_name):
                changed = True
                archive.writestr(info, (_DOCTYPE + ET.tostring(root, encoding="unicode")).encode("utf-8"))
            else:
                archive.writestr(info, data)
    return out.getvalue() if changed else None


def project_sources(path: Path) -> dict[str, set[str]]:
    """The files the stored projects of the GeoPackage at `path` read twin's layers from, by project name.

    ``{"Stadtmodell": {"./city_cim.gpkg"}}``: the project reads the file of that name beside it.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = _project_rows(con)
    finally:
        con.close()
    found = {}
    for name, content in rows:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for member in archive.namelist():
                if member.endswith(".qgs"):
                    found[name] = _own_sources(_qgs_root(archive.read(member)))
    return found


def _project_rows(con: sqlite3.Connection) -> list[tuple[str, bytes]]:
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'qgis_projects'").fetchone() is None:
        return []
    rows = con.execute("SELECT name, content FROM qgis_projects").fetchall()
    return [(str(name), bytes.fromhex(content if isinstance(content, str) else content.decode("ascii")))
            for name, content in rows]


def point_project_at(path: Path, *, timeout_s: float = 30.0) -> bool:
    """Point the layers of every project stored in the GeoPackage at `path` at that very file.

    QGIS reads a stored project's layers from ``./<name>`` beside the GeoPackage; after a rename or a
    copy under another name, ``<name>`` is still the old one. This rewrites the sources of twin's
    layers (and of any other layer a user saved into a project that read the same file) to
    ``./<path.name>``; everything else in the projects stays as it is. One small SQLite transaction;
    nothing is written when the sources are right already or no project is stored.

    Returns
    -------
    bool
        Whether a project was rewritten.

    Raises
    ------
    SourceError
        When `path` is missing, not a SQLite file, locked longer than `timeout_s`, or holds a
        project that is not a readable ``.qgz``.
    """
    if not path.is_file():
        raise SourceError(str(path), "file not found", fix="give the GeoPackage written by twin run")
    try:
        con = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=timeout_s)
        try:
            rewritten = []
            for name, content in _project_rows(con):
                new = _rewritten(content, path.name)
                if new is not None:
                    rewritten.append((new.hex(), name))
            if rewritten:
                with con:
                    con.executemany("UPDATE qgis_projects SET content = ? WHERE name = ?", rewritten)
            return bool(rewritten)
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise SourceError(str(path), f"cannot be read or written as a GeoPackage ({exc})",
                          fix="give a GeoPackage written by twin run that no other program holds locked") from exc
    except (zipfile.BadZipFile, ET.ParseError, ValueError) as exc:
        raise SourceError(f"{path}, table qgis_projects", f"holds a project that is not a readable QGIS project ({exc})",
                          fix="delete its row; twin run writes a new project into the model it publishes") from exc
