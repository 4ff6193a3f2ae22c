"""`twin init`: folders of real files in, a pipeline file that runs (after checking) out."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import twin
from tests.test_second_city import write_eastern_city
from twin.cli import main
from twin.init import guess_pipeline, init_city, inspect_folder
from twin.runner.validate import validate
from twin.sample import write_sample


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_init_sets_up_a_city_in_epsg_25833_that_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = write_eastern_city(tmp_path / "inputs")
    assert main(["init", "Spreeau an der Neiße", "--inputs", str(inputs), "--pipelines", str(tmp_path / "pipelines")]) == 0
    path = tmp_path / "pipelines" / "spreeau_an_der_neisse.toml"
    assert f"wrote {path}" in capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# twin pipeline for Spreeau an der Neiße")
    config = _toml(path)
    assert config["city"] == {"name": "Spreeau an der Neiße", "crs": "EPSG:25833", "boundary": "../inputs/gemeindegrenze.geojson"}
    assert config["output"]["path"] == "../data/processed/spreeau_an_der_neisse_cim.gpkg"
    assert config["buildings"]["path"] == "../inputs/gebaeude.geojson"
    assert config["buildings"]["columns"]["building_id"] == "gebaeude_id"
    assert config["buildings"]["columns"]["function_code"] == "funktion"
    assert config["panoramas"]["format"] == "csv" and config["panoramas"]["crs"] == "EPSG:25833"
    assert config["panoramas"]["columns"] == {"panorama_id": "Bildname", "image_name": "Bildname", "captured_at": "Zeit",
                                              "x": "Rechtswert", "y": "Hochwert", "z": "Hoehe",
                                              "heading_deg": "Blickrichtung"}
    assert config["fibre"] == {"routes": "../inputs/glasfaser_trassen.shp", "nodes": "../inputs/netzknoten.gpkg",
                               "hub": "Rathaus", "columns": {"kind": "Bauweise", "name": "Bezeichnung"}}
    pipeline = twin.read_pipeline(path)
    assert validate(pipeline).counts["buildings"] > 400
    result = twin.run(pipeline, report=False)
    assert pyogrio.read_info(result.output, layer="buildings")["crs"] == "EPSG:25833"


def test_init_recognises_the_vendor_formats_of_the_sample(tmp_path: Path) -> None:
    write_sample(tmp_path / "raw", scale=300)
    path, guess = init_city("Kaiserslautern", tmp_path / "raw", pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert guess.crs == "EPSG:25832"
    assert config["buildings"] == {"path": "../raw/buildings/hausumringe.shp", "format": "alkis"}
    assert config["panoramas"] == {"path": "../raw/panoramas/recordings.csv", "format": "cyclomedia",
                                   "streets": "../raw/streets/streets.geojson"}
    assert config["fibre"] == {"routes": "../raw/fibre/routes.geojson", "nodes": "../raw/fibre/nodes.geojson", "hub": "Rathaus"}
    assert config["city"]["boundary"] == "../raw/boundary.geojson"
    assert "# hausumringe.shp: ALKIS Hausumringe (columns OI and GFK)" in path.read_text(encoding="utf-8")
    assert validate(twin.read_pipeline(path)).counts["panoramas"] > 0


def test_guesses_for_generic_files_in_degrees(tmp_path: Path) -> None:
    """Footprints in WGS84 with OSM-like tags, a panorama CSV whose latitude column comes first, no fibre."""
    square = shapely.box(0, 0, 0.0001, 0.0001)
    gpd.GeoDataFrame({"osm_id": ["w1", "w2"], "building": ["house", "yes"], "building:levels": ["2", "3"],
                      "height": ["7.5", None]},
                     geometry=[shapely.affinity.translate(square, 7.76, 49.44 + i * 0.001) for i in range(2)],
                     crs="EPSG:4326").to_file(tmp_path / "footprints.geojson")
    pd.DataFrame({"lat": ["49.4401", "49.4402"], "lon": ["7.7601", "7.7602"], "timestamp": ["2024-05-01T10:00:00Z"] * 2,
                  "file": ["a.jpg", "b.jpg"], "yaw": ["10", "20"]}).to_csv(tmp_path / "pictures.csv", index=False)
    guess = guess_pipeline(inspect_folder(tmp_path))
    assert guess.crs == "EPSG:25832"  # degrees are no output CRS
    assert guess.columns["buildings"]["building_id"] == "osm_id"
    assert guess.columns["buildings"]["function_code"] == "building"
    assert guess.columns["panoramas"]["x"] == "lon" and guess.columns["panoramas"]["y"] == "lat"
    assert guess.columns["panoramas"]["captured_at"] == "timestamp"
    assert guess.columns["panoramas"]["heading_deg"] == "yaw"
    assert guess.sections["panoramas"]["crs"] == "EPSG:4326"
    assert "fibre" not in guess.sections
    assert any("no file in the folder looks like fibre" in n for n in guess.notes["fibre"])
    assert guess_pipeline(inspect_folder(tmp_path), crs="EPSG:25833").crs == "EPSG:25833"


def test_swapped_coordinate_columns_are_put_right(tmp_path: Path) -> None:
    pd.DataFrame({"x": ["49.44", "49.45"], "y": ["7.76", "7.77"], "time": ["2024-05-01T10:00:00Z"] * 2}).to_csv(
        tmp_path / "drive.csv", index=False)
    guess = guess_pipeline(inspect_folder(tmp_path))
    assert guess.columns["panoramas"]["x"] == "y" and guess.columns["panoramas"]["y"] == "x"
    assert any("swapped" in n for n in guess.notes["panoramas"])


def test_cp1252_shapefile_without_cpg_gets_its_encoding(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"OI": ["DERP1", "DERP2"], "GFK": ["31001_1000"] * 2, "STRASSE": ["Müllerstraße", "Fröbelweg"]},
                             geometry=[shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)], crs="EPSG:25832")
    frame = frame.set_geometry(frame.translate(410_000, 5_477_000))
    pyogrio.write_dataframe(frame, tmp_path / "hu.shp", encoding="cp1252")
    (tmp_path / "hu.cpg").unlink(missing_ok=True)
    guess = guess_pipeline(inspect_folder(tmp_path))
    assert guess.sections["buildings"]["format"] == "alkis"
    assert guess.sections["buildings"]["encoding"] == "cp1252"


def test_init_refuses_to_overwrite_and_reports_bad_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "inputs"
    write_sample(inputs, scale=300)
    pipelines = tmp_path / "pipelines"
    assert main(["init", "Testdorf", "--inputs", str(inputs), "--pipelines", str(pipelines), "-q"]) == 0
    before = (pipelines / "testdorf.toml").read_bytes()
    assert main(["init", "Testdorf", "--inputs", str(inputs), "--pipelines", str(pipelines)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "testdorf.toml: exists already" in err and "--overwrite" in err
    assert (pipelines / "testdorf.toml").read_bytes() == before
    assert main(["init", "Nirgendwo", "--inputs", str(tmp_path / "nowhere"), "--pipelines", str(pipelines)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    shutil.copy(inputs / "buildings" / "hausumringe.dbf", tmp_path / "empty")
    assert main(["init", "Leer", "--inputs", str(tmp_path / "empty"), "--pipelines", str(pipelines)]) == 2
    assert "holds no vector file or table" in capsys.readouterr().err


def test_init_reads_german_column_names_and_fibre_files_that_name_a_field_differently(tmp_path: Path) -> None:
    """A GeoPackage with an address, a semicolon CSV with Breite/Länge, routes and nodes with their own kind column."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    x0, y0 = 368_000.0, 5_808_000.0
    boxes = [shapely.box(x0 + 30 * i, y0 + 30 * j, x0 + 30 * i + 12, y0 + 30 * j + 9) for i in range(20) for j in range(20)]
    gpd.GeoDataFrame({"objekt_id": [f"DEBB{i:06d}" for i in range(len(boxes))], "gebaeudefunktion": "Wohnhaus",
                      "geschosse": 2, "strasse": "Mühlenweg", "hausnummer": [str(i + 1) for i in range(len(boxes))]},
                     geometry=boxes, crs="EPSG:25833").to_file(inputs / "gebaeude.gpkg", layer="gebaeude")
    drive = gpd.GeoSeries(shapely.points(x0 + np.arange(0, 600, 5.0), np.full(120, y0 + 305)), crs="EPSG:25833")
    degrees = drive.to_crs("EPSG:4326")
    pd.DataFrame({"bild": [f"p{i:04d}.jpg" for i in range(120)], "breite": degrees.y.round(7), "laenge": degrees.x.round(7),
                  "zeit": pd.date_range("2025-05-04T09:00Z", periods=120, freq="2s").strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "richtung": 90.0}).to_csv(inputs / "panoramen.csv", sep=";", index=False)
    hub, sites = shapely.Point(x0 + 300, y0 + 300), [shapely.Point(x0 + 36, y0 + 34), shapely.Point(x0 + 576, y0 + 574)]
    gpd.GeoDataFrame({"trasse": ["T1", "T2"], "art": ["trench", "duct"]},
                     geometry=[shapely.LineString([hub, s]) for s in sites], crs="EPSG:25833") \
        .to_file(inputs / "glasfaser_trassen.geojson")
    gpd.GeoDataFrame({"knoten": ["Stadtwerke", "Schule", "Museum"], "typ": ["Zentrale", "Standort", "site"]},
                     geometry=[hub, *sites], crs="EPSG:25833").to_file(inputs / "glasfaser_knoten.geojson")
    path, _ = init_city("Neustadt", inputs, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["buildings"]["columns"] == {"building_id": "objekt_id", "function_code": "gebaeudefunktion",
                                              "storeys": "geschosse", "street": "strasse", "house_number": "hausnummer"}
    assert config["panoramas"]["crs"] == "EPSG:4326"
    assert config["panoramas"]["columns"] == {"panorama_id": "bild", "image_name": "bild", "captured_at": "zeit",
                                              "x": "laenge", "y": "breite", "heading_deg": "richtung"}
    assert config["fibre"]["hub"] == "Stadtwerke"  # the node of kind "Zentrale"
    assert config["fibre"]["columns"] == {"route_id": "trasse", "name": "knoten"}
    assert config["fibre"]["route_columns"] == {"kind": "art"} and config["fibre"]["node_columns"] == {"kind": "typ"}
    result = twin.run(twin.read_pipeline(path), report=False)
    buildings = pyogrio.read_dataframe(result.output, layer="buildings")
    assert set(buildings["street"]) == {"Mühlenweg"} and (buildings["panorama_count"] > 0).any()
    nodes = pyogrio.read_dataframe(result.output, layer="fibre_nodes")
    assert nodes.set_index("name")["kind"].to_dict() == {"Stadtwerke": "hub", "Schule": "site", "Museum": "site"}
    routes = pyogrio.read_dataframe(result.output, layer="fibre_routes")
    assert routes.set_index("route_id")["kind"].to_dict() == {"T1": "trench", "T2": "duct"}


def test_init_tells_the_panorama_table_from_a_node_table(tmp_path: Path) -> None:
    """Two CSVs with coordinates: the panoramas (times, headings) and the network's nodes (named like it)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    x0, y0 = 368_000.0, 5_808_000.0
    boxes = [shapely.box(x0 + 30 * i, y0, x0 + 30 * i + 12, y0 + 9) for i in range(30)]
    gpd.GeoDataFrame({"objekt_id": [f"DEBB{i:06d}" for i in range(30)]}, geometry=boxes, crs="EPSG:25833") \
        .to_file(inputs / "gebaeude.gpkg", layer="gebaeude")
    pd.DataFrame({"Bild": [f"p{i}.jpg" for i in range(40)], "Rechtswert": x0 + 5.0 * np.arange(40), "Hochwert": y0 + 20.0,
                  "Zeit": pd.date_range("2025-05-04T09:00Z", periods=40, freq="2s").strftime("%Y-%m-%dT%H:%M:%SZ")}) \
        .to_csv(inputs / "panoramen.csv", sep=";", index=False)
    hub, site = (x0 + 450.0, y0 + 30.0), (x0 + 6.0, y0 + 4.0)
    gpd.GeoDataFrame({"art": ["trench"]}, geometry=[shapely.LineString([hub, site])], crs="EPSG:25833") \
        .to_file(inputs / "glasfaser_trassen.geojson")
    pd.DataFrame({"Knoten": ["Stadtwerke", "Schule"], "Typ": ["PoP", "Anschluss"], "Rechtswert": [hub[0], site[0]],
                  "Hochwert": [hub[1], site[1]]}).to_csv(inputs / "glasfaser_knoten.csv", sep=";", index=False)
    path, _ = init_city("Neudorf", inputs, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["panoramas"]["path"] == "../in/panoramen.csv"
    assert config["fibre"]["nodes"] == "../in/glasfaser_knoten.csv"
    assert config["fibre"]["hub"] == "Stadtwerke" and config["fibre"]["nodes_crs"] == "EPSG:25833"
    assert config["fibre"]["columns"] == {"name": "Knoten", "x": "Rechtswert", "y": "Hochwert"}
    assert config["fibre"]["route_columns"] == {"kind": "art"} and config["fibre"]["node_columns"] == {"kind": "Typ"}
    result = twin.run(twin.read_pipeline(path), report=False)
    nodes = pyogrio.read_dataframe(result.output, layer="fibre_nodes")
    assert nodes.set_index("name")["kind"].to_dict() == {"Stadtwerke": "hub", "Schule": "site"}
    assert nodes.set_index("name")["building_id"]["Schule"] == "DEBB000000"


def test_init_knows_cyclomedia_headers_in_any_case(tmp_path: Path) -> None:
    pd.DataFrame({"ImageId": ["A1"], "RecordedAt": ["2023-05-16T08:00:00Z"], "X": [7.76], "Y": [49.44],
                  "SRS": ["EPSG:4326"]}).to_csv(tmp_path / "recordings.csv", index=False)
    guess = guess_pipeline(inspect_folder(tmp_path))
    assert guess.sections["panoramas"]["format"] == "cyclomedia"


def test_init_maps_the_cad_layers_of_a_fibre_drawing(tmp_path: Path) -> None:
    import ezdxf

    inputs = tmp_path / "in"
    inputs.mkdir()
    x0, y0 = 410_000.0, 5_477_000.0
    doc = ezdxf.new()
    space = doc.modelspace()
    space.add_line((x0, y0), (x0 + 300, y0), dxfattribs={"layer": "GF_TRASSE_TIEFBAU"})
    space.add_lwpolyline([(x0 + 300, y0), (x0 + 300, y0 + 200)], dxfattribs={"layer": "GF Leerrohr (Bestand)"})
    space.add_line((x0, y0 + 10), (x0 + 300, y0 + 10), dxfattribs={"layer": "STRASSE"})
    space.add_text("Rathaus", dxfattribs={"layer": "TEXT"}).set_placement((x0, y0))
    doc.saveas(inputs / "glasfasernetz.dxf")
    boxes = [shapely.box(x0 + 20 * i, y0 + 20, x0 + 20 * i + 10, y0 + 30) for i in range(15)]
    gpd.GeoDataFrame({"oi": [f"DERP{i:04d}" for i in range(15)], "gfk": "31001_1000"}, geometry=boxes,
                     crs="EPSG:25832").to_file(inputs / "hausumringe.shp")
    path, guess = init_city("Testdorf", inputs, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["buildings"]["format"] == "alkis"  # lower-case oi/gfk
    assert config["fibre"]["routes"] == "../in/glasfasernetz.dxf" and config["fibre"]["crs"] == "EPSG:25832"
    assert config["fibre"]["dxf_layers"] == {"GF_TRASSE_TIEFBAU": "trench", "GF Leerrohr (Bestand)": "duct"}
    assert any("lines on STRASSE are left out" in note for note in guess.notes["fibre"])
    result = twin.run(twin.read_pipeline(path), report=False)
    routes = pyogrio.read_dataframe(result.output, layer="fibre_routes")
    assert sorted(routes["kind"]) == ["duct", "trench"]


def test_init_takes_every_layer_from_one_geopackage(tmp_path: Path) -> None:
    """A city that delivers one GeoPackage: footprints, boundary, fibre routes and nodes, streets as layers."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    gpkg = inputs / "stadtdaten.gpkg"
    x0, y0 = 410_000.0, 5_477_000.0
    boxes = [shapely.box(x0 + 20 * i, y0 + 20, x0 + 20 * i + 10, y0 + 30) for i in range(20)]
    layers = {
        "gebaeude": gpd.GeoDataFrame({"objekt_id": [f"DERP{i:04d}" for i in range(20)]}, geometry=boxes),
        "gemeindegrenze": gpd.GeoDataFrame({"name": ["Testdorf"]}, geometry=[shapely.box(x0 - 50, y0 - 50, x0 + 500, y0 + 80)]),
        "strassen": gpd.GeoDataFrame({"name": ["Hauptstraße"]}, geometry=[shapely.LineString([(x0, y0), (x0 + 400, y0)])]),
        "lwl_trassen": gpd.GeoDataFrame({"bauweise": ["Tiefbau"]},
                                        geometry=[shapely.LineString([(x0, y0 + 5), (x0 + 385, y0 + 25)])]),
        "lwl_knoten": gpd.GeoDataFrame({"bezeichnung": ["Rathaus", "Schule"], "art": ["Zentrale", "Standort"]},
                                       geometry=[shapely.Point(x0, y0 + 5), shapely.Point(x0 + 385, y0 + 25)]),
    }
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame.set_crs("EPSG:25832"), gpkg, layer=name)
    pd.DataFrame({"bild": ["a.jpg", "b.jpg"], "rechtswert": [x0 + 5, x0 + 15], "hochwert": [y0, y0],
                  "zeit": ["2025-05-04T09:00:00Z", "2025-05-04T09:00:02Z"]}).to_csv(inputs / "panoramen.csv", index=False)
    path, _ = init_city("Testdorf", inputs, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["city"]["boundary_layer"] == "gemeindegrenze"
    assert config["buildings"]["layer"] == "gebaeude"
    assert config["panoramas"]["streets_layer"] == "strassen"
    assert (config["fibre"]["routes_layer"], config["fibre"]["nodes_layer"]) == ("lwl_trassen", "lwl_knoten")
    result = twin.run(twin.read_pipeline(path), report=False)
    assert result.counts["buildings"] == 20 and result.counts["street_coverage"] == 1
    nodes = pyogrio.read_dataframe(result.output, layer="fibre_nodes")
    assert nodes.set_index("name")["kind"].to_dict() == {"Rathaus": "hub", "Schule": "site"}
    assert pyogrio.read_dataframe(result.output, layer="fibre_routes")["kind"].tolist() == ["trench"]


def test_init_names_the_kinds_it_does_not_know(tmp_path: Path) -> None:
    line = shapely.LineString([(410_000, 5_477_000), (410_100, 5_477_000)])
    gpd.GeoDataFrame({"kind": ["Graben", "Kabelkanal"]}, geometry=[line, line], crs="EPSG:25832") \
        .to_file(tmp_path / "glasfaser_trassen.geojson")
    gpd.GeoDataFrame({"name": ["Rathaus", "Ampel 3"], "kind": ["Zentrale", "Ampel"]},
                     geometry=[shapely.Point(410_000, 5_477_000)] * 2, crs="EPSG:25832") \
        .to_file(tmp_path / "glasfaser_knoten.geojson")
    guess = guess_pipeline(inspect_folder(tmp_path))
    assert guess.sections["fibre"]["hub"] == "Rathaus"
    assert any("values twin does not know: 'Kabelkanal', 'Ampel'; give each its code in [fibre.values]" in note
               for note in guess.notes["fibre"])


def test_init_warns_of_times_without_a_zone(tmp_path: Path) -> None:
    pd.DataFrame({"bild": ["a.jpg"], "lat": [49.44], "lon": [7.76], "zeit": ["2025-05-04 11:00:00"]}) \
        .to_csv(tmp_path / "panoramen.csv", index=False)
    guess = guess_pipeline(inspect_folder(tmp_path))
    assert any('times name no zone and are read as UTC; if they are local times, add timezone = "Europe/Berlin"' in n
               for n in guess.notes["panoramas"])
    pd.DataFrame({"bild": ["a.jpg"], "lat": [49.44], "lon": [7.76], "zeit": ["2025-05-04T11:00:00+02:00"]}) \
        .to_csv(tmp_path / "panoramen.csv", index=False)
    assert not any("no zone" in n for n in guess_pipeline(inspect_folder(tmp_path)).notes["panoramas"])


def test_init_lists_every_file_with_its_role_or_why_it_has_none(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    write_sample(raw, scale=300)
    (raw / "Leistungsverzeichnis.pdf").write_bytes(b"%PDF-1.4\n")
    pd.DataFrame({"Kostenstelle": ["A1"], "Betrag": ["12,50"]}).to_csv(raw / "kosten.csv", sep=";", index=False)
    (raw / "kaputt.geojson").write_text("{ not json", encoding="utf-8")
    assert main(["init", "Kaiserslautern", "--inputs", str(raw), "--pipelines", str(tmp_path / "pipelines")]) == 0
    printed = capsys.readouterr().out
    path = tmp_path / "pipelines" / "kaiserslautern.toml"
    text = path.read_text(encoding="utf-8")
    expected = {
        "hausumringe.shp": "buildings (", "recordings.csv": "panoramas (", "streets.geojson": "street centre lines",
        "routes.geojson": "fibre routes (", "nodes.geojson": "fibre nodes (", "boundary.geojson": "city boundary",
        "Leistungsverzeichnis.pdf": "not a format twin reads (.pdf)",
        "kosten.csv": "a table without coordinate columns twin knows (columns Kostenstelle, Betrag)",
        "kaputt.geojson": "not readable (",
    }
    for name, role in expected.items():
        assert f"#   {name}: {role}" in text, name
        assert f"  {name}: {role}" in printed, name
    assert "hausumringe.dbf" not in text  # side files belong to their Shapefile


def test_coordinates_are_found_by_their_values_and_pictures_alone_give_the_utm_zone(tmp_path: Path) -> None:
    """A Czech camera-car CSV whose coordinate columns have names twin does not know, and no buildings."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    rows = ["snimek;datum;cas;hodnota1;hodnota2"]
    rows += [f"{i}.jpg;2024-05-0{1 + i // 5};10:00:{10 * (i % 5):02d};50,08{i}1;14,42{i}3" for i in range(10)]
    (folder / "jizda.csv").write_text("\n".join(rows) + "\n", encoding="cp1250")
    path, guess = init_city("Praha 1", folder, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["city"]["crs"] == "EPSG:25833"  # UTM 33N where the pictures lie, not the default EPSG:25832
    assert {"x": "hodnota2", "y": "hodnota1", "captured_at": "datum", "time_of_day": "cas"}.items() <= \
        config["panoramas"]["columns"].items()
    assert config["panoramas"]["crs"] == "EPSG:4326"
    assert any("hold coordinates by their values" in note for note in guess.notes["panoramas"])
    assert main(["run", "--quiet", str(path)]) == 0
    model = twin.open_model(tmp_path / "data" / "processed" / "praha_1_cim.gpkg")
    assert len(model.panoramas) == 10
    assert model.panoramas.to_crs("EPSG:4326").geometry.x.between(14.42, 14.43).all()


def test_projected_coordinates_by_their_values_take_the_smaller_as_easting(tmp_path: Path) -> None:
    from twin.init.hints import xy_by_values
    from twin.init.inspect import Source

    sample = pd.DataFrame({"a": ["-1043210,5", "-1043220,5"], "b": ["-742100,25", "-742110,75"], "c": ["1", "2"]})
    source = Source(Path("x.csv"), None, None, None, tuple(sample.columns), 2, sample=sample)
    assert xy_by_values(source) == ("b", "a")
    utm = pd.DataFrame({"e": ["411200.5", "411210.5"], "n": ["5479100.2", "5479101.2"]})
    assert xy_by_values(Source(Path("y.csv"), None, None, None, ("e", "n"), 2, sample=utm)) == ("e", "n")
    ids = pd.DataFrame({"id": ["100001", "100002"], "count": ["3", "4"]})  # whole numbers are no coordinates
    assert xy_by_values(Source(Path("z.csv"), None, None, None, ("id", "count"), 2, sample=ids)) is None


def test_street_centre_lines_in_other_languages_are_streets_with_their_columns_and_never_fibre(tmp_path: Path) -> None:
    """A Czech delivery: streets as `ulice.shp` (nazev, kod_ulice), lines from OSM with `highway`, and a fibre plan."""
    folder = tmp_path / "dodavka"
    folder.mkdir()
    x0, y0 = -742_000.0, -1_043_000.0
    line = shapely.LineString([(x0, y0), (x0 + 300, y0)])
    gpd.GeoDataFrame({"kod_ulice": ["U1", "U2"], "nazev": ["Sibiřská", "Karlova"]},
                     geometry=[line, line.offset_curve(40)], crs="EPSG:5514").to_file(folder / "ulice.shp",
                                                                                        encoding="utf-8")
    gpd.GeoDataFrame({"highway": ["residential"], "osm_id": ["w1"]}, geometry=[line.offset_curve(80)],
                     crs="EPSG:5514").to_file(folder / "lines.geojson")
    pd.DataFrame({"snimek": ["a.jpg", "b.jpg"], "cas": ["2024-05-01T10:00:00Z", "2024-05-01T10:00:02Z"],
                  "x": [x0 + 5, x0 + 15], "y": [y0, y0]}).to_csv(folder / "jizda.csv", index=False)
    path, guess = init_city("Praha", folder, pipelines=tmp_path / "pipelines", crs="EPSG:5514")
    config = _toml(path)
    assert config["panoramas"]["streets"] == "../dodavka/ulice.shp"
    assert config["panoramas"]["street_columns"] == {"street_id": "kod_ulice", "name": "nazev"}
    assert "fibre" not in config  # neither the streets nor the OSM lines are a fibre plan
    assert guess.files["lines.geojson"].startswith("street centre lines, unused")
    assert main(["run", "--quiet", str(path)]) == 0
    coverage = pyogrio.read_dataframe(tmp_path / "data" / "processed" / "praha_cim.gpkg", layer="street_coverage")
    assert sorted(coverage["street_id"]) == ["U1", "U2"] and "Sibiřská" in set(coverage["name"])


def test_init_proposes_the_districts_layer_and_the_run_gives_each_building_its_district(tmp_path: Path) -> None:
    """Footprints in a GeoPackage, the Stadtteile as a cp1252 Shapefile in degrees: proposed, read and assigned."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    x0, y0 = 410_000.0, 5_477_000.0
    boxes = [shapely.box(x0 + 20 * i, y0 + 20, x0 + 20 * i + 10, y0 + 30) for i in range(20)]
    pyogrio.write_dataframe(gpd.GeoDataFrame({"objekt_id": [f"DERP{i:04d}" for i in range(20)]}, geometry=boxes,
                                             crs="EPSG:25832"), inputs / "gebaeude.gpkg")
    parts = gpd.GeoDataFrame({"STT_NR": ["01", "07"], "Name": ["Innenstadt-Süd", "Betzenberg"]}, crs="EPSG:25832",
                             geometry=[shapely.box(x0 - 50, y0 - 50, x0 + 195, y0 + 80),
                                       shapely.box(x0 + 195, y0 - 50, x0 + 295, y0 + 80)])
    pyogrio.write_dataframe(parts.to_crs("EPSG:4326"), inputs / "stadtteile.shp", encoding="cp1252")
    path, _ = init_city("Testdorf", inputs, pipelines=tmp_path / "pipelines")
    config = _toml(path)
    assert config["city"]["districts"] == "../in/stadtteile.shp"
    assert config["city"]["districts_name"] == "Name"
    assert config["buildings"]["path"] == "../in/gebaeude.gpkg"
    assert "districts ([city] districts, 2 polygons)" in path.read_text(encoding="utf-8")
    result = twin.run(twin.read_pipeline(path), report=False)
    buildings = pyogrio.read_dataframe(result.output, layer="buildings", read_geometry=False)
    district = buildings.set_index("building_id")["district"]
    assert district[[f"DERP{i:04d}" for i in range(10)]].tolist() == ["Innenstadt-Süd"] * 10
    assert district[[f"DERP{i:04d}" for i in range(10, 15)]].tolist() == ["Betzenberg"] * 5
    assert district[[f"DERP{i:04d}" for i in range(15, 20)]].isna().all()  # outside every district: no name
