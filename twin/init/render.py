"""Write the proposed pipeline as TOML text with a comment above each section.

>>> slug("Neustadt an der Weinstraße")
'neustadt_an_der_weinstrasse'
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from twin.init.proposal import Guess

__all__ = ["render", "slug"]


def slug(name: str) -> str:
    """File name of a city: lower case ASCII, umlauts spelled out, words joined by ``_``."""
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        name = name.replace(umlaut, spelled).replace(umlaut.upper(), spelled.capitalize())
    text = name.lower()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "city"


def render(name: str, guess: Guess, *, pipeline: Path, output: Path) -> str:
    """The pipeline file's text; paths relative to its folder."""
    base = pipeline.parent

    def value(v: object) -> str:
        if isinstance(v, Path):
            relative = Path(os.path.relpath(v.resolve(), base.resolve())).as_posix()
            v = v.resolve().as_posix() if relative.startswith("../../") else relative
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"# twin pipeline for {name}, written by `twin init`. Check every guess marked below,",
             f"# then run `twin validate {pipeline.name}` and `twin run {pipeline.name}`.",
             "# Relative paths resolve against this file's folder. Unknown keys are errors."]
    if guess.files:
        lines += ["#", "# Files in the folder and what each became:"]
        lines += [f"#   {label}: {role}" for label, role in guess.files.items()]
    city = {"name": name, **guess.sections.get("city", {})}
    sections = {"city": city, "output": {"path": output, "keep": 1}, **{
        k: v for k, v in guess.sections.items() if k != "city"}}
    for section in ("city", "output", "buildings", "panoramas", "fibre"):
        lines.append("")
        lines.extend(f"# {text}" for text in guess.notes.get(section, []))
        body = sections.get(section)
        prefix = "" if body is not None else "# "
        lines.append(f"{prefix}[{section}]")
        for key, v in (body or {}).items():
            lines.append(f"{key} = {v}" if isinstance(v, int) else f"{key} = {value(v)}")
        for table, comment in (("columns", "model field = column in the file"),
                               ("route_columns", "model field = column of the routes file"),
                               ("node_columns", "model field = column of the nodes file"),
                               ("dxf_layers", "CAD layer = route kind (trench, duct, aerial)"),
                               ("street_columns", "street_id, name = column of the streets file")):
            columns = guess.columns.get(section if table == "columns" else f"{section}.{table}")
            if body is not None and columns:
                lines.append(f"[{section}.{table}]                # {comment}")
                lines.extend(f"{_key(key)} = {value(v)}" for key, v in columns.items())
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """A TOML key: bare where it can be, else quoted (CAD layer names have spaces and umlauts)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
