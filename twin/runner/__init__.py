"""A run: lock the output, skip what did not change, build the rest, publish atomically.

The steps, each in its own module:

- :mod:`twin.runner.lock`: one run per output at a time (``fcntl.flock``);
- :mod:`twin.runner.state`: input hashes, stage keys, the last published run;
- :mod:`twin.runner.cache`: build-stage results kept for the next run;
- :mod:`twin.runner.stages`: the stages themselves;
- :mod:`twin.runner.swap`: write -> check -> fsync -> ``os.replace``.

When nothing changed since the last successful run (same stage keys, same
software version), the run copies the published model, records itself in
``runs`` with an empty ``changes`` layer and publishes the copy: the model
is unchanged, the record shows that the night ran. ``force=True`` rebuilds
every stage.

Every run that finds changes appends them, field by field, to the ``history``
carried over from the published model (:mod:`twin.transforms.history`); every
run, unchanged ones too, drops what is older than ``[output] history_days``.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyogrio

from twin import parallel
from twin.config import Pipeline
from twin.errors import ConfigError
from twin.model import LAYERS, empty_frame
from twin.model.qa import concat_issues, qa_issues
from twin.model.runs import RunResult
from twin.publish.documentation import write_lineage
from twin.publish.geopackage import append_rows
from twin.publish.report import write_report
from twin.runner.cache import StageCache
from twin.runner.journal import settle_published
from twin.runner.lock import RunLock
from twin.runner.parted import PartedLayer, Writer, write_model
from twin.runner.paths import check_paths, no_network, output_errors
from twin.runner.previous import published_differences, published_history
from twin.runner.state import BUILD_STAGES, Previous, file_hashes, input_record, read_previous, runs_table, stage_keys
from twin.runner.swap import (
    SIDE_SUFFIXES,
    check_output,
    clean_stale,
    copy_for_update,
    replace_atomically,
    temporary_path,
)
from twin.transforms.changes import change_summary
from twin.transforms.history import history_cutoff, history_table

if TYPE_CHECKING:  # the stages load every reader and transform; a run with nothing to build needs none
    from twin.runner.stages import Builder, Layers

__all__ = ["Checkpoint", "RunResult", "run"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
#: Called with a short name at every step of a run (tests use it to stop the run there).
Checkpoint = Callable[[str], None]


def run(
    pipeline: Pipeline,
    *,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    force: bool = False,
    wait_s: float = 0.0,
    checkpoint: Checkpoint | None = None,
    report: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
) -> RunResult:
    """Build the city model described by `pipeline` and publish it atomically.

    Parameters
    ----------
    pipeline
        A validated pipeline (see :func:`twin.config.read_pipeline`).
    progress
        Called as ``progress(stage, done, total)``.
    now
        Start time of the run (UTC); the clock when not given.
    force
        Rebuild every stage even when its inputs did not change.
    wait_s
        Seconds to wait for another run on the same output; then :class:`~twin.errors.LockError`.
    checkpoint
        Called with the name of every step.
    report
        Write the run report beside the output (with its overview map when ``[output] report_map``).
    engine
        ``"local"`` (one process) or ``"dask"`` (every stage on the workers of a dask cluster, the buildings
        in spatial partitions, see :mod:`twin.runner.dask_engine`); both give the same model.
    scheduler
        With ``engine="dask"``: address of a ``dask.distributed`` scheduler; a cluster in this process when None.
    """
    clock = time.monotonic()
    started = now or dt.datetime.now(dt.UTC)
    run_id = started.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    target = pipeline.output.path
    def step(name: str) -> None:
        parallel.release_memory()  # what the last step freed no longer counts as the run's memory
        if checkpoint is not None:
            checkpoint(name)

    _fetch_remote(pipeline)
    check_paths(pipeline)
    with output_errors(target), no_network(), RunLock(target, wait_s=wait_s):
        step("locked")
        clean_stale(target)
        settle_published(target, keep=pipeline.output.keep)  # before reading it: refuse early when QGIS has it open
        step("stale files removed")
        previous = read_previous(target)
        step("previous model read")
        hashes = file_hashes(pipeline, None if force else previous)
        keys = stage_keys(pipeline, hashes)
        step("inputs hashed")
        context = _Context(pipeline, run_id, started, input_record(hashes, keys), previous, step, progress,
                           build=_builder_for(engine, scheduler), write=_writer_for(engine, scheduler))
        if not force and previous is not None and previous.stage_keys == keys:
            result, layers = _record_unchanged(context), None
        else:
            result, layers = _build_and_publish(context, StageCache(target, keys), force=force)
        result = _finish(result, clock)
        if report:
            result = _replace(result, report=write_report(result, layers=layers, draw_map=pipeline.output.report_map,
                                                         language=pipeline.output.language))
            step("report written")
    log.info("published %s in %.1f s; %s", target, result.duration_s, result.summary,
             extra={"run_id": run_id, "event": "published", "counts": result.counts})
    return result


def _fetch_remote(pipeline: Pipeline) -> None:
    """Copy the inputs given as fsspec URLs beside the pipeline file (only those that changed)."""
    from twin.config_values import copied_url

    if any(copied_url(path, pipeline.path.parent) for path in pipeline.input_files()):
        from twin.sources.remote import fetch_inputs

        fetch_inputs(pipeline)


@dataclass(frozen=True)
class _Context:
    pipeline: Pipeline
    run_id: str
    started: dt.datetime
    inputs: str
    previous: Previous | None
    step: Checkpoint
    progress: Progress | None
    build: Builder | None = None
    write: Writer = write_model

    def report_progress(self, stage: str, done: int, total: int) -> None:
        self.step(f"{stage} {done}/{total}")
        if self.progress:
            self.progress(stage, done, total)


def _build_and_publish(ctx: _Context, cache: StageCache, *, force: bool) -> tuple[RunResult, Layers]:
    pipeline = ctx.pipeline
    stages: dict[str, str] = {}

    def run_stage(name: str, build: Callable[[], Layers], /, *, parts: Path | None = None) -> Layers:
        stored = None if force or name not in cache.keys else cache.load(name, crs=pipeline.city.crs, parts=parts)
        if stored is not None:
            stages[name] = "reused"
            ctx.step(f"stage {name} reused")
            return stored
        built = build()
        stages[name] = "built"
        ctx.step(f"stage {name} built")
        if name in cache.keys:
            cache.store(name, built)
            ctx.step(f"stage {name} stored")
        return built

    from twin.runner.split import check_split
    from twin.runner.stages import build_layers

    check_split(pipeline)
    built = (ctx.build or build_layers)(pipeline, progress=ctx.report_progress, run_stage=run_stage)
    built_stages = {name: stages.get(name, "built") for name in BUILD_STAGES}  # the dask engine builds the buildings
    stages.clear()  # on its workers, past run_stage
    stages.update(built_stages)
    try:
        result, published = _publish(ctx, cache, built, stages)
        if pipeline.output.split_by == "municipality":
            _publish_municipalities(ctx, published)
        return result, _report_layers(published, draw_map=pipeline.output.report_map)
    finally:
        for value in built.values():
            if isinstance(value, PartedLayer):
                value.discard()


def _publish_municipalities(ctx: _Context, layers: Layers) -> dict[str, str]:
    """One complete model per municipality beside the region's; only those whose features changed are rebuilt."""
    import dataclasses
    import shutil

    from twin.runner.split import municipalities, split_folder

    done: dict[str, str] = {}
    pieces = split_folder(ctx.pipeline.output.path) / f".pieces-{uuid.uuid4().hex[:8]}"
    try:
        for place in municipalities(ctx.pipeline, layers, pieces):
            keys = {"municipality": place.digest()}
            previous = read_previous(place.path)
            if previous is not None and previous.stage_keys == keys:
                done[place.key] = "unchanged"
                continue
            output = dataclasses.replace(ctx.pipeline.output, path=place.path, split_by=None)
            pipeline = dataclasses.replace(ctx.pipeline, output=output,
                                           city=dataclasses.replace(ctx.pipeline.city, name=place.name))
            inputs = input_record(json.loads(ctx.inputs)["files"], keys)
            own = _Context(pipeline, ctx.run_id, ctx.started, inputs, previous, ctx.step, None)
            clean_stale(place.path)
            result, published = _publish(own, StageCache(place.path, {}), dict(place.layers), {"split": "built"})
            write_report(result, layers=_report_layers(published, draw_map=output.report_map),
                         draw_map=output.report_map, language=output.language)
            done[place.key] = "built"
    finally:
        shutil.rmtree(pieces, ignore_errors=True)
    log.info("municipalities: %d built, %d unchanged", list(done.values()).count("built"),
             list(done.values()).count("unchanged"))
    return done


