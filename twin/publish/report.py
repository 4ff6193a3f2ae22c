"""The run report beside the output: ``<stem>.report.md`` and an overview map ``<stem>.report.png``.

Operations read it in the morning (or a monitoring job links it): when the
run finished, which stages ran or were reused, what changed, how many
features each layer has, and a map of buildings by fibre status with the
fibre routes and the panorama positions. Both files are written to a
temporary name and renamed, so a reader never sees half a report. The text
is German or English (``[output] language``); layer names, stage states and
check codes are the model's own words and stay as they are.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from twin.model.frames import json_object
from twin.model.layers import LAYERS, in_language
from twin.model.runs import RunResult

__all__ = ["report_paths", "write_report"]

#: Above this many buildings the map draws one dot per building instead of the footprint.
MAX_POLYGONS = 20_000
#: Above this many buildings the map shows a regular subsample of them, as points.
MAX_POINTS = 200_000
_STATUS_COLOURS = {"connected": "#1a9850", "reachable": "#fdae61", "planned": "#fee08b", "none": "#bdbdbd"}

#: The report's words, German and English.
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Laufbericht", "Run report"),
    "run": ("Lauf `{run}`, beendet {now}, Dauer {seconds:.1f} s", "run: `{run}`, finished {now}, took {seconds:.1f} s"),
    "output": ("Ausgabe", "output"),
    "run_column": ("Lauf", "run"),
    "stage_column": ("Stufen", "stages"),
    "changes": ("Änderungen", "changes"),
    "no_previous": ("kein voriges Modell zum Vergleich", "no previous model to compare with"),
    "none": ("keine", "none"),
    "stages": ("Stufen", "Stages"),
    "stage": ("Stufe", "stage"),
    "status": ("Status", "status"),
    "since": ("Änderungen seit dem vorigen Lauf", "Changes since the previous run"),
    "layer": ("Ebene", "layer"),
    "added": ("neu", "added"),
    "removed": ("entfernt", "removed"),
    "modified": ("geändert", "modified"),
    "per_layer": ("Objekte je Ebene", "Features per layer"),
    "features": ("Objekte", "features"),
    "map": ("Übersichtskarte", "Overview map"),
    "qa": ("Qualitätsprobleme", "Quality issues"),
    "qa_layer": ("Qualitätsprobleme (Ebene qa_issues)", "Quality issues (qa_issues layer)"),
    "check": ("Prüfung", "check"),
    "severity": ("Schwere", "severity"),
    "recent": ("Letzte Läufe (von {count})", "Recent runs (of {count})"),
    "started": ("Beginn (UTC)", "started (UTC)"),
    "all": ("alle {status}", "all {status}"),
    "building": ("Gebäude", "building"),
    "route": ("Glasfasertrasse", "fibre route"),
    "panorama": ("Panorama", "panorama"),
    "changed": ("seit dem vorigen Lauf geändert", "changed since last run"),
    "overview": ("Übersicht des Stadtmodells", "City model overview"),
    "built": ("gebaut", "built"),
    "reused": ("übernommen", "reused"),
    "unchanged": ("unverändert", "unchanged"),
    "no_crs": ("ohne Koordinatensystem", "no CRS"),
}


def _word(key: str, language: str, **values: object) -> str:
    return in_language(_WORDS[key], language).format(**values)


def _stage_status(status: str, language: str) -> str:
    """A stage's state (built, reused, unchanged) in `language`; an unknown one as it is."""
    return _word(status, language) if status in {"built", "reused", "unchanged"} else status


def _change_line(result: RunResult, language: str) -> str:
    """``changes: buildings +3 −1 ~2`` (``Änderungen: ...``) for the report."""
    if result.first:
        return f"{_word('changes', language)}: {_word('no_previous', language)}"
    return f"{_word('changes', language)}: {_changes_of(result.changes, language)}"


def _changes_of(summary: Mapping[str, Mapping[str, int]], language: str) -> str:
    parts = [f"{layer} +{c['added']} −{c['removed']} ~{c['modified']}" for layer, c in summary.items() if any(c.values())]
    return ", ".join(parts) if parts else _word("none", language)


