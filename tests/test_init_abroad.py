"""`twin init` → `twin validate` → `twin run` on deliveries of towns outside Germany, made in code as their
offices send them: Kutná Hora (S-JTSK, EPSG:5514, cp1250 without .cpg, a camera-car CSV with decimal commas
and local time, nodes as a cp1250 CSV), Wieliczka (EPSG:2180, ISO-8859-2, Polish names) and Annecy
(Lambert-93, EPSG:2154, a BD TOPO street layer beside the fibre plan, French names, day-first dates)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

import twin
from twin.init import init_city
from twin.runner.validate import validate


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _degrees(crs: str) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _origin(crs: str, lon: float, lat: float) -> tuple[float, float]:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)


def _houses(x0: float, y0: float, rows: int, per_row: int) -> list[shapely.Polygon]:
    return [shapely.box(x0 + 40 * i, y0 + 60 * s + 8, x0 + 40 * i + 15, y0 + 60 * s + 20)
            for s in range(rows) for i in range(per_row)]


def _streets(x0: float, y0: float, rows: int) -> list[shapely.LineString]:
    return [shapely.LineString([(x0 - 10, y0 + 60 * s), (x0 + 250, y0 + 60 * s)]) for s in range(rows)]


def _routes(x0: float, y0: float, rows: int) -> list[shapely.LineString]:
    """One route along each street, joined by one along the west end where the hub stands."""
    along = [shapely.LineString([(x0 - 5, y0 + 60 * s + 3), (x0 + 245, y0 + 60 * s + 3)]) for s in range(rows)]
    return [*along, shapely.LineString([(x0 - 5, y0 + 3), (x0 - 5, y0 + 60 * (rows - 1) + 3)])]


def _dbf_without_cpg(frame: gpd.GeoDataFrame, path: Path, encoding: str) -> None:
    frame.to_file(path, encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)


STREETS_CZ = ["Žižkova", "Řeřichová", "Palackého náměstí", "Šultysova"]


def _kutna_hora(folder: Path) -> None:
    """Kutná Hora: buildings in S-JTSK with cp1250 text and no .cpg, streets as GeoJSON in degrees, two drives
    in local summer time, a fibre GeoPackage and its nodes as a cp1250 CSV with decimal commas."""
    folder.mkdir(parents=True)
    x0, y0 = _origin("EPSG:5514", 15.2680, 49.9480)
    records = [{"kod_budovy": f"CZ{s}{i:03d}", "ulice": STREETS_CZ[s], "pocet_podl": 2 + i % 3,
                "zpusob_vyu": "rodinný dům"} for s in range(4) for i in range(6)]
    _dbf_without_cpg(gpd.GeoDataFrame(records, geometry=_houses(x0, y0, 4, 6), crs="EPSG:5514"),
                     folder / "budovy.shp", "cp1250")
    gpd.GeoDataFrame({"kod_ulice": [f"U{s}" for s in range(4)], "nazev": STREETS_CZ, "kategorie": ["místní"] * 4},
                     geometry=_streets(x0, y0, 4), crs="EPSG:5514").to_crs("EPSG:4326").to_file(folder / "ulice.geojson")
    rows, back = ["snimek;datum;cas;sirka;delka;vyska;azimut"], _degrees("EPSG:5514")
    for n, (day, street) in enumerate([("14.05.2025", 0)] * 25 + [("21.05.2025", 2)] * 25):
        lon, lat = back.transform(x0 + 10 * (n % 25), y0 + 60 * street)
        rows.append(f"KH_{n:05d}.jpg;{day};09:10:{2 * (n % 25):02d};"
                    + f"{lat:.7f};{lon:.7f};{254.3 + (n % 25) / 10:.1f};90.0".replace(".", ","))
    (folder / "jizda_kamera.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1250"))
    gpd.GeoDataFrame({"druh": ["výkop", "chránička", "výkop", "nadzemní", "výkop"],
                      "stav": ["postaveno", "plánováno", "postaveno", "postaveno", "postaveno"],
                      "pocet_vlaken": [96, 48, 96, 24, 144]}, geometry=_routes(x0, y0, 4), crs="EPSG:5514") \
        .to_file(folder / "opticka_sit.gpkg", layer="trasy")
    nodes = ["nazev;typ;x;y", f"Radnice;centrála;{x0 - 5:.2f};{y0 + 3:.2f}",
             f"Škola Žižkova;rozvaděč;{x0 + 100:.2f};{y0 + 3:.2f}",
             f"Nemocnice Řeřichová;rozvaděč;{x0 + 200:.2f};{y0 + 63:.2f}"]
    (folder / "uzly.csv").write_bytes(("\r\n".join(n.replace(".", ",") for n in nodes) + "\r\n").encode("cp1250"))


STREETS_PL = ["Świętej Kingi", "Łąkowa", "Źródlana", "Żeromskiego"]


def _wieliczka(folder: Path, *, geodetic: bool = False) -> None:
    """Wieliczka: buildings and streets as ISO-8859-2 Shapefiles without .cpg in EPSG:2180, a drive in metres
    with Polish column names (data, godzina, kierunek), fibre routes and nodes as GeoJSON in degrees.

    `geodetic`: the drive's columns ``x`` and ``y`` as Polish surveyors name them, ``x`` the northing."""
    folder.mkdir(parents=True)
    x0, y0 = _origin("EPSG:2180", 20.0530, 49.9870)
    records = [{"id_budynku": f"PL{s}{i:03d}", "ulica": STREETS_PL[s], "kondygnacj": 1 + i % 4,
                "funkcja": "budynek mieszkalny"} for s in range(4) for i in range(5)]
    _dbf_without_cpg(gpd.GeoDataFrame(records, geometry=_houses(x0, y0, 4, 5), crs="EPSG:2180"),
                     folder / "budynki.shp", "iso-8859-2")
    _dbf_without_cpg(gpd.GeoDataFrame({"id_ulicy": [f"UL{s}" for s in range(4)], "nazwa": STREETS_PL},
                                      geometry=_streets(x0, y0, 4), crs="EPSG:2180"), folder / "ulice.shp", "iso-8859-2")
    rows = ["zdjecie,data,godzina,x,y,wysokosc,kierunek"]
    for n in range(30):
        street, day, i = (1, "2025-06-03", n) if n < 15 else (3, "2025-06-04", n - 15)
        east, north = f"{x0 + 12 * i:.2f}", f"{y0 + 60 * street:.2f}"
        rows.append(f"WL{n:04d}.jpg,{day},10:12:{3 * i:02d},{north if geodetic else east},"
                    f"{east if geodetic else north},230.5,90.0")
    (folder / "przejazd.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    gpd.GeoDataFrame({"rodzaj": ["kanalizacja", "kanalizacja", "napowietrzna", "kanalizacja", "kanalizacja"],
                      "status": ["istniejąca", "projektowana", "istniejąca", "istniejąca", "istniejąca"],
                      "liczba_wlokien": [144, 48, 24, 96, 144]},
                     geometry=_routes(x0, y0, 4), crs="EPSG:2180").to_crs("EPSG:4326") \
        .to_file(folder / "swiatlowod_trasy.geojson")
    gpd.GeoDataFrame({"nazwa": ["Urząd Miasta", "Szkoła Łąkowa"], "typ": ["węzeł główny", "szafa"]},
                     geometry=shapely.points([(x0 - 5, y0 + 3), (x0 + 100, y0 + 63)]), crs="EPSG:2180") \
        .to_crs("EPSG:4326").to_file(folder / "swiatlowod_wezly.geojson")


