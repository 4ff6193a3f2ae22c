"""Reading a built city model: layers with the model's dtypes, and where the shipped sample lives.

>>> from twin.model import LAYERS
>>> import pandas as pd
>>> frame = typed_layer(pd.DataFrame({"run_id": ["r1"], "started_at": ["2024-05-01T10:00:00"],
...                                   "status": ["ok"]}), LAYERS["runs"])
>>> str(frame["started_at"].dtype), frame["status"].cat.categories.tolist()
('datetime64[ms, UTC]', ['ok', 'failed'])
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TypeAlias

import geopandas as gpd
import pandas as pd

from twin.errors import SourceError
from twin.model.layers import DTYPES, Layer

__all__ = ["SAMPLE_PIPELINE", "Frame", "project_root", "sample_model_path", "typed_layer"]

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
