"""Vector files (GeoPackage, Shapefile, GeoJSON, ...) read in bulk with pyogrio and Arrow."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from twin import parallel
from twin.errors import CrsError, LayerError, SchemaError, SourceError, row_examples
from twin.model.formats import TABLE_SUFFIXES
from twin.model.qa import NULL_ISLAND_DEG
from twin.sources.decoding import with_undecodable_marked
from twin.sources.shapefile import check_complete, choose_encoding, gdal_path, is_shapefile

log = logging.getLogger(__name__)


#: Features per part below which a file is read in one piece.
READ_CHUNK = 200_000
#: Formats whose reading gains from parts: a Shapefile jumps to any record (1M footprints: 6.4 s in one
#: piece, 3.7 s in two); a GeoPackage reads fast already and skipping rows costs it more than it gains.
_PARTS_DRIVERS = {"ESRI Shapefile"}


#: Formats whose text is in a code page the file need not name (others are UTF-8 by definition).
_ENCODED_SUFFIXES = (".dbf", *TABLE_SUFFIXES, ".dxf", ".zip")


#: The features a partition of a run reads: (first, count); None: every feature.
_RANGE: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar("twin_read_range", default=None)


@contextlib.contextmanager
def read_range(first: int, count: int) -> Iterator[None]:
    """Within the block, :func:`read_vector` reads only `count` features from the `first` (0-based) on.

    The dask engine's workers read their share of a large footprint file so; the index of the
    frames read is the feature's id in the file (its FID), so rows keep their place in the file.
    """
    token = _RANGE.set((first, count))
    try:
        yield
    finally:
        _RANGE.reset(token)


def read_vector(
    path: Path,
    *,
    target_crs: str,
    layer: str | None = None,
    encoding: str | None = None,
    declared_crs: str | None = None,
    section: str = "input",
    crs_key: str = "crs",
) -> gpd.GeoDataFrame:
    """Read one layer of a vector file and reproject it to `target_crs`.

    Parameters
    ----------
    path
        The file.
    target_crs
        CRS of the result (the city's official CRS).
    layer
        Layer name; the first layer when not given.
    encoding
        Attribute encoding where the file does not declare one (a Shapefile's is checked against
        its bytes, see :func:`twin.sources.shapefile.choose_encoding`).
    declared_crs
        CRS to assume when the file has none (from the pipeline file).
    section
        Pipeline section, named in error messages (``"buildings"``).
    crs_key
        The setting of `section` that declares the file's CRS, named in the CRS errors (``"boundary_crs"``).

    Raises
    ------
    SourceError, LayerError, CrsError
        With file, layer and the fix in a one-line message.
    """
    frame = read_vector_raw(path, layer=layer, encoding=encoding, section=section, feature_range=_RANGE.get())
    where = path.name if layer is None else f"{path.name}, layer {layer}"
    return to_crs(frame, target_crs=target_crs, declared_crs=declared_crs, where=where, section=section,
                  crs_key=crs_key)


def read_vector_raw(
    path: Path, *, layer: str | None = None, encoding: str | None = None, section: str = "input",
    feature_range: tuple[int, int] | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of a vector file as it is (no reprojection), with the checks of :func:`read_vector`.

    With `feature_range` (first, count), only those features (indexed by FID).
    """
    if not path.exists():
        raise SourceError(str(path), "file not found", fix=f"check [{section}] in the pipeline file")
    source: Path | str = path
    if path.suffix.lower() == ".dxf":
        _check_dxf_end(path, section)
    if is_shapefile(path):
        check_complete(path, section=section)
        encoding = choose_encoding(path, encoding)
        source = gdal_path(path)
    elif path.suffix.lower() == ".gz":  # a gzipped file (an OSM extract .osm.gz): GDAL reads it unpacking on the fly
        source = f"/vsigzip/{path}"
    if encoding is not None and not is_shapefile(path) and path.suffix.lower() not in _ENCODED_SUFFIXES:
        log.warning("%s: [%s] encoding %s ignored: the format stores its text as UTF-8", path.name, section, encoding)
        encoding = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = _read(source, layer=layer, encoding=encoding, feature_range=feature_range)
        for message, times in Counter(str(w.message) for w in caught).items():  # GDAL repeats one per feature
            log.warning("%s: %s%s", path.name, message, f" ({times} times)" if times > 1 else "")
    except DataLayerError as exc:
        layers = ", ".join(str(x[0]) for x in _list_layers(path))
        raise LayerError(f"{path.name}, layer {layer}", "layer not found", fix=f"choose one of: {layers}") from exc
    except (DataSourceError, OSError) as exc:
        raise SourceError(
            path.name, f"cannot be read as a vector file ({_first_line(exc)})", fix="replace it with a complete, valid file"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(path.name, f"text is not in {encoding}", fix=f"set [{section}] encoding") from exc
    if not isinstance(frame, gpd.GeoDataFrame):  # a table without geometry (GDAL's reading of some CityGML)
        where = path.name if layer is None else f"{path.name}, layer {layer}"
        raise LayerError(where, "has no geometry", fix=f"give a layer of points, lines or polygons in [{section}]")
    if feature_range is None:
        _check_count(source, path, layer, frame, encoding=encoding, section=section)
    return frame


def _check_dxf_end(path: Path, section: str) -> None:
    """Refuse a DXF drawing without its closing ``0 EOF`` (cut short: GDAL reads the entities up to the cut)."""
    with path.open("rb") as handle:
        binary = handle.read(18) == b"AutoCAD Binary DXF"
        handle.seek(max(0, path.stat().st_size - 64))
        raw = handle.read()
    tail = raw.translate(None, b"\x00\x1a").upper().split()  # DOS tools pad with NUL or Ctrl-Z
    if not (raw.endswith(b"EOF\x00") if binary else tail[-2:] == [b"0", b"EOF"]):
        raise SourceError(path.name, "does not end with the DXF end mark (0 EOF): the drawing is cut short",
                          fix=f"copy or export the drawing again, then check [{section}]")


#: Suffixes of formats GDAL parses whole when it opens them: a damaged file fails to open, and
#: asking for the feature count would parse it a second time.
_PARSED_WHOLE = (".geojson", ".json")


def _check_count(source: Path | str, path: Path, layer: str | None, frame: gpd.GeoDataFrame, *,
                 encoding: str | None, section: str) -> None:
    """Refuse a read that ended before the features the file declares (a damaged GeoPackage page).

    GDAL reports an error in the middle of an Arrow stream by ending it early; pyogrio then returns
    the features read so far. The count the file declares tells; the error itself comes from reading
    on from there without Arrow.
    """
    where = path.name if layer is None else f"{path.name}, layer {layer}"
    if not len(frame):
        log.warning("%s: holds no features; [%s] adds nothing to the model from it", where, section)
    if path.suffix.lower() in _PARSED_WHOLE:
        return
    try:
        declared = int(pyogrio.read_info(source, layer=layer, encoding=encoding)["features"])
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise SourceError(where, f"cannot be read as a vector file ({_first_line(exc)})",
                          fix="replace it with a complete, valid file") from exc
    if declared < 0 or len(frame) >= declared:  # more than declared: a stale count, nothing lost
        return
    cause = ""
    try:
        pyogrio.read_dataframe(source, layer=layer, encoding=encoding, skip_features=len(frame), max_features=1)
    except Exception as exc:  # noqa: BLE001 - whatever GDAL says is named in the refusal below
        cause = f" (GDAL: {_first_line(exc)})"
    raise SourceError(where, f"read {len(frame):,} of the {declared:,} features it declares{cause}",
                      fix=f"the file is damaged or cut short; copy or export it again, then check [{section}]")


def _read(path: Path | str, *, layer: str | None, encoding: str | None,
          feature_range: tuple[int, int] | None = None) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame (:func:`_read_all`); a feature GEOS cannot decode does not stop the read.

    Such features are repaired or left empty and listed in ``frame.attrs``, see :mod:`twin.sources.decoding`.
    """
    if feature_range is not None:  # a share of the file; undecodable geometries stay missing (repair drops them)
        return pyogrio.read_dataframe(path, layer=layer, encoding=encoding, use_arrow=True, on_invalid="ignore",
                                      skip_features=feature_range[0], max_features=feature_range[1], fid_as_index=True)
    frame = _read_all(path, layer=layer, encoding=encoding)
    if isinstance(frame, gpd.GeoDataFrame) and shapely.is_missing(frame.geometry.to_numpy()).any():
        return with_undecodable_marked(frame, path, layer=layer, encoding=encoding)
    return frame


def _read_all(path: Path | str, *, layer: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    """The layer as a GeoDataFrame; large Shapefiles are read in parts on all cores.

    GDAL reads separate handles of a file in parallel, and pyogrio releases the GIL while it reads, so
    a Shapefile of a million footprints is read in about half the time on two cores.
    """
    parts = 1
    if parallel.threads() > 1 and _may_have_parts(path):
        info = pyogrio.read_info(path, layer=layer, encoding=encoding)
        if info["driver"] in _PARTS_DRIVERS and info["capabilities"].get("fast_set_next_by_index"):
            parts = max(1, min(parallel.threads(), int(info["features"]) // READ_CHUNK))
    if parts == 1:
        return pyogrio.read_dataframe(path, layer=layer, encoding=encoding, use_arrow=True, on_invalid="ignore")
    bounds = np.linspace(0, int(info["features"]), parts + 1).astype(int)

    def read(start: int, stop: int) -> gpd.GeoDataFrame:
        return pyogrio.read_dataframe(path, layer=layer, encoding=encoding, use_arrow=True, on_invalid="ignore",
                                      skip_features=start, max_features=stop - start)

    with ThreadPoolExecutor(max_workers=parts) as pool:
        frames = list(pool.map(read, bounds[:-1], bounds[1:]))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


#: The smallest Shapefile record (a point: record header and shape) in bytes.
_SMALLEST_RECORD = 28


def _may_have_parts(path: Path | str) -> bool:
    """Whether `path` is a Shapefile (not zipped) large enough to hold two parts of :data:`READ_CHUNK` records."""
    if not isinstance(path, Path) or path.suffix.lower() != ".shp":
        return False
    return path.stat().st_size >= 2 * READ_CHUNK * _SMALLEST_RECORD


def to_crs(
    frame: gpd.GeoDataFrame, *, target_crs: str, declared_crs: str | None, where: str, section: str,
    crs_key: str = "crs",
) -> gpd.GeoDataFrame:
    """Reproject `frame` to `target_crs`, checking that coordinates fit their CRS.

    A frame without a CRS takes `declared_crs`; with neither, it is an error.
    Coordinates outside the area of use of the source or target CRS (swapped
    latitude/longitude, projected numbers labelled as degrees) are an error
    that names the features outside. Points at 0°, 0° in a geographic CRS
    (no GNSS fix) are left to the capture checks, which report them.
    """
    if frame.crs is None:
        if declared_crs is None:
            raise CrsError(where, "has no CRS", fix=f"add a .prj / CRS to the file or set [{section}] {crs_key}")
        frame = frame.set_crs(declared_crs)
    elif declared_crs is not None and not frame.crs.equals(pyproj.CRS.from_user_input(declared_crs)):
        log.warning("%s: file CRS %s used, not [%s] %s %s", where, frame.crs.to_string(), section, crs_key,
                    declared_crs)
    nowhere = _null_island(frame)
    _check_area(frame, frame.crs, where, f"[{section}] {crs_key}", "source", skip=nowhere)
    out = frame.to_crs(target_crs)
    _check_area(out, out.crs, where, f"[{section}] {crs_key}", "target", skip=nowhere)
    return out


def _null_island(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Points at 0°, 0° of a frame in a geographic CRS."""
    geoms = frame.geometry.to_numpy()
    if not frame.crs.is_geographic or not len(geoms):
        return np.zeros(len(geoms), bool)
    box = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        return np.all(np.abs(box) < NULL_ISLAND_DEG, axis=1)


def _check_area(frame: gpd.GeoDataFrame, crs: pyproj.CRS, where: str, setting: str, side: str,
                *, skip: np.ndarray) -> None:
    geoms = frame.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms) | skip)
    if not present.any():
        return
    bounds = _crs_bounds(crs)
    if bounds is None:
        return
    bx0, by0, bx1, by1 = bounds
    share = 0.0 if crs.is_geographic else 0.5
    mx, my = (bx1 - bx0) * share, (by1 - by0) * share
    box = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        fits = (np.isfinite(box).all(axis=1) & (box[:, 0] >= bx0 - mx) & (box[:, 2] <= bx1 + mx)
                & (box[:, 1] >= by0 - my) & (box[:, 3] <= by1 + my))
    outside = present & ~fits
    if not outside.any():
        return
    name = crs.to_string()
    swapped = " (latitude and longitude swapped?)" if crs.is_geographic or side == "target" else ""
    fix = f"set the right CRS in {setting} or fix the coordinate order"
    if side == "target" and not np.isfinite(box[outside]).all():
        seen = "coordinates that cannot be reprojected"
    else:
        xmin, ymin = np.nanmin(box[outside, :2], axis=0)
        xmax, ymax = np.nanmax(box[outside, 2:], axis=0)
        seen = f"coordinates ({xmin:.6g}, {ymin:.6g}) .. ({xmax:.6g}, {ymax:.6g})"
    if outside.sum() < present.sum():  # most fit: a few wrong positions, not a wrong CRS
        rows = np.flatnonzero(outside) + 1
        seen = f"{row_examples(rows.tolist(), noun='feature')} of {present.sum()}: {seen}"
        fix = "correct or remove these features (or set the right CRS)"
    raise CrsError(where, f"{seen} do not fit {name}{swapped}", fix=fix)


