"""Open a built city model in real QGIS (offscreen) and print what QGIS sees as JSON.

Run with the system Python that has PyQGIS:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 check_model.py MODEL.gpkg MAP.png [PROJECT_NAME]

Prints one JSON object: every layer opened on its own (validity, CRS, feature
count, default style: renderer type, classes, 3D renderer, labels, aliases),
the stored project (read through the GeoPackage project storage: layers with
their sources, geometry types and run ids, groups, map themes, relations and the
panoramas the relation gives for a building,
default view, the pixels the changes layer draws) and a map rendered from the
project to MAP.png with its number of distinct colours. QGIS 3.22 may crash
while shutting down, so the script flushes and leaves with os._exit.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import traceback
import xml.etree.ElementTree as ET

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:  # pytest collects this file with its own Python, which has no PyQGIS
    from qgis.core import (
        QgsApplication,
        QgsFeatureRequest,
        QgsMapRendererSequentialJob,
        QgsMapSettings,
        QgsProject,
        QgsVectorLayer,
        QgsWkbTypes,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor
    from qgis.PyQt.QtXml import QDomDocument
except ImportError:
    if __name__ == "__main__":
        raise


def renderer_info(layer):
    renderer = layer.renderer()
    info = {"type": renderer.type() if renderer else None}
    if renderer is None:
        return info
    if info["type"] == "categorizedSymbol":
        info["field"] = renderer.classAttribute()
        info["classes"] = [str(c.value()) if c.value() is not None else None for c in renderer.categories()]
        info["labels"] = [c.label() for c in renderer.categories()]
    elif info["type"] == "graduatedSymbol":
        info["field"] = renderer.classAttribute()
        info["classes"] = [r.label() for r in renderer.ranges()]
    elif info["type"] == "RuleRenderer":
        rules = renderer.rootRule().descendants()
        info["classes"] = [r.filterExpression() for r in rules]
        info["labels"] = [r.label() for r in rules]
    elif info["type"] == "singleSymbol":
        symbol = renderer.symbol()
        info["symbol"] = symbol.type()
        angle = symbol.dataDefinedAngle() if symbol.type() == 0 else None
        info["angle_field"] = angle.field() if angle is not None and angle.isActive() else None
        marker = symbol.symbolLayer(0)
        info["shape"] = marker.properties().get("name") if marker else None
    return info


def layer_info(layer):
    info = {
        "valid": layer.isValid(),
        "crs": layer.crs().authid(),
        "features": layer.featureCount(),
        "renderer": renderer_info(layer),
        "labels": bool(layer.labelsEnabled()),
        "opacity": layer.opacity(),
        "aliases": {f.name(): layer.attributeAlias(i) for i, f in enumerate(layer.fields())},
    }
    renderer3d = layer.renderer3D()
    info["renderer3d"] = renderer3d.type() if renderer3d else None
    if renderer3d is not None:
        info["extrusion_field"] = extrusion_field(layer)
    return info


def extrusion_field(layer):
    """The field the 3D renderer extrudes by, as QGIS writes the layer's style back."""
    doc = QDomDocument()
    layer.exportNamedStyle(doc)
    root = ET.fromstring(doc.toString())
    for option in root.iter("Option"):
        if option.get("name") == "extrusionHeight":
            for child in option:
                if child.get("name") == "field":
                    return child.get("value")
    return None


def open_layers(path):
    con = sqlite3.connect(path)
    names = [row[0] for row in con.execute(
        "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes') "
        "AND table_name != 'layer_styles'")]
    con.close()
    layers = {}
    for name in names:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        layers[name] = layer_info(layer)
    return layers


