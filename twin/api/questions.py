"""Questions about single buildings and addresses, and coverage per campaign: pure functions of layer frames.

>>> normal_street("Pariser Str.") == normal_street("pariser  straße") == normal_street("PARISER STRASSE")
True
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.errors import NotFoundError

__all__ = ["BuildingFacts", "building_facts", "coverage_by_campaign", "find_address", "known_building", "normal_number",
           "normal_street", "panoramas_seeing"]

#: Columns of :func:`coverage_by_campaign`.
COVERAGE_COLUMNS = ["street_id", "name", "campaign", "share", "length_m"]

#: "str" not followed by a letter ("Pariser Str.", "Hauptstr"): an abbreviation of "straße".
_STREET_WORD = re.compile(r"str(?![a-zäöü])\.?")


def normal_street(name: str) -> str:
    """`name` compared without case, spaces, hyphens and dots; ß as ss; "str." as "strasse"."""
    text = _STREET_WORD.sub("strasse", name.casefold())  # casefold turns ß into ss
    return re.sub(r"[\s.\-]+", "", text)


def normal_number(number: str | int) -> str:
    """A house number compared without case and spaces (``"12 A"`` is ``"12a"``)."""
    return re.sub(r"\s+", "", str(number)).casefold()


def find_address(buildings: gpd.GeoDataFrame, street: str, number: str | int) -> gpd.GeoDataFrame:
    """The buildings with the address `street` `number` (same index); NotFoundError naming close matches."""
    wanted_street, wanted_number = normal_street(street), normal_number(number)
    streets = buildings["street"].astype("object").where(buildings["street"].notna(), "").astype("str")
    numbers = buildings["house_number"].astype("object").where(buildings["house_number"].notna(), "").astype("str")
    street_keys = _normalised(streets, normal_street)
    on_street = (street_keys == wanted_street).to_numpy()
    found = buildings.loc[on_street & (_normalised(numbers, normal_number) == wanted_number).to_numpy()]
    if len(found):
        return found
    if on_street.any():
        known = sorted(set(numbers[on_street]) - {""}, key=_number_order)
        raise NotFoundError(f"buildings, {streets[on_street].iloc[0]}", f"no house number {str(number)!r}",
                            fix=f"numbers there: {_some(known)}")
    names = dict(zip(street_keys, streets, strict=True))
    names.pop("", None)
    close = difflib.get_close_matches(wanted_street, list(names), n=3, cutoff=0.8)
    hint = f"did you mean {', '.join(repr(names[k]) for k in close)}?" if close else "no street name is close"
    raise NotFoundError("buildings", f"no street {street!r}", fix=hint)


def _normalised(values: pd.Series, normal: Callable[[str], str]) -> pd.Series:
    """`normal` of every value, computed once per distinct value (a city has far fewer names than buildings)."""
    codes, uniques = pd.factorize(values)
    return pd.Series(np.array([normal(u) for u in uniques], dtype=object)[codes], index=values.index)


def _number_order(text: str) -> tuple[int, str]:
    digits = re.match(r"\d+", text)
    return (int(digits.group(0)) if digits else 1 << 30, text)


def _some(values: list[str], limit: int = 12) -> str:
    shown = ", ".join(values[:limit])
    return f"{shown}, ... ({len(values)} in all)" if len(values) > limit else shown or "none"


def panoramas_seeing(views: pd.DataFrame, panoramas: gpd.GeoDataFrame, building_id: str) -> gpd.GeoDataFrame:
    """Panoramas that see `building_id` (rows of `panoramas` with the view's ``distance_m`` and ``bearing_deg``),
    nearest first."""
    seen = views.loc[(views["building_id"] == building_id).to_numpy(), ["panorama_id", "distance_m", "bearing_deg"]]
    joined = panoramas.reset_index(drop=True).merge(seen, on="panorama_id", how="inner", validate="many_to_many")
    out = gpd.GeoDataFrame(joined, geometry=panoramas.geometry.name, crs=panoramas.crs)
    return out.sort_values(["distance_m", "panorama_id"], ignore_index=True)


@dataclass(frozen=True)
class BuildingFacts:
    """Everything the model knows about one building.

    Attributes
    ----------
    attributes
        The building's row of ``buildings`` (every field and the footprint).
    panoramas
        The panoramas that see it, nearest first, with ``distance_m`` and ``bearing_deg``.
    fibre_nodes, fibre_connections
        The sites in the building and the drops that serve it.
    qa_issues
        The quality rows about it.
    """

    attributes: pd.Series
    panoramas: gpd.GeoDataFrame
    fibre_nodes: gpd.GeoDataFrame
    fibre_connections: gpd.GeoDataFrame
    qa_issues: gpd.GeoDataFrame

    @property
    def building_id(self) -> str:
        """The ``building_id``."""
        return str(self.attributes["building_id"])

    @property
    def fibre_status(self) -> str | None:
        """``connected``, ``planned``, ``reachable`` or ``none``; None when the model does not say."""
        value = self.attributes.get("fibre_status")
        return None if value is None or pd.isna(value) else str(value)

    def _get(self, name: str) -> object:
        value = self.attributes.get(name)
        return None if value is None or pd.isna(value) else value

    @property
    def address(self) -> str | None:
        """Street and house number, None where the source gives no address."""
        street, number = self._get("street"), self._get("house_number")
        return None if street is None else f"{street} {number or ''}".strip()

    def __repr__(self) -> str:
        height = self._get("height_m")
        parts = [f"<Building {self.building_id}", f"{self.address or 'no address'}",
                 f"{self._get('function_label') or 'function unknown'}",
                 f"{height} m" if height is not None else "height unknown",
                 f"fibre {self.fibre_status or 'unknown'}",
                 f"{len(self.panoramas)} panoramas", f"{len(self.qa_issues)} QA rows>"]
        return ", ".join(parts)


def known_building(buildings: gpd.GeoDataFrame, building_id: str) -> gpd.GeoDataFrame:
    """The rows of `buildings` with `building_id`; NotFoundError naming close ids when there is none."""
    rows = buildings.loc[(buildings["building_id"] == building_id).to_numpy()]
    if rows.empty:
        ids = buildings["building_id"].dropna().astype("str").tolist()
        close = difflib.get_close_matches(str(building_id), ids, n=3, cutoff=0.8)
        hint = f"did you mean {', '.join(map(repr, close))}?" if close else "give a building_id of the buildings layer"
        raise NotFoundError("buildings", f"no building {building_id!r}", fix=hint)
    return rows


def building_facts(buildings: gpd.GeoDataFrame, building_id: str, *, panoramas: gpd.GeoDataFrame,
                   nodes: gpd.GeoDataFrame, connections: gpd.GeoDataFrame, issues: gpd.GeoDataFrame) -> BuildingFacts:
    """The :class:`BuildingFacts` of `building_id`; `panoramas` already those seeing it."""
    rows = known_building(buildings, building_id)
    about = ((issues["layer"] == "buildings") & (issues["feature_id"] == building_id)).fillna(False).to_numpy()
    return BuildingFacts(
        attributes=rows.iloc[0],
        panoramas=panoramas,
        fibre_nodes=nodes.loc[(nodes["building_id"] == building_id).fillna(False).to_numpy()],
        fibre_connections=connections.loc[(connections["building_id"] == building_id).fillna(False).to_numpy()],
        qa_issues=issues.loc[about],
    )


def coverage_by_campaign(streets: gpd.GeoDataFrame, coverage: gpd.GeoDataFrame) -> pd.DataFrame:
    """Street segment × campaign -> captured share (0-1), one row each: ``street_id``, ``name``, ``campaign``,
    ``share``, ``length_m``.

    From the ``share_<campaign>`` columns of `streets` where the model has them; otherwise measured here:
    the share of each segment inside the captured street space (`coverage`, per ``capture_date``) of the
    campaign (the capture year).
    """
    share_columns = [c for c in streets.columns if c.startswith("share_")]
    if share_columns:
        shares = pd.DataFrame({c.removeprefix("share_"): streets[c].astype("float64") for c in share_columns},
                              index=streets.index)
    else:
        shares = _measured_shares(streets, coverage)
    base = pd.DataFrame({"street_id": streets["street_id"].astype("str"), "name": streets["name"],
                         "length_m": np.round(shapely.length(streets.geometry.to_numpy()), 2)}, index=streets.index)
    tidy = shares.rename_axis(columns="campaign").stack(future_stack=True).rename("share").reset_index(level=1)
    out = base.join(tidy, how="inner")
    return out[COVERAGE_COLUMNS].sort_values(["campaign", "street_id"], ignore_index=True)


def _measured_shares(streets: gpd.GeoDataFrame, coverage: gpd.GeoDataFrame) -> pd.DataFrame:
    year = coverage["capture_date"].astype("str").str[:4]
    lines = streets.geometry.to_numpy()
    length = shapely.length(lines)
    shares: dict[str, np.ndarray] = {}
    for campaign in sorted(year.dropna().unique()):  # a handful of campaigns; each step is vectorised
        area = shapely.union_all(coverage.geometry.to_numpy()[(year == campaign).to_numpy()])
        inside = shapely.length(shapely.intersection(lines, area))
        with np.errstate(invalid="ignore", divide="ignore"):
            shares[str(campaign)] = np.where(length > 0, np.clip(inside / length, 0.0, 1.0), np.nan).round(4)
    return pd.DataFrame(shares, index=streets.index)
