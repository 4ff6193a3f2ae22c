"""Fibre network routes and nodes from GeoPackage, GeoJSON or Shapefile."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from twin.config import FibreConfig
from twin.errors import SchemaError, SourceError
from twin.model import LAYERS
from twin.model.qa import concat_issues, qa_issues
from twin.sources.vector import read_vector

ROUTE_FIELDS = ("route_id", "kind", "status", "ducts", "fibres", "name")
NODE_FIELDS = ("node_id", "kind", "name", "building_ref")

#: Values of coded fields as network plans write them (lower case, spaces as ``_``) -> the model's code.
SYNONYMS: dict[tuple[str, str], dict[str, str]] = {
    ("fibre_routes", "kind"): {
        "graben": "trench", "tiefbau": "trench", "erdverlegt": "trench", "erdkabel": "trench", "neubau": "trench",
        "offene_bauweise": "trench", "spülbohrung": "trench", "spuelbohrung": "trench", "fräse": "trench",
        "fraese": "trench", "micro_trenching": "trench", "trenching": "trench",
        "leerrohr": "duct", "rohr": "duct", "bestand": "duct", "mitverlegung": "duct", "kabelschutzrohr": "duct",
        "freileitung": "aerial", "oberirdisch": "aerial", "luftkabel": "aerial", "overhead": "aerial",
        "aboveground": "aerial",  # OFDS deployment (belowGround is a trench or a duct: map it in [fibre.values])
        # Czech, Polish, French and Dutch plans
        "výkop": "trench", "vykop": "trench", "wykop": "trench", "tranchée": "trench", "tranchee": "trench",
        "sleuf": "trench", "chránička": "duct", "chranicka": "duct", "kanalizacja": "duct",
        "kanalizacja_kablowa": "duct", "fourreau": "duct", "conduite": "duct", "mantelbuis": "duct",
        "nadzemní": "aerial", "nadzemni": "aerial", "napowietrzna": "aerial", "aérien": "aerial", "aerien": "aerial",
        "bovengronds": "aerial",
    },
    ("fibre_routes", "status"): {
        "geplant": "planned", "planung": "planned", "in_planung": "planned", "im_bau": "planned", "in_bau": "planned",
        "gebaut": "built", "fertig": "built", "bestand": "in_service",
        "fertiggestellt": "built", "in_betrieb": "in_service", "betrieb": "in_service", "aktiv": "in_service",
        # OFDS status codes, as twin's OFDS export writes them
        "operational": "in_service", "inactive": "built", "underconstruction": "planned",
        # Czech, Polish, French and Dutch plans
        "plánováno": "planned", "planovano": "planned", "projektovaná": "planned", "projektowana": "planned",
        "planowana": "planned", "projeté": "planned", "projete": "planned", "prévu": "planned", "gepland": "planned",
        "postaveno": "built", "vybudováno": "built", "wybudowana": "built", "construit": "built", "gebouwd": "built",
        "v_provozu": "in_service", "istniejąca": "in_service", "eksploatowana": "in_service",
        "en_service": "in_service", "in_gebruik": "in_service",
    },
    ("fibre_nodes", "kind"): {
        "zentrale": "hub", "technikzentrale": "hub", "pop": "hub", "hauptverteiler": "hub", "hvt": "hub", "netzknoten_zentral": "hub",
        "verteiler": "distribution", "verteilerpunkt": "distribution", "kvz": "distribution",
        "kabelverzweiger": "distribution", "muffe": "distribution", "schacht": "distribution",
        "nvt": "distribution", "netzverteiler": "distribution", "verteilerschrank": "distribution",
        "standort": "site", "anschluss": "site", "endpunkt": "site", "teilnehmer": "site", "gebäude": "site",
        "hüp": "site", "huep": "site", "hausanschluss": "site", "hausübergabepunkt": "site", "apl": "site",
        "gebaeude": "site", "access": "site",  # OFDS node type
        # Czech, Polish, French and Dutch plans
        "centrála": "hub", "centrala": "hub", "węzeł_główny": "hub", "wezel_glowny": "hub", "nro": "hub",
        "centrale": "hub", "rozvaděč": "distribution", "rozvadec": "distribution", "szafa": "distribution",
        "pm": "distribution", "sro": "distribution", "wijkcentrale": "distribution", "přípojka": "site",
        "przyłącze": "site", "pbo": "site", "aansluiting": "site",
    },
}


def read_routes(config: FibreConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Route segments with route_id, kind, status, ducts, fibres and name.

    A DXF drawing has one CAD layer per route kind, mapped in ``[fibre.dxf_layers]``;
    entities on other CAD layers (text, dimensions, the street plan) are left out.
    """
    frame = read_vector(config.routes, target_crs=target_crs, declared_crs=config.routes_crs or config.crs,
                        section="fibre", layer=config.routes_layer, encoding=config.encoding)
    if frame.empty:  # a network plan without routes publishes no network: say so rather than an empty layer
        raise SourceError(config.routes.name, "holds no routes",
                          fix="give the complete route file in [fibre] routes (or remove the [fibre] section)")
    if config.routes.suffix.lower() == ".dxf":
        frame = _from_dxf(frame, config)
    columns = {**config.columns, **config.route_columns}
    out = _canonical(frame, config.routes, columns, ROUTE_FIELDS, required=("kind",) if "kind" in columns else (),
                     prefix="R", table="route_columns", layer="fibre_routes", values=config.values)
    if "kind" not in frame.columns and "kind" not in columns:  # a plan that does not say how routes are built
        out["kind"] = "unknown"
        out.attrs["qa_issues"] = qa_issues(
            layer="fibre_routes", feature_ids=[config.routes.name], check="kind_unknown", severity="info",
            messages=f"the routes name no kind (no column kind); all {len(out)} have kind unknown; map the column "
                     "in [fibre.columns] kind = ... where the file has one",
            crs=target_crs)
    return out


