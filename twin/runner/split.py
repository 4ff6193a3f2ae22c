"""One model per municipality, split from the region's layers (``[output] split_by = "municipality"``).

A building belongs to the municipality whose polygon in ``[output] municipalities``
holds its point on surface, or, without that layer, to the one its footprint
names in the attribute ``[output] municipality_key`` (ALKIS: ``AGS``, the official
municipality key, kept in ``source_attributes``). Every other feature belongs to
each municipality whose area it meets: the polygon, or the convex hull of the
municipality's buildings. The buildings are split a row group at a time into
GeoParquet pieces, so a region in parts (dask engine) is never held whole.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from twin.config import Pipeline
from twin.errors import SchemaError
from twin.runner.parted import PartedLayer, write_part
from twin.sources.vector import read_vector

__all__ = ["Municipality", "check_split", "municipalities", "split_folder"]

log = logging.getLogger(__name__)

#: Layers each municipality's run makes itself.
_OWN = ("buildings", "runs", "changes", "history")
#: Columns that differ from run to run though the features do not; left out of a municipality's digest.
_PER_RUN = ("run_id",)


def split_folder(target: Path) -> Path:
    """The folder of the municipalities' models beside the region's model `target`."""
    return target.with_name(f"{target.stem}_municipalities")


@dataclass(frozen=True)
class Municipality:
    """One municipality's share of the region: key, name, its model's path and its layers."""

    key: str
    name: str
    path: Path
    layers: dict[str, object]

    def digest(self) -> str:
        """A hash of its name and of every feature of its layers: the same name and layers, the same digest."""
        total = hashlib.sha256(self.name.encode())
        for name in sorted(self.layers):
            value = self.layers[name]
            frames = value.frames() if isinstance(value, PartedLayer) else [value]
            total.update(name.encode())
            for frame in frames:
                assert isinstance(frame, pd.DataFrame)
                total.update(_frame_hash(frame))
        return total.hexdigest()


def municipalities(pipeline: Pipeline, layers: dict[str, object], pieces: Path) -> Iterator[Municipality]:
    """Each municipality's layers, by key; the pieces of their buildings go to the new folder `pieces`."""
    crs = pipeline.city.crs
    folder = split_folder(pipeline.output.path)
    pieces.mkdir(parents=True)
    polygons = _polygons(pipeline)
    buildings = layers["buildings"]
    frames = buildings.frames() if isinstance(buildings, PartedLayer) else [buildings]
    written: dict[str, list[tuple[Path, int]]] = {}
    hulls: dict[str, list[BaseGeometry]] = {}
    ids: dict[str, list[np.ndarray]] = {}
    unplaced = 0
    for number, frame in enumerate(frames):
        assert isinstance(frame, gpd.GeoDataFrame)
        keys = _keys(frame, polygons, pipeline.output.municipality_key)
        unplaced += int(keys.isna().sum())
        for key, rows in frame.groupby(keys.to_numpy(), sort=False):  # one group per municipality, not per feature
            path = pieces / f"{_safe(str(key))}-{number:05d}.parquet"
            written.setdefault(str(key), []).append((path, write_part(rows, "buildings", crs, path)))
            ids.setdefault(str(key), []).append(rows["building_id"].to_numpy())
            if polygons is None:
                corners = shapely.get_coordinates(rows.geometry.to_numpy())
                hulls.setdefault(str(key), []).append(shapely.convex_hull(shapely.multipoints(corners)))
    if unplaced:
        log.warning("%d buildings lie in no municipality; they are only in the region's model", unplaced)
    areas = polygons if polygons is not None else gpd.GeoDataFrame(
        {"key": list(hulls), "name": list(hulls)},
        geometry=[shapely.convex_hull(shapely.union_all(h)) for h in hulls.values()], crs=crs)
    areas = areas.loc[areas["key"].isin(list(written))].reset_index(drop=True)
    shares = _shares(layers, areas)
    shares.update(_parted_shares(layers, areas, pieces, crs))
    region_views = layers.get("panorama_views")
    parted_views = _split_views(region_views, ids, pieces, crs) if isinstance(region_views, PartedLayer) else None
    for number, (key, name) in enumerate(zip(areas["key"], areas["name"], strict=True)):
        paths, rows = zip(*written[key], strict=True)
        own: dict[str, object] = {"buildings": PartedLayer("buildings", crs, pieces, tuple(paths), tuple(rows))}
        own.update({layer: value[number] for layer, value in shares.items()})
        if parted_views is not None:  # the views of its own buildings, in parts
            own["panorama_views"] = parted_views.get(key, PartedLayer("panorama_views", crs, pieces, (), ()))
        elif "panorama_views" in own:  # the views of its own buildings
            views = own["panorama_views"]
            assert isinstance(views, pd.DataFrame)
            own["panorama_views"] = views.loc[views["building_id"].isin(np.concatenate(ids[key])).to_numpy()]
        yield Municipality(str(key), str(name), folder / f"{_safe(str(key))}.gpkg", own)


