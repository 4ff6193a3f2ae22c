"""Benchmark harness: full runs against the I/O floor, measured in one go.

For each scale (buildings) it generates the sample inputs with
``twin sample --scale N``, then measures, each in a fresh process:

- ``floor``: a plain pyogrio+Arrow copy of the same inputs into one GeoPackage
  (read every input, write every layer, nothing else);
- ``ogr2ogr``: the peer a city would otherwise use, reprojecting to the city CRS
  and repairing geometries (``-makevalid``) of the same inputs;
- ``read+write bound``: twin's imports, the inputs read into GeoDataFrames and
  reprojected, and as many layers as the model written (``io_bound.py``): what
  any run of this shape costs before it transforms anything;
- ``twin run``: the full pipeline to the published GeoPackage;
- ``twin rerun``: the same run again with nothing changed (the nightly case).

Wall time and peak RSS of every process (``os.wait4``) are written as a
Markdown table into ``benchmarks/README.md`` between the result markers.

Usage: ``python benchmarks/run.py [--scales 10000 100000 1000000] [--work DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
FLOOR = HERE / "floor_copy.py"
BOUND = HERE / "io_bound.py"


@dataclass
class Measure:
    """One measured process."""

    name: str
    seconds: float
    peak_mb: float
    ok: bool


def measure(name: str, argv: list[str], *, cwd: Path = ROOT) -> Measure:
    """Run `argv` and return its wall time and peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
    ok = os.waitstatus_to_exitcode(status) == 0
    if not ok:
        print(f"{name} failed: {err.strip()[-400:]}", file=sys.stderr)
    return Measure(name, seconds, usage.ru_maxrss / 1024, ok)


def pipeline(folder: Path) -> Path:
    """Write a pipeline file for the generated inputs in `folder`."""
    text = """[city]
name = "Benchmark"
crs = "EPSG:25832"
boundary = "boundary.geojson"

[output]
path = "out/cim.gpkg"

[buildings]
path = "buildings/hausumringe.shp"
format = "alkis"

[panoramas]
path = "panoramas/recordings.csv"
format = "cyclomedia"
streets = "streets/streets.geojson"

[fibre]
routes = "fibre/routes.geojson"
nodes = "fibre/nodes.geojson"
hub = "Rathaus"
"""
    path = folder / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def ogr2ogr(folder: Path, out: Path) -> list[str]:
    """A shell command: ogr2ogr reprojecting and repairing every input into one GeoPackage."""
    inputs = [
        ("buildings/hausumringe.shp", "buildings", "-makevalid -nlt PROMOTE_TO_MULTI"),
        ("panoramas/recordings.csv", "panoramas", "-oo X_POSSIBLE_NAMES=X -oo Y_POSSIBLE_NAMES=Y -oo Z_POSSIBLE_NAMES=Z -s_srs EPSG:4326"),
        ("fibre/routes.geojson", "fibre_routes", "-makevalid"),
        ("fibre/nodes.geojson", "fibre_nodes", ""),
        ("streets/streets.geojson", "streets", ""),
    ]
    steps = []
    for number, (path, layer, extra) in enumerate(inputs):
        mode = "" if number == 0 else "-update"
        steps.append(f"ogr2ogr -f GPKG {mode} -t_srs EPSG:25832 -nln {layer} {extra} {out} {folder / path}")
    return ["bash", "-c", " && ".join(steps)]


def bench_scale(scale: int, work: Path, twin: str) -> list[Measure]:
    """Generate inputs at `scale` and measure floor, peer and twin on them."""
    folder = work / f"s{scale}"
    if not (folder / "buildings" / "hausumringe.shp").exists():
        subprocess.run([twin, "sample", "--quiet", "--out", str(folder), "--scale", str(scale)], check=True)
    toml = pipeline(folder)
    shutil.rmtree(folder / "out", ignore_errors=True)
    (folder / "out").mkdir()
    results = [measure("floor", [sys.executable, str(FLOOR), str(folder), str(folder / "out" / "floor.gpkg")])]
    if shutil.which("ogr2ogr"):
        results.append(measure("ogr2ogr", ogr2ogr(folder, folder / "out" / "ogr2ogr.gpkg")))
    results.append(measure("read+write bound", [sys.executable, str(BOUND), str(folder), str(folder / "out" / "bound.gpkg")]))
    results.append(measure("twin run", [twin, "run", "--quiet", str(toml)]))
    results.append(measure("twin rerun", [twin, "run", "--quiet", str(toml)]))
    return results


