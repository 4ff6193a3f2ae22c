"""Results of the build stages, kept beside the output for the next run.

The published layers are the *linked* ones (buildings carry fibre status and
panorama counts, nodes carry building ids), so a skipped stage cannot simply
take them back from the GeoPackage: the link step must see the same frames
as in a full run. Each build stage's result is therefore stored as GeoParquet
in ``.<output stem>.stages/<stage>-<key>/<layer>@<part>.parquet`` (written to a
temporary folder and renamed, so a killed run leaves no half entry), and a
stage whose key is unchanged reads it instead of its inputs.

A layer the dask engine keeps in parts (:class:`~twin.runner.parted.PartedLayer`)
is stored by linking its part files into the entry (``<layer>@part<n>.parquet``),
never read into the client's memory; a dask run that reuses the stage links them
back into its own parts folder and streams them as before. Entries of other
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

    def load(self, stage: str, *, crs: str, parts: Path | None = None) -> Layers | None:
        """The stored result of `stage` for its current key (in the model's `crs`), or None.

        With `parts` (the folder of a dask run's parts), a layer stored from parts comes back in parts
        (a :class:`PartedLayer` over links of its files in `parts`), not read into memory.
        """
        entry = self._entry(stage)
        if not (entry / "complete").exists():
            return None
        files: dict[str, list[Path]] = {}
        for path in sorted(entry.glob("*.parquet")):
            files.setdefault(path.stem.split("@")[0], []).append(path)
        layers: Layers = {}
        try:
            for name, paths in files.items():
                if all(path.stem.split("@")[1].startswith(_PART) for path in paths):
                    stored = _parted(name, crs, paths, entry)
                    if parts is not None:
                        layers[name] = _linked(stored, parts, prefix=entry.name)
                    elif len(stored):  # the frames a dask run streams from these parts
                        layers[name] = pd.concat(list(stored.frames()), ignore_index=True)
                    else:
                        layers[name] = empty_frame(name, crs)
                    continue
                frames = [gpd.read_parquet(path) if b"geo" in (pq.read_schema(path).metadata or {})
                          else pd.read_parquet(path) for path in paths]
                layers[name] = frames[0] if len(frames) == 1 else pd.concat(frames)
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
                if isinstance(frame, PartedLayer):  # its files as they are: never read into memory
                    for number, path in enumerate(frame.paths):
                        _link(path, partial / f"{name}@{_PART}{number:05d}.parquet")
                    continue
                # in parts of STORE_CHUNK rows: converting a whole large layer to Arrow at once
                # would hold it twice in memory
                for start in range(0, max(len(frame), 1), STORE_CHUNK):
                    frame.iloc[start:start + STORE_CHUNK].to_parquet(
                        partial / f"{name}@{start // STORE_CHUNK:05d}.parquet")
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


#: Marks a stored file that is a part file of a :class:`PartedLayer` (``<layer>@part00000.parquet``).
_PART = "part"


def _parted(name: str, crs: str, paths: list[Path], folder: Path) -> PartedLayer:
    """Stored part files of layer `name` as a layer in parts."""
    return PartedLayer(name, crs, folder, tuple(paths), tuple(pq.ParquetFile(path).metadata.num_rows for path in paths))


def _linked(layer: PartedLayer, parts: Path, *, prefix: str) -> PartedLayer:
    """`layer`'s files linked into the folder `parts`, as a layer in parts there."""
    linked = []
    for path in layer.paths:
        target = parts / f"{prefix}-{path.name}"
        _link(path, target)
        linked.append(target)
    return PartedLayer(layer.layer, layer.crs, parts, tuple(linked), layer.rows)


def _link(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` (both beside the output), a copy where the file system has none."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
