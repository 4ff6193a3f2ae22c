"""The street grid and the building footprints along its blocks."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.sample.ids import base34

#: Kaiserslautern's city hall in EPSG:25832.
HALL_X, HALL_Y = 410767.0, 5477621.0
CRS = "EPSG:25832"
STREET_NAMES = (
    "Schillerstraße", "Königstraße", "Fackelstraße", "Marktstraße", "Eisenbahnstraße", "Mühlstraße",
    "Glockenstraße", "Pariser Straße", "Mannheimer Straße", "Rudolf-Breitscheid-Straße", "Burgstraße",
    "Richard-Wagner-Straße", "Logenstraße", "Spittelstraße", "Hohenecker Straße", "Barbarossastraße",
    "Kerststraße", "Steinstraße", "Rosenstraße", "Pfaffstraße", "Lauterstraße", "Schneiderstraße",
)
HALF_STREET_M = 8.0
LOT_M = 16.0
FUNCTIONS = np.array(["1000", "1010", "1100", "2000", "2463", "3010", "3000"])
FUNCTION_SHARE = np.array([0.55, 0.12, 0.14, 0.08, 0.07, 0.02, 0.02])


@dataclass
class City:
    """The generated grid: column and row street positions, names, and the buildings."""

    xs: np.ndarray
    ys: np.ndarray
    col_names: np.ndarray
    row_names: np.ndarray
    buildings: gpd.GeoDataFrame
    hall: int
    sites: np.ndarray


def street_name(i: np.ndarray, offset: int) -> np.ndarray:
    """German street names, numbered once the list is used up."""
    base = np.array(STREET_NAMES)[(i + offset) % len(STREET_NAMES)]
    cycle = (i + offset) // len(STREET_NAMES)
    return np.where(cycle == 0, base, np.char.add(np.char.add(base, " "), (cycle + 1).astype(str)))


def make_city(rng: np.random.Generator, *, scale: int) -> City:
    """A grid of blocks big enough for about `scale` buildings."""
    blocks = max(4, int(np.ceil(scale / 16)))
    nx = max(2, int(np.ceil(np.sqrt(blocks))))
    ny = max(2, int(np.ceil(blocks / nx)))
    xs = np.cumsum(np.r_[0, rng.uniform(95, 135, nx)])
    ys = np.cumsum(np.r_[0, rng.uniform(85, 125, ny)])
    xs += HALL_X - xs[nx // 2] - 60
    ys += HALL_Y - ys[ny // 2] - 50
    buildings = _buildings(rng, xs, ys)
    keep = _trim(buildings, scale, rng)
    buildings = buildings.iloc[keep].reset_index(drop=True)
    hall = int(np.argmin(shapely.distance(buildings.geometry.to_numpy(), shapely.points(HALL_X, HALL_Y))))
    codes = rng.choice(FUNCTIONS, size=len(buildings), p=FUNCTION_SHARE)
    n_sites = 15 + scale // 2000
    candidates = np.setdiff1d(np.flatnonzero(codes != "2463"), [hall])
    sites = np.sort(rng.choice(candidates, size=min(n_sites, len(candidates)), replace=False))
    n_school = max(10, len(sites) * 2 // 3)
    codes[sites[:n_school]] = "3021"
    codes[sites[n_school:n_school + 2]] = "3034"
    codes[sites[n_school + 2:]] = "3010"
    codes[hall] = "3012"
    buildings["GFK"] = np.char.add("31001_", codes.astype(str))
    col_names, row_names = street_name(np.arange(nx + 1), 0), street_name(np.arange(ny + 1), 7)
    street = buildings["street"].to_numpy()
    buildings["STRASSE"] = np.where(buildings["street_kind"] == "row", row_names[np.minimum(street, ny)],
                                    col_names[np.minimum(street, nx)])
    buildings["OI"] = np.char.add("DERPLI", base34(rng.permutation(len(buildings)) * 7919 + 104729, 10))
    buildings["AGS"] = "07312000"
    days = rng.integers(0, 3650, len(buildings))
    buildings["AKTUALIT"] = (np.datetime64("2014-01-01") + days.astype("timedelta64[D]")).astype(str)
    return City(xs, ys, col_names, row_names, buildings, hall, sites)


def _trim(buildings: gpd.GeoDataFrame, scale: int, rng: np.random.Generator) -> np.ndarray:
    n = len(buildings)
    if n <= scale:
        return np.arange(n)
    return np.sort(rng.choice(n, size=scale, replace=False))


def _buildings(rng: np.random.Generator, xs: np.ndarray, ys: np.ndarray) -> gpd.GeoDataFrame:
    """Lots along the four sides of every block, a footprint on each."""
    grid_i, grid_j = np.meshgrid(np.arange(len(xs) - 1), np.arange(len(ys) - 1), indexing="ij")
    bi, bj = grid_i.ravel(), grid_j.ravel()
    x0, x1 = xs[bi] + HALF_STREET_M, xs[bi + 1] - HALF_STREET_M
    y0, y1 = ys[bj] + HALF_STREET_M, ys[bj + 1] - HALF_STREET_M
    depth_max = 18.0
    sides = []
    # side: origin, frontage unit vector u, inward normal v, usable length, street name index
    sides.append((x0, y0, (1, 0), (0, 1), x1 - x0, "row", bj))
    sides.append((x1, y1, (-1, 0), (0, -1), x1 - x0, "row", bj + 1))
    sides.append((x0, y1 - depth_max, (0, -1), (1, 0), y1 - y0 - 2 * depth_max, "col", bi))
    sides.append((x1, y0 + depth_max, (0, 1), (-1, 0), y1 - y0 - 2 * depth_max, "col", bi + 1))
    parts = [_lots(rng, *side) for side in sides]
    frame = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=frame["geometry"].to_numpy(), crs=CRS)


def _lots(
    rng: np.random.Generator, ox: np.ndarray, oy: np.ndarray, u: tuple[int, int], v: tuple[int, int],
    length: np.ndarray, kind: str, street: np.ndarray,
) -> pd.DataFrame:
    count = np.maximum(np.floor(length / LOT_M).astype(int), 0)
    block = np.repeat(np.arange(len(ox)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    n = len(block)
    width = rng.uniform(9, 14, n)
    depth = rng.uniform(10, 16, n)
    setback = rng.uniform(1.5, 4.5, n)
    start = k * LOT_M + rng.uniform(0.5, 1.5, n)
    ax = np.array(u, float)
    nv = np.array(v, float)
    lshape = rng.random(n) < 0.25
    a = np.stack([np.zeros(n), width, width, width * 0.5, width * 0.5, np.zeros(n), np.zeros(n)], axis=1)
    b = np.stack([np.zeros(n), np.zeros(n), depth * 0.5, depth * 0.5, depth, depth, np.zeros(n)], axis=1)
    rect_a = np.stack([np.zeros(n), width, width, np.zeros(n), np.zeros(n)], axis=1)
    rect_b = np.stack([np.zeros(n), np.zeros(n), depth, depth, np.zeros(n)], axis=1)
    base_x = ox[block] + ax[0] * start + nv[0] * setback
    base_y = oy[block] + ax[1] * start + nv[1] * setback
    geoms = np.empty(n, dtype=object)
    for mask, aa, bb in ((lshape, a, b), (~lshape, rect_a, rect_b)):
        px = base_x[mask, None] + ax[0] * aa[mask] + nv[0] * bb[mask]
        py = base_y[mask, None] + ax[1] * aa[mask] + nv[1] * bb[mask]
        rings = np.stack([px, py], axis=-1)
        geoms[mask] = shapely.polygons(rings)
    return pd.DataFrame({"street_kind": kind, "street": street[block], "HAUSNR": (k + 1).astype(str), "geometry": geoms})
