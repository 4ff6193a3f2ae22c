"""One run per output: a second run is refused naming the holder's pid, or queues with --wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest

from twin.errors import LockError
from twin.runner.lock import RunLock, lock_path

HOLD = """
import sys, time
from pathlib import Path
from twin.runner.lock import RunLock
with RunLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(target: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(target), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    return process


def _stop(process: subprocess.Popen[str], *, kill: bool = True) -> None:
    if kill:
        process.kill()
    process.wait()
    assert process.stdout is not None
    process.stdout.close()


def _twin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "twin", *args], capture_output=True, text=True, check=False, timeout=60)


def test_a_second_lock_in_the_same_process_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "cim.gpkg"
    with RunLock(target):
        with pytest.raises(LockError, match=rf"cim.gpkg: another run \(pid {os.getpid()}\) is building this output"):
            RunLock(target).acquire()
        assert lock_path(target).read_text(encoding="ascii").strip() == str(os.getpid())
    with RunLock(target):
        pass


def test_a_concurrent_run_exits_3_naming_the_pid(city: Path) -> None:
    holder = _holder(city.parent / "out" / "cim.gpkg", 30)
    try:
        done = _twin("run", "-q", str(city))
    finally:
        _stop(holder)
    assert done.returncode == 3
    assert done.stderr == (f"twin: error: cim.gpkg: another run (pid {holder.pid}) is building this output; "
                           "let it finish, or queue behind it with --wait SECONDS\n")
    assert not (city.parent / "out" / "cim.gpkg").exists()


def test_with_wait_the_second_run_queues(city: Path) -> None:
    holder = _holder(city.parent / "out" / "cim.gpkg", 1.5)
    started = time.monotonic()
    done = _twin("run", "-q", "--wait", "30", str(city))
    _stop(holder, kill=False)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 1.0
    assert pyogrio.read_info(city.parent / "out" / "cim.gpkg", layer="runs")["features"] == 1


def test_waiting_too_long_still_fails(tmp_path: Path) -> None:
    target = tmp_path / "cim.gpkg"
    holder = _holder(target, 30)
    try:
        with pytest.raises(LockError, match=r"after waiting 0\.3 s"):
            RunLock(target, wait_s=0.3).acquire()
    finally:
        _stop(holder)


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    target = tmp_path / "cim.gpkg"
    holder = _holder(target, 30)
    os.kill(holder.pid, signal.SIGKILL)
    _stop(holder, kill=False)
    with RunLock(target):
        assert lock_path(target).read_text(encoding="ascii").strip() == str(os.getpid())
