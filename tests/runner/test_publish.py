"""Write -> check -> fsync -> replace: checks that refuse a bad file, readers of the old file, leftovers."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pyogrio
import pytest

import twin
from tests.runner.test_kill import assert_valid
from twin.errors import PublishError
from twin.runner.swap import check_output, clean_stale, generation_path, replace_atomically, temporary_path


@pytest.fixture
def model(city: Path) -> Path:
    return twin.run(twin.read_pipeline(city), report=False).output


def test_published_file_is_in_rollback_journal_mode_without_side_files(model: Path) -> None:
    assert_valid(model)
    names = sorted(p.name for p in model.parent.iterdir() if p.is_file())
    assert names == ["cim.gpkg", "cim.gpkg.lock"]


def test_a_reader_keeps_reading_the_old_file_while_the_new_one_is_published(model: Path, city: Path) -> None:
    reader = sqlite3.connect(f"file:{model}?mode=ro", uri=True)
    try:
        reader.execute("BEGIN")
        old_runs = reader.execute("SELECT run_id FROM runs").fetchall()
        with pyogrio.open_arrow(model, layer="buildings", use_pyarrow=True, batch_size=10) as (_, stream):
            first = stream.read_next_batch().num_rows
            twin.run(twin.read_pipeline(city), force=True, report=False)
            rows = first + sum(batch.num_rows for batch in stream)
        assert rows == pyogrio.read_info(model, layer="buildings")["features"]
        assert reader.execute("SELECT run_id FROM runs").fetchall() == old_runs
        assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    finally:
        reader.close()
    assert pyogrio.read_info(model, layer="runs")["features"] == 2
    assert pyogrio.read_info(generation_path(model, 1), layer="runs")["features"] == 1


def test_check_refuses_a_file_in_wal_mode(model: Path, tmp_path: Path) -> None:
    copy = shutil.copyfile(model, tmp_path / "copy.gpkg")
    with sqlite3.connect(copy) as con:
        con.execute("PRAGMA journal_mode=WAL")
    con.close()
    with pytest.raises(PublishError, match=r"copy\.gpkg: is in WAL mode"):
        check_output(copy, {})


def test_check_refuses_a_wrong_count_and_a_damaged_file(model: Path, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"layer buildings: 60 features written, 61 expected"):
        check_output(model, {"buildings": 61})
    damaged = tmp_path / "damaged.gpkg"
    data = bytearray(model.read_bytes())
    data[len(data) // 2: len(data) // 2 + 8192] = b"\x00" * 8192
    damaged.write_bytes(bytes(data))
    with pytest.raises(PublishError, match=r"damaged\.gpkg"):
        check_output(damaged, {})


def test_check_refuses_a_geometry_that_does_not_decode(model: Path, tmp_path: Path) -> None:
    broken = shutil.copyfile(model, tmp_path / "broken.gpkg")
    with sqlite3.connect(broken) as con:
        for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'buildings'")\
                .fetchall():
            con.execute(f'DROP TRIGGER "{trigger}"')  # GDAL's R-tree triggers call SpatiaLite functions
        con.execute("UPDATE buildings SET geom = X'4750000100000000FFFF' WHERE fid = (SELECT min(fid) FROM buildings)")
    con.close()
    with pytest.raises(PublishError, match=r"broken\.gpkg, layer buildings: not readable after writing"):
        check_output(broken, {})
    with sqlite3.connect(broken) as con:
        con.execute("UPDATE buildings SET geom = X'0000' WHERE fid = (SELECT min(fid) FROM buildings)")
    con.close()
    with pytest.raises(PublishError, match=r"layer buildings: not readable after writing \(geometry blob without"):
        check_output(broken, {})


def test_stale_temporaries_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "cim.gpkg"
    stale = [tmp_path / ".cim.123.tmp.gpkg", tmp_path / ".cim.123.tmp.gpkg-journal", tmp_path / ".cim.9.link.gpkg",
             tmp_path / ".cim.report.md.77.tmp"]
    for path in [*stale, target, tmp_path / "cim.previous.gpkg"]:
        path.write_bytes(b"x")
    assert sorted(clean_stale(target)) == sorted(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cim.gpkg", "cim.previous.gpkg"]


def test_replace_without_an_old_file(tmp_path: Path, model: Path) -> None:
    target = tmp_path / "new" / "cim.gpkg"
    target.parent.mkdir()
    temporary = temporary_path(target)
    shutil.copyfile(model, temporary)
    seen: list[str] = []
    replace_atomically(temporary, target, keep=2, checkpoint=seen.append)
    assert seen == ["publish: synced", "publish: replaced", "publish: folder synced"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["cim.gpkg"]


def test_each_kept_generation_has_a_project_that_reads_its_own_file(tmp_path: Path, model: Path) -> None:
    from twin.publish.qgis_project import project_sources

    target = tmp_path / "new" / "cim.gpkg"
    target.parent.mkdir()
    for _ in range(4):
        temporary = temporary_path(target)
        shutil.copyfile(model, temporary)
        published = hashlib.sha256(model.read_bytes()).hexdigest()
        replace_atomically(temporary, target, keep=2)
        assert hashlib.sha256(target.read_bytes()).hexdigest() == published  # the new model is not touched
    names = ["cim.gpkg", "cim.previous.gpkg", "cim.previous-2.gpkg"]
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(names)
    for name in names:
        assert project_sources(target.parent / name) == {"Stadtmodell": {f"./{name}"}}
        assert_valid(target.parent / name)


def test_a_generation_whose_project_cannot_be_read_is_published_with_a_warning(
        tmp_path: Path, model: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "new" / "cim.gpkg"
    target.parent.mkdir()
    shutil.copyfile(model, target)
    with sqlite3.connect(target) as con:
        con.execute("UPDATE qgis_projects SET content = 'zz'")
    con.close()
    temporary = temporary_path(target)
    shutil.copyfile(model, temporary)
    replace_atomically(temporary, target, keep=1)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith("cim.previous.gpkg: its QGIS project still reads the file it was written for: ")
    assert "cim.previous.gpkg, table qgis_projects: holds a project that is not a readable QGIS project" in warning
    assert_valid(target)
