"""Panorama capture metadata from vendor CSV/TXT exports, columns mapped in the pipeline file."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from twin.config import PanoramasConfig
from twin.errors import RecordError, SchemaError, SourceError, row_examples
from twin.sources.vector import to_crs

log = logging.getLogger(__name__)

#: Canonical panorama fields a CSV may map (x and y are required).
FIELDS = (
    "panorama_id", "image_name", "captured_at", "sequence_id", "x", "y", "z",
    "heading_deg", "pitch_deg", "roll_deg", "gnss_accuracy_m",
)
_NUMERIC = ("x", "y", "z", "heading_deg", "pitch_deg", "roll_deg", "gnss_accuracy_m")


def read(config: PanoramasConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read a vendor CSV with the ``[panoramas.columns]`` mapping."""
    table = read_table(config.path, delimiter=config.delimiter, decimal=config.decimal)
    if config.time_format == "gps":
        table = with_gps_times(table, config.columns, path=config.path, leap_seconds=config.leap_seconds)
    return panoramas_from_table(
        table, config.columns, path=config.path, crs=config.crs, target_crs=target_crs, timezone=config.timezone
    )


#: Start of GPS time (week 0, second 0), in UTC.
GPS_EPOCH = pd.Timestamp("1980-01-06T00:00:00Z")
#: GPS time minus UTC since 1 January 2017 (s).
GPS_LEAP_SECONDS = 18.0


def gps_to_utc(week: pd.Series, seconds: pd.Series, *, leap_seconds: float = GPS_LEAP_SECONDS) -> pd.Series:
    """UTC times from GPS week and seconds of week, minus the GPS-UTC leap seconds.

    >>> gps_to_utc(pd.Series([2262.0]), pd.Series([288000.0])).iloc[0]
    Timestamp('2023-05-17 07:59:42+0000', tz='UTC')
    """
    total = week.astype("float64") * 604800.0 + seconds.astype("float64") - leap_seconds
    # Round to the millisecond the output keeps: 1.01 s is 1.00999... in binary and must not become 1.009 s.
    milliseconds = (total * 1000.0).round()
    return (GPS_EPOCH + pd.to_timedelta(milliseconds, unit="ms")).astype("datetime64[ms, UTC]")


def with_gps_times(table: pd.DataFrame, columns: dict[str, str], *, path: Path, leap_seconds: float) -> pd.DataFrame:
    """Return `table` with an ISO ``captured_at`` column made from its GPS week/seconds columns."""
    week_col, sec_col = columns.get("gps_week", "gps_week"), columns.get("gps_seconds", "gps_seconds")
    missing = [c for c in (week_col, sec_col) if c not in table.columns]
    if missing:
        raise SchemaError(path.name, f"columns {', '.join(missing)} missing for time_format = 'gps'",
                          fix="map gps_week and gps_seconds in [panoramas.columns]")
    decimal = str(table.attrs.get("decimal", "."))
    week = _numbers(table[week_col], decimal, path, week_col)
    seconds = _numbers(table[sec_col], decimal, path, sec_col)
    out = table.copy()
    target = columns.get("captured_at", "captured_at")
    out[target] = gps_to_utc(week, seconds, leap_seconds=leap_seconds).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out.loc[week.isna() | seconds.isna(), target] = None
    return out


