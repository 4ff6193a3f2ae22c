"""Publishing beside an open QGIS, hostile paths, exit codes and terminal output.

Every case builds a small city in code (``tests/runner/conftest.py``), publishes it once, then attacks
the next run. A refusal is exit 2 with one line naming the place and the fix, and leaves the published
model byte-identical; an accepted run leaves a model every reader opens.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest

import twin
from tests.conftest import RAW, ROOT, pipeline_text
from tests.notebooks.test_notebooks import execute, kernel_path
from tests.publish.test_qgis import SYSTEM_PYTHON, _pyqgis_missing
from tests.runner.conftest import closed_to_new_files
from tests.runner.test_kill import assert_valid
from twin.cli import main
from twin.runner.lock import RunLock, lock_path
from twin.runner.paths import no_network
from twin.runner.swap import clean_stale, generation_path

#: Edits the published model as QGIS does: WAL mode, one row changed; then waits (or dies) as told.
EDITOR = """
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):  # named by the R-tree triggers
    con.create_function(name, 1, lambda blob: 0)
if sys.argv[2] == "unfinished":  # rollback-journal mode: a transaction cut off, its -journal left behind
    con.execute("PRAGMA cache_size=1")
    con.execute("BEGIN")
    con.execute("UPDATE buildings SET storeys = 42")
    os._exit(0)
con.execute("PRAGMA journal_mode=wal")
if sys.argv[2] == "transaction":
    con.execute("BEGIN")
con.execute("UPDATE buildings SET storeys = 42 WHERE fid = 1")
print("edited", flush=True)
if sys.argv[2] == "crash":
    os._exit(0)
