"""The ``twin`` command: argv -> config -> runner -> exit code.

Only this module reads argv and the environment, prints, sets up logging
and exits. Exit codes: 0 ok, 1 internal error, 2 bad input or config,
3 another run holds the lock.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import signal
import sys
import traceback
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from twin._version import __version__
from twin.config import DEFAULT_PIPELINE, read_pipeline
from twin.errors import TwinError
from twin.log import TerminalProgress, json_line, printable, setup_logging

log = logging.getLogger("twin")


class _JsonErrorParser(argparse.ArgumentParser):
    """A parser that reports a wrong command line as one JSON line (``--log-format json``)."""

    def error(self, message: str) -> typing.NoReturn:
        _say(f"{self.prog}: error: {message}", json_format=True, exit_code=2)
        sys.exit(2)


def _json_requested(argv: Sequence[str]) -> bool:
    return "--log-format=json" in argv or any(
        a == "--log-format" and b == "json" for a, b in itertools.pairwise(argv))


def _say(message: str, *, json_format: bool, exit_code: int) -> None:
    """Print an error as one line: text with control characters escaped, or a JSON object."""
    if json_format:
        print(json_line({"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "level": "error",
                         "logger": "twin", "message": message, "event": "failed", "exit_code": exit_code}),
              file=sys.stderr)
    else:
        print(printable(message), file=sys.stderr)


def _parser(*, json_errors: bool = False) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    common.add_argument("-q", "--quiet", action="store_true", help="only errors; no progress (for cron)")
    common.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON")
    common.add_argument("--debug", action="store_true", help="show tracebacks")

    kind = _JsonErrorParser if json_errors else argparse.ArgumentParser
    parser = kind(prog="twin", description="Build the city information model (CIM) GeoPackage.")
    parser.add_argument("--version", action="version", version=f"twin {__version__}")
    parser.add_argument("--debug", dest="debug_first", action="store_true", help="show tracebacks (also after COMMAND)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_run = sub.add_parser("run", parents=[common], help="build and publish the city model",
                           description="Build the city model of a pipeline file and publish it atomically.")
    p_run.add_argument("pipeline", nargs="?", type=Path, default=None,
                       help=f"pipeline TOML (default: {DEFAULT_PIPELINE})")
    p_run.add_argument("--force", action="store_true", help="rebuild every stage even when its inputs did not change")
    p_run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                       help="wait up to SECONDS for another run on the same output (default: exit 3 at once)")
    p_run.add_argument("--engine", choices=("local", "dask"), default="local",
                       help="local: one process; dask: every stage on the workers of a dask cluster (large regions)")
    p_run.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="with --engine dask: a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786")

    p_validate = sub.add_parser("validate", parents=[common], help="check a pipeline and its inputs; write nothing",
                                description="Read the pipeline file and every input through the readers, "
                                            "without writing anything. Exit 0 when a run would start, 2 when not.")
    p_validate.add_argument("pipeline", nargs="?", type=Path, default=None,
                            help=f"pipeline TOML (default: {DEFAULT_PIPELINE})")

    p_export = sub.add_parser("export", parents=[common], help="export a built model or part of it",
                              description="Export the buildings of a built model as CityJSON 2.0 LoD1, its "
                                          "fibre network as Open Fibre Data Standard 0.4 GeoJSON, or a district or "
                                          "box of it as a complete GeoPackage (styles, titles, relations, QGIS project).")
    p_export.add_argument("kind", choices=("cityjson", "ofds", "gpkg"),
                          help="cityjson: buildings as CityJSON 2.0 LoD1 (TARGET is a file); "
                               "ofds: the fibre network as Open Fibre Data Standard 0.4 GeoJSON (TARGET is a folder); "
                               "gpkg: the model cut to --district or --bbox (TARGET is a file)")
    p_export.add_argument("model", type=Path, help="the GeoPackage written by twin run")
    p_export.add_argument("target", type=Path, help="file to write (e.g. buildings.city.json)")
    p_export.add_argument("--base-height", type=float, default=0.0, metavar="M",
                          help="height of the ground the buildings stand on, in metres (default 0)")
    p_export.add_argument("--overwrite", action="store_true", help="replace an existing target file")
    part = p_export.add_mutually_exclusive_group()
    part.add_argument("--district", metavar="NAME", default=None, help="gpkg: the buildings of this district and "
                      "the features in the convex hull of their footprints")
    part.add_argument("--bbox", metavar="MINX,MINY,MAXX,MAXY", default=None,
                      help="gpkg: the features intersecting this box (in the model's CRS unless --crs)")
    p_export.add_argument("--crs", default=None, help="gpkg: CRS of --bbox, e.g. EPSG:4326 (default: the model's)")

    p_init = sub.add_parser("init", parents=[common], help="set up a new city from a folder of input files",
                            description="Inspect the files in a folder, guess which is which and how their columns "
                                        "map, and write a commented pipelines/<city>.toml to check.")
    p_init.add_argument("city", help="name of the municipality, e.g. \"Neustadt an der Weinstraße\"")
    p_init.add_argument("--inputs", type=Path, required=True, metavar="FOLDER", help="folder with the input files")
    p_init.add_argument("--crs", default=None, help="output CRS (default: the buildings' projected CRS, else EPSG:25832)")
    p_init.add_argument("--pipelines", type=Path, default=Path("pipelines"), metavar="DIR",
                        help="folder for the pipeline file (default pipelines)")
    p_init.add_argument("--overwrite", action="store_true", help="replace an existing pipeline file")

    p_project = sub.add_parser("qgis-project", parents=[common],
                               help="point the QGIS project stored in a copied or renamed model at that file",
                               description="The QGIS project stored in a model reads its layers from the file name "
                                           "it was published under. After copying or renaming the file by hand, "
                                           "this points the project's layers at the file itself.")
    p_project.add_argument("model", type=Path, nargs="+", help="GeoPackage(s) written by twin run")

    p_sample = sub.add_parser("sample", parents=[common], help="write the sample dataset (from an OSM extract, or synthetic)",
                              description="Write a deterministic sample city (footprints, panoramas, fibre, streets, boundary): "
                                          "the inner city of an OpenStreetMap extract with --from-osm, else a synthetic grid of --scale buildings.")
    p_sample.add_argument("--out", type=Path, default=Path("data/raw"), help="folder to write into (default data/raw)")
    source = p_sample.add_mutually_exclusive_group()
    source.add_argument("--from-osm", type=Path, metavar="FILE",
                        help="OpenStreetMap extract (.osm, .osm.gz, .osm.pbf) with the city hall: its inner city becomes the sample")
    source.add_argument("--scale", type=int, default=2000, help="synthetic sample: number of buildings (default 2000)")
    p_sample.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser(json_errors=_json_requested(argv)).parse_args(argv)
    args.debug = args.debug or args.debug_first
    setup_logging(verbosity=args.verbose, quiet=args.quiet, fmt=args.log_format)
    as_json = args.log_format == "json"
    try:
        return int(_dispatch(args))
    except TwinError as exc:
        if args.debug:
            traceback.print_exc()
        log.debug("failed", exc_info=True)
        _say(f"twin: error: {exc}", json_format=as_json, exit_code=exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        _say("twin: interrupted", json_format=as_json, exit_code=130)
        return 130
    except BrokenPipeError:  # the reader of the output went away (twin validate | head): nothing more to say
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit; it must not fail
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 1
        if args.debug:
            traceback.print_exc()
        _say(f"twin: internal error: {type(exc).__name__}: {printable(str(exc))} (run with --debug for the traceback)",
             json_format=as_json, exit_code=1)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "export":
        return _export(args)
    if args.command == "sample":
        return _sample(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "init":
        return _init(args)
    if args.command == "qgis-project":
        return _qgis_project(args)
    raise AssertionError(args.command)  # pragma: no cover


def _run(args: argparse.Namespace) -> int:
    from twin.runner import run

    pipeline = read_pipeline(args.pipeline or _default_pipeline())
    checkpoint = _kill_at(os.environ.get(KILL_AT_ENV, ""))
    with TerminalProgress(enabled=not args.quiet) as progress:
        result = run(pipeline, progress=progress, force=args.force, wait_s=args.wait, checkpoint=checkpoint,
                     engine=args.engine, scheduler=args.scheduler)
    if args.quiet:
        return 0
    if args.log_format == "json":
        print(json.dumps({"event": "published", "run_id": result.run_id, "output": str(result.output),
                          "duration_s": result.duration_s, "stages": result.stages, "changes": result.changes,
                          "counts": result.counts, "report": str(result.report) if result.report else None}))
        return 0
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    verb = "recorded unchanged" if result.unchanged else "wrote"
    print(printable(f"{verb} {result.output} in {result.duration_s:.1f} s ({counts})"))
    if result.fibre:
        print(printable(_fibre_line(result.fibre)))
    print(printable(result.summary))
    return 0


def _fibre_line(summary: dict[str, Any]) -> str:
    kinds = ", ".join(f"{k} {v / 1000:.2f} km" for k, v in summary["length_m_by_kind"].items())
    states = ", ".join(f"{k} {v / 1000:.2f} km" for k, v in summary.get("length_m_by_status", {}).items())
    qa = ", ".join(f"{k} {v}" for k, v in summary["qa"].items()) or "none"
    return (f"fibre: {summary['length_m'] / 1000:.2f} km ({kinds}{'; ' + states if states else ''}), "
            f"{summary['sites_connected']} of "
            f"{summary['sites']} sites reach the hub, {summary['components']} network part(s), QA: {qa}")


#: Test hook: ``TWIN_KILL_AT_CHECKPOINT=N`` makes a run SIGKILL itself at its N-th step;
#: ``TWIN_KILL_AT_CHECKPOINT=list`` prints every step's name to stderr instead.
KILL_AT_ENV = "TWIN_KILL_AT_CHECKPOINT"


def _kill_at(value: str) -> Callable[[str], None] | None:
    if not value:
        return None
    if value == "list":
        return lambda name: print(f"checkpoint: {name}", file=sys.stderr, flush=True)
    target = int(value)
    seen = [0]

    def checkpoint(name: str) -> None:
        seen[0] += 1
        if seen[0] == target:
            print(f"checkpoint {target}: {name}: killing the run", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint


def _validate(args: argparse.Namespace) -> int:
    from twin.runner.validate import validate

    pipeline = read_pipeline(args.pipeline or _default_pipeline())
    found = validate(pipeline)
    if args.quiet:
        return 0
    if args.log_format == "json":
        print(json.dumps({"event": "validated", "pipeline": str(pipeline.path), "counts": found.counts,
                          "notes": found.notes}))
        return 0
    counts = ", ".join(f"{k} {v}" for k, v in found.counts.items())
    print(printable(f"{pipeline.path.name}: valid ({counts})"))
    for note in found.notes:
        print(f"  {printable(note)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from twin.errors import InputError
    from twin.runner.lock import RunLock, lock_path

    if not args.model.exists():
        raise InputError(str(args.model), "file not found", fix="give the GeoPackage written by twin run")
    if args.kind != "gpkg" and (args.district or args.bbox or args.crs):
        raise InputError(f"twin export {args.kind}", "--district, --bbox and --crs choose a part for gpkg only",
                         fix="leave them out or use twin export gpkg")
    if args.kind == "gpkg" and args.bbox is not None:
        from twin.api.subset import parse_bbox

        parse_bbox(args.bbox)  # a wrong box is named before anything else
    written = [args.target / "nodes.geojson", args.target / "spans.geojson"] if args.kind == "ofds" else [args.target]
    for target in written:
        if target.exists() and not args.overwrite:
            raise InputError(str(target), "already exists", fix="add --overwrite to replace it")
        if target.exists() and target.samefile(args.model):
            raise InputError(str(target), "is the model being exported", fix="give another file to write")
    with contextlib.ExitStack() as locks:
        for target in written:  # a model that twin run publishes: not while a run replaces it
            if lock_path(target).exists():
                locks.enter_context(RunLock(target))
        return _write_export(args)


def _write_export(args: argparse.Namespace) -> int:
    from twin.publish.cityjson import write_cityjson

    if args.kind == "gpkg":
        return _export_gpkg(args)
    if args.kind == "ofds":
        from twin.publish.ofds import write_ofds

        nodes, spans = write_ofds(args.model, args.target)
        if not args.quiet:
            print(printable(f"wrote {nodes} and {spans} (Open Fibre Data Standard 0.4)"))
        return 0
    count = write_cityjson(args.model, args.target, base_height_m=args.base_height)
    if not args.quiet:
        print(printable(f"wrote {args.target} ({count} buildings, CityJSON 2.0 LoD1)"))
    return 0


def _export_gpkg(args: argparse.Namespace) -> int:
    from twin.api.export import export_gpkg

    written, counts = export_gpkg(args.model, args.target, district=args.district, bbox=args.bbox, crs=args.crs,
                                  overwrite=args.overwrite)
    if not args.quiet:
        print(printable(f"wrote {written} ({', '.join(f'{k} {v}' for k, v in counts.items() if k != 'runs')})"))
    return 0


def _init(args: argparse.Namespace) -> int:
    from twin.init import init_city

    path, guess = init_city(args.city, args.inputs, pipelines=args.pipelines, crs=args.crs, overwrite=args.overwrite)
    if not args.quiet:
        found = ", ".join(sorted(k for k in guess.sections if k != "city")) or "no sources"
        print(printable(f"wrote {path} ({found}; output CRS {guess.crs}); check the guesses, then run: "
                        f"twin validate {path}"))
        for label, role in guess.files.items():
            print(printable(f"  {label}: {role}"))
    return 0


def _qgis_project(args: argparse.Namespace) -> int:
    from twin.errors import InputError
    from twin.publish.qgis_project import point_project_at, project_sources

    for model in args.model:
        changed = point_project_at(model)
        sources = sorted(set().union(*project_sources(model).values()))
        if not sources:
            raise InputError(str(model), "holds no QGIS project written by twin", fix="run twin run to write one")
        if not args.quiet:
            print(printable(f"{model}: QGIS project {'now reads' if changed else 'reads'} {', '.join(sources)}"))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from twin.sample import write_sample
    from twin.sample.osm_sample import write_osm_sample

    if args.from_osm is not None:
        written = write_osm_sample(args.from_osm, args.out, seed=args.seed)
    else:
        written = write_sample(args.out, scale=args.scale, seed=args.seed)
    if not args.quiet:
        print(printable(f"wrote {len(written)} files into {args.out}"))
    return 0


def _default_pipeline() -> Path:
    """The shipped pipeline: in the working directory, else beside the installed package's source tree."""
    if DEFAULT_PIPELINE.exists():
        return DEFAULT_PIPELINE
    return Path(__file__).resolve().parent.parent / DEFAULT_PIPELINE
