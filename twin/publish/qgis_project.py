"""A ready QGIS project stored inside the GeoPackage (``qgis_projects`` table).

QGIS keeps projects in a GeoPackage as rows ``(name, metadata, content)``:
``content`` is the ``.qgz`` (a zip holding the ``.qgs`` XML) as hex text and
``metadata`` a small JSON (``last_modified_time``, ``last_modified_user``).
Users open it with *Project > Open From > GeoPackage*.

Layer sources are relative: ``./city_cim.gpkg|layername=buildings``.
QGIS 3.22 resolves relative sources of a project stored in a GeoPackage
against the folder of that GeoPackage (the project storage reports the
GeoPackage's own path as the project path), so the file can be moved to any
folder. The name is part of the source, so the project is written for the
name the file is published under (never the temporary name it is written
to) and regenerated at every publish; a file renamed by hand can be
re-pointed with :func:`write_project` (``twin.publish.qgis_project.write_project(path)``).

The ``.qgs`` XML is generated here with :mod:`xml.etree`; each layer carries
its default style (from :mod:`twin.publish.styles`), the layers are grouped
(Gebäude, Panoramen, Glasfaser, Qualität), there is a map theme per group and
the view opens on the city. The links building ↔ connection ↔ node are
project relations, so the attribute form of a building lists its drops.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyproj
from defusedxml.ElementTree import fromstring as parse_xml

from twin.model import LAYERS
from twin.publish.documentation import RELATIONS
from twin.publish.styles import capture_days, style_qml

__all__ = ["GROUPS", "PROJECT_NAME", "project_xml", "write_project"]

#: Name of the project inside the GeoPackage.
PROJECT_NAME = "Stadtmodell"
#: QGIS version the project is written for (the oldest one the city supports).
QGIS_VERSION = "3.22.16-Białowieża"

#: Layer groups of the project, top to bottom (the first is drawn on top).
GROUPS: dict[str, tuple[str, ...]] = {
    "Qualität": ("qa_issues", "changes", "runs"),
    "Glasfaser": ("fibre_nodes", "fibre_connections", "fibre_routes"),
    "Panoramen": ("panoramas", "capture_tracks", "street_coverage", "capture_coverage"),
    "Gebäude": ("buildings",),
}
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


def layer_id(name: str) -> str:
    """The stable id of a layer in the project."""
    return f"{name}_twin"


def project_xml(file_name: str, *, crs: str, extent: tuple[float, float, float, float],
                capture_days: tuple[str, ...] = ()) -> ET.Element:
    """The ``.qgs`` document of the project for a GeoPackage called `file_name`.

    >>> root = project_xml("cim.gpkg", crs="EPSG:25832", extent=(0.0, 0.0, 10.0, 10.0))
    >>> root.find("projectlayers/maplayer/datasource").text
    './cim.gpkg|layername=buildings'
    """
    ctx = _Context(file_name, pyproj.CRS.from_user_input(crs), extent, capture_days)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": PROJECT_NAME, "saveDateTime": now,
                               "saveUser": "twin", "saveUserFull": "twin"})
    ET.SubElement(root, "homePath", {"path": ""})
    ET.SubElement(root, "title").text = PROJECT_NAME
    ET.SubElement(root, "projectCrs").append(_srs(ctx.crs))
    root.append(_layer_tree())
    root.append(_relations())
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
    root.append(_themes())
    return root


def _srs(crs: pyproj.CRS) -> ET.Element:
    srs = ET.Element("spatialrefsys")
    epsg = crs.to_epsg() or 0
    for tag, text in (("wkt", crs.to_wkt()), ("srid", str(epsg)),
                      ("authid", f"EPSG:{epsg}"), ("description", crs.name), ("projectionacronym", "utm"),
                      ("geographicflag", "true" if crs.is_geographic else "false")):
        ET.SubElement(srs, tag).text = text
    return srs


def _layer_tree() -> ET.Element:
    tree = ET.Element("layer-tree-group")
    for group, names in GROUPS.items():
        node = ET.SubElement(tree, "layer-tree-group", {"name": group, "checked": "Qt::Checked", "expanded": "1"})
        for name in names:
            checked = "Qt::Unchecked" if name in _HIDDEN else "Qt::Checked"
            ET.SubElement(node, "layer-tree-layer", {
                "id": layer_id(name), "name": LAYERS[name].title, "providerKey": "ogr", "checked": checked,
                "expanded": "1" if name in {"buildings", "fibre_routes", "fibre_nodes"} else "0"})
    return tree


def _relations() -> ET.Element:
    relations = ET.Element("relations")
    for relation in RELATIONS:
        node = ET.SubElement(relations, "relation", {
            "id": relation.mapping_table, "name": relation.name, "strength": "Association",
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
        style = parse_xml(style_qml(name, capture_days=ctx.days).split("\n", 1)[1])
    attrs = {k: v for k, v in style.attrib.items() if k not in {"version", "styleCategories"}}
    layer = ET.Element("maplayer", {**attrs, "type": "vector", "geometry": geometry, "wkbType": wkb,
                                    "autoRefreshEnabled": "0", "refreshOnNotifyEnabled": "0"})
    ET.SubElement(layer, "id").text = layer_id(name)
    ET.SubElement(layer, "datasource").text = f"./{ctx.file_name}|layername={name}"
    ET.SubElement(layer, "layername").text = spec.title
    ET.SubElement(layer, "srs").append(_srs(ctx.crs))
    metadata = ET.SubElement(layer, "resourceMetadata")
    ET.SubElement(metadata, "type").text = "dataset"
    ET.SubElement(metadata, "title").text = spec.title
    ET.SubElement(metadata, "abstract").text = spec.description
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


def _themes() -> ET.Element:
    themes = ET.Element("visibility-presets")
    for group, names in GROUPS.items():
        theme = ET.SubElement(themes, "visibility-preset", {
            "name": group, "has-expanded-info": "1", "has-checked-group-info": "1"})
        shown = [n for n in names if n not in _HIDDEN or group == "Qualität"]
        if group != "Gebäude":  # every theme keeps the buildings as the base map
            shown.append("buildings")
        for name in shown:
            ET.SubElement(theme, "layer", {"id": layer_id(name), "visible": "1", "style": "default",
                                           "expanded": "1"})
        checked = ET.SubElement(theme, "checked-group-nodes")
        for shown_group in {group, "Gebäude"}:
            ET.SubElement(checked, "checked-group-node", {"id": shown_group})
        ET.SubElement(theme, "expanded-group-nodes").append(ET.Element("expanded-group-node", {"id": group}))
    return themes


def project_content(root: ET.Element) -> bytes:
    """The ``.qgz`` of a project document: a zip holding ``<name>.qgs``."""
    text = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{PROJECT_NAME}.qgs", text.encode("utf-8"))
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


def write_project(path: Path, con: sqlite3.Connection | None = None, *, published_name: str | None = None) -> None:
    """(Re)write the project ``Stadtmodell`` into the GeoPackage at `path`.

    Parameters
    ----------
    path
        The GeoPackage.
    con
        An open connection to it (the caller commits); one is opened when not given.
    published_name
        The file name the GeoPackage will have when published (layer sources
        point at it); `path`'s own name when not given.
    """
    own = con is None
    connection = sqlite3.connect(path) if con is None else con
    try:
        srs_id = connection.execute("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'buildings'").fetchone()
        root = project_xml(published_name or path.name, crs=f"EPSG:{srs_id[0] if srs_id else 25832}",
                           extent=_city_extent(connection), capture_days=tuple(capture_days(connection)))
        content = project_content(root)
        metadata = {"last_modified_time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "last_modified_user": "twin"}
        connection.execute("CREATE TABLE IF NOT EXISTS qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, content BLOB)")
        connection.execute("INSERT OR REPLACE INTO qgis_projects (name, metadata, content) VALUES (?, ?, ?)",
                           (PROJECT_NAME, json.dumps(metadata), content.hex()))
        if own:
            connection.commit()
    finally:
        if own:
            connection.close()