def table(results: dict[int, list[Measure]]) -> str:
    """Markdown table: one row per scale and process, ratios against the floor."""
    lines = ["| buildings | process | wall s | peak RSS MB | × floor (time) | × floor (memory) |", "|---:|---|---:|---:|---:|---:|"]
    for scale, measures in results.items():
        floor = measures[0]
        for m in measures:
            flag = "" if m.ok else " (failed)"
            lines.append(
                f"| {scale:,} | {m.name}{flag} | {m.seconds:.2f} | {m.peak_mb:.0f} | "
                f"{m.seconds / floor.seconds:.2f} | {m.peak_mb / floor.peak_mb:.2f} |"
            )
    return "\n".join(lines)


def targets(results: dict[int, list[Measure]]) -> str:
    """Markdown: each target of the programme with the figure of this run and whether it is met."""
    by = {scale: {m.name: m for m in ms} for scale, ms in results.items()}
    rows: list[tuple[str, str, float, float]] = []  # (target, unit, value, limit)
    for scale, limit, note in ((1_000_000, 4.0, ""), (1_000_000, 3.0, " (stretch)"), (100_000, 4.0, "")):
        if scale in by and "twin run" in by[scale]:
            rows.append((f"run ÷ floor at {scale:,}{note}", "×",
                         by[scale]["twin run"].seconds / by[scale]["floor"].seconds, limit))
    if 10_000 in by:
        rows.append(("run at 10,000", "s", by[10_000]["twin run"].seconds, 1.5))
    for scale, limit, note in ((1_000_000, 2000.0, ""), (1_000_000, 1500.0, " (stretch)"), (100_000, 450.0, "")):
        if scale in by:
            rows.append((f"peak memory at {scale:,}{note}", "MB", by[scale]["twin run"].peak_mb, limit))
    if 1_000_000 in by:
        rows.append(("unchanged rerun ÷ run at 1,000,000", "%",
                     100 * by[1_000_000]["twin rerun"].seconds / by[1_000_000]["twin run"].seconds, 5.0))
    if 1_000_000 in by and 100_000 in by:
        rows.append(("run at 1,000,000 ÷ run at 100,000", "×",
                     by[1_000_000]["twin run"].seconds / by[100_000]["twin run"].seconds, 12.0))
    lines = ["| target | this run | limit | met |", "|---|---:|---:|---|"]
    lines += [f"| {name} | {value:.2f} {unit} | ≤ {limit:g} {unit} | {'yes' if value <= limit else 'no'} |"
              for name, unit, value, limit in rows]
    return "\n".join(lines)


def versions() -> str:
    """Versions of everything that shapes the figures."""
    import geopandas
    import pyogrio
    import shapely

    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True, check=False).stdout.strip() if shutil.which("ogr2ogr") else "absent"
    return (
        f"Python {platform.python_version()}, geopandas {geopandas.__version__}, shapely {shapely.__version__}, "
        f"pyogrio {pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__}), ogr2ogr: {gdal}; "
        f"{os.cpu_count()} cores, {platform.machine()}"
    )


def write_readme(results: dict[int, list[Measure]]) -> None:
    """Replace the results block of benchmarks/README.md."""
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    block = f"{BEGIN}\nMeasured {stamp}; {versions()}.\n\n{table(results)}\n\n{targets(results)}\n{END}"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    readme.write_text(head + block + tail, encoding="utf-8")


def main() -> int:
    """Run the benchmark and record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    twin = str(Path(sys.executable).with_name("twin"))
    # An installed package has its byte code compiled; compile twin's here too, so that no run pays for it
    # (with PYTHONDONTWRITEBYTECODE set, every process would compile it again).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "twin")], check=True)
    results = {scale: bench_scale(scale, args.work, twin) for scale in args.scales}
    write_readme(results)
    print(table(results))
    print(targets(results))
    (args.work / "results.json").write_text(json.dumps({s: [m.__dict__ for m in ms] for s, ms in results.items()}, indent=1))
    return 0 if all(m.ok for ms in results.values() for m in ms) else 1


if __name__ == "__main__":
    raise SystemExit(main())