@functools.lru_cache(maxsize=64)
def _crs_bounds(crs: pyproj.CRS) -> tuple[float, float, float, float] | None:
    """The area of use of `crs` in its own coordinates (cached: a transformer costs about 8 ms to build)."""
    area = crs.area_of_use
    if area is None:
        return None
    if crs.is_geographic:
        return (area.west, area.south, area.east, area.north)
    try:
        transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        x0, y0, x1, y1 = transformer.transform_bounds(area.west, area.south, area.east, area.north)
    except pyproj.exceptions.ProjError:
        return None
    return (x0, y0, x1, y1)


def _list_layers(path: Path) -> list[tuple[str, str]]:
    try:
        return [(str(a), str(b)) for a, b in pyogrio.list_layers(path)]
    except (DataSourceError, OSError):
        return []


def _first_line(exc: BaseException, *, limit: int = 200) -> str:
    """The first line of an error, cut to `limit` characters (GDAL quotes whole SQL statements)."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


#: The fields of a street layer that street coverage reads, mapped by ``[panoramas.street_columns]``.
STREET_FIELDS = ("street_id", "name")


def street_fields(streets: gpd.GeoDataFrame, columns: dict[str, str], *, path: Path) -> gpd.GeoDataFrame:
    """`streets` with the mapped columns as ``street_id`` and ``name`` (a mapped column the file lacks is refused)."""
    unknown = sorted(set(columns) - set(STREET_FIELDS))
    if unknown:
        raise SchemaError(f"[panoramas.street_columns] {', '.join(unknown)}", "is no street field",
                          fix=f"map only {', '.join(STREET_FIELDS)}")
    missing = [c for c in columns.values() if c not in streets.columns]
    if missing:
        raise SchemaError(path.name, f"columns {', '.join(missing)} missing (has "
                          f"{', '.join(map(str, streets.columns.drop(streets.geometry.name)))})",
                          fix="check [panoramas.street_columns]")
    if not columns:
        return streets
    kept = streets.drop(columns=[f for f in STREET_FIELDS if f in streets.columns and f not in columns.values()])
    return kept.rename(columns={column: field for field, column in columns.items()})


def layer_extent(
    path: Path, *, target_crs: str, layer: str | None = None, declared_crs: str | None = None, section: str = "input",
) -> tuple[int, tuple[float, float, float, float] | None]:
    """The number of features of a layer and its extent in `target_crs`, from the file's header (nothing read).

    The dask engine plans its partitions with it. The extent is None for an empty layer.
    """
    with _opened(path, layer, section) as source:
        info = pyogrio.read_info(source, layer=layer, force_feature_count=True, force_total_bounds=True)
    count, bounds = int(info["features"]), info.get("total_bounds")
    if count <= 0 or bounds is None or not np.isfinite(np.asarray(bounds, dtype="float64")).all():
        return max(count, 0), None
    file_crs = info["crs"] or declared_crs
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if file_crs is not None and pyproj.CRS.from_user_input(file_crs) != pyproj.CRS.from_user_input(target_crs):
        transformer = pyproj.Transformer.from_crs(file_crs, target_crs, always_xy=True)
        xmin, ymin, xmax, ymax = transformer.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21)
    return count, (xmin, ymin, xmax, ymax)


@contextlib.contextmanager
def _opened(path: Path, layer: str | None, section: str) -> Iterator[Path | str]:
    """The name GDAL reads `path` by; a missing file, layer or unreadable file raised as twin's errors."""
    if not path.exists():
        raise SourceError(str(path), "file not found", fix=f"check [{section}] in the pipeline file")
    try:
        yield gdal_path(path) if is_shapefile(path) else path
    except DataLayerError as exc:
        layers = ", ".join(str(x[0]) for x in _list_layers(path))
        raise LayerError(f"{path.name}, layer {layer}", "layer not found", fix=f"choose one of: {layers}") from exc
    except (DataSourceError, OSError) as exc:
        raise SourceError(path.name, f"cannot be read as a vector file ({_first_line(exc)})",
                          fix="replace it with a complete, valid file") from exc


