"""Selection outlines (outline_segments) and the empty overlay image (EMPTY_IMAGE), on id rasters whose
answer is known, checked against a direct per-pixel definition of a border pixel."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
from affine import Affine
from PIL import Image
from rasterio.crs import CRS

from s2label.display.images import EMPTY_IMAGE
from s2label.display.mercator import display_grid
from s2label.display.overlays import colour_segments, outline_segments
from s2label.errors import SegmentationError
from s2label.segmentation.superpixels import Segmentation

RED = [255, 0, 0, 255]


def quadrants() -> np.ndarray:
    """8 x 8: ids 1 (top left), 2 (top right), 3 (bottom left), 4 (bottom right), 4 x 4 each."""
    return np.array([[1, 2], [3, 4]], np.int32).repeat(4, axis=0).repeat(4, axis=1)


def lut_showing(n: int, shown: list[int], colour: list[int] = RED) -> np.ndarray:
    lut = np.zeros((n + 1, 4), np.uint8)
    lut[1:] = [9, 9, 9, 0]                         # hidden segments: alpha 0, colour not 0
    lut[shown] = colour
    return lut


def border_by_definition(ids: np.ndarray, width: int) -> np.ndarray:
    """A pixel whose (2 width + 1) square, clipped to the image, holds another id (slow, obvious)."""
    h, w = ids.shape
    out = np.zeros((h, w), bool)
    for r in range(h):
        for c in range(w):
            window = ids[max(r - width, 0): r + width + 1, max(c - width, 0): c + width + 1]
            out[r, c] = bool((window != ids[r, c]).any())
    return out


def test_one_quadrant_width_1_and_2():
    ids = quadrants()
    for width in (1, 2):
        image = outline_segments(ids, lut_showing(4, [4]), width=width)
        assert image.shape == (8, 8, 4) and image.dtype == np.uint8
        expected = np.zeros((8, 8), bool)
        # segment 4 (rows 4-7, cols 4-7) touches others along row 4 and col 4 only (the rest is image edge)
        expected[4: 4 + width, 4:] = True
        expected[4:, 4: 4 + width] = True
        assert np.array_equal(image[..., 3] > 0, expected), width
        assert (image[expected] == RED).all()
        assert (image[~expected] == 0).all()             # interior, edge and other quadrants transparent
    assert int((outline_segments(ids, lut_showing(4, [4]), width=1)[..., 3] > 0).sum()) == 7
    assert int((outline_segments(ids, lut_showing(4, [4]), width=2)[..., 3] > 0).sum()) == 12


def test_image_edge_is_not_a_border_but_no_data_is():
    ids = np.ones((6, 6), np.int32)
    assert not outline_segments(ids, lut_showing(1, [1])).any()        # one segment filling the image
    ids[0, :] = 0                                                       # no data along the top
    image = outline_segments(ids, lut_showing(1, [1]), width=1)
    assert np.flatnonzero((image[..., 3] > 0).any(axis=1)).tolist() == [1]   # row 1 only: next to id 0
    assert (image[0] == 0).all()                                        # id 0 itself never painted
    lut = lut_showing(1, [1])
    lut[0] = [0, 255, 0, 255]                                           # even with an opaque row 0
    assert (outline_segments(ids, lut, width=1)[0] == 0).all()


def test_several_segments_and_their_own_colours_match_definition():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 6, size=(5, 5)).repeat(3, 0).repeat(3, 1).astype(np.int32)   # 15 x 15, blocks
    lut = np.zeros((6, 4), np.uint8)
    lut[1:] = [[10, 0, 0, 255], [20, 0, 0, 0], [30, 0, 0, 128], [40, 0, 0, 255], [50, 0, 0, 1]]
    for width in (1, 2, 3):
        image = outline_segments(ids, lut, width=width)
        expected = border_by_definition(ids, width) & (lut[ids, 3] > 0) & (ids > 0)
        assert np.array_equal(image[..., 3] > 0, expected), width
        assert np.array_equal(image[expected], lut[ids[expected]])
        assert (image[~expected] == 0).all()


def test_display_grid_input_and_checks():
    labels = np.array([[1, 2], [3, 4]], np.int32).repeat(30, 0).repeat(30, 1)
    seg = Segmentation(labels, Affine(10, 0, 300000, 0, -10, 4000000), CRS.from_epsg(32633))
    grid = display_grid(seg)
    lut = lut_showing(4, [1, 2, 3, 4])
    image = outline_segments(grid, lut, width=2)
    expected = border_by_definition(grid.segment_ids, 2) & (grid.segment_ids > 0)
    assert np.array_equal(image[..., 3] > 0, expected)
    # the outlines are a subset of colour_segments' pixels, with the same colours
    full = colour_segments(grid, lut)
    assert np.array_equal(image[expected], full[expected])
    nothing = outline_segments(grid, lut_showing(4, []))
    assert nothing.shape == grid.shape + (4,) and not nothing.any()
    with pytest.raises(SegmentationError):
        outline_segments(grid, lut_showing(3, [1]))                     # too few rows for ids 0..4
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            outline_segments(grid, lut, width=bad)
    with pytest.raises(ValueError):
        outline_segments(np.ones((2, 2, 2), np.int32), lut)
    with pytest.raises(ValueError):
        outline_segments(np.full((2, 2), -1), lut)
    with pytest.raises(ValueError):
        outline_segments(np.ones((2, 2), np.float32), lut)


def test_speed_1600_px_20000_segments():
    # 1600 x 1600 px of 11 x 11-pixel blocks in a 146 x 146 lattice: 21,316 segment ids, 20,000 of them used
    rows, cols = np.indices((1600, 1600))
    ids = ((rows // 11) * 146 + cols // 11 + 1).astype(np.int32)
    ids = np.where(ids > 20_000, 0, ids).astype(np.int32)
    n = int(ids.max())
    assert n == 20_000
    everything = lut_showing(n, list(range(1, n + 1)))
    some = lut_showing(n, [5000, 5001, 5147])
    outline_segments(ids, everything)                                   # warm up
    timings = {}
    for name, lut in (("all", everything), ("three", some)):
        start = time.perf_counter()
        image = outline_segments(ids, lut, width=2)
        timings[name] = time.perf_counter() - start
        assert image.shape == (1600, 1600, 4)
    print(f"outline_segments 1600 x 1600, 20,000 segments: all shown {timings['all'] * 1000:.0f} ms, "
          f"3 shown {timings['three'] * 1000:.1f} ms")
    assert timings["all"] < 1.5 and timings["three"] < 0.2               # generous: a shared 2-core machine
    # a block's outline of width 2 is its 11 x 11 square less the 7 x 7 inside: 72 px (inner blocks)
    assert int((outline_segments(ids, some, width=2)[..., 3] > 0).sum()) == 3 * 72


def test_empty_image_is_a_transparent_1x1_png():
    assert EMPTY_IMAGE.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(EMPTY_IMAGE.split(",", 1)[1])))
    assert image.size == (1, 1) and image.mode == "RGBA"
    assert np.asarray(image).tolist() == [[[0, 0, 0, 0]]]
