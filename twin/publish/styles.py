"""Default QGIS styles: the QML files in ``twin/publish/styles/`` written into ``layer_styles``.

QGIS applies a layer's default style when it opens a GeoPackage layer and
finds a row in ``layer_styles`` with ``useAsDefault`` true, ``f_table_schema``
'' (not NULL), the table name and the layer's real geometry column (``geom``).

The QML files hold symbology, labels and the 3D renderer; field aliases are
not in them but added here from :mod:`twin.model` (the field titles, with the
unit), and the legend labels of coded values are the model's labels, both in
the model's language (German or English), so texts are written once. Capture tracks are coloured by
capture day; the days are only known from the data, so their classes are
filled in when the file is written.

>>> qml = style_qml("buildings")
>>> 'attr="fibre_status"' in qml and 'name="field" type="QString" value="height_m"' in qml
True
"""

from __future__ import annotations

import copy
import functools
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from importlib.resources import files

from defusedxml.ElementTree import fromstring as parse_xml

from twin.model import LAYERS, Field, Layer, text
from twin.model.layers import TEXTS
from twin.publish.documentation import family_columns

__all__ = ["STYLE_NAME", "alias", "style_qml", "write_styles"]

#: Name of the default style of every layer.
STYLE_NAME = "twin"

#: Colours of the capture days, oldest first (the last ones are the newest).
_DAY_COLOURS = ("#c2a5cf", "#9970ab", "#762a83", "#40004b", "#5aae61", "#1b7837", "#00441b")

_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"

_CREATE = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    f_table_catalog TEXT(256),
    f_table_schema TEXT(256),
    f_table_name TEXT(256),
    f_geometry_column TEXT(256),
    styleName TEXT(30),
    styleQML TEXT,
    styleSLD TEXT,
    useAsDefault BOOLEAN,
    description TEXT,
    owner TEXT(30),
    ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)"""


#: A condition of a rule's filter: ``"kind" = 'trench'``.
_CONDITION = re.compile(r""""(\w+)"\s*=\s*'([^']*)'""")


def alias(field: Field, language: str = "de") -> str:
    """The alias QGIS shows for a field: its title in `language`, with the unit in brackets.

    >>> alias(LAYERS["buildings"].field("height_m"))
    'Höhe [m]'
    >>> alias(LAYERS["buildings"].field("area_m2"), "en")
    'Footprint area [m²]'
    """
    unit = {"m2": "m²", "deg": "°"}.get(field.unit, field.unit)
    title = field.title_in(language)
    return f"{title} [{unit}]" if unit else title


def style_qml(layer: str, *, capture_days: Sequence[str] = (), language: str = "de", columns: Sequence[str] = ()) -> str:
    """The QML of the default style of `layer`, with field aliases from the model.

    Parameters
    ----------
    layer
        A layer of :data:`twin.model.LAYERS` that has a geometry.
    capture_days
        ``YYYY-MM-DD`` days of the capture tracks (only used for ``capture_tracks``).
    language
        ``de`` or ``en``: the language of the aliases and the legend.
    columns
        Columns of the written layer; those of a family (``share_2023``) get aliases too.
    """
    days = tuple(capture_days) if layer == "capture_tracks" else ()
    return _style_qml(layer, days, language, LAYERS[layer].family_columns(columns))


@functools.lru_cache(maxsize=64)
def _style_qml(layer: str, capture_days: tuple[str, ...], language: str, extra: tuple[str, ...] = ()) -> str:
    spec = LAYERS[layer].with_columns(extra)
    qml = files("twin.publish").joinpath("styles", f"{layer}.qml").read_text(encoding="utf-8")
    root = parse_xml(qml.split("\n", 1)[1] if qml.startswith("<!DOCTYPE") else qml)
    _set_aliases(root, spec, language)
    _set_legend(root, spec, language)
    if layer == "capture_tracks":
        _set_day_classes(root, capture_days)
    return _DOCTYPE + ET.tostring(root, encoding="unicode")


def _set_aliases(root: ET.Element, spec: Layer, language: str) -> None:
    aliases = root.find("aliases")
    if aliases is None:
        aliases = ET.SubElement(root, "aliases")
    aliases.clear()
    for index, field in enumerate(spec.fields, start=1):  # index 0 is the fid
        ET.SubElement(aliases, "alias", {"field": field.name, "index": str(index), "name": alias(field, language)})


