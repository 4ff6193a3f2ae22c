"""The package's shape, as ARCHITECTURE.md draws it: imports point one way, transforms are pure,
modules stay small, and each fact (stages, formats, codes, thresholds) lives in one place."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import networkx as nx
import pytest

import twin
from twin import config
from twin.model import LAYERS
from twin.model.formats import FORMATS, names

PACKAGE = Path(twin.__file__).parent
ROOT = PACKAGE.parent

#: Layers of the package, lowest first; a module may import its own layer and those below it.
#: ``twin`` itself (the notebook facade) may import anything.
LAYER_OF = {
    "twin._version": 0, "twin.errors": 0, "twin.log": 0, "twin.parallel": 0, "twin.gdal_options": 0,
    "twin.model": 1, "twin.config": 2, "twin.config_values": 2,
    "twin.sources": 3, "twin.transforms": 3, "twin.publish": 3,
    "twin.runner": 4,
    "twin.init": 5, "twin.api": 5, "twin.sample": 5,
    "twin.cli": 6, "twin.__main__": 7,
}
#: Packages of one layer that must not import each other.
APART = {"twin.sources": {"twin.transforms", "twin.publish"}, "twin.transforms": {"twin.sources", "twin.publish"},
         "twin.publish": {"twin.sources", "twin.transforms"}, "twin.init": {"twin.api", "twin.sample"},
         "twin.api": {"twin.init", "twin.sample"}, "twin.sample": {"twin.init", "twin.api"}}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every twin module `name` imports, at the top or inside a function (``from twin import x`` names twin.x)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        found.update(t for t in targets if t == "twin" or t.startswith("twin."))
    return found - {name}


def _graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target in _imports(name, path, set(modules)):
            graph.add_edge(name, target)
    return graph


def _layer(module: str) -> tuple[str, int]:
    for prefix in sorted(LAYER_OF, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, LAYER_OF[prefix]
    raise AssertionError(f"{module} belongs to no layer; add its package to LAYER_OF and ARCHITECTURE.md")


def test_the_import_graph_has_no_cycle() -> None:
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_imports_point_one_way() -> None:
    wrong = []
    for source, target in _graph().edges:
        if source == "twin":
            continue
        (source_pkg, source_layer), (target_pkg, target_layer) = _layer(source), _layer(target)
        if target == "twin" or target_layer > source_layer or target_pkg in APART.get(source_pkg, set()):
            wrong.append(f"{source} -> {target}")
    assert not wrong, "imports against the direction of ARCHITECTURE.md:\n" + "\n".join(wrong)


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    """The rules above find what they look for (a reader importing a transform, a relative import)."""
    reader = tmp_path / "reader.py"
    reader.write_text("from twin.transforms.capture import capture_tracks\nfrom . import vector\n")
    found = _imports("twin.sources.reader", reader, {"twin.sources.vector"})
    assert found == {"twin.transforms.capture", "twin.sources.vector"}
    assert _layer("twin.sources.reader")[1] < _layer("twin.transforms.capture")[1] + 1
    assert "twin.transforms" in APART["twin.sources"]


#: What a transform must not touch: files, databases, the network, processes, the clock, the terminal.
FORBIDDEN_MODULES = {"sqlite3", "pyogrio", "fiona", "os", "shutil", "subprocess", "socket", "urllib", "requests",
                     "tempfile", "glob", "io", "time", "pathlib", "zipfile", "json"}
FORBIDDEN_CALLS = {"open", "print", "input"}
FORBIDDEN_ATTRIBUTES = {"now", "today", "utcnow", "read_file", "to_file", "read_parquet", "to_parquet", "read_csv",
                        "to_csv", "read_dataframe", "write_dataframe", "read_text", "write_text", "read_bytes",
                        "write_bytes", "getenv", "environ"}


def _impurities(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                   for stmt in block.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            found.append(f"{node.func.id}() on line {node.lineno}")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f".{node.attr} on line {node.lineno}")
    return found


def test_transforms_do_no_io_and_read_no_clock() -> None:
    found = {p.name: _impurities(p) for p in sorted((PACKAGE / "transforms").glob("*.py"))}
    assert not {name: bad for name, bad in found.items() if bad}


def test_the_purity_check_finds_io(tmp_path: Path) -> None:
    module = tmp_path / "t.py"
    module.write_text("import sqlite3\nimport datetime as dt\nif TYPE_CHECKING:\n    from pathlib import Path\n"
                      "def f(p):\n    print(dt.datetime.now())\n    return open(p).read()\n")
    assert _impurities(module) == ["import sqlite3", "print() on line 6", ".now on line 6", "open() on line 7"]


def test_init_guesses_without_io() -> None:
    for name in ("guess.py", "panoramas.py", "fibre.py", "hints.py", "proposal.py"):
        assert not _impurities(PACKAGE / "init" / name), name


def test_no_module_is_over_500_lines() -> None:
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 500}
    assert not long


def test_architecture_md_names_every_package() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    missing = [name for name in sorted(packages) if f"{name}/" not in text]
    assert not missing, f"ARCHITECTURE.md does not describe {missing}"


# -- one place for each fact ----------------------------------------------------------------------------------------


def test_every_declared_format_has_a_reader_and_nothing_else_does() -> None:
    from twin.sources import READERS

    declared = {(section, name) for section, name in FORMATS}
    registered = {(section, name) for section, readers in READERS.items() for name in readers}
    assert registered == declared
    field_choices = {f.name: f.metadata["choices"] for f in dataclasses.fields(config.PanoramasConfig)}
    assert field_choices["format"] == names("panoramas")
    assert tuple(LAYERS["buildings"].field("source").values) == names("buildings")


def _inspected(path: str, columns: tuple[str, ...] = (), geometry: str | None = "Polygon", **kw: object) -> object:
    from twin.init.inspect import Source

    return Source(Path(path), None, geometry, "EPSG:25832", columns, 10, **kw)  # type: ignore[arg-type]


def _sources_of_each_format() -> dict[tuple[str, str], list[object]]:
    """For every format: a folder's worth of inspected sources that holds one of it (built in code)."""
    import pandas as pd

    from twin.init.inspect import IMAGES

    photos = {"first_photo": "a.jpg"}
    table = pd.DataFrame({"bild": ["a.jpg"], "zeit": ["2023-05-01T10:00:00Z"], "x": ["411200.5"], "y": ["5479100.2"]})
    return {
        ("buildings", "alkis"): [_inspected("hausumringe.shp", ("OI", "GFK"))],
        ("buildings", "osm"): [_inspected("city.osm.pbf", ("osm_id", "building"))],
        ("buildings", "generic"): [_inspected("gebaeude.gpkg", ("objekt_id", "funktion"))],
        ("panoramas", "cyclomedia"): [_inspected("recordings.csv", ("ImageId", "RecordedAt", "X", "Y"), None,
                                                 sample=table.set_axis(["ImageId", "RecordedAt", "X", "Y"], axis=1))],
        ("panoramas", "csv"): [_inspected("capture.csv", tuple(table.columns), None, sample=table)],
        ("panoramas", "json"): [_inspected("pictures.json", ("computed_geometry", "captured_at"), "Point")],
        ("panoramas", "images"): [_inspected("photos", (), IMAGES, geotagged=True, **photos)],
        ("panoramas", "gpx+images"): [_inspected("photos", (), IMAGES, tracks=(Path("drive.gpx"),), **photos)],
    }