def box_centres(
    path: Path, *, target_crs: str, layer: str | None = None, declared_crs: str | None = None, section: str = "input",
    first: int = 0, count: int | None = None,
) -> np.ndarray:
    """The centres of the bounding boxes of features `first` .. `first + count` of a layer, in `target_crs`.

    Only the geometries' boxes are read (:func:`pyogrio.read_bounds`), not the attributes nor the geometries
    themselves; features without geometry are left out. The dask engine measures the density of the footprints
    with it. A layer without a CRS and no `declared_crs` is taken as in `target_crs` (reading it refuses it).
    Returns an array of shape (n, 2).
    """
    with _opened(path, layer, section) as source:
        _, bounds = pyogrio.read_bounds(source, layer=layer, skip_features=first, max_features=count)
        file_crs = pyogrio.read_info(source, layer=layer)["crs"] or declared_crs
    bounds = np.asarray(bounds, dtype="float64").reshape(4, -1)
    x, y = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    if file_crs is not None and pyproj.CRS.from_user_input(file_crs) != pyproj.CRS.from_user_input(target_crs):
        x, y = pyproj.Transformer.from_crs(file_crs, target_crs, always_xy=True).transform(x, y)
    centres = np.column_stack([x, y])
    return centres[np.isfinite(centres).all(axis=1)]
