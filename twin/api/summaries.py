"""Tables and lines summarising model layers: pure functions, frame in, frame out.

>>> import geopandas as gpd
>>> from shapely import LineString
>>> routes = gpd.GeoDataFrame({"status": ["built", "planned"], "kind": ["trench", "duct"]},
...     geometry=[LineString([(0, 0), (1500, 0)]), LineString([(0, 0), (0, 500)])], crs="EPSG:25832")
>>> route_length_by_status(routes).loc["total", "total"]
np.float64(2.0)
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import shapely

from twin.errors import ArgumentError, NotFoundError

__all__ = [
    "CAPTURE_GAP_M", "buildings_around", "buildings_by_function", "buildings_near_routes", "capture_gaps",
    "capture_timeline", "node_id", "not_captured_since", "qa_summary", "route_length_by_status", "streets_below",
]

#: Two consecutive panoramas of one drive farther apart than this leave a gap (m).
CAPTURE_GAP_M = 25.0


def route_length_by_status(routes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Route length in kilometres by ``status`` (rows) and ``kind`` (columns), with totals."""
    km = pd.Series(shapely.length(routes.geometry.to_numpy()) / 1000, index=routes.index)
    frame = pd.DataFrame({"status": routes["status"], "kind": routes["kind"], "km": km})
    table = frame.pivot_table(index="status", columns="kind", values="km", aggfunc="sum", fill_value=0.0,
                              observed=False)
    table.columns = table.columns.astype("str")
    table.index = table.index.astype("str")
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table.round(3)


