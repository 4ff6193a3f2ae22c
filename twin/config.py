"""The pipeline file (``pipelines/<city>.toml``) as frozen, validated objects.

Unknown keys are errors (a typo must not pass silently), relative paths
resolve against the folder of the pipeline file, input files must exist and
CRS strings must be understood by pyproj. Every problem is reported at once.

>>> from pathlib import Path
>>> pipeline = read_pipeline(Path("pipelines/kaiserslautern.toml"))
>>> pipeline.city.crs
'EPSG:25832'
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from twin.config_values import crs_problem, remote_copy, url_parts, value_problem
from twin.errors import ConfigError
from twin.model.formats import names as format_names
from twin.model.layers import LANGUAGES, LAYERS

__all__ = [
    "BuildingsConfig",
    "CityConfig",
    "ExtraBuildingsConfig",
    "FibreConfig",
    "HeightsConfig",
    "OutputConfig",
    "PanoramasConfig",
    "Pipeline",
    "read_pipeline",
]

#: Where `twin run` looks when no pipeline file is given.
DEFAULT_PIPELINE = Path("pipelines/kaiserslautern.toml")
#: Most previous generations ``[output] keep`` may ask for.
MAX_KEEP = 100
#: Most days ``[output] history_days`` may keep changes (a century).
MAX_HISTORY_DAYS = 36_500
#: Largest ``[panoramas] time_offset_s`` (a camera clock wrong by up to ten years), in seconds.
MAX_CLOCK_OFFSET_S = 10 * 365 * 86_400.0

#: A position farther than this (m) off the line through its neighbours, which the drive then returns
#: from, is a GNSS jump (multipath between buildings); ``[panoramas] max_deviation_m`` and
#: :func:`twin.transforms.capture_qa.check_capture` share it.
MAX_DEVIATION_M = 8.0


def _meta(
    *, exists: bool = False, choices: tuple[str, ...] = (), pattern: bool = False, crs: bool = False, doc: str = "",
    within: tuple[float, float] | None = None, above: bool = False, unit: str = "", check: str = "",
    projected: bool = False,
) -> dict[str, Any]:
    """Metadata of a setting: `within` (low, high) bounds a number (`above`: low itself is excluded),
    `unit` names its unit in messages, `check` names a test of a string (``encoding``, ``timezone``,
    ``delimiter``, ``decimal``), `projected` asks a CRS to be projected and in metres."""
    return {"exists": exists, "choices": choices, "pattern": pattern, "crs": crs, "doc": doc,
            "within": within, "above": above, "unit": unit, "check": check, "projected": projected}


def _opt(default: Any = None, **meta: Any) -> Any:
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=_meta(**meta))
    if isinstance(default, list):
        return field(default_factory=list, metadata=_meta(**meta))
    return field(default=default, metadata=_meta(**meta))


def _req(**meta: Any) -> Any:
    return field(metadata=_meta(**meta))


@dataclass(frozen=True)
class CityConfig:
    """``[city]``: name, official CRS of every output layer, optional boundary and districts."""

    name: str = _req(doc="name of the municipality")
    crs: str = _opt("EPSG:25832", crs=True, projected=True,
                    doc="CRS of every output layer: projected, in metres (e.g. the town's ETRS89/UTM zone or national CRS)")
    boundary: Path | None = _opt(exists=True, doc="polygon layer; everything is clipped to it")
    boundary_crs: str | None = _opt(crs=True, doc="CRS of the boundary file when it names none")
    boundary_layer: str | None = _opt(doc="layer of the boundary file (default: its first)")
    boundary_encoding: str | None = _opt(doc="text encoding of a boundary Shapefile without .cpg (detected when not given)")
    districts: Path | None = _opt(exists=True, doc="polygon layer of the districts (Stadtteile, Ortsbezirke); gives buildings.district")
    districts_name: str | None = _opt(doc="column of the districts layer holding the name (default: a column called name, Name, NAME, Stadtteil, Ortsbezirk, Bezirk or district)")
    districts_layer: str | None = _opt(doc="layer of the districts file (default: its first)")
    districts_crs: str | None = _opt(crs=True, doc="CRS of the districts file when it names none")
    districts_encoding: str | None = _opt(check="encoding", doc="text encoding of a districts Shapefile without .cpg (detected when not given)")


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: where the GeoPackage goes and how many old ones to keep."""

    path: Path = _req(doc="the GeoPackage to publish")
    keep: int = _opt(1, within=(0, MAX_KEEP), doc="previous generations kept beside the output (<stem>.previous.gpkg, <stem>.previous-2.gpkg, ...; 0: none)")
    history_days: int = _opt(400, within=(1, MAX_HISTORY_DAYS), unit="days",
                             doc="days every change stays in the model's history table")
    report_map: bool = _opt(False, doc="draw the overview map <stem>.report.png with the run report (about 1 s per run)")
    language: str = _opt("de", choices=LANGUAGES, doc="language of titles, descriptions, legends and the run report")
    attribution: str | None = _opt(doc="source and licence notice the inputs require, kept in the model's lineage record (gpkg_metadata)")
    split_by: str | None = _opt(choices=("municipality",),
                                doc="also publish one complete model per municipality in <stem>_municipalities/")
    municipalities: Path | None = _opt(exists=True, doc="polygon layer of the municipalities (default: the footprints' key)")
    municipality_key: str = _opt("AGS", doc="the municipality's key: a column of that layer, else a footprint attribute")
    municipality_name: str | None = _opt(doc="column of the municipalities layer holding the name")


