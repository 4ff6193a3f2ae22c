"""The stages of a run: read and transform each source, then link them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from twin import parallel
from twin.config import BuildingsConfig, ExtraBuildingsConfig, PanoramasConfig, Pipeline
from twin.errors import RecordError, SourceError
from twin.model import conform, empty_frame
from twin.model.qa import concat_issues
from twin.runner.placement import check_placement
from twin.runner.state import BUILD_STAGES
from twin.sources import BUILDING_READERS, PANORAMA_READERS, boundary, districts, fibre, reader_for
from twin.sources import heights as building_heights
from twin.sources.vector import read_vector, street_fields
from twin.transforms import buildings as tb
from twin.transforms import capture as tc
from twin.transforms import capture_qa as tq
from twin.transforms import coverage as tv
from twin.transforms import network as tn
from twin.transforms.repair import repair_geometries, undecodable_issues
from twin.transforms.text_check import mis_decoded_text
from twin.transforms.topology import network_topology

log = logging.getLogger(__name__)

Layers = dict[str, pd.DataFrame]
Progress = Callable[[str, int, int], None]
class StageRunner(Protocol):
    """Runs one build stage: ``run_stage(name, build)`` returns ``build()`` or a stored result; with
    ``parts`` (a dask run's folder of parts) a stored layer in parts comes back in parts."""

    def __call__(self, name: str, build: Callable[[], Layers], /, *, parts: Path | None = None) -> Layers: ...


#: The link stage of an engine: ``link(pipeline, layers)`` (the local one is :func:`link_stage`).
LinkStage = Callable[[Pipeline, Layers], Layers]
#: Builds the layers of a run: ``build(pipeline, progress=..., run_stage=...)`` (:func:`build_layers`, or the
#: dask engine's :func:`twin.runner.dask_engine.dask_build`).
Builder = Callable[..., Layers]


def read_boundary(pipeline: Pipeline) -> BaseGeometry | None:
    """The city boundary in the output CRS, or None."""
    if pipeline.city.boundary is None:
        return None
    return boundary.read(pipeline.city.boundary, target_crs=pipeline.city.crs, declared_crs=pipeline.city.boundary_crs,
                         layer=pipeline.city.boundary_layer, encoding=pipeline.city.boundary_encoding)


def read_boundary_issues(pipeline: Pipeline) -> tuple[BaseGeometry | None, gpd.GeoDataFrame]:
    """The city boundary as :func:`read_boundary` returns it, and QA rows of its undecodable features."""
    if pipeline.city.boundary is None:
        return None, empty_frame("qa_issues", pipeline.city.crs)
    area, frame = boundary.read_frame(pipeline.city.boundary, target_crs=pipeline.city.crs,
                                      declared_crs=pipeline.city.boundary_crs, layer=pipeline.city.boundary_layer,
                                      encoding=pipeline.city.boundary_encoding)
    ids = frame.index.to_series().add(1).astype("str")  # the feature's number in the file
    return area, undecodable_issues(frame, layer="boundary", ids=ids)


def read_districts(pipeline: Pipeline) -> gpd.GeoDataFrame:
    """The district polygons of ``[city] districts`` in the output CRS (``district`` and geometry); needs the key."""
    city = pipeline.city
    assert city.districts is not None
    return districts.read(city.districts, target_crs=city.crs, name_column=city.districts_name,
                          layer=city.districts_layer, declared_crs=city.districts_crs, encoding=city.districts_encoding)


def buildings_stage(pipeline: Pipeline, area: BaseGeometry | None) -> Layers:
    """Read, clean and give heights to the building footprints."""
    if pipeline.buildings is None:
        return {"buildings": empty_frame("buildings", pipeline.city.crs)}
    merged, found = merged_buildings(pipeline, area)
    merged, renamed = tb.unique_building_ids(merged)
    found.append(renamed)
    return finished_buildings(pipeline, merged, found)


def merged_buildings(
    pipeline: Pipeline, area: BaseGeometry | None, *, unique_ids: bool = True, order: str | None = None,
    reader: Callable[[int], gpd.GeoDataFrame] | None = None,
) -> tuple[gpd.GeoDataFrame, list[gpd.GeoDataFrame]]:
    """The footprints of every source read, cleaned and merged, and the QA rows; needs ``[buildings]``.

    The dask engine's workers call it on their window with ``unique_ids=False`` (ids are made unique
    over the whole region), an `order` column (the source's number × 2⁴⁰ + the feature's FID) and
    `reader`, which returns the footprints of source number n (0: ``[buildings]``) that meet the window.
    """
    cfg = pipeline.buildings
    assert cfg is not None
    found = []
    sources = []
    configs: list[BuildingsConfig | ExtraBuildingsConfig] = [cfg, *cfg.extra]
    for number, source in enumerate(configs):
        read = _read_buildings(source, pipeline.city.crs, master=source is cfg) if reader is None else reader(number)
        parallel.release_memory()  # the reader's buffers (about 450 MB at four million footprints)
        if order is not None:
            read[order] = read.index.to_numpy(dtype="int64") + (number << 40)
        clean, issues = tb.clean_buildings(
            read, boundary=area, min_area_m2=cfg.min_area_m2, unique_ids=unique_ids,
            duplicate_iou=cfg.duplicate_iou, duplicate_tolerance_m=cfg.duplicate_tolerance_m,
        )
        del read  # freed once cleaned
        sources.append(clean)
        found.append(issues)
    del clean
    merged = sources.pop(0)
    for extra_cfg in cfg.extra:
        merged, issues = tb.merge_sources(merged, sources.pop(0), mode=extra_cfg.mode, min_overlap=extra_cfg.min_overlap)
        found.append(issues)
    return merged, found


def finished_buildings(pipeline: Pipeline, merged: gpd.GeoDataFrame, found: list[gpd.GeoDataFrame]) -> Layers:
    """Heights and the text check for footprints with unique ids: the ``buildings`` layer and its QA rows."""
    crs = pipeline.city.crs
    cfg = pipeline.buildings
    assert cfg is not None
    if cfg.heights is not None:
        merged = tb.measured_heights(merged, building_heights.read(cfg.heights))
    buildings, issues = tb.building_heights(
        merged, storey_height_m=cfg.storey_height_m, fallback_height_m=cfg.default_height_m
    )
    found.append(issues)
    del merged
    if pipeline.city.districts is not None:
        buildings = tb.buildings_with_districts(buildings, read_districts(pipeline))
    # footprints stay single polygons until they are written (in chunks): promoting a million at once
    # would hold each twice
    found.append(mis_decoded_text(buildings, layer="buildings", id_column="building_id", columns=TEXT_COLUMNS["buildings"]))
    return {"buildings": conform(buildings, "buildings", crs, promote=False), "qa_issues": concat_issues(found, crs)}


def _read_buildings(source: BuildingsConfig | ExtraBuildingsConfig, crs: str, *, master: bool) -> gpd.GeoDataFrame:
    """One footprint source; an empty master source is refused (it would publish a city without buildings)."""
    frame = reader_for(BUILDING_READERS, source.format, "buildings")(source, target_crs=crs)
    if master and not len(frame):
        raise SourceError(source.path.name, "holds no buildings",
                          fix="give the complete footprint file in [buildings] path (or remove the [buildings] section)")
    return frame


def panoramas_stage(pipeline: Pipeline, area: BaseGeometry | None) -> Layers:
    """Read the capture metadata; derive sequences, tracks and coverage."""
    crs = pipeline.city.crs
    cfg = pipeline.panoramas
    if cfg is None:
        return {"panoramas": empty_frame("panoramas", crs)}
    raw = reader_for(PANORAMA_READERS, cfg.format, "panoramas")(cfg, target_crs=crs)
    read_issues = raw.attrs.pop("qa_issues", empty_frame("qa_issues", crs))
    clean, clean_issues = tc.clean_panoramas(raw)
    checked, check_issues = tq.check_capture(
        clean, boundary=area, duplicate_distance_m=cfg.duplicate_distance_m,
        duplicate_angle_deg=cfg.duplicate_angle_deg, max_speed_kmh=cfg.max_speed_kmh,
        max_deviation_m=cfg.max_deviation_m, max_accuracy_m=cfg.max_accuracy_m,
    )
    panoramas = tc.derive_headings(
        tq.split_sequences(checked, cut_time_s=cfg.max_gap_s, cut_distance_m=cfg.cut_distance_m))
    text_issues = mis_decoded_text(panoramas, layer="panoramas", id_column="panorama_id",
                                   columns=TEXT_COLUMNS["panoramas"])
    issues = concat_issues([read_issues, clean_issues, check_issues, text_issues], crs)
    return {
        "panoramas": panoramas,
        "capture_tracks": tc.capture_tracks(panoramas),
        "capture_coverage": tc.capture_coverage(panoramas, radius_m=cfg.coverage_radius_m),
        **_street_layers(cfg, panoramas, crs, issues),
    }


def _street_layers(cfg: PanoramasConfig, panoramas: gpd.GeoDataFrame, crs: str, issues: gpd.GeoDataFrame) -> Layers:
    """``street_coverage`` and the campaign comparison when ``[panoramas] streets`` is given."""
    if cfg.streets is None or not len(panoramas):
        return {"qa_issues": issues}
    streets = read_vector(cfg.streets, target_crs=crs, section="panoramas", layer=cfg.streets_layer,
                          encoding=cfg.streets_encoding)
    ids = streets["street_id"].astype("str") if "street_id" in streets else streets.index.astype("str")
    undecodable = undecodable_issues(streets, layer="street_coverage", ids=ids)
    streets = streets.loc[streets.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    streets = street_fields(streets, cfg.street_columns, path=cfg.streets)
    coverage = tv.street_coverage(streets, panoramas, radius_m=cfg.coverage_radius_m,
                                  min_share=cfg.campaign_min_share)
    changed = tv.campaign_differences(coverage, earlier=cfg.compare_from, later=cfg.compare_to)
    return {"street_coverage": coverage, "qa_issues": concat_issues([issues, undecodable, changed], crs)}


def fibre_stage(pipeline: Pipeline, area: BaseGeometry | None) -> Layers:
    """Read the fibre routes and nodes and repair their geometries."""
    crs = pipeline.city.crs
    cfg = pipeline.fibre
    if cfg is None:
        return {"fibre_routes": empty_frame("fibre_routes", crs), "fibre_nodes": empty_frame("fibre_nodes", crs)}
    read = fibre.read_routes(cfg, target_crs=crs)
    read_issues = read.attrs.pop("qa_issues", empty_frame("qa_issues", crs))
    routes, route_issues = repair_geometries(read, layer="fibre_routes", id_column="route_id", family="line")
    nodes, node_issues = repair_geometries(
        fibre.read_nodes(cfg, target_crs=crs), layer="fibre_nodes", id_column="node_id", family="point"
    )
    try:
        routes, nodes, topology_issues = network_topology(
            routes, nodes, hub=cfg.hub, snap_tolerance_m=cfg.snap_tolerance_m, gap_report_m=cfg.gap_report_m,
            star=cfg.topology == "star", max_network_parts=cfg.max_network_parts,
        )
    except RecordError as exc:
        if exc.place != "fibre_routes":
            raise
        raise RecordError(f"{cfg.routes}", exc.problem, fix=exc.fix) from exc
    codes = [fibre.code_issues(routes, "fibre_routes", id_column="route_id"),
             fibre.code_issues(nodes, "fibre_nodes", id_column="node_id"),
             mis_decoded_text(routes, layer="fibre_routes", id_column="route_id", columns=TEXT_COLUMNS["fibre_routes"]),
             mis_decoded_text(nodes, layer="fibre_nodes", id_column="node_id", columns=TEXT_COLUMNS["fibre_nodes"])]
    return {
        "fibre_routes": routes,
        "fibre_nodes": nodes,
        "qa_issues": concat_issues([read_issues, route_issues, node_issues, topology_issues, *codes], crs),
    }


def link_stage(pipeline: Pipeline, layers: Layers) -> Layers:
    """Link buildings to panoramas and to the fibre network."""
    crs = pipeline.city.crs
    buildings = layers["buildings"]
    out: Layers = {}
    nodes = layers["fibre_nodes"]
    issues = []
    if pipeline.fibre is not None and len(buildings):
        nodes, connections, site_issues = link_sites(pipeline, nodes, buildings)
        out["fibre_connections"] = connections
        issues.append(site_issues)
    buildings, views = link_buildings(pipeline, buildings, layers["fibre_routes"], nodes, layers["panoramas"])
    out.update({"buildings": buildings, "panorama_views": views, "fibre_nodes": nodes,
                "qa_issues": concat_issues(issues, crs)})
    return out


def link_sites(
    pipeline: Pipeline, nodes: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Each site node linked to the building it serves (nodes, ``fibre_connections``, QA rows); needs ``[fibre]``."""
    assert pipeline.fibre is not None
    return tn.site_buildings(nodes, buildings, max_distance_m=pipeline.fibre.connection_distance_m)


def link_buildings(
    pipeline: Pipeline, buildings: gpd.GeoDataFrame, routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame,
    panoramas: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Per building: its fibre status and distances, and the panoramas that see it (``panorama_views``).

    Both engines call this, the dask engine once per partition (with the panoramas near it).
    """
    views = empty_frame("panorama_views", None)
    if pipeline.fibre is not None and len(buildings):
        buildings = tn.buildings_with_fibre(
            buildings, routes, nodes, reachable_distance_m=pipeline.fibre.reachable_distance_m,
            distance_cap_m=pipeline.fibre.distance_cap_m,
        )
    if pipeline.panoramas is not None and len(buildings) and len(panoramas):
        buildings, views = tc.panorama_links(
            buildings, panoramas, distance_m=pipeline.panoramas.view_distance_m,
            fov_deg=pipeline.panoramas.view_fov_deg,
        )
    return buildings, conform(views, "panorama_views")


#: Text columns of each layer checked for traces of a wrong code page (names and addresses from the inputs).
TEXT_COLUMNS = {"buildings": ("street", "house_number", "postcode", "district"), "panoramas": ("image_name",),
                "fibre_routes": ("name",), "fibre_nodes": ("name",)}


#: The build stages, by the pipeline section each reads (:data:`twin.runner.state.BUILD_STAGES` names them).
STAGES: dict[str, Callable[[Pipeline, BaseGeometry | None], Layers]] = {
    "buildings": buildings_stage, "panoramas": panoramas_stage, "fibre": fibre_stage,
}


def build_layers(
    pipeline: Pipeline, *, progress: Progress | None = None, run_stage: StageRunner | None = None,
    link: LinkStage | None = None,
) -> Layers:
    """Run every stage and return the model's layers (without runs and changes).

    `run_stage` wraps each build stage (the runner uses it to skip stages whose inputs did not change);
    `link` replaces :func:`link_stage` (the dask engine's runs on partitions).
    """
    steps = [(name, STAGES[name]) for name in BUILD_STAGES]
    area, boundary_issues = read_boundary_issues(pipeline)
    layers: Layers = {}
    issues: list[gpd.GeoDataFrame] = [boundary_issues]
    for number, (name, stage) in enumerate(steps):
        produced = dict(run_stage(name, partial(stage, pipeline, area)) if run_stage else stage(pipeline, area))
        issues.append(produced.pop("qa_issues", empty_frame("qa_issues", pipeline.city.crs)))
        layers.update(produced)
        if progress:
            progress("build", number + 1, len(steps) + 1)
    check_placement(pipeline, layers)
    linked = (link or link_stage)(pipeline, layers)
    issues.append(linked.pop("qa_issues"))
    layers.update(linked)
    layers["qa_issues"] = concat_issues(issues, pipeline.city.crs)
    if progress:
        progress("build", len(steps) + 1, len(steps) + 1)
    return layers
