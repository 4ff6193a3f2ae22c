"""Edit one attribute of a published model in real QGIS and keep the project open until told to close it.

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 edit_layer.py MODEL.gpkg LAYER FIELD VALUE OTHER_LAYER

As a user does in QGIS: LAYER and OTHER_LAYER of the GeoPackage in the project, OTHER_LAYER in
editing mode, then on LAYER *Toggle Editing*, the value of FIELD changed on the feature with
fid 1 and *Save Layer Edits*. While a layer of the file is being edited, QGIS holds the GeoPackage
in WAL mode, and the saved edit sits in its ``-wal`` file beside it. Prints one JSON object (the
value read back, the journal files and their sizes), then waits for a line on stdin, ends the
editing of OTHER_LAYER and removes the layers as closing the project does, prints a second JSON
object and leaves with os._exit (QGIS 3.22 may crash while shutting down).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:  # pytest collects this file with its own Python, which has no PyQGIS
    from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
except ImportError:
    if __name__ == "__main__":
        raise


def say(result):
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def journals(path):
    folder, name = os.path.split(path)
    return {entry: os.path.getsize(os.path.join(folder, entry)) for entry in sorted(os.listdir(folder or "."))
            if entry.startswith(name + "-")}


def main():
    path, layer_name, field, value, other_name = sys.argv[1:6]
    app = QgsApplication([], False)
    app.initQgis()
    result = {}
    other = None
    try:
        layer = QgsVectorLayer(f"{path}|layername={layer_name}", layer_name, "ogr")
        other = QgsVectorLayer(f"{path}|layername={other_name}", other_name, "ogr")
        result["valid"] = layer.isValid() and other.isValid()
        QgsProject.instance().addMapLayers([layer, other])
        result["other_editing"] = other.startEditing()
        result["editing"] = layer.startEditing()
        result["changed"] = layer.changeAttributeValue(1, layer.fields().indexOf(field), int(value))
        result["committed"] = layer.commitChanges()
        result["errors"] = layer.commitErrors()
        result["value"] = next(layer.getFeatures("fid = 1"))[field]
        result["journals"] = journals(path)
    except Exception:  # noqa: BLE001  (reported as JSON: the test shows it)
        result["exception"] = traceback.format_exc()
    say(result)
    sys.stdin.readline()
    if other is not None:
        other.rollBack()
    QgsProject.instance().removeAllMapLayers()
    say({"closed": True, "journals": journals(path)})
    os._exit(0)


if __name__ == "__main__":
    main()
