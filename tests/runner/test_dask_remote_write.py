"""With a scheduler address, the new GeoPackage is written by a worker, not by the client (the run's process).

The cluster is a ``LocalCluster`` of two worker processes (``processes=True``): each worker has a process of
its own, so a write in the run's process cannot pass for one on a worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import sqlite3
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.conftest import RAW, pipeline_text
from tests.runner.conftest import closed_to_new_files, write_city
from twin.errors import OutputError
from twin.model import LAYERS
from twin.runner.swap import check_output

#: Layers whose rows carry the run's id or time: compared without those columns.
RUN_COLUMNS = {"qa_issues": ["run_id"], "runs": ["run_id", "started_at", "finished_at", "input_hashes"]}


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, Any]]:
    """A scheduler and two worker processes; its address and a client of the test's own."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as found, \
            distributed.Client(found) as client:
        yield found.scheduler_address, client


def _written_by(caplog: pytest.LogCaptureFixture) -> tuple[str, int]:
    """The worker and process that wrote the GeoPackage, as the run logged them."""
    found = [(r.worker, r.pid) for r in caplog.records if getattr(r, "event", None) == "written"]  # type: ignore[attr-defined]
    assert len(found) == 1, [r.getMessage() for r in caplog.records]
    return found[0]


def _pipeline(folder: Path) -> twin.Pipeline:
    folder.mkdir(parents=True)
    path = folder / "pipeline.toml"
    path.write_text(pipeline_text(folder / "out" / "cim.gpkg", raw=RAW), encoding="utf-8")
    return twin.read_pipeline(path)


def _rows(frame: pd.DataFrame, layer: str) -> pd.DataFrame:
    """The rows of `layer` without the run's id and time, geometry as WKB, in the order of their values."""
    plain = pd.DataFrame(frame.drop(columns=RUN_COLUMNS.get(layer, [])))
    if "geometry" in plain:
        plain["geometry"] = shapely.to_wkb(plain["geometry"].to_numpy(), hex=True)
    return plain.sort_values(list(plain.columns), kind="stable", na_position="last").reset_index(drop=True)


def _table(path: Path, name: str) -> pd.DataFrame:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return pd.read_sql(f'SELECT * FROM "{name}"', con)


def test_a_run_against_a_scheduler_publishes_the_local_engines_model_written_on_a_worker(
    tmp_path: Path, cluster: tuple[str, Any], caplog: pytest.LogCaptureFixture,
) -> None:
    address, client = cluster
    now = dt.datetime(2023, 5, 16, 12, tzinfo=dt.UTC)
    local = twin.run(_pipeline(tmp_path / "local"), report=False, now=now)
    with caplog.at_level(logging.INFO, logger="twin.runner.dask_engine"):
        remote = twin.run(_pipeline(tmp_path / "dask"), report=False, now=now, engine="dask", scheduler=address)
    worker, pid = _written_by(caplog)
    pids = client.run(os.getpid)
    assert worker in pids and pids[worker] == pid != os.getpid()
    assert remote.counts == local.counts
    check_output(remote.output, remote.counts)
    for name in LAYERS:  # every feature the same; the engines order some layers' rows differently
        expected, actual = (_rows(pyogrio.read_dataframe(r.output, layer=name), name) for r in (local, remote))
        assert len(actual) == local.counts[name], name
        pd.testing.assert_frame_equal(actual, expected, obj=name)
    assert local.counts["buildings"] == 2074 and local.counts["panorama_views"] > 0
    for table in ("layer_styles", "gpkg_data_columns", "gpkg_data_column_constraints"):  # finalise ran on the worker
        written, expected = (_table(r.output, table).drop(columns="update_time", errors="ignore") for r in (remote, local))
        assert len(written) >= 10, table
        pd.testing.assert_frame_equal(written, expected)
    assert sorted(p.name for p in remote.output.parent.iterdir()) == sorted(p.name for p in local.output.parent.iterdir())


