"""The display grid: the segmentation reprojected onto the north-up Web-Mercator grid that Leaflet shows.

Leaflet shows Web Mercator (EPSG:3857) and stretches an ``ImageOverlay`` linearly between its south-west and
north-east corners *in Web Mercator*, while scenes come in UTM. So the segmentation is reprojected once, with
nearest neighbour, onto a north-up 3857 grid (:func:`display_grid`), and the overlay's bounds are that grid's
exact corners converted to latitude/longitude (not the scene's own latitude/longitude extent, which would
shift and stretch the image).

Every display grid is a part of one lattice, the scene's native-resolution Web-Mercator grid
(:func:`mercator_frame`): the overview is all of it coarsened to ``max_size`` pixels, a zoomed-in detail
(:mod:`s2label.display.detail`) the visible part at the screen's resolution. Both are made by
:func:`reproject_segments` and :func:`s2label.display.imagery.render_bands`, which read only the window of the
scene under the grid (:func:`source_window`). Nothing here imports ipywidgets or ipyleaflet.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> from rasterio.crs import CRS
>>> from s2label.segmentation.superpixels import Segmentation
>>> ids = np.repeat(np.repeat(np.array([[1, 2], [3, 4]], np.int32), 30, axis=0), 30, axis=1)
>>> seg = Segmentation(ids, Affine(10, 0, 300000, 0, -10, 4000000), CRS.from_epsg(32633))
>>> grid = display_grid(seg)
>>> grid.segment_ids.shape == grid.shape, sorted(np.unique(grid.segment_ids).tolist())  # 0: the empty corners
(True, [0, 1, 2, 3, 4])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import array_bounds
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

from s2label._renamed import renamed_attribute
from s2label.display._crs import WEB_MERCATOR, WGS84, crs_transformer
from s2label.errors import SegmentationError
from s2label.segmentation.superpixels import Segmentation

__all__ = ["GridSpec", "DisplayGrid", "mercator_frame", "source_window", "reproject_segments", "display_grid"]


@dataclass(frozen=True)
class GridSpec:
    """A north-up Web-Mercator pixel grid without values: where the pixels of a display raster are.

    Attributes
    ----------
    transform : affine.Affine
        Pixel (col, row) to EPSG:3857 (x, y) metres; north-up (``b == d == 0``, ``e < 0``).
    shape : tuple of int
        (h, w) in pixels.

    Examples
    --------
    >>> spec = GridSpec(Affine(10, 0, 1000, 0, -10, 5000), (20, 30))
    >>> spec.pixel_size, spec.mercator_bounds
    (10.0, (1000.0, 4800.0, 1300.0, 5000.0))
    >>> spec.contains((1100, 4850, 1200, 4990)), spec.contains((900, 4850, 1200, 4990))
    (True, False)
    >>> spec.coarsened(15).shape, spec.coarsened(15).pixel_size, spec.coarsened(100) == spec
    ((10, 15), 20.0, True)
    """

    transform: Affine
    shape: tuple[int, int]

    @property
    def pixel_size(self) -> float:
        """Side of a pixel in Web-Mercator metres."""
        return abs(float(self.transform.a))

    @property
    def mercator_bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in EPSG:3857 metres: the outer edges of the corner pixels."""
        h, w = self.shape
        x0, y0 = self.transform * (0, 0)
        x1, y1 = self.transform * (w, h)
        return (float(min(x0, x1)), float(min(y0, y1)), float(max(x0, x1)), float(max(y0, y1)))

    def contains(self, bounds: tuple[float, float, float, float]) -> bool:
        """Whether (left, bottom, right, top) EPSG:3857 bounds lie inside the grid."""
        left, bottom, right, top = self.mercator_bounds
        return bool(left <= bounds[0] and bottom <= bounds[1] and bounds[2] <= right and bounds[3] <= top)

    def coarsened(self, max_size: int) -> GridSpec:
        """The same top-left corner and extent (to one pixel) with at most ``max_size`` pixels on a side.

        The grid is returned unchanged when it already fits; it is never made finer.
        """
        if not isinstance(max_size, (int, np.integer)) or max_size < 1:
            raise ValueError(f"max_size must be a positive number of pixels, got {max_size!r}")
        h, w = self.shape
        factor = max(h, w) / max_size
        if factor <= 1:
            return self
        return GridSpec(self.transform * Affine.scale(factor),
                        (min(max_size, max(1, math.ceil(h / factor - 1e-9))),
                         min(max_size, max(1, math.ceil(w / factor - 1e-9)))))


