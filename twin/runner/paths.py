"""Where a run may write and what it may read, checked before the lock is taken.

The output is a GeoPackage of its own: not an input, not a folder, not a file that twin keeps beside
another output (its lock, an older generation, a temporary, the report). The inputs are regular files
or folders of regular files: a FIFO, a device or a socket would stall or flood the run. A GDAL VRT
input may only point at files in its own folder: ``/vsicurl/``, ``/vsis3/`` and other virtual file
systems, URLs and connection strings (``WFS:``, ``PG:``) are refused, so a data file cannot make the
run send requests into the network.
"""

from __future__ import annotations

import errno
import gzip
import os
import re
import sqlite3
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import pyogrio
import pyogrio.errors
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedElementTree

from twin.config import Pipeline
from twin.errors import ConfigError, OutputError, SourceError
from twin.gdal_options import gdal_options

__all__ = ["check_inputs", "check_output", "check_paths", "check_writable", "no_network", "output_errors",
           "written_paths"]

#: The suffix of the output (a GeoPackage).
OUTPUT_SUFFIX = ".gpkg"

#: Names twin gives to files beside an output: older generations and temporaries.
_KEPT_NAME = re.compile(r".*\.previous(?:-[0-9]+)?")
_TEMPORARY_NAME = re.compile(r"\..*\.[0-9]+\.(?:tmp|link)")
_STAGES_NAME = re.compile(r"\..+\.stages")

#: GDAL settings for reading the inputs: its network file systems (``/vsicurl/``, ``/vsis3/``, ...) open
#: only names with this suffix, which no file has, so they refuse at once and connect nowhere.
_NETWORK_OFF = {"CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".twin-reads-no-network"}

#: Elements of a GDAL VRT that name another data source (vector and raster VRT).
_SOURCE_TAGS = ("SrcDataSource", "SourceFilename")

#: Generations looked at when comparing the files a run writes with its inputs.
_MAX_GENERATIONS = 100

#: The errors of a full or read-only folder, by errno and by the words SQLite and GDAL use for them.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL_WORDS = ("disk is full", "no space left", "disk quota", "file too large")
_READ_ONLY_WORDS = ("readonly database", "read-only file system", "permission denied")

#: Bytes `check_writable` writes (and removes) to see that the output's folder takes a file.
PROBE_BYTES = 1 << 20

#: How deep VRTs pointing at VRTs are followed.
_VRT_DEPTH = 8

#: Bytes read to recognise a VRT whatever its file name (GDAL looks at the content, not the suffix).
_SNIFF_BYTES = 4096

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}


def check_paths(pipeline: Pipeline) -> None:
    """Check the output path and every input of `pipeline`; see :func:`check_output`, :func:`check_inputs`."""
    check_output(pipeline)
    check_inputs(pipeline)


def written_paths(target: Path, *, keep: int) -> list[Path]:
    """The files a run writes for the output `target`: the model, its lock, its generations, its report."""
    from twin.publish.report import report_paths
    from twin.runner.lock import lock_path
    from twin.runner.swap import generation_path

    return [target, lock_path(target), *(generation_path(target, n) for n in range(1, min(keep, _MAX_GENERATIONS) + 1)),
            *report_paths(target)]