def read_table(path: Path, *, delimiter: str | None = None, decimal: str | None = None) -> pd.DataFrame:
    """Read a delimited text file as strings, detecting delimiter and decimal comma."""
    try:
        head = path.read_bytes()[:65536]
    except OSError as exc:
        raise SourceError(str(path), "cannot be read", fix="check [panoramas] path") from exc
    text = _decode(head, path)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        table = pd.read_csv(
            path, sep=delimiter, dtype="str", keep_default_na=False, na_values=[""],
            encoding="utf-8-sig" if _is_utf8(head) else "cp1252", on_bad_lines="error",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise RecordError(path.name, f"broken CSV ({exc})", fix="repair or re-export the file (truncated?)") from exc
    if table.empty:
        raise RecordError(path.name, "has no rows", fix="export the capture metadata again")
    _check_last_row(path, delimiter, len(table.columns), len(table) + 1)
    table.attrs["decimal"] = decimal or _detect_decimal(table, delimiter)
    return table


def panoramas_from_table(
    table: pd.DataFrame,
    columns: dict[str, str],
    *,
    path: Path,
    crs: str | None,
    target_crs: str,
    timezone: str | None = None,
    srs_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Map a table of strings onto the canonical panorama fields, as points in `target_crs`."""
    mapping = {name: columns.get(name, name) for name in FIELDS}
    missing = [mapping[n] for n in ("x", "y") if mapping[n] not in table.columns]
    if missing:
        raise SchemaError(
            path.name, f"columns {', '.join(missing)} missing (has {', '.join(table.columns[:15])})",
            fix="map x and y in [panoramas.columns]",
        )
    decimal = str(table.attrs.get("decimal", "."))
    data: dict[str, pd.Series] = {}
    for name, col in mapping.items():
        if col not in table.columns:
            continue
        values = table[col]
        if name in _NUMERIC:
            data[name] = _numbers(values, decimal, path, col)
        elif name == "captured_at":
            data[name] = parse_times(values, path=path, column=col, timezone=timezone)
        else:
            data[name] = values.astype("str")
    frame = pd.DataFrame(data, index=table.index)
    _require_coordinates(frame, path, mapping)
    points = shapely.points(frame["x"], frame["y"], frame.get("z"))
    points[(frame["x"].isna() | frame["y"].isna()).to_numpy()] = None
    out = gpd.GeoDataFrame(frame.drop(columns=[c for c in ("x", "y") if c in frame]), geometry=points)
    if "z" in out:
        out = out.rename(columns={"z": "altitude_m"})
    if srs_column and srs_column in table.columns:
        return _by_srs(out, table[srs_column], path=path, crs=crs, target_crs=target_crs)
    return to_crs(out, target_crs=target_crs, declared_crs=crs, where=path.name, section="panoramas")


def parse_times(values: pd.Series, *, path: Path, column: str, timezone: str | None = None) -> pd.Series:
    """Parse ISO 8601 times to UTC; times without offset are in `timezone` (else UTC).

    >>> parse_times(pd.Series(["2023-05-16T10:00:00+02:00", "2023-05-16 08:00:01"]), path=Path("x.csv"),
    ...             column="t").dt.strftime("%H:%M:%S").tolist()
    ['08:00:00', '08:00:01']
    """
    text = values.astype("str").str.strip()
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    aware = _to_datetime(text.where(has_zone), utc=True)
    naive = _to_datetime(text.where(~has_zone), utc=False)
    if timezone is None:
        naive = naive.dt.tz_localize("UTC")
    else:
        naive = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    parsed = aware.where(has_zone, naive)
    _refuse_bad_rows(parsed.isna() & values.notna(), text, path=path, column=column, what="a date and time",
                     fix="use ISO 8601 (2023-05-16T08:12:03Z) or set [panoramas] timezone")
    return parsed.astype("datetime64[ms, UTC]")


def _refuse_bad_rows(bad: pd.Series, values: pd.Series, *, path: Path, column: str, what: str, fix: str) -> None:
    """Raise one RecordError naming the bad rows (1-based file lines, header = 1) and the first bad value."""
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy()) + 2).tolist()
        raise RecordError(f"{path.name}, column {column}",
                          f"{row_examples(rows)}: {values[bad].iloc[0]!r} is not {what}", fix=fix)


def _to_datetime(text: pd.Series, *, utc: bool) -> pd.Series:
    """Parse what parses, NaT for the rest; never raises on odd input."""
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    except (ValueError, OverflowError, TypeError):
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]" if utc else "datetime64[ns]")
    retry = parsed.isna() & text.notna()
    if retry.any():
        try:
            again = pd.to_datetime(text[retry], errors="coerce", format="mixed", utc=utc)
        except (ValueError, OverflowError, TypeError):
            again = None
        if again is not None and not isinstance(again.dtype, np.dtypes.ObjectDType):
            parsed = parsed.astype(again.dtype) if parsed.isna().all() else parsed
            parsed[retry] = again
    if not utc and getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


def _numbers(values: pd.Series, decimal: str, path: Path, column: str) -> pd.Series:
    text = values.astype("str").str.strip()
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    _refuse_bad_rows(numbers.isna() & values.notna(), values, path=path, column=column, what="a number",
                     fix="fix the rows or set [panoramas] decimal")
    return numbers.astype("float64")


def _require_coordinates(frame: pd.DataFrame, path: Path, mapping: dict[str, str]) -> None:
    missing = frame["x"].isna() | frame["y"].isna()
    if missing.all():
        raise RecordError(path.name, f"no row has coordinates in {mapping['x']}/{mapping['y']}", fix="check the column mapping")


def _by_srs(
    frame: gpd.GeoDataFrame, srs: pd.Series, *, path: Path, crs: str | None, target_crs: str
) -> gpd.GeoDataFrame:
    codes = srs.fillna(crs or "").astype("str").str.strip()
    parts = []
    for code, index in codes.groupby(codes).groups.items():
        part = frame.loc[index]
        parts.append(to_crs(part, target_crs=target_crs, declared_crs=code or crs, where=path.name, section="panoramas"))
    return gpd.GeoDataFrame(pd.concat(parts).sort_index(), crs=target_crs)


def _check_last_row(path: Path, delimiter: str, width: int, row: int) -> None:
    """A file cut off while writing has a last row with fewer fields than the header."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 65536))
        tail = handle.read().decode("utf-8", errors="replace").rstrip("\r\n").rsplit("\n", 1)[-1]
    try:
        fields = next(csv.reader([tail], delimiter=delimiter), [])
    except csv.Error:
        return
    if 0 < len(fields) < width:
        raise RecordError(
            f"{path.name}, row {row}", f"has {len(fields)} of {width} fields (file truncated?)",
            fix="export or copy the file again",
        )


def _decode(head: bytes, path: Path) -> str:
    try:
        return head.decode("utf-8-sig", errors="strict" if _is_utf8(head) else "replace")
    except UnicodeDecodeError as exc:  # pragma: no cover - guarded by _is_utf8
        raise SourceError(path.name, "unknown text encoding", fix="save the file as UTF-8") from exc


def _is_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the sample
    return True


def _detect_decimal(table: pd.DataFrame, delimiter: str) -> str:
    if delimiter == ",":
        return "."
    sample = table.head(200).stack()
    commas = sample.str.fullmatch(r"-?\d+,\d+").sum()
    dots = sample.str.fullmatch(r"-?\d+\.\d+").sum()
    return "," if commas > dots else "."