@dataclass(frozen=True, eq=False)
class DisplayGrid:
    """A north-up Web-Mercator raster covering a segmentation, with the segment id of every display pixel.

    Attributes
    ----------
    transform : affine.Affine
        Pixel (col, row) to EPSG:3857 (x, y) metres.
    shape : tuple of int
        (h, w) of the display raster.
    segment_ids : ndarray, shape (h, w), int32, read-only
        The segmentation's labels reprojected with nearest neighbour; 0 outside the scene and where masked.
    bounds : tuple
        ``((south, west), (north, east))`` in degrees: the exact corners of the grid, as
        ``ipyleaflet.ImageOverlay(bounds=...)`` takes them.
    centre : tuple of float
        (lat, lon) of the middle of the grid, for ``ipyleaflet.Map(center=...)`` (``center`` before 0.2).
    n_segments : int
        N of the source segmentation: a lookup table for :func:`colour_segments` needs N + 1 rows.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.ones((200, 300), np.int32), Affine(10, 0, 500000, 0, -10, 4000000),
    ...                    CRS.from_epsg(32633))
    >>> grid = display_grid(seg, max_size=100)
    >>> grid.shape, grid.crs.to_epsg()
    ((67, 100), 3857)
    >>> (south, west), (north, east) = grid.bounds
    >>> bool(south < grid.centre[0] < north and west < grid.centre[1] < east)
    True
    """

    transform: Affine
    shape: tuple[int, int]
    segment_ids: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]
    centre: tuple[float, float]
    n_segments: int

    center = renamed_attribute("centre", "DisplayGrid.center")

    @property
    def crs(self) -> CRS:
        """Always EPSG:3857."""
        return WEB_MERCATOR

    @property
    def pixel_size(self) -> float:
        """Side of a display pixel in Web-Mercator metres (larger than ground metres away from the equator)."""
        return abs(float(self.transform.a))

    @property
    def spec(self) -> GridSpec:
        """The grid without its values."""
        return GridSpec(self.transform, self.shape)


def mercator_frame(segmentation: Segmentation) -> GridSpec:
    """The Web-Mercator grid at about the native resolution that covers a whole segmentation.

    :func:`rasterio.warp.calculate_default_transform`'s grid (a few milliseconds whatever the scene's size):
    the overview (:func:`display_grid`) is this grid coarsened, and a detail grid (:mod:`.detail`) is a part
    of it at the resolution of the map's zoom; no display grid is finer than this one.

    Parameters
    ----------
    segmentation : Segmentation
        Gives the grid to cover (its ``shape``, ``transform`` and ``crs``).

    Returns
    -------
    GridSpec
        North-up EPSG:3857 grid covering the segmentation's bounds.

    Raises
    ------
    SegmentationError
        The segmentation is empty (no row or no column).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> frame = mercator_frame(Segmentation(np.ones((100, 100)), Affine(10, 0, 500000, 0, -10, 4000000),
    ...                                     CRS.from_epsg(32633)))
    >>> frame.shape, round(frame.pixel_size, 1)         # 10 m at 36 degrees north: 12.4 Mercator metres
    ((100, 100), 12.4)
    """
    height, width = segmentation.shape
    if height == 0 or width == 0:
        raise SegmentationError(f"cannot display an empty segmentation of shape {segmentation.shape}")
    left, bottom, right, top = array_bounds(height, width, segmentation.transform)
    transform, dst_w, dst_h = calculate_default_transform(
        segmentation.crs, WEB_MERCATOR, width, height, left=left, bottom=bottom, right=right, top=top)
    return GridSpec(transform, (int(dst_h), int(dst_w)))


def source_window(transform: Affine, shape: tuple[int, int], crs: CRS, spec: GridSpec, *,
                  pad: int = 2) -> tuple[slice, slice] | None:
    """The rows and columns of a raster that a display grid needs (with ``pad`` pixels around), or ``None``.

    Parameters
    ----------
    transform, shape, crs
        The source raster's grid: pixel to CRS transform, (H, W), CRS.
    spec : GridSpec
        The display grid.
    pad : int
        Extra source pixels on every side (nearest neighbour needs none, bilinear one).

    Returns
    -------
    (slice, slice) or None
        ``raster[rows, cols]`` is all a reprojection onto ``spec`` reads; ``None`` if the grids do not overlap.

    Examples
    --------
    >>> import numpy as np
    >>> from rasterio.crs import CRS
    >>> src = Affine(10, 0, 0, 0, -10, 1000)
    >>> source_window(src, (100, 100), CRS.from_epsg(3857), GridSpec(Affine(5, 0, 200, 0, -5, 900), (20, 40)))
    (slice(8, 22, None), slice(18, 42, None))
    >>> source_window(src, (100, 100), CRS.from_epsg(3857), GridSpec(Affine(5, 0, 5000, 0, -5, 900), (2, 2)))
    """
    height, width = shape
    left, bottom, right, top = spec.mercator_bounds
    if crs == WEB_MERCATOR:
        xs, ys = [left, right, right, left], [top, top, bottom, bottom]
    else:
        l2, b2, r2, t2 = transform_bounds(WEB_MERCATOR, crs, left, bottom, right, top, densify_pts=21)
        xs, ys = [l2, r2, r2, l2], [t2, t2, b2, b2]
    inv = ~transform
    cols, rows = zip(*(inv * (x, y) for x, y in zip(xs, ys, strict=True)), strict=True)
    if not np.isfinite(cols + rows).all():
        return None
    c0, c1 = max(math.floor(min(cols)) - pad, 0), min(math.ceil(max(cols)) + pad, width)
    r0, r1 = max(math.floor(min(rows)) - pad, 0), min(math.ceil(max(rows)) + pad, height)
    if c1 <= c0 or r1 <= r0:
        return None
    return slice(r0, r1), slice(c0, c1)