def _split_views(views: PartedLayer, ids: dict[str, list[np.ndarray]], pieces: Path,
                 crs: str) -> dict[str, PartedLayer]:
    """The views in parts (dask engine) of each municipality's buildings, read and written a row group at a time;
    each municipality's pieces follow the region's order, so they need no merge."""
    pairs = [(key, part) for key, parts in ids.items() for part in parts]
    empty = np.array([], dtype=object)
    owner = pd.Series(np.concatenate([np.full(len(part), key, dtype=object) for key, part in pairs] or [empty]),
                      index=pd.Index(np.concatenate([part for _, part in pairs] or [empty])).astype("str"), dtype=object)
    written: dict[str, list[tuple[Path, int]]] = {}
    for number, frame in enumerate(views.frames()):
        keys = frame["building_id"].astype("str").map(owner)
        for key, rows in frame.groupby(keys.to_numpy(), sort=False):  # one group per municipality
            path = pieces / f"views-{_safe(str(key))}-{number:05d}.parquet"
            written.setdefault(str(key), []).append((path, write_part(rows, "panorama_views", crs, path)))
    out = {}
    for key, found in written.items():
        paths, rows = zip(*found, strict=True)
        out[key] = PartedLayer("panorama_views", crs, pieces, tuple(paths), tuple(rows))
    return out


def check_split(pipeline: Pipeline) -> None:
    """Refuse a municipalities layer without its key or name column before anything is built."""
    if pipeline.output.split_by is not None:
        _polygons(pipeline)


def _polygons(pipeline: Pipeline) -> gpd.GeoDataFrame | None:
    """The municipalities layer as key, name and polygon, or None."""
    cfg = pipeline.output
    if cfg.municipalities is None:
        return None
    frame = read_vector(cfg.municipalities, target_crs=pipeline.city.crs, section="output")
    missing = [c for c in (cfg.municipality_key, cfg.municipality_name) if c is not None and c not in frame.columns]
    if missing:
        raise SchemaError(cfg.municipalities.name, f"columns {', '.join(missing)} missing",
                          fix="name the key and name columns in [output] municipality_key and municipality_name")
    keys = frame[cfg.municipality_key].astype("str")
    names = frame[cfg.municipality_name].astype("str") if cfg.municipality_name else keys
    return gpd.GeoDataFrame({"key": keys, "name": names}, geometry=frame.geometry.to_numpy(), crs=frame.crs)


def _keys(frame: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame | None, attribute: str) -> pd.Series:
    """The municipality key of each building (missing where none)."""
    if polygons is None:
        pattern = '"' + re.escape(attribute) + r'":"?([^",}]*)'
        found = frame["source_attributes"].astype("str").str.extract(pattern, expand=False)
        return found.where(found.str.len() > 0)
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    inside, area = shapely.STRtree(polygons.geometry.to_numpy()).query(points, predicate="within")
    keys = pd.Series(np.nan, index=frame.index, dtype="object")
    first = pd.Series(area).groupby(inside).first()  # a point on a shared edge: the first polygon
    keys.iloc[first.index.to_numpy()] = polygons["key"].to_numpy()[first.to_numpy()]
    return keys


def _shares(layers: dict[str, object], areas: gpd.GeoDataFrame) -> dict[str, list[pd.DataFrame | PartedLayer]]:
    """Per layer (but those each run makes), its rows meeting each area; tables without geometry whole."""
    out: dict[str, list[pd.DataFrame | PartedLayer]] = {}
    polygons = areas.geometry.to_numpy()
    for name, value in layers.items():
        if name in _OWN or not isinstance(value, pd.DataFrame):
            continue
        if not isinstance(value, gpd.GeoDataFrame):
            out[name] = [value] * len(areas)
            continue
        area, rows = shapely.STRtree(value.geometry.to_numpy()).query(polygons, predicate="intersects")
        order = np.lexsort((rows, area))
        cuts = np.cumsum(np.bincount(area, minlength=len(areas)))[:-1]
        out[name] = [value.iloc[chosen] for chosen in np.split(rows[order], cuts)]
    return out


def _parted_shares(layers: dict[str, object], areas: gpd.GeoDataFrame, pieces: Path,
                   crs: str) -> dict[str, list[PartedLayer]]:
    """Per layer in parts with geometry (dask engine; but the buildings and their views), its rows meeting each
    area as parts in `pieces`, read and written a row group at a time; in the layer's order."""
    out: dict[str, list[PartedLayer]] = {}
    polygons = areas.geometry.to_numpy()
    for name, value in layers.items():
        if name in (*_OWN, "panorama_views") or not isinstance(value, PartedLayer):
            continue
        written: list[list[tuple[Path, int]]] = [[] for _ in range(len(areas))]
        for number, frame in enumerate(value.frames()):
            area, rows = shapely.STRtree(frame.geometry.to_numpy()).query(polygons, predicate="intersects")
            for place in np.unique(area):
                chosen = np.sort(rows[area == place])
                path = pieces / f"{name}-{place:05d}-{number:05d}.parquet"
                written[place].append((path, write_part(frame.iloc[chosen], name, crs, path)))
        out[name] = [PartedLayer(name, crs, pieces, tuple(p for p, _ in found), tuple(r for _, r in found))
                     for found in written]
    return out


def _frame_hash(frame: pd.DataFrame) -> bytes:
    plain = pd.DataFrame(frame.drop(columns=[frame.geometry.name])) if isinstance(frame, gpd.GeoDataFrame) else frame
    plain = plain.drop(columns=[c for c in _PER_RUN if c in plain.columns])
    digest = hashlib.sha256(pd.util.hash_pandas_object(plain.astype("str"), index=False).to_numpy().tobytes())
    if isinstance(frame, gpd.GeoDataFrame):
        wkb = np.asarray(shapely.to_wkb(frame.geometry.to_numpy()), dtype=object)
        digest.update(pd.util.hash_array(wkb).tobytes())
    return digest.digest()


def _safe(key: str) -> str:
    """`key` as a file name (letters, digits, - and _)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", key) or "_"
