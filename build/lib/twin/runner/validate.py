"""``twin validate``: check a pipeline and read its inputs without writing anything.

It reads the pipeline file, every input through its reader and the build
stages' transforms (the same code a run uses), and looks at the output's
folder, lock and previous model, so a scheduler can check a changed pipeline
before the night. Nothing is written: no output, no lock file, no stage results.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from twin.config import Pipeline
from twin.errors import ConfigError
from twin.runner.lock import lock_path
from twin.runner.stages import buildings_stage, fibre_stage, panoramas_stage, read_boundary
from twin.runner.state import read_previous

__all__ = ["Validation", "validate"]

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
    ConfigError
        When the output folder cannot be written.
    """
    area = read_boundary(pipeline)
    counts: dict[str, int] = {}
    issues = 0
    for stage in (buildings_stage, panoramas_stage, fibre_stage):
        for name, frame in stage(pipeline, area).items():
            if name == "qa_issues":
                issues += len(frame)
            else:
                counts[name] = len(frame)
    counts["qa_issues"] = issues
    notes = _output_notes(pipeline.output.path)
    return Validation(counts=counts, notes=notes)


def _output_notes(target: Path) -> list[str]:
    folder = _existing_parent(target)
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"[output] path {target}", f"folder {folder} is not writable",
                          fix="give a folder the scheduled user may write")
    notes = []
    previous = read_previous(target) if target.exists() else None
    if previous is None:
        notes.append("no previous model: the next run builds everything")
    else:
        notes.append(f"previous model has {len(previous.runs)} recorded runs")
    if _locked(lock_path(target)):
        notes.append("a run is in progress on this output")
    return notes


def _existing_parent(path: Path) -> Path:
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    return folder


def _locked(path: Path) -> bool:
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
