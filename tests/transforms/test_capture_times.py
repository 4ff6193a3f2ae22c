"""Plausibility of capture times, and the warning for times without a zone, as validate and a run report them."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

import twin
from twin.cli import main
from twin.runner.validate import validate
from twin.transforms.capture_times import implausible_capture_times

CRS = "EPSG:25832"
NOW = pd.Timestamp("2026-12-06T21:00:00Z")


def _panoramas(times: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"panorama_id": [f"p{i}" for i in range(len(times))],
                             "captured_at": pd.to_datetime(times, utc=True)},
                            geometry=shapely.points([[410000 + i, 5480000] for i in range(len(times))]), crs=CRS)


def test_captures_after_the_run_started_are_errors_one_row_each() -> None:
    found = implausible_capture_times(_panoramas(["2023-05-01T10:00:00Z", "2027-01-01T10:00:00Z",
                                                  "2026-12-06T21:03:00Z"]), now=NOW)
    assert found[["feature_id", "check", "severity"]].values.tolist() == [["p1", "captured_in_future", "error"]]
    assert "2027-01-01 10:00:00Z, after the run started (2026-12-06 21:00Z)" in found["message"].iloc[0]


def test_a_capture_all_on_the_run_day_and_one_over_twenty_years_are_warnings() -> None:
    today = implausible_capture_times(_panoramas(["2026-12-06T08:00:00Z", "2026-12-06T08:00:02Z"]), now=NOW)
    assert today["check"].tolist() == ["captured_on_run_day"]
    assert "all 2 pictures are dated the day of the run (2026-12-06)" in today["message"].iloc[0]
    spread = implausible_capture_times(_panoramas(["1980-01-06T00:00:00Z", "2023-05-01T10:00:00Z"]), now=NOW)
    assert spread["check"].tolist() == ["capture_span"] and "spread over 43 years" in spread["message"].iloc[0]
    plain = implausible_capture_times(_panoramas(["2021-05-01T10:00:00Z", "2023-05-01T10:00:00Z"]), now=NOW)
    assert plain.empty


def _prague(tmp_path: Path, *, times: list[str], timezone: str | None = None) -> Path:
    rows = ["snimek;cas;lat;lon"] + [f"{i}.jpg;{t};50.08{i}1;14.42{i}3" for i, t in enumerate(times)]
    (tmp_path / "jizda.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    zone = f'timezone = "{timezone}"\n' if timezone else ""
    toml = tmp_path / "praha.toml"
    toml.write_text(f'[city]\nname = "Praha"\ncrs = "EPSG:25833"\n[output]\npath = "out/praha.gpkg"\n'
                    f'[panoramas]\npath = "jizda.csv"\ncrs = "EPSG:4326"\n{zone}'
                    '[panoramas.columns]\nimage_name = "snimek"\ncaptured_at = "cas"\nx = "lon"\ny = "lat"\n',
                    encoding="utf-8")
    return toml


def test_validate_names_local_times_without_a_zone_and_proposes_the_zone_where_the_pictures_lie(tmp_path: Path) -> None:
    times = [f"2024-05-01 10:00:{2 * i:02d}" for i in range(5)]
    notes = validate(twin.read_pipeline(_prague(tmp_path, times=times))).notes
    line = next(n for n in notes if n.startswith("qa time_without_zone"))
    assert 'jizda.csv: 5 capture times in column cas name no zone and are read as UTC' in line
    assert 'timezone = "Europe/Prague" (the zone where the pictures lie)' in line
    zoned = validate(twin.read_pipeline(_prague(tmp_path, times=times, timezone="Europe/Prague"))).notes
    assert not any(n.startswith("qa time_without_zone") for n in zoned)


def test_a_run_records_captures_dated_the_run_day(tmp_path: Path) -> None:
    today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    toml = _prague(tmp_path, times=[f"{today}T00:00:{2 * i:02d}Z" for i in range(5)])
    assert main(["run", "--quiet", str(toml)]) == 0
    issues = pyogrio.read_dataframe(tmp_path / "out" / "praha.gpkg", layer="qa_issues")
    assert "captured_on_run_day" in set(issues["check"])
    assert "captured_on_run_day" in (tmp_path / "out" / "praha.report.md").read_text(encoding="utf-8")
