"""The published model and SQLite's journals: a journal never meets a file it does not belong to.

SQLite finds a database's journal by name: ``cim.gpkg-wal`` and ``cim.gpkg-shm`` (WAL mode, which
QGIS switches a GeoPackage to when it opens it for editing) or ``cim.gpkg-journal`` (rollback mode).
When a new model is swapped in as ``cim.gpkg`` while the old one's journal is still beside it, the
next program that opens ``cim.gpkg`` applies the old file's journal to the new file: "database disk
image is malformed" for every reader, and the edits in the journal are lost.

So before the old model is replaced, :func:`settle_journal` writes any journal left beside it into
the file itself (a checkpoint, then rollback-journal mode, which removes ``-wal`` and ``-shm``). When
another program still has the model open, SQLite does not allow that; the run then refuses with the fix
(close the project in QGIS) and leaves the published model as it is.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from twin.errors import OutputError

__all__ = ["SIDE_SUFFIXES", "in_wal_mode", "settle_journal", "settle_published", "side_files"]

log = logging.getLogger(__name__)

#: Files SQLite may leave beside a database.
SIDE_SUFFIXES = ("-journal", "-wal", "-shm")

#: Seconds to wait for a program that is writing to the model at this moment.
BUSY_WAIT_S = 2.0

#: Offset of the read and write format versions in the SQLite header: 1 rollback journal, 2 WAL.
_FORMAT_VERSIONS = slice(18, 20)

_CLOSE_IT = ("close the project in QGIS (or the program that has the model open) so that its edits are "
             "written into the file, then run twin again")


def side_files(path: Path) -> list[Path]:
    """The SQLite journal files beside `path` (``-journal``, ``-wal``, ``-shm``) that exist."""
    return [side for suffix in SIDE_SUFFIXES if (side := path.with_name(path.name + suffix)).exists()]


def in_wal_mode(path: Path) -> bool:
    """True when the SQLite header of `path` says WAL mode (a file that is not SQLite is not)."""
    with path.open("rb") as file:
        header = file.read(100)
    return header.startswith(b"SQLite format 3\x00") and 2 in header[_FORMAT_VERSIONS]


def settle_journal(target: Path, *, wait_s: float = BUSY_WAIT_S) -> str:
    """Write a journal beside the published `target` into the file and remove it.

    Afterwards `target` is in rollback-journal mode with no ``-wal``, ``-shm`` or ``-journal``
    beside it, so it can be replaced without its journal meeting the new file.

    Returns
    -------
    str
        ``"written"`` when a WAL with content was found (edits of another program are now in the file),
        ``"rolled back"`` when a rollback journal was (an interrupted transaction SQLite undid), else ``""``.

    Raises
    ------
    OutputError
        When another program has the model open (SQLite refuses to leave WAL mode while it does, or
        its transaction's journal stays), or the file cannot be opened for writing.
    """
    if not target.is_file():
        return ""
    found = side_files(target)
    if not found and not in_wal_mode(target):
        return ""
    sizes = {path.name[len(target.name):]: path.stat().st_size for path in found}
    outcome = "written" if sizes.get("-wal") else "rolled back" if sizes.get("-journal") else ""
    con = sqlite3.connect(f"{target.absolute().as_uri()}?mode=rw", uri=True, timeout=wait_s, isolation_level=None)
    try:
        # Reading rolls back a journal that a crashed program left (SQLite's own recovery); leaving WAL
        # mode checkpoints the WAL into the file and removes -wal and -shm, if no one else has it open.
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        mode = str(con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]).lower()
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise OutputError(target.name, f"cannot be opened to write its journal {_names(found)} into it ({exc})",
                              fix="make the file and its folder writable for the user running twin") from exc
        mode = "locked"
    except sqlite3.DatabaseError as exc:
        raise OutputError(target.name, f"is not a readable SQLite database ({exc})",
                          fix="move it away (it is not a model twin can replace safely) and run again") from exc
    finally:
        con.close()
    left = side_files(target)
    if mode != "delete" or left:
        beside = f" ({_names(left)} beside it)" if left else ""
        raise OutputError(target.name, f"is open for editing in another program{beside}", fix=_CLOSE_IT)
    return outcome


def settle_published(target: Path, *, keep: int) -> None:
    """:func:`settle_journal` on the published model, saying where edits found in its journal go.

    The next publication replaces the model; with `keep` > 0 the edited file stays as the previous generation.
    """
    outcome = settle_journal(target)
    if outcome == "written":
        kept = f"kept in {target.stem}.previous{target.suffix}" if keep > 0 else "not kept ([output] keep = 0)"
        log.warning("%s: edits that another program left in its journal were written into the file before "
                    "the new model replaces it; they are %s", target.name, kept)
    elif outcome == "rolled back":
        log.warning("%s: a transaction that another program left unfinished was rolled back by SQLite "
                    "(its changes were never saved)", target.name)


def _names(paths: list[Path]) -> str:
    return ", ".join(path.name for path in paths)
