"""The run report beside the output: Markdown with the run's facts and a PNG overview map."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image

import twin
from tests.runner.conftest import write_city


def _with_map(pipeline: Path, *, draw: bool) -> Path:
    text = pipeline.read_text(encoding="utf-8").replace("report_map = true\n", "")
    pipeline.write_text(text.replace("keep = 2\n", "keep = 2\nreport_map = true\n" if draw else "keep = 2\n"),
                        encoding="utf-8")
    return pipeline


def test_report_and_map_are_written_beside_the_output(tmp_path: Path) -> None:
    result = twin.run(twin.read_pipeline(_with_map(write_city(tmp_path), draw=True)))
    assert result.report == tmp_path / "out" / "cim.report.md"
    text = result.report.read_text(encoding="utf-8")
    assert text.startswith(f"# Laufbericht: cim.gpkg\n\n- Lauf `{result.run_id}`, beendet ")
    assert "| buildings | gebaut |" in text
    assert "| buildings | 60 |" in text
    assert "![Übersichtskarte](cim.report.png)" in text
    picture = matplotlib.image.imread(tmp_path / "out" / "cim.report.png")
    assert picture.shape[0] > 400
    assert picture.shape[1] > 400
    assert len({tuple(px) for px in picture[::20, ::20].reshape(-1, picture.shape[2])}) > 3
    again = twin.run(twin.read_pipeline(tmp_path / "city.toml"))
    assert again.report is not None
    assert "| buildings | unverändert |" in again.report.read_text(encoding="utf-8")
    text = again.report.read_text(encoding="utf-8")
    assert "Änderungen: keine" in text
    assert "## Letzte Läufe (von 2)" in text
    assert f"| `{again.run_id}` |" in text.split("## Letzte Läufe")[1].splitlines()[4]
    assert "| ok | alle unverändert | keine |" in text
    assert "| ok | alle gebaut | keine |" in text
    assert "## Qualitätsprobleme" in text


def test_without_report_map_no_picture_is_drawn_and_an_old_one_is_removed(tmp_path: Path) -> None:
    pipeline = _with_map(write_city(tmp_path), draw=True)
    twin.run(twin.read_pipeline(pipeline))
    picture = tmp_path / "out" / "cim.report.png"
    assert picture.exists()
    result = twin.run(twin.read_pipeline(_with_map(pipeline, draw=False)), force=True)
    assert not picture.exists()
    assert result.report is not None
    text = result.report.read_text(encoding="utf-8")
    assert "Übersichtskarte" not in text
    assert "| buildings | 60 |" in text


def test_map_of_a_large_model_draws_dots_and_routes(tmp_path: Path) -> None:
    import geopandas as gpd
    import numpy as np
    import shapely

    from twin.publish.report import MAX_POLYGONS, overview_map

    n = MAX_POLYGONS + 5
    x = np.arange(n) % 200 * 20.0 + 410_000
    y = np.arange(n) // 200 * 20.0 + 5_477_000
    buildings = gpd.GeoDataFrame({"fibre_status": np.where(np.arange(n) % 3 == 0, "connected", "none")},
                                 geometry=shapely.box(x, y, x + 10, y + 10), crs="EPSG:25832")
    routes = gpd.GeoDataFrame(geometry=[shapely.LineString([(410_000, 5_477_000), (414_000, 5_479_000)])],
                              crs="EPSG:25832")
    overview_map({"buildings": buildings, "fibre_routes": routes}, tmp_path / "map.png")
    overview_map({}, tmp_path / "legend.png")

    def pixels(name: str, colour: int) -> int:
        """Pixels of `colour`, counting those blended with the white background by antialiasing."""
        picture = matplotlib.image.imread(tmp_path / name)[..., :3]
        rgb = np.array([colour >> 16, (colour >> 8) & 0xFF, colour & 0xFF]) / 255
        white = np.ones(3)
        share = ((picture - white) @ (rgb - white)) / ((rgb - white) @ (rgb - white))
        return int(((share > 0.3) & (np.linalg.norm(picture - (white + np.outer(share, rgb - white).reshape(picture.shape)), axis=-1) < 0.05)).sum())

    # the legend alone shows each colour once; the drawn dots and the route add many more pixels
    assert pixels("map.png", 0x1A9850) > pixels("legend.png", 0x1A9850) + 200
    assert pixels("map.png", 0x2166AC) > pixels("legend.png", 0x2166AC) + 200
