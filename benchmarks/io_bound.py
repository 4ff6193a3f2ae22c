"""What any run of twin's shape costs before it transforms anything.

In one process: import what twin imports (pandas, geopandas, pyogrio, pyproj,
shapely, networkx, pyarrow), read every input into a GeoDataFrame with
pyogrio+Arrow, reproject it to the city CRS, and write as many layers as the
model has (the five inputs and six small ones) into one GeoPackage. No
cleaning, linking, styles, documentation or checks: a run of the pipeline
cannot be faster than this on the same machine.

Usage: ``python benchmarks/io_bound.py FOLDER OUT.gpkg`` (FOLDER made by ``twin sample``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import networkx  # noqa: F401  (imported by every run, for the fibre topology)
import pyarrow.parquet  # noqa: F401  (imported by every run, for the stage results)
import pyogrio
import pyproj  # noqa: F401  (imported by every run, for the city CRS)

CRS = "EPSG:25832"
INPUTS = {
    "buildings": ("buildings/hausumringe.shp", {}),
    "panoramas": ("panoramas/recordings.csv", {"X_POSSIBLE_NAMES": "X", "Y_POSSIBLE_NAMES": "Y"}),
    "fibre_routes": ("fibre/routes.geojson", {}),
    "fibre_nodes": ("fibre/nodes.geojson", {}),
    "streets": ("streets/streets.geojson", {}),
}
#: The model's other layers, written with a few rows each.
OTHERS = ("capture_tracks", "capture_coverage", "street_coverage", "fibre_connections", "qa_issues", "changes")


def main(folder: Path, out: Path) -> None:
    """Read the inputs in `folder` and write a GeoPackage with as many layers as the model to `out`."""
    out.unlink(missing_ok=True)
    layers: dict[str, gpd.GeoDataFrame] = {}
    for layer, (name, options) in INPUTS.items():
        frame = pyogrio.read_dataframe(folder / name, use_arrow=True, **options)
        layers[layer] = (frame if frame.crs else frame.set_crs("EPSG:4326")).to_crs(CRS)
    for layer in OTHERS:
        layers[layer] = layers["fibre_nodes"].head(5)
    for layer, frame in layers.items():
        pyogrio.write_dataframe(frame, out, layer=layer, driver="GPKG", use_arrow=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
