"""Panorama capture metadata from vendor CSV/TXT exports, columns mapped in the pipeline file."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from twin.config import PanoramasConfig
from twin.errors import ConfigError, RecordError, SchemaError, SourceError, row_examples
from twin.model.qa import qa_issues
from twin.sources.encodings import EncodingAmbiguityError, detect
from twin.sources.headings import to_grid_north
from twin.sources.text_limits import check_lines, header_width, read_head
from twin.sources.vector import to_crs

log = logging.getLogger(__name__)

#: Canonical panorama fields a CSV may map (x and y are required).
FIELDS = (
    "panorama_id", "image_name", "captured_at", "sequence_id", "x", "y", "z",
    "heading_deg", "pitch_deg", "roll_deg", "gnss_accuracy_m",
)
#: Columns a pipeline may also map: the time of day beside a date-only ``captured_at``, GPS week and seconds.
EXTRA_FIELDS = ("time_of_day", "gps_week", "gps_seconds")
_NUMERIC = ("x", "y", "z", "heading_deg", "pitch_deg", "roll_deg", "gnss_accuracy_m")
#: A written time that names its offset from UTC (``Z``, ``+02:00``, ``+0200``) at its end.
WITH_ZONE = r"(?:Z|[+-]\d\d:?\d\d)$"
#: A written time of day somewhere in the text (``11:14``).
TIME_OF_DAY = r"\d:\d\d"
#: A value that is only a time of day (``08:56:34``, ``8:56``, ``08:56:34.5Z``), without a date.
TIME_ONLY = r"\d{1,2}:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:Z|[+-]\d\d:?\d\d)?"
#: ``strptime`` directives that give a date; a pattern without any would date every capture 1 January 1900.
DATE_DIRECTIVES = ("%Y", "%y", "%G", "%d", "%j", "%m", "%b", "%B", "%s", "%c", "%x", "%U", "%W", "%V")
#: Degrees per unit of a heading column (``[panoramas] heading_unit``).
HEADING_UNITS = {"deg": 1.0, "gon": 0.9}


#: Files read as a vector layer of points rather than as text: x, y (and z) come from the geometry.
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".zip")


def read(config: PanoramasConfig, *, target_crs: str) -> gpd.GeoDataFrame:
    """Read a vendor CSV (or a point layer: GeoJSON, GeoPackage, ...) with the ``[panoramas.columns]`` mapping."""
    if config.path.suffix.lower() in VECTOR_SUFFIXES:
        table, crs = point_table(config.path)
        return panoramas_from_table(
            table, config.columns, path=config.path, crs=crs or config.crs, target_crs=target_crs,
            timezone=config.timezone, time_format=config.time_format, heading_unit=config.heading_unit,
            heading_north=config.heading_north,
        )
    table = read_table(config.path, delimiter=config.delimiter, decimal=config.decimal, encoding=config.encoding)
    if config.time_format == "gps":
        table = with_gps_times(table, config.columns, path=config.path, leap_seconds=config.leap_seconds)
    return panoramas_from_table(
        table, config.columns, path=config.path, crs=config.crs, target_crs=target_crs, timezone=config.timezone,
        time_format=config.time_format, heading_unit=config.heading_unit, heading_north=config.heading_north,
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


def point_table(path: Path) -> tuple[pd.DataFrame, str | None]:
    """The attributes of a point layer as a table of strings, with ``x``, ``y``, ``z`` from its geometry
    (where the layer has no such columns), and the layer's CRS."""
    from twin.sources.vector import read_vector_raw

    frame = read_vector_raw(path, section="panoramas")
    geoms = frame.geometry.to_numpy()
    points = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.centroid(geoms))  # other shapes: their centre
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype("string").astype("object")
    table = table.where(table.notna(), None)
    for name, coordinate in (("x", shapely.get_x), ("y", shapely.get_y), ("z", shapely.get_z)):
        if name not in table.columns:
            values = pd.Series(coordinate(points), dtype="float64")
            table[name] = values.astype("str").astype("object").where(values.notna(), None).to_numpy()
    table.index = pd.RangeIndex(len(table))
    table.attrs["decimal"] = "."
    # heights stay as altitude_m: a 3D CRS (GeoJSON with heights reads as EPSG:4979) counts as its 2D one
    return table, None if frame.crs is None else frame.crs.to_2d().to_string()


