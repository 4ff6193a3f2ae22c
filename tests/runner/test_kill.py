"""A run killed with SIGKILL at any step leaves the old or the new model, complete and valid."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.runner.conftest import read_buildings, write_buildings, write_city
from twin.model import LAYERS

KILL_POINTS = 24
KILL_ENV = "TWIN_KILL_AT_CHECKPOINT"


def model_content(path: Path) -> dict[str, pd.DataFrame]:
    """Every layer of a model, without what differs between two runs on the same inputs (run ids, times)."""
    layers = {}
    for name in LAYERS:
        frame = pyogrio.read_dataframe(path, layer=name, use_arrow=True)
        if name == "runs":
            frame = frame[["status", "software_version"]]
        if name == "changes":
            frame = frame.drop(columns=["run_id"])
        plain = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
        if "geometry" in frame:
            plain["wkb"] = shapely.to_wkb(frame.geometry.to_numpy(), hex=True)
        layers[name] = plain
    return layers


def assert_valid(path: Path) -> None:
    """SQLite finds no damage, the file is in rollback-journal mode, every layer reads."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        con.close()
    assert {str(n) for n, _ in pyogrio.list_layers(path)} >= set(LAYERS)
    for name in LAYERS:
        pyogrio.read_arrow(path, layer=name)


def same_content(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> bool:
    return a.keys() == b.keys() and all(a[k].equals(b[k]) for k in a)


def edit_inputs(raw: Path) -> None:
    """Move one building, delete one, change an attribute of one."""
    frame = read_buildings(raw)
    frame.loc[4, "geometry"] = shapely.affinity.translate(frame.loc[4, "geometry"], 1.5, 0)
    frame.loc[8, "name"] = "Rathausplatz 1"
    write_buildings(raw, frame.drop(index=12))


def _cli(pipeline: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "twin", "run", "-q", str(pipeline)], capture_output=True, text=True,
                          check=False, env={**os.environ, **env}, timeout=60)


@pytest.fixture(scope="module")
def steps(scene: tuple[Path, Path, Path]) -> list[str]:
    """The name of every step of the run after the edit, in order."""
    base = scene[0]
    listed = _cli(shutil.copytree(base, base.parent / "listing") / "city.toml", **{KILL_ENV: "list"})
    assert listed.returncode == 0, listed.stderr
    return [line.removeprefix("checkpoint: ") for line in listed.stderr.splitlines() if line.startswith("checkpoint: ")]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A city with a published model and edited inputs; the model before and the model a run must publish."""
    base = tmp_path_factory.mktemp("kill") / "city"
    pipeline = write_city(base, buildings=40)
    twin.run(twin.read_pipeline(pipeline), report=False)
    old = base.parent / "old.gpkg"
    shutil.copyfile(base / "out" / "cim.gpkg", old)
    edit_inputs(base / "raw")
    reference = base.parent / "reference"
    shutil.copytree(base, reference)
    twin.run(twin.read_pipeline(reference / "city.toml"), report=False)
    return base, old, reference / "out" / "cim.gpkg"


@pytest.mark.slow
def test_a_killed_run_leaves_the_old_or_the_new_model(scene: tuple[Path, Path, Path], steps: list[str]) -> None:
    base, old, new = scene
    assert len(steps) >= 30, steps
    points = sorted({round(1 + i * (len(steps) - 1) / (KILL_POINTS - 1)) for i in range(KILL_POINTS)})
    assert len(points) >= 20
    old_bytes, old_content, new_content = old.read_bytes(), model_content(old), model_content(new)

    def kill_at(point: int) -> tuple[int, str]:
        folder = shutil.copytree(base, base.parent / f"k{point}")
        done = _cli(folder / "city.toml", **{KILL_ENV: str(point)})
        assert done.returncode == -9, (point, done.stderr)
        published = folder / "out" / "cim.gpkg"
        assert_valid(published)
        if published.read_bytes() == old_bytes:
            return point, "old"
        assert same_content(model_content(published), new_content), f"killed at {steps[point - 1]}"
        return point, "new"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(pool.map(kill_at, points))
    assert set(outcomes.values()) == {"old", "new"}
    assert outcomes[points[0]] == "old"
    assert outcomes[points[-1]] == "new"
    assert not same_content(old_content, new_content)


@pytest.mark.parametrize("step", [f"write 5/{len(LAYERS)}", "publish: previous kept"])
def test_the_next_run_cleans_up_and_publishes(
    scene: tuple[Path, Path, Path], steps: list[str], tmp_path: Path, step: str
) -> None:
    base, _, new = scene
    folder = shutil.copytree(base, tmp_path / "city")
    assert _cli(folder / "city.toml", **{KILL_ENV: str(steps.index(step) + 1)}).returncode == -9
    result = twin.run(twin.read_pipeline(folder / "city.toml"), report=False)
    names = sorted(p.name for p in (folder / "out").iterdir())
    assert not [n for n in names if ".tmp" in n or ".link" in n or n.endswith(("-journal", "-wal", "-shm"))], names
    assert not [p.name for p in (folder / "out" / ".cim.stages").iterdir() if p.name.startswith(".")]
    assert_valid(result.output)
    content, expected = model_content(result.output), model_content(new)
    assert all(content[k].equals(expected[k]) for k in LAYERS if k not in {"changes", "runs"})


def test_a_killed_unchanged_run_leaves_the_model_valid(scene: tuple[Path, Path, Path]) -> None:
    new = scene[2]
    city = new.parent.parent
    listed = _cli(shutil.copytree(city, city.parent / "unchanged-listing") / "city.toml", **{KILL_ENV: "list"})
    steps = [line for line in listed.stderr.splitlines() if line.startswith("checkpoint: ")]
    assert "checkpoint: publish: copied" in steps
    before, content = new.read_bytes(), model_content(new)

    def kill_at(point: int) -> str:
        folder = shutil.copytree(city, city.parent / f"u{point}")
        assert _cli(folder / "city.toml", **{KILL_ENV: str(point)}).returncode == -9
        published = folder / "out" / "cim.gpkg"
        assert_valid(published)
        if published.read_bytes() == before:
            return "old"
        runs = pyogrio.read_dataframe(published, layer="runs", use_arrow=True)
        assert len(runs) == 3
        recorded = model_content(published)
        assert all(recorded[k].equals(content[k]) for k in LAYERS if k not in {"changes", "runs"})
        assert recorded["changes"].empty
        return "new"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(kill_at, sorted({*range(1, len(steps) + 1, 2), len(steps)})))
    assert outcomes[0] == "old"
    assert outcomes[-1] == "new"


def test_a_killed_first_run_publishes_nothing(tmp_path: Path) -> None:
    pipeline = write_city(tmp_path, buildings=20)
    assert _cli(pipeline, **{KILL_ENV: "20"}).returncode == -9
    out = tmp_path / "out"
    assert not (out / "cim.gpkg").exists()
    assert [p.name for p in out.glob(".cim.*.tmp.gpkg")]
    result = twin.run(twin.read_pipeline(pipeline), report=False)
    assert_valid(result.output)
    assert not list(out.glob(".cim.*.tmp.gpkg*"))