STREETS_FR = ["Rue de l'Île", "Quai de l'Évêché", "Rue Sainte-Claire", "Avenue d'Albigny"]


def _annecy(folder: Path) -> None:
    """Annecy: BD TOPO-like BATIMENT and TRONCON_DE_ROUTE Shapefiles in Lambert-93 beside a fibre plan whose
    file is named ``fibre_cheminements``; a camera CSV with French names, day-first dates and local time."""
    folder.mkdir(parents=True)
    x0, y0 = _origin("EPSG:2154", 6.1294, 45.8992)
    records = [{"ID": f"BATIMENT{s}{i:010d}", "USAGE1": "Résidentiel", "HAUTEUR": 9.5 + i, "NB_ETAGES": 3}
               for s in range(4) for i in range(5)]
    _dbf_without_cpg(gpd.GeoDataFrame(records, geometry=_houses(x0, y0, 4, 5), crs="EPSG:2154"),
                     folder / "BATIMENT.shp", "cp1252")
    gpd.GeoDataFrame({"ID": [f"TRONROUT{s:010d}" for s in range(4)], "NOM_1_G": STREETS_FR,
                      "NATURE": ["Route à 1 chaussée"] * 4}, geometry=_streets(x0, y0, 4), crs="EPSG:2154") \
        .to_file(folder / "TRONCON_DE_ROUTE.shp", encoding="utf-8")
    rows, back = ["photo;date;heure;latitude;longitude;altitude;cap"], _degrees("EPSG:2154")
    for i in range(20):
        lon, lat = back.transform(x0 + 10 * i, y0 + 120)
        rows.append(f"AN{i:04d}.jpg;12/09/2025;14:30:{2 * i:02d};" + f"{lat:.7f};{lon:.7f};448.2;90.0".replace(".", ","))
    (folder / "prises_de_vue.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    _dbf_without_cpg(gpd.GeoDataFrame({"type_pose": ["tranchée", "fourreau", "aérien", "fourreau", "tranchée"],
                                       "etat": ["construit", "projeté", "construit", "construit", "construit"],
                                       "nb_fibres": [144, 48, 24, 96, 144]},
                                      geometry=_routes(x0, y0, 4), crs="EPSG:2154"),
                     folder / "fibre_cheminements.shp", "cp1252")
    _dbf_without_cpg(gpd.GeoDataFrame({"nom": ["Hôtel de Ville", "École Sainte-Claire"], "type": ["NRO", "PM"]},
                                      geometry=shapely.points([(x0 - 5, y0 + 3), (x0 + 100, y0 + 123)]), crs="EPSG:2154"),
                     folder / "fibre_noeuds.shp", "cp1252")