def check_output(pipeline: Pipeline) -> None:
    """Refuse an ``[output] path`` that would overwrite something else than this output's model.

    Raises
    ------
    ConfigError
        When the path names an input, a folder, another kind of file, or a file twin keeps for another
        output (a lock, an older generation, a temporary, a report).
    """
    target = pipeline.output.path
    place = f"{pipeline.path.name}, [output] path {target}"
    name_problem = _name_problem(target)
    if name_problem:
        raise ConfigError(place, name_problem, fix="name the GeoPackage to publish, e.g. out/city_cim.gpkg")
    kind_problem = _existing_kind(target)
    if kind_problem:
        raise ConfigError(place, kind_problem, fix="choose another [output] path, or move that file away")
    _check_lock_file(target)
    inputs = _input_files(pipeline)
    cache = target.with_name(f".{target.stem}.stages")
    for written in written_paths(target, keep=pipeline.output.keep):
        for source in inputs:
            if _same(written, source):
                what = "is" if written == target else f"would write {written.name}, which is"
                raise ConfigError(place, f"{what} the input {source}",
                                  fix="choose an [output] path apart from the inputs")
    for source in inputs:
        if source.is_dir() and target.is_relative_to(source):
            raise ConfigError(place, f"lies inside the input folder {source}",
                              fix="choose an [output] path outside the input folders")
        if source.is_relative_to(cache):
            raise ConfigError(place, f"its stage folder {cache.name} holds the input {source}",
                              fix="move the input out of that folder; twin removes what it does not need there")


def _check_lock_file(target: Path) -> None:
    from twin.runner.lock import lock_path

    lock = lock_path(target)
    if lock.is_symlink():
        raise OutputError(str(lock), "is a symbolic link, not the lock file of this output",
                          fix="remove the link; twin creates the lock file itself")
    if lock.exists() and not lock.is_file():
        raise OutputError(str(lock), "is not a regular file, so it cannot be the lock file of this output",
                          fix="remove it, or choose another [output] path")


def check_inputs(pipeline: Pipeline) -> None:
    """Refuse an input that is no regular file or folder, and a VRT that reaches beyond its folder.

    Raises
    ------
    SourceError
        Naming the file and what it is (a FIFO, a device, a socket; a VRT naming a URL or a
        file outside its folder).
    """
    for source in _input_files(pipeline):
        for path in _parts(source):
            _check_kind(path)
            if not path.is_file():
                continue
            packed = _vrt_in_archive(path)
            if packed:
                raise SourceError(str(path), f"holds the GDAL VRT file {packed}, which twin does not read from an "
                                  "archive", fix="unpack the archive and name the data file (or the VRT beside it) "
                                                 "in the pipeline")
            if packed is None and _looks_like_vrt(path):
                _check_vrt(path, depth=0, seen=set())


def no_network() -> AbstractContextManager[None]:
    """GDAL's network file systems switched off while the block runs (the settings before are put back)."""
    return gdal_options(_NETWORK_OFF)