def report_paths(target: Path) -> tuple[Path, Path]:
    """The Markdown report and the map of the output `target`."""
    return target.with_name(f"{target.stem}.report.md"), target.with_name(f"{target.stem}.report.png")


def write_report(result: RunResult, *, layers: Mapping[str, pd.DataFrame] | None = None,
                 draw_map: bool = True, language: str = "de") -> Path:
    """Write the report of `result`; with `draw_map`, the map from `layers`, else (when missing) from the published file.

    Without `draw_map` a map left by an earlier run is removed, so the folder never shows an old one.
    `language` (``de`` or ``en``) is that of the text and the map's legend. Returns the path of the
    Markdown file.
    """
    markdown, picture = report_paths(result.output)
    if not draw_map:
        picture.unlink(missing_ok=True)
    elif layers is not None or not picture.exists():
        _atomic(picture, lambda path: overview_map(layers or _read_map_layers(result.output), path, language=language))
    issues = (layers or {}).get("qa_issues")
    if issues is None:
        issues = pyogrio.read_dataframe(result.output, layer="qa_issues", columns=["check", "severity"],
                                        read_geometry=False, use_arrow=True)
    runs = pyogrio.read_dataframe(result.output, layer="runs", read_geometry=False, use_arrow=True)
    text = (report_text(result, picture.name if draw_map else None, language=language)
            + _qa_text(issues, language) + _runs_text(runs, language))
    _atomic(markdown, lambda path: path.write_text(text, encoding="utf-8"))
    return markdown


def _qa_text(issues: pd.DataFrame, language: str) -> str:
    if issues.empty:
        return f"\n## {_word('qa', language)}\n\n{_word('none', language)}\n"
    table = issues.groupby(["check", "severity"]).size().sort_values(ascending=False)
    rows = [f"| {check} | {severity} | {count} |" for (check, severity), count in table.items()]
    header = f"| {_word('check', language)} | {_word('severity', language)} | {_word('features', language)} |"
    return "\n".join(["", f"## {_word('qa_layer', language)}", "", header, "|---|---|---:|", *rows, ""])


def _runs_text(runs: pd.DataFrame, language: str, *, last: int = 7) -> str:
    recent = runs.tail(last).iloc[::-1]
    rows = []
    for run, started, status, counts in zip(recent["run_id"], pd.to_datetime(recent["started_at"], utc=True),
                                            recent["status"], recent["counts"], strict=True):
        record = json_object(counts)
        statuses = record.get("stages", {})
        same = set(statuses.values())
        stages = _word("all", language, status=_stage_status(same.pop(), language)) if len(same) == 1 else \
            ", ".join(f"{k} {_stage_status(v, language)}" for k, v in statuses.items()) or "–"
        changes = _changes_of(record["changes"], language) if isinstance(record.get("changes"), dict) else "–"
        rows.append(f"| `{run}` | {started:%Y-%m-%d %H:%M} | {status} | {stages} | {changes} |")
    header = (f"| {_word('run_column', language)} | {_word('started', language)} | {_word('status', language)} | "
              f"{_word('stage_column', language)} | {_word('changes', language)} |")
    return "\n".join(["", f"## {_word('recent', language, count=len(runs))}", "", header,
                      "|---|---|---|---|---|", *rows, ""])


