"""Inputs given as fsspec URLs: copied beside the pipeline file, only when they changed, then read like local files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fsspec
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal

import twin
from tests.conftest import pipeline_text
from twin.errors import ConfigError
from twin.runner.validate import validate

RAW = Path(__file__).resolve().parents[2] / "data" / "raw"


@pytest.fixture
def store() -> Iterator[fsspec.AbstractFileSystem]:
    """fsspec's in-memory file system holding the sample's footprints and panoramas under memory://city/."""
    memory = fsspec.filesystem("memory")
    for path in sorted((RAW / "buildings").iterdir()):
        memory.pipe_file(f"/city/buildings/{path.name}", path.read_bytes())
    memory.pipe_file("/city/panoramas/recordings.csv", (RAW / "panoramas" / "recordings.csv").read_bytes())
    yield memory
    memory.rm("/city", recursive=True)


def _pipeline(folder: Path, buildings: str, panoramas: str, routes: str) -> twin.Pipeline:
    folder.mkdir(parents=True, exist_ok=True)
    text = pipeline_text(
        folder / "out" / "cim.gpkg",
        buildings=f'path = "{buildings}"\nformat = "alkis"',
        panoramas=f'path = "{panoramas}"\nformat = "cyclomedia"\nstreets = "{RAW}/streets/streets.geojson"',
        fibre=f'routes = "{routes}"\nnodes = "{RAW}/fibre/nodes.geojson"\nhub = "Rathaus"',
    )
    (folder / "pipeline.toml").write_text(text, encoding="utf-8")
    return twin.read_pipeline(folder / "pipeline.toml")


def test_inputs_from_fsspec_urls_give_the_model_of_local_files(tmp_path: Path, store: fsspec.AbstractFileSystem) -> None:
    local = _pipeline(tmp_path / "local", f"{RAW}/buildings/hausumringe.shp", f"{RAW}/panoramas/recordings.csv",
                      f"{RAW}/fibre/routes.geojson")
    remote = _pipeline(tmp_path / "remote", "memory://city/buildings/hausumringe.shp",
                       "memory://city/panoramas/recordings.csv", f"file://{RAW}/fibre/routes.geojson")
    assert remote.fibre is not None and remote.fibre.routes == RAW / "fibre" / "routes.geojson"
    copy = tmp_path / "remote" / ".twin-inputs" / "memory" / "city" / "buildings" / "hausumringe.shp"
    assert remote.buildings is not None and remote.buildings.path == copy
    assert validate(remote).counts["buildings"] == 2074  # validating copies the inputs, as a run does
    expected = twin.run(local, report=False)
    first = twin.run(remote, report=False)
    for layer in ("buildings", "panoramas", "fibre_routes"):
        assert_geodataframe_equal(pyogrio.read_dataframe(first.output, layer=layer),
                                  pyogrio.read_dataframe(expected.output, layer=layer))
    assert sorted(p.name for p in copy.parent.iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in (RAW / "buildings").iterdir())
    copied_at = copy.stat().st_mtime_ns

    again = twin.run(twin.read_pipeline(remote.path), report=False)
    assert again.stages == {"buildings": "unchanged", "panoramas": "unchanged", "fibre": "unchanged",
                            "link": "unchanged"}
    assert copy.stat().st_mtime_ns == copied_at  # the same version in the store: not copied again

    csv = (RAW / "panoramas" / "recordings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    store.pipe_file("/city/panoramas/recordings.csv", "".join(csv[:-50]).encode())
    changed = twin.run(twin.read_pipeline(remote.path), report=False)
    assert changed.stages["panoramas"] == "built" and changed.stages["buildings"] == "reused"
    assert changed.counts["panoramas"] < first.counts["panoramas"]


def test_a_missing_url_is_named_with_the_other_problems(tmp_path: Path, store: fsspec.AbstractFileSystem) -> None:
    with pytest.raises(ConfigError) as caught:
        _pipeline(tmp_path, "memory://city/buildings/missing.shp", "memory://city/panoramas/recordings.csv",
                  "nosuchprotocol://bucket/routes.geojson")
    message = str(caught.value)
    assert "[buildings] path: file memory://city/buildings/missing.shp not found" in message
    assert "[fibre] routes: nosuchprotocol://bucket/routes.geojson cannot be opened (Protocol not known: nosuchprotocol)" \
        in message