def read_table(path: Path, *, delimiter: str | None = None, decimal: str | None = None,
               encoding: str | None = None, section: str = "panoramas") -> pd.DataFrame:
    """Read a delimited text file as strings, detecting encoding (unless given), delimiter and decimal comma.

    Lines and header are checked against the reading limits of :mod:`twin.sources.text_limits` first.
    """
    check_lines(path, section=section)
    encoding, delimiter, skipped = table_layout(read_head(path, section=section), delimiter=delimiter,
                                                encoding=encoding, where=path.name)
    header_width(path, skip=skipped, encoding=encoding, delimiter=delimiter)
    if skipped:
        log.info("%s: %d title line(s) above the header skipped", path.name, skipped)
    try:
        table = pd.read_csv(
            path, sep=delimiter, dtype="str", keep_default_na=False, na_values=[""], skiprows=skipped,
            encoding=encoding, on_bad_lines="error",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise RecordError(path.name, f"broken CSV ({_one_line(exc)})", fix="repair or re-export the file (truncated?)") from exc
    rows = np.flatnonzero(table.notna().any(axis=1).to_numpy())  # Excel writes rows of bare delimiters (;;;;)
    table = table.iloc[rows]
    if table.empty:
        raise RecordError(path.name, "has no rows", fix="export the capture metadata again")
    _check_last_row(path, delimiter, len(table.columns), int(rows[-1]) + 2 + skipped)
    table.index = pd.Index(rows + skipped)  # row numbers in messages count the title and blank lines
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
    time_format: str = "iso",
    heading_unit: str = "deg",
    heading_north: str = "true",
) -> gpd.GeoDataFrame:
    """Map a table of strings onto the canonical panorama fields, as points in `target_crs`.

    Without a ``panorama_id`` column the image name identifies a panorama (else its row). Headings
    from true north (`heading_north`) become grid bearings of `target_crs`.
    """
    unknown = sorted(set(columns) - set(FIELDS) - set(EXTRA_FIELDS))
    if unknown:
        raise ConfigError(f"[panoramas.columns] {', '.join(unknown)}", "is no panorama field",
                          fix=f"map only {', '.join((*FIELDS, *EXTRA_FIELDS))}")
    mapping = {name: columns.get(name, name) for name in FIELDS}
    missing = [mapping[n] for n in ("x", "y") if mapping[n] not in table.columns]
    if missing:
        raise SchemaError(
            path.name, f"columns {', '.join(missing)} missing (has {', '.join(table.columns[:15])})",
            fix="map x and y in [panoramas.columns]",
        )
    if mapping["captured_at"] not in table.columns:
        raise SchemaError(
            path.name, f"no column {mapping['captured_at']} with the capture times (has {', '.join(table.columns[:15])})",
            fix="map captured_at in [panoramas.columns], or gps_week and gps_seconds with time_format = \"gps\"")
    data, zoneless = _fields(table, mapping, columns.get("time_of_day"), path=path, timezone=timezone,
                             time_format=time_format)
    if "heading_deg" in data:
        data["heading_deg"] = data["heading_deg"] * HEADING_UNITS[heading_unit]
    if "panorama_id" not in data:
        data["panorama_id"] = data["image_name"] if "image_name" in data else \
            pd.Series(np.arange(1, len(table) + 1), index=table.index).astype("str")
    frame = pd.DataFrame(data, index=table.index)
    _require_coordinates(frame, path, mapping)
    points = shapely.points(frame["x"], frame["y"], frame.get("z"))
    points[(frame["x"].isna() | frame["y"].isna()).to_numpy()] = None
    out = gpd.GeoDataFrame(frame.drop(columns=[c for c in ("x", "y") if c in frame]), geometry=points)
    if "z" in out:
        out = out.rename(columns={"z": "altitude_m"})
    if srs_column and srs_column in table.columns:
        out = _by_srs(out, table[srs_column], path=path, crs=crs, target_crs=target_crs)
    else:
        out = to_crs(out, target_crs=target_crs, declared_crs=crs, where=path.name, section="panoramas")
    if heading_north == "true":
        out = to_grid_north(out)
    if zoneless:
        out.attrs["qa_issues"] = _zoneless_issue(out, zoneless, path=path, column=mapping["captured_at"])
    return out


