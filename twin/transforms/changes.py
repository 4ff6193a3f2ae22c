"""What changed between two versions of the model, feature by feature.

Features are matched on their stable ids (``building_id``, ``route_id``,
``node_id``, ``panorama_id``). A feature present only in the new model is
*added*, only in the old one *removed*, in both with another geometry
(its normalised WKB differs once coordinates are
rounded to a millimetre, ``CHANGE_GRID_M``) or other attributes (the hash of the row
differs) *modified*. Everything is one merge per layer; no row loops.

>>> import geopandas as gpd, shapely
>>> old = gpd.GeoDataFrame({"panorama_id": ["a", "b"], "image_name": ["a.jpg", "b.jpg"]},
...                        geometry=shapely.points([[0, 0], [1, 1]]), crs="EPSG:25832")
>>> new = gpd.GeoDataFrame({"panorama_id": ["b", "c"], "image_name": ["b2.jpg", "c.jpg"]},
...                        geometry=shapely.points([[1, 1], [2, 2]]), crs="EPSG:25832")
>>> found = feature_changes({"panoramas": old}, {"panoramas": new}, run_id="r1", crs="EPSG:25832")
>>> sorted(zip(found["feature_id"], found["change"]))
[('a', 'removed'), ('b', 'modified'), ('c', 'added')]
>>> change_summary(found)["panoramas"]
{'added': 1, 'removed': 1, 'modified': 1}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin import parallel
from twin.model import LAYERS, conform, empty_frame
from twin.model.runs import CHANGE_KINDS
from twin.transforms.repair import change_wkb

__all__ = [
    "CHANGE_LAYERS", "change_summary", "compare_fingerprints", "feature_changes", "fingerprints", "layer_changes",
    "shapes_of",
]

#: Layers whose features are compared, in report order.
CHANGE_LAYERS = ("buildings", "fibre_routes", "fibre_nodes", "panoramas")


#: Rows fingerprinted at a time: the normalised geometries of a large layer never exist all at once.
CHUNK = 100_000


def layer_changes(old: pd.DataFrame, new: pd.DataFrame, *, layer: str, run_id: str, crs: str) -> gpd.GeoDataFrame:
    """The changes of one layer as rows of the ``changes`` layer.

    Parameters
    ----------
    old, new
        The layer in the previous and the new model (any column order; brought into the layer schema).
    layer
        Layer name; its id field is the key.
    run_id
        The run that finds the changes.
    crs
        CRS of the output.
    """
    return compare_fingerprints(
        fingerprints(old, layer, crs), fingerprints(new, layer, crs), layer=layer, run_id=run_id, crs=crs,
        old_shapes=shapes_of(old), new_shapes=shapes_of(new),
    )


def fingerprints(frame: pd.DataFrame, layer: str, crs: str, *, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Per feature of `frame`: its id, a hash of its normalised WKB, a hash of its attributes and its row.

    The frame is brought into the layer's schema chunk by chunk, so old and new versions of a
    feature hash alike whatever dtypes they were read with. `rows` names each row (positions by
    default; the runner passes the GeoPackage fids of a published layer).
    """
    key = layer_key(layer)
    parts = []
    for start in range(0, len(frame), CHUNK):
        chunk = conform(frame.iloc[start:start + CHUNK], layer, crs)
        geoms = chunk.geometry.to_numpy()
        wkb = parallel.elementwise(change_wkb, geoms)
        parts.append(pd.DataFrame({
            key: chunk[key].astype(str).to_numpy(),
            "geom": pd.util.hash_array(np.asarray(wkb, dtype=object)),
            "attrs": pd.util.hash_pandas_object(chunk.drop(columns=[key, chunk.geometry.name]), index=False).to_numpy(),
            "row": np.arange(start, start + len(chunk), dtype="int64") if rows is None else rows[start:start + len(chunk)],
        }))
    if not parts:
        return pd.DataFrame({key: pd.Series([], dtype=str), "geom": pd.Series([], dtype="uint64"),
                             "attrs": pd.Series([], dtype="uint64"), "row": pd.Series([], dtype="int64")})
    return pd.concat(parts, ignore_index=True).drop_duplicates(subset=key, keep="first")


