"""A built city model: its layers, typed as declared in :mod:`twin.model`, and the city's questions as methods."""

from __future__ import annotations

import datetime as dt
import html
import os
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from twin.api import summaries
from twin.api.layers import Frame, published_language, typed_layer
from twin.api.summaries import CAPTURE_GAP_M
from twin.errors import ArgumentError, LayerError, NotFoundError, SourceError
from twin.model import LAYERS, empty_frame
from twin.transforms.routing import SNAP_TOLERANCE_M, NetworkPath, RouteNetwork

__all__ = ["CityModel", "open_model"]

#: ALKIS building functions 3000-3999 are "Gebäude für öffentliche Zwecke".
PUBLIC_FUNCTION_PREFIX = "3"
#: Buildings this close to a route count as within reach of the network (m).
REACH_DISTANCE_M = 50.0



def open_model(path: str | os.PathLike[str]) -> CityModel:
    """Open the city model GeoPackage at `path`; layers are read when first used.

    Parameters
    ----------
    path
        A GeoPackage written by ``twin run``.

    Returns
    -------
    CityModel
        Every layer as an attribute (``model.buildings``), typed as in
        :mod:`twin.model`, and the analysis helpers.

    Raises
    ------
    twin.errors.SourceError
        When the file is missing or is not a GeoPackage.
    twin.errors.LayerError
        When the file has none of the model's layers.

    Examples
    --------
    >>> import twin
    >>> from twin.api import sample_model_path
    >>> model = twin.open_model(sample_model_path())
    >>> model.counts["buildings"] > 0
    True
    >>> twin.open_model("missing.gpkg")
    Traceback (most recent call last):
    ...
    twin.errors.SourceError: missing.gpkg: no such file; build it with `twin run` or check the path
    """
    return CityModel(Path(path))


