"""``twin validate``: check a pipeline and read its inputs without writing anything.

It reads the pipeline file, every input through its reader and the build
stages' transforms (the same code a run uses), and looks at the output's
folder, lock and previous model, so a scheduler can check a changed pipeline
before the night. Nothing is written: no output, no lock file, no stage results;
only a probe file is created in the output's folder and removed at once, to see
that the folder takes a file as a run would write it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from twin.config import Pipeline
from twin.runner.lock import lock_path
from twin.runner.paths import check_paths, check_writable, no_network
from twin.runner.placement import check_placement
from twin.runner.stages import STAGES, read_boundary
from twin.runner.state import BUILD_STAGES, read_previous
from twin.sources.remote import fetch_inputs
from twin.transforms.capture_times import implausible_capture_times

__all__ = ["Validation", "validate"]

#: What stays empty without the section a build stage reads.
STAGE_LAYERS = {"buildings": "buildings", "panoramas": "panoramas, capture tracks and coverage",
                "fibre": "fibre routes, nodes and connections"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Validation:
    """What validation found: features read per layer and notes for the operator."""

    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def validate(pipeline: Pipeline) -> Validation:
    """Read every input of `pipeline` through the readers; raise the first input error.

    Raises
    ------
    InputError
        A subclass naming file, layer, row and fix, as a run would.
    OutputError
        When the output folder is read-only or full (an InputError, exit 2).
    """
    fetch_inputs(pipeline)  # inputs given as URLs are read from their copies, as in a run
    check_paths(pipeline)
    with no_network():
        area = read_boundary(pipeline)
        counts: dict[str, int] = {}
        issues = []
        layers: dict[str, gpd.GeoDataFrame] = {}
        for stage in BUILD_STAGES:
            for name, frame in STAGES[stage](pipeline, area).items():
                if name == "qa_issues":
                    issues.append(frame)
                else:
                    counts[name] = len(frame)
                    layers[name] = frame
                if name == "panoramas":
                    issues.append(implausible_capture_times(frame, now=dt.datetime.now(dt.UTC)))
        check_placement(pipeline, layers)
    counts["qa_issues"] = sum(len(frame) for frame in issues)
    notes = [*_output_notes(pipeline.output.path), *_missing_sections(pipeline), *_issue_notes(issues)]
    return Validation(counts=counts, notes=notes)


def _missing_sections(pipeline: Pipeline) -> list[str]:
    """What a run of this pipeline leaves empty."""
    notes = [f"no [{name}] section: {STAGE_LAYERS[name]} stay empty" for name in BUILD_STAGES
             if getattr(pipeline, name) is None]
    if pipeline.panoramas is not None and pipeline.panoramas.streets is None:
        notes.append("no [panoramas] streets: street_coverage stays empty")
    return notes


def _issue_notes(issues: list[pd.DataFrame]) -> list[str]:
    """One line per QA check a run would record: how often, and its first message as an example."""
    rows = pd.concat([frame for frame in issues if len(frame)], ignore_index=True) if any(len(f) for f in issues) \
        else None
    if rows is None:
        return []
    notes = []
    for (check, severity), group in rows.groupby(["check", "severity"], sort=False):
        first = group.iloc[0]
        notes.append(f"qa {check} ({severity}): {len(group)}, e.g. {first['layer']} {first['feature_id']}: "
                     f"{first['message']}")
    return sorted(notes, key=lambda line: (" (error)" not in line, " (warning)" not in line, line))


def _output_notes(target: Path) -> list[str]:
    check_writable(target)
    notes = []
    previous = read_previous(target) if target.exists() else None
    if previous is None:
        notes.append("no previous model: the next run builds everything")
    else:
        notes.append(f"previous model has {len(previous.runs)} recorded runs")
    if _locked(lock_path(target)):
        notes.append("a run is in progress on this output")
    return notes


def _locked(path: Path) -> bool:
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
