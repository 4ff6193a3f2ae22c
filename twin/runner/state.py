"""What a run knows about its inputs and about the last published model.

Every input file and the pipeline file are hashed (SHA-256). Each stage gets a
*stage key*: a hash over the software version and the model's layer specifications (a model
published with other layers, fields or texts is rebuilt, never copied), the ``[city]`` section (with
the boundary file's hash), the stage's own pipeline section, in which every
file (in its sub-tables too) is replaced by the hash of its content (so moving the data folder
rebuilds nothing). Editing ``[fibre]`` therefore changes only the
fibre key (and the link key, which covers every section but ``[output]``),
never the buildings key. With ``[output] split_by``, a ``split`` key covers the
municipalities layer and its settings: an edited layer rebuilds the
municipalities' models.

The keys are stored in the ``runs`` layer of the published GeoPackage
(``input_hashes`` is JSON: ``{"files": {path: sha256}, "stages": {stage: key},
"stats": {path: [[name, size, mtime_ns, inode], ...]}}``) so the next run can
tell which stages it may skip, and which files it need not read again.

>>> stage_key_of({"a": 1}, version="0.1.0") == stage_key_of({"a": 1}, version="0.1.0")
True
>>> stage_key_of({"a": 1}, version="0.1.0") == stage_key_of({"a": 1}, version="0.2.0")
False
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio

from twin._version import __version__
from twin.config import Pipeline
from twin.model import LAYERS, conform
from twin.model.frames import json_object

__all__ = [
    "BUILD_STAGES",
    "Previous",
    "file_hashes",
    "input_record",
    "read_previous",
    "runs_table",
    "stage_key_of",
    "stage_keys",
]

log = logging.getLogger(__name__)

#: The stages that read a pipeline section of the same name; ``link`` joins their results.
BUILD_STAGES = ("buildings", "panoramas", "fibre")
_BLOCK = 1 << 20
#: A file modified less than this many seconds before the previous run started is hashed again.
_RACY_S = 2.0


def file_hashes(pipeline: Pipeline, previous: Previous | None = None) -> dict[str, str]:
    """SHA-256 of every input file (a folder: all files in it; a Shapefile: its side files too) and of the pipeline file.

    A file whose size, modification time and inode are those recorded by the `previous` run, and
    that was last modified well before that run started, keeps its recorded hash without being
    read again (as ``git`` and ``make`` trust a file's status); anything else is hashed.
    """
    return {str(path): _recorded_hash(path, previous) or _hash_path(path) for path in pipeline.input_files()}


def _recorded_hash(path: Path, previous: Previous | None) -> str | None:
    """The hash `previous` recorded for `path` when the file is unchanged and settled since; else None."""
    if previous is None or previous.started is None:
        return None
    known = previous.file_hashes.get(str(path))
    signature = file_signature(path)
    if not known or not signature or previous.file_stats.get(str(path)) != signature:
        return None
    settled = max(entry[2] for entry in signature) < (previous.started.timestamp() - _RACY_S) * 1e9
    return known if settled else None


def file_signature(path: Path) -> list[list[Any]]:
    """``[name, size, mtime_ns, inode]`` of every file that makes up the input `path` (as hashed)."""
    out: list[list[Any]] = []
    for file in _files_of(path):
        info = file.stat()
        out.append([file.name, info.st_size, info.st_mtime_ns, info.st_ino])
    return out


#: A hash of every layer's specification (fields, types, titles, value labels).
SCHEMA_KEY = hashlib.sha256(repr(LAYERS).encode()).hexdigest()


def stage_key_of(parts: dict[str, Any], *, version: str | None = None) -> str:
    """A stable hash of `parts` (JSON-able), the software version (the installed one when not given) and
    the layer specifications (:data:`SCHEMA_KEY`)."""
    text = json.dumps({"version": version or str(__version__), "schema": SCHEMA_KEY, **parts}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stage_keys(pipeline: Pipeline, hashes: dict[str, str], *, version: str | None = None) -> dict[str, str]:
    """The key of every stage (``buildings``, ``panoramas``, ``fibre``, ``link``; ``split`` with ``[output] split_by``).

    Parameters
    ----------
    pipeline
        The validated pipeline.
    hashes
        File hashes from :func:`file_hashes`.
    version
        Software version; a new version rebuilds every stage.
    """
    city = _section(pipeline.city, hashes)
    keys = {
        name: stage_key_of({"city": city, name: _section(getattr(pipeline, name), hashes)}, version=version)
        for name in BUILD_STAGES
    }
    every = {f.name: _section(getattr(pipeline, f.name), hashes) for f in dataclasses.fields(pipeline)
             if f.name not in {"path", "output"}}
    # the language of the published texts is in the link key, so a new language publishes a new model
    link = {"stages": [keys[name] for name in BUILD_STAGES], "sections": every, "language": pipeline.output.language}
    keys["link"] = stage_key_of(link, version=version)
    output = pipeline.output
    if output.split_by is not None:  # the municipalities' models follow their layer (its content) and settings
        split = {"split_by": output.split_by, "key": output.municipality_key, "name": output.municipality_name,
                 "municipalities": None if output.municipalities is None else _file_key(output.municipalities, hashes)}
        keys["split"] = stage_key_of({"link": keys["link"], "split": split}, version=version)
    return keys


def input_record(hashes: dict[str, str], keys: dict[str, str]) -> str:
    """The JSON stored in ``runs.input_hashes`` (with the files' status, see :func:`file_hashes`)."""
    stats = {path: file_signature(Path(path)) for path in hashes}
    return json.dumps({"files": hashes, "stages": keys, "stats": stats}, sort_keys=True)


@dataclass(frozen=True)
class Previous:
    """The published model a run starts from."""

    path: Path
    runs: pd.DataFrame
    stage_keys: dict[str, str] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    file_hashes: dict[str, str] = field(default_factory=dict)
    file_stats: dict[str, Any] = field(default_factory=dict)
    started: dt.datetime | None = None


def read_previous(target: Path) -> Previous | None:
    """The last successful run recorded in `target`, or None when there is no readable model."""
    if not target.exists():
        return None
    try:
        runs = pyogrio.read_dataframe(target, layer="runs", use_arrow=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        log.warning("%s: previous model not readable (%s); building everything anew", target.name, exc)
        return None
    runs = conform(runs, "runs")
    ok = runs[runs["status"] == "ok"]
    if ok.empty:
        return Previous(path=target, runs=runs)
    last = ok.iloc[-1]
    inputs = json_object(last["input_hashes"])
    started = last["started_at"]
    return Previous(path=target, runs=runs, stage_keys=inputs.get("stages", {}), counts=json_object(last["counts"]),
                    file_hashes=inputs.get("files", {}), file_stats=inputs.get("stats", {}),
                    started=None if pd.isna(started) else pd.Timestamp(started).to_pydatetime())


def runs_table(
    previous: Previous | None,
    *,
    run_id: str,
    started: dt.datetime,
    finished: dt.datetime,
    inputs: str,
    counts: dict[str, Any],
) -> pd.DataFrame:
    """The ``runs`` layer: the previous runs and one new row for this run."""
    row = pd.DataFrame(
        {
            "run_id": [run_id],
            "started_at": [started],
            "finished_at": [finished],
            "status": ["ok"],
            "input_hashes": [inputs],
            "counts": [json.dumps(counts, sort_keys=True)],
            "software_version": [__version__],
        }
    )
    if previous is None or previous.runs.empty:
        return conform(row, "runs")
    return conform(pd.concat([previous.runs, conform(row, "runs")], ignore_index=True), "runs")


def _section(section: object | None, hashes: dict[str, str]) -> dict[str, Any] | None:
    if section is None:
        return None
    values: dict[str, Any] = _by_content(dataclasses.asdict(section), hashes)  # type: ignore[call-overload]
    return values


def _by_content(value: Any, hashes: dict[str, str]) -> Any:
    """`value` with every file in it, in sub-tables too (``[buildings.heights]``, ``[[buildings.extra]]``),
    replaced by its content's key."""
    if isinstance(value, Path):
        return _file_key(value, hashes)
    if isinstance(value, dict):
        return {key: _by_content(item, hashes) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_by_content(item, hashes) for item in value]
    return value


def _file_key(path: Path, hashes: dict[str, str]) -> str:
    """A file by its content: moving the data folder (or the pipeline with it) rebuilds nothing."""
    if not path.exists():
        return f"missing:{path.name}"
    return "sha256:" + (hashes.get(str(path)) or _hash_path(path))


def _hash_path(path: Path) -> str:
    digest = hashlib.sha256()
    for file in _files_of(path):
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with file.open("rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    return digest.hexdigest()


def _files_of(path: Path) -> list[Path]:
    """The files an input consists of: every file in a folder, a Shapefile with its side files, else the file."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else _with_sidecars(path)


def _with_sidecars(path: Path) -> list[Path]:
    if path.suffix.lower() != ".shp":
        return [path] if path.is_file() else []
    return sorted(p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() in {".shp", ".shx", ".dbf", ".prj", ".cpg"})