def _set(path: Path, section: str, **keys: str) -> None:
    """What a user does after reading validate's message: one key added to a section of the drafted file."""
    text = path.read_text(encoding="utf-8")
    lines = "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    path.write_text(text.replace(f"[{section}]\n", f"[{section}]\n{lines}", 1), encoding="utf-8")


def _qa(model: Path) -> pd.DataFrame:
    return pyogrio.read_dataframe(model, layer="qa_issues", read_geometry=False)


# --- the traps one by one -------------------------------------------------------------------------------------


def test_a_bd_topo_street_layer_is_streets_and_the_fibre_plan_beside_it_is_the_network(tmp_path: Path) -> None:
    _annecy(tmp_path / "livraison")
    path, guess = init_city("Annecy", tmp_path / "livraison", pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["fibre"]["routes"] == "../livraison/fibre_cheminements.shp"  # not the roads
    assert config["panoramas"]["streets"] == "../livraison/TRONCON_DE_ROUTE.shp"
    assert config["panoramas"]["street_columns"] == {"street_id": "ID", "name": "NOM_1_G"}
    assert guess.files["TRONCON_DE_ROUTE.shp"] == "street centre lines ([panoramas] streets)"


def test_the_proposed_time_zone_is_the_one_where_the_pictures_lie(tmp_path: Path) -> None:
    _kutna_hora(tmp_path / "dodavka")
    _, guess = init_city("Kutná Hora", tmp_path / "dodavka", pipelines=tmp_path / "pipelines")
    zone_notes = [note for note in guess.notes["panoramas"] if "name no zone" in note]
    assert zone_notes == ['datum: the times name no zone and are read as UTC; if they are local times, '
                          'add timezone = "Europe/Prague" (the zone where the pictures lie)']


def test_a_node_table_named_in_czech_is_the_network_s_nodes_with_its_hub(tmp_path: Path) -> None:
    _kutna_hora(tmp_path / "dodavka")
    path, guess = init_city("Kutná Hora", tmp_path / "dodavka", pipelines=tmp_path / "pipelines")
    fibre = _toml(path)["fibre"]
    assert guess.files["uzly.csv"] == "fibre nodes (3)"
    assert (fibre["nodes"], fibre["nodes_crs"], fibre["hub"]) == ("../dodavka/uzly.csv", "EPSG:5514", "Radnice")
    assert fibre["node_columns"] == {"kind": "typ"} and fibre["columns"]["name"] == "nazev"


@pytest.mark.parametrize(("town", "expected"), [
    (_kutna_hora, {"z": "vyska", "heading_deg": "azimut", "captured_at": "datum", "time_of_day": "cas"}),
    (_wieliczka, {"z": "wysokosc", "heading_deg": "kierunek", "captured_at": "data", "time_of_day": "godzina"}),
    (_annecy, {"z": "altitude", "heading_deg": "cap", "captured_at": "date", "time_of_day": "heure"}),
])
def test_capture_columns_named_in_czech_polish_and_french(tmp_path: Path, town: object, expected: dict) -> None:
    assert callable(town)
    town(tmp_path / "inputs")
    path, _ = init_city("Town", tmp_path / "inputs", pipelines=tmp_path / "pipelines")
    assert expected.items() <= _toml(path)["panoramas"]["columns"].items()


def test_building_and_route_columns_and_plan_values_named_in_czech_polish_and_french(tmp_path: Path) -> None:
    drafts = {}
    for name, town in (("cz", _kutna_hora), ("pl", _wieliczka), ("fr", _annecy)):
        town(tmp_path / name)
        drafts[name], _ = init_city(name, tmp_path / name, pipelines=tmp_path / "pipelines")
    cz, pl, fr = (_toml(drafts[name]) for name in ("cz", "pl", "fr"))
    assert cz["buildings"]["columns"] == {"building_id": "kod_budovy", "function_code": "zpusob_vyu",
                                          "storeys": "pocet_podl", "street": "ulice"}
    assert {"building_id": "id_budynku", "storeys": "kondygnacj", "street": "ulica"}.items() <= \
        pl["buildings"]["columns"].items()
    assert {"height_m": "HAUTEUR", "storeys": "NB_ETAGES"}.items() <= fr["buildings"]["columns"].items()
    assert (cz["fibre"]["route_columns"], cz["fibre"]["columns"]["status"], cz["fibre"]["columns"]["fibres"]) == \
        ({"kind": "druh"}, "stav", "pocet_vlaken")
    assert (fr["fibre"]["route_columns"], fr["fibre"]["columns"]["status"], fr["fibre"]["hub"]) == \
        ({"kind": "type_pose"}, "etat", "Hôtel de Ville")
    assert pl["fibre"]["hub"] == "Urząd Miasta" and pl["fibre"]["route_columns"] == {"kind": "rodzaj"}
    routes = twin.sources.fibre.read_routes(twin.read_pipeline(drafts["cz"]).fibre, target_crs="EPSG:5514")
    assert routes["kind"].tolist() == ["trench", "duct", "trench", "aerial", "trench"]
    assert routes["status"].tolist() == ["built", "planned", "built", "built", "built"]


def test_a_czech_drive_in_positive_s_jtsk_coordinates_gets_epsg_5513_and_lands_on_its_streets(tmp_path: Path) -> None:
    """Czech surveyors write S-JTSK as positive Y (westing) and X (southing); EPSG:5514 is their negative."""
    _kutna_hora(tmp_path / "dodavka")
    drive = tmp_path / "dodavka" / "jizda_kamera.csv"
    table = pd.read_csv(drive, sep=";", decimal=",", encoding="cp1250", dtype={"cas": str})
    east, north = Transformer.from_crs("EPSG:4326", "EPSG:5514", always_xy=True).transform(table["delka"], table["sirka"])
    table = table.drop(columns=["sirka", "delka"]).assign(Y=-east, X=-north)
    table.to_csv(drive, sep=";", decimal=",", index=False, encoding="cp1250", float_format="%.2f")
    path, guess = init_city("Kutná Hora", tmp_path / "dodavka", pipelines=tmp_path / "pipelines")
    config = _toml(path)["panoramas"]
    assert config["crs"] == "EPSG:5513" and {"x": "X", "y": "Y"}.items() <= config["columns"].items()
    assert "crs: EPSG:5513: X and Y are positive coordinates as surveyors write them, not EPSG:5514's; with them " \
           "the points lie among the buildings" in guess.notes["panoramas"]
    _set(path, "panoramas", timezone="Europe/Prague")
    model = _built(path)
    streets = pyogrio.read_dataframe(model, layer="street_coverage").sort_values("street_id")
    assert streets["covered_share"].tolist() == [1.0, 0.0, 1.0, 0.0]
    panoramas = pyogrio.read_dataframe(model, layer="panoramas").sort_values("panorama_id")
    assert panoramas.geometry.x.iloc[0] == pytest.approx(_origin("EPSG:5514", 15.2680, 49.9480)[0], abs=0.01)


@pytest.mark.parametrize(("town", "folder", "expected", "note", "edits"), [
    (_kutna_hora, "dodavka/budovy", "EPSG:5514", "its coordinates fit EPSG:5514 where the panoramas lie, check it", {}),
    (_annecy, "livraison/BATIMENT", "EPSG:2154",
     "its coordinates fit EPSG:2154 (also EPSG:9793, EPSG:9794) where the panoramas lie, check it",
     {"time_format": "%d/%m/%Y %H:%M:%S"}),
])
def test_buildings_without_a_prj_get_the_national_crs_their_coordinates_fit_where_the_pictures_lie(
    tmp_path: Path, town: object, folder: str, expected: str, note: str, edits: dict[str, str],
) -> None:
    """Not EPSG:25832 (the German default): with it every footprint lay 1,000 km off and validate refused."""
    assert callable(town)
    delivery = tmp_path / Path(folder).parent
    town(delivery)
    (tmp_path / f"{folder}.prj").unlink()
    path, guess = init_city("Town", delivery, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["city"]["crs"] == config["buildings"]["crs"] == expected
    assert f"crs: the file names no CRS; {note}" in guess.notes["buildings"]
    _set(path, "panoramas", **edits)
    assert validate(twin.read_pipeline(path)).counts["buildings"] == 20 + 4 * (expected == "EPSG:5514")


def test_eastings_and_northings_are_told_apart_by_where_the_buildings_lie(tmp_path: Path) -> None:
    """Polish surveyors call the northing x: the drive is mapped so that it lies among the buildings."""
    _wieliczka(tmp_path / "dostawa", geodetic=True)
    path, guess = init_city("Wieliczka", tmp_path / "dostawa", pipelines=tmp_path / "pipelines")
    assert {"x": "y", "y": "x"}.items() <= _toml(path)["panoramas"]["columns"].items()
    assert "x/y: y holds the eastings and x the northings (they lie among the buildings so, not the other way " \
           "round); swapped" in guess.notes["panoramas"]
    assert validate(twin.read_pipeline(path)).counts["panoramas"] == 30


def test_a_drive_mapped_with_exchanged_axes_is_refused_not_published_as_no_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """x and y mapped by their names, as a user writes them: every panorama 480 km off lands in Poland still,
    and the model would say that no building was seen and no street driven."""
    from twin.cli import main

    _wieliczka(tmp_path / "dostawa", geodetic=True)
    path, _ = init_city("Wieliczka", tmp_path / "dostawa", pipelines=tmp_path / "pipelines")
    path.write_text(path.read_text(encoding="utf-8").replace('x = "y"\ny = "x"', 'x = "x"\ny = "y"'), encoding="utf-8")
    expected = ("przejazd.csv: none of its 30 panoramas lies within 5 km of the buildings (the nearest is 480 km "
                "away); its x and y look exchanged: swap the columns mapped to x and y in [panoramas.columns]")
    with pytest.raises(twin.errors.CrsError) as refused:
        validate(twin.read_pipeline(path))
    assert str(refused.value) == expected
    assert main(["run", "--quiet", str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"twin: error: {expected}"
    assert main(["run", "--quiet", "--engine", "dask", str(path)]) == 2  # the panoramas in parts, checked as well
    assert f"twin: error: {expected}" in capsys.readouterr().err.splitlines()  # among the in-process cluster's log
    assert not (tmp_path / "data" / "processed" / "wieliczka_cim.gpkg").exists()


def test_a_node_table_with_the_northing_as_x_is_mapped_right_and_refused_when_mapped_by_name(tmp_path: Path) -> None:
    _wieliczka(tmp_path / "dostawa", geodetic=True)
    (tmp_path / "dostawa" / "swiatlowod_wezly.geojson").unlink()
    x0, y0 = _origin("EPSG:2180", 20.0530, 49.9870)
    (tmp_path / "dostawa" / "swiatlowod_wezly.csv").write_bytes(
        f"nazwa;typ;x;y\r\nUrząd Miasta;węzeł główny;{y0 + 3:.2f};{x0 - 5:.2f}\r\n".replace(".", ",").encode("cp1250"))
    path, _ = init_city("Wieliczka", tmp_path / "dostawa", pipelines=tmp_path / "pipelines")
    fibre = _toml(path)["fibre"]
    assert (fibre["nodes"], fibre["nodes_crs"], fibre["hub"]) == ("../dostawa/swiatlowod_wezly.csv", "EPSG:2180",
                                                                  "Urząd Miasta")
    assert {"x": "y", "y": "x"}.items() <= fibre["columns"].items()
    assert validate(twin.read_pipeline(path)).counts["fibre_nodes"] == 1
    head, section = path.read_text(encoding="utf-8").split("[fibre]", 1)  # the nodes' x and y mapped by name
    by_name = section.replace('x = "y"\ny = "x"', 'x = "x"\ny = "y"')
    assert by_name != section
    path.write_text(f"{head}[fibre]{by_name}", encoding="utf-8")
    with pytest.raises(twin.errors.CrsError) as refused:
        validate(twin.read_pipeline(path))
    assert str(refused.value) == (
        "swiatlowod_wezly.csv: none of its 1 fibre nodes lies within 5 km of the buildings (the nearest is 480 km "
        "away); its x and y look exchanged: swap the columns mapped to x and y in [fibre.columns] "
        "(or [fibre.node_columns])")


def test_a_dutch_plan_names_its_node_kinds_soort_and_its_hub_centrale(tmp_path: Path) -> None:
    folder = tmp_path / "levering"
    folder.mkdir()
    x0, y0 = _origin("EPSG:28992", 6.0940, 52.5120)
    gpd.GeoDataFrame({"ligging": ["sleuf", "mantelbuis", "bovengronds"], "toestand": ["gebouwd", "gepland", "in gebruik"]},
                     geometry=_routes(x0, y0, 2), crs="EPSG:28992").to_file(folder / "glasvezel_tracé.geojson")
    gpd.GeoDataFrame({"naam": ["Stadhuis", "Wijkcentrale Noord"], "soort": ["centrale", "wijkcentrale"]},
                     geometry=shapely.points([(x0 - 5, y0 + 3), (x0 + 100, y0 + 63)]), crs="EPSG:28992") \
        .to_file(folder / "glasvezel_knooppunten.geojson")
    path, _ = init_city("Zwolle", folder, pipelines=tmp_path / "pipelines", crs="EPSG:28992")
    fibre = _toml(path)["fibre"]
    assert fibre["hub"] == "Stadhuis" and fibre["node_columns"] == {"kind": "soort"}
    nodes = twin.sources.fibre.read_nodes(twin.read_pipeline(path).fibre, target_crs="EPSG:28992")
    assert nodes["kind"].tolist() == ["hub", "distribution"]
    routes = twin.sources.fibre.read_routes(twin.read_pipeline(path).fibre, target_crs="EPSG:28992")
    assert routes["kind"].tolist() == ["trench", "duct", "aerial"]
    assert routes["status"].tolist() == ["built", "planned", "in_service"]


# --- one delivery per town, end to end ------------------------------------------------------------------------


def _built(path: Path) -> Path:
    result = twin.run(twin.read_pipeline(path), report=False)
    return Path(result.output)


def test_kutna_hora_from_init_to_a_right_model(tmp_path: Path) -> None:
    _kutna_hora(tmp_path / "dodavka")
    path, _ = init_city("Kutná Hora", tmp_path / "dodavka", pipelines=tmp_path / "pipelines")
    notes = validate(twin.read_pipeline(path)).notes
    assert any('set [panoramas] timezone = "Europe/Prague"' in note for note in notes)  # the one edit left
    _set(path, "panoramas", timezone="Europe/Prague")
    assert not any("time_without_zone" in note for note in validate(twin.read_pipeline(path)).notes)
    model = _built(path)
    assert pyogrio.read_info(model, layer="buildings")["crs"] == "EPSG:5514"
    buildings = pyogrio.read_dataframe(model, layer="buildings").sort_values("building_id")
    assert len(buildings) == 24 and buildings["building_id"].iloc[0] == "CZ0000"
    assert buildings["street"].iloc[6] == "Řeřichová" and buildings["storeys"].iloc[:3].tolist() == [2, 3, 4]
    panoramas = pyogrio.read_dataframe(model, layer="panoramas").sort_values("panorama_id")
    times = pd.to_datetime(panoramas["captured_at"], utc=True)
    assert times.iloc[0] == pd.Timestamp("2025-05-14T07:10:00Z") and times.iloc[-1] == pd.Timestamp("2025-05-21T07:10:48Z")
    # due east from true north is about 97° from S-JTSK's grid north at Kutná Hora (meridian convergence)
    assert panoramas["heading_deg"].between(96.5, 98.0).all()
    assert panoramas["altitude_m"].iloc[0] == pytest.approx(254.3)
    streets = pyogrio.read_dataframe(model, layer="street_coverage").sort_values("street_id")
    assert streets["name"].tolist() == STREETS_CZ and streets["covered_share"].tolist() == [1.0, 0.0, 1.0, 0.0]
    nodes = pyogrio.read_dataframe(model, layer="fibre_nodes").sort_values("node_id")
    assert nodes["name"].tolist() == ["Radnice", "Škola Žižkova", "Nemocnice Řeřichová"]
    assert nodes["kind"].tolist() == ["hub", "distribution", "distribution"]
    assert nodes["network_distance_m"].tolist() == pytest.approx([0.0, 105.0, 265.0])


def test_wieliczka_from_init_to_a_right_model(tmp_path: Path) -> None:
    _wieliczka(tmp_path / "dostawa")
    path, _ = init_city("Wieliczka", tmp_path / "dostawa", pipelines=tmp_path / "pipelines")
    notes = validate(twin.read_pipeline(path)).notes
    assert any('set [panoramas] timezone = "Europe/Warsaw"' in note for note in notes)
    assert not any("unknown_code" in note or "hub_not_found" in note for note in notes)
    _set(path, "panoramas", timezone="Europe/Warsaw")
    model = _built(path)
    assert pyogrio.read_info(model, layer="buildings")["crs"] == "EPSG:2180"
    buildings = pyogrio.read_dataframe(model, layer="buildings").sort_values("building_id")
    assert buildings["street"].tolist()[::5] == STREETS_PL and buildings["storeys"].iloc[:4].tolist() == [1, 2, 3, 4]
    panoramas = pyogrio.read_dataframe(model, layer="panoramas").sort_values("panorama_id")
    days = pd.to_datetime(panoramas["captured_at"], utc=True)
    assert days.iloc[0] == pd.Timestamp("2025-06-03T08:12:00Z") and days.iloc[-1] == pd.Timestamp("2025-06-04T08:12:42Z")
    # EPSG:2180's central meridian is 19° E: at 20.05° E grid north lies 0.8° east of true north
    assert panoramas["heading_deg"].iloc[0] == pytest.approx(89.19, abs=0.02)
    streets = pyogrio.read_dataframe(model, layer="street_coverage").sort_values("street_id")
    assert streets["name"].tolist() == STREETS_PL and streets["street_id"].tolist() == ["UL0", "UL1", "UL2", "UL3"]
    routes = pyogrio.read_dataframe(model, layer="fibre_routes")
    assert set(routes["kind"]) == {"duct", "aerial"} and set(routes["status"]) == {"in_service", "planned"}
    nodes = pyogrio.read_dataframe(model, layer="fibre_nodes").sort_values("node_id")
    assert nodes["name"].tolist() == ["Urząd Miasta", "Szkoła Łąkowa"] and nodes["kind"].tolist() == ["hub", "distribution"]


def test_annecy_from_init_to_a_right_model(tmp_path: Path) -> None:
    _annecy(tmp_path / "livraison")
    path, _ = init_city("Annecy", tmp_path / "livraison", pipelines=tmp_path / "pipelines")
    with pytest.raises(twin.errors.InputError, match=re.escape("give [panoramas] time_format, e.g. '%d/%m/%Y")):
        validate(twin.read_pipeline(path))  # 12/09/2025: September or December, only the user knows
    _set(path, "panoramas", time_format="%d/%m/%Y %H:%M:%S")
    assert any('timezone = "Europe/Paris"' in note for note in validate(twin.read_pipeline(path)).notes)
    _set(path, "panoramas", timezone="Europe/Paris")
    model = _built(path)
    assert pyogrio.read_info(model, layer="buildings")["crs"] == "EPSG:2154"
    buildings = pyogrio.read_dataframe(model, layer="buildings").sort_values("building_id")
    assert buildings["height_m"].iloc[:3].tolist() == [9.5, 10.5, 11.5] and set(buildings["storeys"]) == {3}
    assert set(buildings["function_label"]) == {"Résidentiel"}
    panoramas = pyogrio.read_dataframe(model, layer="panoramas")
    assert pd.to_datetime(panoramas["captured_at"], utc=True).min() == pd.Timestamp("2025-09-12T12:30:00Z")
    # Lambert-93: grid north 2.27° east of true north at Annecy (cone constant 0.7256 × 3.13° from 3° E)
    assert panoramas["heading_deg"].iloc[0] == pytest.approx(87.73, abs=0.02)
    streets = pyogrio.read_dataframe(model, layer="street_coverage").sort_values("street_id")
    assert streets["name"].tolist() == STREETS_FR  # 190 m driven of the 260 m street, plus the seen ends
    assert streets["covered_share"].tolist() == [0.0, 0.0, pytest.approx(0.83, abs=0.01), 0.0]
    routes = pyogrio.read_dataframe(model, layer="fibre_routes")
    assert set(routes["kind"]) == {"trench", "duct", "aerial"} and "Graben" not in set(routes["kind"])
    assert set(routes["status"]) == {"built", "planned"}
    nodes = pyogrio.read_dataframe(model, layer="fibre_nodes").sort_values("node_id")
    assert nodes["name"].tolist() == ["Hôtel de Ville", "École Sainte-Claire"]
    assert nodes["network_distance_m"].iloc[0] == 0.0
    assert "unknown_code" not in set(_qa(model)["check"])
