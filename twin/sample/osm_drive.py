"""Two camera-car campaigns along the inner city's real streets: 2021, and 2023 over two days."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from twin.sample.osm_streets import drive_route, nearest_nodes, node_point, route_line
from twin.sample.panoramas import image_ids, instrument_columns, with_defects
from twin.sources.headings import true_headings

SPACING_M = 5.0
SPEED_MS = 30 / 3.6
#: Right-hand lane: pictures this far right of the street's centre line (m).
LANE_M = 1.5
#: Start of each drive (UTC) and its share of the campaign's route.
DRIVES = (("2021-06-10T07:42:10", 2021), ("2023-05-16T08:05:31", 2023), ("2023-05-17T12:30:02", 2023))
#: A stop in traffic in the first 2023 drive (s): longer than a sequence's largest gap.
PAUSE_S = 150.0


def make_drives(rng: np.random.Generator, graph: nx.Graph, hall: shapely.Point, *, lengths_m: tuple[float, float]) -> pd.DataFrame:
    """Panorama rows in EPSG:25832 for the 2021 campaign (from the city hall) and the 2023 one.

    The 2023 campaign starts at the street node farthest from the 2021 drive, seeks the streets 2021
    left out (passing through the others), and is driven on two days; its first day halts for :data:`PAUSE_S` half-way. Faults as in :func:`with_defects`.
    """
    start = nearest_nodes(graph, np.array([hall]))[0]
    earlier = drive_route(graph, start, length_m=lengths_m[0])
    first = route_line(graph, earlier)
    nodes = sorted(graph.nodes)
    far = nodes[int(np.argmax(shapely.distance(first, shapely.points([node_point(n) for n in nodes]))))]
    second = route_line(graph, drive_route(graph, far, length_m=lengths_m[1], after=earlier))
    half = second.length / 2
    lines = [first, substring(second, 0, half),
             substring(second, half, second.length)]
    frames = [_pictures(rng, line, pd.Timestamp(when, tz="UTC"), pause=(k == 1)) for k, (line, (when, _)) in
              enumerate(zip(lines, DRIVES, strict=True))]
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "imageId", image_ids(rng, len(frame)))
    return with_defects(rng, frame)


def _pictures(rng: np.random.Generator, line: shapely.LineString, start: pd.Timestamp, *, pause: bool) -> pd.DataFrame:
    count = int(line.length // SPACING_M) + 1
    distance = np.arange(count) * SPACING_M
    xy = shapely.get_coordinates(shapely.line_interpolate_point(line, distance))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(line, np.minimum(distance + 1.0, line.length)))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(line, np.maximum(distance - 1.0, 0.0)))
    direction = ahead - behind
    direction /= np.maximum(np.hypot(direction[:, 0], direction[:, 1]), 1e-9)[:, None]
    # along the street on the map, written from true north as a vehicle's GNSS/IMU gives it
    grid = np.degrees(np.arctan2(direction[:, 0], direction[:, 1])) % 360
    heading = true_headings(grid, xy[:, 0], xy[:, 1], "EPSG:25832").round(2)
    right = np.c_[direction[:, 1], -direction[:, 0]]
    xy = xy + LANE_M * right + rng.normal(0, 0.05, xy.shape)
    seconds = distance / SPEED_MS + rng.uniform(0, 0.05, count)
    if pause:
        seconds[count // 2:] += PAUSE_S
    return pd.DataFrame({
        "recordedAt": start + pd.to_timedelta(seconds, unit="s"), "x": xy[:, 0], "y": xy[:, 1],
        **instrument_columns(rng, xy, heading, ground_m=238.0, relief_m=4.0),
    })