def _set_legend(root: ET.Element, spec: Layer, language: str) -> None:
    """Label the classes of coded values with the model's labels in `language`.

    A category of a coded field gets the short label of its value; a rule gets those of the values its
    filter names (``Graben, geplant``); a class for other or missing values keeps its meaning
    (``sonstige``/``other``, ``ohne Angabe``/``not given``).
    """
    renderer = root.find("renderer-v2")
    if renderer is None:
        return
    coded = {f.name: f for f in spec.fields if f.values}
    field = coded.get(renderer.get("attr", ""))
    for category in renderer.iter("category"):
        value = category.get("value", "")
        if field is not None and value in field.values:
            category.set("label", field.legend_label(value, language))
        else:
            category.set("label", _fixed_label(category.get("label", ""), language))
    for rule in renderer.iter("rule"):
        conditions = _CONDITION.findall(rule.get("filter", ""))
        if conditions and all(name in coded and value in coded[name].values for name, value in conditions):
            rule.set("label", ", ".join(coded[name].legend_label(value, language) for name, value in conditions))
        elif rule.get("label"):
            rule.set("label", _fixed_label(rule.get("label", ""), language))


def _fixed_label(label: str, language: str) -> str:
    """A legend text of :data:`twin.model.layers.TEXTS` (given in any language) in `language`; others unchanged."""
    for key, texts in TEXTS.items():
        if key.startswith("legend_") and label in texts:
            return text(key, language)
    return label


def _set_day_classes(root: ET.Element, days: Sequence[str]) -> None:
    renderer = root.find("renderer-v2")
    assert renderer is not None
    categories, symbols = renderer.find("categories"), renderer.find("symbols")
    assert categories is not None
    assert symbols is not None
    template = symbols.find("symbol")
    assert template is not None
    categories.clear()
    symbols.clear()
    ordered = sorted(set(days))
    for number, day in enumerate(ordered):
        colour = _hex_to_qgis(_DAY_COLOURS[_colour_index(number, len(ordered))])
        symbol = copy.deepcopy(template)
        symbol.set("name", str(number))
        for option in symbol.iter("Option"):
            if option.get("name") == "line_color":
                option.set("value", colour)
        for prop in symbol.iter("prop"):
            if prop.get("k") == "line_color":
                prop.set("v", colour)
        symbols.append(symbol)
        ET.SubElement(categories, "category", {"value": day, "label": day, "symbol": str(number), "render": "true"})


def _colour_index(number: int, count: int) -> int:
    """Spread `count` days over the colour list so the newest day gets the last colour."""
    if count <= 1:
        return len(_DAY_COLOURS) - 1
    if count > len(_DAY_COLOURS):
        return number % len(_DAY_COLOURS)
    return len(_DAY_COLOURS) - count + number


def _hex_to_qgis(colour: str) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"{red},{green},{blue},255"


def capture_days(con: sqlite3.Connection) -> list[str]:
    """The capture days of the tracks in the written file (``YYYY-MM-DD``)."""
    rows = con.execute("SELECT DISTINCT substr(started_at, 1, 10) FROM capture_tracks WHERE started_at IS NOT NULL")
    return sorted(str(day) for (day,) in rows)


def write_styles(con: sqlite3.Connection, *, language: str = "de") -> int:
    """Write one default style per spatial layer into ``layer_styles``, texts in `language`; returns the number written."""
    con.execute(_CREATE)
    con.execute(
        "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
        "VALUES ('layer_styles', 'attributes', 'layer_styles', ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        (text("layer_styles", language),),
    )
    con.execute("DELETE FROM layer_styles")
    columns = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
    days = capture_days(con)
    written = 0
    for name, spec in LAYERS.items():
        if spec.geometry_type is None or name not in columns:
            continue
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
            "styleQML, styleSLD, useAsDefault, description, owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '')",
            (name, columns[name], STYLE_NAME,
             style_qml(name, capture_days=days, language=language, columns=family_columns(con, name)),
             f"{spec.title_in(language)}: {text('default_style', language)}"),
        )
        written += 1
    return written
