"""Figures analysts reuse: a LoD1 block model of buildings, extruded by ``height_m``.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import geopandas as gpd
>>> from shapely import box
>>> blocks = gpd.GeoDataFrame({"height_m": [9.0, 18.0]}, geometry=[box(0, 0, 10, 10), box(20, 0, 30, 15)],
...                           crs="EPSG:25832")
>>> ax = plot_lod1(blocks)
>>> bool(ax.get_zlim()[1] >= 18)
True
>>> ax.get_zlabel()
'Höhe (m, 1.1-fach überhöht)'
>>> plt.close(ax.figure)
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import shapely
from matplotlib import colormaps
from matplotlib.colors import Normalize
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from twin.model.layers import in_language

__all__ = ["lod1_faces", "plot_lod1"]

#: Axis labels of the LoD1 view: east, north, height, height with its exaggeration.
_LOD1_WORDS = {"de": ("Ost (m)", "Nord (m)", "Höhe (m)", "Höhe (m, {factor:.1f}-fach überhöht)"),
               "en": ("East (m)", "North (m)", "Height (m)", "Height (m, exaggerated {factor:.1f}×)")}


def lod1_faces(buildings: gpd.GeoDataFrame, *, height_column: str = "height_m") -> tuple[list[np.ndarray], np.ndarray]:
    """Walls and roofs of the LoD1 blocks: footprints extruded from 0 to their height.

    Returns
    -------
    faces
        One ``(n, 3)`` array of corner coordinates per face (walls: 4 corners; roofs: the ring).
    heights
        Height of the building each face belongs to (for colouring).
    """
    polygons, owner = shapely.get_parts(buildings.geometry.to_numpy(), return_index=True)
    height = buildings[height_column].to_numpy(dtype="float64", na_value=0.0)[owner]
    rings = shapely.get_exterior_ring(polygons)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]  # consecutive corners of one ring make a wall
    a, b, h = coords[:-1][same], coords[1:][same], height[ring[1:][same]]
    zero = np.zeros_like(h)
    walls = np.stack([np.c_[a, zero], np.c_[b, zero], np.c_[b, h], np.c_[a, h]], axis=1)
    split = np.flatnonzero(np.diff(ring)) + 1
    roofs = [np.c_[part, np.full(len(part), height[r])] for part, r in zip(np.split(coords, split), np.unique(ring),
                                                                           strict=True)]
    return [*walls, *roofs], np.concatenate([h, height[np.unique(ring)]])


def plot_lod1(buildings: gpd.GeoDataFrame, *, ax: Any = None, height_column: str = "height_m",
              cmap: str = "viridis", language: str = "de") -> Any:
    """Draw the buildings as LoD1 blocks in a matplotlib 3D axes, coloured by height.

    Parameters
    ----------
    buildings
        Footprints in a projected CRS (metres) with a height column.
    ax
        A 3D axes to draw into; a new figure when None.
    height_column
        Column with the height in metres.
    cmap
        Matplotlib colour map name.
    language
        ``de`` or ``en``: that of the axis labels (``model.language``).

    Returns
    -------
    mpl_toolkits.mplot3d.axes3d.Axes3D
    """
    if ax is None:
        ax = plt.figure(figsize=(9, 7)).add_subplot(projection="3d")
    faces, heights = lod1_faces(buildings, height_column=height_column)
    if not faces:
        return ax
    norm = Normalize(vmin=0, vmax=float(np.nanmax(heights)) or 1.0)
    colours = colormaps[cmap](norm(heights))
    ax.add_collection3d(Poly3DCollection(faces, facecolors=colours, edgecolors="0.3", linewidths=0.2))
    xmin, ymin, xmax, ymax = buildings.total_bounds
    span = max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin, xmin + span)
    ax.set_ylim(ymin, ymin + span)
    top = float(np.nanmax(heights)) * 1.5
    ax.set_zlim(0, top)
    box_z = min(max(2 * top / span, 0.15), 1.0)  # heights shown at about twice their scale
    ax.set_box_aspect((1, 1, box_z))
    east, north, height, raised = _LOD1_WORDS[in_language(("de", "en"), language)]
    ax.set_xlabel(east)
    ax.set_ylabel(north)
    ax.set_zlabel(raised.format(factor=box_z * span / top))
    ax.figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6, pad=0.12, label=height)
    return ax
