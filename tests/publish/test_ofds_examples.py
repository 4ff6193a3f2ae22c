"""The Open Fibre Data Standard's own example network through twin init, twin run and twin export ofds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest

from twin.cli import main

EXAMPLES = Path(__file__).parents[1] / "data" / "ofds"
LIBCOVEOFDS = Path(sys.executable).with_name("libcoveofds")


def _pipeline(tmp_path: Path) -> Path:
    """The pipeline twin init writes for the examples, with what a user adds after reading its notes."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("nodes.geojson", "spans.geojson"):
        shutil.copy(EXAMPLES / name, inputs / name)
    assert main(["init", "Accra", "--inputs", str(inputs), "--crs", "EPSG:32630",
                 "--pipelines", str(tmp_path / "pipelines"), "-q"]) == 0
    path = tmp_path / "pipelines" / "accra.toml"
    text = path.read_text(encoding="utf-8")
    # twin init guessed the columns; the one value it does not know is named in its notes
    assert 'kind = "deployment"' in text and 'kind = "type"' in text and 'fibres = "fibreCount"' in text
    assert "# values twin does not know: 'belowGround';" in text
    assert 'hub = "Accra"' in text  # the first node of type pop
    text = text.replace('nodes = "../inputs/nodes.geojson"\n',
                        'nodes = "../inputs/nodes.geojson"\nnetwork_name = "Ghana Fibre Network"\n'
                        "snap_tolerance_m = 250\n")  # the example's stated accuracy
    path.write_text(text + '\n[fibre.values]\n"belowGround" = "duct"\n', encoding="utf-8")
    return path


def test_the_standards_example_network_runs_and_exports_as_it_was_written(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    assert main(["run", str(pipeline), "-q"]) == 0
    model = tmp_path / "data" / "processed" / "accra_cim.gpkg"
    nodes = pyogrio.read_dataframe(model, layer="fibre_nodes")
    routes = pyogrio.read_dataframe(model, layer="fibre_routes")
    issues = pyogrio.read_dataframe(model, layer="qa_issues")
    assert nodes[["node_id", "name"]].values.tolist() == [["1", "Accra"], ["2", "Kumasi"]]
    assert routes[["route_id", "name", "kind", "status", "fibres"]].values.tolist() == [
        ["1", "Accra to Kumasi", "duct", "in_service", 24]]
    # both nodes are of type pop: the second hub is reported, not silently changed
    assert issues.loc[issues["check"] == "second_hub", "feature_id"].tolist() == ["2"]
    assert "node_off_network" not in set(issues["check"])

    assert main(["export", "ofds", str(model), str(tmp_path / "ofds"), "-q"]) == 0
    exported = {name: json.loads((tmp_path / "ofds" / f"{name}.geojson").read_text(encoding="utf-8"))["features"]
                for name in ("nodes", "spans")}
    by_id = {f["properties"]["id"]: f["properties"] for f in exported["nodes"]}
    assert {k: v["name"] for k, v in by_id.items()} == {"1": "Accra", "2": "Kumasi"}
    assert by_id["1"]["type"] == ["pop"]
    (span,) = exported["spans"]
    props = span["properties"]
    assert (props["id"], props["name"], props["start"], props["end"]) == ("1", "Accra to Kumasi", "1", "2")
    assert (props["status"], props["deployment"], props["fibreCount"]) == ("operational", ["belowGround"], 24)
    assert props["network"]["name"] == "Ghana Fibre Network"
    source = json.loads((EXAMPLES / "spans.geojson").read_text(encoding="utf-8"))["features"][0]
    assert span["geometry"]["coordinates"] == source["geometry"]["coordinates"]


@pytest.mark.skipif(not LIBCOVEOFDS.exists(), reason="libcoveofds is not installed")
def test_the_export_of_the_example_passes_the_ofds_validator(tmp_path: Path) -> None:
    assert main(["run", str(_pipeline(tmp_path)), "-q"]) == 0
    folder = tmp_path / "ofds"
    assert main(["export", "ofds", str(tmp_path / "data" / "processed" / "accra_cim.gpkg"), str(folder), "-q"]) == 0
    subprocess.run([str(LIBCOVEOFDS), "geojsontojson", "nodes.geojson", "spans.geojson", "network.json"],
                   cwd=folder, check=True, capture_output=True)
    for check in ("jsv", "pv"):
        done = subprocess.run([str(LIBCOVEOFDS), check, "network.json"], cwd=folder, capture_output=True, text=True,
                              check=True)
        assert json.loads(done.stdout or "[]") == []
    network = json.loads((folder / "network.json").read_text(encoding="utf-8"))["networks"][0]
    assert [s["name"] for s in network["spans"]] == ["Accra to Kumasi"]
    assert sorted(n["name"] for n in network["nodes"]) == ["Accra", "Kumasi"]
