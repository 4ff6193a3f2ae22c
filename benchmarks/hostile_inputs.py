"""Nasty inputs at full size: how long and how much memory each refusal takes.

Generates, beside a copy of the sample city in ``data/raw`` with its model
published once, the files of the attacks at their real size (a CSV header of
100,000 columns, a CSV line of 1 GB, ``/dev/zero`` and ``/dev/urandom`` as
panoramas, a zipped Shapefile whose ``.prj`` is 100 MB of newlines, ``keep =
1e12``, a TOML nested 5,000 deep, JSON nested 100,000 deep, OSM XML cut
short, a GeoPackage with 16 kB overwritten at 30 %, an 18 MB CAD drawing of
crossing routes) and runs ``twin run --force`` on each in a fresh process.
It records the exit code, the first line of the message, wall time, peak
resident memory (the child's VmHWM) and whether the published model stayed
byte-identical. Targets: refused (exit 2) in at most 10 s and 500 MB.

Usage: ``python benchmarks/hostile_inputs.py [WORK_FOLDER]`` (default: a temporary folder).
The results table is printed as Markdown for ``benchmarks/README.md``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ezdxf
import numpy as np
import pyogrio

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
#: Targets of a refusal.
MAX_SECONDS, MAX_RSS_MB = 10.0, 500.0


@dataclass(frozen=True)
class Result:
    case: str
    code: int
    message: str
    seconds: float
    rss_mb: float
    unchanged: bool


def pipeline_text(folder: Path, **sections: str) -> str:
    raw = folder / "raw"
    parts = {
        "city": f'name = "Kaiserslautern"\ncrs = "EPSG:25832"\nboundary = "{raw}/boundary.geojson"',
        "output": f'path = "{folder}/out/cim.gpkg"',
        "buildings": f'path = "{raw}/buildings/hausumringe.shp"\nformat = "alkis"',
        "panoramas": f'path = "{raw}/panoramas/recordings.csv"\nformat = "cyclomedia"',
        "fibre": f'routes = "{raw}/fibre/routes.geojson"\nnodes = "{raw}/fibre/nodes.geojson"\nhub = "Rathaus"',
    }
    parts.update(sections)
    return "\n\n".join(f"[{name}]\n{body}" for name, body in parts.items() if body)


#: Marks the child's peak memory on its last line of stderr.
PEAK = "@@peak-kb "
#: ``python -m twin ARGS`` writing its peak resident size (VmHWM) at exit: ``ru_maxrss`` from
#: ``os.wait4`` would also count this script's memory at the moment it forked the child.
CHILD = ("import atexit, os, runpy, sys; "
         "atexit.register(lambda: os.write(2, ('" + PEAK + "' + [line.split()[1] for line in "
         "open('/proc/self/status') if line.startswith('VmHWM:')][0] + '\\n').encode())); "
         "sys.argv[0] = 'twin'; runpy.run_module('twin', run_name='__main__', alter_sys=True)")


def run_twin(pipeline: Path) -> tuple[int, str, float, float]:
    """Exit code, first message line, wall time and peak RSS (MB) of ``twin run --force -q PIPELINE``."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CHILD, "run", "--force", "-q", str(pipeline)], check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=pipeline.parent)
    seconds = time.monotonic() - started
    text, _, peak = done.stderr.decode("utf-8", "replace").rpartition(PEAK)
    first = (text.strip().splitlines() or [""])[0]
    return done.returncode, first, seconds, int(peak) / 1024


def _csv_columns(folder: Path) -> dict[str, str]:
    path = folder / "wide.csv"
    header = ",".join(f"c{k:05d}" for k in range(100_000))
    path.write_text(f"{header}\n", encoding="utf-8")
    return {"panoramas": f'path = "{path}"\nformat = "csv"'}


def _csv_line(folder: Path) -> dict[str, str]:
    path = folder / "long_line.csv"
    block = b"9" * (64 * 1024**2)
    with path.open("wb") as handle:
        handle.write(b"image,x,y,captured_at\nP1,")
        for _ in range(16):  # 1 GB without a line break
            handle.write(block)
        handle.write(b"\n")
    return {"panoramas": f'path = "{path}"\nformat = "csv"'}


def _device(name: str) -> Callable[[Path], dict[str, str]]:
    def make(_folder: Path) -> dict[str, str]:
        return {"panoramas": f'path = "{name}"\nformat = "csv"'}
    return make


def _prj(folder: Path) -> dict[str, str]:
    archive = folder / "hausumringe.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for part in sorted((folder / "raw" / "buildings").glob("hausumringe.*")):
            if part.suffix != ".prj":
                out.write(part, part.name)
        out.writestr("hausumringe.prj", b"\n" * 100_000_000)
    return {"buildings": f'path = "{archive}"\nformat = "alkis"'}


def _keep(folder: Path) -> dict[str, str]:
    return {"output": f'path = "{folder}/out/cim.gpkg"\nkeep = 1000000000000'}


def _toml(folder: Path) -> dict[str, str]:
    fibre = pipeline_text(folder).split("[fibre]\n", 1)[1]
    return {"fibre": fibre + "\nvalues = " + "[" * 5000 + "]" * 5000}


