"""Read Sentinel-2 scenes: a multi-band GeoTIFF/JP2, a folder or list of single-band files, a ``.SAFE``, or a
STAC item whose assets are Cloud-Optimised GeoTIFFs (read over HTTP, only the part needed).

Every band is brought onto the grid of the finest band (10 m for Sentinel-2) with
:func:`rasterio.warp.reproject`, since the 20 m and 60 m grids need not nest exactly in the 10 m one.
Digital numbers become reflectance as ``(DN + offset) * scale``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window, from_bounds
from tqdm.auto import tqdm

from s2label._profiling import available_memory_bytes
from s2label.errors import BandError, SceneError
from s2label.io.band_files import (
    _DEFAULT_INT_SCALE,
    PathLike,
    _BandSource,
    _describe,
    _grid,
    _is_stac_source,
    _open,
    _resolve_sources,
    _tag_scaling,
)
from s2label.io.bands import normalise_band, normalise_bands
from s2label.io.scene import Scene
from s2label.io.stac import load_item

if TYPE_CHECKING:
    import pystac

__all__ = ["read_scene", "scene_grid", "SceneGrid", "MIN_BANDS"]

WindowLike: TypeAlias = Window | tuple[tuple[int, int], tuple[int, int]]

#: Fewest bands a scene may have: segmentation and encoders need a spectrum, not a grey image.
MIN_BANDS = 3


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
        raise SceneError("give either window or bbox (--window or --bbox), not both", path=_describe(source))
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
        raise SceneError("give either window or bbox (--window or --bbox), not both", path=_describe(source))
    if _is_stac_source(source):
        source = load_item(source)
    sources, meta = _resolve_sources(source, band_names)
    if bands is not None:
        wanted = normalise_bands(bands)
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

    Parameters
    ----------
    source : path-like, sequence of path-like, or pystac.Item
        Anything :func:`read_scene` reads.
    bands, band_names, window, bbox, bbox_crs
        As for :func:`read_scene`.
    **options
        :func:`read_scene`'s other arguments (``scale``, ``offset``, ``nodata``, ...), which do not change the
        grid: ignored.

    Returns
    -------
    SceneGrid
        Shape, transform, CRS, bands and offset of the grid.

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
                         f"{available / 2**30:.1f} GiB of memory is available: read a part with window= or bbox= "
                         "(--window, --bbox), or fewer bands (bands=, --bands)", path=_describe(source))


# --- resolving what to read ---------------------------------------------------------------------


# --- scaling ----------------------------------------------------------------------------------------


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
        norm = {normalise_band(k): float(v) for k, v in value.items()}
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
            raise SceneError(f"window (--window) rows {win.row_off}:{win.row_off + win.height}, cols "
                             f"{win.col_off}:{win.col_off + win.width} is not inside the scene of "
                             f"{shape[0]} x {shape[1]} px", path=_describe(source))
        return win
    assert bbox is not None
    if len(bbox) != 4:
        raise SceneError(f"bbox (--bbox) must be (minx, miny, maxx, maxy), got {bbox!r}", path=_describe(source))
    box = tuple(float(v) for v in bbox)
    if bbox_crs is not None and CRS.from_user_input(bbox_crs) != crs:
        box = transform_bounds(CRS.from_user_input(bbox_crs), crs, *box, densify_pts=21)
    frac = from_bounds(*box, transform=transform)
    c0, r0 = math.floor(frac.col_off + 1e-9), math.floor(frac.row_off + 1e-9)
    c1 = math.ceil(frac.col_off + frac.width - 1e-9)
    r1 = math.ceil(frac.row_off + frac.height - 1e-9)
    c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, shape[1]), min(r1, shape[0])
    if c1 <= c0 or r1 <= r0:
        raise SceneError(f"bbox (--bbox) {tuple(round(v, 6) for v in bbox)} does not overlap the scene",
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