def reproject_segments(segmentation: Segmentation, spec: GridSpec, *, n_segments: int | None = None) -> DisplayGrid:
    """The segment id of every pixel of a display grid (nearest neighbour), reading only the window it needs.

    Both the overview (:func:`display_grid`) and the zoomed-in detail grids (:mod:`.detail`) are made here;
    a grid over a small part of a large scene costs about as much as its own size, not the scene's.

    Parameters
    ----------
    segmentation : Segmentation
    spec : GridSpec
        The display grid.
    n_segments : int, optional
        ``segmentation.n_segments``, if the caller knows it (it is a pass over the whole raster otherwise).

    Returns
    -------
    DisplayGrid
        0 outside the scene and where masked.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.array([[1, 2], [3, 4]]).repeat(50, 0).repeat(50, 1), Affine(10, 0, 500000, 0,
    ...                    -10, 4000000), CRS.from_epsg(32633))
    >>> frame = mercator_frame(seg)
    >>> part = GridSpec(frame.transform * Affine.translation(60, 60), (10, 10))   # inside segment 4
    >>> grid = reproject_segments(seg, part)
    >>> grid.shape, np.unique(grid.segment_ids).tolist(), grid.n_segments
    ((10, 10), [4], 4)
    """
    h, w = spec.shape
    ids = np.zeros((h, w), np.int32)
    window = source_window(segmentation.transform, segmentation.shape, segmentation.crs, spec)
    if window is not None:
        rows, cols = window
        reproject(np.ascontiguousarray(segmentation.ids[rows, cols]), ids,
                  src_transform=segmentation.transform * Affine.translation(cols.start, rows.start),
                  src_crs=segmentation.crs, src_nodata=0, dst_transform=spec.transform, dst_crs=WEB_MERCATOR,
                  dst_nodata=0, resampling=Resampling.nearest)
    ids.setflags(write=False)

    left, bottom, right, top = spec.mercator_bounds
    to_lonlat = crs_transformer(WEB_MERCATOR, WGS84)
    lons, lats = to_lonlat.transform([left, right, (left + right) / 2], [bottom, top, (bottom + top) / 2])
    bounds = ((float(lats[0]), float(lons[0])), (float(lats[1]), float(lons[1])))
    return DisplayGrid(transform=spec.transform, shape=(h, w), segment_ids=ids, bounds=bounds,
                       centre=(float(lats[2]), float(lons[2])),
                       n_segments=segmentation.n_segments if n_segments is None else int(n_segments))


def display_grid(segmentation: Segmentation, *, max_size: int = 1600) -> DisplayGrid:
    """Reproject a segmentation onto a Web-Mercator grid for display: the whole scene (the overview).

    The grid is :func:`mercator_frame`'s (about the native resolution), coarsened when its longest side
    exceeds ``max_size``; it is never finer than that.

    Parameters
    ----------
    segmentation : Segmentation
    max_size : int
        Longest side of the display raster, in pixels.

    Returns
    -------
    DisplayGrid

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.array([[1, 2], [3, 4]]).repeat(50, 0).repeat(50, 1), Affine(10, 0, 500000, 0,
    ...                    -10, 4000000), CRS.from_epsg(32633))
    >>> grid = display_grid(seg, max_size=50)
    >>> grid.shape, int(grid.segment_ids[10, 10]), int(grid.segment_ids[40, 40])
    ((50, 50), 1, 4)
    """
    if not isinstance(max_size, (int, np.integer)) or max_size < 1:
        raise ValueError(f"max_size must be a positive number of pixels, got {max_size!r}")
    return reproject_segments(segmentation, mercator_frame(segmentation).coarsened(max_size))
