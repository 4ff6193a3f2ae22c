"""Models of another city than the sample, published in German and in English."""

from __future__ import annotations

from pathlib import Path

import pytest

import twin
from tests.test_second_city import ROOT, write_eastern_city


def other_city(folder: Path, language: str) -> Path:
    """Build the EPSG:25833 example city (``pipelines/example_25833.toml``) with ``[output] language``; its model."""
    write_eastern_city(folder / "data" / "example_25833")
    (folder / "pipelines").mkdir()
    text = (ROOT / "pipelines" / "example_25833.toml").read_text(encoding="utf-8")
    assert "\n[output]\n" in text
    pipeline = folder / "pipelines" / "example_25833.toml"
    pipeline.write_text(text.replace("\n[output]\n", f'\n[output]\nlanguage = "{language}"\nreport_map = true\n'),
                        encoding="utf-8")
    return twin.run(twin.read_pipeline(pipeline)).output


@pytest.fixture(scope="session")
def english_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example city in EPSG:25833, published with ``language = "en"``."""
    return other_city(tmp_path_factory.mktemp("english_city"), "en")


@pytest.fixture(scope="session")
def german_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same city published with ``language = "de"``."""
    return other_city(tmp_path_factory.mktemp("german_city"), "de")