sys.stdin.readline()
con.close()
"""


#: Edits the published model in real QGIS (PyQGIS, offscreen) and keeps the project open.
QGIS_EDITOR = ROOT / "tests" / "qgis_scripts" / "edit_layer.py"

#: A route id that is a piece of HTML with a script in it.
HOSTILE_ID = '<img src=x onerror="document.title=1">'

__all__ = ["kernel_path"]  # the notebook tests' fixture, used here


def run_cli(*args: str | Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``twin ARGS`` in this process: exit code, stdout, stderr."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m twin ARGS`` in a process of its own (a hang fails the test instead of the suite)."""
    return subprocess.run([sys.executable, "-m", "twin", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, check=False)


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("twin: error: "), err
    return lines[0]


@pytest.fixture
def published(city: Path) -> Path:
    """The published model of the small city (out/cim.gpkg)."""
    return twin.run(twin.read_pipeline(city), report=False).output


def edit(model: Path, how: str) -> subprocess.Popen[str]:
    """Start a program editing `model`; returns once the row is changed (or the program died as told)."""
    editor = subprocess.Popen([sys.executable, "-c", EDITOR, str(model), how], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert editor.stdout is not None
    if how == "unfinished":
        editor.wait(timeout=60)
    else:
        assert editor.stdout.readline().strip() == "edited"
    return editor


def close(editor: subprocess.Popen[str]) -> None:
    assert editor.stdin is not None and editor.stdout is not None
    if editor.poll() is None:
        editor.stdin.write("\n")
        editor.stdin.flush()
    editor.wait(timeout=30)
    editor.stdin.close()
    editor.stdout.close()


def storeys_of_first(model: Path) -> object:
    con = sqlite3.connect(f"file:{model}?mode=ro", uri=True)
    try:
        return con.execute("SELECT storeys FROM buildings WHERE fid = 1").fetchone()[0]
    finally:
        con.close()


def beside(model: Path) -> list[str]:
    return sorted(p.name for p in model.parent.iterdir() if p.is_file())


# --- publishing beside an open QGIS ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["commit", "transaction"])
def test_a_model_open_for_editing_is_not_replaced(published: Path, city: Path, how: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    editor = edit(published, how)
    try:
        before = published.read_bytes()
        code, _, err = run_cli("run", "--force", city, capsys=capsys)
        assert code == 2
        line = one_error_line(err)
        assert line.startswith("twin: error: cim.gpkg: is open for editing in another program (")
        assert line.endswith("close the project in QGIS (or the program that has the model open) so that its "
                             "edits are written into the file, then run twin again")
        assert published.read_bytes() == before
        con = sqlite3.connect(f"file:{published}?mode=ro", uri=True)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        assert pyogrio.read_info(published, layer="buildings")["features"] == 60
    finally:
        close(editor)
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 0, err
    assert_valid(published)
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock", "cim.previous.gpkg", "cim.report.md"]
    assert storeys_of_first(generation_path(published, 1)) == (42 if how == "commit" else None)


def edit_in_qgis(model: Path, runtime: Path) -> tuple[subprocess.Popen[str], dict[str, object]]:
    """Start QGIS saving an edit of the first building while another layer of the model stays in editing
    mode; returns the running QGIS and what it reported."""
    reason = _pyqgis_missing()
    if reason:
        pytest.skip(reason)
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PYTHONPATH", None)
    editor = subprocess.Popen([str(SYSTEM_PYTHON), str(QGIS_EDITOR), str(model), "buildings", "storeys", "42",
                               "fibre_nodes"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=env)
    assert editor.stdout is not None
    line = ""
    while not line.startswith("{"):
        line = editor.stdout.readline()
        assert line, f"QGIS ended without a report (exit {editor.wait(timeout=30)})"
    report = json.loads(line)
    assert "exception" not in report, report["exception"]
    return editor, report


@pytest.mark.qgis
@pytest.mark.parametrize("ending", ["project closed", "killed"])
def test_a_model_edited_in_qgis_is_replaced_only_once_qgis_lets_go(published: Path, city: Path, ending: str,
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    editor, report = edit_in_qgis(published, tmp_path / "runtime")
    assert editor.stdin is not None and editor.stdout is not None
    try:
        assert report["committed"] is True and report["value"] == 42
        journals = report["journals"]
        assert isinstance(journals, dict) and set(journals) == {"cim.gpkg-wal", "cim.gpkg-shm"}
        assert journals["cim.gpkg-wal"] > 0  # the saved edit is in QGIS's -wal, not yet in the file
        before = {name: (published.parent / name).read_bytes() for name in ("cim.gpkg", "cim.gpkg-wal")}
        code, _, err = run_cli("run", "--force", city, capsys=capsys)
        assert code == 2
        line = one_error_line(err)
        assert line.startswith("twin: error: cim.gpkg: is open for editing in another program (cim.gpkg-wal, "
                               "cim.gpkg-shm beside it")
        assert line.endswith("close the project in QGIS (or the program that has the model open) so that its "
                             "edits are written into the file, then run twin again")
        assert {name: (published.parent / name).read_bytes() for name in before} == before
        assert not [p for p in published.parent.iterdir() if ".tmp" in p.name]
    finally:
        if ending == "project closed" and editor.poll() is None:
            editor.stdin.write("\n")
            editor.stdin.flush()
            closed = json.loads(editor.stdout.readline())
            assert closed["closed"] is True
        else:
            editor.kill()
        editor.wait(timeout=60)
        editor.stdin.close()
        editor.stdout.close()
    # closing the project writes the edit into the file; a killed QGIS leaves it in the -wal
    assert ("cim.gpkg-wal" in beside(published)) is (ending == "killed")
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 0, err
    assert_valid(published)
    assert pyogrio.read_dataframe(published, layer="buildings").shape[0] == 60
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock", "cim.previous.gpkg", "cim.report.md"]
    previous = generation_path(published, 1)
    assert_valid(previous)
    assert storeys_of_first(previous) == 42
    assert storeys_of_first(published) != 42


def test_a_journal_left_by_a_crashed_editor_goes_into_the_previous_model(published: Path, city: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    close(edit(published, "crash"))
    assert {"cim.gpkg-wal", "cim.gpkg-shm"} <= set(beside(published))
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 0, err
    assert err == ("WARNING cim.gpkg: edits that another program left in its journal were written into the file "
                   "before the new model replaces it; they are kept in cim.previous.gpkg\n")
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock", "cim.previous.gpkg", "cim.report.md"]
    assert_valid(published)
    assert_valid(generation_path(published, 1))
    assert storeys_of_first(generation_path(published, 1)) == 42
    assert storeys_of_first(published) is None


def test_the_journal_of_an_unfinished_transaction_never_meets_the_new_model(
        published: Path, city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    close(edit(published, "unfinished"))
    assert "cim.gpkg-journal" in beside(published)
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 0, err
    assert err == ("WARNING cim.gpkg: a transaction that another program left unfinished was rolled back by SQLite "
                   "(its changes were never saved)\n")
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock", "cim.previous.gpkg", "cim.report.md"]
    for model in (published, generation_path(published, 1)):
        assert_valid(model)
        con = sqlite3.connect(f"file:{model}?mode=ro", uri=True)
        assert con.execute("SELECT count(*) FROM buildings WHERE storeys = 42").fetchone()[0] == 0
        con.close()


def test_an_older_generation_keeps_its_own_journal(published: Path, city: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli("run", "-q", "--force", city, capsys=capsys)
    assert code == 0, err
    previous = generation_path(published, 1)
    editor = edit(previous, "commit")
    try:
        code, _, err = run_cli("run", "--force", city, capsys=capsys)
        assert code == 2
        assert one_error_line(err).startswith("twin: error: cim.previous.gpkg: is open for editing in another program")
    finally:
        close(editor)
    close(edit(previous, "crash"))
    code, _, err = run_cli("run", "-q", "--force", city, capsys=capsys)
    assert code == 0, err
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock", "cim.previous-2.gpkg", "cim.previous.gpkg",
                                 "cim.report.md"]
    older = generation_path(published, 2)
    assert_valid(older)
    assert storeys_of_first(older) == 42


def test_an_unchanged_run_copies_the_edits_of_a_crashed_editor(published: Path, city: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    close(edit(published, "crash"))
    code, _, err = run_cli("run", city, capsys=capsys)
    assert code == 0, err
    assert_valid(published)
    assert storeys_of_first(published) == 42
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock", "cim.previous.gpkg", "cim.report.md"]


# --- paths ----------------------------------------------------------------------------------------


def set_output(city: Path, path: str, keep: int = 2) -> None:
    text = city.read_text(encoding="utf-8").replace('path = "out/cim.gpkg"\nkeep = 2', f'path = "{path}"\nkeep = {keep}')
    city.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("output", "keep", "problem"), [
    ("raw/buildings.gpkg", 0, "is the input {raw}/buildings.gpkg; choose an [output] path apart from the inputs"),
    ("raw/build.gpkg", 1, None),
    ("raw/routes.geojson", 1, "does not end in .gpkg; name the GeoPackage to publish, e.g. out/city_cim.gpkg"),
    ("out/other.gpkg.lock", 1, "does not end in .gpkg; name the GeoPackage to publish, e.g. out/city_cim.gpkg"),
    ("out/other.previous.gpkg", 1, "is named like an older generation that twin keeps beside another output "
                                   "(<stem>.previous.gpkg); name the GeoPackage to publish, e.g. out/city_cim.gpkg"),
    ("out/.other.4711.tmp.gpkg", 1, "is named like a temporary file of another output's run; name the GeoPackage "
                                    "to publish, e.g. out/city_cim.gpkg"),
    ("out/.other.stages/x.gpkg", 1, "lies in the stage folder of another output (.<stem>.stages), which twin "
                                    "prunes; name the GeoPackage to publish, e.g. out/city_cim.gpkg"),
    ("out/folder.gpkg", 1, "is a folder; choose another [output] path, or move that file away"),
    ("out/notes.gpkg", 1, "exists and is not a GeoPackage (twin replaces the file at this path with each run); "
                          "choose another [output] path, or move that file away"),
])
def test_the_output_must_not_be_an_input_a_folder_or_another_outputs_file(
        city: Path, output: str, keep: int, problem: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    raw = city.parent / "raw"
    (city.parent / "out").mkdir()
    (city.parent / "out" / "folder.gpkg").mkdir()
    (city.parent / "out" / "notes.gpkg").write_text("my notes\n", encoding="utf-8")
    if problem is None:  # the first generation kept would overwrite an input
        shutil.copyfile(raw / "buildings.gpkg", raw / "build.gpkg")
        city.write_text(city.read_text(encoding="utf-8").replace("raw/buildings.gpkg", "raw/build.previous.gpkg"),
                        encoding="utf-8")
        os.replace(raw / "buildings.gpkg", raw / "build.previous.gpkg")
        problem = "would write build.previous.gpkg, which is the input {raw}/build.previous.gpkg; " \
                  "choose an [output] path apart from the inputs"
    set_output(city, output, keep)
    files = {p: p.read_bytes() for p in (*raw.iterdir(), city.parent / "out" / "notes.gpkg") if p.is_file()}
    code, _, err = run_cli("run", city, capsys=capsys)
    assert code == 2
    target = (city.parent / output).resolve()
    assert one_error_line(err) == f"twin: error: city.toml, [output] path {target}: {problem.format(raw=raw)}"
    assert {p: p.read_bytes() for p in files} == files
    code, _, err = run_cli("validate", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == f"twin: error: city.toml, [output] path {target}: {problem.format(raw=raw)}"


def test_a_lock_file_that_is_a_link_is_not_followed(published: Path, city: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    victim = city.parent / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    lock = lock_path(published)
    lock.unlink()
    lock.symlink_to(victim)
    before = published.read_bytes()
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {lock}: is a symbolic link, not the lock file of this output; "
                                   "remove the link; twin creates the lock file itself")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert published.read_bytes() == before
    with pytest.raises(twin.errors.OutputError, match="is a symbolic link"):
        RunLock(published).acquire()
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_stale_clean_up_leaves_the_temporaries_of_a_similar_name(tmp_path: Path) -> None:
    others = [tmp_path / ".city.v2.4711.tmp.gpkg", tmp_path / ".city.v2.4711.tmp.gpkg-journal",
              tmp_path / ".city.v2.4711.link.gpkg", tmp_path / ".city.v2.report.md.4711.tmp",
              tmp_path / ".city.x.tmp.gpkg", tmp_path / ".city.[1].tmp.gpkg"]
    own = [tmp_path / ".city.123.tmp.gpkg", tmp_path / ".city.123.tmp.gpkg-wal", tmp_path / ".city.9.link.gpkg",
           tmp_path / ".city.report.png.77.tmp"]
    for path in [*others, *own]:
        path.write_bytes(b"x")
    assert sorted(clean_stale(tmp_path / "city.gpkg")) == sorted(own)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in others)
    assert clean_stale(tmp_path / "city[1].gpkg") == []


def test_a_run_leaves_the_running_temporary_of_another_output(published: Path, city: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    running = published.with_name(".cim.v2.999999.tmp.gpkg")
    running.write_bytes(b"being written")
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 0, err
    assert running.read_bytes() == b"being written"


@pytest.mark.parametrize("which", ["panoramas", "shapefile side file"])
def test_a_fifo_as_input_is_refused_without_hanging(published: Path, city: Path, which: str) -> None:
    raw = city.parent / "raw"
    if which == "panoramas":
        fifo = raw / "panoramas.csv"
        fifo.unlink()
    else:
        frame = pyogrio.read_dataframe(raw / "buildings.gpkg")
        pyogrio.write_dataframe(frame, raw / "hausumringe.shp")
        city.write_text(city.read_text(encoding="utf-8").replace("raw/buildings.gpkg", "raw/hausumringe.shp"),
                        encoding="utf-8")
        fifo = raw / "hausumringe.cpg"
        fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    before = published.read_bytes()
    for command in ("run", "validate"):
        done = run_process(command, city, timeout=60)
        assert done.returncode == 2, done.stderr
        assert one_error_line(done.stderr) == (f"twin: error: {fifo}: is a FIFO (named pipe), not a file; "
                                               "give a regular file (copy the data into one)")
    assert published.read_bytes() == before


def test_a_device_as_input_is_refused(published: Path, city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    city.write_text(city.read_text(encoding="utf-8").replace("raw/panoramas.csv", "/dev/zero"), encoding="utf-8")
    before = published.read_bytes()
    code, _, err = run_cli("run", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == ("twin: error: /dev/zero: is a character device, not a file; "
                                   "give a regular file (copy the data into one)")
    assert published.read_bytes() == before


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.1 that records whether anything connected."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def connected(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def vrt(source: str, *, relative: bool = False) -> str:
    flag = ' relativeToVRT="1"' if relative else ""
    return (f'<OGRVRTDataSource><OGRVRTLayer name="routes"><SrcDataSource{flag}>{source}</SrcDataSource>'
            "</OGRVRTLayer></OGRVRTDataSource>\n")


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("routes.vrt", "/vsicurl/http://127.0.0.1:{port}/x", "names a GDAL virtual file system ('/vsicurl/http://127.0.0.1:{port}/x'); "
     "twin reads local files only; copy the data into a file beside the VRT and name that"),
    ("routes.geojson", "/vsicurl/http://127.0.0.1:{port}/x", "names a GDAL virtual file system "
     "('/vsicurl/http://127.0.0.1:{port}/x'); twin reads local files only; copy the data into a file beside the VRT and name that"),
    ("routes.vrt", "http://127.0.0.1:{port}/routes.geojson", "names a URL ('http://127.0.0.1:{port}/routes.geojson'); "
     "twin reads local files only; copy the data into a file beside the VRT and name that"),
    ("routes.vrt", "WFS:http://127.0.0.1:{port}/wfs", "names a URL ('WFS:http://127.0.0.1:{port}/wfs'); "
     "twin reads local files only; copy the data into a file beside the VRT and name that"),
])
def test_a_vrt_input_does_not_reach_into_the_network(published: Path, city: Path, listener: socket.socket,
                                                     name: str, text: str, problem: str) -> None:
    port = listener.getsockname()[1]
    routes = city.parent / "raw" / name
    routes.write_text(vrt(text.format(port=port)), encoding="utf-8")
    city.write_text(city.read_text(encoding="utf-8").replace("raw/routes.geojson", f"raw/{name}"), encoding="utf-8")
    before = published.read_bytes()
    done = run_process("run", city, timeout=60)
    assert not connected(listener)
    assert done.returncode == 2, done.stderr
    assert one_error_line(done.stderr) == f"twin: error: {routes}, <SrcDataSource>: {problem.format(port=port)}"
    assert published.read_bytes() == before


@pytest.mark.parametrize("packing", ["zip", "tar.gz", "gz"])
def test_a_vrt_inside_an_archive_is_refused(published: Path, city: Path, listener: socket.socket, packing: str) -> None:
    port = listener.getsockname()[1]
    raw = city.parent / "raw"
    text = vrt(f"/vsicurl/http://127.0.0.1:{port}/x.geojson").encode()
    archive = raw / f"routes.{packing}"
    if packing == "zip":
        with zipfile.ZipFile(archive, "w") as packed:
            packed.writestr("routes.vrt", text)
        inside = "routes.vrt"
    elif packing == "tar.gz":
        (raw / "routes.xml").write_bytes(text)
        with tarfile.open(archive, "w:gz") as packed:
            packed.add(raw / "routes.xml", arcname="routes.xml")
        inside = "routes.xml"
    else:
        archive = raw / "routes.vrt.gz"
        archive.write_bytes(gzip.compress(text))
        inside = "routes.vrt"
    city.write_text(city.read_text(encoding="utf-8").replace("raw/routes.geojson", f"raw/{archive.name}"),
                    encoding="utf-8")
    before = published.read_bytes()
    done = run_process("run", city, timeout=60)
    assert not connected(listener)
    assert done.returncode == 2, done.stderr
    assert one_error_line(done.stderr) == (f"twin: error: {archive}: holds the GDAL VRT file {inside}, which twin "
                                           "does not read from an archive; unpack the archive and name the data file "
                                           "(or the VRT beside it) in the pipeline")
    assert published.read_bytes() == before


def test_gdal_opens_no_network_path_while_a_run_reads(listener: socket.socket) -> None:
    url = f"/vsicurl/http://127.0.0.1:{listener.getsockname()[1]}/routes.geojson"
    before = pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS")
    with no_network(), pytest.raises(pyogrio.errors.DataSourceError, match=r"routes\.geojson"):
        pyogrio.read_info(url)
    assert not connected(listener)
    assert pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS") == before


def test_a_vrt_stays_in_its_folder(published: Path, city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = city.parent / "raw"
    (raw / "vrt").mkdir()
    outside = raw / "vrt" / "outside.vrt"
    outside.write_text(vrt("../routes.geojson", relative=True), encoding="utf-8")
    inside = raw / "inside.vrt"
    inside.write_text(vrt("routes.geojson", relative=True), encoding="utf-8")
    city.write_text(city.read_text(encoding="utf-8").replace("raw/routes.geojson", "raw/vrt/outside.vrt"),
                    encoding="utf-8")
    code, _, err = run_cli("run", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {outside}, <SrcDataSource>: names '../routes.geojson', outside "
                                   f"the VRT's folder {raw / 'vrt'}; move the data file into the VRT's folder and "
                                   "name it relative to it")
    city.write_text(city.read_text(encoding="utf-8").replace("raw/vrt/outside.vrt", "raw/inside.vrt"),
                    encoding="utf-8")
    code, _, err = run_cli("run", city, capsys=capsys)
    assert code == 0, err


# --- exit codes and output ------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system of its own (tmpfs, 16 MB), for a full or read-only disk; root only."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def output_on(city: Path, folder: Path) -> Path:
    set_output(city, str(folder / "cim.gpkg"), keep=1)
    return folder / "cim.gpkg"


def fill(folder: Path, *, leave: int) -> None:
    """Fill the file system of `folder` up to `leave` free bytes."""
    with (folder / "filler").open("wb") as file:
        free = shutil.disk_usage(folder).free - leave
        while free > 0:
            block = min(free, 1 << 20)
            try:
                file.write(b"\0" * block)
                file.flush()
            except OSError:
                break
            free = shutil.disk_usage(folder).free - leave


def test_a_full_output_disk_is_exit_2(city: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = output_on(city, small_disk)
    code, _, err = run_cli("run", "-q", city, capsys=capsys)
    assert code == 0, err
    before = model.read_bytes()
    fill(small_disk, leave=64 * 1024)
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"twin: error: {small_disk}: no space left to write cim.gpkg (")
    assert line.endswith("; free space on that disk or choose another [output] path; the published model is unchanged")
    assert model.read_bytes() == before
    assert not [p for p in small_disk.iterdir() if ".tmp" in p.name]


def test_a_read_only_output_folder_is_exit_2(city: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = output_on(city, small_disk)
    code, _, err = run_cli("run", "-q", city, capsys=capsys)
    assert code == 0, err
    before = model.read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {lock_path(model)}: cannot be created (Read-only file system); "
                                   f"make the folder {small_disk} writable for the user running twin, or choose "
                                   "another [output] path")
    assert model.read_bytes() == before


def test_validate_tries_the_output_folder_as_a_run_would(city: Path, small_disk: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    model = output_on(city, small_disk)
    code, _, err = run_cli("run", "-q", city, capsys=capsys)
    assert code == 0, err
    code, _, err = run_cli("validate", city, capsys=capsys)
    assert code == 0, err
    assert beside(model) == ["cim.gpkg", "cim.gpkg.lock", "cim.report.md"]  # the probe file is gone again
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, _, err = run_cli("validate", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {small_disk}: not writable (Read-only file system); make the "
                                   "folder writable for the user running twin or choose another [output] path")
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    fill(small_disk, leave=64 * 1024)
    code, _, err = run_cli("validate", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {small_disk}: no space left to write cim.gpkg (No space left on "
                                   "device); free space on that disk or choose another [output] path")
    assert beside(model) == ["cim.gpkg", "cim.gpkg.lock", "cim.report.md", "filler"]


def test_validate_names_a_folder_not_yet_made_on_a_read_only_disk(city: Path, small_disk: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    set_output(city, str(small_disk / "new" / "cim.gpkg"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    code, _, err = run_cli("validate", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {small_disk}: not writable (Read-only file system); make the "
                                   "folder writable for the user running twin or choose another [output] path")


def test_a_read_only_output_folder_is_exit_2_without_root(city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder; the tmpfs test covers it")
    out = city.parent / "out"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        code, _, err = run_cli("run", city, capsys=capsys)
    finally:
        out.chmod(stat.S_IRWXU)
    assert code == 2
    assert one_error_line(err).startswith(f"twin: error: {out / 'cim.gpkg.lock'}: cannot be created (Permission denied)")


def test_an_output_folder_that_takes_no_new_files_is_exit_2(published: Path, city: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    before = published.read_bytes()
    with closed_to_new_files(published.parent) as words:
        code, _, err = run_cli("run", "--force", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {published.parent}: not writable ({words}); make the folder "
                                   "writable for the user running twin or choose another [output] path; the "
                                   "published model is unchanged")
    assert published.read_bytes() == before
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock"]


def test_validate_refuses_an_output_folder_that_takes_no_new_files(published: Path, city: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with closed_to_new_files(published.parent) as words:
        code, _, err = run_cli("validate", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {published.parent}: not writable ({words}); make the folder "
                                   "writable for the user running twin or choose another [output] path")
    assert beside(published) == ["cim.gpkg", "cim.gpkg.lock"]


def json_lines(err: str) -> list[dict[str, object]]:
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    return [json.loads(line) for line in lines]


def test_every_error_is_json_with_log_format_json(city: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    section = '\n["typo\\u202e\\u001b"]\n'  # TOML escapes: a bidi override and ESC in a table name
    city.write_text(city.read_text(encoding="utf-8") + section, encoding="utf-8")
    code, _, err = run_cli("run", "--log-format", "json", city, capsys=capsys)
    assert code == 2
    assert "\u202e" not in err and "\x1b" not in err
    (entry,) = json_lines(err)
    assert entry["level"] == "error" and entry["exit_code"] == 2
    assert str(entry["message"]).startswith("twin: error: city.toml: unknown key [typo\u202e\x1b]")
    code, _, err = run_cli("run", city, capsys=capsys)
    assert code == 2
    assert one_error_line(err).startswith("twin: error: city.toml: unknown key [typo\\u202e\\x1b]")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug\nspread over two lines")

    monkeypatch.setattr("twin.runner.run", broken)
    city.write_text(city.read_text(encoding="utf-8").replace(section, ""), encoding="utf-8")
    code, _, err = run_cli("run", "--log-format", "json", city, capsys=capsys)
    assert code == 1
    (entry,) = json_lines(err)
    assert entry["exit_code"] == 1
    assert entry["message"] == ("twin: internal error: RuntimeError: a bug\\nspread over two lines "
                                "(run with --debug for the traceback)")
    with pytest.raises(SystemExit) as info:
        main(["run", "--log-format", "json", "--wait", "soon", str(city)])
    assert info.value.code == 2
    (entry,) = json_lines(capsys.readouterr().err)
    assert entry["exit_code"] == 2
    assert "argument --wait: invalid float value: 'soon'" in str(entry["message"])


def test_control_characters_from_inputs_are_escaped_in_terminal_output(city: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    routes = city.parent / "raw" / "routes.geojson"
    data = json.loads(routes.read_text(encoding="utf-8"))
    data["features"][0]["properties"]["kind"] = "trench\x1b[2J\x1b]0;owned\x07\nfibre: 999 km\u202e"
    routes.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run_cli("run", city, capsys=capsys)
    assert code == 0, err
    fibre = [line for line in out.splitlines() if line.startswith("fibre: ")]
    assert len(fibre) == 1, out
    assert " trench\\x1b[2J\\x1b]0;owned\\x07\\nfibre: 999 km\\u202e 0.24 km" in fibre[0]  # a kind unknown to twin, as written
    for text in (out, err):
        assert not any(ch in text for ch in "\x1b\x07\u202e")


def test_export_onto_a_published_model_takes_its_lock(published: Path, city: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    other = city.parent / "other.gpkg"
    shutil.copyfile(published, other)
    before = published.read_bytes()
    with RunLock(published):
        code, _, err = run_cli("export", "cityjson", other, published, "--overwrite", capsys=capsys)
    assert code == 3
    assert one_error_line(err).startswith("twin: error: cim.gpkg: another run (pid ")
    assert published.read_bytes() == before
    code, _, err = run_cli("export", "cityjson", published, published, "--overwrite", capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (f"twin: error: {published}: is the model being exported; "
                                   "give another file to write")
    assert published.read_bytes() == before
    code, _, err = run_cli("export", "cityjson", other, published, "--overwrite", capsys=capsys)
    assert code == 0, err
    assert json.loads(published.read_text(encoding="utf-8"))["type"] == "CityJSON"


@pytest.mark.slow
def test_the_fibre_notebook_shows_input_values_as_text(tmp_path: Path, kernel_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    routes = json.loads((RAW / "fibre" / "routes.geojson").read_text(encoding="utf-8"))
    routes["features"][0]["properties"]["route_id"] = HOSTILE_ID
    (tmp_path / "routes.geojson").write_text(json.dumps(routes), encoding="utf-8")
    pipeline = tmp_path / "city.toml"
    pipeline.write_text(pipeline_text(tmp_path / "cim.gpkg", fibre=f'routes = "{tmp_path}/routes.geojson"\n'
                                      f'nodes = "{RAW}/fibre/nodes.geojson"\nhub = "Rathaus"'), encoding="utf-8")
    model = twin.run(twin.read_pipeline(pipeline), report=False).output
    notebook = ROOT / "notebooks" / "fibre_network.ipynb"
    book = execute(notebook, notebook.parent, {"TWIN_MODEL": str(model)}, kernel_path, monkeypatch, cells=18)
    (page,) = [html.unescape(output["data"]["text/html"]) for output in book.cells[17].outputs
               if "text/html" in output.get("data", {})]
    shown = {json.loads(value) for value in re.findall(r'"route_id": ("(?:[^"\\]|\\.)*")', page)}
    assert len(shown) == len(routes["features"])
    assert html.escape(HOSTILE_ID) in shown  # the tooltip shows the text, the browser runs no HTML of it
    assert HOSTILE_ID not in shown