@dataclass(frozen=True)
class HeightsConfig:
    """``[buildings.heights]``: measured heights (e.g. LoD2 ``measuredHeight``) joined on the building id."""

    path: Path = _req(exists=True, doc="GeoPackage, GeoJSON, Shapefile or CSV with one row per building")
    layer: str | None = _opt(doc="layer inside the file")
    id_column: str = _opt("OI", doc="column holding the building id (ALKIS OI)")
    height_column: str = _opt("measuredHeight", doc="column holding the height in metres")


@dataclass(frozen=True)
class ExtraBuildingsConfig:
    """``[[buildings.extra]]``: a further footprint source merged into the master ``[buildings]``."""

    path: Path = _req(exists=True, doc="footprint file")
    format: str = _opt("osm", choices=format_names("buildings"))
    layer: str | None = _opt(doc="layer inside the file")
    encoding: str | None = _opt(check="encoding", doc="attribute encoding (overrides .cpg and detection)")
    crs: str | None = _opt(crs=True, doc="CRS of the file when it names none")
    columns: dict[str, str] = _opt({}, doc="canonical name = source column")
    mode: str = _opt("fill", choices=("fill", "add"), doc="fill: only heights, storeys, addresses; add: also new buildings")
    min_overlap: float = _opt(0.5, within=(0.0, 1.0), above=True, unit="share", doc="share of a master footprint an extra footprint must cover to match")


@dataclass(frozen=True)
class BuildingsConfig:
    """``[buildings]``: building footprints."""

    path: Path = _req(exists=True, doc="footprint file")
    format: str = _opt("alkis", choices=format_names("buildings"))
    layer: str | None = _opt(doc="layer inside the file")
    encoding: str | None = _opt(check="encoding", doc="attribute encoding (overrides .cpg and detection, e.g. cp1252)")
    crs: str | None = _opt(crs=True, doc="CRS of the file when it names none")
    columns: dict[str, str] = _opt({}, doc="canonical name = source column")
    min_area_m2: float = _opt(1.0, within=(0.0, 10_000.0), unit="m²", doc="footprints smaller than this are dropped as slivers")
    duplicate_iou: float = _opt(0.9, within=(0.0, 1.0), above=True, unit="share", doc="footprints overlapping by this intersection-over-union are duplicates")
    duplicate_tolerance_m: float = _opt(0.2, within=(0.0, 10.0), unit="m", doc="footprints whose outlines differ by at most this are duplicates")
    storey_height_m: float = _opt(3.0, within=(0.0, 20.0), above=True, unit="m", doc="height of one storey where only the storeys are known")
    default_height_m: float = _opt(8.0, within=(0.0, 1000.0), above=True, unit="m", doc="height where neither height, storeys nor function default is known")
    heights: HeightsConfig | None = _opt(doc="[buildings.heights] table: measured heights joined on the id")
    extra: list[ExtraBuildingsConfig] = _opt([], doc="[[buildings.extra]] tables: further sources merged in")


