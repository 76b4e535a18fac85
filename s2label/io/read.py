"""Read Sentinel-2 scenes: a multi-band GeoTIFF/JP2, a folder or list of single-band files, a ``.SAFE``, or a
STAC item whose assets are Cloud-Optimised GeoTIFFs (read over HTTP, only the part needed).

Every band is brought onto the grid of the finest band (10 m for Sentinel-2) with
:func:`rasterio.warp.reproject`, since the 20 m and 60 m grids need not nest exactly in the 10 m one.
Digital numbers become reflectance as ``(DN + offset) * scale``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import urlsplit
from urllib.request import url2pathname

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds
from tqdm.auto import tqdm

from s2label._profiling import available_memory_bytes
from s2label.errors import BandError, S2LabelWarning, SceneError
from s2label.io.bands import CANONICAL_BANDS, band_from_filename, normalize_band, normalize_bands
from s2label.io.safe import baseline_offset_default, find_safe_root, parse_safe
from s2label.io.scene import Scene
from s2label.io.stac import describe_item, is_stac_item, load_item, stac_bands

if TYPE_CHECKING:
    import pystac

__all__ = ["read_scene", "scene_grid", "SceneGrid", "MIN_BANDS", "RASTER_SUFFIXES"]

PathLike: TypeAlias = str | os.PathLike
WindowLike: TypeAlias = Window | tuple[tuple[int, int], tuple[int, int]]

#: Fewest bands a scene may have: segmentation and encoders need a spectrum, not a grey image.
MIN_BANDS = 3
#: File endings read as rasters when a folder is given.
RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img")
_DEFAULT_INT_SCALE = 1e-4  # Sentinel-2 DN per unit reflectance is 10000 (L1C and L2A)

# GDAL options for reading COGs over HTTP (/vsicurl/), set only while a remote file is open and only where the
# user has not set them (environment variable or an enclosing rasterio.Env).
_HTTP_GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no directory listing, no probing for sidecar files
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",  # one request for adjacent tiles
    "GDAL_HTTP_MAX_RETRY": "2",  # GDAL retries 429 / 5xx / reset connections itself ...
    "GDAL_HTTP_RETRY_DELAY": "0.5",  # ... after this many seconds (growing)
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_TIMEOUT": "30",
}
#: Opening a remote file that cannot be reached (connection refused, time-out, DNS) is tried this often ...
_HTTP_OPEN_ATTEMPTS = 3
#: ... this many seconds apart. HTTP errors are not retried here: 4xx are final, and GDAL retried 5xx already.
_HTTP_RETRY_DELAY = 0.5
_UNREACHABLE = ("could not connect", "couldn't connect", "failed to connect", "connection refused",
                "could not resolve", "timed out", "connection reset", "does not exist in the file system")


@dataclass(frozen=True)
class _BandSource:
    band: str
    path: Path | str  # str: a URL (http(s)://, s3://, /vsi...), opened by GDAL directly
    index: int  # 1-based band index inside the file
    scale: float | None = None  # None: decided from the file's metadata or data type
    offset: float | None = None
    asset: str | None = None  # key of the STAC asset holding the band


def read_scene(
    source: PathLike | Sequence[PathLike] | pystac.Item,
    *,
    bands: Sequence[str] | None = None,
    band_names: Sequence[str] | None = None,
    window: WindowLike | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_crs: str | CRS | None = None,
    scale: float | Mapping[str, float] | None = None,
    offset: float | Mapping[str, float] | None = None,
    nodata: float | None = None,
    resampling: str | Resampling = "bilinear",
    progress: bool = False,
    allow_empty: bool = False,
) -> Scene:
    """Read a Sentinel-2 scene as reflectance on one grid.

    Parameters
    ----------
    source : path-like, sequence of path-like, or pystac.Item
        One of

        - a multi-band raster (GeoTIFF, JP2, VRT): band names from the band descriptions, from
          ``band_names``, or, for 13 or 12 unnamed bands, the standard ESA order (with a warning);
        - a folder of single-band files, or a list of them: each band's name comes from its file name
          (``*_B8A.jp2``, ``B1.tif``) or its band description; other files are ignored;
        - a Sentinel-2 ``.SAFE`` product (L1C or L2A) or its ``MTD_MSIL*.xml``: for each band the file at
          the finest resolution is used, and scaling follows the product metadata;
        - a STAC item (``pystac.Item``, or the path or URL of its JSON): one asset per band, matched by
          ``eo:bands`` name or common name or by asset key (Earth Search ``red``, Planetary Computer ``B04``);
          see :mod:`s2label.io.stac`. Remote assets (``http(s)://``) are read by GDAL directly, fetching only
          the tiles that cover ``window``/``bbox``.
    bands : sequence of str, optional
        Read only these bands, in this order (any spelling, e.g. ``["B02", "B03", "B04", "B8"]``).
    band_names : sequence of str, optional
        Names of the bands of a multi-band file that has no band descriptions.
    window : rasterio.windows.Window or ((row_start, row_stop), (col_start, col_stop)), optional
        Read only this part of the finest band's grid (must lie inside it).
    bbox : (minx, miny, maxx, maxy), optional
        Read only the part overlapping this box, in ``bbox_crs`` (default: the scene's CRS).
        Mutually exclusive with ``window``.
    bbox_crs : str or CRS, optional
        CRS of ``bbox``, e.g. ``"EPSG:4326"`` for (lon, lat).
    scale, offset : float or mapping band -> float, optional
        Override the conversion ``reflectance = (DN + offset) * scale``. By default: from a ``.SAFE``'s
        metadata (``1 / QUANTIFICATION_VALUE`` and ``RADIO_ADD_OFFSET``/``BOA_ADD_OFFSET``, i.e. -1000 from
        processing baseline 04.00 on); from a STAC item's ``raster:bands``; from a file's
        ``QUANTIFICATION_VALUE``/``*_ADD_OFFSET`` tags or GDAL scale/offset when present; otherwise
        ``scale=1e-4, offset=0`` for integer data and ``scale=1`` for floating-point data. Pass
        ``offset=-1000`` for a GeoTIFF exported from a baseline >= 04.00 product.
    nodata : float, optional
        Digital number that marks missing data (default: the file's nodata value, else 0 for integer data,
        as in Sentinel-2 products). NaN is always missing.
    resampling : str or rasterio.enums.Resampling
        How coarser bands are brought onto the finest grid (``"bilinear"``, ``"nearest"``, ``"cubic"``...).
    progress : bool
        Show a progress bar over the bands.
    allow_empty : bool
        Return a scene with no valid pixel instead of raising (windowed processing reads windows of a
        scene's no-data margin).

    Returns
    -------
    Scene
        ``data`` (C, H, W) float32 reflectance, 0 outside ``valid``.

    Raises
    ------
    SceneError
        Missing file, not a raster, no CRS, no valid pixel, window outside the scene; a STAC item with no image
        asset, or an asset that cannot be read (remote ones after a short, bounded retry): the message names
        the asset key and href.
    BandError
        Unknown or duplicated band names, a requested band missing, fewer than 3 bands.

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene_path
    >>> scene = read_scene(sample_scene_path(), bands=["B02", "B03", "B04", "B08"],
    ...                    window=((0, 256), (0, 256)))
    >>> scene.data.shape, scene.bands
    ((4, 256, 256), ('B02', 'B03', 'B04', 'B08'))
    """
    if window is not None and bbox is not None:
        raise SceneError("give either window or bbox, not both", path=_describe(source))
    try:
        resampling = resampling if isinstance(resampling, Resampling) else Resampling[str(resampling)]
    except KeyError:
        raise SceneError(f"unknown resampling {resampling!r}; use one of "
                         f"{', '.join(r.name for r in Resampling)}") from None
    plan = _plan_read(source, bands=bands, band_names=band_names, window=window, bbox=bbox, bbox_crs=bbox_crs)
    source, sources, meta, win = plan.source, plan.sources, plan.meta, plan.window
    ref_transform, ref_crs, (full_h, full_w) = plan.full_transform, plan.grid.crs, plan.full_shape
    dst_transform = plan.grid.transform
    height, width = plan.grid.shape
    _check_memory(len(sources), height, width, source)

    data = np.empty((len(sources), height, width), np.float32)
    valid = np.ones((height, width), bool)
    scales: dict[str, float] = {}
    offsets: dict[str, float] = {}
    for i, src in enumerate(tqdm(sources, desc="read bands", disable=not progress, leave=False)):
        with _open(src.path, src.asset) as ds:
            nd = nodata if nodata is not None else ds.nodata
            if nd is None and np.issubdtype(np.dtype(ds.dtypes[src.index - 1]), np.integer):
                nd = 0
            same_grid = (ds.crs == ref_crs and ds.transform.almost_equals(ref_transform)
                         and (ds.height, ds.width) == (full_h, full_w))
            if same_grid:
                raw = ds.read(src.index, window=win)
                bad = np.isnan(raw) if raw.dtype.kind == "f" else np.zeros(raw.shape, bool)
                if nd is not None and not (isinstance(nd, float) and math.isnan(nd)):
                    bad |= raw == nd
                band = raw.astype(np.float32)
            else:
                band, bad = _reproject_band(ds, src.index, nd, dst_transform, ref_crs, (height, width),
                                            resampling)
            s_default, o_default = _default_scaling(ds, src)
        s = _pick(scale, src.band, s_default)
        o = _pick(offset, src.band, o_default)
        scales[src.band], offsets[src.band] = s, o
        band += np.float32(o)
        band *= np.float32(s)
        data[i] = band
        valid &= ~bad
    if not valid.any() and not allow_empty:
        raise SceneError("no valid pixels: every pixel is no-data in at least one band", path=_describe(source))
    data[:, ~valid] = 0.0

    meta.update({
        "scale": scales,
        "offset": offsets,
        "window": {"row_off": int(win.row_off), "col_off": int(win.col_off), "height": height, "width": width},
        "full_shape": [int(full_h), int(full_w)],
        "resampling": resampling.name,
        "files": {s.band: str(s.path) for s in sources},
    })
    return Scene(data=data, bands=tuple(s.band for s in sources), transform=dst_transform, crs=ref_crs,
                 valid=valid, source=_describe(source), meta=meta)


@dataclass(frozen=True)
class SceneGrid:
    """Where a scene's pixels lie, known without reading them.

    Attributes
    ----------
    shape : (int, int)
        (H, W) of the grid (of the ``window``/``bbox`` part when one was given).
    transform : affine.Affine
    crs : rasterio.crs.CRS
    bands : tuple of str
        The bands that would be read, in order.
    offset : (int, int)
        (row, col) of the grid's first pixel in the full raster of the finest band.
    """

    shape: tuple[int, int]
    transform: Affine
    crs: CRS
    bands: tuple[str, ...]
    offset: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class _ReadPlan:
    source: Any
    sources: list[_BandSource]
    meta: dict[str, Any]
    window: Window
    full_transform: Affine
    full_shape: tuple[int, int]
    grid: SceneGrid


def _plan_read(source: Any, *, bands: Sequence[str] | None, band_names: Sequence[str] | None,
               window: WindowLike | None, bbox: tuple[float, float, float, float] | None,
               bbox_crs: str | CRS | None) -> _ReadPlan:
    """Resolve the band files and the target grid of a read (opens the files' headers only)."""
    if window is not None and bbox is not None:
        raise SceneError("give either window or bbox, not both", path=_describe(source))
    if _is_stac_source(source):
        source = load_item(source)
    sources, meta = _resolve_sources(source, band_names)
    if bands is not None:
        wanted = normalize_bands(bands)
        by_band = {s.band: s for s in sources}
        missing = [b for b in wanted if b not in by_band]
        if missing:
            raise BandError(f"band(s) {', '.join(missing)} not found (available: {', '.join(by_band)})",
                            path=_describe(source))
        sources = [by_band[b] for b in wanted]
    if len(sources) < MIN_BANDS:
        raise BandError(f"{len(sources)} band(s) found ({', '.join(s.band for s in sources) or 'none'}); "
                        f"s2label needs at least {MIN_BANDS}", path=_describe(source))
    grids = [_grid(s.path, s.asset) for s in sources]
    ref_grid = grids[min(range(len(sources)), key=lambda i: (grids[i]["res"], i))]
    ref_transform, ref_crs, full_shape = ref_grid["transform"], ref_grid["crs"], tuple(ref_grid["shape"])
    win = _target_window(source, ref_transform, ref_crs, full_shape, window, bbox, bbox_crs)
    grid = SceneGrid((int(win.height), int(win.width)), rasterio.windows.transform(win, ref_transform), ref_crs,
                     tuple(s.band for s in sources), (int(win.row_off), int(win.col_off)))
    return _ReadPlan(source, sources, meta, win, ref_transform, (int(full_shape[0]), int(full_shape[1])), grid)


def scene_grid(
    source: PathLike | Sequence[PathLike] | pystac.Item,
    *,
    bands: Sequence[str] | None = None,
    band_names: Sequence[str] | None = None,
    window: WindowLike | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    bbox_crs: str | CRS | None = None,
    **_: Any,
) -> SceneGrid:
    """The grid :func:`read_scene` would read onto, from the files' headers alone (no pixel is read).

    Takes the same arguments as :func:`read_scene` (those that do not change the grid are ignored).

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene_path
    >>> g = scene_grid(sample_scene_path(), window=((100, 356), (0, 512)))
    >>> g.shape, g.offset, len(g.bands)
    ((256, 512), (100, 0), 13)
    """
    return _plan_read(source, bands=bands, band_names=band_names, window=window, bbox=bbox,
                      bbox_crs=bbox_crs).grid


#: Bytes per pixel beside the float32 bands: the valid mask and one band being read (raw DN, float32, mask).
_READ_OVERHEAD_PER_PIXEL = 8
#: Share of the available memory a read may take; the pipeline needs the rest.
_READ_MEMORY_SHARE = 0.8


def _check_memory(n_bands: int, height: int, width: int, source: Any) -> None:
    """Refuse, before allocating anything, a read that would not fit in the memory available."""
    need = height * width * (4 * n_bands + _READ_OVERHEAD_PER_PIXEL)
    available = available_memory_bytes()
    if need > _READ_MEMORY_SHARE * available:
        raise SceneError(f"reading {n_bands} bands of {width} x {height} px needs about {need / 2**30:.1f} GiB, and "
                         f"{available / 2**30:.1f} GiB of memory is available: read a part with window= or bbox=, "
                         "or fewer bands", path=_describe(source))


# --- resolving what to read ---------------------------------------------------------------------

def _describe(source: PathLike | Sequence[PathLike] | pystac.Item) -> str:
    if is_stac_item(source):
        return describe_item(source)
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    items = [os.fspath(s) for s in cast(Sequence[PathLike], source)]
    return os.path.commonpath(items) if len(items) > 1 else (items[0] if items else "<no files>")


@contextlib.contextmanager
def _open(path: Path | str, asset: str | None = None) -> Iterator[rasterio.DatasetReader]:
    """Open a raster for the duration of a ``with`` block; read errors become :class:`SceneError` naming the
    file (and the STAC asset). Remote files are read with the HTTP options of :func:`_remote_env`."""
    of_asset = f" (asset {asset!r})" if asset else ""
    with _remote_env(path):
        if isinstance(path, str):
            ds = _open_url(path, asset)
        else:
            if not path.exists():
                raise SceneError(f"no such file or folder{of_asset}", path=path)
            try:
                ds = rasterio.open(path)
            except RasterioIOError as exc:
                raise SceneError(f"not a readable raster{of_asset} ({_reason(exc)})", path=path) from None
        with ds:
            try:
                yield ds
            except RasterioIOError as exc:
                raise SceneError(f"reading failed{of_asset} ({_reason(exc)})", path=path) from None


def _open_url(href: str, asset: str | None) -> rasterio.DatasetReader:
    """Open a URL with GDAL, retrying (uncached) a few times when the server could not be reached."""
    what = f"asset {asset!r}" if asset else "remote file"
    for attempt in range(1, _HTTP_OPEN_ATTEMPTS + 1):
        # GDAL caches a failed open; a retry must go to the server again
        nocache = rasterio.Env(CPL_VSIL_CURL_NON_CACHED=_vsi_path(href)) if attempt > 1 else contextlib.nullcontext()
        try:
            with nocache:
                return rasterio.open(href)
        except RasterioIOError as exc:
            reason = _reason(exc).removeprefix("CURL error: ")
        if not any(r in reason.lower() for r in _UNREACHABLE) or attempt == _HTTP_OPEN_ATTEMPTS:
            break
        time.sleep(_HTTP_RETRY_DELAY)
    tries = f"; gave up after {attempt} attempts" if attempt > 1 else ""
    raise SceneError(f"{what} cannot be read ({reason}{tries})", path=href)


def _reason(exc: Exception) -> str:
    return str(exc).split("\n")[0]


def _vsi_path(href: str) -> str:
    return href if href.startswith("/vsi") else f"/vsicurl/{href}"


def _is_http(path: Path | str) -> bool:
    return isinstance(path, str) and path.lower().startswith(("http://", "https://", "/vsicurl/"))


def _remote_env(path: Path | str) -> contextlib.AbstractContextManager[Any]:
    """``rasterio.Env`` with the GDAL options for efficient, bounded HTTP range reads of ``path``, or a no-op
    for a local file. Options the user has set (as environment variables or in an enclosing
    ``rasterio.Env``) are left alone."""
    if not _is_http(path):
        return contextlib.nullcontext()
    options = dict(_HTTP_GDAL_OPTIONS)
    suffix = os.path.splitext(urlsplit(str(path)).path)[1]
    if suffix:  # only the file itself: no .aux.xml / .ovr / .msk requests
        options["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] = suffix
    current = rasterio.env.getenv() if rasterio.env.hasenv() else {}
    return rasterio.Env(**{k: v for k, v in options.items() if k not in os.environ and k not in current})


def _grid(path: Path | str, asset: str | None = None) -> dict[str, Any]:
    with _open(path, asset) as ds:
        if ds.crs is None:
            raise SceneError("raster has no CRS (georeference it, e.g. gdal_edit.py -a_srs EPSG:32633)",
                             path=path)
        if ds.transform.is_identity:
            raise SceneError("raster has no geotransform", path=path)
        return {"transform": ds.transform, "crs": ds.crs, "shape": (ds.height, ds.width),
                "res": max(abs(ds.transform.a), abs(ds.transform.e))}


def _resolve_sources(source: PathLike | Sequence[PathLike] | pystac.Item,
                     band_names: Sequence[str] | None) -> tuple[list[_BandSource], dict[str, Any]]:
    if is_stac_item(source):
        return _stac_sources(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise SceneError("no such file or folder", path=path)
        safe_root = find_safe_root(path)
        if safe_root is not None:
            return _safe_sources(safe_root)
        if path.is_dir():
            return _folder_sources(path)
        return _file_sources(path, band_names), {"format": "raster"}
    paths = [Path(p) for p in cast(Sequence[PathLike], source)]
    if not paths:
        raise SceneError("empty list of files")
    out: list[_BandSource] = []
    for p in paths:
        out.extend(_file_sources(p, None, single_band_name_required=True))
    _check_unique(out, _describe(source))
    return out, {"format": "files"}


def _is_stac_source(source: object) -> bool:
    """A ``pystac.Item``, a path ending in ``.json``, or an http(s) URL that does not name a raster file."""
    if is_stac_item(source):
        return True
    if not isinstance(source, (str, os.PathLike)):
        return False
    text = os.fspath(source)
    if not isinstance(text, str):
        return False
    if text.lower().startswith(("http://", "https://")):
        return not urlsplit(text).path.lower().endswith(RASTER_SUFFIXES)
    return text.lower().endswith(".json")


def _stac_sources(item: pystac.Item) -> tuple[list[_BandSource], dict[str, Any]]:
    found = stac_bands(item)
    srcs = [_BandSource(b.band, _href_path(b.href), 1, b.scale, b.offset, asset=b.key) for b in found]
    return srcs, {"format": "stac", "item": item.id, "assets": {b.band: b.key for b in found}}


def _href_path(href: str) -> Path | str:
    """A local file as a Path (``file://`` URLs included); any other URL stays a string for GDAL."""
    parts = urlsplit(href)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    if "://" in href or href.startswith("/vsi"):
        return href
    return Path(href)


def _safe_sources(root: Path) -> tuple[list[_BandSource], dict[str, Any]]:
    product = parse_safe(root)
    srcs = [_BandSource(b, f, 1, 1.0 / product.quantification, product.offsets.get(b, 0.0))
            for b, f in product.band_files.items()]
    return srcs, {"format": "safe", "level": product.level,
                  "processing_baseline": product.processing_baseline}


def _folder_sources(folder: Path) -> tuple[list[_BandSource], dict[str, Any]]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES)
    out: list[_BandSource] = []
    ignored: list[str] = []
    for f in files:
        found = _file_sources(f, None, single_band_name_required=False)
        if found:
            out.extend(found)
        else:
            ignored.append(f.name)
    if not out:
        raise BandError("no band files found (expected names like *_B02.tif or B8A.jp2, "
                        "or single-band rasters with band descriptions)", path=folder)
    _check_unique(out, folder)
    order = {b: i for i, b in enumerate(CANONICAL_BANDS)}
    out.sort(key=lambda s: order[s.band])
    return out, {"format": "folder", "ignored": ignored}


def _file_sources(path: Path, band_names: Sequence[str] | None, *,
                  single_band_name_required: bool | None = None) -> list[_BandSource]:
    """Bands held by one file. ``single_band_name_required``: None for a lone stack, True for a listed
    file (a name must be found), False for a folder member (unnamed files are skipped)."""
    with _open(path) as ds:
        count = ds.count
        descriptions = ds.descriptions
        tags = ds.tags()
        gdal_scales, gdal_offsets = ds.scales, ds.offsets
    if single_band_name_required is not None and count == 1:
        name = band_from_filename(path) or _try_normalize(descriptions[0])
        if name is None:
            if single_band_name_required:
                raise BandError("cannot tell which band this file holds from its name or description",
                                path=path)
            return []
        return [_BandSource(name, path, 1, *_tag_scaling(tags, name, gdal_scales[0], gdal_offsets[0]))]
    if single_band_name_required is False and count > 1 and not all(_try_normalize(d) for d in descriptions):
        return []  # e.g. a preview image sitting beside the band files
    names = _stack_names(path, count, descriptions, band_names)
    return [_BandSource(n, path, i + 1, *_tag_scaling(tags, n, gdal_scales[i], gdal_offsets[i]))
            for i, n in enumerate(names)]


def _stack_names(path: Path, count: int, descriptions: Sequence[str | None],
                 band_names: Sequence[str] | None) -> tuple[str, ...]:
    if band_names is not None:
        names = normalize_bands(band_names)
        if len(names) != count:
            raise BandError(f"band_names has {len(names)} names for {count} bands", path=path)
        return names
    parsed = [_try_normalize(d) for d in descriptions]
    if all(parsed):
        try:
            return normalize_bands(parsed)  # type: ignore[arg-type]
        except BandError as exc:
            raise BandError(exc.problem, path=path) from None
    if count in (13, 12):
        names = CANONICAL_BANDS if count == 13 else tuple(b for b in CANONICAL_BANDS if b != "B10")
        warnings.warn(f"{path}: {count} bands without descriptions; assuming the ESA order "
                      f"{', '.join(names)} (pass band_names= to state it)", S2LabelWarning, stacklevel=4)
        return names
    raise BandError(f"{count} band(s) without recognisable names (descriptions: {list(descriptions)}); "
                    "pass band_names=[...] in file order", path=path)


def _try_normalize(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return normalize_band(name)
    except BandError:
        return band_from_filename(name)


def _check_unique(sources: Sequence[_BandSource], where: PathLike) -> None:
    seen: dict[str, Path | str] = {}
    for s in sources:
        if s.band in seen:
            raise BandError(f"band {s.band} found twice ({Path(seen[s.band]).name} and {Path(s.path).name}); "
                            "pass a list of files instead", path=where)
        seen[s.band] = s.path


# --- scaling ----------------------------------------------------------------------------------------

def _tag_scaling(tags: Mapping[str, str], band: str, gdal_scale: float,
                 gdal_offset: float) -> tuple[float | None, float | None]:
    """Scale and offset that a file's own metadata states, or (None, None)."""
    quant = tags.get("QUANTIFICATION_VALUE") or tags.get("BOA_QUANTIFICATION_VALUE")
    off = None
    for key in ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET", f"BOA_ADD_OFFSET_{band}", f"RADIO_ADD_OFFSET_{band}"):
        if key in tags:
            off = float(tags[key])
    if quant is None and off is None and "PROCESSING_BASELINE" in tags:
        off = baseline_offset_default(tags["PROCESSING_BASELINE"])
    if quant is not None or off is not None:
        return (1.0 / float(quant) if quant else _DEFAULT_INT_SCALE), (off or 0.0)
    if (gdal_scale, gdal_offset) != (1.0, 0.0) and gdal_scale:
        return gdal_scale, gdal_offset / gdal_scale
    return None, None


def _default_scaling(ds: rasterio.DatasetReader, src: _BandSource) -> tuple[float, float]:
    if src.scale is not None:
        return src.scale, src.offset or 0.0
    if src.asset is not None:  # a STAC asset whose item states no scaling: the file's own metadata, if any
        i = src.index - 1
        tag_scale, tag_offset = _tag_scaling(ds.tags(), src.band, ds.scales[i], ds.offsets[i])
        if tag_scale is not None:
            return tag_scale, tag_offset or 0.0
    is_int = np.issubdtype(np.dtype(ds.dtypes[src.index - 1]), np.integer)
    return (_DEFAULT_INT_SCALE if is_int else 1.0), 0.0


def _pick(value: float | Mapping[str, float] | None, band: str, default: float) -> float:
    if value is None:
        return float(default)
    if isinstance(value, Mapping):
        norm = {normalize_band(k): float(v) for k, v in value.items()}
        return norm.get(band, float(default))
    return float(value)


# --- windows and resampling -------------------------------------------------------------------------

def _target_window(source: Any, transform: Any, crs: CRS, shape: tuple[int, int],
                   window: WindowLike | None, bbox: Sequence[float] | None,
                   bbox_crs: str | CRS | None) -> Window:
    full = Window(0, 0, shape[1], shape[0])
    if window is None and bbox is None:
        return full
    if window is not None:
        win = window if isinstance(window, Window) else Window.from_slices(*window, height=shape[0],
                                                                            width=shape[1])
        win = Window(int(win.col_off), int(win.row_off), int(win.width), int(win.height))
        if (win.col_off < 0 or win.row_off < 0 or win.width <= 0 or win.height <= 0
                or win.col_off + win.width > shape[1] or win.row_off + win.height > shape[0]):
            raise SceneError(f"window rows {win.row_off}:{win.row_off + win.height}, cols "
                             f"{win.col_off}:{win.col_off + win.width} is not inside the scene of "
                             f"{shape[0]} x {shape[1]} px", path=_describe(source))
        return win
    assert bbox is not None
    if len(bbox) != 4:
        raise SceneError(f"bbox must be (minx, miny, maxx, maxy), got {bbox!r}", path=_describe(source))
    box = tuple(float(v) for v in bbox)
    if bbox_crs is not None and CRS.from_user_input(bbox_crs) != crs:
        box = transform_bounds(CRS.from_user_input(bbox_crs), crs, *box, densify_pts=21)
    frac = from_bounds(*box, transform=transform)
    c0, r0 = math.floor(frac.col_off + 1e-9), math.floor(frac.row_off + 1e-9)
    c1 = math.ceil(frac.col_off + frac.width - 1e-9)
    r1 = math.ceil(frac.row_off + frac.height - 1e-9)
    c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, shape[1]), min(r1, shape[0])
    if c1 <= c0 or r1 <= r0:
        raise SceneError(f"bbox {tuple(round(v, 6) for v in bbox)} does not overlap the scene",
                         path=_describe(source))
    return Window(c0, r0, c1 - c0, r1 - r0)


def _reproject_band(ds: rasterio.DatasetReader, index: int, nodata: float | None, dst_transform: Any,
                    dst_crs: CRS, dst_shape: tuple[int, int],
                    resampling: Resampling) -> tuple[np.ndarray, np.ndarray]:
    """Read the part of band ``index`` covering the destination grid and resample it onto that grid."""
    height, width = dst_shape
    bounds = rasterio.transform.array_bounds(height, width, dst_transform)
    west, south, east, north = bounds[0], bounds[1], bounds[2], bounds[3]
    if ds.crs != dst_crs:
        west, south, east, north = transform_bounds(dst_crs, ds.crs, west, south, east, north, densify_pts=21)
    frac = from_bounds(west, south, east, north, transform=ds.transform)
    pad = 2  # source pixels beyond the footprint, for the resampling kernel
    c0 = max(math.floor(frac.col_off) - pad, 0)
    r0 = max(math.floor(frac.row_off) - pad, 0)
    c1 = min(math.ceil(frac.col_off + frac.width) + pad, ds.width)
    r1 = min(math.ceil(frac.row_off + frac.height) + pad, ds.height)
    dst = np.full(dst_shape, np.nan, np.float32)
    if c1 > c0 and r1 > r0:
        src_win = Window(c0, r0, c1 - c0, r1 - r0)
        src = ds.read(index, window=src_win).astype(np.float32)
        if nodata is not None and not math.isnan(nodata):
            src[src == nodata] = np.nan
        reproject(src, dst, src_transform=ds.window_transform(src_win), src_crs=ds.crs, src_nodata=np.nan,
                  dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=np.nan, resampling=resampling)
    bad = np.isnan(dst)
    dst[bad] = 0.0
    return dst, bad