def compare_fingerprints(
    before: pd.DataFrame, after: pd.DataFrame, *, layer: str, run_id: str, crs: str,
    old_shapes: Callable[[np.ndarray], np.ndarray], new_shapes: Callable[[np.ndarray], np.ndarray],
) -> gpd.GeoDataFrame:
    """The ``changes`` rows of `layer` from the fingerprints of its old and new version.

    `old_shapes` and `new_shapes` give the geometries of rows (as in the fingerprints' ``row``):
    a removed feature is marked where it was, the others where they are now, each by one point on
    the feature (``point_on_surface``: inside an area, on a line), so the layer has one geometry type.
    """
    key = layer_key(layer)
    merged = before.merge(after, on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
    side = merged["_merge"].to_numpy()
    differs = (merged["geom_old"].to_numpy() != merged["geom_new"].to_numpy()) | (
        merged["attrs_old"].to_numpy() != merged["attrs_new"].to_numpy())
    change = np.select([side == "right_only", side == "left_only", (side == "both") & differs], list(CHANGE_KINDS),
                       default="")
    keep = change != ""
    removed = keep & (side == "left_only")
    geometry = np.full(len(merged), None, dtype=object)
    if removed.any():
        geometry[removed] = old_shapes(merged["row_old"].to_numpy()[removed].astype("int64"))
    if (keep & ~removed).any():
        geometry[keep & ~removed] = new_shapes(merged["row_new"].to_numpy()[keep & ~removed].astype("int64"))
    frame = gpd.GeoDataFrame(
        {"layer": layer, "feature_id": merged[key].to_numpy()[keep], "change": change[keep], "run_id": run_id},
        geometry=gpd.GeoSeries(shapely.point_on_surface(shapely.force_2d(geometry[keep])), crs=crs),
        crs=crs,
    )
    order = np.argsort(frame["feature_id"].to_numpy().astype(str), kind="stable")
    return conform(frame.iloc[order], "changes", crs)


def layer_key(layer: str) -> str:
    key = LAYERS[layer].id_field
    if key is None:
        raise ValueError(f"layer {layer} has no id field")
    return key


def shapes_of(frame: pd.DataFrame) -> Callable[[np.ndarray], np.ndarray]:
    geoms = frame.geometry.to_numpy() if isinstance(frame, gpd.GeoDataFrame) else np.full(len(frame), None, object)
    return lambda rows: np.asarray(geoms[rows], dtype=object)


def feature_changes(
    previous: Mapping[str, pd.DataFrame],
    current: Mapping[str, pd.DataFrame],
    *,
    run_id: str,
    crs: str,
    layers: tuple[str, ...] = CHANGE_LAYERS,
) -> gpd.GeoDataFrame:
    """The ``changes`` layer: added, removed and modified features of `layers`.

    A layer missing from `previous` or `current` counts as empty.
    """
    parts = [
        layer_changes(previous.get(name, empty_frame(name, crs)), current.get(name, empty_frame(name, crs)),
                      layer=name, run_id=run_id, crs=crs)
        for name in layers
    ]
    return conform(pd.concat(parts, ignore_index=True), "changes", crs) if parts else empty_frame("changes", crs)


def change_summary(changes: pd.DataFrame, layers: tuple[str, ...] = CHANGE_LAYERS) -> dict[str, dict[str, int]]:
    """Counts of added, removed and modified features per layer."""
    table = pd.crosstab(changes["layer"], changes["change"]) if len(changes) else pd.DataFrame()
    return {
        layer: {kind: int(table.loc[layer, kind]) if layer in table.index and kind in table.columns else 0
                for kind in CHANGE_KINDS}
        for layer in layers
    }