def _fields(table: pd.DataFrame, mapping: dict[str, str], time_of_day: str | None, *, path: Path,
            timezone: str | None, time_format: str) -> tuple[dict[str, pd.Series], int]:
    """The canonical fields read from their columns, and how many capture times name no zone (read as UTC)."""
    decimal = str(table.attrs.get("decimal", "."))
    data: dict[str, pd.Series] = {}
    zoneless = 0
    for name, col in mapping.items():
        if col not in table.columns:
            continue
        values = table[col]
        if name in _NUMERIC:
            data[name] = _numbers(values, decimal, path, col)
        elif name == "captured_at":
            written = _with_time_of_day(table, col, time_of_day, path)
            data[name] = parse_times(written, path=path, column=col, timezone=timezone, time_format=time_format)
            zoneless = 0 if timezone is not None or "%z" in time_format else _zoneless(written)
        else:
            data[name] = values.astype("str")
    return data, zoneless


def _zoneless_issue(frame: gpd.GeoDataFrame, count: int, *, path: Path, column: str) -> gpd.GeoDataFrame:
    """One ``time_without_zone`` QA row for the file, proposing the time zone where the pictures lie."""
    zone = zone_where(frame)
    return qa_issues(
        layer="panoramas", feature_ids=[path.name], check="time_without_zone", severity="warning",
        messages=f"{count} capture times in column {column} name no zone and are read as UTC; if they are local "
                 f"times, set [panoramas] timezone = \"{zone or 'Europe/Berlin'}\""
                 + (" (the zone where the pictures lie)" if zone else ""), crs=frame.crs)


def _zoneless(written: pd.Series) -> int:
    """How many written times name neither a UTC offset nor are plain numbers (epoch seconds)."""
    text = written.dropna().astype("str").str.strip()
    return int((~text.str.contains(WITH_ZONE, regex=True) & ~text.str.fullmatch(r"\d+(?:\.\d+)?")).sum())


def zone_where(frame: gpd.GeoDataFrame) -> str | None:
    """The IANA time zone at the middle of `frame`'s points (``Europe/Berlin``), or None where it is not known."""
    from timezonefinder import TimezoneFinder

    points = frame.geometry.dropna()
    points = points[~points.is_empty]
    if not len(points) or frame.crs is None:
        return None
    lonlat = points.to_crs("EPSG:4326")
    lon, lat = float(lonlat.x.median()), float(lonlat.y.median())
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return TimezoneFinder().timezone_at(lng=lon, lat=lat)


