"""Which projected CRS a layer without one is in: the CRSs in metres used where the pictures lie, whose
coordinates of that place fall within the layer's extent (no file is read here, only PROJ's database)."""

from __future__ import annotations

import pyproj
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_crs_info
from pyproj.enums import PJType

__all__ = ["crs_candidates"]


def crs_candidates(lon: float, lat: float, bounds: tuple[float, float, float, float], *,
                   tolerance_m: float) -> list[str]:
    """EPSG codes of the projected CRSs in metres, reckoned from Greenwich, whose area of use holds
    (`lon`, `lat`) and in which that place lies within `tolerance_m` of `bounds`; lowest code first.

    >>> crs_candidates(20.053, 49.987, (575_000.0, 236_000.0, 576_000.0, 237_000.0), tolerance_m=5_000)
    ['EPSG:2180']
    """
    found = []
    for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS, allow_deprecated=False,
                               area_of_interest=AreaOfInterest(lon, lat, lon, lat), contains=True):
        try:
            crs = pyproj.CRS.from_epsg(int(info.code))
            x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError, ValueError):
            continue
        metres = all(axis.unit_name == "metre" for axis in crs.axis_info)
        greenwich = crs.prime_meridian is not None and crs.prime_meridian.name == "Greenwich"
        if metres and greenwich and bounds[0] - tolerance_m <= x <= bounds[2] + tolerance_m and \
                bounds[1] - tolerance_m <= y <= bounds[3] + tolerance_m:
            found.append(int(info.code))
    return [f"EPSG:{code}" for code in sorted(found)]
