"""Maps of the model that a reader can take in at a glance: sized from the data, equal aspect, a scale bar, and a
legend in the model's language wherever colour means something.

A map is drawn in the model's CRS (metres), so one unit on either axis is one metre and the scale bar is exact
in every direction. Codes (``in_service``, ``hub``, ``planned``) appear in legends by the model's value labels
(:mod:`twin.model.value_labels`), in German or English as ``[output] language`` published them.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import geopandas as gpd
>>> from shapely import LineString
>>> routes = gpd.GeoDataFrame({"status": ["built", "planned"]},
...                           geometry=[LineString([(0, 0), (800, 0)]), LineString([(800, 0), (800, 300)])],
...                           crs="EPSG:25832")
>>> ax = CityMap(routes, title="Trassen").coded(routes, "status", layer="fibre_routes").finish()
>>> [text.get_text() for text in ax.get_legend().get_texts()]
['geplant', 'gebaut']
>>> ax.get_aspect()
1.0
>>> plt.close(ax.figure)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import CRS

from twin.errors import ArgumentError
from twin.model.layers import LAYERS, in_language, text

__all__ = ["CityMap", "building_names", "code_labels", "figure_size"]

#: The longer side of a map's figure (inches).
MAP_SIDE_IN = 9.0
#: The shorter side is never below this (inches): a long, narrow area gives a wide map, not a thin strip.
MIN_SIDE_IN = 5.0
#: Room around the data, as a share of its larger side.
MARGIN_SHARE = 0.04
#: Colours of coded fields, so that a status looks the same on every map (others take matplotlib's cycle).
COLOURS: dict[tuple[str, str], dict[str, str]] = {
    ("buildings", "fibre_status"): {"connected": "#1a9850", "reachable": "#fdae61", "planned": "#fee08b",
                                    "none": "#bdbdbd"},
    ("fibre_routes", "status"): {"in_service": "tab:green", "built": "tab:blue", "planned": "tab:orange"},
    ("qa_issues", "severity"): {"error": "tab:red", "warning": "tab:orange", "info": "tab:blue"},
}
_NO_VALUE_COLOUR = "0.6"


def figure_size(bounds: tuple[float, float, float, float] | np.ndarray, *, side_in: float = MAP_SIDE_IN,
                min_side_in: float = MIN_SIDE_IN) -> tuple[float, float]:
    """Width and height (inches) of a map of `bounds` (``xmin, ymin, xmax, ymax`` in metres).

    The longer side of the data gets `side_in`; the other side follows the data's proportions but not below
    `min_side_in`, so no map becomes a strip (the map then shows more around the data).

    >>> figure_size((0, 0, 2000, 1000))
    (9.0, 5.0)
    >>> figure_size((0, 0, 500, 50))
    (9.0, 5.0)
    >>> figure_size((0, 0, 1000, 1500))
    (6.0, 9.0)
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    width, height = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    if width >= height:
        return side_in, round(max(min_side_in, side_in * height / width), 2)
    return round(max(min_side_in, side_in * width / height), 2), side_in


def code_labels(layer: str, column: str, language: str = "de") -> dict[str, str]:
    """Code -> the short label a legend shows, for the coded field `column` of `layer`.

    Use it to rename codes in tables and charts (``frame.rename(index=code_labels(...))``).

    >>> code_labels("fibre_nodes", "kind")
    {'hub': 'Zentrale', 'distribution': 'Verteilerpunkt', 'site': 'angeschlossener Standort'}
    """
    spec = _field(layer, column)
    return {code: spec.legend_label(code, language) for code in spec.values}


def building_names(buildings: pd.DataFrame, language: str = "de") -> pd.Series:
    """What to call each building in a title: its address, else its function, else its id (on the input's index).

    >>> frame = pd.DataFrame({"building_id": ["DERP1", "DERP2", "DERP3"], "street": ["Marktstraße", None, None],
    ...                       "house_number": ["7a", None, None], "function_label": ["Rathaus", "Schule", None],
    ...                       "function_label_en": ["town hall", "school", None]})
    >>> building_names(frame).tolist()
    ['Marktstraße 7a', 'Schule', 'DERP3']
    """
    street = _text(buildings, "street")
    address = (street + " " + _text(buildings, "house_number")).str.strip()
    function = _text(buildings, "function_label_en" if in_language(("de", "en"), language) == "en" else "function_label")
    names = address.where(street != "", function.where(function != "", _text(buildings, "building_id")))
    return names.rename("name")


