"""One run at a time per output: an OS file lock beside the GeoPackage.

The lock is ``fcntl.flock`` on ``<output>.lock`` (``city_cim.gpkg.lock``).
The operating system releases it when the holding process ends, however it
ends (even SIGKILL), so a crashed run never blocks the next night. The file
holds the holder's pid for the message a second run prints; it is left in
place after the run (removing it would let two runs lock different files).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path
from types import TracebackType

from twin.errors import LockError

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
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