@dataclass(frozen=True)
class PanoramasConfig:
    """``[panoramas]``: capture metadata of the panorama drive."""

    path: Path = _req(exists=True, doc="capture metadata file or image folder")
    format: str = _opt("csv", choices=format_names("panoramas"))
    crs: str | None = _opt(crs=True, doc="CRS of the coordinates")
    columns: dict[str, str] = _opt({}, doc="canonical name = vendor column")
    encoding: str | None = _opt(check="encoding", doc="text encoding of a CSV table (e.g. cp1250); detected when not given")
    delimiter: str | None = _opt(check="delimiter", doc="CSV delimiter; detected when not given")
    decimal: str | None = _opt(choices=(".", ","), doc="decimal separator; detected when not given")
    timezone: str | None = _opt(check="timezone", doc="zone of local times without offset, e.g. Europe/Berlin")
    streets: Path | None = _opt(exists=True, doc="street centre lines for street coverage")
    streets_layer: str | None = _opt(doc="layer of the streets file (default: its first)")
    streets_encoding: str | None = _opt(check="encoding",
                                        doc="text encoding of a streets Shapefile without .cpg (detected when not given)")
    street_columns: dict[str, str] = _opt({}, doc="street_id and name = column of the streets file, "
                                          "where it names them otherwise (e.g. name = \"strassenname\")")
    max_gap_s: float = _opt(60.0, within=(0.0, 86_400.0), above=True, unit="s", doc="a longer pause starts a new sequence")
    coverage_radius_m: float = _opt(15.0, within=(0.0, 1000.0), above=True, unit="m", doc="radius of street space seen around a panorama")
    time_format: str = _opt("iso", choices=("iso", "gps"), pattern=True,
                            doc="iso: ISO 8601 and usual forms; gps: columns gps_week, gps_seconds; "
                                "or a strptime pattern such as \"%d/%m/%Y %H:%M:%S\"")
    heading_unit: str = _opt("deg", choices=("deg", "gon"), doc="unit of the heading column (gon: 400 a turn)")
    heading_north: str = _opt("true", choices=("true", "grid"),
                              doc="true: headings from true north, as cameras and GNSS give them (turned into grid "
                                  "bearings of [city] crs); grid: already bearings from grid north of [city] crs")
    leap_seconds: float = _opt(18.0, within=(0.0, 100.0), unit="s", doc="GPS minus UTC in seconds (18 since 2017)")
    gpx: Path | None = _opt(exists=True, doc="GPX track for format gpx+images (default: first .gpx in path)")
    time_offset_s: float = _opt(0.0, within=(-MAX_CLOCK_OFFSET_S, MAX_CLOCK_OFFSET_S), unit="s",
                                doc="added to every camera picture's capture time, the clock's error (images, gpx+images)")
    duplicate_distance_m: float = _opt(0.1, within=(0.0, 100.0), unit="m", doc="pictures this close to the previous one ...")
    duplicate_angle_deg: float = _opt(5.0, within=(0.0, 180.0), unit="°", doc="... and turned less than this are duplicates")
    max_speed_kmh: float = _opt(400.0, within=(0.0, 2000.0), above=True, unit="km/h", doc="a faster step is a GNSS jump (use ~120 for a car in town)")
    max_deviation_m: float = _opt(MAX_DEVIATION_M, within=(0.0, 1000.0), above=True, unit="m",
                                  doc="a position farther off the line through its neighbours, which the drive returns "
                                      "from, is a GNSS jump (kept, flagged)")
    cut_distance_m: float = _opt(600.0, within=(0.0, 100_000.0), above=True, unit="m", doc="a longer step starts a new sequence")
    max_accuracy_m: float | None = _opt(within=(0.0, 10_000.0), above=True, unit="m", doc="positions with worse gnss_accuracy_m are dropped")
    view_distance_m: float = _opt(30.0, within=(0.0, 1000.0), above=True, unit="m", doc="panoramas this close to a building count for it")
    view_fov_deg: float = _opt(360.0, within=(0.0, 360.0), above=True, unit="°", doc="field of view around the heading that counts (360: all)")
    campaign_min_share: float = _opt(0.5, within=(0.0, 1.0), above=True, unit="share", doc="share of a street a capture year must see to count as covering it")
    compare_from: str | None = _opt(doc="earlier capture year to compare, e.g. \"2021\" (default: second latest)")
    compare_to: str | None = _opt(doc="later capture year to compare, e.g. \"2023\" (default: latest)")


