"""Code pages of deliveries that do not name theirs: Shapefiles without .cpg and CSV tables, through twin run."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from twin.cli import main
from twin.sources.encodings import detect
from twin.sources.panorama_csv import read_table
from twin.sources.vector import read_vector

#: Street names as towns write them, and the code page their older exports use.
NAMES = {
    "cp1250": ["Sibiřské náměstí", "Karlovo náměstí", "Žižkova třída", "Náměstí Míru", "Dlouhá", "Na Příkopě"],
    "cp1252": ["Hauptstraße", "Müllerweg", "Königstraße", "Schloßplatz", "Rue de l'Église", "Gärtnerweg"],
    "cp1251": ["улица Ленина", "Проспект Мира", "Садовая улица", "Невский проспект", "Тверская", "Арбат"],
    "cp1257": ["Gedimino prospektas", "Šv. Ignoto gatvė", "Užupio gatvė", "Ąžuolyno gatvė", "Pilies", "Vokiečių"],
    "iso8859-2": ["Świętokrzyska", "Łódzka", "Żeromskiego", "ulica Piękna", "Plac Wolności", "Śląska"],
    "koi8-r": ["улица Ленина", "Проспект Мира", "Садовая улица", "Невский проспект", "Тверская", "Арбат"],
}


def _shapefile(folder: Path, encoding: str, names: list[str]) -> Path:
    path = folder / "budovy.shp"
    frame = gpd.GeoDataFrame({"id": [f"B{i}" for i in range(len(names) * 20)], "ulice": names * 20},
                             geometry=[shapely.box(i * 20, 0, i * 20 + 10, 10) for i in range(len(names) * 20)],
                             crs="EPSG:32633")
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)  # as many deliveries come: no word on the code page
    return path


@pytest.mark.parametrize("encoding", list(NAMES))
def test_a_shapefile_without_cpg_is_read_in_its_code_page(tmp_path: Path, encoding: str) -> None:
    path = _shapefile(tmp_path, encoding, NAMES[encoding])
    frame = read_vector(path, target_crs="EPSG:32633", section="buildings")
    assert frame["ulice"].iloc[:6].tolist() == NAMES[encoding]


@pytest.mark.parametrize("encoding", ["cp1250", "cp1251", "iso8859-2"])
def test_a_csv_table_is_read_in_its_code_page_or_the_one_named(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "uzly.csv"
    pd.DataFrame({"nazev": NAMES[encoding] * 5, "x": "1"}).to_csv(path, sep=";", index=False, encoding=encoding)
    assert read_table(path)["nazev"].iloc[:6].tolist() == NAMES[encoding]
    assert read_table(path, encoding=encoding)["nazev"].iloc[:6].tolist() == NAMES[encoding]


def test_text_two_code_pages_read_alike_well_is_refused_until_one_is_named(tmp_path: Path) -> None:
    """Byte 0xB9 is 'š' in ISO-8859-2 and 'ą' in cp1250: 'Maška' or 'Mąka' are both words; no guess."""
    from twin.errors import SourceError

    names = ["Maška", "Naša"]
    path = _shapefile(tmp_path, "iso8859-2", names)
    with pytest.raises(SourceError, match=r"budovy.shp: the text reads as cp1250 \('Maąka.*'\) or iso8859-2 "
                                          r"\('Maška.*'\); name it with encoding in the pipeline file"):
        read_vector(path, target_crs="EPSG:32633", section="buildings")
    frame = read_vector(path, target_crs="EPSG:32633", section="buildings", encoding="iso8859-2")
    assert frame["ulice"].iloc[:2].tolist() == names


def test_text_of_no_code_page_is_refused_rather_than_guessed(tmp_path: Path) -> None:
    assert detect(bytes(range(128, 256)) * 4) is None  # every byte once: no code page reads it as words
    path = tmp_path / "binary.csv"
    path.write_bytes(b"a;b\n" + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 400 + b";1\n")
    with pytest.raises(Exception, match=r"binary.csv") as caught:
        read_table(path)
    assert getattr(caught.value, "exit_code", 0) == 2


def test_an_encoding_for_a_geopackage_is_ignored_with_a_note(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Before, ``[fibre] encoding = "cp1250"`` with GeoPackage routes ended in an Arrow error (exit 1)."""
    routes = gpd.GeoDataFrame({"route_id": ["r1"], "kind": ["trench"], "status": ["built"], "nazev": ["Náměstí"]},
                              geometry=[shapely.LineString([(0, 0), (100, 0)])], crs="EPSG:32633")
    nodes = gpd.GeoDataFrame({"node_id": ["n1", "n2"], "kind": ["hub", "site"], "name": ["Radnice", "Škola"]},
                             geometry=shapely.points([[0, 0], [100, 0]]), crs="EPSG:32633")
    pyogrio.write_dataframe(routes, tmp_path / "sit.gpkg", layer="trasy")
    pyogrio.write_dataframe(nodes, tmp_path / "sit.gpkg", layer="uzly")
    toml = tmp_path / "mesto.toml"
    toml.write_text('[city]\nname = "Město"\ncrs = "EPSG:32633"\n[output]\npath = "out/mesto.gpkg"\n'
                    '[fibre]\nroutes = "sit.gpkg"\nroutes_layer = "trasy"\nnodes = "sit.gpkg"\nnodes_layer = "uzly"\n'
                    'hub = "Radnice"\nencoding = "cp1250"\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="twin"):
        twin.run(twin.read_pipeline(toml), report=False)
    assert "sit.gpkg: [fibre] encoding cp1250 ignored: the format stores its text as UTF-8" in caplog.text
    names = pyogrio.read_dataframe(tmp_path / "out" / "mesto.gpkg", layer="fibre_nodes")["name"]
    assert set(names) == {"Radnice", "Škola"}


def test_twin_init_names_the_code_page_it_found(tmp_path: Path) -> None:
    from twin.init import init_city

    folder = tmp_path / "dodavka"
    folder.mkdir()
    _shapefile(folder, "cp1250", NAMES["cp1250"])
    path, _ = init_city("Praha", folder, pipelines=tmp_path / "pipelines")
    text = path.read_text(encoding="utf-8")
    assert 'encoding = "cp1250"' in text and "they read as cp1250" in text


def test_text_decoded_in_the_wrong_code_page_is_named_by_validate_and_in_qa_issues(tmp_path: Path) -> None:
    """A UTF-8 CSV read as cp1252 because the pipeline says so: the names show it, and the model says so."""
    from twin.runner.validate import validate

    rows = ["bild;zeit;lon;lat"] + [f"Straße_{i}.jpg;2024-05-01T10:00:{2 * i:02d}Z;{7.76 + i * 1e-4:.4f};49.44"
                                    for i in range(3)]
    (tmp_path / "fahrt.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    gpd.GeoDataFrame({"id": ["B1", "B2"], "strasse": ["Hauptstraße", "HauptstraÃŸe"]},  # converted twice upstream
                     geometry=[shapely.box(410000, 5480000, 410010, 5480010), shapely.box(410020, 5480000, 410030, 5480010)],
                     crs="EPSG:25832").to_file(tmp_path / "gebaeude.geojson")
    toml = tmp_path / "ort.toml"
    toml.write_text('[city]\nname = "Ort"\n[output]\npath = "out/ort.gpkg"\n[buildings]\npath = "gebaeude.geojson"\n'
                    'format = "generic"\n[buildings.columns]\nbuilding_id = "id"\nstreet = "strasse"\n'
                    '[panoramas]\npath = "fahrt.csv"\ncrs = "EPSG:4326"\nencoding = "cp1252"\n'
                    '[panoramas.columns]\nimage_name = "bild"\ncaptured_at = "zeit"\nx = "lon"\ny = "lat"\n',
                    encoding="utf-8")
    notes = validate(twin.read_pipeline(toml)).notes
    line = next(n for n in notes if n.startswith("qa mis_decoded_text"))
    assert line.startswith("qa mis_decoded_text (warning): 4, e.g. ")
    assert main(["run", "--quiet", str(toml)]) == 0
    issues = pyogrio.read_dataframe(tmp_path / "out" / "ort.gpkg", layer="qa_issues")
    found = issues.loc[issues["check"] == "mis_decoded_text"]
    assert sorted(found["feature_id"]) == ["B2", "StraÃŸe_0.jpg", "StraÃŸe_1.jpg", "StraÃŸe_2.jpg"]
    assert "street 'HauptstraÃŸe' looks decoded in the wrong code page; check the source's encoding" in set(found["message"])