def _json(folder: Path) -> dict[str, str]:
    path = folder / "pictures.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return {"panoramas": f'path = "{path}"\nformat = "json"'}


def _osm(folder: Path) -> dict[str, str]:
    path = folder / "cut.osm"
    nodes = "".join(f'<node id="{k}" lat="{49.44 + k * 1e-5:.6f}" lon="7.768"/>\n' for k in range(200_000))
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{nodes}', encoding="utf-8")
    return {"buildings": f'path = "{path}"\nformat = "osm"'}


def _damaged_gpkg(folder: Path) -> dict[str, str]:
    path = folder / "buildings.gpkg"
    frame = pyogrio.read_dataframe(folder / "raw" / "buildings" / "hausumringe.shp")
    pyogrio.write_dataframe(frame, path, layer="hausumringe")
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(int(size * 0.3))
        handle.write(b"\xff" * 16384)
    return {"buildings": f'path = "{path}"\nformat = "alkis"'}


def _dense_dxf(folder: Path) -> dict[str, str]:
    path = folder / "dense.dxf"
    drawing = ezdxf.new()
    space = drawing.modelspace()
    rng = np.random.default_rng(1)
    count = 100_000
    start = rng.uniform(0.0, 3000.0, (count, 2))
    angle = rng.uniform(0.0, 2 * np.pi, count)
    end = start + np.c_[np.cos(angle), np.sin(angle)] * rng.uniform(5.0, 50.0, count)[:, None]
    x0, y0 = 409_000.0, 5_476_000.0
    for (ax, ay), (bx, by) in zip(start, end, strict=True):
        space.add_line((x0 + ax, y0 + ay), (x0 + bx, y0 + by), dxfattribs={"layer": "GF_TRASSE"})
    drawing.saveas(path)
    return {"fibre": f'routes = "{path}"\ncrs = "EPSG:25832"\nhub = "Rathaus"\n\n'
                     '[fibre.dxf_layers]\nGF_TRASSE = "trench"'}


CASES: dict[str, Callable[[Path], dict[str, str]]] = {
    "CSV header of 100,000 columns (700 kB)": _csv_columns,
    "CSV line of 1 GB": _csv_line,
    "/dev/zero as panoramas": _device("/dev/zero"),
    "/dev/urandom as panoramas": _device("/dev/urandom"),
    ".prj of 100 MB newlines (zipped Shapefile)": _prj,
    "[output] keep = 1e12": _keep,
    "TOML nested 5,000 deep": _toml,
    "JSON picture list nested 100,000 deep": _json,
    "OSM XML cut short (200,000 nodes)": _osm,
    "GeoPackage with 16 kB overwritten at 30 %": _damaged_gpkg,
    "CAD drawing of 100,000 crossing routes (18 MB DXF)": _dense_dxf,
}


def main(work: Path) -> list[Result]:
    shutil.copytree(RAW, work / "raw", dirs_exist_ok=True)
    base = work / "city.toml"
    base.write_text(pipeline_text(work), encoding="utf-8")
    code, message, _, _ = run_twin(base)
    if code != 0:
        raise SystemExit(f"the sample city does not build: {message}")
    output = work / "out" / "cim.gpkg"
    results = []
    for name, make in CASES.items():
        digest = hashlib.sha256(output.read_bytes()).hexdigest()
        pipeline = work / "case.toml"
        pipeline.write_text(pipeline_text(work, **make(work)), encoding="utf-8")
        code, message, seconds, rss = run_twin(pipeline)
        unchanged = hashlib.sha256(output.read_bytes()).hexdigest() == digest
        results.append(Result(name, code, message, seconds, rss, unchanged))
        print(f"{name}: exit {code} in {seconds:.1f} s, {rss:.0f} MB", file=sys.stderr)
        if code == 0:  # a case that publishes: build the sample again as the previous model of the next case
            run_twin(base)
    for big in ("long_line.csv", "dense.dxf"):
        (work / big).unlink(missing_ok=True)
    return results


def table(results: list[Result]) -> str:
    rows = [f"Measured {time.strftime('%Y-%m-%d')}; Python {platform.python_version()}, "
            f"pyogrio {pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__}); {os.cpu_count()} cores, "
            f"{platform.machine()}.", "",
            "| input | exit | wall s | peak RSS MB | model unchanged | within target | message |",
            "|---|---:|---:|---:|---|---|---|"]
    for r in results:
        within = r.seconds <= MAX_SECONDS and r.rss_mb <= MAX_RSS_MB
        message = r.message.replace("|", "\\|")
        message = message if len(message) <= 140 else message[:139] + "…"
        rows.append(f"| {r.case} | {r.code} | {r.seconds:.1f} | {r.rss_mb:.0f} | "
                    f"{'yes' if r.unchanged else 'no (published)'} | {'yes' if within else 'no'} | {message} |")
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        folder = Path(sys.argv[1])
        folder.mkdir(parents=True, exist_ok=True)
        print(table(main(folder)))
    else:
        with tempfile.TemporaryDirectory() as temporary:
            print(table(main(Path(temporary))))
