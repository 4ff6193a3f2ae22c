"""Results of the build stages, kept beside the output for the next run.

The published layers are the *linked* ones (buildings carry fibre status and
panorama counts, nodes carry building ids), so a skipped stage cannot simply
take them back from the GeoPackage: the link step must see the same frames
as in a full run. Each build stage's result is therefore stored as GeoParquet
in ``.<output stem>.stages/<stage>-<key>/<layer>@<part>.parquet`` (written to a
temporary folder and renamed, so a killed run leaves no half entry), and a
stage whose key is unchanged reads it instead of its inputs. Entries of other
keys are removed after each successful publication; deleting the folder only
costs one full run.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from twin.model import empty_frame
from twin.runner.parted import PartedLayer

__all__ = ["StageCache"]

log = logging.getLogger(__name__)

Layers = dict[str, pd.DataFrame]

#: Rows per stored Parquet file (``<layer>@00000.parquet``, ``@00001``, ...).
STORE_CHUNK = 200_000


class StageCache:
    """Stage results by stage key in a folder beside the output.

    Parameters
    ----------
    target
        The output GeoPackage.
    keys
        The key of every stage in this run.
    """

    def __init__(self, target: Path, keys: dict[str, str]) -> None:
        self.folder = target.with_name(f".{target.stem}.stages")
        self.keys = keys

    def _entry(self, stage: str) -> Path:
        return self.folder / f"{stage}-{self.keys[stage][:24]}"

    def load(self, stage: str) -> Layers | None:
        """The stored result of `stage` for its current key, or None."""
        entry = self._entry(stage)
        if not (entry / "complete").exists():
            return None
        parts: dict[str, list[pd.DataFrame]] = {}
        try:
            for path in sorted(entry.glob("*.parquet")):
                geo = b"geo" in (pq.read_schema(path).metadata or {})
                parts.setdefault(path.stem.split("@")[0], []).append(
                    gpd.read_parquet(path) if geo else pd.read_parquet(path))
            layers: Layers = {name: frames[0] if len(frames) == 1 else pd.concat(frames)
                              for name, frames in parts.items()}
        except (OSError, ValueError) as exc:
            log.warning("%s: stored stage result not readable (%s); building the stage", entry.name, exc)
            return None
        return layers

    def store(self, stage: str, layers: Layers) -> None:
        """Store the result of `stage` (a failure to store only costs time next run)."""
        entry = self._entry(stage)
        if (entry / "complete").exists():
            return
        partial = self.folder / f".{entry.name}.{os.getpid()}.partial"
        try:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            for name, frame in layers.items():
                # in parts of STORE_CHUNK rows: converting a whole large layer to Arrow at once
                # would hold it twice in memory; a layer in parts (dask engine) a row group at a time
                chunks = frame.frames() if isinstance(frame, PartedLayer) else (
                    frame.iloc[start:start + STORE_CHUNK] for start in range(0, max(len(frame), 1), STORE_CHUNK))
                number = -1
                for number, chunk in enumerate(chunks):
                    chunk.to_parquet(partial / f"{name}@{number:05d}.parquet")
                if number < 0:  # a layer in parts without rows
                    empty_frame(name, frame.crs).to_parquet(partial / f"{name}@00000.parquet")
            (partial / "complete").touch()
            shutil.rmtree(entry, ignore_errors=True)
            os.replace(partial, entry)
        except (OSError, ValueError) as exc:
            log.warning("%s: stage result not stored (%s)", entry.name, exc)
            shutil.rmtree(partial, ignore_errors=True)

    def prune(self) -> None:
        """Remove entries of other keys and partial entries of killed runs."""
        if not self.folder.exists():
            return
        current = {self._entry(stage).name for stage in self.keys}
        for path in self.folder.iterdir():
            if path.name not in current:
                shutil.rmtree(path, ignore_errors=True)