def _report_layers(layers: Layers, *, draw_map: bool) -> Layers:
    """`layers` for the report: the buildings and panoramas in parts (dask engine) as the rows its overview map
    draws (when drawn), other layers in parts left out."""
    from twin.publish.report import MAX_POINTS, MAX_POLYGONS

    out: Layers = {}
    for name, value in layers.items():
        if not isinstance(value, PartedLayer):
            out[name] = value
        elif draw_map and name == "panoramas":
            out[name] = value.map_frame(every=1, columns=())
        elif draw_map and name == "buildings":
            out[name] = value.map_frame(every=max(1, len(value) // MAX_POINTS) if len(value) > MAX_POLYGONS else 1)
    return out


def _publish(ctx: _Context, cache: StageCache, layers: Layers, stages: dict[str, str]) -> tuple[RunResult, Layers]:
    """Find the changes, record the run, write, check and publish `layers`."""
    from twin.transforms.topology import fibre_summary

    pipeline, target = ctx.pipeline, ctx.pipeline.output.path
    stages["link"] = "built"
    layers["qa_issues"] = concat_issues(
        [layers["qa_issues"], _capture_time_issues(layers["panoramas"], ctx.started)], pipeline.city.crs)
    log.info("stages: %s", ", ".join(f"{k} {v}" for k, v in stages.items()))
    crs = pipeline.city.crs
    found, rows = _changes(ctx.previous, layers, run_id=ctx.run_id, run_at=ctx.started, crs=crs)
    layers["changes"] = found if found is not None else empty_frame("changes", crs)
    carried, lost = _history(ctx.previous, crs)
    layers["history"] = history_table(carried, rows, now=ctx.started, keep_days=pipeline.output.history_days)
    layers["qa_issues"] = concat_issues([layers["qa_issues"], lost], crs).assign(run_id=ctx.run_id)
    summary = change_summary(layers["changes"])
    ctx.step("changes found")
    counts = {name: len(layers[name]) for name in LAYERS if name in layers}
    fibre = fibre_summary(layers["fibre_routes"], layers["fibre_nodes"], layers["qa_issues"]) \
        if pipeline.fibre is not None else {}
    record = {**counts, "stages": stages, "changes": summary, "fibre": fibre, "settings": _settings(pipeline)}
    layers["runs"] = runs_table(ctx.previous, run_id=ctx.run_id, started=ctx.started,
                                finished=dt.datetime.now(dt.UTC), inputs=ctx.inputs, counts=record)
    counts["runs"] = len(layers["runs"])
    temporary = temporary_path(target)
    gc.collect()  # the build's cyclic garbage, then all freed memory, returned before the largest step
    parallel.release_memory()
    try:
        ctx.write(temporary, layers, crs=crs, progress=ctx.report_progress, lineage=_lineage(ctx),
                  published_name=target.name, language=pipeline.output.language)
        check_output(temporary, counts)
        ctx.step("publish: checked")
        replace_atomically(temporary, target, keep=pipeline.output.keep, checkpoint=ctx.step)
    finally:
        _remove(temporary)
    cache.prune()
    ctx.step("stage results pruned")
    result = RunResult(run_id=ctx.run_id, output=target, counts=counts, stages=stages, changes=summary,
                       first=found is None, fibre=fibre)
    return result, layers


def _capture_time_issues(panoramas: pd.DataFrame | PartedLayer, started: dt.datetime) -> pd.DataFrame:
    """:func:`~twin.transforms.capture_times.implausible_capture_times` of the panoramas; of the dask engine's,
    in parts, from their times and the rows after the run's start only (held no longer than this call)."""
    from twin.transforms.capture_times import FUTURE_TOLERANCE, implausible_capture_times

    if isinstance(panoramas, PartedLayer):
        start = pd.Timestamp(started)
        start = start.tz_convert("UTC") if start.tzinfo else start.tz_localize("UTC")
        panoramas = panoramas.times("captured_at", "panorama_id", after=start + FUTURE_TOLERANCE)
    return implausible_capture_times(panoramas, now=started)


def _builder_for(engine: str, scheduler: str | None) -> Builder | None:
    """What builds the layers with `engine` (None: the local engine's :func:`~twin.runner.stages.build_layers`)."""
    from twin.runner.dask_engine import ENGINES

    if engine not in ENGINES:
        raise ConfigError(f"engine {engine!r}", "is not known", fix=f"choose one of {', '.join(ENGINES)}")
    if engine == "local":
        if scheduler is not None:
            raise ConfigError(f"scheduler {scheduler}", "needs the dask engine", fix="add --engine dask")
        return None
    from functools import partial

    from twin.runner.dask_engine import check_scheduler, dask_build

    if scheduler is not None:
        check_scheduler(scheduler)
    return partial(dask_build, scheduler=scheduler)


def _writer_for(engine: str, scheduler: str | None) -> Writer:
    """What writes the new GeoPackage: one worker of the cluster at `scheduler` (dask engine), else this process."""
    if engine == "dask" and scheduler is not None:
        from twin.runner.dask_engine import remote_writer

        return remote_writer(scheduler)
    return write_model


def _record_unchanged(ctx: _Context) -> RunResult:
    """Publish a copy of the model with this run added to ``runs`` and an empty ``changes`` layer."""
    previous = ctx.previous
    assert previous is not None
    target = ctx.pipeline.output.path
    stages = dict.fromkeys((*BUILD_STAGES, "link"), "unchanged")
    counts = {name: int(previous.counts[name]) for name in LAYERS if isinstance(previous.counts.get(name), int)}
    counts["changes"] = 0
    summary = change_summary(pd.DataFrame({"layer": [], "change": []}))
    temporary = temporary_path(target)
    try:
        copy_for_update(target, temporary)
        ctx.step("publish: copied")
        # Only the run record, the lineage, the (now empty) changes and the history's old end differ from the
        # published model; styles, project and documentation are those of the same software version and stay.
        with sqlite3.connect(temporary) as con:
            con.execute('DELETE FROM "changes"')
            counts["history"] = _prune_history(con, ctx)
            record = {**counts, "stages": stages, "changes": summary, "settings": _settings(ctx.pipeline)}
            runs = runs_table(previous, run_id=ctx.run_id, started=ctx.started, finished=dt.datetime.now(dt.UTC),
                              inputs=ctx.inputs, counts=record)
            counts["runs"] = len(runs)
            append_rows(con, "runs", runs.tail(1))
            write_lineage(con, _lineage(ctx), language=ctx.pipeline.output.language)
        con.close()
        ctx.step("publish: recorded")
        check_output(temporary, counts, integrity=False)
        ctx.step("publish: checked")
        replace_atomically(temporary, target, keep=ctx.pipeline.output.keep, checkpoint=ctx.step)
    finally:
        _remove(temporary)
    log.info("%s: inputs unchanged since run %s; model kept, run recorded", target.name,
             previous.runs["run_id"].iloc[-1])
    return RunResult(run_id=ctx.run_id, output=target, counts=counts, stages=stages, changes=summary)


def _settings(pipeline: Pipeline) -> dict[str, float]:
    """The settings that decide values of the model, recorded with each run (``runs.counts["settings"]``)."""
    if pipeline.panoramas is None:
        return {}
    return {"view_distance_m": pipeline.panoramas.view_distance_m, "view_fov_deg": pipeline.panoramas.view_fov_deg}


def _lineage(ctx: _Context) -> dict[str, object]:
    """What the published file records about its making (``gpkg_metadata``)."""
    from twin._version import __version__

    inputs = json.loads(ctx.inputs)
    return {"run_id": ctx.run_id, "started_at": ctx.started.isoformat(), "software_version": str(__version__),
            "pipeline": str(ctx.pipeline.path), "inputs": inputs.get("files", {}), "stage_keys": inputs.get("stages", {}),
            "city": ctx.pipeline.city.name, "network_name": ctx.pipeline.network_name,
            "snap_tolerance_m": ctx.pipeline.fibre.snap_tolerance_m if ctx.pipeline.fibre else None,
            "attribution": ctx.pipeline.output.attribution}


def _changes(
    previous: Previous | None, layers: Layers, *, run_id: str, run_at: dt.datetime, crs: str,
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """The features changed since the published model (None: there is none, or it cannot be read) and
    the run's ``history`` rows."""
    none = empty_frame("history", None)
    if previous is None:
        return None, none
    try:
        return published_differences(previous.path, layers, run_id=run_id, run_at=run_at, crs=crs)
    except _UNREADABLE as exc:
        log.warning("%s: previous layers not readable (%s); changes not recorded", previous.path.name, exc)
        return None, none


def _history(previous: Previous | None, crs: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history of the published model (empty when there is none) and QA rows for what of it is lost."""
    if previous is None:
        return empty_frame("history", None), empty_frame("qa_issues", crs)
    try:
        carried, undated = published_history(previous.path)
    except _UNREADABLE as exc:
        log.warning("%s: previous history not readable (%s); the history starts anew", previous.path.name, exc)
        return empty_frame("history", None), qa_issues(
            layer="history", feature_ids=[previous.path.name], check="history_not_carried", severity="warning",
            messages=f"the history of the published model cannot be read ({exc}); it starts anew with this run",
            crs=crs)
    return carried, qa_issues(
        layer="history", feature_ids=undated["run_id"].fillna(""), check="history_row_undated", severity="warning",
        messages="a row of the published history has no readable run_at (edited by hand?); it is not carried on",
        crs=crs)


def _prune_history(con: sqlite3.Connection, ctx: _Context) -> int:
    """Drop the history older than ``[output] history_days`` from an open copy of the model; the rows left."""
    cutoff = history_cutoff(ctx.started, ctx.pipeline.output.history_days)
    con.execute('DELETE FROM "history" WHERE julianday(run_at) < julianday(?)', (cutoff.strftime("%Y-%m-%dT%H:%M:%S.%f"),))
    return int(con.execute('SELECT count(*) FROM "history"').fetchone()[0])


#: What reading a damaged previous model raises.
_UNREADABLE = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, sqlite3.DatabaseError,
               UnicodeDecodeError, pa.ArrowException)


def _remove(temporary: Path) -> None:
    temporary.unlink(missing_ok=True)
    for suffix in SIDE_SUFFIXES:
        temporary.with_name(temporary.name + suffix).unlink(missing_ok=True)


def _finish(result: RunResult, clock: float) -> RunResult:
    return _replace(result, duration_s=round(time.monotonic() - clock, 3))


def _replace(result: RunResult, **changes: Any) -> RunResult:
    import dataclasses

    return dataclasses.replace(result, **changes)
