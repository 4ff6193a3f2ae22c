"""GDAL's GeoPackage validator on the built model: the current one and the one of Debian's GDAL 3.6."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qgis

SYSTEM_PYTHON = Path("/usr/bin/python3")
DEBIAN_VALIDATOR = Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py")
ARGS = ["-k", "--extra", "--warning-as-error"]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, env=env)


def test_current_gdal_validator_passes(built_model: Path) -> None:
    try:
        import osgeo_utils.samples.validate_gpkg  # noqa: F401
    except ImportError:
        pytest.skip("gdal-utils is not installed in this environment; run make .venv/.installed")
    done = _run([sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", *ARGS, str(built_model)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""


def test_current_gdal_validator_passes_without_k(built_model: Path) -> None:
    try:
        import osgeo_utils.samples.validate_gpkg  # noqa: F401
    except ImportError:
        pytest.skip("gdal-utils is not installed in this environment; run make .venv/.installed")
    done = _run([sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", "--extra", "--warning-as-error",
                 str(built_model)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_debian_gdal_validator_passes(built_model: Path) -> None:
    if not DEBIAN_VALIDATOR.exists() or not SYSTEM_PYTHON.exists():
        pytest.skip(f"{DEBIAN_VALIDATOR} is absent; install Debian's python3-gdal (make system-packages)")
    probe = _run([str(SYSTEM_PYTHON), "-c", "from osgeo import gdal; print(gdal.__version__)"])
    if probe.returncode != 0:
        pytest.skip("Debian's python3-gdal is not importable by /usr/bin/python3 (make system-packages)")
    done = _run([str(SYSTEM_PYTHON), str(DEBIAN_VALIDATOR), *ARGS, str(built_model)])
    assert done.returncode == 0, f"GDAL {probe.stdout.strip()}: {done.stdout}{done.stderr}"
    assert done.stdout.strip() == ""


def test_validator_catches_a_broken_file(built_model: Path, tmp_path: Path) -> None:
    """The check can fail: a layer whose CRS is not defined in the file is reported."""
    import shutil
    import sqlite3

    broken = tmp_path / "broken.gpkg"
    shutil.copyfile(built_model, broken)
    with sqlite3.connect(broken) as con:
        con.execute("UPDATE gpkg_geometry_columns SET srs_id = 4711 WHERE table_name = 'buildings'")
    con.close()
    done = _run([sys.executable, "-m", "osgeo_utils.samples.validate_gpkg", *ARGS, str(broken)])
    assert done.returncode != 0


def test_both_validators_pass_on_an_english_model_of_another_city(english_city: Path) -> None:
    """``[output] language = "en"`` changes only texts: the file stays a valid GeoPackage for both GDALs."""
    test_current_gdal_validator_passes(english_city)
    test_debian_gdal_validator_passes(english_city)
