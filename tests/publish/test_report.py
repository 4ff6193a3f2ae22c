"""The run report beside the output: Markdown with the run's facts and a PNG overview map."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image

import twin
from tests.runner.conftest import write_city


def test_report_and_map_are_written_beside_the_output(tmp_path: Path) -> None:
    result = twin.run(twin.read_pipeline(write_city(tmp_path)))
    assert result.report == tmp_path / "out" / "cim.report.md"
    text = result.report.read_text(encoding="utf-8")
    assert f"run: `{result.run_id}`" in text
    assert "| buildings | built |" in text
    assert "| buildings | 60 |" in text
    assert "![Overview map](cim.report.png)" in text
    picture = matplotlib.image.imread(tmp_path / "out" / "cim.report.png")
    assert picture.shape[0] > 400
    assert picture.shape[1] > 400
    assert len({tuple(px) for px in picture[::20, ::20].reshape(-1, picture.shape[2])}) > 3
    again = twin.run(twin.read_pipeline(tmp_path / "city.toml"))
    assert again.report is not None
    assert "| buildings | unchanged |" in again.report.read_text(encoding="utf-8")
    text = again.report.read_text(encoding="utf-8")
    assert "changes: none" in text
    assert "## Recent runs (of 2)" in text
    assert f"| `{again.run_id}` |" in text.split("## Recent runs")[1].splitlines()[4]
    assert "| ok | all unchanged | none |" in text
    assert "| ok | all built | none |" in text
    assert "## Quality issues" in text
