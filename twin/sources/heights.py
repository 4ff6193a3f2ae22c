"""Measured building heights (e.g. ``measuredHeight`` of the state's open LoD2 data) by building id.

A CSV (delimiter detected) or any vector layer with an id column (ALKIS
``OI``) and a height column, as named in ``[buildings.heights]``.
"""

from __future__ import annotations

import csv
import logging

import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from twin.config import HeightsConfig
from twin.errors import SchemaError, SourceError
from twin.sources.text_limits import check_lines, header_width, read_head

log = logging.getLogger(__name__)


def read(config: HeightsConfig) -> pd.DataFrame:
    """Return ``building_id`` and ``height_m`` (float, NaN where unreadable) of every row.

    Raises
    ------
    SourceError, SchemaError
        When the file cannot be read or lacks the named columns.
    """
    path = config.path
    try:
        if path.suffix.lower() in {".csv", ".txt"}:
            check_lines(path, section="buildings.heights")
            head = read_head(path, section="buildings.heights").decode("utf-8", errors="replace")
            try:
                sep = csv.Sniffer().sniff(head.split("\n", 1)[0], delimiters=",;\t|").delimiter
            except csv.Error:
                sep = ","
            header_width(path, skip=0, encoding="utf-8-sig", delimiter=sep)
            table = pd.read_csv(path, sep=sep, dtype="str", encoding="utf-8-sig", encoding_errors="replace")
        else:
            table = pyogrio.read_dataframe(path, layer=config.layer, read_geometry=False, use_arrow=True)
    except SourceError:
        raise
    except (OSError, DataSourceError, DataLayerError, pd.errors.ParserError, ValueError) as exc:
        raise SourceError(path.name, f"cannot be read ({str(exc).splitlines()[0] if str(exc) else exc})",
                          fix="check [buildings.heights] path") from exc
    missing = [c for c in (config.id_column, config.height_column) if c not in table.columns]
    if missing:
        raise SchemaError(
            path.name, f"columns {', '.join(missing)} missing (has {', '.join(map(str, table.columns[:12]))})",
            fix="set id_column and height_column in [buildings.heights]",
        )
    height = table[config.height_column]
    if not pd.api.types.is_numeric_dtype(height):
        height = pd.to_numeric(height.astype("str").str.replace(",", ".", regex=False), errors="coerce")
    out = pd.DataFrame({"building_id": table[config.id_column].astype("str").str.strip(), "height_m": height.astype("float64")})
    log.info("%s: %d measured heights", path.name, int(out["height_m"].notna().sum()))
    return out
