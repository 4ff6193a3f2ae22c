"""One run at a time per output: an OS file lock beside the GeoPackage.

The lock is ``fcntl.flock`` on ``<output>.lock`` (``city_cim.gpkg.lock``).
The operating system releases it when the holding process ends, however it
ends (even SIGKILL), so a crashed run never blocks the next night. The file
holds the holder's pid for the message a second run prints; it is left in
place after the run (removing it would let two runs lock different files).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
import time
from pathlib import Path
from types import TracebackType

from twin.errors import LockError, OutputError

__all__ = ["RunLock", "lock_path"]

log = logging.getLogger(__name__)

#: How often a waiting run tries the lock again (s).
POLL_INTERVAL_S = 0.2


def lock_path(target: Path) -> Path:
    """The lock file of the output `target`."""
    return target.with_name(target.name + ".lock")


class RunLock:
    """Exclusive lock on an output for the duration of a ``with`` block.

    Parameters
    ----------
    target
        The GeoPackage the run publishes.
    wait_s
        Seconds to wait for a running run to finish; 0 fails at once.

    Raises
    ------
    LockError
        When another process holds the lock (after waiting `wait_s`), naming its pid.
    """

    def __init__(self, target: Path, *, wait_s: float = 0.0) -> None:
        self.target = target
        self.path = lock_path(target)
        self.wait_s = wait_s
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockError`."""
        fd = self._open()
        deadline = time.monotonic() + max(self.wait_s, 0.0)
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(self.path)
                    os.close(fd)
                    waited = f" after waiting {self.wait_s:g} s" if self.wait_s > 0 else ""
                    raise LockError(
                        self.target.name, f"another run (pid {holder}) is building this output{waited}",
                        fix="let it finish, or queue behind it with --wait SECONDS",
                    ) from None
                if not announced:
                    log.info("%s: waiting for the run of pid %s", self.target.name, _holder(self.path))
                    announced = True
                time.sleep(POLL_INTERVAL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def _open(self) -> int:
        """Open (create) the lock file; never through a symbolic link, only a regular file."""
        where = self.path.parent
        try:
            where.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(str(self.path), "is a symbolic link, not the lock file of this output",
                                  fix="remove the link; twin creates the lock file itself") from exc
            if exc.errno == errno.EISDIR:
                raise OutputError(str(self.path), "is a folder, not the lock file of this output",
                                  fix="remove or rename it, or choose another [output] path") from exc
            raise OutputError(str(self.path), f"cannot be created ({exc.strerror})",
                              fix=f"make the folder {where} writable for the user running twin, "
                                  "or choose another [output] path") from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OutputError(str(self.path), "is not a regular file, so it cannot be the lock file of this output",
                              fix="remove it, or choose another [output] path")
        return fd

    def release(self) -> None:
        """Give the lock back (the OS does it anyway when the process ends)."""
        if self._fd is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "unknown"
    return text if text.isdigit() else "unknown"