class CityModel:
    """A built city model: its layers (read lazily, cached) and analysis helpers.

    Every layer is an attribute (``buildings``, ``panoramas``, ``fibre_routes``,
    ...) holding a GeoDataFrame (``runs``: a DataFrame) with the dtypes of
    :mod:`twin.model`: timestamps are timezone-aware UTC, integers are
    nullable, coded fields (``fibre_status``, ``kind``, ``status``, ...) are
    categoricals with the declared categories. Each layer is read once; the
    same frame is returned on every access, so copy it before changing it.

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
        self._cache: dict[str, Frame] = {}
        self._counts: dict[str, int] | None = None
        self._networks: dict[tuple[tuple[str, ...] | None, float], RouteNetwork] = {}

    # -- layers ---------------------------------------------------------------------------------------------------

    def layer(self, name: str) -> Frame:
        """The layer called `name`, typed as declared in :mod:`twin.model` (read on first use).

        A layer the file does not have is returned empty, with its columns.
        """
        if name not in LAYERS:
            raise NotFoundError(self.path.name, f"no layer {name!r}", fix=f"layers are {', '.join(LAYERS)}")
        if name not in self._cache:
            spec = LAYERS[name]
            if name in self.layer_names:
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
        spatial = [n for n in self.layer_names if LAYERS[n].geometry_type is not None]
        if not spatial:
            return None
        crs = pyogrio.read_info(self.path, layer=spatial[0])["crs"]
        return None if crs is None else str(crs)

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
        >>> from twin.api import sample_model_path
        >>> open_model(sample_model_path()).schema("buildings").loc["height_m", "unit"]
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

    def __repr__(self) -> str:
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items() if name != "runs")
        return f"<CityModel {self.path.name}: {self.crs}, {self._run_text()}; {counts}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{name}</code></td><td>{html.escape(LAYERS[name].title)}</td>"
            f"<td>{LAYERS[name].geometry_type or '–'}</td><td style='text-align:right'>{count:,}</td></tr>"
            for name, count in self.counts.items()
        )
        return (
            f"<div><b>City model</b> <code>{html.escape(str(self.path))}</code><br>"
            f"CRS {html.escape(str(self.crs))} · {html.escape(self._run_text())}"
            "<table><thead><tr><th>layer</th><th>Titel</th><th>geometry</th><th>features</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )

    # -- fibre -----------------------------------------------------------------------------------------------------

    def _routes(self, statuses: tuple[str, ...] | None) -> gpd.GeoDataFrame:
        routes = self.fibre_routes
        if statuses is None:
            return routes
        return routes.loc[routes["status"].isin(statuses)]

    def buildings_near_fibre(self, distance_m: float = REACH_DISTANCE_M, *,
                             statuses: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
        """Buildings within `distance_m` of a fibre route, with ``distance_to_fibre_m``.

        Parameters
        ----------
        distance_m
            Largest distance from the footprint to the nearest route, in metres.
        statuses
            Only routes with these ``status`` values (e.g. ``("built", "in_service")``); all when None.

        Returns
        -------
        geopandas.GeoDataFrame
            Rows of :attr:`buildings` (same index), plus ``distance_to_fibre_m``.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> near = model.buildings_near_fibre(20, statuses=("in_service",))
        >>> bool((near["distance_to_fibre_m"] <= 20).all())
        True
        """
        return summaries.buildings_near_routes(self.buildings, self._routes(statuses), distance_m)

    def connected_building_ids(self) -> set[str]:
        """Ids of buildings served by the network: ``fibre_status`` ``connected``, a site in the building that
        reaches the hub over built or in-service routes (a drop whose way to the hub is only planned is not)."""
        status = self.buildings["fibre_status"]
        return {str(i) for i in self.buildings.loc[(status == "connected").fillna(False), "building_id"].dropna()}

    def public_buildings_within_reach(self, distance_m: float = REACH_DISTANCE_M, *,
                                      statuses: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
        """Public buildings (ALKIS function 3xxx) within `distance_m` of a route but not connected.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> reach = model.public_buildings_within_reach()
        >>> bool(reach["function_code"].str.startswith("3").all())
        True
        """
        near = self.buildings_near_fibre(distance_m, statuses=statuses)
        public = near["function_code"].str.startswith(PUBLIC_FUNCTION_PREFIX).fillna(False).astype(bool)
        unconnected = ~near["building_id"].isin(self.connected_building_ids())
        return near.loc[public & unconnected].sort_values("distance_to_fibre_m")

    def route_network(self, *, statuses: tuple[str, ...] | None = None,
                      tolerance_m: float = SNAP_TOLERANCE_M) -> RouteNetwork:
        """The fibre routes as a networkx graph with the nodes on it (see :class:`twin.transforms.routing.RouteNetwork`)."""
        key = (None if statuses is None else tuple(sorted(statuses)), tolerance_m)
        if key not in self._networks:
            self._networks[key] = RouteNetwork(self._routes(statuses), self.fibre_nodes, tolerance_m=tolerance_m)
        return self._networks[key]

    def node_id(self, node_id_or_name: str) -> str:
        """The ``node_id`` of a node given by id or by its unique name.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> model.node_id("Rathaus") == model.fibre_nodes.loc[model.fibre_nodes["kind"] == "hub", "node_id"].iloc[0]
        True
        """
        nodes = self.fibre_nodes
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

    def network_path(self, node_id_or_name: str, *, statuses: tuple[str, ...] | None = None) -> NetworkPath:
        """The shortest way along the fibre routes from the hub to a node.

        Parameters
        ----------
        node_id_or_name
            A ``node_id`` or the unique ``name`` of a node.
        statuses
            Use only routes with these ``status`` values; all when None.

        Returns
        -------
        twin.transforms.routing.NetworkPath
            ``segments`` (route rows in order, with ``distance_from_hub_m``),
            ``line`` (one LineString from the hub) and ``length_m``.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> path = model.network_path("Schule Pariser Straße")
        >>> path.line.geom_type, path.length_m > 0
        ('LineString', True)
        >>> bool(abs(path.segments["length_m"].sum() - path.length_m) < 0.5)
        True
        """
        return self.route_network(statuses=statuses).path(self.node_id(node_id_or_name))

    def network_distances(self, *, statuses: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
        """The fibre nodes with ``network_distance_m`` computed along the routes from the hub.

        NaN where a node is not on the network or not connected to the hub.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> nodes = open_model(sample_model_path()).network_distances()
        >>> float(nodes.loc[nodes["kind"] == "hub", "network_distance_m"].iloc[0])
        0.0
        """
        nodes = self.fibre_nodes.copy()
        nodes["network_distance_m"] = self.route_network(statuses=statuses).distances()
        return nodes

    def route_length_by_status(self) -> pd.DataFrame:
        """Route length in kilometres by ``status`` (rows) and ``kind`` (columns), with totals.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> table = model.route_length_by_status()
        >>> bool(abs(table.loc["total", "total"] - model.fibre_routes.length.sum() / 1000) < 0.01)
        True
        """
        return summaries.route_length_by_status(self.fibre_routes)

    # -- capture ---------------------------------------------------------------------------------------------------

    def buildings_not_captured_since(self, date: str | dt.date | dt.datetime | pd.Timestamp) -> gpd.GeoDataFrame:
        """Buildings whose latest panorama is older than `date`, or that no panorama shows.

        Parameters
        ----------
        date
            A day or moment; without a time zone it is taken as UTC.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> stale = model.buildings_not_captured_since("2023-01-01")
        >>> bool((stale["last_captured_at"].dropna() < "2023-01-01T00:00Z").all())
        True
        """
        moment = pd.Timestamp(date)
        moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
        last = self.buildings["last_captured_at"]
        return self.buildings.loc[(last.isna() | (last < moment)).to_numpy()]

    def capture_timeline(self) -> pd.DataFrame:
        """Per capture day (UTC): panoramas, drives, first and last image, driven km.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> int(model.capture_timeline()["panoramas"].sum()) == len(model.panoramas)
        True
        """
        return summaries.capture_timeline(self.panoramas, self.capture_tracks)

    def capture_gaps(self, min_gap_m: float = CAPTURE_GAP_M) -> gpd.GeoDataFrame:
        """Lines between consecutive panoramas of one drive that are more than `min_gap_m` apart.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> gaps = open_model(sample_model_path()).capture_gaps(10)
        >>> bool((gaps["gap_m"] > 10).all())
        True
        """
        return summaries.capture_gaps(self.panoramas, min_gap_m=min_gap_m)

    def streets_below_coverage(self, share: float = 0.5) -> gpd.GeoDataFrame:
        """Street segments with less than `share` of their length captured (or no value), least covered first."""
        streets = self.street_coverage
        covered = streets["covered_share"]
        return streets.loc[(covered.isna() | (covered < share)).to_numpy()].sort_values("covered_share",
                                                                                          na_position="first")

    # -- building stock and quality --------------------------------------------------------------------------------

    def buildings_by_function(self) -> pd.DataFrame:
        """Per building function: count, footprint area (m²) and mean and median height (m), largest first.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> int(model.buildings_by_function()["buildings"].sum()) == len(model.buildings)
        True
        """
        return summaries.buildings_by_function(self.buildings)

    def buildings_around(self, building_id: str, radius_m: float = 150.0) -> gpd.GeoDataFrame:
        """Buildings within `radius_m` of the building `building_id` (itself included), e.g. a block for a 3D view.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> hall = model.buildings.loc[model.buildings["function_code"] == "3012", "building_id"].iloc[0]
        >>> hall in set(model.buildings_around(hall, 50)["building_id"])
        True
        """
        buildings = self.buildings
        centre = buildings.loc[buildings["building_id"] == building_id].geometry
        if centre.empty:
            raise NotFoundError("buildings", f"no building {building_id!r}", fix="give a building_id of the buildings layer")
        return buildings.loc[buildings.geometry.dwithin(centre.iloc[0], radius_m).to_numpy()]

    def qa_summary(self) -> pd.DataFrame:
        """Quality issues counted by layer, check and severity, most frequent first.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> int(model.qa_summary()["issues"].sum()) == len(model.qa_issues)
        True
        """
        return summaries.qa_summary(self.qa_issues)