def test_twin_init_proposes_every_declared_format() -> None:
    from twin.init import guess_pipeline

    examples = _sources_of_each_format()
    assert set(examples) == set(FORMATS), "a format twin init cannot propose (add an example here and teach init)"
    for (section, name), sources in examples.items():
        guess = guess_pipeline(sources)  # type: ignore[arg-type]
        assert guess.sections.get(section, {}).get("format") == name, (section, name, guess.sections)


def test_the_build_stages_are_named_once() -> None:
    from twin.runner.stages import STAGES
    from twin.runner.state import BUILD_STAGES
    from twin.runner.validate import STAGE_LAYERS

    assert tuple(STAGES) == BUILD_STAGES == tuple(STAGE_LAYERS)
    assert all(f.name in {s.name for s in dataclasses.fields(config.Pipeline)} for f in
               (dataclasses.fields(config.Pipeline)) if f.name in BUILD_STAGES)


def test_fibre_codes_are_the_models() -> None:
    model_codes = {*LAYERS["fibre_routes"].field("kind").values, *LAYERS["fibre_routes"].field("status").values,
                   *LAYERS["fibre_nodes"].field("kind").values}
    assert set(config.FIBRE_CODES) == model_codes
    dxf = next(f for f in dataclasses.fields(config.FibreConfig) if f.name == "dxf_layers")
    assert set(dxf.metadata["choices"]) == set(LAYERS["fibre_routes"].field("kind").values)


