"""A built city model: its layers, typed as declared in :mod:`twin.model`, and the city's questions as methods."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeAlias

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from twin.api import aggregate, arguments, graph, questions, summaries
from twin.api import subset as subsets
from twin.api.model_layers import ModelLayers
from twin.api.summaries import CAPTURE_GAP_M
from twin.errors import ArgumentError
from twin.model import LAYERS
from twin.model.value_labels import ROUTE_KIND, ROUTE_STATUS
from twin.transforms.routing import SNAP_TOLERANCE_M, NetworkPath, RouteNetwork

__all__ = ["CityModel", "open_model"]

#: ALKIS building functions 3000-3999 are "Gebäude für öffentliche Zwecke".
PUBLIC_FUNCTION_PREFIX = "3"
#: Buildings this close to a route count as within reach of the network (m).
REACH_DISTANCE_M = 50.0

#: Codes of a coded field, each given as its code or its German or English label; one string is one value.
Codes: TypeAlias = str | Iterable[str] | None



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


class CityModel(ModelLayers):
    """A built city model: its layers (read lazily, cached) and analysis helpers.

    Every layer is an attribute (``buildings``, ``panoramas``, ``fibre_routes``,
    ...) holding a GeoDataFrame (``runs``: a DataFrame) with the dtypes of
    :mod:`twin.model`: timestamps are timezone-aware UTC, integers are
    nullable, coded fields (``fibre_status``, ``kind``, ``status``, ...) are
    categoricals with the declared categories. Each layer is read once; the
    same frame is returned on every access, so copy it before changing it.
    Layers, counts and display come from :class:`twin.api.model_layers.ModelLayers`.

    Parameters
    ----------
    path
        The GeoPackage.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._networks: dict[tuple[tuple[str, ...] | None, float], RouteNetwork] = {}

    # -- fibre -----------------------------------------------------------------------------------------------------

    def _routes(self, statuses: Codes, kinds: Codes = None, *, where: str = "statuses") -> gpd.GeoDataFrame:
        routes = self.fibre_routes
        chosen = arguments.codes(statuses, ROUTE_STATUS, f"{where}, statuses")
        kind = arguments.codes(kinds, ROUTE_KIND, f"{where}, kinds")
        keep = np.ones(len(routes), dtype=bool)
        if chosen is not None:
            keep &= routes["status"].isin(chosen).to_numpy()
        if kind is not None:
            keep &= routes["kind"].isin(kind).to_numpy()
        return routes.loc[keep]

    def buildings_near_fibre(self, distance_m: float = REACH_DISTANCE_M, *, statuses: Codes = None,
                             kinds: Codes = None) -> gpd.GeoDataFrame:
        """Buildings within `distance_m` of a fibre route, with ``distance_to_fibre_m``.

        Parameters
        ----------
        distance_m
            Largest distance from the footprint to the nearest route, in metres.
        statuses, kinds
            Only routes with these ``status`` / ``kind`` values, as codes or German or English labels
            (``"in_service"``, ``"in service"``, ``"in Betrieb"``); all when None.

        Returns
        -------
        geopandas.GeoDataFrame
            Rows of :attr:`buildings` (same index), plus ``distance_to_fibre_m``.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> near = model.buildings_near_fibre(20, statuses=("in Betrieb",))
        >>> bool((near["distance_to_fibre_m"] <= 20).all())
        True
        >>> model.buildings_near_fibre("50")
        Traceback (most recent call last):
        ...
        twin.errors.ArgumentError: buildings_near_fibre, distance_m: '50' is not a number; give a number of metres
        """
        distance = arguments.distance(distance_m, "buildings_near_fibre, distance_m")
        routes = self._routes(statuses, kinds, where="buildings_near_fibre")
        return summaries.buildings_near_routes(self.buildings, routes, distance)

    def connected_building_ids(self) -> set[str]:
        """Ids of buildings served by the network: ``fibre_status`` ``connected``, a site in the building that
        reaches the hub over built or in-service routes (a drop whose way to the hub is only planned is not)."""
        status = self.buildings["fibre_status"]
        return {str(i) for i in self.buildings.loc[(status == "connected").fillna(False), "building_id"].dropna()}

    def public_buildings_within_reach(self, distance_m: float = REACH_DISTANCE_M, *,
                                      statuses: Codes = None) -> gpd.GeoDataFrame:
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

    def route_network(self, *, statuses: Codes = None, tolerance_m: float = SNAP_TOLERANCE_M) -> RouteNetwork:
        """The fibre routes as a networkx graph with the nodes on it (see :class:`twin.transforms.routing.RouteNetwork`)."""
        chosen = arguments.codes(statuses, ROUTE_STATUS, "route_network, statuses")
        tolerance = arguments.distance(tolerance_m, "route_network, tolerance_m")
        key = (None if chosen is None else tuple(sorted(chosen)), tolerance)
        if key not in self._networks:
            self._networks[key] = RouteNetwork(self._routes(chosen), self.fibre_nodes, tolerance_m=tolerance)
        return self._networks[key]

    def route_graph(self, *, statuses: Codes = None, tolerance_m: float = SNAP_TOLERANCE_M) -> nx.MultiDiGraph:
        """The fibre routes as a networkx MultiDiGraph as OSMnx makes them (see :func:`twin.api.graph.osmnx_graph`).

        Nodes have ``x``, ``y`` (and ``node_id``, ``kind``, ``name`` where a fibre node sits), edges ``length``
        in metres, the route's fields and ``geometry``; ``graph["crs"]`` is the model's CRS.

        Examples
        --------
        >>> import networkx as nx
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> graph = model.route_graph()
        >>> graph.graph["crs"], {"x", "y"} <= set(graph.nodes[0])
        ('EPSG:25832', True)
        >>> hub = next(n for n, kind in graph.nodes(data="kind") if kind == "hub")
        >>> school = next(n for n, name in graph.nodes(data="name") if name == "Burggymnasium")
        >>> metres = nx.shortest_path_length(graph, hub, school, weight="length")
        >>> round(metres) == round(model.network_path("Burggymnasium").length_m)
        True
        """
        return graph.osmnx_graph(self.route_network(statuses=statuses, tolerance_m=tolerance_m))

    def node_id(self, node_id_or_name: str) -> str:
        """The ``node_id`` of a node given by id or by its unique name.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> model.node_id("Rathaus") == model.fibre_nodes.loc[model.fibre_nodes["kind"] == "hub", "node_id"].iloc[0]
        True
        """
        return summaries.node_id(self.fibre_nodes, node_id_or_name)

    def network_path(self, node_id_or_name: str, *, statuses: Codes = None) -> NetworkPath:
        """The shortest way along the fibre routes from the hub to a node.

        Parameters
        ----------
        node_id_or_name
            A ``node_id`` or the unique ``name`` of a node.
        statuses
            Use only routes with these ``status`` values (codes or labels); all when None. When none of
            them lead to the node but other routes do, the error says which ("only planned routes lead there").

        Returns
        -------
        twin.transforms.routing.NetworkPath
            ``segments`` (route rows in order, with ``distance_from_hub_m``),
            ``line`` (one LineString from the hub) and ``length_m``.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> path = model.network_path("Burggymnasium")
        >>> path.line.geom_type, path.length_m > 0
        ('LineString', True)
        >>> bool(abs(path.segments["length_m"].sum() - path.length_m) < 0.5)
        True
        """
        chosen = arguments.codes(statuses, ROUTE_STATUS, "network_path, statuses")
        return graph.path_with_reason(self.route_network(statuses=chosen), self.route_network(),
                                      self.node_id(node_id_or_name), statuses=chosen)

    def network_distances(self, *, statuses: Codes = None) -> gpd.GeoDataFrame:
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
        return summaries.not_captured_since(self.buildings, date)

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
        return summaries.capture_gaps(self.panoramas, min_gap_m=arguments.number(min_gap_m, "capture_gaps, min_gap_m"))

    def streets_below_coverage(self, share: float = 0.5) -> gpd.GeoDataFrame:
        """Street segments with less than `share` (0-1) of their length captured (or no value), least covered first.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> streets = open_model(sample_model_path()).streets_below_coverage(0.5)
        >>> bool((streets["covered_share"].dropna() < 0.5).all())
        True
        >>> open_model(sample_model_path()).streets_below_coverage(50)
        Traceback (most recent call last):
        ...
        twin.errors.ArgumentError: streets_below_coverage, share: 50 is not a share; give a share from 0 to 1 (0.5 for 50 %)
        """
        return summaries.streets_below(self.street_coverage, arguments.share(share, "streets_below_coverage, share"))

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
        radius = arguments.distance(radius_m, "buildings_around, radius_m")
        return summaries.buildings_around(self.buildings, building_id, radius)

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

    # -- the city's questions --------------------------------------------------------------------------------------

    def building(self, building_id: str) -> questions.BuildingFacts:
        """Everything the model knows about one building: ``attributes`` (every field and the footprint, with
        fibre status and distances), the ``panoramas`` seeing it, its ``fibre_nodes`` and ``fibre_connections``
        and the ``qa_issues`` rows about it.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> facts = model.building(model.find_address("Pariser Str.", 2)["building_id"].iloc[0])
        >>> facts.address, facts.attributes["fibre_status"] in {"connected", "planned", "reachable", "none"}
        ('Pariser Straße 2', True)
        """
        if not isinstance(building_id, str):
            raise ArgumentError("building, building_id", f"{building_id!r} is not a building_id",
                                          fix="give the building_id as text")
        return questions.building_facts(self.buildings, building_id, panoramas=self.panoramas_seeing(building_id),
                                        nodes=self.fibre_nodes, connections=self.fibre_connections,
                                        issues=self.qa_issues)

    def find_address(self, street: str, number: str | int) -> gpd.GeoDataFrame:
        """The buildings with the address `street` `number`, tolerant of case, spaces, "Str." for "Straße" and ß/ss.

        Raises :class:`twin.errors.NotFoundError` naming close street names, or the numbers of the street.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> found = model.find_address("pariser strasse", "2")
        >>> set(found["street"]), set(found["house_number"])
        ({'Pariser Straße'}, {'2'})
        >>> model.find_address("Parisr Straße", 3)
        Traceback (most recent call last):
        ...
        twin.errors.NotFoundError: buildings: no street 'Parisr Straße'; did you mean 'Pariser Straße'?
        """
        if not isinstance(street, str) or not isinstance(number, str | int) or isinstance(number, bool):
            raise ArgumentError("find_address", f"{street!r} {number!r} is not an address",
                                          fix="give the street as text and the house number as text or a number")
        return questions.find_address(self.buildings, street, number)

    def panoramas_seeing(self, building_id: str) -> gpd.GeoDataFrame:
        """The panoramas that see building `building_id` (from ``panorama_views``), nearest first, with the view's
        ``distance_m`` and ``bearing_deg`` (grid bearing from the panorama to the building); an id that is no
        building's raises :class:`twin.errors.NotFoundError` naming close ones.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> seen = model.panoramas_seeing(model.buildings["building_id"].iloc[0])
        >>> {"panorama_id", "captured_at", "distance_m", "bearing_deg"} <= set(seen.columns)
        True
        """
        if not isinstance(building_id, str):
            raise ArgumentError("panoramas_seeing, building_id", f"{building_id!r} is not a building_id",
                                fix="give the building_id as text")
        questions.known_building(self.buildings, building_id)  # a mistyped id is not "seen by none"
        return questions.panoramas_seeing(self.layer("panorama_views"), self.panoramas, building_id)

    def coverage_by_campaign(self) -> pd.DataFrame:
        """Street segment × campaign (capture year) -> captured share 0-1, one row each (``street_id``, ``name``,
        ``campaign``, ``share``, ``length_m``); a pivot away from a table per street.

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> table = open_model(sample_model_path()).coverage_by_campaign()
        >>> sorted(table["campaign"].unique()), bool(table["share"].between(0, 1).all())
        (['2021', '2023'], True)
        """
        return questions.coverage_by_campaign(self.street_coverage, self.capture_coverage)

    def aggregate(self, layer: str, by: str = "district", *, cell_m: float = 250.0) -> gpd.GeoDataFrame:
        """Count, area (``area_m2``), length (``length_m``) and for buildings floor area of a layer per
        ``district`` or per square ``grid`` cell of `cell_m` metres (see :mod:`twin.api.aggregate`).

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> cells = model.aggregate("buildings", by="grid", cell_m=500)
        >>> int(cells["count"].sum()) == len(model.buildings), round(cells["area_m2"].sum()) == round(model.buildings["area_m2"].sum())
        (True, True)
        """
        spatial = [n for n, spec in LAYERS.items() if spec.geometry_type is not None]
        name = arguments.one_of(layer, spatial, "aggregate, layer")
        frame = self.layer(name)
        if arguments.one_of(by, ("district", "grid"), "aggregate, by") == "grid":
            return aggregate.by_grid(frame, name, cell_m=arguments.distance(cell_m, "aggregate, cell_m", positive=True))
        return aggregate.by_district(frame, name, self.buildings)

    def subset(self, area: subsets.Area | None = None, district: str | None = None) -> CityModel:
        """The model cut down to `area` (a geometry, ``(minx, miny, maxx, maxy)`` or a GeoDataFrame) or to the
        buildings of `district`: a CityModel held in memory with every helper; write it with :meth:`to_geopackage`.

        Features intersecting the area are kept whole (see :mod:`twin.api.subset`).

        Examples
        --------
        >>> from twin.api import sample_model_path
        >>> model = open_model(sample_model_path())
        >>> part = model.subset((410000, 5477000, 410500, 5477400))
        >>> 0 < part.counts["buildings"] < model.counts["buildings"], len(part.runs) == len(model.runs)
        (True, True)
        """
        frames, shape = subsets.subset_frames(self, area=area, district=district)
        view = CityModel.__new__(CityModel)
        view._adopt(self, frames, shape)
        view._networks = {}
        return view

    def to_geopackage(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write this model (or subset) as a complete GeoPackage with styles, field titles, relations and the
        stored QGIS project, as ``twin export gpkg`` does; returns the path."""
        frames = {name: self.layer(name) for name in LAYERS}
        area = self.area if isinstance(self.area, BaseGeometry) else None
        return subsets.write_subset(self, frames, area, Path(path), overwrite=overwrite)
