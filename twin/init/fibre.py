"""Propose the ``[fibre]`` section: routes and nodes, their columns, the hub, CAD layers and unknown values."""

from __future__ import annotations

import pandas as pd

from twin.init.hints import FIBRE_WORDS, STREET_WORDS, pick
from twin.init.inspect import Source
from twin.init.panoramas import table_crs
from twin.init.proposal import Guess, set_layer
from twin.model import LAYERS
from twin.sources.fibre import NODE_FIELDS, as_written, coded

__all__ = ["propose_fibre"]


def propose_fibre(guess: Guess, routes: Source, nodes: Source | None) -> None:

    section: dict[str, object] = {"routes": routes.path}
    set_layer(section, "routes_layer", routes)
    guess.note("fibre", f"routes: {routes.path.name} ({routes.features} lines)")
    route_fields = ("kind", "route_id", "status", "ducts", "fibres")
    route_map = {} if routes.cad_layers else _fibre_columns(routes, route_fields)
    if routes.cad_layers:
        _drawing(guess, routes, section)
    node_map: dict[str, str] = {}
    node_values = None
    if nodes is not None:
        section["nodes"] = nodes.path
        set_layer(section, "nodes_layer", nodes)
        guess.note("fibre", f"nodes: {nodes.path.name} ({nodes.features} points)")
        node_map = _fibre_columns(nodes, ("kind", "name", "node_id", *(("x", "y") if nodes.family == "table" else ())))
        node_values = _columns_of(nodes, [node_map.get("kind", "kind"), node_map.get("name", "name")])
        hub = _hub_name(node_values, node_map.get("kind", "kind"), node_map.get("name", "name"))
        if hub is not None:
            section["hub"] = hub
        if nodes.family == "table":  # a CSV names no CRS: the one its coordinates look like
            xy = {"x": node_map.get("x", "x"), "y": node_map.get("y", "y")}
            section["nodes_crs"] = table_crs(guess, nodes, xy, section="fibre")
            node_map.update({k: v for k, v in xy.items() if v != k})
    if not routes.crs and "crs" not in section:
        section["crs"] = guess.crs
        guess.note("fibre", f"crs: the routes name no CRS; {guess.crs} assumed, check it")
    # a field both files have (kind) goes into [fibre.columns] when both name it alike, else into
    # [fibre.route_columns] and [fibre.node_columns]; a field of one file only into [fibre.columns]
    shared = set(route_fields) & set(NODE_FIELDS)
    columns: dict[str, str] = {}
    for name in dict.fromkeys([*route_map, *node_map]):
        if name not in shared or route_map.get(name, name) == node_map.get(name, name):
            columns[name] = route_map.get(name) or node_map[name]
        else:
            for table, mapping in (("route_columns", route_map), ("node_columns", node_map)):
                if name in mapping:
                    guess.columns.setdefault(f"fibre.{table}", {})[name] = mapping[name]
    guess.columns["fibre"] = columns
    guess.sections["fibre"] = section
    route_values = None if routes.cad_layers else \
        _columns_of(routes, [route_map.get("kind", "kind"), route_map.get("status", "status")])
    unknown = [*_unknown_values(route_values, route_map, "fibre_routes", ("kind", "status")),
               *_unknown_values(node_values, node_map, "fibre_nodes", ("kind",))]
    if unknown:
        guess.note("fibre", f"values twin does not know: {', '.join(repr(v) for v in unknown)}; give each its code "
                            'in [fibre.values], e.g. "Ampel" = "distribution"')


def _unknown_values(frame: pd.DataFrame | None, mapping: dict[str, str], layer: str,
                    fields: tuple[str, ...]) -> list[str]:
    """Values of the coded fields of a route or node file that are neither a code nor a known synonym."""

    found: list[str] = []
    for name in fields:
        column = mapping.get(name, name)
        if frame is None or column not in frame.columns:
            continue
        written = as_written(frame[column].dropna()).astype("str")
        written = written[written.str.strip() != ""]
        unknown = ~coded(written, layer, name).isin(list(LAYERS[layer].field(name).values))
        found.extend(v for v in written[unknown].unique() if v not in found)
    return found


def _columns_of(source: Source, columns: list[str]) -> pd.DataFrame | None:
    """The `columns` of a route or node file (a table's first rows); None for a file too large to have them."""
    present = [c for c in dict.fromkeys(columns) if c in source.columns]
    frame = source.sample if source.sample is not None else source.values
    if not present or frame is None:
        return None
    return frame[present]


#: Words in a CAD layer's name that tell the kind of the routes drawn on it, checked in this order.
_CAD_KINDS = (("aerial", ("aerial", "frei", "luft", "overhead")), ("duct", ("rohr", "duct", "bestand")),
              ("trench", ("trench", "graben", "tiefbau", "trasse", "erd", "fibre", "glas", "lwl")))


def _drawing(guess: Guess, routes: Source, section: dict[str, object]) -> None:
    """``[fibre.dxf_layers]`` from the names of the CAD layers, and the CRS a drawing does not name."""
    kinds: dict[str, str] = {}
    for layer in routes.cad_layers:
        name = layer.lower()
        if STREET_WORDS.search(name) and not FIBRE_WORDS.search(name.replace("strasse", "")):  # the street plan, not a trench
            continue
        kind = next((k for k, words in _CAD_KINDS if any(w in name for w in words)), None)
        if kind is not None:
            kinds[layer] = kind
    left = [layer for layer in routes.cad_layers if layer not in kinds]
    guess.columns["fibre.dxf_layers"] = kinds
    guess.note("fibre", f"dxf_layers: route kind by CAD layer name ({len(kinds)} layers); check them"
                        + (f"; lines on {', '.join(left)} are left out" if left else ""))
    section["crs"] = guess.crs
    guess.note("fibre", f"crs: a drawing names no CRS; {guess.crs} assumed, check it")


def _fibre_columns(source: Source, fields: tuple[str, ...]) -> dict[str, str]:
    """The columns of a route or node file for `fields`, where they are not named like the field."""
    mapping: dict[str, str] = {}
    for name in fields:
        column = pick(source.columns, name, taken=set(mapping.values()))
        if column is not None and column != name:
            mapping[name] = column
    return mapping


def _hub_name(frame: pd.DataFrame | None, kind: str, name: str) -> str | None:

    if frame is None or name not in frame.columns or kind not in frame.columns:
        return None
    hubs = frame.loc[coded(as_written(frame[kind]), "fibre_nodes", "kind") == "hub", name]
    return str(hubs.iloc[0]) if len(hubs) else None