#: The codes of route kind, route status and node kind, as :mod:`twin.model.layers` declares them.
ROUTE_KINDS = tuple(LAYERS["fibre_routes"].field("kind").values)
FIBRE_CODES = tuple(dict.fromkeys((*ROUTE_KINDS, *LAYERS["fibre_routes"].field("status").values,
                                   *LAYERS["fibre_nodes"].field("kind").values)))


@dataclass(frozen=True)
class FibreConfig:
    """``[fibre]``: the city's fibre network."""

    routes: Path = _req(exists=True, doc="route segments")
    nodes: Path | None = _opt(exists=True, doc="hub, distribution points and sites")
    routes_layer: str | None = _opt(doc="layer of the routes file (default: its first)")
    nodes_layer: str | None = _opt(doc="layer of the nodes file (default: its first)")
    crs: str | None = _opt(crs=True, doc="CRS of the files when they name none")
    routes_crs: str | None = _opt(crs=True, doc="CRS of the routes file when it names none and differs from crs")
    nodes_crs: str | None = _opt(crs=True, doc="CRS of the nodes file when it names none and differs from crs")
    encoding: str | None = _opt(check="encoding", doc="text encoding of Shapefiles without .cpg and of a node CSV (detected when not given)")
    network_name: str | None = _opt(doc="name of the network in exports (default: the city's name and \"fibre network\")")
    hub: str | None = _opt(doc="name of the hub node (default: the node of kind hub)")
    snap_tolerance_m: float = _opt(0.5, within=(0.0, 1000.0), unit="m",
                                   doc="route ends closer than this are joined (a regional backbone drawn at 250 m accuracy needs that much)")
    gap_report_m: float = _opt(5.0, within=(0.0, 1000.0), unit="m", doc="open ends closer than this (beyond the tolerance) are reported as gaps")
    topology: str = _opt("star", choices=("star", "mesh"), doc="star: loops are reported as information")
    max_network_parts: int = _opt(10_000, within=(1, 100_000_000), doc="routes that fall into more separate networks (their ends not meeting) are refused")
    dxf_layers: dict[str, str] = _opt({}, choices=ROUTE_KINDS,
                                      doc="CAD layer name = route kind (trench, duct, aerial), for DXF routes")
    values: dict[str, str] = _opt({}, choices=FIBRE_CODES,
                                  doc="value in the files = code, for kinds and statuses twin does not know (\"Ampel\" = \"distribution\")")
    columns: dict[str, str] = _opt({}, doc="canonical name = source column")
    route_columns: dict[str, str] = _opt({}, doc="canonical name = column of the routes file, where it differs from [fibre.columns]")
    node_columns: dict[str, str] = _opt({}, doc="canonical name = column of the nodes file, where it differs from [fibre.columns]")
    reachable_distance_m: float = _opt(50.0, within=(0.0, 10_000.0), unit="m", doc="buildings this close to a route are reachable")
    distance_cap_m: float = _opt(500.0, within=(0.0, 100_000.0), above=True, unit="m", doc="fibre_distance_m is left empty beyond this distance")
    connection_distance_m: float = _opt(30.0, within=(0.0, 1000.0), unit="m", doc="a site outside any building links to the nearest within this")


