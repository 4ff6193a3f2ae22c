"""Shapefiles as offices hand them over: cut short by a copy, packed in a zip, in cp1252 without .cpg."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from twin.config import FibreConfig
from twin.errors import SourceError
from twin.sources.fibre import read_nodes, read_routes
from twin.sources.shapefile import check_complete
from twin.sources.vector import read_vector

CRS = "EPSG:25832"
X, Y = 410_000.0, 5_477_000.0


def _footprints(folder: Path, n: int = 40, *, encoding: str = "cp1252") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    boxes = [shapely.box(X + 20 * i, Y, X + 20 * i + 12, Y + 10) for i in range(n)]
    frame = gpd.GeoDataFrame({"OI": [f"DERP{i:04d}" for i in range(n)], "STRASSE": ["Schloßstraße"] * n},
                             geometry=boxes, crs=CRS)
    path = folder / "hausumringe.shp"
    frame.to_file(path, encoding=encoding)
    for cpg in folder.glob("*.cpg"):
        cpg.unlink()  # as German offices deliver them: the encoding is named nowhere
    return path


@pytest.mark.parametrize("part", [".shp", ".dbf", ".shx"])
def test_a_file_cut_short_is_refused_with_what_it_holds(tmp_path: Path, part: str) -> None:
    path = _footprints(tmp_path)
    cut = path.with_suffix(part)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    expected = r"hausumringe.dbf: holds \d+ of 40 records" if part == ".dbf" else rf"hausumringe{part}: holds [\d,]+ of [\d,]+ bytes"
    with pytest.raises(SourceError, match=expected + r" \(file truncated\?\)"):
        read_vector(path, target_crs=CRS, section="buildings")


@given(st.floats(0.0, 0.999))
def test_any_cut_of_the_attributes_is_found(fraction: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _footprints(Path(folder), n=5)
        dbf = path.with_suffix(".dbf")
        data = dbf.read_bytes()
        body = len(data) - 1  # the end-of-file marker may be missing in complete files
        dbf.write_bytes(data[: int(body * fraction)])
        with pytest.raises(SourceError, match=r"^hausumringe\.dbf: "):
            check_complete(path)
        dbf.write_bytes(data[:body])
        check_complete(path)  # complete without the marker


def test_a_missing_dbf_is_named(tmp_path: Path) -> None:
    path = _footprints(tmp_path)
    path.with_suffix(".dbf").unlink()
    with pytest.raises(SourceError, match=r"^hausumringe.dbf: missing beside the .shp; copy the whole Shapefile"):
        read_vector(path, target_crs=CRS)


def test_a_zipped_shapefile_in_cp1252_reads_its_umlauts(tmp_path: Path) -> None:
    path = _footprints(tmp_path / "raw")
    archive = tmp_path / "hausumringe_rp.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        for part in path.parent.iterdir():
            packed.write(part, f"HU_RP/{part.name}")
    frame = read_vector(archive, target_crs=CRS)
    assert len(frame) == 40 and frame["STRASSE"].iloc[0] == "Schloßstraße"


def test_fibre_shapefiles_in_cp1252_without_cpg(tmp_path: Path) -> None:
    line = shapely.LineString([(X, Y), (X + 50, Y)])
    gpd.GeoDataFrame({"TRASSE_ID": ["T1"], "ART": ["Spülbohrung"]}, geometry=[line], crs=CRS).to_file(
        tmp_path / "trassen.shp", encoding="cp1252")
    gpd.GeoDataFrame({"TYP": ["Zentrale", "HÜP"], "NAME": ["Rathaus", "Mühlweg 3"]},
                     geometry=shapely.points([(X, Y), (X + 50, Y)]), crs=CRS).to_file(tmp_path / "knoten.shp", encoding="cp1252")
    for cpg in tmp_path.glob("*.cpg"):
        cpg.unlink()
    config = FibreConfig(routes=tmp_path / "trassen.shp", nodes=tmp_path / "knoten.shp",
                         columns={"route_id": "TRASSE_ID", "name": "NAME"}, route_columns={"kind": "ART"},
                         node_columns={"kind": "TYP"}, values={"Spülbohrung": "trench", "HÜP": "site"})
    assert read_routes(config, target_crs=CRS)["kind"].tolist() == ["trench"]
    nodes = read_nodes(config, target_crs=CRS)
    assert nodes["name"].tolist() == ["Rathaus", "Mühlweg 3"] and nodes["kind"].tolist() == ["hub", "site"]