def capture_timeline(panoramas: gpd.GeoDataFrame, tracks: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per capture day (UTC): panoramas, drives, first and last image, driven km (from `tracks`)."""
    day = panoramas["captured_at"].dt.strftime("%Y-%m-%d").rename("capture_date")
    table = panoramas.groupby(day).agg(
        panoramas=("captured_at", "size"), drives=("sequence_id", "nunique"),
        first_at=("captured_at", "min"), last_at=("captured_at", "max"),
    )
    track_day = tracks["started_at"].dt.strftime("%Y-%m-%d")
    table["driven_km"] = (tracks["length_m"].groupby(track_day).sum() / 1000).round(3)
    return table.fillna({"driven_km": 0.0})


def capture_gaps(panoramas: gpd.GeoDataFrame, *, min_gap_m: float = CAPTURE_GAP_M) -> gpd.GeoDataFrame:
    """Lines between consecutive panoramas of one drive that are more than `min_gap_m` apart.

    Columns: ``sequence_id``, ``from_panorama_id``, ``to_panorama_id``, ``gap_m``, ``gap_s``.
    """
    ordered = panoramas.sort_values(["sequence_id", "captured_at"], kind="stable")
    sequence = ordered["sequence_id"].to_numpy()
    points = shapely.force_2d(ordered.geometry.to_numpy())
    times = ordered["captured_at"]
    follows = (sequence[1:] == sequence[:-1]) & pd.notna(sequence[1:])
    lines = shapely.shortest_line(points[:-1], points[1:])
    gap = shapely.length(lines)
    wide = follows & (gap > min_gap_m)
    ids = ordered["panorama_id"].to_numpy()
    seconds = (times.iloc[1:].to_numpy() - times.iloc[:-1].to_numpy()) / pd.Timedelta(seconds=1)
    return gpd.GeoDataFrame(
        {"sequence_id": sequence[1:][wide], "from_panorama_id": ids[:-1][wide], "to_panorama_id": ids[1:][wide],
         "gap_m": gap[wide].round(2), "gap_s": seconds[wide].astype("float64")},
        geometry=gpd.GeoSeries(lines[wide], crs=panoramas.crs),
    )


def buildings_near_routes(buildings: gpd.GeoDataFrame, routes: gpd.GeoDataFrame, distance_m: float) -> gpd.GeoDataFrame:
    """Rows of `buildings` within `distance_m` of a route (same index), with ``distance_to_fibre_m``."""
    distance = pd.Series(float("nan"), index=buildings.index, dtype="float64")
    if len(routes) and len(buildings):
        tree = shapely.STRtree(routes.geometry.to_numpy())
        (b_idx, _), dist = tree.query_nearest(buildings.geometry.to_numpy(), return_distance=True, all_matches=False)
        distance.iloc[b_idx] = dist
    out = buildings.loc[(distance <= distance_m).to_numpy()].copy()
    out["distance_to_fibre_m"] = distance.loc[out.index].round(2)
    return out


def buildings_by_function(buildings: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per building function: count, footprint area (m²) and mean and median height (m), largest first."""
    table = buildings.groupby([buildings["function_code"].fillna("–"), buildings["function_label"].fillna("–")]).agg(
        buildings=("building_id", "size"), area_m2=("area_m2", "sum"),
        mean_height_m=("height_m", "mean"), median_height_m=("height_m", "median"),
    )
    return table.sort_values("buildings", ascending=False).round(1)


def qa_summary(issues: pd.DataFrame) -> pd.DataFrame:
    """Quality issues counted by layer, check and severity, most frequent first."""
    table = issues.groupby(["layer", "check", "severity"], observed=True).size().rename("issues")
    return table.reset_index().sort_values(["issues", "layer", "check"], ascending=[False, True, True],
                                           ignore_index=True)


def node_id(nodes: gpd.GeoDataFrame, node_id_or_name: str) -> str:
    """The ``node_id`` of a node of `nodes` given by id or by its unique name."""
    if (nodes["node_id"] == node_id_or_name).any():
        return node_id_or_name
    named = nodes.loc[(nodes["name"] == node_id_or_name).fillna(False), "node_id"].astype("str").tolist()
    if len(named) == 1:
        return named[0]
    if named:
        raise ArgumentError("fibre_nodes", f"{len(named)} nodes are named {node_id_or_name!r} ({', '.join(named)})",
                            fix="give the node_id")
    raise NotFoundError("fibre_nodes", f"no node with id or name {node_id_or_name!r}",
                        fix="give a node_id or name of the fibre_nodes layer")


def not_captured_since(buildings: gpd.GeoDataFrame, date: str | dt.date | dt.datetime | pd.Timestamp) -> gpd.GeoDataFrame:
    """Rows of `buildings` whose latest panorama is older than `date` (UTC when it has no zone), or that none shows."""
    try:
        moment = pd.Timestamp(date)
    except (TypeError, ValueError) as exc:
        raise ArgumentError("buildings_not_captured_since, date", f"{date!r} is not a date",
                            fix="give a date such as '2023-01-01'") from exc
    if pd.isna(moment):
        raise ArgumentError("buildings_not_captured_since, date", f"{date!r} is not a date",
                            fix="give a date such as '2023-01-01'")
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    last = buildings["last_captured_at"]
    return buildings.loc[(last.isna() | (last < moment)).to_numpy()]


def streets_below(streets: gpd.GeoDataFrame, share: float) -> gpd.GeoDataFrame:
    """Street segments with less than `share` captured (or no value), least covered first."""
    covered = streets["covered_share"]
    return streets.loc[(covered.isna() | (covered < share)).to_numpy()].sort_values("covered_share", na_position="first")


def buildings_around(buildings: gpd.GeoDataFrame, building_id: str, radius_m: float) -> gpd.GeoDataFrame:
    """Rows of `buildings` within `radius_m` of the building `building_id` (itself included)."""
    centre = buildings.loc[buildings["building_id"] == building_id].geometry
    if centre.empty:
        raise NotFoundError("buildings", f"no building {building_id!r}", fix="give a building_id of the buildings layer")
    return buildings.loc[buildings.geometry.dwithin(centre.iloc[0], radius_m).to_numpy()]
