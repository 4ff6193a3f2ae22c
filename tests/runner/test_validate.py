"""twin validate reads the pipeline and every input, writes nothing, and exits 0 or 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.cli import main


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


def test_validate_reads_everything_and_writes_nothing(city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(city.parent)
    assert main(["validate", str(city)]) == 0
    assert _files(city.parent) == before
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("city.toml: valid (buildings 60, panoramas 48, capture_tracks 1,")
    assert out[1] == "  no previous model: the next run builds everything"


def test_validate_as_json_for_schedulers(city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--log-format", "json", str(city)]) == 0
    found = json.loads(capsys.readouterr().out)
    # R2 is split at the distribution point on it, R1 where R2 branches off it
    assert found["counts"]["fibre_routes"] == 4
    assert found["event"] == "validated"


def test_a_broken_input_exits_2_and_names_the_file(city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (city.parent / "raw" / "panoramas.csv").write_text("panorama_id,x\nA,1", encoding="utf-8")
    before = _files(city.parent)
    assert main(["validate", "-q", str(city)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twin: error: panoramas.csv")
    assert err.count("\n") == 1
    assert _files(city.parent) == before


def test_quiet_run_prints_nothing_and_json_run_prints_one_object(city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--quiet", str(city)]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["run", "--log-format", "json", str(city)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stages"]["buildings"] == "unchanged"
    assert result["changes"]["buildings"] == {"added": 0, "removed": 0, "modified": 0}
    assert main(["validate", str(city)]) == 0
    assert "previous model has 2 recorded runs" in capsys.readouterr().out


def test_errors_are_json_lines_with_log_format_json(city: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (city.parent / "raw" / "panoramas.csv").write_text("panorama_id,x\nA,1", encoding="utf-8")
    assert main(["run", "--quiet", "--log-format", "json", str(city)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    entry = json.loads(captured.err)
    assert entry["level"] == "error"
    assert entry["exit_code"] == 2
    assert entry["message"].startswith("twin: error: panoramas.csv")


def test_validate_says_what_a_run_would_leave_empty_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import geopandas as gpd
    import shapely

    line = shapely.LineString([(410_000, 5_477_000), (410_100, 5_477_000)])
    gpd.GeoDataFrame({"kind": ["Kabelkanal", "Graben"]}, geometry=[line, line.offset_curve(20)], crs="EPSG:25832") \
        .to_file(tmp_path / "routes.geojson")
    (tmp_path / "city.toml").write_text('[city]\nname = "Testdorf"\n[output]\npath = "out/cim.gpkg"\n'
                                        '[fibre]\nroutes = "routes.geojson"\n', encoding="utf-8")
    assert main(["validate", str(tmp_path / "city.toml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  no [buildings] section: buildings stay empty" in out
    assert "  no [panoramas] section: panoramas, capture tracks and coverage stay empty" in out
    assert ("  qa unknown_code (warning): 1, e.g. fibre_routes R00001: kind 'Kabelkanal' on 1 feature(s) (R00001) "
            "is no code of the model (trench, duct, aerial, unknown); kept as written; correct it in the source or map it "
            "in [fibre.values]") in out
