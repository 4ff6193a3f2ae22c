from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, PipelineFactory
from twin import __version__
from twin.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"twin {__version__}"


@pytest.mark.parametrize("command", ["run", "sample"])
def test_help_on_each_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: twin" in capsys.readouterr().out


def test_bad_config_exits_2_with_one_line(make_pipeline: PipelineFactory, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_pipeline(city='name = "X"\ncrs = "EPSG:25832"\nbogus = 1')
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("twin: error: city.toml: unknown key [city] bogus")


def test_failed_run_leaves_previous_output_untouched(make_pipeline: PipelineFactory, tmp_path: Path) -> None:
    good = make_pipeline()
    assert main(["run", "-q", str(good)]) == 0
    output = tmp_path / "out" / "cim.gpkg"
    before = output.read_bytes()
    broken = tmp_path / "broken.csv"
    broken.write_text("imageId,recordedAt,X,Y\nA,2023-05-16T08:00:00Z,7.77,49.44\nB,2023-05-16T08:00:01Z,7.77", encoding="utf-8")
    bad = make_pipeline(panoramas=f'path = "{broken}"\nformat = "cyclomedia"\ncrs = "EPSG:4326"')
    assert main(["run", "-q", str(bad)]) == 2
    assert output.read_bytes() == before


def test_console_script_runs_from_another_folder(make_pipeline: PipelineFactory, tmp_path: Path) -> None:
    path = make_pipeline()
    done = subprocess.run([sys.executable, "-m", "twin", "run", "--quiet", str(path)], cwd="/", capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (tmp_path / "out" / "cim.gpkg").exists()
    assert ROOT.exists()


def test_run_prints_the_fibre_network_by_kind_and_by_status(make_pipeline: PipelineFactory,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(make_pipeline())]) == 0
    line = next(text for text in capsys.readouterr().out.splitlines() if text.startswith("fibre: "))
    kinds, _, states = line.partition("; ")
    assert "trench" in kinds and " km" in kinds
    assert "planned" in states and "in_service" in states, line


def test_debug_may_come_before_the_command(make_pipeline: PipelineFactory, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_pipeline()
    path.write_text(path.read_text(encoding="utf-8") + "\n[typo]\n", encoding="utf-8")
    assert main(["--debug", "validate", str(path)]) == 2
    assert "Traceback" in capsys.readouterr().err
