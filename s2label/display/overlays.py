"""What the map shows of the segments, computed without any widget: colour lookup tables and the rasters they paint.

Clusters and labels are shown by recolouring the display raster of segment ids (:mod:`s2label.display.mercator`)
through a lookup table of one colour per segment (:func:`segment_lut`, :func:`colour_segments`), so a recolour
sends one PNG and never any geometry; a selection is drawn the same way as outlines only
(:func:`outline_segments`). Clicks and drawn polygons go the other way, from WGS84 to the scene grid
(:mod:`s2label.display.locate`). Nothing here imports ipywidgets or ipyleaflet.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> from rasterio.crs import CRS
>>> from s2label.display.images import png_data_url
>>> from s2label.display.mercator import display_grid
>>> from s2label.segmentation.superpixels import Segmentation
>>> ids = np.repeat(np.repeat(np.array([[1, 2], [3, 4]], np.int32), 30, axis=0), 30, axis=1)
>>> seg = Segmentation(ids, Affine(10, 0, 300000, 0, -10, 4000000), CRS.from_epsg(32633))
>>> grid = display_grid(seg)
>>> colours = np.array([[255, 0, 0], [255, 0, 0], [0, 0, 255], [0, 0, 255]], np.uint8)  # segments 1, 2 red
>>> image = colour_segments(grid, segment_lut(colours))
>>> image.shape == grid.shape + (4,), png_data_url(image).startswith("data:image/png;base64,")
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from s2label.display.colours import to_rgb
from s2label.display.images import _as_uint8
from s2label.display.mercator import (
    DisplayGrid,
)
from s2label.errors import SegmentationError

__all__ = ["colour_segments", "outline_segments", "segment_lut", "label_lut"]


# --- cluster colours ---------------------------------------------------------------------------------

def colour_segments(grid: DisplayGrid, lut: np.ndarray) -> np.ndarray:
    """Paint the display grid through a lookup table of one RGBA colour per segment id.

    Parameters
    ----------
    grid : DisplayGrid
    lut : ndarray, shape (N + 1, 4), uint8
        Row ``i`` is the colour of segment ``i``; row 0 (masked, outside the scene) is usually transparent.

    Returns
    -------
    ndarray, shape (h, w, 4), uint8
        ``lut[grid.segment_ids]`` (computed as one 32-bit gather: a few milliseconds for 1600 x 1600 px).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> from s2label.display.mercator import display_grid
    >>> from s2label.segmentation.superpixels import Segmentation
    >>> seg = Segmentation(np.array([[1, 2]]).repeat(20, 0).repeat(20, 1), Affine(10, 0, 500000, 0, -10,
    ...                    4000000), CRS.from_epsg(32633))
    >>> grid = display_grid(seg)
    >>> lut = np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 255, 128]], np.uint8)
    >>> image = colour_segments(grid, lut)
    >>> image[10, 5].tolist(), image[10, 35].tolist()
    ([255, 0, 0, 255], [0, 0, 255, 128])
    """
    packed = _packed_lut(lut, grid.n_segments)
    return np.take(packed, grid.segment_ids).view(np.uint8).reshape(grid.shape + (4,))


def _packed_lut(lut: np.ndarray, n_segments: int) -> np.ndarray:
    """An (N + 1, 4) RGBA lookup table checked and viewed as (N + 1,) uint32 (one pixel per element)."""
    table = _as_uint8(lut, "lut")
    if table.ndim != 2 or table.shape[1] != 4:
        raise ValueError(f"lut must be (N + 1, 4) RGBA, got shape {table.shape}")
    if table.shape[0] < n_segments + 1:
        raise SegmentationError(f"lut has {table.shape[0]} rows for segment ids 0..{n_segments}; "
                                f"it needs {n_segments + 1}")
    return np.ascontiguousarray(table).view(np.uint32).reshape(-1)


def outline_segments(grid_or_ids: DisplayGrid | np.ndarray, lut: np.ndarray, *, width: int = 2) -> np.ndarray:
    """Paint only the borders of the segments that a lookup table shows: a selection drawn as outlines.

    Like :func:`colour_segments`, but a pixel of segment ``i`` gets ``lut[i]`` only if ``lut[i]``'s alpha is
    above 0 and it is a border pixel: within ``width`` pixels of it (the (2 width + 1)-pixel square around
    it) lies a pixel of another segment id, no data (id 0) included. The image's edge is *not* a border: a
    segment cut by the edge of the raster stays open there. Id 0 itself is never painted. Everything else is
    transparent, so the colours under the outlines stay visible.

    Computed as ``(maximum_filter(ids) != ids) | (minimum_filter(ids) != ids)`` (:mod:`scipy.ndimage`, edge
    pixels repeated outwards, which is what keeps the image's edge from counting), on the smallest box
    around the painted segments only: about 50 ms for a 1600 x 1600 raster of 20,000 segments all shown,
    7 ms for a selection of a few.

    Parameters
    ----------
    grid_or_ids : DisplayGrid or ndarray, shape (h, w), int
        A display grid (its ``segment_ids``) or a raster of segment ids >= 0.
    lut : ndarray, shape (N + 1, 4), uint8
        Row ``i`` is the colour of segment ``i`` (N: ``grid.n_segments``, or the raster's largest id).
    width : int
        Thickness of the outline in pixels (>= 1), measured inwards from the segment's border.

    Returns
    -------
    ndarray, shape (h, w, 4), uint8

    Examples
    --------
    >>> ids = np.array([[1, 1, 1, 1, 2, 2],
    ...                 [1, 1, 1, 1, 2, 2],
    ...                 [1, 1, 1, 1, 2, 2],
    ...                 [0, 0, 0, 0, 2, 2]])
    >>> lut = np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 255, 0]], np.uint8)   # segment 1 shown
    >>> outline_segments(ids, lut, width=1)[..., 3] // 255
    array([[0, 0, 0, 1, 0, 0],
           [0, 0, 0, 1, 0, 0],
           [1, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0]], dtype=uint8)
    """
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f"width must be an integer >= 1 pixels, got {width!r}")
    if isinstance(grid_or_ids, DisplayGrid):
        ids, n_segments = grid_or_ids.segment_ids, grid_or_ids.n_segments
    else:
        ids = np.asarray(grid_or_ids)
        if ids.ndim != 2 or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(f"segment ids must be an (h, w) integer raster, got shape {ids.shape} "
                             f"dtype {ids.dtype}")
        if ids.size and ids.min() < 0:
            raise ValueError(f"segment ids must be >= 0, got {int(ids.min())}")
        n_segments = int(ids.max()) if ids.size else 0
    packed = _packed_lut(lut, n_segments)
    h, w = ids.shape
    out = np.zeros((h, w), np.uint32)
    shown = packed.view(np.uint8).reshape(-1, 4)[:, 3] > 0
    shown[0] = False                                   # no data is not a segment
    if not shown.any() or ids.size == 0:
        return out.view(np.uint8).reshape(h, w, 4)
    painted = shown[ids]
    rows, cols = np.flatnonzero(painted.any(axis=1)), np.flatnonzero(painted.any(axis=0))
    if rows.size == 0:
        return out.view(np.uint8).reshape(h, w, 4)
    # the box around the painted pixels, with `width` pixels more on each side (the filters' reach)
    r0, r1 = max(int(rows[0]) - width, 0), min(int(rows[-1]) + width + 1, h)
    c0, c1 = max(int(cols[0]) - width, 0), min(int(cols[-1]) + width + 1, w)
    box = ids[r0:r1, c0:c1]
    size = 2 * width + 1
    border = ndimage.maximum_filter(box, size=size, mode="nearest") != box
    border |= ndimage.minimum_filter(box, size=size, mode="nearest") != box
    border &= painted[r0:r1, c0:c1]
    out[r0:r1, c0:c1][border] = packed[box[border]]
    return out.view(np.uint8).reshape(h, w, 4)


def segment_lut(segment_colours: np.ndarray, *, alpha: int = 255,
                visible: np.ndarray | None = None) -> np.ndarray:
    """A lookup table for :func:`colour_segments` from one colour per segment.

    Parameters
    ----------
    segment_colours : ndarray, shape (N, 3) or (N, 4), uint8
        Colour of segment ``id`` at row ``id - 1``; RGB rows get ``alpha``.
    alpha : int
        Opacity (0-255) of RGB colours.
    visible : ndarray (N,) bool, optional
        Segments to show; the others become transparent.

    Returns
    -------
    ndarray, shape (N + 1, 4), uint8
        Row 0 (no segment) is transparent.

    Examples
    --------
    >>> segment_lut(np.array([[255, 0, 0], [0, 255, 0]]), alpha=200, visible=np.array([True, False])).tolist()
    [[0, 0, 0, 0], [255, 0, 0, 200], [0, 255, 0, 0]]
    """
    colours = _as_uint8(segment_colours, "segment_colours")
    if colours.ndim != 2 or colours.shape[1] not in (3, 4):
        raise ValueError(f"segment_colours must be (N, 3) RGB or (N, 4) RGBA, got shape {colours.shape}")
    if not 0 <= alpha <= 255:
        raise ValueError(f"alpha must be 0-255, got {alpha}")
    n = colours.shape[0]
    lut = np.zeros((n + 1, 4), np.uint8)
    lut[1:, : colours.shape[1]] = colours
    if colours.shape[1] == 3:
        lut[1:, 3] = alpha
    if visible is not None:
        shown = np.asarray(visible, bool)
        if shown.shape != (n,):
            raise ValueError(f"visible must be ({n},) bool, got shape {shown.shape}")
        lut[1:, 3][~shown] = 0
    return lut


def label_lut(label_of_segment: np.ndarray, label_colours: Mapping[int, str | Sequence[int] | None], *,
              unlabelled: Sequence[int] = (0, 0, 0, 0), confidence: np.ndarray | None = None) -> np.ndarray:
    """A lookup table colouring each segment by its label (the explorer's label overlay).

    Parameters
    ----------
    label_of_segment : ndarray (N,) int
        Label id of segment ``id`` at index ``id - 1``; -1 = unlabelled.
    label_colours : mapping of int to colour or None
        Each label's colour (a hex string or RGB); ``None`` hides the label (transparent).
    unlabelled : 4 ints
        RGBA of unlabelled segments (default transparent).
    confidence : ndarray (N,) float in [0, 1], optional
        Scales each segment's opacity (e.g. ``0.25 + 0.75 * probability``).

    Returns
    -------
    ndarray, shape (N + 1, 4), uint8
        Row 0 (no segment) is transparent.

    Examples
    --------
    >>> label_lut(np.array([0, -1, 3]), {0: "#ff0000", 3: None}, unlabelled=(9, 9, 9, 100)).tolist()
    [[0, 0, 0, 0], [255, 0, 0, 255], [9, 9, 9, 100], [0, 0, 0, 0]]
    """
    labels = np.asarray(label_of_segment)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"label_of_segment must be (N,) integers, got shape {labels.shape} dtype {labels.dtype}")
    if labels.size and labels.min() < -1:
        raise ValueError(f"label ids must be >= -1 (-1 = unlabelled), got {int(labels.min())}")
    top = max([int(labels.max()) if labels.size else -1, *label_colours]) + 2
    table = np.zeros((top + 1, 4), np.uint8)  # row = label id + 1; row 0 = unlabelled; the last: none
    table[0] = _as_uint8(list(unlabelled), "unlabelled")
    for label_id, colour in label_colours.items():
        if colour is not None:
            table[label_id + 1] = (*to_rgb(colour), 255)
    lut = np.zeros((labels.size + 1, 4), np.uint8)
    lut[1:] = table[labels + 1]
    if confidence is not None:
        scale = np.clip(np.asarray(confidence, np.float32), 0, 1)
        if scale.shape != labels.shape:
            raise ValueError(f"confidence must be ({labels.size},), got shape {scale.shape}")
        lut[1:, 3] = (lut[1:, 3] * scale).astype(np.uint8)
    return lut
