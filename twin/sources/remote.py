"""Inputs given as fsspec URLs (``s3://``, ``gs://``, ``https://``, ``memory://``, ...), copied before a run.

The pipeline file names such an input by its URL; :mod:`twin.config` checks it
exists there and points the pipeline at its copy in ``.twin-inputs/`` beside the
pipeline file. :func:`fetch_inputs` makes the copies before anything is read:
a file is copied again only when its size or version (ETag, checksum or
modification time, whatever the store reports) changed, so a nightly run
over unchanged inputs downloads nothing, and the stages that read them are
skipped as for local files. A Shapefile comes with its side files. The
readers (and a dask cluster's workers) then read the copies like local files;
the copies must therefore be on a file system the workers share.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from twin.config import Pipeline
from twin.config_values import copied_url
from twin.errors import SourceError

__all__ = ["fetch_inputs"]

log = logging.getLogger(__name__)

#: Side files a Shapefile may have; copied with it where the store has them.
_SHAPEFILE_SIDES = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
#: What a store reports of a file's version.
_VERSION_KEYS = ("ETag", "etag", "md5Hash", "crc32c", "checksum", "mtime", "LastModified", "last_modified", "updated",
                 "created")


def fetch_inputs(pipeline: Pipeline) -> list[Path]:
    """Copy every input of `pipeline` given as a URL to its place beside the pipeline file; return those copied."""
    base = pipeline.path.parent
    copied = []
    for path in pipeline.input_files():
        url = copied_url(path, base)
        if url is None:
            continue
        urls = [url]
        if path.suffix.lower() == ".shp":
            urls += [url[: -len(path.suffix)] + side for side in _SHAPEFILE_SIDES]
        for number, each in enumerate(urls):
            target = path.with_suffix(Path(each).suffix) if number else path
            if _fetch(each, target, required=number == 0):
                copied.append(target)
    if copied:
        log.info("%d inputs copied from their stores into %s", len(copied), base / ".twin-inputs")
    return copied


def _fetch(url: str, target: Path, *, required: bool) -> bool:
    """Copy `url` to `target` unless the copy there is of the same version; whether it copied."""
    import fsspec

    try:
        filesystem, inside = fsspec.core.url_to_fs(url)
        if not filesystem.exists(inside):
            if required:
                raise SourceError(url, "not found", fix="check the URL in the pipeline file")
            return False
        info = filesystem.info(inside)
        stamp = _stamp(info)
        record = target.with_name(f".{target.name}.source.json")
        if target.exists() and record.exists() and json.loads(record.read_text(encoding="utf-8")) == stamp:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        if info.get("type") == "directory":
            shutil.rmtree(partial, ignore_errors=True)
            filesystem.get(inside.rstrip("/") + "/", str(partial), recursive=True)
            shutil.rmtree(target, ignore_errors=True)
        else:
            filesystem.get_file(inside, str(partial))
        os.replace(partial, target)
        record.write_text(json.dumps(stamp, sort_keys=True), encoding="utf-8")
        return True
    except (OSError, ValueError, ImportError) as exc:
        raise SourceError(url, f"cannot be copied ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
                          fix="check the URL and the credentials of its store") from exc


def _stamp(info: dict[str, Any]) -> dict[str, str]:
    """What identifies this version of a file: its size and whatever version fields the store reports."""
    return {key: str(info[key]) for key in ("size", *_VERSION_KEYS) if info.get(key) is not None}
