"""The dask engine at the state's scale: the memory of every process, measured from outside.

For each scale it generates the inputs (``twin sample --scale N``), then runs rounds; in each
round, each process fresh and each run the first in an empty output folder (no stored stage
results, no previous model to compare with):

- ``floor``: a plain pyogrio+Arrow copy of the same inputs into one GeoPackage (``floor_copy.py``);
- ``dask``: a ``dask scheduler`` and two ``dask worker`` processes (one thread each, no memory
  limit) started here with dask's own command line, and ``twin run --engine dask --scheduler
  ADDRESS`` as the client; the cluster is started anew for every run;
- ``local``: ``twin run`` in one process (at the scales given with ``--local``).

Floor and twin alternate within each round, so a slow spell of the shared machine falls on both.
Every figure is the minimum over the rounds (``--rounds``, default 3). The peak resident memory
of each process is sampled with psutil every 0.1 s, each with its child processes (a worker
counts with its nanny); the client's also from ``os.wait4``. The results go into
``benchmarks/README.md`` between the dask result markers, with the targets and whether they are met.

Usage: ``python benchmarks/dask_bench.py [--scales 1000000 4000000] [--local 4000000] [--rounds 3]``
(``--reuse 1000000`` takes the figures of a scale measured by an earlier call from the work folder.)
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
from run import FLOOR, HERE, ROOT, pipeline, versions

BEGIN, END = "<!-- dask-results:begin -->", "<!-- dask-results:end -->"
#: Targets: peak MB of the client and of each worker, time(largest) ÷ time(smallest), local peak MB.
CLIENT_MB, WORKER_MB, SCALING, LOCAL_MB = 500, 1500, 4.5, 5000
WORKERS = ("worker 1", "worker 2")


class PeakMemory(threading.Thread):
    """Samples the resident memory of some processes until stopped; keeps the peak of each."""

    def __init__(self, processes: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.handles = {name: psutil.Process(pid) for name, pid in processes.items()}
        self.peak = dict.fromkeys(processes, 0.0)
        self.stopped = threading.Event()

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self.stopped.wait(0.1):
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
    """Run `argv`, sampling it and `others`; return wall seconds, peaks in MB and success."""
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
    """Start ``dask scheduler`` and two single-threaded ``dask worker``; return the address and the processes."""
    dask = str(Path(sys.executable).with_name("dask"))
    address_file = work / "scheduler.json"
    address_file.unlink(missing_ok=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([dask, "scheduler", "--scheduler-file", str(address_file),
                                  "--dashboard-address", ":0", "--host", "127.0.0.1"], **quiet)  # type: ignore[call-overload]
    while not address_file.exists():
        time.sleep(0.2)
    time.sleep(0.5)
    address = json.loads(address_file.read_text())["address"]
    workers = [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                 "--memory-limit", "0", "--dashboard-address", ":0", "--host", "127.0.0.1"],
                                **quiet)  # type: ignore[call-overload]
               for _ in WORKERS]
    time.sleep(5)
    return address, [scheduler, *workers]


def run_dask(twin: str, toml: Path, work: Path) -> tuple[float, dict[str, float], bool]:
    """One dask run against a fresh cluster."""
    address, processes = cluster(work)
    try:
        names = {"scheduler": processes[0].pid, **{w: p.pid for w, p in zip(WORKERS, processes[1:], strict=True)}}
        return timed([twin, "run", "--quiet", "--engine", "dask", "--scheduler", address, str(toml)], names)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def bench(scale: int, work: Path, twin: str, *, rounds: int, local: bool) -> list[dict[str, object]]:
    """`rounds` interleaved rounds at `scale`: floor, dask, (local); every row the minimum over the rounds."""
    folder = work / f"s{scale}"
    if not (folder / "buildings" / "hausumringe.shp").exists():
        subprocess.run([twin, "sample", "--quiet", "--out", str(folder), "--scale", str(scale)], check=True)
    toml = pipeline(folder)
    found: dict[str, list[tuple[float, dict[str, float], bool]]] = {"floor": [], "dask (2 workers)": [], "local": []}
    for number in range(rounds):
        for name, results in found.items():
            if name == "local" and not local:
                continue
            shutil.rmtree(folder / "out", ignore_errors=True)
            (folder / "out").mkdir()
            if name == "floor":
                result = timed([sys.executable, str(FLOOR), str(folder), str(folder / "out" / "floor.gpkg")], {})
            elif name == "local":
                result = timed([twin, "run", "--quiet", str(toml)], {})
            else:
                result = run_dask(twin, toml, work)
            if all(w in result[1] for w in WORKERS):  # the workers swap roles between rounds: the busier one
                result[1]["busier worker"] = max(result[1][w] for w in WORKERS)
            results.append(result)
            print(f"{scale:,} round {number + 1} {name}: {result[0]:.1f} s, "
                  + ", ".join(f"{k} {v:.0f} MB" for k, v in result[1].items()), flush=True)
    rows: list[dict[str, object]] = []
    for name, results in found.items():
        if not results:
            continue
        keys = results[0][1].keys()
        rows.append({"scale": scale, "engine": name, "seconds": min(r[0] for r in results), "runs": len(results),
                     "peaks": {k: min(r[1].get(k, 0.0) for r in results) for k in keys},
                     "ok": all(r[2] for r in results)})
    return rows


def table(rows: list[dict[str, object]]) -> str:
    """Markdown: one row per scale and process."""
    lines = ["| buildings | process | runs | wall s (min) | client MB | scheduler MB | worker 1 MB | worker 2 MB |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        peaks = row["peaks"]
        assert isinstance(peaks, dict)
        cells = [f"{peaks[k]:.0f}" if k in peaks else "–" for k in ("client", "scheduler", *WORKERS)]
        flag = "" if row["ok"] else " (failed)"
        lines.append(f"| {row['scale']:,} | {row['engine']}{flag} | {row['runs']} | {row['seconds']:.1f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows: list[dict[str, object]]) -> str:
    """Markdown: each target, the figure measured and whether it is met."""
    lines = ["| target | measured | limit | met |", "|---|---:|---:|---|"]

    def add(what: str, value: float, limit: float, unit: str) -> None:
        lines.append(f"| {what} | {value:,.1f} {unit} | ≤ {limit:,} {unit} | {'yes' if value <= limit else 'no'} |")

    dask = {int(str(r["scale"])): r for r in rows if r["engine"] == "dask (2 workers)"}
    for scale, row in sorted(dask.items()):
        peaks = row["peaks"]
        assert isinstance(peaks, dict)
        add(f"client at {scale:,}", peaks["client"], CLIENT_MB, "MB")
        busier = peaks.get("busier worker", max(peaks[w] for w in WORKERS))
        add(f"each worker at {scale:,}", busier, WORKER_MB, "MB")
    if len(dask) > 1:
        small, large = min(dask), max(dask)
        ratio = float(str(dask[large]["seconds"])) / float(str(dask[small]["seconds"]))
        add(f"time({large:,}) ÷ time({small:,})", ratio, SCALING, "×")
    for row in rows:
        if row["engine"] == "local":
            peaks = row["peaks"]
            assert isinstance(peaks, dict)
            add(f"local engine at {int(str(row['scale'])):,}", peaks["client"], LOCAL_MB, "MB")
    return "\n".join(lines)


def main() -> int:
    """Measure and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--local", type=int, nargs="*", default=[4_000_000], help="scales that also run the local engine")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", type=int, nargs="*", default=[],
                        help="scales measured by an earlier call, taken from the work folder instead of measured again")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    twin = str(Path(sys.executable).with_name("twin"))
    rows: list[dict[str, object]] = []
    for scale in sorted({*args.scales, *args.reuse}):
        saved = args.work / f"dask-results-{scale}.json"
        if scale in args.reuse:
            rows += json.loads(saved.read_text(encoding="utf-8"))
            continue
        measured = bench(scale, args.work, twin, rounds=args.rounds, local=scale in args.local)
        saved.write_text(json.dumps(measured), encoding="utf-8")
        rows += measured
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    block = f"{BEGIN}\nMeasured {stamp}; {versions()}.\n\n{table(rows)}\n\n{targets(rows)}\n{END}"
    if BEGIN in text:
        head, _, rest = text.partition(BEGIN)
        text = head + block + rest.partition(END)[2]
    else:
        text += f"\n{block}\n"
    readme.write_text(text, encoding="utf-8")
    print(table(rows))
    print(targets(rows))
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
