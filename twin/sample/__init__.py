"""A deterministic synthetic Kaiserslautern: footprints, panorama drives, fibre network, boundary, streets, districts.

Everything is placed on a jittered street grid in Kaiserslautern's centre
(EPSG:25832 E 410767, N 5477621) and grows with ``scale`` (buildings). The
same seed and scale give byte-identical files. The benchmarks use it; the
shipped sample is made from an OpenStreetMap extract by
:func:`twin.sample.osm_sample.write_osm_sample`.

>>> import tempfile, pathlib
>>> files = write_sample(pathlib.Path(tempfile.mkdtemp()), scale=300)
>>> sorted(files)
['boundary', 'buildings', 'districts', 'nodes', 'panoramas', 'routes', 'streets']
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from twin.sample.city import make_city
from twin.sample.fibre import make_fibre
from twin.sample.files import boundary_of, districts_of, write_files
from twin.sample.panoramas import make_panoramas

__all__ = ["write_sample"]

log = logging.getLogger(__name__)


def write_sample(
    out: Path, *, scale: int = 2000, seed: int = 42, panoramas_per_building: float = 0.2
) -> dict[str, Path]:
    """Write the synthetic dataset into `out` and return the written files by name.

    Parameters
    ----------
    out
        Folder to write into (created if missing).
    scale
        Approximate number of buildings.
    seed
        Seed of the random generator.
    panoramas_per_building
        Number of panoramas per building to drive.
    """
    rng = np.random.default_rng(seed)
    city = make_city(rng, scale=scale)
    drive = make_panoramas(rng, city, count=max(30, int(scale * panoramas_per_building)))
    network = make_fibre(rng, city)
    written = write_files(Path(out), city.buildings, drive, network, boundary_of(city), districts_of(city))
    log.info("sample of %d buildings, %d panoramas written to %s", len(city.buildings), len(drive), out)
    return written
