"""Copies of the built sample model with values the tests set themselves: two districts (West / Ost) on the
buildings, a ``panorama_views`` table computed here by geopandas and made-up per-campaign share columns on
``street_coverage``, each replacing what the run wrote, so that the API is checked against values known here."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

#: Panoramas within this distance of a footprint see it, in the views written here (m).
VIEW_DISTANCE_M = 40.0


def district_of(buildings: gpd.GeoDataFrame) -> pd.Series:
    """West or Ost: which side of the middle x of the footprints' bounds a building's centroid lies on."""
    minx, _, maxx, _ = buildings.total_bounds
    middle = (minx + maxx) / 2
    return pd.Series(np.where(buildings.geometry.centroid.x < middle, "West", "Ost"), index=buildings.index)


def views_of(model: Path) -> pd.DataFrame:
    """Panorama -> building views within :data:`VIEW_DISTANCE_M`, with distance and grid bearing, by geopandas."""
    buildings = gpd.read_file(model, layer="buildings")
    panoramas = gpd.read_file(model, layer="panoramas")
    pairs = gpd.sjoin_nearest(panoramas[["panorama_id", "geometry"]], buildings[["building_id", "geometry"]],
                              max_distance=VIEW_DISTANCE_M, distance_col="distance_m")
    centre = buildings.set_index("building_id").geometry.centroid.loc[pairs["building_id"]].to_numpy()
    start = shapely.force_2d(pairs.geometry.to_numpy())
    bearing = np.degrees(np.arctan2(shapely.get_x(centre) - shapely.get_x(start),
                                    shapely.get_y(centre) - shapely.get_y(start))) % 360
    return pd.DataFrame({"panorama_id": pairs["panorama_id"].to_numpy(), "building_id": pairs["building_id"].to_numpy(),
                         "distance_m": pairs["distance_m"].round(2).to_numpy(), "bearing_deg": bearing.round(1)})


def _add_table(path: Path, name: str, frame: pd.DataFrame) -> None:
    columns = ", ".join(f'"{c}" {"REAL" if frame[c].dtype.kind == "f" else "TEXT"}' for c in frame.columns)
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone():
            con.execute(f'DELETE FROM "{name}"')
            con.executemany(f'INSERT INTO "{name}" ({", ".join(frame.columns)}) VALUES '
                            f'({", ".join("?" * frame.shape[1])})',
                            frame.astype("object").where(frame.notna(), None).itertuples(index=False, name=None))
            return
        con.execute(f'CREATE TABLE "{name}" (fid INTEGER PRIMARY KEY AUTOINCREMENT, {columns})')
        con.executemany(f'INSERT INTO "{name}" ({", ".join(frame.columns)}) VALUES ({", ".join("?" * frame.shape[1])})',
                        frame.astype("object").where(frame.notna(), None).itertuples(index=False, name=None))
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES (?, 'attributes', ?)",
                    (name, name))


def _never_called(_: object) -> object:
    raise AssertionError("an R-tree trigger ran: a fid changed")


def _add_column(path: Path, layer: str, column: str, kind: str, values: pd.Series) -> None:
    fids = pyogrio.read_dataframe(path, layer=layer, read_geometry=False, fid_as_index=True).index
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        # the R-tree triggers name these; they run only when a fid changes, which an UPDATE of a column does not
        for function in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            con.create_function(function, 1, _never_called)
        if column not in {row[1] for row in con.execute(f'PRAGMA table_info("{layer}")')}:
            con.execute(f'ALTER TABLE "{layer}" ADD COLUMN "{column}" {kind}')
        con.executemany(f'UPDATE "{layer}" SET "{column}" = ? WHERE fid = ?',
                        zip([None if pd.isna(v) else v for v in values], fids.tolist(), strict=True))


@pytest.fixture(scope="session")
def richer_model(built_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample model with ``district`` on buildings (West / Ost) and a ``panorama_views`` table."""
    path = tmp_path_factory.mktemp("richer") / "kaiserslautern_cim.gpkg"
    shutil.copyfile(built_model, path)
    buildings = gpd.read_file(path, layer="buildings")
    _add_column(path, "buildings", "district", "TEXT", district_of(buildings))
    _add_table(path, "panorama_views", views_of(built_model))
    return path


@pytest.fixture(scope="session")
def campaign_model(built_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample model with ``share_2021`` and ``share_2023`` columns on ``street_coverage`` (made-up values)."""
    path = tmp_path_factory.mktemp("campaigns") / "kaiserslautern_cim.gpkg"
    shutil.copyfile(built_model, path)
    count = pyogrio.read_info(path, layer="street_coverage")["features"]
    rng = np.random.default_rng(7)
    _add_column(path, "street_coverage", "share_2021", "REAL", pd.Series(rng.random(count).round(3)))
    later = pd.Series(rng.random(count).round(3))
    later.iloc[::5] = np.nan  # a campaign that did not measure every street
    _add_column(path, "street_coverage", "share_2023", "REAL", later)
    return path