class CityMap:
    """A map of the model in its CRS: layers drawn one on the other, then a legend, a scale bar and a title.

    Parameters
    ----------
    extent
        The frame whose extent the map shows; its CRS must be projected, in metres.
    title
        The map's title (name places by their names, not their ids).
    language
        ``de`` or ``en``: that of the legend's code labels (``model.language``).
    ax
        Axes to draw into; by default a new figure sized from the extent (:func:`figure_size`).
    """

    def __init__(self, extent: gpd.GeoDataFrame | gpd.GeoSeries, *, title: str, language: str = "de",
                 ax: Any = None) -> None:
        _check_metres(extent)
        self.language = in_language(("de", "en"), language)
        bounds = np.asarray(extent.total_bounds, dtype="float64")
        if not np.isfinite(bounds).all():
            raise ArgumentError("map", "the frame that sets the map's extent has no geometry",
                                fix="give a frame with at least one feature")
        xmin, ymin, xmax, ymax = _framed(bounds)
        self._size = figure_size((xmin, ymin, xmax, ymax))
        self._own = ax is None
        if ax is None:
            ax = plt.figure(figsize=self._size, layout="constrained").add_subplot()
        self.ax = ax
        self.handles: list[Artist] = []
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.set_axis_off()

    def add(self, frame: gpd.GeoDataFrame | gpd.GeoSeries, *, label: str | None = None, **style: Any) -> CityMap:
        """Draw `frame` in one style (geopandas ``plot`` keywords); with `label` it gets a legend entry."""
        if len(frame) and frame.geometry.notna().any():
            frame.plot(ax=self.ax, **style)
            if label is not None:
                self.handles.append(_handle(frame, label, style))
        return self

    def coded(self, frame: gpd.GeoDataFrame, column: str, *, layer: str, colours: Mapping[str, str] | None = None,
              styles: Mapping[str, Mapping[str, Any]] | None = None, **style: Any) -> CityMap:
        """Draw `frame` coloured by the coded field `column` of `layer`, each code in the legend by its label.

        `colours` and `styles` (code -> plot keywords, e.g. a marker per node kind) override the defaults;
        features without a value are drawn grey as "ohne Angabe" / "not given". A field without a code list
        (``capture_date``) shows each of its values under its own name.
        """
        labels = code_labels(layer, column, self.language)
        colours = {**COLOURS.get((layer, column), {}), **(colours or {})}
        cycle = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"])
        values = frame[column].astype("object")
        for code in [*labels, *sorted(set(values.dropna().astype("str")) - set(labels))]:
            part = frame.loc[(values == code).to_numpy()]
            colour = colours.get(code) or next(cycle)
            self.add(part, label=labels.get(code, code), **{"color": colour, **style, **(styles or {}).get(code, {})})
        return self.add(frame.loc[values.isna().to_numpy()], label=text("legend_no_value", self.language),
                        **{**style, "color": _NO_VALUE_COLOUR})

    def values(self, frame: gpd.GeoDataFrame, column: str, *, layer: str | None = None, label: str | None = None,
               cmap: str = "viridis", missing: str | None = None, vmin: float | None = None,
               vmax: float | None = None, **style: Any) -> CityMap:
        """Draw `frame` coloured by the numbers in `column`, with a colour bar.

        The colour bar is titled `label`, by default the title and unit of the field `column` of `layer` (one of
        the two must be given). Features without a value are drawn grey and get the legend entry `missing`
        (default "ohne Angabe").
        """
        if label is None:
            if layer is None:
                raise ArgumentError("map", f"no title for the colour bar of {column!r}",
                                    fix="give layer= (the field's title is used) or label=")
            spec = _field(layer, column)
            unit = {"m2": "m²"}.get(spec.unit, spec.unit)
            label = spec.title_in(self.language) + (f" ({unit})" if unit else "")
        number = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        known = frame.loc[number.notna().to_numpy()]
        if len(known):
            known.plot(ax=self.ax, column=column, cmap=cmap, vmin=vmin, vmax=vmax, legend=True,
                       legend_kwds={"label": label, "shrink": 0.6}, **style)
        return self.add(frame.loc[number.isna().to_numpy()], label=missing or text("legend_no_value", self.language),
                        **{**style, "color": _NO_VALUE_COLOUR})

    def finish(self, *, legend_title: str | None = None) -> Any:
        """Add the legend (beside the map) and the scale bar; return the axes.

        A figure the map made itself grows by the room that the title, legend and colour bar take, so the map keeps
        the size :func:`figure_size` gave it.
        """
        if self.handles:
            self.ax.legend(handles=self.handles, title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                           fontsize=9, frameon=False)
        self.ax.add_artist(ScaleBar(1.0, units="m", dimension="si-length", location="lower left", box_alpha=0.7,
                                    length_fraction=0.25))
        if self._own:
            figure = self.ax.figure
            figure.draw_without_rendering()
            box = self.ax.get_window_extent()
            width, height = figure.get_size_inches()
            figure.set_size_inches(width + max(0.0, self._size[0] - box.width / figure.dpi),
                                   height + max(0.0, self._size[1] - box.height / figure.dpi))
        return self.ax


