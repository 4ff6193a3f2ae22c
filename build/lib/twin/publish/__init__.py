"""Writers: the GeoPackage and everything QGIS reads from it."""
