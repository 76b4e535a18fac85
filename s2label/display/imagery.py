"""The scene's bands as an RGBA image on a display grid: percentile stretch, block means, no-data transparent.

Examples
--------
>>> import numpy as np
>>> import s2label
>>> from s2label.display.mercator import display_grid
>>> from s2label.display.imagery import band_limits, render_bands
>>> scene = s2label.sample_scene(window=((0, 64), (0, 64)))
>>> grid = display_grid(s2label.segment(scene, segment_size=200))
>>> image = render_bands(scene, grid, ["B04", "B03", "B02"])
>>> image.shape == grid.shape + (4,), image.dtype.name
(True, 'uint8')
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from affine import Affine
from rasterio.warp import Resampling, reproject

from s2label.display._crs import WEB_MERCATOR
from s2label.display.colours import stretch
from s2label.display.mercator import (
    DisplayGrid,
    GridSpec,
    source_window,
)
from s2label.errors import BandError
from s2label.io.scene import Scene

__all__ = ["band_limits", "render_bands"]


def band_limits(scene: Scene, bands: Sequence[str], *, percentiles: tuple[float, float] = (2, 98),
                max_pixels: int = 1_000_000) -> np.ndarray:
    """The reflectances that :func:`render_bands` maps to 0 and 255, from the whole scene.

    Percentiles of the valid pixels of a regular subsample (every k-th row and column, at most about
    ``max_pixels`` pixels), so that an overview and every zoomed-in detail of it share one stretch.

    Parameters
    ----------
    scene : Scene
    bands : sequence of 3 str
    percentiles : (float, float)
    max_pixels : int

    Returns
    -------
    ndarray, shape (3, 2), float64
        (low, high) of each band; (0, 0) when the scene has no valid pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> from s2label.display.mercator import display_grid
    >>> from s2label.segmentation.superpixels import Segmentation
    >>> ramp = np.tile(np.linspace(0, 0.3, 101, dtype=np.float32), (3, 10, 1))
    >>> scene = Scene(ramp, ("B02", "B03", "B04"), Affine(10, 0, 0, 0, -10, 0), CRS.from_epsg(32633),
    ...               np.ones((10, 101), bool))
    >>> band_limits(scene, ["red", "green", "blue"], percentiles=(10, 90)).round(3).tolist()
    [[0.03, 0.27], [0.03, 0.27], [0.03, 0.27]]
    """
    bands = list(bands)
    if len(bands) != 3:
        raise BandError(f"an RGB image needs 3 bands, got {len(bands)}: {bands}", path=scene.source or None)
    index = [scene.band_index(b) for b in bands]
    low, high = (float(p) for p in percentiles)
    if not 0 <= low < high <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}")
    step = max(1, math.ceil(math.sqrt(scene.height * scene.width / max(int(max_pixels), 1))))
    valid = scene.valid[::step, ::step]
    limits = np.zeros((3, 2))
    for k, i in enumerate(index):
        values = scene.data[i, ::step, ::step][valid]
        values = values[np.isfinite(values)]
        if values.size:
            limits[k] = np.percentile(values.astype(np.float64), [low, high])
    return limits


def render_bands(scene: Scene, grid: DisplayGrid | GridSpec, bands: Sequence[str], *,
                 percentiles: tuple[float, float] = (2, 98), limits: np.ndarray | None = None) -> np.ndarray:
    """Three bands of a scene as an RGBA image on a display grid.

    Each band is reprojected bilinearly (no-data pixels left out of the kernel) and stretched linearly
    from its low to its high percentile over the valid display pixels, or between given ``limits``; alpha is
    255 where the scene is valid (nearest neighbour) and 0 elsewhere, including outside the scene. Only the
    part of the scene under the grid is read (:func:`source_window`).

    Parameters
    ----------
    scene : Scene
    grid : DisplayGrid or GridSpec
    bands : sequence of 3 str
        Band names for red, green and blue (any spelling :func:`~s2label.io.bands.normalise_band` accepts).
    percentiles : (float, float)
        Low and high percentiles mapped to 0 and 255.
    limits : ndarray, shape (3, 2), optional
        (low, high) reflectance of each band mapped to 0 and 255 instead (:func:`band_limits`): a detail grid
        is then coloured like the overview.

    Returns
    -------
    ndarray, shape (h, w, 4), uint8

    Raises
    ------
    BandError
        If a band is not in the scene, or not three bands are given.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> from s2label.display.mercator import display_grid
    >>> from s2label.segmentation.superpixels import Segmentation
    >>> t, crs = Affine(10, 0, 500000, 0, -10, 4000000), CRS.from_epsg(32633)
    >>> ramp = np.tile(np.linspace(0, 0.3, 40, dtype=np.float32), (3, 40, 1))
    >>> valid = np.ones((40, 40), bool); valid[:, :10] = False
    >>> scene = Scene(ramp, ("B02", "B03", "B04"), t, crs, valid)
    >>> rgba = render_bands(scene, display_grid(Segmentation(np.ones((40, 40)), t, crs)), ["red", "green", "blue"])
    >>> rgba.shape, rgba.dtype.name, int(rgba[20, 3, 3]), int(rgba[20, 30, 3])
    ((40, 40, 4), 'uint8', 0, 255)
    """
    bands = list(bands)
    if len(bands) != 3:
        raise BandError(f"an RGB image needs 3 bands, got {len(bands)}: {bands}", path=scene.source or None)
    index = [scene.band_index(b) for b in bands]
    stretch(np.zeros(0), percentiles)  # checks the percentiles before any work
    if limits is not None:
        limits = np.asarray(limits, np.float64)
        if limits.shape != (3, 2):
            raise ValueError(f"limits must be (3, 2): (low, high) of each band, got shape {limits.shape}")
    h, w = grid.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    spec = grid if isinstance(grid, GridSpec) else grid.spec
    window = source_window(scene.transform, scene.shape, scene.crs, spec)
    if window is None:
        return rgba
    rows, cols = window
    scene_valid = scene.valid[rows, cols]
    src = scene.data[index, rows, cols]                     # (3, window), a copy
    src_transform = scene.transform * Affine.translation(cols.start, rows.start)
    k = int(min(scene_valid.shape[0] / h, scene_valid.shape[1] / w))   # about k x k source pixels per display pixel
    if k >= 2:  # average k x k blocks first: an overview of the window, as GDAL's, and k**2 times less to warp
        src, scene_valid = _block_mean(src, scene_valid, k)
        src_transform = src_transform * Affine.scale(k)
    geo = dict(src_transform=src_transform, src_crs=scene.crs, dst_transform=spec.transform, dst_crs=WEB_MERCATOR)

    valid = np.zeros((h, w), np.uint8)
    reproject(np.ascontiguousarray(scene_valid).view(np.uint8), valid, src_nodata=0, dst_nodata=0,
              resampling=Resampling.nearest, **geo)
    all_valid = bool(scene_valid.all())
    if not all_valid:
        src[:, ~scene_valid] = np.nan
    planes = np.full((3, h, w), np.nan, np.float32)
    reproject(src, planes, src_nodata=None if all_valid else np.nan, dst_nodata=np.nan,
              resampling=Resampling.bilinear, **geo)        # the three bands in one warp (a fifth faster)
    shown = valid.astype(bool) & np.isfinite(planes).all(axis=0)

    for k, plane in enumerate(planes):
        rgba[..., k][shown] = stretch(plane[shown], percentiles, limits=None if limits is None else limits[k])
    rgba[..., 3][shown] = 255
    return rgba


def _block_mean(planes: np.ndarray, valid: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the valid pixels of each k x k block: (C, H, W) float32 and (H, W) bool to (C, ceil(H / k),
    ceil(W / k)) and the blocks with any valid pixel (the last row and column of blocks may be partial)."""
    c, h, w = planes.shape
    hk, wk = -(-h // k), -(-w // k)
    sums = np.zeros((c, hk, wk), np.float32)
    counts = np.zeros((hk, wk), np.float32)
    values = planes if valid.all() else np.where(valid, planes, np.float32(0))
    for i in range(k):         # k**2 strided additions: much faster than a reduction over a 5-d reshape
        for j in range(k):
            part = values[:, i::k, j::k]
            sums[:, : part.shape[1], : part.shape[2]] += part
            counts[: part.shape[1], : part.shape[2]] += valid[i::k, j::k]
    return sums / np.maximum(counts, 1), counts > 0
