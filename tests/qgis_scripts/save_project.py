"""Open the project stored in a GeoPackage in real QGIS and save it back into the same GeoPackage.

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 save_project.py MODEL.gpkg [PROJECT_NAME]

As a user does with *Project > Save To > GeoPackage*: the stored project is then QGIS's own XML
(layer tree sources, auxiliary storage, QGIS's path handling). Prints one JSON object and leaves
with os._exit (QGIS 3.22 may crash while shutting down).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:  # pytest collects this file with its own Python, which has no PyQGIS
    from qgis.core import QgsApplication, QgsProject
except ImportError:
    if __name__ == "__main__":
        raise


def main():
    path = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "Stadtmodell"
    app = QgsApplication([], False)
    app.initQgis()
    uri = f"geopackage:{path}?projectName={name}"
    result = {}
    try:
        project = QgsProject.instance()
        result["read"] = project.read(uri)
        result["valid"] = all(layer.isValid() for layer in project.mapLayers().values())
        result["written"] = project.write(uri)
        result["error"] = project.error()
    except Exception:  # noqa: BLE001  (reported as JSON: the test shows it)
        result["exception"] = traceback.format_exc()
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
