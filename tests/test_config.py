from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import RAW, PipelineFactory
from twin.config import read_pipeline
from twin.errors import ConfigError, InputError


def test_shipped_pipeline_resolves_paths_against_its_folder() -> None:
    pipeline = read_pipeline(Path(__file__).parent.parent / "pipelines" / "kaiserslautern.toml")
    assert pipeline.city.crs == "EPSG:25832"
    assert pipeline.buildings is not None
    assert pipeline.buildings.path == (RAW / "buildings" / "hausumringe.shp").resolve()
    assert pipeline.output.path.name == "kaiserslautern_cim.gpkg"


def test_unknown_key_is_named_with_a_suggestion(make_pipeline: PipelineFactory) -> None:
    path = make_pipeline(city='name = "X"\ncsr = "EPSG:25832"')
    with pytest.raises(ConfigError, match=r"unknown key \[city\] csr \(did you mean 'crs'\?\)"):
        read_pipeline(path)


def test_unknown_section(make_pipeline: PipelineFactory) -> None:
    path = make_pipeline(fibres='routes = "x"')
    with pytest.raises(ConfigError, match=r"unknown key \[fibres\]"):
        read_pipeline(path)


def test_missing_file_names_key_and_path(make_pipeline: PipelineFactory, tmp_path: Path) -> None:
    path = make_pipeline(buildings='path = "nowhere.shp"')
    with pytest.raises(ConfigError) as info:
        read_pipeline(path)
    assert str(info.value) == (
        f"city.toml: [buildings] path: file nowhere.shp not found at {tmp_path / 'nowhere.shp'}; fix the pipeline file"
    )


def test_bad_crs_and_format_reported_together(make_pipeline: PipelineFactory) -> None:
    path = make_pipeline(
        city='name = "X"\ncrs = "EPSG:999999"',
        buildings=f'path = "{RAW}/buildings/hausumringe.shp"\nformat = "cadastre"',
    )
    with pytest.raises(ConfigError) as info:
        read_pipeline(path)
    message = str(info.value)
    assert message.startswith("city.toml: 2 problems:")
    assert "'EPSG:999999' is not a CRS pyproj knows" in message
    assert "unknown format 'cadastre' (choose alkis, osm, generic)" in message
    assert "\n" not in message


def test_wrong_type(make_pipeline: PipelineFactory) -> None:
    path = make_pipeline(fibre=f'routes = "{RAW}/fibre/routes.geojson"\nsnap_tolerance_m = "half a metre"')
    with pytest.raises(ConfigError, match=r"\[fibre\] snap_tolerance_m must be float, not str"):
        read_pipeline(path)


def test_missing_required_section(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[city]\nname = "X"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[output\] is missing"):
        read_pipeline(path)


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[city\nname=", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        read_pipeline(path)


def test_missing_pipeline_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pipeline file not found"):
        read_pipeline(tmp_path / "absent.toml")


@pytest.mark.parametrize(("crs", "why"), [
    ("EPSG:4326", "is not projected (its coordinates are degrees)"),
    ("EPSG:3857", "is a Mercator projection (Web Mercator)"),
    ("EPSG:2263", "measures in US survey foot, not metres"),
])
def test_the_model_crs_must_be_projected_in_metres(make_pipeline: PipelineFactory, crs: str, why: str) -> None:
    """Degrees drop every building as a sliver; Web Mercator makes areas 2.4 times too large: refused up front."""
    path = make_pipeline(city=f'name = "X"\ncrs = "{crs}"')
    with pytest.raises(ConfigError, match=re.escape(f"[city] crs: '{crs}' {why}") + ".*use the town's projected CRS"):
        read_pipeline(path)


@pytest.mark.parametrize("crs", ["EPSG:25832", "EPSG:25833", "EPSG:5514", "EPSG:2180", "EPSG:3794", "EPSG:2056",
                                 "EPSG:31467", "EPSG:27700", "EPSG:32633"])
def test_national_and_utm_crss_are_accepted(make_pipeline: PipelineFactory, crs: str) -> None:
    path = make_pipeline(city=f'name = "X"\ncrs = "{crs}"')
    assert read_pipeline(path).city.crs == crs
