"""Shared fixtures: the shipped sample data, pipeline files pointing at it, one built model."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

import twin

# The suite draws the same examples on every run, so a result is reproducible on any machine;
# HYPOTHESIS_PROFILE=explore draws fresh random examples (and more of them) to look for new failures.
# No deadline: a slow example on a loaded machine is not a failure.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"

PipelineFactory = Callable[..., Path]


def pipeline_text(output: Path, raw: Path = RAW, **overrides: str) -> str:
    """The shipped Kaiserslautern pipeline, reading `raw` and writing `output`."""
    sections = {
        "city": f'name = "Kaiserslautern"\ncrs = "EPSG:25832"\nboundary = "{raw}/boundary.geojson"',
        "output": f'path = "{output}"',
        "buildings": f'path = "{raw}/buildings/hausumringe.shp"\nformat = "alkis"',
        "panoramas": f'path = "{raw}/panoramas/recordings.csv"\nformat = "cyclomedia"\nstreets = "{raw}/streets/streets.geojson"',
        "fibre": f'routes = "{raw}/fibre/routes.geojson"\nnodes = "{raw}/fibre/nodes.geojson"\nhub = "Rathaus"',
    }
    sections.update(overrides)
    return "\n\n".join(f"[{name}]\n{body}" for name, body in sections.items() if body)


@pytest.fixture
def make_pipeline(tmp_path: Path) -> PipelineFactory:
    """Write a pipeline file into tmp_path; keyword arguments replace whole sections."""

    def make(name: str = "city.toml", **overrides: str) -> Path:
        path = tmp_path / name
        path.write_text(pipeline_text(tmp_path / "out" / "cim.gpkg", **overrides), encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def built_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample city model, built once per test session."""
    folder = tmp_path_factory.mktemp("model")
    path = folder / "pipeline.toml"
    path.write_text(pipeline_text(folder / "kaiserslautern_cim.gpkg"), encoding="utf-8")
    return twin.run(twin.read_pipeline(path)).output


def grid_of(frame: object, true_deg: object) -> object:
    """Headings from true north as grid bearings of the frame's CRS at its points, by pyproj's meridian convergence.

    An independent measure of what the readers do: they project a step along the heading instead.
    """
    import numpy as np
    import pyproj

    points = frame.geometry.to_crs("EPSG:4326")  # type: ignore[attr-defined]
    convergence = pyproj.Proj(frame.crs).get_factors(points.x.to_numpy(), points.y.to_numpy()).meridian_convergence  # type: ignore[attr-defined]
    return (np.asarray(true_deg, dtype="float64") - convergence) % 360.0