def parse_times(values: pd.Series, *, path: Path, column: str, timezone: str | None = None,
                time_format: str = "iso") -> pd.Series:
    """Parse times to UTC; times without offset are in `timezone` (else UTC).

    `time_format` ``"iso"`` reads ISO 8601 and the usual written forms: ``23.05.2026 11:14:03``
    day first, ``05/23/2026`` or ``23/05/2026`` as the column's days over 12 tell (a column where
    they tell nothing is refused). A ``strptime`` pattern (``"%d/%m/%Y %H:%M"``) reads exactly that.

    >>> parse_times(pd.Series(["2023-05-16T10:00:00+02:00", "2023-05-16 08:00:01", "16.05.2023 08:00:02"]),
    ...             path=Path("x.csv"), column="t").dt.strftime("%d.%m. %H:%M:%S").tolist()
    ['16.05. 08:00:00', '16.05. 08:00:01', '16.05. 08:00:02']
    """
    text = values.astype("str").str.strip()
    if "%" in time_format and not any(d in time_format for d in DATE_DIRECTIVES):
        raise ConfigError(f"[panoramas] time_format = {time_format!r}", "names no date (every capture would be "
                          "dated 1 January 1900)", fix="add the date, e.g. '%d.%m.%Y %H:%M:%S', or map a date column "
                          "as captured_at and the time as time_of_day")
    _refuse_bad_rows(text.str.fullmatch(TIME_ONLY) & values.notna(), text, path=path, column=column,
                     what="a date and time: a time of day without a date would be dated the day of the run",
                     fix="map the column with the dates as captured_at and this one as time_of_day in "
                         "[panoramas.columns]")
    if "%" in time_format:
        has_zone = pd.Series("%z" in time_format or "%Z" in time_format, index=text.index)
        parsed = pd.to_datetime(text, format=time_format, errors="coerce", utc=bool(has_zone.all()))
        aware, naive = (parsed, parsed) if has_zone.all() else (parsed.dt.tz_localize("UTC"), parsed)
        fix = f"fix the rows or the pattern [panoramas] time_format = {time_format!r}"
    else:
        has_zone = text.str.contains(WITH_ZONE, regex=True, na=False)
        day_first = _day_first(text, path=path, column=column)
        aware = _to_datetime(text.where(has_zone), utc=True, day_first=day_first)
        naive = _to_datetime(text.where(~has_zone), utc=False, day_first=day_first)
        fix = "use ISO 8601 (2023-05-16T08:12:03Z) or give [panoramas] time_format, e.g. '%d.%m.%Y %H:%M:%S'"
    if naive.dt.tz is not None:  # a pattern with %z: every time names its offset
        local = naive
    elif timezone is None:
        local = naive.dt.tz_localize("UTC")
    else:
        local = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
        _refuse_bad_rows(local.isna() & naive.notna() & ~has_zone, text, path=path, column=column,
                         what=f"one instant in {timezone} (clocks changed that hour)",
                         fix="give these times with their UTC offset, e.g. 2026-10-25T02:30:00+01:00")
        local = local.dt.tz_convert("UTC")
    parsed = aware.where(has_zone, local)
    _refuse_bad_rows(parsed.isna() & values.notna(), text, path=path, column=column, what="a date and time",
                     fix=fix)
    given = text[values.notna()]
    if len(given) and not given.str.contains(TIME_OF_DAY, regex=True, na=False).any():
        log.warning("%s, column %s: dates without a time of day (all at midnight); map the column with the "
                    "time as time_of_day in [panoramas.columns]", path.name, column)
    return parsed.astype("datetime64[ms, UTC]")


def _day_first(text: pd.Series, *, path: Path, column: str) -> bool:
    """Whether the dates of a column are written day first (``23.05.2026``, ``23/05/2026``).

    Dotted dates are day first; with slashes or dashes the days over 12 decide; a column
    where they decide nothing, or both ways, is refused.
    """
    parts = text.str.extract(r"^(\d{1,2})([./-])(\d{1,2})\2\d{2,4}(?:\D|$)")
    written = parts[0].notna()
    if not written.any():
        return False
    if (parts.loc[written, 1] == ".").all():
        return True
    first, second = (pd.to_numeric(parts.loc[written, k]) for k in (0, 2))
    if (first > 12).any() != (second > 12).any():
        return bool((first > 12).any())
    example = text[written].iloc[0]
    raise RecordError(f"{path.name}, column {column}",
                      f"dates such as {example!r} can be read day first or month first",
                      fix="give [panoramas] time_format, e.g. '%d/%m/%Y %H:%M:%S' (or '%m/%d/%Y %H:%M:%S')")


def _with_time_of_day(table: pd.DataFrame, date: str, time: str | None, path: Path) -> pd.Series:
    """The date column, with the time column appended where ``time_of_day`` is mapped."""
    if time is None:
        return table[date]
    if time not in table.columns:
        raise SchemaError(path.name, f"column {time} (time_of_day) missing", fix="check [panoramas.columns]")
    return table[date].str.strip() + " " + table[time].str.strip()