def colour_count(image):
    colours = set()
    step_x = max(1, image.width() // 200)
    step_y = max(1, image.height() // 150)
    for x in range(0, image.width(), step_x):
        for y in range(0, image.height(), step_y):
            colours.add(image.pixel(x, y))
    return len(colours)


def project_layer_info(layer):
    """What a layer of the stored project reads: its source, validity, type, count, style and run ids."""
    info = {"id": layer.id(), "valid": layer.isValid(), "source": layer.source(), "crs": layer.crs().authid(),
            "features": layer.featureCount(), "wkb": QgsWkbTypes.displayString(layer.wkbType()),
            "renderer": renderer_info(layer) if layer.isValid() else None,
            "renderer3d": layer.renderer3D().type() if layer.renderer3D() else None}
    if layer.isValid() and layer.fields().indexOf("run_id") >= 0:
        info["run_ids"] = sorted({str(feature["run_id"]) for feature in layer.getFeatures()})
    return info


def drawn_pixels(layer, extent, crs):
    """How many pixels of a 400 x 300 map of `layer` alone are not the white background."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(crs)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(400, 300))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    white = QColor(255, 255, 255).rgb()
    return sum(image.pixel(x, y) != white for x in range(image.width()) for y in range(image.height()))


def related_panoramas(project):
    """The building with panoramas first by id, and the panoramas the project's relation gives for it (and back)."""
    relation = project.relationManager().relation("buildings_panorama_views")
    back = project.relationManager().relation("panoramas_panorama_views")
    if not relation.isValid() or not back.isValid():
        return {"valid": False}
    request = QgsFeatureRequest().setFilterExpression('"panorama_count" > 0')
    shown = sorted(relation.referencedLayer().getFeatures(request), key=lambda f: f["building_id"])
    if not shown:
        return {"valid": True, "building_id": None, "panorama_ids": []}
    building = shown[0]
    views = list(relation.getRelatedFeatures(building))
    panoramas = {f["panorama_id"]: f for f in back.referencedLayer().getFeatures()}
    first = panoramas[min(v["panorama_id"] for v in views)] if views else None
    return {"valid": True, "building_id": building["building_id"], "panorama_count": building["panorama_count"],
            "panorama_ids": sorted(v["panorama_id"] for v in views),
            "buildings_of_first_panorama": sorted(v["building_id"] for v in back.getRelatedFeatures(first))
            if first is not None else []}


def read_project(path, name, png):
    project = QgsProject.instance()
    ok = project.read(f"geopackage:{path}?projectName={name}")
    root = project.layerTreeRoot()
    result = {
        "read": ok,
        "error": project.error(),
        "layers": {layer.name(): project_layer_info(layer) for layer in project.mapLayers().values()},
        "groups": [group.name() for group in root.children() if group.nodeType() == 0],
        "tree": root.findLayerIds(),
        "themes": project.mapThemeCollection().mapThemes(),
        "relations": sorted(r.name() for r in project.relationManager().relations().values() if r.isValid()),
        "building_panoramas": related_panoramas(project),
        "crs": project.crs().authid(),
    }
    extent = project.viewSettings().defaultViewExtent()
    result["extent"] = [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
    changes = next((layer for layer in project.mapLayers().values()
                    if layer.source().endswith("|layername=changes")), None)
    if changes is not None and changes.isValid():
        result["changes_drawn"] = drawn_pixels(changes, extent, project.crs())
    if png:
        settings = QgsMapSettings()
        settings.setLayers(root.checkedLayers())
        settings.setDestinationCrs(project.crs())
        settings.setExtent(extent)
        settings.setOutputSize(QSize(1000, 800))
        settings.setBackgroundColor(QColor(255, 255, 255))
        job = QgsMapRendererSequentialJob(settings)
        job.start()
        job.waitForFinished()
        image = job.renderedImage()
        image.save(png, "PNG")
        result["png"] = png
        result["colours"] = colour_count(image)
    return result


def main():
    path, png = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "Stadtmodell"
    app = QgsApplication([], False)
    app.initQgis()
    try:  # the 3D renderers register themselves here, as the QGIS desktop does at start
        from qgis._3d import Qgs3D

        Qgs3D.initialize()
    except ImportError:
        pass
    result = {"qgis": __import__("qgis.core", fromlist=["Qgis"]).Qgis.QGIS_VERSION}
    try:
        result["layers"] = open_layers(path)
        result["project"] = read_project(path, name, png)
    except Exception:  # noqa: BLE001  (reported as JSON: the test shows it)
        result["exception"] = traceback.format_exc()
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
