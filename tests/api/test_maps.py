"""Maps of the built sample model: legends in the model's language, equal aspect, a scale bar, a size from the
extent that never makes a strip, names in titles."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib_scalebar.scalebar import ScaleBar
from PIL import Image

import twin
from tests.conftest import pipeline_text
from twin.api.maps import CityMap, building_names, code_labels
from twin.errors import ArgumentError
from twin.model import LAYERS


@pytest.fixture(scope="module")
def english_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample model published with ``[output] language = "en"``."""
    folder = tmp_path_factory.mktemp("english")
    text = pipeline_text(folder / "cim.gpkg").replace("[output]\n", '[output]\nlanguage = "en"\n')
    (folder / "city.toml").write_text(text, encoding="utf-8")
    return twin.run(twin.read_pipeline(folder / "city.toml")).output


def _png_size(ax: object) -> tuple[int, int]:
    """Pixel size of the figure as a notebook shows it (cropped to what is drawn)."""
    png = io.BytesIO()
    ax.figure.savefig(png, format="png", bbox_inches="tight", dpi=100)  # type: ignore[attr-defined]
    return Image.open(png).size


def _fibre_map(model: twin.api.CityModel) -> object:
    return (CityMap(model.fibre_routes, title="RAINBOW", language=model.language)
            .add(model.buildings, color="0.9")
            .coded(model.fibre_routes, "status", layer="fibre_routes", linewidth=2)
            .coded(model.fibre_nodes, "kind", layer="fibre_nodes", colours=dict.fromkeys(("hub", "distribution", "site"), "k"))
            .finish())


def test_a_network_map_of_the_model_has_german_labels_equal_aspect_and_a_scale_bar(built_model: Path) -> None:
    model = twin.open_model(built_model)
    assert model.language == "de"
    ax = _fibre_map(model)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    present = {str(s) for s in model.fibre_routes["status"].dropna()} | {str(k) for k in model.fibre_nodes["kind"].dropna()}
    expected = [label for code, label in {**code_labels("fibre_routes", "status"), **code_labels("fibre_nodes", "kind")}.items()
                if code in present]
    assert legend == expected
    assert "in Betrieb" in legend and "Zentrale" in legend
    assert not {"in_service", "planned", "built", "hub", "site", "distribution"} & set(legend)
    assert ax.get_aspect() == 1.0
    assert [a for a in ax.artists if isinstance(a, ScaleBar)]
    width, height = _png_size(ax)
    assert min(width, height) >= 450 and max(width, height) <= 1600
    plt.close(ax.figure)


def test_the_legend_follows_the_language_the_model_was_published_in(english_model: Path) -> None:
    model = twin.open_model(english_model)
    assert model.language == "en"
    ax = _fibre_map(model)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "in service" in legend and "hub" in legend and "in Betrieb" not in legend
    plt.close(ax.figure)


def test_a_long_narrow_area_makes_a_readable_map_not_a_strip(built_model: Path) -> None:
    """A long street section spans far more one way than the other (a strip such as 717x96 px when drawn with a
    fixed 9x9 inch figure and equal aspect)."""
    model = twin.open_model(built_model)
    streets = model.street_coverage
    bounds = streets.bounds
    wide, tall = bounds["maxx"] - bounds["minx"], bounds["maxy"] - bounds["miny"]
    tracks = streets.loc[[(wide - 6 * tall).idxmax()]]  # the longest east-west extent for its height
    xmin, ymin, xmax, ymax = tracks.total_bounds
    assert (ymax - ymin) < (xmax - xmin) / 5 and xmax - xmin > 100  # the case this test is about
    ax = CityMap(tracks, title="Fahrten").add(tracks, color="k", label="Fahrspur").finish()
    width, height = _png_size(ax)
    assert min(width, height) >= 450, (width, height)
    assert max(width, height) <= 1600, (width, height)
    xlow, xhigh = ax.get_xlim()
    ylow, yhigh = ax.get_ylim()
    assert xlow <= xmin and xhigh >= xmax and ylow <= ymin and yhigh >= ymax  # all the data is on the map
    plt.close(ax.figure)


def test_a_value_map_has_a_colour_bar_titled_with_the_field_and_unit(built_model: Path) -> None:
    model = twin.open_model(built_model)
    buildings = model.buildings
    ax = CityMap(buildings, title="Höhen").values(buildings, "height_m", layer="buildings").finish()
    bars = [cax for cax in ax.figure.axes if hasattr(cax, "_colorbar")]
    assert [cax.get_ylabel() for cax in bars] == ["Höhe (m)"]
    plt.close(ax.figure)


def test_buildings_are_named_by_their_address(built_model: Path) -> None:
    buildings = twin.open_model(built_model).buildings
    names = building_names(buildings)
    assert names.index.equals(buildings.index)
    with_address = buildings["street"].notna() & buildings["house_number"].notna()
    assert with_address.any()
    first = buildings.loc[with_address].iloc[0]
    assert names[with_address].iloc[0] == f"{first['street']} {first['house_number']}"
    assert not names.isna().any() and (names != "").all()


def test_a_map_refuses_coordinates_that_are_not_metres(built_model: Path) -> None:
    routes = twin.open_model(built_model).fibre_routes
    with pytest.raises(ArgumentError, match=r"EPSG:4326, not projected in metres"):
        CityMap(routes.to_crs("EPSG:4326"), title="x")


def test_a_code_list_of_another_field_is_refused() -> None:
    with pytest.raises(ArgumentError, match="layer fibre_routes has no field 'colour'"):
        code_labels("fibre_routes", "colour")
    assert code_labels("fibre_routes", "status", "en")["in_service"] == LAYERS["fibre_routes"].field("status").legend_label(
        "in_service", "en")


def test_a_value_map_of_a_computed_column_needs_a_title_for_its_colour_bar(built_model: Path) -> None:
    issues = twin.open_model(built_model).qa_issues.assign(weight=1.0)
    city_map = CityMap(issues, title="QA")
    with pytest.raises(ArgumentError, match="no title for the colour bar of 'weight'"):
        city_map.values(issues, "weight")
    ax = city_map.values(issues, "weight", label="Gewicht").finish()
    assert [cax.get_ylabel() for cax in ax.figure.axes if hasattr(cax, "_colorbar")] == ["Gewicht"]
    plt.close(ax.figure)
