"""Stages whose inputs did not change are skipped; a run with nothing changed ends early."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pyogrio
import pytest

import twin
from tests.runner.conftest import read_buildings, write_buildings, write_city
from tests.runner.test_kill import assert_valid, model_content
from twin.config import read_pipeline
from twin.model import LAYERS
from twin.runner.state import file_hashes, stage_keys


def _run(pipeline: Path, **kwargs: object) -> twin.runner.RunResult:
    return twin.run(read_pipeline(pipeline), report=False, **kwargs)  # type: ignore[arg-type]


def test_an_unchanged_rerun_skips_every_stage_and_records_itself(city: Path) -> None:
    first = _run(city)
    assert first.stages == {"buildings": "built", "panoramas": "built", "fibre": "built", "link": "built"}
    second = _run(city)
    assert second.unchanged
    assert set(second.stages.values()) == {"unchanged"}
    assert second.summary == "changes: none"
    assert_valid(second.output)
    runs = pyogrio.read_dataframe(second.output, layer="runs", use_arrow=True)
    assert list(runs["run_id"]) == [first.run_id, second.run_id]
    assert json.loads(runs["counts"].iloc[1])["stages"]["buildings"] == "unchanged"
    assert pyogrio.read_info(second.output, layer="changes")["features"] == 0
    before, after = model_content(first.output.with_name("cim.previous.gpkg")), model_content(second.output)
    assert all(before[k].equals(after[k]) for k in LAYERS if k != "runs")


def test_an_unchanged_rerun_is_a_small_fraction_of_a_full_run(tmp_path: Path) -> None:
    pipeline = write_city(tmp_path, buildings=3000)
    clock = time.perf_counter()
    _run(pipeline)
    full = time.perf_counter() - clock
    clock = time.perf_counter()
    assert _run(pipeline).unchanged
    again = time.perf_counter() - clock
    assert again < full / 3, (again, full)


def test_editing_fibre_rebuilds_only_fibre_and_link(city: Path) -> None:
    _run(city)
    text = city.read_text(encoding="utf-8").replace('hub = "Rathaus"', 'hub = "Rathaus"\nreachable_distance_m = 20.0')
    city.write_text(text, encoding="utf-8")
    result = _run(city)
    assert result.stages == {"buildings": "reused", "panoramas": "reused", "fibre": "built", "link": "built"}
    assert result.changes["buildings"]["modified"] > 0


def test_a_version_change_changes_every_stage_key(city: Path) -> None:
    pipeline = read_pipeline(city)
    hashes = file_hashes(pipeline)
    old, new = stage_keys(pipeline, hashes, version="1.0.0"), stage_keys(pipeline, hashes, version="1.1.0")
    assert all(old[name] != new[name] for name in old)


def test_moving_the_city_folder_keeps_the_stage_keys(city: Path, tmp_path: Path) -> None:
    moved = shutil.copytree(city.parent, tmp_path / "moved")
    keys = [stage_keys(p, file_hashes(p)) for p in (read_pipeline(city), read_pipeline(moved / "city.toml"))]
    assert keys[0] == keys[1]


def test_reused_stages_give_the_same_model_as_a_full_run(city: Path, tmp_path: Path) -> None:
    _run(city)
    raw = city.parent / "raw"
    frame = read_buildings(raw)
    frame.loc[3, "GFK"] = "2000"
    write_buildings(raw, frame)
    incremental = _run(city)
    assert incremental.stages["panoramas"] == "reused"
    full = _run(city, force=True)
    assert set(full.stages.values()) == {"built"}
    assert full.summary == "changes: none"
    a = model_content(full.output.with_name("cim.previous.gpkg"))
    b = model_content(full.output)
    assert all(a[k].equals(b[k]) for k in LAYERS if k not in {"runs", "changes"})


@pytest.mark.parametrize("keep", [0, 2])
def test_generations_kept(tmp_path: Path, keep: int) -> None:
    pipeline = write_city(tmp_path)
    pipeline.write_text(pipeline.read_text(encoding="utf-8").replace("keep = 2", f"keep = {keep}"), encoding="utf-8")
    runs = [_run(pipeline, force=True).run_id for _ in range(keep + 2)]
    out = tmp_path / "out"
    kept = sorted(p.name for p in out.glob("*.gpkg"))
    names = ["cim.gpkg", *(["cim.previous.gpkg"] if keep else []), *(f"cim.previous-{g}.gpkg" for g in range(2, keep + 1))]
    assert kept == sorted(names)
    for generation, name in enumerate(names):
        recorded = pyogrio.read_dataframe(out / name, layer="runs", use_arrow=True)
        assert recorded["run_id"].iloc[-1] == runs[-1 - generation]


def test_comments_and_output_settings_rebuild_nothing(city: Path) -> None:
    _run(city)
    text = city.read_text(encoding="utf-8").replace("keep = 2", "keep = 3")
    city.write_text("# edited by operations\n" + text, encoding="utf-8")
    assert _run(city).unchanged


def test_files_unchanged_since_the_last_run_are_not_read_again(city: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from twin.runner import state

    raw = city.parent / "raw"
    hour_ago = time.time() - 3600
    for file in [*raw.iterdir(), city]:
        os.utime(file, (hour_ago, hour_ago))
    _run(city)
    read: list[str] = []
    original = state._hash_path
    monkeypatch.setattr(state, "_hash_path", lambda path: read.append(path.name) or original(path))
    assert _run(city).unchanged
    assert read == []  # every file kept its size, time and inode: its recorded hash is used
    buildings = read_buildings(raw)
    buildings.loc[0, "GFK"] = "2000"
    write_buildings(raw, buildings)  # new content, new time
    again = _run(city)
    assert read == ["buildings.gpkg"]
    assert again.stages["buildings"] == "built"
    read.clear()
    assert _run(city, force=True).stages["buildings"] == "built"
    assert len(read) == len(list(read_pipeline(city).input_files()))  # --force reads every file again


def test_editing_a_heights_or_extra_footprint_file_rebuilds_the_buildings(tmp_path: Path) -> None:
    """Files named in sub-tables ([buildings.heights], [[buildings.extra]]) count by their content, as the others."""
    from tests.transforms.test_buildings_pipeline import _inputs, osm_added_pipeline

    files = _inputs(tmp_path)
    path = osm_added_pipeline(tmp_path, files, heights=True)
    first = _run(path)
    files["lod2"].write_text("OI,measuredHeight\nDERPLI02,9.5\n", encoding="utf-8")
    second = _run(path)
    assert second.stages["buildings"] == "built"
    heights = pyogrio.read_dataframe(second.output, layer="buildings").set_index("building_id")["height_m"]
    assert heights["DERPLI02"] == 9.5 and first.counts["buildings"] == second.counts["buildings"]
    files["osm"].write_text(files["osm"].read_text(encoding="utf-8").replace('id="202"', 'id="203"'), encoding="utf-8")
    third = _run(path)
    assert third.stages["buildings"] == "built"
    ids = set(pyogrio.read_dataframe(third.output, layer="buildings")["building_id"])
    assert "way/203" in ids and "way/202" not in ids