def _framed(bounds: np.ndarray, *, side_in: float = MAP_SIDE_IN, min_side_in: float = MIN_SIDE_IN) -> np.ndarray:
    """`bounds` with a margin, widened on the short side where the data is narrower than a map may be.

    >>> _framed(np.array([0.0, 0.0, 1000.0, 10.0])).round(1).tolist()
    [-40.0, -295.0, 1040.0, 305.0]
    """
    xmin, ymin, xmax, ymax = bounds
    margin = MARGIN_SHARE * max(xmax - xmin, ymax - ymin, 50.0)
    xmin, ymin, xmax, ymax = xmin - margin, ymin - margin, xmax + margin, ymax + margin
    width, height = xmax - xmin, ymax - ymin
    narrowest = min_side_in / side_in
    grow_x, grow_y = max(0.0, narrowest * height - width) / 2, max(0.0, narrowest * width - height) / 2
    return np.array([xmin - grow_x, ymin - grow_y, xmax + grow_x, ymax + grow_y])


def _field(layer: str, column: str) -> Any:
    if layer not in LAYERS:
        raise ArgumentError("map", f"no layer {layer!r}", fix=f"layers are {', '.join(LAYERS)}")
    try:
        spec = LAYERS[layer].field(column)
    except KeyError:
        raise ArgumentError("map", f"layer {layer} has no field {column!r}",
                            fix=f"its fields are {', '.join(LAYERS[layer].columns)}") from None
    return spec


def _check_metres(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> None:
    """A map's scale bar counts one unit as one metre: refuse a frame without a projected CRS in metres."""
    crs = None if frame.crs is None else CRS.from_user_input(frame.crs)
    if crs is None or not crs.is_projected or crs.axis_info[0].unit_name not in {"metre", "meter"}:
        raise ArgumentError("map", f"the frame's CRS is {crs.to_string() if crs else 'not set'}, not projected in "
                                   "metres", fix="draw the model's layers (its CRS) or reproject with to_crs")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="object")
    return frame[column].astype("object").where(frame[column].notna(), "").astype("str").str.strip()


def _handle(frame: gpd.GeoDataFrame | gpd.GeoSeries, label: str, style: Mapping[str, Any]) -> Artist:
    """A legend entry that looks like the features: a patch for areas, a line for lines, a marker for points."""
    kind = str(frame.geometry.dropna().geom_type.iloc[0])
    colour = style.get("color", style.get("facecolor", "C0"))
    alpha = style.get("alpha")
    if "Polygon" in kind:
        return Patch(facecolor=colour, edgecolor=style.get("edgecolor", colour), alpha=alpha, label=label)
    if "LineString" in kind:
        return Line2D([], [], color=colour, linewidth=style.get("linewidth", 1.5), alpha=alpha, label=label)
    size = float(np.sqrt(style.get("markersize", 20)))
    return Line2D([], [], color=colour, marker=style.get("marker", "o"), markersize=size, linestyle="none",
                  alpha=alpha, label=label)