def test_the_worker_with_the_least_memory_in_use_writes(tmp_path: Path, cluster: tuple[str, Any],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """A worker holding 400 MB of results is passed over, whichever of the two it is."""
    address, client = cluster
    pipeline = twin.read_pipeline(write_city(tmp_path))
    workers = sorted(client.run(os.getpid))
    for busy in workers:
        held = client.submit(np.ones, 50_000_000, workers=[busy], pure=False)
        held.result()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="twin.runner.dask_engine"):
            twin.run(pipeline, report=False, engine="dask", scheduler=address, force=True)
        held.release()
        writer, _ = _written_by(caplog)
        assert writer in workers and writer != busy


@contextlib.contextmanager
def _full(folder: Path) -> Iterator[None]:
    """The file system of `folder` full to 64 kB until the block ends."""
    filler = folder / "filler"
    with filler.open("wb") as file:
        while shutil.disk_usage(folder).free > 64 * 1024:
            try:
                file.write(bytes(min(1 << 20, shutil.disk_usage(folder).free - 64 * 1024)))
                file.flush()
            except OSError:
                break
    try:
        yield
    finally:
        filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system of its own (tmpfs, 16 MB); root only."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True, check=False,
    ).returncode != 0:
        pytest.skip("mounting a small file system needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("how", ["no new files", "full disk"])
def test_a_failed_write_on_the_worker_ends_as_a_failed_local_write(tmp_path: Path, cluster: tuple[str, Any],
                                                                    request: pytest.FixtureRequest, how: str) -> None:
    """Once the layers are built the output folder takes no new file, or its disk is full: the same one-line
    error, exit code and cause as the local engine's, and the published model byte for byte as before."""
    address, _ = cluster
    toml = write_city(tmp_path)
    if how == "full disk":
        disk = request.getfixturevalue("small_disk")
        toml.write_text(toml.read_text(encoding="utf-8").replace('path = "out/cim.gpkg"', f'path = "{disk}/cim.gpkg"'),
                        encoding="utf-8")
    pipeline = twin.read_pipeline(toml)
    published = twin.run(pipeline, report=False).output
    before = published.read_bytes()
    failed: dict[str, OutputError] = {}
    for engine, scheduler in (("local", None), ("dask", address)):
        with contextlib.ExitStack() as closing:
            def close(step: str, closing: contextlib.ExitStack = closing) -> None:
                if step == "changes found":  # the last step before the write
                    closing.enter_context((closed_to_new_files if how == "no new files" else _full)(published.parent))

            with pytest.raises(OutputError) as raised:
                twin.run(pipeline, report=False, force=True, engine=engine, scheduler=scheduler, checkpoint=close)
        failed[engine] = raised.value
        assert published.read_bytes() == before
        assert not [p.name for p in published.parent.iterdir() if ".tmp" in p.name]
    assert str(failed["dask"]) == str(failed["local"])
    words = "not writable (" if how == "no new files" else "no space left to write cim.gpkg ("
    assert str(failed["local"]).startswith(f"{published.parent}: {words}")
    assert str(failed["local"]).endswith("; the published model is unchanged")
    assert failed["dask"].exit_code == failed["local"].exit_code == 2
    local_cause, remote_cause = (failed[e].__cause__ for e in ("local", "dask"))
    assert type(remote_cause) is type(local_cause) and str(remote_cause) == str(local_cause)
    frames = [frame.name for frame in traceback.extract_tb(remote_cause.__traceback__)]  # raised on the worker
    assert "_write_here" in frames
    assert "_write_here" not in [frame.name for frame in traceback.extract_tb(local_cause.__traceback__)]


def test_a_write_given_to_another_worker_replaces_what_a_dead_worker_left(tmp_path: Path,
                                                                         cluster: tuple[str, Any]) -> None:
    """A worker that dies while writing leaves part of the run's temporary file, and dask gives the write to
    another worker: that one writes the whole file anew instead of refusing a file that exists."""
    from twin.runner.dask_engine import _write_here

    _, client = cluster
    path = tmp_path / ".cim.4242.tmp.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + bytes(4096))  # the start of a file cut short
    options = {"crs": "EPSG:25832", "published_name": "cim.gpkg", "language": "en"}
    written = client.submit(_write_here, path, {}, options, pure=False).result()
    assert written["pid"] != os.getpid()
    check_output(path, dict.fromkeys(LAYERS, 0))