def _nodes_from_csv(config: FibreConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Nodes from a table with coordinate columns (``x``/``y`` or as mapped in ``[fibre.columns]``)."""
    from twin.sources.panorama_csv import read_table
    from twin.sources.vector import to_crs

    assert config.nodes is not None
    table = read_table(config.nodes, section="fibre", encoding=config.encoding)
    columns = {**config.columns, **config.node_columns}
    x_col, y_col = columns.get("x", "x"), columns.get("y", "y")
    missing = [c for c in (x_col, y_col) if c not in table.columns]
    if missing:
        raise SchemaError(config.nodes.name, f"columns {', '.join(missing)} missing (has {', '.join(table.columns)})",
                          fix='map the coordinates in [fibre.columns], e.g. x = "Rechtswert", y = "Hochwert"')
    decimal = str(table.attrs.get("decimal", "."))
    xy = [pd.to_numeric(table[c].str.replace(",", ".") if decimal == "," else table[c], errors="coerce") for c in (x_col, y_col)]
    frame = gpd.GeoDataFrame(table.drop(columns=[x_col, y_col]), geometry=gpd.points_from_xy(*xy))
    frame.loc[xy[0].isna() | xy[1].isna(), "geometry"] = None
    return to_crs(frame, target_crs=target_crs, declared_crs=config.nodes_crs or config.crs, where=config.nodes.name,
                  section="fibre")


def _from_dxf(frame: gpd.GeoDataFrame, config: FibreConfig) -> gpd.GeoDataFrame:
    if not config.dxf_layers:
        layers = ", ".join(sorted(map(str, frame["Layer"].unique()))) if "Layer" in frame else ""
        raise SchemaError(config.routes.name, f"a DXF drawing needs its CAD layers mapped (it has {layers})",
                          fix='add [fibre.dxf_layers], e.g. "GF_TRASSE" = "trench"')
    kind = frame["Layer"].map(config.dxf_layers)
    lines = frame.geometry.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    keep = kind.notna().to_numpy() & lines
    out = frame.loc[keep, ["geometry"]].copy()
    out["kind"] = kind[keep].to_numpy()
    handle = frame["EntityHandle"] if "EntityHandle" in frame else pd.Series(range(len(frame)), index=frame.index)
    out["route_id"] = ("DXF-" + handle.astype("str"))[keep].to_numpy()
    if out.empty:
        raise SchemaError(config.routes.name, "no lines on the CAD layers named in [fibre.dxf_layers]",
                          fix=f"use the drawing's layer names: {', '.join(sorted(map(str, frame['Layer'].unique())))}")
    return out


def read_nodes(config: FibreConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Nodes with node_id, kind (hub, distribution, site), name and the building they lie in."""
    if config.nodes is None:
        return gpd.GeoDataFrame({f: pd.Series([], dtype="str") for f in NODE_FIELDS}, geometry=[], crs=target_crs)
    if config.nodes.suffix.lower() in {".csv", ".txt"}:
        frame = _nodes_from_csv(config, target_crs=target_crs)
    else:
        frame = read_vector(config.nodes, target_crs=target_crs, declared_crs=config.nodes_crs or config.crs,
                            section="fibre", layer=config.nodes_layer, encoding=config.encoding)
    columns = {"building_ref": "building_oi", **config.columns, **config.node_columns}
    return _canonical(frame, config.nodes, columns, NODE_FIELDS, required=("kind", "name"), prefix="N",
                      table="node_columns", layer="fibre_nodes", values=config.values)


def _canonical(
    frame: gpd.GeoDataFrame,
    path: Path,
    columns: dict[str, str],
    wanted: tuple[str, ...],
    *,
    required: tuple[str, ...],
    prefix: str,
    table: str,
    layer: str,
    values: dict[str, str],
) -> gpd.GeoDataFrame:
    mapping = {name: columns.get(name, name) for name in wanted}
    missing = [f"{mapping[n]}" for n in required if mapping[n] not in frame.columns]
    if missing:
        raise SchemaError(
            path.name,
            f"columns {', '.join(missing)} missing (has {', '.join(map(str, frame.columns.drop('geometry', errors='ignore')))})",
            fix=f"map them in [fibre.columns], or in [fibre.{table}] for this file alone, e.g. kind = \"Bauweise\"",
        )
    data = {name: as_written(frame[col]) if col in frame.columns else None for name, col in mapping.items()}
    out = gpd.GeoDataFrame(data, geometry=frame.geometry, crs=frame.crs, index=frame.index)
    out.attrs.update(frame.attrs)  # geometries the reader could not decode, for the repair step
    id_col = wanted[0]
    given = out[id_col].astype("str").str.strip().str.replace(r"\.0$", "", regex=True) \
        if pd.api.types.is_float_dtype(out[id_col]) else out[id_col].astype("str").str.strip()
    given = given.where(out[id_col].notna())
    generated = pd.Series([f"{prefix}{i + 1:05d}" for i in range(len(out))], index=out.index)
    out[id_col] = given.where(given.notna() & (given != ""), generated)  # a row without id gets its number
    for col in ("kind", "status"):
        if col in out.columns:
            out[col] = coded(out[col], layer, col, values)
    return out


def as_written(values: pd.Series) -> pd.Series:
    """Values written as lists (OFDS: ``"type": ["pop"]``) as their items joined by ``", "``; others unchanged.

    >>> as_written(pd.Series([["pop"], ["pop", "access"], "KVZ"], dtype=object)).tolist()
    ['pop', 'pop, access', 'KVZ']
    """
    if values.dtype != object:
        return values
    listed = values.map(lambda v: isinstance(v, list | tuple | np.ndarray)).to_numpy(dtype=bool)
    if not listed.any():
        return values
    out = values.copy()
    out[listed] = values[listed].map(lambda v: ", ".join(map(str, v)))
    return out


def coded(written: pd.Series, layer: str, field: str, values: Mapping[str, str] | None = None) -> pd.Series:
    """Values of a coded field as the model's codes; unknown values stay exactly as written.

    A value is compared trimmed, in lower case and with spaces as ``_``: one that is then a code
    is that code, one that `values` (``[fibre.values]``) or else :data:`SYNONYMS` names becomes
    its code; any other value is kept unchanged (and reported by :func:`code_issues`).

    >>> coded(pd.Series([" Leerrohr", "in Betrieb", "Ampel", "Кабель ОКС 0,22-8"]), "fibre_routes", "status",
    ...       {"Ampel": "built"}).tolist()
    [' Leerrohr', 'in_service', 'built', 'Кабель ОКС 0,22-8']
    """
    def normal(text: pd.Series) -> pd.Series:
        return text.astype("str").str.strip().str.lower().str.replace(" ", "_")

    # a value of [fibre.values] maps only where its code is one of this field ("Bestand" = "in_service"
    # is a status; the kind "Bestand" stays a duct)
    codes = set(LAYERS[layer].field(field).values)
    own = {key: code for key, code in zip(normal(pd.Series(list(values or {}), dtype="str")), (values or {}).values(),
                                          strict=True) if code in codes}
    key = normal(written)
    mapped = key.map({**SYNONYMS.get((layer, field), {}), **own})
    known = mapped.where(mapped.notna(), key.where(key.isin(list(codes))))
    return known.where(known.notna(), written)


def code_issues(frame: gpd.GeoDataFrame, layer: str, *, id_column: str) -> gpd.GeoDataFrame:
    """One QA row per value of a coded field (``kind``, ``status``) that is no code of the model.

    Such features stay in the model with their value as written; a node whose kind is unknown is
    neither hub nor site, so it is not linked to a building. The row names how many features hold
    the value and up to five of them, and lies at the first.
    """


    spec = LAYERS[layer]
    found = []
    for col in ("kind", "status"):
        if col not in frame.columns or not spec.field(col).values:
            continue
        codes = spec.field(col).values
        values = frame[col]
        unknown = values.notna() & ~values.isin(list(codes))
        if not unknown.any():
            continue
        rows = np.flatnonzero(unknown.to_numpy())
        groups = pd.Series(rows).groupby(values.iloc[rows].astype("str").to_numpy(), sort=True).agg(list)
        ids = frame[id_column].astype("str").to_numpy()
        found.append(qa_issues(
            layer=layer, feature_ids=[ids[at[0]] for at in groups], check="unknown_code", severity="warning",
            messages=[f"{col} {value!r} on {len(at)} feature(s) ({', '.join(ids[at[:5]])}"
                      f"{', ...' if len(at) > 5 else ''}) is no code of the model ({', '.join(codes)}); "
                      "kept as written; correct it in the source or map it in [fibre.values]"
                      for value, at in groups.items()],
            geometry=frame.geometry.to_numpy()[[at[0] for at in groups]], crs=frame.crs,
        ))
    return concat_issues(found, frame.crs)
