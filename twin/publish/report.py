"""The run report beside the output: ``<stem>.report.md`` and an overview map ``<stem>.report.png``.

Operations read it in the morning (or a monitoring job links it): when the
run finished, which stages ran or were reused, what changed, how many
features each layer has, and a map of buildings by fibre status with the
fibre routes and the panorama positions. Both files are written to a
temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from twin.model.frames import json_object
from twin.transforms.changes import summary_line

if TYPE_CHECKING:
    from twin.runner import RunResult

__all__ = ["report_paths", "write_report"]

#: Above this many buildings the map draws one dot per building instead of the footprint.
MAX_POLYGONS = 20_000
#: Above this many buildings the map shows a regular subsample of them, as points.
MAX_POINTS = 200_000
_STATUS_COLOURS = {"connected": "#1a9850", "reachable": "#fdae61", "none": "#bdbdbd"}


def report_paths(target: Path) -> tuple[Path, Path]:
    """The Markdown report and the map of the output `target`."""
    return target.with_name(f"{target.stem}.report.md"), target.with_name(f"{target.stem}.report.png")


def write_report(result: RunResult, *, layers: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write the report of `result`; the map from `layers`, else (when missing) from the published file.

    Returns the path of the Markdown file.
    """
    markdown, picture = report_paths(result.output)
    if layers is not None or not picture.exists():
        _atomic(picture, lambda path: overview_map(layers or _read_map_layers(result.output), path))
    issues = (layers or {}).get("qa_issues")
    if issues is None:
        issues = pyogrio.read_dataframe(result.output, layer="qa_issues", columns=["check", "severity"],
                                        read_geometry=False, use_arrow=True)
    runs = pyogrio.read_dataframe(result.output, layer="runs", read_geometry=False, use_arrow=True)
    text = report_text(result, picture.name) + _qa_text(issues) + _runs_text(runs)
    _atomic(markdown, lambda path: path.write_text(text, encoding="utf-8"))
    return markdown


def _qa_text(issues: pd.DataFrame) -> str:
    if issues.empty:
        return "\n## Quality issues\n\nnone\n"
    table = issues.groupby(["check", "severity"]).size().sort_values(ascending=False)
    rows = [f"| {check} | {severity} | {count} |" for (check, severity), count in table.items()]
    return "\n".join(["", "## Quality issues (qa_issues layer)", "", "| check | severity | features |",
                      "|---|---|---:|", *rows, ""])


def _runs_text(runs: pd.DataFrame, *, last: int = 7) -> str:
    recent = runs.tail(last).iloc[::-1]
    rows = []
    for run, started, status, counts in zip(recent["run_id"], pd.to_datetime(recent["started_at"], utc=True),
                                            recent["status"], recent["counts"], strict=True):
        record = json_object(counts)
        statuses = record.get("stages", {})
        same = set(statuses.values())
        stages = f"all {same.pop()}" if len(same) == 1 else ", ".join(f"{k} {v}" for k, v in statuses.items()) or "–"
        changes = summary_line(record["changes"]) if isinstance(record.get("changes"), dict) else "–"
        rows.append(f"| `{run}` | {started:%Y-%m-%d %H:%M} | {status} | {stages} | {changes.removeprefix('changes: ')} |")
    return "\n".join(["", f"## Recent runs (of {len(runs)})", "", "| run | started (UTC) | status | stages | changes |",
                      "|---|---|---|---|---|", *rows, ""])




def report_text(result: RunResult, picture: str) -> str:
    """The Markdown text of the report (run, stages, changes, counts, map)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"# Run report: {result.output.name}",
        "",
        f"- run: `{result.run_id}`, finished {now}, took {result.duration_s:.1f} s",
        f"- output: `{result.output}`",
        f"- {result.summary}",
        "",
        "## Stages",
        "",
        "| stage | status |",
        "|---|---|",
        *(f"| {name} | {status} |" for name, status in result.stages.items()),
        "",
        "## Changes since the previous run",
        "",
        "| layer | added | removed | modified |",
        "|---|---:|---:|---:|",
        *(f"| {layer} | {c['added']} | {c['removed']} | {c['modified']} |" for layer, c in result.changes.items()),
        "",
        "## Features per layer",
        "",
        "| layer | features |",
        "|---|---:|",
        *(f"| {layer} | {count} |" for layer, count in result.counts.items()),
        "",
        f"![Overview map]({picture})",
        "",
    ]
    return "\n".join(lines)


def overview_map(layers: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Draw buildings by fibre status, fibre routes and panoramas into a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    figure, axes = plt.subplots(figsize=(9, 9), dpi=100)
    try:
        buildings = layers.get("buildings")
        if isinstance(buildings, gpd.GeoDataFrame) and len(buildings):
            colours = buildings["fibre_status"].map(_STATUS_COLOURS).fillna("#bdbdbd").to_numpy()
            if len(buildings) > MAX_POLYGONS:
                every = max(1, len(buildings) // MAX_POINTS)
                bounds = shapely.bounds(buildings.geometry.to_numpy()[::every])
                axes.scatter((bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2, s=0.5,
                             c=colours[::every], linewidths=0)
            else:
                buildings.plot(ax=axes, color=colours, linewidth=0)
        routes = layers.get("fibre_routes")
        if isinstance(routes, gpd.GeoDataFrame) and len(routes):
            routes.plot(ax=axes, color="#2166ac", linewidth=1.2)
        panoramas = layers.get("panoramas")
        if isinstance(panoramas, gpd.GeoDataFrame) and len(panoramas):
            xy = shapely.get_coordinates(panoramas.geometry.to_numpy())
            axes.scatter(xy[:, 0], xy[:, 1], s=3, c="#762a83", linewidths=0, zorder=3)
        changes = layers.get("changes")
        if isinstance(changes, gpd.GeoDataFrame) and len(changes):
            xy = shapely.get_coordinates(shapely.point_on_surface(changes.geometry.dropna().to_numpy()))
            axes.scatter(xy[:, 0], xy[:, 1], s=40, facecolors="none", edgecolors="#d73027", linewidths=1.2, zorder=4)
        handles = [Patch(color=c, label=f"building: {s}") for s, c in _STATUS_COLOURS.items()]
        handles += [Patch(color="#2166ac", label="fibre route"), Patch(color="#762a83", label="panorama"),
                    Patch(edgecolor="#d73027", facecolor="none", label="changed since last run")]
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        axes.set_aspect("equal")
        crs = buildings.crs if isinstance(buildings, gpd.GeoDataFrame) else None
        axes.set_title(f"City model overview ({crs.to_string() if crs is not None else 'no CRS'})")
        axes.tick_params(labelsize=7)
        axes.ticklabel_format(useOffset=False, style="plain")
        figure.savefig(path, format="png", bbox_inches="tight")
    finally:
        plt.close(figure)


def _read_map_layers(target: Path) -> dict[str, pd.DataFrame]:
    return {name: pyogrio.read_dataframe(target, layer=name, use_arrow=True)
            for name in ("buildings", "fibre_routes", "panoramas")}


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