def _vrt_in_archive(path: Path) -> str | None:
    """The name of a VRT inside the archive `path` ("" when it holds none; None when it is no archive).

    GDAL opens a zip, tar or gzip archive and reads a VRT it finds inside.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    with archive.open(info) as member:
                        if _is_vrt(info.filename, member.read(_SNIFF_BYTES)):
                            return info.filename
            return ""
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                for entry in archive:
                    handle = archive.extractfile(entry) if entry.isfile() else None
                    if handle is not None:
                        with handle:
                            if _is_vrt(entry.name, handle.read(_SNIFF_BYTES)):
                                return entry.name
            return ""
        with path.open("rb") as file:
            gzipped = file.read(2) == b"\x1f\x8b"
        if gzipped:
            with gzip.open(path) as unpacked:
                return path.stem if _is_vrt(path.stem, unpacked.read(_SNIFF_BYTES)) else ""
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError):
        return ""  # an archive that does not open: the reader names the problem
    return None


def _is_vrt(name: str, head: bytes) -> bool:
    return name.lower().endswith(".vrt") or b"<OGRVRTDataSource" in head or b"<VRTDataset" in head


def _name_problem(target: Path) -> str:
    if target.suffix.lower() != OUTPUT_SUFFIX:
        return f"does not end in {OUTPUT_SUFFIX}"
    if _KEPT_NAME.fullmatch(target.stem):
        return "is named like an older generation that twin keeps beside another output (<stem>.previous.gpkg)"
    if _TEMPORARY_NAME.fullmatch(target.stem):
        return "is named like a temporary file of another output's run"
    if any(_STAGES_NAME.fullmatch(folder.name) for folder in target.parents):
        return "lies in the stage folder of another output (.<stem>.stages), which twin prunes"
    return ""


def _existing_kind(target: Path) -> str:
    try:
        info = target.stat()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"cannot be looked at ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder"
    if not stat.S_ISREG(info.st_mode):
        return f"is {_KINDS.get(stat.S_IFMT(info.st_mode), 'no regular file')}"
    if info.st_size == 0:
        return ""
    with target.open("rb") as file:
        header = file.read(16)
    if header != b"SQLite format 3\x00":
        return "exists and is not a GeoPackage (twin replaces the file at this path with each run)"
    return ""


def _input_files(pipeline: Pipeline) -> list[Path]:
    return [path.absolute() for path in pipeline.input_files()]


def _parts(source: Path) -> Iterator[Path]:
    """`source`, the side files of a Shapefile, and every entry of a folder."""
    yield source
    if source.suffix.lower() == ".shp":
        yield from sorted(p for p in source.parent.glob(f"{_glob_literal(source.stem)}.*") if p != source)
    elif source.is_dir():
        yield from sorted(source.rglob("*"))


def _glob_literal(text: str) -> str:
    return re.sub(r"([*?[])", r"[\1]", text)


def _check_kind(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return  # a missing file is the config's or the reader's to name
    except OSError as exc:
        raise SourceError(str(path), f"cannot be looked at ({exc.strerror})", fix="check the path and its rights") from exc
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise SourceError(str(path), f"is {_KINDS.get(stat.S_IFMT(mode), 'no regular file')}, not a file",
                          fix="give a regular file (copy the data into one)")


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _looks_like_vrt(path: Path) -> bool:
    with path.open("rb") as file:
        return _is_vrt(path.name, file.read(_SNIFF_BYTES))


def _check_vrt(path: Path, *, depth: int, seen: set[Path]) -> None:
    """Every source a VRT names must be a regular file in its folder (VRTs in turn checked the same way)."""
    if depth > _VRT_DEPTH or path in seen:
        raise SourceError(str(path), "VRT files point at each other in a loop or too deeply",
                          fix="point the VRT directly at the data file")
    seen.add(path)
    try:
        root = DefusedElementTree.parse(path, forbid_dtd=True).getroot()
    except (ParseError, DefusedXmlException, OSError) as exc:
        raise SourceError(str(path), f"not a readable VRT file ({exc})", fix="check the XML of the VRT") from exc
    folder = path.parent.resolve()
    for element in _sources(root):
        named = (element.text or "").strip()
        problem = _remote(named)
        if problem:
            raise SourceError(f"{path}, <{element.tag}>", f"names {problem} ({named!r}); twin reads local files only",
                              fix="copy the data into a file beside the VRT and name that")
        relative = element.get("relativeToVRT", "0").strip() == "1" or not Path(named).is_absolute()
        source = ((path.parent / named) if relative else Path(named)).resolve()
        if not source.is_relative_to(folder):
            raise SourceError(f"{path}, <{element.tag}>", f"names {named!r}, outside the VRT's folder {folder}",
                              fix="move the data file into the VRT's folder and name it relative to it")
        _check_kind(source)
        if source.is_file() and _looks_like_vrt(source):
            _check_vrt(source, depth=depth + 1, seen=seen)


def _sources(root: Element) -> Iterator[Element]:
    for tag in _SOURCE_TAGS:
        yield from root.iter(tag)


def _remote(named: str) -> str:
    """What kind of non-local source `named` is ("" for a plain file path)."""
    if named.lower().startswith("/vsi"):
        return "a GDAL virtual file system"
    if "://" in named:
        return "a URL"
    if re.match(r"[A-Za-z][A-Za-z0-9_]+:", named):
        return "a connection string"
    return ""


@contextmanager
def output_errors(target: Path) -> Iterator[None]:
    """Turn a full or read-only output folder into :class:`~twin.errors.OutputError` (exit 2) with the fix.

    Errors of writing elsewhere (an input that cannot be read) pass unchanged.
    """
    try:
        yield
    except (OSError, sqlite3.OperationalError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError) as exc:
        if isinstance(exc, OutputError | SourceError | ConfigError):
            raise
        kind, detail = _output_problem(exc, target)
        if kind:
            raise _output_error(kind, detail, target, unchanged=True) from exc
        raise


def check_writable(target: Path, *, size: int = PROBE_BYTES) -> None:
    """Create, write `size` bytes to and remove a file in the output's folder, as a run would.

    The nearest existing folder of `target` is tried when its own does not exist yet (a run creates it).
    ``os.access`` is not asked: it says yes to root on a read-only file system and knows nothing of a
    full disk.

    Raises
    ------
    OutputError
        When the folder is read-only or full (exit 2), with the fix.
    """
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    kind, detail = _probe(folder, size=size)
    if kind:
        raise _output_error(kind, detail, folder / target.name, unchanged=False)


def _output_error(kind: str, detail: str, target: Path, *, unchanged: bool) -> OutputError:
    tail = "; the published model is unchanged" if unchanged else ""
    if kind == "full":
        return OutputError(str(target.parent), f"no space left to write {target.name} ({detail})",
                           fix=f"free space on that disk or choose another [output] path{tail}")
    return OutputError(str(target.parent), f"not writable ({detail})",
                       fix=f"make the folder writable for the user running twin or choose another [output] path{tail}")


def _output_problem(exc: BaseException, target: Path) -> tuple[str, str]:
    """``("full" | "read-only" | "", what the system said)`` for an error raised while the run wrote."""
    text = str(exc).lower()
    number = exc.errno if isinstance(exc, OSError) else None
    if number in _FULL or any(word in text for word in _FULL_WORDS):
        return "full", _short(exc)
    filename = getattr(exc, "filename", None)
    about_output = (filename is not None and _of_output(Path(os.fsdecode(filename)).absolute(), target)) \
        or (filename is None and str(target.parent).lower() in text)
    if (number in _READ_ONLY or any(word in text for word in _READ_ONLY_WORDS)) and \
            (about_output or isinstance(exc, sqlite3.OperationalError)):
        return "read-only", _short(exc)
    if about_output:  # GDAL and SQLite often say only "unable to open database file": ask the folder itself
        return _probe(target.parent)
    return "", ""


def _probe(folder: Path, *, size: int = 0) -> tuple[str, str]:
    """Whether a file of `size` bytes can be written in `folder` now: ``("", "")``, or the kind of problem
    and its words."""
    try:
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=".twin-probe.")
    except OSError as exc:
        return _probe_problem(exc)
    try:
        if size:
            block = bytes(min(size, 1 << 16))
            for _ in range(0, size, len(block)):
                os.write(descriptor, block)
            os.fsync(descriptor)
    except OSError as exc:
        return _probe_problem(exc)
    finally:
        os.close(descriptor)
        os.unlink(name)
    return "", ""


def _probe_problem(exc: OSError) -> tuple[str, str]:
    if exc.errno in _FULL:
        return "full", exc.strerror or str(exc)
    if exc.errno in _READ_ONLY:
        return "read-only", exc.strerror or str(exc)
    return "", ""


def _of_output(path: Path, target: Path) -> bool:
    """True for the output's folder and the files a run writes there (``cim.*``, ``.cim.*``), not its inputs."""
    if path == target.parent or target.parent.is_relative_to(path):
        return True
    if path.parent == target.parent:
        return path.name.startswith((f"{target.stem}.", f".{target.stem}."))
    return path.is_relative_to(target.with_name(f".{target.stem}.stages"))


def _short(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else " ".join(str(exc).split())[:200]