def _refuse_bad_rows(bad: pd.Series, values: pd.Series, *, path: Path, column: str, what: str, fix: str) -> None:
    """Raise one RecordError naming the bad rows (1-based file lines, header = 1) and the first bad value."""
    if bad.any():
        rows = (np.asarray(bad.index[bad.to_numpy()], dtype="int64") + 2).tolist()
        raise RecordError(f"{path.name}, column {column}",
                          f"{row_examples(rows)}: {values[bad].iloc[0]!r} is not {what}", fix=fix)


def _to_datetime(text: pd.Series, *, utc: bool, day_first: bool = False) -> pd.Series:
    """Parse what parses, NaT for the rest; never raises on odd input."""
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
    except (ValueError, OverflowError, TypeError):
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]" if utc else "datetime64[ns]")
    retry = parsed.isna() & text.notna()
    if retry.any():
        try:
            again = pd.to_datetime(text[retry], errors="coerce", format="mixed", utc=utc, dayfirst=day_first)
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
        _known_crs(code, codes, path)
        part = frame.loc[index]
        parts.append(to_crs(part, target_crs=target_crs, declared_crs=code or crs, where=path.name, section="panoramas"))
    return gpd.GeoDataFrame(pd.concat(parts).sort_index(), crs=target_crs)


def _known_crs(code: str, codes: pd.Series, path: Path) -> None:
    """Refuse a per-row CRS pyproj does not know, naming its rows."""
    if not code:
        return
    try:
        pyproj.CRS.from_user_input(code)
    except pyproj.exceptions.CRSError:
        _refuse_bad_rows(codes == code, codes, path=path, column="srs", what="a CRS pyproj knows",
                         fix="write it as e.g. EPSG:25832")


def table_layout(head: bytes, *, delimiter: str | None = None, encoding: str | None = None,
                 where: str = "table") -> tuple[str, str, int]:
    r"""Encoding (``utf-8-sig``, else the code page :func:`twin.sources.encodings.detect` finds), delimiter
    and title lines above the header of a text table, judged from its first bytes; `delimiter` when
    given is kept.

    >>> table_layout("Netzknoten, Stand 03/2024;;\nNr;Typ;Name\n1;POP;Rathaus\n2;NVt;M1\n".encode("cp1252"))
    ('utf-8-sig', ';', 1)
    """
    try:
        found = encoding or detect(head)
    except EncodingAmbiguityError as exc:
        raise SourceError(where, str(exc), fix=f"name its encoding, e.g. encoding = \"{exc.encodings[0]}\"") from exc
    if found is None:
        raise SourceError(where, "text in no code page twin knows", fix="save it as UTF-8, or name its encoding")
    encoding = "utf-8-sig" if found.replace("_", "-").lower() in ("utf-8", "utf8") else found
    lines = [line for line in head.decode(encoding, errors="replace").splitlines()[:40] if line.strip()]
    delimiter = delimiter or _sniff_delimiter(lines)
    return encoding, delimiter, _title_lines(lines, delimiter)


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of the first lines (a title line above the header does not decide it)."""
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|").delimiter
    except csv.Error:
        try:
            return csv.Sniffer().sniff(lines[0] if lines else "", delimiters=",;\t|").delimiter
        except csv.Error:
            return ","


def _title_lines(lines: list[str], delimiter: str) -> int:
    """Lines above the header that hold a title, not columns (Excel exports: ``Netzknoten, Stand 03/2024;;;;``)."""
    try:
        widths = [len([f for f in next(csv.reader([line], delimiter=delimiter)) if f.strip()]) for line in lines]
    except csv.Error:
        return 0
    if len(widths) < 3:
        return 0
    common = max(set(widths[1:]), key=widths[1:].count)
    title = 0
    while title < len(widths) - 2 and widths[title] <= 1 < common:
        title += 1
    return title


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


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


def _detect_decimal(table: pd.DataFrame, delimiter: str) -> str:
    if delimiter == ",":
        return "."
    sample = table.head(200).stack()
    commas = sample.str.fullmatch(r"-?\d+,\d+").sum()
    dots = sample.str.fullmatch(r"-?\d+\.\d+").sum()
    return "," if commas > dots else "."
