"""Old code against new code: full runs of two revisions on the same inputs, interleaved.

Both trees are taken from git (``git archive``), byte-compiled, and run as
``twin run`` on the inputs that ``twin sample --scale N`` generates, each run
a first run into an empty output folder, alternating which revision goes
first. Interleaving cancels most of the load that other processes put on a
shared machine; the table gives the minimum and the median of the repeats.

Usage: ``python benchmarks/compare.py --base REV [--head REV] [--scales 10000 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import pipeline  # noqa: E402  (the benchmark's pipeline file, shared with run.py)

#: Runs the CLI of the tree named first, whatever twin is installed (the tree comes first on the path).
_RUN = "import sys; sys.path.insert(0, sys.argv.pop(1)); from twin.cli import main; sys.exit(main(sys.argv[1:]))"


def export(revision: str, target: Path) -> Path:
    """The ``twin`` package of `revision`, unpacked under `target` and byte-compiled."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "twin"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target / "twin")], check=True)
    return target


def timed_run(tree: Path, toml: Path) -> float:
    """Seconds of one first run of the tree's ``twin run`` (the output folder emptied before)."""
    shutil.rmtree(toml.parent / "out", ignore_errors=True)
    (toml.parent / "out").mkdir()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _RUN, str(tree), "run", "--quiet", str(toml)], cwd=toml.parent, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    """Measure and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the old revision")
    parser.add_argument("--head", default="HEAD", help="the new revision (default HEAD)")
    parser.add_argument("--scales", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()
    trees = {name: export(rev, args.work / f"tree-{name}") for name, rev in (("old", args.base), ("new", args.head))}
    twin = str(Path(sys.executable).with_name("twin"))
    lines = [f"Old {args.base} against new {args.head}, {args.repeat} interleaved first runs each, "
             f"{os.cpu_count()} cores.", "",
             "| buildings | old min s | old median s | new min s | new median s | new ÷ old (min) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for scale in args.scales:
        folder = args.work / f"s{scale}"
        if not (folder / "buildings" / "hausumringe.shp").exists():
            subprocess.run([twin, "sample", "--quiet", "--out", str(folder), "--scale", str(scale)], check=True)
        toml = pipeline(folder)
        times: dict[str, list[float]] = {"old": [], "new": []}
        for number in range(args.repeat):
            order = ("old", "new") if number % 2 == 0 else ("new", "old")
            for name in order:
                times[name].append(timed_run(trees[name], toml))
        old, new = times["old"], times["new"]
        lines.append(f"| {scale:,} | {min(old):.2f} | {statistics.median(old):.2f} | {min(new):.2f} | "
                     f"{statistics.median(new):.2f} | {min(new) / min(old):.3f} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
