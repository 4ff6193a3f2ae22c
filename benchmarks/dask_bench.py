"""The dask engine against the local one at the state's scale, with the memory of every process.

For each scale it generates the inputs (``twin sample --scale N``), then runs, each as the first
run in an empty output folder (no stored stage results, no previous model to compare with),

- ``local``: ``twin run`` in one process;
- ``dask``: a ``dask scheduler`` and two ``dask worker`` processes (one thread each) started
  here, and ``twin run --engine dask --scheduler ADDRESS`` as the client.

Wall time of the run and the peak resident memory of each process (sampled with psutil every
0.2 s, each with its child processes, so a worker counts with its nanny; the client's
also from ``os.wait4``) go into ``benchmarks/README.md`` between the dask
result markers.

Usage: ``python benchmarks/dask_bench.py [--scales 1000000 2000000] [--work DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, ROOT, pipeline, versions

BEGIN, END = "<!-- dask-results:begin -->", "<!-- dask-results:end -->"


class PeakMemory(threading.Thread):
    """Samples the resident memory of some processes until stopped; keeps the peak of each."""

    def __init__(self, processes: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.handles = {name: psutil.Process(pid) for name, pid in processes.items()}
        self.peak = dict.fromkeys(processes, 0.0)
        self.stopped = threading.Event()

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self.stopped.wait(0.2):
            for name, handle in self.handles.items():
                try:  # a dask worker runs under a nanny: count the process and its children
                    tree = [handle, *handle.children(recursive=True)]
                    rss = sum(p.memory_info().rss for p in tree)
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak[name], rss / 2**20)

    def stop(self) -> dict[str, float]:
        """Stop sampling and return the peaks in MB."""
        self.stopped.set()
        self.join()
        return self.peak


def timed(argv: list[str], others: dict[str, int]) -> tuple[float, dict[str, float], bool]:
    """Run `argv`, sampling it and `others`; return wall seconds, peaks and success."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = PeakMemory({"client": process.pid, **others})
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    peaks = sampler.stop()
    peaks["client"] = max(peaks["client"], usage.ru_maxrss / 1024)
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok and process.stderr:
        print(process.stderr.read().decode(errors="replace")[-600:], file=sys.stderr)
    return seconds, peaks, ok


def cluster(work: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """Start a scheduler and two single-threaded workers; return the address and the processes."""
    bin_dir = Path(sys.executable).parent
    address_file = work / "scheduler.json"
    address_file.unlink(missing_ok=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--scheduler-file", str(address_file),
                                  "--dashboard-address", ":0", "--host", "127.0.0.1"], **quiet)  # type: ignore[call-overload]
    while not address_file.exists():
        time.sleep(0.2)
    time.sleep(0.5)
    address = json.loads(address_file.read_text())["address"]
    workers = [subprocess.Popen([str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                 "--memory-limit", "0", "--dashboard-address", ":0", "--host", "127.0.0.1"],
                                **quiet)  # type: ignore[call-overload]
               for _ in range(2)]
    time.sleep(4)
    return address, [scheduler, *workers]


def bench(scale: int, work: Path, twin: str) -> list[dict[str, object]]:
    """Local and dask runs at `scale`."""
    folder = work / f"s{scale}"
    if not (folder / "buildings" / "hausumringe.shp").exists():
        subprocess.run([twin, "sample", "--quiet", "--out", str(folder), "--scale", str(scale)], check=True)
    toml = pipeline(folder)
    rows: list[dict[str, object]] = []
    shutil.rmtree(folder / "out", ignore_errors=True)
    seconds, peaks, ok = timed([twin, "run", "--quiet", str(toml)], {})
    rows.append({"scale": scale, "engine": "local", "seconds": seconds, "peaks": peaks, "ok": ok})
    address, processes = cluster(work)
    try:
        names = {"scheduler": processes[0].pid, "worker 1": processes[1].pid, "worker 2": processes[2].pid}
        shutil.rmtree(folder / "out", ignore_errors=True)
        seconds, peaks, ok = timed([twin, "run", "--quiet", "--engine", "dask", "--scheduler", address, str(toml)],
                                   names)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    rows.append({"scale": scale, "engine": "dask (2 workers)", "seconds": seconds, "peaks": peaks, "ok": ok})
    return rows


def table(rows: list[dict[str, object]]) -> str:
    """Markdown: one row per scale and engine."""
    lines = ["| buildings | engine | wall s | client MB | scheduler MB | worker 1 MB | worker 2 MB |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        peaks = row["peaks"]
        assert isinstance(peaks, dict)
        cells = [f"{peaks[k]:.0f}" if k in peaks else "–" for k in ("client", "scheduler", "worker 1", "worker 2")]
        flag = "" if row["ok"] else " (failed)"
        lines.append(f"| {row['scale']:,} | {row['engine']}{flag} | {row['seconds']:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    """Measure and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    twin = str(Path(sys.executable).with_name("twin"))
    rows = [row for scale in args.scales for row in bench(scale, args.work, twin)]
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    block = f"{BEGIN}\nMeasured {stamp}; {versions()}.\n\n{table(rows)}\n{END}"
    if BEGIN in text:
        head, _, rest = text.partition(BEGIN)
        text = head + block + rest.partition(END)[2]
    else:
        text += f"\n{block}\n"
    readme.write_text(text, encoding="utf-8")
    print(table(rows))
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