def _threshold_pairs() -> list[tuple[type, str, object, str]]:
    from twin.transforms import buildings as tb
    from twin.transforms import capture as tc
    from twin.transforms import capture_qa as tq
    from twin.transforms import coverage as tv
    from twin.transforms import network as tn
    from twin.transforms import routing, topology

    c = config
    return [
        (c.BuildingsConfig, "min_area_m2", tb.clean_buildings, "min_area_m2"),
        (c.BuildingsConfig, "duplicate_iou", tb.clean_buildings, "duplicate_iou"),
        (c.BuildingsConfig, "duplicate_tolerance_m", tb.clean_buildings, "duplicate_tolerance_m"),
        (c.BuildingsConfig, "storey_height_m", tb.building_heights, "storey_height_m"),
        (c.BuildingsConfig, "default_height_m", tb.building_heights, "fallback_height_m"),
        (c.ExtraBuildingsConfig, "min_overlap", tb.merge_sources, "min_overlap"),
        (c.ExtraBuildingsConfig, "mode", tb.merge_sources, "mode"),
        (c.PanoramasConfig, "duplicate_distance_m", tq.check_capture, "duplicate_distance_m"),
        (c.PanoramasConfig, "duplicate_angle_deg", tq.check_capture, "duplicate_angle_deg"),
        (c.PanoramasConfig, "max_speed_kmh", tq.check_capture, "max_speed_kmh"),
        (c.PanoramasConfig, "max_accuracy_m", tq.check_capture, "max_accuracy_m"),
        (c.PanoramasConfig, "max_deviation_m", tq.check_capture, "max_deviation_m"),
        (c.PanoramasConfig, "max_gap_s", tq.split_sequences, "cut_time_s"),
        (c.PanoramasConfig, "cut_distance_m", tq.split_sequences, "cut_distance_m"),
        (c.PanoramasConfig, "coverage_radius_m", tc.capture_coverage, "radius_m"),
        (c.PanoramasConfig, "coverage_radius_m", tv.street_coverage, "radius_m"),
        (c.PanoramasConfig, "campaign_min_share", tv.street_coverage, "min_share"),
        (c.PanoramasConfig, "view_distance_m", tc.buildings_with_panoramas, "distance_m"),
        (c.PanoramasConfig, "view_fov_deg", tc.buildings_with_panoramas, "fov_deg"),
        (c.FibreConfig, "snap_tolerance_m", topology.network_topology, "snap_tolerance_m"),
        (c.FibreConfig, "snap_tolerance_m", routing.RouteNetwork, "tolerance_m"),
        (c.FibreConfig, "gap_report_m", topology.network_topology, "gap_report_m"),
        (c.FibreConfig, "max_network_parts", topology.network_topology, "max_network_parts"),
        (c.FibreConfig, "connection_distance_m", tn.site_buildings, "max_distance_m"),
        (c.FibreConfig, "reachable_distance_m", tn.buildings_with_fibre, "reachable_distance_m"),
        (c.FibreConfig, "distance_cap_m", tn.buildings_with_fibre, "distance_cap_m"),
    ]


#: Numeric settings that tune a reader or the output, not a transform (no keyword default to agree with).
NOT_TRANSFORM_SETTINGS = {"leap_seconds", "time_offset_s", "keep"}


@pytest.mark.parametrize(("section", "setting", "function", "keyword"), _threshold_pairs(),
                         ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", ""))
def test_a_settings_default_is_its_transforms_default(section: type, setting: str, function: object,
                                                      keyword: str) -> None:
    default = {f.name: f.default for f in dataclasses.fields(section)}[setting]
    assert inspect.signature(function).parameters[keyword].default == default  # type: ignore[arg-type]


def test_every_threshold_setting_is_paired_with_its_transform() -> None:
    paired = {(section, setting) for section, setting, _, _ in _threshold_pairs()}
    loose = [f"{cls.__name__}.{f.name}" for cls in (config.BuildingsConfig, config.ExtraBuildingsConfig,
                                                     config.PanoramasConfig, config.FibreConfig)
             for f in dataclasses.fields(cls)
             if "float" in str(f.type) and (cls, f.name) not in paired and f.name not in NOT_TRANSFORM_SETTINGS]
    assert not loose, f"settings whose default no test compares with a transform's: {loose}"
