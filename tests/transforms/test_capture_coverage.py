"""Street coverage and the comparison of two capture campaigns on crafted streets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from twin.transforms.capture import capture_coverage
from twin.transforms.coverage import campaign_differences, street_coverage

CRS = "EPSG:25832"
X0, Y0 = 410_000.0, 5_477_000.0


def streets() -> gpd.GeoDataFrame:
    """Three 100 m streets: A along y=0, B along y=200, C along y=400."""
    lines = [shapely.LineString([(X0, Y0 + dy), (X0 + 100, Y0 + dy)]) for dy in (0, 200, 400)]
    return gpd.GeoDataFrame({"street_id": ["A", "B", "C"], "name": ["Marktstraße", "Pirmasenser Straße", "Am Altenhof"]},
                            geometry=lines, crs=CRS, index=[5, 6, 7])


def pictures(rows: list[tuple[float, float, str]]) -> gpd.GeoDataFrame:
    """Panoramas every 10 m from x0 to x1 along y = Y0 + dy at the given ISO time."""
    parts = []
    for dy, x1, when in rows:
        xs = np.arange(0, x1 + 1, 10.0)
        parts.append(gpd.GeoDataFrame(
            {"captured_at": pd.Series(pd.Timestamp(when), index=range(len(xs))).astype("datetime64[ms, UTC]")},
            geometry=shapely.points(X0 + xs, np.full(len(xs), Y0 + dy)), crs=CRS))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=CRS)


def test_street_coverage_share_last_capture_and_campaigns() -> None:
    pics = pictures([(0, 100, "2021-06-10T08:00Z"), (0, 100, "2023-05-16T08:00Z"), (200, 40, "2021-06-10T09:00Z")])
    out = street_coverage(streets(), pics, radius_m=15.0)
    assert out.index.tolist() == [5, 6, 7] and out.crs == CRS
    assert out["covered_share"].tolist() == pytest.approx([1.0, 0.55, 0.0], abs=0.02)  # B: 0..40 m plus the 15 m radius
    assert out["campaigns"].tolist() == ["2021,2023", "2021", ""]
    assert out["last_captured_at"].iloc[0] == pd.Timestamp("2023-05-16T08:00Z")
    assert pd.isna(out["last_captured_at"].iloc[2])


def test_street_coverage_has_one_share_column_per_campaign_beside_the_covered_share() -> None:
    # A: 2021 drives all of it, 2023 only its first 30 m; B: only 2021, its first 40 m; C: nobody
    pics = pictures([(0, 100, "2021-06-10T08:00Z"), (0, 30, "2023-05-16T08:00Z"), (200, 40, "2021-06-10T09:00Z")])
    out = street_coverage(streets(), pics, radius_m=15.0)
    assert list(out.columns)[-2:] == ["share_2021", "share_2023"]
    assert out["share_2021"].tolist() == pytest.approx([1.0, 0.55, 0.0], abs=0.02)
    assert out["share_2023"].tolist() == pytest.approx([0.45, 0.0, 0.0], abs=0.02)  # 0..30 m plus the 15 m radius
    assert out["covered_share"].tolist() == pytest.approx([1.0, 0.55, 0.0], abs=0.02)
    shares = out[["share_2021", "share_2023"]].to_numpy()
    assert ((shares >= 0) & (shares <= 1)).all()
    assert (out["covered_share"].to_numpy() >= shares.max(axis=1) - 1e-9).all()
    assert out["campaigns"].tolist() == ["2021", "2021", ""]  # 2023 sees less than campaign_min_share of A


def test_street_coverage_measured_in_chunks_equals_one_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    from geopandas.testing import assert_geodataframe_equal

    from twin.transforms import coverage

    rng = np.random.default_rng(7)
    starts = rng.uniform(0, 500, size=(40, 2))
    lines = shapely.linestrings(np.stack([starts, starts + rng.uniform(-80, 80, size=(40, 2))], axis=1) + np.array([X0, Y0]))
    many = gpd.GeoDataFrame({"street_id": [f"S{i}" for i in range(40)]}, geometry=lines, crs=CRS)
    pics = gpd.GeoDataFrame(
        {"captured_at": pd.to_datetime(rng.choice(["2021-06-10T08:00Z", "2023-05-16T08:00Z", "2024-04-02T08:00Z"], 300),
                                       utc=True).astype("datetime64[ms, UTC]")},
        geometry=shapely.points(rng.uniform(0, 500, size=(300, 2)) + np.array([X0, Y0])), crs=CRS)
    whole = street_coverage(many, pics, radius_m=12.0, min_share=0.2)
    monkeypatch.setattr(coverage, "SAMPLE_CHUNK", 50)
    assert_geodataframe_equal(street_coverage(many, pics, radius_m=12.0, min_share=0.2), whole)
    assert 0 < (whole["covered_share"] > 0).sum() < 40 and whole["campaigns"].str.contains(",").any()


def test_campaign_differences_name_streets_seen_only_once() -> None:
    pics = pictures([(0, 100, "2021-06-10T08:00Z"), (200, 100, "2021-06-10T09:00Z"),
                     (0, 100, "2023-05-16T08:00Z"), (400, 100, "2023-05-16T09:00Z")])
    cover = street_coverage(streets(), pics)
    issues = campaign_differences(cover)
    assert dict(zip(issues["feature_id"], issues["check"], strict=True)) == {
        "B": "not_recaptured", "C": "newly_captured"}
    assert issues["message"].iloc[0] == "captured in 2021, not in 2023"
    assert campaign_differences(cover, earlier="2023", later="2021")["check"].tolist() == [
        "not_recaptured", "newly_captured"]


def test_coverage_polygons_are_valid_and_contain_every_panorama() -> None:
    pics = pictures([(0, 100, "2021-06-10T08:00Z"), (200, 100, "2023-05-16T09:00Z")])
    cover = capture_coverage(pics, radius_m=10.0)
    assert cover["capture_date"].tolist() == ["2021-06-10", "2023-05-16"]
    assert cover.is_valid.all()
    assert shapely.contains(shapely.union_all(cover.geometry.to_numpy()), pics.geometry.to_numpy()).all()