@dataclass(frozen=True)
class Pipeline:
    """A whole pipeline file."""

    path: Path
    city: CityConfig
    output: OutputConfig
    buildings: BuildingsConfig | None = None
    panoramas: PanoramasConfig | None = None
    fibre: FibreConfig | None = None

    @property
    def network_name(self) -> str:
        """The fibre network's name: ``[fibre] network_name``, else the city's name and "fibre network"."""
        given = self.fibre.network_name if self.fibre is not None else None
        return given or f"{self.city.name} fibre network"

    def input_files(self) -> list[Path]:
        """Every input file the pipeline reads, the pipeline file first."""
        found = [self.path]
        for section in (self.city, self.output, self.buildings, self.panoramas, self.fibre):
            if section is None:
                continue
            found.extend(_files(section))
        return found


def _files(section: Any) -> list[Path]:
    found: list[Path] = []
    for f in fields(section):
        value = getattr(section, f.name)
        if isinstance(value, Path) and f.metadata.get("exists"):
            found.append(value)
        for item in value if isinstance(value, list) else [value]:
            if dataclasses.is_dataclass(item):
                found.extend(_files(item))
    return found


_SECTIONS: dict[str, type] = {
    "city": CityConfig,
    "output": OutputConfig,
    "buildings": BuildingsConfig,
    "panoramas": PanoramasConfig,
    "fibre": FibreConfig,
}
_REQUIRED_SECTIONS = ("city", "output")


def read_pipeline(path: Path | str) -> Pipeline:
    """Read and validate a pipeline file.

    Parameters
    ----------
    path
        The TOML file. Relative paths inside it resolve against its folder.

    Raises
    ------
    ConfigError
        Naming every problem found (unknown keys, missing files, bad values).
    """
    path = Path(path).absolute()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "pipeline file not found", fix="give the path of a pipeline TOML file") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path.name, f"not valid TOML ({exc})", fix="fix the syntax") from exc
    except RecursionError as exc:  # tables or arrays nested thousands deep
        raise ConfigError(path.name, "not valid TOML (nested too deep)", fix="fix the syntax") from exc
    problems: list[str] = []
    sections: dict[str, Any] = {}
    for key in data:
        if key not in _SECTIONS:
            problems.append(_unknown(f"[{key}]", key, list(_SECTIONS)))
    for name, cls in _SECTIONS.items():
        table = data.get(name)
        if table is None:
            if name in _REQUIRED_SECTIONS:
                problems.append(f"[{name}] is missing")
            continue
        if not isinstance(table, dict):
            problems.append(f"{name} must be a table [{name}]")
            continue
        sections[name] = _build(cls, table, name, path.parent, problems)
    if problems:
        count = f"{len(problems)} problems: " if len(problems) > 1 else ""
        raise ConfigError(path.name, count + "; ".join(problems[:8]), fix="fix the pipeline file")
    return Pipeline(path=path, **sections)


def _nested(value: Any, hint: Any, where: str, base: Path, problems: list[str]) -> Any:
    """A sub-table (``[buildings.heights]``) or an array of tables (``[[buildings.extra]]``)."""
    section = where.strip("[]").replace("] ", ".")
    if typing.get_origin(hint) is list:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            problems.append(f"{where} must be an array of tables [[{section}]]")
            return None
        (item,) = typing.get_args(hint)
        built = [_build(item, v, section, base, problems) for v in value]
        return None if any(b is None for b in built) else built
    if not isinstance(value, dict):
        problems.append(f"{where} must be a table [{section}]")
        return None
    return _build(hint, value, section, base, problems)


def _unknown(where: str, key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (allowed: {', '.join(allowed)})"
    return f"unknown key {where}{hint}"


def _build(cls: type, table: dict[str, Any], section: str, base: Path, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    specs = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key in table:
        if key not in specs:
            problems.append(_unknown(f"[{section}] {key}", key, list(specs)))
    for name, spec in specs.items():
        where = f"[{section}] {name}"
        if name not in table:
            if spec.default is MISSING and spec.default_factory is MISSING:
                problems.append(f"{where} is missing ({spec.metadata.get('doc', 'required')})")
            continue
        value = _coerce(table[name], hints[name], where, base, spec.metadata, problems)
        if value is not None:
            values[name] = value
    if any(p.startswith(f"[{section}]") for p in problems):
        return None
    return cls(**values)


def _path(value: Any, where: str, base: Path, meta: Any, problems: list[str]) -> Path | None:
    """A path relative to the pipeline file's folder, a ``file://`` URL, or another fsspec URL (see :func:`_remote`)."""
    if not isinstance(value, str):
        problems.append(f"{where} must be a path string")
        return None
    if (url := url_parts(value)) is not None:
        if url[0] != "file":
            return _remote(value, url, where, base, meta, problems)
        value = "/" + url[1].lstrip("/")
    resolved = (base / value).resolve()
    if meta.get("exists") and not resolved.exists():
        problems.append(f"{where}: file {value} not found at {resolved}")
        return None
    return resolved


def _remote(value: str, url: tuple[str, str], where: str, base: Path, meta: Any, problems: list[str]) -> Path | None:
    """An input given as an fsspec URL: checked to exist there; the path of its copy beside the pipeline file."""
    try:
        import fsspec

        filesystem, inside = fsspec.core.url_to_fs(value)
        found = filesystem.exists(inside)
    except (ImportError, ValueError, OSError) as exc:
        problems.append(f"{where}: {value} cannot be opened ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
        return None
    if meta.get("exists") and not found:
        problems.append(f"{where}: file {value} not found")
        return None
    return remote_copy(base, *url)


def _strings(value: Any, where: str, meta: Any, problems: list[str]) -> dict[str, str] | None:
    """A table of strings (``[buildings.columns]``), its values among ``choices`` where the key has them."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(f"{where} must be a table of strings")
        return None
    wrong = [f"{k} = {v!r}" for k, v in value.items() if meta.get("choices") and v not in meta["choices"]]
    if wrong:
        problems.append(f"{where}: {', '.join(wrong)} (choose {', '.join(meta['choices'])})")
        return None
    return dict(value)


def _coerce(value: Any, hint: Any, where: str, base: Path, meta: Any, problems: list[str]) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in args if a is not type(None))
    if hint is Path:
        return _path(value, where, base, meta, problems)
    if dataclasses.is_dataclass(hint) or typing.get_origin(hint) is list:
        return _nested(value, hint, where, base, problems)
    if typing.get_origin(hint) is dict:
        return _strings(value, where, meta, problems)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        problems.append(f"{where} must be {hint.__name__}, not {type(value).__name__} {value!r}")
        return None
    if meta.get("choices") and value not in meta["choices"] and not (meta.get("pattern") and "%" in value):
        also = " or a pattern such as '%d.%m.%Y %H:%M:%S'" if meta.get("pattern") else ""
        problems.append(f"{where}: unknown format {value!r} (choose {', '.join(meta['choices'])}{also})")
        return None
    if meta.get("crs") and (bad := crs_problem(value, meta)):
        problems.append(f"{where}: {value!r} {bad}")
        return None
    if wrong := value_problem(value, meta):
        problems.append(f"{where} = {repr(value) if isinstance(value, str) else value}: {wrong}")
        return None
    return value
