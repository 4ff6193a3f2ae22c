"""The layers of a built city model, read lazily from its GeoPackage (or held in memory for a subset)."""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from twin.api.history import history as history_of
from twin.api.layers import Frame, published_language, typed_layer
from twin.errors import LayerError, NotFoundError, SourceError
from twin.model import LAYERS, empty_frame

__all__ = ["ModelLayers"]


class ModelLayers:
    """Every layer of a model as an attribute, typed as in :mod:`twin.model` and read once.

    Parameters
    ----------
    path
        The GeoPackage.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise SourceError(str(path), "no such file", fix="build it with `twin run` or check the path")
        try:
            with warnings.catch_warnings():  # GDAL warns before it fails on a damaged file
                warnings.simplefilter("ignore", RuntimeWarning)
                found = {str(name): str(kind) for name, kind in pyogrio.list_layers(path)}
        except pyogrio.errors.DataSourceError as exc:
            raise SourceError(path.name, "not a GeoPackage or damaged",
                              fix="rebuild it with `twin run`") from exc
        self.layer_names = [name for name in LAYERS if name in found]
        if not self.layer_names:
            raise LayerError(path.name, "has none of the city model's layers",
                             fix="open a GeoPackage written by `twin run`")
        self._tables = set(found)
        self._cache: dict[str, Frame] = {}
        self._counts: dict[str, int] | None = None
        self._crs: str | None = None
        self._in_memory = False
        self.area: object = None

    def _adopt(self, source: ModelLayers, frames: Mapping[str, Frame], area: object) -> None:
        """Become a view of `source` holding `frames` in memory (see :func:`twin.api.subset.subset`)."""
        self.path, self.layer_names = source.path, list(source.layer_names)
        self._tables = set(frames) | set(source.layer_names)
        self._cache = dict(frames)
        self._counts = {name: len(frame) for name, frame in frames.items() if name in self.layer_names}
        self._crs, self._in_memory, self.area = source.crs, True, area

    def layer(self, name: str) -> Frame:
        """The layer called `name`, typed as declared in :mod:`twin.model` (read on first use).

        A layer the file does not have is returned empty, with its columns.
        """
        if name not in LAYERS:
            raise NotFoundError(self.path.name, f"no layer {name!r}", fix=f"layers are {', '.join(LAYERS)}")
        if name not in self._cache:
            spec = LAYERS[name]
            if name in self.layer_names and not self._in_memory:
                raw = pyogrio.read_dataframe(self.path, layer=name, use_arrow=True)
            else:
                raw = empty_frame(spec, self.crs)
            self._cache[name] = typed_layer(raw, spec)
        return self._cache[name]

    @property
    def buildings(self) -> gpd.GeoDataFrame:
        """Building footprints (LoD1): function, height, fibre status, panoramas."""
        return self.layer("buildings")

    @property
    def panoramas(self) -> gpd.GeoDataFrame:
        """One point per panorama image."""
        return self.layer("panoramas")

    @property
    def panorama_views(self) -> pd.DataFrame:
        """Which panorama sees which building: distance and grid bearing from the panorama."""
        return self.layer("panorama_views")

    @property
    def capture_tracks(self) -> gpd.GeoDataFrame:
        """One line per drive sequence."""
        return self.layer("capture_tracks")

    @property
    def capture_coverage(self) -> gpd.GeoDataFrame:
        """Street space seen by the capture, per day."""
        return self.layer("capture_coverage")

    @property
    def street_coverage(self) -> gpd.GeoDataFrame:
        """Covered share and last capture per street segment."""
        return self.layer("street_coverage")

    @property
    def fibre_routes(self) -> gpd.GeoDataFrame:
        """RAINBOW route segments."""
        return self.layer("fibre_routes")

    @property
    def fibre_nodes(self) -> gpd.GeoDataFrame:
        """Hub, distribution points and connected sites."""
        return self.layer("fibre_nodes")

    @property
    def fibre_connections(self) -> gpd.GeoDataFrame:
        """Drops from site nodes to the buildings they serve."""
        return self.layer("fibre_connections")

    @property
    def qa_issues(self) -> gpd.GeoDataFrame:
        """Every repair, drop and topology problem of the run."""
        return self.layer("qa_issues")

    @property
    def changes(self) -> gpd.GeoDataFrame:
        """What changed since the previous run."""
        return self.layer("changes")

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run, in the order they ran."""
        return self.layer("runs")

    history = history_of  # every change since a time, of a layer or feature (numpydoc in twin.api.history)

    @property
    def counts(self) -> dict[str, int]:
        """Features per layer, read from the file's metadata without loading the layers."""
        if self._counts is None:
            self._counts = {name: int(pyogrio.read_info(self.path, layer=name)["features"])
                            for name in self.layer_names}
        return self._counts

    @property
    def crs(self) -> str | None:
        """The CRS of the spatial layers (``'EPSG:25832'``)."""
        if self._crs is None:
            spatial = [n for n in self.layer_names if LAYERS[n].geometry_type is not None]
            if not spatial:
                return None
            crs = pyogrio.read_info(self.path, layer=spatial[0])["crs"]
            self._crs = None if crs is None else str(crs)
        return self._crs

    @property
    def language(self) -> str:
        """The language of the model's titles and legends (``de`` or ``en``, its run's ``[output] language``)."""
        return published_language(self.path)

    @property
    def last_run(self) -> pd.Series | None:
        """The most recent run (``run_id``, ``started_at``, ``status``, ...), or None."""
        runs = self.runs
        if runs.empty:
            return None
        return runs.sort_values("started_at", na_position="first").iloc[-1]

    def schema(self, name: str) -> pd.DataFrame:
        """Field name, type, unit, title and description of every field of layer `name`.

        Examples
        --------
        >>> import twin
        >>> from twin.api import sample_model_path
        >>> twin.open_model(sample_model_path()).schema("buildings").loc["height_m", "unit"]
        'm'
        """
        spec = LAYERS[name]
        return pd.DataFrame(
            [(f.name, f.dtype, f.unit, f.title, f.description, ", ".join(f.values)) for f in spec.fields],
            columns=["field", "dtype", "unit", "title", "description", "values"],
        ).set_index("field")

    # -- notebook display ------------------------------------------------------------------------------------------

    def _run_text(self) -> str:
        last = self.last_run
        if last is None:
            return "no run recorded"
        started = last["started_at"]
        when = started.strftime("%Y-%m-%d %H:%M UTC") if pd.notna(started) else "unknown time"
        return f"last run {last['run_id']} ({last['status']}) at {when}"

    def _name(self) -> str:
        return f"{self.path.name} (subset)" if self._in_memory else self.path.name

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items() if name != "runs")
        return f"<CityModel {self._name()}: {self.crs}, {self._run_text()}; {counts}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{name}</code></td><td>{html.escape(LAYERS[name].title)}</td>"
            f"<td>{LAYERS[name].geometry_type or '–'}</td><td style='text-align:right'>{count:,}</td></tr>"
            for name, count in self.counts.items()
        )
        subset = " (subset)" if self._in_memory else ""
        return (
            f"<div><b>City model</b> <code>{html.escape(str(self.path))}</code>{subset}<br>"
            f"CRS {html.escape(str(self.crs))} · {html.escape(self._run_text())}"
            "<table><thead><tr><th>layer</th><th>Titel</th><th>geometry</th><th>features</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )
