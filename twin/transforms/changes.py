"""What changed between two versions of the model, feature by feature.

Features are matched on their stable ids (``building_id``, ``route_id``,
``node_id``, ``panorama_id``). A feature present only in the new model is
*added*, only in the old one *removed*, in both with another geometry
(its normalised WKB differs) or other attributes (the hash of the row
differs) *modified*. Everything is one merge per layer; no row loops.

>>> import geopandas as gpd, shapely
>>> old = gpd.GeoDataFrame({"panorama_id": ["a", "b"], "image_name": ["a.jpg", "b.jpg"]},
...                        geometry=shapely.points([[0, 0], [1, 1]]), crs="EPSG:25832")
>>> new = gpd.GeoDataFrame({"panorama_id": ["b", "c"], "image_name": ["b2.jpg", "c.jpg"]},
...                        geometry=shapely.points([[1, 1], [2, 2]]), crs="EPSG:25832")
>>> found = feature_changes({"panoramas": old}, {"panoramas": new}, run_id="r1", crs="EPSG:25832")
>>> sorted(zip(found["feature_id"], found["change"]))
[('a', 'removed'), ('b', 'modified'), ('c', 'added')]
>>> summary_line(change_summary(found))
'changes: panoramas +1 −1 ~1'
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.model import LAYERS, conform, empty_frame

__all__ = ["CHANGE_LAYERS", "change_summary", "feature_changes", "layer_changes", "summary_line"]

#: Layers whose features are compared, in report order.
CHANGE_LAYERS = ("buildings", "fibre_routes", "fibre_nodes", "panoramas")
_KINDS = ("added", "removed", "modified")


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
    key = LAYERS[layer].id_field
    if key is None:
        raise ValueError(f"layer {layer} has no id field")
    before = _fingerprints(conform(old, layer, crs), key)
    after = _fingerprints(conform(new, layer, crs), key)
    merged = before.merge(after, on=key, how="outer", suffixes=("_old", "_new"), indicator=True)
    both = (merged["_merge"] == "both").to_numpy()
    differs = (merged["geom_old"].to_numpy(dtype=object) != merged["geom_new"].to_numpy(dtype=object)) | (
        merged["attrs_old"].to_numpy() != merged["attrs_new"].to_numpy())
    change = np.select([merged["_merge"].to_numpy() == "right_only", merged["_merge"].to_numpy() == "left_only",
                        both & differs], list(_KINDS), default="")
    keep = change != ""
    geometry = np.where(merged["_merge"].to_numpy() == "left_only", merged["shape_old"].to_numpy(),
                        merged["shape_new"].to_numpy())[keep]
    frame = gpd.GeoDataFrame(
        {"layer": layer, "feature_id": merged[key].to_numpy()[keep], "change": change[keep], "run_id": run_id},
        geometry=gpd.GeoSeries(shapely.force_2d(geometry.astype(object)), crs=crs),
        crs=crs,
    )
    order = np.argsort(frame["feature_id"].to_numpy().astype(str), kind="stable")
    return conform(frame.iloc[order], "changes", crs)


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
                for kind in _KINDS}
        for layer in layers
    }


def summary_line(summary: Mapping[str, Mapping[str, int]]) -> str:
    """``changes: buildings +3 −1 ~2, fibre_routes +0 −0 ~1`` (layers without changes left out)."""
    parts = [f"{layer} +{c['added']} −{c['removed']} ~{c['modified']}" for layer, c in summary.items() if any(c.values())]
    return "changes: " + (", ".join(parts) if parts else "none")


def _fingerprints(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    frame = frame.drop_duplicates(subset=key, keep="first")
    attributes = frame.drop(columns=[key, frame.geometry.name])
    geoms = frame.geometry.to_numpy()
    return pd.DataFrame(
        {
            key: frame[key].astype(str).to_numpy(),
            "geom": shapely.to_wkb(shapely.normalize(geoms), output_dimension=3),
            "attrs": pd.util.hash_pandas_object(attributes, index=False).to_numpy(),
            "shape": geoms,
        }
    )
