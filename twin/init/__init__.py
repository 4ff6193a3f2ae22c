
"""Set up a new city: inspect a folder of input files and write a commented pipeline file.

``twin init "Neustadt an der Weinstraße" --inputs data/neustadt`` looks at every
file in the folder without reading it whole (layers, geometry types, CRS,
columns, encodings; the header and first rows of CSV files), guesses which
file is which source and how its columns map onto the model, and writes
``pipelines/neustadt_an_der_weinstrasse.toml`` with a comment on every guess.
The user checks it; ``twin validate`` then tells what is still missing.

Three steps, each a module: :mod:`~twin.init.inspect` opens the files (the only
I/O), :mod:`~twin.init.guess` decides from what was found (pure; panoramas in
:mod:`~twin.init.panoramas`, the fibre plan in :mod:`~twin.init.fibre`, names in
:mod:`~twin.init.hints`), :mod:`~twin.init.render` writes the TOML text. The formats
it can propose are those of :mod:`twin.model.formats`.
"""

from __future__ import annotations

from pathlib import Path

from twin.errors import ConfigError
from twin.init.guess import guess_pipeline
from twin.init.inspect import Source, inspect_files, inspect_folder
from twin.init.proposal import Guess
from twin.init.render import render, slug

__all__ = ["Guess", "Source", "guess_pipeline", "init_city", "inspect_folder", "render", "slug"]


def init_city(
    name: str, inputs: Path, *, pipelines: Path = Path("pipelines"), crs: str | None = None, overwrite: bool = False
) -> tuple[Path, Guess]:
    """Inspect `inputs` and write ``<pipelines>/<slug>.toml``; return its path and the guesses.

    Raises
    ------
    ConfigError
        When the pipeline file exists and `overwrite` is false, or the folder holds nothing usable.
    """
    target = pipelines / f"{slug(name)}.toml"
    sources, skipped = inspect_files(inputs)
    if target.exists() and not overwrite:
        raise ConfigError(str(target), "exists already", fix="give --overwrite to replace it, or another city name")
    if not sources:
        raise ConfigError(str(inputs), "holds no vector file or table twin can read",
                          fix="put the buildings, panorama and fibre files into the folder")
    guess = guess_pipeline(sources, crs=crs, skipped=skipped)
    output = pipelines.parent / "data" / "processed" / f"{slug(name)}_cim.gpkg"
    pipelines.mkdir(parents=True, exist_ok=True)
    target.write_text(render(name, guess, pipeline=target, output=output), encoding="utf-8")
    return target, guess
