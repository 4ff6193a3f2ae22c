"""A run: build every layer, write a new GeoPackage beside the target, check it, swap it in."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyogrio

from twin import __version__
from twin.config import Pipeline
from twin.errors import PublishError
from twin.model import LAYERS, conform
from twin.publish.geopackage import write_geopackage
from twin.runner.stages import build_layers

__all__ = ["RunResult", "run"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunResult:
    """What a run did."""

    run_id: str
    output: Path
    counts: dict[str, int] = field(default_factory=dict)


def run(pipeline: Pipeline, *, progress: Progress | None = None, now: dt.datetime | None = None) -> RunResult:
    """Build the city model described by `pipeline` and publish it atomically.

    Parameters
    ----------
    pipeline
        A validated pipeline (see :func:`twin.config.read_pipeline`).
    progress
        Called as ``progress(stage, done, total)``.
    now
        Start time of the run (UTC); the clock when not given.
    """
    started = now or dt.datetime.now(dt.UTC)
    run_id = started.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    target = pipeline.output.path
    target.parent.mkdir(parents=True, exist_ok=True)
    hashes = input_hashes(pipeline)
    layers = build_layers(pipeline, progress=progress)
    counts = {name: len(frame) for name, frame in layers.items()}
    layers["runs"] = _runs(target, run_id, started, hashes, counts)
    temporary = target.with_name(f".{target.stem}.{os.getpid()}.tmp.gpkg")
    try:
        write_geopackage(temporary, layers, crs=pipeline.city.crs, progress=progress)
        check_output(temporary, counts)
        _fsync(temporary)
        if target.exists() and pipeline.output.keep > 0:
            os.replace(target, target.with_name(f"{target.stem}.previous{target.suffix}"))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    log.info("published %s (%s)", target, ", ".join(f"{k} {v}" for k, v in counts.items()))
    return RunResult(run_id=run_id, output=target, counts=counts)


def input_hashes(pipeline: Pipeline) -> dict[str, str]:
    """SHA-256 of every input file (with a Shapefile's side files) and of the pipeline file."""
    hashes: dict[str, str] = {}
    for path in pipeline.input_files():
        files = sorted(path.rglob("*")) if path.is_dir() else _with_sidecars(path)
        digest = hashlib.sha256()
        for file in files:
            if file.is_file():
                digest.update(file.name.encode())
                with file.open("rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 20), b""):  # type: ignore[misc]
                        digest.update(block)
        hashes[str(path)] = digest.hexdigest()
    return hashes


def check_output(path: Path, counts: dict[str, int]) -> None:
    """Open the written file and check that every layer is there with the expected count."""
    found = {str(name) for name, _ in pyogrio.list_layers(path)}
    missing = set(LAYERS) - found
    if missing:
        raise PublishError(path.name, f"layers {', '.join(sorted(missing))} missing after writing")
    for name, expected in counts.items():
        actual = pyogrio.read_info(path, layer=name)["features"]
        if actual != expected:
            raise PublishError(f"{path.name}, layer {name}", f"{actual} features written, {expected} expected")


def _runs(target: Path, run_id: str, started: dt.datetime, hashes: dict[str, str], counts: dict[str, int]) -> pd.DataFrame:
    row = pd.DataFrame(
        {
            "run_id": [run_id],
            "started_at": [started],
            "finished_at": [dt.datetime.now(dt.UTC)],
            "status": ["ok"],
            "input_hashes": [json.dumps(hashes, sort_keys=True)],
            "counts": [json.dumps(counts, sort_keys=True)],
            "software_version": [__version__],
        }
    )
    if target.exists():
        try:
            previous = pyogrio.read_dataframe(target, layer="runs", use_arrow=True)
            return conform(pd.concat([conform(previous, "runs"), conform(row, "runs")], ignore_index=True), "runs")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
            log.warning("%s: previous runs not readable; starting a new record", target.name)
    return conform(row, "runs")


def _with_sidecars(path: Path) -> list[Path]:
    if path.suffix.lower() != ".shp":
        return [path]
    return sorted(p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() in {".shp", ".shx", ".dbf", ".prj", ".cpg"})


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