def report_text(result: RunResult, picture: str | None, *, language: str = "de") -> str:
    """The Markdown text of the report (run, stages, changes, counts, and the map when `picture` names one)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    layer, features = _word("layer", language), _word("features", language)
    lines = [
        f"# {_word('title', language)}: {result.output.name}",
        "",
        f"- {_word('run', language, run=result.run_id, now=now, seconds=result.duration_s)}",
        f"- {_word('output', language)}: `{result.output}`",
        f"- {_change_line(result, language)}",
        "",
        f"## {_word('stages', language)}",
        "",
        f"| {_word('stage', language)} | {_word('status', language)} |",
        "|---|---|",
        *(f"| {name} | {_stage_status(status, language)} |" for name, status in result.stages.items()),
        "",
        f"## {_word('since', language)}",
        "",
        f"| {layer} | {_word('added', language)} | {_word('removed', language)} | {_word('modified', language)} |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {c['added']} | {c['removed']} | {c['modified']} |" for name, c in result.changes.items()),
        "",
        f"## {_word('per_layer', language)}",
        "",
        f"| {layer} | {features} |",
        "|---|---:|",
        *(f"| {name} | {count} |" for name, count in result.counts.items()),
        "",
    ]
    if picture is not None:
        lines += [f"![{_word('map', language)}]({picture})", ""]
    return "\n".join(lines)


def overview_map(layers: Mapping[str, pd.DataFrame], path: Path, *, language: str = "de") -> None:
    """Draw buildings by fibre status, fibre routes and panoramas into a PNG at `path`.

    Drawn with matplotlib's object API and one collection per layer, so the cost stays near one
    second whatever the number of buildings (above :data:`MAX_POLYGONS` they are drawn as dots,
    above :data:`MAX_POINTS` a regular subsample of them).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    figure = Figure(figsize=(9, 9), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    buildings = layers.get("buildings")
    if isinstance(buildings, gpd.GeoDataFrame) and len(buildings):
        colours = buildings["fibre_status"].map(_STATUS_COLOURS).fillna("#bdbdbd").to_numpy()
        geometries = buildings.geometry.to_numpy()
        if len(buildings) > MAX_POLYGONS:
            every = max(1, len(buildings) // MAX_POINTS)
            bounds = shapely.bounds(geometries[::every])
            axes.scatter((bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2, s=0.5,
                         c=colours[::every], linewidths=0)
        else:
            rings, owner = _parts(geometries, exterior=True)
            axes.add_collection(PolyCollection(rings, facecolors=colours[owner], linewidths=0))
    routes = layers.get("fibre_routes")
    if isinstance(routes, gpd.GeoDataFrame) and len(routes):
        lines, _ = _parts(routes.geometry.dropna().to_numpy(), exterior=False)
        axes.add_collection(LineCollection(lines, colors="#2166ac", linewidths=1.2, zorder=2))
    panoramas = layers.get("panoramas")
    if isinstance(panoramas, gpd.GeoDataFrame) and len(panoramas):
        xy = shapely.get_coordinates(panoramas.geometry.to_numpy())
        axes.scatter(xy[:, 0], xy[:, 1], s=3, c="#762a83", linewidths=0, zorder=3)
    changes = layers.get("changes")
    if isinstance(changes, gpd.GeoDataFrame) and len(changes):
        xy = shapely.get_coordinates(shapely.point_on_surface(changes.geometry.dropna().to_numpy()))
        axes.scatter(xy[:, 0], xy[:, 1], s=40, facecolors="none", edgecolors="#d73027", linewidths=1.2, zorder=4)
    status = LAYERS["buildings"].field("fibre_status")
    handles = [Patch(color=c, label=f"{_word('building', language)}: {status.legend_label(s, language)}")
               for s, c in _STATUS_COLOURS.items()]
    handles += [Patch(color="#2166ac", label=_word("route", language)),
                Patch(color="#762a83", label=_word("panorama", language)),
                Patch(edgecolor="#d73027", facecolor="none", label=_word("changed", language))]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes.autoscale_view()
    axes.set_aspect("equal")
    crs = buildings.crs if isinstance(buildings, gpd.GeoDataFrame) else None
    axes.set_title(f"{_word('overview', language)} ({crs.to_string() if crs is not None else _word('no_crs', language)})")
    axes.tick_params(labelsize=7)
    axes.ticklabel_format(useOffset=False, style="plain")
    figure.savefig(path, format="png", bbox_inches="tight")


def _parts(geometries: np.ndarray, *, exterior: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """Coordinate arrays of the single parts of `geometries` (their exterior rings) and the row of each."""
    single, owner = shapely.get_parts(geometries, return_index=True)
    shapes = shapely.get_exterior_ring(single) if exterior else single
    coordinates, index = shapely.get_coordinates(shapes, return_index=True)
    cuts = np.flatnonzero(np.diff(index)) + 1
    return np.split(coordinates, cuts), owner[np.unique(index)]


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
