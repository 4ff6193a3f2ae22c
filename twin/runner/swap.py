"""Atomic publication of the GeoPackage: write -> check -> fsync -> replace.

1. The new model is written to a temporary file in the target's folder
   (``.city_cim.<pid>.tmp.gpkg``), so the final rename never crosses
   a file system.
2. It is checked: SQLite ``integrity_check``, rollback-journal mode (not WAL),
   every layer readable, feature counts as expected, no ``-wal``/``-shm``/
   ``-journal`` beside it.
3. The file and its folder are flushed to disk (``fsync``).
4. A journal that another program (QGIS) left beside the published model is written into it
   (:mod:`twin.runner.journal`); while the program still has it open, the run refuses instead.
5. Older generations move one step back (``.previous.gpkg``,
   ``.previous-2.gpkg``, ...; ``[output] keep`` of them), the current
   model is hard-linked as ``.previous.gpkg`` (it stays published meanwhile),
   and ``os.replace`` swaps the new file in. The folder is synced again.
5. The QGIS project stored in each kept generation is pointed at that
   generation's own file (:func:`twin.publish.qgis_project.point_project_at`):
   it was written for the name of the published model, and its layers would
   otherwise read today's model. Only the old file, no longer linked as the
   target, is written to; a generation left pointing elsewhere by a run killed
   in between is put right by the next publish.

At every moment the target is either the old or the new complete model. A
reader holding the old file open (QGIS) keeps reading the old file. Temporary
files of a killed run are removed by the next run (:func:`clean_stale`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path

import pyogrio
import shapely

from twin.errors import PublishError, SourceError
from twin.model import LAYERS
from twin.publish.qgis_project import point_project_at
from twin.runner.journal import SIDE_SUFFIXES, settle_journal, settle_published

__all__ = [
    "SIDE_SUFFIXES",
    "check_output",
    "clean_stale",
    "copy_for_update",
    "fsync_path",
    "generation_path",
    "geometry_from_blob",
    "replace_atomically",
    "temporary_path",
]

log = logging.getLogger(__name__)

Checkpoint = Callable[[str], None]


def temporary_path(target: Path) -> Path:
    """A new temporary file beside `target` for this process."""
    return target.with_name(f".{target.stem}.{os.getpid()}.tmp{target.suffix}")


def generation_path(target: Path, generation: int) -> Path:
    """``city_cim.previous.gpkg`` (1), ``city_cim.previous-2.gpkg`` (2), ...

    >>> generation_path(Path("out/cim.gpkg"), 2).name
    'cim.previous-2.gpkg'
    """
    tail = "previous" if generation == 1 else f"previous-{generation}"
    return target.with_name(f"{target.stem}.{tail}{target.suffix}")


def clean_stale(target: Path) -> list[Path]:
    """Remove temporaries that killed runs left beside `target`; call with the lock held.

    Only this output's own temporaries match: its exact stem followed by a process id, so the
    temporary of ``city.v2.gpkg`` is not taken for one of ``city.gpkg``.
    """
    removed = []
    own = _stale_pattern(target)
    for path in target.parent.glob(f".{_glob_escape(target.stem)}.*"):
        if own.fullmatch(path.name) and (path.is_file() or path.is_symlink()):
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d temporary files of an interrupted run: %s", len(removed), ", ".join(p.name for p in removed))
    return removed


def _stale_pattern(target: Path) -> re.Pattern[str]:
    """``.<stem>.<pid>.tmp<suffix>`` (and its journals), ``.<stem>.<pid>.link<suffix>``,
    ``.<stem>.report.<md|png>.<pid>.tmp``."""
    stem, suffix = re.escape(target.stem), re.escape(target.suffix)
    journals = "|".join(re.escape(s) for s in SIDE_SUFFIXES)
    return re.compile(rf"\.{stem}\.(?:[0-9]+\.tmp{suffix}(?:{journals})?|[0-9]+\.link{suffix}"
                      rf"|report\.(?:md|png)\.[0-9]+\.tmp)")


def _glob_escape(text: str) -> str:
    """`text` with the characters that ``Path.glob`` reads as a pattern (``*?[``) taken literally."""
    return re.sub(r"([*?[])", r"[\1]", text)


def check_output(path: Path, counts: Mapping[str, int], *, integrity: bool = True) -> None:
    """Check a written GeoPackage before it is published.

    Without `integrity`, SQLite's page-by-page integrity check is left out: for a byte copy of a
    published (checked) model with one row added.

    Raises
    ------
    PublishError
        When SQLite finds damage, the file is in WAL mode, a layer is missing
        or unreadable, or a layer has another feature count than expected.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        damage = con.execute("PRAGMA integrity_check").fetchone()[0] if integrity else "ok"
        journal = con.execute("PRAGMA journal_mode").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise PublishError(path.name, f"not a readable SQLite database ({exc})") from exc
    finally:
        con.close()
    if damage != "ok":
        raise PublishError(path.name, f"SQLite integrity check failed ({damage})")
    if str(journal).lower() == "wal":
        raise PublishError(path.name, "is in WAL mode", fix="finalise must set PRAGMA journal_mode=DELETE")
    found = {str(name) for name, _ in pyogrio.list_layers(path)}
    missing = set(LAYERS) - found
    if missing:
        raise PublishError(path.name, f"layers {', '.join(sorted(missing))} missing after writing")
    # GDAL has opened the file and listed every layer; SQLite counts the rows of each and the first
    # geometry of each spatial layer must decode (GeoPackage header and WKB). One connection for all
    # layers: opening the file through GDAL once per layer cost 0.1 s at any size.
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for name, spec in LAYERS.items():
            try:
                written = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
                if spec.geometry_type is not None:
                    first = con.execute(f'SELECT geom FROM "{name}" WHERE geom IS NOT NULL LIMIT 1').fetchone()
                    if first is not None:
                        geometry_from_blob(first[0])
            except (sqlite3.DatabaseError, ValueError, shapely.errors.GEOSException) as exc:
                raise PublishError(f"{path.name}, layer {name}", f"not readable after writing ({exc})") from exc
            expected = counts.get(name)
            if expected is not None and written != expected:
                raise PublishError(f"{path.name}, layer {name}", f"{written} features written, {expected} expected")
    finally:
        con.close()
    leftovers = [path.name + s for s in SIDE_SUFFIXES if path.with_name(path.name + s).exists()]
    if leftovers:
        raise PublishError(path.name, f"SQLite side files left: {', '.join(leftovers)}")


#: Bytes of the envelope in a GeoPackage geometry blob, by the envelope indicator (flags bits 1-3).
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def geometry_from_blob(blob: bytes) -> shapely.Geometry:
    """Decode a GeoPackage geometry blob (header, optional envelope, WKB).

    >>> blob = b"GP\\x00\\x01" + bytes(4) + shapely.to_wkb(shapely.Point(1, 2))
    >>> geometry_from_blob(blob).wkt
    'POINT (1 2)'

    Raises
    ------
    ValueError
        When the blob does not start with a GeoPackage header.
    """
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("geometry blob without GeoPackage header")
    envelope = (blob[3] >> 1) & 0b111
    if envelope not in _ENVELOPE_BYTES:
        raise ValueError(f"geometry blob with unknown envelope indicator {envelope}")
    return shapely.from_wkb(bytes(blob[8 + _ENVELOPE_BYTES[envelope]:]))


def fsync_path(path: Path) -> None:
    """Flush a file or a folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(
    temporary: Path, target: Path, *, keep: int, checkpoint: Checkpoint | None = None
) -> None:
    """Swap the checked `temporary` in as `target`, keeping `keep` previous generations.

    `temporary` must be in the folder of `target`. The target exists (old or
    new) at every moment; only the generations may be half-rotated when the
    process dies in between.
    """
    step = checkpoint or (lambda _name: None)
    folder = target.parent
    fsync_path(temporary)
    fsync_path(folder)
    step("publish: synced")
    settle_published(target, keep=keep)
    for older in _generations(target):  # renamed or removed below: their journals must not stay behind
        settle_journal(older)
    if target.exists() and keep > 0:
        _rotate(target, keep, step)
    settle_journal(target)  # opened for editing since the first look: refuse rather than leave its journal
    os.replace(temporary, target)
    step("publish: replaced")
    fsync_path(folder)
    step("publish: folder synced")
    _drop_generations(target, keep)
    _point_generations(target, keep)


def _rotate(target: Path, keep: int, step: Checkpoint) -> None:
    for generation in range(keep, 1, -1):
        older = generation_path(target, generation - 1)
        if older.exists():
            os.replace(older, generation_path(target, generation))
    step("publish: generations shifted")
    link = target.with_name(f".{target.stem}.{os.getpid()}.link{target.suffix}")
    link.unlink(missing_ok=True)
    try:
        os.link(target, link)
    except OSError:  # a file system without hard links: copy instead
        shutil.copyfile(target, link)
        fsync_path(link)
    os.replace(link, generation_path(target, 1))
    step("publish: previous kept")


def _generations(target: Path) -> list[Path]:
    """The kept generations beside `target` (``.previous.gpkg``, ``.previous-2.gpkg``, ...), in order."""
    found: list[Path] = []
    while (path := generation_path(target, len(found) + 1)).exists():
        found.append(path)
    return found


def _drop_generations(target: Path, keep: int) -> None:
    generation = keep + 1
    while (path := generation_path(target, generation)).exists():
        path.unlink()
        generation += 1


def _point_generations(target: Path, keep: int) -> None:
    for generation in range(1, keep + 1):
        path = generation_path(target, generation)
        if not path.exists():
            continue
        try:
            point_project_at(path)
        except SourceError as exc:  # the model is published; the old generation keeps its project as it was
            log.warning("%s: its QGIS project still reads the file it was written for: %s", path.name, exc)


def copy_for_update(source: Path, temporary: Path) -> None:
    """Copy the published model to a temporary file for a small update."""
    if temporary.exists():
        raise PublishError(str(temporary), "exists already", fix="remove it; it is left from an interrupted run")
    settle_journal(source)  # a byte copy holds only what is in the file itself, not its journal
    shutil.copyfile(source, temporary)
