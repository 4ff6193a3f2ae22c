"""Reading a built city model: layers with the model's dtypes, and where the shipped sample lives.

>>> from twin.model import LAYERS
>>> import pandas as pd
>>> frame = typed_layer(pd.DataFrame({"run_id": ["r1"], "started_at": ["2024-05-01T10:00:00"],
...                                   "status": ["ok"]}), LAYERS["runs"])
>>> str(frame["started_at"].dtype), frame["status"].cat.categories.tolist()
('datetime64[ms, UTC]', ['ok', 'failed'])
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TypeAlias

import geopandas as gpd
import pandas as pd

from twin.errors import SourceError
from twin.model.layers import DTYPES, LANGUAGES, Layer

__all__ = ["SAMPLE_PIPELINE", "Frame", "project_root", "published_language", "sample_model_path", "typed_layer"]

log = logging.getLogger(__name__)

#: The shipped pipeline file, relative to the project folder.
SAMPLE_PIPELINE = Path("pipelines") / "kaiserslautern.toml"

Frame: TypeAlias = gpd.GeoDataFrame | pd.DataFrame


def project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The project folder: the first of `start` (default: the working folder) and its parents with the shipped pipeline.

    Falls back to the folder holding the ``twin`` package (a source checkout).

    Examples
    --------
    >>> (project_root() / "pipelines" / "kaiserslautern.toml").is_file()
    True
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parent.parent):
        if (folder / SAMPLE_PIPELINE).is_file():
            return folder
    raise SourceError(str(here), f"neither this folder nor a parent holds {SAMPLE_PIPELINE}",
                      fix="start the notebook inside the twin project folder")


def sample_model_path(root: str | os.PathLike[str] | None = None) -> Path:
    """The sample model built from the shipped pipeline; it is built first when missing.

    Examples
    --------
    >>> sample_model_path().name
    'kaiserslautern_cim.gpkg'
    """
    from twin.config import read_pipeline
    from twin.runner import run

    pipeline = read_pipeline(project_root(root) / SAMPLE_PIPELINE)
    if pipeline.output.path.exists():
        return pipeline.output.path
    return run(pipeline, wait_s=300).output


def published_language(path: str | os.PathLike[str]) -> str:
    """The language (``de`` or ``en``) the model at `path` was published in, from its lineage record.

    A GeoPackage without that record (not written by ``twin run``) reads as German, the default of
    ``[output] language``.

    Examples
    --------
    >>> published_language(sample_model_path())
    'de'
    """
    try:
        with closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as con:
            rows = con.execute("SELECT metadata FROM gpkg_metadata WHERE mime_type = 'application/json'").fetchall()
    except sqlite3.Error:
        rows = []
    for (metadata,) in rows:
        try:
            language = json.loads(metadata).get("language")
        except (ValueError, AttributeError):
            continue
        if language in LANGUAGES:
            return str(language)
    return LANGUAGES[0]


def typed_layer(frame: Frame, spec: Layer) -> Frame:
    """A copy of `frame` with the field dtypes of `spec`: UTC datetimes, nullable integers, categorical codes.

    Values of a coded field outside its declared list are kept (as extra
    categories after the declared ones) and logged.
    """
    out = frame.copy()
    for field in spec.fields:
        if field.name not in out.columns:
            out[field.name] = pd.Series(None, index=out.index, dtype="object")
        values = out[field.name]
        if field.values:
            out[field.name] = _categorical(values, list(field.values), f"{spec.name}.{field.name}")
        elif field.dtype == "datetime":
            out[field.name] = pd.to_datetime(values, utc=True).astype(DTYPES["datetime"])
        elif field.dtype in {"int32", "int64"}:
            out[field.name] = pd.to_numeric(values).astype(DTYPES[field.dtype])
        elif values.dtype != DTYPES[field.dtype]:
            out[field.name] = values.astype(DTYPES[field.dtype])
    return out


def _categorical(values: pd.Series, declared: list[str], where: str) -> pd.Series:
    present = values.dropna().astype("str")
    extra = sorted(set(present) - set(declared))
    if extra:
        log.warning("%s: values %s are not in the declared list %s", where, extra, declared)
    return pd.Series(pd.Categorical(values.astype("object").where(values.notna(), None),
                                    categories=declared + extra), index=values.index, name=values.name)
