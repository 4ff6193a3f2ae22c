"""The I/O floor: read every input with pyogrio+Arrow and write it into one GeoPackage, nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import pyogrio

INPUTS = {
    "buildings": "buildings/hausumringe.shp",
    "panoramas": "panoramas/recordings.csv",
    "fibre_routes": "fibre/routes.geojson",
    "fibre_nodes": "fibre/nodes.geojson",
    "streets": "streets/streets.geojson",
}


def main(folder: Path, out: Path) -> None:
    """Copy the inputs in `folder` into the GeoPackage `out`."""
    out.unlink(missing_ok=True)
    for layer, name in INPUTS.items():
        path = folder / name
        options = {"X_POSSIBLE_NAMES": "X", "Y_POSSIBLE_NAMES": "Y", "Z_POSSIBLE_NAMES": "Z"} if path.suffix == ".csv" else {}
        meta, table = pyogrio.read_arrow(path, **options)
        pyogrio.write_arrow(
            table, out, layer=layer, driver="GPKG", geometry_name=meta["geometry_name"] or "wkb_geometry",
            geometry_type=meta["geometry_type"], crs=meta["crs"] or "EPSG:4326", encoding="UTF-8",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
