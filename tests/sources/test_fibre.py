"""Coded fibre values as plans write them: known ones become codes, unknown ones stay as written."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from twin.config import FibreConfig
from twin.sources import fibre

CRS = "EPSG:25832"


def test_unknown_kinds_stay_exactly_as_written_and_are_reported_once_per_value(tmp_path: Path) -> None:
    routes = tmp_path / "routes.geojson"
    kinds = ["Кабель ОКС 0,22-8", "Кабель ОКС 0,22-8", "Graben", "Кабель ОКС 0,22-8", "Kabelkanal", "trench"]
    lines = [shapely.LineString([(7.76, 49.44 + k * 1e-3), (7.77, 49.44 + k * 1e-3)]) for k in range(len(kinds))]
    gpd.GeoDataFrame({"Art": kinds, "id": [f"K{k}" for k in range(len(kinds))]}, geometry=lines, crs="EPSG:4326") \
        .to_file(routes)
    read = fibre.read_routes(FibreConfig(routes=routes, route_columns={"kind": "Art", "route_id": "id"}), target_crs=CRS)
    assert read["kind"].tolist() == ["Кабель ОКС 0,22-8", "Кабель ОКС 0,22-8", "trench", "Кабель ОКС 0,22-8",
                                     "Kabelkanal", "trench"]
    issues = fibre.code_issues(read, "fibre_routes", id_column="route_id")
    assert issues["feature_id"].tolist() == ["K4", "K0"]
    assert issues["message"].tolist() == [
        "kind 'Kabelkanal' on 1 feature(s) (K4) is no code of the model (trench, duct, aerial, unknown); kept as written; "
        "correct it in the source or map it in [fibre.values]",
        "kind 'Кабель ОКС 0,22-8' on 3 feature(s) (K0, K1, K3) is no code of the model (trench, duct, aerial, unknown); "
        "kept as written; correct it in the source or map it in [fibre.values]",
    ]
    assert issues.geometry.y.iloc[1] == read.geometry.iloc[0].representative_point().y
